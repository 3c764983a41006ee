/* status_metrics.c - sarad's metrics page from a status snapshot
 * (status_metrics.h). Counters keep their table names under a prefix per
 * group (metrics_text.h); what the status document shows beside counters
 * (admission's state, the servers) is named here. */
#include "io/status_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/status_counters.h"

static void gauge(struct metrics_text *t, const char *name, const char *help, double value)
{
	metrics_family(t, name, METRIC_GAUGE, help);
	metrics_sample_real(t, name, NULL, 0, value);
}

static const struct metrics_series *one(const struct counter_set *set, struct metrics_series *out)
{
	*out = (struct metrics_series){ .set = set };
	return out;
}

/* ---- the engine and admission ---- */

static void admission_state(struct metrics_text *t, const struct status_admission *a)
{
	static const char *const names[] = { "t1", "t2", "t3", "c" };
	const struct admission_thresholds *sets[] = { &a->current, &a->configured };
	static const char *const set_names[] = { "current", "configured" };

	gauge(t, "sara_admission_enabled", "1 when admission control is on", a->enabled);
	metrics_family(t, "sara_admission_zone", METRIC_GAUGE,
		       "1 for the zone the load x stands in against the current thresholds, 0 for the others");
	for (unsigned z = 0; z < ADMISSION_ZONE_COUNT; z++) {
		struct metric_label zone = { "zone", admission_zone_name((enum admission_zone)z) };
		metrics_sample_u64(t, "sara_admission_zone", &zone, 1, a->zone == z);
	}
	gauge(t, "sara_admission_load", "x, the larger of the cluster's and the dispatcher's load (0..1)", a->load);
	gauge(t, "sara_admission_cluster_load", "l_c, the cluster load of the last report (0..1)", a->cluster_load);
	gauge(t, "sara_admission_dispatcher_load", "l_d, the dispatcher's own load (0..1)", a->dispatcher_load);
	gauge(t, "sara_admission_new_session_load",
	      "x_new, the load new sessions are judged by (x with the lead's sessions)", a->new_session_load);
	metrics_family(t, "sara_admission_refusal_probability", METRIC_GAUGE,
		       "the probability admission refuses a new session or an established session's packet now");
	metrics_sample_real(t, "sara_admission_refusal_probability", &(struct metric_label){ "kind", "new" }, 1,
			    a->refuse_new_p);
	metrics_sample_real(t, "sara_admission_refusal_probability",
			    &(struct metric_label){ "kind", "established" }, 1, a->refuse_established_p);
	metrics_family(t, "sara_admission_threshold", METRIC_GAUGE,
		       "the thresholds T1, T2, T3 and C: as moved by the load's spread (current) and as configured");
	for (unsigned s = 0; s < 2; s++) {
		const double values[] = { sets[s]->t1, sets[s]->t2, sets[s]->t3, sets[s]->c };
		for (unsigned i = 0; i < 4; i++) {
			struct metric_label labels[] = { { "set", set_names[s] }, { "threshold", names[i] } };
			metrics_sample_real(t, "sara_admission_threshold", labels, 2, values[i]);
		}
	}
	gauge(t, "sara_admission_lead_seconds", "admission.lead_s: how late a new session's load shows", a->lead_s);
	gauge(t, "sara_admission_load_per_session", "b, the load one session adds, as learnt (0 until learnt)",
	      a->load_per_session);
	gauge(t, "sara_admission_reopen_seconds", "admission.reopen_s: the slowest easing of new-session refusal",
	      a->reopen_s);
	gauge(t, "sara_admission_refuse_new_floor", "the reopening ramp: new sessions are refused at least this often",
	      a->refuse_new_floor);
}

static bool is_decision(enum counter_id id)
{
	for (unsigned v = 0; v < ADMISSION_VERDICT_COUNT; v++)
		for (unsigned k = 0; k < ADMIT_KIND_COUNT; k++)
			for (unsigned z = 0; z < ADMISSION_ZONE_COUNT; z++)
				if (admission_decision_counter((enum admission_verdict)v, (enum admission_kind)k,
							       (enum admission_zone)z) == id)
					return true;
	return false;
}

