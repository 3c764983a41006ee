/* test_select.c - unit tests for server selection: weighted round-robin,
 * least sessions, rendezvous hashing and the shell forecast. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "engine/config.h"
#include "engine/select.h"

#define EPSILON 1e-9

/* Filled by hand rather than through sara_config_defaults(), so these tests
 * depend only on the fields the selector reads. */
static void make_config(struct sara_config *cfg, enum selection_algorithm algorithm,
			const double *weights, unsigned count)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->name, sizeof(cfg->name), "test-cluster");
	cfg->server_count = count;
	for (unsigned i = 0; i < count; i++) {
		snprintf(cfg->servers[i].id, sizeof(cfg->servers[i].id), "s%u", i + 1);
		cfg->servers[i].mark = i + 1;
		cfg->servers[i].table = 101 + i;
		cfg->servers[i].weight = weights[i];
	}
	cfg->selection.algorithm = algorithm;
	cfg->selection.window = 8;
}

static struct selector *make_selector(enum selection_algorithm algorithm, const double *weights,
				      unsigned count)
{
	struct sara_config cfg;
	struct selector *sel;

	make_config(&cfg, algorithm, weights, count);
	sel = selector_create(&cfg);
	assert_non_null(sel);
	return sel;
}

static int pick_key(struct selector *sel, unsigned n)
{
	char key[32];
	int len = snprintf(key, sizeof(key), "call-%u@example.org", n);
	return selector_pick(sel, key, (size_t)len);
}

static void test_create_rejects_bad_weights(void **state)
{
	const double weights[] = { 1, 0 };
	struct sara_config cfg;

	(void)state;
	make_config(&cfg, SELECT_ROUND_ROBIN, weights, 2);
	assert_null(selector_create(&cfg));
	cfg.servers[1].weight = -1;
	assert_null(selector_create(&cfg));
	assert_null(selector_create(NULL));
	selector_destroy(NULL);
}

static void test_round_robin_smooth_weights(void **state)
{
	const double weights[] = { 1, 2, 1 };
	const int expected[] = { 1, 0, 2, 1 }; /* nginx smooth WRR for 1:2:1 */
	struct selector *sel = make_selector(SELECT_ROUND_ROBIN, weights, 3);
	unsigned counts[3] = { 0 };

	(void)state;
	for (unsigned i = 0; i < 400; i++) {
		int server = selector_pick(sel, NULL, 0);
		assert_int_equal(server, expected[i % 4]);
		counts[server]++;
	}
	assert_int_equal(counts[0], 100);
	assert_int_equal(counts[1], 200);
	assert_int_equal(counts[2], 100);
	selector_destroy(sel);
}

static void test_round_robin_skips_unavailable(void **state)
{
	const double weights[] = { 1, 2, 1 };
	struct selector *sel = make_selector(SELECT_ROUND_ROBIN, weights, 3);
	unsigned counts[3] = { 0 };

	(void)state;
	selector_set_available(sel, 1, false);
	assert_false(selector_is_available(sel, 1));
	for (unsigned i = 0; i < 100; i++)
		counts[selector_pick(sel, NULL, 0)]++;
	assert_int_equal(counts[0], 50);
	assert_int_equal(counts[1], 0);
	assert_int_equal(counts[2], 50);
	selector_set_available(sel, 1, true);
	memset(counts, 0, sizeof(counts));
	for (unsigned i = 0; i < 400; i++)
		counts[selector_pick(sel, NULL, 0)]++;
	assert_int_equal(counts[1], 200);
	selector_destroy(sel);
}

static void test_least_sessions_weighted(void **state)
{
	const double weights[] = { 1, 2 };
	struct selector *sel = make_selector(SELECT_LEAST_SESSIONS, weights, 2);

	(void)state;
	/* A tie goes to the lowest index. */
	assert_int_equal(selector_pick(sel, NULL, 0), 0);
	for (unsigned i = 0; i < 300; i++)
		selector_session_added(sel, (unsigned)selector_pick(sel, NULL, 0));
	assert_int_equal(selector_sessions(sel, 0), 100);
	assert_int_equal(selector_sessions(sel, 1), 200);
	for (unsigned i = 0; i < 150; i++)
		selector_session_removed(sel, 1);
	assert_int_equal(selector_pick(sel, NULL, 0), 1); /* 100/1 vs 50/2 */
	selector_set_available(sel, 1, false);
	assert_int_equal(selector_pick(sel, NULL, 0), 0);
	selector_destroy(sel);
}

