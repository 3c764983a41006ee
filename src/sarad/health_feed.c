/* health_feed.c - agent reports through server_health into the engine (health_feed.h). */
#include "sarad/health_feed.h"

#include <stdlib.h>

#include "io/log.h"
#include "sarad/dispatcher.h"
#include "sarad/journal.h"

struct health_feed {
	struct dispatcher *d;
	struct server_health *health;
};

static void server_failed(struct dispatcher *d, const struct server_event *ev, const char *id)
{
	struct log_event e;
	uint32_t moved = dispatcher_server_failed(d, ev->server);
	daemon_count(d->counters, COUNTER_SERVER_FAILED_EVENTS, 1);
	log_event_begin(&e, "server_failed");
	log_event_str(&e, "server", id);
	log_event_str(&e, "cause", server_cause_name(ev->cause));
	log_event_u64(&e, "sessions_moved", moved);
	log_event_str(&e, "msg", "no new sessions; its sessions moved to the others");
	log_event_emit(&e, LOG_WARNING);
}

static void server_draining(struct dispatcher *d, const struct server_event *ev, const char *id, uint64_t now)
{
	struct log_event e;
	pthread_mutex_lock(&d->engine_lock);
	engine_set_server_available(d->engine, ev->server, false);
	pthread_mutex_unlock(&d->engine_lock);
	daemon_count(d->counters, COUNTER_SERVER_DRAINING_EVENTS, 1);
	log_event_begin(&e, "server_draining");
	log_event_str(&e, "server", id);
	log_event_u64(&e, "planned_failure_in_ms", ev->planned_ms > now ? ev->planned_ms - now : 0);
	log_event_str(&e, "msg", "no new sessions until the planned failure");
	log_event_emit(&e, LOG_NOTICE);
}

static void server_recovered(struct dispatcher *d, const struct server_event *ev, const char *id)
{
	struct log_event e;
	daemon_count(d->counters, COUNTER_SERVER_RECOVERED_EVENTS, 1);
	log_event_begin(&e, "server_recovered");
	log_event_str(&e, "server", id);
	if (dispatcher_is_drained(d, ev->server)) {
		log_event_bool(&e, "drained_by_operator", true);
		log_event_str(&e, "msg", "no new sessions until undrained");
		log_event_emit(&e, LOG_NOTICE);
		return;
	}
	/* The factor is set here, not at the next feed: until then the server
	 * would take its full share of new calls. */
	pthread_mutex_lock(&d->engine_lock);
	engine_set_server_weight_factor(d->engine, ev->server, ev->weight_factor);
	engine_set_server_available(d->engine, ev->server, true);
	pthread_mutex_unlock(&d->engine_lock);
	log_event_u64(&e, "slow_start_s", d->cfg->selection.slow_start_s);
	log_event_str(&e, "msg", "available again");
	log_event_emit(&e, LOG_NOTICE);
}

static void server_load(struct dispatcher *d, const struct server_event *ev, const char *id, uint64_t now)
{
	struct log_event e;
	pthread_mutex_lock(&d->engine_lock);
	engine_report_server_load(d->engine, ev->server, ev->load);
	pthread_mutex_unlock(&d->engine_lock);
	log_event_begin(&e, "server_load");
	log_event_str(&e, "server", id);
	log_event_real(&e, "load", ev->load, 3);
	log_event_real(&e, "cpu", ev->components[AGENT_LOAD_CPU], 3);
	log_event_real(&e, "memory", ev->components[AGENT_LOAD_MEMORY], 3);
	log_event_real(&e, "network", ev->components[AGENT_LOAD_NETWORK], 3);
	log_event_real(&e, "io", ev->components[AGENT_LOAD_IO], 3);
	log_event_real(&e, "backlog", ev->components[AGENT_LOAD_BACKLOG], 3);
	log_event_limited(&d->logs->load, now, LOG_DEBUG, &e);
}

/* server_health's events, from inside its calls (no engine lock held):
 * failed and draining servers get no new sessions, and a failed server's
 * sessions move to the others (their connmarks follow through the
 * flow_moved hook); a recovered one is available again unless the operator
 * drains it, with its slow start fed by the tick. Load reports feed the
 * shell forecast. */
static void on_server_event(void *ctx, const struct server_event *ev)
{
	struct health_feed *f = ctx;
	struct dispatcher *d = f->d;
	uint64_t now = d->now_ms();
	const char *id;

	if (ev->server >= d->cfg->server_count)
		return;
	id = d->cfg->servers[ev->server].id;
	switch (ev->kind) {
	case SERVER_EVENT_FAILED:
		server_failed(d, ev, id);
		break;
	case SERVER_EVENT_DRAINING:
		server_draining(d, ev, id, now);
		break;
	case SERVER_EVENT_RECOVERED:
		server_recovered(d, ev, id);
		break;
	case SERVER_EVENT_LOAD:
		server_load(d, ev, id, now);
		break;
	}
}

struct health_feed *health_feed_create(struct dispatcher *d, uint64_t now_ms)
{
	struct health_feed *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->d = d;
	f->health = server_health_create(d->cfg, now_ms, on_server_event, f);
	if (!f->health) {
		free(f);
		return NULL;
	}
	return f;
}

void health_feed_destroy(struct health_feed *f)
{
	if (!f)
		return;
	server_health_destroy(f->health);
	free(f);
}

void health_feed_heartbeat(struct health_feed *f, unsigned server, const struct agent_heartbeat *hb,
			   uint64_t now_ms, uint64_t now_wall_ms)
{
	server_health_heartbeat(f->health, server, hb, now_ms, now_wall_ms);
}

void health_feed_load(struct health_feed *f, unsigned server, const struct agent_load *load, uint64_t now_ms)
{
	server_health_load_report(f->health, server, load, now_ms);
}

void health_feed_tick(struct health_feed *f, uint64_t now_ms)
{
	server_health_tick(f->health, now_ms);
}

void health_feed_set_servers(struct health_feed *f, unsigned server_count, const bool fresh[SARA_MAX_SERVERS],
			     uint64_t now_ms)
{
	server_health_set_servers(f->health, server_count, fresh, now_ms);
}

bool health_feed_info(const struct health_feed *f, unsigned server, uint64_t now_ms,
		      struct server_health_info *out)
{
	return server_health_get(f->health, server, now_ms, out);
}

const struct server_health *health_feed_health(const struct health_feed *f)
{
	return f ? f->health : NULL;
}
