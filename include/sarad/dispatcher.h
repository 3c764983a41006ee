/* dispatcher.h - sarad's one engine and what changes it: the engine behind
 * its lock and its hooks (connmark writes queued in the mark ring, flows
 * asked about through conntrack or the live set that scans and conntrack
 * events keep), its session journal, server health (its health feed),
 * operator drains, gateway announcements, configuration reloads (servers
 * added, removed, re-weighted), and the periodic tick that advances engine
 * time, writes the queued connmarks, compacts the journal and feeds slow
 * start and admission. */
#ifndef SARA_SARAD_DISPATCHER_H
#define SARA_SARAD_DISPATCHER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/agent_msg.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "engine/live_set.h"
#include "io/ct_events.h"
#include "io/ct_marks.h"
#include "sarad/cpu_load.h"
#include "sarad/daemon_counters.h"
#include "sarad/journal.h"
#include "sarad/log_kinds.h"
#include "sarad/mark_ring.h"
#include "sarad/replication.h"

#define DISPATCHER_MARK_RING_SIZE 65536u   /* connmark writes waiting for the tick */
#define DISPATCHER_MARKS_PER_TICK 4096u    /* written per tick, outside the lock */
#define DISPATCHER_REPIN_MARKS 512u        /* written per re-pinning step: about 4 ms */

struct health_feed;

/* The loop thread calls every function below except where one says
 * otherwise; engine_lock guards the engine, the mark ring and the live set
 * against the queue threads (queue.count > 1) and the conntrack scan. */
struct dispatcher {
	/* The running configuration: restart-only keys as started, live keys
	 * and the servers (the engine's running table: slots, retired ones
	 * included) as last reloaded. cfg points at running; the loop thread
	 * changes it (a reload), others read the engine's under the lock. */
	const struct sara_config *cfg;
	struct sara_config running;
	uint64_t (*now_ms)(void);          /* the engine's monotonic clock */
	pthread_mutex_t engine_lock;
	struct engine *engine;
	bool hooks_live;                   /* false while the engine is torn down */
	struct ct_marks *ct;               /* NULL: connmarks are left alone */
	struct mark_ring marks;
	struct mark_update *mark_batch;    /* DISPATCHER_MARKS_PER_TICK, written by the tick */
	/* The conntrack scan's answer for the flow_active hook (NULL until a
	 * scan completed, and while events lost are being made up for), when
	 * that scan started, and whether conntrack events keep it current. */
	struct live_set *live;
	uint64_t live_built_ms;
	bool live_followed;
	struct health_feed *health;        /* NULL when agents.listen is unset */
	bool drained[SARA_MAX_SERVERS];    /* operator drain: no new sessions */
	struct cpu_load own_load;          /* also when slow start and admission were last fed */
	struct daemon_counters *counters;
	struct log_kinds *logs;
	/* The session journal (NULL when off or unusable) and what its start found. */
	struct session_journal *journal;
	struct journal_restore_report journal_report;
	/* Sessions shared with the other dispatchers (store NULL when off). */
	struct replication replication;
	/* Slow start of a server a reload added: when it joined (0: not ramping). */
	uint64_t joined_ms[SARA_MAX_SERVERS];
	uint64_t retired_checked_ms;       /* when removed servers were last looked at */
};

/* ct may be NULL. With state.journal on, the sessions it holds are
 * restored first (a journal that cannot be written leaves sarad running
 * without one: logged). 0, or -1 with err set. */
int dispatcher_init(struct dispatcher *d, const struct sara_config *cfg, struct ct_marks *ct,
		    struct daemon_counters *counters, struct log_kinds *logs, uint64_t (*now_ms)(void),
		    char *err, size_t err_size);
/* Agents report from now on: the dispatcher's health feed, fed by
 * dispatcher_heartbeat and dispatcher_load_report, starts with every server
 * unknown (a server not heard from fails misses x interval after now_ms).
 * 0, or -1 with err set. */
