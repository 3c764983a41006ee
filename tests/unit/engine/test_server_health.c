/* test_server_health.c - unit tests for the server health state machine:
 * failure after exactly n missed intervals, drain, application down,
 * recovery hysteresis and hold-down, flapping, slow start, load clamping,
 * the combined load (bottleneck, uncounted components), heartbeat sequence
 * bookkeeping. Clocks are simulated. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engine/server_health.h"

#define INTERVAL 1000u
#define MISSES 3u
#define SLOW_START_S 30u
#define WALL0 1700000000000ull   /* wall clock at monotonic 0 (a whole second) */
#define MAX_EVENTS 256

struct recorder {
	unsigned count;
	struct server_event events[MAX_EVENTS];
};

static struct recorder rec;
static struct sara_config cfg;
static uint16_t next_seq[3];

static void record(void *ctx, const struct server_event *event)
{
	(void)ctx;
	if (rec.count < MAX_EVENTS)
		rec.events[rec.count] = *event;
	rec.count++;
}

static unsigned count_kind(enum server_event_kind kind, unsigned server)
{
	unsigned n = 0;
	for (unsigned i = 0; i < rec.count && i < MAX_EVENTS; i++)
		if (rec.events[i].kind == kind && rec.events[i].server == server)
			n++;
	return n;
}

static struct server_health *make(void)
{
	struct server_health *h;
	memset(&rec, 0, sizeof(rec));
	memset(next_seq, 0, sizeof(next_seq));
	sara_config_defaults(&cfg);
	cfg.server_count = 3;
	cfg.agents.interval_ms = INTERVAL;
	cfg.agents.misses = MISSES;
	cfg.selection.slow_start_s = SLOW_START_S;
	h = server_health_create(&cfg, 0, record, NULL);
	assert_non_null(h);
	return h;
}

static void beat(struct server_health *h, unsigned server, uint8_t flag, uint32_t timestamp, uint64_t now)
{
	struct agent_heartbeat hb = { .host_id = server + 1, .seq = next_seq[server]++, .flag = flag,
				      .timestamp = timestamp ? timestamp : (uint32_t)((WALL0 + now) / 1000) };
	server_health_heartbeat(h, server, &hb, now, WALL0 + now);
}

/* Server 0 beats UP every interval from `from` to `to` inclusive, ticking
 * every 100 ms; the others stay quiet unless `all`. */
static void run_up(struct server_health *h, uint64_t from, uint64_t to, bool all)
{
	for (uint64_t t = from; t <= to; t += 100) {
		if (t % INTERVAL == 0) {
			beat(h, 0, AGENT_UP, 0, t);
			if (all) {
				beat(h, 1, AGENT_UP, 0, t);
				beat(h, 2, AGENT_UP, 0, t);
			}
		}
		server_health_tick(h, t);
	}
}

struct counter_lookup {
	const char *name;
	uint64_t value;
};

static void find_counter(void *ctx, const struct counter_def *def, uint64_t value)
{
	struct counter_lookup *l = ctx;
	if (strcmp(def->name, l->name) == 0)
		l->value = value;
}

/* The counter called name, as the status document lists it. */
static uint64_t counter_value(const struct server_health *h, const char *name)
{
	struct counter_lookup l = { name, 0 };
	counters_visit(server_health_counters(h), COUNTER_SCOPE_HEALTH, COUNTERS_REPORTED, find_counter, &l);
	return l.value;
}

static void test_starts_available_full_weight(void **state)
{
	(void)state;
	struct server_health *h = make();
	for (unsigned i = 0; i < 3; i++) {
		assert_true(server_health_available(h, i));
		assert_int_equal(server_health_state(h, i), SERVER_UNKNOWN);
		assert_true(server_health_weight_factor(h, i, 0) == 1.0);
	}
	beat(h, 0, AGENT_UP, 0, 500);
	assert_int_equal(server_health_state(h, 0), SERVER_UP);
	assert_true(server_health_weight_factor(h, 0, 500) == 1.0);
	assert_int_equal(rec.count, 0);
	assert_false(server_health_available(h, 3));
	server_health_destroy(h);
}

