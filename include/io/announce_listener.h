/* announce_listener.h - sarad's UDP socket for gateway announcements:
 * authenticate (wire_open), decode, check that the announcement only names
 * the cluster's own signalling, then hand it to the shared engine. Every
 * rejected datagram is counted by reason. */
#ifndef SARA_ANNOUNCE_LISTENER_H
#define SARA_ANNOUNCE_LISTENER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"
#include "engine/engine.h"
#include "engine/wire.h"

/* Senders whose clock differs from ours by more than this are stale. */
#define ANNOUNCE_MAX_SKEW_MS 5000

struct announce_listener_stats {
	uint64_t received;       /* datagrams read */
	uint64_t accepted;       /* announcements given to the engine */
	uint64_t rejected;       /* sum of the reject counters */
};

struct announce_listener;

/* Binds cfg->gateway.listen. engine is used under engine_lock; now_ms is
 * the engine's monotonic clock. */
struct announce_listener *announce_listener_open(const struct sara_config *cfg, const struct wire_key *key,
						 struct engine *engine, pthread_mutex_t *engine_lock,
						 uint64_t (*now_ms)(void), char *err, size_t err_size);
void announce_listener_close(struct announce_listener *l);
/* Waits up to timeout_ms and handles every datagram waiting. Returns the
 * number handled, -1 on a fatal socket error (err filled). */
int announce_listener_poll(struct announce_listener *l, int timeout_ms, char *err, size_t err_size);
void announce_listener_get_stats(struct announce_listener *l, struct announce_listener_stats *out);
/* The stats as counters (COUNTER_SCOPE_ANNOUNCE) and the rejects by reason
 * (COUNTER_SCOPE_ANNOUNCE_REJECT: wire_forged, announce_not_vip...). */
void announce_listener_get_counters(struct announce_listener *l, struct counter_set *out);

#endif
