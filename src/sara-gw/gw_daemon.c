/* gw_daemon.c - the announcing gateway on its event loop (gw_daemon.h). */
#include "sara-gw/gw_daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "io/clock.h"
#include "io/daemon.h"
#include "io/event_loop.h"
#include "io/log.h"
#include "io/metrics_http.h"
#include "io/nfqueue.h"
#include "io/service_notify.h"
#include "io/sealed_channel.h"
#include "io/version.h"
#include "sara-gw/announcer.h"
#include "sara-gw/gw_metrics.h"

struct gw {
	const struct gw_settings *set;
	struct sealed_sender channel;
	struct announcer announcer;
	struct nfqueue *queue;
	struct event_loop *loop;
	uint64_t verdict_errors;
	int status;
	uint64_t started_ms;
	struct metrics_http *metrics;   /* NULL without --metrics */
	struct gw_snapshot snapshot;    /* the loop's copy for it */
};

static bool send_sealed(void *ctx, const uint8_t *body, size_t len)
{
	return sealed_send(ctx, WIRE_ANNOUNCE, body, len);
}

/* Announce first, accept after: the dispatcher learns the server-side media
 * ports before the reply that carries them can reach the client. */
static void on_packet(void *ctx, const struct nfqueue_packet *pkt)
{
	struct gw *g = ctx;
	if (!pkt)
		return; /* end of a batch: each packet was answered already */
	announcer_packet(&g->announcer, pkt->payload, pkt->len, clock_ms(CLOCK_MONOTONIC));
	/* Fail-open: whatever happened above, the server's packet goes on. */
	if (nfqueue_verdict(g->queue, pkt->id, true, 0, false) < 0)
		g->verdict_errors++;
}

static void on_queue(void *ctx, int fd, uint32_t events)
{
	struct gw *g = ctx;
	char err[512];
	(void)fd;
	(void)events;
	if (nfqueue_receive(g->queue, 0, on_packet, g, err, sizeof(err)) < 0 && errno != EINTR) {
		struct log_event e;
		log_event_begin(&e, "queue_failed");
		log_event_u64(&e, "queue", g->set->queue_num);
		log_event_str(&e, "error", err);
		log_event_emit(&e, LOG_ERR);
		g->status = 1;
		event_loop_stop(g->loop);
	}
}

/* A counter as a field of the line being built (ctx). */
static void log_counter(void *ctx, const struct counter_def *def, uint64_t value)
{
	log_event_u64(ctx, def->name, value);
}

/* COUNTER_SCOPE_GW_DAEMON and COUNTER_SCOPE_GW_QUEUE into set. */
static void gather_counters(const struct gw *g, struct counter_set *set)
{
	struct nfqueue_stats qs;
	announcer_get_counters(&g->announcer, set);
	set->values[COUNTER_GW_VERDICT_ERRORS] = g->verdict_errors;
	nfqueue_get_stats(g->queue, &qs);
	set->values[COUNTER_GW_QUEUE_RECEIVED] = qs.received;
	set->values[COUNTER_GW_QUEUE_ENOBUFS] = qs.enobufs;
	set->values[COUNTER_GW_QUEUE_VERDICT_ERRORS] = qs.verdict_errors;
}

/* "event=counters when=WHEN group=GROUP name=value ..." for one scope. */
static void log_counter_group(const struct counter_set *set, enum counter_scope scope, enum counters_filter filter,
			      const char *when, const char *group)
{
	struct log_event e;
	log_event_begin(&e, "counters");
	log_event_str(&e, "when", when);
	log_event_str(&e, "group", group);
	counters_visit(set, scope, filter, log_counter, &e);
	log_event_emit(&e, LOG_INFO);
}

static void log_counters(const struct gw *g, const char *when)
{
	struct counter_set set = { 0 };
	gather_counters(g, &set);
	log_counter_group(&set, COUNTER_SCOPE_GW_DAEMON, COUNTERS_ALL, when, "daemon");
	log_counter_group(&set, COUNTER_SCOPE_GW_QUEUE, COUNTERS_ALL, when, "queue");
	log_counter_group(gateway_counters(g->announcer.gateway), COUNTER_SCOPE_GATEWAY, COUNTERS_REPORTED, when,
			  "gateway");
}

/* A snapshot for the metrics endpoint, rendered in its own thread. */
static void on_metrics(void *ctx)
{
	struct gw *g = ctx;
	struct gw_snapshot *s = &g->snapshot;
	memset(s, 0, sizeof(*s));
	s->uptime_ms = clock_ms(CLOCK_MONOTONIC) - g->started_ms;
	s->queue_num = g->set->queue_num;
	gather_counters(g, &s->counters);
	s->gateway = *gateway_counters(g->announcer.gateway);
	control_kernel_queue_stats(s->queue_num, &s->kernel);
	metrics_http_publish(g->metrics, s);
}