struct admission_visit {
	struct metrics_text *t;
	const struct metrics_series *series;
};

static void admission_input(void *ctx, const struct counter_def *def, uint64_t value)
{
	struct admission_visit *v = ctx;
	(void)value;
	if (!is_decision(counter_id_of(def)))
		metrics_counter_family(v->t, "sara_", def, v->series, 1);
}

/* The decisions as one family by decision, kind and zone; the inputs as
 * a family each. */
static void admission_counters(struct metrics_text *t, const struct counter_set *set)
{
	static const char *const verdicts[] = { [ADMISSION_ADMITTED] = "admitted", [ADMISSION_REFUSED] = "refused" };
	static const char *const kinds[] = { [ADMIT_NEW_SESSION] = "new", [ADMIT_ESTABLISHED] = "established" };
	struct metrics_series series;
	struct admission_visit visit = { t, one(set, &series) };

	metrics_family(t, "sara_admission_decisions_total", METRIC_COUNTER,
		       "admission decisions: new sessions and established sessions' packets, admitted or "
		       "refused, by the zone they were decided in");
	for (unsigned v = 0; v < ADMISSION_VERDICT_COUNT; v++)
		for (unsigned k = 0; k < ADMIT_KIND_COUNT; k++)
			for (unsigned z = 0; z < ADMISSION_ZONE_COUNT; z++) {
				struct metric_label labels[] = {
					{ "decision", verdicts[v] },
					{ "kind", kinds[k] },
					{ "zone", admission_zone_name((enum admission_zone)z) },
				};
				enum counter_id id = admission_decision_counter(
					(enum admission_verdict)v, (enum admission_kind)k, (enum admission_zone)z);
				metrics_sample_u64(t, "sara_admission_decisions_total", labels, 3, counter_get(set, id));
			}
	counters_visit(set, COUNTER_SCOPE_ADMISSION, COUNTERS_ALL, admission_input, &visit);
}

static void engine(struct metrics_text *t, const struct status_snapshot *s)
{
	struct metrics_series series;
	metrics_counters(t, "sara_", COUNTER_SCOPE_ENGINE_STATS, one(&s->engine, &series), 1);
	metrics_counters(t, "sara_engine_", COUNTER_SCOPE_ENGINE, &series, 1);
	admission_state(t, &s->admission);
	admission_counters(t, &s->engine);
}

/* ---- verdicts, queues, listeners ---- */

static void verdicts(struct metrics_text *t, const struct counter_set *set)
{
	struct metric_label accept = { "action", "accept" }, drop = { "action", "drop" };
	struct metrics_series series = { set, &accept, 1 };
	metrics_family(t, "sara_verdicts_total", METRIC_COUNTER, "packets sarad decided, by action and reason");
	metrics_counters_by_label(t, "sara_verdicts_total", "reason", COUNTER_SCOPE_VERDICT_ACCEPT, &series);
	series.labels = &drop;
	metrics_counters_by_label(t, "sara_verdicts_total", "reason", COUNTER_SCOPE_VERDICT_DROP, &series);
	metrics_counters(t, "sara_", COUNTER_SCOPE_VERDICTS, one(set, &series), 1);
}

/* Queue numbers as label text, in their own storage (room for "65535"). */
struct queue_labels {
	char num[6];
	struct metric_label label;
	struct counter_set set;
};

