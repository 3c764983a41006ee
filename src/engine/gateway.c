/* gateway.c - the gateway role (gateway.h): outbound signalling from the
 * cluster is reassembled and inspected like inbound, and each message becomes
 * an announcement oriented client -> VIP. */
#include "engine/gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/counters.h"
#include "engine/flow_table.h"
#include "dpi/ipfrag.h"
#include "dpi/packet.h"
#include "dpi/tcp_stream.h"
#include "engine/tcp_signalling.h"
#include "engine/timer_wheel.h"

#define GATEWAY_TIMER_SLOTS 512
#define GATEWAY_TICK_MS 100

struct gateway {
	struct sara_config cfg;
	struct flow_table flows;          /* outbound TCP signalling connections */
	struct timer_wheel *timers;
	struct tcp_stream_pool *streams;
	struct ipfrag_table *fragments;
	struct counter_set counters;
	uint64_t now_ms;
};

static void gateway_flow_expired(void *ctx, uint32_t fid)
{
	struct gateway *gw = ctx;
	struct flow *f = &gw->flows.flows[fid];
	uint64_t timeout = gw->cfg.timeouts.signalling_s * 1000ull;
	if (!f->in_use)
		return;
	if (gw->now_ms < f->last_seen_ms + timeout) {
		timer_wheel_schedule(gw->timers, fid, f->last_seen_ms + timeout);
		return;
	}
	tcp_signalling_release(&f->tcp, gw->streams);
	flow_table_remove(&gw->flows, fid);
}

static bool from_cluster(const struct gateway *gw, const struct flow_key *key)
{
	struct endpoint src;
	flow_key_src(key, &src);
	return sara_config_is_vip(&gw->cfg, &src.addr) || sara_config_server_by_address(&gw->cfg, &src.addr) >= 0;
}

/* The signalling flow as the dispatcher sees it: client -> VIP. */
static void inbound_orientation(const struct flow_key *outbound, struct flow_key *conn)
{
	*conn = *outbound;
	memcpy(conn->src, outbound->dst, 16);
	memcpy(conn->dst, outbound->src, 16);
	conn->sport = outbound->dport;
	conn->dport = outbound->sport;
}

static bool emit(struct gateway *gw, const struct proto_handler *handler, const uint8_t *msg,
		 size_t len, const struct flow_key *key, struct announcement *out)
{
	enum counter_id reason = handler->inspect(msg, len, &out->facts);
	if (reason != COUNTER_NONE) {
		counter_add(&gw->counters, reason, 1);
		return false;
	}
	inbound_orientation(key, &out->conn);
	counter_add(&gw->counters, COUNTER_ANNOUNCEMENTS, 1);
	if (out->facts.streams_ignored)
		counter_add(&gw->counters, COUNTER_MEDIA_STREAMS_OVER_LIMIT, out->facts.streams_ignored);
	return true;
}

/* The outbound connection's flow, made on its first packet; NULL for a
 * stray RST (nothing to follow) or a full table. */
static struct flow *outbound_flow(struct gateway *gw, const struct packet *pkt)
{
	uint32_t fid = flow_table_lookup_exact(&gw->flows, &pkt->key);
	struct flow *f;
	if (fid == FLOW_NIL) {
		if (pkt->tcp_flags & TCP_FLAG_RST)
			return NULL;
		fid = flow_table_alloc(&gw->flows);
		if (fid == FLOW_NIL) {
			counter_add(&gw->counters, COUNTER_FLOW_TABLE_FULL, 1);
			return NULL;
		}
		gw->flows.flows[fid].key = pkt->key;
		flow_table_insert(&gw->flows, fid);
		timer_wheel_schedule(gw->timers, fid,
				     gw->now_ms + gw->cfg.timeouts.signalling_s * 1000ull);
	}
	f = &gw->flows.flows[fid];
	f->last_seen_ms = gw->now_ms;
	return f;
}

/* Where the messages of one outbound TCP packet become announcements. */
struct announcement_batch {
	struct gateway *gw;
	const struct proto_handler *handler;
	const struct flow_key *key;
	struct announcement *out;
	size_t n, max;
};

/* One complete message; the rest stay buffered once out is full. */
static bool announce_message(void *ctx, const uint8_t *msg, size_t len)
{
	struct announcement_batch *b = ctx;
	if (emit(b->gw, b->handler, msg, len, b->key, &b->out[b->n]))
		b->n++;
	return b->n < b->max;
}

