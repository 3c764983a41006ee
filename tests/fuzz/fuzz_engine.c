/* fuzz_engine.c - libFuzzer target: a sequence of packets through the whole
 * engine (engine_packet) and the gateway (gateway_packet -> engine_announce)
 * on an advancing clock, checking each verdict and the tables' bounds.
 *
 * Input: records of [control][length: 2 bytes, big-endian][body].
 *   control bit 7: outbound (to the gateway) instead of inbound (to the engine)
 *   control bit 6: raw: body is a whole IP datagram (outbound: a body that
 *                  starts with 0xA5 is a raw struct announcement instead)
 *   control bits 0-5: c; the clock advances c*c*16 ms before the record
 * A wrapped body (bit 6 clear) is [sel][flags][payload], sent as UDP or TCP
 * between one of four clients and the VIP (tests/fuzz/make_engine_seeds.py
 * writes the same framing):
 *   sel bit 0: IPv6; bit 1: TCP; bits 2-3: client; bits 4-5: cluster port
 *   (5060, 554, 20000+2k, 20001+2k with k = flags & 7); bits 6-7: client
 *   port (5060, 50000, 40000+2j, 40001+2j with j = (flags >> 3) & 7).
 *   TCP: flags are the TCP flags; 0x40 repeats the last segment's sequence
 *   (a retransmission), 0x80 sends 100 bytes ahead (out of order). Each
 *   connection's sequence numbers are tracked, so streams reassemble. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/gateway.h"
#include "dpi/packet.h"

#include "../unit/packet_builder.h"

#define RUNS_PER_ENGINE 500  /* recreate now and then, so state stays bounded */
#define SERVERS 2
#define MAX_ANNOUNCEMENTS 8
#define CONNECTION_SLOTS 16  /* client (4) x family (2) x signalling port (2) */

static const char *const clients4[4] = { "192.0.2.10", "192.0.2.11", "192.0.2.12", "203.0.113.5" };
static const char *const clients6[4] = { "2001:db8::10", "2001:db8::11", "2001:db8::12",
					 "2001:db8::5" };
static const char vip4[] = "198.18.10.1", vip6[] = "fd00:10::1";

struct sequence_state {
	uint32_t next;   /* next sequence number to send */
	uint32_t last;   /* the last data segment's sequence number */
};

static struct {
	struct sara_config cfg;
	struct engine *engine;
	struct gateway *gateway;
	unsigned runs;
	uint64_t now;
	struct sequence_state inbound[CONNECTION_SLOTS], outbound[CONNECTION_SLOTS];
} fz;

static void set_address(struct netaddr *out, int family, const char *text)
{
	memset(out, 0, sizeof(*out));
	out->family = (uint8_t)family;
	if (inet_pton(family, text, out->bytes) != 1)
		abort();
}

/* sara_config_defaults() + one VIP per family + 2 dual-stack servers, small limits. */
static void make_config(struct sara_config *cfg)
{
	sara_config_defaults(cfg);
	memcpy(cfg->name, "fuzz", 5);
	cfg->vip_count = 2;
	set_address(&cfg->vips[0], NETADDR_IPV4, vip4);
	set_address(&cfg->vips[1], NETADDR_IPV6, vip6);
	cfg->server_count = SERVERS;
	for (unsigned i = 0; i < SERVERS; i++) {
		struct server_config *s = &cfg->servers[i];
		s->id[0] = (char)('a' + i);
		set_address(&s->address, NETADDR_IPV4, i == 0 ? "10.0.0.1" : "10.0.0.2");
		set_address(&s->address6, NETADDR_IPV6, i == 0 ? "fd00:2::1" : "fd00:2::2");
		s->mark = 1 + i;
		s->table = 101 + i;
		s->weight = 1.0 + i;
	}
	cfg->selection.algorithm = SELECT_ROUND_ROBIN;
	cfg->timeouts.signalling_s = 10;
	cfg->timeouts.media_s = 10;
	cfg->timeouts.linger_s = 1;
	cfg->limits.flows = 256;
	cfg->limits.sessions = 64;
	cfg->limits.tcp_streams = 8;
	cfg->limits.tcp_buffer = 4096;
	cfg->limits.fragments = 4;
}

