/* test_health_feed.c - agent reports through server health into the
 * engine: heartbeats make a server up; a silent one fails after misses x
 * interval and comes back after K beats with a slow start; a drain or a
 * failing application takes it out of selection; an operator drain holds a
 * recovered server back; load reports reach the engine's forecast. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "io/clock.h"
#include "sarad/health_feed.h"
#include "sarad_fixture.h"

struct fixture {
	struct sara_config cfg;
	struct daemon_counters counters;
	struct log_kinds logs;
	struct dispatcher d;
	uint16_t seq[2];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];
	assert_non_null(f);
	fixture_log_start();
	fixture_config(&f->cfg);
	f->cfg.selection.slow_start_s = 10;
	daemon_counters_init(&f->counters);
	log_kinds_init(&f->logs);
	fixture_clock_ms = 1000000;
	assert_int_equal(dispatcher_init(&f->d, &f->cfg, NULL, &f->counters, &f->logs, fixture_now_ms, err,
					 sizeof(err)), 0);
	assert_null(f->d.health);
	assert_int_equal(dispatcher_watch_health(&f->d, fixture_clock_ms, err, sizeof(err)), 0);
	assert_non_null(f->d.health);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	dispatcher_fini(&f->d);
	daemon_counters_destroy(&f->counters);
	log_set_sink(NULL, NULL);
	log_close();
	free(f);
	return 0;
}

/* Moves the clock to at and lets health see the time pass. */
static void tick_at(struct fixture *f, uint64_t at)
{
	fixture_clock_ms = at;
	health_feed_tick(f->d.health, at);
}

static void beat(struct fixture *f, unsigned server, enum agent_flag flag, uint32_t timestamp)
{
	struct agent_heartbeat hb = { .host_id = server + 1, .seq = f->seq[server]++, .flag = (uint8_t)flag,
				      .timestamp = timestamp };
	health_feed_heartbeat(f->d.health, server, &hb, fixture_clock_ms, clock_ms(CLOCK_REALTIME));
}

static enum server_state state_of(struct fixture *f, unsigned server)
{
	struct server_health_info info;
	assert_true(health_feed_info(f->d.health, server, fixture_clock_ms, &info));
	return info.state;
}

static struct engine_server_info engine_view(struct fixture *f, unsigned server)
{
	struct engine_server_info info;
	assert_true(engine_server_info(f->d.engine, server, &info));
	return info;
}

static void test_heartbeat_makes_server_up(void **state)
{
	struct fixture *f = *state;
	struct server_health_info info;
	assert_int_equal(state_of(f, 0), SERVER_UNKNOWN);
	beat(f, 0, AGENT_UP, 0);
	assert_int_equal(state_of(f, 0), SERVER_UP);
	assert_true(health_feed_info(f->d.health, 0, fixture_clock_ms, &info));
	assert_true(info.heard);
	assert_int_equal(info.heartbeats, 1);
	assert_int_equal(state_of(f, 1), SERVER_UNKNOWN);
	assert_true(engine_view(f, 0).available);
	assert_true(engine_view(f, 1).available);
	assert_false(health_feed_info(f->d.health, 2, fixture_clock_ms, &info));
}

/* s1 beats every interval, s2 is silent: s2 fails once misses x interval
 * have passed, never s1; then s2's agent starts and it is back after K
 * beats, ramping up from a small share of its weight. */
