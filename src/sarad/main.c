/* sarad.c - the dispatcher daemon: NFQUEUE threads feed one shared engine
 * and answer each packet with its server's mark (and connmark), plus the
 * timer, announcement, node-agent and control-socket threads. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/agent_listener.h"
#include "io/announce_listener.h"
#include "io/clock.h"
#include "engine/config.h"
#include "io/config_file.h"
#include "io/control.h"
#include "engine/counters.h"
#include "io/ct_marks.h"
#include "engine/engine.h"
#include "engine/live_set.h"
#include "io/log.h"
#include "io/nfqueue.h"
#include "io/reject_sender.h"
#include "io/status_counters.h"
#include "engine/wire.h"
#include "io/key_file.h"

#define QUEUE_MAX_LEN 8192              /* packets waiting in the kernel per queue */
#define QUEUE_RCVBUF (8u << 20)         /* 8 MiB: flow set-up bursts */
#define POLL_MS 200                     /* how long a thread waits before checking for stop */
#define TICK_MS 100                     /* engine_advance period */
#define QUEUE_CHECK_MS 1000             /* kernel overflow counters */
#define MARK_RING_SIZE 65536            /* connmark writes waiting for the timer thread */
#define MARKS_PER_TICK 4096
#define MAX_QUEUES 64
#define SUMMARY_LINE 900

struct daemon;

struct mark_update {
	struct flow_key key;
	uint32_t mark;   /* 0: clear */
};

/* One queued packet waiting for the end of its batch. */
struct pending_packet {
	uint32_t id;
	bool has_ct;
	uint32_t ct_mark;
};

struct queue_worker {
	struct daemon *d;
	unsigned index;
	uint16_t num;
	struct nfqueue *queue;
	/* the batch being collected (payloads stay valid until its end) */
	size_t pending_count;
	struct pending_packet pending[ENGINE_BATCH_MAX];
	struct engine_input inputs[ENGINE_BATCH_MAX];
	struct verdict verdicts[ENGINE_BATCH_MAX];
	pthread_t thread;
	bool started;
	uint64_t kernel_dropped, kernel_user_dropped; /* last seen, timer thread only */
};

struct daemon {
	struct sara_config cfg;
	bool foreground;
	pthread_t main_thread;
	bool stopping;                   /* __atomic accesses */
	int exit_code;                   /* set by a thread that fails */

	pthread_mutex_t engine_lock;
	struct engine *engine;
	bool hooks_live;                 /* false while the engine is torn down */
	struct ct_marks *ct;
	/* The conntrack scan (ct_scan_thread): the connections that held one
	 * of the servers' marks at the last scan, asked by the flow_active
	 * hook instead of one netlink query per idle-looking media flow under
	 * engine_lock. live and live_built_ms change and are read under
	 * engine_lock. */
	struct ct_marks *ct_scan;        /* its own handle: a dump holds it */
	struct live_set *live;           /* NULL until a scan has completed */
	uint64_t live_built_ms;          /* when that scan started */
	pthread_t ct_scan_thread;
	bool ct_scan_started;

	/* connmarks to write: mark 0 from the engine's flow_removed hook, a
	 * server's mark from flow_moved (engine lock held); the timer thread
	 * writes them outside the lock. */
	struct mark_update *mark_ring;
	uint32_t mark_head, mark_count;

	/* Operator drain (sara-ctl drain): no new sessions, whatever the
	 * agents say. __atomic accesses. */
	bool drained[SARA_MAX_SERVERS];
	/* The dispatcher's own load for admission: CPU time of the process
	 * between two feeds (timer thread only). */
	uint64_t load_fed_ms, cpu_fed_us;

	unsigned queue_count;
	struct queue_worker workers[MAX_QUEUES];
	struct nfqueue *queues[MAX_QUEUES];
	uint16_t queue_nums[MAX_QUEUES];

	struct wire_key key;
	struct announce_listener *announcements;
	char announce_listen[ENDPOINT_STRLEN];
	struct agent_listener *agents;   /* NULL when agents.listen is unset */
	char agents_listen[ENDPOINT_STRLEN];
	struct control *control;
	/* NULL: refused packets are only dropped. Opened at start, or by a
	 * reload that turns 503s or RSTs on (__atomic accesses). */
	struct reject_sender *replies;
	uint32_t retry_after_s;          /* admission.retry_after_s as reloaded; __atomic */
	pthread_t timer_thread, announce_thread, agent_thread, control_thread;
	bool timer_started, announce_started, agent_started, control_started;

	struct verdict_counts verdicts;
	pthread_mutex_t counters_lock;
	struct counter_set counters;     /* the daemon's own events */
	uint64_t started_ms;

	/* Rate-limited log kinds. */
	struct log_limit log_malformed, log_table_full, log_no_server, log_admission;
	struct log_limit log_overflow, log_verdict_error, log_ct_error, log_load, log_ct_scan;
};

/* The engine's clock, also handed to the listeners and the control socket. */
static uint64_t monotonic_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

static bool stopping(struct daemon *d)
{
	return __atomic_load_n(&d->stopping, __ATOMIC_RELAXED);
}

/* A thread hit a fatal error: the main thread stops everything, exit 1. */
static void fail_and_stop(struct daemon *d, const char *what)
{
	log_msg(LOG_ERR, "%s", what);
	__atomic_store_n(&d->exit_code, 1, __ATOMIC_RELAXED);
	pthread_kill(d->main_thread, SIGTERM);
}

static void count(struct daemon *d, enum counter_id id, uint64_t n)
{
	pthread_mutex_lock(&d->counters_lock);
	counter_add(&d->counters, id, n);
	pthread_mutex_unlock(&d->counters_lock);
}

