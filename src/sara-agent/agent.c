/* agent.c - the node agent's run on its event loop (agent.h). */
#include "sara-agent/agent.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "io/clock.h"
#include "io/daemon.h"
#include "io/event_loop.h"
#include "io/log.h"
#include "io/sealed_channel.h"
#include "sara-agent/load_readers.h"
#include "sara-agent/reload.h"
#include "sara-agent/reporter.h"

struct agent {
	const struct agent_settings *set;
	/* The running configuration, key and server: the settings' at start,
	 * a reload's since. The probe and the readers point into cfg. */
	struct sara_config cfg;
	struct wire_key key;
	unsigned server;
	struct probe probe;
	struct load_readers readers;
	struct sealed_sender channel;
	struct reporter reporter;
	struct event_loop *loop;
	int timer;
	bool last_sent;
};

static uint32_t wall_s(void)
{
	return (uint32_t)(clock_ms(CLOCK_REALTIME) / 1000u);
}

/* One probe, one heartbeat, one load report; print: log them. */
static void report(struct agent *a, bool print)
{
	double components[AGENT_LOAD_COMPONENTS];
	bool app_up = probe_run(&a->probe), sent;
	struct agent_heartbeat hb = reporter_heartbeat(&a->reporter, app_up, wall_s());
	struct agent_load load;
	char line[512];

	sent = reporter_send_heartbeat(&a->reporter, &hb);
	load_read_all(&a->readers, clock_ms(CLOCK_MONOTONIC), components);
	load = reporter_load(&a->reporter, components);
	sent &= reporter_send_load(&a->reporter, &load);
	a->last_sent = sent;
	if (print || a->set->verbose) {
		reporter_format(&a->reporter, &hb, a->probe.kind == PROBE_NONE ? "none" : app_up ? "ok" : "failed",
				components, sent, line, sizeof(line));
		log_msg(LOG_INFO, "%s", line);
	}
}

/* The next report one interval after this one ended. */
static void report_and_rearm(struct agent *a)
{
	report(a, false);
	event_loop_set_interval(a->loop, a->timer, a->cfg.agents.interval_ms);
}

static void on_timer(void *ctx)
{
	struct agent *a = ctx;
	if (a->set->once) {
		report(a, true);
		event_loop_stop(a->loop);
		return;
	}
	report_and_rearm(a);
}

/* SIGHUP: the file and key read again; the channel opened again when its
 * destination or key changed (same sender id, a fresh sequence). */
static void reload(struct agent *a)
{
	struct agent_reload *next = malloc(sizeof(*next));
	struct sealed_sender channel = { .fd = -1 };
	char err[512], where[ENDPOINT_STRLEN];
	uint32_t sender = agent_sender_id(a->cfg.servers[a->server].id);
	if (!next) {
		log_msg(LOG_ERR, "SIGHUP: out of memory; keeping the running configuration");
		return;
	}
	if (!a->set->config_path ||
	    !agent_reload_read(a->set->config_path, a->cfg.servers[a->server].id, &a->cfg, &a->key, next, err,
			       sizeof(err))) {
		log_msg(LOG_ERR, "SIGHUP: %s; keeping the running configuration",
			a->set->config_path ? err : "no configuration file to read");
		free(next);
		return;
	}
	if (next->channel_changed &&
	    !sealed_sender_open(&channel, &next->cfg.agents.listen, &next->key, sender, err, sizeof(err))) {
		log_msg(LOG_ERR, "SIGHUP: %s; keeping the running configuration", err);
		free(next);
		return;
	}
	if (next->channel_changed) {
		sealed_sender_close(&a->channel);
		a->channel = channel;
	}
	a->cfg = next->cfg;
	a->key = next->key;
	a->server = next->server;
	probe_configure(&a->probe, &a->cfg, a->server);
	if (next->interval_changed)
		event_loop_set_interval(a->loop, a->timer, a->cfg.agents.interval_ms);
	log_msg(LOG_NOTICE, "SIGHUP: %s reloaded: server %s (sender %u) reporting to %s every %u ms%s",
		a->set->config_path, a->cfg.servers[a->server].id, sender,
		endpoint_format(&a->cfg.agents.listen, where, sizeof(where)), a->cfg.agents.interval_ms,
		next->channel_changed ? " (channel opened again)" : "");
	free(next);
}

