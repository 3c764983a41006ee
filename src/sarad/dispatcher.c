/* dispatcher.c - sarad's engine and what changes it (dispatcher.h). */
#include "sarad/dispatcher.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/clock.h"
#include "engine/server_health.h"
#include "engine/server_slots.h"
#include "io/log.h"
#include "sarad/flow_text.h"
#include "sarad/health_feed.h"

/* ---- engine hooks (called with the engine lock held) ---- */

static void queue_mark_update(struct dispatcher *d, const struct flow_key *key, uint32_t mark)
{
	int rc;
	if (!d->hooks_live || !d->ct)
		return;
	if (mark_ring_push(&d->marks, key, mark))
		return;
	/* The ring is full (a mass expiry or a failover): write inline rather
	 * than leave a stale mark that would keep the flow away from the engine
	 * or on a dead server. */
	daemon_count(d->counters, COUNTER_CONNMARK_WRITE_INLINE, 1);
	rc = ct_marks_set(d->ct, key, mark);
	if (rc < 0 && rc != -ENOENT)
		daemon_count(d->counters, COUNTER_CONNMARK_WRITE_ERRORS, 1);
}

static void hook_flow_removed(void *ctx, const struct flow_key *key, int server)
{
	(void)server;
	queue_mark_update(ctx, key, 0);
}

/* A flow re-pinned off a failed server: its kernel connmark must follow,
 * or its packets would keep going to the dead server by the fast path. */
static void hook_flow_moved(void *ctx, const struct flow_key *key, int server, uint32_t mark)
{
	(void)server;
	queue_mark_update(ctx, key, mark);
}

/* The engine's flow_active hook: a media flow kept in the kernel by its
 * connmark is alive while its conntrack entry exists (the entry's own
 * timeout follows the packets). An error answers true: better keep a flow
 * than cut it. */
static bool hook_flow_active(void *ctx, const struct flow_key *key, int server)
{
	struct dispatcher *d = ctx;
	int rc;
	(void)server;
	if (!d->ct)
		return false;
	/* A set that events keep current holds every marked connection alive
	 * now. Without events, a scan started less than media_s ago saw every
	 * connection the engine can ask about (idle for media_s, so older than
	 * the scan) that was alive then; one that ended since is kept one
	 * timeout longer. */
	if (d->live && (d->live_followed || d->now_ms() - d->live_built_ms <
						   (uint64_t)engine_config(d->engine)->timeouts.media_s * 1000u)) {
		daemon_count(d->counters, COUNTER_CONNTRACK_SCAN_ANSWERS, 1);
		return live_set_contains(d->live, key);
	}
	rc = ct_marks_exists(d->ct, key, NULL);
	if (rc < 0) {
		daemon_count(d->counters, COUNTER_CONNTRACK_QUERY_ERRORS, 1);
		return true;
	}
	return rc == 1;
}

/* ---- life ---- */

static void open_journal(struct dispatcher *d, const struct sara_config *cfg)
{
	struct journal_restore_report *rep = &d->journal_report;
	char err[512];
	d->journal = session_journal_open(cfg, d->engine, d->counters, d->now_ms, clock_ms(CLOCK_REALTIME), rep, err,
					  sizeof(err));
	if (rep->restored || rep->dropped_no_server || rep->dropped_other || rep->bytes_rejected ||
	    rep->connections_restored || rep->connections_dropped)
		log_msg(LOG_NOTICE,
			"journal %s: %llu sessions restored; %llu not (%llu of servers gone, %llu others); %llu TCP "
			"connections restored, %llu not; %llu servers retired; %llu bytes not trusted",
			cfg->state.journal, (unsigned long long)rep->restored,
			(unsigned long long)(rep->dropped_no_server + rep->dropped_other),
			(unsigned long long)rep->dropped_no_server, (unsigned long long)rep->dropped_other,
			(unsigned long long)rep->connections_restored, (unsigned long long)rep->connections_dropped,
			(unsigned long long)rep->servers_retired, (unsigned long long)rep->bytes_rejected);
	if (!d->journal)
		log_msg(LOG_WARNING, "%s: sessions will not survive a restart", err);
	else
		log_msg(LOG_INFO, "journal %s: %llu bytes after compaction", cfg->state.journal,
			(unsigned long long)rep->snapshot_bytes);
}