static void visit_daemon_counters(void *ctx, enum counters_filter filter, counter_visit_fn fn, void *fn_ctx)
{
	struct daemon *d = ctx;
	struct counter_set copy;
	struct reject_sender *replies = __atomic_load_n(&d->replies, __ATOMIC_ACQUIRE);
	pthread_mutex_lock(&d->counters_lock);
	copy = d->counters;
	pthread_mutex_unlock(&d->counters_lock);
	counters_visit(&copy, COUNTER_SCOPE_DAEMON, filter, fn, fn_ctx);
	if (replies) {
		reject_sender_get_counters(replies, &copy);
		counters_visit(&copy, COUNTER_SCOPE_REPLY, filter, fn, fn_ctx);
	}
}

/* ---- engine hooks (called with the engine lock held) ---- */

static void queue_mark_update(struct daemon *d, const struct flow_key *key, uint32_t mark)
{
	int rc;
	if (!d->hooks_live || !d->ct)
		return;
	if (d->mark_count < MARK_RING_SIZE) {
		struct mark_update *u = &d->mark_ring[(d->mark_head + d->mark_count) % MARK_RING_SIZE];
		u->key = *key;
		u->mark = mark;
		d->mark_count++;
		return;
	}
	/* The ring is full (a mass expiry or a failover): write inline rather
	 * than leave a stale mark that would keep the flow away from the engine
	 * or on a dead server. */
	count(d, COUNTER_CONNMARK_WRITE_INLINE, 1);
	rc = ct_marks_set(d->ct, key, mark);
	if (rc < 0 && rc != -ENOENT)
		count(d, COUNTER_CONNMARK_WRITE_ERRORS, 1);
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
	struct daemon *d = ctx;
	int rc;
	(void)server;
	if (!d->ct)
		return false;
	/* A scan started less than media_s ago saw every connection the engine
	 * can ask about (idle for media_s, so older than the scan) that was
	 * alive then; one that ended since is kept one timeout longer. */
	if (d->live && monotonic_ms() - d->live_built_ms <
			       (uint64_t)engine_config(d->engine)->timeouts.media_s * 1000u) {
		count(d, COUNTER_CONNTRACK_SCAN_ANSWERS, 1);
		return live_set_contains(d->live, key);
	}
	rc = ct_marks_exists(d->ct, key, NULL);
	if (rc < 0) {
		count(d, COUNTER_CONNTRACK_QUERY_ERRORS, 1);
		return true;
	}
	return rc == 1;
}

/* ---- server health (called by the agent thread, health lock held) ---- */

static bool server_drained(const struct daemon *d, unsigned server)
{
	return __atomic_load_n(&d->drained[server], __ATOMIC_RELAXED);
}

/* Failed and draining servers get no new sessions, and a failed server's
 * sessions move to the others (their connmarks follow, hook_flow_moved);
 * a recovered one is available again unless the operator drains it, with
 * its slow start fed by the timer thread. Load reports feed the shell
 * forecast. */
static void hook_server_event(void *ctx, const struct server_event *ev)
{
	struct daemon *d = ctx;
	const char *id = ev->server < d->cfg.server_count ? d->cfg.servers[ev->server].id : "?";
	uint64_t now = monotonic_ms();
	uint32_t moved;

	if (ev->server >= d->cfg.server_count)
		return;
	switch (ev->kind) {
	case SERVER_EVENT_FAILED:
		pthread_mutex_lock(&d->engine_lock);
		moved = engine_server_failed(d->engine, ev->server);
		pthread_mutex_unlock(&d->engine_lock);
		count(d, COUNTER_SERVER_FAILED_EVENTS, 1);
		log_msg(LOG_WARNING, "server %s failed (%s): no new sessions; %u sessions re-pinned to the others",
			id, server_cause_name(ev->cause), moved);
		break;
	case SERVER_EVENT_DRAINING:
		pthread_mutex_lock(&d->engine_lock);
		engine_set_server_available(d->engine, ev->server, false);
		pthread_mutex_unlock(&d->engine_lock);
		count(d, COUNTER_SERVER_DRAINING_EVENTS, 1);
		log_msg(LOG_NOTICE, "server %s draining: no new sessions, planned failure in %lld ms", id,
			(long long)(ev->planned_ms > now ? ev->planned_ms - now : 0));
		break;
	case SERVER_EVENT_RECOVERED:
		count(d, COUNTER_SERVER_RECOVERED_EVENTS, 1);
		if (server_drained(d, ev->server)) {
			log_msg(LOG_NOTICE, "server %s recovered, but drained by the operator: no new sessions", id);
			break;
		}
		/* The factor is set here, not at the next feed: until then the
		 * server would take its full share of new calls. */
		pthread_mutex_lock(&d->engine_lock);
		engine_set_server_weight_factor(d->engine, ev->server, ev->weight_factor);
		engine_set_server_available(d->engine, ev->server, true);
		pthread_mutex_unlock(&d->engine_lock);
		log_msg(LOG_NOTICE, "server %s recovered: available again, slow start over %u s", id,
			d->cfg.selection.slow_start_s);
		break;
	case SERVER_EVENT_LOAD:
		pthread_mutex_lock(&d->engine_lock);
		engine_report_server_load(d->engine, ev->server, ev->load);
		pthread_mutex_unlock(&d->engine_lock);
		log_limited(&d->log_load, now, LOG_DEBUG,
			    "server %s load %.3f (cpu %.3f memory %.3f network %.3f io %.3f backlog %.3f)", id, ev->load,
			    ev->components[AGENT_LOAD_CPU], ev->components[AGENT_LOAD_MEMORY],
			    ev->components[AGENT_LOAD_NETWORK], ev->components[AGENT_LOAD_IO],
			    ev->components[AGENT_LOAD_BACKLOG]);
		break;
	}
}

/* Health says a server may serve (up, or not heard from yet). */
static bool server_healthy(struct daemon *d, unsigned server, uint64_t now)
{
	struct server_health_info info;
	if (!d->agents)
		return true;
	return agent_listener_server_info(d->agents, server, now, &info) && info.available;
}

