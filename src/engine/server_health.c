/* server_health.c - per-server health state machine (server_health.h):
 * heartbeats and missed-heartbeat timeouts, drains, recovery hysteresis with
 * a flap-doubling hold-down, slow-start weight ramp, clamped load reports
 * combined into one load (bottleneck-weighted, uncounted components left out). */
#include "engine/server_health.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/counters.h"

/* A heartbeat gap this many sequence numbers ahead is counted as lost
 * heartbeats; a larger jump is an agent restart that picked a new start. */
#define LOST_GAP_MAX 1000

struct server_entry {
	enum server_state state;
	enum server_cause cause;
	bool heard;
	uint16_t last_seq;
	uint64_t last_beat_ms;     /* last accepted heartbeat (or creation time) */
	uint64_t down_ms;          /* hold-down start: went down or last reported trouble */
	uint64_t up_ms;            /* slow-start start: last (re)admission */
	bool ramping;              /* up_ms is meaningful: slow start applies */
	bool was_admitted;         /* came back at least once (flap detection) */
	bool down_unheard;         /* went down before any heartbeat: a new server */
	uint32_t good_beats;
	uint32_t hold_down_ms;
	uint64_t planned_ms;
	uint32_t planned_wall_s;   /* as announced: the same drain repeated is no news */
	bool has_load;
	double load;
	double components[AGENT_LOAD_COMPONENTS];
	unsigned counted;          /* components of the last load report that count */
	uint64_t heartbeats, lost, loads;
};

struct server_health {
	unsigned server_count;
	uint64_t interval_ms;
	uint64_t fail_after_ms;    /* misses * interval_ms */
	uint32_t base_hold_down_ms;
	uint64_t slow_start_ms;
	server_health_event_fn on_event;
	void *ctx;
	struct counter_set counters;
	struct server_entry servers[SARA_MAX_SERVERS];
};

static const double COMBINE_WEIGHTS[AGENT_LOAD_COMPONENTS] = {
	[AGENT_LOAD_CPU] = 0.35,
	[AGENT_LOAD_MEMORY] = 0.10,
	[AGENT_LOAD_NETWORK] = 0.15,
	[AGENT_LOAD_IO] = 0.15,
	[AGENT_LOAD_BACKLOG] = 0.25,
};

struct server_health *server_health_create(const struct sara_config *cfg, uint64_t now_ms,
					   server_health_event_fn on_event, void *ctx)
{
	struct server_health *h = calloc(1, sizeof(*h));
	uint64_t hold;
	if (!h)
		return NULL;
	h->server_count = cfg->server_count < SARA_MAX_SERVERS ? cfg->server_count : SARA_MAX_SERVERS;
	h->interval_ms = cfg->agents.interval_ms ? cfg->agents.interval_ms : 1000;
	h->fail_after_ms = h->interval_ms * (cfg->agents.misses ? cfg->agents.misses : 3);
	/* Bounded so that the doubled hold-down still fits in 32 bits. */
	hold = 2 * h->fail_after_ms;
	if (hold < SERVER_HEALTH_HOLD_DOWN_MIN_MS)
		hold = SERVER_HEALTH_HOLD_DOWN_MIN_MS;
	if (hold > UINT32_MAX / SERVER_HEALTH_HOLD_DOWN_MAX_FACTOR)
		hold = UINT32_MAX / SERVER_HEALTH_HOLD_DOWN_MAX_FACTOR;
	h->base_hold_down_ms = (uint32_t)hold;
	h->slow_start_ms = (uint64_t)cfg->selection.slow_start_s * 1000u;
	h->on_event = on_event;
	h->ctx = ctx;
	for (unsigned i = 0; i < h->server_count; i++) {
		h->servers[i].state = SERVER_UNKNOWN;
		h->servers[i].last_beat_ms = now_ms;
		h->servers[i].hold_down_ms = h->base_hold_down_ms;
	}
	return h;
}

void server_health_destroy(struct server_health *h)
{
	free(h);
}