static void test_failure_after_exactly_n_misses(void **state)
{
	(void)state;
	struct server_health *h = make();
	run_up(h, 0, 10000, true);
	assert_int_equal(rec.count, 0);
	/* Last beat of server 1 at 10000; silent afterwards; n*d = 3000. */
	for (uint64_t t = 10001; t <= 13000; t++) {
		if (t % INTERVAL == 0) {
			beat(h, 0, AGENT_UP, 0, t);
			beat(h, 2, AGENT_UP, 0, t);
		}
		server_health_tick(h, t);
	}
	assert_int_equal(rec.count, 0);
	assert_true(server_health_available(h, 1));
	server_health_tick(h, 13001);
	assert_int_equal(rec.count, 1);
	assert_int_equal(rec.events[0].kind, SERVER_EVENT_FAILED);
	assert_int_equal(rec.events[0].server, 1);
	assert_int_equal(rec.events[0].cause, SERVER_CAUSE_MISSED);
	assert_false(server_health_available(h, 1));
	assert_true(server_health_weight_factor(h, 1, 13001) == 0.0);
	assert_int_equal(server_health_state(h, 1), SERVER_FAILED);
	/* Only once. */
	server_health_tick(h, 20000);
	assert_int_equal(count_kind(SERVER_EVENT_FAILED, 1), 1);
	server_health_destroy(h);
}

static void test_never_heard_fails_after_n_intervals(void **state)
{
	(void)state;
	struct server_health *h = make();
	server_health_tick(h, 3000);
	assert_int_equal(rec.count, 0);
	beat(h, 0, AGENT_UP, 0, 3000);
	server_health_tick(h, 3001);
	assert_int_equal(count_kind(SERVER_EVENT_FAILED, 0), 0);
	assert_int_equal(count_kind(SERVER_EVENT_FAILED, 1), 1);
	assert_int_equal(count_kind(SERVER_EVENT_FAILED, 2), 1);
	server_health_destroy(h);
}

static void test_new_server_joins_without_hold_down(void **state)
{
	(void)state;
	struct server_health *h = make();
	/* Its agent starts late: failed at 3001, first beats from 4000. */
	server_health_tick(h, 3001);
	assert_int_equal(count_kind(SERVER_EVENT_FAILED, 1), 1);
	beat(h, 1, AGENT_UP, 0, 4000);
	beat(h, 1, AGENT_UP, 0, 5000);
	assert_false(server_health_available(h, 1));
	beat(h, 1, AGENT_UP, 0, 6000);   /* K = 3: in, no hold-down */
	assert_true(server_health_available(h, 1));
	assert_int_equal(count_kind(SERVER_EVENT_RECOVERED, 1), 1);
	/* ...but with slow start. */
	assert_true(fabs(server_health_weight_factor(h, 1, 6000 + 15000) - 0.5) < 1e-12);
	/* A new server that reports trouble before joining is held down as usual. */
	server_health_tick(h, 7000);
	beat(h, 2, AGENT_APP_DOWN, 0, 7000);
	for (uint64_t t = 8000; t <= 12000; t += INTERVAL)
		beat(h, 2, AGENT_UP, 0, t);
	assert_false(server_health_available(h, 2));
	beat(h, 2, AGENT_UP, 0, 13000);   /* 6 s after the APP_DOWN */
	assert_true(server_health_available(h, 2));
	server_health_destroy(h);
}

