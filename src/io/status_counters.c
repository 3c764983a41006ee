/* status_counters.c - statistics structs into counter sets
 * (status_counters.h). */
#include "io/status_counters.h"

#include <stdio.h>
#include <string.h>

#include "engine/admission.h"

_Static_assert(VERDICT_REASON_COUNT <= VERDICT_REASONS, "struct verdict_counts has no room for every reason");

void status_counters_engine(const struct engine_stats *st, struct counter_set *out)
{
	out->values[COUNTER_ENGINE_PACKETS] = st->packets;
	out->values[COUNTER_ENGINE_BYTES] = st->bytes;
	out->values[COUNTER_ENGINE_FLOWS_CREATED] = st->flows_created;
	out->values[COUNTER_ENGINE_SESSIONS_CREATED] = st->sessions_created;
	out->values[COUNTER_ENGINE_SESSIONS_ENDED] = st->sessions_ended;
	out->values[COUNTER_ENGINE_SESSIONS_EXPIRED] = st->sessions_expired;
	out->values[COUNTER_ENGINE_FLOWS_EXPIRED] = st->flows_expired;
	out->values[COUNTER_ENGINE_PREDICTIONS_MADE] = st->predictions_made;
	out->values[COUNTER_ENGINE_PREDICTIONS_HIT] = st->predictions_hit;
	out->values[COUNTER_ENGINE_FLOWS_IN_USE] = st->flows_in_use;
	out->values[COUNTER_ENGINE_FLOWS_CAPACITY] = st->flows_capacity;
	out->values[COUNTER_ENGINE_SESSIONS_IN_USE] = st->sessions_in_use;
	out->values[COUNTER_ENGINE_SESSIONS_CAPACITY] = st->sessions_capacity;
	out->values[COUNTER_ENGINE_TCP_STREAMS_IN_USE] = st->tcp_streams_in_use;
	out->values[COUNTER_ENGINE_MEMORY_BYTES] = st->memory_bytes;
}

void status_counters_queue(const struct nfqueue_stats *q, const struct kernel_queue_stats *k,
			   struct counter_set *out)
{
	out->values[COUNTER_QUEUE_RECEIVED] = q->received;
	out->values[COUNTER_QUEUE_BATCHES] = q->batches;
	out->values[COUNTER_QUEUE_VERDICTS] = q->verdicts;
	out->values[COUNTER_QUEUE_VERDICT_ERRORS] = q->verdict_errors;
	out->values[COUNTER_QUEUE_ENOBUFS] = q->enobufs;
	out->values[COUNTER_KERNEL_WAITING] = k->waiting;
	out->values[COUNTER_KERNEL_DROPPED] = k->dropped;
	out->values[COUNTER_KERNEL_USER_DROPPED] = k->user_dropped;
	out->values[COUNTER_KERNEL_ID_SEQUENCE] = k->id_sequence;
}