void server_health_set_servers(struct server_health *h, unsigned server_count, const bool fresh[SARA_MAX_SERVERS],
			       uint64_t now_ms)
{
	if (server_count > SARA_MAX_SERVERS)
		server_count = SARA_MAX_SERVERS;
	for (unsigned i = 0; i < SARA_MAX_SERVERS; i++) {
		if (i < server_count && !fresh[i])
			continue;
		memset(&h->servers[i], 0, sizeof(h->servers[i]));
		h->servers[i].state = SERVER_UNKNOWN;
		h->servers[i].last_beat_ms = now_ms;
		h->servers[i].hold_down_ms = h->base_hold_down_ms;
	}
	h->server_count = server_count;
}

static bool state_available(enum server_state state)
{
	return state == SERVER_UNKNOWN || state == SERVER_UP;
}

static void emit(struct server_health *h, const struct server_event *event)
{
	if (h->on_event)
		h->on_event(h->ctx, event);
}

/* An available or draining server stops taking sessions and loses its own. */
static void go_down(struct server_health *h, unsigned server, enum server_state state, enum server_cause cause,
		    uint64_t now_ms)
{
	struct server_entry *s = &h->servers[server];
	bool was_serving = state_available(s->state) || s->state == SERVER_DRAINING;
	struct server_event event = { .kind = SERVER_EVENT_FAILED, .server = server, .cause = cause };
	if (was_serving) {
		/* Down again soon after coming back: flapping, hold it down longer. */
		if (s->was_admitted && s->ramping &&
		    now_ms - s->up_ms < (uint64_t)SERVER_HEALTH_STABLE_FACTOR * h->base_hold_down_ms) {
			uint64_t doubled = (uint64_t)s->hold_down_ms * 2;
			uint64_t cap = (uint64_t)h->base_hold_down_ms * SERVER_HEALTH_HOLD_DOWN_MAX_FACTOR;
			s->hold_down_ms = (uint32_t)(doubled < cap ? doubled : cap);
		} else {
			s->hold_down_ms = h->base_hold_down_ms;
		}
		counter_add(&h->counters, COUNTER_FAILURES, 1);
	}
	s->state = state;
	s->cause = cause;
	s->good_beats = 0;
	s->down_ms = now_ms;
	s->down_unheard = !s->heard;
	s->ramping = false;
	if (was_serving)
		emit(h, &event);
}

static void come_up(struct server_health *h, unsigned server, uint64_t now_ms)
{
	struct server_entry *s = &h->servers[server];
	struct server_event event = { .kind = SERVER_EVENT_RECOVERED, .server = server };
	s->state = SERVER_UP;
	s->cause = SERVER_CAUSE_NONE;
	s->good_beats = 0;
	s->up_ms = now_ms;
	s->ramping = true;
	s->was_admitted = true;
	counter_add(&h->counters, COUNTER_RECOVERIES, 1);
	event.weight_factor = server_health_weight_factor(h, server, now_ms);
	emit(h, &event);
}

/* Sequence bookkeeping; false when the heartbeat is a late duplicate. */
static bool accept_sequence(struct server_health *h, struct server_entry *s, uint16_t seq)
{
	int16_t ahead;
	if (!s->heard) {
		s->heard = true;
		s->last_seq = seq;
		return true;
	}
	ahead = (int16_t)(uint16_t)(seq - s->last_seq);
	if (ahead <= 0 && ahead > -SERVER_HEALTH_REORDER_WINDOW) {
		counter_add(&h->counters, COUNTER_HEARTBEATS_REORDERED, 1);
		return false;
	}
	if (ahead > 1 && ahead - 1 <= LOST_GAP_MAX) {
		s->lost += (uint64_t)(ahead - 1);
		counter_add(&h->counters, COUNTER_HEARTBEATS_LOST, (uint64_t)(ahead - 1));
	} else if (ahead <= 0 || ahead - 1 > LOST_GAP_MAX) {
		counter_add(&h->counters, COUNTER_AGENT_RESTARTS, 1);
	}
	s->last_seq = seq;
	return true;
}

