/* call_harness.h - one engine and one gateway for the tests of server
 * changes and restarts: SIP calls over UDP and TCP and RTSP sessions
 * driven packet by packet, and the journal's records kept as a file image
 * that a new engine is restored from. Everything static inline. */
#ifndef SARA_TESTS_CALL_HARNESS_H
#define SARA_TESTS_CALL_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dpi/packet.h"
#include "engine/engine.h"
#include "engine/engine_journal.h"
#include "engine/gateway.h"
#include "engine/journal_codec.h"
#include "engine/journal_replay.h"
#include "packet_builder.h"

#define CH_VIP "198.18.10.1"
#define CH_SIP_PORT 5060
#define CH_RTSP_PORT 554
#define CH_SIGNALLING_S 20
#define CH_MEDIA_S 10
#define CH_TEXT_MAX 8192
#define CH_IMAGE_MAX (1u << 20)
#define CH_MAX_ANNOUNCEMENTS 8

struct call_harness {
	struct sara_config cfg;
	struct engine *engine;
	struct gateway *gateway;
	uint64_t now;
	bool kernel_carries_media;           /* the flow_active hook's answer */
	uint8_t *image;                      /* the journal, as sarad would write it */
	size_t image_len;
	unsigned sessions_changed, flows_decided, sessions_ended, connections_pinned, connections_closed;
	unsigned flows_moved;
	bool forget_connections;             /* a restart without the journal's connections */
};

static inline struct netaddr ch_addr(const char *text)
{
	struct netaddr a;
	assert_true(netaddr_parse(span_make(text, strlen(text)), &a));
	return a;
}

/* Three servers (s1..s3, marks 1..3) behind one VIP, round-robin. */
static inline void ch_config(struct sara_config *cfg)
{
	sara_config_defaults(cfg);
	snprintf(cfg->name, sizeof(cfg->name), "harness");
	cfg->vip_count = 1;
	cfg->vips[0] = ch_addr(CH_VIP);
	cfg->rtsp_port_count = 1;
	cfg->rtsp_ports[0] = CH_RTSP_PORT;
	cfg->server_count = 3;
	for (unsigned i = 0; i < 3; i++) {
		char text[32];
		struct server_config *s = &cfg->servers[i];
		snprintf(s->id, sizeof(s->id), "s%u", i + 1);
		snprintf(text, sizeof(text), "10.0.0.%u", i + 1);
		s->address = ch_addr(text);
		s->mark = i + 1;
		s->table = 101 + i;
		s->weight = 1.0;
	}
	cfg->selection.algorithm = SELECT_ROUND_ROBIN;
	cfg->timeouts.signalling_s = CH_SIGNALLING_S;
	cfg->timeouts.media_s = CH_MEDIA_S;
	cfg->timeouts.linger_s = 2;
	cfg->limits.flows = 512;
	cfg->limits.sessions = 64;
	cfg->limits.tcp_streams = 16;
	cfg->limits.tcp_buffer = 16384;
	cfg->limits.fragments = 8;
}

static inline void ch_image_put(struct call_harness *h, size_t n)
{
	assert_true(n > 0);
	h->image_len += n;
	assert_true(h->image_len + JOURNAL_RECORD_MAX < CH_IMAGE_MAX);
}

static inline void ch_on_session_changed(void *ctx, const struct session_record *rec)
{
	struct call_harness *h = ctx;
	struct session_record named = *rec;
	const struct sara_config *running = engine_config(h->engine);
	assert_true(rec->server >= 0 && (unsigned)rec->server < running->server_count);
	snprintf(named.server_id, sizeof(named.server_id), "%s", running->servers[rec->server].id);
	ch_image_put(h, journal_encode_session(&named, h->image + h->image_len, CH_IMAGE_MAX - h->image_len));
	h->sessions_changed++;
}

static inline void ch_on_flow_decided(void *ctx, const struct session_flow_record *rec)
{
	struct call_harness *h = ctx;
	ch_image_put(h, journal_encode_flow(rec, h->image + h->image_len, CH_IMAGE_MAX - h->image_len));
	h->flows_decided++;
}

static inline void ch_on_session_ended(void *ctx, uint64_t serial)
{
	struct call_harness *h = ctx;
	ch_image_put(h, journal_encode_end(serial, h->image + h->image_len, CH_IMAGE_MAX - h->image_len));
	h->sessions_ended++;
}

