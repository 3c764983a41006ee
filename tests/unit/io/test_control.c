/* test_control.c - the control socket's commands (servers, sessions and
 * sessions --key/--client, drain, undrain, refused, unknown ones) through control_handle_command on a real engine
 * fed SIP INVITEs; the reply must be one valid, bounded JSON document. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/agent_listener.h"
#include "io/control.h"
#include "engine/engine.h"
#include "packet_builder.h"

#define VIP4 "198.18.10.1"
#define SERVER_COUNT 3
#define SIP_PORT 5060
#define TEXT_MAX 4096
#define BIG_SESSIONS 100000u

/* ---- the fixture: an engine, a clock, the daemon's side of drain ---- */

static uint64_t test_clock_ms;

static uint64_t test_now_ms(void)
{
	return test_clock_ms;
}

struct fixture {
	struct sara_config cfg;
	struct engine *engine;
	pthread_mutex_t lock;
	struct control_view view;
	bool drained[SERVER_COUNT];
	unsigned set_drain_calls;
	unsigned last_server;
	bool fail_set_drain;           /* set_drain answers an error */
	bool lock_held_in_callback;    /* a callback found engine_lock taken */
};

/* The daemon's side of the interface: sarad would also tell the engine. */
static int stub_set_drain(void *ctx, unsigned server, bool drain, char *err, size_t err_size)
{
	struct fixture *f = ctx;
	if (pthread_mutex_trylock(&f->lock) != 0)
		f->lock_held_in_callback = true;
	else
		pthread_mutex_unlock(&f->lock);
	f->set_drain_calls++;
	f->last_server = server;
	if (f->fail_set_drain) {
		snprintf(err, err_size, "the stub refuses");
		return -1;
	}
	assert_true(server < SERVER_COUNT);
	f->drained[server] = drain;
	return 0;
}

static bool stub_is_drained(void *ctx, unsigned server)
{
	struct fixture *f = ctx;
	if (pthread_mutex_trylock(&f->lock) != 0)
		f->lock_held_in_callback = true;
	else
		pthread_mutex_unlock(&f->lock);
	assert_true(server < SERVER_COUNT);
	return f->drained[server];
}

static void parse_address(const char *text, struct netaddr *out)
{
	assert_true(netaddr_parse(span_make(text, strlen(text)), out));
}

/* Three servers s1..s3, round-robin (so calls spread predictably). */
static struct fixture *fixture_new(uint32_t sessions)
{
	static const char *const addresses[SERVER_COUNT] = { "10.0.0.1", "10.0.0.2", "10.0.0.3" };
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];
	assert_non_null(f);
	test_clock_ms = 1000000;
	sara_config_defaults(&f->cfg);
	f->cfg.admission.estimate = ADMISSION_ESTIMATE_RATE; /* no answers: no backlog to count */
	snprintf(f->cfg.name, sizeof(f->cfg.name), "control-test");
	f->cfg.vip_count = 1;
	parse_address(VIP4, &f->cfg.vips[0]);
	f->cfg.server_count = SERVER_COUNT;
	for (unsigned i = 0; i < SERVER_COUNT; i++) {
		struct server_config *s = &f->cfg.servers[i];
		snprintf(s->id, sizeof(s->id), "s%u", i + 1);
		parse_address(addresses[i], &s->address);
		if (i == 1)   /* dual-stack: the servers reply names its address6 too */
			parse_address("fd00:2::2", &s->address6);
		s->mark = 0x100 + i;
		s->table = 101 + i;
		s->weight = 1.0;
	}
	f->cfg.selection.algorithm = SELECT_ROUND_ROBIN;
	f->cfg.limits.sessions = sessions;
	f->cfg.limits.flows = sessions * 2;
	f->engine = engine_create(&f->cfg, NULL, test_clock_ms, err, sizeof(err));
	if (!f->engine)
		fail_msg("engine_create: %s", err);
	pthread_mutex_init(&f->lock, NULL);
	f->view.cluster = "control-test";
	f->view.now_ms = test_now_ms;
	f->view.started_ms = test_clock_ms;
	f->view.engine = f->engine;
	f->view.engine_lock = &f->lock;
	f->view.daemon_ctx = f;
	f->view.set_drain = stub_set_drain;
	f->view.is_drained = stub_is_drained;
	return f;
}

static int setup(void **state)
{
	*state = fixture_new(64);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	engine_destroy(f->engine);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return 0;
}

/* A new call: an INVITE from client:port with this Call-ID. Returns the
 * server index it was given. */
