/* test_replay.c - unit tests for src/sara-replay/replay.c: hand-built
 * packets and a bundled capture replayed, asserting on the records in each mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "io/config_file.h"
#include "sara-replay/captures.h"
#include "sara-replay/replay.h"
#include "replay_fixture.h"

#define CLIENT_A "192.0.2.10"
#define CLIENT_B "192.0.2.20"
#define MAX_RECORDS 100000

static struct sara_config cfg;

static uint64_t bit(int server)
{
	return 1ull << server;
}

/* The session record of the n-th session (record order). */
static const struct session_record *session_n(const struct replay *r, uint32_t n)
{
	assert_true(n < r->records.session_count);
	return &r->records.sessions[n];
}

/* The flows chained to a session, in order; returns how many. */
static unsigned session_flows(const struct replay *r, const struct session_record *s,
			      const struct flow_record **out, unsigned max)
{
	unsigned n = 0;
	for (uint32_t i = s->first_flow; i != RECORD_NONE; i = r->records.flows[i].next_of_session) {
		assert_true(n < max);
		out[n++] = &r->records.flows[i];
	}
	return n;
}

/* The sessionless, unmerged flow records. */
static unsigned unassigned_flows(const struct replay *r)
{
	unsigned n = 0;
	for (uint32_t i = 0; i < r->records.flow_count; i++)
		n += r->records.flows[i].session == 0 && !r->records.flows[i].merged;
	return n;
}

static void test_direction(void **state)
{
	struct packet pkt;
	uint8_t buf[256];
	static const uint8_t garbage[8] = { 0x12, 0x34 };
	(void)state;
	fixture_config(&cfg);
	assert_int_equal(replay_direction(&cfg, buf, fixture_udp(CLIENT_A, 4000, FIXTURE_VIP, 5060, "x", 1, buf,
								    sizeof(buf)), &pkt),
			 DIRECTION_INBOUND);
	assert_int_equal(pkt.key.sport, 4000);
	assert_int_equal(replay_direction(&cfg, buf, fixture_udp(FIXTURE_VIP, 5060, CLIENT_A, 4000, "x", 1, buf,
								    sizeof(buf)), &pkt),
			 DIRECTION_OUTBOUND);
	assert_int_equal(replay_direction(&cfg, buf, fixture_udp("10.0.0.2", 5060, CLIENT_A, 4000, "x", 1, buf,
								    sizeof(buf)), &pkt),
			 DIRECTION_OUTBOUND);
	/* Inside the cluster (a server to a proxy on the VIP), and unrelated traffic. */
	assert_int_equal(replay_direction(&cfg, buf, fixture_udp("10.0.0.1", 5060, FIXTURE_VIP, 5060, "x", 1, buf,
								    sizeof(buf)), &pkt),
			 DIRECTION_OTHER);
	assert_int_equal(replay_direction(&cfg, buf, fixture_udp(CLIENT_A, 5060, CLIENT_B, 5060, "x", 1, buf,
								    sizeof(buf)), &pkt),
			 DIRECTION_OTHER);
	assert_int_equal(replay_direction(&cfg, garbage, sizeof(garbage), &pkt), DIRECTION_UNDECODED);
}

/* Plain mode: the engine's verdicts place a call's signalling and media at
 * one server, and the records say so. */