static inline void ch_on_connection_pinned(void *ctx, const struct connection_record *rec)
{
	struct call_harness *h = ctx;
	struct connection_record named = *rec;
	const struct sara_config *running = engine_config(h->engine);
	snprintf(named.server_id, sizeof(named.server_id), "%s", running->servers[rec->server].id);
	ch_image_put(h, journal_encode_connection(&named, h->image + h->image_len, CH_IMAGE_MAX - h->image_len));
	h->connections_pinned++;
}

static inline void ch_on_connection_closed(void *ctx, const struct flow_key *key)
{
	struct call_harness *h = ctx;
	ch_image_put(h, journal_encode_connection_end(key, h->image + h->image_len, CH_IMAGE_MAX - h->image_len));
	h->connections_closed++;
}

static inline bool ch_on_flow_active(void *ctx, const struct flow_key *key, int server)
{
	struct call_harness *h = ctx;
	(void)key;
	(void)server;
	return h->kernel_carries_media;
}

static inline void ch_on_flow_moved(void *ctx, const struct flow_key *key, int server, uint32_t mark)
{
	struct call_harness *h = ctx;
	(void)key;
	(void)server;
	(void)mark;
	h->flows_moved++;
}

/* A new journal image: magic and header. */
static inline void ch_image_start(struct call_harness *h)
{
	struct journal_header hdr = { .version = JOURNAL_FORMAT_VERSION,
				      .next_serial = h->engine ? engine_next_serial(h->engine) : 1 };
	snprintf(hdr.cluster, sizeof(hdr.cluster), "%s", h->cfg.name);
	h->image_len = 0;
	ch_image_put(h, journal_encode_magic(h->image, CH_IMAGE_MAX));
	ch_image_put(h, journal_encode_header(&hdr, h->image + h->image_len, CH_IMAGE_MAX - h->image_len));
}

static inline struct engine *ch_engine_new(struct call_harness *h, const struct sara_config *cfg)
{
	struct engine_hooks hooks = { .ctx = h, .flow_active = ch_on_flow_active, .flow_moved = ch_on_flow_moved };
	struct engine_journal_hooks journal = { .ctx = h, .session_changed = ch_on_session_changed,
						.flow_decided = ch_on_flow_decided,
						.session_ended = ch_on_session_ended,
						.connection_pinned = ch_on_connection_pinned,
						.connection_closed = ch_on_connection_closed };
	char err[256];
	struct engine *e = engine_create(cfg, &hooks, h->now, err, sizeof(err));
	if (!e)
		fail_msg("engine_create: %s", err);
	engine_set_journal(e, &journal);
	return e;
}

/* tweak may change the config before the engine is made. */
static inline struct call_harness *ch_new(void (*tweak)(struct sara_config *cfg))
{
	struct call_harness *h = calloc(1, sizeof(*h));
	char err[256];
	assert_non_null(h);
	h->image = malloc(CH_IMAGE_MAX);
	assert_non_null(h->image);
	h->now = 5000000;
	ch_config(&h->cfg);
	if (tweak)
		tweak(&h->cfg);
	ch_image_start(h);
	h->engine = ch_engine_new(h, &h->cfg);
	h->gateway = gateway_create(&h->cfg, h->now, err, sizeof(err));
	if (!h->gateway)
		fail_msg("gateway_create: %s", err);
	return h;
}

static inline void ch_free(struct call_harness *h)
{
	gateway_destroy(h->gateway);
	engine_destroy(h->engine);
	free(h->image);
	free(h);
}

static inline void ch_advance_ms(struct call_harness *h, uint64_t ms)
{
	h->now += ms;
	engine_advance(h->engine, h->now);
}

/* A restart: the engine is gone (SIGKILL), a new one made from cfg (NULL:
 * the same) restores what the journal image holds, servers named by id.
 * Returns how many sessions it restored; the new engine journals into a
 * fresh image that starts with its compaction. */