int dispatcher_init(struct dispatcher *d, const struct sara_config *cfg, struct ct_marks *ct,
		    struct daemon_counters *counters, struct log_kinds *logs, uint64_t (*now_ms)(void),
		    char *err, size_t err_size)
{
	struct engine_hooks hooks = { .ctx = d, .flow_removed = hook_flow_removed, .flow_active = hook_flow_active,
				      .flow_moved = hook_flow_moved };
	uint64_t now = now_ms();

	memset(d, 0, sizeof(*d));
	d->running = *cfg;
	d->cfg = &d->running;
	d->now_ms = now_ms;
	d->ct = ct;
	d->counters = counters;
	d->logs = logs;
	pthread_mutex_init(&d->engine_lock, NULL);
	cpu_load_init(&d->own_load, cfg->queue.count, now);
	d->engine = engine_create(cfg, &hooks, now, err, err_size);
	if (!d->engine)
		return -1;
	if (sara_config_journal_on(cfg))
		open_journal(d, cfg);
	d->running = *engine_config(d->engine);
	d->mark_batch = calloc(DISPATCHER_MARKS_PER_TICK, sizeof(*d->mark_batch));
	if (!d->mark_batch || !mark_ring_init(&d->marks, DISPATCHER_MARK_RING_SIZE)) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	d->hooks_live = true;
	return 0;
}

int dispatcher_watch_health(struct dispatcher *d, uint64_t now_ms, char *err, size_t err_size)
{
	if (!d->health)
		d->health = health_feed_create(d, now_ms);
	if (!d->health) {
		snprintf(err, err_size, "agents: out of memory");
		return -1;
	}
	return 0;
}

void dispatcher_fini(struct dispatcher *d)
{
	health_feed_destroy(d->health);   /* before the engine its events use */
	d->health = NULL;
	replication_stop(&d->replication);
	session_journal_close(d->journal);
	d->journal = NULL;
	d->hooks_live = false;
	engine_destroy(d->engine);
	d->engine = NULL;
	live_set_destroy(d->live);
	d->live = NULL;
	mark_ring_free(&d->marks);
	free(d->mark_batch);
	d->mark_batch = NULL;
	pthread_mutex_destroy(&d->engine_lock);
}

/* ---- input ---- */

void dispatcher_decide(struct dispatcher *d, const struct engine_input *in, size_t count, uint64_t now_ms,
		       struct verdict *out)
{
	pthread_mutex_lock(&d->engine_lock);
	engine_packet_batch(d->engine, in, count, now_ms, out);
	/* Before any of these verdicts goes out: a restart after it keeps
	 * what it decided. */
	session_journal_write(d->journal);
	pthread_mutex_unlock(&d->engine_lock);
}

void dispatcher_announce(void *dispatcher, const struct announcement *ann)
{
	struct dispatcher *d = dispatcher;
	uint64_t now = d->now_ms();
	pthread_mutex_lock(&d->engine_lock);
	engine_announce(d->engine, ann, now);
	session_journal_write(d->journal);
	pthread_mutex_unlock(&d->engine_lock);
}

void dispatcher_heartbeat(void *dispatcher, unsigned server, const struct agent_heartbeat *hb)
{
	struct dispatcher *d = dispatcher;
	if (d->health)
		health_feed_heartbeat(d->health, server, hb, d->now_ms(), clock_ms(CLOCK_REALTIME));
}

