/* mark_ring.c - the FIFO of pending connmark writes (mark_ring.h). */
#include "sarad/mark_ring.h"

#include <stdlib.h>

bool mark_ring_init(struct mark_ring *ring, uint32_t capacity)
{
	ring->head = 0;
	ring->count = 0;
	ring->refused = 0;
	ring->capacity = capacity;
	ring->slots = capacity ? calloc(capacity, sizeof(*ring->slots)) : NULL;
	return ring->slots != NULL;
}

void mark_ring_free(struct mark_ring *ring)
{
	free(ring->slots);
	ring->slots = NULL;
	ring->capacity = ring->head = ring->count = 0;
}

bool mark_ring_push(struct mark_ring *ring, const struct flow_key *key, uint32_t mark)
{
	struct mark_update *slot;
	if (ring->count >= ring->capacity) {
		ring->refused++;
		return false;
	}
	slot = &ring->slots[(ring->head + ring->count) % ring->capacity];
	slot->key = *key;
	slot->mark = mark;
	ring->count++;
	return true;
}

uint32_t mark_ring_pop(struct mark_ring *ring, struct mark_update *out, uint32_t max)
{
	uint32_t n = 0;
	while (ring->count && n < max) {
		out[n++] = ring->slots[ring->head];
		ring->head = (ring->head + 1) % ring->capacity;
		ring->count--;
	}
	/* An empty ring starts again at its first slot: the slots it touches
	 * are those its longest backlog needed, not all of them in turn (the
	 * soak: sarad's RSS grew by the whole ring, 2.7 MiB, over 27 minutes). */
	if (ring->count == 0)
		ring->head = 0;
	return n;
}