static uint64_t load_u64(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void status_counters_verdicts(const struct verdict_counts *vc, struct counter_set *out)
{
	for (unsigned a = VERDICT_ACCEPT; a <= VERDICT_DROP; a++)
		for (unsigned r = 0; r < VERDICT_REASON_COUNT; r++)
			out->values[verdict_counter((enum verdict_action)a, (enum verdict_reason)r)] =
				load_u64(&vc->by_action_reason[a][r]);
	out->values[COUNTER_ACCEPTED_UNMARKED] = load_u64(&vc->accepted_unmarked);
	out->values[COUNTER_CONNMARKS_SET] = load_u64(&vc->connmarks_set);
}

void status_counters_conntrack(const struct ct_marks_stats *st, struct counter_set *out)
{
	out->values[COUNTER_CONNTRACK_UPDATES] = st->updates;
	out->values[COUNTER_CONNTRACK_MISSING] = st->missing;
	out->values[COUNTER_CONNTRACK_ERRORS] = st->errors;
	out->values[COUNTER_CONNTRACK_QUERIES] = st->queries;
}

static void visit(const struct status_visitor *vis, const struct counter_set *set, enum counter_scope scope)
{
	counters_visit(set, scope, vis->filter, vis->counter, vis->ctx);
}

void status_counters_engine_view(const struct control_view *v, struct counter_set *out)
{
	struct engine_stats st;
	if (v->engine_lock)
		pthread_mutex_lock(v->engine_lock);
	engine_get_stats(v->engine, &st);
	*out = *engine_counters(v->engine);
	admission_get_counters(engine_admission(v->engine), out);
	if (v->engine_lock)
		pthread_mutex_unlock(v->engine_lock);
	status_counters_engine(&st, out);
}

static void walk_engine(const struct control_view *v, const struct status_visitor *vis)
{
	struct counter_set set;
	status_counters_engine_view(v, &set);
	vis->group(vis->ctx, "engine");
	visit(vis, &set, COUNTER_SCOPE_ENGINE_STATS);
	visit(vis, &set, COUNTER_SCOPE_ENGINE);
	vis->group(vis->ctx, "admission");
	visit(vis, &set, COUNTER_SCOPE_ADMISSION);
}

static void walk_verdicts(const struct control_view *v, const struct status_visitor *vis)
{
	struct counter_set set = { 0 };
	status_counters_verdicts(v->verdicts, &set);
	vis->group(vis->ctx, "verdicts accept");
	visit(vis, &set, COUNTER_SCOPE_VERDICT_ACCEPT);
	vis->group(vis->ctx, "verdicts drop");
	visit(vis, &set, COUNTER_SCOPE_VERDICT_DROP);
	vis->group(vis->ctx, "verdicts");
	visit(vis, &set, COUNTER_SCOPE_VERDICTS);
}

static void walk_queues(const struct control_view *v, const struct status_visitor *vis)
{
	for (unsigned i = 0; i < v->queue_count; i++) {
		struct nfqueue_stats q;
		struct kernel_queue_stats k;
		struct counter_set set = { 0 };
		char label[32];
		memset(&q, 0, sizeof(q));
		if (v->queues && v->queues[i])
			nfqueue_get_stats(v->queues[i], &q);
		control_kernel_queue_stats(v->queue_nums[i], &k);
		status_counters_queue(&q, &k, &set);
		snprintf(label, sizeof(label), "queue %u", (unsigned)v->queue_nums[i]);
		vis->group(vis->ctx, label);
		visit(vis, &set, COUNTER_SCOPE_QUEUE);
		if (k.found)
			visit(vis, &set, COUNTER_SCOPE_KERNEL_QUEUE);
	}
}

static void walk_listeners(const struct control_view *v, const struct status_visitor *vis)
{
	struct counter_set set;
	if (v->announcements) {
		sealed_listener_get_counters(v->announcements, &set);
		vis->group(vis->ctx, "announcements");
		visit(vis, &set, COUNTER_SCOPE_ANNOUNCE);
		visit(vis, &set, COUNTER_SCOPE_ANNOUNCE_REJECT);
	}
	if (v->agents) {
		sealed_listener_get_counters(v->agents, &set);
		vis->group(vis->ctx, "agents");
		visit(vis, &set, COUNTER_SCOPE_AGENTS);
		visit(vis, &set, COUNTER_SCOPE_AGENT_REJECT);
		vis->group(vis->ctx, "server health");
		if (v->health)
			visit(vis, server_health_counters(v->health), COUNTER_SCOPE_HEALTH);
	}
}

void status_counters_walk(const struct control_view *v, const struct status_visitor *vis)
{
	if (v->engine)
		walk_engine(v, vis);
	if (v->verdicts)
		walk_verdicts(v, vis);
	walk_queues(v, vis);
	walk_listeners(v, vis);
	if (v->ct) {
		struct ct_marks_stats st;
		struct counter_set set = { 0 };
		ct_marks_get_stats(v->ct, &st);
		status_counters_conntrack(&st, &set);
		vis->group(vis->ctx, "conntrack");
		visit(vis, &set, COUNTER_SCOPE_CONNTRACK);
	}
	vis->group(vis->ctx, "daemon");
	if (v->visit_daemon_counters)
		v->visit_daemon_counters(v->daemon_ctx, vis->filter, vis->counter, vis->ctx);
}