/* control_view.set_drain: the operator's drain, combined with health. */
static int control_set_drain(void *ctx, unsigned server, bool drain, char *err, size_t err_size)
{
	struct daemon *d = ctx;
	bool available;
	if (server >= d->cfg.server_count) {
		snprintf(err, err_size, "no server %u", server);
		return -1;
	}
	__atomic_store_n(&d->drained[server], drain, __ATOMIC_RELAXED);
	available = !drain && server_healthy(d, server, monotonic_ms());
	pthread_mutex_lock(&d->engine_lock);
	engine_set_server_available(d->engine, server, available);
	pthread_mutex_unlock(&d->engine_lock);
	count(d, drain ? COUNTER_OPERATOR_DRAINS : COUNTER_OPERATOR_UNDRAINS, 1);
	log_msg(LOG_NOTICE, "server %s %s by the operator%s", d->cfg.servers[server].id,
		drain ? "drained" : "undrained",
		drain ? ": no new sessions, its sessions stay" : available ? ": available again" : ", but unhealthy");
	return 0;
}

static bool control_is_drained(void *ctx, unsigned server)
{
	struct daemon *d = ctx;
	return server < d->cfg.server_count && server_drained(d, server);
}

/* The dispatcher's own load l_d: the share of its queue threads' CPU it
 * used since the last feed (one core per queue thread at most). */
static double dispatcher_load(struct daemon *d, uint64_t now)
{
	struct rusage usage;
	uint64_t cpu_us, wall_ms = now - d->load_fed_ms;
	double load;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = d->queue_count ? d->queue_count : 1;
	if (getrusage(RUSAGE_SELF, &usage) != 0 || wall_ms == 0)
		return 0;
	cpu_us = (uint64_t)usage.ru_utime.tv_sec * 1000000u + (uint64_t)usage.ru_utime.tv_usec +
		 (uint64_t)usage.ru_stime.tv_sec * 1000000u + (uint64_t)usage.ru_stime.tv_usec;
	if (cores > 0 && threads > (unsigned)cores)
		threads = (unsigned)cores;
	load = d->cpu_fed_us && cpu_us > d->cpu_fed_us
		       ? (double)(cpu_us - d->cpu_fed_us) / ((double)wall_ms * 1000.0 * threads)
		       : 0;
	d->cpu_fed_us = cpu_us;
	return load > 1 ? 1 : load;
}

/* Once per agents interval: slow-start factors from health, then the
 * admission controller's cluster and dispatcher loads. */
static void feed_selection_and_admission(struct daemon *d, uint64_t now)
{
	double factor[SARA_MAX_SERVERS];
	double own_load = dispatcher_load(d, now);
	for (unsigned i = 0; i < d->cfg.server_count; i++) {
		struct server_health_info info;
		/* An unavailable server's factor is left alone: the recovery
		 * event sets it, and this snapshot may predate that event. */
		factor[i] = -1;
		if (!d->agents)
			factor[i] = 1.0;
		else if (agent_listener_server_info(d->agents, i, now, &info) && info.available)
			factor[i] = info.weight_factor;
	}
	pthread_mutex_lock(&d->engine_lock);
	for (unsigned i = 0; i < d->cfg.server_count; i++)
		if (factor[i] >= 0)
			engine_set_server_weight_factor(d->engine, i, factor[i]);
	engine_update_admission(d->engine, now, own_load);
	pthread_mutex_unlock(&d->engine_lock);
	d->load_fed_ms = now;
}

/* ---- packets ---- */

static void flow_text(const struct flow_key *key, char *buf, size_t size)
{
	char src[ENDPOINT_STRLEN], dst[ENDPOINT_STRLEN];
	struct endpoint e;
	if (key->family == 0) {
		snprintf(buf, size, "(no flow)");
		return;
	}
	flow_key_src(key, &e);
	endpoint_format(&e, src, sizeof(src));
	flow_key_dst(key, &e);
	endpoint_format(&e, dst, sizeof(dst));
	snprintf(buf, size, "%s %s -> %s", key->l4 == L4_TCP ? "tcp" : key->l4 == L4_UDP ? "udp" : "ip", src, dst);
}

static void log_verdict_event(struct daemon *d, const struct verdict *v, uint64_t now)
{
	struct log_limit *lim;
	const char *what;
	char flow[2 * ENDPOINT_STRLEN + 16];
	switch (v->reason) {
	case REASON_MALFORMED: lim = &d->log_malformed; what = "malformed signalling"; break;
	case REASON_TABLE_FULL: lim = &d->log_table_full; what = "table full"; break;
	case REASON_NO_SERVER: lim = &d->log_no_server; what = "no server available"; break;
	case REASON_ADMISSION: lim = &d->log_admission; what = "refused by admission control"; break;
	default: return;
	}
	flow_text(&v->key, flow, sizeof(flow));
	log_limited(lim, now, LOG_WARNING, "%s: %s, %s", what, flow,
		    v->action == VERDICT_DROP ? "dropped" : v->mark ? "accepted" : "accepted unmarked");
}

/* A refused packet's answer (a 503, a RST), after its drop verdict; the
 * sender counts and rate-limits. */
static void send_reply(struct daemon *d, const struct engine_input *in, const struct verdict *v, uint64_t now)
{
	struct reject_sender *replies = __atomic_load_n(&d->replies, __ATOMIC_ACQUIRE);
	if (!replies)
		return;
	if (v->reply == REPLY_SIP_503)
		reject_sender_sip_503(replies, in->ip, in->len,
				      __atomic_load_n(&d->retry_after_s, __ATOMIC_RELAXED), now);
	else if (v->reply == REPLY_TCP_RESET)
		reject_sender_tcp_reset(replies, in->ip, in->len, now);
}

/* Answers one decided packet: verdict, reply, counters, rate-limited event
 * log. in is the packet, still valid (the batch has not ended). */