static void test_silent_server_fails_then_recovers(void **state)
{
	struct fixture *f = *state;
	uint64_t t0 = fixture_clock_ms, t = t0;
	char expected[128];

	for (; t <= t0 + FIXTURE_MISSES * FIXTURE_INTERVAL_MS; t += FIXTURE_INTERVAL_MS / 2) {
		tick_at(f, t);
		beat(f, 0, AGENT_UP, 0);
	}
	assert_int_equal(state_of(f, 1), SERVER_UNKNOWN);
	tick_at(f, t0 + FIXTURE_MISSES * FIXTURE_INTERVAL_MS + FIXTURE_INTERVAL_MS / 2);
	assert_int_equal(state_of(f, 1), SERVER_FAILED);
	assert_int_equal(state_of(f, 0), SERVER_UP);
	assert_false(engine_view(f, 1).available);
	assert_true(engine_view(f, 0).available);
	assert_int_equal(daemon_counter_get(&f->counters, COUNTER_SERVER_FAILED_EVENTS), 1);
	snprintf(expected, sizeof(expected), "event=server_failed server=s2 cause=%s sessions_moved=",
		 server_cause_name(SERVER_CAUSE_MISSED));
	assert_true(fixture_logged(expected));

	t = fixture_clock_ms;
	for (unsigned i = 0; i < SERVER_HEALTH_RECOVER_BEATS; i++) {
		t += FIXTURE_INTERVAL_MS;
		tick_at(f, t);
		beat(f, 0, AGENT_UP, 0);
		beat(f, 1, AGENT_UP, 0);
	}
	assert_int_equal(state_of(f, 1), SERVER_UP);
	assert_true(engine_view(f, 1).available);
	assert_true(engine_view(f, 1).weight_factor < 0.5);   /* slow start over 10 s */
	assert_int_equal(daemon_counter_get(&f->counters, COUNTER_SERVER_RECOVERED_EVENTS), 1);
	assert_true(fixture_logged("event=server_recovered server=s2 slow_start_s=10 msg=\"available again\""));
}

static void test_drain_heartbeat_stops_new_sessions(void **state)
{
	struct fixture *f = *state;
	uint32_t planned = (uint32_t)(clock_ms(CLOCK_REALTIME) / 1000u) + 20;
	beat(f, 0, AGENT_UP, 0);
	beat(f, 0, AGENT_DRAIN, planned);
	assert_int_equal(state_of(f, 0), SERVER_DRAINING);
	assert_false(engine_view(f, 0).available);
	assert_true(engine_view(f, 1).available);
	assert_int_equal(daemon_counter_get(&f->counters, COUNTER_SERVER_DRAINING_EVENTS), 1);
	assert_true(fixture_logged("event=server_draining server=s1 planned_failure_in_ms="));
}

static void test_application_down_fails_server(void **state)
{
	struct fixture *f = *state;
	char expected[128];
	beat(f, 1, AGENT_UP, 0);
	beat(f, 1, AGENT_APP_DOWN, 0);
	assert_int_equal(state_of(f, 1), SERVER_APP_DOWN);
	assert_false(engine_view(f, 1).available);
	assert_int_equal(daemon_counter_get(&f->counters, COUNTER_SERVER_FAILED_EVENTS), 1);
	snprintf(expected, sizeof(expected), "event=server_failed server=s2 cause=%s sessions_moved=",
		 server_cause_name(SERVER_CAUSE_APP_DOWN));
	assert_true(fixture_logged(expected));
}

/* The operator drained s2 while it was down: when its agent brings it
 * back, it stays out of selection. */
static void test_recovery_keeps_operator_drain(void **state)
{
	struct fixture *f = *state;
	char err[64];
	uint64_t t = fixture_clock_ms;
	beat(f, 1, AGENT_APP_DOWN, 0);
	assert_int_equal(state_of(f, 1), SERVER_APP_DOWN);
	assert_int_equal(dispatcher_set_drain(&f->d, 1, true, err, sizeof(err)), 0);
	/* Past the hold-down, K good beats. */
	t += SERVER_HEALTH_HOLD_DOWN_MIN_MS * 2;
	for (unsigned i = 0; i < SERVER_HEALTH_RECOVER_BEATS + 1; i++) {
		t += FIXTURE_INTERVAL_MS;
		tick_at(f, t);
		beat(f, 1, AGENT_UP, 0);
	}
	assert_int_equal(state_of(f, 1), SERVER_UP);
	assert_int_equal(daemon_counter_get(&f->counters, COUNTER_SERVER_RECOVERED_EVENTS), 1);
	assert_false(engine_view(f, 1).available);
	assert_true(fixture_logged("event=server_recovered server=s2 drained_by_operator=true"));
}

static void test_load_report_reaches_engine(void **state)
{
	struct fixture *f = *state;
	struct agent_load load = { .host_id = 1, .fixed = { 5000, 2000, 1000, 0, 3000 } };
	assert_true(engine_view(f, 0).load_estimate < 0);
	health_feed_load(f->d.health, 0, &load, fixture_clock_ms);
	assert_true(engine_view(f, 0).load_estimate >= 0);
	assert_true(engine_view(f, 1).load_estimate < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_heartbeat_makes_server_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_server_fails_then_recovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_heartbeat_stops_new_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_application_down_fails_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovery_keeps_operator_drain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_report_reaches_engine, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
