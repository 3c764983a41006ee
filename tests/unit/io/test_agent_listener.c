/* test_agent_listener.c - node-agent reports over a loopback sealed
 * receiver, checked by the listener: sealed heartbeats and load reports
 * reach its sinks (here a server_health, as in sarad); forged, replayed,
 * stale, malformed and unknown-host ones are rejected and counted by
 * reason; the control socket's status document lists every server's
 * health. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/agent_listener.h"
#include "engine/agent_msg.h"
#include "io/control.h"
#include "engine/engine.h"
#include "io/log.h"
#include "dpi/span.h"
#include "engine/server_health.h"
#include "engine/wire.h"

#define INTERVAL_MS 100
#define MISSES 3

struct fixture {
	struct sara_config cfg;
	struct sealed_listener *listener;
	struct sealed_receiver receiver;
	struct server_health *health;   /* what the sinks feed */
	struct wire_key key;
	uint16_t port;
	int sender;
	uint64_t wire_seq;
	uint16_t beat_seq[2];
};

static uint64_t test_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void parse_address(const char *text, struct netaddr *out)
{
	assert_true(netaddr_parse(span_make(text, strlen(text)), out));
}

static void feed_heartbeat(void *ctx, unsigned server, const struct agent_heartbeat *hb)
{
	struct fixture *f = ctx;
	server_health_heartbeat(f->health, server, hb, test_now_ms(), wall_ms());
}

static void feed_load(void *ctx, unsigned server, const struct agent_load *load)
{
	struct fixture *f = ctx;
	server_health_load_report(f->health, server, load, test_now_ms());
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];
	assert_non_null(f);
	log_open("test", false, false);
	sara_config_defaults(&f->cfg);
	snprintf(f->cfg.name, sizeof(f->cfg.name), "agent-listener-test");
	f->cfg.vip_count = 1;
	parse_address("198.18.77.20", &f->cfg.vips[0]);
	f->cfg.server_count = 2;
	for (unsigned i = 0; i < 2; i++) {
		snprintf(f->cfg.servers[i].id, sizeof(f->cfg.servers[i].id), "s%u", i + 1);
		parse_address(i == 0 ? "198.18.2.11" : "198.18.2.12", &f->cfg.servers[i].address);
		f->cfg.servers[i].mark = i + 1;
		f->cfg.servers[i].table = 101 + i;
		f->cfg.servers[i].weight = 1.0;
	}
	f->cfg.agents.interval_ms = INTERVAL_MS;
	f->cfg.agents.misses = MISSES;
	f->cfg.limits.flows = 256;
	f->cfg.limits.sessions = 32;
	f->cfg.limits.tcp_streams = 16;
	f->cfg.limits.fragments = 8;
	for (unsigned i = 0; i < WIRE_KEY_SIZE; i++)
		f->key.bytes[i] = (uint8_t)(i * 11 + 3);
	/* A loopback port unlikely to be taken; try a few. */
	f->receiver.fd = -1;
	for (unsigned attempt = 0; attempt < 20 && f->receiver.fd < 0; attempt++) {
		f->port = (uint16_t)(40000 + (getpid() * 17 + attempt * 101) % 20000);
		parse_address("127.0.0.1", &f->cfg.agents.listen.addr);
		f->cfg.agents.listen.port = f->port;
		(void)sealed_receiver_open(&f->receiver, &f->cfg.agents.listen, &f->key, AGENT_MAX_SKEW_MS, err,
					   sizeof(err));
	}
	assert_true(f->receiver.fd >= 0);
	f->health = server_health_create(&f->cfg, test_now_ms(), NULL, NULL);
	assert_non_null(f->health);
	struct agent_listener_sink sink = { .heartbeat = feed_heartbeat, .load = feed_load, .ctx = f };
	f->listener = agent_listener_create(&f->cfg, test_now_ms, &sink);
	assert_non_null(f->listener);
	f->sender = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(f->sender >= 0);
	f->wire_seq = wall_ms() * 1000u;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	close(f->sender);
	sealed_listener_destroy(f->listener);
	sealed_receiver_close(&f->receiver);
	server_health_destroy(f->health);
	free(f);
	log_close();
	return 0;
}