static void answer_packet(struct queue_worker *w, const struct pending_packet *pkt,
			  const struct engine_input *in, const struct verdict *v, uint64_t now)
{
	struct daemon *d = w->d;
	bool set_connmark;
	unsigned reason = v->reason < VERDICT_REASONS ? v->reason : VERDICT_REASONS - 1;

	if (v->action == VERDICT_DROP) {
		__atomic_fetch_add(&d->verdicts.by_action_reason[VERDICT_DROP][reason], 1, __ATOMIC_RELAXED);
		if (nfqueue_verdict(w->queue, pkt->id, false, 0, false) < 0)
			log_limited(&d->log_verdict_error, now, LOG_ERR, "queue %u: verdict failed: %s", w->num,
				    strerror(errno));
		if (v->reply != REPLY_NONE)
			send_reply(d, in, v, now);
		log_verdict_event(d, v, now);
		return;
	}
	__atomic_fetch_add(&d->verdicts.by_action_reason[VERDICT_ACCEPT][reason], 1, __ATOMIC_RELAXED);
	/* Signalling always crosses (the rules queue it before the fast path),
	 * so only media and unpredicted flows get the connmark that keeps
	 * their later packets in the kernel. */
	set_connmark = v->mark != 0 && v->identity != FLOW_SIGNALLING && !(pkt->has_ct && pkt->ct_mark == v->mark);
	if (v->mark == 0)
		__atomic_fetch_add(&d->verdicts.accepted_unmarked, 1, __ATOMIC_RELAXED);
	if (set_connmark)
		__atomic_fetch_add(&d->verdicts.connmarks_set, 1, __ATOMIC_RELAXED);
	if (nfqueue_verdict(w->queue, pkt->id, true, v->mark, set_connmark) < 0)
		log_limited(&d->log_verdict_error, now, LOG_ERR, "queue %u: verdict failed: %s", w->num,
			    strerror(errno));
	log_verdict_event(d, v, now);
}

/* Decides the collected packets together: one engine lock, and the
 * engine overlaps their flow-table misses (engine_packet_batch). */
static void decide_pending(struct queue_worker *w)
{
	struct daemon *d = w->d;
	uint64_t now = monotonic_ms();
	if (w->pending_count == 0)
		return;
	pthread_mutex_lock(&d->engine_lock);
	engine_packet_batch(d->engine, w->inputs, w->pending_count, now, w->verdicts);
	pthread_mutex_unlock(&d->engine_lock);
	for (size_t i = 0; i < w->pending_count; i++)
		answer_packet(w, &w->pending[i], &w->inputs[i], &w->verdicts[i], now);
	w->pending_count = 0;
}

/* nfqueue_receive's callback: collects packets; pkt NULL ends the batch. */
static void on_packet(void *ctx, const struct nfqueue_packet *pkt)
{
	struct queue_worker *w = ctx;
	struct daemon *d = w->d;

	if (!pkt) {
		decide_pending(w);
		return;
	}
	if (pkt->len == 0) {
		/* Nothing to inspect (should not happen in copy-packet mode). */
		count(d, COUNTER_EMPTY_PACKETS, 1);
		nfqueue_verdict(w->queue, pkt->id, true, 0, false);
		return;
	}
	if (w->pending_count == ENGINE_BATCH_MAX)
		decide_pending(w);
	w->pending[w->pending_count] = (struct pending_packet){ pkt->id, pkt->has_ct, pkt->ct_mark };
	w->inputs[w->pending_count] = (struct engine_input){ pkt->payload, pkt->len };
	w->pending_count++;
}

static void *queue_thread(void *arg)
{
	struct queue_worker *w = arg;
	char err[256];
	while (!stopping(w->d)) {
		if (nfqueue_receive(w->queue, POLL_MS, on_packet, w, err, sizeof(err)) < 0) {
			fail_and_stop(w->d, err);
			break;
		}
	}
	return NULL;
}

/* ---- timer: engine time, deferred connmark clears, overflow checks ---- */

static void write_marks(struct daemon *d)
{
	static struct mark_update batch[MARKS_PER_TICK]; /* timer thread only */
	uint32_t n = 0;
	pthread_mutex_lock(&d->engine_lock);
	while (d->mark_count && n < MARKS_PER_TICK) {
		batch[n++] = d->mark_ring[d->mark_head];
		d->mark_head = (d->mark_head + 1) % MARK_RING_SIZE;
		d->mark_count--;
	}
	pthread_mutex_unlock(&d->engine_lock);
	for (uint32_t i = 0; i < n; i++) {
		int rc = ct_marks_set(d->ct, &batch[i].key, batch[i].mark);
		if (rc == 0) {
			count(d, batch[i].mark ? COUNTER_CONNMARKS_MOVED : COUNTER_CONNMARKS_CLEARED, 1);
		} else if (rc != -ENOENT) {
			char flow[2 * ENDPOINT_STRLEN + 16];
			count(d, COUNTER_CONNMARK_WRITE_ERRORS, 1);
			flow_text(&batch[i].key, flow, sizeof(flow));
			log_limited(&d->log_ct_error, monotonic_ms(), LOG_ERR, "writing connmark %u of %s: %s",
				    batch[i].mark, flow, strerror(-rc));
		}
	}
}

static void check_queue_overflow(struct daemon *d, uint64_t now)
{
	for (unsigned i = 0; i < d->queue_count; i++) {
		struct queue_worker *w = &d->workers[i];
		struct kernel_queue_stats k;
		struct nfqueue_stats st;
		control_kernel_queue_stats(w->num, &k);
		nfqueue_get_stats(w->queue, &st);
		if (k.found && (k.dropped > w->kernel_dropped || k.user_dropped > w->kernel_user_dropped)) {
			log_limited(&d->log_overflow, now, LOG_WARNING,
				    "queue %u overflow: %lu packets dropped because the queue was full, %lu because "
				    "the socket buffer was full (%s)", w->num, k.dropped - w->kernel_dropped,
				    k.user_dropped - w->kernel_user_dropped,
				    d->cfg.queue.fail_open ? "fail-open: accepted unmarked" : "fail-closed: dropped");
			w->kernel_dropped = k.dropped;
			w->kernel_user_dropped = k.user_dropped;
		}
		(void)st;
	}
}

