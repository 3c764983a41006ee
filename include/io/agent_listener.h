/* agent_listener.h - sarad's check of node-agent reports: a sealed listener
 * (sealed_listener.h) that decodes heartbeats and load reports, checks that
 * their sender is the server they name, and hands them to its owner's sinks
 * (which feed server health). */
#ifndef SARA_AGENT_LISTENER_H
#define SARA_AGENT_LISTENER_H

#include <stdint.h>

#include "engine/agent_msg.h"
#include "engine/config.h"
#include "io/sealed_listener.h"

/* Agents whose clock differs from ours by more than this are stale. */
#define AGENT_MAX_SKEW_MS 5000

/* Where checked reports go; server is the index in cfg->servers. */
struct agent_listener_sink {
	void (*heartbeat)(void *ctx, unsigned server, const struct agent_heartbeat *hb);
	void (*load)(void *ctx, unsigned server, const struct agent_load *load);
	void *ctx;
};

/* cfg (the servers) must outlive the listener; now_ms times the
 * rate-limited reject log. NULL when out of memory. Its counters:
 * COUNTER_SCOPE_AGENTS (received, heartbeats, loads, rejected) and the
 * rejects by reason (COUNTER_SCOPE_AGENT_REJECT: wire_forged,
 * agent_unknown_host...). */
struct sealed_listener *agent_listener_create(const struct sara_config *cfg, uint64_t (*now_ms)(void),
					      const struct agent_listener_sink *sink);
/* The servers an agent listener checks senders against. */
unsigned agent_listener_server_count(const struct sealed_listener *l);
const char *agent_listener_server_id(const struct sealed_listener *l, unsigned server);

#endif