static void heartbeat_up(struct server_health *h, unsigned server, uint64_t gap_ms, uint64_t now_ms)
{
	struct server_entry *s = &h->servers[server];
	switch (s->state) {
	case SERVER_UNKNOWN:
		/* It was presumed up since start: nothing changes for the selector. */
		s->state = SERVER_UP;
		return;
	case SERVER_UP:
		return;
	case SERVER_DRAINING:
		/* Undrain is an operator's decision, not a flap: no hold-down. */
		come_up(h, server, now_ms);
		return;
	case SERVER_APP_DOWN:
	case SERVER_FAILED:
	case SERVER_STATE_COUNT:
		break;
	}
	/* A missed beat in between restarts the count. */
	s->good_beats = gap_ms <= 2 * h->interval_ms ? s->good_beats + 1 : 1;
	if (s->good_beats < SERVER_HEALTH_RECOVER_BEATS)
		return;
	/* A server never heard from before cannot have flapped: it joins after
	 * K beats without a hold-down (a sarad started before its agents). */
	if (!s->down_unheard && now_ms - s->down_ms < s->hold_down_ms) {
		counter_add(&h->counters, COUNTER_RECOVERIES_HELD, 1);
		return;
	}
	come_up(h, server, now_ms);
}

static void heartbeat_drain(struct server_health *h, unsigned server, uint32_t planned_wall_s, uint64_t now_ms,
			    uint64_t now_wall_ms)
{
	struct server_entry *s = &h->servers[server];
	uint64_t planned_wall_ms = (uint64_t)planned_wall_s * 1000u;
	uint64_t planned_ms = planned_wall_ms > now_wall_ms ? now_ms + (planned_wall_ms - now_wall_ms) : now_ms;
	struct server_event event = { .kind = SERVER_EVENT_DRAINING, .server = server, .planned_ms = planned_ms };
	if (s->state == SERVER_APP_DOWN || s->state == SERVER_FAILED) {
		/* Already without sessions; a drain is trouble, not a recovery. */
		s->good_beats = 0;
		s->down_ms = now_ms;
		s->down_unheard = false;
		return;
	}
	if (planned_ms <= now_ms) {
		go_down(h, server, SERVER_FAILED, SERVER_CAUSE_PLANNED, now_ms);
		return;
	}
	if (s->state == SERVER_DRAINING && s->planned_wall_s == planned_wall_s)
		return;
	if (s->state != SERVER_DRAINING)
		counter_add(&h->counters, COUNTER_DRAINS, 1);
	s->state = SERVER_DRAINING;
	s->cause = SERVER_CAUSE_NONE;
	s->planned_ms = planned_ms;
	s->planned_wall_s = planned_wall_s;
	s->ramping = false;
	emit(h, &event);
}

void server_health_heartbeat(struct server_health *h, unsigned server, const struct agent_heartbeat *hb,
			     uint64_t now_ms, uint64_t now_wall_ms)
{
	struct server_entry *s;
	uint64_t gap_ms;
	if (server >= h->server_count) {
		counter_add(&h->counters, COUNTER_BAD_SERVER, 1);
		return;
	}
	s = &h->servers[server];
	if (!accept_sequence(h, s, hb->seq))
		return;
	counter_add(&h->counters, COUNTER_HEALTH_HEARTBEATS, 1);
	s->heartbeats++;
	gap_ms = now_ms - s->last_beat_ms;
	s->last_beat_ms = now_ms;
	switch (hb->flag) {
	case AGENT_UP:
		heartbeat_up(h, server, gap_ms, now_ms);
		break;
	case AGENT_APP_DOWN:
		if (s->state == SERVER_APP_DOWN || s->state == SERVER_FAILED) {
			/* Still in trouble: the hold-down starts over. */
			s->state = SERVER_APP_DOWN;
			s->cause = SERVER_CAUSE_APP_DOWN;
			s->good_beats = 0;
			s->down_ms = now_ms;
			s->down_unheard = false;
		} else {
			go_down(h, server, SERVER_APP_DOWN, SERVER_CAUSE_APP_DOWN, now_ms);
		}
		break;
	case AGENT_DRAIN:
		heartbeat_drain(h, server, hb->timestamp, now_ms, now_wall_ms);
		break;
	default:
		counter_add(&h->counters, COUNTER_BAD_FLAG, 1);
		break;
	}
}