/* call-limit: calls fill each server up to limit * weight, the one with
 * the most room first; then SELECT_ALL_FULL, and -1 with none available. */
static void test_pick_below_limit(void **state)
{
	const double weights[] = { 1, 2 };
	struct selector *sel = make_selector(SELECT_ROUND_ROBIN, weights, 2);
	int server;

	(void)state;
	for (unsigned i = 0; i < 9; i++) {
		server = selector_pick_below_limit(sel, 3);
		assert_true(server >= 0);
		selector_call_added(sel, (unsigned)server);
	}
	assert_int_equal(selector_calls(sel, 0), 3);
	assert_int_equal(selector_calls(sel, 1), 6);
	assert_int_equal(selector_pick_below_limit(sel, 3), SELECT_ALL_FULL);
	selector_call_removed(sel, 0);
	assert_int_equal(selector_pick_below_limit(sel, 3), 0);
	selector_set_available(sel, 0, false);
	assert_int_equal(selector_pick_below_limit(sel, 3), SELECT_ALL_FULL);
	selector_set_available(sel, 1, false);
	assert_int_equal(selector_pick_below_limit(sel, 3), -1);
	selector_call_removed(sel, 1);
	assert_int_equal(selector_calls(sel, 1), 5);
	for (unsigned i = 0; i < 10; i++)
		selector_call_removed(sel, 0);
	assert_int_equal(selector_calls(sel, 0), 0);
	selector_destroy(sel);
}

static void test_sessions_never_underflow(void **state)
{
	const double weights[] = { 1 };
	struct selector *sel = make_selector(SELECT_LEAST_SESSIONS, weights, 1);

	(void)state;
	selector_session_removed(sel, 0);
	assert_int_equal(selector_sessions(sel, 0), 0);
	selector_session_added(sel, 0);
	selector_session_removed(sel, 0);
	selector_session_removed(sel, 0);
	assert_int_equal(selector_sessions(sel, 0), 0);
	/* Out-of-range indexes are ignored. */
	selector_session_added(sel, 7);
	assert_int_equal(selector_sessions(sel, 7), 0);
	assert_false(selector_is_available(sel, 7));
	assert_true(selector_estimate(sel, 7) < 0);
	selector_destroy(sel);
}

static void test_none_available(void **state)
{
	const double weights[] = { 1, 1 };
	const enum selection_algorithm algorithms[] = { SELECT_SHELL, SELECT_ROUND_ROBIN,
							SELECT_LEAST_SESSIONS, SELECT_HASH };

	(void)state;
	for (unsigned a = 0; a < 4; a++) {
		struct selector *sel = make_selector(algorithms[a], weights, 2);
		struct selector *empty = make_selector(algorithms[a], weights, 0);

		selector_report_load(sel, 0, 0.5);
		selector_set_available(sel, 0, false);
		selector_set_available(sel, 1, false);
		assert_int_equal(selector_pick(sel, "k", 1), -1);
		assert_int_equal(selector_pick(empty, "k", 1), -1);
		selector_set_available(sel, 1, true);
		assert_int_equal(selector_pick(sel, "k", 1), 1);
		selector_destroy(sel);
		selector_destroy(empty);
	}
}

static void test_hash_stable_and_agreed(void **state)
{
	const double weights[] = { 1, 1, 1, 1 };
	struct selector *a = make_selector(SELECT_HASH, weights, 4);
	struct selector *b = make_selector(SELECT_HASH, weights, 4);
	struct sara_config other;
	struct selector *c;
	unsigned differ = 0;

	(void)state;
	make_config(&other, SELECT_HASH, weights, 4);
	snprintf(other.name, sizeof(other.name), "another-cluster");
	c = selector_create(&other);
	assert_non_null(c);
	for (unsigned n = 0; n < 1000; n++) {
		int first = pick_key(a, n);
		assert_true(first >= 0 && first < 4);
		assert_int_equal(pick_key(a, n), first);
		assert_int_equal(pick_key(b, n), first);
		differ += pick_key(c, n) != first;
	}
	/* Another cluster name is another key: about 3/4 of keys differ. */
	assert_true(differ > 600 && differ < 900);
	/* A key is bytes, not a string: NUL bytes count. */
	assert_int_equal(selector_pick(a, "x\0y", 3), selector_pick(b, "x\0y", 3));
	selector_destroy(a);
	selector_destroy(b);
	selector_destroy(c);
}