static void flush_log_limits(struct daemon *d, uint64_t now)
{
	struct log_limit *all[] = { &d->log_malformed, &d->log_table_full, &d->log_no_server, &d->log_admission,
				    &d->log_overflow, &d->log_verdict_error, &d->log_ct_error, &d->log_load,
				    &d->log_ct_scan };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		log_limit_flush(all[i], now);
}

static void *timer_thread(void *arg)
{
	struct daemon *d = arg;
	uint64_t last_check = monotonic_ms();
	while (!stopping(d)) {
		struct timespec pause = { 0, TICK_MS * 1000000L };
		uint64_t now;
		nanosleep(&pause, NULL);
		now = monotonic_ms();
		pthread_mutex_lock(&d->engine_lock);
		engine_advance(d->engine, now);
		pthread_mutex_unlock(&d->engine_lock);
		if (d->ct)
			write_marks(d);
		if (now - d->load_fed_ms >= d->cfg.agents.interval_ms)
			feed_selection_and_admission(d, now);
		if (now - last_check >= QUEUE_CHECK_MS) {
			last_check = now;
			check_queue_overflow(d, now);
			flush_log_limits(d, now);
		}
	}
	return NULL;
}

/* ---- conntrack scan ---- */

struct scan_target {
	struct live_set *set;
	const struct sara_config *cfg;   /* the servers' marks (restart-only keys) */
};

static void scan_entry(void *ctx, const struct flow_key *key, uint32_t mark)
{
	struct scan_target *t = ctx;
	/* Other software's connmarks are not ours to answer for. */
	for (unsigned i = 0; i < t->cfg->server_count; i++) {
		if (t->cfg->servers[i].mark == mark) {
			live_set_add(t->set, key);
			return;
		}
	}
}

/* Every media_s / 2: one conntrack dump into a fresh set, swapped in for
 * the flow_active hook. A failed or overfull scan leaves the hook on
 * single queries until a scan succeeds and is recent again. */
static void *ct_scan_thread(void *arg)
{
	struct daemon *d = arg;
	struct hash_key key;
	hash_key_random(&key);
	while (!stopping(d)) {
		struct scan_target target = { NULL, &d->cfg };
		uint64_t start = monotonic_ms(), period_ms;
		long entries = -ENOMEM;
		pthread_mutex_lock(&d->engine_lock);
		period_ms = engine_config(d->engine)->timeouts.media_s * 1000u / 2u; /* reloadable */
		pthread_mutex_unlock(&d->engine_lock);
		target.set = live_set_create(d->cfg.limits.flows, &key);
		if (target.set)
			entries = ct_marks_dump(d->ct_scan, scan_entry, &target);
		if (entries >= 0 && !live_set_full(target.set)) {
			struct live_set *old;
			pthread_mutex_lock(&d->engine_lock);
			old = d->live;
			d->live = target.set;
			d->live_built_ms = start;
			pthread_mutex_unlock(&d->engine_lock);
			live_set_destroy(old);
			count(d, COUNTER_CONNTRACK_SCANS, 1);
			count(d, COUNTER_CONNTRACK_SCAN_MS, monotonic_ms() - start);
		} else {
			live_set_destroy(target.set);
			count(d, COUNTER_CONNTRACK_SCAN_FAILURES, 1);
			log_limited(&d->log_ct_scan, start, LOG_WARNING,
				    "conntrack scan failed (%s): idle media flows are asked about one by one",
				    entries < 0 ? strerror((int)-entries) : "more marked connections than limits.flows");
		}
		while (!stopping(d) && monotonic_ms() < start + period_ms) {
			struct timespec pause = { 0, POLL_MS * 1000000L };
			nanosleep(&pause, NULL);
		}
	}
	return NULL;
}

static void *announce_thread(void *arg)
{
	struct daemon *d = arg;
	char err[256];
	while (!stopping(d)) {
		if (announce_listener_poll(d->announcements, POLL_MS, err, sizeof(err)) < 0) {
			fail_and_stop(d, err);
			break;
		}
	}
	return NULL;
}

/* Node-agent reports; the poll also ticks server_health (every interval / 2). */
static void *agent_thread(void *arg)
{
	struct daemon *d = arg;
	char err[256];
	while (!stopping(d)) {
		if (agent_listener_poll(d->agents, POLL_MS, err, sizeof(err)) < 0) {
			fail_and_stop(d, err);
			break;
		}
	}
	return NULL;
}

static void *control_thread(void *arg)
{
	struct daemon *d = arg;
	char err[256];
	while (!stopping(d)) {
		if (control_poll(d->control, POLL_MS, err, sizeof(err)) < 0) {
			fail_and_stop(d, err);
			break;
		}
	}
	return NULL;
}

/* ---- counters in the log (SIGUSR1, exit) ---- */

struct summary {
	char line[SUMMARY_LINE + 128];
	size_t len;
	char prefix[64];
};

static void summary_flush(struct summary *s)
{
	if (s->len)
		log_msg(LOG_INFO, "%s: %s", s->prefix, s->line);
	s->len = 0;
	s->line[0] = '\0';
}

static void summary_group(void *ctx, const char *label)
{
	struct summary *s = ctx;
	summary_flush(s);
	snprintf(s->prefix, sizeof(s->prefix), "%s", label);
}