static void test_drain_then_planned_failure(void **state)
{
	(void)state;
	struct server_health *h = make();
	struct server_health_info info;
	uint32_t planned_s = (uint32_t)((WALL0 + 2000 + 10000) / 1000);   /* 10 s after t=2000 */
	run_up(h, 0, 2000, true);
	beat(h, 1, AGENT_DRAIN, planned_s, 2000);
	assert_int_equal(rec.count, 1);
	assert_int_equal(rec.events[0].kind, SERVER_EVENT_DRAINING);
	assert_int_equal(rec.events[0].server, 1);
	assert_int_equal(rec.events[0].planned_ms, 12000);
	assert_false(server_health_available(h, 1));
	assert_true(server_health_weight_factor(h, 1, 2000) == 0.0);
	assert_true(server_health_get(h, 1, 2000, &info));
	assert_int_equal(info.state, SERVER_DRAINING);
	assert_false(info.available);
	assert_int_equal(info.planned_ms, 12000);
	/* The same drain repeated (with a jittery wall clock) is no news. */
	for (uint64_t t = 3000; t < 12000; t += INTERVAL) {
		struct agent_heartbeat hb = { .host_id = 2, .seq = next_seq[1]++, .flag = AGENT_DRAIN,
					      .timestamp = planned_s };
		server_health_heartbeat(h, 1, &hb, t, WALL0 + t + 7);
		beat(h, 0, AGENT_UP, 0, t);
		beat(h, 2, AGENT_UP, 0, t);
		server_health_tick(h, t + 999);
	}
	assert_int_equal(rec.count, 1);
	server_health_tick(h, 11999);
	assert_int_equal(rec.count, 1);
	server_health_tick(h, 12000);
	assert_int_equal(rec.count, 2);
	assert_int_equal(rec.events[1].kind, SERVER_EVENT_FAILED);
	assert_int_equal(rec.events[1].cause, SERVER_CAUSE_PLANNED);
	assert_int_equal(server_health_state(h, 1), SERVER_FAILED);
	/* A drain whose time has passed is an immediate planned failure. */
	beat(h, 2, AGENT_DRAIN, (uint32_t)(WALL0 / 1000), 12000);
	assert_int_equal(rec.events[2].kind, SERVER_EVENT_FAILED);
	assert_int_equal(rec.events[2].server, 2);
	assert_int_equal(rec.events[2].cause, SERVER_CAUSE_PLANNED);
	assert_int_equal(counter_value(h, "drains"), 1);
	server_health_destroy(h);
}

static void test_undrain_comes_back_with_slow_start(void **state)
{
	(void)state;
	struct server_health *h = make();
	run_up(h, 0, 2000, true);
	beat(h, 1, AGENT_DRAIN, (uint32_t)((WALL0 + 60000) / 1000), 2000);
	beat(h, 1, AGENT_UP, 0, 3000);
	assert_int_equal(rec.count, 2);
	assert_int_equal(rec.events[1].kind, SERVER_EVENT_RECOVERED);
	/* The event carries the factor to start with, so the dispatcher
	 * need not wait for its next poll to apply slow start. */
	assert_true(fabs(rec.events[1].weight_factor - SERVER_HEALTH_SLOW_START_FLOOR) < 1e-9);
	assert_true(server_health_available(h, 1));
	assert_true(fabs(server_health_weight_factor(h, 1, 3000 + 15000) - 0.5) < 1e-9);
	server_health_destroy(h);
}

static void test_app_down(void **state)
{
	(void)state;
	struct server_health *h = make();
	struct server_health_info info;
	run_up(h, 0, 2000, true);
	beat(h, 2, AGENT_APP_DOWN, 0, 2500);
	assert_int_equal(rec.count, 1);
	assert_int_equal(rec.events[0].kind, SERVER_EVENT_FAILED);
	assert_int_equal(rec.events[0].server, 2);
	assert_int_equal(rec.events[0].cause, SERVER_CAUSE_APP_DOWN);
	assert_int_equal(server_health_state(h, 2), SERVER_APP_DOWN);
	assert_false(server_health_available(h, 2));
	/* Going silent after that changes the cause, not the sessions: no event. */
	server_health_tick(h, 2500 + MISSES * INTERVAL + 1);
	assert_int_equal(server_health_state(h, 2), SERVER_FAILED);
	assert_true(server_health_get(h, 2, 6000, &info));
	assert_int_equal(info.cause, SERVER_CAUSE_MISSED);
	assert_int_equal(count_kind(SERVER_EVENT_FAILED, 2), 1);
	assert_string_equal(server_state_name(SERVER_APP_DOWN), "app_down");
	assert_string_equal(server_cause_name(SERVER_CAUSE_PLANNED), "planned");
	server_health_destroy(h);
}