/* --metrics: after the signals are blocked (the server's thread inherits
 * the mask). */
static bool start_metrics(struct gw *g, char *err, size_t err_size)
{
	if (!g->set->metrics.addr.family)
		return true;
	return metrics_http_start_publishing(&g->metrics, g->loop, "--metrics", &g->set->metrics, "sara_gw",
					     sizeof(g->snapshot), gw_metrics_render, on_metrics, g, err, err_size);
}

static void on_signal(void *ctx, int signo)
{
	struct gw *g = ctx;
	if (signo == SIGUSR1) {
		log_counters(g, "SIGUSR1");
	} else if (signo == SIGHUP) {
		log_reload_unsupported_event("sara-gw");
	} else {
		log_stopping_event(signo);
		event_loop_stop(g->loop);
	}
}

static bool start(struct gw *g, char *err, size_t err_size)
{
	static const int signals[] = { SIGTERM, SIGINT, SIGUSR1, SIGHUP };
	const struct gw_settings *s = g->set;
	struct nfqueue_options opt = {
		.queue_num = s->queue_num,
		.max_len = GW_QUEUE_MAX_LEN,
		.rcvbuf_bytes = GW_RCVBUF_BYTES,
		.fail_open = true,
		.conntrack = false,
	};
	char why[384];

	if (!sealed_sender_open_dispatchers(&g->channel, s->cfg, &s->cfg->gateway.listen, "gateway.listen",
					    "announce to", s->key, s->sender, err, err_size) ||
	    !announcer_init(&g->announcer, s->cfg, clock_ms(CLOCK_MONOTONIC), send_sealed, &g->channel, err,
			    err_size))
		return false;
	g->queue = nfqueue_open(&opt, why, sizeof(why));
	if (!g->queue) {
		snprintf(err, err_size, "queue %u: %s", s->queue_num, why);
		return false;
	}
	g->loop = event_loop_create(err, err_size);
	return g->loop && event_loop_add_fd(g->loop, nfqueue_fd(g->queue), on_queue, g, err, err_size) == 0 &&
	       event_loop_add_signals(g->loop, signals, sizeof(signals) / sizeof(signals[0]), on_signal, g, err,
				      err_size) == 0 &&
	       start_metrics(g, err, err_size) && service_watchdog_attach(g->loop, err, err_size) == 0;
}

int gw_run(const struct gw_settings *settings)
{
	struct gw g = { .set = settings, .channel = { .fd = -1 }, .started_ms = clock_ms(CLOCK_MONOTONIC) };
	int ready_fd = settings->foreground ? -1 : daemonize("sara-gw");
	char err[512], where[ENDPOINT_STRLEN], status[160];
	struct log_event e;

	if (!start(&g, err, sizeof(err))) {
		log_error_event("start_failed", err);
		g.status = 1;
		goto out;
	}
	if (!settings->foreground) {
		log_open("sara-gw", false, true);
		daemon_ready(ready_fd);
	}
	log_event_begin(&e, "start");
	log_event_str(&e, "prog", "sara-gw");
	log_event_str(&e, "version", sara_version());
	log_event_u64(&e, "queue", settings->queue_num);
	log_event_str(&e, "announce_to", endpoint_format(&g.channel.to[0], where, sizeof(where)));
	log_event_u64(&e, "sender", settings->sender);
	if (g.channel.to_count > 1)
		log_event_u64(&e, "dispatchers", g.channel.to_count);
	log_event_emit(&e, LOG_INFO);
	snprintf(status, sizeof(status), "queue %u, announcing to %s as sender %u", settings->queue_num, where,
		 settings->sender);
	service_notify_ready(status);
	if (g.metrics) {
		log_event_begin(&e, "metrics");
		log_event_str(&e, "listen", endpoint_format(&settings->metrics, where, sizeof(where)));
		log_event_emit(&e, LOG_INFO);
	}
	if (event_loop_run(g.loop, err, sizeof(err)) < 0) {
		log_error_event("loop_failed", err);
		g.status = 1;
	}
	service_notify_stopping();
	log_counters(&g, "final");
	log_event_begin(&e, "stop");
	log_event_u64(&e, "status", (uint64_t)g.status);
	log_event_emit(&e, g.status ? LOG_ERR : LOG_INFO);
out:
	metrics_http_stop(g.metrics);
	event_loop_destroy(g.loop);
	if (g.queue)
		nfqueue_close(g.queue);
	announcer_destroy(&g.announcer);
	sealed_sender_close(&g.channel);
	return g.status;
}