static int invite(struct fixture *f, const char *client, uint16_t port, const char *call_id)
{
	static uint8_t packet[TEXT_MAX + 100];
	char text[TEXT_MAX];
	struct verdict v;
	size_t n;
	int len = snprintf(text, sizeof(text),
			   "INVITE sip:bob@sara.example SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP client.example:%u;branch=z9hG4bK-1\r\n"
			   "Max-Forwards: 70\r\n"
			   "From: <sip:alice@client.example>;tag=1928301774\r\n"
			   "To: <sip:bob@sara.example>\r\n"
			   "Call-ID: %s\r\n"
			   "CSeq: 1 INVITE\r\n"
			   "Contact: <sip:alice@client.example>\r\n"
			   "Content-Length: 0\r\n\r\n",
			   port, call_id);
	assert_true(len > 0 && (size_t)len < sizeof(text));
	n = packet_build_udp(AF_INET, client, port, VIP4, SIP_PORT, text, (size_t)len, packet, sizeof(packet));
	assert_true(n > 0);
	engine_packet(f->engine, packet, n, test_clock_ms, &v);
	assert_int_equal(v.reason, REASON_SESSION);
	assert_int_not_equal(v.session, 0);
	return v.server;
}

/* The reply to one command line, checked to be one JSON document of
 * printable ASCII (every wire byte escaped) ending in a newline. */
static char *ask(struct fixture *f, const char *line)
{
	char *reply = control_handle_command(&f->view, line, strlen(line));
	size_t len;
	assert_non_null(reply);
	len = strlen(reply);
	assert_true(len >= 3);
	assert_int_equal(reply[0], '{');
	assert_int_equal(reply[len - 2], '}');
	assert_int_equal(reply[len - 1], '\n');
	for (size_t i = 0; i + 1 < len; i++)
		if ((unsigned char)reply[i] < 0x20 || (unsigned char)reply[i] >= 0x7f)
			fail_msg("byte 0x%02x at %zu of the reply to \"%s\"", (unsigned char)reply[i], i, line);
	return reply;
}

static void assert_contains(const char *text, const char *part)
{
	if (!strstr(text, part))
		fail_msg("expected %s\nin %s", part, text);
}

/* A plain loop, not strstr: ASan's strstr measures the whole haystack on
 * every call, which is quadratic over a 100000-session listing. */
static unsigned count_of(const char *text, const char *part)
{
	size_t part_len = strlen(part);
	unsigned n = 0;
	for (const char *p = text; *p; p++)
		if (*p == part[0] && strncmp(p, part, part_len) == 0)
			n++;
	return n;
}

/* ---- servers ---- */

static void test_servers_fields(void **state)
{
	struct fixture *f = *state;
	char *reply;

	assert_int_equal(invite(f, "192.0.2.10", 5060, "a@c"), 0);
	assert_int_equal(invite(f, "192.0.2.10", 5062, "b@c"), 1);
	assert_int_equal(invite(f, "192.0.2.10", 5064, "c@c"), 2);
	assert_int_equal(invite(f, "192.0.2.10", 5066, "d@c"), 0);
	f->drained[2] = true;
	reply = ask(f, "servers\n");
	print_message("%s", reply);
	assert_contains(reply, "{\"agents\": false, \"servers\": [{\"id\": \"s1\", \"address\": \"10.0.0.1\", "
			       "\"mark\": 256, \"table\": 101, \"weight\": 1.000, \"weight_factor\": 1.000, "
			       "\"available\": true, \"drained\": false, \"removed\": false, \"state\": \"unknown\", "
			       "\"cause\": \"no agents\", "
			       "\"last_heartbeat_age_ms\": null, \"sessions\": 2, \"load_estimate\": null}");
	assert_contains(reply, "{\"id\": \"s2\", \"address\": \"10.0.0.2\", \"address6\": \"fd00:2::2\", \"mark\": 257, \"table\": 102");
	assert_contains(reply, "\"drained\": true, \"removed\": false, \"state\": \"unknown\", \"cause\": \"no agents\", "
			       "\"last_heartbeat_age_ms\": null, \"sessions\": 1,");
	assert_int_equal(count_of(reply, "\"id\": "), SERVER_COUNT);
	assert_int_equal(count_of(reply, "\"address6\": "), 1);
	assert_false(f->lock_held_in_callback);
	free(reply);

	/* The engine's view: a server the engine takes off gets no sessions. */
	engine_set_server_available(f->engine, 1, false);
	reply = ask(f, "servers");
	assert_contains(reply, "{\"id\": \"s2\", \"address\": \"10.0.0.2\", \"address6\": \"fd00:2::2\", \"mark\": 257, \"table\": 102, "
			       "\"weight\": 1.000, \"weight_factor\": 1.000, \"available\": false");
	free(reply);

	reply = ask(f, "servers extra\n");
	assert_contains(reply, "{\"ok\": false, \"error\": \"usage: servers\"}");
	free(reply);

	/* A reload removes s3, whose session drains: listed as removed. */
	{
		struct sara_config next = *engine_config(f->engine);
		char err[256];
		next.server_count = 2;
		assert_true(engine_reconfigure(f->engine, &next, err, sizeof(err)));
	}
	reply = ask(f, "servers");
	assert_contains(reply, "{\"id\": \"s3\", \"address\": \"10.0.0.3\"");
	assert_contains(reply, "\"removed\": true, \"state\": \"removed\", \"cause\": \"no agents\", "
			       "\"last_heartbeat_age_ms\": null, \"sessions\": 1,");
	assert_contains(reply, "\"available\": false, \"drained\": true, \"removed\": true");
	free(reply);
}