static void queues(struct metrics_text *t, const struct status_snapshot *s)
{
	struct queue_labels *rows;
	struct metrics_series *all, *bound;
	unsigned n = s->queue_count, found = 0;
	if (n == 0)
		return;
	rows = calloc(n, sizeof(*rows));
	all = calloc(n, sizeof(*all));
	bound = calloc(n, sizeof(*bound));
	if (!rows || !all || !bound) {
		t->failed = true;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		snprintf(rows[i].num, sizeof(rows[i].num), "%u", (unsigned)s->queues[i].num);
		rows[i].label = (struct metric_label){ "queue", rows[i].num };
		status_counters_queue(&s->queues[i].stats, &s->queues[i].kernel, &rows[i].set);
		all[i] = (struct metrics_series){ &rows[i].set, &rows[i].label, 1 };
		if (s->queues[i].kernel.found)
			bound[found++] = all[i];
	}
	metrics_counters(t, "sara_queue_", COUNTER_SCOPE_QUEUE, all, n);
	if (found)
		metrics_counters(t, "sara_queue_", COUNTER_SCOPE_KERNEL_QUEUE, bound, found);
out:
	free(rows);
	free(all);
	free(bound);
}

static void listener(struct metrics_text *t, const char *prefix, enum counter_scope scope,
		     enum counter_scope reject_scope, const char *rejects, const char *help,
		     const struct counter_set *set)
{
	struct metrics_series series;
	metrics_counters(t, prefix, scope, one(set, &series), 1);
	metrics_family(t, rejects, METRIC_COUNTER, help);
	metrics_counters_by_label(t, rejects, "reason", reject_scope, &series);
}

/* ---- servers ---- */

/* One server's value of a family; false: the server has none. */
typedef bool (*server_value_fn)(const struct status_server *s, double *out);

static void server_family(struct metrics_text *t, const struct status_snapshot *snap, const char *name,
			  enum metric_type type, const char *help, server_value_fn value_of)
{
	bool any = false;
	double v;
	for (unsigned i = 0; i < snap->server_count && !any; i++)
		any = value_of(&snap->servers[i], &v);
	if (!any)
		return;
	metrics_family(t, name, type, help);
	for (unsigned i = 0; i < snap->server_count; i++) {
		struct metric_label server = { "server", snap->servers[i].id };
		if (value_of(&snap->servers[i], &v))
			metrics_sample_real(t, name, &server, 1, v);
	}
}

static bool weight_of(const struct status_server *s, double *v) { *v = s->weight; return true; }
static bool weight_factor_of(const struct status_server *s, double *v) { *v = s->weight_factor; return true; }
static bool available_of(const struct status_server *s, double *v) { *v = s->available; return true; }
static bool sessions_of(const struct status_server *s, double *v) { *v = s->sessions; return true; }

static bool drained_of(const struct status_server *s, double *v)
{
	*v = s->drained;
	return s->drained >= 0;
}

static bool load_estimate_of(const struct status_server *s, double *v)
{
	*v = s->load_estimate;
	return s->load_estimate >= 0;
}

static bool load_of(const struct status_server *s, double *v)
{
	*v = s->health.load;
	return s->has_health && s->health.has_load;
}

static bool heartbeat_age_of(const struct status_server *s, double *v)
{
	*v = (double)s->health.last_beat_age_ms / 1000.0;
	return s->has_health && s->health.heard;
}

static bool heartbeats_of(const struct status_server *s, double *v)
{
	*v = (double)s->health.heartbeats;
	return s->has_health;
}

static bool lost_of(const struct status_server *s, double *v)
{
	*v = (double)s->health.lost;
	return s->has_health;
}

static bool load_reports_of(const struct status_server *s, double *v)
{
	*v = (double)s->health.loads;
	return s->has_health;
}

static void server_states(struct metrics_text *t, const struct status_snapshot *snap)
{
	bool any = false;
	for (unsigned i = 0; i < snap->server_count; i++)
		any |= snap->servers[i].has_health;
	if (!any)
		return;
	metrics_family(t, "sara_server_state", METRIC_GAUGE,
		       "1 for the health state a server is in (from its agent's heartbeats), 0 for the others");
	for (unsigned i = 0; i < snap->server_count; i++) {
		const struct status_server *s = &snap->servers[i];
		if (!s->has_health)
			continue;
		for (unsigned st = 0; st < SERVER_STATE_COUNT; st++) {
			struct metric_label labels[] = { { "server", s->id },
							 { "state", server_state_name((enum server_state)st) } };
			metrics_sample_u64(t, "sara_server_state", labels, 2, s->health.state == st);
		}
	}
}