void dispatcher_load_report(void *dispatcher, unsigned server, const struct agent_load *load)
{
	struct dispatcher *d = dispatcher;
	if (d->health)
		health_feed_load(d->health, server, load, d->now_ms());
}

/* ---- time ---- */

static void free_retired(struct dispatcher *d, uint64_t now_ms);

/* Pops a batch under the lock, writes it without. */
static void write_marks(struct dispatcher *d, uint32_t max)
{
	uint32_t n;
	pthread_mutex_lock(&d->engine_lock);
	n = mark_ring_pop(&d->marks, d->mark_batch, max);
	pthread_mutex_unlock(&d->engine_lock);
	for (uint32_t i = 0; i < n; i++) {
		const struct mark_update *u = &d->mark_batch[i];
		int rc = ct_marks_set(d->ct, &u->key, u->mark);
		if (rc == 0) {
			daemon_count(d->counters, u->mark ? COUNTER_CONNMARKS_MOVED : COUNTER_CONNMARKS_CLEARED, 1);
		} else if (rc != -ENOENT) {
			char flow[FLOW_TEXT_MAX];
			struct log_event e;
			daemon_count(d->counters, COUNTER_CONNMARK_WRITE_ERRORS, 1);
			flow_text(&u->key, flow, sizeof(flow));
			log_event_begin(&e, "connmark_write_failed");
			log_event_u64(&e, "mark", u->mark);
			log_event_str(&e, "flow", flow);
			log_event_str(&e, "error", strerror(-rc));
			log_event_limited(&d->logs->ct_error, d->now_ms(), LOG_ERR, &e);
		}
	}
}

/* The slow start of a server a reload added, 1 once it is over. */
static double join_factor(struct dispatcher *d, unsigned server, uint64_t now_ms)
{
	uint64_t period = (uint64_t)d->cfg->selection.slow_start_s * 1000u, since;
	if (!d->joined_ms[server])
		return 1.0;
	since = now_ms > d->joined_ms[server] ? now_ms - d->joined_ms[server] : 0;
	if (since >= period) {
		d->joined_ms[server] = 0;
		return 1.0;
	}
	return fmax((double)since / (double)period, SERVER_HEALTH_SLOW_START_FLOOR);
}

/* Once per agents interval: slow-start factors from health, then the
 * admission controller's cluster and dispatcher loads. */
static void feed_selection_and_admission(struct dispatcher *d, uint64_t now_ms)
{
	double factor[SARA_MAX_SERVERS];
	double own_load = cpu_load_sample(&d->own_load, now_ms);
	for (unsigned i = 0; i < d->cfg->server_count; i++) {
		struct server_health_info info;
		/* An unavailable server's factor is left alone: the recovery
		 * event sets it, and this snapshot may predate that event. */
		factor[i] = -1;
		if (!d->health)
			factor[i] = 1.0;
		else if (health_feed_info(d->health, i, now_ms, &info) && info.available)
			factor[i] = info.weight_factor;
		if (factor[i] >= 0)
			factor[i] = fmin(factor[i], join_factor(d, i, now_ms));
	}
	pthread_mutex_lock(&d->engine_lock);
	for (unsigned i = 0; i < d->cfg->server_count; i++)
		if (factor[i] >= 0)
			engine_set_server_weight_factor(d->engine, i, factor[i]);
	engine_update_admission(d->engine, now_ms, own_load);
	pthread_mutex_unlock(&d->engine_lock);
}

/* ---- a failed server's sessions, moved in slices ---- */

uint32_t dispatcher_server_failed(struct dispatcher *d, unsigned server)
{
	struct engine_server_info info;
	uint32_t moving = 0;
	bool other_available = false;
	pthread_mutex_lock(&d->engine_lock);
	for (unsigned i = 0; i < d->cfg->server_count; i++)
		if (i != server && engine_server_info(d->engine, i, &info) && info.available)
			other_available = true;
	if (other_available && engine_server_info(d->engine, server, &info))
		moving = info.sessions;
	engine_server_failing(d->engine, server);
	pthread_mutex_unlock(&d->engine_lock);
	dispatcher_repin_step(d);
	return moving;
}

