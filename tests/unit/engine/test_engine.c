/* test_engine.c - the engine end to end: whole IPv4/IPv6 packets in (client
 * side through engine_packet, server side through a gateway and
 * engine_announce), verdicts, sessions, predictions, timers and counters out. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/admission.h"
#include "engine/engine.h"
#include "engine/flow_table.h"
#include "engine/gateway.h"
#include "dpi/packet.h"
#include "packet_builder.h"

#define VIP4 "198.18.10.1"
#define VIP6 "fd00:10::1"
#define CLIENT4 "192.0.2.10"
#define CLIENT4_B "192.0.2.20"
#define CLIENT6 "2001:db8::10"
#define SERVER_COUNT 3
#define SIP_PORT 5060
#define RTSP_PORT 554

#define SIGNALLING_S 20
#define MEDIA_S 10
#define LINGER_S 2
#define TICK_SLACK_MS 250 /* timers fire on 100 ms ticks */

#define MAX_ANNOUNCEMENTS 8
#define TEXT_MAX 8192

/* ---- the harness: one engine, one gateway, a clock, the hooks' log ---- */

struct harness {
	struct sara_config cfg;
	struct engine *engine;
	struct gateway *gateway;
	uint64_t now;
	unsigned flows_removed, sessions_removed;
	struct flow_key last_flow_removed;
	int last_flow_removed_server;
	struct session_info last_session_removed;
	bool kernel_carries_media;     /* what the flow_active hook answers */
	unsigned flow_active_queries;
	unsigned flows_moved;
	struct flow_key last_flow_moved;
	uint32_t last_flow_moved_mark;
};

static void on_flow_removed(void *ctx, const struct flow_key *key, int server)
{
	struct harness *h = ctx;
	h->flows_removed++;
	h->last_flow_removed = *key;
	h->last_flow_removed_server = server;
}

static void on_session_removed(void *ctx, const struct session_info *session)
{
	struct harness *h = ctx;
	h->sessions_removed++;
	h->last_session_removed = *session;
}

static bool on_flow_active(void *ctx, const struct flow_key *key, int server)
{
	struct harness *h = ctx;
	(void)key;
	assert_true(server >= 0);
	h->flow_active_queries++;
	return h->kernel_carries_media;
}

static void on_flow_moved(void *ctx, const struct flow_key *key, int server, uint32_t mark)
{
	struct harness *h = ctx;
	assert_true(server >= 0 && server < (int)h->cfg.server_count);
	assert_int_equal(mark, h->cfg.servers[server].mark);
	h->flows_moved++;
	h->last_flow_moved = *key;
	h->last_flow_moved_mark = mark;
}

static void parse_address(const char *text, struct netaddr *out)
{
	assert_true(netaddr_parse(span_make(text, strlen(text)), out));
}

/* sara_config_defaults() + one VIP per family + 3 dual-stack servers, round-robin
 * selection, short timeouts and small limits. */
static void test_config(struct sara_config *cfg)
{
	static const char *const server_addresses[SERVER_COUNT] = { "10.0.0.1", "10.0.0.2", "10.0.0.3" };
	static const char *const server_addresses6[SERVER_COUNT] = { "fd00:2::1", "fd00:2::2", "fd00:2::3" };
	sara_config_defaults(cfg);
	snprintf(cfg->name, sizeof(cfg->name), "engine-test");
	/* Most tests leave sessions unanswered over time, which the window
	 * estimate counts as a backlog; its own tests set it. */
	cfg->admission.estimate = ADMISSION_ESTIMATE_RATE;
	cfg->vip_count = 2;
	parse_address(VIP4, &cfg->vips[0]);
	parse_address(VIP6, &cfg->vips[1]);
	cfg->server_count = SERVER_COUNT;
	for (unsigned i = 0; i < SERVER_COUNT; i++) {
		struct server_config *s = &cfg->servers[i];
		snprintf(s->id, sizeof(s->id), "media%u", i + 1);
		parse_address(server_addresses[i], &s->address);
		parse_address(server_addresses6[i], &s->address6);
		s->mark = 0x100 + i;
		s->table = 101 + i;
		s->weight = 1.0;
	}
	cfg->selection.algorithm = SELECT_ROUND_ROBIN;
	cfg->timeouts.signalling_s = SIGNALLING_S;
	cfg->timeouts.media_s = MEDIA_S;
	cfg->timeouts.linger_s = LINGER_S;
	cfg->limits.flows = 256;
	cfg->limits.sessions = 32;
	cfg->limits.tcp_streams = 16;
	cfg->limits.tcp_buffer = 16384;
	cfg->limits.fragments = 8;
}

/* tweak may adjust the test config before the engine is made. */
static struct harness *harness_new(void (*tweak)(struct sara_config *cfg))
{
	struct harness *h = calloc(1, sizeof(*h));
	struct engine_hooks hooks = { .flow_removed = on_flow_removed,
				      .session_removed = on_session_removed,
				      .flow_active = on_flow_active,
				      .flow_moved = on_flow_moved };
	char err[256];
	assert_non_null(h);
	hooks.ctx = h;
	h->now = 1000000;
	test_config(&h->cfg);
	if (tweak)
		tweak(&h->cfg);
	h->engine = engine_create(&h->cfg, &hooks, h->now, err, sizeof(err));
	if (!h->engine)
		fail_msg("engine_create: %s", err);
	h->gateway = gateway_create(&h->cfg, h->now, err, sizeof(err));
	if (!h->gateway)
		fail_msg("gateway_create: %s", err);
	return h;
}

static void harness_free(struct harness *h)
{
	gateway_destroy(h->gateway);
	engine_destroy(h->engine);
	free(h);
}

static void advance_ms(struct harness *h, uint64_t ms)
{
	h->now += ms;
	engine_advance(h->engine, h->now);
}

static int family_of(const char *address)
{
	return strchr(address, ':') ? NETADDR_IPV6 : NETADDR_IPV4;
}

/* ---- feeding packets ---- */

static uint8_t packet_buffer[70000];

static void feed_datagram(struct harness *h, const uint8_t *ip, size_t len, struct verdict *v)
{
	struct verdict ignored;
	engine_packet(h->engine, ip, len, h->now, v ? v : &ignored);
}

/* Inbound UDP, client -> cluster. */
static void client_udp(struct harness *h, const char *src, uint16_t sport, const char *dst,
		       uint16_t dport, const void *payload, size_t len, struct verdict *v)
{
	size_t n = packet_build_udp(family_of(src), src, sport, dst, dport, payload, len,
				    packet_buffer, sizeof(packet_buffer));
	assert_true(n > 0);
	feed_datagram(h, packet_buffer, n, v);
}

static void client_tcp(struct harness *h, const char *src, uint16_t sport, const char *dst,
		       uint16_t dport, uint32_t seq, uint8_t flags, const void *payload, size_t len,
		       struct verdict *v)
{
	size_t n = packet_build_tcp(family_of(src), src, sport, dst, dport, seq, flags, payload, len,
				    packet_buffer, sizeof(packet_buffer));
	assert_true(n > 0);
	feed_datagram(h, packet_buffer, n, v);
}

/* An outbound datagram through the gateway; every announcement it makes is
 * handed to the engine, as sara-gw would. Returns how many there were. */
static size_t gateway_datagram(struct harness *h, const uint8_t *ip, size_t len)
{
	struct announcement out[MAX_ANNOUNCEMENTS];
	size_t n = gateway_packet(h->gateway, ip, len, h->now, out, MAX_ANNOUNCEMENTS);
	for (size_t i = 0; i < n; i++)
		engine_announce(h->engine, &out[i], h->now);
	return n;
}

static size_t server_udp(struct harness *h, const char *src, uint16_t sport, const char *dst,
			 uint16_t dport, const char *text)
{
	size_t n = packet_build_udp(family_of(src), src, sport, dst, dport, text, strlen(text),
				    packet_buffer, sizeof(packet_buffer));
	assert_true(n > 0);
	return gateway_datagram(h, packet_buffer, n);
}

static size_t server_tcp(struct harness *h, const char *src, uint16_t sport, const char *dst,
			 uint16_t dport, uint32_t seq, uint8_t flags, const char *text)
{
	size_t len = text ? strlen(text) : 0;
	size_t n = packet_build_tcp(family_of(src), src, sport, dst, dport, seq, flags, text, len,
				    packet_buffer, sizeof(packet_buffer));
	assert_true(n > 0);
	return gateway_datagram(h, packet_buffer, n);
}

/* One RTP (or RTCP) packet; the payload does not matter to the engine. */
static void media_packet(struct harness *h, const char *src, uint16_t sport, const char *dst,
			 uint16_t dport, struct verdict *v)
{
	static const uint8_t rtp[12] = { 0x80, 0x00, 0x12, 0x34 };
	client_udp(h, src, sport, dst, dport, rtp, sizeof(rtp), v);
}

/* ---- counters and sessions ---- */

static uint64_t engine_counter(const struct harness *h, enum counter_id id)
{
	return counter_get(engine_counters(h->engine), id);
}

static struct session_info session_of(const struct harness *h, uint64_t serial)
{
	struct session_info info;
	if (!engine_session_info(h->engine, serial, &info))
		fail_msg("session %llu is gone", (unsigned long long)serial);
	return info;
}

static bool session_exists(const struct harness *h, uint64_t serial)
{
	struct session_info info;
	return engine_session_info(h->engine, serial, &info);
}

static struct engine_stats stats_of(const struct harness *h)
{
	struct engine_stats stats;
	engine_get_stats(h->engine, &stats);
	return stats;
}

/* ---- verdict checks ---- */

static void assert_marked(const struct harness *h, const struct verdict *v, int server)
{
	assert_int_equal(v->action, VERDICT_ACCEPT);
	assert_int_equal(v->server, server);
	assert_true(server >= 0 && server < SERVER_COUNT);
	assert_int_equal(v->mark, h->cfg.servers[server].mark);
}

/* A flow of this session, sent to the session's server. */
static void assert_follows(const struct harness *h, const struct verdict *v,
			   enum flow_identity identity, uint64_t session, int server)
{
	assert_int_equal(v->identity, identity);
	assert_int_equal(v->reason, REASON_SESSION);
	assert_int_equal(v->session, session);
	assert_marked(h, v, server);
}

static void assert_unpredicted(const struct verdict *v)
{
	assert_int_equal(v->action, VERDICT_ACCEPT);
	assert_int_equal(v->identity, FLOW_UNPREDICTED);
	assert_int_equal(v->reason, REASON_UNPREDICTED);
	assert_int_equal(v->session, 0);
	assert_true(v->server >= 0);
}

/* ---- SIP and SDP text ---- */

/* An SDP body with a session-level c= line and the given m= sections. */
static const char *sdp_make(char *buf, size_t size, const char *addr, const char *media)
{
	const char *ip = strchr(addr, ':') ? "IP6" : "IP4";
	int n = snprintf(buf, size, "v=0\r\no=- 1 1 IN %s %s\r\ns=-\r\nc=IN %s %s\r\nt=0 0\r\n%s",
			 ip, addr, ip, addr, media);
	assert_true(n > 0 && (size_t)n < size);
	return buf;
}

/* One audio m= section; extra holds further a= lines (may be ""). */
static const char *audio_media(char *buf, size_t size, uint16_t port, const char *extra)
{
	int n = snprintf(buf, size, "m=audio %u RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n%s", port, extra);
	assert_true(n > 0 && (size_t)n < size);
	return buf;
}

/* A body with one audio stream at addr:port. */
static const char *sdp_audio(char *buf, size_t size, const char *addr, uint16_t port, const char *extra)
{
	char media[512];
	return sdp_make(buf, size, addr, audio_media(media, sizeof(media), port, extra));
}

static size_t sip_body_headers(char *buf, size_t size, const char *call_id, unsigned cseq,
			       const char *cseq_method, const char *sdp)
{
	int n = snprintf(buf, size,
			 "From: <sip:alice@client.example>;tag=1928301774\r\n"
			 "To: <sip:bob@sara.example>;tag=a6c85cf\r\n"
			 "Call-ID: %s\r\n"
			 "CSeq: %u %s\r\n"
			 "Contact: <sip:alice@client.example>\r\n"
			 "%s"
			 "Content-Length: %zu\r\n\r\n%s",
			 call_id, cseq, cseq_method,
			 sdp ? "Content-Type: application/sdp\r\n" : "", sdp ? strlen(sdp) : 0,
			 sdp ? sdp : "");
	assert_true(n > 0 && (size_t)n < size);
	return (size_t)n;
}

/* A SIP request; sdp may be NULL. Returns buf. */
static const char *sip_request(char *buf, size_t size, const char *method, const char *call_id,
			       unsigned cseq, const char *sdp)
{
	int n = snprintf(buf, size,
			 "%s sip:bob@sara.example SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP client.example:5060;branch=z9hG4bK-%u\r\n"
			 "Max-Forwards: 70\r\n",
			 method, cseq);
	assert_true(n > 0 && (size_t)n < size);
	sip_body_headers(buf + n, size - (size_t)n, call_id, cseq, method, sdp);
	return buf;
}

static const char *sip_response(char *buf, size_t size, unsigned status, const char *call_id,
				unsigned cseq, const char *cseq_method, const char *sdp)
{
	int n = snprintf(buf, size,
			 "SIP/2.0 %u Whatever\r\n"
			 "Via: SIP/2.0/UDP client.example:5060;branch=z9hG4bK-%u\r\n",
			 status, cseq);
	assert_true(n > 0 && (size_t)n < size);
	sip_body_headers(buf + n, size - (size_t)n, call_id, cseq, cseq_method, sdp);
	return buf;
}

/* ---- SIP call steps over UDP (client port 5060 unless told) ---- */

/* The client sends an INVITE (or re-INVITE) with this SDP body. */
static void client_invite(struct harness *h, const char *client, const char *vip,
			  const char *call_id, unsigned cseq, const char *sdp, struct verdict *v)
{
	char text[TEXT_MAX];
	sip_request(text, sizeof(text), "INVITE", call_id, cseq, sdp);
	client_udp(h, client, SIP_PORT, vip, SIP_PORT, text, strlen(text), v);
}

/* A new call offering audio at media_addr:rtp. Returns its session. */
static uint64_t start_call(struct harness *h, const char *client, const char *vip,
			   const char *call_id, const char *media_addr, uint16_t rtp, int *server)
{
	char sdp[1024];
	struct verdict v;
	client_invite(h, client, vip, call_id, 1, sdp_audio(sdp, sizeof(sdp), media_addr, rtp, ""), &v);
	assert_int_equal(v.identity, FLOW_SIGNALLING);
	assert_int_equal(v.reason, REASON_SESSION);
	assert_int_not_equal(v.session, 0);
	assert_marked(h, &v, v.server);
	if (server)
		*server = v.server;
	return v.session;
}

/* The server answers through the gateway: a response with this SDP body
 * (NULL: none) from VIP:5060 to the client's 5060. */
static void server_answers(struct harness *h, const char *client, const char *vip, unsigned status,
			   const char *call_id, unsigned cseq, const char *method, const char *sdp)
{
	char text[TEXT_MAX];
	sip_response(text, sizeof(text), status, call_id, cseq, method, sdp);
	assert_int_equal(server_udp(h, vip, SIP_PORT, client, SIP_PORT, text), 1);
}

/* 200 OK to the INVITE, with the server's audio at vip:server_rtp. */
static void answer_call(struct harness *h, const char *client, const char *vip,
			const char *call_id, unsigned cseq, uint16_t server_rtp, const char *extra)
{
	char sdp[1024];
	server_answers(h, client, vip, 200, call_id, cseq, "INVITE",
		       sdp_audio(sdp, sizeof(sdp), vip, server_rtp, extra));
}

static void client_sends(struct harness *h, const char *client, const char *vip, const char *method,
			 const char *call_id, unsigned cseq, struct verdict *v)
{
	char text[TEXT_MAX];
	sip_request(text, sizeof(text), method, call_id, cseq, NULL);
	client_udp(h, client, SIP_PORT, vip, SIP_PORT, text, strlen(text), v);
}

/* A whole call set up: offer, answer, ACK. */
static uint64_t established_call(struct harness *h, const char *client, const char *vip,
				 const char *call_id, uint16_t client_rtp, uint16_t server_rtp,
				 int *server)
{
	struct verdict v;
	uint64_t session = start_call(h, client, vip, call_id, client, client_rtp, server);
	answer_call(h, client, vip, call_id, 1, server_rtp, "");
	client_sends(h, client, vip, "ACK", call_id, 1, &v);
	assert_int_equal(v.session, session);
	assert_true(session_of(h, session).confirmed);
	return session;
}


/* ================= several dispatchers: the hash selection ================= */

static void use_hash(struct sara_config *cfg)
{
	cfg->selection.algorithm = SELECT_HASH;
}

/* Dispatcher b never saw the INVITE (ECMP sent it to a): the server's
 * answer announced by the gateway, then the in-dialog requests, take the
 * session up at a's server, and the media the answer predicts follows. */
static void test_hash_session_adopted_by_another_dispatcher(void **state)
{
	struct harness *a = harness_new(use_hash), *b = harness_new(use_hash);
	struct verdict v;
	uint64_t session;
	int server = -1;
	unsigned seen[SERVER_COUNT] = { 0 };
	char name[64];
	(void)state;

	/* the pick is a's and b's alike, whatever the key */
	for (unsigned i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "spread-%u@client.example", i);
		session = start_call(a, CLIENT4, VIP4, name, CLIENT4, (uint16_t)(30000 + 2 * i), &server);
		client_invite(b, CLIENT4, VIP4, name, 1, NULL, &v);
		assert_int_equal(v.server, server);
		seen[server]++;
	}
	for (unsigned i = 0; i < SERVER_COUNT; i++)
		assert_true(seen[i] > 0);

	session = established_call(a, CLIENT4, VIP4, "moved@client.example", 40000, 20000, &server);
	assert_int_equal(engine_counter(a, COUNTER_SESSIONS_ADOPTED), 0);
	answer_call(b, CLIENT4, VIP4, "moved@client.example", 1, 20000, "");
	assert_int_equal(engine_counter(b, COUNTER_SESSIONS_ADOPTED), 1);
	media_packet(b, CLIENT4, 40000, VIP4, 20000, &v);
	assert_int_equal(v.identity, FLOW_SECONDARY);
	assert_int_equal(v.server, server);
	client_sends(b, CLIENT4, VIP4, "BYE", "moved@client.example", 2, &v);
	assert_int_equal(v.server, server);
	assert_int_equal(v.reason, REASON_SESSION);
	assert_int_equal(v.action, VERDICT_ACCEPT);

	/* an in-dialog request alone adopts too */
	start_call(a, CLIENT4_B, VIP4, "only-a@client.example", CLIENT4_B, 42000, &server);
	client_sends(b, CLIENT4_B, VIP4, "UPDATE", "only-a@client.example", 3, &v);
	assert_int_equal(engine_counter(b, COUNTER_SESSIONS_ADOPTED), 2);
	assert_int_equal(v.reason, REASON_SESSION);
	assert_int_equal(v.server, server);
	(void)session;
	harness_free(a);
	harness_free(b);
}

/* Other selections cannot derive a pick: an unknown in-dialog request
 * stays sessionless (placed by the client's address), as before. */
static void test_no_adoption_without_hash(void **state)
{
	struct harness *h = harness_new(NULL);
	struct verdict v;
	(void)state;
	client_sends(h, CLIENT4, VIP4, "BYE", "unknown@client.example", 2, &v);
	assert_int_equal(v.reason, REASON_UNPREDICTED);
	assert_int_equal(engine_counter(h, COUNTER_SESSIONS_ADOPTED), 0);
	assert_int_equal(engine_counter(h, COUNTER_SIP_NO_SESSION), 1);
	harness_free(h);
}

/* ================= SIP over UDP: calls and their media ================= */