/* With agents configured, health comes from server health: a server not
 * heard from yet is "unknown" with cause "none" and no heartbeat age. */
static void test_servers_with_agents(void **state)
{
	struct fixture *f = *state;
	struct sealed_listener *agents;
	struct server_health *health;
	char *reply;

	f->cfg.agents.interval_ms = 1000;
	f->cfg.agents.misses = 3;
	agents = agent_listener_create(&f->cfg, test_now_ms, NULL);
	health = server_health_create(&f->cfg, test_now_ms(), NULL, NULL);
	assert_non_null(agents);
	assert_non_null(health);
	f->view.agents = agents;
	f->view.health = health;
	reply = ask(f, "servers");
	assert_contains(reply, "{\"agents\": true, \"servers\": [{\"id\": \"s1\"");
	assert_int_equal(count_of(reply, "\"state\": \"unknown\", \"cause\": \"none\", "
					 "\"last_heartbeat_age_ms\": null"), SERVER_COUNT);
	free(reply);
	f->view.agents = NULL;
	f->view.health = NULL;
	server_health_destroy(health);
	sealed_listener_destroy(agents);
}

/* ---- sessions ---- */

static void test_sessions_list_filter_limit(void **state)
{
	struct fixture *f = *state;
	char *reply;

	for (unsigned i = 0; i < 5; i++) {
		char call_id[32];
		snprintf(call_id, sizeof(call_id), "call-%u@c", i);
		assert_int_equal(invite(f, "192.0.2.10", (uint16_t)(6000 + 2 * i), call_id), (int)(i % SERVER_COUNT));
	}
	test_clock_ms += 1500;
	reply = ask(f, "sessions\n");
	print_message("%s", reply);
	assert_int_equal(count_of(reply, "\"serial\": "), 5);
	assert_contains(reply, "\"proto\": \"sip\", \"key\": \"call-0@c\", \"client\": \"192.0.2.10\", "
			       "\"server\": \"s1\", \"flows\": 0, "
			       "\"confirmed\": false, \"ending\": false, \"age_ms\": 1500, \"idle_ms\": 1500}");
	assert_contains(reply, "\"key\": \"call-4@c\", \"client\": \"192.0.2.10\", \"server\": \"s2\"");
	assert_contains(reply, "], \"total\": 5, \"matched\": 5, \"listed\": 5, \"limit\": 1000, \"truncated\": false}");
	free(reply);

	reply = ask(f, "sessions --server s1");
	assert_int_equal(count_of(reply, "\"serial\": "), 2);
	assert_int_equal(count_of(reply, "\"server\": \"s1\""), 3);   /* two sessions and the filter */
	assert_int_equal(count_of(reply, "\"server\": \"s2\""), 0);
	assert_contains(reply, "\"total\": 5, \"matched\": 2, \"listed\": 2, \"limit\": 1000, \"server\": \"s1\", "
			       "\"truncated\": false}");
	free(reply);

	reply = ask(f, "sessions --limit 2\r\n");
	assert_int_equal(count_of(reply, "\"serial\": "), 2);
	assert_contains(reply, "\"total\": 5, \"matched\": 5, \"listed\": 2, \"limit\": 2, \"truncated\": true, "
			       "\"truncated_by\": \"limit\"}");
	free(reply);

	reply = ask(f, "sessions  --limit 1 --server s3");
	assert_int_equal(count_of(reply, "\"serial\": "), 1);
	assert_contains(reply, "\"key\": \"call-2@c\", \"client\": \"192.0.2.10\", \"server\": \"s3\"");
	assert_contains(reply, "\"matched\": 1, \"listed\": 1, \"limit\": 1, \"server\": \"s3\", \"truncated\": false}");
	free(reply);

	reply = ask(f, "sessions --limit 0");
	assert_contains(reply, "{\"sessions\": [], \"total\": 5, \"matched\": 5, \"listed\": 0, \"limit\": 0, "
			       "\"truncated\": true, \"truncated_by\": \"limit\"}");
	free(reply);

	reply = ask(f, "sessions --limit 100001");
	assert_contains(reply, "{\"ok\": false, \"error\": \"sessions: --limit \\\"100001\\\": not a number 0-100000\"}");
	free(reply);
	reply = ask(f, "sessions --limit -1");
	assert_contains(reply, "\"ok\": false");
	free(reply);
	reply = ask(f, "sessions --limit");
	assert_contains(reply, "{\"ok\": false, \"error\": \"sessions: unexpected \\\"--limit\\\"; "
			       "usage: sessions [--server ID] [--limit N] [--key CALL-ID] [--client ADDR]\"}");
	free(reply);
	reply = ask(f, "sessions --server nope");
	assert_contains(reply, "{\"ok\": false, \"error\": \"no server \\\"nope\\\"; servers: s1, s2, s3\"}");
	free(reply);
	reply = ask(f, "sessions a b c d e f g h i j k l");
	assert_contains(reply, "{\"ok\": false, \"error\": \"sessions: too many arguments\"}");
	free(reply);
}

