/* sealed_listener.h - sarad's listeners on a sealed channel (agent reports,
 * gateway announcements) behind one interface: each counts the datagrams
 * its receiver reads, rejects by reason, and hands an accepted one to the
 * check its kind supplies (agent_listener.h, announce_listener.h). No
 * socket, no thread, no lock: the owner's loop thread makes every call. */
#ifndef SARA_SEALED_LISTENER_H
#define SARA_SEALED_LISTENER_H

#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"
#include "engine/counters.h"
#include "io/sealed_channel.h"

struct sealed_listener;

/* A listener kind's check of a datagram the receiver accepted. */
typedef void (*sealed_check_fn)(struct sealed_listener *l, const struct sealed_message *msg);

/* The counters that count a listener's datagrams: read, and rejected. */
struct sealed_listener_tally {
	enum counter_id received, rejected;
};

struct sealed_listener {
	const struct sara_config *cfg;
	uint64_t (*now_ms)(void);
	sealed_check_fn check;
	struct sealed_listener_tally tally;
	struct counter_set counts;      /* received, rejected and the kind's own */
	struct sealed_rejects rejects;  /* by reason */
};

/* A zeroed object of size bytes that starts with its struct sealed_listener,
 * set up. cfg must outlive it; now_ms times the rate-limited reject log
 * whose event reject_event (static storage) names. NULL when out of memory. */
struct sealed_listener *sealed_listener_create(size_t size, const struct sara_config *cfg, uint64_t (*now_ms)(void),
					       sealed_check_fn check, const char *reject_event,
					       struct sealed_listener_tally tally);
void sealed_listener_destroy(struct sealed_listener *l);
/* Counts reason for the datagram from `from` and logs it (rate-limited). */
void sealed_listener_reject(struct sealed_listener *l, enum counter_id reason, const struct endpoint *from);
/* The handler to drain the listener's sealed_receiver with. */
struct sealed_receiver_handler sealed_listener_handler(struct sealed_listener *l);
/* The counts and the rejects by reason, as counters. */
void sealed_listener_get_counters(const struct sealed_listener *l, struct counter_set *out);

#endif