/* A drain or its cancellation goes out at once, not at the next tick. */
static void on_signal(void *ctx, int signo)
{
	struct agent *a = ctx;
	switch (signo) {
	case SIGUSR1:
		a->reporter.draining = true;
		a->reporter.drain_at_s = wall_s() + a->set->drain_in_s;
		log_msg(LOG_INFO, "draining: planned failure at %u (in %u s)", a->reporter.drain_at_s,
			a->set->drain_in_s);
		report_and_rearm(a);
		break;
	case SIGUSR2:
		if (a->reporter.draining)
			log_msg(LOG_INFO, "drain cancelled: up again");
		a->reporter.draining = false;
		report_and_rearm(a);
		break;
	case SIGHUP:
		reload(a);
		break;
	default:
		event_loop_stop(a->loop);
		break;
	}
}

/* The channel, the readers' first samples, the loop with its timer and
 * (unless --once) its signals. */
static bool start(struct agent *a, char *err, size_t err_size)
{
	static const int signals[] = { SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP };
	const struct agent_settings *s = a->set;

	a->cfg = *s->cfg;
	a->key = *s->key;
	a->server = s->server;
	a->probe = s->probe;
	probe_configure(&a->probe, &a->cfg, a->server);
	if (!load_readers_init(&a->readers, s->root, &a->cfg, s->app_load_path)) {
		snprintf(err, err_size, "%s: root directory name too long", s->root);
		return false;
	}
	if (!sealed_sender_open(&a->channel, &a->cfg.agents.listen, &a->key, agent_sender_id(a->cfg.servers[a->server].id),
				err, err_size))
		return false;
	reporter_init(&a->reporter, &a->channel, agent_sender_id(a->cfg.servers[a->server].id), s->counted,
		      s->probe_failures_needed);
	load_readers_prime(&a->readers, clock_ms(CLOCK_MONOTONIC));
	a->loop = event_loop_create(err, err_size);
	if (!a->loop)
		return false;
	a->timer = event_loop_add_timer(a->loop, AGENT_FIRST_REPORT_MS, on_timer, a, err, err_size);
	if (a->timer < 0)
		return false;
	return s->once || event_loop_add_signals(a->loop, signals, sizeof(signals) / sizeof(signals[0]),
						 on_signal, a, err, err_size) == 0;
}

static int serve(struct agent *a)
{
	const struct agent_settings *s = a->set;
	char where[ENDPOINT_STRLEN], err[256];
	if (s->once) {
		if (event_loop_run(a->loop, err, sizeof(err)) < 0)
			log_msg(LOG_ERR, "%s", err);
		return a->last_sent ? 0 : 1;
	}
	log_msg(LOG_INFO, "server %s (sender %u) reporting to %s every %u ms", a->cfg.servers[a->server].id,
		agent_sender_id(a->cfg.servers[a->server].id), endpoint_format(&a->cfg.agents.listen, where, sizeof(where)),
		a->cfg.agents.interval_ms);
	if (event_loop_run(a->loop, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "%s", err);
		return 1;
	}
	log_msg(LOG_INFO, "stopping: sent %llu, send errors %llu", (unsigned long long)a->channel.sent,
		(unsigned long long)a->channel.send_errors);
	return 0;
}

int agent_run(const struct agent_settings *settings)
{
	static struct agent a;  /* large (a configuration): not on the stack */
	a = (struct agent){ .set = settings, .timer = -1 };
	bool daemon = !settings->foreground && !settings->once;
	int status = 1, ready_fd = daemon ? daemonize("sara-agent") : -1;
	char err[256];

	a.channel.fd = -1;
	if (!start(&a, err, sizeof(err))) {
		log_msg(LOG_ERR, "%s", err);
		goto out;
	}
	if (daemon) {
		log_open("sara-agent", false, true);
		daemon_ready(ready_fd);
	}
	status = serve(&a);
out:
	event_loop_destroy(a.loop);
	sealed_sender_close(&a.channel);
	return status;
}
