/* test_agent_msg.c - unit tests for the agent's heartbeat and load-report
 * bodies: exact wire bytes, round trips, every truncation, bad fields,
 * fixed-point conversion and the sender check. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "engine/agent_msg.h"

static void test_heartbeat_wire_bytes(void **state)
{
	(void)state;
	struct agent_heartbeat hb = { .host_id = 0x01020304, .seq = 0xa0b0, .flag = AGENT_DRAIN,
				      .timestamp = 0x65432100 };
	static const uint8_t want[AGENT_HEARTBEAT_SIZE] = { 0x01, 0x02, 0x03, 0x04, 0xa0, 0xb0, 0x02,
							    0x65, 0x43, 0x21, 0x00 };
	uint8_t buf[32];
	assert_int_equal(AGENT_HEARTBEAT_SIZE, 11);
	assert_int_equal(agent_heartbeat_encode(&hb, buf, sizeof(buf)), AGENT_HEARTBEAT_SIZE);
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(agent_heartbeat_encode(&hb, buf, AGENT_HEARTBEAT_SIZE - 1), 0);
}

static void test_heartbeat_round_trip(void **state)
{
	(void)state;
	const struct agent_heartbeat cases[] = {
		{ .host_id = 1, .seq = 0, .flag = AGENT_UP, .timestamp = 0 },
		{ .host_id = 64, .seq = 65535, .flag = AGENT_APP_DOWN, .timestamp = 1700000000 },
		{ .host_id = UINT32_MAX, .seq = 12345, .flag = AGENT_DRAIN, .timestamp = UINT32_MAX },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[AGENT_HEARTBEAT_SIZE];
		struct agent_heartbeat out;
		assert_int_equal(agent_heartbeat_encode(&cases[i], buf, sizeof(buf)), AGENT_HEARTBEAT_SIZE);
		assert_int_equal(agent_heartbeat_decode(buf, sizeof(buf), &out), COUNTER_NONE);
		assert_int_equal(out.host_id, cases[i].host_id);
		assert_int_equal(out.seq, cases[i].seq);
		assert_int_equal(out.flag, cases[i].flag);
		assert_int_equal(out.timestamp, cases[i].timestamp);
	}
}

static void test_heartbeat_every_truncation(void **state)
{
	(void)state;
	struct agent_heartbeat hb = { .host_id = 3, .seq = 9, .flag = AGENT_UP, .timestamp = 77 };
	uint8_t buf[AGENT_HEARTBEAT_SIZE + 1];
	struct agent_heartbeat out;
	assert_int_equal(agent_heartbeat_encode(&hb, buf, sizeof(buf)), AGENT_HEARTBEAT_SIZE);
	for (size_t len = 0; len < AGENT_HEARTBEAT_SIZE; len++) {
		memset(&out, 0xee, sizeof(out));
		assert_string_equal(counter_name(agent_heartbeat_decode(buf, len, &out)), "agent_truncated");
		assert_int_equal(out.host_id, 0);
		assert_int_equal(out.flag, 0);
	}
	buf[AGENT_HEARTBEAT_SIZE] = 0;
	assert_string_equal(counter_name(agent_heartbeat_decode(buf, sizeof(buf), &out)), "agent_trailing_bytes");
	assert_string_equal(counter_name(agent_heartbeat_decode(NULL, 0, &out)), "agent_truncated");
}

static void test_heartbeat_bad_fields(void **state)
{
	(void)state;
	struct agent_heartbeat hb = { .host_id = 2, .seq = 1, .flag = AGENT_UP, .timestamp = 5 }, out;
	uint8_t buf[AGENT_HEARTBEAT_SIZE];
	for (unsigned flag = AGENT_FLAG_COUNT; flag <= 255; flag++) {
		hb.flag = (uint8_t)flag;
		agent_heartbeat_encode(&hb, buf, sizeof(buf));
		assert_string_equal(counter_name(agent_heartbeat_decode(buf, sizeof(buf), &out)), "agent_bad_flag");
		assert_int_equal(out.host_id, 0);
	}
	hb.flag = AGENT_UP;
	hb.host_id = 0;
	agent_heartbeat_encode(&hb, buf, sizeof(buf));
	assert_string_equal(counter_name(agent_heartbeat_decode(buf, sizeof(buf), &out)), "agent_bad_host");
}

static void test_load_wire_bytes_and_round_trip(void **state)
{
	(void)state;
	struct agent_load load = { .host_id = 7, .fixed = { 0, 1, 5000, 9999, 10000 } }, out;
	static const uint8_t want[AGENT_LOAD_SIZE] = { 0, 0, 0, 7, 0x00, 0x00, 0x00, 0x01,
						       0x13, 0x88, 0x27, 0x0f, 0x27, 0x10 };
	uint8_t buf[AGENT_LOAD_SIZE];
	assert_int_equal(AGENT_LOAD_SIZE, 14);
	assert_int_equal(agent_load_encode(&load, buf, sizeof(buf)), AGENT_LOAD_SIZE);
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(agent_load_decode(buf, sizeof(buf), &out), COUNTER_NONE);
	assert_int_equal(out.host_id, 7);
	assert_memory_equal(out.fixed, load.fixed, sizeof(load.fixed));
	assert_int_equal(agent_load_encode(&load, buf, AGENT_LOAD_SIZE - 1), 0);
}

static void test_load_every_truncation_and_range(void **state)
{
	(void)state;
	struct agent_load load = { .host_id = 1, .fixed = { 1, 2, 3, 4, 5 } }, out;
	uint8_t buf[AGENT_LOAD_SIZE + 1];
	agent_load_encode(&load, buf, sizeof(buf));
	for (size_t len = 0; len < AGENT_LOAD_SIZE; len++) {
		memset(&out, 0xee, sizeof(out));
		assert_string_equal(counter_name(agent_load_decode(buf, len, &out)), "agent_truncated");
		assert_int_equal(out.host_id, 0);
	}
	buf[AGENT_LOAD_SIZE] = 0;
	assert_string_equal(counter_name(agent_load_decode(buf, sizeof(buf), &out)), "agent_trailing_bytes");
	for (unsigned c = 0; c < AGENT_LOAD_COMPONENTS; c++) {
		struct agent_load bad = load;
		bad.fixed[c] = AGENT_LOAD_SCALE + 1;
		agent_load_encode(&bad, buf, sizeof(buf));
		assert_string_equal(counter_name(agent_load_decode(buf, AGENT_LOAD_SIZE, &out)),
				    "agent_load_out_of_range");
		bad.fixed[c] = UINT16_MAX;
		agent_load_encode(&bad, buf, sizeof(buf));
		assert_string_equal(counter_name(agent_load_decode(buf, AGENT_LOAD_SIZE, &out)),
				    "agent_load_out_of_range");
		assert_int_equal(out.fixed[c], 0);
	}
	load.host_id = 0;
	agent_load_encode(&load, buf, sizeof(buf));
	assert_string_equal(counter_name(agent_load_decode(buf, AGENT_LOAD_SIZE, &out)), "agent_bad_host");
}

static void test_fixed_point(void **state)
{
	(void)state;
	assert_int_equal(agent_load_to_fixed(NAN), AGENT_LOAD_SCALE);
	assert_int_equal(agent_load_to_fixed(INFINITY), AGENT_LOAD_SCALE);
	assert_int_equal(agent_load_to_fixed(-INFINITY), 0);
	assert_int_equal(agent_load_to_fixed(2.0), AGENT_LOAD_SCALE);
	assert_int_equal(agent_load_to_fixed(1.0), AGENT_LOAD_SCALE);
	assert_int_equal(agent_load_to_fixed(-0.5), 0);
	assert_int_equal(agent_load_to_fixed(0.0), 0);
	assert_int_equal(agent_load_to_fixed(0.25), 2500);
	assert_int_equal(agent_load_to_fixed(0.00004), 0);
	assert_int_equal(agent_load_to_fixed(0.00006), 1);
	assert_true(fabs(agent_load_from_fixed(2500) - 0.25) < 1e-12);
	assert_true(fabs(agent_load_from_fixed(AGENT_LOAD_SCALE) - 1.0) < 1e-12);
}

static void test_check_sender(void **state)
{
	(void)state;
	struct sara_config cfg;
	unsigned server = 99;
	sara_config_defaults(&cfg);
	cfg.server_count = 3;
	snprintf(cfg.servers[0].id, sizeof(cfg.servers[0].id), "s1");
	snprintf(cfg.servers[1].id, sizeof(cfg.servers[1].id), "s2");
	snprintf(cfg.servers[2].id, sizeof(cfg.servers[2].id), "s3");
	assert_string_equal(counter_name(agent_msg_check_sender(&cfg, 0, 0, &server)), "agent_unknown_host");
	assert_string_equal(counter_name(agent_msg_check_sender(&cfg, 4, 4, &server)), "agent_unknown_host");
	assert_string_equal(counter_name(agent_msg_check_sender(&cfg, 2, 3, &server)), "agent_host_mismatch");
	assert_int_equal(server, 99);
	assert_int_equal(agent_msg_check_sender(&cfg, 3, 3, &server), COUNTER_NONE);
	assert_int_equal(server, 2);
	assert_int_equal(agent_msg_check_sender(&cfg, 1, 1, &server), COUNTER_NONE);
	assert_int_equal(server, 0);

	/* By id: wherever the server sits in the list. */
	assert_true(agent_sender_id("s2") & AGENT_SENDER_BY_ID);
	assert_int_not_equal(agent_sender_id("s2"), agent_sender_id("s3"));
	assert_int_equal(agent_sender_id("s2"), agent_sender_id("s2"));
	assert_int_equal(agent_msg_check_sender(&cfg, agent_sender_id("s2"), agent_sender_id("s2"), &server), COUNTER_NONE);
	assert_int_equal(server, 1);
	cfg.servers[1] = cfg.servers[2];
	snprintf(cfg.servers[2].id, sizeof(cfg.servers[2].id), "s2");
	assert_int_equal(agent_msg_check_sender(&cfg, agent_sender_id("s2"), agent_sender_id("s2"), &server), COUNTER_NONE);
	assert_int_equal(server, 2);
	assert_string_equal(counter_name(agent_msg_check_sender(&cfg, agent_sender_id("s9"), agent_sender_id("s9"),
								 &server)), "agent_unknown_host");
	assert_string_equal(counter_name(agent_msg_check_sender(&cfg, agent_sender_id("s2"), 2, &server)),
			    "agent_host_mismatch");
	/* a free slot of a running table (no id) answers to nothing */
	cfg.servers[0].id[0] = '\0';
	assert_string_equal(counter_name(agent_msg_check_sender(&cfg, 1, 1, &server)), "agent_unknown_host");
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(agent_flag_name(AGENT_UP), "up");
	assert_string_equal(agent_flag_name(AGENT_APP_DOWN), "app_down");
	assert_string_equal(agent_flag_name(AGENT_DRAIN), "drain");
	assert_string_equal(agent_flag_name(3), "?");
	assert_string_equal(agent_load_component_name(AGENT_LOAD_CPU), "cpu");
	assert_string_equal(agent_load_component_name(AGENT_LOAD_BACKLOG), "backlog");
	assert_string_equal(agent_load_component_name(AGENT_LOAD_COMPONENTS), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heartbeat_wire_bytes),
		cmocka_unit_test(test_heartbeat_round_trip),
		cmocka_unit_test(test_heartbeat_every_truncation),
		cmocka_unit_test(test_heartbeat_bad_fields),
		cmocka_unit_test(test_load_wire_bytes_and_round_trip),
		cmocka_unit_test(test_load_every_truncation_and_range),
		cmocka_unit_test(test_fixed_point),
		cmocka_unit_test(test_check_sender),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