static void summary_add(void *ctx, const struct counter_def *def, uint64_t value)
{
	struct summary *s = ctx;
	int n;
	if (s->len > SUMMARY_LINE)
		summary_flush(s);
	n = snprintf(s->line + s->len, sizeof(s->line) - s->len, "%s%s %llu", s->len ? ", " : "", def->name,
		     (unsigned long long)value);
	if (n > 0)
		s->len += (size_t)n < sizeof(s->line) - s->len ? (size_t)n : sizeof(s->line) - s->len - 1;
}

/* One line per group of the status document ("engine: packets 12, ..."). */
static void log_counters(struct daemon *d, const char *when)
{
	struct summary s = { .len = 0 };
	struct status_visitor visitor = { summary_group, summary_add, COUNTERS_REPORTED, &s };

	log_msg(LOG_INFO, "counters (%s), uptime %llu s", when,
		(unsigned long long)((monotonic_ms() - d->started_ms) / 1000u));
	if (d->control)
		status_counters_walk(control_get_view(d->control), &visitor);
	summary_flush(&s);
}

/* ---- start-up and shut-down ---- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sarad -c CLUSTER.cfg [--foreground] [--check-config]\n"
		"  -c, --config FILE   the cluster configuration\n"
		"  -f, --foreground    stay in the foreground and log to stderr (else syslog)\n"
		"      --check-config  validate the configuration and exit (0 ok, 2 errors)\n"
		"One thread serves each queue of queue.first..first+count-1; with count > 1 the\n"
		"rules spread packets over them (iptables --queue-balance).\n");
}

static void log_config_summary(const struct daemon *d)
{
	const struct sara_config *cfg = &d->cfg;
	char vips[256] = "", text[NETADDR_STRLEN];
	size_t len = 0;
	for (unsigned i = 0; i < cfg->vip_count && len < sizeof(vips) - NETADDR_STRLEN - 2; i++) {
		netaddr_format(&cfg->vips[i], text, sizeof(text));
		len += (size_t)snprintf(vips + len, sizeof(vips) - len, "%s%s", i ? " " : "", text);
	}
	log_msg(LOG_INFO, "cluster %s (%s): vips %s; %u servers; selection %s; queues %u..%u %s",
		cfg->name, cfg->path, vips, cfg->server_count, selection_algorithm_name(cfg->selection.algorithm),
		cfg->queue.first, cfg->queue.first + cfg->queue.count - 1,
		cfg->queue.fail_open ? "fail-open" : "fail-closed");
	for (unsigned i = 0; i < cfg->server_count; i++) {
		netaddr_format(&cfg->servers[i].address, text, sizeof(text));
		log_msg(LOG_INFO, "server %s: address %s mark %u table %u weight %.2f", cfg->servers[i].id, text,
			cfg->servers[i].mark, cfg->servers[i].table, cfg->servers[i].weight);
	}
	log_msg(LOG_INFO, "limits: flows %u sessions %u (when full: %s); timeouts signalling %u s media %u s "
		"linger %u s; announcements %s; control socket %s",
		cfg->limits.flows, cfg->limits.sessions, cfg->limits.when_full == FULL_DROP ? "drop" : "pass",
		cfg->timeouts.signalling_s, cfg->timeouts.media_s, cfg->timeouts.linger_s,
		d->announcements ? d->announce_listen : "off (gateway.listen unset)", cfg->control.socket);
	if (d->agents)
		log_msg(LOG_INFO, "agents: listen %s, heartbeat every %u ms, failed after %u missed", d->agents_listen,
			cfg->agents.interval_ms, cfg->agents.misses);
	else
		log_msg(LOG_INFO, "agents: off (agents.listen unset): servers are never failed");
}

/* Without --foreground: the parent waits until the child is serving (or
 * failed) and exits with the child's status, so start-up errors still
 * reach the caller. Returns the fd the child writes its readiness to. */
static int daemonize(void)
{
	int fds[2];
	pid_t pid;
	char ok;
	if (pipe(fds) < 0) {
		fprintf(stderr, "sarad: pipe: %s\n", strerror(errno));
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "sarad: fork: %s\n", strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		int status;
		close(fds[1]);
		if (read(fds[0], &ok, 1) == 1)
			exit(0);
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
			exit(WEXITSTATUS(status));
		exit(1);
	}
	close(fds[0]);
	setsid();
	return fds[1];
}

static void detach_stdio(int ready_fd)
{
	int null = open("/dev/null", O_RDWR);
	char ok = 1;
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (write(ready_fd, &ok, 1) != 1) {
		/* the parent is gone: nothing to tell */
	}
	close(ready_fd);
}

/* The raw socket for 503s and RSTs, when cfg's admission sends them and
 * it is not open yet (at start, or on a reload that turns them on). */
static void open_replies_if_wanted(struct daemon *d, const struct sara_config *cfg)
{
	char reply_err[256];
	struct reject_sender *replies;
	if (d->replies || !cfg->admission.enabled ||
	    (cfg->admission.reject != REJECT_503 && cfg->admission.rtsp_reject != RTSP_REJECT_RESET))
		return;
	replies = reject_sender_open(cfg->admission.replies_per_s, reply_err, sizeof(reply_err));
	if (!replies) {
		log_msg(LOG_WARNING, "%s: refused requests will be dropped without a 503 or RST", reply_err);
		return;
	}
	__atomic_store_n(&d->replies, replies, __ATOMIC_RELEASE);
}

/* SIGHUP: reads the config file again and applies its live keys
 * (engine_reconfigure); an invalid file, or one that changes a key only a
 * restart can apply, is reported and the running configuration stays. */