/* Call-IDs are the client's bytes: quotes, backslashes, tabs and bytes
 * that are not UTF-8 (the SIP parser lets them through; it refuses other
 * controls) must come out escaped, never break the document. */
static void test_sessions_hostile_call_id(void **state)
{
	struct fixture *f = *state;
	static const char hostile[] = "x\"}], \"total\": 0 \\u0000\t\xff\xc3\xa9<b>@evil";
	char *reply;
	invite(f, "192.0.2.10", 5060, hostile);
	reply = ask(f, "sessions");
	print_message("%s", reply);
	assert_contains(reply, "\"key\": \"x\\\"}], \\\"total\\\": 0 \\\\u0000\\u0009\\u00ff\\u00c3\\u00a9<b>@evil\"");
	assert_int_equal(count_of(reply, "\"total\": "), 1);
	free(reply);

	/* An id typed by the operator is escaped in the error too. */
	reply = ask(f, "drain \"\x1b\xff");
	assert_contains(reply, "{\"ok\": false, \"error\": \"no server \\\"\\\"\\u001b\\u00ff\\\"; servers: s1, s2, s3\"}");
	free(reply);
}

/* 100000 sessions (the --limit maximum) list in one bounded document; with
 * keys that escape to twice their size the listing stops at the size cap
 * and still ends as valid JSON. */
static void test_sessions_big_listing(void **state)
{
	struct fixture *f = fixture_new(BIG_SESSIONS);
	char call_id[SESSION_KEY_MAX], client[32], *reply;
	(void)state;

	memset(call_id, '"', SESSION_KEY_MAX - 1);
	for (unsigned i = 0; i < BIG_SESSIONS; i++) {
		int n = snprintf(call_id, sizeof(call_id), "%u@big", i);
		call_id[n] = '"';  /* then quotes to the longest key (escaped: doubled) */
		call_id[SESSION_KEY_MAX - 1] = '\0';
		snprintf(client, sizeof(client), "10.%u.%u.%u", 1 + i / 65536, (i / 256) % 256, i % 256);
		invite(f, client, 5060, call_id);
	}
	reply = ask(f, "sessions --limit 100000");
	print_message("quote keys: %zu bytes\n", strlen(reply));
	assert_true(strlen(reply) <= 32u << 20);
	assert_contains(reply, "\"total\": 100000, \"matched\": 100000, \"listed\": ");
	assert_contains(reply, "\"limit\": 100000, \"truncated\": true, \"truncated_by\": \"size\"}");
	assert_true(count_of(reply, "\"serial\": ") > 50000);
	free(reply);

	reply = ask(f, "sessions");
	assert_int_equal(count_of(reply, "\"serial\": "), 1000);
	assert_contains(reply, "\"total\": 100000, \"matched\": 100000, \"listed\": 1000, \"limit\": 1000, "
			       "\"truncated\": true, \"truncated_by\": \"limit\"}");
	free(reply);
	teardown((void **)&f);

	/* Ordinary Call-IDs: all 100000 fit. */
	f = fixture_new(BIG_SESSIONS);
	for (unsigned i = 0; i < BIG_SESSIONS; i++) {
		snprintf(call_id, sizeof(call_id), "a84b4c76e66710-%u@pc33.atlanta.example.com", i);
		snprintf(client, sizeof(client), "10.%u.%u.%u", 1 + i / 65536, (i / 256) % 256, i % 256);
		invite(f, client, 5060, call_id);
	}
	reply = ask(f, "sessions --limit 100000");
	print_message("ordinary keys: %zu bytes\n", strlen(reply));
	assert_int_equal(count_of(reply, "\"serial\": "), BIG_SESSIONS);
	assert_contains(reply, "\"total\": 100000, \"matched\": 100000, \"listed\": 100000, \"limit\": 100000, "
			       "\"truncated\": false}");
	free(reply);
	teardown((void **)&f);
}

