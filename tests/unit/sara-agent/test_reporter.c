/* test_reporter.c - heartbeats and load reports built from a probe result
 * and a load sample, sent through the sealed channel to a loopback
 * receiver and decoded back with the engine's agent_msg decoders; the
 * heartbeat's flag (up, app down after N failures, drain) and the log line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/server_health.h"
#include "io/sockaddr.h"
#include "sara-agent/reporter.h"

struct link {
	struct sealed_sender sender;
	struct sealed_receiver receiver;
	struct wire_header hdr;      /* of the last message received */
	uint8_t body[WIRE_MAX_BODY];
	unsigned received;
};

static void on_accept(void *ctx, const struct sealed_message *msg)
{
	struct link *l = ctx;
	l->hdr = msg->hdr;
	memcpy(l->body, msg->body, msg->hdr.body_len);
	l->received++;
}

static int setup(void **state)
{
	struct link *l = calloc(1, sizeof(*l));
	struct endpoint at = { .addr = { .family = NETADDR_IPV4, .bytes = { 127, 0, 0, 1 } } };
	struct wire_key key;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char err[128];
	assert_non_null(l);
	memset(key.bytes, 0x42, sizeof(key.bytes));
	assert_true(sealed_receiver_open(&l->receiver, &at, &key, 5000, err, sizeof(err)));
	assert_int_equal(getsockname(l->receiver.fd, (struct sockaddr *)&ss, &len), 0);
	assert_true(endpoint_from_sockaddr(&ss, &at));
	assert_true(sealed_sender_open(&l->sender, &at, &key, 3, err, sizeof(err)));
	*state = l;
	return 0;
}

static int teardown(void **state)
{
	struct link *l = *state;
	sealed_sender_close(&l->sender);
	sealed_receiver_close(&l->receiver);
	free(l);
	return 0;
}

/* The one message sent since the last call. */
static void receive_one(struct link *l, uint8_t type)
{
	struct sealed_receiver_handler h = { .accept = on_accept, .ctx = l };
	char err[128];
	unsigned before = l->received;
	for (int i = 0; i < 200 && l->received == before; i++) {
		assert_true(sealed_receiver_drain(&l->receiver, 1, &h, err, sizeof(err)) >= 0);
		if (l->received == before)
			usleep(1000);
	}
	assert_int_equal(l->received, before + 1);
	assert_int_equal(l->hdr.type, type);
	assert_int_equal(l->hdr.sender, 3);
}

static void test_load_report_decodes_back(void **state)
{
	struct link *l = *state;
	struct reporter r;
	double sample[AGENT_LOAD_COMPONENTS] = { 0.25, 0.5, NAN, 0.0, 1.0 };
	struct agent_load load, got;
	reporter_init(&r, &l->sender, 3, SERVER_HEALTH_COUNT_ALL, 2);
	load = reporter_load(&r, sample);
	assert_true(reporter_send_load(&r, &load));
	receive_one(l, WIRE_LOAD);
	assert_int_equal(agent_load_decode(l->body, l->hdr.body_len, &got), COUNTER_NONE);
	assert_int_equal(got.host_id, 3);
	assert_int_equal(got.fixed[AGENT_LOAD_CPU], 2500);
	assert_int_equal(got.fixed[AGENT_LOAD_MEMORY], 5000);
	assert_int_equal(got.fixed[AGENT_LOAD_NETWORK], AGENT_LOAD_SCALE);  /* unreadable: fully loaded */
	assert_int_equal(got.fixed[AGENT_LOAD_IO], 0);
	assert_int_equal(got.fixed[AGENT_LOAD_BACKLOG], AGENT_LOAD_SCALE);
	assert_int_equal(l->sender.sent, 1);
}

static void test_uncounted_components_are_not_reported(void **state)
{
	struct link *l = *state;
	struct reporter r;
	double sample[AGENT_LOAD_COMPONENTS] = { 0.25, 0.5, 0.75, 0.1, 0.2 };
	struct agent_load load, got;
	reporter_init(&r, &l->sender, 3, 1u << AGENT_LOAD_CPU | 1u << AGENT_LOAD_BACKLOG, 2);
	load = reporter_load(&r, sample);
	assert_true(reporter_send_load(&r, &load));
	receive_one(l, WIRE_LOAD);
	assert_int_equal(agent_load_decode(l->body, l->hdr.body_len, &got), COUNTER_NONE);
	assert_int_equal(got.fixed[AGENT_LOAD_CPU], 2500);
	assert_int_equal(got.fixed[AGENT_LOAD_MEMORY], AGENT_LOAD_NOT_REPORTED);
	assert_int_equal(got.fixed[AGENT_LOAD_NETWORK], AGENT_LOAD_NOT_REPORTED);
	assert_int_equal(got.fixed[AGENT_LOAD_IO], AGENT_LOAD_NOT_REPORTED);
	assert_int_equal(got.fixed[AGENT_LOAD_BACKLOG], 2000);
}

