/* announce_listener.h - sarad's check of gateway announcements: a sealed
 * listener (sealed_listener.h) that decodes each announcement, checks that
 * it only names the cluster's own signalling, and hands it to its owner's
 * sink. */
#ifndef SARA_ANNOUNCE_LISTENER_H
#define SARA_ANNOUNCE_LISTENER_H

#include <stdint.h>

#include "engine/announce_codec.h"
#include "engine/config.h"
#include "io/sealed_listener.h"

/* Senders whose clock differs from ours by more than this are stale. */
#define ANNOUNCE_MAX_SKEW_MS 5000

/* Where checked announcements go. */
typedef void (*announce_sink_fn)(void *ctx, const struct announcement *ann);

/* cfg (the cluster's VIPs and ports) must outlive the listener; now_ms
 * times the rate-limited reject log. NULL when out of memory. Its counters:
 * COUNTER_SCOPE_ANNOUNCE (received, accepted, rejected) and the rejects by
 * reason (COUNTER_SCOPE_ANNOUNCE_REJECT: wire_forged, announce_not_vip...). */
struct sealed_listener *announce_listener_create(const struct sara_config *cfg, uint64_t (*now_ms)(void),
						 announce_sink_fn sink, void *sink_ctx);
/* Who sent each accepted announcement (the gateway's sender id and the
 * address it sent from): sarad sends its admission state back there. l is
 * an announcement listener. */
typedef void (*announce_sender_fn)(void *ctx, uint32_t sender, const struct endpoint *from);
void announce_listener_on_sender(struct sealed_listener *l, announce_sender_fn fn, void *ctx);

#endif