static void test_invite_answer_media_follows(void **state)
{
	struct harness *h = harness_new(NULL);
	struct verdict v;
	int server;
	uint64_t session;
	struct session_info info;

	(void)state;
	session = start_call(h, CLIENT4, VIP4, "call-1@client.example", CLIENT4, 40000, &server);
	info = session_of(h, session);
	assert_int_equal(info.proto, PROTO_SIP);
	assert_string_equal(info.key, "call-1@client.example");
	assert_int_equal(info.server, server);
	assert_false(info.confirmed);
	assert_false(info.ending);

	answer_call(h, CLIENT4, VIP4, "call-1@client.example", 1, 20000, "");
	assert_true(session_of(h, session).confirmed);
	assert_int_equal(engine_counter(h, COUNTER_ANNOUNCEMENTS), 1);

	/* RTP and RTCP (port + 1) of both sides: secondary, same server. */
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	assert_true(v.new_flow);
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	assert_false(v.new_flow);
	media_packet(h, CLIENT4, 40001, VIP4, 20001, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	assert_true(v.new_flow);

	/* Signalling of the call keeps going there too. */
	client_sends(h, CLIENT4, VIP4, "ACK", "call-1@client.example", 1, &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session, server);
	assert_false(v.new_flow);

	/* Another client's RTP to the same VIP port is not this call's. */
	media_packet(h, CLIENT4_B, 40000, VIP4, 20000, &v);
	assert_unpredicted(&v);
	assert_true(stats_of(h).predictions_hit >= 2);
	assert_int_equal(h->flows_removed, 0);
	assert_int_equal(h->sessions_removed, 0);
	harness_free(h);
}

static void test_sdp_rtcp_attribute(void **state)
{
	struct harness *h = harness_new(NULL);
	char sdp[1024];
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	client_invite(h, CLIENT4, VIP4, "rtcp-attr@c", 1,
		      sdp_audio(sdp, sizeof(sdp), CLIENT4, 40000, "a=rtcp:40100\r\n"), &v);
	session = v.session;
	server = v.server;
	answer_call(h, CLIENT4, VIP4, "rtcp-attr@c", 1, 20000, "a=rtcp:20100\r\n");

	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	media_packet(h, CLIENT4, 40100, VIP4, 20100, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	/* port + 1 was not negotiated for RTCP. */
	media_packet(h, CLIENT4, 40001, VIP4, 20001, &v);
	assert_unpredicted(&v);
	harness_free(h);
}

static void test_sdp_rtcp_mux(void **state)
{
	struct harness *h = harness_new(NULL);
	char sdp[1024];
	struct verdict v;
	int server;
	uint64_t session;
	struct engine_stats before, after;

	(void)state;
	client_invite(h, CLIENT4, VIP4, "mux@c", 1,
		      sdp_audio(sdp, sizeof(sdp), CLIENT4, 40000, "a=rtcp-mux\r\n"), &v);
	session = v.session;
	server = v.server;
	before = stats_of(h);
	answer_call(h, CLIENT4, VIP4, "mux@c", 1, 20000, "a=rtcp-mux\r\n");
	after = stats_of(h);
	/* One flow per stream: exact, from-source and to-destination. */
	assert_int_equal(after.predictions_made - before.predictions_made, 3);

	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	media_packet(h, CLIENT4, 40001, VIP4, 20001, &v);
	assert_unpredicted(&v);
	harness_free(h);
}

/* No answer seen (the gateway missed it): the client's RTP source alone,
 * to whatever VIP port, is enough. */
static void test_offer_only_source_wildcard(void **state)
{
	struct harness *h = harness_new(NULL);
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	session = start_call(h, CLIENT4, VIP4, "offer-only@c", CLIENT4, 40000, &server);
	media_packet(h, CLIENT4, 40000, VIP4, 31234, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	assert_true(v.new_flow);
	media_packet(h, CLIENT4, 40001, VIP4, 31235, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	/* The flow is now exact: a second packet finds it. */
	media_packet(h, CLIENT4, 40000, VIP4, 31234, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	assert_false(v.new_flow);
	assert_int_equal(session_of(h, session).flow_count >= 3, true);
	media_packet(h, CLIENT4, 40002, VIP4, 31234, &v);
	assert_unpredicted(&v);
	harness_free(h);
}

static void test_ipv6_call(void **state)
{
	struct harness *h = harness_new(NULL);
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	session = established_call(h, CLIENT6, VIP6, "v6-call@c", 40000, 20000, &server);
	media_packet(h, CLIENT6, 40000, VIP6, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	assert_int_equal(v.key.family, NETADDR_IPV6);
	media_packet(h, CLIENT6, 40001, VIP6, 20001, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	/* The same ports over IPv4 belong to nobody. */
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_unpredicted(&v);
	harness_free(h);
}

/* A SIP trunk: one signalling 5-tuple, many Call-IDs. Each call keeps its
 * own media and server; round-robin spreads them. */
static void test_trunk_many_calls_one_flow(void **state)
{
	enum { CALLS = 6 };
	struct harness *h = harness_new(NULL);
	const char *trunk = "203.0.113.5", *media_gateway = "203.0.113.6";
	uint64_t sessions[CALLS];
	int servers[CALLS];
	bool used[SERVER_COUNT] = { false };
	char call_id[64];
	struct verdict v;

	(void)state;
	for (unsigned i = 0; i < CALLS; i++) {
		snprintf(call_id, sizeof(call_id), "trunk-%u@pbx", i);
		sessions[i] = start_call(h, trunk, VIP4, call_id, media_gateway,
					 (uint16_t)(40000 + 10 * i), &servers[i]);
		used[servers[i]] = true;
		for (unsigned j = 0; j < i; j++)
			assert_int_not_equal(sessions[i], sessions[j]);
	}
	for (unsigned s = 0; s < SERVER_COUNT; s++)
		assert_true(used[s]);
	/* Answers arrive in reverse order. */
	for (unsigned i = CALLS; i-- > 0;) {
		snprintf(call_id, sizeof(call_id), "trunk-%u@pbx", i);
		answer_call(h, trunk, VIP4, call_id, 1, (uint16_t)(20000 + 10 * i), "");
	}
	for (unsigned i = 0; i < CALLS; i++) {
		media_packet(h, media_gateway, (uint16_t)(40000 + 10 * i), VIP4,
			     (uint16_t)(20000 + 10 * i), &v);
		assert_follows(h, &v, FLOW_SECONDARY, sessions[i], servers[i]);
		media_packet(h, media_gateway, (uint16_t)(40001 + 10 * i), VIP4,
			     (uint16_t)(20001 + 10 * i), &v);
		assert_follows(h, &v, FLOW_SECONDARY, sessions[i], servers[i]);
	}
	/* In-dialog requests on the shared flow go to their own call's server. */
	for (unsigned i = 0; i < CALLS; i++) {
		snprintf(call_id, sizeof(call_id), "trunk-%u@pbx", (i * 5) % CALLS);
		client_sends(h, trunk, VIP4, "BYE", call_id, 2, &v);
		assert_follows(h, &v, FLOW_SIGNALLING, sessions[(i * 5) % CALLS], servers[(i * 5) % CALLS]);
	}
	harness_free(h);
}

/* A proxy relays the call: SDP c= names the user agent, not the proxy. */
static void test_proxy_relayed_media_address(void **state)
{
	struct harness *h = harness_new(NULL);
	const char *proxy = "192.0.2.50", *agent = "198.51.100.77";
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	session = start_call(h, proxy, VIP4, "relayed@ua", agent, 40000, &server);
	answer_call(h, proxy, VIP4, "relayed@ua", 1, 20000, "");
	media_packet(h, agent, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	media_packet(h, agent, 40001, VIP4, 20001, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	/* The proxy is not where the media comes from. */
	media_packet(h, proxy, 40000, VIP4, 30000, &v);
	assert_unpredicted(&v);
	harness_free(h);
}

/* ================= re-INVITE: replace, hold, disable ================= */

static void test_reinvite_replaces_media(void **state)
{
	struct harness *h = harness_new(NULL);
	char sdp[1024];
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	session = established_call(h, CLIENT4, VIP4, "move@c", 40000, 20000, &server);
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);

	/* Before: the offer's source wildcard matches any VIP port. */
	media_packet(h, CLIENT4, 40001, VIP4, 33001, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);

	client_invite(h, CLIENT4, VIP4, "move@c", 2,
		      sdp_audio(sdp, sizeof(sdp), CLIENT4, 40010, ""), &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session, server);
	/* The new port is predicted at once (offer side)... */
	media_packet(h, CLIENT4, 40010, VIP4, 31000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	/* ...and the old port's prediction is gone. */
	media_packet(h, CLIENT4, 40000, VIP4, 31002, &v);
	assert_unpredicted(&v);

	/* The answer moves the server side too. */
	answer_call(h, CLIENT4, VIP4, "move@c", 2, 20010, "");
	media_packet(h, CLIENT4, 40011, VIP4, 20011, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	assert_int_equal(session_of(h, session).server, server);
	harness_free(h);
}

static void test_hold_and_disabled_streams(void **state)
{
	struct harness *h = harness_new(NULL);
	char sdp[2048], media[1024];
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	/* Audio and video. */
	snprintf(media, sizeof(media),
		 "m=audio 40000 RTP/AVP 0\r\nm=video 40020 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n");
	client_invite(h, CLIENT4, VIP4, "hold@c", 1, sdp_make(sdp, sizeof(sdp), CLIENT4, media), &v);
	session = v.session;
	server = v.server;
	media_packet(h, CLIENT4, 40020, VIP4, 30000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);

	/* Video switched off with port 0: its prediction goes, audio stays. */
	snprintf(media, sizeof(media), "m=audio 40000 RTP/AVP 0\r\nm=video 0 RTP/AVP 96\r\n");
	client_invite(h, CLIENT4, VIP4, "hold@c", 2, sdp_make(sdp, sizeof(sdp), CLIENT4, media), &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session, server);
	media_packet(h, CLIENT4, 40021, VIP4, 30001, &v);
	assert_unpredicted(&v);
	media_packet(h, CLIENT4, 40000, VIP4, 30002, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);

	/* RFC 2543 hold, c=0.0.0.0: no media from this side any more. */
	client_invite(h, CLIENT4, VIP4, "hold@c", 3, sdp_audio(sdp, sizeof(sdp), "0.0.0.0", 40000, ""), &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session, server);
	media_packet(h, CLIENT4, 40001, VIP4, 30004, &v);
	assert_unpredicted(&v);
	assert_int_equal(engine_counter(h, COUNTER_MEDIA_CLIENT_NAMES_CLUSTER), 0);

	/* Resume. */
	client_invite(h, CLIENT4, VIP4, "hold@c", 4, sdp_audio(sdp, sizeof(sdp), CLIENT4, 40000, ""), &v);
	media_packet(h, CLIENT4, 40001, VIP4, 30006, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	assert_true(session_exists(h, session));
	assert_false(session_of(h, session).ending);
	harness_free(h);
}

/* ================= ending calls, timers, hooks ================= */

static void test_bye_ends_after_linger(void **state)
{
	struct harness *h = harness_new(NULL);
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	session = established_call(h, CLIENT4, VIP4, "bye@c", 40000, 20000, &server);
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	client_sends(h, CLIENT4, VIP4, "BYE", "bye@c", 2, &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session, server);
	assert_true(session_of(h, session).ending);

	/* Until the answer, and within the linger after it, retransmissions
	 * and late media still follow. */
	advance_ms(h, LINGER_S * 1000 / 2);
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	client_sends(h, CLIENT4, VIP4, "BYE", "bye@c", 2, &v); /* retransmission */
	assert_follows(h, &v, FLOW_SIGNALLING, session, server);
	server_answers(h, CLIENT4, VIP4, 200, "bye@c", 2, "BYE", NULL);
	advance_ms(h, LINGER_S * 1000 / 2);
	client_sends(h, CLIENT4, VIP4, "BYE", "bye@c", 2, &v); /* the 200 was lost */
	assert_follows(h, &v, FLOW_SIGNALLING, session, server);
	server_answers(h, CLIENT4, VIP4, 200, "bye@c", 2, "BYE", NULL);
	assert_int_equal(h->sessions_removed, 0);

	advance_ms(h, LINGER_S * 1000 + TICK_SLACK_MS);
	assert_false(session_exists(h, session));
	assert_int_equal(h->sessions_removed, 1);
	assert_int_equal(h->last_session_removed.serial, session);
	assert_int_equal(h->last_session_removed.server, server);
	assert_string_equal(h->last_session_removed.key, "bye@c");
	/* The RTP flow that was decided is reported, so its connmark goes. */
	assert_true(h->flows_removed >= 1);
	assert_int_equal(h->last_flow_removed_server, server);
	assert_int_equal(stats_of(h).sessions_ended, 1);
	assert_int_equal(stats_of(h).sessions_expired, 0);

	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_unpredicted(&v);
	assert_true(v.new_flow);
	harness_free(h);
}

static void test_cancel_ends_call(void **state)
{
	struct harness *h = harness_new(NULL);
	struct verdict v;
	uint64_t session;

	(void)state;
	session = start_call(h, CLIENT4, VIP4, "cancel@c", CLIENT4, 40000, NULL);
	client_sends(h, CLIENT4, VIP4, "CANCEL", "cancel@c", 1, &v);
	assert_int_equal(v.session, session);
	server_answers(h, CLIENT4, VIP4, 200, "cancel@c", 1, "CANCEL", NULL);
	server_answers(h, CLIENT4, VIP4, 487, "cancel@c", 1, "INVITE", NULL);
	advance_ms(h, LINGER_S * 1000 + TICK_SLACK_MS);
	assert_false(session_exists(h, session));
	assert_int_equal(h->last_session_removed.serial, session);
	harness_free(h);
}

static void test_error_to_initial_invite_ends(void **state)
{
	struct harness *h = harness_new(NULL);
	uint64_t session;

	(void)state;
	session = start_call(h, CLIENT4, VIP4, "busy@c", CLIENT4, 40000, NULL);
	server_answers(h, CLIENT4, VIP4, 180, "busy@c", 1, "INVITE", NULL);
	assert_false(session_of(h, session).ending);
	server_answers(h, CLIENT4, VIP4, 486, "busy@c", 1, "INVITE", NULL);
	assert_true(session_of(h, session).ending);
	advance_ms(h, LINGER_S * 1000 + TICK_SLACK_MS);
	assert_false(session_exists(h, session));
	assert_int_equal(stats_of(h).sessions_ended, 1);
	harness_free(h);
}

static void test_491_to_reinvite_keeps_call(void **state)
{
	struct harness *h = harness_new(NULL);
	char sdp[1024];
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	session = established_call(h, CLIENT4, VIP4, "glare@c", 40000, 20000, &server);
	client_invite(h, CLIENT4, VIP4, "glare@c", 2, sdp_audio(sdp, sizeof(sdp), CLIENT4, 40000, ""), &v);
	server_answers(h, CLIENT4, VIP4, 491, "glare@c", 2, "INVITE", NULL);
	assert_false(session_of(h, session).ending);
	advance_ms(h, LINGER_S * 1000 + TICK_SLACK_MS);
	assert_true(session_exists(h, session));
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	harness_free(h);
}

/* A media flow idle past media_s is inactive but kept; past twice that it
 * is purged and reported. Its session lives on. */
static void test_media_flow_inactive_then_purged(void **state)
{
	struct harness *h = harness_new(NULL);
	struct verdict v;
	struct flow_key rtp_key;
	int server;
	uint64_t session;
	unsigned removed_before;

	(void)state;
	session = established_call(h, CLIENT4, VIP4, "idle@c", 40000, 20000, &server);
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	rtp_key = v.key;
	removed_before = h->flows_removed;

	/* Inactive (past media_s) is not gone: the next packet finds it. */
	advance_ms(h, MEDIA_S * 1000 + MEDIA_S * 500);
	assert_int_equal(h->flows_removed, removed_before);
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	assert_false(v.new_flow);
	/* Keep the session's signalling alive. */
	client_sends(h, CLIENT4, VIP4, "INFO", "idle@c", 3, NULL);

	/* Now silent for 2 x media_s: purged, and the hook names it. */
	advance_ms(h, 2 * MEDIA_S * 1000 + TICK_SLACK_MS);
	assert_int_equal(h->flows_removed, removed_before + 1);
	assert_memory_equal(&h->last_flow_removed, &rtp_key, sizeof(rtp_key));
	assert_int_equal(h->last_flow_removed_server, server);
	assert_true(stats_of(h).flows_expired >= 1);
	assert_true(session_exists(h, session));
	harness_free(h);
}

static void test_session_expires_when_silent(void **state)
{
	struct harness *h = harness_new(NULL);
	struct verdict v;
	uint64_t session;

	(void)state;
	session = established_call(h, CLIENT4, VIP4, "silent@c", 40000, 20000, NULL);
	/* Signalling refreshes it. */
	advance_ms(h, SIGNALLING_S * 1000 + SIGNALLING_S * 500);
	client_sends(h, CLIENT4, VIP4, "INFO", "silent@c", 2, &v);
	assert_int_equal(v.session, session);
	advance_ms(h, SIGNALLING_S * 1000 + SIGNALLING_S * 500);
	assert_true(session_exists(h, session));
	assert_int_equal(h->sessions_removed, 0);

	advance_ms(h, SIGNALLING_S * 1000);
	assert_false(session_exists(h, session));
	assert_int_equal(h->sessions_removed, 1);
	assert_int_equal(h->last_session_removed.serial, session);
	assert_true(h->last_session_removed.confirmed);
	assert_int_equal(stats_of(h).sessions_expired, 1);
	assert_int_equal(stats_of(h).sessions_ended, 0);
	/* The signalling flow went with the silence, predictions with the session. */
	advance_ms(h, 2 * SIGNALLING_S * 1000);
	assert_int_equal(stats_of(h).flows_in_use, 0);
	assert_int_equal(stats_of(h).sessions_in_use, 0);
	harness_free(h);
}

/* Live, media stays in the kernel (connmark): the engine sees only its first
 * packet. While the adapter says the kernel still carries it, neither the
 * flow nor its silent-signalling session expires; once it stops, both go. */
static void test_media_kept_in_kernel_keeps_session(void **state)
{
	struct harness *h = harness_new(NULL);
	struct verdict v;
	uint64_t session;
	int server;

	(void)state;
	session = established_call(h, CLIENT4, VIP4, "fastpath@c", 40000, 20000, &server);
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	h->kernel_carries_media = true;
	for (int i = 0; i < 10; i++)
		advance_ms(h, SIGNALLING_S * 1000);
	assert_true(session_exists(h, session));
	assert_true(h->flow_active_queries > 0);
	assert_true(engine_counter(h, COUNTER_FLOWS_KEPT_BY_KERNEL) > 0);
	assert_int_equal(stats_of(h).sessions_expired, 0);

	h->kernel_carries_media = false;
	advance_ms(h, 2 * MEDIA_S * 1000 + TICK_SLACK_MS);
	advance_ms(h, 2 * SIGNALLING_S * 1000 + TICK_SLACK_MS);
	assert_false(session_exists(h, session));
	assert_int_equal(stats_of(h).sessions_expired, 1);
	harness_free(h);
}

/* ================= SIP over TCP ================= */

/* A client TCP connection to the cluster and its two sequence numbers. */
struct tcp_conn {
	const char *client, *vip;
	uint16_t client_port, vip_port;
	uint32_t client_seq, server_seq;
};

/* SYN from the client (to the engine), SYN-ACK from the cluster (to the
 * gateway). Returns the SYN's verdict in v. */
static void tcp_open(struct harness *h, struct tcp_conn *c, struct verdict *v)
{
	client_tcp(h, c->client, c->client_port, c->vip, c->vip_port, c->client_seq, TCP_FLAG_SYN,
		   NULL, 0, v);
	c->client_seq++;
	server_tcp(h, c->vip, c->vip_port, c->client, c->client_port, c->server_seq,
		   TCP_FLAG_SYN | TCP_FLAG_ACK, NULL);
	c->server_seq++;
}

/* Client bytes [offset, offset+len) of the stream that starts at the
 * connection's current sequence number; does not advance it. */
static void tcp_client_piece(struct harness *h, const struct tcp_conn *c, const char *text,
			     size_t offset, size_t len, struct verdict *v)
{
	client_tcp(h, c->client, c->client_port, c->vip, c->vip_port, c->client_seq + (uint32_t)offset,
		   TCP_FLAG_ACK | TCP_FLAG_PSH, text + offset, len, v);
}

static void tcp_client_send(struct harness *h, struct tcp_conn *c, const char *text, struct verdict *v)
{
	tcp_client_piece(h, c, text, 0, strlen(text), v);
	c->client_seq += (uint32_t)strlen(text);
}

static size_t tcp_server_send(struct harness *h, struct tcp_conn *c, const char *text)
{
	size_t n = server_tcp(h, c->vip, c->vip_port, c->client, c->client_port, c->server_seq,
			      TCP_FLAG_ACK | TCP_FLAG_PSH, text);
	c->server_seq += (uint32_t)strlen(text);
	return n;
}

static void test_sip_tcp_connection(void **state)
{
	struct harness *h = harness_new(NULL);
	struct tcp_conn c = { CLIENT4, VIP4, 50000, SIP_PORT, 1000, 90000 };
	char sdp[1024], invite[TEXT_MAX], two[2 * TEXT_MAX], second[TEXT_MAX];
	struct verdict v;
	int server;
	size_t len, cut1, cut2;
	uint64_t created, session;

	(void)state;
	tcp_open(h, &c, &v);
	/* The SYN pins the connection before any session is known. */
	assert_int_equal(v.identity, FLOW_SIGNALLING);
	assert_int_equal(v.reason, REASON_CONNECTION);
	assert_true(v.new_flow);
	server = v.server;
	assert_marked(h, &v, server);
	client_tcp(h, c.client, c.client_port, c.vip, c.vip_port, c.client_seq, TCP_FLAG_ACK, NULL, 0, &v);
	assert_int_equal(v.reason, REASON_CONNECTION);
	assert_marked(h, &v, server);

	/* An INVITE in three segments: parsed when the last one arrives. */
	sip_request(invite, sizeof(invite), "INVITE", "tcp-1@c", 1,
		    sdp_audio(sdp, sizeof(sdp), CLIENT4, 40000, ""));
	len = strlen(invite);
	cut1 = 50;
	cut2 = len - 40; /* inside the body */
	created = stats_of(h).sessions_created;
	tcp_client_piece(h, &c, invite, 0, cut1, &v);
	assert_int_equal(v.reason, REASON_CONNECTION);
	assert_marked(h, &v, server);
	tcp_client_piece(h, &c, invite, cut1, cut2 - cut1, &v);
	assert_int_equal(v.reason, REASON_CONNECTION);
	assert_int_equal(stats_of(h).sessions_created, created);
	tcp_client_piece(h, &c, invite, cut2, len - cut2, &v);
	assert_follows(h, &v, FLOW_SIGNALLING, v.session, server);
	session = v.session;
	assert_int_not_equal(session, 0);
	assert_int_equal(stats_of(h).sessions_created, created + 1);
	assert_int_equal(session_of(h, session).server, server);

	/* A retransmission of the middle segment changes nothing. */
	tcp_client_piece(h, &c, invite, cut1, cut2 - cut1, &v);
	assert_marked(h, &v, server);
	assert_int_equal(stats_of(h).sessions_created, created + 1);
	c.client_seq += (uint32_t)len;

	/* The call's media goes where the connection goes. */
	media_packet(h, CLIENT4, 40000, VIP4, 31000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);

	/* Two INVITEs in one segment: two sessions, both on the connection's
	 * server although round-robin would have spread them. */
	sip_request(two, sizeof(two), "INVITE", "tcp-2a@c", 1, sdp_audio(sdp, sizeof(sdp), CLIENT4, 40010, ""));
	sip_request(second, sizeof(second), "INVITE", "tcp-2b@c", 1,
		    sdp_audio(sdp, sizeof(sdp), CLIENT4, 40020, ""));
	strcat(two, second);
	tcp_client_send(h, &c, two, &v);
	assert_int_equal(stats_of(h).sessions_created, created + 3);
	assert_marked(h, &v, server);
	assert_string_equal(session_of(h, v.session).key, "tcp-2b@c");
	assert_int_equal(session_of(h, v.session).server, server);
	assert_string_equal(session_of(h, v.session - 1).key, "tcp-2a@c");
	assert_int_equal(session_of(h, v.session - 1).server, server);
	media_packet(h, CLIENT4, 40010, VIP4, 31010, &v);
	assert_follows(h, &v, FLOW_SECONDARY, v.session, server);
	assert_string_equal(session_of(h, v.session).key, "tcp-2a@c");

	/* The answer comes back over the same connection, via the gateway. */
	sip_response(invite, sizeof(invite), 200, "tcp-2b@c", 1, "INVITE",
		     sdp_audio(sdp, sizeof(sdp), VIP4, 20020, ""));
	assert_int_equal(tcp_server_send(h, &c, invite), 1);
	media_packet(h, CLIENT4, 40021, VIP4, 20021, &v);
	assert_string_equal(session_of(h, v.session).key, "tcp-2b@c");
	assert_follows(h, &v, FLOW_SECONDARY, v.session, server);
	harness_free(h);
}

/* Segments out of order after the SYN: the SYN fixes the sequence, so the
 * first data segment to arrive need not be the first of the stream. */
static void test_sip_tcp_out_of_order(void **state)
{
	struct harness *h = harness_new(NULL);
	struct tcp_conn c = { CLIENT6, VIP6, 50002, SIP_PORT, 7000, 1 };
	char sdp[1024], invite[TEXT_MAX];
	struct verdict v;
	int server;
	size_t len;

	(void)state;
	tcp_open(h, &c, &v);
	server = v.server;
	sip_request(invite, sizeof(invite), "INVITE", "ooo@c", 1,
		    sdp_audio(sdp, sizeof(sdp), CLIENT6, 40000, ""));
	len = strlen(invite);
	tcp_client_piece(h, &c, invite, 200, len - 200, &v);
	assert_int_equal(v.reason, REASON_CONNECTION);
	assert_marked(h, &v, server);
	tcp_client_piece(h, &c, invite, 100, 100, &v);
	assert_int_equal(v.reason, REASON_CONNECTION);
	assert_int_equal(stats_of(h).sessions_created, 0);
	tcp_client_piece(h, &c, invite, 0, 100, &v);
	assert_int_equal(stats_of(h).sessions_created, 1);
	assert_follows(h, &v, FLOW_SIGNALLING, v.session, server);
	assert_string_equal(session_of(h, v.session).key, "ooo@c");
	harness_free(h);
}

/* ================= RTSP ================= */

static const char *rtsp_request(char *buf, size_t size, const char *method, unsigned cseq,
				const char *session, const char *transport)
{
	int n = snprintf(buf, size, "%s rtsp://" VIP4 "/live/track1 RTSP/1.0\r\nCSeq: %u\r\n%s%s%s%s%s%s\r\n",
			 method, cseq, session ? "Session: " : "", session ? session : "",
			 session ? "\r\n" : "", transport ? "Transport: " : "",
			 transport ? transport : "", transport ? "\r\n" : "");
	assert_true(n > 0 && (size_t)n < size);
	return buf;
}

static const char *rtsp_reply(char *buf, size_t size, unsigned cseq, const char *session,
			      const char *transport)
{
	int n = snprintf(buf, size, "RTSP/1.0 200 OK\r\nCSeq: %u\r\n%s%s%s%s%s%s\r\n", cseq,
			 session ? "Session: " : "", session ? session : "", session ? "\r\n" : "",
			 transport ? "Transport: " : "", transport ? transport : "",
			 transport ? "\r\n" : "");
	assert_true(n > 0 && (size_t)n < size);
	return buf;
}

/* Opens an RTSP connection and sets up one UDP stream: the client's
 * client_port pair, the server's server_port pair and Session id. Returns
 * the session; *server is the connection's server. */
static uint64_t rtsp_setup(struct harness *h, struct tcp_conn *c, uint16_t client_rtp,
			   uint16_t server_rtp, const char *session_id, int *server)
{
	char text[TEXT_MAX], transport[256];
	struct verdict v;
	uint64_t session;

	tcp_open(h, c, &v);
	assert_int_equal(v.identity, FLOW_SIGNALLING);
	session = v.session;
	assert_int_not_equal(session, 0);
	*server = v.server;
	assert_marked(h, &v, *server);
	assert_int_equal(strncmp(session_of(h, session).key, "conn:", 5), 0);

	snprintf(transport, sizeof(transport), "RTP/AVP;unicast;client_port=%u-%u", client_rtp,
		 client_rtp + 1);
	tcp_client_send(h, c, rtsp_request(text, sizeof(text), "SETUP", 1, NULL, transport), &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session, *server);

	snprintf(transport, sizeof(transport),
		 "RTP/AVP;unicast;client_port=%u-%u;server_port=%u-%u", client_rtp, client_rtp + 1,
		 server_rtp, server_rtp + 1);
	assert_int_equal(tcp_server_send(h, c, rtsp_reply(text, sizeof(text), 1, session_id, transport)), 1);
	assert_string_equal(session_of(h, session).key, session_id);
	assert_int_equal(session_of(h, session).proto, PROTO_RTSP);
	return session;
}

static void test_rtsp_setup_play_teardown(void **state)
{
	struct harness *h = harness_new(NULL);
	struct tcp_conn c = { CLIENT4, VIP4, 40312, RTSP_PORT, 500, 8000 };
	char text[TEXT_MAX];
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	session = rtsp_setup(h, &c, 5000, 6000, "12345678", &server);
	media_packet(h, CLIENT4, 5000, VIP4, 6000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	media_packet(h, CLIENT4, 5001, VIP4, 6001, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);

	tcp_client_send(h, &c, rtsp_request(text, sizeof(text), "PLAY", 2, "12345678", NULL), &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session, server);
	assert_true(session_of(h, session).confirmed);

	tcp_client_send(h, &c, rtsp_request(text, sizeof(text), "TEARDOWN", 3, "12345678", NULL), &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session, server);
	assert_true(session_of(h, session).ending);
	advance_ms(h, LINGER_S * 1000 + TICK_SLACK_MS);
	assert_false(session_exists(h, session));
	assert_int_equal(h->last_session_removed.serial, session);
	assert_int_equal(h->last_session_removed.proto, PROTO_RTSP);
	harness_free(h);
}

static void test_rtsp_interleaved_predicts_nothing(void **state)
{
	struct harness *h = harness_new(NULL);
	struct tcp_conn c = { CLIENT4, VIP4, 40400, RTSP_PORT, 1, 1 };
	char text[TEXT_MAX];
	struct verdict v;
	uint64_t session;

	(void)state;
	tcp_open(h, &c, &v);
	session = v.session;
	tcp_client_send(h, &c, rtsp_request(text, sizeof(text), "SETUP", 1, NULL,
					    "RTP/AVP/TCP;unicast;interleaved=0-1"), &v);
	assert_int_equal(v.session, session);
	tcp_server_send(h, &c, rtsp_reply(text, sizeof(text), 1, "ilv0001",
					  "RTP/AVP/TCP;unicast;interleaved=0-1"));
	assert_string_equal(session_of(h, session).key, "ilv0001");
	assert_int_equal(stats_of(h).predictions_made, 0);
	assert_int_equal(session_of(h, session).flow_count, 1); /* the connection */
	harness_free(h);
}

/* Two viewers at once, the same server_port on the cluster side (one media
 * server, shared ports) and even the same client ports: their client
 * addresses keep them apart. */
static void test_rtsp_two_clients_shared_server_port(void **state)
{
	struct harness *h = harness_new(NULL);
	struct tcp_conn a = { CLIENT4, VIP4, 40312, RTSP_PORT, 100, 1000 };
	struct tcp_conn b = { CLIENT4_B, VIP4, 40312, RTSP_PORT, 200, 2000 };
	char text[TEXT_MAX];
	struct verdict v;
	int server_a, server_b;
	uint64_t session_a, session_b;

	(void)state;
	session_a = rtsp_setup(h, &a, 5000, 6000, "AAAA0001", &server_a);
	session_b = rtsp_setup(h, &b, 5000, 6000, "BBBB0002", &server_b);
	assert_int_not_equal(session_a, session_b);
	assert_int_not_equal(server_a, server_b); /* round-robin */
	media_packet(h, CLIENT4_B, 5000, VIP4, 6000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session_b, server_b);
	media_packet(h, CLIENT4, 5000, VIP4, 6000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session_a, server_a);
	media_packet(h, CLIENT4, 5001, VIP4, 6001, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session_a, server_a);
	media_packet(h, CLIENT4_B, 5001, VIP4, 6001, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session_b, server_b);

	/* B leaves; A plays on. */
	tcp_client_send(h, &b, rtsp_request(text, sizeof(text), "TEARDOWN", 2, "BBBB0002", NULL), &v);
	advance_ms(h, LINGER_S * 1000 + TICK_SLACK_MS);
	assert_false(session_exists(h, session_b));
	assert_true(session_exists(h, session_a));
	media_packet(h, CLIENT4, 5000, VIP4, 6000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session_a, server_a);
	harness_free(h);
}

/* Two servers that hand out the same Session id (counters, not random):
 * each connection keeps its own session, and one TEARDOWN ends only its
 * own. */
static void test_rtsp_same_session_id_two_servers(void **state)
{
	struct harness *h = harness_new(NULL);
	struct tcp_conn a = { CLIENT4, VIP4, 40312, RTSP_PORT, 100, 1000 };
	struct tcp_conn b = { CLIENT6, VIP6, 40313, RTSP_PORT, 200, 2000 };
	char text[TEXT_MAX];
	struct verdict v;
	int server_a, server_b;
	uint64_t session_a, session_b;

	(void)state;
	session_a = rtsp_setup(h, &a, 5000, 6000, "1", &server_a);
	session_b = rtsp_setup(h, &b, 5000, 6000, "1", &server_b);
	assert_int_not_equal(session_a, session_b);
	tcp_client_send(h, &b, rtsp_request(text, sizeof(text), "PLAY", 2, "1", NULL), &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session_b, server_b);
	tcp_client_send(h, &a, rtsp_request(text, sizeof(text), "PLAY", 2, "1", NULL), &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session_a, server_a);
	media_packet(h, CLIENT6, 5000, VIP6, 6000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session_b, server_b);

	tcp_client_send(h, &b, rtsp_request(text, sizeof(text), "TEARDOWN", 3, "1", NULL), &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session_b, server_b);
	advance_ms(h, LINGER_S * 1000 + TICK_SLACK_MS);
	assert_false(session_exists(h, session_b));
	assert_true(session_exists(h, session_a));
	media_packet(h, CLIENT4, 5000, VIP4, 6000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session_a, server_a);
	harness_free(h);
}

/* ================= IP fragments ================= */

static void few_tcp_streams(struct sara_config *cfg)
{
	cfg->limits.tcp_streams = 4;
}

/* A SYN flood (handshakes that never carry data) takes no reassembly
 * stream, and its flows and RTSP connection sessions go after the short
 * handshake-only timeout; a real connection still gets its stream. */
static void test_syn_flood_takes_no_streams(void **state)
{
	struct harness *h = harness_new(few_tcp_streams);
	char text[TEXT_MAX];
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	for (uint16_t i = 0; i < 24; i++) {
		client_tcp(h, CLIENT4_B, (uint16_t)(20000 + i), VIP4, RTSP_PORT, 1000u * i, TCP_FLAG_SYN,
			   NULL, 0, &v);
		assert_int_equal(v.action, VERDICT_ACCEPT);
		client_tcp(h, CLIENT4_B, (uint16_t)(30000 + i), VIP4, SIP_PORT, 1000u * i, TCP_FLAG_SYN,
			   NULL, 0, &v);
	}
	assert_int_equal(stats_of(h).tcp_streams_in_use, 0);
	assert_int_equal(stats_of(h).sessions_in_use, 24);

	/* A real RTSP connection (its first data segment after the flood). */
	{
		struct tcp_conn c = { CLIENT4, VIP4, 40312, RTSP_PORT, 500, 8000 };
		session = rtsp_setup(h, &c, 5000, 6000, "87654321", &server);
		assert_int_equal(stats_of(h).tcp_streams_in_use, 1);
		(void)text;
		/* Past the handshake-only timeout and its purge: the flood is gone,
		 * the connection that spoke stays. */
		advance_ms(h, 5000);
		tcp_client_send(h, &c, rtsp_request(text, sizeof(text), "PLAY", 2, "87654321", NULL), &v);
		advance_ms(h, 16000);
		tcp_client_send(h, &c, rtsp_request(text, sizeof(text), "GET_PARAMETER", 3, "87654321", NULL), &v);
		advance_ms(h, 5000);
		assert_true(session_exists(h, session));
		assert_int_equal(stats_of(h).sessions_in_use, 1);
		assert_int_equal(engine_counter(h, COUNTER_TCP_HANDSHAKE_ONLY_EXPIRED), 24);
		assert_int_equal(engine_counter(h, COUNTER_TCP_STREAMS_FULL), 0);
	}
	harness_free(h);
}

static void test_fragmented_invite(void **state)
{
	struct harness *h = harness_new(NULL);
	char sdp[4096], media[3072], invite[TEXT_MAX];
	uint8_t whole[TEXT_MAX + 64], piece[2048];
	size_t whole_len, first_len, piece_len, pos = 0;
	struct verdict v;
	uint64_t session;

	(void)state;
	/* An SDP padded with attributes, as real offers with many codecs are. */
	pos += (size_t)snprintf(media, sizeof(media), "m=audio 40000 RTP/AVP 0");
	for (unsigned pt = 96; pt < 127; pt++)
		pos += (size_t)snprintf(media + pos, sizeof(media) - pos, " %u", pt);
	pos += (size_t)snprintf(media + pos, sizeof(media) - pos, "\r\n");
	for (unsigned pt = 96; pt < 127; pt++)
		pos += (size_t)snprintf(media + pos, sizeof(media) - pos,
					"a=rtpmap:%u codec-number-%u/48000/2\r\na=fmtp:%u x=1\r\n",
					pt, pt, pt);
	sip_request(invite, sizeof(invite), "INVITE", "fragmented@c", 1,
		    sdp_make(sdp, sizeof(sdp), CLIENT4, media));
	assert_true(strlen(invite) > 2000);
	whole_len = packet_build_udp(NETADDR_IPV4, CLIENT4, SIP_PORT, VIP4, SIP_PORT, invite, strlen(invite),
				     whole, sizeof(whole));
	assert_true(whole_len > 0);

	first_len = 1480; /* a multiple of 8 */
	piece_len = packet_build_fragment(whole, whole_len, 0, first_len, 4242, piece, sizeof(piece));
	assert_true(piece_len > 0);
	feed_datagram(h, piece, piece_len, &v);
	assert_int_equal(v.reason, REASON_FRAGMENT_HELD);
	assert_int_equal(stats_of(h).sessions_created, 0);

	piece_len = packet_build_fragment(whole, whole_len, first_len, whole_len - 20 - first_len, 4242,
					  piece, sizeof(piece));
	assert_true(piece_len > 0);
	feed_datagram(h, piece, piece_len, &v);
	assert_int_equal(v.identity, FLOW_SIGNALLING);
	assert_int_equal(v.reason, REASON_SESSION);
	session = v.session;
	assert_string_equal(session_of(h, session).key, "fragmented@c");
	media_packet(h, CLIENT4, 40000, VIP4, 31000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, session_of(h, session).server);
	harness_free(h);
}

/* ================= bad input and limits ================= */

static void malformed_drop(struct sara_config *cfg)
{
	cfg->limits.malformed = MALFORMED_DROP;
}

static void test_malformed_sip_counted(void **state)
{
	static const char truncated[] = "INVITE sip:bob@sara.example SIP/2.0\r\nCall-ID: cut@c\r\nCSeq: 1 INV";
	static const char http[] = "GET / HTTP/1.1\r\nHost: sara.example\r\n\r\n";
	struct harness *h = harness_new(NULL);
	struct verdict v;

	(void)state;
	client_udp(h, CLIENT4, SIP_PORT, VIP4, SIP_PORT, truncated, strlen(truncated), &v);
	assert_int_equal(engine_counter(h, COUNTER_SIP_TRUNCATED), 1);
	assert_int_equal(v.reason, REASON_MALFORMED);
	assert_int_equal(v.session, 0);
	/* Passed (the malformed policy's default), and placed somewhere. */
	assert_int_equal(v.action, VERDICT_ACCEPT);
	assert_true(v.server >= 0);

	client_udp(h, CLIENT4, SIP_PORT, VIP4, SIP_PORT, http, strlen(http), &v);
	assert_int_equal(engine_counter(h, COUNTER_SIP_NOT_SIP), 1);
	assert_int_equal(v.reason, REASON_MALFORMED);
	assert_int_equal(stats_of(h).sessions_created, 0);
	harness_free(h);

	h = harness_new(malformed_drop);
	client_udp(h, CLIENT4, SIP_PORT, VIP4, SIP_PORT, http, strlen(http), &v);
	assert_int_equal(v.action, VERDICT_DROP);
	assert_int_equal(v.reason, REASON_MALFORMED);
	/* A broken IP header is counted and dropped too. */
	packet_buffer[0] = 0x45;
	memset(packet_buffer + 1, 0xff, 19);
	feed_datagram(h, packet_buffer, 20, &v);
	assert_int_equal(v.reason, REASON_NOT_IP);
	assert_int_equal(v.action, VERDICT_DROP);
	harness_free(h);
}

/* A well-formed message for no known session (a BYE after a restart) is
 * not malformed: it is placed like any sessionless traffic, never dropped
 * by the malformed policy. */
static void test_orphan_message_is_not_malformed(void **state)
{
	struct harness *h = harness_new(malformed_drop);
	struct verdict v;

	(void)state;
	client_sends(h, CLIENT4, VIP4, "BYE", "forgotten@c", 2, &v);
	assert_int_equal(v.action, VERDICT_ACCEPT);
	assert_int_equal(v.reason, REASON_UNPREDICTED);
	assert_int_equal(v.session, 0);
	assert_true(v.server >= 0);
	assert_int_equal(engine_counter(h, COUNTER_SIP_NO_SESSION), 1);
	harness_free(h);
}

static void test_not_vip_passes_unmarked(void **state)
{
	struct harness *h = harness_new(NULL);
	struct verdict v;

	(void)state;
	media_packet(h, CLIENT4, 40000, "198.18.10.99", 20000, &v);
	assert_int_equal(v.action, VERDICT_ACCEPT);
	assert_int_equal(v.reason, REASON_NOT_VIP);
	assert_int_equal(v.mark, 0);
	assert_int_equal(stats_of(h).flows_in_use, 0);
	harness_free(h);
}

/* A client SDP that names the cluster (a VIP or a server) would let one
 * caller claim another's media: counted, never predicted. */
static void test_sdp_naming_cluster_address(void **state)
{
	struct harness *h = harness_new(NULL);
	char sdp[1024];
	struct verdict v;

	(void)state;
	client_invite(h, CLIENT4, VIP4, "sneaky-1@c", 1, sdp_audio(sdp, sizeof(sdp), VIP4, 20000, ""), &v);
	assert_int_not_equal(v.session, 0);
	assert_int_equal(engine_counter(h, COUNTER_MEDIA_CLIENT_NAMES_CLUSTER), 1);
	client_invite(h, CLIENT4, VIP4, "sneaky-2@c", 1, sdp_audio(sdp, sizeof(sdp), "10.0.0.2", 20000, ""), &v);
	assert_int_equal(engine_counter(h, COUNTER_MEDIA_CLIENT_NAMES_CLUSTER), 2);
	assert_int_equal(stats_of(h).predictions_made, 0);
	harness_free(h);
}

static void small_flow_table_pass(struct sara_config *cfg)
{
	cfg->limits.flows = 16;
	cfg->limits.sessions = 4;
}

static void small_flow_table_drop(struct sara_config *cfg)
{
	small_flow_table_pass(cfg);
	cfg->limits.when_full = FULL_DROP;
}

/* New unpredicted flows beyond limits.flows: REASON_TABLE_FULL, then the
 * when_full policy; established flows are unaffected. */
static void flood_unpredicted(void (*tweak)(struct sara_config *cfg), enum verdict_action expect)
{
	struct harness *h = harness_new(tweak);
	struct verdict v;
	unsigned full = 0;

	for (unsigned i = 0; i < 40; i++) {
		media_packet(h, "203.0.113.66", (uint16_t)(10000 + i), VIP4, 30000, &v);
		if (i < 16) {
			assert_unpredicted(&v);
			continue;
		}
		full++;
		assert_int_equal(v.reason, REASON_TABLE_FULL);
		assert_int_equal(v.action, expect);
		if (expect == VERDICT_ACCEPT)
			assert_marked(h, &v, v.server);
	}
	assert_int_equal(engine_counter(h, COUNTER_FLOW_TABLE_FULL), full);
	assert_int_equal(stats_of(h).flows_in_use, 16);
	/* A flow admitted before the flood still gets its verdict. */
	media_packet(h, "203.0.113.66", 10000, VIP4, 30000, &v);
	assert_unpredicted(&v);
	assert_false(v.new_flow);
	harness_free(h);
}

static void test_flow_table_full_pass(void **state)
{
	(void)state;
	flood_unpredicted(small_flow_table_pass, VERDICT_ACCEPT);
}

static void test_flow_table_full_drop(void **state)
{
	(void)state;
	flood_unpredicted(small_flow_table_drop, VERDICT_DROP);
}

static void session_table_full(void (*tweak)(struct sara_config *cfg), enum verdict_action expect)
{
	struct harness *h = harness_new(tweak);
	char call_id[32], sdp[1024];
	struct verdict v;
	int server;
	uint64_t first;

	first = start_call(h, CLIENT4, VIP4, "call-0@c", CLIENT4, 40000, &server);
	for (unsigned i = 1; i < 4; i++) {
		snprintf(call_id, sizeof(call_id), "call-%u@c", i);
		start_call(h, CLIENT4, VIP4, call_id, CLIENT4, (uint16_t)(40000 + 10 * i), NULL);
	}
	client_invite(h, CLIENT4, VIP4, "call-4@c", 1, sdp_audio(sdp, sizeof(sdp), CLIENT4, 40040, ""), &v);
	assert_int_equal(v.reason, REASON_TABLE_FULL);
	assert_int_equal(v.action, expect);
	assert_int_equal(v.session, 0);
	assert_int_equal(engine_counter(h, COUNTER_SESSION_TABLE_FULL), 1);
	assert_int_equal(stats_of(h).sessions_in_use, 4);
	/* Established calls carry on. */
	client_sends(h, CLIENT4, VIP4, "ACK", "call-0@c", 1, &v);
	assert_follows(h, &v, FLOW_SIGNALLING, first, server);
	harness_free(h);
}

static void test_session_table_full_pass(void **state)
{
	(void)state;
	session_table_full(small_flow_table_pass, VERDICT_ACCEPT);
}

static void test_session_table_full_drop(void **state)
{
	(void)state;
	session_table_full(small_flow_table_drop, VERDICT_DROP);
}

/* An RTSP connection when no session can be made: dropped under
 * when_full = drop (the SYN is retried); under pass, pinned anyway. */
static void test_rtsp_connection_session_table_full(void **state)
{
	struct harness *h = harness_new(small_flow_table_drop);
	struct tcp_conn c = { CLIENT4, VIP4, 41000, RTSP_PORT, 1, 1 };
	struct verdict v;
	char call_id[32];

	(void)state;
	for (unsigned i = 0; i < 4; i++) {
		snprintf(call_id, sizeof(call_id), "filler-%u@c", i);
		start_call(h, CLIENT4, VIP4, call_id, CLIENT4, (uint16_t)(40000 + 10 * i), NULL);
	}
	client_tcp(h, c.client, c.client_port, c.vip, c.vip_port, c.client_seq, TCP_FLAG_SYN, NULL, 0, &v);
	assert_int_equal(v.reason, REASON_TABLE_FULL);
	assert_int_equal(v.action, VERDICT_DROP);
	harness_free(h);

	h = harness_new(small_flow_table_pass);
	for (unsigned i = 0; i < 4; i++) {
		snprintf(call_id, sizeof(call_id), "filler-%u@c", i);
		start_call(h, CLIENT4, VIP4, call_id, CLIENT4, (uint16_t)(40000 + 10 * i), NULL);
	}
	client_tcp(h, c.client, c.client_port, c.vip, c.vip_port, c.client_seq, TCP_FLAG_SYN, NULL, 0, &v);
	assert_int_equal(v.reason, REASON_TABLE_FULL);
	assert_marked(h, &v, v.server);
	int pinned = v.server;
	for (unsigned i = 0; i < 3; i++) {
		client_tcp(h, c.client, c.client_port, c.vip, c.vip_port, c.client_seq + 1, TCP_FLAG_ACK,
			   NULL, 0, &v);
		assert_marked(h, &v, pinned);
	}
	harness_free(h);
}

/* Deterministic xorshift, so a failure replays. */
static uint32_t next_random(uint32_t *state)
{
	uint32_t x = *state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

static void random_fill(uint32_t *rng, uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)next_random(rng);
}

/* Random bytes as IP datagrams, as signalling payloads on both sides, and
 * byte flips of a real INVITE: the engine answers every one and stays sane. */
static void test_random_bytes_never_crash(void **state)
{
	struct harness *h = harness_new(small_flow_table_pass);
	char sdp[1024], invite[TEXT_MAX];
	uint8_t junk[1600];
	uint32_t rng = 0x5eed1234;
	struct verdict v;
	size_t invite_len;

	(void)state;
	sip_request(invite, sizeof(invite), "INVITE", "fuzzed@c", 1, sdp_audio(sdp, sizeof(sdp), CLIENT4, 40000, ""));
	invite_len = strlen(invite);
	for (unsigned i = 0; i < 3000; i++) {
		size_t len = next_random(&rng) % sizeof(junk);
		random_fill(&rng, junk, len);
		switch (i % 6) {
		case 0: /* raw "IP" */
			if (len > 0)
				junk[0] = (uint8_t)((i & 8 ? 0x60 : 0x40) | (junk[0] & 0x0f));
			feed_datagram(h, junk, len, &v);
			break;
		case 1:
			client_udp(h, CLIENT4, (uint16_t)(1024 + i), VIP4, SIP_PORT, junk, len, &v);
			break;
		case 2:
			client_tcp(h, CLIENT6, (uint16_t)(2000 + i % 7), VIP6, i & 1 ? SIP_PORT : RTSP_PORT,
				   next_random(&rng), (uint8_t)next_random(&rng), junk, len, &v);
			break;
		case 3: {
			char mutated[TEXT_MAX];
			memcpy(mutated, invite, invite_len);
			for (unsigned flips = 0; flips < 4; flips++)
				mutated[next_random(&rng) % invite_len] = (char)next_random(&rng);
			client_udp(h, CLIENT4, SIP_PORT, VIP4, SIP_PORT, mutated, invite_len, &v);
			break;
		}
		case 4: {
			size_t n = packet_build_udp(NETADDR_IPV4, VIP4, SIP_PORT, CLIENT4, SIP_PORT, junk, len,
						    packet_buffer, sizeof(packet_buffer));
			gateway_datagram(h, packet_buffer, n);
			gateway_datagram(h, junk, len);
			continue;
		}
		default:
			advance_ms(h, next_random(&rng) % 5000);
			continue;
		}
		assert_true(v.action == VERDICT_ACCEPT || v.action == VERDICT_DROP);
		assert_true(v.server >= ENGINE_NO_SERVER && v.server < SERVER_COUNT);
		assert_true(v.reason <= REASON_ADMISSION);
	}
	struct engine_stats stats = stats_of(h);
	assert_true(stats.flows_in_use <= stats.flows_capacity);
	assert_true(stats.sessions_in_use <= stats.sessions_capacity);
	assert_true(stats.tcp_streams_in_use <= h->cfg.limits.tcp_streams);
	/* Everything ages out. */
	advance_ms(h, 10 * SIGNALLING_S * 1000);
	stats = stats_of(h);
	assert_int_equal(stats.flows_in_use, 0);
	assert_int_equal(stats.sessions_in_use, 0);
	assert_int_equal(stats.tcp_streams_in_use, 0);
	harness_free(h);
}

/* ================= stats ================= */

static void test_stats(void **state)
{
	struct harness *h = harness_new(NULL);
	struct engine_stats stats;
	struct verdict v;
	uint64_t packets;

	(void)state;
	stats = stats_of(h);
	assert_int_equal(stats.packets, 0);
	assert_int_equal(stats.flows_capacity, 256);
	assert_int_equal(stats.sessions_capacity, 32);
	assert_true(stats.memory_bytes > 0);

	established_call(h, CLIENT4, VIP4, "stats@c", 40000, 20000, NULL);
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	media_packet(h, CLIENT4, 49999, VIP4, 29999, &v); /* unpredicted */
	packets = 2 + 3; /* INVITE, ACK, three media */
	stats = stats_of(h);
	assert_int_equal(stats.packets, packets);
	assert_true(stats.bytes > packets * 28);
	assert_int_equal(stats.sessions_created, 1);
	assert_int_equal(stats.sessions_in_use, 1);
	assert_int_equal(stats.flows_created, 3); /* signalling, RTP, unpredicted */
	assert_true(stats.predictions_made >= 4);
	assert_int_equal(stats.predictions_hit, 1);
	assert_true(stats.flows_in_use >= 3);
	assert_true(stats.memory_bytes >= (size_t)stats.flows_capacity * 64);
	assert_int_equal(engine_counter(h, COUNTER_FLOW_UNPREDICTED), 1);
	assert_string_equal(flow_identity_name(FLOW_SECONDARY), "secondary");
	assert_string_equal(counter_name(verdict_counter(VERDICT_DROP, REASON_TABLE_FULL)), "table_full");
	assert_int_equal(verdict_counter(VERDICT_DROP, VERDICT_REASON_COUNT), COUNTER_NONE);
	harness_free(h);
}

/* ================= server failure and admission control ================= */

static void test_failed_server_sessions_repinned_evenly(void **state)
{
	struct harness *h = harness_new(NULL);
	uint64_t session[9];
	int server[9], after_failure[9], moved_to[SERVER_COUNT] = { 0 };
	struct engine_server_info info;
	struct verdict v;
	char call_id[64];

	(void)state;
	for (unsigned i = 0; i < 9; i++) {
		snprintf(call_id, sizeof(call_id), "failover-%u@client", i);
		session[i] = established_call(h, CLIENT4, VIP4, call_id, (uint16_t)(40000 + 2 * i),
					      (uint16_t)(20000 + 2 * i), &server[i]);
		media_packet(h, CLIENT4, (uint16_t)(40000 + 2 * i), VIP4, (uint16_t)(20000 + 2 * i), &v);
		assert_follows(h, &v, FLOW_SECONDARY, session[i], server[i]);
	}
	assert_true(engine_server_info(h->engine, 0, &info));
	assert_int_equal(info.sessions, 3);  /* round-robin */

	assert_int_equal(engine_server_failed(h->engine, 0), 3);
	assert_int_equal(engine_counter(h, COUNTER_SESSIONS_REPINNED), 3);
	/* Every seen media flow of the moved calls was reported with its new
	 * mark (the connmark must follow). */
	assert_true(h->flows_moved >= 3);
	for (unsigned i = 0; i < 9; i++) {
		struct session_info s = session_of(h, session[i]);
		if (server[i] != 0) {
			assert_int_equal(s.server, server[i]);  /* the others stay put */
			continue;
		}
		assert_int_not_equal(s.server, 0);
		moved_to[s.server]++;
		media_packet(h, CLIENT4, (uint16_t)(40000 + 2 * i), VIP4, (uint16_t)(20000 + 2 * i), &v);
		assert_follows(h, &v, FLOW_SECONDARY, session[i], s.server);
		snprintf(call_id, sizeof(call_id), "failover-%u@client", i);
		client_sends(h, CLIENT4, VIP4, "BYE", call_id, 2, &v);
		assert_follows(h, &v, FLOW_SIGNALLING, session[i], s.server);
	}
	for (unsigned i = 0; i < 9; i++)
		after_failure[i] = session_of(h, session[i]).server;
	/* Evenly: not all onto one neighbour. */
	assert_true(moved_to[1] >= 1 && moved_to[2] >= 1);
	assert_true(abs(moved_to[1] - moved_to[2]) <= 1);
	assert_true(engine_server_info(h->engine, 0, &info));
	assert_false(info.available);
	assert_int_equal(info.sessions, 0);
	/* New calls avoid it; it comes back only when told. */
	for (unsigned i = 0; i < 4; i++) {
		snprintf(call_id, sizeof(call_id), "after-%u@client", i);
		start_call(h, CLIENT4, VIP4, call_id, CLIENT4, (uint16_t)(41000 + 2 * i), &server[0]);
		assert_int_not_equal(server[0], 0);
	}
	/* Back up (a flap): the moved calls do not bounce back. */
	engine_set_server_available(h->engine, 0, true);
	assert_true(engine_server_info(h->engine, 0, &info) && info.available);
	for (unsigned i = 0; i < 9; i++)
		assert_int_equal(session_of(h, session[i]).server, after_failure[i]);
	harness_free(h);
}

/* The failover in slices (what sarad runs, one slice at a time): a slice
 * looks at a bounded number of slots; a packet of a session the sweep has
 * not reached moves it first, so it never goes to the failed server; the
 * end state is the one pass's. A second failure during the sweep starts it
 * over, so nothing stays on either failed server. */
static void test_failed_server_repinned_in_slices(void **state)
{
	struct harness *h = harness_new(NULL);
	uint64_t session[9];
	int server[9], first_of_s1 = -1;
	uint32_t moved = 0, steps = 0;
	struct engine_server_info info;
	struct verdict v;
	char call_id[64];
	bool done = false;

	(void)state;
	for (unsigned i = 0; i < 9; i++) {
		snprintf(call_id, sizeof(call_id), "sliced-%u@client", i);
		session[i] = established_call(h, CLIENT4, VIP4, call_id, (uint16_t)(40000 + 2 * i),
					      (uint16_t)(20000 + 2 * i), &server[i]);
		media_packet(h, CLIENT4, (uint16_t)(40000 + 2 * i), VIP4, (uint16_t)(20000 + 2 * i), &v);
		if (server[i] == 0 && first_of_s1 < 0)
			first_of_s1 = (int)i;
	}
	assert_true(first_of_s1 >= 0);
	engine_server_failing(h->engine, 0);
	assert_true(engine_repin_pending(h->engine));
	assert_true(engine_server_info(h->engine, 0, &info));
	assert_false(info.available);
	/* Before any slice: its packet moves it, to a live server. */
	media_packet(h, CLIENT4, (uint16_t)(40000 + 2 * first_of_s1), VIP4, (uint16_t)(20000 + 2 * first_of_s1), &v);
	assert_int_not_equal(v.server, 0);
	assert_follows(h, &v, FLOW_SECONDARY, session[first_of_s1], v.server);
	assert_int_equal(engine_counter(h, COUNTER_SESSIONS_REPINNED), 1);
	while (!done) {
		moved += engine_repin_step(h->engine, 64, 1000, &done);
		steps++;
	}
	assert_true(steps > 2);   /* the tables have more than 128 slots */
	assert_int_equal(moved, 2);
	assert_int_equal(engine_counter(h, COUNTER_SESSIONS_REPINNED), 3);
	assert_false(engine_repin_pending(h->engine));
	assert_true(engine_server_info(h->engine, 0, &info));
	assert_int_equal(info.sessions, 0);
	for (unsigned i = 0; i < 9; i++) {
		struct session_info s = session_of(h, session[i]);
		assert_int_not_equal(s.server, 0);
		if (server[i] != 0)
			assert_int_equal(s.server, server[i]);   /* the others stay put */
		media_packet(h, CLIENT4, (uint16_t)(40000 + 2 * i), VIP4, (uint16_t)(20000 + 2 * i), &v);
		assert_follows(h, &v, FLOW_SECONDARY, session[i], s.server);
	}
	/* s2 fails during a sweep for s3: both end up empty. */
	engine_set_server_available(h->engine, 0, true);
	engine_server_failing(h->engine, 2);
	assert_int_equal(engine_repin_step(h->engine, 1, 1000, &done), 0);
	assert_false(done);
	engine_server_failing(h->engine, 1);
	while (!done)
		engine_repin_step(h->engine, 64, 1000, &done);
	for (unsigned i = 0; i < 9; i++)
		assert_int_equal(session_of(h, session[i]).server, 0);
	harness_free(h);
}

static void test_failed_last_server_keeps_sessions(void **state)
{
	struct harness *h = harness_new(NULL);
	int server;
	(void)state;
	established_call(h, CLIENT4, VIP4, "alone@client", 40000, 20000, &server);
	for (unsigned i = 0; i < SERVER_COUNT; i++)
		if ((int)i != server)
			engine_server_failed(h->engine, i);
	/* Nowhere to go: it stays (fail open) rather than being dropped. */
	assert_int_equal(engine_server_failed(h->engine, (unsigned)server), 0);
	assert_int_equal(engine_server_failed(h->engine, 99), 0);
	harness_free(h);
}

static void admission_on(struct sara_config *cfg)
{
	cfg->admission.enabled = true;
	cfg->admission.degrade = true;
}

static void admission_on_drop(struct sara_config *cfg)
{
	cfg->admission.enabled = true;
	cfg->admission.reject = REJECT_DROP;
	cfg->admission.rtsp_reject = RTSP_REJECT_DROP;
}

static void admission_random(struct sara_config *cfg)
{
	cfg->admission.enabled = true;
	cfg->admission.policy = ADMISSION_POLICY_RANDOM;
}

/* x = max(l_d, l_c): the dispatcher's own load sets it exactly. */
static void set_load(struct harness *h, double x)
{
	h->now += 1000;
	engine_update_admission(h->engine, h->now, x);
	assert_true(fabs(engine_admission(h->engine)->load - x) < 1e-9);
}

static void test_admission_sheds_new_keeps_established(void **state)
{
	struct harness *h = harness_new(admission_on);
	struct tcp_conn rtsp = { CLIENT4, VIP4, 40500, RTSP_PORT, 10, 10 };
	struct verdict v;
	uint64_t session;
	int server;
	char sdp[1024];

	(void)state;
	session = established_call(h, CLIENT4, VIP4, "kept@client", 40000, 20000, &server);
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);

	/* Between T2 and T3: every new session refused with a 503 to send,
	 * the established call untouched. */
	set_load(h, 0.85);
	client_invite(h, CLIENT4_B, VIP4, "shed@client", 1, sdp_audio(sdp, sizeof(sdp), CLIENT4_B, 42000, ""), &v);
	assert_int_equal(v.action, VERDICT_DROP);
	assert_int_equal(v.reason, REASON_ADMISSION);
	assert_int_equal(v.reply, REPLY_SIP_503);
	/* The client's ACK for that 503 ends there: no server saw the INVITE. */
	client_sends(h, CLIENT4_B, VIP4, "ACK", "shed@client", 1, &v);
	assert_int_equal(v.action, VERDICT_DROP);
	assert_int_equal(v.reason, REASON_ADMISSION);
	assert_int_equal(v.reply, REPLY_NONE);
	assert_int_equal(engine_counter(h, COUNTER_ADMISSION_ACK_ABSORBED), 1);
	/* An ACK of a call never refused is not absorbed. */
	client_sends(h, CLIENT4_B, VIP4, "ACK", "other@client", 1, &v);
	assert_int_equal(v.action, VERDICT_ACCEPT);
	assert_int_equal(engine_counter(h, COUNTER_ADMISSION_ACK_ABSORBED), 1);
	client_tcp(h, rtsp.client, rtsp.client_port, rtsp.vip, rtsp.vip_port, rtsp.client_seq, TCP_FLAG_SYN,
		   NULL, 0, &v);
	assert_int_equal(v.action, VERDICT_DROP);
	assert_int_equal(v.reason, REASON_ADMISSION);
	assert_int_equal(v.reply, REPLY_TCP_RESET);
	for (unsigned i = 0; i < 50; i++) {
		media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
		assert_follows(h, &v, FLOW_SECONDARY, session, server);
	}
	client_sends(h, CLIENT4, VIP4, "INFO", "kept@client", 2, &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session, server);

	/* At C and above: established media is refused too. */
	set_load(h, 1.0);
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_int_equal(v.action, VERDICT_DROP);
	assert_int_equal(v.reason, REASON_ADMISSION);
	assert_int_equal(v.reply, REPLY_NONE);
	assert_true(admission_count(engine_admission(h->engine), ADMISSION_REFUSED, ADMIT_ESTABLISHED,
				    ADMISSION_ZONE_FULL) >= 1);

	/* Back below T1: everything admitted again. */
	set_load(h, 0.1);
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	client_invite(h, CLIENT4_B, VIP4, "shed@client", 1, sdp_audio(sdp, sizeof(sdp), CLIENT4_B, 42000, ""), &v);
	assert_int_equal(v.action, VERDICT_ACCEPT);
	assert_int_equal(v.reason, REASON_SESSION);
	harness_free(h);
}

static void admission_window(struct sara_config *cfg)
{
	cfg->admission.enabled = true;
	cfg->admission.estimate = ADMISSION_ESTIMATE_WINDOW;
}

/* The window estimate's wait: an admitted INVITE awaits its server's
 * first answer above 100 (a 100 Trying is the transaction layer's), an
 * OPTIONS awaits nothing, a call refused by its server and a call whose
 * answer only the client's ACK shows end their wait too. */
static void test_admission_window_awaits_answers(void **state)
{
	struct harness *h = harness_new(admission_window);
	const struct admission *adm = engine_admission(h->engine);
	struct verdict v;
	char sdp[1024];
	(void)state;
	int server;
	start_call(h, CLIENT4, VIP4, "w1@client", CLIENT4, 40000, &server);
	assert_int_equal(admission_awaited(adm), 1);
	assert_int_equal(admission_server_awaited(adm, server), 1);   /* its server's share too */
	server_answers(h, CLIENT4, VIP4, 100, "w1@client", 1, "INVITE", NULL);
	assert_int_equal(admission_awaited(adm), 1);
	server_answers(h, CLIENT4, VIP4, 180, "w1@client", 1, "INVITE", NULL);
	assert_int_equal(admission_awaited(adm), 0);
	assert_int_equal(admission_server_awaited(adm, server), 0);
	answer_call(h, CLIENT4, VIP4, "w1@client", 1, 20000, "");
	assert_int_equal(admission_awaited(adm), 0);
	client_sends(h, CLIENT4, VIP4, "OPTIONS", "w2@client", 1, &v);
	assert_int_equal(v.action, VERDICT_ACCEPT);
	assert_int_equal(admission_awaited(adm), 0);
	start_call(h, CLIENT4, VIP4, "w3@client", CLIENT4, 40010, NULL);
	server_answers(h, CLIENT4, VIP4, 486, "w3@client", 1, "INVITE", NULL);
	assert_int_equal(admission_awaited(adm), 0);
	client_invite(h, CLIENT4_B, VIP4, "w4@client", 1, sdp_audio(sdp, sizeof(sdp), CLIENT4_B, 42000, ""), &v);
	assert_int_equal(admission_awaited(adm), 1);
	client_sends(h, CLIENT4_B, VIP4, "ACK", "w4@client", 1, &v);
	assert_int_equal(admission_awaited(adm), 0);
	harness_free(h);
}

/* The window per server: the engine picks a new call's server before it
 * decides, and decides on that server's share of W (2 of W = 6 here): with
 * two calls awaiting on every server and one of server 1's answered, the
 * next call, which round-robin gives to server 0, is refused (503) though
 * the cluster has room, and the one after, for server 1, is admitted.
 * With the cluster's window alone the first would be admitted. */
static void test_admission_window_per_server(void **state)
{
	struct harness *h = harness_new(admission_window);
	const struct admission *adm = engine_admission(h->engine);
	struct verdict v;
	char sdp[1024], call_id[32];
	int servers[6];
	(void)state;
	set_load(h, 0.1);                                   /* three servers: W = 6 */
	assert_float_equal(admission_server_window(adm), 2.0, 1e-9);
	for (unsigned i = 0; i < 6; i++) {
		snprintf(call_id, sizeof(call_id), "ps%u@client", i);
		start_call(h, CLIENT4, VIP4, call_id, CLIENT4, (uint16_t)(40000 + 10 * i), &servers[i]);
	}
	for (int s = 0; s < 3; s++)
		assert_int_equal(admission_server_awaited(adm, s), 2);
	advance_ms(h, 250);                                  /* no burst: the oldest waited 0.25 s */
	unsigned on1 = servers[0] == 1 ? 0 : servers[1] == 1 ? 1 : 2;
	assert_int_equal(servers[on1], 1);
	snprintf(call_id, sizeof(call_id), "ps%u@client", on1);
	server_answers(h, CLIENT4, VIP4, 180, call_id, 1, "INVITE", NULL);
	assert_int_equal(admission_server_awaited(adm, 1), 1);
	assert_int_equal(admission_awaited(adm), 5);          /* the cluster has room */
	client_invite(h, CLIENT4_B, VIP4, "full0@client", 1, sdp_audio(sdp, sizeof(sdp), CLIENT4_B, 42000, ""), &v);
	assert_int_equal(v.action, VERDICT_DROP);
	assert_int_equal(v.reason, REASON_ADMISSION);
	assert_int_equal(v.reply, REPLY_SIP_503);
	client_invite(h, CLIENT4_B, VIP4, "room1@client", 1, sdp_audio(sdp, sizeof(sdp), CLIENT4_B, 42010, ""), &v);
	assert_int_equal(v.action, VERDICT_ACCEPT);
	assert_int_equal(v.server, 1);
	assert_int_equal(admission_server_awaited(adm, 1), 2);
	harness_free(h);
}

/* A reload (SIGHUP) turns admission on and changes weights and timeouts
 * while a call is up: the call keeps its server and media, new sessions
 * meet the new admission, and a reload that changes a key only a restart
 * can apply changes nothing. */
static void test_reconfigure_live_keys(void **state)
{
	struct harness *h = harness_new(NULL);
	struct sara_config next = h->cfg;
	struct verdict v;
	uint64_t session;
	int server;
	char sdp[1024], err[256];

	(void)state;
	session = established_call(h, CLIENT4, VIP4, "up@client", 40000, 20000, &server);
	next.admission.enabled = true;
	next.servers[2].weight = 5.0;
	next.timeouts.signalling_s = 2 * SIGNALLING_S;
	if (!engine_reconfigure(h->engine, &next, err, sizeof(err)))
		fail_msg("engine_reconfigure: %s", err);
	assert_true(engine_config(h->engine)->servers[2].weight == 5.0);
	assert_true(engine_admission(h->engine)->enabled);
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);

	/* Admission now applies: between T2 and T3 a new call is refused. */
	set_load(h, 0.85);
	client_invite(h, CLIENT4_B, VIP4, "new@client", 1, sdp_audio(sdp, sizeof(sdp), CLIENT4_B, 42000, ""), &v);
	assert_int_equal(v.action, VERDICT_DROP);
	assert_int_equal(v.reason, REASON_ADMISSION);
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	set_load(h, 0.1);

	/* The longer signalling timeout: refreshed now, the session outlives
	 * the old 2 x signalling_s of silence. */
	client_sends(h, CLIENT4, VIP4, "INFO", "up@client", 2, &v);
	assert_int_equal(v.session, session);
	advance_ms(h, 2 * SIGNALLING_S * 1000 + TICK_SLACK_MS);
	assert_true(session_exists(h, session));
	advance_ms(h, 2 * SIGNALLING_S * 1000 + TICK_SLACK_MS);
	assert_false(session_exists(h, session));

	/* A restart-only change: refused, nothing applied. */
	next = *engine_config(h->engine);
	next.servers[2].weight = 1.5;
	next.limits.flows = 2 * h->cfg.limits.flows;
	assert_false(engine_reconfigure(h->engine, &next, err, sizeof(err)));
	assert_non_null(strstr(err, "limits.flows"));
	assert_true(engine_config(h->engine)->servers[2].weight == 5.0);
	assert_int_equal(engine_config(h->engine)->limits.flows, h->cfg.limits.flows);
	/* Turning admission off again lets the next call through at any load. */
	next = *engine_config(h->engine);
	next.admission.enabled = false;
	assert_true(engine_reconfigure(h->engine, &next, err, sizeof(err)));
	set_load(h, 0.95);
	client_invite(h, CLIENT4_B, VIP4, "later@client", 1, sdp_audio(sdp, sizeof(sdp), CLIENT4_B, 42100, ""), &v);
	assert_int_equal(v.action, VERDICT_ACCEPT);
	assert_int_equal(v.reason, REASON_SESSION);
	harness_free(h);
}

static void test_admission_silent_drop_when_configured(void **state)
{
	struct harness *h = harness_new(admission_on_drop);
	struct verdict v;
	char sdp[1024];

	(void)state;
	set_load(h, 0.95);
	client_invite(h, CLIENT4, VIP4, "dropped@client", 1, sdp_audio(sdp, sizeof(sdp), CLIENT4, 42000, ""), &v);
	assert_int_equal(v.action, VERDICT_DROP);
	assert_int_equal(v.reason, REASON_ADMISSION);
	assert_int_equal(v.reply, REPLY_NONE);
	client_tcp(h, CLIENT4, 40600, VIP4, RTSP_PORT, 1, TCP_FLAG_SYN, NULL, 0, &v);
	assert_int_equal(v.action, VERDICT_DROP);
	assert_int_equal(v.reply, REPLY_NONE);
	harness_free(h);
}

/* SIP over TCP: the connection is pinned and its bytes taken, so its
 * INVITEs are admitted (refusing one would route its media nowhere). */
static void test_admission_spares_sip_over_tcp(void **state)
{
	struct harness *h = harness_new(admission_on);
	struct tcp_conn c = { CLIENT4, VIP4, 40700, SIP_PORT, 100, 100 };
	char text[TEXT_MAX], sdp[1024];
	struct verdict v;

	(void)state;
	tcp_open(h, &c, &v);   /* SIP connections carry no session of their own */
	set_load(h, 1.0);
	sip_request(text, sizeof(text), "INVITE", "tcp-call@client", 1, sdp_audio(sdp, sizeof(sdp), CLIENT4, 42000, ""));
	tcp_client_send(h, &c, text, &v);
	assert_int_equal(v.action, VERDICT_ACCEPT);
	assert_int_equal(v.reason, REASON_SESSION);
	assert_int_not_equal(v.session, 0);
	harness_free(h);
}

/* Where every new session is refused (x above T2), a new SIP connection is
 * refused at its SYN (a reset, as reject = "503" answers); in the shedding
 * zone below T2 it is let in; a retried SYN is decided afresh. */
static void test_admission_refuses_sip_syn_above_t2(void **state)
{
	struct harness *h = harness_new(admission_on);
	struct tcp_conn c = { CLIENT4, VIP4, 40710, SIP_PORT, 100, 100 };
	struct verdict v;

	(void)state;
	set_load(h, 0.85);
	client_tcp(h, c.client, c.client_port, c.vip, c.vip_port, c.client_seq, TCP_FLAG_SYN, NULL, 0, &v);
	assert_int_equal(v.action, VERDICT_DROP);
	assert_int_equal(v.reason, REASON_ADMISSION);
	assert_int_equal(v.reply, REPLY_TCP_RESET);
	assert_int_equal(engine_counter(h, COUNTER_TCP_SYN_REFUSED), 1);
	set_load(h, 0.7);   /* shedding: the connection and its calls go in */
	client_tcp(h, c.client, c.client_port, c.vip, c.vip_port, c.client_seq, TCP_FLAG_SYN, NULL, 0, &v);
	assert_int_equal(v.action, VERDICT_ACCEPT);
	assert_true(v.server >= 0);
	assert_int_equal(engine_counter(h, COUNTER_TCP_SYN_REFUSED), 1);
	harness_free(h);
}

/* With reject = "drop", the refused SYN is dropped without a reset. */
static void test_admission_drops_sip_syn_when_configured(void **state)
{
	struct harness *h = harness_new(admission_on_drop);
	struct verdict v;

	(void)state;
	set_load(h, 0.85);
	client_tcp(h, CLIENT4, 40720, VIP4, SIP_PORT, 100, TCP_FLAG_SYN, NULL, 0, &v);
	assert_int_equal(v.action, VERDICT_DROP);
	assert_int_equal(v.reason, REASON_ADMISSION);
	assert_int_equal(v.reply, REPLY_NONE);
	harness_free(h);
}

/* The goodput experiment's baseline drops any packet, blind to sessions. */
static void test_admission_random_policy(void **state)
{
	struct harness *h = harness_new(admission_random);
	struct verdict v;
	uint64_t session;
	int server;

	(void)state;
	session = established_call(h, CLIENT4, VIP4, "random@client", 40000, 20000, &server);
	set_load(h, 0.85);  /* closed to new sessions under SA2C; here p = 1 for all */
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_int_equal(v.action, VERDICT_DROP);
	assert_int_equal(v.reason, REASON_ADMISSION);
	assert_int_equal(v.reply, REPLY_NONE);
	set_load(h, 0.1);
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	harness_free(h);
}

static void admission_call_limit_of_one(struct sara_config *cfg)
{
	cfg->admission.enabled = true;
	cfg->admission.policy = ADMISSION_POLICY_CALL_LIMIT;
	cfg->admission.call_limit = 1;
}

/* The call-limit baseline: one call in progress per server, whatever the
 * load; the call past the cluster's limit gets a 503, a BYE frees its
 * server's place at once, and SA2C's load is never read. */
static void test_admission_call_limit_policy(void **state)
{
	struct harness *h = harness_new(admission_call_limit_of_one);
	unsigned used[SERVER_COUNT] = { 0 };
	char call_id[32], sdp[1024];
	struct verdict v;
	int server, first_server = -1;

	(void)state;
	set_load(h, 0.99);   /* SA2C would refuse every new session here */
	for (unsigned i = 0; i < SERVER_COUNT; i++) {
		snprintf(call_id, sizeof(call_id), "limit-%u@client", i);
		established_call(h, CLIENT4, VIP4, call_id, (uint16_t)(40000 + 2 * i), (uint16_t)(20000 + 2 * i), &server);
		used[server]++;
		if (i == 0)
			first_server = server;
	}
	for (unsigned i = 0; i < SERVER_COUNT; i++)
		assert_int_equal(used[i], 1);   /* each call to the server with room */
	client_invite(h, CLIENT4_B, VIP4, "over@client", 1, sdp_audio(sdp, sizeof(sdp), CLIENT4_B, 42000, ""), &v);
	assert_int_equal(v.action, VERDICT_DROP);
	assert_int_equal(v.reason, REASON_ADMISSION);
	assert_int_equal(v.reply, REPLY_SIP_503);
	assert_int_equal(engine_counter(h, COUNTER_CALL_LIMIT_REFUSED), 1);
	assert_int_equal(engine_counter(h, COUNTER_ADMISSION_REFUSED), 0);

	client_sends(h, CLIENT4, VIP4, "BYE", "limit-0@client", 2, &v);
	assert_int_equal(v.action, VERDICT_ACCEPT);
	client_invite(h, CLIENT4_B, VIP4, "next@client", 1, sdp_audio(sdp, sizeof(sdp), CLIENT4_B, 42000, ""), &v);
	assert_int_equal(v.action, VERDICT_ACCEPT);
	assert_int_equal(v.reason, REASON_SESSION);
	assert_int_equal(v.server, first_server);
	assert_int_equal(engine_counter(h, COUNTER_CALL_LIMIT_REFUSED), 1);
	harness_free(h);
}

/* The cluster load comes from the servers' shell estimates. */
static void test_admission_fed_by_server_loads(void **state)
{
	struct harness *h = harness_new(admission_on);
	const struct admission *adm;
	(void)state;
	for (unsigned i = 0; i < SERVER_COUNT; i++)
		engine_report_server_load(h->engine, i, 0.9);
	h->now += 1000;
	engine_update_admission(h->engine, h->now, 0.0);
	adm = engine_admission(h->engine);
	/* l_c = (alpha * mean + (1 - alpha) * var) / alpha = 0.9 (var 0). */
	assert_true(fabs(adm->cluster_load - 0.9) < 1e-9);
	/* A failed server leaves the mean. */
	engine_report_server_load(h->engine, 0, 0.0);
	engine_server_failed(h->engine, 0);
	h->now += 1000;
	engine_update_admission(h->engine, h->now, 0.0);
	assert_true(fabs(adm->cluster_load - 0.9) < 1e-9);
	harness_free(h);
}

/* ================= Protocol corners ================= */

/* a=rtcp:PORT IN IP4 ADDR: RTCP is predicted from (and to) that address,
 * not the m=/c= one; a client naming a cluster address there is ignored
 * (RTCP stays at its RTP address). */
static void test_sdp_rtcp_attribute_address(void **state)
{
	struct harness *h = harness_new(NULL);
	char sdp[1024];
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	client_invite(h, CLIENT4, VIP4, "rtcp-addr@c", 1,
		      sdp_audio(sdp, sizeof(sdp), CLIENT4, 40000, "a=rtcp:40100 IN IP4 " CLIENT4_B "\r\n"), &v);
	session = v.session;
	server = v.server;
	answer_call(h, CLIENT4, VIP4, "rtcp-addr@c", 1, 20000, "a=rtcp:20100 IN IP4 " VIP4 "\r\n");
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	media_packet(h, CLIENT4_B, 40100, VIP4, 20100, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	/* Not from the RTP address. */
	media_packet(h, CLIENT4, 40100, VIP4, 20100, &v);
	assert_unpredicted(&v);

	/* A client's a=rtcp naming the VIP: counted, RTCP at the RTP address. */
	client_invite(h, CLIENT6, VIP6, "rtcp-vip@c", 1,
		      sdp_audio(sdp, sizeof(sdp), CLIENT6, 40000, "a=rtcp:40100 IN IP6 " VIP6 "\r\n"), &v);
	session = v.session;
	server = v.server;
	assert_int_equal(engine_counter(h, COUNTER_MEDIA_CLIENT_NAMES_CLUSTER), 1);
	answer_call(h, CLIENT6, VIP6, "rtcp-vip@c", 1, 20000, "");
	media_packet(h, CLIENT6, 40100, VIP6, 20001, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	harness_free(h);
}

/* An SDP body with count audio m= lines at addr, ports base + 10 i. */
static const char *sdp_many(char *buf, size_t size, const char *addr, unsigned count, uint16_t base)
{
	char media[2048];
	size_t used = 0;
	for (unsigned i = 0; i < count; i++) {
		int n = snprintf(media + used, sizeof(media) - used, "m=%s %u RTP/AVP 0\r\n",
				 i % 2 ? "video" : "audio", (unsigned)(base + 10 * i));
		assert_true(n > 0 && (size_t)n < sizeof(media) - used);
		used += (size_t)n;
	}
	return sdp_make(buf, size, addr, media);
}

/* Eight streams a session (audio, video, their RTCP, BFCP, T.140 ...);
 * a ninth is counted, on both sides. */
static void test_eight_streams_then_counted(void **state)
{
	struct harness *h = harness_new(NULL);
	char sdp[4096], text[TEXT_MAX];
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	client_invite(h, CLIENT4, VIP4, "many@c", 1, sdp_many(sdp, sizeof(sdp), CLIENT4, 9, 40000), &v);
	session = v.session;
	server = v.server;
	assert_int_equal(engine_counter(h, COUNTER_MEDIA_STREAMS_OVER_LIMIT), 1);
	sip_response(text, sizeof(text), 200, "many@c", 1, "INVITE", sdp_many(sdp, sizeof(sdp), VIP4, 9, 20000));
	assert_int_equal(server_udp(h, VIP4, SIP_PORT, CLIENT4, SIP_PORT, text), 1);
	assert_int_equal(counter_get(gateway_counters(h->gateway), COUNTER_MEDIA_STREAMS_OVER_LIMIT), 1);
	for (unsigned i = 0; i < 8; i++) {
		media_packet(h, CLIENT4, (uint16_t)(40000 + 10 * i), VIP4, (uint16_t)(20000 + 10 * i), &v);
		assert_follows(h, &v, FLOW_SECONDARY, session, server);
		media_packet(h, CLIENT4, (uint16_t)(40001 + 10 * i), VIP4, (uint16_t)(20001 + 10 * i), &v);
		assert_follows(h, &v, FLOW_SECONDARY, session, server);
	}
	media_packet(h, CLIENT4, 40080, VIP4, 20080, &v);
	assert_unpredicted(&v);
	harness_free(h);
}

/* A request from the client with an SDP body (NULL: none). */
static void client_request_sdp(struct harness *h, const char *client, const char *vip, const char *method,
			       const char *call_id, unsigned cseq, const char *sdp, struct verdict *v)
{
	char text[TEXT_MAX];
	sip_request(text, sizeof(text), method, call_id, cseq, sdp);
	client_udp(h, client, SIP_PORT, vip, SIP_PORT, text, strlen(text), v);
}

/* Early media: a 183 Session Progress carrying the answer predicts the
 * server's media before any 200; the 200 without SDP changes nothing. */
static void test_183_early_media_predicted(void **state)
{
	struct harness *h = harness_new(NULL);
	char sdp[1024];
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	session = start_call(h, CLIENT4, VIP4, "early@c", CLIENT4, 40000, &server);
	server_answers(h, CLIENT4, VIP4, 183, "early@c", 1, "INVITE", sdp_audio(sdp, sizeof(sdp), VIP4, 20000, ""));
	assert_false(session_of(h, session).confirmed);
	/* The server's port is known from the 183 alone: media to it from
	 * the client's address follows, from whatever port (a NAT's). */
	media_packet(h, CLIENT4, 45000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	media_packet(h, CLIENT4, 40001, VIP4, 20001, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	/* PRACK for the reliable 183, in the dialog: no new session. */
	client_sends(h, CLIENT4, VIP4, "PRACK", "early@c", 2, &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session, server);
	server_answers(h, CLIENT4, VIP4, 200, "early@c", 2, "PRACK", NULL);
	assert_false(session_of(h, session).confirmed);
	server_answers(h, CLIENT4, VIP4, 200, "early@c", 1, "INVITE", NULL);
	assert_true(session_of(h, session).confirmed);
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	assert_int_equal(stats_of(h).sessions_created, 1);
	harness_free(h);
}

/* Late offer through PRACK: INVITE without SDP, the offer in a reliable
 * 183, the answer in the PRACK; then media of the early dialog, and an
 * UPDATE whose offer and answer move both sides' ports. */
static void test_prack_answer_and_update_move_media(void **state)
{
	struct harness *h = harness_new(NULL);
	char sdp[1024];
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	client_request_sdp(h, CLIENT4, VIP4, "INVITE", "late@c", 1, NULL, &v);
	session = v.session;
	server = v.server;
	assert_int_not_equal(session, 0);
	server_answers(h, CLIENT4, VIP4, 183, "late@c", 1, "INVITE", sdp_audio(sdp, sizeof(sdp), VIP4, 20000, ""));
	client_request_sdp(h, CLIENT4, VIP4, "PRACK", "late@c", 2, sdp_audio(sdp, sizeof(sdp), CLIENT4, 40000, ""),
			   &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session, server);
	server_answers(h, CLIENT4, VIP4, 200, "late@c", 2, "PRACK", NULL);
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);

	/* UPDATE in the early dialog: new ports on both sides. */
	client_request_sdp(h, CLIENT4, VIP4, "UPDATE", "late@c", 3, sdp_audio(sdp, sizeof(sdp), CLIENT4, 40010, ""),
			   &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session, server);
	server_answers(h, CLIENT4, VIP4, 200, "late@c", 3, "UPDATE", sdp_audio(sdp, sizeof(sdp), VIP4, 20010, ""));
	/* A 200 to UPDATE is not a 200 to the INVITE. */
	assert_false(session_of(h, session).confirmed);
	media_packet(h, CLIENT4, 45010, VIP4, 20010, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	media_packet(h, CLIENT4, 40010, VIP4, 20010, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	assert_true(v.new_flow);
	media_packet(h, CLIENT4, 40011, VIP4, 20011, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	/* The RTCP pair the UPDATE left was never seen: no longer predicted. */
	media_packet(h, CLIENT4, 40001, VIP4, 20001, &v);
	assert_unpredicted(&v);
	/* The flow already seen stays with the call. */
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);

	/* Still unconfirmed: a final error to the INVITE ends it. */
	server_answers(h, CLIENT4, VIP4, 486, "late@c", 1, "INVITE", NULL);
	assert_true(session_of(h, session).ending);
	harness_free(h);
}

/* UPDATE and PRACK of no known dialog start nothing (they are in-dialog). */
static void test_update_prack_unknown_dialog(void **state)
{
	struct harness *h = harness_new(NULL);
	char sdp[1024];
	struct verdict v;

	(void)state;
	client_request_sdp(h, CLIENT4, VIP4, "UPDATE", "stray@c", 5, sdp_audio(sdp, sizeof(sdp), CLIENT4, 40000, ""),
			   &v);
	assert_int_equal(v.session, 0);
	assert_int_equal(v.reason, REASON_UNPREDICTED);
	client_sends(h, CLIENT4, VIP4, "PRACK", "stray@c", 6, &v);
	assert_int_equal(v.session, 0);
	assert_int_equal(stats_of(h).sessions_created, 0);
	assert_int_equal(engine_counter(h, COUNTER_SIP_NO_SESSION), 2);
	assert_int_equal(stats_of(h).predictions_made, 0);
	harness_free(h);
}

/* An UPDATE in a confirmed call (session refresh with a new offer), its
 * offer refused with 488: the call and its seen media carry on. */
static void test_update_refused_keeps_call(void **state)
{
	struct harness *h = harness_new(NULL);
	char sdp[1024];
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	session = established_call(h, CLIENT4, VIP4, "upd@c", 40000, 20000, &server);
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	client_request_sdp(h, CLIENT4, VIP4, "UPDATE", "upd@c", 2, sdp_audio(sdp, sizeof(sdp), CLIENT4, 40020, ""),
			   &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session, server);
	server_answers(h, CLIENT4, VIP4, 488, "upd@c", 2, "UPDATE", NULL);
	assert_false(session_of(h, session).ending);
	advance_ms(h, LINGER_S * 1000 + TICK_SLACK_MS);
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session, server);
	harness_free(h);
}

/* The RTSP server's Session: ;timeout= sets the session's signalling
 * timeout (idle limit twice it), held to timeouts.signalling_s's range. */
static void rtsp_timeout_case(const char *timeout, unsigned expected_s)
{
	struct harness *h = harness_new(NULL);
	struct tcp_conn c = { CLIENT4, VIP4, 40312, RTSP_PORT, 500, 8000 };
	char text[TEXT_MAX], session_header[64];
	struct verdict v;
	int server;
	uint64_t session, idle_ms = 2ull * expected_s * 1000;

	session = rtsp_setup(h, &c, 5000, 6000, "T1", &server);
	tcp_client_send(h, &c, rtsp_request(text, sizeof(text), "PLAY", 2, "T1", NULL), &v);
	snprintf(session_header, sizeof(session_header), "T1;%s", timeout);
	assert_int_equal(tcp_server_send(h, &c, rtsp_reply(text, sizeof(text), 2, session_header, NULL)), 1);
	assert_string_equal(session_of(h, session).key, "T1");
	advance_ms(h, idle_ms - 1000);
	assert_true(session_exists(h, session));
	advance_ms(h, 1000 + TICK_SLACK_MS);
	assert_false(session_exists(h, session));
	assert_int_equal(stats_of(h).sessions_expired, 1);
	harness_free(h);
}

static void test_rtsp_session_timeout_honoured(void **state)
{
	(void)state;
	assert_int_not_equal(SIGNALLING_S, 15);
	rtsp_timeout_case("timeout=15", 15);      /* shorter than the config's */
	rtsp_timeout_case("timeout=45", 45);      /* longer */
	rtsp_timeout_case("timeout=3", SARA_SIGNALLING_S_MIN);
	rtsp_timeout_case("timeout=600", SARA_SIGNALLING_S_MAX);
}

/* Without a timeout the configured one holds; a keep-alive inside the
 * server's window keeps the session past the configured idle limit. */
static void test_rtsp_session_timeout_keepalive(void **state)
{
	struct harness *h = harness_new(NULL);
	struct tcp_conn c = { CLIENT4, VIP4, 40312, RTSP_PORT, 500, 8000 };
	char text[TEXT_MAX];
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	session = rtsp_setup(h, &c, 5000, 6000, "K1", &server);
	assert_int_equal(tcp_server_send(h, &c, rtsp_reply(text, sizeof(text), 1, "K1;timeout=50", NULL)), 1);
	for (unsigned cseq = 2; cseq < 6; cseq++) {
		advance_ms(h, 45 * 1000);
		tcp_client_send(h, &c, rtsp_request(text, sizeof(text), "GET_PARAMETER", cseq, "K1", NULL), &v);
		assert_follows(h, &v, FLOW_SIGNALLING, session, server);
	}
	/* 180 s of keep-alives 45 s apart, each past twice the configured
	 * 20 s: one session all along, on its server. */
	assert_true(session_exists(h, session));
	assert_int_equal(stats_of(h).sessions_expired, 0);
	assert_int_equal(stats_of(h).sessions_created, 1);
	harness_free(h);
}

/* The client closes its RTSP connection (FIN) and carries the session on
 * over a new one: the new connection goes to the session's server, and
 * its first Session: header joins it to the session. */
static void test_rtsp_session_continued_on_new_connection(void **state)
{
	struct harness *h = harness_new(NULL);
	struct tcp_conn a = { CLIENT4, VIP4, 40312, RTSP_PORT, 100, 1000 };
	struct tcp_conn b = { CLIENT4, VIP4, 40314, RTSP_PORT, 300, 3000 };
	char text[TEXT_MAX];
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	session = rtsp_setup(h, &a, 5000, 6000, "J1", &server);
	tcp_client_send(h, &a, rtsp_request(text, sizeof(text), "PLAY", 2, "J1", NULL), &v);
	media_packet(h, CLIENT4, 5000, VIP4, 6000, &v);
	client_tcp(h, a.client, a.client_port, a.vip, a.vip_port, a.client_seq, TCP_FLAG_FIN | TCP_FLAG_ACK, NULL, 0,
		   &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session, server);

	/* Round-robin would send this SYN to the next server. */
	tcp_open(h, &b, &v);
	assert_marked(h, &v, server);
	assert_int_equal(engine_counter(h, COUNTER_RTSP_CONNECTION_AFFINITY), 1);
	assert_int_not_equal(v.session, session); /* not known yet */
	assert_int_equal(stats_of(h).sessions_in_use, 2);
	tcp_client_send(h, &b, rtsp_request(text, sizeof(text), "GET_PARAMETER", 3, "J1", NULL), &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session, server);
	assert_int_equal(engine_counter(h, COUNTER_RTSP_CONNECTION_JOINED), 1);
	assert_int_equal(stats_of(h).sessions_in_use, 1);
	assert_int_equal(session_of(h, session).flow_count >= 3, true);
	/* The server's reply on the new connection, then the TEARDOWN. */
	assert_int_equal(tcp_server_send(h, &b, rtsp_reply(text, sizeof(text), 3, "J1", NULL)), 1);
	tcp_client_send(h, &b, rtsp_request(text, sizeof(text), "TEARDOWN", 4, "J1", NULL), &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session, server);
	assert_true(session_of(h, session).ending);
	advance_ms(h, LINGER_S * 1000 + TICK_SLACK_MS);
	assert_false(session_exists(h, session));
	assert_int_equal(stats_of(h).sessions_in_use, 0);
	harness_free(h);
}

/* A connection gone quiet (no FIN: a NAT forgot it) counts as gone once
 * idle past the signalling timeout; while the first connection is open, a
 * client's next connection is a session of its own, spread as usual. */
static void test_rtsp_affinity_only_without_open_connection(void **state)
{
	struct harness *h = harness_new(NULL);
	struct tcp_conn a = { CLIENT4, VIP4, 40312, RTSP_PORT, 100, 1000 };
	struct tcp_conn b = { CLIENT4, VIP4, 40314, RTSP_PORT, 300, 3000 };
	struct tcp_conn c = { CLIENT4, VIP4, 40316, RTSP_PORT, 500, 5000 };
	char text[TEXT_MAX];
	struct verdict v;
	int server_a, server_b;
	uint64_t session_a, session_b;

	(void)state;
	session_a = rtsp_setup(h, &a, 5000, 6000, "Q1", &server_a);
	session_b = rtsp_setup(h, &b, 5010, 6010, "Q2", &server_b);
	assert_int_not_equal(server_a, server_b);
	assert_int_equal(engine_counter(h, COUNTER_RTSP_CONNECTION_AFFINITY), 0);
	/* Both connections fall silent; the media keeps the sessions. */
	for (int i = 0; i < 4; i++) {
		advance_ms(h, SIGNALLING_S * 1000 / 3);
		media_packet(h, CLIENT4, 5000, VIP4, 6000, &v);
		media_packet(h, CLIENT4, 5010, VIP4, 6010, &v);
	}
	assert_true(session_exists(h, session_a) && session_exists(h, session_b));
	/* The latest session's (Q2) server takes the client's new connection. */
	tcp_open(h, &c, &v);
	assert_marked(h, &v, server_b);
	assert_int_equal(engine_counter(h, COUNTER_RTSP_CONNECTION_AFFINITY), 1);
	tcp_client_send(h, &c, rtsp_request(text, sizeof(text), "PLAY", 3, "Q2", NULL), &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session_b, server_b);
	harness_free(h);
}

/* The session's server takes no new connections (drained): the new
 * connection goes elsewhere and, naming the session, stays apart. */
static void test_rtsp_continuation_on_other_server_not_joined(void **state)
{
	struct harness *h = harness_new(NULL);
	struct tcp_conn a = { CLIENT4, VIP4, 40312, RTSP_PORT, 100, 1000 };
	struct tcp_conn b = { CLIENT4, VIP4, 40314, RTSP_PORT, 300, 3000 };
	char text[TEXT_MAX];
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	session = rtsp_setup(h, &a, 5000, 6000, "N1", &server);
	client_tcp(h, a.client, a.client_port, a.vip, a.vip_port, a.client_seq, TCP_FLAG_RST, NULL, 0, &v);
	engine_set_server_available(h->engine, (unsigned)server, false);
	tcp_open(h, &b, &v);
	assert_int_not_equal(v.server, server);
	assert_int_equal(engine_counter(h, COUNTER_RTSP_CONNECTION_AFFINITY), 0);
	tcp_client_send(h, &b, rtsp_request(text, sizeof(text), "PLAY", 2, "N1", NULL), &v);
	assert_int_not_equal(v.session, session);
	assert_int_not_equal(v.server, server);
	assert_int_equal(engine_counter(h, COUNTER_RTSP_CONNECTION_NOT_JOINED), 1);
	assert_int_equal(engine_counter(h, COUNTER_RTSP_CONNECTION_JOINED), 0);
	assert_true(session_exists(h, session));
	harness_free(h);
}

/* ---- RTSP across dispatchers (selection hash) ---- */

/* The first client port from `from` whose connection the hash sends to
 * another server than `server` (a fresh dispatcher: no affinity). */
static uint16_t port_hashed_elsewhere(const char *client, int server, uint16_t from)
{
	struct harness *probe = harness_new(use_hash);
	struct verdict v;
	uint16_t port;
	for (port = from; port < from + 64; port++) {
		struct tcp_conn c = { client, VIP4, port, RTSP_PORT, 1, 1 };
		tcp_open(probe, &c, &v);
		if (v.server != server)
			break;
	}
	harness_free(probe);
	assert_true(port < from + 64);
	return port;
}

/* Dispatcher a set up the session and, once its client had closed that
 * connection, sent the client's next one to the session's server: b,
 * which knows the session from the gateway's announcement of the SETUP's
 * answer, never saw a SYN of either. */
static void rtsp_session_on_a_known_to_b(struct harness *a, struct harness *b, struct tcp_conn *first,
					 const char *session_id, int *server)
{
	char text[TEXT_MAX], transport[128];
	struct verdict v;
	uint32_t reply_seq;
	(void)rtsp_setup(a, first, 5000, 6000, session_id, server);
	reply_seq = first->server_seq - (uint32_t)strlen(rtsp_reply(text, sizeof(text), 1, session_id,
		"RTP/AVP;unicast;client_port=5000-5001;server_port=6000-6001"));
	snprintf(transport, sizeof(transport), "RTP/AVP;unicast;client_port=5000-5001;server_port=6000-6001");
	server_tcp(b, first->vip, first->vip_port, first->client, first->client_port, reply_seq,
		   TCP_FLAG_ACK | TCP_FLAG_PSH, rtsp_reply(text, sizeof(text), 1, session_id, transport));
	assert_int_equal(engine_counter(b, COUNTER_SESSIONS_ADOPTED), 1);
	tcp_client_send(a, first, rtsp_request(text, sizeof(text), "PLAY", 2, session_id, NULL), &v);
	assert_int_equal(v.server, *server);
	client_tcp(a, first->client, first->client_port, first->vip, first->vip_port, first->client_seq,
		   TCP_FLAG_FIN | TCP_FLAG_ACK, NULL, 0, &v);
}

/* a dies after its client reconnected: b meets the second connection
 * mid-stream. Its key hashes to another server than the session's (a
 * sent its SYN to the session's server); its first segment names the
 * session, so it goes there, and so does the rest. */
static void test_hash_rtsp_reconnection_met_mid_stream(void **state)
{
	struct harness *a = harness_new(use_hash), *b = harness_new(use_hash);
	struct tcp_conn first = { CLIENT4, VIP4, 40312, RTSP_PORT, 100, 1000 };
	struct tcp_conn second = { CLIENT4, VIP4, 0, RTSP_PORT, 300, 3000 };
	char text[TEXT_MAX];
	struct verdict v;
	int server;
	(void)state;

	rtsp_session_on_a_known_to_b(a, b, &first, "M1", &server);
	second.client_port = port_hashed_elsewhere(CLIENT4, server, 41000);
	tcp_open(a, &second, &v);
	assert_int_equal(v.server, server);
	assert_int_equal(engine_counter(a, COUNTER_RTSP_CONNECTION_AFFINITY), 1);
	tcp_client_send(a, &second, rtsp_request(text, sizeof(text), "GET_PARAMETER", 3, "M1", NULL), &v);
	assert_int_equal(v.server, server);

	tcp_client_send(b, &second, rtsp_request(text, sizeof(text), "PAUSE", 4, "M1", NULL), &v);
	assert_marked(b, &v, server);
	assert_int_equal(v.reason, REASON_SESSION);
	assert_int_equal(engine_counter(b, COUNTER_RTSP_CONNECTION_MOVED_TO_SESSION), 1);
	assert_int_equal(engine_counter(b, COUNTER_RTSP_CONNECTION_JOINED), 1);
	assert_int_equal(engine_counter(b, COUNTER_RTSP_CONNECTION_NOT_JOINED), 0);
	assert_int_equal(b->flows_moved, 1); /* its connmark too */
	tcp_client_send(b, &second, rtsp_request(text, sizeof(text), "PLAY", 5, "M1", NULL), &v);
	assert_marked(b, &v, server);
	tcp_client_send(b, &second, rtsp_request(text, sizeof(text), "TEARDOWN", 6, "M1", NULL), &v);
	assert_marked(b, &v, server);
	assert_int_equal(engine_counter(b, COUNTER_RTSP_CONNECTION_MOVED_TO_SESSION), 1);
	harness_free(a);
	harness_free(b);
}

/* Only the first segment a dispatcher meets may move a connection: one
 * whose earlier segments went to the derived server stays there. */
static void test_hash_rtsp_mid_stream_connection_moved_only_at_first(void **state)
{
	struct harness *a = harness_new(use_hash), *b = harness_new(use_hash);
	struct tcp_conn first = { CLIENT4, VIP4, 40312, RTSP_PORT, 100, 1000 };
	struct tcp_conn second = { CLIENT4, VIP4, 0, RTSP_PORT, 300, 3000 };
	char text[TEXT_MAX];
	struct verdict v;
	int server, guessed;
	(void)state;

	rtsp_session_on_a_known_to_b(a, b, &first, "M2", &server);
	second.client_port = port_hashed_elsewhere(CLIENT4, server, 41000);
	tcp_open(a, &second, &v);
	client_tcp(b, second.client, second.client_port, second.vip, second.vip_port, second.client_seq,
		   TCP_FLAG_ACK, NULL, 0, &v);
	guessed = v.server;
	assert_int_not_equal(guessed, server);
	tcp_client_send(b, &second, rtsp_request(text, sizeof(text), "PAUSE", 4, "M2", NULL), &v);
	assert_int_equal(v.server, guessed);
	assert_int_equal(engine_counter(b, COUNTER_RTSP_CONNECTION_MOVED_TO_SESSION), 0);
	assert_int_equal(engine_counter(b, COUNTER_RTSP_CONNECTION_NOT_JOINED), 1);
	harness_free(a);
	harness_free(b);
}

/* a dies while its client has no connection open: the client's new one
 * reaches b with a SYN, and goes to the session b knows from the
 * gateway, not where its key hashes. */
static void test_hash_rtsp_new_connection_at_another_dispatcher(void **state)
{
	struct harness *a = harness_new(use_hash), *b = harness_new(use_hash);
	struct tcp_conn first = { CLIENT4_B, VIP4, 40312, RTSP_PORT, 100, 1000 };
	struct tcp_conn again = { CLIENT4_B, VIP4, 0, RTSP_PORT, 500, 5000 };
	char text[TEXT_MAX];
	struct verdict v;
	int server;
	(void)state;

	rtsp_session_on_a_known_to_b(a, b, &first, "N2", &server);
	again.client_port = port_hashed_elsewhere(CLIENT4_B, server, 42000);
	tcp_open(b, &again, &v);
	assert_marked(b, &v, server);
	assert_int_equal(engine_counter(b, COUNTER_RTSP_CONNECTION_AFFINITY), 1);
	tcp_client_send(b, &again, rtsp_request(text, sizeof(text), "GET_PARAMETER", 3, "N2", NULL), &v);
	assert_marked(b, &v, server);
	assert_int_equal(v.reason, REASON_SESSION);
	assert_int_equal(engine_counter(b, COUNTER_RTSP_CONNECTION_JOINED), 1);
	harness_free(a);
	harness_free(b);
}

/* A client with two sessions, each on its own open connection at a
 * server of its own: b meets both mid-stream and keeps each at its
 * session's server (the gateway's announcements name both sessions for
 * this client: the latest must not take the other's connection). */
static void test_hash_rtsp_parallel_sessions_met_mid_stream(void **state)
{
	struct harness *a = harness_new(use_hash), *b = harness_new(use_hash);
	struct tcp_conn c1 = { CLIENT4, VIP4, 40312, RTSP_PORT, 100, 1000 };
	struct tcp_conn c2 = { CLIENT4, VIP4, 0, RTSP_PORT, 300, 3000 };
	char text[TEXT_MAX], transport[128];
	struct verdict v;
	int server1, server2;
	uint32_t reply_seq;
	(void)state;

	(void)rtsp_setup(a, &c1, 5000, 6000, "P1", &server1);
	c2.client_port = port_hashed_elsewhere(CLIENT4, server1, 41000);
	(void)rtsp_setup(a, &c2, 5010, 6010, "P2", &server2);
	assert_int_not_equal(server1, server2);
	snprintf(transport, sizeof(transport), "RTP/AVP;unicast;client_port=5000-5001;server_port=6000-6001");
	reply_seq = c1.server_seq - (uint32_t)strlen(rtsp_reply(text, sizeof(text), 1, "P1", transport));
	server_tcp(b, VIP4, RTSP_PORT, CLIENT4, c1.client_port, reply_seq, TCP_FLAG_ACK | TCP_FLAG_PSH,
		   rtsp_reply(text, sizeof(text), 1, "P1", transport));
	snprintf(transport, sizeof(transport), "RTP/AVP;unicast;client_port=5010-5011;server_port=6010-6011");
	reply_seq = c2.server_seq - (uint32_t)strlen(rtsp_reply(text, sizeof(text), 1, "P2", transport));
	server_tcp(b, VIP4, RTSP_PORT, CLIENT4, c2.client_port, reply_seq, TCP_FLAG_ACK | TCP_FLAG_PSH,
		   rtsp_reply(text, sizeof(text), 1, "P2", transport));
	assert_int_equal(engine_counter(b, COUNTER_SESSIONS_ADOPTED), 2);

	/* pure ACKs first (interleaved media): the guess must already be right */
	client_tcp(b, c1.client, c1.client_port, c1.vip, c1.vip_port, c1.client_seq, TCP_FLAG_ACK, NULL, 0, &v);
	assert_marked(b, &v, server1);
	client_tcp(b, c2.client, c2.client_port, c2.vip, c2.vip_port, c2.client_seq, TCP_FLAG_ACK, NULL, 0, &v);
	assert_marked(b, &v, server2);
	tcp_client_send(b, &c1, rtsp_request(text, sizeof(text), "PLAY", 2, "P1", NULL), &v);
	assert_marked(b, &v, server1);
	tcp_client_send(b, &c2, rtsp_request(text, sizeof(text), "PLAY", 2, "P2", NULL), &v);
	assert_marked(b, &v, server2);
	assert_int_equal(engine_counter(b, COUNTER_RTSP_CONNECTION_JOINED), 2);
	assert_int_equal(engine_counter(b, COUNTER_RTSP_CONNECTION_MOVED_TO_SESSION), 0);
	assert_int_equal(engine_counter(b, COUNTER_RTSP_CONNECTION_AFFINITY), 0);
	harness_free(a);
	harness_free(b);
}

/* ---- BYE and Timer F ---- */

#define TIMER_F_MS 32000

/* A BYE nobody answers is retransmitted for Timer F (32 s): every copy
 * reaches the call's server (a server that never saw the call answers
 * 481, and the call's own never hears it ended), then the session ends. */
static void test_unanswered_bye_kept_until_timer_f(void **state)
{
	struct harness *h = harness_new(NULL);
	static const unsigned retransmit_ms[] = { 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500 };
	struct verdict v;
	int server;
	uint64_t session, start;

	(void)state;
	session = established_call(h, CLIENT4, VIP4, "silent@c", 40000, 20000, &server);
	client_sends(h, CLIENT4, VIP4, "BYE", "silent@c", 2, &v);
	start = h->now;
	assert_true(session_of(h, session).ending);
	assert_int_equal(engine_counter(h, COUNTER_ENDING_REQUESTS_AWAITED), 1);
	for (size_t i = 0; i < sizeof(retransmit_ms) / sizeof(retransmit_ms[0]); i++) {
		advance_ms(h, start + retransmit_ms[i] - h->now);
		client_sends(h, CLIENT4, VIP4, "BYE", "silent@c", 2, &v);
		assert_follows(h, &v, FLOW_SIGNALLING, session, server);
	}
	/* Retransmissions did not move Timer F. */
	advance_ms(h, start + TIMER_F_MS + TICK_SLACK_MS - h->now);
	assert_false(session_exists(h, session));
	assert_int_equal(engine_counter(h, COUNTER_ENDING_REQUESTS_UNANSWERED), 1);
	assert_int_equal(engine_counter(h, COUNTER_ENDING_REQUESTS_ANSWERED), 0);
	assert_int_equal(stats_of(h).sessions_ended, 1);
	harness_free(h);
}

/* The server answers the BYE 20 s late: the session waits for it, then
 * lingers. */
static void test_late_answer_to_bye_then_linger(void **state)
{
	struct harness *h = harness_new(NULL);
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	session = established_call(h, CLIENT4, VIP4, "slow@c", 40000, 20000, &server);
	client_sends(h, CLIENT4, VIP4, "BYE", "slow@c", 2, &v);
	for (int i = 0; i < 5; i++) {
		advance_ms(h, 4000);
		client_sends(h, CLIENT4, VIP4, "BYE", "slow@c", 2, &v);
		assert_follows(h, &v, FLOW_SIGNALLING, session, server);
	}
	/* A provisional answer does not complete the transaction. */
	server_answers(h, CLIENT4, VIP4, 100, "slow@c", 2, "BYE", NULL);
	advance_ms(h, LINGER_S * 1000 + TICK_SLACK_MS);
	assert_true(session_exists(h, session));
	server_answers(h, CLIENT4, VIP4, 200, "slow@c", 2, "BYE", NULL);
	assert_int_equal(engine_counter(h, COUNTER_ENDING_REQUESTS_ANSWERED), 1);
	advance_ms(h, LINGER_S * 1000 - 500);
	assert_true(session_exists(h, session));
	advance_ms(h, 500 + TICK_SLACK_MS);
	assert_false(session_exists(h, session));
	assert_int_equal(engine_counter(h, COUNTER_ENDING_REQUESTS_UNANSWERED), 0);
	harness_free(h);
}

/* The server hangs up: its BYE comes through the gateway, the client's
 * 200 through the engine. A 200 to something else completes nothing. */
static void test_server_bye_answered_by_client(void **state)
{
	struct harness *h = harness_new(NULL);
	char text[TEXT_MAX];
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	session = established_call(h, CLIENT4, VIP4, "hangup@c", 40000, 20000, &server);
	sip_request(text, sizeof(text), "BYE", "hangup@c", 7, NULL);
	assert_int_equal(server_udp(h, VIP4, SIP_PORT, CLIENT4, SIP_PORT, text), 1);
	assert_true(session_of(h, session).ending);
	sip_response(text, sizeof(text), 200, "hangup@c", 6, "INFO", NULL);
	client_udp(h, CLIENT4, SIP_PORT, VIP4, SIP_PORT, text, strlen(text), &v);
	advance_ms(h, LINGER_S * 1000 + TICK_SLACK_MS);
	assert_true(session_exists(h, session));
	sip_response(text, sizeof(text), 200, "hangup@c", 7, "BYE", NULL);
	client_udp(h, CLIENT4, SIP_PORT, VIP4, SIP_PORT, text, strlen(text), &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session, server);
	advance_ms(h, LINGER_S * 1000 + TICK_SLACK_MS);
	assert_false(session_exists(h, session));
	harness_free(h);
}

/* A BYE challenged (407) and sent again with credentials: the second BYE
 * waits for its own answer. */
static void test_challenged_bye_waits_again(void **state)
{
	struct harness *h = harness_new(NULL);
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	session = established_call(h, CLIENT4, VIP4, "auth@c", 40000, 20000, &server);
	client_sends(h, CLIENT4, VIP4, "BYE", "auth@c", 2, &v);
	server_answers(h, CLIENT4, VIP4, 407, "auth@c", 2, "BYE", NULL);
	advance_ms(h, LINGER_S * 1000 / 2);
	client_sends(h, CLIENT4, VIP4, "BYE", "auth@c", 3, &v);
	assert_follows(h, &v, FLOW_SIGNALLING, session, server);
	advance_ms(h, LINGER_S * 1000 + TICK_SLACK_MS);
	assert_true(session_exists(h, session));
	server_answers(h, CLIENT4, VIP4, 200, "auth@c", 3, "BYE", NULL);
	advance_ms(h, LINGER_S * 1000 + TICK_SLACK_MS);
	assert_false(session_exists(h, session));
	assert_int_equal(engine_counter(h, COUNTER_ENDING_REQUESTS_AWAITED), 2);
	assert_int_equal(engine_counter(h, COUNTER_ENDING_REQUESTS_ANSWERED), 2);
	harness_free(h);
}

/* No gateway spoke of the call (none deployed): the BYE's answer would
 * never be seen, so the session lingers from the BYE as it always did. */
static void test_bye_without_gateway_lingers(void **state)
{
	struct harness *h = harness_new(NULL);
	char sdp[1024];
	struct verdict v;
	uint64_t session;

	(void)state;
	client_invite(h, CLIENT4, VIP4, "nogw@c", 1, sdp_audio(sdp, sizeof(sdp), CLIENT4, 40000, ""), &v);
	session = v.session;
	client_sends(h, CLIENT4, VIP4, "ACK", "nogw@c", 1, &v);
	client_sends(h, CLIENT4, VIP4, "BYE", "nogw@c", 2, &v);
	assert_true(session_of(h, session).ending);
	assert_int_equal(engine_counter(h, COUNTER_ENDING_REQUESTS_AWAITED), 0);
	advance_ms(h, LINGER_S * 1000 + TICK_SLACK_MS);
	assert_false(session_exists(h, session));
	harness_free(h);
}

/* RTSP does not retransmit over its connection: TEARDOWN lingers only. */
static void test_teardown_not_awaited(void **state)
{
	struct harness *h = harness_new(NULL);
	struct tcp_conn c = { CLIENT4, VIP4, 40312, RTSP_PORT, 500, 8000 };
	char text[TEXT_MAX];
	struct verdict v;
	int server;
	uint64_t session;

	(void)state;
	session = rtsp_setup(h, &c, 5000, 6000, "TD1", &server);
	tcp_client_send(h, &c, rtsp_request(text, sizeof(text), "TEARDOWN", 2, "TD1", NULL), &v);
	assert_int_equal(engine_counter(h, COUNTER_ENDING_REQUESTS_AWAITED), 0);
	advance_ms(h, LINGER_S * 1000 + TICK_SLACK_MS);
	assert_false(session_exists(h, session));
	harness_free(h);
}

/* ================= ICMP errors ================= */

/* An ICMP error from `from` to the VIP about a UDP or TCP datagram the
 * cluster sent from vip:vip_port to client:client_port, quoting its IP
 * header and 8 bytes (what a router quotes at the least). */
static void icmp_error_about(struct harness *h, const char *from, uint8_t type, uint8_t code, uint32_t rest,
			     uint8_t l4, const char *vip, uint16_t vip_port, const char *client,
			     uint16_t client_port, struct verdict *v)
{
	static const char data[64] = "SIP/2.0 200 OK";
	uint8_t sent[256], error[512];
	int family = family_of(vip);
	size_t n = l4 == L4_TCP ? packet_build_tcp(family, vip, vip_port, client, client_port, 7, TCP_FLAG_ACK,
						   data, sizeof(data), sent, sizeof(sent))
				: packet_build_udp(family, vip, vip_port, client, client_port, data, sizeof(data),
						   sent, sizeof(sent));
	size_t quote = (family == NETADDR_IPV4 ? 20 : 40) + 8;
	size_t m = packet_build_icmp_error(family, from, vip, type, code, rest, sent, quote, error, sizeof(error));
	assert_true(n > quote && m > 0);
	feed_datagram(h, error, m, v);
}

/* Port unreachable from a client that closed its RTP port: the server
 * still streaming there hears of it, whichever server each call has. */
static void test_icmp_port_unreachable_follows_media(void **state)
{
	struct harness *h = harness_new(NULL);
	static const char *const calls[3] = { "icmp-a@c", "icmp-b@c", "icmp-c@c" };
	uint64_t session[3];
	int server[3];
	struct verdict v;
	uint64_t flows_before;

	(void)state;
	for (int i = 0; i < 3; i++)
		session[i] = established_call(h, CLIENT4, VIP4, calls[i], (uint16_t)(40000 + 10 * i),
					      (uint16_t)(20000 + 10 * i), &server[i]);
	assert_true(server[0] != server[1] && server[1] != server[2] && server[0] != server[2]);
	/* Call 0's client media was seen (a secondary flow); calls 1 and 2
	 * are only predicted: RTP exact, RTCP too. */
	media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	assert_follows(h, &v, FLOW_SECONDARY, session[0], server[0]);
	flows_before = stats_of(h).flows_created;
	for (int i = 2; i >= 0; i--) {
		icmp_error_about(h, CLIENT4, 3, 3, 0, L4_UDP, VIP4, (uint16_t)(20000 + 10 * i), CLIENT4,
				 (uint16_t)(40000 + 10 * i), &v);
		assert_follows(h, &v, i == 0 ? FLOW_SECONDARY : FLOW_ANNOUNCED, session[i], server[i]);
		assert_false(v.new_flow);
		/* The verdict names the flow it followed, oriented to the VIP. */
		assert_int_equal(v.key.l4, L4_UDP);
		assert_int_equal(v.key.sport, 40000 + 10 * i);
		assert_int_equal(v.key.dport, 20000 + 10 * i);
		icmp_error_about(h, CLIENT4, 3, 3, 0, L4_UDP, VIP4, (uint16_t)(20001 + 10 * i), CLIENT4,
				 (uint16_t)(40001 + 10 * i), &v);
		assert_int_equal(v.session, session[i]);
		assert_marked(h, &v, server[i]);
	}
	assert_int_equal(engine_counter(h, COUNTER_ICMP_ERROR_FOLLOWED), 6);
	assert_int_equal(engine_counter(h, COUNTER_PACKET_UNSUPPORTED), 0);
	/* The errors neither made flows nor turned predictions into flows. */
	assert_int_equal(stats_of(h).flows_created, flows_before);
	media_packet(h, CLIENT4, 40010, VIP4, 20010, &v);
	assert_true(v.new_flow);
	assert_follows(h, &v, FLOW_SECONDARY, session[1], server[1]);
	harness_free(h);
}

/* Fragmentation needed for a server's segment on a SIP/TCP connection:
 * path MTU discovery needs it at the connection's server. */
static void test_icmp_fragmentation_needed_follows_tcp(void **state)
{
	struct harness *h = harness_new(NULL);
	struct tcp_conn a = { CLIENT4, VIP4, 50000, SIP_PORT, 1000, 90000 };
	struct tcp_conn b = { CLIENT4, VIP4, 50001, SIP_PORT, 2000, 80000 };
	char sdp[1024], invite[TEXT_MAX];
	struct verdict v;
	int server_a, server_b;
	uint64_t session_a;

	(void)state;
	tcp_open(h, &a, &v);
	server_a = v.server;
	tcp_open(h, &b, &v);
	server_b = v.server;
	assert_int_not_equal(server_a, server_b);
	/* Before any message: the connection alone decides. */
	icmp_error_about(h, "203.0.113.1", 3, 4, 1400, L4_TCP, VIP4, SIP_PORT, CLIENT4, 50001, &v);
	assert_int_equal(v.identity, FLOW_SIGNALLING);
	assert_int_equal(v.reason, REASON_CONNECTION);
	assert_marked(h, &v, server_b);
	/* With a call on it: its session. */
	tcp_client_send(h, &a, sip_request(invite, sizeof(invite), "INVITE", "tcp-icmp@c", 1,
					   sdp_audio(sdp, sizeof(sdp), CLIENT4, 40000, "")), &v);
	session_a = v.session;
	assert_int_not_equal(session_a, 0);
	icmp_error_about(h, "203.0.113.1", 3, 4, 1400, L4_TCP, VIP4, SIP_PORT, CLIENT4, 50000, &v);
	assert_int_equal(v.identity, FLOW_SIGNALLING);
	assert_int_equal(v.reason, REASON_SESSION);
	assert_marked(h, &v, server_a);
	/* Another port of the client: no such connection. */
	icmp_error_about(h, "203.0.113.1", 3, 4, 1400, L4_TCP, VIP4, SIP_PORT, CLIENT4, 50002, &v);
	assert_int_equal(v.reason, REASON_UNPREDICTED);
	assert_int_equal(engine_counter(h, COUNTER_ICMP_ERROR_FOLLOWED), 2);
	assert_int_equal(engine_counter(h, COUNTER_ICMP_ERROR_NO_FLOW), 1);
	harness_free(h);
}

/* IPv6: packet too big for the server's RTP, and a time exceeded about
 * the shared UDP signalling flow (its latest call's server). */
static void test_icmp6_packet_too_big_follows_media(void **state)
{
	struct harness *h = harness_new(NULL);
	struct verdict v;
	int server, server_b;
	uint64_t session, session_b;

	(void)state;
	session = established_call(h, CLIENT6, VIP6, "v6-icmp@c", 40000, 20000, &server);
	icmp_error_about(h, "2001:db8::fe", 2, 0, 1280, L4_UDP, VIP6, 20000, CLIENT6, 40000, &v);
	assert_follows(h, &v, FLOW_ANNOUNCED, session, server);
	assert_int_equal(v.key.family, NETADDR_IPV6);
	session_b = established_call(h, CLIENT6, VIP6, "v6-icmp-b@c", 40010, 20010, &server_b);
	assert_int_not_equal(server, server_b);
	icmp_error_about(h, "2001:db8::fe", 3, 0, 0, L4_UDP, VIP6, SIP_PORT, CLIENT6, SIP_PORT, &v);
	assert_int_equal(v.identity, FLOW_SIGNALLING);
	assert_int_equal(v.session, session_b);
	assert_marked(h, &v, server_b);
	assert_int_equal(engine_counter(h, COUNTER_ICMP_ERROR_FOLLOWED), 2);
	harness_free(h);
}

/* An error about a flow nobody knows goes where an unknown flow from that
 * client goes (the sessionless placement policy); unreadable errors and
 * non-errors pass unmarked as before. */
static void test_icmp_error_unknown_flow_and_malformed(void **state)
{
	struct harness *h = harness_new(NULL);
	uint8_t sent[128], error[256];
	struct verdict v, media;
	size_t n, m;

	(void)state;
	icmp_error_about(h, CLIENT4_B, 3, 3, 0, L4_UDP, VIP4, 31000, CLIENT4_B, 41000, &v);
	assert_unpredicted(&v);
	assert_int_equal(engine_counter(h, COUNTER_ICMP_ERROR_NO_FLOW), 1);
	assert_int_equal(stats_of(h).flows_created, 0);
	media_packet(h, CLIENT4_B, 41002, VIP4, 31002, &media);
	assert_unpredicted(&media);
	assert_int_equal(v.server, media.server);
	assert_int_equal(v.mark, media.mark);

	/* A quote cut inside its UDP header. */
	n = packet_build_udp(NETADDR_IPV4, VIP4, 31000, CLIENT4_B, 41000, "x", 1, sent, sizeof(sent));
	m = packet_build_icmp_error(NETADDR_IPV4, CLIENT4_B, VIP4, 3, 3, 0, sent, 24, error, sizeof(error));
	assert_true(n > 0 && m > 0);
	feed_datagram(h, error, m, &v);
	assert_int_equal(v.reason, REASON_NOT_IP);
	assert_int_equal(v.action, VERDICT_ACCEPT);
	assert_int_equal(v.mark, 0);
	assert_int_equal(engine_counter(h, COUNTER_ICMP_ERROR_MALFORMED), 1);
	/* An echo request to the VIP is still no business of sara's. */
	m = packet_build_icmp_error(NETADDR_IPV4, CLIENT4_B, VIP4, 8, 0, 0, sent, n, error, sizeof(error));
	feed_datagram(h, error, m, &v);
	assert_int_equal(v.reason, REASON_NOT_IP);
	assert_int_equal(v.mark, 0);
	assert_int_equal(engine_counter(h, COUNTER_PACKET_UNSUPPORTED), 1);
	/* An error quoting a datagram that did not come from a VIP. */
	n = packet_build_udp(NETADDR_IPV4, "10.0.0.1", 31000, CLIENT4_B, 41002, "x", 1, sent, sizeof(sent));
	m = packet_build_icmp_error(NETADDR_IPV4, CLIENT4_B, VIP4, 3, 3, 0, sent, n, error, sizeof(error));
	feed_datagram(h, error, m, &v);
	assert_int_equal(engine_counter(h, COUNTER_ICMP_ERROR_NO_FLOW), 2);
	/* An error to an address outside the cluster is not sara's either. */
	m = packet_build_icmp_error(NETADDR_IPV4, CLIENT4_B, "192.0.2.99", 3, 3, 0, sent, n, error, sizeof(error));
	feed_datagram(h, error, m, &v);
	assert_int_equal(v.mark, 0);
	assert_int_equal(engine_counter(h, COUNTER_PACKET_UNSUPPORTED), 2);
	assert_int_equal(engine_counter(h, COUNTER_ICMP_ERROR_FOLLOWED), 0);
	harness_free(h);
}

/* ================= what sara-ctl sessions --key reads ================= */

/* The flow of flows[0..count) with this key, or fail. */
static const struct flow_info *flow_with(const struct flow_info *flows, uint32_t count, const char *src,
					 uint16_t sport, const char *dst, uint16_t dport)
{
	struct netaddr s, d;
	parse_address(src, &s);
	parse_address(dst, &d);
	for (uint32_t i = 0; i < count; i++)
		if (flows[i].key.sport == sport && flows[i].key.dport == dport &&
		    memcmp(flows[i].key.src, s.bytes, 16) == 0 && memcmp(flows[i].key.dst, d.bytes, 16) == 0)
			return &flows[i];
	fail_msg("no flow %s:%u -> %s:%u", src, sport, dst, dport);
	return NULL;
}

/* A call found by its Call-ID: its client, its flows with a packet count
 * each (signalling and media alike), and the predictions not yet seen. */
static void test_session_found_by_key_with_flows(void **state)
{
	struct harness *h = harness_new(NULL);
	struct session_info found[PROTO_COUNT], other;
	struct flow_info flows[16];
	const struct flow_info *f;
	struct netaddr client;
	struct verdict v;
	int server;
	uint64_t session;
	uint32_t count;

	(void)state;
	session = established_call(h, CLIENT4, VIP4, "key-1@c", 40000, 20000, &server);
	established_call(h, CLIENT4_B, VIP4, "key-2@c", 41000, 21000, NULL);
	for (int i = 0; i < 5; i++)
		media_packet(h, CLIENT4, 40000, VIP4, 20000, &v);
	media_packet(h, CLIENT4, 40001, VIP4, 20001, &v);

	assert_int_equal(engine_find_sessions(h->engine, "key-1@c", 7, found, PROTO_COUNT), 1);
	assert_int_equal(found[0].serial, session);
	assert_int_equal(found[0].proto, PROTO_SIP);
	assert_int_equal(found[0].server, server);
	parse_address(CLIENT4, &client);
	assert_true(netaddr_equal(&found[0].client, &client));
	assert_int_equal(engine_find_sessions(h->engine, "key-1@", 6, found + 1, 1), 0);
	assert_int_equal(engine_find_sessions(h->engine, "key-3@c", 7, found + 1, 1), 0);

	count = engine_session_flows(h->engine, &found[0], flows, 16);
	assert_int_equal(count, found[0].flow_count + 1);
	/* INVITE and ACK on the signalling flow it shares with no other call
	 * here (key-2 comes from another address). */
	f = flow_with(flows, count, CLIENT4, SIP_PORT, VIP4, SIP_PORT);
	assert_int_equal(f->identity, FLOW_SIGNALLING);
	assert_true(f->shared);
	assert_int_equal(f->packets, 2);
	assert_int_equal(f->server, server);
	f = flow_with(flows, count, CLIENT4, 40000, VIP4, 20000);
	assert_false(f->shared);
	assert_int_equal(f->identity, FLOW_SECONDARY);
	assert_int_equal(f->match, MATCH_EXACT);
	assert_int_equal(f->packets, 5);
	assert_int_equal(f->server, server);
	assert_int_equal(flow_with(flows, count, CLIENT4, 40001, VIP4, 20001)->packets, 1);
	/* A prediction no packet has hit yet counts none. */
	for (uint32_t i = 0; i < count; i++)
		if (flows[i].identity == FLOW_ANNOUNCED)
			assert_int_equal(flows[i].packets, 0);
	/* Bounded: the count says how many there are beyond max. */
	assert_int_equal(engine_session_flows(h->engine, &found[0], flows, 1), count);

	/* An ended session has no flows to show, and its slot's next tenant
	 * is not mistaken for it. */
	other = found[0];
	client_sends(h, CLIENT4, VIP4, "BYE", "key-1@c", 2, &v);
	server_answers(h, CLIENT4, VIP4, 200, "key-1@c", 2, "BYE", NULL);
	advance_ms(h, LINGER_S * 1000 + TICK_SLACK_MS);
	assert_int_equal(engine_find_sessions(h->engine, "key-1@c", 7, found, 1), 0);
	assert_int_equal(engine_session_flows(h->engine, &other, flows, 16), 0);
	other.slot = UINT32_MAX;
	assert_int_equal(engine_session_flows(h->engine, &other, flows, 16), 0);
	harness_free(h);
}

static void least_sessions_config(struct sara_config *cfg)
{
	cfg->selection.algorithm = SELECT_LEAST_SESSIONS;
	cfg->servers[0].weight = 2.0;
}

/* Which server, and why: the algorithm, and the server's load estimate,
 * weight and sessions as they were at the pick; a failed server's
 * sessions say they were moved, and from where. */
static void test_session_pick_reason(void **state)
{
	struct harness *h = harness_new(least_sessions_config);
	struct session_info info;
	uint64_t first, second;
	int server;

	(void)state;
	engine_report_server_load(h->engine, 0, 0.25);
	first = start_call(h, CLIENT4, VIP4, "why-1@c", CLIENT4, 40000, &server);
	assert_int_equal(server, 0);   /* none has sessions: the first */
	info = session_of(h, first);
	assert_int_equal(info.pick.how, PICK_SELECTED);
	assert_string_equal(session_pick_how_name(info.pick.how), "selected");
	assert_int_equal(info.pick.algorithm, SELECT_LEAST_SESSIONS);
	assert_float_equal(info.pick.load, 0.25, 1e-6);
	assert_float_equal(info.pick.weight, 2.0, 1e-6);
	assert_int_equal(info.pick.sessions, 0);
	assert_int_equal(info.pick.from_server, -1);
	assert_int_equal(info.pick.at_ms, h->now);

	advance_ms(h, 500);
	second = start_call(h, CLIENT4_B, VIP4, "why-2@c", CLIENT4_B, 41000, &server);
	info = session_of(h, second);
	assert_int_equal(server, 1);   /* 0 per 1.0 beats 1 per 2.0 */
	assert_true(info.pick.load < 0); /* no load report from server 1 */
	assert_float_equal(info.pick.weight, 1.0, 1e-6);
	assert_int_equal(info.pick.at_ms, h->now);

	advance_ms(h, 500);
	assert_int_equal(engine_server_failed(h->engine, 0), 1);
	info = session_of(h, first);
	assert_int_equal(info.pick.how, PICK_MOVED);
	assert_string_equal(session_pick_how_name(info.pick.how), "moved");
	assert_int_equal(info.pick.from_server, 0);
	assert_int_equal(info.server, 2);   /* none yet on server 2, server 1 holds one */
	assert_int_equal(info.pick.sessions, 0);
	assert_int_equal(info.pick.at_ms, h->now);
	harness_free(h);
}

/* A session that starts inside a TCP connection takes the connection's
 * server, chosen at its SYN: "connection". */
static void test_session_pick_follows_connection(void **state)
{
	struct harness *h = harness_new(NULL);
	struct tcp_conn c = { CLIENT4, VIP4, 50000, SIP_PORT, 1000, 90000 };
	char invite[TEXT_MAX];
	struct session_info info;
	struct flow_info flow;
	struct verdict v;

	(void)state;
	tcp_open(h, &c, &v);
	sip_request(invite, sizeof(invite), "INVITE", "tcp-why@c", 1, NULL);
	tcp_client_send(h, &c, invite, &v);
	info = session_of(h, v.session);
	assert_int_equal(info.pick.how, PICK_CONNECTION);
	assert_string_equal(session_pick_how_name(info.pick.how), "connection");
	assert_int_equal(info.pick.algorithm, SELECT_ROUND_ROBIN);
	/* The connection it came on, shared: its SYN and the INVITE. */
	assert_int_equal(engine_session_flows(h->engine, &info, &flow, 1), 1);
	assert_true(flow.shared);
	assert_int_equal(flow.key.l4, L4_TCP);
	assert_int_equal(flow.packets, 2);
	harness_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invite_answer_media_follows),
		cmocka_unit_test(test_hash_session_adopted_by_another_dispatcher),
		cmocka_unit_test(test_no_adoption_without_hash),
		cmocka_unit_test(test_sdp_rtcp_attribute),
		cmocka_unit_test(test_sdp_rtcp_mux),
		cmocka_unit_test(test_offer_only_source_wildcard),
		cmocka_unit_test(test_ipv6_call),
		cmocka_unit_test(test_trunk_many_calls_one_flow),
		cmocka_unit_test(test_proxy_relayed_media_address),
		cmocka_unit_test(test_reinvite_replaces_media),
		cmocka_unit_test(test_hold_and_disabled_streams),
		cmocka_unit_test(test_bye_ends_after_linger),
		cmocka_unit_test(test_cancel_ends_call),
		cmocka_unit_test(test_error_to_initial_invite_ends),
		cmocka_unit_test(test_491_to_reinvite_keeps_call),
		cmocka_unit_test(test_media_flow_inactive_then_purged),
		cmocka_unit_test(test_session_expires_when_silent),
		cmocka_unit_test(test_media_kept_in_kernel_keeps_session),
		cmocka_unit_test(test_syn_flood_takes_no_streams),
		cmocka_unit_test(test_sip_tcp_connection),
		cmocka_unit_test(test_sip_tcp_out_of_order),
		cmocka_unit_test(test_rtsp_setup_play_teardown),
		cmocka_unit_test(test_rtsp_interleaved_predicts_nothing),
		cmocka_unit_test(test_rtsp_two_clients_shared_server_port),
		cmocka_unit_test(test_rtsp_same_session_id_two_servers),
		cmocka_unit_test(test_fragmented_invite),
		cmocka_unit_test(test_malformed_sip_counted),
		cmocka_unit_test(test_orphan_message_is_not_malformed),
		cmocka_unit_test(test_not_vip_passes_unmarked),
		cmocka_unit_test(test_sdp_naming_cluster_address),
		cmocka_unit_test(test_flow_table_full_pass),
		cmocka_unit_test(test_flow_table_full_drop),
		cmocka_unit_test(test_session_table_full_pass),
		cmocka_unit_test(test_session_table_full_drop),
		cmocka_unit_test(test_rtsp_connection_session_table_full),
		cmocka_unit_test(test_random_bytes_never_crash),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_failed_server_sessions_repinned_evenly),
		cmocka_unit_test(test_failed_server_repinned_in_slices),
		cmocka_unit_test(test_failed_last_server_keeps_sessions),
		cmocka_unit_test(test_admission_sheds_new_keeps_established),
		cmocka_unit_test(test_admission_window_awaits_answers),
		cmocka_unit_test(test_admission_window_per_server),
		cmocka_unit_test(test_admission_silent_drop_when_configured),
		cmocka_unit_test(test_reconfigure_live_keys),
		cmocka_unit_test(test_admission_spares_sip_over_tcp),
		cmocka_unit_test(test_admission_refuses_sip_syn_above_t2),
		cmocka_unit_test(test_admission_drops_sip_syn_when_configured),
		cmocka_unit_test(test_admission_random_policy),
		cmocka_unit_test(test_admission_call_limit_policy),
		cmocka_unit_test(test_admission_fed_by_server_loads),
		cmocka_unit_test(test_sdp_rtcp_attribute_address),
		cmocka_unit_test(test_eight_streams_then_counted),
		cmocka_unit_test(test_183_early_media_predicted),
		cmocka_unit_test(test_prack_answer_and_update_move_media),
		cmocka_unit_test(test_update_prack_unknown_dialog),
		cmocka_unit_test(test_update_refused_keeps_call),
		cmocka_unit_test(test_rtsp_session_timeout_honoured),
		cmocka_unit_test(test_rtsp_session_timeout_keepalive),
		cmocka_unit_test(test_rtsp_session_continued_on_new_connection),
		cmocka_unit_test(test_rtsp_affinity_only_without_open_connection),
		cmocka_unit_test(test_rtsp_continuation_on_other_server_not_joined),
		cmocka_unit_test(test_hash_rtsp_reconnection_met_mid_stream),
		cmocka_unit_test(test_hash_rtsp_mid_stream_connection_moved_only_at_first),
		cmocka_unit_test(test_hash_rtsp_new_connection_at_another_dispatcher),
		cmocka_unit_test(test_hash_rtsp_parallel_sessions_met_mid_stream),
		cmocka_unit_test(test_unanswered_bye_kept_until_timer_f),
		cmocka_unit_test(test_late_answer_to_bye_then_linger),
		cmocka_unit_test(test_server_bye_answered_by_client),
		cmocka_unit_test(test_challenged_bye_waits_again),
		cmocka_unit_test(test_bye_without_gateway_lingers),
		cmocka_unit_test(test_teardown_not_awaited),
		cmocka_unit_test(test_icmp_port_unreachable_follows_media),
		cmocka_unit_test(test_icmp_fragmentation_needed_follows_tcp),
		cmocka_unit_test(test_icmp6_packet_too_big_follows_media),
		cmocka_unit_test(test_icmp_error_unknown_flow_and_malformed),
		cmocka_unit_test(test_session_found_by_key_with_flows),
		cmocka_unit_test(test_session_pick_reason),
		cmocka_unit_test(test_session_pick_follows_connection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