/* ---- drain, undrain ---- */

static void test_drain_undrain(void **state)
{
	struct fixture *f = *state;
	char *reply;

	invite(f, "192.0.2.10", 5060, "a@c");
	invite(f, "192.0.2.10", 5062, "b@c");
	reply = ask(f, "drain s2\n");
	assert_string_equal(reply, "{\"ok\": true, \"server\": \"s2\", \"drained\": true, \"sessions\": 1}\n");
	free(reply);
	assert_int_equal(f->set_drain_calls, 1);
	assert_int_equal(f->last_server, 1);
	assert_true(f->drained[1]);
	assert_false(f->lock_held_in_callback);
	reply = ask(f, "servers");
	assert_contains(reply, "{\"id\": \"s2\", \"address\": \"10.0.0.2\", \"address6\": \"fd00:2::2\", \"mark\": 257, \"table\": 102, "
			       "\"weight\": 1.000, \"weight_factor\": 1.000, \"available\": true, \"drained\": true");
	free(reply);

	reply = ask(f, "undrain s2");
	assert_string_equal(reply, "{\"ok\": true, \"server\": \"s2\", \"drained\": false, \"sessions\": 1}\n");
	free(reply);
	assert_int_equal(f->set_drain_calls, 2);
	assert_false(f->drained[1]);

	reply = ask(f, "drain s9");
	assert_string_equal(reply, "{\"ok\": false, \"error\": \"no server \\\"s9\\\"; servers: s1, s2, s3\"}\n");
	free(reply);
	reply = ask(f, "undrain");
	assert_string_equal(reply, "{\"ok\": false, \"error\": \"usage: undrain ID\"}\n");
	free(reply);
	reply = ask(f, "drain s1 s2");
	assert_string_equal(reply, "{\"ok\": false, \"error\": \"usage: drain ID\"}\n");
	free(reply);
	assert_int_equal(f->set_drain_calls, 2);

	f->fail_set_drain = true;
	reply = ask(f, "drain s3");
	assert_string_equal(reply, "{\"ok\": false, \"error\": \"drain s3: the stub refuses\"}\n");
	free(reply);
	assert_int_equal(f->last_server, 2);
	assert_false(f->drained[2]);
}

static void test_null_callbacks(void **state)
{
	struct fixture *f = *state;
	char *reply;
	f->view.set_drain = NULL;
	f->view.is_drained = NULL;
	reply = ask(f, "drain s1");
	assert_string_equal(reply, "{\"ok\": false, \"error\": \"drain: not supported by this sarad\"}\n");
	free(reply);
	reply = ask(f, "undrain s1");
	assert_string_equal(reply, "{\"ok\": false, \"error\": \"undrain: not supported by this sarad\"}\n");
	free(reply);
	reply = ask(f, "servers");
	assert_int_equal(count_of(reply, "\"drained\": null"), SERVER_COUNT);
	free(reply);
	assert_int_equal(f->set_drain_calls, 0);

	/* Without an engine nothing but status and ping makes sense. */
	f->view.engine = NULL;
	reply = ask(f, "sessions");
	assert_string_equal(reply, "{\"ok\": false, \"error\": \"sessions: no engine\"}\n");
	free(reply);
}

/* ---- status: every counter from the one table ---- */

/* The daemon's counters as sarad keeps them: a set of its scope. */
static void stub_visit_daemon_counters(void *ctx, enum counters_filter filter, counter_visit_fn fn, void *fn_ctx)
{
	struct counter_set set = { 0 };
	(void)ctx;
	counter_add(&set, COUNTER_CONFIG_RELOADS, 2);
	counters_visit(&set, COUNTER_SCOPE_DAEMON, filter, fn, fn_ctx);
}

