/* status_counters.h - every counter sarad reports, from the one counter
 * table: the statistics structs (the engine's, a queue's, the verdicts,
 * conntrack's) written into counter sets, and a walk over all of them in
 * groups for the log (and metrics). */
#ifndef SARA_STATUS_COUNTERS_H
#define SARA_STATUS_COUNTERS_H

#include "engine/counters.h"
#include "engine/engine.h"
#include "io/control.h"
#include "io/ct_marks.h"
#include "io/nfqueue.h"

/* Each of these writes its scope's entries of out and leaves the others. */

/* COUNTER_SCOPE_ENGINE_STATS. */
void status_counters_engine(const struct engine_stats *st, struct counter_set *out);
/* COUNTER_SCOPE_ENGINE_STATS, COUNTER_SCOPE_ENGINE and COUNTER_SCOPE_ADMISSION
 * of view's engine, read under the view's engine lock. */
void status_counters_engine_view(const struct control_view *view, struct counter_set *out);
/* COUNTER_SCOPE_QUEUE, and COUNTER_SCOPE_KERNEL_QUEUE from k (report that
 * scope only when k->found). */
void status_counters_queue(const struct nfqueue_stats *q, const struct kernel_queue_stats *k,
			   struct counter_set *out);
/* COUNTER_SCOPE_VERDICT_ACCEPT, _DROP and COUNTER_SCOPE_VERDICTS; reads vc
 * with atomic loads (the queue threads keep adding). */
void status_counters_verdicts(const struct verdict_counts *vc, struct counter_set *out);
/* COUNTER_SCOPE_CONNTRACK. */
void status_counters_conntrack(const struct ct_marks_stats *st, struct counter_set *out);

/* What status_counters_walk calls: group when a group of counters starts
 * ("engine", "admission", "verdicts accept", "verdicts drop", "verdicts",
 * "queue N", "announcements", "agents", "server health", "conntrack",
 * "daemon"), then counter for each of its counters passing filter. */
struct status_visitor {
	void (*group)(void *ctx, const char *label);
	counter_visit_fn counter;
	enum counters_filter filter;
	void *ctx;
};

/* Walks the counters of what view names, in the order of the status
 * document, with the view's locking rules (control.h). */
void status_counters_walk(const struct control_view *view, const struct status_visitor *visitor);

#endif