static void test_recovery_hysteresis(void **state)
{
	(void)state;
	struct server_health *h = make();
	struct server_health_info info;
	/* Server 0 beats once at 0, then is silent: failed at 3001, hold-down 6000. */
	beat(h, 0, AGENT_UP, 0, 0);
	server_health_tick(h, 3001);
	assert_int_equal(count_kind(SERVER_EVENT_FAILED, 0), 1);
	assert_true(server_health_get(h, 0, 3001, &info));
	assert_int_equal(info.hold_down_ms, 2 * MISSES * INTERVAL);
	/* K = 3 consecutive beats at 4000, 5000, 6000, but the hold-down ends at 9001. */
	for (uint64_t t = 4000; t <= 9000; t += INTERVAL) {
		beat(h, 0, AGENT_UP, 0, t);
		server_health_tick(h, t);
		assert_false(server_health_available(h, 0));
	}
	assert_int_equal(counter_value(h, "recoveries_held"), 4);  /* beats 6000..9000 */
	beat(h, 0, AGENT_UP, 0, 10000);
	assert_true(server_health_available(h, 0));
	assert_int_equal(count_kind(SERVER_EVENT_RECOVERED, 0), 1);

	/* K beats are needed even after a long hold-down: one missed beat restarts the count. */
	server_health_tick(h, 20000);  /* silent 10000..20000: failed again */
	assert_false(server_health_available(h, 0));
	beat(h, 0, AGENT_UP, 0, 30000);
	beat(h, 0, AGENT_UP, 0, 31000);
	beat(h, 0, AGENT_UP, 0, 33500);  /* a missed beat in between: count back to 1 */
	assert_false(server_health_available(h, 0));
	beat(h, 0, AGENT_UP, 0, 34500);
	assert_false(server_health_available(h, 0));
	beat(h, 0, AGENT_UP, 0, 35500);
	assert_true(server_health_available(h, 0));
	server_health_destroy(h);
}

static void test_flapping_never_readmitted(void **state)
{
	(void)state;
	struct server_health *h = make();
	run_up(h, 0, 2000, true);
	beat(h, 1, AGENT_APP_DOWN, 0, 2000);
	/* Up/down every interval for 10 minutes. */
	for (uint64_t t = 3000; t <= 600000; t += INTERVAL) {
		beat(h, 1, (t / INTERVAL) % 2 ? AGENT_UP : AGENT_APP_DOWN, 0, t);
		beat(h, 0, AGENT_UP, 0, t);
		beat(h, 2, AGENT_UP, 0, t);
		server_health_tick(h, t);
		assert_false(server_health_available(h, 1));
	}
	assert_int_equal(count_kind(SERVER_EVENT_FAILED, 1), 1);
	assert_int_equal(count_kind(SERVER_EVENT_RECOVERED, 1), 0);
	server_health_destroy(h);
}

static void test_flapping_by_silence_doubles_hold_down(void **state)
{
	(void)state;
	struct server_health *h = make();
	struct server_health_info info;
	uint64_t t = 0, came_back = 0;
	/* Server 0: 5 beats on, then silent for 5 intervals, repeatedly. While the
	 * hold-down grows, each burst of beats is too short to re-admit it. */
	for (unsigned round = 0; round < 40; round++) {
		for (unsigned i = 0; i < 5; i++, t += INTERVAL) {
			beat(h, 0, AGENT_UP, 0, t);
			server_health_tick(h, t);
			if (server_health_available(h, 0) && came_back == 0 && round > 0)
				came_back = t;
		}
		for (unsigned i = 0; i < 5; i++, t += INTERVAL)
			server_health_tick(h, t);
	}
	assert_true(server_health_get(h, 0, t, &info));
	/* First failure at 8000 (silent since 4000), base hold-down 6000: the
	 * second burst (10000..14000) re-admits it at 14000. It fails again
	 * within the stable period, so the hold-down doubles to 12 s; from then
	 * on every silence restarts the hold-down, and 5 s bursts never last it. */
	assert_int_equal(info.hold_down_ms, 4 * MISSES * INTERVAL);
	assert_int_equal(count_kind(SERVER_EVENT_RECOVERED, 0), 1);
	assert_int_equal(came_back, 14000);
	assert_int_equal(count_kind(SERVER_EVENT_FAILED, 0), 2);
	server_health_destroy(h);
}