static void test_status_counters(void **state)
{
	static const char not_sip[] = "this is not a SIP message\r\n\r\n";
	struct fixture *f = *state;
	struct verdict_counts verdicts = { 0 };
	uint8_t packet[256];
	struct verdict v;
	char *reply;
	size_t n;

	assert_int_equal(invite(f, "192.0.2.10", 5060, "a@c"), 0);
	n = packet_build_udp(AF_INET, "192.0.2.11", 5060, VIP4, SIP_PORT, not_sip, strlen(not_sip), packet,
			     sizeof(packet));
	engine_packet(f->engine, packet, n, test_clock_ms, &v);
	verdicts.by_action_reason[VERDICT_ACCEPT][REASON_SESSION] = 1;
	verdicts.by_action_reason[VERDICT_DROP][REASON_MALFORMED] = 4;
	verdicts.accepted_unmarked = 3;
	f->view.verdicts = &verdicts;
	f->view.visit_daemon_counters = stub_visit_daemon_counters;
	reply = ask(f, "status\n");
	assert_contains(reply, "\"engine\": {\"packets\": 2, \"bytes\": ");
	assert_contains(reply, "\"flows_capacity\": 128, \"sessions_in_use\": 1, \"sessions_capacity\": 64, ");
	/* Events are listed once they happened, totals always. */
	assert_contains(reply, "\"counters\": {\"sip_not_sip\": 1}");
	assert_contains(reply, "\"admission_admitted_new_off\": 0, \"admission_admitted_new_normal\": 1, ");
	assert_contains(reply, "\"admission_thresholds_reset\": 0, \"admission_answer_waits_expired\": 0}}");
	assert_contains(reply, "\"verdicts\": {\"accept\": {\"session\": 1}, \"drop\": {\"malformed\": 4}, "
			       "\"accepted_unmarked\": 3, \"connmarks_set\": 0}");
	assert_contains(reply, "\"announcements\": {\"enabled\": false}");
	assert_contains(reply, "\"daemon\": {\"config_reloads\": 2}");
	free(reply);
}

/* ---- other commands ---- */

static void test_unknown_and_old_commands(void **state)
{
	struct fixture *f = *state;
	char *reply = ask(f, "bogus\n");
	assert_string_equal(reply, "{\"error\": \"unknown command\", \"commands\": [\"status\", \"servers\", "
				   "\"sessions\", \"drain\", \"undrain\", \"refused\", \"ping\"]}\n");
	free(reply);
	reply = ask(f, " \t\r\n");
	assert_contains(reply, "{\"error\": \"empty command\", \"commands\": [");
	free(reply);
	reply = ask(f, "ping\n");
	assert_string_equal(reply, "{\"pong\": true}\n");
	free(reply);
	/* Arguments are checked against the command table, for every command. */
	reply = ask(f, "ping now\n");
	assert_string_equal(reply, "{\"ok\": false, \"error\": \"usage: ping\"}\n");
	free(reply);
	reply = ask(f, "sessions --limit 1 a b c d e f g h i j\n");
	assert_string_equal(reply, "{\"ok\": false, \"error\": \"sessions: too many arguments\"}\n");
	free(reply);
	reply = ask(f, "drain\n");
	assert_string_equal(reply, "{\"ok\": false, \"error\": \"usage: drain ID\"}\n");
	free(reply);
	reply = ask(f, "status\n");
	assert_contains(reply, "\"cluster\": \"control-test\"");
	assert_contains(reply, "\"sessions_in_use\": 0");
	free(reply);
}

/* ---- sessions --key, --client ---- */

/* One UDP datagram from src:sport to the VIP's dport. */
static struct verdict send_udp(struct fixture *f, const char *src, uint16_t sport, uint16_t dport, const char *payload,
			       size_t len)
{
	static uint8_t packet[TEXT_MAX + 100];
	struct verdict v;
	size_t n = packet_build_udp(AF_INET, src, sport, VIP4, dport, payload, len, packet, sizeof(packet));
	assert_true(n > 0);
	engine_packet(f->engine, packet, n, test_clock_ms, &v);
	return v;
}

/* An INVITE offering audio at client:rtp: the engine predicts the RTP and
 * RTCP flows from that source. */
static void invite_with_media(struct fixture *f, const char *client, const char *call_id, uint16_t rtp)
{
	char sdp[512], text[TEXT_MAX];
	int body = snprintf(sdp, sizeof(sdp),
			    "v=0\r\no=a 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %u RTP/AVP 0\r\n",
			    client, client, rtp);
	int len = snprintf(text, sizeof(text),
			   "INVITE sip:bob@sara.example SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bK-m\r\n"
			   "Max-Forwards: 70\r\n"
			   "From: <sip:alice@client.example>;tag=77\r\n"
			   "To: <sip:bob@sara.example>\r\n"
			   "Call-ID: %s\r\n"
			   "CSeq: 1 INVITE\r\n"
			   "Content-Type: application/sdp\r\n"
			   "Content-Length: %d\r\n\r\n%s",
			   client, call_id, body, sdp);
	struct verdict v = send_udp(f, client, SIP_PORT, SIP_PORT, text, (size_t)len);
	assert_int_equal(v.reason, REASON_SESSION);
}

