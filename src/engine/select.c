/* select.c - picks a server for each new session: smooth weighted
 * round-robin, least sessions, weighted rendezvous hash, or "shell". */
#include "engine/select.h"

#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "engine/hash.h"

/* The shell window is bounded so the selector stays a fixed size. */
#define SELECT_WINDOW_MIN 2
#define SELECT_WINDOW_MAX 64
/* Shell's load per session counts a server as holding at least this many,
 * so that a lightly used server's first sessions do not look expensive. */
#define SELECT_SHELL_MIN_SESSIONS 32

struct load_history {
	double samples[SELECT_WINDOW_MAX]; /* ring, oldest at head once full */
	uint32_t head, count;
	double estimate; /* cached at each report; valid when count > 0 */
	/* Shell between reports: the sessions placed since the last one, each
	 * counted at the load per session the report showed, so one stale
	 * report does not send every new session of an interval to the server
	 * that looked idlest. */
	uint32_t placed_since_report;
	double load_per_session;
};

struct selector {
	enum selection_algorithm algorithm;
	unsigned server_count;
	uint32_t window;
	double weight[SARA_MAX_SERVERS];
	bool available[SARA_MAX_SERVERS];
	uint32_t sessions[SARA_MAX_SERVERS];
	uint32_t calls[SARA_MAX_SERVERS];    /* sessions not yet ending */
	double factor[SARA_MAX_SERVERS];     /* slow start, 0..1 */
	double ramp_credit[SARA_MAX_SERVERS]; /* shell: picks earned while ramping */
	double rr_current[SARA_MAX_SERVERS]; /* smooth WRR running weights */
	/* Rendezvous hashing: a key every dispatcher of the cluster derives
	 * the same way, and each server's id hashed under it, so a server's
	 * score depends on its id, not on its position in the config. */
	struct hash_key hash_key;
	uint64_t server_hash[SARA_MAX_SERVERS];
	struct load_history load[SARA_MAX_SERVERS];
};

static uint64_t server_id_hash(const struct selector *sel, const char *id)
{
	return hash_bytes(&sel->hash_key, id, strnlen(id, SARA_ID_MAX));
}

struct selector *selector_create(const struct sara_config *cfg)
{
	struct selector *sel;
	unsigned char name_digest[crypto_generichash_BYTES];

	if (!cfg || cfg->server_count > SARA_MAX_SERVERS || sodium_init() < 0)
		return NULL;
	sel = calloc(1, sizeof(*sel));
	if (!sel)
		return NULL;
	sel->server_count = cfg->server_count;
	/* The algorithm and the weights (each > 0), as a reload sets them. */
	if (!selector_reconfigure(sel, cfg)) {
		free(sel);
		return NULL;
	}
	sel->window = cfg->selection.window;
	if (sel->window < SELECT_WINDOW_MIN)
		sel->window = SELECT_WINDOW_MIN;
	if (sel->window > SELECT_WINDOW_MAX)
		sel->window = SELECT_WINDOW_MAX;

	/* The first 16 bytes of BLAKE2b-256 (crypto_generichash) of the cluster
	 * name: fixed, so that every dispatcher loaded with this config maps a
	 * key to the same server. */
	crypto_generichash(name_digest, sizeof(name_digest), (const unsigned char *)cfg->name,
			   strnlen(cfg->name, sizeof(cfg->name)), NULL, 0);
	memcpy(sel->hash_key.bytes, name_digest, sizeof(sel->hash_key.bytes));

	for (unsigned i = 0; i < sel->server_count; i++) {
		sel->factor[i] = 1.0;
		sel->available[i] = true;
		sel->server_hash[i] = server_id_hash(sel, cfg->servers[i].id);
	}
	return sel;
}

void selector_destroy(struct selector *sel)
{
	free(sel);
}

bool selector_reconfigure(struct selector *sel, const struct sara_config *cfg)
{
	if (!sel || !cfg || cfg->server_count != sel->server_count)
		return false;
	for (unsigned i = 0; i < cfg->server_count; i++) {
		double weight = cfg->servers[i].weight;
		if (!(weight > 0) || !isfinite(weight))
			return false;
	}
	sel->algorithm = cfg->selection.algorithm;
	for (unsigned i = 0; i < sel->server_count; i++)
		sel->weight[i] = cfg->servers[i].weight;
	return true;
}