size_t gateway_packet(struct gateway *gw, const uint8_t *ip, size_t len, uint64_t now_ms,
		      struct announcement *out, size_t max)
{
	struct packet pkt;
	const struct proto_handler *handler;
	struct flow *f;
	struct tcp_segment segment;
	struct tcp_framing framing;
	struct announcement_batch batch;
	enum packet_status status;
	if (now_ms > gw->now_ms)
		gw->now_ms = now_ms;
	timer_wheel_advance(gw->timers, gw->now_ms, gateway_flow_expired, gw);
	status = packet_decode(ip, len, &pkt);
	if (status == PACKET_FRAGMENT) {
		const uint8_t *whole;
		size_t whole_len;
		if (ipfrag_submit(gw->fragments, ip, len, &pkt, gw->now_ms, &whole, &whole_len) !=
		    IPFRAG_COMPLETE)
			return 0;
		status = packet_decode(whole, whole_len, &pkt);
	}
	if (status != PACKET_OK || !from_cluster(gw, &pkt.key))
		return 0;
	/* Replies from a signalling port, or requests a server sends to one. */
	handler = proto_for_port(&gw->cfg, pkt.key.l4, pkt.key.sport);
	if (!handler)
		handler = proto_for_port(&gw->cfg, pkt.key.l4, pkt.key.dport);
	if (!handler || max == 0)
		return 0;
	if (pkt.key.l4 == L4_UDP) {
		if (pkt.payload_len && emit(gw, handler, pkt.payload, pkt.payload_len, &pkt.key, &out[0]))
			return 1;
		return 0;
	}
	f = outbound_flow(gw, &pkt);
	if (!f)
		return 0;
	segment = (struct tcp_segment){ pkt.tcp_seq, pkt.tcp_flags, pkt.payload, pkt.payload_len };
	framing = (struct tcp_framing){ handler->frame, handler->max_message };
	batch = (struct announcement_batch){ gw, handler, &pkt.key, out, 0, max };
	if (tcp_signalling_segment(&f->tcp, gw->streams, &segment, &framing, &gw->counters,
				   announce_message, &batch) == TCP_SIGNALLING_SEGMENT_LOST)
		counter_add(&gw->counters, COUNTER_TCP_STREAM_ERROR, 1);
	return batch.n;
}

struct gateway *gateway_create(const struct sara_config *cfg, uint64_t now_ms, char *err,
			       size_t err_size)
{
	struct gateway *gw = calloc(1, sizeof(*gw));
	struct hash_key key;
	uint32_t capacity = cfg->limits.tcp_streams;
	if (!gw) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	gw->cfg = *cfg;
	gw->now_ms = now_ms;
	hash_key_random(&key);
	if (!flow_table_init(&gw->flows, capacity, &key))
		goto fail_no_memory;
	gw->timers = timer_wheel_create(capacity, GATEWAY_TIMER_SLOTS, GATEWAY_TICK_MS, now_ms);
	gw->streams = tcp_stream_pool_create(capacity, cfg->limits.tcp_buffer);
	gw->fragments = ipfrag_table_create(cfg->limits.fragments, 65535, 5000);
	if (!gw->timers || !gw->streams || !gw->fragments)
		goto fail_no_memory;
	return gw;

fail_no_memory:
	snprintf(err, err_size, "cannot reserve gateway tables for %u connections", capacity);
	gateway_destroy(gw);
	return NULL;
}

void gateway_destroy(struct gateway *gw)
{
	if (!gw)
		return;
	flow_table_release_streams(&gw->flows, gw->streams);
	flow_table_fini(&gw->flows);
	timer_wheel_destroy(gw->timers);
	tcp_stream_pool_destroy(gw->streams);
	ipfrag_table_destroy(gw->fragments);
	free(gw);
}

bool gateway_reconfigure(struct gateway *gw, const struct sara_config *cfg, char *err, size_t err_size)
{
	if (cfg->limits.tcp_streams != gw->cfg.limits.tcp_streams || cfg->limits.tcp_buffer != gw->cfg.limits.tcp_buffer ||
	    cfg->limits.fragments != gw->cfg.limits.fragments) {
		snprintf(err, err_size, "the gateway's table sizes (limits.tcp_streams, tcp_buffer, fragments) "
			 "changed: restart to apply");
		return false;
	}
	gw->cfg = *cfg;
	return true;
}

unsigned gateway_tcp_streams_in_use(const struct gateway *gw)
{
	return tcp_stream_pool_in_use(gw->streams);
}

const struct counter_set *gateway_counters(const struct gateway *gw)
{
	return &gw->counters;
}
