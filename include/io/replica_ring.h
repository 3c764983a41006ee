/* replica_ring.h - the bounded queue between the packet path and the
 * replication thread: a push never waits (a full ring drops and counts),
 * the consumer sleeps until there is something to take. */
#ifndef SARA_REPLICA_RING_H
#define SARA_REPLICA_RING_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/replica_codec.h"

/* One decision to write: publish it on the channel (a decision of this
 * dispatcher's), or only keep it in the local store (a peer's, applied
 * here, so that this store holds the whole cluster's view). */
struct replica_entry {
	bool publish;
	struct replica_item item;
};

#define REPLICA_RING_WAKE 128u   /* entries waiting that wake the consumer at once */

/* Producers (the packet threads, the peers' threads) take the lock; the
 * consumer reads and advances its end without it, and takes the lock
 * only to sleep: a busy consumer never pulls the producers' lock to its
 * core. The two ends on their own cache lines. */
struct replica_ring {
	pthread_mutex_t lock;
	pthread_cond_t ready;
	struct replica_entry *entries;
	uint32_t capacity;
	_Atomic uint64_t dropped;                          /* written under lock */
	_Alignas(64) _Atomic uint64_t produced;            /* entries ever pushed; written under lock */
	_Alignas(64) _Atomic uint64_t consumed;            /* entries ever released; the consumer's */
	_Atomic bool closed;
};

bool replica_ring_init(struct replica_ring *r, uint32_t capacity);
void replica_ring_free(struct replica_ring *r);
/* item copied into the ring's next slot. False when full (counted in
 * dropped) or closed. Never blocks beyond the ring's own short lock. */
bool replica_ring_push(struct replica_ring *r, const struct replica_item *item, bool publish);
/* Entries pushed and dropped so far. */
void replica_ring_totals(struct replica_ring *r, uint64_t *pushed, uint64_t *dropped);
/* Entries pushed, not released yet. */
uint32_t replica_ring_waiting(struct replica_ring *r);
/* The oldest entries, read in place (the producer never writes them
 * until they are released): up to max contiguous ones at *first, waiting
 * up to wait_ms for one (fewer than REPLICA_RING_WAKE may wait that long).
 * Returns how many (0 on timeout or once closed and empty). One consumer. */
uint32_t replica_ring_peek(struct replica_ring *r, struct replica_entry **first, uint32_t max, uint32_t wait_ms);
/* The n entries peek gave back to the producer. */
void replica_ring_release(struct replica_ring *r, uint32_t n);
/* Wakes the consumer for good. */
void replica_ring_close(struct replica_ring *r);

#endif