bool selector_set_servers(struct selector *sel, const struct sara_config *running, const bool fresh[SARA_MAX_SERVERS])
{
	if (!sel || !running || running->server_count > SARA_MAX_SERVERS)
		return false;
	for (unsigned i = 0; i < running->server_count; i++) {
		double weight = running->servers[i].weight;
		if (!running->servers[i].retired && (!(weight > 0) || !isfinite(weight)))
			return false;
	}
	sel->algorithm = running->selection.algorithm;
	for (unsigned i = 0; i < SARA_MAX_SERVERS; i++) {
		const struct server_config *s = &running->servers[i];
		bool listed = i < running->server_count;
		if (!listed || fresh[i]) {
			sel->sessions[i] = 0;
			sel->calls[i] = 0;
			sel->factor[i] = 1.0;
			sel->ramp_credit[i] = 0;
			memset(&sel->load[i], 0, sizeof(sel->load[i]));
			sel->available[i] = listed && !s->retired;
		}
		if (!listed)
			continue;
		/* A retired slot keeps its weight for the sessions it still holds. */
		sel->weight[i] = s->weight > 0 ? s->weight : 1.0;
		if (s->retired)
			sel->available[i] = false;
		if (s->id[0])
			sel->server_hash[i] = server_id_hash(sel, s->id);
	}
	sel->server_count = running->server_count;
	memset(sel->rr_current, 0, sizeof(sel->rr_current));
	return true;
}

void selector_set_available(struct selector *sel, unsigned server, bool available)
{
	if (!sel || server >= sel->server_count || sel->available[server] == available)
		return;
	sel->available[server] = available;
	/* Restart the round-robin sequence: stale running weights would
	 * otherwise give a returning server a burst or a drought. */
	memset(sel->rr_current, 0, sizeof(sel->rr_current));
}