static double clamp_component(struct server_health *h, double v)
{
	if (isnan(v)) {
		counter_add(&h->counters, COUNTER_LOAD_NAN, 1);
		return 1.0;
	}
	if (v < 0.0) {
		counter_add(&h->counters, COUNTER_LOAD_CLAMPED, 1);
		return 0.0;
	}
	if (v > 1.0) {
		counter_add(&h->counters, COUNTER_LOAD_CLAMPED, 1);
		return 1.0;
	}
	return v;
}

/* Why the maximum, not the mean alone: each component is the utilisation of
 * one resource, and a server is as full as its scarcest resource (the
 * bottleneck bounds its throughput). With the weighted mean alone, CPU at
 * 100% and the rest idle read 0.35, below any sane admission threshold (T1
 * = 0.6), so a server could saturate without SA2C ever noticing. The small
 * share of the weighted mean breaks ties between servers whose bottlenecks
 * are equally busy and makes several busy resources look busier than one. */
double server_health_combine_counted(const double components[AGENT_LOAD_COMPONENTS], unsigned counted)
{
	double sum = 0.0, weights = 0.0, max = 0.0, load;
	for (unsigned i = 0; i < AGENT_LOAD_COMPONENTS; i++) {
		double v = components[i];
		if (!(counted & (1u << i)))
			continue;
		v = isnan(v) || v > 1.0 ? 1.0 : v < 0.0 ? 0.0 : v;
		sum += COMBINE_WEIGHTS[i] * v;
		weights += COMBINE_WEIGHTS[i];
		if (v > max)
			max = v;
	}
	if (weights <= 0.0)
		return 0.0;
	load = SERVER_HEALTH_COMBINE_MAX * max + (1.0 - SERVER_HEALTH_COMBINE_MAX) * (sum / weights);
	return load > 1.0 ? 1.0 : load < 0.0 ? 0.0 : load;
}

double server_health_combine(const double components[AGENT_LOAD_COMPONENTS])
{
	return server_health_combine_counted(components, SERVER_HEALTH_COUNT_ALL);
}

void server_health_load_counted(struct server_health *h, unsigned server,
				const double components[AGENT_LOAD_COMPONENTS], unsigned counted, uint64_t now_ms)
{
	struct server_event event = { .kind = SERVER_EVENT_LOAD, .server = server };
	struct server_entry *s;
	(void)now_ms;
	if (server >= h->server_count) {
		counter_add(&h->counters, COUNTER_BAD_SERVER, 1);
		return;
	}
	counted &= SERVER_HEALTH_COUNT_ALL;
	if (counted == 0) {
		counter_add(&h->counters, COUNTER_LOAD_EMPTY, 1);
		return;
	}
	s = &h->servers[server];
	for (unsigned i = 0; i < AGENT_LOAD_COMPONENTS; i++)
		event.components[i] = counted & (1u << i) ? clamp_component(h, components[i]) : 0.0;
	event.counted = counted;
	event.load = server_health_combine_counted(event.components, counted);
	memcpy(s->components, event.components, sizeof(s->components));
	s->counted = counted;
	s->load = event.load;
	s->has_load = true;
	s->loads++;
	counter_add(&h->counters, COUNTER_HEALTH_LOADS, 1);
	emit(h, &event);
}

void server_health_load(struct server_health *h, unsigned server, const double components[AGENT_LOAD_COMPONENTS],
			uint64_t now_ms)
{
	server_health_load_counted(h, server, components, SERVER_HEALTH_COUNT_ALL, now_ms);
}

void server_health_load_report(struct server_health *h, unsigned server, const struct agent_load *load,
			       uint64_t now_ms)
{
	double components[AGENT_LOAD_COMPONENTS];
	unsigned counted = 0;
	for (unsigned i = 0; i < AGENT_LOAD_COMPONENTS; i++) {
		components[i] = 0.0;
		if (load->fixed[i] == AGENT_LOAD_NOT_REPORTED)
			continue;
		components[i] = agent_load_from_fixed(load->fixed[i]);
		counted |= 1u << i;
	}
	server_health_load_counted(h, server, components, counted, now_ms);
}

