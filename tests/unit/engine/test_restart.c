/* test_restart.c - sessions through a restart of the engine (sarad killed
 * and started again): the journal's records replayed into a new engine
 * keep every call's in-dialog requests (re-INVITE, UPDATE, BYE) and media,
 * every RTSP session's requests (PAUSE, PLAY, TEARDOWN) and media, on
 * their servers; a SIP/TCP connection comes back pinned (or, unjournaled,
 * stays where its connmark says); serials carry over; a server the new configuration lacks
 * takes no session back. */
#include "call_harness.h"

#define C1 "192.0.2.11"
#define C2 "192.0.2.12"
#define C3 "192.0.2.13"

static uint64_t engine_counter_of(const struct call_harness *h, enum counter_id id)
{
	return counter_get(engine_counters(h->engine), id);
}

static void test_sip_udp_calls_survive(void **state)
{
	struct call_harness *h = ch_new(NULL);
	const char *clients[3] = { C1, C2, C3 }, *ids[3] = { "call-a@x", "call-b@x", "call-c@x" };
	uint64_t session[3];
	int server[3];
	char sdp[512];
	struct verdict v;
	struct engine_stats stats;
	(void)state;

	for (int i = 0; i < 3; i++)
		session[i] = ch_call(h, clients[i], ids[i], 7000, 6000 + 2 * i, &server[i]);
	assert_true(server[0] != server[1] && server[1] != server[2] && server[0] != server[2]);

	assert_int_equal(ch_restart(h, NULL), 3);
	engine_get_stats(h->engine, &stats);
	assert_int_equal(stats.sessions_in_use, 3);

	for (int i = 0; i < 3; i++) {
		/* media that reaches user space again (its conntrack entry went) */
		ch_media(h, clients[i], 7000, 6000 + 2 * i, &v);
		ch_assert_to(h, &v, session[i], server[i]);
		assert_int_equal(v.identity, FLOW_SECONDARY);
		assert_false(v.new_flow);
		/* RTCP never seen before the restart: predicted from the streams */
		ch_media(h, clients[i], 7001, 6001 + 2 * i, &v);
		ch_assert_to(h, &v, session[i], server[i]);
		assert_int_equal(v.identity, FLOW_SECONDARY);
		/* hold: a re-INVITE with new media */
		ch_client_request(h, clients[i], "INVITE", ids[i], 2, ch_sdp(sdp, sizeof(sdp), clients[i], 7100), &v);
		ch_assert_to(h, &v, session[i], server[i]);
		assert_int_equal(v.reason, REASON_SESSION);
		ch_server_ok(h, clients[i], ids[i], 2, "INVITE", 6100 + 2 * i);
		ch_media(h, clients[i], 7100, 6100 + 2 * i, &v);
		ch_assert_to(h, &v, session[i], server[i]);
		ch_client_request(h, clients[i], "UPDATE", ids[i], 3, NULL, &v);
		ch_assert_to(h, &v, session[i], server[i]);
		ch_client_request(h, clients[i], "BYE", ids[i], 4, NULL, &v);
		ch_server_ok(h, clients[i], ids[i], 4, "BYE", 0);   /* the BYE answered: the call lingers, then ends */
		ch_assert_to(h, &v, session[i], server[i]);
	}
	assert_int_equal(engine_counter_of(h, COUNTER_SIP_NO_SESSION), 0);
	ch_advance_ms(h, 3000);
	engine_get_stats(h->engine, &stats);
	assert_int_equal(stats.sessions_in_use, 0);
	assert_int_equal(h->sessions_ended, 3);
	ch_free(h);
}

/* Serials are kept; new sessions come after them; a second restart from
 * the compacted journal restores the same. */
static void test_serials_and_second_restart(void **state)
{
	struct call_harness *h = ch_new(NULL);
	struct session_info info;
	struct verdict v;
	int server, server_b, server_c;
	uint64_t a, b, c;
	(void)state;
	a = ch_call(h, C1, "a@x", 7000, 6000, &server);
	b = ch_call(h, C2, "b@x", 7000, 6002, &server_b);
	ch_client_request(h, C2, "BYE", "b@x", 2, NULL, &v);
	ch_server_ok(h, C2, "b@x", 2, "BYE", 0);   /* the BYE answered: the call lingers, then ends */
	ch_advance_ms(h, 3000);
	assert_false(ch_session_exists(h, b));
	assert_int_equal(ch_restart(h, NULL), 1);
	assert_true(engine_session_info(h->engine, a, &info));
	assert_string_equal(info.key, "a@x");
	assert_int_equal(info.server, server);
	assert_true(info.confirmed);
	c = ch_call(h, C3, "c@x", 7000, 6004, &server_c);
	assert_true(c > b);
	assert_int_equal(ch_restart(h, NULL), 2);
	assert_true(engine_session_info(h->engine, a, &info) && info.server == server);
	assert_true(engine_session_info(h->engine, c, &info) && info.server == server_c);
	ch_client_request(h, C1, "BYE", "a@x", 2, NULL, &v);
	ch_server_ok(h, C1, "a@x", 2, "BYE", 0);   /* the BYE answered: the call lingers, then ends */
	ch_assert_to(h, &v, a, server);
	ch_free(h);
}