static void reload_config(struct daemon *d)
{
	struct sara_config *next = malloc(sizeof(*next));
	char err[512];
	bool ok;
	if (!next) {
		log_msg(LOG_ERR, "SIGHUP: out of memory; keeping the running configuration");
		return;
	}
	if (!sara_config_load(d->cfg.path, next, err, sizeof(err)))
		goto refused;
	pthread_mutex_lock(&d->engine_lock);
	ok = engine_reconfigure(d->engine, next, err, sizeof(err));
	pthread_mutex_unlock(&d->engine_lock);
	if (!ok)
		goto refused;
	__atomic_store_n(&d->retry_after_s, next->admission.retry_after_s, __ATOMIC_RELAXED);
	open_replies_if_wanted(d, next);
	count(d, COUNTER_CONFIG_RELOADS, 1);
	log_msg(LOG_NOTICE,
		"SIGHUP: %s reloaded: selection %s; admission %s (T1 %.2f T2 %.2f T3 %.2f C %.2f); "
		"timeouts signalling %us media %us linger %us",
		next->path, selection_algorithm_name(next->selection.algorithm),
		next->admission.enabled ? "on" : "off", next->admission.t1, next->admission.t2,
		next->admission.t3, next->admission.c, next->timeouts.signalling_s, next->timeouts.media_s,
		next->timeouts.linger_s);
	free(next);
	return;

refused:
	count(d, COUNTER_CONFIG_RELOADS_REFUSED, 1);
	log_msg(LOG_ERR, "SIGHUP: %s; keeping the running configuration", err);
	free(next);
}

static int start(struct daemon *d, char *err, size_t err_size)
{
	struct engine_hooks hooks = { .ctx = d, .flow_removed = hook_flow_removed, .flow_active = hook_flow_active,
				      .flow_moved = hook_flow_moved };
	struct control_view view;
	char ct_err[256];
	uint64_t now = monotonic_ms();

	d->started_ms = now;
	if (d->cfg.gateway.listen.addr.family || d->cfg.agents.listen.addr.family) {
		if (!key_file_load(d->cfg.key_file, &d->key, err, err_size))
			return 2;
	}
	if (d->cfg.gateway.listen.addr.family)
		endpoint_format(&d->cfg.gateway.listen, d->announce_listen, sizeof(d->announce_listen));
	if (d->cfg.agents.listen.addr.family)
		endpoint_format(&d->cfg.agents.listen, d->agents_listen, sizeof(d->agents_listen));
	d->engine = engine_create(&d->cfg, &hooks, now, err, err_size);
	if (!d->engine)
		return 1;
	d->mark_ring = calloc(MARK_RING_SIZE, sizeof(*d->mark_ring));
	d->load_fed_ms = now;
	if (!d->mark_ring) {
		snprintf(err, err_size, "out of memory");
		return 1;
	}
	d->ct = ct_marks_open(ct_err, sizeof(ct_err));
	if (!d->ct)
		log_msg(LOG_WARNING, "%s: connmarks of ended flows will not be cleared", ct_err);
	else if (!(d->ct_scan = ct_marks_open(ct_err, sizeof(ct_err))))
		log_msg(LOG_WARNING, "%s: no conntrack scan; idle media flows are asked about one by one",
			ct_err);
	d->hooks_live = true;
	d->retry_after_s = d->cfg.admission.retry_after_s;
	open_replies_if_wanted(d, &d->cfg);

	if (d->cfg.queue.count > MAX_QUEUES) {
		snprintf(err, err_size, "queue.count %u: sarad serves at most %u queues", d->cfg.queue.count,
			 MAX_QUEUES);
		return 2;
	}
	for (unsigned i = 0; i < d->cfg.queue.count; i++) {
		struct nfqueue_options opt = {
			.queue_num = (uint16_t)(d->cfg.queue.first + i),
			.max_len = QUEUE_MAX_LEN,
			.rcvbuf_bytes = QUEUE_RCVBUF,
			.fail_open = d->cfg.queue.fail_open,
			.conntrack = true,
		};
		struct queue_worker *w = &d->workers[i];
		w->d = d;
		w->index = i;
		w->num = opt.queue_num;
		w->queue = nfqueue_open(&opt, err, err_size);
		if (!w->queue && errno == EOPNOTSUPP && opt.conntrack) {
			/* Without the kernel's NFQUEUE conntrack glue a verdict cannot
			 * carry the connmark; the POSTROUTING CONNMARK --save-mark rule
			 * saves the verdict's packet mark instead. */
			if (i == 0)
				log_msg(LOG_NOTICE, "%s; connmarks come from the POSTROUTING CONNMARK --save-mark "
					"rule alone", err);
			opt.conntrack = false;
			w->queue = nfqueue_open(&opt, err, err_size);
		}
		if (!w->queue)
			return 1;
		d->queues[i] = w->queue;
		d->queue_nums[i] = w->num;
		d->queue_count = i + 1;
	}
	if (d->cfg.gateway.listen.addr.family) {
		d->announcements = announce_listener_open(&d->cfg, &d->key, d->engine, &d->engine_lock, monotonic_ms,
							  err, err_size);
		if (!d->announcements)
			return 1;
	}
	if (d->cfg.agents.listen.addr.family) {
		d->agents = agent_listener_open(&d->cfg, &d->key, monotonic_ms, hook_server_event, d, err, err_size);
		if (!d->agents)
			return 1;
	}
	memset(&view, 0, sizeof(view));
	view.cluster = d->cfg.name;
	view.now_ms = monotonic_ms;
	view.started_ms = d->started_ms;
	view.engine = d->engine;
	view.engine_lock = &d->engine_lock;
	view.verdicts = &d->verdicts;
	view.queues = d->queues;
	view.queue_nums = d->queue_nums;
	view.queue_count = d->queue_count;
	view.announcements = d->announcements;
	view.announce_listen = d->announcements ? d->announce_listen : NULL;
	view.agents = d->agents;
	view.agents_listen = d->agents ? d->agents_listen : NULL;
	view.ct = d->ct;
	view.visit_daemon_counters = visit_daemon_counters;
	view.daemon_ctx = d;
	view.set_drain = control_set_drain;
	view.is_drained = control_is_drained;
	d->control = control_open(d->cfg.control.socket, &view, err, err_size);
	if (!d->control)
		return 1;

	for (unsigned i = 0; i < d->queue_count; i++) {
		if (pthread_create(&d->workers[i].thread, NULL, queue_thread, &d->workers[i]) != 0)
			goto thread_failed;
		d->workers[i].started = true;
	}
	if (pthread_create(&d->timer_thread, NULL, timer_thread, d) != 0)
		goto thread_failed;
	d->timer_started = true;
	if (d->ct_scan) {
		if (pthread_create(&d->ct_scan_thread, NULL, ct_scan_thread, d) != 0)
			goto thread_failed;
		d->ct_scan_started = true;
	}
	if (d->announcements) {
		if (pthread_create(&d->announce_thread, NULL, announce_thread, d) != 0)
			goto thread_failed;
		d->announce_started = true;
	}
	if (d->agents) {
		if (pthread_create(&d->agent_thread, NULL, agent_thread, d) != 0)
			goto thread_failed;
		d->agent_started = true;
	}
	if (pthread_create(&d->control_thread, NULL, control_thread, d) != 0)
		goto thread_failed;
	d->control_started = true;
	return 0;
thread_failed:
	snprintf(err, err_size, "cannot start a thread: %s", strerror(errno));
	return 1;
}