static void test_session_by_key(void **state)
{
	static const char rtp[12 + 160] = { (char)0x80, 0 };
	struct fixture *f = *state;
	char *reply;

	invite(f, "192.0.2.10", 5062, "other@c");                     /* s1 */
	invite_with_media(f, "192.0.2.20", "media-1@c", 40000);       /* s2 */
	test_clock_ms += 1000;
	for (int i = 0; i < 3; i++)
		assert_int_equal(send_udp(f, "192.0.2.20", 40000, 20000, rtp, sizeof(rtp)).reason, REASON_SESSION);
	test_clock_ms += 500;
	reply = ask(f, "sessions --key media-1@c\n");
	print_message("%s", reply);
	assert_contains(reply, "{\"key\": \"media-1@c\", \"matched\": 1, \"sessions\": [{\"serial\": 2, \"proto\": \"sip\", "
			       "\"key\": \"media-1@c\", \"client\": \"192.0.2.20\", \"server\": \"s2\", ");
	/* Which server and why, as it stood at the pick. */
	assert_contains(reply, "\"pick\": {\"how\": \"selected\", \"algorithm\": \"round-robin\", \"load\": null, "
			       "\"weight\": 1.000, \"sessions\": 0, \"from_server\": null, \"age_ms\": 1500}");
	/* The media flow with its packets, the signalling flow it shares. */
	assert_contains(reply, "{\"kind\": \"secondary\", \"transport\": \"udp\", \"src\": \"192.0.2.20:40000\", "
			       "\"dst\": \"198.18.10.1:20000\", \"match\": \"exact\", \"server\": \"s2\", "
			       "\"state\": \"established\", \"packets\": 3, \"idle_ms\": 500, \"shared\": false}");
	assert_contains(reply, "{\"kind\": \"signalling\", \"transport\": \"udp\", \"src\": \"192.0.2.20:5060\", "
			       "\"dst\": \"198.18.10.1:5060\", \"match\": \"exact\", \"server\": \"s2\", "
			       "\"state\": \"established\", \"packets\": 1, \"idle_ms\": 1500, \"shared\": true}");
	/* The RTCP prediction, not seen yet: from its source to any VIP port. */
	assert_contains(reply, "{\"kind\": \"announced\", \"transport\": \"udp\", \"src\": \"192.0.2.20:40001\", "
			       "\"dst\": \"*\", \"match\": \"from-source\", \"server\": \"s2\", \"state\": \"new\", "
			       "\"packets\": 0, ");
	assert_int_equal(count_of(reply, "\"kind\": "), 4);  /* RTP and RTCP predictions, the RTP flow, signalling */
	assert_contains(reply, "\"flows_listed\": 4, \"flows_total\": 4}]}");
	free(reply);

	reply = ask(f, "sessions --key nobody@c");
	assert_string_equal(reply, "{\"key\": \"nobody@c\", \"matched\": 0, \"sessions\": []}\n");
	free(reply);
	reply = ask(f, "sessions --key media-1@c --server s2");
	assert_string_equal(reply, "{\"ok\": false, \"error\": \"sessions: --key names one session; it takes no other "
				   "option\"}\n");
	free(reply);
	reply = ask(f, "sessions --key");
	assert_contains(reply, "{\"ok\": false, \"error\": \"sessions: unexpected \\\"--key\\\"; ");
	free(reply);
}

static void test_sessions_of_a_client(void **state)
{
	struct fixture *f = *state;
	char *reply;

	invite(f, "192.0.2.10", 5060, "a@c");
	invite(f, "192.0.2.20", 5060, "b@c");
	invite(f, "192.0.2.10", 5062, "c@c");
	reply = ask(f, "sessions --client 192.0.2.10");
	assert_int_equal(count_of(reply, "\"serial\": "), 2);
	assert_int_equal(count_of(reply, "\"client\": \"192.0.2.10\""), 3);  /* two sessions and the filter */
	assert_int_equal(count_of(reply, "192.0.2.20"), 0);
	assert_contains(reply, "\"total\": 3, \"matched\": 2, \"listed\": 2, \"limit\": 1000, \"client\": \"192.0.2.10\", "
			       "\"truncated\": false}");
	free(reply);
	reply = ask(f, "sessions --client 192.0.2.20 --server s1");
	assert_contains(reply, "\"matched\": 0, \"listed\": 0");
	free(reply);
	reply = ask(f, "sessions --client 192.0.2.20 --server s2");
	assert_contains(reply, "\"key\": \"b@c\"");
	assert_contains(reply, "\"matched\": 1, \"listed\": 1");
	free(reply);
	reply = ask(f, "sessions --client 192.0.2.300");
	assert_string_equal(reply, "{\"ok\": false, \"error\": \"sessions: --client \\\"192.0.2.300\\\": not an IPv4 or "
				   "IPv6 address\"}\n");
	free(reply);
}