static void send_raw(struct fixture *f, const uint8_t *msg, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(f->port) };
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(sendto(f->sender, msg, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
}

/* Seals body as a message of type from sender; returns its length. */
static size_t seal(struct fixture *f, const struct wire_key *key, uint8_t type, uint32_t sender, uint64_t time_ms,
		   const uint8_t *body, size_t body_len, uint8_t *msg, size_t cap)
{
	struct wire_header hdr;
	size_t len;
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.body_len = (uint16_t)body_len;
	hdr.sender = sender;
	hdr.seq = ++f->wire_seq;
	hdr.time_ms = time_ms;
	len = wire_seal(key, &hdr, body, msg, cap);
	assert_true(len > 0);
	return len;
}

/* A sealed UP heartbeat of host (1-based) from sender. */
static size_t heartbeat(struct fixture *f, uint32_t sender, uint32_t host, uint8_t *msg, size_t cap)
{
	struct agent_heartbeat hb = { .host_id = host, .flag = AGENT_UP, .timestamp = (uint32_t)(wall_ms() / 1000u) };
	uint8_t body[AGENT_HEARTBEAT_SIZE];
	if (host >= 1 && host <= 2)
		hb.seq = f->beat_seq[host - 1]++;
	assert_int_equal(agent_heartbeat_encode(&hb, body, sizeof(body)), AGENT_HEARTBEAT_SIZE);
	return seal(f, &f->key, WIRE_HEARTBEAT, sender, wall_ms(), body, sizeof(body), msg, cap);
}

static void send_heartbeat(struct fixture *f, uint32_t host)
{
	uint8_t msg[WIRE_MAX_MESSAGE];
	size_t len = heartbeat(f, host, host, msg, sizeof(msg));
	send_raw(f, msg, len);
}

static void drain(struct fixture *f, int expected)
{
	struct sealed_receiver_handler h = sealed_listener_handler(f->listener);
	char err[256];
	int handled = 0;
	for (int i = 0; i < 400 && handled < expected; i++) {
		int n = sealed_receiver_drain(&f->receiver, 256, &h, err, sizeof(err));
		assert_true(n >= 0);
		handled += n;
		if (handled < expected)
			usleep(10000);
	}
	assert_int_equal(handled, expected);
}

struct reject_find { const char *name; uint64_t value; };

static void find_counter(void *ctx, const struct counter_def *def, uint64_t value)
{
	struct reject_find *r = ctx;
	if (strcmp(r->name, def->name) == 0)
		r->value = value;
}

/* The reject counter called name, as the status document lists it. */
static uint64_t rejects(struct fixture *f, const char *name)
{
	struct reject_find r = { name, 0 };
	struct counter_set set;
	sealed_listener_get_counters(f->listener, &set);
	counters_visit(&set, COUNTER_SCOPE_AGENT_REJECT, COUNTERS_REPORTED, find_counter, &r);
	return r.value;
}

/* A counter of the listener's own (received, rejected...). */
static uint64_t counter(struct fixture *f, enum counter_id id)
{
	struct counter_set set;
	sealed_listener_get_counters(f->listener, &set);
	return counter_get(&set, id);
}

static void test_accepts_and_rejects(void **state)
{
	struct fixture *f = *state;
	struct server_health_info info;
	struct wire_key wrong;
	struct agent_load load = { .host_id = 1, .fixed = { 5000, 2000, 1000, 0, 3000 } };
	uint8_t msg[WIRE_MAX_MESSAGE], again[WIRE_MAX_MESSAGE], body[64];
	size_t len, body_len;
	static const uint8_t garbage[] = "not a sara message at all, just bytes";

	len = heartbeat(f, 1, 1, msg, sizeof(msg));
	memcpy(again, msg, len);
	send_raw(f, msg, len);                          /* 1 accepted */
	send_raw(f, again, len);                        /* 2 the same datagram: replayed */
	memcpy(&wrong, &f->key, sizeof(wrong));
	wrong.bytes[0] ^= 0xff;
	f->key = wrong;
	len = heartbeat(f, 1, 1, msg, sizeof(msg));
	send_raw(f, msg, len);                          /* 3 wrong key: forged */
	wrong.bytes[0] ^= 0xff;
	f->key = wrong;
	send_raw(f, garbage, sizeof(garbage));          /* 4 not ours */
	len = heartbeat(f, 9, 9, msg, sizeof(msg));
	send_raw(f, msg, len);                          /* 5 authentic, no such server */
	len = heartbeat(f, 1, 2, msg, sizeof(msg));
	send_raw(f, msg, len);                          /* 6 s1's key claims s2's heartbeat */
	body_len = agent_heartbeat_encode(&(struct agent_heartbeat){ .host_id = 1 }, body, sizeof(body));
	len = seal(f, &f->key, WIRE_HEARTBEAT, 1, wall_ms() - 60000, body, body_len, msg, sizeof(msg));
	send_raw(f, msg, len);                          /* 7 a minute old: stale */
	len = seal(f, &f->key, WIRE_HEARTBEAT, 1, wall_ms(), body, body_len - 1, msg, sizeof(msg));
	send_raw(f, msg, len);                          /* 8 a short heartbeat body */
	len = seal(f, &f->key, WIRE_ANNOUNCE, 1, wall_ms(), body, body_len, msg, sizeof(msg));
	send_raw(f, msg, len);                          /* 9 authentic, but not an agent message */
	body_len = agent_load_encode(&load, body, sizeof(body));
	len = seal(f, &f->key, WIRE_LOAD, 1, wall_ms(), body, body_len, msg, sizeof(msg));
	send_raw(f, msg, len);                          /* 10 a load report: accepted */
	drain(f, 10);

	assert_int_equal(counter(f, COUNTER_AGENTS_RECEIVED), 10);
	assert_int_equal(counter(f, COUNTER_AGENTS_HEARTBEATS), 1);
	assert_int_equal(counter(f, COUNTER_AGENTS_LOADS), 1);
	assert_int_equal(counter(f, COUNTER_AGENTS_REJECTED), 8);
	assert_int_equal(rejects(f, "wire_replayed"), 1);
	assert_int_equal(rejects(f, "wire_forged"), 1);
	assert_int_equal(rejects(f, "wire_bad_magic") + rejects(f, "wire_truncated"), 1);
	assert_int_equal(rejects(f, "agent_unknown_host"), 1);
	assert_int_equal(rejects(f, "agent_host_mismatch"), 1);
	assert_int_equal(rejects(f, "wire_stale"), 1);
	assert_int_equal(rejects(f, "agent_truncated"), 1);
	assert_int_equal(rejects(f, "not_an_agent_message"), 1);

	assert_true(server_health_get(f->health, 0, test_now_ms(), &info));
	assert_true(info.heard);
	assert_int_equal(info.heartbeats, 1);
	assert_int_equal(info.state, SERVER_UP);
	assert_true(info.has_load);
	assert_true(info.load > 0.4 && info.load < 0.6);  /* 0.9 * 0.5 + 0.1 * 0.285 */
	assert_true(server_health_get(f->health, 1, test_now_ms(), &info));
	assert_false(info.heard);
}

/* A datagram longer than any sealed message: counted as oversized, and
 * nothing reaches the sinks. */
static void test_oversized(void **state)
{
	struct fixture *f = *state;
	struct server_health_info info;
	static uint8_t big[WIRE_MAX_MESSAGE + 100];
	memset(big, 0x5a, sizeof(big));
	send_raw(f, big, sizeof(big));
	drain(f, 1);
	assert_int_equal(counter(f, COUNTER_AGENTS_RECEIVED), 1);
	assert_int_equal(counter(f, COUNTER_AGENTS_REJECTED), 1);
	assert_int_equal(counter(f, COUNTER_AGENTS_HEARTBEATS) + counter(f, COUNTER_AGENTS_LOADS), 0);
	assert_int_equal(rejects(f, "oversized"), 1);
	assert_true(server_health_get(f->health, 0, test_now_ms(), &info));
	assert_false(info.heard);
}

static void test_status_lists_servers(void **state)
{
	struct fixture *f = *state;
	struct control_view view;
	char *json;

	send_heartbeat(f, 1);
	drain(f, 1);
	memset(&view, 0, sizeof(view));
	view.cluster = "agent-listener-test";
	view.now_ms = test_now_ms;
	view.started_ms = test_now_ms();
	view.agents = f->listener;
	view.agents_listen = "127.0.0.1:1";
	view.health = f->health;
	json = control_status_json(&view);
	assert_non_null(json);
	print_message("%s", json);
	assert_non_null(strstr(json, "\"agents\": {\"enabled\": true, \"listen\": \"127.0.0.1:1\", \"received\": 1, "
				     "\"heartbeats\": 1"));
	assert_non_null(strstr(json, "\"servers\": [{\"id\": \"s1\", \"state\": \"up\", \"cause\": \"none\", "
				     "\"heard\": true, \"last_heartbeat_age_ms\": "));
	assert_non_null(strstr(json, "{\"id\": \"s2\", \"state\": \"unknown\", \"cause\": \"none\", \"heard\": false"));
	assert_non_null(strstr(json, "\"weight_factor\": 1.000, \"load\": null"));
	free(json);
	view.agents = NULL;
	view.health = NULL;
	json = control_status_json(&view);
	assert_non_null(json);
	assert_non_null(strstr(json, "\"agents\": {\"enabled\": false}"));
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accepts_and_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_lists_servers, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