/* One record per session and packet; each with a higher version. */
static void test_one_record_per_packet(void **state)
{
	struct call_harness *h = ch_new(NULL);
	char sdp[512];
	struct verdict v;
	(void)state;
	ch_client_request(h, C1, "INVITE", "r@x", 1, ch_sdp(sdp, sizeof(sdp), C1, 7000), &v);
	assert_int_equal(h->sessions_changed, 1);      /* created and its media, once */
	ch_client_request(h, C1, "INVITE", "r@x", 1, ch_sdp(sdp, sizeof(sdp), C1, 7000), &v);
	assert_int_equal(h->sessions_changed, 2);      /* a retransmission restates the media */
	ch_server_ok(h, C1, "r@x", 1, "INVITE", 6000);
	assert_int_equal(h->sessions_changed, 3);
	ch_client_request(h, C1, "ACK", "r@x", 1, NULL, &v);
	assert_int_equal(h->sessions_changed, 3);      /* nothing a restart needs changed */
	assert_int_equal(h->flows_decided, 0);
	ch_media(h, C1, 7000, 6000, &v);
	assert_int_equal(h->flows_decided, 1);
	ch_media(h, C1, 7000, 6000, &v);
	assert_int_equal(h->flows_decided, 1);
	ch_free(h);
}

/* Media the kernel carries keeps a restored session alive; once the
 * kernel no longer carries it, the session expires. */
static void test_restored_media_kept_by_kernel(void **state)
{
	struct call_harness *h = ch_new(NULL);
	int server;
	uint64_t a;
	(void)state;
	a = ch_call(h, C1, "long@x", 7000, 6000, &server);
	assert_int_equal(ch_restart(h, NULL), 1);
	h->kernel_carries_media = true;
	for (int i = 0; i < 12; i++)
		ch_advance_ms(h, CH_SIGNALLING_S * 1000);
	assert_true(ch_session_exists(h, a));
	h->kernel_carries_media = false;
	for (int i = 0; i < 8; i++)
		ch_advance_ms(h, CH_SIGNALLING_S * 1000);
	assert_false(ch_session_exists(h, a));
	ch_free(h);
}

/* SIP over TCP: the connection comes back from the journal, pinned to its
 * server; the calls on it follow it. */
static void test_sip_tcp_connection_restored(void **state)
{
	struct call_harness *h = ch_new(NULL);
	struct ch_tcp c = { C1, 40100, CH_SIP_PORT, 1000, 9000 };
	char text[CH_TEXT_MAX], sdp[512];
	struct verdict v;
	int server;
	uint64_t call;
	(void)state;
	ch_call(h, C2, "x@x", 7000, 6000, &server);
	ch_tcp_open(h, &c, &v);
	server = v.server;
	assert_int_equal(h->connections_pinned, 1);
	ch_tcp_client(h, &c, TCP_FLAG_ACK | TCP_FLAG_PSH,
		      ch_request(text, sizeof(text), "INVITE", "tcp@x", 1, ch_sdp(sdp, sizeof(sdp), C1, 7200)), 0, &v);
	call = v.session;
	ch_assert_to(h, &v, call, server);

	assert_int_equal(ch_restart(h, NULL), 2);
	assert_int_equal(h->connections_pinned, 2);   /* the compaction wrote it again */
	ch_tcp_client(h, &c, TCP_FLAG_ACK | TCP_FLAG_PSH,
		      ch_request(text, sizeof(text), "INVITE", "tcp@x", 2, ch_sdp(sdp, sizeof(sdp), C1, 7300)), 0, &v);
	ch_assert_to(h, &v, call, server);
	ch_tcp_client(h, &c, TCP_FLAG_ACK | TCP_FLAG_PSH, ch_request(text, sizeof(text), "BYE", "tcp@x", 3, NULL), 0,
		      &v);
	ch_assert_to(h, &v, call, server);
	assert_int_equal(engine_counter_of(h, COUNTER_TCP_CONNECTIONS_ADOPTED), 0);
	/* the connection idles out: its end is journaled */
	ch_advance_ms(h, 3 * CH_SIGNALLING_S * 1000);
	assert_int_equal(h->connections_closed, 1);
	ch_free(h);
}

