/* test_admission.c - unit tests of SA2C (admission.h): eq (1) cluster load,
 * eq (2) zones and probabilities, eq (4) moving thresholds, bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/admission.h"
#include "engine/config.h"

#define EPSILON 1e-9
#define TRIALS 20000

/* The paper's SA2C (no ramp, no lead: the tests of those set them) with
 * T1 0.6, T2 0.8, T3 0.9, C 0.98. */
static void paper_config(struct sara_config *cfg, bool enabled, double alpha)
{
	sara_config_defaults(cfg);
	cfg->admission.enabled = enabled;
	cfg->admission.t1 = 0.6;
	cfg->admission.t2 = 0.8;
	cfg->admission.t3 = 0.9;
	cfg->admission.c = 0.98;
	cfg->admission.alpha = alpha;
	cfg->admission.degrade = true;   /* the paper's eq (2) for established sessions */
	cfg->admission.estimate = ADMISSION_ESTIMATE_LEAD;
	cfg->admission.reopen_s = 0;
	cfg->admission.lead_s = 0;
}

/* alpha 1 unless a test sets it. */
static void make_admission(struct admission *adm, bool enabled, double alpha)
{
	struct sara_config cfg;
	paper_config(&cfg, enabled, alpha);
	admission_init(adm, &cfg);
	admission_seed(adm, 42);
}

/* Every server at the same load: with alpha 1, l_c is exactly that load. */
static void report_uniform(struct admission *adm, uint64_t now_ms, double load)
{
	double loads[3] = { load, load, load };
	admission_report_load(adm, now_ms, loads, NULL, 3);
}

static unsigned refusals(struct admission *adm, enum admission_kind kind, unsigned trials)
{
	unsigned refused = 0;
	for (unsigned i = 0; i < trials; i++)
		if (!admission_decide(adm, kind))
			refused++;
	return refused;
}

/* A binomial count within 5 standard deviations of n*p (a fixed seed makes
 * it deterministic; the bound says the PRNG draws are used correctly). */
static void assert_binomial(unsigned count, unsigned n, double p)
{
	double mean = n * p, sd = sqrt(n * p * (1 - p));
	if (fabs(count - mean) > 5 * sd + 1) {
		print_error("count %u, expected %.1f +- %.1f\n", count, mean, 5 * sd);
		fail();
	}
}

static void test_no_report_admits_all(void **state)
{
	(void)state;
	struct admission adm;
	make_admission(&adm, true, 1.0);
	assert_int_equal(admission_zone(&adm), ADMISSION_ZONE_NORMAL);
	assert_int_equal(refusals(&adm, ADMIT_NEW_SESSION, 100), 0);
	assert_int_equal(refusals(&adm, ADMIT_ESTABLISHED, 100), 0);
	assert_int_equal(admission_count(&adm, ADMISSION_ADMITTED, ADMIT_NEW_SESSION, ADMISSION_ZONE_NORMAL), 100);
}

/* eq (1): (alpha * weighted mean + (1 - alpha) * weighted variance) / alpha. */
static void test_cluster_load_equation(void **state)
{
	(void)state;
	struct admission adm;
	double loads[2] = { 0.2, 0.6 };
	double weights[2] = { 1, 3 };

	make_admission(&adm, true, 0.5);
	admission_report_load(&adm, 1000, loads, NULL, 2);
	/* mean 0.4, variance 0.04 */
	assert_true(fabs(adm.cluster_load - (0.5 * 0.4 + 0.5 * 0.04) / 0.5) < EPSILON);

	make_admission(&adm, true, 0.25);
	admission_report_load(&adm, 1000, loads, weights, 2);
	/* weighted mean (0.2 + 1.8) / 4 = 0.5, variance (0.09 + 3 * 0.01) / 4 = 0.03 */
	assert_true(fabs(adm.cluster_load - (0.25 * 0.5 + 0.75 * 0.03) / 0.25) < EPSILON);
	assert_true(fabs(adm.load - adm.cluster_load) < EPSILON);
	assert_int_equal(adm.events[ADMISSION_EV_REPORT], 1);
}

/* x = max(l_d, l_c). */
static void test_dispatcher_load_counts(void **state)
{
	(void)state;
	struct admission adm;
	make_admission(&adm, true, 1.0);
	report_uniform(&adm, 1000, 0.3);
	admission_report_dispatcher_load(&adm, 0.7);
	assert_true(fabs(adm.load - 0.7) < EPSILON);
	assert_int_equal(admission_zone(&adm), ADMISSION_ZONE_SHED);
	admission_report_dispatcher_load(&adm, 0.1);
	assert_true(fabs(adm.load - 0.3) < EPSILON);
	assert_int_equal(admission_zone(&adm), ADMISSION_ZONE_NORMAL);
}