void server_health_tick(struct server_health *h, uint64_t now_ms)
{
	for (unsigned i = 0; i < h->server_count; i++) {
		struct server_entry *s = &h->servers[i];
		/* More than n*d without a heartbeat, not n*d exactly: a beat due
		 * at that instant may be a few ms late. */
		bool silent = now_ms > s->last_beat_ms && now_ms - s->last_beat_ms > h->fail_after_ms;
		if (s->state == SERVER_DRAINING && now_ms >= s->planned_ms) {
			go_down(h, i, SERVER_FAILED, SERVER_CAUSE_PLANNED, now_ms);
			continue;
		}
		if (!silent)
			continue;
		if (s->state == SERVER_FAILED) {
			/* Silent again while recovering: trouble again, the hold-down
			 * restarts from when it went quiet. */
			uint64_t quiet_since = s->last_beat_ms + h->fail_after_ms;
			if (quiet_since > s->down_ms) {
				s->down_ms = quiet_since;
				s->good_beats = 0;
				s->down_unheard = false;
			}
			continue;
		}
		if (s->state == SERVER_APP_DOWN) {
			/* Already without sessions: no second event. */
			s->state = SERVER_FAILED;
			s->cause = SERVER_CAUSE_MISSED;
			s->good_beats = 0;
			continue;
		}
		go_down(h, i, SERVER_FAILED, SERVER_CAUSE_MISSED, now_ms);
	}
}

bool server_health_available(const struct server_health *h, unsigned server)
{
	return server < h->server_count && state_available(h->servers[server].state);
}

double server_health_weight_factor(const struct server_health *h, unsigned server, uint64_t now_ms)
{
	const struct server_entry *s;
	double factor;
	if (!server_health_available(h, server))
		return 0.0;
	s = &h->servers[server];
	if (!s->ramping || h->slow_start_ms == 0 || now_ms >= s->up_ms + h->slow_start_ms)
		return 1.0;
	factor = now_ms > s->up_ms ? (double)(now_ms - s->up_ms) / (double)h->slow_start_ms : 0.0;
	return factor < SERVER_HEALTH_SLOW_START_FLOOR ? SERVER_HEALTH_SLOW_START_FLOOR : factor;
}

enum server_state server_health_state(const struct server_health *h, unsigned server)
{
	return server < h->server_count ? h->servers[server].state : SERVER_FAILED;
}

bool server_health_get(const struct server_health *h, unsigned server, uint64_t now_ms,
		       struct server_health_info *out)
{
	const struct server_entry *s;
	memset(out, 0, sizeof(*out));
	if (server >= h->server_count)
		return false;
	s = &h->servers[server];
	out->state = s->state;
	out->available = state_available(s->state);
	out->cause = s->cause;
	out->heard = s->heard;
	out->last_beat_age_ms = now_ms > s->last_beat_ms ? now_ms - s->last_beat_ms : 0;
	out->last_seq = s->last_seq;
	out->good_beats = s->good_beats;
	out->hold_down_ms = s->hold_down_ms;
	out->planned_ms = s->state == SERVER_DRAINING ? s->planned_ms : 0;
	out->weight_factor = server_health_weight_factor(h, server, now_ms);
	out->has_load = s->has_load;
	out->load = s->load;
	memcpy(out->components, s->components, sizeof(out->components));
	out->counted = s->counted;
	out->heartbeats = s->heartbeats;
	out->lost = s->lost;
	out->loads = s->loads;
	return true;
}

const char *server_state_name(enum server_state state)
{
	static const char *const names[SERVER_STATE_COUNT] = { SERVER_STATE_LIST(ENUM_LIST_ENTRY) };
	return (unsigned)state < SERVER_STATE_COUNT ? names[state] : "?";
}

const char *server_cause_name(enum server_cause cause)
{
	switch (cause) {
	case SERVER_CAUSE_NONE: return "none";
	case SERVER_CAUSE_MISSED: return "missed";
	case SERVER_CAUSE_APP_DOWN: return "app_down";
	case SERVER_CAUSE_PLANNED: return "planned";
	}
	return "?";
}

const struct counter_set *server_health_counters(const struct server_health *h)
{
	return &h->counters;
}
