/* agent_listener.h - sarad's UDP socket for node-agent reports: authenticate
 * (wire_open), decode heartbeats and load reports, check their sender, and
 * feed the server_health state machine it owns. Every rejection is counted. */
#ifndef SARA_AGENT_LISTENER_H
#define SARA_AGENT_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"
#include "engine/server_health.h"
#include "engine/wire.h"

/* Agents whose clock differs from ours by more than this are stale. */
#define AGENT_MAX_SKEW_MS 5000

struct agent_listener_stats {
	uint64_t received;       /* datagrams read */
	uint64_t heartbeats;     /* heartbeats given to server_health */
	uint64_t loads;          /* load reports given to server_health */
	uint64_t rejected;       /* sum of the reject counters */
};

struct agent_listener;

/* Binds cfg->agents.listen (which must be set) and creates the
 * server_health it feeds. now_ms is the daemon's monotonic clock.
 * on_event (may be NULL) is called from inside agent_listener_poll with the
 * listener's health lock held: it may take other locks (the engine's) but
 * must not call back into the listener. */
struct agent_listener *agent_listener_open(const struct sara_config *cfg, const struct wire_key *key,
					   uint64_t (*now_ms)(void), server_health_event_fn on_event,
					   void *event_ctx, char *err, size_t err_size);
void agent_listener_close(struct agent_listener *l);
/* Waits up to timeout_ms (never more than agents.interval_ms / 2), handles
 * every datagram waiting, then lets time pass in server_health (missed
 * heartbeats become failures). Returns the number of datagrams handled, -1
 * on a fatal socket error (err filled). */
int agent_listener_poll(struct agent_listener *l, int timeout_ms, char *err, size_t err_size);

void agent_listener_get_stats(struct agent_listener *l, struct agent_listener_stats *out);
/* The stats as counters (COUNTER_SCOPE_AGENTS) and the rejects by reason
 * (COUNTER_SCOPE_AGENT_REJECT: wire_forged, agent_unknown_host...). */
void agent_listener_get_counters(struct agent_listener *l, struct counter_set *out);
/* server_health's own counters (COUNTER_SCOPE_HEALTH), copied under the
 * health lock. */
void agent_listener_get_health_counters(struct agent_listener *l, struct counter_set *out);
/* A snapshot of one server (index in cfg->servers), taken under the health
 * lock; false for an index out of range. */
bool agent_listener_server_info(struct agent_listener *l, unsigned server, uint64_t now_ms,
				struct server_health_info *out);
unsigned agent_listener_server_count(const struct agent_listener *l);
const char *agent_listener_server_id(const struct agent_listener *l, unsigned server);

#endif