static void test_zones(void **state)
{
	(void)state;
	static const struct { double load; enum admission_zone zone; double p_new, p_est; } cases[] = {
		{ 0.0, ADMISSION_ZONE_NORMAL, 0, 0 },
		{ 0.6, ADMISSION_ZONE_NORMAL, 0, 0 },
		{ 0.7, ADMISSION_ZONE_SHED, 0.5, 0 },
		{ 0.8, ADMISSION_ZONE_SHED, 1.0, 0 },
		{ 0.85, ADMISSION_ZONE_CLOSED, 1, 0 },
		{ 0.9, ADMISSION_ZONE_CLOSED, 1, 0 },
		{ 0.94, ADMISSION_ZONE_DEGRADE, 1, 0.5 },
		{ 0.98, ADMISSION_ZONE_FULL, 1, 1 },
		{ 1.0, ADMISSION_ZONE_FULL, 1, 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct admission adm;
		/* a fresh controller each time: thresholds not moved yet */
		make_admission(&adm, true, 1.0);
		admission_report_dispatcher_load(&adm, cases[i].load);
		assert_int_equal(admission_zone(&adm), cases[i].zone);
		assert_true(fabs(admission_refusal_probability(&adm, ADMIT_NEW_SESSION) - cases[i].p_new) < EPSILON);
		assert_true(fabs(admission_refusal_probability(&adm, ADMIT_ESTABLISHED) - cases[i].p_est) < EPSILON);
	}
}

/* Between T1 and T2 new sessions are refused with p; established pass. */
static void test_shed_probability(void **state)
{
	(void)state;
	static const double loads[] = { 0.62, 0.65, 0.7, 0.75, 0.79 };
	for (size_t i = 0; i < sizeof(loads) / sizeof(loads[0]); i++) {
		struct admission adm;
		make_admission(&adm, true, 1.0);
		admission_report_dispatcher_load(&adm, loads[i]);
		double p = (loads[i] - 0.6) / (0.8 - 0.6);
		unsigned refused = refusals(&adm, ADMIT_NEW_SESSION, TRIALS);
		assert_binomial(refused, TRIALS, p);
		assert_int_equal(refusals(&adm, ADMIT_ESTABLISHED, 1000), 0);
		assert_int_equal(admission_count(&adm, ADMISSION_REFUSED, ADMIT_NEW_SESSION, ADMISSION_ZONE_SHED), refused);
		assert_int_equal(admission_count(&adm, ADMISSION_ADMITTED, ADMIT_NEW_SESSION, ADMISSION_ZONE_SHED),
				 TRIALS - refused);
		assert_int_equal(admission_count(&adm, ADMISSION_ADMITTED, ADMIT_ESTABLISHED, ADMISSION_ZONE_SHED), 1000);
	}
}

/* Between T2 and T3 no new session, every established one; between T3
 * and C established ones refused with p; at C and above all refused. */
static void test_closed_degrade_full(void **state)
{
	(void)state;
	struct admission adm;

	make_admission(&adm, true, 1.0);
	admission_report_dispatcher_load(&adm, 0.85);
	assert_int_equal(refusals(&adm, ADMIT_NEW_SESSION, 1000), 1000);
	assert_int_equal(refusals(&adm, ADMIT_ESTABLISHED, 1000), 0);
	assert_int_equal(admission_count(&adm, ADMISSION_REFUSED, ADMIT_NEW_SESSION, ADMISSION_ZONE_CLOSED), 1000);
	assert_int_equal(admission_count(&adm, ADMISSION_ADMITTED, ADMIT_ESTABLISHED, ADMISSION_ZONE_CLOSED), 1000);

	static const double degrade[] = { 0.91, 0.92, 0.94, 0.96, 0.97 };
	for (size_t i = 0; i < sizeof(degrade) / sizeof(degrade[0]); i++) {
		make_admission(&adm, true, 1.0);
		admission_report_dispatcher_load(&adm, degrade[i]);
		double p = (degrade[i] - 0.9) / (0.98 - 0.9);
		unsigned refused = refusals(&adm, ADMIT_ESTABLISHED, TRIALS);
		assert_binomial(refused, TRIALS, p);
		assert_int_equal(admission_count(&adm, ADMISSION_REFUSED, ADMIT_ESTABLISHED, ADMISSION_ZONE_DEGRADE),
				 refused);
		assert_int_equal(refusals(&adm, ADMIT_NEW_SESSION, 1000), 1000);
	}

	make_admission(&adm, true, 1.0);
	admission_report_dispatcher_load(&adm, 0.99);
	assert_int_equal(refusals(&adm, ADMIT_ESTABLISHED, 1000), 1000);
	assert_int_equal(refusals(&adm, ADMIT_NEW_SESSION, 1000), 1000);
	assert_int_equal(admission_count(&adm, ADMISSION_REFUSED, ADMIT_ESTABLISHED, ADMISSION_ZONE_FULL), 1000);
}

/* The same seed gives the same decisions. */
/* admission.degrade false (the default): established sessions are never
 * refused, at C or above; new ones are as before. */
static void test_no_degrade_keeps_established(void **state)
{
	struct sara_config cfg;
	struct admission adm;
	(void)state;
	sara_config_defaults(&cfg);
	cfg.admission.enabled = true;
	cfg.admission.estimate = ADMISSION_ESTIMATE_LEAD;   /* new sessions read x itself */
	assert_false(cfg.admission.degrade);
	admission_init(&adm, &cfg);
	report_uniform(&adm, 1000, 1.0);
	assert_int_equal(admission_zone(&adm), ADMISSION_ZONE_FULL);
	assert_float_equal(admission_refusal_probability(&adm, ADMIT_ESTABLISHED), 0.0, EPSILON);
	assert_float_equal(admission_refusal_probability(&adm, ADMIT_NEW_SESSION), 1.0, EPSILON);
	assert_int_equal(refusals(&adm, ADMIT_ESTABLISHED, 100), 0);
	assert_int_equal(refusals(&adm, ADMIT_NEW_SESSION, 100), 100);
}

static void test_seed_is_deterministic(void **state)
{
	(void)state;
	struct admission a, b;
	make_admission(&a, true, 1.0);
	make_admission(&b, true, 1.0);
	admission_report_dispatcher_load(&a, 0.7);
	admission_report_dispatcher_load(&b, 0.7);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(admission_decide(&a, ADMIT_NEW_SESSION), admission_decide(&b, ADMIT_NEW_SESSION));
	admission_seed(&b, 43);
	bool all_same = true;
	for (int i = 0; i < 1000; i++)
		all_same &= admission_decide(&a, ADMIT_NEW_SESSION) == admission_decide(&b, ADMIT_NEW_SESSION);
	assert_false(all_same);
}

/* The reopening ramp: refusal of new sessions follows x up at once but
 * falls by at most elapsed / reopen_s per report; established sessions and
 * the paper's threshold resets are not affected. */
static void test_reopening_ramp(void **state)
{
	(void)state;
	struct admission adm;
	make_admission(&adm, true, 1.0);
	adm.reopen_s = 2.0;

	report_uniform(&adm, 1000, 0.5);
	assert_true(admission_refusal_probability(&adm, ADMIT_NEW_SESSION) == 0.0);
	report_uniform(&adm, 1200, 0.85); /* above T2: closed at once */
	assert_true(admission_refusal_probability(&adm, ADMIT_NEW_SESSION) == 1.0);
	report_uniform(&adm, 1400, 0.3); /* x far below T1: T2, T3 reset, 0.2 s of 2 s gone */
	assert_true(fabs(adm.current.t2 - 0.8) < EPSILON);
	assert_int_equal(admission_zone(&adm), ADMISSION_ZONE_NORMAL);
	assert_true(fabs(admission_refusal_probability(&adm, ADMIT_NEW_SESSION) - 0.9) < 1e-9);
	assert_true(admission_refusal_probability(&adm, ADMIT_ESTABLISHED) == 0.0);
	assert_binomial(refusals(&adm, ADMIT_NEW_SESSION, 10000), 10000, 0.9);
	assert_true(admission_count(&adm, ADMISSION_REFUSED, ADMIT_NEW_SESSION, ADMISSION_ZONE_NORMAL) > 0);
	report_uniform(&adm, 2400, 0.3); /* 1.2 s of 2 s gone */
	assert_true(fabs(admission_refusal_probability(&adm, ADMIT_NEW_SESSION) - 0.4) < 1e-9);
	/* eq (2) above the ramp wins: x 0.75 with the reset T2 is p 0.75. */
	report_uniform(&adm, 2600, 0.75);
	assert_true(fabs(admission_refusal_probability(&adm, ADMIT_NEW_SESSION) - 0.75) < 1e-9);
	report_uniform(&adm, 6000, 0.3); /* long past the ramp */
	assert_true(admission_refusal_probability(&adm, ADMIT_NEW_SESSION) == 0.0);

	/* Disabled: nothing is refused, whatever the ramp holds. */
	report_uniform(&adm, 6200, 0.9);
	adm.enabled = false;
	assert_true(admission_refusal_probability(&adm, ADMIT_NEW_SESSION) == 0.0);
}

/* eq (4): above T2, T2 drops by the excess; above T3, T3 is multiplied by
 * (1 - excess); between T1 and T2 they hold; below T1 they reset. */
static void test_thresholds_move_and_reset(void **state)
{
	(void)state;
	struct admission adm;
	make_admission(&adm, true, 1.0);

	report_uniform(&adm, 1000, 0.85);
	assert_true(fabs(adm.current.t2 - 0.75) < EPSILON); /* 0.8 - 0.05 */
	assert_true(fabs(adm.current.t3 - 0.9) < EPSILON);  /* below T3: no move */
	assert_true(fabs(adm.current.t1 - 0.6) < EPSILON);
	assert_int_equal(adm.events[ADMISSION_EV_THRESHOLDS_MOVED], 1);

	report_uniform(&adm, 2000, 0.95);
	/* T2: 0.75 - 0.2 = 0.55, floored at T1 + 0.01; T3: 0.9 * (1 - 0.05) = 0.855 */
	assert_true(fabs(adm.current.t2 - 0.61) < EPSILON);
	assert_true(fabs(adm.current.t3 - 0.855) < EPSILON);
	assert_int_equal(admission_zone(&adm), ADMISSION_ZONE_DEGRADE);
	/* established sessions now degraded with (0.95 - 0.855) / (0.98 - 0.855) */
	assert_true(fabs(admission_refusal_probability(&adm, ADMIT_ESTABLISHED) - 0.095 / 0.125) < EPSILON);

	/* Load back between T1 and the moved T2: the thresholds hold, and the
	 * lower T2 sheds new sessions sooner than the configured one would. */
	report_uniform(&adm, 3000, 0.605);
	assert_true(fabs(adm.current.t2 - 0.61) < EPSILON);
	assert_true(fabs(adm.current.t3 - 0.855) < EPSILON);
	assert_true(fabs(admission_refusal_probability(&adm, ADMIT_NEW_SESSION) - 0.5) < 1e-6);
	report_uniform(&adm, 3500, 0.7);
	assert_int_equal(admission_zone(&adm), ADMISSION_ZONE_CLOSED);
	assert_true(fabs(adm.current.t2 - 0.61) < EPSILON); /* at its floor */

	/* Below T1: both back to the operator's values. */
	report_uniform(&adm, 4000, 0.5);
	assert_true(fabs(adm.current.t2 - 0.8) < EPSILON);
	assert_true(fabs(adm.current.t3 - 0.9) < EPSILON);
	assert_int_equal(adm.events[ADMISSION_EV_THRESHOLDS_RESET], 1);
	assert_int_equal(admission_zone(&adm), ADMISSION_ZONE_NORMAL);
}

/* However long the overload lasts, T1 < T2 < T3 < C. */
static void test_thresholds_stay_ordered(void **state)
{
	(void)state;
	struct admission adm;
	make_admission(&adm, true, 1.0);
	for (int i = 0; i < 200; i++) {
		report_uniform(&adm, 1000u + (uint64_t)i, 0.6 + 0.4 * ((i * 37) % 101) / 100.0);
		assert_true(adm.current.t1 < adm.current.t2);
		assert_true(adm.current.t2 < adm.current.t3);
		assert_true(adm.current.t3 < adm.current.c);
		double p_new = admission_refusal_probability(&adm, ADMIT_NEW_SESSION);
		double p_est = admission_refusal_probability(&adm, ADMIT_ESTABLISHED);
		assert_true(p_new >= 0 && p_new <= 1 && p_est >= 0 && p_est <= 1);
		/* established sessions are never favoured less than new ones */
		assert_true(p_est <= p_new);
	}
}

static void test_disabled_admits_all(void **state)
{
	(void)state;
	struct admission adm;
	make_admission(&adm, false, 1.0);
	report_uniform(&adm, 1000, 1.0);
	assert_int_equal(admission_zone(&adm), ADMISSION_ZONE_OFF);
	assert_int_equal(refusals(&adm, ADMIT_NEW_SESSION, 500), 0);
	assert_int_equal(refusals(&adm, ADMIT_ESTABLISHED, 500), 0);
	assert_int_equal(admission_count(&adm, ADMISSION_ADMITTED, ADMIT_NEW_SESSION, ADMISSION_ZONE_OFF), 500);
	assert_int_equal(admission_count(&adm, ADMISSION_ADMITTED, ADMIT_ESTABLISHED, ADMISSION_ZONE_OFF), 500);
	assert_true(admission_refusal_probability(&adm, ADMIT_NEW_SESSION) == 0.0);
}

/* Absurd loads: above 1 clamped, NaN / infinite / negative taken as 1, all
 * counted; a broken agent can pull l_c up by at most its weight's share. */
static void test_absurd_loads(void **state)
{
	(void)state;
	struct admission adm;
	double loads[4] = { 0.2, 7.5, NAN, -3 };
	double weights[4] = { 1, 1, 1, 1 };

	make_admission(&adm, true, 1.0);
	admission_report_load(&adm, 1000, loads, weights, 4);
	assert_true(fabs(adm.cluster_load - (0.2 + 1 + 1 + 1) / 4) < EPSILON);
	assert_int_equal(adm.events[ADMISSION_EV_LOAD_CLAMPED], 1);
	assert_int_equal(adm.events[ADMISSION_EV_LOAD_INVALID], 2);

	/* One agent of weight 1 among weight 9 reports infinity: l_c rises by
	 * at most 1/10, and admission refuses nothing that was fine before. */
	double loads2[2] = { 0.3, INFINITY };
	double weights2[2] = { 9, 1 };
	make_admission(&adm, true, 1.0);
	admission_report_load(&adm, 1000, loads2, weights2, 2);
	assert_true(fabs(adm.cluster_load - (0.9 * 0.3 + 0.1)) < EPSILON);
	assert_int_equal(admission_zone(&adm), ADMISSION_ZONE_NORMAL);
	assert_int_equal(adm.events[ADMISSION_EV_LOAD_INVALID], 1);

	/* Mean and variance of absurd values stay in 0..1 with any alpha. */
	double loads3[2] = { 0, 1e308 };
	make_admission(&adm, true, 0.0);
	admission_report_load(&adm, 1000, loads3, NULL, 2);
	assert_true(adm.cluster_load >= 0 && adm.cluster_load <= 1);
	assert_true(fabs(adm.cluster_load - 1.0) < EPSILON);  /* 4 * variance 0.25 */

	/* The dispatcher's own load goes through the same check. */
	admission_report_dispatcher_load(&adm, NAN);
	assert_true(adm.load == 1.0);
	assert_int_equal(admission_zone(&adm), ADMISSION_ZONE_FULL);
	assert_int_equal(adm.events[ADMISSION_EV_LOAD_INVALID], 1);
}

static void test_bad_reports_ignored(void **state)
{
	(void)state;
	struct admission adm;
	double weights[3] = { 0, NAN, -1 };
	double loads[3] = { 0.9, 0.9, 0.9 };

	make_admission(&adm, true, 1.0);
	report_uniform(&adm, 5000, 0.3);
	/* older than the last report */
	report_uniform(&adm, 4000, 0.99);
	assert_true(fabs(adm.load - 0.3) < EPSILON);
	assert_int_equal(adm.events[ADMISSION_EV_REPORT_STALE], 1);
	/* no server at all, or none with a usable weight */
	admission_report_load(&adm, 6000, loads, NULL, 0);
	admission_report_load(&adm, 6000, NULL, NULL, 3);
	admission_report_load(&adm, 6000, loads, weights, 3);
	assert_true(fabs(adm.load - 0.3) < EPSILON);
	assert_int_equal(adm.events[ADMISSION_EV_REPORT_EMPTY], 3);
	assert_int_equal(adm.events[ADMISSION_EV_WEIGHT_INVALID], 3);
	assert_int_equal(adm.events[ADMISSION_EV_REPORT], 1);
	/* a later report is taken, and so is one with the same timestamp */
	report_uniform(&adm, 6000, 0.7);
	assert_true(fabs(adm.load - 0.7) < EPSILON);
	report_uniform(&adm, 6000, 0.72);
	assert_true(fabs(adm.load - 0.72) < EPSILON);
	assert_int_equal(adm.events[ADMISSION_EV_REPORT_STALE], 1);
	/* an unknown kind gets the stricter (new session) rule */
	report_uniform(&adm, 7000, 0.85);
	assert_false(admission_decide(&adm, (enum admission_kind)7));
	assert_int_equal(admission_count(&adm, ADMISSION_REFUSED, ADMIT_NEW_SESSION, ADMISSION_ZONE_CLOSED), 1);
}

struct seen {
	unsigned calls;
	uint64_t sum;
	uint64_t refused_new_shed, load_clamped;
	bool names_ok;
};

static void collect(void *ctx, const struct counter_def *def, uint64_t value)
{
	struct seen *seen = ctx;
	seen->calls++;
	seen->sum += value;
	if (strncmp(def->name, "admission_", 10) != 0)
		seen->names_ok = false;
	if (strcmp(def->name, "admission_refused_new_shed") == 0)
		seen->refused_new_shed = value;
	if (strcmp(def->name, "admission_load_clamped") == 0)
		seen->load_clamped = value;
}

/* Lead: a cluster whose load shows 1 s late, each session admitted adding
 * 0.01 for 1 s (x at a report = 0.01 * the admissions 1 to 2 s before it),
 * reported every 200 ms while 10 new sessions a report are offered: 40
 * reports (8 s), x = 0.5 at the end and b learned as 0.01. */
struct lead_plant {
	struct admission adm;
	unsigned admitted[64];  /* per report interval */
	unsigned pending;       /* admitted since the last report */
	unsigned reports;
	uint64_t now;
};

static double plant_load(const struct lead_plant *plant)
{
	unsigned seen = 0;
	/* The intervals that ended 1000..1800 ms before this report (the
	 * newest, back 1, is the one this report closes). */
	for (unsigned back = 6; back <= 10; back++)
		if (plant->reports >= back)
			seen += plant->admitted[(plant->reports - back) % 64];
	return 0.01 * seen;
}

/* Offers offered new sessions; returns those admitted. */
static unsigned plant_offer(struct lead_plant *plant, unsigned offered)
{
	unsigned admitted = 0;
	for (unsigned i = 0; i < offered; i++)
		admitted += admission_decide(&plant->adm, ADMIT_NEW_SESSION);
	plant->pending += admitted;
	return admitted;
}

/* Offers offered new sessions, then reports; returns those admitted. */
static unsigned plant_step(struct lead_plant *plant, unsigned offered)
{
	unsigned admitted = plant_offer(plant, offered);
	plant->admitted[plant->reports % 64] = plant->pending;
	plant->pending = 0;
	plant->reports++;
	report_uniform(&plant->adm, plant->now, plant_load(plant));
	plant->now += 200;
	return admitted;
}

static void lead_plant_start(struct lead_plant *plant, double lead_s)
{
	struct sara_config cfg;
	memset(plant, 0, sizeof(*plant));
	plant->now = 1000;
	paper_config(&cfg, true, 1.0);
	cfg.admission.lead_s = lead_s;
	admission_init(&plant->adm, &cfg);
	admission_seed(&plant->adm, 42);
	for (unsigned report = 0; report < 40; report++)
		assert_int_equal(plant_step(plant, 10), 10);
	assert_float_equal(plant->adm.load, 0.5, 1e-9);
}

/* A burst of admissions raises x_new before any report shows it, so new
 * sessions are refused ahead of the load; established ones and the zone
 * still follow x. When admissions stop, x_new waits for x to fall. */
static void test_lead_predicts_admitted_load(void **state)
{
	struct lead_plant plant;
	struct admission *adm = &plant.adm;
	(void)state;
	lead_plant_start(&plant, 1.0);
	assert_float_equal(adm->load_per_session, 0.01, 1e-9);
	assert_float_equal(admission_new_session_load(adm), 0.5, 1e-9);
	/* Twice the steady rate before the next report: x_new reaches T1... */
	assert_int_equal(plant_offer(&plant, 10), 10);
	assert_float_equal(admission_new_session_load(adm), 0.6, 1e-9);
	assert_float_equal(admission_refusal_probability(adm, ADMIT_NEW_SESSION), 0.0, 1e-9);
	/* ...and beyond it each admission raises the refusal probability. */
	unsigned burst = plant_offer(&plant, 20);
	assert_true(burst > 0 && burst < 20);
	assert_float_equal(admission_new_session_load(adm), 0.6 + 0.01 * burst, 1e-9);
	assert_float_equal(admission_refusal_probability(adm, ADMIT_NEW_SESSION), 0.01 * burst / 0.2, 1e-9);
	assert_float_equal(admission_refusal_probability(adm, ADMIT_ESTABLISHED), 0.0, EPSILON);
	assert_int_equal(admission_zone(adm), ADMISSION_ZONE_NORMAL);
	/* Offered on: the reports refuse most new sessions while x, still
	 * 0.5, would admit them all; x never passes T2 (the paper's eq (2)
	 * would have let it climb to 0.6 + and close only then). */
	double highest = 0;
	unsigned admitted = 0;
	for (unsigned report = 0; report < 20; report++) {
		admitted += plant_step(&plant, 25);
		highest = fmax(highest, adm->load);
	}
	/* About what keeps x_new between T1 and T2 (12-16 a report), not
	 * the 25 offered, and x never past T2. */
	assert_in_range(admitted, 20 * 10, 20 * 17);
	assert_true(highest <= 0.8);
	/* Nothing offered: x_new is x until the load has gone. */
	for (unsigned report = 0; report < 10; report++) {
		plant_step(&plant, 0);
		assert_float_equal(admission_new_session_load(adm), adm->load, EPSILON);
	}
	assert_float_equal(adm->load, 0.0, EPSILON);
}

/* Rate estimate, reported every 200 ms with lead_s 1: admits, notes
 * answers, then reports x. */
static unsigned rate_interval(struct admission *adm, uint64_t *now, unsigned offered, unsigned answered, double x)
{
	unsigned admitted = 0;
	for (unsigned i = 0; i < offered; i++)
		admitted += admission_decide(adm, ADMIT_NEW_SESSION);
	for (unsigned i = 0; i < answered; i++)
		admission_note_answered(adm);
	*now += 200;
	admission_advance(adm, *now);
	report_uniform(adm, *now, x);
	return admitted;
}

/* Rate estimate: R starts at the first report above T1 as the rate the
 * servers answered over 2 s less 0.2 * (x - T1) / (1 - T1) of it; the bucket paces new sessions (x_new
 * from its fill) and refills at R; reports above T1 hold R at most at that
 * drain rate, without compounding; reports at or below T1 raise R only
 * while the pace binds; the zone and established sessions follow x. */
static void test_rate_estimate(void **state)
{
	struct sara_config cfg;
	struct admission adm;
	uint64_t now = 1000;
	double rate;
	(void)state;
	paper_config(&cfg, true, 1.0);
	cfg.admission.lead_s = 1.0;
	cfg.admission.estimate = ADMISSION_ESTIMATE_RATE;
	admission_init(&adm, &cfg);
	for (unsigned i = 0; i < 10; i++)   /* 2 s answering 20 a second, x below T1 */
		rate_interval(&adm, &now, 4, 4, 0.5);
	assert_float_equal(adm.rate_limit, 0.0, EPSILON);
	assert_float_equal(admission_new_session_load(&adm), 0.5, EPSILON);
	rate_interval(&adm, &now, 0, 4, 0.7);  /* R = 20 less DRAIN_MAX * 0.25 of it */
	double r0 = 20.0 * (1.0 - ADMISSION_RATE_DRAIN_MAX * 0.25), bucket = r0 * ADMISSION_RATE_BURST_S;
	assert_float_equal(adm.rate_limit, r0, 1e-9);
	assert_float_equal(adm.tokens, bucket, 1e-9);
	assert_float_equal(admission_new_session_load(&adm), 0.6, 1e-9);
	for (unsigned i = 0; i < 2; i++)   /* within half the bucket: no draw */
		assert_true(admission_decide(&adm, ADMIT_NEW_SESSION));
	adm.tokens = bucket / 4;
	assert_float_equal(admission_new_session_load(&adm), 0.7, 1e-9);
	assert_float_equal(admission_refusal_probability(&adm, ADMIT_NEW_SESSION), 0.5, 1e-9);
	assert_int_equal(admission_zone(&adm), ADMISSION_ZONE_SHED);   /* x is 0.7 */
	assert_float_equal(admission_refusal_probability(&adm, ADMIT_ESTABLISHED), 0.0, EPSILON);
	admission_advance(&adm, now + 100);   /* a tenth of R back */
	assert_float_equal(adm.tokens, bucket / 4 + r0 / 10, 1e-9);
	admission_advance(&adm, now + 1000);  /* never above the bucket */
	assert_float_equal(adm.tokens, bucket, 1e-9);
	/* x at 1 for 2 s, 20 a second admitted while the servers answer 10: R
	 * is the answered rate less DRAIN_MAX of it and stays there, however
	 * long x stays up (no compounding). */
	for (unsigned i = 0; i < 10; i++) {
		adm.tokens = 30;   /* a test's shortcut: admit what is offered */
		assert_int_equal(rate_interval(&adm, &now, 4, 2, 1.0), 4);
	}
	assert_float_equal(adm.rate_limit, 10.0 * (1.0 - ADMISSION_RATE_DRAIN_MAX), 1e-9);
	adm.tokens = 30;
	rate_interval(&adm, &now, 4, 2, 1.0);
	assert_float_equal(adm.rate_limit, 10.0 * (1.0 - ADMISSION_RATE_DRAIN_MAX), 1e-9);
	adm.tokens = 30;
	rate_interval(&adm, &now, 4, 2, 0.8);   /* halfway from T1 to 1: half the drain */
	assert_float_equal(adm.rate_limit, 10.0 * (1.0 - ADMISSION_RATE_DRAIN_MAX / 2), 1e-9);
	/* x above T1 with every admitted session answered (a passing queue,
	 * once the window holds only that) and the pace not reached: R holds */
	for (unsigned i = 0; i < 10; i++)
		rate_interval(&adm, &now, 0, 3, 0.9);
	rate = adm.rate_limit;
	for (unsigned i = 0; i < 10; i++)
		rate_interval(&adm, &now, 0, 3, 0.9);
	assert_float_equal(adm.rate_limit, rate, 1e-9);
	/* Below T1 but not binding: kept; binding (11 admitted in 1 s): +4 %. */
	rate = adm.rate_limit;
	for (unsigned i = 0; i < 5; i++)
		rate_interval(&adm, &now, 0, 2, 0.5);
	assert_float_equal(adm.rate_limit, rate, 1e-9);
	adm.tokens = 30;   /* a test's shortcut: let the burst below through */
	assert_int_equal(rate_interval(&adm, &now, 11, 2, 0.5), 11);
	assert_float_equal(adm.rate_limit, rate * 1.04, 1e-9);
	/* The lead estimate (the default) paces nothing. */
	cfg.admission.estimate = ADMISSION_ESTIMATE_LEAD;
	cfg.admission.lead_s = 0;
	admission_reconfigure(&adm, &cfg);
	assert_float_equal(adm.rate_limit, 0.0, EPSILON);
	assert_float_equal(admission_new_session_load(&adm), 0.5, 1e-9);
}

/* Clients at per_s a second (honouring: those that shed the advertised
 * reduction; the rest ignore it) for intervals of 200 ms, with R held at
 * 20 a second (x below T1, the servers answering it); the reduction told
 * at the end. */
static double client_reduction_after(struct admission *adm, uint64_t *now, double honouring_per_s,
				     double ignoring_per_s, unsigned intervals)
{
	double carry = 0;
	for (unsigned i = 0; i < intervals; i++) {
		double r = admission_client_reduction(adm);
		unsigned offered;
		carry += (honouring_per_s * (1.0 - r) + ignoring_per_s) / 5.0;
		offered = (unsigned)carry;
		carry -= offered;
		adm->rate_limit = 20.0;
		adm->tokens = 30;   /* a test's shortcut: the reduction alone is under test */
		rate_interval(adm, now, offered, 4, 0.5);
	}
	return admission_client_reduction(adm);
}

/* RFC 7339's reduction under the rate estimate converges where what
 * arrives is what R admits: 60 a second of honouring clients against R
 * 20 (2 % growth per report while it binds) shed about two thirds; a
 * third of them ignoring it, the others shed for them; clients below R
 * shed nothing (less than half a percent); ignoring clients alone above R tell the honouring ones
 * the cap, and it comes down once they go. The lead estimate tells eq
 * (2)'s refusal probability. */
static void test_client_reduction(void **state)
{
	struct sara_config cfg;
	struct admission adm;
	uint64_t now = 1000;
	double r;
	(void)state;
	paper_config(&cfg, true, 1.0);
	cfg.admission.lead_s = 1.0;
	admission_init(&adm, &cfg);
	report_uniform(&adm, now, 0.95);
	assert_float_equal(admission_client_reduction(&adm),
			   admission_refusal_probability(&adm, ADMIT_NEW_SESSION), EPSILON);
	cfg.admission.estimate = ADMISSION_ESTIMATE_RATE;
	admission_init(&adm, &cfg);
	for (unsigned i = 0; i < 10; i++)
		rate_interval(&adm, &now, 4, 4, 0.5);
	rate_interval(&adm, &now, 0, 4, 0.7);
	assert_true(adm.rate_limit > 0);
	assert_float_equal(admission_client_reduction(&adm), 0.0, EPSILON);
	r = client_reduction_after(&adm, &now, 60, 0, 50);
	assert_true(r > 0.60 && r < 0.70);
	r = client_reduction_after(&adm, &now, 40, 10, 50);
	assert_true(r > 0.68 && r < 0.78);
	r = client_reduction_after(&adm, &now, 10, 0, 50);
	assert_true(r < 0.005);   /* oc is in whole percent: 0 */
	r = client_reduction_after(&adm, &now, 40, 40, 50);
	assert_float_equal(r, ADMISSION_CLIENT_REDUCTION_MAX, 1e-6);
	r = client_reduction_after(&adm, &now, 10, 0, 50);
	assert_true(r < 0.005);   /* oc is in whole percent: 0 */
	cfg.admission.enabled = false;
	admission_reconfigure(&adm, &cfg);
	assert_float_equal(admission_client_reduction(&adm), 0.0, EPSILON);
}

/* Sessions admitted without a decision (SIP inside a TCP connection) are
 * counted and take their tokens, down to minus a bucket: the next
 * refusable session is refused until the pace has paid for them. */
static void test_charge_takes_tokens(void **state)
{
	struct sara_config cfg;
	struct admission adm;
	uint64_t now = 1000;
	(void)state;
	paper_config(&cfg, true, 1.0);
	cfg.admission.lead_s = 1.0;
	cfg.admission.estimate = ADMISSION_ESTIMATE_RATE;
	admission_init(&adm, &cfg);
	for (unsigned i = 0; i < 10; i++)
		rate_interval(&adm, &now, 4, 4, 0.5);
	rate_interval(&adm, &now, 0, 4, 0.7);
	double bucket = adm.rate_limit * ADMISSION_RATE_BURST_S;
	assert_float_equal(adm.tokens, bucket, 1e-9);
	for (unsigned i = 0; i < 100; i++)
		admission_charge(&adm);
	assert_float_equal(adm.tokens, -bucket, 1e-9);
	assert_int_equal(admission_count(&adm, ADMISSION_ADMITTED, ADMIT_NEW_SESSION, ADMISSION_ZONE_SHED), 100);
	assert_false(admission_decide(&adm, ADMIT_NEW_SESSION));
	admission_advance(&adm, now + 1000);   /* a second of R pays back the overdraft and refills */
	assert_true(adm.tokens > 1.0);
	assert_true(admission_decide(&adm, ADMIT_NEW_SESSION));
}

/* Window estimate: config with the window and lead 1 s (W follows the
 * first answers over the last 2 s). */
static void window_admission(struct admission *adm)
{
	struct sara_config cfg;
	paper_config(&cfg, true, 1.0);
	cfg.admission.lead_s = 1.0;
	cfg.admission.estimate = ADMISSION_ESTIMATE_WINDOW;
	cfg.admission.answer_delay_s = 0.2;
	admission_init(adm, &cfg);
	admission_seed(adm, 42);
}

/* New sessions while the window has room, each one awaited from then. */
static unsigned window_admit(struct admission *adm, uint64_t now, unsigned tries)
{
	unsigned admitted = 0;
	for (unsigned i = 0; i < tries; i++) {
		admission_advance(adm, now);
		if (admission_decide(adm, ADMIT_NEW_SESSION)) {
			admission_note_awaited(adm, now, -1);
			admitted++;
		}
	}
	return admitted;
}

/* The window admits while fewer than W sessions await an answer: 2 a
 * server before the answers are known, then the answered rate times
 * answer_delay_s (Little's law); each answer makes room for one more, at
 * any x. A burst into servers that keep up (the oldest wait under
 * answer_delay_s) goes up to 4 W; a burst of 1 000 INVITEs admits that. */
static void test_window_estimate(void **state)
{
	struct admission adm;
	uint64_t now = 1000;
	(void)state;
	window_admission(&adm);
	assert_int_equal(window_admit(&adm, now, 10), 8);   /* no report: one server, 4 W */
	now += 201;                                          /* the oldest waited 0.2 s: a backlog */
	assert_int_equal(window_admit(&adm, now, 10), 0);
	for (unsigned i = 0; i < 7; i++)
		admission_note_first_answer(&adm, -1);
	assert_int_equal(window_admit(&adm, now, 10), 1);   /* 1 awaits: room for W = 2 */
	report_uniform(&adm, now, 0.1);                      /* three servers: W = 6 */
	assert_float_equal(admission_answer_window(&adm), 6.0, 1e-9);
	assert_int_equal(window_admit(&adm, now, 10), 4);
	assert_int_equal(admission_awaited(&adm), 6);
	assert_true(admission_new_session_load(&adm) > adm.current.t2);
	admission_note_first_answer(&adm, -1);
	now += 201;                                          /* every one awaiting is 0.2 s old */
	assert_int_equal(window_admit(&adm, now, 10), 1);
	/* The servers answer 10 every 200 ms: 50 a second, W = 10. */
	for (unsigned r = 0; r < 15; r++) {
		for (unsigned i = 0; i < 10; i++)
			admission_note_first_answer(&adm, -1);
		now += 200;
		report_uniform(&adm, now, 0.95);   /* x says nothing to new sessions here */
	}
	assert_float_equal(adm.rate_limit, 50.0, 1e-9);
	assert_float_equal(adm.window, 10.0, 1e-9);
	assert_float_equal(admission_answer_window(&adm), 10.0, 1e-9);
	assert_int_equal(admission_awaited(&adm), 0);
	assert_int_equal(window_admit(&adm, now, 1000), 40);
	assert_int_equal(admission_count(&adm, ADMISSION_REFUSED, ADMIT_NEW_SESSION, ADMISSION_ZONE_DEGRADE), 960);
	now += 300;
	for (unsigned i = 0; i < 35; i++)
		admission_note_first_answer(&adm, -1);
	assert_int_equal(window_admit(&adm, now, 1000), 5);  /* back under W, the oldest 0.3 s old */
	/* Established sessions follow x, as ever. */
	assert_true(admission_decide(&adm, ADMIT_ESTABLISHED) || adm.degrade);
}

/* Per server (window_per_server, the default): a session is refused when
 * the server it would go to has its share of W awaiting (max(2, W / n)),
 * or 4 times that while its oldest waited less than answer_delay_s, even
 * when the cluster's window has room, and admitted while its server has
 * room even when sessions that could not be refused, pinned to another
 * server, fill the cluster's window (and a report then does not hold the
 * refusal); answers and expiry free a server's share; x at C refuses;
 * switched off, only the cluster's window counts. */
static void test_window_per_server(void **state)
{
	struct admission adm;
	struct sara_config cfg;
	uint64_t now = 1000;
	(void)state;
	window_admission(&adm);
	assert_true(adm.window_per_server);
	report_uniform(&adm, now, 0.1);                      /* three servers: W = 6, a share 2 */
	assert_float_equal(admission_server_window(&adm), 2.0, 1e-9);
	/* A burst into servers that keep up: 4 shares on server 0. */
	unsigned admitted = 0;
	for (unsigned i = 0; i < 20; i++) {
		admission_advance(&adm, now);
		if (admission_decide_on(&adm, ADMIT_NEW_SESSION, 0)) {
			admission_note_awaited(&adm, now, 0);
			admitted++;
		}
	}
	assert_int_equal(admitted, 8);
	assert_int_equal(admission_server_awaited(&adm, 0), 8);
	assert_int_equal(admission_awaited(&adm), 8);
	now += 2001;                                         /* they expire, server's and cluster's */
	admission_advance(&adm, now);
	assert_int_equal(admission_server_awaited(&adm, 0), 0);
	assert_int_equal(admission_awaited(&adm), 0);
	/* Five unrefusable sessions (a trunk's INVITEs) on server 0, 0.2 s ago. */
	for (unsigned i = 0; i < 5; i++)
		admission_note_awaited(&adm, now, 0);
	now += 201;
	admission_advance(&adm, now);
	assert_false(admission_decide_on(&adm, ADMIT_NEW_SESSION, 0));   /* its share is full */
	assert_true(admission_decide_on(&adm, ADMIT_NEW_SESSION, 1));    /* the cluster has room */
	admission_note_awaited(&adm, now, 1);
	for (unsigned i = 0; i < 20; i++)                                 /* the trunk goes on */
		admission_note_awaited(&adm, now, 0);
	assert_int_equal(admission_awaited(&adm), 26);
	assert_false(admission_decide(&adm, ADMIT_NEW_SESSION));          /* the cluster's window is full */
	report_uniform(&adm, now, 0.1);                                   /* W = 6: p 1 at this report */
	assert_float_equal(adm.refuse_new_floor, 1.0, 1e-9);
	assert_float_equal(admission_server_window(&adm), 2.0, 1e-9);
	assert_true(admission_decide_on(&adm, ADMIT_NEW_SESSION, 2));    /* server 2 has its share */
	admission_note_awaited(&adm, now, 2);
	assert_true(admission_decide_on(&adm, ADMIT_NEW_SESSION, 1));
	admission_note_awaited(&adm, now, 1);
	assert_true(admission_decide_on(&adm, ADMIT_NEW_SESSION, 1));    /* the burst rule: 4 shares */
	now += 201;                                                       /* then no burst */
	admission_advance(&adm, now);
	assert_false(admission_decide_on(&adm, ADMIT_NEW_SESSION, 1));   /* 2 await: its share */
	for (unsigned i = 0; i < 24; i++)
		admission_note_first_answer(&adm, 0);
	assert_int_equal(admission_server_awaited(&adm, 0), 1);
	assert_true(admission_decide_on(&adm, ADMIT_NEW_SESSION, 0));
	admission_note_awaited(&adm, now, 0);
	assert_false(admission_decide_on(&adm, ADMIT_NEW_SESSION, 0));   /* 2 is its share */
	assert_true(admission_decide_on(&adm, ADMIT_NEW_SESSION, 2));
	/* Servers that say they are full: refused whatever the share. */
	double full[3] = { 1.0, 1.0, 1.0 };
	admission_report_load(&adm, now, full, NULL, 3);
	assert_false(admission_decide_on(&adm, ADMIT_NEW_SESSION, 2));
	report_uniform(&adm, now, 0.1);
	/* Out of range or unknown servers: the cluster's rule alone. */
	assert_true(admission_decide_on(&adm, ADMIT_NEW_SESSION, -1));
	assert_true(admission_decide_on(&adm, ADMIT_NEW_SESSION, SARA_MAX_SERVERS));
	assert_int_equal(admission_server_awaited(&adm, SARA_MAX_SERVERS), 0);
	/* Waits expire per server as in the cluster's ring. */
	now += 2001;
	admission_advance(&adm, now);
	assert_int_equal(admission_server_awaited(&adm, 0), 0);
	assert_int_equal(admission_server_awaited(&adm, 1), 0);
	/* Refusals by a server's share are counted as the cluster's. */
	assert_true(admission_count(&adm, ADMISSION_REFUSED, ADMIT_NEW_SESSION, ADMISSION_ZONE_NORMAL) >= 4);
	/* Switched off: server 0 full of unrefusable sessions does not matter. */
	paper_config(&cfg, true, 1.0);
	cfg.admission.lead_s = 1.0;
	cfg.admission.estimate = ADMISSION_ESTIMATE_WINDOW;
	cfg.admission.window_per_server = false;
	admission_reconfigure(&adm, &cfg);
	assert_false(adm.window_per_server);
	for (unsigned i = 0; i < 5; i++)
		admission_note_awaited(&adm, now, 0);
	now += 201;
	admission_advance(&adm, now);
	assert_true(admission_decide_on(&adm, ADMIT_NEW_SESSION, 0));
	assert_int_equal(admission_server_awaited(&adm, 0), 0);
	assert_float_equal(admission_server_window(&adm), 0.0, 1e-9);
	/* Another estimate: no window, per server or not. */
	cfg.admission.window_per_server = true;
	cfg.admission.estimate = ADMISSION_ESTIMATE_RATE;
	admission_reconfigure(&adm, &cfg);
	assert_false(adm.window_per_server);
}

/* Waits no answer ends stop counting after 8 answer delays (at least 2 s,
 * as here) and are counted; more awaited sessions than the ring holds
 * keep the count at its capacity; a reload to another estimate empties
 * the window. */
static void test_window_waits_expire(void **state)
{
	struct admission adm;
	struct counter_set set = { 0 };
	struct sara_config cfg;
	uint64_t now = 1000;
	(void)state;
	window_admission(&adm);
	report_uniform(&adm, now, 0.1);
	assert_int_equal(window_admit(&adm, now, 6), 6);
	admission_advance(&adm, now + 2000);
	assert_int_equal(admission_awaited(&adm), 6);
	admission_advance(&adm, now + 2001);
	assert_int_equal(admission_awaited(&adm), 0);
	admission_get_counters(&adm, &set);
	assert_int_equal(set.values[COUNTER_ADMISSION_ANSWER_WAITS_EXPIRED], 6);
	for (unsigned i = 0; i < ADMISSION_AWAITED_MAX + 100; i++)
		admission_note_awaited(&adm, now + 5000, -1);
	assert_int_equal(admission_awaited(&adm), ADMISSION_AWAITED_MAX);
	admission_advance(&adm, now + 5000);
	assert_false(admission_decide(&adm, ADMIT_NEW_SESSION));
	paper_config(&cfg, true, 1.0);
	cfg.admission.estimate = ADMISSION_ESTIMATE_RATE;
	admission_reconfigure(&adm, &cfg);
	assert_int_equal(admission_awaited(&adm), 0);
	admission_note_awaited(&adm, now, -1);   /* ignored outside the window estimate */
	assert_int_equal(admission_awaited(&adm), 0);
}

/* RFC 7339 under the window: while it refuses, clients are asked to shed
 * the share it refused; once it refuses none (the clients shed more than
 * needed), the reduction eases back to 0. */
static void test_window_client_reduction(void **state)
{
	struct admission adm;
	uint64_t now = 1000;
	(void)state;
	window_admission(&adm);
	report_uniform(&adm, now, 0.9);
	for (unsigned r = 0; r < 20; r++) {      /* 40 arrive a second, the servers answer 12 */
		now += 250;
		admission_advance(&adm, now);
		for (unsigned i = 0; i < 10; i++) {
			if (admission_decide(&adm, ADMIT_NEW_SESSION))
				admission_note_awaited(&adm, now, -1);
		}
		for (unsigned i = 0; i < 3 && admission_awaited(&adm); i++)
			admission_note_first_answer(&adm, -1);
		report_uniform(&adm, now, 0.9);
	}
	double shedding = admission_client_reduction(&adm);
	assert_true(shedding > 0.3);
	for (unsigned r = 0; r < 20; r++) {      /* 4 arrive a second, none refused */
		now += 250;
		admission_advance(&adm, now);
		assert_true(admission_decide(&adm, ADMIT_NEW_SESSION));
		admission_note_awaited(&adm, now, -1);
		admission_note_first_answer(&adm, -1);
		report_uniform(&adm, now, 0.5);
	}
	assert_true(admission_client_reduction(&adm) < 0.05);
}

/* Rate estimate under bad input: 1 000 INVITEs in 100 ms admit the bucket
 * and what 100 ms refill at most; reports that stop leave R and the pace
 * as they were (the bucket still refills at R); absurd loads count as full
 * (R drained to what the servers answer, never raised); clients that
 * ignore the 503s only meet the same pace. */
static void test_rate_estimate_bad_input(void **state)
{
	struct sara_config cfg;
	struct admission adm;
	uint64_t now = 1000;
	unsigned admitted = 0;
	double rate;
	(void)state;
	paper_config(&cfg, true, 1.0);
	cfg.admission.lead_s = 1.0;
	cfg.admission.estimate = ADMISSION_ESTIMATE_RATE;
	cfg.admission.degrade = false;   /* the default: established sessions keep their media */
	admission_init(&adm, &cfg);
	admission_seed(&adm, 7);
	for (unsigned i = 0; i < 10; i++)
		rate_interval(&adm, &now, 0, 4, 0.7);   /* servers answer 20 a second, x above T1 */
	rate = adm.rate_limit;
	assert_float_equal(rate, 20.0 * (1.0 - ADMISSION_RATE_DRAIN_MAX * 0.25), 1e-9);
	/* the burst: 1 000 new sessions over 100 ms, 100 us apart */
	for (unsigned i = 0; i < 1000; i++) {
		admission_advance(&adm, now + i / 10);
		admitted += admission_decide(&adm, ADMIT_NEW_SESSION);
	}
	assert_true(admitted <= (unsigned)(rate * ADMISSION_RATE_BURST_S + rate * 0.1) + 1);
	assert_true(admitted >= 2);
	/* reports stop for 5 s: R holds; the same burst again admits the
	 * refilled bucket and no more */
	now += 5000;
	admitted = 0;
	for (unsigned i = 0; i < 1000; i++) {
		admission_advance(&adm, now + i / 10);
		admitted += admission_decide(&adm, ADMIT_NEW_SESSION);
	}
	assert_float_equal(adm.rate_limit, rate, 1e-9);
	assert_true(admitted <= (unsigned)(rate * ADMISSION_RATE_BURST_S + rate * 0.1) + 1);
	/* lying agents: NaN and 1e9 read as full and are counted; R never rises */
	for (unsigned i = 0; i < 10; i++) {
		double loads[3] = { NAN, 1e9, -1 };
		for (unsigned k = 0; k < 4; k++)
			admission_note_answered(&adm);
		now += 200;
		admission_advance(&adm, now);
		admission_report_load(&adm, now, loads, NULL, 3);
		assert_true(adm.rate_limit <= rate + 1e-9);
	}
	assert_true(adm.events[ADMISSION_EV_LOAD_INVALID] >= 20);
	assert_true(adm.events[ADMISSION_EV_LOAD_CLAMPED] >= 10);
	assert_float_equal(admission_refusal_probability(&adm, ADMIT_ESTABLISHED), 0.0, EPSILON);
}

/* A reload that turns the lead off: later admissions leave x_new at x
 * (the b learned while the lead was on must not raise it with each one). */
static void test_lead_switched_off_by_reload(void **state)
{
	struct lead_plant plant;
	struct sara_config cfg;
	struct admission *adm = &plant.adm;
	(void)state;
	lead_plant_start(&plant, 1.0);
	assert_true(adm->load_per_session > 0);
	paper_config(&cfg, true, 1.0);
	admission_reconfigure(adm, &cfg);
	assert_int_equal(plant_offer(&plant, 20), 20);
	assert_float_equal(admission_new_session_load(adm), adm->load, EPSILON);
	assert_float_equal(admission_refusal_probability(adm, ADMIT_NEW_SESSION), 0.0, EPSILON);
}

/* lead_s 0 (the paper): new sessions follow x itself, so
 * the same offered load drives x past T2 before anything is refused. */
static void test_lead_off_follows_x(void **state)
{
	struct lead_plant plant;
	struct admission *adm = &plant.adm;
	double highest = 0;
	(void)state;
	lead_plant_start(&plant, 0);
	assert_int_equal(plant_offer(&plant, 20), 20);
	assert_float_equal(adm->load_per_session, 0.0, EPSILON);
	assert_float_equal(admission_new_session_load(adm), adm->load, EPSILON);
	assert_float_equal(admission_refusal_probability(adm, ADMIT_NEW_SESSION), 0.0, EPSILON);
	for (unsigned report = 0; report < 20; report++) {
		plant_step(&plant, 25);
		highest = fmax(highest, adm->load);
	}
	assert_true(highest > 0.8);
}

static void test_counters(void **state)
{
	(void)state;
	struct admission adm;
	struct counter_set set = { 0 };
	struct seen seen = { .names_ok = true };

	make_admission(&adm, true, 1.0);
	admission_report_dispatcher_load(&adm, 1.5); /* clamped, counted */
	admission_report_dispatcher_load(&adm, 0.7);
	unsigned refused = refusals(&adm, ADMIT_NEW_SESSION, 100);
	(void)refusals(&adm, ADMIT_ESTABLISHED, 10);
	admission_get_counters(&adm, &set);
	counters_visit(&set, COUNTER_SCOPE_ADMISSION, COUNTERS_ALL, collect, &seen);
	assert_true(seen.names_ok);
	assert_int_equal(seen.calls,
			 ADMISSION_VERDICT_COUNT * ADMIT_KIND_COUNT * ADMISSION_ZONE_COUNT + ADMISSION_EV_COUNT);
	assert_int_equal(seen.refused_new_shed, refused);
	assert_int_equal(seen.load_clamped, 1);
	assert_int_equal(seen.sum, 100 + 10 + 1);
	assert_string_equal(admission_zone_name(ADMISSION_ZONE_DEGRADE), "degrade");
	assert_string_equal(admission_zone_name((enum admission_zone)99), "invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_report_admits_all),
		cmocka_unit_test(test_cluster_load_equation),
		cmocka_unit_test(test_dispatcher_load_counts),
		cmocka_unit_test(test_zones),
		cmocka_unit_test(test_shed_probability),
		cmocka_unit_test(test_closed_degrade_full),
		cmocka_unit_test(test_seed_is_deterministic),
		cmocka_unit_test(test_no_degrade_keeps_established),
		cmocka_unit_test(test_thresholds_move_and_reset),
		cmocka_unit_test(test_reopening_ramp),
		cmocka_unit_test(test_thresholds_stay_ordered),
		cmocka_unit_test(test_disabled_admits_all),
		cmocka_unit_test(test_absurd_loads),
		cmocka_unit_test(test_bad_reports_ignored),
		cmocka_unit_test(test_lead_predicts_admitted_load),
		cmocka_unit_test(test_lead_off_follows_x),
		cmocka_unit_test(test_rate_estimate),
		cmocka_unit_test(test_rate_estimate_bad_input),
		cmocka_unit_test(test_client_reduction),
		cmocka_unit_test(test_charge_takes_tokens),
		cmocka_unit_test(test_window_estimate),
		cmocka_unit_test(test_window_waits_expire),
		cmocka_unit_test(test_window_per_server),
		cmocka_unit_test(test_window_client_reduction),
		cmocka_unit_test(test_lead_switched_off_by_reload),
		cmocka_unit_test(test_counters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