static inline unsigned ch_restart(struct call_harness *h, const struct sara_config *cfg)
{
	struct journal_replay *r = journal_replay_create();
	struct journal_image_report rep;
	struct engine_journal_hooks journal = { .ctx = h, .session_changed = ch_on_session_changed,
						.flow_decided = ch_on_flow_decided,
						.session_ended = ch_on_session_ended,
						.connection_pinned = ch_on_connection_pinned,
						.connection_closed = ch_on_connection_closed };
	unsigned restored = 0;
	uint32_t cursor = 0;
	assert_non_null(r);
	assert_int_equal(journal_replay_add(r, h->image, h->image_len, h->cfg.name, &rep), JOURNAL_IMAGE_OK);
	assert_int_equal(rep.corrupt_bytes + rep.torn_bytes, 0);
	assert_true(journal_replay_finish(r));
	engine_destroy(h->engine);
	if (cfg)
		h->cfg = *cfg;
	h->engine = ch_engine_new(h, &h->cfg);
	engine_set_journal(h->engine, NULL);
	engine_raise_next_serial(h->engine, journal_replay_next_serial(r));
	for (size_t i = 0; i < journal_replay_session_count(r); i++) {
		const struct session_flow_record *flows;
		size_t n;
		struct session_record rec = *journal_replay_session(r, i, &flows, &n);
		rec.server = -1;
		for (unsigned s = 0; s < h->cfg.server_count; s++)
			if (strcmp(h->cfg.servers[s].id, rec.server_id) == 0)
				rec.server = (int)s;
		if (engine_restore_session(h->engine, &rec, flows, n) == ENGINE_RESTORED)
			restored++;
	}
	for (size_t i = 0; i < journal_replay_connection_count(r) && !h->forget_connections; i++) {
		struct connection_record rec = *journal_replay_connection(r, i);
		rec.server = -1;
		for (unsigned s = 0; s < h->cfg.server_count; s++)
			if (strcmp(h->cfg.servers[s].id, rec.server_id) == 0)
				rec.server = (int)s;
		engine_restore_connection(h->engine, &rec);
	}
	journal_replay_destroy(r);
	/* the compaction at start: a new image from what was restored */
	ch_image_start(h);
	engine_set_journal(h->engine, &journal);
	while (!engine_journal_walk(h->engine, &cursor, 7))
		;
	return restored;
}

/* ---- packets ---- */

static inline int ch_family(const char *address)
{
	return strchr(address, ':') ? NETADDR_IPV6 : NETADDR_IPV4;
}

static uint8_t ch_packet[70000];

static inline void ch_feed(struct call_harness *h, size_t len, uint32_t ct_mark, struct verdict *v)
{
	struct engine_input in = { ch_packet, len, ct_mark };
	struct verdict ignored;
	assert_true(len > 0);
	engine_packet_batch(h->engine, &in, 1, h->now, v ? v : &ignored);
}

static inline void ch_client_udp(struct call_harness *h, const char *src, uint16_t sport, uint16_t dport,
				 const void *payload, size_t len, struct verdict *v)
{
	ch_feed(h, packet_build_udp(ch_family(src), src, sport, CH_VIP, dport, payload, len, ch_packet,
				    sizeof(ch_packet)), 0, v);
}

static inline void ch_media(struct call_harness *h, const char *src, uint16_t sport, uint16_t dport,
			    struct verdict *v)
{
	static const uint8_t rtp[12] = { 0x80, 0x00, 0x12, 0x34 };
	ch_client_udp(h, src, sport, dport, rtp, sizeof(rtp), v);
}

/* An outbound datagram through the gateway, its announcements to the engine. */
static inline size_t ch_gateway(struct call_harness *h, size_t len)
{
	struct announcement out[CH_MAX_ANNOUNCEMENTS];
	size_t n = gateway_packet(h->gateway, ch_packet, len, h->now, out, CH_MAX_ANNOUNCEMENTS);
	for (size_t i = 0; i < n; i++)
		engine_announce(h->engine, &out[i], h->now);
	return n;
}

/* ---- SIP ---- */

static inline const char *ch_sdp(char *buf, size_t size, const char *addr, uint16_t port)
{
	int n = snprintf(buf, size,
			 "v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
			 "m=audio %u RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
			 addr, addr, port);
	assert_true(n > 0 && (size_t)n < size);
	return buf;
}