int dispatcher_watch_health(struct dispatcher *d, uint64_t now_ms, char *err, size_t err_size);
/* Marks of live flows stay in the kernel: their media keeps flowing to the
 * same servers while sarad restarts. */
void dispatcher_fini(struct dispatcher *d);

/* Decides a batch of packets under one lock (any packet thread). */
void dispatcher_decide(struct dispatcher *d, const struct engine_input *in, size_t count, uint64_t now_ms,
		       struct verdict *out);
/* A checked announcement from the gateway (announce_listener's sink). */
void dispatcher_announce(void *dispatcher, const struct announcement *ann);
/* Checked agent reports of server (agent_listener's sinks). */
void dispatcher_heartbeat(void *dispatcher, unsigned server, const struct agent_heartbeat *hb);
void dispatcher_load_report(void *dispatcher, unsigned server, const struct agent_load *load);

/* A server failed: no new sessions go to it, and its sessions and flows
 * move to the others in slices (dispatcher_repin_step), the first one
 * now. Returns the number of its sessions that move (0 when no other
 * server is available: they stay, failing open). */
uint32_t dispatcher_server_failed(struct dispatcher *d, unsigned server);
/* One slice of the moves under the lock (about 1 ms at 250 000 sessions,
 * at most as many flow moves as the mark ring has room for), then up to
 * DISPATCHER_REPIN_MARKS of the connmark writes queued, outside it. True
 * while moves or writes are left: the loop calls it again soon. */
bool dispatcher_repin_step(struct dispatcher *d);
/* Moves of a failed server's sessions are left to make. */
bool dispatcher_repin_pending(struct dispatcher *d);

/* Every 100 ms: engine time, queued connmark writes, and once per agents
 * interval the slow-start factors and the admission loads. */
void dispatcher_tick(struct dispatcher *d, uint64_t now_ms);
/* Missed heartbeats become failures: at least every agents.interval_ms / 2. */
void dispatcher_health_tick(struct dispatcher *d, uint64_t now_ms);

/* The operator's drain (sara-ctl drain/undrain), combined with health.
 * 0, or -1 with err set for an unknown server. */
int dispatcher_set_drain(struct dispatcher *d, unsigned server, bool drain, char *err, size_t err_size);
bool dispatcher_is_drained(const struct dispatcher *d, unsigned server);
/* Health says server may serve (up, or not heard from yet; always without agents). */
bool dispatcher_server_healthy(const struct dispatcher *d, unsigned server, uint64_t now_ms);

/* A reload: the live keys replaced, servers added (slow start), removed
 * (retired: their sessions drain) or re-weighted (engine_apply_config);
 * health, drains and the journal follow. */
bool dispatcher_reconfigure(struct dispatcher *d, const struct sara_config *next, char *err, size_t err_size);
/* timeouts.media_s as running (reloadable); any thread. */
uint32_t dispatcher_media_s(struct dispatcher *d);
/* A completed conntrack scan started at built_ms replaces the last one
 * (the scan thread); the old set is freed. followed: conntrack events keep
 * it current from now on (dispatcher_ct_event), so it answers for as long
 * as it is there; otherwise for media_s after built_ms. */
void dispatcher_set_live(struct dispatcher *d, struct live_set *set, uint64_t built_ms, bool followed);
/* Events were lost: the set is freed and idle flows are asked about one
 * by one until the next scan. */
void dispatcher_drop_live(struct dispatcher *d);
bool dispatcher_has_live(struct dispatcher *d);
/* One conntrack event applied to a followed set: an entry created with
 * one of the servers' marks is live, one destroyed, or created with mark 0
 * or another's, is not. False when the set had no room for it and was
 * dropped (then: single queries until a scan succeeds). */
bool dispatcher_ct_event(struct dispatcher *d, enum ct_event_kind kind, const struct flow_key *key, uint32_t mark);
/* A verdict set a server's connmark on an entry conntrack had already
 * confirmed: no NEW event will tell, so the followed set takes it here.
 * Any thread; false as dispatcher_ct_event. */
bool dispatcher_connmark_set(struct dispatcher *d, const struct flow_key *key);

#endif
