/* daemon.c - sarad's parts wired around one event loop (daemon.h). */
#include "sarad/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/clock.h"
#include "io/key_file.h"
#include "io/log.h"
#include "io/status_metrics.h"
#include "io/service_notify.h"
#include "sarad/counter_log.h"
#include "sarad/health_feed.h"
#include "sarad/reload.h"

#define TICK_MS 100                /* engine time, connmark writes, slow start and admission */
#define CHECK_MS 1000              /* kernel queue overflow, rate-limit summaries */
#define HEALTH_TICK_MAX_MS 200     /* missed heartbeats looked for at least this often */
#define DATAGRAMS_PER_WAKE 256     /* then the loop serves the others */
#define REFUSALS_SUMMARY_S 60      /* a summary of the refusals, when there were any */
#define REPIN_STEP_MS 1            /* between slices of a failed server's moves */

/* The engine's clock, also handed to the listeners and the control socket. */
static uint64_t monotonic_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

/* A part failed for good (any thread): the loop stops, exit 1. */
static void fail_and_stop(void *ctx, const char *what)
{
	struct daemon *d = ctx;
	log_error_event("fatal", what);
	__atomic_store_n(&d->exit_code, 1, __ATOMIC_RELAXED);
	pthread_kill(d->main_thread, SIGTERM);
}

/* ---- what the control socket asks ---- */

static void visit_daemon_counters(void *ctx, enum counters_filter filter, counter_visit_fn fn, void *fn_ctx)
{
	struct daemon *d = ctx;
	daemon_counters_visit(&d->counters, filter, fn, fn_ctx);
	refusal_replies_visit_counters(&d->replies, filter, fn, fn_ctx);
}

static int control_set_drain(void *ctx, unsigned server, bool drain, char *err, size_t err_size)
{
	struct daemon *d = ctx;
	return dispatcher_set_drain(&d->dispatcher, server, drain, err, err_size);
}

static bool control_is_drained(void *ctx, unsigned server)
{
	struct daemon *d = ctx;
	return dispatcher_is_drained(&d->dispatcher, server);
}

/* ---- the loop's callbacks ---- */

static void on_signal(void *ctx, int signo)
{
	struct daemon *d = ctx;
	switch (signo) {
	case SIGUSR1:
		counter_log_write(&d->view, "SIGUSR1");
		break;
	case SIGHUP:
		service_notify_reloading();
		if (reload_config(&d->dispatcher, &d->replies) && d->scanning) {
			uint64_t period = ct_scan_period_ms(&d->dispatcher);   /* media_s may have changed */
			if (period != d->scan_period_ms && event_loop_set_interval(d->loop, d->scan_timer, period))
				d->scan_period_ms = period;
		}
		service_notify_ready(NULL);   /* a refused file leaves the old one serving */
		break;
	default:
		log_stopping_event(signo);
		event_loop_stop(d->loop);
		break;
	}
}

static void on_tick(void *ctx)
{
	struct daemon *d = ctx;
	dispatcher_tick(&d->dispatcher, monotonic_ms());
	oc_sender_tick(&d->oc, &d->dispatcher);
	if (d->scanning)
		ct_follow_tick(&d->follow);
}

static void on_check(void *ctx)
{
	struct daemon *d = ctx;
	uint64_t now = monotonic_ms();
	queue_set_check_overflow(&d->queues, d->cfg.queue.fail_open, now);
	log_kinds_flush(&d->logs, now);
}

/* "event=refusals window_s=60 total=N admission=N ...": what the
 * rate-limited refusal lines of the last minute stood for. */
