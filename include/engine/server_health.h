/* server_health.h - sarad's view of each server's health from its agent's
 * heartbeats and load reports (DESIGN.md section 8): a pure state machine
 * (no I/O, clocks passed in) that says when a server failed, drains, or may
 * come back, and how much of its weight it may use while it ramps up. */
#ifndef SARA_SERVER_HEALTH_H
#define SARA_SERVER_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "dpi/enum_list.h"
#include "engine/agent_msg.h"
#include "engine/config.h"
#include "engine/counters.h"

/* Recovery hysteresis. A failed or application-down server comes back only
 * after K consecutive UP heartbeats (consecutive: none missed, i.e. at most
 * 2 intervals apart, and no APP_DOWN/DRAIN in between) AND once its hold-down
 * has passed since it last went down or last reported trouble. The base
 * hold-down is max(SERVER_HEALTH_HOLD_DOWN_MIN_MS, 2 * misses * interval_ms)
 * (6 s with the defaults). A server that fails again within
 * SERVER_HEALTH_STABLE_FACTOR base hold-downs of coming back is flapping: its
 * hold-down doubles, up to SERVER_HEALTH_HOLD_DOWN_MAX_FACTOR times the base,
 * and returns to the base once it stays up that long. A server that
 * alternates UP/APP_DOWN never collects K consecutive UP beats, so it is
 * never re-admitted while it flaps; one that goes silent again while held
 * down restarts its hold-down. A server that failed before it was ever
 * heard from (its agent started after sarad) is new, not flapping: it joins
 * after K beats without a hold-down. */
#define SERVER_HEALTH_RECOVER_BEATS 3          /* K */
#define SERVER_HEALTH_HOLD_DOWN_MIN_MS 5000u
#define SERVER_HEALTH_HOLD_DOWN_MAX_FACTOR 8u
#define SERVER_HEALTH_STABLE_FACTOR 4u
/* Slow start: a server that (re)joins gets weight_factor = elapsed /
 * selection.slow_start_s, never below this floor (so it is not excluded
 * outright) and 1 once the period has passed. */
#define SERVER_HEALTH_SLOW_START_FLOOR 0.05
/* Heartbeat sequence numbers up to this far behind the last one are late
 * duplicates and ignored; further behind means the agent restarted. */
#define SERVER_HEALTH_REORDER_WINDOW 64

/* A server's state, each with its name (server_state_name). */
#define SERVER_STATE_LIST(X)                                                                        \
	X(SERVER_UNKNOWN, "unknown")   /* no heartbeat yet: available until misses*interval pass */ \
	X(SERVER_UP, "up")             /* available */                                              \
	X(SERVER_DRAINING, "draining") /* planned failure ahead: no new sessions, keeps its own */  \
	X(SERVER_APP_DOWN, "app_down") /* node alive, application probe failing: unavailable */     \
	X(SERVER_FAILED, "failed")     /* heartbeats missed, or the planned time reached */

enum server_state { SERVER_STATE_LIST(ENUM_LIST_ID) SERVER_STATE_COUNT };

enum server_cause {
	SERVER_CAUSE_NONE = 0,
	SERVER_CAUSE_MISSED,    /* no heartbeat for more than misses * interval_ms */
	SERVER_CAUSE_APP_DOWN,  /* the agent's probe failed */
	SERVER_CAUSE_PLANNED,   /* a drain's planned failure time was reached */
};

enum server_event_kind {
	/* No new sessions, and its sessions must move (re-pin) elsewhere. */
	SERVER_EVENT_FAILED = 0,
	/* No new sessions; its sessions stay until the planned time (planned_ms). */
	SERVER_EVENT_DRAINING,
	/* Available again; its weight ramps up (server_health_weight_factor). */
	SERVER_EVENT_RECOVERED,
	/* A load report was accepted: load (combined) and components, 0..1. */
	SERVER_EVENT_LOAD,
};

struct server_event {
	enum server_event_kind kind;
	unsigned server;                 /* index in cfg->servers */
	enum server_cause cause;         /* SERVER_EVENT_FAILED */
	uint64_t planned_ms;             /* SERVER_EVENT_DRAINING: monotonic time of the planned failure */
	double load;                     /* SERVER_EVENT_LOAD */
	double weight_factor;            /* SERVER_EVENT_RECOVERED: the slow-start
					  * factor it starts with */
	double components[AGENT_LOAD_COMPONENTS];
	unsigned counted;                /* SERVER_EVENT_LOAD: bit i set = component i
					  * counts; the others read 0 and are ignored */
};

typedef void (*server_health_event_fn)(void *ctx, const struct server_event *event);