static void test_call_at_one_server(void **state)
{
	struct replay r;
	const struct flow_record *flows[4];
	const struct session_record *s;
	(void)state;
	fixture_replay(&r, &cfg, REPLAY_PLAIN, MAX_RECORDS);
	fixture_call(&r, CLIENT_A, "call-1@client", 40000, 20000, 5);
	replay_finish(&r);

	assert_int_equal(r.inbound, 2 + 5);
	assert_int_equal(r.outbound, 1);
	assert_true(r.announcements >= 1);
	assert_int_equal(r.records.session_count, 1);
	s = session_n(&r, 0);
	assert_string_equal(s->key, "call-1@client");
	assert_int_equal(s->proto, PROTO_SIP);
	assert_true(s->server >= 0 && s->server < FIXTURE_SERVERS);
	assert_int_equal(session_flows(&r, s, flows, 4), 2);
	assert_int_equal(flows[0]->identity, FLOW_SIGNALLING);
	assert_int_equal(flows[0]->packets, 2);
	assert_int_equal(flows[0]->key.dport, FIXTURE_SIP_PORT);
	assert_int_equal(flows[1]->identity, FLOW_SECONDARY);
	assert_int_equal(flows[1]->packets, 5);
	assert_int_equal(flows[1]->key.sport, 40000);
	assert_int_equal(flows[1]->key.dport, 20000);
	assert_true(flows[1]->looks_rtp);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(flows[i]->servers, bit(s->server));
		assert_false(flows[i]->unmarked);
	}
	assert_true(s->first_us >= FIXTURE_START_US && s->last_us > s->first_us);
	assert_int_equal(unassigned_flows(&r), 0);
	assert_false(replay_incomplete(&r));
	replay_free(&r);
}

/* Round-robin: two calls, two servers; each session's flows at its own. */
static void test_two_calls_two_servers(void **state)
{
	struct replay r;
	const struct flow_record *flows[4];
	(void)state;
	fixture_replay(&r, &cfg, REPLAY_PLAIN, MAX_RECORDS);
	fixture_call(&r, CLIENT_A, "call-1@client", 40000, 20000, 3);
	fixture_call(&r, CLIENT_B, "call-2@client", 40000, 20002, 3);
	replay_finish(&r);
	assert_int_equal(r.records.session_count, 2);
	assert_int_not_equal(session_n(&r, 0)->server, session_n(&r, 1)->server);
	for (uint32_t n = 0; n < 2; n++) {
		const struct session_record *s = session_n(&r, n);
		assert_int_equal(session_flows(&r, s, flows, 4), 2);
		assert_int_equal(flows[0]->servers | flows[1]->servers, bit(s->server));
	}
	replay_free(&r);
}

/* Merged mode: where a packet was captured, not the verdict, is where it went. */
static void test_merged_places_by_capture(void **state)
{
	struct replay r;
	const struct flow_record *flows[4];
	const struct session_record *s;
	(void)state;
	fixture_replay(&r, &cfg, REPLAY_MERGED, MAX_RECORDS);
	assert_true(replay_add_observed(&r, 2));
	assert_true(replay_add_observed(&r, 1));
	assert_false(replay_add_observed(&r, FIXTURE_SERVERS));
	r.current_server = 2;
	fixture_call(&r, CLIENT_A, "call-1@client", 40000, 20000, 4);
	r.current_server = 1;  /* one more RTP packet, captured at another server */
	fixture_feed_udp(&r, CLIENT_A, 40000, FIXTURE_VIP, 20000, fixture_rtp, sizeof(fixture_rtp));
	replay_finish(&r);

	assert_true(replay_server_observed(&r, 1) && replay_server_observed(&r, 2));
	assert_false(replay_server_observed(&r, 0));
	assert_int_equal(r.tally[2].inbound, 2 + 4);
	assert_int_equal(r.tally[2].outbound, 1);
	assert_int_equal(r.tally[1].inbound, 1);
	s = session_n(&r, 0);
	assert_int_equal(s->first_observed, 2);
	assert_int_equal(session_flows(&r, s, flows, 4), 2);
	assert_int_equal(flows[0]->servers, bit(2));
	assert_int_equal(flows[1]->servers, bit(1) | bit(2));
	replay_free(&r);
}

/* Matched mode: each sent packet claims a copy a server captured, even with
 * the TTL and checksums rewritten on the way; unclaimed copies are counted
 * and a packet no server captured is lost (unmarked). */
