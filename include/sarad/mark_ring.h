/* mark_ring.h - the connmark writes the engine's hooks ask for (mark 0 to
 * clear an ended flow, a server's mark for a moved one), queued in arrival
 * order until the loop's tick writes them outside the engine lock. */
#ifndef SARA_SARAD_MARK_RING_H
#define SARA_SARAD_MARK_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "dpi/flow_key.h"

struct mark_update {
	struct flow_key key;
	uint32_t mark;   /* 0: clear */
};

/* A fixed-capacity FIFO. Not thread-safe: its owner (the dispatcher) holds
 * the engine lock around every call. */
struct mark_ring {
	struct mark_update *slots;
	uint32_t capacity, head, count;
	uint64_t refused;          /* pushes refused because the ring was full */
};

/* False when out of memory (capacity 0 is refused too). */
bool mark_ring_init(struct mark_ring *ring, uint32_t capacity);
void mark_ring_free(struct mark_ring *ring);
/* Queues one write; false (and counted in refused) when the ring is full,
 * so that the caller writes it at once instead of losing it. */
bool mark_ring_push(struct mark_ring *ring, const struct flow_key *key, uint32_t mark);
/* Moves up to max of the oldest writes to out, oldest first; returns how many. */
uint32_t mark_ring_pop(struct mark_ring *ring, struct mark_update *out, uint32_t max);

#endif
