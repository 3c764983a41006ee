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
	if (f->stream)
		tcp_stream_close(gw->streams, f->stream);
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
	return true;
}

static struct tcp_stream *outbound_stream(struct gateway *gw, const struct packet *pkt)
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
	if (!f->stream) {
		f->stream = tcp_stream_open(gw->streams);
		if (!f->stream)
			counter_add(&gw->counters, COUNTER_TCP_STREAMS_FULL, 1);
	}
	return f->stream;
}

size_t gateway_packet(struct gateway *gw, const uint8_t *ip, size_t len, uint64_t now_ms,
		      struct announcement *out, size_t max)
{
	struct packet pkt;
	const struct proto_handler *handler;
	struct tcp_stream *stream;
	enum packet_status status;
	size_t n = 0;
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
			n = 1;
		return n;
	}
	stream = outbound_stream(gw, &pkt);
	if (!stream)
		return 0;
	if (tcp_stream_add(stream, pkt.tcp_seq, pkt.tcp_flags, pkt.payload, pkt.payload_len) !=
	    TCP_STREAM_OK) {
		/* Overflow or too many gaps: start again at the next segment. */
		counter_add(&gw->counters, COUNTER_TCP_STREAM_ERROR, 1);
		tcp_stream_resync(stream);
	}
	while (n < max) {
		const uint8_t *msg;
		size_t msg_len;
		enum frame_result r = tcp_stream_next(stream, handler->frame, handler->max_message,
						      &msg, &msg_len);
		if (r == FRAME_NEED_MORE)
			break;
		if (r != FRAME_MESSAGE) {
			counter_add(&gw->counters, COUNTER_TCP_STREAM_UNFRAMEABLE, 1);
			tcp_stream_resync(stream);
			break;
		}
		if (emit(gw, handler, msg, msg_len, &pkt.key, &out[n]))
			n++;
		tcp_stream_consume(stream, msg_len);
	}
	return n;
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
	for (uint32_t i = 0; i < gw->flows.capacity; i++)
		if (gw->flows.flows[i].in_use && gw->flows.flows[i].stream)
			tcp_stream_close(gw->streams, gw->flows.flows[i].stream);
	flow_table_fini(&gw->flows);
	if (gw->timers)
		timer_wheel_destroy(gw->timers);
	if (gw->streams)
		tcp_stream_pool_destroy(gw->streams);
	if (gw->fragments)
		ipfrag_table_destroy(gw->fragments);
	free(gw);
}

const struct counter_set *gateway_counters(const struct gateway *gw)
{
	return &gw->counters;
}
