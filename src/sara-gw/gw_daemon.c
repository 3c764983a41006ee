/* gw_daemon.c - the announcing gateway on its event loop (gw_daemon.h). */
#include "sara-gw/gw_daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "io/clock.h"
#include "io/daemon.h"
#include "io/event_loop.h"
#include "io/log.h"
#include "io/nfqueue.h"
#include "io/sealed_channel.h"
#include "sara-gw/announcer.h"
#include "sara-gw/gw_reload.h"

struct gw {
	const struct gw_settings *set;
	/* The running configuration and key: the settings' at start, a
	 * reload's since. */
	struct sara_config cfg;
	struct wire_key key;
	struct sealed_sender channel;
	struct announcer announcer;
	struct nfqueue *queue;
	struct event_loop *loop;
	uint64_t verdict_errors;
	int status;
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
		log_msg(LOG_ERR, "queue %u: %s", g->set->queue_num, err);
		g->status = 1;
		event_loop_stop(g->loop);
	}
}

/* "counter PREFIXname value"; ctx is the prefix. */
static void log_counter(void *ctx, const struct counter_def *def, uint64_t value)
{
	log_msg(LOG_INFO, "counter %s%s %llu", (const char *)ctx, def->name, (unsigned long long)value);
}

static void log_counters(const struct gw *g)
{
	struct counter_set set = { 0 };
	struct nfqueue_stats qs;
	announcer_get_counters(&g->announcer, &set);
	set.values[COUNTER_GW_VERDICT_ERRORS] = g->verdict_errors;
	nfqueue_get_stats(g->queue, &qs);
	set.values[COUNTER_GW_QUEUE_RECEIVED] = qs.received;
	set.values[COUNTER_GW_QUEUE_ENOBUFS] = qs.enobufs;
	set.values[COUNTER_GW_QUEUE_VERDICT_ERRORS] = qs.verdict_errors;
	counters_visit(&set, COUNTER_SCOPE_GW_DAEMON, COUNTERS_ALL, log_counter, "");
	counters_visit(&set, COUNTER_SCOPE_GW_QUEUE, COUNTERS_ALL, log_counter, "queue.");
	counters_visit(gateway_counters(g->announcer.gateway), COUNTER_SCOPE_GATEWAY, COUNTERS_REPORTED, log_counter,
		       "gateway.");
}

/* SIGHUP: the file and key read again; the channel opened again when its
 * destination or key changed (same sender id, a fresh sequence). */
static void reload(struct gw *g)
{
	struct gw_reload *next = malloc(sizeof(*next));
	struct sealed_sender channel = { .fd = -1 };
	char err[512], where[ENDPOINT_STRLEN];
	if (!next) {
		log_msg(LOG_ERR, "SIGHUP: out of memory; keeping the running configuration");
		return;
	}
	if (!g->set->config_path ||
	    !gw_reload_read(g->set->config_path, &g->cfg, &g->key, g->set->queue_given, next, err, sizeof(err)) ||
	    !gateway_reconfigure(g->announcer.gateway, &next->cfg, err, sizeof(err)) ||
	    (next->channel_changed &&
	     !sealed_sender_open(&channel, &next->cfg.gateway.listen, &next->key, g->set->sender, err, sizeof(err)))) {
		log_msg(LOG_ERR, "SIGHUP: %s; keeping the running configuration",
			g->set->config_path ? err : "no configuration file to read");
		/* the gateway may have taken the new file: put the running one back */
		gateway_reconfigure(g->announcer.gateway, &g->cfg, err, sizeof(err));
		free(next);
		return;
	}
	if (next->channel_changed) {
		sealed_sender_close(&g->channel);
		g->channel = channel;
	}
	g->cfg = next->cfg;
	g->key = next->key;
	log_msg(LOG_NOTICE, "SIGHUP: %s reloaded: %u VIPs, %u servers; announcing to %s%s", g->set->config_path,
		g->cfg.vip_count, g->cfg.server_count, endpoint_format(&g->cfg.gateway.listen, where, sizeof(where)),
		next->channel_changed ? " (channel opened again)" : "");
	free(next);
}

static void on_signal(void *ctx, int signo)
{
	struct gw *g = ctx;
	if (signo == SIGUSR1)
		log_counters(g);
	else if (signo == SIGHUP)
		reload(g);
	else
		event_loop_stop(g->loop);
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
	if (!sealed_sender_open(&g->channel, &g->cfg.gateway.listen, &g->key, s->sender, err, err_size) ||
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
	       event_loop_add_signals(g->loop, signals, sizeof(signals) / sizeof(signals[0]), on_signal, g, err,
				      err_size) == 0;
}

int gw_run(const struct gw_settings *settings)
{
	static struct gw g;  /* large (a configuration): not on the stack */
	int ready_fd = settings->foreground ? -1 : daemonize("sara-gw");
	char err[512], where[ENDPOINT_STRLEN];

	g = (struct gw){ .set = settings, .channel = { .fd = -1 } };

	if (!start(&g, err, sizeof(err))) {
		log_msg(LOG_ERR, "%s", err);
		g.status = 1;
		goto out;
	}
	if (!settings->foreground) {
		log_open("sara-gw", false, true);
		daemon_ready(ready_fd);
	}
	log_msg(LOG_INFO, "queue %u, announcing to %s as sender %u", settings->queue_num,
		endpoint_format(&g.cfg.gateway.listen, where, sizeof(where)), settings->sender);
	if (event_loop_run(g.loop, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "%s", err);
		g.status = 1;
	}
	log_counters(&g);
out:
	event_loop_destroy(g.loop);
	if (g.queue)
		nfqueue_close(g.queue);
	announcer_destroy(&g.announcer);
	sealed_sender_close(&g.channel);
	return g.status;
}
