/* status_snapshot.c - sarad's reported state copied flat
 * (status_snapshot.h): the same sources, in the same steps and under the
 * same locks, as the control socket's status and servers replies. */
#include "io/status_snapshot.h"

#include <stdio.h>
#include <string.h>

#include "io/status_counters.h"

size_t status_snapshot_size(unsigned queue_count)
{
	return sizeof(struct status_snapshot) + (size_t)queue_count * sizeof(struct status_queue);
}

static void admission_state(const struct admission *adm, struct status_admission *out)
{
	out->enabled = adm->enabled;
	out->zone = admission_zone(adm);
	out->load = adm->load;
	out->cluster_load = adm->cluster_load;
	out->dispatcher_load = adm->dispatcher_load;
	out->new_session_load = admission_new_session_load(adm);
	out->lead_s = adm->lead_s;
	out->load_per_session = adm->load_per_session;
	out->reopen_s = adm->reopen_s;
	out->refuse_new_floor = adm->refuse_new_floor;
	out->refuse_new_p = admission_refusal_probability(adm, ADMIT_NEW_SESSION);
	out->refuse_established_p = admission_refusal_probability(adm, ADMIT_ESTABLISHED);
	out->current = adm->current;
	out->configured = adm->configured;
}

/* Copied under engine_lock, worked out after: the queue threads wait on it. */
static void take_engine(const struct control_view *v, struct status_snapshot *out)
{
	struct admission adm;
	struct engine_stats st;
	const struct sara_config *cfg;
	struct engine_server_info info;

	if (v->engine_lock)
		pthread_mutex_lock(v->engine_lock);
	engine_get_stats(v->engine, &st);
	out->engine = *engine_counters(v->engine);
	adm = *engine_admission(v->engine);
	cfg = engine_config(v->engine);
	out->server_count = cfg->server_count;
	for (unsigned i = 0; i < cfg->server_count; i++) {
		struct status_server *s = &out->servers[i];
		engine_server_info(v->engine, i, &info);
		memcpy(s->id, cfg->servers[i].id, sizeof(s->id));
		s->weight = cfg->servers[i].weight;
		s->weight_factor = info.weight_factor;
		s->available = info.available;
		s->sessions = info.sessions;
		s->load_estimate = info.load_estimate;
	}
	if (v->engine_lock)
		pthread_mutex_unlock(v->engine_lock);
	status_counters_engine(&st, &out->engine);
	admission_get_counters(&adm, &out->engine);
	admission_state(&adm, &out->admission);
	out->has_engine = true;
}

static void capture_daemon_counter(void *ctx, const struct counter_def *def, uint64_t value)
{
	counter_add(ctx, counter_id_of(def), value);
}

void status_snapshot_take(const struct control_view *v, struct status_snapshot *out)
{
	uint64_t now = v->now_ms ? v->now_ms() : v->started_ms;
	memset(out, 0, status_snapshot_size(v->queue_count));
	snprintf(out->cluster, sizeof(out->cluster), "%s", v->cluster ? v->cluster : "");
	out->uptime_ms = now >= v->started_ms ? now - v->started_ms : 0;
	if (v->engine)
		take_engine(v, out);
	for (unsigned i = 0; i < out->server_count; i++) {
		struct status_server *s = &out->servers[i];
		/* Health was made from the same configuration: same indices. */
		s->has_health = v->health && server_health_get(v->health, i, now, &s->health);
		s->drained = v->is_drained ? v->is_drained(v->daemon_ctx, i) : -1;
	}
	if (v->verdicts) {
		status_counters_verdicts(v->verdicts, &out->verdicts);
		out->has_verdicts = true;
	}
	out->queue_count = v->queue_count;
	for (unsigned i = 0; i < v->queue_count; i++) {
		struct status_queue *q = &out->queues[i];
		q->num = v->queue_nums[i];
		if (v->queues && v->queues[i])
			nfqueue_get_stats(v->queues[i], &q->stats);
		control_kernel_queue_stats(q->num, &q->kernel);
	}
	if (v->announcements) {
		sealed_listener_get_counters(v->announcements, &out->announcements);
		out->has_announcements = true;
	}
	if (v->agents) {
		sealed_listener_get_counters(v->agents, &out->agents);
		if (v->health)
			out->health = *server_health_counters(v->health);
		out->has_agents = true;
	}
	if (v->ct) {
		struct ct_marks_stats st;
		ct_marks_get_stats(v->ct, &st);
		status_counters_conntrack(&st, &out->conntrack);
		out->has_conntrack = true;
	}
	if (v->visit_daemon_counters)
		v->visit_daemon_counters(v->daemon_ctx, COUNTERS_ALL, capture_daemon_counter, &out->daemon);
}