static void on_flow_removed(void *ctx, const struct flow_key *key, int server)
{
	(void)ctx;
	if (server < ENGINE_NO_SERVER || server >= SERVERS || key->pad != 0)
		abort();
}

static void on_session_removed(void *ctx, const struct session_info *session)
{
	(void)ctx;
	if (session->serial == 0 || session->server < ENGINE_NO_SERVER || session->server >= SERVERS ||
	    session->proto == PROTO_NONE || session->proto >= PROTO_COUNT ||
	    memchr(session->key, '\0', sizeof(session->key)) == NULL)
		abort();
}

/* Live, the kernel says whether a fast-path flow still carries packets:
 * answer both ways, deterministically, so that both paths are exercised. */
static bool on_flow_active(void *ctx, const struct flow_key *key, int server)
{
	(void)ctx;
	if (server < 0 || server >= SERVERS)
		abort();
	return (key->sport & 1) != 0;
}

static void start(void)
{
	struct engine_hooks hooks = { .flow_removed = on_flow_removed, .session_removed = on_session_removed,
				      .flow_active = on_flow_active };
	char err[256];
	if (fz.engine) {
		gateway_destroy(fz.gateway);
		engine_destroy(fz.engine);
	} else {
		make_config(&fz.cfg);
	}
	memset(fz.inbound, 0, sizeof(fz.inbound));
	memset(fz.outbound, 0, sizeof(fz.outbound));
	fz.engine = engine_create(&fz.cfg, &hooks, fz.now, err, sizeof(err));
	fz.gateway = gateway_create(&fz.cfg, fz.now, err, sizeof(err));
	if (!fz.engine || !fz.gateway)
		abort();
}

/* Every verdict names a real server with its mark, a live session, and a
 * reason the header knows; the tables never pass their limits. */
static void check_verdict(const struct verdict *v)
{
	struct engine_stats stats;
	struct session_info info;
	if (v->action > VERDICT_DROP || v->identity > FLOW_UNPREDICTED || v->reason > REASON_ADMISSION)
		abort();
	if (v->server < ENGINE_NO_SERVER || v->server >= SERVERS)
		abort();
	if (v->server >= 0 && v->mark != fz.cfg.servers[v->server].mark)
		abort();
	if (v->server < 0 && v->mark != 0)
		abort();
	if (v->session && !engine_session_info(fz.engine, v->session, &info))
		abort();
	if (v->session && v->action == VERDICT_ACCEPT && v->identity != FLOW_SIGNALLING &&
	    info.server != v->server)
		abort(); /* media must go where its session goes */
	engine_get_stats(fz.engine, &stats);
	if (stats.flows_in_use > stats.flows_capacity || stats.sessions_in_use > stats.sessions_capacity ||
	    stats.tcp_streams_in_use > fz.cfg.limits.tcp_streams)
		abort();
}

static void inbound(const uint8_t *ip, size_t len)
{
	struct verdict v;
	engine_packet(fz.engine, ip, len, fz.now, &v);
	check_verdict(&v);
}

static void outbound(const uint8_t *ip, size_t len)
{
	struct announcement out[MAX_ANNOUNCEMENTS];
	size_t n = gateway_packet(fz.gateway, ip, len, fz.now, out, MAX_ANNOUNCEMENTS);
	if (n > MAX_ANNOUNCEMENTS)
		abort();
	for (size_t i = 0; i < n; i++)
		engine_announce(fz.engine, &out[i], fz.now);
}

/* A bool read back from raw bytes must still be 0 or 1 (anything else is
 * undefined behaviour before the engine sees it); a wire decoder does this. */
static void bool_from_byte(bool *b)
{
	unsigned char byte;
	memcpy(&byte, b, 1);
	*b = byte & 1;
}

/* Announcements also travel from sara-gw over the wire: any bytes, with
 * only the bools made valid. */
static void raw_announcement(const uint8_t *body, size_t len)
{
	struct announcement ann;
	struct signal_facts *f = &ann.facts;
	memset(&ann, 0, sizeof(ann));
	memcpy(&ann, body, len < sizeof(ann) ? len : sizeof(ann));
	bool_from_byte(&f->is_request);
	bool_from_byte(&f->creates_session);
	bool_from_byte(&f->confirms_session);
	bool_from_byte(&f->ends_session);
	bool_from_byte(&f->ends_if_unconfirmed);
	bool_from_byte(&f->transaction_only);
	bool_from_byte(&f->shows_server_work);
	bool_from_byte(&f->acknowledges);
	for (unsigned i = 0; i < SIGNAL_MAX_STREAMS; i++) {
		bool_from_byte(&f->streams[i].enabled);
		bool_from_byte(&f->streams[i].multicast);
	}
	engine_announce(fz.engine, &ann, fz.now);
}