static void stop(struct daemon *d)
{
	__atomic_store_n(&d->stopping, true, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < d->queue_count; i++)
		if (d->workers[i].started)
			pthread_join(d->workers[i].thread, NULL);
	if (d->timer_started)
		pthread_join(d->timer_thread, NULL);
	if (d->ct_scan_started)
		pthread_join(d->ct_scan_thread, NULL);
	if (d->announce_started)
		pthread_join(d->announce_thread, NULL);
	if (d->agent_started)
		pthread_join(d->agent_thread, NULL);
	if (d->control_started)
		pthread_join(d->control_thread, NULL);
}

static void cleanup(struct daemon *d)
{
	control_close(d->control);
	announce_listener_close(d->announcements);
	agent_listener_close(d->agents);   /* before the engine its events use */
	for (unsigned i = 0; i < d->queue_count; i++)
		nfqueue_close(d->workers[i].queue);
	/* Marks of live flows stay in the kernel: their media keeps flowing to
	 * the same servers while sarad restarts. */
	d->hooks_live = false;
	engine_destroy(d->engine);
	ct_marks_close(d->ct);
	ct_marks_close(d->ct_scan);
	live_set_destroy(d->live);
	reject_sender_close(d->replies);
	free(d->mark_ring);
	memset(&d->key, 0, sizeof(d->key));
}

int main(int argc, char **argv)
{
	static struct daemon daemon_state; /* large: keep it off the stack */
	struct daemon *d = &daemon_state;
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL;
	bool check_only = false;
	char err[512];
	sigset_t signals;
	int opt, rc, ready_fd = -1;

	while ((opt = getopt_long(argc, argv, "c:fh", options, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'f': d->foreground = true; break;
		case 'C': check_only = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!config_path || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!sara_config_load(config_path, &d->cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (check_only) {
		printf("%s: ok (cluster %s, %u VIPs, %u servers, queues %u..%u)\n", config_path, d->cfg.name,
		       d->cfg.vip_count, d->cfg.server_count, d->cfg.queue.first,
		       d->cfg.queue.first + d->cfg.queue.count - 1);
		return 0;
	}

	if (!d->foreground)
		ready_fd = daemonize();
	/* Until start-up is done, errors also go to the terminal. */
	log_open("sarad", true, !d->foreground);
	pthread_mutex_init(&d->engine_lock, NULL);
	pthread_mutex_init(&d->counters_lock, NULL);
	d->log_malformed = (struct log_limit)LOG_LIMIT_INIT("malformed signalling", 5, 10000);
	d->log_table_full = (struct log_limit)LOG_LIMIT_INIT("table full", 5, 10000);
	d->log_no_server = (struct log_limit)LOG_LIMIT_INIT("no server available", 5, 10000);
	d->log_admission = (struct log_limit)LOG_LIMIT_INIT("admission", 5, 10000);
	d->log_overflow = (struct log_limit)LOG_LIMIT_INIT("queue overflow", 5, 10000);
	d->log_verdict_error = (struct log_limit)LOG_LIMIT_INIT("verdict failed", 5, 10000);
	d->log_ct_error = (struct log_limit)LOG_LIMIT_INIT("connmark clear failed", 5, 10000);
	d->log_ct_scan = (struct log_limit)LOG_LIMIT_INIT("conntrack scan failed", 5, 60000);
	d->log_load = (struct log_limit)LOG_LIMIT_INIT("agent load", 5, 10000);

	/* Signals go to the main thread's sigwait only. */
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGUSR1);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->main_thread = pthread_self();

	rc = start(d, err, sizeof(err));
	if (rc != 0) {
		log_msg(LOG_ERR, "%s", err);
		stop(d);
		cleanup(d);
		log_close();
		return rc;
	}
	log_msg(LOG_INFO, "sarad started (pid %ld)", (long)getpid());
	log_config_summary(d);
	if (!d->foreground) {
		log_open("sarad", false, true);
		detach_stdio(ready_fd);
	}

	for (;;) {
		int sig;
		if (sigwait(&signals, &sig) != 0)
			continue;
		if (sig == SIGUSR1) {
			log_counters(d, "SIGUSR1");
			continue;
		}
		if (sig == SIGHUP) {
			reload_config(d);
			continue;
		}
		log_msg(LOG_INFO, "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
		break;
	}
	stop(d);
	/* Say what the rate limits held back before the final counters. */
	flush_log_limits(d, monotonic_ms() + 24u * 3600u * 1000u);
	log_counters(d, "final");
	rc = __atomic_load_n(&d->exit_code, __ATOMIC_RELAXED);
	cleanup(d);
	log_msg(LOG_INFO, "sarad stopped%s", rc ? " after an error" : "");
	log_close();
	return rc;
}
