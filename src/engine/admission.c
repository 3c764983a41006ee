/* admission.c - SA2C (admission.h): cluster load from the servers' load
 * vectors, moving thresholds, and the probabilistic refusal of sessions. */
#include "engine/admission.h"

#include <math.h>
#include <string.h>

/* Smallest span kept between T1 and a moved T2, and between T2 and a moved
 * T3, so that eq (2)'s divisions stay defined (capped by the configured
 * span, so a move never raises a threshold). */
#define THRESHOLD_MIN_GAP 0.01
#define DEFAULT_SEED 0x5a2c5a2c20071203ull
/* b's smoothing: the previous value's share at each report. */
#define LEAD_SMOOTHING 0.7

#define ZONE_COUNTERS(VERDICT, KIND)                                                        \
	{ COUNTER_ADMISSION_##VERDICT##_##KIND##_OFF, COUNTER_ADMISSION_##VERDICT##_##KIND##_NORMAL, \
	  COUNTER_ADMISSION_##VERDICT##_##KIND##_SHED, COUNTER_ADMISSION_##VERDICT##_##KIND##_CLOSED, \
	  COUNTER_ADMISSION_##VERDICT##_##KIND##_DEGRADE, COUNTER_ADMISSION_##VERDICT##_##KIND##_FULL }

static const enum counter_id decision_counters[ADMISSION_VERDICT_COUNT][ADMIT_KIND_COUNT][ADMISSION_ZONE_COUNT] = {
	[ADMISSION_ADMITTED] = { [ADMIT_NEW_SESSION] = ZONE_COUNTERS(ADMITTED, NEW),
				 [ADMIT_ESTABLISHED] = ZONE_COUNTERS(ADMITTED, ESTABLISHED) },
	[ADMISSION_REFUSED] = { [ADMIT_NEW_SESSION] = ZONE_COUNTERS(REFUSED, NEW),
				[ADMIT_ESTABLISHED] = ZONE_COUNTERS(REFUSED, ESTABLISHED) },
};

static const enum counter_id event_counters[ADMISSION_EV_COUNT] = { ADMISSION_EVENT_LIST(ENUM_LIST_ENTRY) };

static const char *const zone_names[ADMISSION_ZONE_COUNT] = {
	[ADMISSION_ZONE_OFF] = "off", [ADMISSION_ZONE_NORMAL] = "normal",
	[ADMISSION_ZONE_SHED] = "shed", [ADMISSION_ZONE_CLOSED] = "closed",
	[ADMISSION_ZONE_DEGRADE] = "degrade", [ADMISSION_ZONE_FULL] = "full",
};

void admission_reconfigure(struct admission *adm, const struct sara_config *cfg)
{
	adm->enabled = cfg->admission.enabled;
	adm->alpha = cfg->admission.alpha;
	adm->reopen_s = cfg->admission.reopen_s;
	/* The random baseline asks about every packet, not sessions. */
	adm->lead_s = cfg->admission.policy == ADMISSION_POLICY_SA2C ? cfg->admission.lead_s : 0;
	if (!(adm->lead_s > 0)) {
		/* b too: admissions add it to x_new whatever lead_s says. */
		adm->lead_delta = 0;
		adm->load_per_session = 0;
	}
	adm->degrade = cfg->admission.degrade;
	adm->estimate_rate = cfg->admission.policy == ADMISSION_POLICY_SA2C &&
			     cfg->admission.estimate == ADMISSION_ESTIMATE_RATE;
	adm->estimate_window = cfg->admission.policy == ADMISSION_POLICY_SA2C &&
			       cfg->admission.estimate == ADMISSION_ESTIMATE_WINDOW;
	adm->answer_delay_s = cfg->admission.answer_delay_s;
	if (!adm->estimate_rate && !adm->estimate_window)
		adm->rate_limit = 0;
	adm->window_per_server = adm->estimate_window && cfg->admission.window_per_server;
	if (!adm->estimate_window)
		adm->awaited_count = 0;
	if (!adm->window_per_server)
		memset(adm->server_waits, 0, sizeof(adm->server_waits));
	adm->configured.t1 = cfg->admission.t1;
	adm->configured.t2 = cfg->admission.t2;
	adm->configured.t3 = cfg->admission.t3;
	adm->configured.c = cfg->admission.c;
	adm->current = adm->configured;
	if (!adm->enabled)
		adm->refuse_new_floor = 0; /* switched off: no ramp left over for later */
}

void admission_init(struct admission *adm, const struct sara_config *cfg)
{
	memset(adm, 0, sizeof(*adm));
	admission_reconfigure(adm, cfg);
	adm->rng_state = DEFAULT_SEED;
}

void admission_seed(struct admission *adm, uint64_t seed)
{
	adm->rng_state = seed;
}

/* splitmix64 (Steele, Lea, Flood 2014): any seed, including 0, is fine. */
static uint64_t rng_next(struct admission *adm)
{
	uint64_t z = (adm->rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_uniform(struct admission *adm)
{
	return (double)(rng_next(adm) >> 11) * 0x1.0p-53;
}

/* A reported load brought into 0..1; an unusable value counts as full. */
static double sane_load(struct admission *adm, double load)
{
	if (!isfinite(load) || load < 0) {
		adm->events[ADMISSION_EV_LOAD_INVALID]++;
		return 1.0;
	}
	if (load > 1) {
		adm->events[ADMISSION_EV_LOAD_CLAMPED]++;
		return 1.0;
	}
	return load;
}

static void update_reopening(struct admission *adm, uint64_t elapsed_ms);

/* x = max(l_d, l_c) before the first cluster report is just l_d. */
static void update_x(struct admission *adm)
{
	adm->load = adm->cluster_load > adm->dispatcher_load ? adm->cluster_load : adm->dispatcher_load;
}

/* The pacing bucket's size (admission.h, Rate estimate). */
static double rate_bucket(const struct admission *adm)
{
	return fmax(2.0, adm->rate_limit * ADMISSION_RATE_BURST_S);
}

/* W (admission.h, Window estimate), never below its floor, also before
 * the first report. */
static double window_size(const struct admission *adm)
{
	unsigned servers = adm->servers ? adm->servers : 1;
	return fmax((double)(ADMISSION_WINDOW_MIN_PER_SERVER * servers), adm->window);
}

/* The window's rule (admission.h, Window estimate): fewer than W await,
 * or fewer than ADMISSION_WINDOW_BURST W and the oldest has waited less
 * than answer_delay_s (no backlog yet). */
/* The window's rule for count sessions awaiting, the oldest since
 * oldest_ms, against a window of size: the cluster's and each server's. */
static bool waits_have_room(const struct admission *adm, uint32_t count, uint64_t oldest_ms, double size)
{
	if ((double)count < size)
		return true;
	if ((double)count >= ADMISSION_WINDOW_BURST * size)
		return false;
	return adm->now_ms <= oldest_ms || (double)(adm->now_ms - oldest_ms) <= adm->answer_delay_s * 1000.0;
}

static bool window_has_room(const struct admission *adm)
{
	return waits_have_room(adm, adm->awaited_count, adm->awaited_ms[adm->awaited_head], window_size(adm));
}

/* A server's share of W (admission.h, Window estimate, per server). */
static double server_window(const struct admission *adm)
{
	unsigned servers = adm->servers ? adm->servers : 1;
	return fmax((double)ADMISSION_WINDOW_MIN_PER_SERVER, window_size(adm) / (double)servers);
}

static struct admission_server_waits *server_waits(struct admission *adm, int server)
{
	if (!adm->window_per_server || server < 0 || server >= SARA_MAX_SERVERS)
		return NULL;
	return &adm->server_waits[server];
}

/* The window's rule on one server's share. */
static bool server_has_room(const struct admission *adm, int server)
{
	const struct admission_server_waits *w;
	if (!adm->window_per_server || server < 0 || server >= SARA_MAX_SERVERS)
		return true;
	w = &adm->server_waits[server];
	return waits_have_room(adm, w->count, w->ms[w->head], server_window(adm));
}

static void server_wait_pop(struct admission_server_waits *w)
{
	w->head = (w->head + 1) % ADMISSION_AWAITED_PER_SERVER_MAX;
	w->count--;
}

/* x_new (admission.h, Lead, Rate and Window estimates): what eq (2) reads
 * for new sessions. */
static double new_session_load(const struct admission *adm)
{
	double cluster;
	if (adm->estimate_window)
		/* room: below T1 (admitted), full: above T2 (refused); servers
		 * that say they are full (x at C) get no new session either */
		cluster = window_has_room(adm) && adm->load < adm->current.c
				  ? adm->current.t1 * fmin(1.0, (double)adm->awaited_count / window_size(adm))
				  : 1.0;
	else if (adm->estimate_rate && adm->rate_limit > 0)
		cluster = adm->current.t1 + (adm->current.t2 - adm->current.t1) *
						    (adm->tokens < 1.0 ? 1.0 : fmax(0.0, 1.0 - 2.0 * adm->tokens / rate_bucket(adm)));
	else
		cluster = fmin(fmax(adm->cluster_load + adm->lead_delta, 0.0), 1.0);
	return cluster > adm->dispatcher_load ? cluster : adm->dispatcher_load;
}

/* The oldest awaited session's wait ended, or timed out. */
static void awaited_pop(struct admission *adm)
{
	adm->awaited_head = (adm->awaited_head + 1) % ADMISSION_AWAITED_MAX;
	adm->awaited_count--;
}

void admission_advance(struct admission *adm, uint64_t now_ms)
{
	if (now_ms > adm->now_ms)
		adm->now_ms = now_ms;
	if (adm->estimate_window) {
		uint64_t timeout_ms = (uint64_t)fmax(ADMISSION_WINDOW_TIMEOUT_MIN_MS,
						     ADMISSION_WINDOW_TIMEOUT_FACTOR * adm->answer_delay_s * 1000.0);
		while (adm->awaited_count && now_ms > adm->awaited_ms[adm->awaited_head] &&
		       now_ms - adm->awaited_ms[adm->awaited_head] > timeout_ms) {
			awaited_pop(adm);
			adm->events[ADMISSION_EV_ANSWER_WAIT_EXPIRED]++;
		}
		for (unsigned i = 0; adm->window_per_server && i < SARA_MAX_SERVERS; i++) {
			struct admission_server_waits *w = &adm->server_waits[i];
			while (w->count && now_ms > w->ms[w->head] && now_ms - w->ms[w->head] > timeout_ms)
				server_wait_pop(w);
		}
		return;
	}
	if (!adm->estimate_rate || !(adm->rate_limit > 0) || now_ms <= adm->tokens_ms)
		return;
	adm->tokens = fmin(adm->tokens + adm->rate_limit * (double)(now_ms - adm->tokens_ms) / 1000.0,
			   rate_bucket(adm));
	adm->tokens_ms = now_ms;
}

void admission_note_answered(struct admission *adm)
{
	if (adm->answered_since_report < UINT32_MAX)
		adm->answered_since_report++;
}

void admission_note_awaited(struct admission *adm, uint64_t now_ms, int server)
{
	struct admission_server_waits *w = server_waits(adm, server);
	if (!adm->estimate_window)
		return;
	if (adm->awaited_count == ADMISSION_AWAITED_MAX)
		awaited_pop(adm); /* the oldest stops being timed; the count holds */
	adm->awaited_ms[(adm->awaited_head + adm->awaited_count) % ADMISSION_AWAITED_MAX] = now_ms;
	adm->awaited_count++;
	if (!w)
		return;
	if (w->count == ADMISSION_AWAITED_PER_SERVER_MAX)
		server_wait_pop(w);
	w->ms[(w->head + w->count) % ADMISSION_AWAITED_PER_SERVER_MAX] = now_ms;
	w->count++;
}

void admission_note_first_answer(struct admission *adm, int server)
{
	struct admission_server_waits *w = server_waits(adm, server);
	if (!adm->estimate_window)
		return;
	if (adm->first_answers_since_report < UINT32_MAX)
		adm->first_answers_since_report++;
	if (adm->awaited_count)
		awaited_pop(adm);
	if (w && w->count)
		server_wait_pop(w);
}

uint32_t admission_awaited(const struct admission *adm)
{
	return adm->estimate_window ? adm->awaited_count : 0;
}

uint32_t admission_server_awaited(const struct admission *adm, int server)
{
	if (!adm->window_per_server || server < 0 || server >= SARA_MAX_SERVERS)
		return 0;
	return adm->server_waits[server].count;
}

double admission_server_window(const struct admission *adm)
{
	return adm->window_per_server ? server_window(adm) : 0.0;
}

double admission_answer_window(const struct admission *adm)
{
	return adm->estimate_window ? window_size(adm) : 0.0;
}

/* Sessions a second over the last window_ms, admitted or answered, by the
 * intervals the reports closed. While the reports span less than that, the
 * rate is over the time since the first report, whose own interval (of no
 * known start) is left out: a rate, not a count that has not had the time. */
enum interval_count { INTERVAL_ADMITTED, INTERVAL_ANSWERED, INTERVAL_ARRIVED, INTERVAL_FIRST_ANSWERS };

static double interval_rate(const struct admission *adm, uint64_t now_ms, uint64_t window_ms, enum interval_count what)
{
	uint64_t span_ms = now_ms - adm->first_report_ms;
	double sum = 0;
	if (span_ms < window_ms)
		window_ms = span_ms;
	if (window_ms == 0)
		return 0;
	for (uint32_t i = 0; i < adm->intervals_count; i++) {
		const struct admission_interval *in =
			&adm->intervals[(adm->intervals_head + ADMISSION_LEAD_HISTORY - 1 - i) % ADMISSION_LEAD_HISTORY];
		if (now_ms - in->end_ms >= window_ms)
			break;
		sum += what == INTERVAL_ANSWERED	 ? in->answered
		       : what == INTERVAL_ARRIVED	 ? in->arrived
		       : what == INTERVAL_FIRST_ANSWERS ? in->first_answers
							 : in->admitted;
	}
	return sum * 1000.0 / (double)window_ms;
}

/* The rate estimate's window: lead_s, or 1 s with the lead off. */
static uint64_t rate_window_ms(const struct admission *adm)
{
	return adm->lead_s > 0 ? (uint64_t)(adm->lead_s * 1000.0) : 1000;
}

/* R (admission.h, Rate estimate) set by this report, dt_ms after the
 * previous one. Runs after update_lead has closed this report's interval. */
static void adapt_rate_limit(struct admission *adm, uint64_t now_ms, uint64_t dt_ms)
{
	uint64_t lead_ms = rate_window_ms(adm);
	double x = adm->cluster_load, t1 = adm->current.t1, dt = fmin((double)dt_ms / 1000.0, 1.0);
	double answered = interval_rate(adm, now_ms, 2 * lead_ms, INTERVAL_ANSWERED);
	/* the further above T1, the faster the backlog is drained */
	double drain = answered * (1.0 - ADMISSION_RATE_DRAIN_MAX * fmin((x - t1) / (1.0 - t1), 1.0));
	if (!(adm->rate_limit > 0)) {
		if (x > t1 && answered * 2.0 * (double)lead_ms / 1000.0 >= ADMISSION_LEAD_MIN_SESSIONS) {
			adm->rate_limit = fmax(drain, 1.0);
			adm->tokens = rate_bucket(adm);
			adm->tokens_ms = now_ms;
		}
		return;
	}
	/* Above T1 with the servers answering less than is admitted: they are
	 * at capacity, R follows what they answer. Otherwise they keep up: R
	 * grows while it binds, probing for their capacity (holding it instead
	 * would leave a low first estimate in place while a queue passes). */
	if (x > t1 && interval_rate(adm, now_ms, 2 * lead_ms, INTERVAL_ADMITTED) > answered)
		adm->rate_limit = drain;
	else if (interval_rate(adm, now_ms, lead_ms, INTERVAL_ADMITTED) >= 0.9 * adm->rate_limit)
		adm->rate_limit *= 1.0 + ADMISSION_RATE_GROWTH_PER_S * dt;
	adm->rate_limit = fmax(adm->rate_limit, 1.0);
	adm->tokens = fmin(adm->tokens, rate_bucket(adm));
}

/* W and R (admission.h, Window estimate) at a report, after update_lead
 * has closed its interval. */
static void adapt_window(struct admission *adm, uint64_t now_ms)
{
	double answered = interval_rate(adm, now_ms, 2 * rate_window_ms(adm), INTERVAL_FIRST_ANSWERS);
	adm->window = answered * adm->answer_delay_s;
	adm->rate_limit = answered;
}

/* admission_client_reduction's step at a report, dt_ms after the previous
 * one (after update_lead has closed its interval). */
static void adapt_client_reduction(struct admission *adm, uint64_t now_ms, uint64_t dt_ms)
{
	uint64_t lead_ms = rate_window_ms(adm);
	double told = fmin(adm->client_reduction, ADMISSION_CLIENT_REDUCTION_MAX);
	double arrived = interval_rate(adm, now_ms, lead_ms, INTERVAL_ARRIVED), wanted = 0.0;
	double step = fmin((double)dt_ms / (double)lead_ms, 1.0);
	/* The window knows whether the servers are full: it refuses. What it
	 * admitted is then their capacity; when it refused none, the clients
	 * shed more than needed and the reduction eases (to 0 at this step).
	 * The answered rate would follow the shedding clients down instead. */
	double pace = adm->estimate_window ? interval_rate(adm, now_ms, lead_ms, INTERVAL_ADMITTED) : adm->rate_limit;
	if (adm->estimate_window && arrived - pace < 1.0)
		pace = 0.0;
	if (pace > 0 && arrived > 0) {
		wanted = 1.0 - pace * (1.0 - told) / arrived;
		if (wanted * arrived < 1.0)
			wanted = 0.0;
	}
	adm->client_reduction = fmin(fmax(told + (wanted - told) * step, 0.0), ADMISSION_CLIENT_REDUCTION_MAX);
}

/* Closes the interval of admissions a report ends, then (lead on) learns
 * b from the window the report reflects and sets x_new's offset from the
 * admissions since. Intervals are placed by the report that closed them,
 * so the windows are exact to one report interval. */
static void update_lead(struct admission *adm, uint64_t now_ms)
{
	struct admission_interval *slot = &adm->intervals[adm->intervals_head];
	uint64_t recent = 0, seen = 0, lead_ms;
	slot->end_ms = now_ms;
	slot->admitted = adm->admitted_since_report;
	slot->answered = adm->answered_since_report;
	slot->arrived = adm->arrived_since_report;
	slot->first_answers = adm->first_answers_since_report;
	adm->first_answers_since_report = 0;
	adm->admitted_since_report = 0;
	adm->answered_since_report = 0;
	adm->arrived_since_report = 0;
	adm->intervals_head = (adm->intervals_head + 1) % ADMISSION_LEAD_HISTORY;
	if (adm->intervals_count < ADMISSION_LEAD_HISTORY)
		adm->intervals_count++;
	if (!(adm->lead_s > 0)) {
		adm->lead_delta = 0;
		return;
	}
	lead_ms = (uint64_t)(adm->lead_s * 1000.0);
	for (uint32_t i = 0; i < adm->intervals_count; i++) {
		const struct admission_interval *in =
			&adm->intervals[(adm->intervals_head + ADMISSION_LEAD_HISTORY - 1 - i) % ADMISSION_LEAD_HISTORY];
		uint64_t age = now_ms - in->end_ms;
		if (age < lead_ms)
			recent += in->admitted;
		else if (age < 2 * lead_ms)
			seen += in->admitted;
		else
			break;
	}
	if (seen >= ADMISSION_LEAD_MIN_SESSIONS) {
		double sample = adm->cluster_load / (double)seen;
		adm->load_per_session = adm->load_per_session > 0
						? LEAD_SMOOTHING * adm->load_per_session + (1.0 - LEAD_SMOOTHING) * sample
						: sample;
	}
	/* Only ahead, never below x: a load that lasts longer than its
	 * sessions' arrival (a server's queue draining) would otherwise read
	 * as leaving, and admit a burst into a cluster still full (the
	 * goodput experiment at 3x: x at C, x_new 0.2). */
	adm->lead_delta = fmax(0.0, adm->load_per_session * ((double)recent - (double)seen));
}

/* eq (4): T2 linearly, T3 multiplicatively, by the excess of x over each;
 * reset below T1. */
static void move_thresholds(struct admission *adm)
{
	const struct admission_thresholds *conf = &adm->configured;
	struct admission_thresholds *cur = &adm->current;
	double x = adm->load;

	if (x < conf->t1) {
		if (cur->t2 != conf->t2 || cur->t3 != conf->t3) {
			cur->t2 = conf->t2;
			cur->t3 = conf->t3;
			adm->events[ADMISSION_EV_THRESHOLDS_RESET]++;
		}
		return;
	}
	double old_t2 = cur->t2, old_t3 = cur->t3;
	double gap2 = fmin(THRESHOLD_MIN_GAP, conf->t2 - conf->t1);
	double gap3 = fmin(THRESHOLD_MIN_GAP, conf->t3 - conf->t2);
	if (x > cur->t2)
		cur->t2 = fmax(cur->t2 - (x - cur->t2), conf->t1 + gap2);
	if (x > cur->t3)
		cur->t3 = cur->t3 * (1.0 - (x - cur->t3));
	/* T3 stays above T2 even when only T2 moved. */
	cur->t3 = fmin(old_t3, fmax(cur->t3, cur->t2 + gap3));
	if (cur->t2 != old_t2 || cur->t3 != old_t3)
		adm->events[ADMISSION_EV_THRESHOLDS_MOVED]++;
}

void admission_report_load(struct admission *adm, uint64_t now_ms, const double *server_loads,
			   const double *weights, unsigned n)
{
	double weight_sum = 0, mean = 0, variance = 0;

	if (adm->have_report && now_ms < adm->last_report_ms) {
		adm->events[ADMISSION_EV_REPORT_STALE]++;
		return;
	}
	/* First pass: weights and the weighted mean. */
	for (unsigned i = 0; server_loads && i < n; i++) {
		double w = weights ? weights[i] : 1.0;
		if (!isfinite(w) || !(w > 0)) {
			adm->events[ADMISSION_EV_WEIGHT_INVALID]++;
			continue;
		}
		weight_sum += w;
		mean += w * sane_load(adm, server_loads[i]);
	}
	if (!(weight_sum > 0) || !isfinite(weight_sum)) {
		adm->events[ADMISSION_EV_REPORT_EMPTY]++;
		return;
	}
	mean /= weight_sum;
	adm->servers = n;
	/* Second pass: the weighted (population) variance; the loads are
	 * re-read without counting their clamping twice. */
	for (unsigned i = 0; i < n; i++) {
		double w = weights ? weights[i] : 1.0;
		double load = server_loads[i];
		if (!isfinite(w) || !(w > 0))
			continue;
		if (!isfinite(load) || load < 0 || load > 1)
			load = 1.0;
		variance += w * (load - mean) * (load - mean);
	}
	variance /= weight_sum;

	/* eq (1), divided by alpha: the paper's form tops out at alpha when
	 * every server is fully loaded (variance 0), so with alpha 0.7 and
	 * T2 0.8 a saturated cluster would never close to new sessions. The
	 * scale keeps the paper's mix (variance weighs (1 - alpha) / alpha
	 * against the mean) and makes a saturated cluster read 1. alpha 0 is
	 * the spread alone, 4 * variance (a variance of 0..1 loads is at most
	 * 1/4). */
	double cluster = adm->alpha > 0 ? (adm->alpha * mean + (1.0 - adm->alpha) * variance) / adm->alpha
					: 4.0 * variance;
	uint64_t elapsed_ms = adm->have_report ? now_ms - adm->last_report_ms : 0;
	adm->cluster_load = fmin(fmax(cluster, 0.0), 1.0);
	if (!adm->have_report)
		adm->first_report_ms = now_ms;
	adm->have_report = true;
	adm->last_report_ms = now_ms;
	adm->events[ADMISSION_EV_REPORT]++;
	update_x(adm);
	move_thresholds(adm);
	update_lead(adm, now_ms);
	if (adm->estimate_rate)
		adapt_rate_limit(adm, now_ms, elapsed_ms);
	else if (adm->estimate_window)
		adapt_window(adm, now_ms);
	if (adm->estimate_rate || adm->estimate_window)
		adapt_client_reduction(adm, now_ms, elapsed_ms);
	update_reopening(adm, elapsed_ms);
}

void admission_report_dispatcher_load(struct admission *adm, double load)
{
	adm->dispatcher_load = sane_load(adm, load);
	update_x(adm);
}

enum admission_zone admission_zone(const struct admission *adm)
{
	const struct admission_thresholds *t = &adm->current;
	double x = adm->load;

	if (!adm->enabled)
		return ADMISSION_ZONE_OFF;
	if (x <= t->t1)
		return ADMISSION_ZONE_NORMAL;
	if (x <= t->t2)
		return ADMISSION_ZONE_SHED;
	if (x <= t->t3)
		return ADMISSION_ZONE_CLOSED;
	if (x < t->c)
		return ADMISSION_ZONE_DEGRADE;
	return ADMISSION_ZONE_FULL;
}

const char *admission_zone_name(enum admission_zone zone)
{
	return (unsigned)zone < ADMISSION_ZONE_COUNT ? zone_names[zone] : "invalid";
}

/* eq (2) for a new session on x_new. */
static double eq2_new(const struct admission *adm, double x)
{
	const struct admission_thresholds *t = &adm->current;
	if (x <= t->t1)
		return 0.0;
	if (x > t->t2)
		return 1.0;
	return (x - t->t1) / (t->t2 - t->t1);
}

/* eq (2), without the reopening ramp. */
static double eq2_probability(const struct admission *adm, enum admission_kind kind)
{
	const struct admission_thresholds *t = &adm->current;
	double x = kind == ADMIT_ESTABLISHED ? adm->load : new_session_load(adm);

	if (kind == ADMIT_ESTABLISHED) {
		if (!adm->degrade || x <= t->t3)
			return 0.0;
		if (x >= t->c)
			return 1.0;
		return (x - t->t3) / (t->c - t->t3);
	}
	return eq2_new(adm, x);
}

double admission_new_session_load(const struct admission *adm)
{
	return new_session_load(adm);
}

double admission_client_reduction(const struct admission *adm)
{
	if (!adm->enabled)
		return 0.0;
	if ((adm->estimate_rate || adm->estimate_window) && adm->rate_limit > 0)
		return adm->client_reduction;
	return admission_refusal_probability(adm, ADMIT_NEW_SESSION);
}

double admission_refusal_probability(const struct admission *adm, enum admission_kind kind)
{
	double p;
	if (!adm->enabled)
		return 0.0;
	p = eq2_probability(adm, kind);
	if (kind != ADMIT_ESTABLISHED && adm->refuse_new_floor > p)
		p = adm->refuse_new_floor;
	return p;
}

/* The reopening ramp, once per cluster report (elapsed_ms since the
 * previous one): up with eq (2) at once; held while x is above T1 (the
 * refusal that brought x back into the shed zone is about what the
 * overload needs); down at 1 / reopen_s per second once x is below T1. */
static void update_reopening(struct admission *adm, uint64_t elapsed_ms)
{
	double target = eq2_probability(adm, ADMIT_NEW_SESSION);
	double floor = adm->refuse_new_floor;
	if (adm->reopen_s <= 0)
		floor = 0;
	else if (new_session_load(adm) <= adm->current.t1)
		floor -= (double)elapsed_ms / 1000.0 / adm->reopen_s;
	adm->refuse_new_floor = fmax(target, fmax(floor, 0.0));
}

/* A new session admitted, decided or not: counted for the rate and lead
 * estimates, and its token taken, down to floor. */
static void note_new_admitted(struct admission *adm, double token_floor)
{
	if (adm->admitted_since_report < UINT32_MAX)
		adm->admitted_since_report++;
	adm->lead_delta += adm->load_per_session; /* 0 while b is unlearned or the lead off */
	if (adm->estimate_rate && adm->rate_limit > 0)
		adm->tokens = fmax(adm->tokens - 1.0, token_floor);
}

/* A new session for server under the window per server: eq (2) on that
 * server's x_new, the cluster's window's rule on its share (the shares add
 * up to W: a server whose unrefusable sessions overrun its share does not
 * close the others). The reopening ramp applies when it is on; with
 * reopen_s 0 the report's p is not held until the next report, as the
 * share moves with every answer. */
static double server_refusal_probability(struct admission *adm, int server)
{
	const struct admission_server_waits *w = &adm->server_waits[server];
	double x = server_has_room(adm, server) && adm->load < adm->current.c
			   ? adm->current.t1 * fmin(1.0, (double)w->count / server_window(adm))
			   : 1.0;
	double p = eq2_new(adm, fmax(x, adm->dispatcher_load));
	if (adm->reopen_s > 0 && adm->refuse_new_floor > p)
		p = adm->refuse_new_floor;
	return p;
}

bool admission_decide(struct admission *adm, enum admission_kind kind)
{
	return admission_decide_on(adm, kind, -1);
}

bool admission_decide_on(struct admission *adm, enum admission_kind kind, int server)
{
	if ((unsigned)kind >= ADMIT_KIND_COUNT)
		kind = ADMIT_NEW_SESSION; /* the stricter rule for an unknown kind */
	enum admission_zone zone = admission_zone(adm);
	double p = adm->enabled && kind == ADMIT_NEW_SESSION && server_waits(adm, server)
			   ? server_refusal_probability(adm, server)
			   : admission_refusal_probability(adm, kind);
	/* p = 0 and p = 1 draw nothing, so the stream of draws (and a test's
	 * expectations) depends only on the probabilistic decisions. */
	bool refuse = p >= 1.0 || (p > 0.0 && rng_uniform(adm) < p);
	adm->decisions[refuse ? ADMISSION_REFUSED : ADMISSION_ADMITTED][kind][zone]++;
	if (kind == ADMIT_NEW_SESSION && adm->arrived_since_report < UINT32_MAX)
		adm->arrived_since_report++;
	if (!refuse && kind == ADMIT_NEW_SESSION)
		note_new_admitted(adm, 0.0);
	return !refuse;
}

void admission_charge(struct admission *adm)
{
	adm->decisions[ADMISSION_ADMITTED][ADMIT_NEW_SESSION][admission_zone(adm)]++;
	if (adm->arrived_since_report < UINT32_MAX)
		adm->arrived_since_report++;
	note_new_admitted(adm, -rate_bucket(adm));
}

uint64_t admission_count(const struct admission *adm, enum admission_verdict verdict,
			 enum admission_kind kind, enum admission_zone zone)
{
	if ((unsigned)verdict >= ADMISSION_VERDICT_COUNT || (unsigned)kind >= ADMIT_KIND_COUNT ||
	    (unsigned)zone >= ADMISSION_ZONE_COUNT)
		return 0;
	return adm->decisions[verdict][kind][zone];
}

enum counter_id admission_decision_counter(enum admission_verdict verdict, enum admission_kind kind,
					   enum admission_zone zone)
{
	if ((unsigned)verdict >= ADMISSION_VERDICT_COUNT || (unsigned)kind >= ADMIT_KIND_COUNT ||
	    (unsigned)zone >= ADMISSION_ZONE_COUNT)
		return COUNTER_NONE;
	return decision_counters[verdict][kind][zone];
}

void admission_get_counters(const struct admission *adm, struct counter_set *out)
{
	for (unsigned v = 0; v < ADMISSION_VERDICT_COUNT; v++)
		for (unsigned k = 0; k < ADMIT_KIND_COUNT; k++)
			for (unsigned z = 0; z < ADMISSION_ZONE_COUNT; z++)
				out->values[decision_counters[v][k][z]] = adm->decisions[v][k][z];
	for (unsigned e = 0; e < ADMISSION_EV_COUNT; e++)
		out->values[event_counters[e]] = adm->events[e];
}