bool dispatcher_repin_pending(struct dispatcher *d)
{
	bool pending;
	pthread_mutex_lock(&d->engine_lock);
	pending = engine_repin_pending(d->engine);
	pthread_mutex_unlock(&d->engine_lock);
	return pending;
}

bool dispatcher_repin_step(struct dispatcher *d)
{
	bool pending, marks_waiting;
	pthread_mutex_lock(&d->engine_lock);
	pending = engine_repin_pending(d->engine);
	if (pending) {
		/* No more moves than the mark ring has room for: a full ring
		 * would write connmarks inline, under this lock. */
		uint32_t room = d->marks.capacity - d->marks.count;
		bool done = false;
		if (room > 0)
			engine_repin_step(d->engine, ENGINE_REPIN_SLICE, room < ENGINE_REPIN_SLICE ? room : ENGINE_REPIN_SLICE,
					  &done);
		pending = !done;
		session_journal_write(d->journal);
	}
	marks_waiting = d->marks.count > 0;
	pthread_mutex_unlock(&d->engine_lock);
	/* The moved flows' connmarks, faster than the tick's: until they are
	 * written, their kernel-kept media still goes to the failed server. */
	if (d->ct && marks_waiting)
		write_marks(d, DISPATCHER_REPIN_MARKS);
	return pending || (d->ct && marks_waiting);
}

void dispatcher_tick(struct dispatcher *d, uint64_t now_ms)
{
	bool settle;
	pthread_mutex_lock(&d->engine_lock);
	engine_advance(d->engine, now_ms);
	session_journal_write(d->journal);
	settle = session_journal_step(d->journal);
	pthread_mutex_unlock(&d->engine_lock);
	if (settle)
		session_journal_settle(d->journal);
	free_retired(d, now_ms);
	if (d->ct)
		write_marks(d, DISPATCHER_MARKS_PER_TICK);
	if (now_ms - d->own_load.fed_ms >= d->cfg->agents.interval_ms)
		feed_selection_and_admission(d, now_ms);
}

void dispatcher_health_tick(struct dispatcher *d, uint64_t now_ms)
{
	if (d->health)
		health_feed_tick(d->health, now_ms);
}

/* ---- operator drain ---- */

bool dispatcher_server_healthy(const struct dispatcher *d, unsigned server, uint64_t now_ms)
{
	struct server_health_info info;
	if (!d->health)
		return true;
	return health_feed_info(d->health, server, now_ms, &info) && info.available;
}

int dispatcher_set_drain(struct dispatcher *d, unsigned server, bool drain, char *err, size_t err_size)
{
	struct log_event e;
	bool available;
	if (server >= d->cfg->server_count) {
		snprintf(err, err_size, "no server %u", server);
		return -1;
	}
	d->drained[server] = drain;
	available = !drain && dispatcher_server_healthy(d, server, d->now_ms());
	pthread_mutex_lock(&d->engine_lock);
	engine_set_server_available(d->engine, server, available);
	pthread_mutex_unlock(&d->engine_lock);
	daemon_count(d->counters, drain ? COUNTER_OPERATOR_DRAINS : COUNTER_OPERATOR_UNDRAINS, 1);
	log_event_begin(&e, drain ? "server_drained" : "server_undrained");
	log_event_str(&e, "server", d->cfg->servers[server].id);
	log_event_str(&e, "by", "operator");
	log_event_bool(&e, "available", available);
	log_event_str(&e, "msg", drain ? "no new sessions, its sessions stay" : available ? "available again"
										  : "but unhealthy");
	log_event_emit(&e, LOG_NOTICE);
	return 0;
}

bool dispatcher_is_drained(const struct dispatcher *d, unsigned server)
{
	return server < d->cfg->server_count && d->drained[server];
}