static void servers(struct metrics_text *t, const struct status_snapshot *s)
{
	server_family(t, s, "sara_server_weight", METRIC_GAUGE, "the server's configured weight", weight_of);
	server_family(t, s, "sara_server_weight_factor", METRIC_GAUGE,
		      "the share of its weight the server has now (slow start: 0..1)", weight_factor_of);
	server_family(t, s, "sara_server_available", METRIC_GAUGE, "1 when the server may take new sessions",
		      available_of);
	server_family(t, s, "sara_server_drained", METRIC_GAUGE, "1 while the operator drains the server",
		      drained_of);
	server_family(t, s, "sara_server_sessions", METRIC_GAUGE, "sessions pinned to the server now", sessions_of);
	server_family(t, s, "sara_server_load_estimate", METRIC_GAUGE,
		      "the shell forecast of the server's load (0..1)", load_estimate_of);
	server_states(t, s);
	server_family(t, s, "sara_server_load", METRIC_GAUGE, "the load the server's agent last reported (0..1)",
		      load_of);
	server_family(t, s, "sara_server_heartbeat_age_seconds", METRIC_GAUGE,
		      "time since the server's agent was last heard", heartbeat_age_of);
	server_family(t, s, "sara_server_heartbeats_total", METRIC_COUNTER, "heartbeats taken from the server's agent",
		      heartbeats_of);
	server_family(t, s, "sara_server_heartbeats_lost_total", METRIC_COUNTER,
		      "heartbeats of the server's agent missing from the sequence", lost_of);
	server_family(t, s, "sara_server_load_reports_total", METRIC_COUNTER,
		      "load reports taken from the server's agent", load_reports_of);
}

/* ---- the page ---- */

void status_metrics_render(const struct status_snapshot *s, struct metrics_text *t)
{
	struct metric_label cluster = { "cluster", s->cluster };
	struct metrics_series series;

	metrics_family(t, "sara_info", METRIC_GAUGE, "the cluster this sarad serves (value 1)");
	metrics_sample_u64(t, "sara_info", &cluster, 1, 1);
	metrics_family(t, "sara_uptime_seconds", METRIC_GAUGE, "time since sarad started");
	metrics_sample_real(t, "sara_uptime_seconds", NULL, 0, (double)s->uptime_ms / 1000.0);
	if (s->has_engine)
		engine(t, s);
	if (s->has_verdicts)
		verdicts(t, &s->verdicts);
	queues(t, s);
	if (s->has_announcements)
		listener(t, "sara_announcements_", COUNTER_SCOPE_ANNOUNCE, COUNTER_SCOPE_ANNOUNCE_REJECT,
			 "sara_announcements_rejects_total", "announcement datagrams rejected, by reason",
			 &s->announcements);
	if (s->has_agents) {
		listener(t, "sara_agents_", COUNTER_SCOPE_AGENTS, COUNTER_SCOPE_AGENT_REJECT,
			 "sara_agents_rejects_total", "agent datagrams rejected, by reason", &s->agents);
		metrics_counters(t, "sara_health_", COUNTER_SCOPE_HEALTH, one(&s->health, &series), 1);
	}
	servers(t, s);
	if (s->has_conntrack)
		metrics_counters(t, "sara_conntrack_", COUNTER_SCOPE_CONNTRACK, one(&s->conntrack, &series), 1);
	metrics_counters(t, "sara_daemon_", COUNTER_SCOPE_DAEMON, one(&s->daemon, &series), 1);
	metrics_counters(t, "sara_daemon_", COUNTER_SCOPE_REPLY, &series, 1);
}