static uint16_t cluster_port(unsigned choice, uint8_t flags)
{
	static const uint16_t signalling[2] = { 5060, 554 };
	if (choice < 2)
		return signalling[choice];
	return (uint16_t)(20000 + (choice - 2) + 2 * (flags & 7));
}

static uint16_t client_port(unsigned choice, uint8_t flags)
{
	if (choice == 0)
		return 5060;
	if (choice == 1)
		return 50000;
	return (uint16_t)(40000 + (choice - 2) + 2 * ((flags >> 3) & 7));
}

/* The sequence number of this segment; tracks the connection. */
static uint32_t next_sequence(struct sequence_state *st, uint8_t flags, size_t len, unsigned slot)
{
	uint32_t seq;
	if (flags & TCP_FLAG_SYN) {
		st->next = 1000u * (slot + 1) + 1;
		st->last = st->next;
		return st->next - 1;
	}
	if (flags & 0x40)
		return st->last;
	if (flags & 0x80)
		return st->next + 100;
	seq = st->next;
	st->last = seq;
	st->next += (uint32_t)len;
	return seq;
}

static void wrapped(bool to_gateway, const uint8_t *body, size_t len)
{
	static uint8_t datagram[70000];
	struct packet_spec spec;
	uint8_t sel, flags;
	unsigned client, slot;
	const char *client_addr, *vip;
	uint16_t cport, vport;
	size_t n;
	if (len < 2)
		return;
	sel = body[0];
	flags = body[1];
	memset(&spec, 0, sizeof(spec));
	spec.family = sel & 1 ? NETADDR_IPV6 : NETADDR_IPV4;
	spec.l4 = sel & 2 ? L4_TCP : L4_UDP;
	client = (sel >> 2) & 3;
	client_addr = spec.family == NETADDR_IPV4 ? clients4[client] : clients6[client];
	vip = spec.family == NETADDR_IPV4 ? vip4 : vip6;
	vport = cluster_port((sel >> 4) & 3, flags);
	cport = client_port((sel >> 6) & 3, flags);
	spec.payload = body + 2;
	spec.payload_len = len - 2;
	if (spec.l4 == L4_TCP) {
		slot = (client << 2) | (unsigned)(sel & 1) << 1 | (vport == 554);
		spec.tcp_flags = flags & 0x3f;
		spec.tcp_seq = next_sequence(to_gateway ? &fz.outbound[slot] : &fz.inbound[slot],
					     flags, spec.payload_len, slot);
	}
	if (to_gateway) {
		spec.src = vip;
		spec.sport = vport;
		spec.dst = client_addr;
		spec.dport = cport;
	} else {
		spec.src = client_addr;
		spec.sport = cport;
		spec.dst = vip;
		spec.dport = vport;
	}
	n = packet_build(&spec, datagram, sizeof(datagram));
	if (n == 0)
		return;
	if (to_gateway)
		outbound(datagram, n);
	else
		inbound(datagram, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0;
	if (!fz.engine || ++fz.runs % RUNS_PER_ENGINE == 0)
		start();
	while (size - pos >= 3) {
		uint8_t control = data[pos];
		size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];
		uint8_t *body;
		pos += 3;
		if (len > size - pos)
			len = size - pos;
		/* An exact-size copy: any over-read hits ASan's redzone. */
		body = malloc(len ? len : 1);
		if (!body)
			abort();
		memcpy(body, data + pos, len);
		pos += len;
		fz.now += (uint64_t)(control & 0x3f) * (control & 0x3f) * 16;
		if (control & 0x40) {
			if ((control & 0x80) && len > 0 && body[0] == 0xA5)
				raw_announcement(body + 1, len - 1);
			else if (control & 0x80)
				outbound(body, len);
			else
				inbound(body, len);
		} else {
			wrapped(control & 0x80, body, len);
		}
		free(body);
	}
	return 0;
}