static void test_matched_claims_captured_copies(void **state)
{
	struct replay r;
	uint8_t sent[3][128], seen[128];
	size_t len[3];
	(void)state;
	fixture_replay(&r, &cfg, REPLAY_MATCHED, MAX_RECORDS);
	assert_true(replay_add_observed(&r, 0));
	for (unsigned i = 0; i < 3; i++) {
		uint8_t payload[12];
		memcpy(payload, fixture_rtp, sizeof(payload));
		payload[3] = (uint8_t)i; /* three different packets of one flow */
		len[i] = fixture_udp(CLIENT_A, 40000, FIXTURE_VIP, 20000, payload, sizeof(payload), sent[i], 128);
	}
	for (unsigned i = 0; i < 2; i++) { /* the third never arrived */
		struct captured_packet cp;
		memcpy(seen, sent[i], len[i]);
		seen[8] -= 2;                     /* TTL */
		seen[10] = 0x12, seen[11] = 0x34; /* IPv4 header checksum */
		seen[26] = 0xab, seen[27] = 0xcd; /* UDP checksum */
		cp = fixture_captured(seen, len[i]);
		replay_observe(&r, 0, &cp);
	}
	{ /* a copy of the first twice, and an outbound packet */
		struct captured_packet cp = fixture_captured(sent[0], len[0]);
		uint8_t out[128];
		replay_observe(&r, 0, &cp);
		cp = fixture_captured(out, fixture_udp(FIXTURE_VIP, 20000, CLIENT_A, 40000, fixture_rtp,
						       sizeof(fixture_rtp), out, sizeof(out)));
		replay_observe(&r, 0, &cp);
	}
	for (unsigned i = 0; i < 3; i++) {
		struct captured_packet cp = fixture_captured(sent[i], len[i]);
		replay_packet(&r, &cp);
	}
	replay_finish(&r);

	assert_int_equal(r.records.flow_count, 1);
	assert_int_equal(r.records.flows[0].packets, 3);
	assert_int_equal(r.records.flows[0].servers, bit(0));
	assert_true(r.records.flows[0].unmarked);
	assert_int_equal(r.tally[0].inbound, 2);
	assert_int_equal(r.tally[0].outbound, 1);
	assert_int_equal(r.tally[0].unmatched, 1);
	assert_int_equal(r.records.session_count, 0);
	replay_free(&r);
}

/* A TCP connection's handshake comes before its session is known: after the
 * run its packets belong to the session's signalling flow. */
static void test_tcp_handshake_joins_session(void **state)
{
	struct replay r;
	char text[FIXTURE_TEXT_MAX];
	const struct flow_record *flows[4];
	(void)state;
	fixture_replay(&r, &cfg, REPLAY_PLAIN, MAX_RECORDS);
	fixture_feed_tcp(&r, CLIENT_A, 33000, FIXTURE_VIP, FIXTURE_SIP_PORT, 1000, 0x02, NULL); /* SYN */
	fixture_feed_tcp(&r, FIXTURE_VIP, FIXTURE_SIP_PORT, CLIENT_A, 33000, 5000, 0x12, NULL); /* SYN-ACK */
	fixture_feed_tcp(&r, CLIENT_A, 33000, FIXTURE_VIP, FIXTURE_SIP_PORT, 1001, 0x10, NULL); /* ACK */
	fixture_sip(text, sizeof(text), "INVITE", 0, "tcp-1@client", CLIENT_A, 40000);
	fixture_feed_tcp(&r, CLIENT_A, 33000, FIXTURE_VIP, FIXTURE_SIP_PORT, 1001, 0x18, text);
	assert_int_equal(r.records.flow_count, 2); /* before: sessionless handshake, session's flow */
	assert_int_equal(unassigned_flows(&r), 1);
	replay_finish(&r);

	assert_int_equal(r.records.session_count, 1);
	assert_int_equal(session_flows(&r, session_n(&r, 0), flows, 4), 1);
	assert_int_equal(flows[0]->key.l4, L4_TCP);
	assert_int_equal(flows[0]->packets, 3);
	assert_int_equal(unassigned_flows(&r), 0);
	replay_free(&r);
}

/* RTP no signalling announced, from a client whose call had begun, is that
 * call's unpredicted media; from another client it stays unassigned. */
