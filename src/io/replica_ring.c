/* replica_ring.c - the replication thread's bounded queue (replica_ring.h). */
#include "io/replica_ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool replica_ring_init(struct replica_ring *r, uint32_t capacity)
{
	pthread_condattr_t attr;
	memset(r, 0, sizeof(*r));
	r->entries = malloc((size_t)capacity * sizeof(*r->entries));
	if (!r->entries)
		return false;
	/* touched now, not page by page on the packet path */
	memset(r->entries, 0, (size_t)capacity * sizeof(*r->entries));
	r->capacity = capacity;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&r->ready, &attr);
	pthread_condattr_destroy(&attr);
	return true;
}

void replica_ring_free(struct replica_ring *r)
{
	if (!r->entries)
		return;
	pthread_cond_destroy(&r->ready);
	pthread_mutex_destroy(&r->lock);
	free(r->entries);
	r->entries = NULL;
}

bool replica_ring_push(struct replica_ring *r, const struct replica_item *item, bool publish)
{
	bool ok = false, wake;
	pthread_mutex_lock(&r->lock);
	if (!r->closed && r->count < r->capacity) {
		struct replica_entry *slot = &r->entries[(r->head + r->count) % r->capacity];
		slot->publish = publish;
		/* only the bytes in use: the slots are cold, each line written
		 * costs a miss */
		memcpy(&slot->item, item, replica_item_size(item));
		r->count++;
		r->pushed++;
		ok = true;
	} else {
		r->dropped++;
	}
	/* The consumer looks every few milliseconds anyway: woken only when
	 * a batch is waiting, the producer rarely pays for a wake-up. */
	wake = ok && r->count == REPLICA_RING_WAKE;
	pthread_mutex_unlock(&r->lock);
	if (wake)
		pthread_cond_signal(&r->ready);
	return ok;
}

uint32_t replica_ring_peek(struct replica_ring *r, struct replica_entry **first, uint32_t max, uint32_t wait_ms)
{
	struct timespec until;
	uint32_t n;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&r->lock);
	while (r->count == 0 && !r->closed)
		if (pthread_cond_timedwait(&r->ready, &r->lock, &until) == ETIMEDOUT)
			break;
	/* contiguous: up to the end of the array */
	n = r->count < max ? r->count : max;
	if (n > r->capacity - r->head)
		n = r->capacity - r->head;
	*first = &r->entries[r->head];
	pthread_mutex_unlock(&r->lock);
	return n;
}

void replica_ring_release(struct replica_ring *r, uint32_t n)
{
	pthread_mutex_lock(&r->lock);
	r->head = (r->head + n) % r->capacity;
	r->count -= n;
	pthread_mutex_unlock(&r->lock);
}

void replica_ring_totals(struct replica_ring *r, uint64_t *pushed, uint64_t *dropped)
{
	pthread_mutex_lock(&r->lock);
	*pushed = r->pushed;
	*dropped = r->dropped;
	pthread_mutex_unlock(&r->lock);
}

void replica_ring_close(struct replica_ring *r)
{
	pthread_mutex_lock(&r->lock);
	r->closed = true;
	pthread_mutex_unlock(&r->lock);
	pthread_cond_broadcast(&r->ready);
}