static inline const char *ch_sip(char *buf, size_t size, const char *first_line, const char *call_id,
				 unsigned cseq, const char *method, const char *sdp)
{
	int n = snprintf(buf, size,
			 "%s\r\nVia: SIP/2.0/UDP client.example:5060;branch=z9hG4bK-%u\r\n"
			 "Max-Forwards: 70\r\nFrom: <sip:alice@client.example>;tag=1928301774\r\n"
			 "To: <sip:bob@sara.example>;tag=a6c85cf\r\nCall-ID: %s\r\nCSeq: %u %s\r\n"
			 "Contact: <sip:alice@client.example>\r\n%sContent-Length: %zu\r\n\r\n%s",
			 first_line, cseq, call_id, cseq, method,
			 sdp ? "Content-Type: application/sdp\r\n" : "", sdp ? strlen(sdp) : 0, sdp ? sdp : "");
	assert_true(n > 0 && (size_t)n < size);
	return buf;
}

static inline const char *ch_request(char *buf, size_t size, const char *method, const char *call_id,
				     unsigned cseq, const char *sdp)
{
	char line[128];
	snprintf(line, sizeof(line), "%s sip:bob@sara.example SIP/2.0", method);
	return ch_sip(buf, size, line, call_id, cseq, method, sdp);
}

/* The client's request over UDP from its port 5060. */
static inline void ch_client_request(struct call_harness *h, const char *client, const char *method,
				     const char *call_id, unsigned cseq, const char *sdp, struct verdict *v)
{
	char text[CH_TEXT_MAX];
	ch_request(text, sizeof(text), method, call_id, cseq, sdp);
	ch_client_udp(h, client, CH_SIP_PORT, CH_SIP_PORT, text, strlen(text), v);
}

/* The server's 200 to method (with its audio at VIP:server_rtp, 0: no SDP), through the gateway. */
static inline void ch_server_ok(struct call_harness *h, const char *client, const char *call_id, unsigned cseq,
				const char *method, uint16_t server_rtp)
{
	char text[CH_TEXT_MAX], sdp[512];
	ch_sip(text, sizeof(text), "SIP/2.0 200 OK", call_id, cseq, method,
	       server_rtp ? ch_sdp(sdp, sizeof(sdp), CH_VIP, server_rtp) : NULL);
	assert_int_equal(ch_gateway(h, packet_build_udp(NETADDR_IPV4, CH_VIP, CH_SIP_PORT, client, CH_SIP_PORT,
							 text, strlen(text), ch_packet, sizeof(ch_packet))),
			 1);
}

/* INVITE, 200 with SDP, ACK, first RTP packet: a call up with media. */
static inline uint64_t ch_call(struct call_harness *h, const char *client, const char *call_id,
			       uint16_t client_rtp, uint16_t server_rtp, int *server)
{
	char sdp[512];
	struct verdict v;
	uint64_t session;
	ch_client_request(h, client, "INVITE", call_id, 1, ch_sdp(sdp, sizeof(sdp), client, client_rtp), &v);
	assert_int_equal(v.action, VERDICT_ACCEPT);
	assert_int_equal(v.reason, REASON_SESSION);
	session = v.session;
	*server = v.server;
	ch_server_ok(h, client, call_id, 1, "INVITE", server_rtp);
	ch_client_request(h, client, "ACK", call_id, 1, NULL, &v);
	assert_int_equal(v.session, session);
	ch_media(h, client, client_rtp, server_rtp, &v);
	assert_int_equal(v.identity, FLOW_SECONDARY);
	assert_int_equal(v.session, session);
	assert_int_equal(v.server, *server);
	return session;
}

/* A verdict that goes to this session's server with its mark. */
static inline void ch_assert_to(const struct call_harness *h, const struct verdict *v, uint64_t session, int server)
{
	const struct sara_config *running = engine_config(h->engine);
	assert_int_equal(v->action, VERDICT_ACCEPT);
	assert_int_equal(v->session, session);
	assert_int_equal(v->server, server);
	assert_true(server >= 0 && (unsigned)server < running->server_count);
	assert_int_equal(v->mark, running->servers[server].mark);
}

static inline bool ch_session_exists(const struct call_harness *h, uint64_t serial)
{
	struct session_info info;
	return engine_session_info(h->engine, serial, &info);
}

/* ---- TCP ---- */

struct ch_tcp {
	const char *client;
	uint16_t client_port, vip_port;
	uint32_t client_seq, server_seq;
};

static inline void ch_tcp_client(struct call_harness *h, struct ch_tcp *c, uint8_t flags, const char *text,
				 uint32_t ct_mark, struct verdict *v)
{
	size_t len = text ? strlen(text) : 0;
	ch_feed(h, packet_build_tcp(ch_family(c->client), c->client, c->client_port, CH_VIP, c->vip_port,
				    c->client_seq, flags, text, len, ch_packet, sizeof(ch_packet)),
		ct_mark, v);
	c->client_seq += (uint32_t)len + ((flags & TCP_FLAG_SYN) ? 1 : 0);
}

