/* announce_listener.h - sarad's check of gateway announcements: takes the
 * sealed messages its receiver accepted, decodes each announcement, checks
 * that it only names the cluster's own signalling, and hands it to its
 * owner's sink. Every rejected datagram (the receiver's rejects too) is
 * counted by reason. No socket, no thread, no lock: the owner's loop
 * thread makes every call. */
#ifndef SARA_ANNOUNCE_LISTENER_H
#define SARA_ANNOUNCE_LISTENER_H

#include <stddef.h>
#include <stdint.h>

#include "engine/announce_codec.h"
#include "engine/config.h"
#include "engine/counters.h"
#include "io/sealed_channel.h"

/* Senders whose clock differs from ours by more than this are stale. */
#define ANNOUNCE_MAX_SKEW_MS 5000

struct announce_listener_stats {
	uint64_t received;       /* datagrams read */
	uint64_t accepted;       /* announcements given to the sink */
	uint64_t rejected;       /* sum of the reject counters */
};

/* Where checked announcements go. */
typedef void (*announce_sink_fn)(void *ctx, const struct announcement *ann);

struct announce_listener;

/* cfg (the cluster's VIPs and ports) must outlive the listener; now_ms
 * times the rate-limited reject log. NULL when out of memory. */
struct announce_listener *announce_listener_create(const struct sara_config *cfg, uint64_t (*now_ms)(void),
						   announce_sink_fn sink, void *sink_ctx);
void announce_listener_destroy(struct announce_listener *l);
/* Who sent each accepted announcement (the gateway's sender id and the
 * address it sent from): sarad sends its admission state back there. */
typedef void (*announce_sender_fn)(void *ctx, uint32_t sender, const struct endpoint *from);
void announce_listener_on_sender(struct announce_listener *l, announce_sender_fn fn, void *ctx);
/* The handler to drain the announcements' sealed_receiver with. */
struct sealed_receiver_handler announce_listener_handler(struct announce_listener *l);

void announce_listener_get_stats(const struct announce_listener *l, struct announce_listener_stats *out);
/* The stats as counters (COUNTER_SCOPE_ANNOUNCE) and the rejects by reason
 * (COUNTER_SCOPE_ANNOUNCE_REJECT: wire_forged, announce_not_vip...). */
void announce_listener_get_counters(const struct announce_listener *l, struct counter_set *out);

#endif