/* A snapshot for status output (sara-ctl servers). */
struct server_health_info {
	enum server_state state;
	bool available;                  /* server_health_available() */
	enum server_cause cause;
	bool heard;                      /* any heartbeat since start */
	uint64_t last_beat_age_ms;       /* since the last heartbeat (or since start) */
	uint16_t last_seq;
	uint32_t good_beats;             /* consecutive UP beats while unavailable */
	uint32_t hold_down_ms;           /* current hold-down */
	uint64_t planned_ms;             /* DRAINING: monotonic planned failure time */
	double weight_factor;
	bool has_load;
	double load;
	double components[AGENT_LOAD_COMPONENTS];
	unsigned counted;                /* bit i set = component i counts */
	uint64_t heartbeats, lost, loads;
};

struct server_health;

/* Reads the servers, agents.interval_ms, agents.misses and
 * selection.slow_start_s from cfg (copied). now_ms is monotonic; every
 * server starts UNKNOWN (available, full weight). on_event may be NULL. */
struct server_health *server_health_create(const struct sara_config *cfg, uint64_t now_ms,
					   server_health_event_fn on_event, void *ctx);
void server_health_destroy(struct server_health *h);
/* The running server table changed (server_slots.h): its new count; a slot
 * in fresh[] starts anew (UNKNOWN, not heard from, as at start, from now_ms
 * on), the others keep their state. */
void server_health_set_servers(struct server_health *h, unsigned server_count, const bool fresh[SARA_MAX_SERVERS],
			       uint64_t now_ms);

/* A decoded, authenticated heartbeat of server (see agent_msg_check_sender).
 * now_ms monotonic; now_wall_ms the wall clock, to turn a drain's planned
 * time (wall seconds) into monotonic time. Events fire from inside. */
void server_health_heartbeat(struct server_health *h, unsigned server, const struct agent_heartbeat *hb,
			     uint64_t now_ms, uint64_t now_wall_ms);
/* Every component counts (the bits of server_event.counted). */
#define SERVER_HEALTH_COUNT_ALL ((1u << AGENT_LOAD_COMPONENTS) - 1u)

/* A load report's components, each a fraction 0..1. NaN, negative and
 * above-1 values are clamped (NaN and >1 to 1, so a lying agent looks busy,
 * never idle) and counted (load_clamped, load_nan). Every component counts. */
void server_health_load(struct server_health *h, unsigned server, const double components[AGENT_LOAD_COMPONENTS],
			uint64_t now_ms);
/* The same, only the components whose bit is set in counted count (the
 * agent's --components); the others are ignored whatever their value. A
 * report with no counted component is ignored and counted (load_empty). */
void server_health_load_counted(struct server_health *h, unsigned server,
				const double components[AGENT_LOAD_COMPONENTS], unsigned counted, uint64_t now_ms);
/* Convenience: a decoded load report; AGENT_LOAD_NOT_REPORTED components
 * do not count. */
void server_health_load_report(struct server_health *h, unsigned server, const struct agent_load *load,
			       uint64_t now_ms);
/* Time passes: missed heartbeats and reached drain deadlines become
 * failures. Call at least every interval_ms / 2. */
void server_health_tick(struct server_health *h, uint64_t now_ms);

/* The combined scalar of a load vector, 0..1, from clamped components:
 * SERVER_HEALTH_COMBINE_MAX * (the largest component) + the rest * (their
 * weighted mean: cpu 0.35, backlog 0.25, network 0.15, io 0.15, memory 0.10),
 * so one saturated resource makes the server look nearly full (see
 * server_health.c). Only the counted components (bits) take part; none
 * counted gives 0. server_health_combine counts all five. */
#define SERVER_HEALTH_COMBINE_MAX 0.9
double server_health_combine(const double components[AGENT_LOAD_COMPONENTS]);
double server_health_combine_counted(const double components[AGENT_LOAD_COMPONENTS], unsigned counted);

bool server_health_available(const struct server_health *h, unsigned server);
/* 0 when unavailable; the slow-start ramp (see above) in 0..1 otherwise. */
double server_health_weight_factor(const struct server_health *h, unsigned server, uint64_t now_ms);
enum server_state server_health_state(const struct server_health *h, unsigned server);
bool server_health_get(const struct server_health *h, unsigned server, uint64_t now_ms,
		       struct server_health_info *out);
const char *server_state_name(enum server_state state);   /* "unknown", "up", ... */
const char *server_cause_name(enum server_cause cause);   /* "none", "missed", ... */
/* Server health's event counters (COUNTER_SCOPE_HEALTH). */
const struct counter_set *server_health_counters(const struct server_health *h);

#endif