static void test_lost_media_joins_client_session(void **state)
{
	struct replay r;
	const struct flow_record *flows[4];
	const struct session_record *s;
	(void)state;
	fixture_replay(&r, &cfg, REPLAY_PLAIN, MAX_RECORDS);
	fixture_call(&r, CLIENT_A, "call-1@client", 40000, 20000, 1);
	fixture_feed_udp(&r, CLIENT_A, 41000, FIXTURE_VIP, 30000, fixture_rtp, sizeof(fixture_rtp));
	fixture_feed_udp(&r, CLIENT_B, 41000, FIXTURE_VIP, 30000, fixture_rtp, sizeof(fixture_rtp));
	fixture_feed_udp(&r, CLIENT_A, 42000, FIXTURE_VIP, 30002, "not rtp", 7);
	replay_finish(&r);

	s = session_n(&r, 0);
	assert_true(s->has_unpredicted);
	assert_int_equal(session_flows(&r, s, flows, 4), 3);
	assert_int_equal(flows[2]->identity, FLOW_UNPREDICTED);
	assert_int_equal(flows[2]->key.sport, 41000);
	assert_int_equal(unassigned_flows(&r), 2);
	replay_free(&r);
}

/* The record capacity: what does not fit is refused and the run is marked
 * incomplete. */
static void test_record_limit(void **state)
{
	struct replay r;
	(void)state;
	fixture_replay(&r, &cfg, REPLAY_PLAIN, 2);
	for (uint16_t port = 41000; port < 41005; port++)
		fixture_feed_udp(&r, CLIENT_A, port, FIXTURE_VIP, 30000, fixture_rtp, sizeof(fixture_rtp));
	assert_int_equal(r.records.flow_count, 2);
	assert_int_equal(r.inbound, 5);
	assert_true(replay_incomplete(&r));
	replay_free(&r);
}

/* The bundled three-call capture through the replay: three sessions, each
 * with its signalling and media flow at one server, three servers. */
static void test_bundled_capture(void **state)
{
	static struct sara_config example;
	struct replay r;
	struct hash_key key;
	struct netaddr vip;
	char path[256], err[512];
	uint64_t used = 0;
	(void)state;
	assert_true(sara_config_load(fixture_repo_path("conf/example.cfg", path, sizeof(path)), &example, err,
				     sizeof(err)));
	fixture_parse_address("198.18.77.20", &vip);
	assert_true(sara_config_is_vip(&example, &vip)); /* the capture's server */
	memset(&key, 1, sizeof(key));
	if (!replay_init(&r, &example, REPLAY_PLAIN, &key, MAX_RECORDS, err, sizeof(err)))
		fail_msg("replay_init: %s", err);
	assert_int_equal(captures_replay_file(&r, fixture_repo_path("pcaps/sip-sipp-sipp-udp-3calls.pcap", path,
								    sizeof(path)), false),
			 0);
	replay_finish(&r);
	assert_int_equal(r.records.session_count, 3);
	for (uint32_t n = 0; n < 3; n++) {
		const struct session_record *s = session_n(&r, n);
		const struct flow_record *flows[4];
		assert_int_equal(session_flows(&r, s, flows, 4), 2);
		assert_int_equal(flows[0]->packets, 3);
		assert_int_equal(flows[1]->packets, 120);
		assert_int_equal(flows[0]->servers, bit(s->server));
		assert_int_equal(flows[1]->servers, bit(s->server));
		assert_int_equal(used & bit(s->server), 0);
		used |= bit(s->server);
	}
	assert_int_equal(unassigned_flows(&r), 0);
	replay_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_direction),
		cmocka_unit_test(test_call_at_one_server),
		cmocka_unit_test(test_two_calls_two_servers),
		cmocka_unit_test(test_merged_places_by_capture),
		cmocka_unit_test(test_matched_claims_captured_copies),
		cmocka_unit_test(test_tcp_handshake_joins_session),
		cmocka_unit_test(test_lost_media_joins_client_session),
		cmocka_unit_test(test_record_limit),
		cmocka_unit_test(test_bundled_capture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