static void test_slow_start_ramp(void **state)
{
	(void)state;
	struct server_health *h = make();
	uint64_t up;
	beat(h, 0, AGENT_UP, 0, 0);
	server_health_tick(h, 3001);  /* all fail */
	for (uint64_t t = 4000; t <= 10000; t += INTERVAL)
		beat(h, 0, AGENT_UP, 0, t);
	assert_true(server_health_available(h, 0));
	up = 10000;
	assert_true(fabs(server_health_weight_factor(h, 0, up) - SERVER_HEALTH_SLOW_START_FLOOR) < 1e-12);
	assert_true(fabs(server_health_weight_factor(h, 0, up + 1000) - SERVER_HEALTH_SLOW_START_FLOOR) < 1e-12);
	assert_true(fabs(server_health_weight_factor(h, 0, up + 3000) - 0.1) < 1e-12);
	assert_true(fabs(server_health_weight_factor(h, 0, up + 7500) - 0.25) < 1e-12);
	assert_true(fabs(server_health_weight_factor(h, 0, up + 15000) - 0.5) < 1e-12);
	assert_true(fabs(server_health_weight_factor(h, 0, up + 29999) - 29999.0 / 30000.0) < 1e-12);
	assert_true(server_health_weight_factor(h, 0, up + 30000) == 1.0);
	assert_true(server_health_weight_factor(h, 0, up + 100000) == 1.0);
	/* Monotonic ramp. */
	for (uint64_t t = up; t < up + 31000; t += 250)
		assert_true(server_health_weight_factor(h, 0, t) <= server_health_weight_factor(h, 0, t + 250));
	server_health_destroy(h);

	/* slow_start_s = 0: full weight at once. */
	h = make();
	cfg.selection.slow_start_s = 0;
	server_health_destroy(h);
	h = server_health_create(&cfg, 0, record, NULL);
	beat(h, 0, AGENT_UP, 0, 0);
	server_health_tick(h, 3001);
	for (uint64_t t = 4000; t <= 10000; t += INTERVAL)
		beat(h, 0, AGENT_UP, 0, t);
	assert_true(server_health_weight_factor(h, 0, 10000) == 1.0);
	server_health_destroy(h);
}

static void test_load_clamping(void **state)
{
	(void)state;
	struct server_health *h = make();
	struct server_health_info info;
	const double absurd[AGENT_LOAD_COMPONENTS] = { NAN, 2.0, -1.0, 0.5, 0.5 };
	const double fine[AGENT_LOAD_COMPONENTS] = { 0.2, 0.2, 0.2, 0.2, 0.2 };
	server_health_load(h, 1, absurd, 100);
	assert_int_equal(rec.count, 1);
	assert_int_equal(rec.events[0].kind, SERVER_EVENT_LOAD);
	assert_int_equal(rec.events[0].server, 1);
	assert_true(rec.events[0].components[0] == 1.0);
	assert_true(rec.events[0].components[1] == 1.0);
	assert_true(rec.events[0].components[2] == 0.0);
	/* 0.9 * max (1) + 0.1 * weighted mean (0.35 + 0.10 + 0 + 0.075 + 0.125) */
	assert_true(fabs(rec.events[0].load - 0.965) < 1e-12);
	assert_int_equal(counter_value(h, "load_nan"), 1);
	assert_int_equal(counter_value(h, "load_clamped"), 2);
	server_health_load(h, 1, fine, 200);
	assert_true(fabs(rec.events[1].load - 0.2) < 1e-12);
	assert_int_equal(counter_value(h, "load_clamped"), 2);
	assert_true(server_health_get(h, 1, 200, &info));
	assert_true(info.available);  /* not heard from yet: unknown, available */
	assert_true(info.has_load);
	assert_int_equal(info.loads, 2);
	/* Every combined value stays in 0..1 whatever comes in. */
	const double huge[AGENT_LOAD_COMPONENTS] = { INFINITY, 1e300, 1.0, 1.0, 1.0 };
	assert_true(server_health_combine(huge) <= 1.0);
	/* A decoded report goes through the same path. */
	struct agent_load report = { .host_id = 1, .fixed = { 10000, 0, 0, 0, 0 } };
	server_health_load_report(h, 0, &report, 300);
	assert_true(fabs(rec.events[2].load - 0.935) < 1e-12);
	server_health_load(h, 7, fine, 300);
	assert_int_equal(counter_value(h, "bad_server"), 1);
	assert_int_equal(rec.count, 3);
	server_health_destroy(h);
}

/* One saturated resource makes the server look nearly full (above the
 * default T2 = 0.8), whatever the others read; equal components give that
 * value; more load on any component never lowers the combined load. */