/* Without the journal's record of it, a connection met in its middle stays
 * where its connmark says (where the kernel tracks both directions). */
static void test_sip_tcp_connection_adopted(void **state)
{
	struct call_harness *h = ch_new(NULL);
	struct ch_tcp c = { C1, 40100, CH_SIP_PORT, 1000, 9000 };
	char text[CH_TEXT_MAX], sdp[512];
	struct verdict v;
	int server;
	uint64_t call;
	uint32_t mark;
	(void)state;
	/* two calls before, so that a fresh pick would land elsewhere */
	ch_call(h, C2, "x@x", 7000, 6000, &server);
	ch_tcp_open(h, &c, &v);
	server = v.server;
	mark = v.mark;
	ch_tcp_client(h, &c, TCP_FLAG_ACK | TCP_FLAG_PSH,
		      ch_request(text, sizeof(text), "INVITE", "tcp@x", 1, ch_sdp(sdp, sizeof(sdp), C1, 7200)), 0, &v);
	call = v.session;
	ch_assert_to(h, &v, call, server);

	h->forget_connections = true;
	assert_int_equal(ch_restart(h, NULL), 2);
	/* a pure ACK, then the re-INVITE, each with the connection's connmark */
	ch_tcp_client(h, &c, TCP_FLAG_ACK, NULL, mark, &v);
	assert_int_equal(v.server, server);
	assert_int_equal(v.mark, mark);
	assert_int_equal(engine_counter_of(h, COUNTER_TCP_CONNECTIONS_ADOPTED), 1);
	ch_tcp_client(h, &c, TCP_FLAG_ACK | TCP_FLAG_PSH,
		      ch_request(text, sizeof(text), "INVITE", "tcp@x", 2, ch_sdp(sdp, sizeof(sdp), C1, 7300)), mark, &v);
	ch_assert_to(h, &v, call, server);
	ch_tcp_client(h, &c, TCP_FLAG_ACK | TCP_FLAG_PSH, ch_request(text, sizeof(text), "BYE", "tcp@x", 3, NULL), mark,
		      &v);
	ch_assert_to(h, &v, call, server);
	assert_int_equal(engine_counter_of(h, COUNTER_TCP_CONNECTIONS_ADOPTED), 1);
	ch_free(h);
}

/* What is not adopted: a SYN (a new connection, picked afresh), and a mark
 * that names no server. */
static void test_adoption_needs_a_known_mark(void **state)
{
	struct call_harness *h = ch_new(NULL);
	struct ch_tcp c = { C1, 40200, CH_SIP_PORT, 1000, 9000 };
	struct ch_tcp d = { C2, 40201, CH_SIP_PORT, 5000, 9000 };
	struct verdict v;
	(void)state;
	ch_tcp_client(h, &c, TCP_FLAG_ACK, NULL, 77, &v);
	assert_int_equal(engine_counter_of(h, COUNTER_TCP_CONNECTIONS_ADOPTED), 0);
	ch_tcp_client(h, &d, TCP_FLAG_SYN, NULL, 3, &v);
	assert_int_equal(engine_counter_of(h, COUNTER_TCP_CONNECTIONS_ADOPTED), 0);
	ch_free(h);
}

/* RTSP: the session and its control connection come back; PAUSE, PLAY
 * and TEARDOWN on that connection, and the media, stay on its server. */