static void test_hash_follows_server_id_not_position(void **state)
{
	const double weights[] = { 1, 1, 1 };
	struct sara_config cfg, swapped;
	struct selector *a, *b;

	(void)state;
	make_config(&cfg, SELECT_HASH, weights, 3);
	swapped = cfg;
	swapped.servers[0] = cfg.servers[2];
	swapped.servers[2] = cfg.servers[0];
	a = selector_create(&cfg);
	b = selector_create(&swapped);
	assert_non_null(a);
	assert_non_null(b);
	for (unsigned n = 0; n < 300; n++) {
		int server = pick_key(a, n);
		int other = pick_key(b, n);
		assert_string_equal(cfg.servers[server].id, swapped.servers[other].id);
	}
	selector_destroy(a);
	selector_destroy(b);
}

#define HASH_KEYS 10000

static void test_hash_removal_moves_only_its_keys(void **state)
{
	const double weights[] = { 1, 1, 1, 1 };
	struct selector *sel = make_selector(SELECT_HASH, weights, 4);
	static int before[HASH_KEYS];
	unsigned moved = 0;

	(void)state;
	for (unsigned n = 0; n < HASH_KEYS; n++)
		before[n] = pick_key(sel, n);
	selector_set_available(sel, 2, false);
	for (unsigned n = 0; n < HASH_KEYS; n++) {
		int after = pick_key(sel, n);
		assert_int_not_equal(after, 2);
		if (before[n] != 2)
			assert_int_equal(after, before[n]);
		else
			moved++;
	}
	assert_true(moved > 2200 && moved < 2800);
	/* It comes back: its keys return to it, nothing else moves. */
	selector_set_available(sel, 2, true);
	for (unsigned n = 0; n < HASH_KEYS; n++)
		assert_int_equal(pick_key(sel, n), before[n]);
	selector_destroy(sel);
}

static void test_hash_weights(void **state)
{
	const double weights[] = { 1, 3 };
	struct selector *sel = make_selector(SELECT_HASH, weights, 2);
	unsigned counts[2] = { 0 };

	(void)state;
	for (unsigned n = 0; n < HASH_KEYS; n++)
		counts[pick_key(sel, n)]++;
	/* Expect 2500 : 7500; a binomial sd is about 43. */
	assert_true(counts[0] > 2300 && counts[0] < 2700);
	assert_int_equal(counts[0] + counts[1], HASH_KEYS);
	selector_destroy(sel);
}

static void report_all(struct selector *sel, unsigned server, const double *loads, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		selector_report_load(sel, server, loads[i]);
}

static void test_shell_regression_forecast(void **state)
{
	const double weights[] = { 1, 1, 1, 1, 1, 1 };
	struct selector *sel = make_selector(SELECT_SHELL, weights, 6);
	const double rising[] = { 0.1, 0.2, 0.4 };
	const double linear[] = { 0.1, 0.2, 0.3 };

	(void)state;
	assert_true(selector_estimate(sel, 0) < 0); /* no samples yet */
	/* x = 0,1,2; mean y = 0.7/3; slope = 0.3/2 = 0.15; forecast at x = 3
	 * is 0.7/3 + 0.15 * 2 = 8/15; err = (8/15 - 0.4) / 0.4 = 1/3;
	 * estimate = 2/3 * 8/15 + 1/3 * 0.4 = 22/45. */
	report_all(sel, 0, rising, 3);
	assert_float_equal(selector_estimate(sel, 0), 22.0 / 45.0, EPSILON);
	/* forecast 0.4, measured 0.3, err 1/3: 2/3 * 0.4 + 1/3 * 0.3 = 11/30. */
	report_all(sel, 1, linear, 3);
	assert_float_equal(selector_estimate(sel, 1), 11.0 / 30.0, EPSILON);
	/* One sample: the forecast is the sample, err 0. */
	selector_report_load(sel, 2, 0.5);
	assert_float_equal(selector_estimate(sel, 2), 0.5, EPSILON);
	/* Loads outside 0..1 are clamped. */
	selector_report_load(sel, 3, 1.7);
	assert_float_equal(selector_estimate(sel, 3), 1.0, EPSILON);
	selector_report_load(sel, 3, -3);
	assert_float_equal(selector_estimate(sel, 3), 0.0, EPSILON);
	selector_destroy(sel);
}

