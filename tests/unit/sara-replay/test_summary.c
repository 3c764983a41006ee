/* test_summary.c - unit tests for src/sara-replay/summary.c: session states,
 * totals and the --check verdict, on hand-made records and replayed calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sara-replay/summary.h"
#include "replay_fixture.h"

#define CLIENT_A "192.0.2.10"
#define CLIENT_B "192.0.2.20"
#define CLIENT_C "192.0.2.30"
#define MAX_RECORDS 1000

static struct sara_config cfg;

/* A session with a signalling flow at signalling_servers and one media flow. */
static struct session_record *call(struct replay *r, uint64_t serial, const char *client,
				   uint64_t signalling_servers, uint64_t media_servers, bool media_unmarked,
				   enum flow_identity media)
{
	char id[32];
	struct session_record *s;
	snprintf(id, sizeof(id), "call-%llu@c", (unsigned long long)serial);
	s = fixture_session(r, serial, id, 0, -1);
	fixture_flow(r, client, 5060, 5060, serial, FLOW_SIGNALLING, 3, signalling_servers, false);
	fixture_flow(r, client, 40000, 20000, serial, media, 100, media_servers, media_unmarked);
	return s;
}

static void test_session_states(void **state)
{
	struct replay r;
	struct session_record *intact, *two, *lost, *nowhere;
	(void)state;
	fixture_replay(&r, &cfg, REPLAY_PLAIN, MAX_RECORDS);
	intact = call(&r, 1, CLIENT_A, 1u << 1, 1u << 1, false, FLOW_SECONDARY);
	two = call(&r, 2, CLIENT_B, 1u << 1, 1u << 1 | 1u << 2, false, FLOW_SECONDARY);
	lost = call(&r, 3, CLIENT_C, 1u << 0, 1u << 0, true, FLOW_SECONDARY);
	nowhere = call(&r, 4, "192.0.2.40", 0, 0, true, FLOW_SECONDARY);
	replay_finish(&r);
	assert_int_equal(session_state(&r, intact), SESSION_INTACT);
	assert_int_equal(session_state(&r, two), SESSION_SPLIT);
	assert_int_equal(session_state(&r, lost), SESSION_SPLIT);
	/* Plain mode knows no unreached: packets at no server are a split. */
	assert_int_equal(session_state(&r, nowhere), SESSION_SPLIT);
	r.mode = REPLAY_MERGED;
	assert_int_equal(session_state(&r, nowhere), SESSION_UNREACHED);
	assert_int_equal(session_state(&r, lost), SESSION_SPLIT);
	replay_free(&r);
}

static void test_totals(void **state)
{
	struct replay r;
	struct replay_summary sum;
	(void)state;
	fixture_replay(&r, &cfg, REPLAY_MERGED, MAX_RECORDS);
	call(&r, 1, CLIENT_A, 1u << 0, 1u << 0, false, FLOW_SECONDARY);
	call(&r, 2, CLIENT_B, 1u << 1, 1u << 1 | 1u << 2, false, FLOW_UNPREDICTED);
	call(&r, 3, CLIENT_C, 0, 0, true, FLOW_ANNOUNCED);
	fixture_session(&r, 4, "no-flows@c", 0, -1); /* no flow: not counted */
	fixture_flow(&r, "192.0.2.99", 7000, 9000, 0, FLOW_UNPREDICTED, 4, 0, true); /* no session */
	replay_finish(&r);
	summary_compute(&r, &sum);
	assert_int_equal(sum.sessions, 3);
	assert_int_equal(sum.intact, 1);
	assert_int_equal(sum.split, 1);
	assert_int_equal(sum.unreached, 1);
	assert_int_equal(sum.media, 3);
	assert_int_equal(sum.predicted, 2);
	assert_int_equal(sum.unpredicted, 1);
	assert_int_equal(sum.per_server_sessions[0], 1);
	assert_int_equal(sum.per_server_sessions[1], 1);
	assert_int_equal(sum.per_server_sessions[2], 1);
	replay_free(&r);
}

static void test_check_verdict(void **state)
{
	struct replay r;
	struct replay_summary sum = { .sessions = 3, .intact = 3 };
	char why[256] = "";
	(void)state;
	fixture_replay(&r, &cfg, REPLAY_PLAIN, MAX_RECORDS);
	assert_true(summary_check(&r, &sum, why, sizeof(why)));
	assert_string_equal(why, "");
	sum.unpredicted = 1;
	assert_false(summary_check(&r, &sum, why, sizeof(why)));
	assert_string_equal(why, "check failed: 0 split sessions, 1 unpredicted media flows");
	sum = (struct replay_summary){ .sessions = 3, .intact = 1, .split = 2 };
	assert_false(summary_check(&r, &sum, why, sizeof(why)));
	assert_string_equal(why, "check failed: 2 split sessions, 0 unpredicted media flows");
	r.mode = REPLAY_MATCHED;
	sum = (struct replay_summary){ .sessions = 3, .intact = 2, .unreached = 1 };
	assert_false(summary_check(&r, &sum, why, sizeof(why)));
	assert_string_equal(why, "check failed: 0 split sessions, 1 unreached sessions, 0 unpredicted media flows");
	replay_free(&r);
}

/* Replayed calls, merged mode: each call captured at its own server passes
 * --check; one RTP packet captured at a second server fails it. */
static void test_check_on_replayed_calls(void **state)
{
	struct replay r;
	struct replay_summary sum;
	char why[256];
	(void)state;
	for (int moved = 0; moved <= 1; moved++) {
		fixture_replay(&r, &cfg, REPLAY_MERGED, MAX_RECORDS);
		replay_add_observed(&r, 0);
		replay_add_observed(&r, 1);
		r.current_server = 0;
		fixture_call(&r, CLIENT_A, "call-1@client", 40000, 20000, 10);
		r.current_server = 1;
		fixture_call(&r, CLIENT_B, "call-2@client", 40000, 20002, 10);
		r.current_server = moved ? 1 : 0;
		fixture_feed_udp(&r, CLIENT_A, 40000, FIXTURE_VIP, 20000, fixture_rtp, sizeof(fixture_rtp));
		replay_finish(&r);
		summary_compute(&r, &sum);
		assert_int_equal(sum.sessions, 2);
		assert_int_equal(sum.media, 2);
		assert_int_equal(sum.per_server_sessions[1], moved ? 2 : 1);
		if (moved) {
			assert_int_equal(session_state(&r, &r.records.sessions[0]), SESSION_SPLIT);
			assert_false(summary_check(&r, &sum, why, sizeof(why)));
			assert_string_equal(why, "check failed: 1 split sessions, 0 unreached sessions, "
						 "0 unpredicted media flows");
		} else {
			assert_int_equal(sum.intact, 2);
			assert_true(summary_check(&r, &sum, why, sizeof(why)));
		}
		replay_free(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_states),
		cmocka_unit_test(test_totals),
		cmocka_unit_test(test_check_verdict),
		cmocka_unit_test(test_check_on_replayed_calls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