static void on_refusals_summary(void *ctx)
{
	struct daemon *d = ctx;
	uint64_t counts[VERDICT_REASON_COUNT], total = 0;
	struct log_event e;
	/* Whole seconds: this one and the 59 before it. */
	refusal_log_read(&d->refusals, monotonic_ms(), REFUSALS_SUMMARY_S - 1, counts, NULL, 0);
	for (unsigned r = 0; r < VERDICT_REASON_COUNT; r++)
		total += refusal_reason(r) ? counts[r] : 0;
	if (total == 0)
		return;
	log_event_begin(&e, "refusals");
	log_event_u64(&e, "window_s", REFUSALS_SUMMARY_S);
	log_event_u64(&e, "total", total);
	for (unsigned r = 0; r < VERDICT_REASON_COUNT; r++)
		if (refusal_reason(r))
			log_event_u64(&e, refusal_reason_name(r), counts[r]);
	log_event_emit(&e, LOG_WARNING);
}

static void on_repin(void *ctx)
{
	struct daemon *d = ctx;
	if (!dispatcher_repin_step(&d->dispatcher)) {
		event_loop_remove_timer(d->loop, d->repin_timer);
		d->repin_timer = -1;
	}
}

/* Health may have failed a server: its sessions move a slice at a time,
 * with the loop serving packets between slices. */
static void health_changed(struct daemon *d)
{
	char err[256];
	if (d->repin_timer >= 0 || !dispatcher_repin_pending(&d->dispatcher))
		return;
	d->repin_timer = event_loop_add_timer(d->loop, REPIN_STEP_MS, on_repin, d, err, sizeof(err));
	if (d->repin_timer < 0) {
		/* No room for a timer: the rest in one go, as a stall. */
		log_error_event("repin_timer", err);
		while (dispatcher_repin_step(&d->dispatcher))
			;
	}
}

static void on_health_tick(void *ctx)
{
	struct daemon *d = ctx;
	dispatcher_health_tick(&d->dispatcher, monotonic_ms());
	health_changed(d);
}

/* A snapshot for the metrics endpoint: copied here, rendered in its
 * thread. One a scrape holds is skipped; the next tick brings a newer one. */
static void on_metrics(void *ctx)
{
	struct daemon *d = ctx;
	status_snapshot_take(&d->view, d->metrics_snapshot);
	metrics_http_publish(d->metrics, d->metrics_snapshot);
}

static void render_metrics(const void *snapshot, struct metrics_text *out)
{
	status_metrics_render(snapshot, out);
}

static void on_scan_due(void *ctx)
{
	struct daemon *d = ctx;
	ct_follow_scan_due(&d->follow);
}

/* queue.count == 1: the queue is one more fd of the loop. */
static void on_queue(void *ctx, int fd, uint32_t events)
{
	struct daemon *d = ctx;
	char err[256];
	(void)fd;
	(void)events;
	if (queue_worker_receive(&d->queues.workers[0], 0, err, sizeof(err)) < 0) {
		event_loop_remove_fd(d->loop, nfqueue_fd(d->queues.workers[0].queue));
		fail_and_stop(d, err);
	}
}

static void drain_receiver(struct daemon *d, struct sealed_receiver *rx, struct sealed_receiver_handler h,
			   const char *what)
{
	char err[256], text[300];
	if (sealed_receiver_drain(rx, DATAGRAMS_PER_WAKE, &h, err, sizeof(err)) < 0) {
		event_loop_remove_fd(d->loop, rx->fd);
		snprintf(text, sizeof(text), "%s: %s", what, err);
		fail_and_stop(d, text);
	}
}

static void on_announcements(void *ctx, int fd, uint32_t events)
{
	struct daemon *d = ctx;
	(void)fd;
	(void)events;
	drain_receiver(d, &d->announce_rx, sealed_listener_handler(d->announcements), "announcements");
}

/* Agent reports; server health then lets time pass too. */
static void on_agents(void *ctx, int fd, uint32_t events)
{
	struct daemon *d = ctx;
	(void)fd;
	(void)events;
	drain_receiver(d, &d->agent_rx, sealed_listener_handler(d->agents), "agents");
	dispatcher_health_tick(&d->dispatcher, monotonic_ms());
	health_changed(d);
}

/* ---- start ---- */

