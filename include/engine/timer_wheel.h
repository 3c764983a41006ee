/* timer_wheel.h - a single-level hashed timer wheel over preallocated
 * entries named by index, for flow and session expiry. Entries beyond one
 * revolution stay in their slot until their tick comes round. */
#ifndef SARA_TIMER_WHEEL_H
#define SARA_TIMER_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct timer_wheel;

/* capacity entries (ids 0..capacity-1), slot_count slots (rounded up to a
 * power of two), tick_ms granularity; start_ms is the current time. */
struct timer_wheel *timer_wheel_create(uint32_t capacity, uint32_t slot_count, uint32_t tick_ms,
				       uint64_t start_ms);
void timer_wheel_destroy(struct timer_wheel *wheel);
/* (Re)schedules id to fire at expire_ms (rounded up to the next tick; a
 * time already past fires on the next advance). */
void timer_wheel_schedule(struct timer_wheel *wheel, uint32_t id, uint64_t expire_ms);
void timer_wheel_cancel(struct timer_wheel *wheel, uint32_t id);
bool timer_wheel_is_scheduled(const struct timer_wheel *wheel, uint32_t id);
/* Fires every entry due at or before now_ms, in tick order: each is
 * unscheduled, then expired(ctx, id) is called; the callback may schedule
 * it again (or others). Returns the number fired. */
size_t timer_wheel_advance(struct timer_wheel *wheel, uint64_t now_ms,
			   void (*expired)(void *ctx, uint32_t id), void *ctx);
size_t timer_wheel_memory(const struct timer_wheel *wheel); /* bytes */

#endif