/* v within [0, 1]: factors and loads outside it are a caller's rounding. */
static double unit_clamp(double v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

void selector_set_weight_factor(struct selector *sel, unsigned server, double factor)
{
	if (!sel || server >= sel->server_count || isnan(factor))
		return;
	factor = unit_clamp(factor);
	if (factor >= 1 || sel->factor[server] >= 1)
		sel->ramp_credit[server] = 0;
	sel->factor[server] = factor;
}

double selector_weight_factor(const struct selector *sel, unsigned server)
{
	if (!sel || server >= sel->server_count)
		return 0;
	return sel->factor[server];
}

/* The weight in use now. A factor of 0 (a caller's rounding) still leaves
 * a sliver, so that ratios stay finite. */
static double effective_weight(const struct selector *sel, unsigned i)
{
	double factor = sel->factor[i] > 0.001 ? sel->factor[i] : 0.001;
	return sel->weight[i] * factor;
}

bool selector_is_available(const struct selector *sel, unsigned server)
{
	return sel && server < sel->server_count && sel->available[server];
}

void selector_session_added(struct selector *sel, unsigned server)
{
	if (sel && server < sel->server_count && sel->sessions[server] < UINT32_MAX) {
		sel->sessions[server]++;
		if (sel->load[server].placed_since_report < UINT32_MAX)
			sel->load[server].placed_since_report++;
	}
}

/* One count of a server's (sessions or calls) stepped down, never below 0. */
static void count_down(const struct selector *sel, uint32_t *counts, unsigned server)
{
	if (sel && server < sel->server_count && counts[server] > 0)
		counts[server]--;
}

static uint32_t count_of(const struct selector *sel, const uint32_t *counts, unsigned server)
{
	return sel && server < sel->server_count ? counts[server] : 0;
}

void selector_session_removed(struct selector *sel, unsigned server)
{
	count_down(sel, sel ? sel->sessions : NULL, server);
}

uint32_t selector_sessions(const struct selector *sel, unsigned server)
{
	return count_of(sel, sel ? sel->sessions : NULL, server);
}

void selector_call_added(struct selector *sel, unsigned server)
{
	if (sel && server < sel->server_count && sel->calls[server] < UINT32_MAX)
		sel->calls[server]++;
}

void selector_call_removed(struct selector *sel, unsigned server)
{
	count_down(sel, sel ? sel->calls : NULL, server);
}

uint32_t selector_calls(const struct selector *sel, unsigned server)
{
	return count_of(sel, sel ? sel->calls : NULL, server);
}

int selector_pick_below_limit(const struct selector *sel, uint32_t limit)
{
	int best = -1;
	double best_room = 0;
	bool any_available = false;
	for (unsigned i = 0; sel && i < sel->server_count; i++) {
		double room;
		if (!sel->available[i])
			continue;
		any_available = true;
		room = (double)limit * effective_weight(sel, i) - (double)sel->calls[i];
		if (room >= 1.0 && (best < 0 || room > best_room)) {
			best = (int)i;
			best_room = room;
		}
	}
	return best >= 0 || !any_available ? best : SELECT_ALL_FULL;
}

/* Least-squares line through (0, y0) .. (n-1, yn-1), evaluated at x = n,
 * clamped to the valid load range. One sample: the forecast is that sample. */
static double forecast_next(const struct load_history *history, uint32_t window)
{
	uint32_t n = history->count;
	uint32_t oldest = n < window ? 0 : history->head;
	double mean_x = (n - 1) / 2.0, mean_y = 0, sxy = 0, sxx = 0, forecast;

	for (uint32_t x = 0; x < n; x++)
		mean_y += history->samples[(oldest + x) % window];
	mean_y /= n;
	for (uint32_t x = 0; x < n; x++) {
		double dx = x - mean_x;
		sxy += dx * (history->samples[(oldest + x) % window] - mean_y);
		sxx += dx * dx;
	}
	forecast = sxx > 0 ? mean_y + (sxy / sxx) * (n - mean_x) : mean_y;
	if (forecast < 0)
		forecast = 0;
	if (forecast > 1)
		forecast = 1;
	return forecast;
}

/* DESIGN.md section 7: trust the forecast as much as it matched the last
 * measurement. */
static double shell_estimate(double forecast, double measured)
{
	double err;

	if (measured > 0) {
		err = fabs(forecast - measured) / measured;
		if (err > 1)
			err = 1;
	} else {
		err = forecast == 0 ? 0 : 1;
	}
	return (1 - err) * forecast + err * measured;
}

void selector_report_load(struct selector *sel, unsigned server, double load)
{
	struct load_history *history;
	double measured;

	if (!sel || server >= sel->server_count || isnan(load))
		return;
	load = unit_clamp(load);
	history = &sel->load[server];
	if (history->count < sel->window) {
		history->samples[history->count++] = load;
	} else {
		history->samples[history->head] = load;
		history->head = (history->head + 1) % sel->window;
	}
	measured = load;
	history->estimate = shell_estimate(forecast_next(history, sel->window), measured);
	history->load_per_session = history->estimate / (sel->sessions[server] > SELECT_SHELL_MIN_SESSIONS
								 ? sel->sessions[server] : SELECT_SHELL_MIN_SESSIONS);
	history->placed_since_report = 0;
}

/* The shell estimate plus what the sessions placed since the report add. */
static double shell_current_estimate(const struct selector *sel, unsigned server)
{
	const struct load_history *h = &sel->load[server];
	if (h->count == 0)
		return 0;
	return fmin(1.0, h->estimate + h->placed_since_report * h->load_per_session);
}

double selector_estimate(const struct selector *sel, unsigned server)
{
	if (!sel || server >= sel->server_count || sel->load[server].count == 0)
		return -1;
	return sel->load[server].estimate;
}

static int pick_round_robin(struct selector *sel)
{
	double total = 0;
	int best = -1;

	/* nginx's smooth weighted round-robin: the highest running weight
	 * wins and pays back the total, which interleaves heavy servers. */
	for (unsigned i = 0; i < sel->server_count; i++) {
		if (!sel->available[i])
			continue;
		sel->rr_current[i] += effective_weight(sel, i);
		total += effective_weight(sel, i);
		if (best < 0 || sel->rr_current[i] > sel->rr_current[best])
			best = (int)i;
	}
	if (best >= 0)
		sel->rr_current[best] -= total;
	return best;
}

static int pick_least_sessions(const struct selector *sel)
{
	int best = -1;
	double best_ratio = 0;

	for (unsigned i = 0; i < sel->server_count; i++) {
		double ratio;

		if (!sel->available[i])
			continue;
		ratio = sel->sessions[i] / effective_weight(sel, i);
		if (best < 0 || ratio < best_ratio) {
			best = (int)i;
			best_ratio = ratio;
		}
	}
	return best;
}

static int pick_hash(const struct selector *sel, const void *key, size_t key_len)
{
	uint64_t key_hash = hash_bytes(&sel->hash_key, key ? key : "", key ? key_len : 0);
	int best = -1;
	double best_score = 0;

	for (unsigned i = 0; i < sel->server_count; i++) {
		uint64_t pair[2] = { sel->server_hash[i], key_hash };
		uint64_t h;
		double u, score;

		if (!sel->available[i])
			continue;
		h = hash_bytes(&sel->hash_key, pair, sizeof(pair));
		/* The top 53 bits, centred in their interval: u in (0, 1),
		 * so ln(u) is finite and negative. */
		u = ((double)(h >> 11) + 0.5) * 0x1.0p-53;
		score = -effective_weight(sel, i) / log(u);
		if (best < 0 || score > best_score) {
			best = (int)i;
			best_score = score;
		}
	}
	return best;
}

/* Shell's order: estimate per weight, then sessions per weight, then the
 * lower index. A server without samples yet (just joined, agent not
 * reporting) counts as estimate 0, like the idle server it probably is;
 * slow start tempers that for a joining server. */
struct shell_rank {
	double load, sessions;
};

static bool shell_better(const struct shell_rank *a, const struct shell_rank *b)
{
	return a->load < b->load || (a->load == b->load && a->sessions < b->sessions);
}

static int pick_shell(struct selector *sel)
{
	struct shell_rank rank[SARA_MAX_SERVERS];
	bool candidate[SARA_MAX_SERVERS] = { false };
	bool any_samples = false;
	double total_sessions = 0, total_weight = 0;
	unsigned candidates = 0;
	int fallback = -1;

	for (unsigned i = 0; i < sel->server_count; i++)
		any_samples |= sel->available[i] && sel->load[i].count > 0;
	if (!any_samples)
		return pick_least_sessions(sel);
	for (unsigned i = 0; i < sel->server_count; i++) {
		if (!sel->available[i])
			continue;
		total_sessions += sel->sessions[i];
		total_weight += effective_weight(sel, i);
	}
	for (unsigned i = 0; i < sel->server_count; i++) {
		double estimate, cap;

		if (!sel->available[i])
			continue;
		estimate = shell_current_estimate(sel, i);
		rank[i].load = estimate / effective_weight(sel, i);
		rank[i].sessions = sel->sessions[i] / effective_weight(sel, i);
		if (fallback < 0 || shell_better(&rank[i], &rank[fallback]))
			fallback = (int)i;
		/* However idle it claims to be, no server pulls more than its
		 * capped share of the sessions. */
		cap = SELECT_SHELL_SHARE_CAP * total_sessions * effective_weight(sel, i) / total_weight +
		      SELECT_SHELL_SHARE_SLACK;
		if (sel->sessions[i] < cap) {
			candidate[i] = true;
			candidates++;
		}
	}
	if (candidates == 0)
		return fallback;
	/* Best first; a ramping winner takes the pick only when its credit
	 * allows (factor of its wins), else the next best is asked. */
	while (candidates > 0) {
		int best = -1;
		for (unsigned i = 0; i < sel->server_count; i++)
			if (candidate[i] && (best < 0 || shell_better(&rank[i], &rank[best])))
				best = (int)i;
		if (sel->factor[best] >= 1)
			return best;
		sel->ramp_credit[best] += sel->factor[best];
		if (sel->ramp_credit[best] >= 1) {
			sel->ramp_credit[best] -= 1;
			return best;
		}
		candidate[best] = false;
		candidates--;
	}
	return fallback; /* every server is ramping and none had credit */
}

int selector_pick_even(struct selector *sel)
{
	return sel ? pick_least_sessions(sel) : -1;
}

int selector_pick(struct selector *sel, const void *key, size_t key_len)
{
	if (!sel)
		return -1;
	switch (sel->algorithm) {
	case SELECT_ROUND_ROBIN:
		return pick_round_robin(sel);
	case SELECT_LEAST_SESSIONS:
		return pick_least_sessions(sel);
	case SELECT_HASH:
		return pick_hash(sel, key, key_len);
	case SELECT_SHELL:
		return pick_shell(sel);
	}
	return pick_least_sessions(sel); /* an unknown value from a bad cast */
}