static void test_shell_window_slides(void **state)
{
	const double weights[] = { 1 };
	struct sara_config cfg;
	struct selector *sel;
	const double series[] = { 0.9, 0.9, 0.1, 0.2, 0.4 };

	(void)state;
	make_config(&cfg, SELECT_SHELL, weights, 1);
	cfg.selection.window = 3;
	sel = selector_create(&cfg);
	assert_non_null(sel);
	/* Only the last three samples count: the same 22/45 as above. */
	report_all(sel, 0, series, 5);
	assert_float_equal(selector_estimate(sel, 0), 22.0 / 45.0, EPSILON);
	/* Keep sliding well past the ring's size: a flat series forecasts
	 * itself. */
	for (unsigned i = 0; i < 100; i++)
		selector_report_load(sel, 0, 0.25);
	assert_float_equal(selector_estimate(sel, 0), 0.25, EPSILON);
	selector_destroy(sel);
}

static void test_shell_err_and_clamps(void **state)
{
	const double weights[] = { 1, 1, 1, 1, 1 };
	struct selector *sel = make_selector(SELECT_SHELL, weights, 5);
	const double falling_to_zero[] = { 0.4, 0.2, 0.0 };
	const double spike[] = { 0.0, 0.6, 0.0 };
	const double saturating[] = { 0.8, 0.9, 1.0 };
	const double falling[] = { 0.5, 0.3, 0.1 };
	const double gentle[] = { 0.0, 0.05, 0.1 };

	(void)state;
	/* forecast -0.2 clamps to 0; measured 0 and forecast 0: err 0. */
	report_all(sel, 0, falling_to_zero, 3);
	assert_float_equal(selector_estimate(sel, 0), 0.0, EPSILON);
	/* slope 0, forecast 0.2, measured 0: err 1, estimate = measured. */
	report_all(sel, 1, spike, 3);
	assert_float_equal(selector_estimate(sel, 1), 0.0, EPSILON);
	/* forecast 1.1 clamps to 1 = measured: err 0. */
	report_all(sel, 2, saturating, 3);
	assert_float_equal(selector_estimate(sel, 2), 1.0, EPSILON);
	/* forecast -0.1 -> 0, measured 0.1: err 1 (clamped), estimate 0.1. */
	report_all(sel, 3, falling, 3);
	assert_float_equal(selector_estimate(sel, 3), 0.1, EPSILON);
	/* forecast 0.15, measured 0.1: err 0.5, estimate 0.125. */
	report_all(sel, 4, gentle, 3);
	assert_float_equal(selector_estimate(sel, 4), 0.125, EPSILON);
	selector_destroy(sel);
}

static void test_shell_picks_lowest_estimate_per_weight(void **state)
{
	const double weights[] = { 1, 2, 1 };
	struct selector *sel = make_selector(SELECT_SHELL, weights, 3);

	(void)state;
	/* Flat series: estimates 0.5, 0.8, 0.3; per weight 0.5, 0.4, 0.3. */
	for (unsigned i = 0; i < 4; i++) {
		selector_report_load(sel, 0, 0.5);
		selector_report_load(sel, 1, 0.8);
		selector_report_load(sel, 2, 0.3);
	}
	assert_int_equal(selector_pick(sel, NULL, 0), 2);
	selector_set_available(sel, 2, false);
	assert_int_equal(selector_pick(sel, NULL, 0), 1);
	/* A forecast, not the last value: server 0 falls fast. */
	selector_report_load(sel, 0, 0.45);
	selector_report_load(sel, 0, 0.3);
	selector_report_load(sel, 0, 0.1);
	assert_true(selector_estimate(sel, 0) < 0.4);
	assert_int_equal(selector_pick(sel, NULL, 0), 0);
	selector_destroy(sel);
}