/* The loop first: its signal mask must be in place before any thread. */
static int start_loop(struct daemon *d, char *err, size_t err_size)
{
	static const int signals[] = { SIGTERM, SIGINT, SIGUSR1, SIGHUP };
	d->main_thread = pthread_self();
	d->loop = event_loop_create(err, err_size);
	if (!d->loop)
		return 1;
	if (event_loop_add_signals(d->loop, signals, sizeof(signals) / sizeof(signals[0]), on_signal, d, err,
				   err_size) < 0)
		return 1;
	return 0;
}

/* The engine and what it writes to: conntrack, the refusal replies. */
static int start_dispatcher(struct daemon *d, char *err, size_t err_size)
{
	char ct_err[256];
	struct ct_marks *scan_ct = NULL;
	struct log_event e;

	d->ct = ct_marks_open(ct_err, sizeof(ct_err));
	if (!d->ct || !(scan_ct = ct_marks_open(ct_err, sizeof(ct_err)))) {
		log_event_begin(&e, d->ct ? "conntrack_scan_unavailable" : "conntrack_unavailable");
		log_event_str(&e, "error", ct_err);
		log_event_str(&e, "msg", d->ct ? "idle media flows are asked about one by one"
					       : "connmarks of ended flows will not be cleared");
		log_event_emit(&e, LOG_WARNING);
	}
	d->dispatcher_ready = true;
	if (dispatcher_init(&d->dispatcher, &d->cfg, d->ct, &d->counters, &d->logs, monotonic_ms, err, err_size) < 0) {
		ct_marks_close(scan_ct);
		return 1;
	}
	if (scan_ct) {
		/* Subscribed before the first scan: no event after it is missed. */
		struct ct_events *events = ct_events_open(ct_err, sizeof(ct_err));
		if (!events) {
			log_event_begin(&e, "conntrack_events_unavailable");
			log_event_str(&e, "error", ct_err);
			log_event_str(&e, "msg", "the conntrack table is scanned every media_s / 2");
			log_event_emit(&e, LOG_WARNING);
		}
		d->scanning = true;
		ct_follow_start(&d->follow, &d->dispatcher, &d->scan, events, d->loop);
		if (ct_scan_start(&d->scan, &d->dispatcher, scan_ct, events != NULL, err, err_size) < 0)
			return 1;
	}
	refusal_replies_configure(&d->replies, &d->cfg);
	/* Before the queues: the local store's sessions are back first. */
	if (!replication_start(&d->dispatcher.replication, &d->dispatcher, &d->cfg, &d->key, &d->counters, err,
			       err_size))
		return 1;
	return 0;
}

/* Announcements and agent reports: a sealed receiver each, whose checked
 * messages the listeners hand to the dispatcher. */
static int start_receivers(struct daemon *d, char *err, size_t err_size)
{
	struct agent_listener_sink sink = { .heartbeat = dispatcher_heartbeat, .load = dispatcher_load_report,
					    .ctx = &d->dispatcher };
	char why[256];

	if (d->cfg.gateway.listen.addr.family) {
		if (!sealed_receiver_open(&d->announce_rx, &d->cfg.gateway.listen, &d->key, ANNOUNCE_MAX_SKEW_MS, why,
					  sizeof(why))) {
			snprintf(err, err_size, "announcements: %s (gateway.listen)", why);
			return 1;
		}
		d->announcements = announce_listener_create(&d->cfg, monotonic_ms, dispatcher_announce, &d->dispatcher);
		if (!d->announcements) {
			snprintf(err, err_size, "announcements: out of memory");
			return 1;
		}
		announce_listener_on_sender(d->announcements, oc_sender_gateway_seen, &d->oc);
		oc_sender_attach(&d->oc, d->announce_rx.fd, &d->key);
	}
	if (d->cfg.agents.listen.addr.family) {
		if (dispatcher_watch_health(&d->dispatcher, monotonic_ms(), err, err_size) < 0)
			return 1;
		if (!sealed_receiver_open(&d->agent_rx, &d->cfg.agents.listen, &d->key, AGENT_MAX_SKEW_MS, why,
					  sizeof(why))) {
			snprintf(err, err_size, "agents: %s (agents.listen)", why);
			return 1;
		}
		/* the running table: servers come and go with reloads */
		d->agents = agent_listener_create(d->dispatcher.cfg, monotonic_ms, &sink);
		if (!d->agents) {
			snprintf(err, err_size, "agents: out of memory");
			return 1;
		}
	}
	return 0;
}

