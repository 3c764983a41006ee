/* counters.h - sara's counters, named once (counter_list.h) and indexed by
 * enum id: a counter_set is an array of values by id, and counters_visit
 * walks the table for the text, JSON, log and metrics outputs. */
#ifndef SARA_COUNTERS_H
#define SARA_COUNTERS_H

#include <stdint.h>

#include "engine/counter_list.h"

enum counter_id {
	COUNTER_NONE = 0, /* no counter: what a reason function returns on success */
#define COUNTER_ENUM(id, name, kind, scopes, help) COUNTER_##id,
	COUNTER_LIST(COUNTER_ENUM)
#undef COUNTER_ENUM
	COUNTER_COUNT
};

enum counter_kind {
	COUNTER_KIND_EVENTS, /* how often something happened (or how much); reported once non-zero */
	COUNTER_KIND_TOTAL,  /* a running total, always reported */
	COUNTER_KIND_GAUGE,  /* a level now (in use, capacity, waiting), always reported */
};

/* Where a counter is kept and reported; one counter may be in several
 * (flow_table_full: the engine's and the gateway's). */
enum counter_scope {
	COUNTER_SCOPE_ENGINE_STATS,   /* struct engine_stats: status "engine" */
	COUNTER_SCOPE_ENGINE,         /* the engine's events: status "counters" */
	COUNTER_SCOPE_GATEWAY,        /* the gateway role's events */
	COUNTER_SCOPE_ADMISSION,      /* admission control: status "admission.counters" */
	COUNTER_SCOPE_VERDICT_ACCEPT, /* sarad's verdicts: "verdicts.accept" */
	COUNTER_SCOPE_VERDICT_DROP,   /* "verdicts.drop" */
	COUNTER_SCOPE_VERDICTS,       /* "verdicts" */
	COUNTER_SCOPE_QUEUE,          /* one NFQUEUE queue: "queues[i]" */
	COUNTER_SCOPE_KERNEL_QUEUE,   /* the kernel's view of it, when bound */
	COUNTER_SCOPE_ANNOUNCE,       /* the announcement listener: "announcements" */
	COUNTER_SCOPE_ANNOUNCE_REJECT, /* "announcements.rejects" */
	COUNTER_SCOPE_AGENTS,         /* the agent listener: "agents" */
	COUNTER_SCOPE_AGENT_REJECT,   /* "agents.rejects" */
	COUNTER_SCOPE_HEALTH,         /* server health: "agents.health" */
	COUNTER_SCOPE_CONNTRACK,      /* connmark writes: "conntrack" */
	COUNTER_SCOPE_DAEMON,         /* sarad's own events: "daemon" */
	COUNTER_SCOPE_REPLY,          /* replies to refused packets: "daemon" */
	COUNTER_SCOPE_GW_DAEMON,      /* sara-gw's own: its "counter NAME" log lines */
	COUNTER_SCOPE_GW_QUEUE,       /* sara-gw's queue: "counter queue.NAME" */
	COUNTER_SCOPE_COUNT
};

#define COUNTER_IN(scope) (1u << COUNTER_SCOPE_##scope)
#define COUNTER_IN_ENGINE_STATS COUNTER_IN(ENGINE_STATS)
#define COUNTER_IN_ENGINE COUNTER_IN(ENGINE)
#define COUNTER_IN_GATEWAY COUNTER_IN(GATEWAY)
#define COUNTER_IN_SIGNALLING (COUNTER_IN(ENGINE) | COUNTER_IN(GATEWAY))
#define COUNTER_IN_ADMISSION COUNTER_IN(ADMISSION)
#define COUNTER_IN_VERDICT_ACCEPT COUNTER_IN(VERDICT_ACCEPT)
#define COUNTER_IN_VERDICT_DROP COUNTER_IN(VERDICT_DROP)
#define COUNTER_IN_VERDICTS COUNTER_IN(VERDICTS)
#define COUNTER_IN_QUEUE COUNTER_IN(QUEUE)
#define COUNTER_IN_KERNEL_QUEUE COUNTER_IN(KERNEL_QUEUE)
#define COUNTER_IN_ANNOUNCE COUNTER_IN(ANNOUNCE)
#define COUNTER_IN_ANNOUNCE_REJECT COUNTER_IN(ANNOUNCE_REJECT)
#define COUNTER_IN_AGENTS COUNTER_IN(AGENTS)
#define COUNTER_IN_AGENT_REJECT COUNTER_IN(AGENT_REJECT)
#define COUNTER_IN_REJECTS (COUNTER_IN(ANNOUNCE_REJECT) | COUNTER_IN(AGENT_REJECT))
#define COUNTER_IN_HEALTH COUNTER_IN(HEALTH)
#define COUNTER_IN_CONNTRACK COUNTER_IN(CONNTRACK)
#define COUNTER_IN_DAEMON COUNTER_IN(DAEMON)
#define COUNTER_IN_REPLY COUNTER_IN(REPLY)
#define COUNTER_IN_GW_DAEMON COUNTER_IN(GW_DAEMON)
#define COUNTER_IN_GW_QUEUE COUNTER_IN(GW_QUEUE)

/* One row of the table. */
struct counter_def {
	const char *name;  /* stable: the key in JSON and logs */
	const char *help;  /* one line, for humans and metrics */
	enum counter_kind kind;
	uint32_t scopes;   /* COUNTER_IN_* bits */
};

/* Values by id; zeroed (calloc, memset, = { 0 }) is empty. */
struct counter_set {
	uint64_t values[COUNTER_COUNT];
};

/* The row of id; NULL for COUNTER_NONE and ids out of range. */
const struct counter_def *counter_def(enum counter_id id);
/* The id of a row counter_def returned (what a visitor gets back). */
enum counter_id counter_id_of(const struct counter_def *def);
/* id's name; "none" for COUNTER_NONE and ids out of range. */
const char *counter_name(enum counter_id id);

/* COUNTER_NONE and ids out of range count nothing and read as 0. */
static inline void counter_add(struct counter_set *set, enum counter_id id, uint64_t n)
{
	if (id > COUNTER_NONE && id < COUNTER_COUNT)
		set->values[id] += n;
}

static inline uint64_t counter_get(const struct counter_set *set, enum counter_id id)
{
	return id > COUNTER_NONE && id < COUNTER_COUNT ? set->values[id] : 0;
}

enum counters_filter {
	COUNTERS_ALL,      /* every counter of the scope (metrics) */
	COUNTERS_REPORTED, /* less the events still at zero (status, logs) */
};

typedef void (*counter_visit_fn)(void *ctx, const struct counter_def *def, uint64_t value);

/* Calls fn once per counter of scope, in table order, with set's value. */
void counters_visit(const struct counter_set *set, enum counter_scope scope, enum counters_filter filter,
		    counter_visit_fn fn, void *ctx);

#endif