static void test_shell_fallbacks(void **state)
{
	const double weights[] = { 1, 1, 2 };
	struct selector *sel = make_selector(SELECT_SHELL, weights, 3);

	(void)state;
	/* No samples anywhere: least sessions per weight. */
	for (unsigned i = 0; i < 3; i++)
		selector_session_added(sel, 0);
	for (unsigned i = 0; i < 2; i++)
		selector_session_added(sel, 1);
	for (unsigned i = 0; i < 3; i++)
		selector_session_added(sel, 2);
	assert_int_equal(selector_pick(sel, NULL, 0), 2); /* 3/2 < 2/1 < 3/1 */
	selector_session_added(sel, 2);
	assert_int_equal(selector_pick(sel, NULL, 0), 1); /* 2/1 = 4/2: lowest index */
	selector_session_added(sel, 2);
	/* Samples only on an unavailable server: still the fallback. */
	selector_report_load(sel, 1, 0.1);
	selector_set_available(sel, 1, false);
	assert_int_equal(selector_pick(sel, NULL, 0), 2); /* 5/2 < 3/1 */
	/* Mixed: 1 and 2 have samples; 0 has none and counts as idle. */
	selector_set_available(sel, 1, true);
	selector_report_load(sel, 2, 0.2);
	selector_report_load(sel, 2, 0.2);
	assert_int_equal(selector_pick(sel, NULL, 0), 0);
	/* Server 1's forecast falls to 0 (samples 0.1, 0, 0): it ties with
	 * the sample-less 0 and the fewer sessions per weight win (2 < 3). */
	selector_report_load(sel, 1, 0.0);
	selector_report_load(sel, 1, 0.0);
	assert_float_equal(selector_estimate(sel, 1), 0.0, EPSILON);
	assert_int_equal(selector_pick(sel, NULL, 0), 1);
	selector_destroy(sel);
}

/* Slow start: a joining server that would win every pick (it reports no
 * load) takes only factor of them; the rest go to the next best. */
static void test_shell_slow_start_credit(void **state)
{
	const double weights[3] = { 1, 1, 1 };
	struct selector *sel = make_selector(SELECT_SHELL, weights, 3);
	unsigned picks[3] = { 0 };

	(void)state;
	selector_report_load(sel, 0, 0.5);
	selector_report_load(sel, 1, 0.5);
	selector_report_load(sel, 2, 0.0);
	selector_set_weight_factor(sel, 2, 0.25);
	assert_true(fabs(selector_weight_factor(sel, 2) - 0.25) < EPSILON);
	for (unsigned i = 0; i < 400; i++)
		picks[selector_pick(sel, "k", 1)]++;
	assert_int_equal(picks[2], 100);
	assert_int_equal(picks[0] + picks[1], 300);
	/* The ramp over: it wins them all again (its load says it is idle). */
	selector_set_weight_factor(sel, 2, 1.0);
	memset(picks, 0, sizeof(picks));
	for (unsigned i = 0; i < 10; i++)
		picks[selector_pick(sel, "k", 1)]++;
	assert_int_equal(picks[2], 10);
	/* Out-of-range factors are clamped, NaN ignored. */
	selector_set_weight_factor(sel, 2, 7.0);
	assert_true(fabs(selector_weight_factor(sel, 2) - 1.0) < EPSILON);
	selector_set_weight_factor(sel, 2, -1.0);
	assert_true(fabs(selector_weight_factor(sel, 2)) < EPSILON);
	selector_set_weight_factor(sel, 2, NAN);
	assert_true(fabs(selector_weight_factor(sel, 2)) < EPSILON);
	selector_destroy(sel);
}

/* Slow start in the other algorithms: the effective weight. */
static void test_slow_start_weighted_algorithms(void **state)
{
	const double weights[2] = { 1, 1 };
	struct selector *sel = make_selector(SELECT_ROUND_ROBIN, weights, 2);
	unsigned picks[2] = { 0 };

	(void)state;
	selector_set_weight_factor(sel, 1, 0.25);
	for (unsigned i = 0; i < 500; i++)
		picks[selector_pick(sel, NULL, 0)]++;
	assert_int_equal(picks[1], 100);  /* 0.25 / 1.25 of the picks */
	selector_destroy(sel);
}

/* A lying agent (load 0 forever) cannot pull more than its capped share. */
static void test_shell_share_cap(void **state)
{
	const double weights[3] = { 1, 1, 1 };
	struct selector *sel = make_selector(SELECT_SHELL, weights, 3);
	unsigned picks[3] = { 0 };

	(void)state;
	selector_report_load(sel, 0, 0.9);
	selector_report_load(sel, 1, 0.0);
	selector_report_load(sel, 2, 0.6);
	for (unsigned i = 0; i < 3000; i++) {
		int server = selector_pick(sel, NULL, 0);
		assert_true(server >= 0);
		picks[server]++;
		selector_session_added(sel, (unsigned)server);
	}
	/* Server 1 (0.0) alone would take all 3000: capped at twice its share
	 * (2 * 1/3 of the sessions) plus the slack. */
	assert_true(picks[1] <= (unsigned)(SELECT_SHELL_SHARE_CAP * 3000 / 3 + SELECT_SHELL_SHARE_SLACK));
	assert_true(picks[1] >= 1900);
	assert_true(picks[0] + picks[2] >= 900);
	selector_destroy(sel);
}