static inline size_t ch_tcp_server(struct call_harness *h, struct ch_tcp *c, uint8_t flags, const char *text)
{
	size_t len = text ? strlen(text) : 0;
	size_t n = ch_gateway(h, packet_build_tcp(NETADDR_IPV4, CH_VIP, c->vip_port, c->client, c->client_port,
						  c->server_seq, flags, text, len, ch_packet, sizeof(ch_packet)));
	c->server_seq += (uint32_t)len + ((flags & TCP_FLAG_SYN) ? 1 : 0);
	return n;
}

static inline void ch_tcp_open(struct call_harness *h, struct ch_tcp *c, struct verdict *v)
{
	ch_tcp_client(h, c, TCP_FLAG_SYN, NULL, 0, v);
	ch_tcp_server(h, c, TCP_FLAG_SYN | TCP_FLAG_ACK, NULL);
}

/* ---- RTSP ---- */

static inline const char *ch_rtsp_request(char *buf, size_t size, const char *method, unsigned cseq,
					  const char *session, const char *transport)
{
	int n = snprintf(buf, size, "%s rtsp://" CH_VIP "/live RTSP/1.0\r\nCSeq: %u\r\n%s%s%s%s%s%s\r\n", method,
			 cseq, session ? "Session: " : "", session ? session : "", session ? "\r\n" : "",
			 transport ? "Transport: " : "", transport ? transport : "", transport ? "\r\n" : "");
	assert_true(n > 0 && (size_t)n < size);
	return buf;
}

static inline const char *ch_rtsp_reply(char *buf, size_t size, unsigned cseq, const char *session,
					const char *transport)
{
	int n = snprintf(buf, size, "RTSP/1.0 200 OK\r\nCSeq: %u\r\n%s%s%s%s%s%s\r\n", cseq,
			 session ? "Session: " : "", session ? session : "", session ? "\r\n" : "",
			 transport ? "Transport: " : "", transport ? transport : "", transport ? "\r\n" : "");
	assert_true(n > 0 && (size_t)n < size);
	return buf;
}

/* An RTSP connection with one UDP stream set up and played. */
static inline uint64_t ch_rtsp_session(struct call_harness *h, struct ch_tcp *c, const char *session_id,
				       uint16_t client_rtp, uint16_t server_rtp, int *server)
{
	char text[CH_TEXT_MAX], transport[256];
	struct verdict v;
	uint64_t session;
	ch_tcp_open(h, c, &v);
	session = v.session;
	*server = v.server;
	assert_true(session != 0 && *server >= 0);
	snprintf(transport, sizeof(transport), "RTP/AVP;unicast;client_port=%u-%u", client_rtp, client_rtp + 1);
	ch_tcp_client(h, c, TCP_FLAG_ACK | TCP_FLAG_PSH,
		      ch_rtsp_request(text, sizeof(text), "SETUP", 1, NULL, transport), 0, &v);
	ch_assert_to(h, &v, session, *server);
	snprintf(transport, sizeof(transport), "RTP/AVP;unicast;client_port=%u-%u;server_port=%u-%u", client_rtp,
		 client_rtp + 1, server_rtp, server_rtp + 1);
	assert_int_equal(ch_tcp_server(h, c, TCP_FLAG_ACK | TCP_FLAG_PSH,
				       ch_rtsp_reply(text, sizeof(text), 1, session_id, transport)),
			 1);
	ch_tcp_client(h, c, TCP_FLAG_ACK | TCP_FLAG_PSH, ch_rtsp_request(text, sizeof(text), "PLAY", 2, session_id, NULL),
		      0, &v);
	ch_assert_to(h, &v, session, *server);
	ch_tcp_server(h, c, TCP_FLAG_ACK | TCP_FLAG_PSH, ch_rtsp_reply(text, sizeof(text), 2, session_id, NULL));
	ch_media(h, c->client, client_rtp + 1, server_rtp + 1, &v);   /* RTCP: the client's first packet */
	ch_assert_to(h, &v, session, *server);
	assert_int_equal(v.identity, FLOW_SECONDARY);
	return session;
}

#endif