static int start_control(struct daemon *d, char *err, size_t err_size)
{
	struct control_view *v = &d->view;
	memset(v, 0, sizeof(*v));
	v->cluster = d->cfg.name;
	v->now_ms = monotonic_ms;
	v->started_ms = d->started_ms;
	v->engine = d->dispatcher.engine;
	v->engine_lock = &d->dispatcher.engine_lock;
	v->verdicts = &d->verdicts;
	v->queues = d->queues.queues;
	v->queue_nums = d->queues.nums;
	v->queue_count = d->queues.count;
	v->announcements = d->announcements;
	v->announce_listen = d->announcements ? d->announce_listen : NULL;
	v->agents = d->agents;
	v->agents_listen = d->agents ? d->agents_listen : NULL;
	v->health = health_feed_health(d->dispatcher.health);
	v->ct = d->ct;
	v->visit_daemon_counters = visit_daemon_counters;
	v->daemon_ctx = d;
	v->set_drain = control_set_drain;
	v->is_drained = control_is_drained;
	v->refusals = &d->refusals;
	d->control = control_open(d->cfg.control.socket, v, err, err_size);
	if (!d->control || control_attach(d->control, d->loop, fail_and_stop, d, err, err_size) < 0)
		return 1;
	return 0;
}

/* metrics.listen: the endpoint reads what the control socket reads. */
static int start_metrics(struct daemon *d, char *err, size_t err_size)
{
	size_t size = status_snapshot_size(d->view.queue_count);
	if (!d->cfg.metrics.listen.addr.family)
		return 0;
	d->metrics_snapshot = calloc(1, size);
	if (!d->metrics_snapshot) {
		snprintf(err, err_size, "metrics: out of memory");
		return 1;
	}
	return metrics_http_start_publishing(&d->metrics, d->loop, "metrics.listen", &d->cfg.metrics.listen, "sara",
					     size, render_metrics, on_metrics, d, err, err_size)
		       ? 0
		       : 1;
}

/* Timers, and the fds the loop serves. */
static int watch(struct daemon *d, char *err, size_t err_size)
{
	uint64_t health_ms = d->cfg.agents.interval_ms / 2;
	struct event_loop *l = d->loop;

	if (health_ms < 1)
		health_ms = 1;
	if (health_ms > HEALTH_TICK_MAX_MS)
		health_ms = HEALTH_TICK_MAX_MS;
	if (event_loop_add_timer(l, TICK_MS, on_tick, d, err, err_size) < 0 ||
	    event_loop_add_timer(l, CHECK_MS, on_check, d, err, err_size) < 0 ||
	    event_loop_add_timer(l, REFUSALS_SUMMARY_S * 1000u, on_refusals_summary, d, err, err_size) < 0 ||
	    service_watchdog_attach(l, err, err_size) < 0)
		return 1;
	if (d->agents && (event_loop_add_timer(l, health_ms, on_health_tick, d, err, err_size) < 0 ||
			  event_loop_add_fd(l, d->agent_rx.fd, on_agents, d, err, err_size) < 0))
		return 1;
	if (d->announcements && event_loop_add_fd(l, d->announce_rx.fd, on_announcements, d, err, err_size) < 0)
		return 1;
	if (d->scanning) {
		d->scan_period_ms = ct_scan_period_ms(&d->dispatcher);
		d->scan_timer = event_loop_add_timer(l, d->scan_period_ms, on_scan_due, d, err, err_size);
		if (d->scan_timer < 0)
			return 1;
	}
	if (d->queues.count == 1 &&
	    event_loop_add_fd(l, nfqueue_fd(d->queues.workers[0].queue), on_queue, d, err, err_size) < 0)
		return 1;
	return 0;
}

