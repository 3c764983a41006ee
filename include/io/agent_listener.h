/* agent_listener.h - sarad's check of node-agent reports: takes the sealed
 * messages its receiver accepted, decodes heartbeats and load reports,
 * checks that their sender is the server they name, and hands them to its
 * owner's sinks (which feed server health). Every rejected datagram (the
 * receiver's rejects too) is counted by reason. No socket, no thread, no
 * lock: the owner's loop thread makes every call. */
#ifndef SARA_AGENT_LISTENER_H
#define SARA_AGENT_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/agent_msg.h"
#include "engine/config.h"
#include "engine/counters.h"
#include "io/sealed_channel.h"

/* Agents whose clock differs from ours by more than this are stale. */
#define AGENT_MAX_SKEW_MS 5000

struct agent_listener_stats {
	uint64_t received;       /* datagrams read */
	uint64_t heartbeats;     /* heartbeats given to the sink */
	uint64_t loads;          /* load reports given to the sink */
	uint64_t rejected;       /* sum of the reject counters */
};

/* Where checked reports go; server is the index in cfg->servers. */
struct agent_listener_sink {
	void (*heartbeat)(void *ctx, unsigned server, const struct agent_heartbeat *hb);
	void (*load)(void *ctx, unsigned server, const struct agent_load *load);
	void *ctx;
};

struct agent_listener;

/* cfg (the servers) must outlive the listener; now_ms times the
 * rate-limited reject log. NULL when out of memory. */
struct agent_listener *agent_listener_create(const struct sara_config *cfg, uint64_t (*now_ms)(void),
					     const struct agent_listener_sink *sink);
void agent_listener_destroy(struct agent_listener *l);
/* The handler to drain the agents' sealed_receiver with. */
struct sealed_receiver_handler agent_listener_handler(struct agent_listener *l);

void agent_listener_get_stats(const struct agent_listener *l, struct agent_listener_stats *out);
/* The stats as counters (COUNTER_SCOPE_AGENTS) and the rejects by reason
 * (COUNTER_SCOPE_AGENT_REJECT: wire_forged, agent_unknown_host...). */
void agent_listener_get_counters(const struct agent_listener *l, struct counter_set *out);
unsigned agent_listener_server_count(const struct agent_listener *l);
const char *agent_listener_server_id(const struct agent_listener *l, unsigned server);

#endif
