/* gw_daemon.c - the announcing gateway on its event loop (gw_daemon.h). */
#include "sara-gw/gw_daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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
#include "sara-gw/gw_reload.h"
#include "sara-gw/gw_metrics.h"
#include "sara-gw/oc_rewriter.h"

struct gw {
	const struct gw_settings *set;
	/* The running configuration and key: the settings' at start, a
	 * reload's since. */
	struct sara_config cfg;
	struct wire_key key;
	struct sealed_sender channel;
	struct announcer announcer;
	struct oc_rewriter oc;          /* the dispatchers' overload control, heard on channel.fd */
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

static uint64_t monotonic_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

/* Announce first, accept after: the dispatcher learns the server-side media
 * ports before the reply that carries them can reach the client. A
 * response to a client that advertised RFC 7339's oc goes on with the
 * dispatchers' overload control in its top Via. */
static void on_packet(void *ctx, const struct nfqueue_packet *pkt)
{
	struct gw *g = ctx;
	const uint8_t *rewritten = NULL;
	size_t rewritten_len;
	int rc;
	if (!pkt)
		return; /* end of a batch: each packet was answered already */
	announcer_packet(&g->announcer, pkt->payload, pkt->len, clock_ms(CLOCK_MONOTONIC));
	rewritten_len = oc_rewriter_packet(&g->oc, pkt->payload, pkt->len, &rewritten);
	/* Fail-open: whatever happened above, the server's packet goes on. */
	if (rewritten_len > 0)
		rc = nfqueue_verdict_packet(g->queue, pkt->id, rewritten, rewritten_len);
	else
		rc = nfqueue_verdict(g->queue, pkt->id, true, 0, false);
	if (rc < 0)
		g->verdict_errors++;
}

static void on_oc_states(void *ctx, int fd, uint32_t events)
{
	struct gw *g = ctx;
	char err[256];
	(void)fd;
	(void)events;
	if (oc_rewriter_drain(&g->oc, err, sizeof(err)) < 0) {
		struct log_event e;
		log_event_begin(&e, "oc_state_receive_failed");
		log_event_str(&e, "error", err);
		log_event_emit(&e, LOG_WARNING);
	}
}

/* The dispatchers answer the socket the announcements leave from. */
static bool listen_for_oc_states(struct gw *g, char *err, size_t err_size)
{
	return oc_rewriter_attach(&g->oc, g->channel.fd, &g->key, err, err_size) &&
	       event_loop_add_fd(g->loop, g->channel.fd, on_oc_states, g, err, err_size) == 0;
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
	oc_rewriter_get_counters(&g->oc, set);
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

/* SIGHUP: the file and key read again; the channel opened again, to every
 * dispatcher as at start, when its destinations or key changed (same
 * sender id, a fresh sequence). */
static void reload(struct gw *g)
{
	struct gw_reload *next = malloc(sizeof(*next));
	struct sealed_sender channel = { .fd = -1 };
	bool read = false;
	char err[512] = "nowhere to announce to", where[ENDPOINT_STRLEN];
	struct log_event e;
	if (!next) {
		log_reload_refused_event("out of memory");
		return;
	}
	if (g->set->config_path)
		read = gw_reload_read(g->set->config_path, &g->cfg, &g->key, g->set->queue_given,
				      g->set->metrics_given, next, err, sizeof(err));
	if (!read ||
	    !gateway_reconfigure(g->announcer.gateway, &next->cfg, err, sizeof(err)) ||
	    (next->channel_changed &&
	     !sealed_sender_open_dispatchers(&channel, &next->cfg, &next->cfg.gateway.listen, "gateway.listen",
					     "announce to", &next->key, g->set->sender, err, sizeof(err)))) {
		log_reload_refused_event(g->set->config_path ? err : "no configuration file to read");
		/* the gateway may have taken the new file: put the running one back */
		gateway_reconfigure(g->announcer.gateway, &g->cfg, err, sizeof(err));
		free(next);
		return;
	}
	if (next->channel_changed) {
		event_loop_remove_fd(g->loop, g->channel.fd);
		oc_rewriter_detach(&g->oc);
		sealed_sender_close(&g->channel);
		g->channel = channel;
	}
	g->cfg = next->cfg;
	g->key = next->key;
	if (next->channel_changed && !listen_for_oc_states(g, err, sizeof(err))) {
		struct log_event w;
		log_event_begin(&w, "oc_state_listen_failed");
		log_event_str(&w, "error", err);
		log_event_emit(&w, LOG_WARNING);
	}
	log_event_begin(&e, "reload");
	log_event_str(&e, "result", "applied");
	log_event_str(&e, "config", g->set->config_path);
	log_event_u64(&e, "vips", g->cfg.vip_count);
	log_event_u64(&e, "servers", g->cfg.server_count);
	log_event_str(&e, "announce_to", endpoint_format(&g->channel.to[0], where, sizeof(where)));
	if (g->channel.to_count > 1)
		log_event_u64(&e, "dispatchers", g->channel.to_count);
	log_event_bool(&e, "channel_reopened", next->channel_changed);
	log_event_emit(&e, LOG_NOTICE);
	free(next);
}

static void on_signal(void *ctx, int signo)
{
	struct gw *g = ctx;
	if (signo == SIGUSR1) {
		log_counters(g, "SIGUSR1");
	} else if (signo == SIGHUP) {
		service_notify_reloading();
		reload(g);
		service_notify_ready(NULL);   /* a refused file leaves the old one serving */
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
	g->cfg = *s->cfg;
	g->key = *s->key;
	if (!sealed_sender_open_dispatchers(&g->channel, &g->cfg, &g->cfg.gateway.listen, "gateway.listen",
					    "announce to", &g->key, s->sender, err, err_size) ||
	    !announcer_init(&g->announcer, &g->cfg, clock_ms(CLOCK_MONOTONIC), send_sealed, &g->channel, err,
			    err_size))
		return false;
	g->queue = nfqueue_open(&opt, why, sizeof(why));
	if (!g->queue) {
		snprintf(err, err_size, "queue %u: %s", s->queue_num, why);
		return false;
	}
	g->loop = event_loop_create(err, err_size);
	return g->loop && event_loop_add_fd(g->loop, nfqueue_fd(g->queue), on_queue, g, err, err_size) == 0 &&
	       listen_for_oc_states(g, err, err_size) &&
	       event_loop_add_signals(g->loop, signals, sizeof(signals) / sizeof(signals[0]), on_signal, g, err,
				      err_size) == 0 &&
	       start_metrics(g, err, err_size) && service_watchdog_attach(g->loop, err, err_size) == 0;
}

int gw_run(const struct gw_settings *settings)
{
	static struct gw g;  /* large (a configuration, a metrics snapshot): not on the stack */
	int ready_fd = settings->foreground ? -1 : daemonize("sara-gw");
	char err[512], where[ENDPOINT_STRLEN], status[160];
	struct log_event e;

	g = (struct gw){ .set = settings, .channel = { .fd = -1 }, .started_ms = clock_ms(CLOCK_MONOTONIC) };
	oc_rewriter_init(&g.oc, monotonic_ms);

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
	oc_rewriter_detach(&g.oc);
	sealed_sender_close(&g.channel);
	return g.status;
}