static void test_heartbeat_flags(void **state)
{
	struct link *l = *state;
	struct reporter r;
	struct agent_heartbeat hb, got;
	uint16_t first;
	reporter_init(&r, &l->sender, 3, SERVER_HEALTH_COUNT_ALL, 2);
	first = r.beat_seq;
	hb = reporter_heartbeat(&r, true, 1000);
	assert_true(reporter_send_heartbeat(&r, &hb));
	receive_one(l, WIRE_HEARTBEAT);
	assert_int_equal(agent_heartbeat_decode(l->body, l->hdr.body_len, &got), COUNTER_NONE);
	assert_int_equal(got.host_id, 3);
	assert_int_equal(got.seq, first);
	assert_int_equal(got.flag, AGENT_UP);
	assert_int_equal(got.timestamp, 1000);
	/* app down only after two failed probes in a row */
	assert_int_equal(reporter_heartbeat(&r, false, 1001).flag, AGENT_UP);
	hb = reporter_heartbeat(&r, false, 1002);
	assert_int_equal(hb.flag, AGENT_APP_DOWN);
	assert_int_equal(hb.seq, (uint16_t)(first + 2));
	assert_true(reporter_send_heartbeat(&r, &hb));
	receive_one(l, WIRE_HEARTBEAT);
	assert_int_equal(agent_heartbeat_decode(l->body, l->hdr.body_len, &got), COUNTER_NONE);
	assert_int_equal(got.flag, AGENT_APP_DOWN);
	assert_int_equal(reporter_heartbeat(&r, true, 1003).flag, AGENT_UP);
	/* a drain announces the planned failure, whatever the probe says */
	r.draining = true;
	r.drain_at_s = 1100;
	hb = reporter_heartbeat(&r, false, 1004);
	assert_int_equal(hb.flag, AGENT_DRAIN);
	assert_int_equal(hb.timestamp, 1100);
	assert_true(reporter_send_heartbeat(&r, &hb));
	receive_one(l, WIRE_HEARTBEAT);
	assert_int_equal(agent_heartbeat_decode(l->body, l->hdr.body_len, &got), COUNTER_NONE);
	assert_int_equal(got.flag, AGENT_DRAIN);
	assert_int_equal(got.timestamp, 1100);
}

static void test_send_failure_is_said(void **state)
{
	struct link *l = *state;
	struct reporter r;
	struct agent_heartbeat hb;
	reporter_init(&r, &l->sender, 3, SERVER_HEALTH_COUNT_ALL, 2);
	hb = reporter_heartbeat(&r, true, 1000);
	close(l->sender.fd);
	l->sender.fd = -1;
	assert_false(reporter_send_heartbeat(&r, &hb));
	assert_int_equal(l->sender.send_errors, 1);
}

static void test_log_line(void **state)
{
	struct link *l = *state;
	struct reporter r;
	struct agent_heartbeat hb = { .host_id = 3, .seq = 7, .flag = AGENT_UP, .timestamp = 1700000000 };
	double sample[AGENT_LOAD_COMPONENTS] = { 0.25, NAN, 0.5, 0.0, 1.0 };
	char line[512];
	reporter_init(&r, &l->sender, 3, SERVER_HEALTH_COUNT_ALL & ~(1u << AGENT_LOAD_IO), 2);
	reporter_format(&r, &hb, "ok", sample, true, line, sizeof(line));
	assert_string_equal(line, "heartbeat host 3 seq 7 flag up timestamp 1700000000 probe ok; load cpu 0.2500 "
				  "memory unreadable network 0.5000 io - backlog 1.0000");
	reporter_format(&r, &hb, "failed", sample, false, line, sizeof(line));
	assert_non_null(strstr(line, "probe failed;"));
	assert_non_null(strstr(line, "backlog 1.0000 (send failed)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load_report_decodes_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uncounted_components_are_not_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heartbeat_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_failure_is_said, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_line, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