static void test_rtsp_session_survives(void **state)
{
	struct call_harness *h = ch_new(NULL);
	struct ch_tcp c = { C1, 41000, CH_RTSP_PORT, 100, 7000 };
	struct ch_tcp other = { C2, 41001, CH_RTSP_PORT, 100, 7000 };
	char text[CH_TEXT_MAX];
	struct verdict v;
	struct session_info info;
	int server, other_server;
	uint64_t session;
	(void)state;
	ch_rtsp_session(h, &other, "OTHER1", 5100, 6100, &other_server);
	session = ch_rtsp_session(h, &c, "5678ABCD", 5000, 6000, &server);
	assert_int_equal(ch_restart(h, NULL), 2);
	assert_true(engine_session_info(h->engine, session, &info));
	assert_string_equal(info.key, "5678ABCD");
	assert_int_equal(info.flow_count >= 2, 1);   /* its connection and its RTCP flow */

	ch_media(h, C1, 5000, 6000, &v);               /* RTP: predicted */
	ch_assert_to(h, &v, session, server);
	ch_tcp_client(h, &c, TCP_FLAG_ACK | TCP_FLAG_PSH, ch_rtsp_request(text, sizeof(text), "PAUSE", 3, "5678ABCD", NULL),
		      0, &v);
	ch_assert_to(h, &v, session, server);
	assert_int_equal(v.identity, FLOW_SIGNALLING);
	ch_tcp_server(h, &c, TCP_FLAG_ACK | TCP_FLAG_PSH, ch_rtsp_reply(text, sizeof(text), 3, "5678ABCD", NULL));
	ch_tcp_client(h, &c, TCP_FLAG_ACK | TCP_FLAG_PSH, ch_rtsp_request(text, sizeof(text), "PLAY", 4, "5678ABCD", NULL),
		      0, &v);
	ch_assert_to(h, &v, session, server);
	ch_tcp_client(h, &c, TCP_FLAG_ACK | TCP_FLAG_PSH,
		      ch_rtsp_request(text, sizeof(text), "TEARDOWN", 5, "5678ABCD", NULL), 0, &v);
	ch_assert_to(h, &v, session, server);
	ch_tcp_server(h, &c, TCP_FLAG_ACK | TCP_FLAG_PSH, ch_rtsp_reply(text, sizeof(text), 5, "5678ABCD", NULL));
	ch_advance_ms(h, 3000);
	assert_false(ch_session_exists(h, session));
	assert_int_equal(engine_counter_of(h, COUNTER_RTSP_NO_SESSION), 0);
	ch_free(h);
}

static void drop_s2_add_s4(struct sara_config *cfg)
{
	/* s3 first, then s1, then a new s4: ids, not positions, name servers */
	struct server_config s1 = cfg->servers[0], s3 = cfg->servers[2], s4 = cfg->servers[1];
	snprintf(s4.id, sizeof(s4.id), "s4");
	s4.address = ch_addr("10.0.0.4");
	s4.mark = 4;
	s4.table = 104;
	cfg->servers[0] = s3;
	cfg->servers[1] = s1;
	cfg->servers[2] = s4;
}

/* Started with another server list: sessions find their servers by id;
 * those of a server the list lacks are not restored (sarad retires such a
 * server instead, from the journal's server records: test_journal in
 * sarad's tests). */
static void test_restart_with_other_servers(void **state)
{
	struct call_harness *h = ch_new(NULL);
	struct sara_config next = h->cfg;
	const char *clients[3] = { C1, C2, C3 }, *ids[3] = { "a@x", "b@x", "c@x" };
	uint64_t session[3];
	int server[3];
	struct verdict v;
	(void)state;
	for (int i = 0; i < 3; i++)
		session[i] = ch_call(h, clients[i], ids[i], 7000, 6000 + 2 * i, &server[i]);
	drop_s2_add_s4(&next);
	assert_int_equal(ch_restart(h, &next), 2);
	for (int i = 0; i < 3; i++) {
		const char *id = i == 0 ? "s1" : i == 1 ? "s2" : "s3";
		int now_at = -1;
		for (unsigned s = 0; s < next.server_count; s++)
			if (strcmp(next.servers[s].id, id) == 0)
				now_at = (int)s;
		assert_int_equal(server[i], i);   /* round-robin placed a on s1, b on s2, c on s3 */
		ch_client_request(h, clients[i], "BYE", ids[i], 2, NULL, &v);
		ch_server_ok(h, clients[i], ids[i], 2, "BYE", 0);   /* the BYE answered: the call lingers, then ends */
		if (now_at < 0) {
			assert_int_equal(v.session, 0);
			continue;
		}
		ch_assert_to(h, &v, session[i], now_at);
		assert_int_equal(v.mark, (uint32_t)(i + 1));
	}
	ch_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sip_udp_calls_survive),
		cmocka_unit_test(test_serials_and_second_restart),
		cmocka_unit_test(test_one_record_per_packet),
		cmocka_unit_test(test_restored_media_kept_by_kernel),
		cmocka_unit_test(test_sip_tcp_connection_restored),
		cmocka_unit_test(test_sip_tcp_connection_adopted),
		cmocka_unit_test(test_adoption_needs_a_known_mark),
		cmocka_unit_test(test_rtsp_session_survives),
		cmocka_unit_test(test_restart_with_other_servers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