/* ---- configuration and the conntrack scan ---- */

/* What a reload did to the servers, said once per server. */
static void log_server_changes(const struct dispatcher *d, const struct slot_plan *plan, const struct sara_config *before)
{
	const struct sara_config *now = &plan->running;
	for (unsigned s = 0; s < SARA_MAX_SERVERS; s++) {
		char address[NETADDR_STRLEN];
		if (plan->added[s])
			log_msg(LOG_NOTICE, "server %s added (address %s mark %u table %u weight %.2f): slow start over %u s",
				now->servers[s].id, netaddr_format(&now->servers[s].address, address, sizeof(address)),
				now->servers[s].mark, now->servers[s].table, now->servers[s].weight,
				d->cfg->selection.slow_start_s);
		if (plan->retired[s])
			log_msg(LOG_NOTICE, "server %s removed: no new sessions; its sessions stay on it (mark %u) "
				"until they end", now->servers[s].id, now->servers[s].mark);
		if (plan->freed[s] && s < before->server_count)
			log_msg(LOG_NOTICE, "server %s gone: nothing holds it any more (its rules may go: sara-ctl "
				"rules --apply)", before->servers[s].id);
		if (plan->returned[s])
			log_msg(LOG_NOTICE, "server %s listed again: it takes new sessions again", now->servers[s].id);
	}
}

/* A removed server's slot is freed once nothing holds it: checked this
 * often (a pass over the flow table) while one is retired. */
#define RETIRED_CHECK_MS 10000u

static bool retired_idle(struct dispatcher *d)
{
	bool idle = false;
	pthread_mutex_lock(&d->engine_lock);
	for (unsigned s = 0; s < d->running.server_count && !idle; s++) {
		struct engine_server_info info;
		idle = d->running.servers[s].retired && d->running.servers[s].id[0] &&
		       engine_server_info(d->engine, s, &info) && info.sessions == 0;
	}
	pthread_mutex_unlock(&d->engine_lock);
	return idle;
}

/* The running configuration as a file would list it: its active servers. */
static void running_as_file(const struct sara_config *running, struct sara_config *out)
{
	*out = *running;
	out->server_count = 0;
	for (unsigned s = 0; s < running->server_count; s++)
		if (server_slot_active(running, s))
			out->servers[out->server_count++] = running->servers[s];
}

static void free_retired(struct dispatcher *d, uint64_t now_ms)
{
	struct sara_config *next;
	char err[256];
	if (now_ms - d->retired_checked_ms < RETIRED_CHECK_MS)
		return;
	d->retired_checked_ms = now_ms;
	if (!retired_idle(d) || !(next = malloc(sizeof(*next))))
		return;
	running_as_file(&d->running, next);
	if (!dispatcher_reconfigure(d, next, err, sizeof(err)))
		log_msg(LOG_WARNING, "freeing removed servers: %s", err);
	free(next);
}

