/* status_snapshot.h - what sarad reports (the control socket's status and
 * servers documents) copied into one flat struct, taken in the thread that
 * feeds the listeners and server health (the loop), so that another
 * thread can render it (status_metrics.h) without touching the daemon. */
#ifndef SARA_STATUS_SNAPSHOT_H
#define SARA_STATUS_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/admission.h"
#include "engine/config.h"
#include "engine/counters.h"
#include "engine/server_health.h"
#include "io/control.h"
#include "io/nfqueue.h"

/* Admission control as status's "admission" shows it. */
struct status_admission {
	bool enabled;
	enum admission_zone zone;
	double load, cluster_load, dispatcher_load, new_session_load;
	double lead_s, load_per_session, reopen_s, refuse_new_floor;
	double refuse_new_p, refuse_established_p;
	struct admission_thresholds current, configured;
};

/* One server as "servers" shows it. */
struct status_server {
	char id[SARA_ID_MAX];
	double weight, weight_factor;    /* configured; slow start's factor now */
	bool available;
	int drained;                     /* 1, 0, or -1 when the daemon cannot say */
	uint32_t sessions;
	double load_estimate;            /* -1: no load reports */
	bool has_health;                 /* agents on: health below is valid */
	struct server_health_info health;
};

struct status_queue {
	uint16_t num;
	struct nfqueue_stats stats;
	struct kernel_queue_stats kernel;
};

struct status_snapshot {
	char cluster[SARA_ID_MAX * 2];
	uint64_t uptime_ms;
	bool has_engine;
	struct counter_set engine;       /* ENGINE_STATS, ENGINE, ADMISSION */
	struct status_admission admission;
	bool has_verdicts;
	struct counter_set verdicts;     /* VERDICT_ACCEPT, VERDICT_DROP, VERDICTS */
	bool has_announcements;
	struct counter_set announcements; /* ANNOUNCE, ANNOUNCE_REJECT */
	bool has_agents;
	struct counter_set agents;       /* AGENTS, AGENT_REJECT */
	struct counter_set health;       /* HEALTH (with agents) */
	bool has_conntrack;
	struct counter_set conntrack;
	struct counter_set daemon;       /* DAEMON, REPLY */
	unsigned server_count;
	struct status_server servers[SARA_MAX_SERVERS];
	unsigned queue_count;
	struct status_queue queues[];    /* queue_count of them */
};

/* The bytes a snapshot of queue_count queues takes. */
size_t status_snapshot_size(unsigned queue_count);
/* Fills out (status_snapshot_size(view->queue_count) bytes) from view,
 * with the view's locking rules (control.h): from the thread that serves
 * the control socket. */
void status_snapshot_take(const struct control_view *view, struct status_snapshot *out);

#endif