static void test_combine_bottleneck(void **state)
{
	(void)state;
	const double cpu_full[AGENT_LOAD_COMPONENTS] = { 1.0, 0.0, 0.0, 0.0, 0.0 };
	const double backlog_full[AGENT_LOAD_COMPONENTS] = { 0.0, 0.0, 0.0, 0.0, 1.0 };
	const double idle[AGENT_LOAD_COMPONENTS] = { 0 };
	assert_true(server_health_combine(cpu_full) >= 0.9);
	assert_true(server_health_combine(cpu_full) > 0.8);
	assert_true(server_health_combine(backlog_full) >= 0.9);
	assert_true(server_health_combine(idle) == 0.0);
	for (double v = 0.0; v <= 1.0; v += 0.125) {
		const double same[AGENT_LOAD_COMPONENTS] = { v, v, v, v, v };
		assert_true(fabs(server_health_combine(same) - v) < 1e-12);
	}
	/* Monotonic in every component, and within 0..1. */
	uint32_t rng = 12345;
	for (int round = 0; round < 2000; round++) {
		double c[AGENT_LOAD_COMPONENTS], more[AGENT_LOAD_COMPONENTS];
		for (unsigned i = 0; i < AGENT_LOAD_COMPONENTS; i++) {
			rng = rng * 1103515245u + 12345u;
			c[i] = (double)(rng >> 16 & 0x7fff) / 32767.0;
		}
		memcpy(more, c, sizeof(c));
		rng = rng * 1103515245u + 12345u;
		unsigned which = (rng >> 16) % AGENT_LOAD_COMPONENTS;
		more[which] = c[which] + (1.0 - c[which]) * 0.5;
		double a = server_health_combine(c), b = server_health_combine(more);
		assert_true(a >= 0.0 && a <= 1.0 && b >= 0.0 && b <= 1.0);
		assert_true(b >= a - 1e-12);
		assert_true(a >= server_health_combine_counted(c, 1u << which) * 0.9 - 1e-12);
	}
}

/* Components the agent does not count (--components) take no part: not in
 * the maximum, not in the mean, not clamped or counted as NaN; on the wire
 * they are AGENT_LOAD_NOT_REPORTED, which the decoder accepts (any other
 * value above the scale is still refused). A report with nothing counted is
 * ignored and counted. */
static void test_uncounted_components(void **state)
{
	(void)state;
	struct server_health *h = make();
	struct server_health_info info;
	const double c[AGENT_LOAD_COMPONENTS] = { NAN, 1.0, 1.0, 1.0, 0.7 };
	const unsigned backlog_only = 1u << AGENT_LOAD_BACKLOG;
	assert_true(fabs(server_health_combine_counted(c, backlog_only) - 0.7) < 1e-12);
	assert_true(server_health_combine_counted(c, 0) == 0.0);
	server_health_load_counted(h, 0, c, backlog_only, 100);
	assert_int_equal(rec.count, 1);
	assert_true(fabs(rec.events[0].load - 0.7) < 1e-12);
	assert_int_equal(rec.events[0].counted, backlog_only);
	assert_true(rec.events[0].components[AGENT_LOAD_CPU] == 0.0);
	assert_true(rec.events[0].components[AGENT_LOAD_MEMORY] == 0.0);
	assert_int_equal(counter_value(h, "load_nan"), 0);
	assert_int_equal(counter_value(h, "load_clamped"), 0);

	/* Through the wire: cpu and backlog counted, the rest not reported. */
	struct agent_load report = { .host_id = 2,
				     .fixed = { 2000, AGENT_LOAD_NOT_REPORTED, AGENT_LOAD_NOT_REPORTED,
						AGENT_LOAD_NOT_REPORTED, 9000 } }, decoded;
	uint8_t wire[AGENT_LOAD_SIZE];
	assert_int_equal(agent_load_encode(&report, wire, sizeof(wire)), AGENT_LOAD_SIZE);
	assert_int_equal(agent_load_decode(wire, sizeof(wire), &decoded), COUNTER_NONE);
	assert_int_equal(decoded.fixed[AGENT_LOAD_MEMORY], AGENT_LOAD_NOT_REPORTED);
	assert_true(isnan(agent_load_from_fixed(AGENT_LOAD_NOT_REPORTED)));
	server_health_load_report(h, 1, &decoded, 200);
	assert_int_equal(rec.count, 2);
	assert_int_equal(rec.events[1].counted, (1u << AGENT_LOAD_CPU) | (1u << AGENT_LOAD_BACKLOG));
	/* 0.9 * 0.9 + 0.1 * (0.35 * 0.2 + 0.25 * 0.9) / 0.6 */
	assert_true(fabs(rec.events[1].load - (0.81 + 0.1 * (0.07 + 0.225) / 0.6)) < 1e-12);
	assert_true(server_health_get(h, 1, 200, &info));
	assert_int_equal(info.counted, (1u << AGENT_LOAD_CPU) | (1u << AGENT_LOAD_BACKLOG));
	assert_true(info.has_load);

	/* A value above the scale that is not the marker is still refused. */
	report.fixed[AGENT_LOAD_IO] = AGENT_LOAD_NOT_REPORTED - 1;
	agent_load_encode(&report, wire, sizeof(wire));
	assert_string_equal(counter_name(agent_load_decode(wire, sizeof(wire), &decoded)), "agent_load_out_of_range");

	/* Nothing counted: no event, counted as load_empty. */
	struct agent_load none = { .host_id = 3 };
	for (unsigned i = 0; i < AGENT_LOAD_COMPONENTS; i++)
		none.fixed[i] = AGENT_LOAD_NOT_REPORTED;
	server_health_load_report(h, 2, &none, 300);
	assert_int_equal(rec.count, 2);
	assert_int_equal(counter_value(h, "load_empty"), 1);
	assert_true(server_health_get(h, 2, 300, &info));
	assert_false(info.has_load);
	server_health_destroy(h);
}