int daemon_start(struct daemon *d, char *err, size_t err_size)
{
	struct queue_shared shared = { .dispatcher = &d->dispatcher, .verdicts = &d->verdicts,
				       .replies = &d->replies, .counters = &d->counters, .logs = &d->logs,
				       .refusals = &d->refusals };
	int rc;

	d->started_ms = monotonic_ms();
	d->announce_rx.fd = d->agent_rx.fd = -1;
	d->scan_timer = -1;
	d->repin_timer = -1;
	daemon_counters_init(&d->counters);
	log_kinds_init(&d->logs);
	refusal_log_init(&d->refusals);
	refusal_replies_init(&d->replies);
	oc_sender_init(&d->oc, &d->counters, &d->replies, monotonic_ms);
	if (d->cfg.gateway.listen.addr.family || d->cfg.agents.listen.addr.family ||
	    d->cfg.ha.session_store != SESSION_STORE_OFF) {
		if (!key_file_load(d->cfg.key_file, &d->key, err, err_size))
			return 2;
	}
	if (d->cfg.gateway.listen.addr.family)
		endpoint_format(&d->cfg.gateway.listen, d->announce_listen, sizeof(d->announce_listen));
	if (d->cfg.agents.listen.addr.family)
		endpoint_format(&d->cfg.agents.listen, d->agents_listen, sizeof(d->agents_listen));
	if ((rc = start_loop(d, err, err_size)) || (rc = start_dispatcher(d, err, err_size)))
		return rc;
	d->queues.on_fatal = fail_and_stop;
	d->queues.fatal_ctx = d;
	if ((rc = queue_set_open(&d->queues, &d->cfg, &shared, err, err_size)) ||
	    (rc = start_receivers(d, err, err_size)) || (rc = start_control(d, err, err_size)) ||
	    (rc = start_metrics(d, err, err_size)) || (rc = watch(d, err, err_size)))
		return rc;
	return queue_set_start_threads(&d->queues, err, err_size) < 0 ? 1 : 0;
}

/* ---- run, stop ---- */

void daemon_log_config(const struct daemon *d)
{
	const struct sara_config *cfg = &d->cfg;
	char vips[256] = "", text[NETADDR_STRLEN];
	struct log_event e;
	size_t len = 0;
	for (unsigned i = 0; i < cfg->vip_count && len < sizeof(vips) - NETADDR_STRLEN - 2; i++) {
		netaddr_format(&cfg->vips[i], text, sizeof(text));
		len += (size_t)snprintf(vips + len, sizeof(vips) - len, "%s%s", i ? " " : "", text);
	}
	log_event_begin(&e, "config");
	log_event_str(&e, "cluster", cfg->name);
	log_event_str(&e, "config", cfg->path);
	log_event_str(&e, "vips", vips);
	log_event_u64(&e, "servers", cfg->server_count);
	log_event_str(&e, "selection", selection_algorithm_name(cfg->selection.algorithm));
	log_event_fmt(&e, "queues", "%u..%u", cfg->queue.first, cfg->queue.first + cfg->queue.count - 1);
	log_event_str(&e, "queue_policy", cfg->queue.fail_open ? "fail-open" : "fail-closed");
	log_event_emit(&e, LOG_INFO);
	for (unsigned i = 0; i < cfg->server_count; i++) {
		log_event_begin(&e, "config_server");
		log_event_str(&e, "server", cfg->servers[i].id);
		log_event_str(&e, "address", netaddr_format(&cfg->servers[i].address, text, sizeof(text)));
		if (cfg->servers[i].address6.family)
			log_event_str(&e, "address6", netaddr_format(&cfg->servers[i].address6, text, sizeof(text)));
		log_event_u64(&e, "mark", cfg->servers[i].mark);
		log_event_u64(&e, "table", cfg->servers[i].table);
		log_event_real(&e, "weight", cfg->servers[i].weight, 2);
		log_event_emit(&e, LOG_INFO);
	}
	log_event_begin(&e, "config_limits");
	log_event_u64(&e, "flows", cfg->limits.flows);
	log_event_u64(&e, "sessions", cfg->limits.sessions);
	log_event_str(&e, "when_full", cfg->limits.when_full == FULL_DROP ? "drop" : "pass");
	log_event_u64(&e, "signalling_s", cfg->timeouts.signalling_s);
	log_event_u64(&e, "media_s", cfg->timeouts.media_s);
	log_event_u64(&e, "linger_s", cfg->timeouts.linger_s);
	log_event_str(&e, "announcements", d->announcements ? d->announce_listen : "off");
	log_event_str(&e, "control_socket", cfg->control.socket);
	log_event_emit(&e, LOG_INFO);
	log_event_begin(&e, "config_agents");
	if (d->agents) {
		log_event_str(&e, "listen", d->agents_listen);
		log_event_u64(&e, "interval_ms", cfg->agents.interval_ms);
		log_event_u64(&e, "misses", cfg->agents.misses);
	} else {
		log_event_str(&e, "listen", "off");
		log_event_str(&e, "msg", "agents.listen unset: servers are never failed");
	}
	log_event_emit(&e, LOG_INFO);
	if (d->metrics) {
		char where[ENDPOINT_STRLEN];
		log_event_begin(&e, "metrics");
		log_event_str(&e, "listen", endpoint_format(&cfg->metrics.listen, where, sizeof(where)));
		log_event_emit(&e, LOG_INFO);
	}
}

