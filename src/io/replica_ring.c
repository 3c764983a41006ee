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
	atomic_init(&r->produced, 0);
	atomic_init(&r->consumed, 0);
	atomic_init(&r->closed, false);
	atomic_init(&r->dropped, 0);
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
	bool ok = false, wake = false;
	pthread_mutex_lock(&r->lock);
	{
		uint64_t produced = atomic_load_explicit(&r->produced, memory_order_relaxed);
		uint64_t waiting = produced - atomic_load_explicit(&r->consumed, memory_order_acquire);
		if (!atomic_load_explicit(&r->closed, memory_order_relaxed) && waiting < r->capacity) {
			struct replica_entry *slot = &r->entries[produced % r->capacity];
			slot->publish = publish;
			/* only the bytes in use: the slots are cold, each line
			 * written costs a miss */
			memcpy(&slot->item, item, replica_item_size(item));
			/* the slot before the count: the consumer reads it after */
			atomic_store_explicit(&r->produced, produced + 1, memory_order_release);
			ok = true;
			/* The consumer looks every few milliseconds anyway: woken
			 * only when a batch is waiting, the producer rarely pays
			 * for a wake-up. */
			wake = waiting + 1 == REPLICA_RING_WAKE;
		} else {
			atomic_store_explicit(&r->dropped, atomic_load_explicit(&r->dropped, memory_order_relaxed) + 1,
					      memory_order_relaxed);
		}
		if (wake)
			pthread_cond_signal(&r->ready);
	}
	pthread_mutex_unlock(&r->lock);
	return ok;
}

uint32_t replica_ring_waiting(struct replica_ring *r)
{
	uint64_t consumed = atomic_load_explicit(&r->consumed, memory_order_acquire);
	return (uint32_t)(atomic_load_explicit(&r->produced, memory_order_acquire) - consumed);
}

uint32_t replica_ring_peek(struct replica_ring *r, struct replica_entry **first, uint32_t max, uint32_t wait_ms)
{
	uint64_t consumed = atomic_load_explicit(&r->consumed, memory_order_relaxed);
	uint32_t n = replica_ring_waiting(r), head;
	if (n == 0 && wait_ms > 0 && !atomic_load(&r->closed)) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += wait_ms / 1000;
		until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		/* produced changes under the lock: no push falls between the
		 * look and the wait */
		pthread_mutex_lock(&r->lock);
		while (replica_ring_waiting(r) == 0 && !atomic_load(&r->closed))
			if (pthread_cond_timedwait(&r->ready, &r->lock, &until) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&r->lock);
		n = replica_ring_waiting(r);
	}
	/* contiguous: up to the end of the array */
	head = (uint32_t)(consumed % r->capacity);
	if (n > max)
		n = max;
	if (n > r->capacity - head)
		n = r->capacity - head;
	*first = &r->entries[head];
	return n;
}

void replica_ring_release(struct replica_ring *r, uint32_t n)
{
	/* the slots read before they are given back */
	atomic_fetch_add_explicit(&r->consumed, n, memory_order_release);
}

void replica_ring_totals(struct replica_ring *r, uint64_t *pushed, uint64_t *dropped)
{
	*pushed = atomic_load_explicit(&r->produced, memory_order_relaxed);
	*dropped = atomic_load_explicit(&r->dropped, memory_order_relaxed);
}

void replica_ring_close(struct replica_ring *r)
{
	pthread_mutex_lock(&r->lock);
	atomic_store(&r->closed, true);
	pthread_mutex_unlock(&r->lock);
	pthread_cond_broadcast(&r->ready);
}
