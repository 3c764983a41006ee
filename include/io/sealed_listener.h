/* sealed_listener.h - what sarad's listeners on a sealed channel (agent
 * reports, gateway announcements) share: the configuration they check
 * against, the count of datagrams read, the rejects by reason, and the
 * receiver handler that counts each datagram before the listener's check. */
#ifndef SARA_SEALED_LISTENER_H
#define SARA_SEALED_LISTENER_H

#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"
#include "engine/counters.h"
#include "io/sealed_channel.h"

struct sealed_listener;

/* A listener's own check of a datagram the receiver accepted. */
typedef void (*sealed_check_fn)(struct sealed_listener *l, const struct sealed_message *msg);

struct sealed_listener {
	const struct sara_config *cfg;
	uint64_t (*now_ms)(void);
	uint64_t received;              /* datagrams read, the rejected ones too */
	struct sealed_rejects rejects;
	sealed_check_fn check;
};

/* A zeroed object of size bytes that starts with its struct sealed_listener,
 * set up; free() frees it. cfg must outlive it, event (static storage) names
 * its reject log lines, now_ms times them. NULL when out of memory. */
void *sealed_listener_create(size_t size, const struct sara_config *cfg, uint64_t (*now_ms)(void),
			     const char *event, sealed_check_fn check);
/* Counts reason for the datagram from `from` and logs it (rate-limited). */
void sealed_listener_reject(struct sealed_listener *l, enum counter_id reason, const struct endpoint *from);
/* The handler to drain the listener's sealed_receiver with. */
struct sealed_receiver_handler sealed_listener_handler(struct sealed_listener *l);

#endif