void daemon_run(struct daemon *d)
{
	char err[256];
	if (event_loop_run(d->loop, err, sizeof(err)) < 0) {
		log_error_event("loop_failed", err);
		__atomic_store_n(&d->exit_code, 1, __ATOMIC_RELAXED);
	}
}

void daemon_stop(struct daemon *d)
{
	queue_set_stop(&d->queues);
	if (d->dispatcher_ready)
		replication_stop(&d->dispatcher.replication);
	if (d->scanning) {
		ct_follow_stop(&d->follow);
		ct_scan_stop(&d->scan);
	}
	d->scanning = false;
}

void daemon_log_final(struct daemon *d)
{
	/* Say what the rate limits held back before the final counters. */
	log_kinds_flush(&d->logs, monotonic_ms() + 24u * 3600u * 1000u);
	counter_log_write(&d->view, "final");
}

static void close_receiver(struct daemon *d, struct sealed_receiver *rx)
{
	if (rx->fd < 0)
		return;
	if (d->loop)
		event_loop_remove_fd(d->loop, rx->fd);
	sealed_receiver_close(rx);
}

void daemon_free(struct daemon *d)
{
	metrics_http_stop(d->metrics);
	d->metrics = NULL;
	free(d->metrics_snapshot);
	d->metrics_snapshot = NULL;
	control_close(d->control);
	d->control = NULL;
	close_receiver(d, &d->announce_rx);
	close_receiver(d, &d->agent_rx);
	sealed_listener_destroy(d->announcements);
	sealed_listener_destroy(d->agents);
	if (d->queues.count == 1 && d->loop)
		event_loop_remove_fd(d->loop, nfqueue_fd(d->queues.workers[0].queue));
	queue_set_close(&d->queues);
	if (d->dispatcher_ready)
		dispatcher_fini(&d->dispatcher);
	ct_marks_close(d->ct);
	refusal_replies_close(&d->replies);
	event_loop_destroy(d->loop);
	d->loop = NULL;
	daemon_counters_destroy(&d->counters);
	refusal_log_destroy(&d->refusals);
	memset(&d->key, 0, sizeof(d->key));
}

int daemon_exit_code(const struct daemon *d)
{
	return __atomic_load_n(&d->exit_code, __ATOMIC_RELAXED);
}