/* ---- refused ---- */

static struct verdict refused_verdict(const char *client, uint16_t port, enum verdict_reason reason,
				      enum verdict_action action, enum verdict_reply reply_kind)
{
	struct verdict v = { .action = (uint8_t)action, .reason = (uint8_t)reason, .reply = (uint8_t)reply_kind };
	struct netaddr a;
	parse_address(client, &a);
	v.key.family = a.family;
	v.key.l4 = L4_UDP;
	v.key.sport = port;
	v.key.dport = SIP_PORT;
	memcpy(v.key.src, a.bytes, 16);
	parse_address(VIP4, &a);
	memcpy(v.key.dst, a.bytes, 16);
	return v;
}

static void test_refused(void **state)
{
	struct fixture *f = *state;
	struct refusal_log *log = malloc(sizeof(*log));
	struct verdict v;
	char *reply;

	assert_non_null(log);
	reply = ask(f, "refused");
	assert_string_equal(reply, "{\"ok\": false, \"error\": \"refused: this sarad records no refusals\"}\n");
	free(reply);
	refusal_log_init(log);
	f->view.refusals = log;

	/* 90 s ago: outside the default minute, inside --since 120. */
	v = refused_verdict("192.0.2.30", 5060, REASON_TABLE_FULL, VERDICT_ACCEPT, REPLY_NONE);
	refusal_log_record(log, &v, test_clock_ms - 90000, 1700000000000ull);
	v = refused_verdict("192.0.2.31", 5070, REASON_ADMISSION, VERDICT_DROP, REPLY_SIP_503);
	refusal_log_record(log, &v, test_clock_ms - 2000, 1700000088123ull);
	v = refused_verdict("192.0.2.32", 5080, REASON_MALFORMED, VERDICT_DROP, REPLY_NONE);
	refusal_log_record(log, &v, test_clock_ms - 1000, 1700000089000ull);

	reply = ask(f, "refused\n");
	print_message("%s", reply);
	assert_string_equal(reply,
			    "{\"since_s\": 60, \"counts\": {\"malformed\": 1, \"table_full\": 0, \"no_server\": 0, "
			    "\"admission\": 1}, \"total\": 2, \"refusals\": ["
			    "{\"time\": \"2023-11-14T22:14:49.000Z\", \"age_ms\": 1000, \"transport\": \"udp\", "
			    "\"client\": \"192.0.2.32:5080\", \"vip\": \"198.18.10.1:5060\", \"reason\": \"malformed\", "
			    "\"action\": \"dropped\", \"reply\": null}, "
			    "{\"time\": \"2023-11-14T22:14:48.123Z\", \"age_ms\": 2000, \"transport\": \"udp\", "
			    "\"client\": \"192.0.2.31:5070\", \"vip\": \"198.18.10.1:5060\", \"reason\": \"admission\", "
			    "\"action\": \"dropped\", \"reply\": \"sip_503\"}], \"listed\": 2, \"not_listed\": 0}\n");
	free(reply);
	reply = ask(f, "refused --since 120");
	assert_contains(reply, "\"counts\": {\"malformed\": 1, \"table_full\": 1, \"no_server\": 0, \"admission\": 1}");
	assert_contains(reply, "\"client\": \"192.0.2.30:5060\", \"vip\": \"198.18.10.1:5060\", \"reason\": \"table_full\", "
			       "\"action\": \"accepted_unmarked\", \"reply\": null}], \"listed\": 3");
	free(reply);
	reply = ask(f, "refused --since 1");
	assert_contains(reply, "\"total\": 1, \"refusals\": [{");
	assert_contains(reply, "\"listed\": 1, \"not_listed\": 0}");
	free(reply);
	reply = ask(f, "refused --since 0");
	assert_string_equal(reply, "{\"ok\": false, \"error\": \"refused: --since \\\"0\\\": not a number of seconds "
				   "1-300\"}\n");
	free(reply);
	reply = ask(f, "refused --since 301");
	assert_contains(reply, "\"ok\": false");
	free(reply);
	reply = ask(f, "refused --since 1x");
	assert_contains(reply, "\"ok\": false");
	free(reply);
	f->view.refusals = NULL;
	refusal_log_destroy(log);
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_servers_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_servers_with_agents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_list_filter_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_hostile_call_id, setup, teardown),
		cmocka_unit_test(test_sessions_big_listing),
		cmocka_unit_test_setup_teardown(test_drain_undrain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_callbacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_and_old_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_by_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_of_a_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