/* Between two reports, the sessions shell places count against their
 * server at its load per session, so one report's idlest server does not
 * take every new session of the interval; a new report starts afresh. */
static void test_shell_no_herding_between_reports(void **state)
{
	const double weights[3] = { 1, 1, 1 };
	struct selector *sel = make_selector(SELECT_SHELL, weights, 3);
	unsigned picks[3] = { 0 };

	(void)state;
	for (unsigned s = 0; s < 3; s++)
		for (unsigned i = 0; i < 100; i++)
			selector_session_added(sel, s);
	selector_report_load(sel, 0, 0.50); /* 0.005 per session */
	selector_report_load(sel, 1, 0.52);
	selector_report_load(sel, 2, 0.60); /* 0.006 per session */
	for (unsigned i = 0; i < 30; i++) {
		int server = selector_pick(sel, NULL, 0);
		assert_true(server >= 0);
		picks[server]++;
		selector_session_added(sel, (unsigned)server);
	}
	/* 0 and 1 level out at 0.52 + 0.005 k and share the 30 picks; 2 stays
	 * above them (0.60 is reached only after 16 more picks each). */
	assert_true(picks[0] >= 14 && picks[0] <= 17);
	assert_true(picks[1] >= 13 && picks[1] <= 16);
	assert_int_equal(picks[2], 0);
	/* A new report for server 0 forgets what was placed on it. */
	selector_report_load(sel, 0, 0.40);
	assert_int_equal(selector_pick(sel, NULL, 0), 0);
	selector_destroy(sel);
}

/* Re-pinning spreads by sessions per weight, ignoring load forecasts. */
static void test_pick_even(void **state)
{
	const double weights[3] = { 1, 2, 1 };
	struct selector *sel = make_selector(SELECT_SHELL, weights, 3);
	unsigned picks[3] = { 0 };

	(void)state;
	selector_report_load(sel, 0, 0.0);  /* shell would pick it every time */
	selector_report_load(sel, 1, 0.9);
	selector_report_load(sel, 2, 0.9);
	selector_set_available(sel, 2, false);
	for (unsigned i = 0; i < 30; i++) {
		int server = selector_pick_even(sel);
		assert_true(server == 0 || server == 1);
		picks[server]++;
		selector_session_added(sel, (unsigned)server);
	}
	assert_int_equal(picks[0], 10);
	assert_int_equal(picks[1], 20);
	assert_int_equal(picks[2], 0);
	selector_set_available(sel, 0, false);
	selector_set_available(sel, 1, false);
	assert_int_equal(selector_pick_even(sel), -1);
	selector_destroy(sel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_rejects_bad_weights),
		cmocka_unit_test(test_round_robin_smooth_weights),
		cmocka_unit_test(test_pick_below_limit),
		cmocka_unit_test(test_round_robin_skips_unavailable),
		cmocka_unit_test(test_least_sessions_weighted),
		cmocka_unit_test(test_sessions_never_underflow),
		cmocka_unit_test(test_none_available),
		cmocka_unit_test(test_hash_stable_and_agreed),
		cmocka_unit_test(test_hash_follows_server_id_not_position),
		cmocka_unit_test(test_hash_removal_moves_only_its_keys),
		cmocka_unit_test(test_hash_weights),
		cmocka_unit_test(test_shell_regression_forecast),
		cmocka_unit_test(test_shell_window_slides),
		cmocka_unit_test(test_shell_err_and_clamps),
		cmocka_unit_test(test_shell_picks_lowest_estimate_per_weight),
		cmocka_unit_test(test_shell_fallbacks),
		cmocka_unit_test(test_shell_slow_start_credit),
		cmocka_unit_test(test_slow_start_weighted_algorithms),
		cmocka_unit_test(test_shell_share_cap),
		cmocka_unit_test(test_shell_no_herding_between_reports),
		cmocka_unit_test(test_pick_even),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
