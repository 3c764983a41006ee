/* health_feed.h - agent reports -> server_health -> the engine's selector:
 * heartbeats and load reports feed sarad's server_health, whose events
 * fail, drain and bring back servers in the engine (a failed server's
 * sessions move, their connmarks follow), and whose slow-start factors
 * the dispatcher hands to selection. Loop thread only. */
#ifndef SARA_SARAD_HEALTH_FEED_H
#define SARA_SARAD_HEALTH_FEED_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/agent_msg.h"
#include "engine/server_health.h"

struct dispatcher;
struct health_feed;

/* A server_health for d's configuration (every server UNKNOWN); NULL when
 * out of memory. Its events change d's engine under d's engine lock. */
struct health_feed *health_feed_create(struct dispatcher *d, uint64_t now_ms);
void health_feed_destroy(struct health_feed *f);

/* now_wall_ms turns a drain's planned time (wall seconds) into monotonic time. */
void health_feed_heartbeat(struct health_feed *f, unsigned server, const struct agent_heartbeat *hb,
			   uint64_t now_ms, uint64_t now_wall_ms);
void health_feed_load(struct health_feed *f, unsigned server, const struct agent_load *load, uint64_t now_ms);
void health_feed_tick(struct health_feed *f, uint64_t now_ms);
/* The running server table changed: fresh slots start unheard. */
void health_feed_set_servers(struct health_feed *f, unsigned server_count, const bool fresh[SARA_MAX_SERVERS],
			     uint64_t now_ms);

/* False for an index out of range. */
bool health_feed_info(const struct health_feed *f, unsigned server, uint64_t now_ms,
		      struct server_health_info *out);
/* For the control socket's status and the counters log. */
const struct server_health *health_feed_health(const struct health_feed *f);

#endif