bool dispatcher_reconfigure(struct dispatcher *d, const struct sara_config *next, char *err, size_t err_size)
{
	struct slot_plan *plan = malloc(sizeof(*plan));
	struct sara_config *before = malloc(sizeof(*before));
	bool fresh[SARA_MAX_SERVERS] = { false };
	uint64_t now = d->now_ms();
	bool ok;
	if (!plan || !before) {
		snprintf(err, err_size, "out of memory");
		free(plan);
		free(before);
		return false;
	}
	*before = d->running;
	pthread_mutex_lock(&d->engine_lock);
	ok = engine_apply_config(d->engine, next, plan, err, err_size);
	if (ok) {
		for (unsigned s = 0; s < SARA_MAX_SERVERS; s++) {
			fresh[s] = plan->added[s] || plan->freed[s];
			if (plan->added[s] || plan->freed[s] || plan->retired[s]) {
				d->drained[s] = false;
				d->joined_ms[s] = 0;
			}
			/* An added server starts at the floor, not at the next feed. */
			if (plan->added[s] && d->cfg->selection.slow_start_s > 0) {
				d->joined_ms[s] = now ? now : 1;
				engine_set_server_weight_factor(d->engine, s, SERVER_HEALTH_SLOW_START_FLOOR);
			}
			if (plan->returned[s])
				engine_set_server_available(d->engine, s,
							    !d->drained[s] && dispatcher_server_healthy(d, s, now));
		}
		d->running = plan->running;
		if (plan->added_count || plan->retired_count || plan->freed_count || plan->returned_count) {
			session_journal_servers(d->journal);
			session_journal_write(d->journal);
		}
	}
	pthread_mutex_unlock(&d->engine_lock);
	if (ok)
		replication_servers_changed(&d->replication);
	if (ok && d->health)
		health_feed_set_servers(d->health, d->running.server_count, fresh, now);
	if (ok) {
		daemon_count(d->counters, COUNTER_SERVERS_ADDED, plan->added_count);
		daemon_count(d->counters, COUNTER_SERVERS_RETIRED, plan->retired_count);
		daemon_count(d->counters, COUNTER_SERVERS_FREED, plan->freed_count);
		log_server_changes(d, plan, before);
	}
	free(plan);
	free(before);
	return ok;
}

uint32_t dispatcher_media_s(struct dispatcher *d)
{
	uint32_t media_s;
	pthread_mutex_lock(&d->engine_lock);
	media_s = engine_config(d->engine)->timeouts.media_s;
	pthread_mutex_unlock(&d->engine_lock);
	return media_s;
}

void dispatcher_set_live(struct dispatcher *d, struct live_set *set, uint64_t built_ms, bool followed)
{
	struct live_set *old;
	pthread_mutex_lock(&d->engine_lock);
	old = d->live;
	d->live = set;
	d->live_built_ms = built_ms;
	d->live_followed = followed;
	pthread_mutex_unlock(&d->engine_lock);
	live_set_destroy(old);
}

void dispatcher_drop_live(struct dispatcher *d)
{
	dispatcher_set_live(d, NULL, 0, false);
}

bool dispatcher_has_live(struct dispatcher *d)
{
	bool has;
	pthread_mutex_lock(&d->engine_lock);
	has = d->live != NULL;
	pthread_mutex_unlock(&d->engine_lock);
	return has;
}

static bool mark_is_ours(const struct dispatcher *d, uint32_t mark)
{
	if (mark == 0)
		return false;
	for (unsigned i = 0; i < d->cfg->server_count; i++)
		if (d->cfg->servers[i].mark == mark)
			return true;
	return false;
}

bool dispatcher_ct_event(struct dispatcher *d, enum ct_event_kind kind, const struct flow_key *key, uint32_t mark)
{
	struct live_set *dropped = NULL;
	bool ours = kind != CT_EVENT_DESTROY && mark_is_ours(d, mark);
	pthread_mutex_lock(&d->engine_lock);
	if (d->live && d->live_followed) {
		/* Gone, or created unmarked or with another's mark: not ours. */
		if (!ours) {
			live_set_remove(d->live, key);
		} else if (!live_set_add(d->live, key)) {
			dropped = d->live;   /* full: it can no longer say "ended" for sure */
			d->live = NULL;
		}
	}
	pthread_mutex_unlock(&d->engine_lock);
	live_set_destroy(dropped);
	return dropped == NULL;
}

bool dispatcher_connmark_set(struct dispatcher *d, const struct flow_key *key)
{
	struct live_set *dropped = NULL;
	pthread_mutex_lock(&d->engine_lock);
	if (d->live && d->live_followed && !live_set_add(d->live, key)) {
		dropped = d->live;
		d->live = NULL;
	}
	pthread_mutex_unlock(&d->engine_lock);
	live_set_destroy(dropped);
	return dropped == NULL;
}