static void test_sequence_bookkeeping(void **state)
{
	(void)state;
	struct server_health *h = make();
	struct server_health_info info;
	struct agent_heartbeat hb = { .host_id = 1, .flag = AGENT_UP, .timestamp = 1 };
	uint16_t seqs[] = { 65533, 65534, 1 };  /* wraps; 65535 and 0 lost */
	for (unsigned i = 0; i < 3; i++) {
		hb.seq = seqs[i];
		server_health_heartbeat(h, 0, &hb, 1000 * (i + 1), WALL0);
	}
	assert_true(server_health_get(h, 0, 3000, &info));
	assert_int_equal(info.lost, 2);
	assert_int_equal(info.heartbeats, 3);
	/* A late APP_DOWN from before is ignored, not acted on. */
	hb.seq = 65535;
	hb.flag = AGENT_APP_DOWN;
	server_health_heartbeat(h, 0, &hb, 3100, WALL0);
	assert_true(server_health_available(h, 0));
	assert_int_equal(counter_value(h, "heartbeats_reordered"), 1);
	/* A restarted agent (far back) is accepted. */
	hb.seq = 30000;
	hb.flag = AGENT_UP;
	server_health_heartbeat(h, 0, &hb, 4000, WALL0);
	assert_int_equal(counter_value(h, "agent_restarts"), 1);
	assert_true(server_health_get(h, 0, 4000, &info));
	assert_int_equal(info.last_seq, 30000);
	server_health_heartbeat(h, 5, &hb, 4000, WALL0);
	assert_int_equal(counter_value(h, "bad_server"), 1);
	server_health_destroy(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_starts_available_full_weight),
		cmocka_unit_test(test_failure_after_exactly_n_misses),
		cmocka_unit_test(test_never_heard_fails_after_n_intervals),
		cmocka_unit_test(test_new_server_joins_without_hold_down),
		cmocka_unit_test(test_drain_then_planned_failure),
		cmocka_unit_test(test_undrain_comes_back_with_slow_start),
		cmocka_unit_test(test_app_down),
		cmocka_unit_test(test_recovery_hysteresis),
		cmocka_unit_test(test_flapping_never_readmitted),
		cmocka_unit_test(test_flapping_by_silence_doubles_hold_down),
		cmocka_unit_test(test_slow_start_ramp),
		cmocka_unit_test(test_load_clamping),
		cmocka_unit_test(test_combine_bottleneck),
		cmocka_unit_test(test_uncounted_components),
		cmocka_unit_test(test_sequence_bookkeeping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
