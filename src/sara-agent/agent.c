/* agent.c - the node agent's run on its event loop (agent.h). */
#include "sara-agent/agent.h"

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
#include "io/service_notify.h"
#include "io/version.h"
#include "io/sealed_channel.h"
#include "sara-agent/agent_metrics.h"
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
	uint64_t started_ms;
	/* The last round, and the counts since start, for the metrics. */
	uint64_t reports, probe_failures;
	bool app_up, have_load;
	double components[AGENT_LOAD_COMPONENTS];
	struct metrics_http *metrics;  /* NULL without --metrics */
	struct agent_snapshot snapshot;
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
	a->reports++;
	a->probe_failures += !app_up;
	a->app_up = app_up;
	a->have_load = true;
	memcpy(a->components, components, sizeof(a->components));
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

/* SIGHUP: the file and key read again; the channel opened again, to every
 * dispatcher as at start, when its destinations or key changed (same
 * sender id, a fresh sequence). */
static void reload(struct agent *a)
{
	struct agent_reload *next = malloc(sizeof(*next));
	struct sealed_sender channel = { .fd = -1 };
	char err[512], where[ENDPOINT_STRLEN];
	uint32_t sender = agent_sender_id(a->cfg.servers[a->server].id);
	struct log_event e;
	if (!next) {
		log_reload_refused_event("out of memory");
		return;
	}
	if (!a->set->config_path ||
	    !agent_reload_read(a->set->config_path, a->cfg.servers[a->server].id, &a->cfg, &a->key, next, err,
			       sizeof(err))) {
		log_reload_refused_event(a->set->config_path ? err : "no configuration file to read");
		free(next);
		return;
	}
	if (next->channel_changed &&
	    !sealed_sender_open_dispatchers(&channel, &next->cfg, &next->cfg.agents.listen, "agents.listen", "report to",
					    &next->key, sender, err, sizeof(err))) {
		log_reload_refused_event(err);
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
	log_event_begin(&e, "reload");
	log_event_str(&e, "result", "applied");
	log_event_str(&e, "config", a->set->config_path);
	log_event_str(&e, "server", a->cfg.servers[a->server].id);
	log_event_u64(&e, "sender", sender);
	log_event_str(&e, "report_to", endpoint_format(&a->channel.to[0], where, sizeof(where)));
	if (a->channel.to_count > 1)
		log_event_u64(&e, "dispatchers", a->channel.to_count);
	log_event_u64(&e, "interval_ms", a->cfg.agents.interval_ms);
	log_event_bool(&e, "channel_reopened", next->channel_changed);
	log_event_emit(&e, LOG_NOTICE);
	free(next);
}

/* A snapshot for the metrics endpoint, rendered in its own thread. */
static void on_metrics(void *ctx)
{
	struct agent *a = ctx;
	struct agent_snapshot *s = &a->snapshot;
	memset(s, 0, sizeof(*s));
	snprintf(s->server, sizeof(s->server), "%s", a->cfg.servers[a->server].id);
	s->uptime_ms = clock_ms(CLOCK_MONOTONIC) - a->started_ms;
	s->reports = a->reports;
	s->sent = a->channel.sent;
	s->send_errors = a->channel.send_errors;
	s->probing = a->probe.kind != PROBE_NONE;
	s->probe_up = a->app_up;
	s->probe_failures = a->probe_failures;
	s->draining = a->reporter.draining;
	s->have_load = a->have_load;
	s->counted = a->set->counted;
	memcpy(s->load, a->components, sizeof(s->load));
	metrics_http_publish(a->metrics, s);
}

/* --metrics: after the signals are blocked (the server's thread inherits
 * the mask). */
static bool start_metrics(struct agent *a, char *err, size_t err_size)
{
	if (!a->set->metrics.addr.family || a->set->once)
		return true;
	return metrics_http_start_publishing(&a->metrics, a->loop, "--metrics", &a->set->metrics, "sara_agent",
					     sizeof(a->snapshot), agent_metrics_render, on_metrics, a, err, err_size);
}

/* A drain or its cancellation goes out at once, not at the next tick. */
static void on_signal(void *ctx, int signo)
{
	struct agent *a = ctx;
	struct log_event e;
	switch (signo) {
	case SIGUSR1:
		a->reporter.draining = true;
		a->reporter.drain_at_s = wall_s() + a->set->drain_in_s;
		log_event_begin(&e, "draining");
		log_event_u64(&e, "planned_failure_at", a->reporter.drain_at_s);
		log_event_u64(&e, "in_s", a->set->drain_in_s);
		log_event_emit(&e, LOG_NOTICE);
		report_and_rearm(a);
		break;
	case SIGUSR2:
		if (a->reporter.draining) {
			log_event_begin(&e, "drain_cancelled");
			log_event_str(&e, "msg", "up again");
			log_event_emit(&e, LOG_NOTICE);
		}
		a->reporter.draining = false;
		report_and_rearm(a);
		break;
	case SIGHUP:
		service_notify_reloading();
		reload(a);
		service_notify_ready(NULL);   /* a refused file leaves the old one serving */
		break;
	default:
		log_stopping_event(signo);
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
	if (!sealed_sender_open_dispatchers(&a->channel, &a->cfg, &a->cfg.agents.listen, "agents.listen",
					    "report to", &a->key, agent_sender_id(a->cfg.servers[a->server].id), err,
					    err_size))
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
	return s->once || (event_loop_add_signals(a->loop, signals, sizeof(signals) / sizeof(signals[0]), on_signal,
						  a, err, err_size) == 0 &&
			   start_metrics(a, err, err_size) && service_watchdog_attach(a->loop, err, err_size) == 0);
}

static int serve(struct agent *a)
{
	const struct agent_settings *s = a->set;
	char where[ENDPOINT_STRLEN], err[256], status[160];
	struct log_event e;
	int rc = 0;
	if (s->once) {
		if (event_loop_run(a->loop, err, sizeof(err)) < 0)
			log_error_event("loop_failed", err);
		return a->last_sent ? 0 : 1;
	}
	log_event_begin(&e, "start");
	log_event_str(&e, "prog", "sara-agent");
	log_event_str(&e, "version", sara_version());
	log_event_str(&e, "server", a->cfg.servers[a->server].id);
	log_event_u64(&e, "sender", agent_sender_id(a->cfg.servers[a->server].id));
	log_event_str(&e, "report_to", endpoint_format(&a->cfg.agents.listen, where, sizeof(where)));
	log_event_u64(&e, "interval_ms", a->cfg.agents.interval_ms);
	log_event_emit(&e, LOG_INFO);
	snprintf(status, sizeof(status), "server %s reporting to %s", a->cfg.servers[a->server].id, where);
	service_notify_ready(status);
	if (a->metrics) {
		log_event_begin(&e, "metrics");
		log_event_str(&e, "listen", endpoint_format(&s->metrics, where, sizeof(where)));
		log_event_emit(&e, LOG_INFO);
	}
	if (event_loop_run(a->loop, err, sizeof(err)) < 0) {
		log_error_event("loop_failed", err);
		rc = 1;
	}
	service_notify_stopping();
	log_event_begin(&e, "stop");
	log_event_u64(&e, "status", (uint64_t)rc);
	log_event_u64(&e, "sent", a->channel.sent);
	log_event_u64(&e, "send_errors", a->channel.send_errors);
	log_event_emit(&e, rc ? LOG_ERR : LOG_INFO);
	return rc;
}

int agent_run(const struct agent_settings *settings)
{
	static struct agent a;  /* large (a configuration, a metrics snapshot): not on the stack */
	a = (struct agent){ .set = settings, .timer = -1, .started_ms = clock_ms(CLOCK_MONOTONIC) };
	bool daemon = !settings->foreground && !settings->once;
	int status = 1, ready_fd = daemon ? daemonize("sara-agent") : -1;
	char err[256];

	a.channel.fd = -1;
	if (!start(&a, err, sizeof(err))) {
		log_error_event("start_failed", err);
		goto out;
	}
	if (daemon) {
		log_open("sara-agent", false, true);
		daemon_ready(ready_fd);
	}
	status = serve(&a);
out:
	metrics_http_stop(a.metrics);
	event_loop_destroy(a.loop);
	sealed_sender_close(&a.channel);
	return status;
}
