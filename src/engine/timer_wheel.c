/* timer_wheel.c - a single-level hashed timer wheel over preallocated,
 * index-named entries: O(1) schedule and cancel, bounded advance. */
#include "engine/timer_wheel.h"

#include "engine/big_alloc.h"

#include <stdlib.h>

#define LINK_NONE UINT32_MAX
#define SLOT_COUNT_MAX (UINT32_C(1) << 30)

/* Where an entry lives: a slot index (0..slot_count-1), the due list of an
 * advance in progress (slot_count), or nowhere (LIST_NONE). */
#define LIST_NONE UINT32_MAX

struct timer_entry {
	uint64_t expire_tick;
	uint32_t next, prev; /* intrusive doubly linked list, LINK_NONE ends */
	uint32_t list;
};

struct timer_wheel {
	uint32_t capacity;
	uint32_t slot_count; /* power of two */
	uint32_t slot_mask;
	uint32_t tick_ms;
	/* Every scheduled entry has expire_tick >= current_tick: times already
	 * past are clamped to it, and each advance walks current_tick's slot
	 * again, so they fire on the next advance. */
	uint64_t current_tick;
	struct timer_entry *entries;
	/* heads[0..slot_count-1] are the slots; heads[slot_count] is the due
	 * list of an advance in progress (with due_tail), so a callback can
	 * cancel or reschedule an entry that is due but not yet fired. */
	uint32_t *heads;
	uint32_t due_tail;
};

static uint32_t round_up_pow2(uint32_t n)
{
	uint32_t p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

struct timer_wheel *timer_wheel_create(uint32_t capacity, uint32_t slot_count, uint32_t tick_ms,
				       uint64_t start_ms)
{
	struct timer_wheel *wheel;

	/* capacity must leave LINK_NONE free as a sentinel. */
	if (capacity == 0 || capacity == UINT32_MAX || tick_ms == 0 || slot_count > SLOT_COUNT_MAX)
		return NULL;
	wheel = calloc(1, sizeof(*wheel));
	if (!wheel)
		return NULL;
	wheel->capacity = capacity;
	wheel->slot_count = round_up_pow2(slot_count ? slot_count : 1);
	wheel->slot_mask = wheel->slot_count - 1;
	wheel->tick_ms = tick_ms;
	wheel->current_tick = start_ms / tick_ms;
	wheel->entries = big_calloc(capacity, sizeof(*wheel->entries));
	if (!wheel->entries)
		goto free_wheel;
	wheel->heads = malloc(((size_t)wheel->slot_count + 1) * sizeof(*wheel->heads));
	if (!wheel->heads)
		goto free_entries;
	for (uint32_t i = 0; i <= wheel->slot_count; i++)
		wheel->heads[i] = LINK_NONE;
	wheel->due_tail = LINK_NONE;
	for (uint32_t id = 0; id < capacity; id++) {
		wheel->entries[id].next = LINK_NONE;
		wheel->entries[id].prev = LINK_NONE;
		wheel->entries[id].list = LIST_NONE;
	}
	return wheel;

free_entries:
	big_free(wheel->entries, wheel->capacity, sizeof(*wheel->entries));
free_wheel:
	free(wheel);
	return NULL;
}

void timer_wheel_destroy(struct timer_wheel *wheel)
{
	if (!wheel)
		return;
	free(wheel->heads);
	big_free(wheel->entries, wheel->capacity, sizeof(*wheel->entries));
	free(wheel);
}

static void unlink_entry(struct timer_wheel *wheel, uint32_t id)
{
	struct timer_entry *entry = &wheel->entries[id];

	if (entry->prev != LINK_NONE)
		wheel->entries[entry->prev].next = entry->next;
	else
		wheel->heads[entry->list] = entry->next;
	if (entry->next != LINK_NONE)
		wheel->entries[entry->next].prev = entry->prev;
	else if (entry->list == wheel->slot_count)
		wheel->due_tail = entry->prev;
	entry->next = entry->prev = LINK_NONE;
	entry->list = LIST_NONE;
}

static void push_slot(struct timer_wheel *wheel, uint32_t id)
{
	struct timer_entry *entry = &wheel->entries[id];
	uint32_t slot = (uint32_t)(entry->expire_tick & wheel->slot_mask);

	entry->list = slot;
	entry->prev = LINK_NONE;
	entry->next = wheel->heads[slot];
	if (entry->next != LINK_NONE)
		wheel->entries[entry->next].prev = id;
	wheel->heads[slot] = id;
}

static void append_due(struct timer_wheel *wheel, uint32_t id)
{
	struct timer_entry *entry = &wheel->entries[id];

	entry->list = wheel->slot_count;
	entry->next = LINK_NONE;
	entry->prev = wheel->due_tail;
	if (wheel->due_tail != LINK_NONE)
		wheel->entries[wheel->due_tail].next = id;
	else
		wheel->heads[wheel->slot_count] = id;
	wheel->due_tail = id;
}

void timer_wheel_schedule(struct timer_wheel *wheel, uint32_t id, uint64_t expire_ms)
{
	uint64_t tick;

	if (!wheel || id >= wheel->capacity)
		return;
	if (wheel->entries[id].list != LIST_NONE)
		unlink_entry(wheel, id);
	/* Round up, so an entry never fires before its time. */
	tick = expire_ms / wheel->tick_ms + (expire_ms % wheel->tick_ms != 0);
	if (tick < wheel->current_tick)
		tick = wheel->current_tick;
	wheel->entries[id].expire_tick = tick;
	push_slot(wheel, id);
}

void timer_wheel_cancel(struct timer_wheel *wheel, uint32_t id)
{
	if (!wheel || id >= wheel->capacity || wheel->entries[id].list == LIST_NONE)
		return;
	unlink_entry(wheel, id);
}

bool timer_wheel_is_scheduled(const struct timer_wheel *wheel, uint32_t id)
{
	return wheel && id < wheel->capacity && wheel->entries[id].list != LIST_NONE;
}

/* Stable bottom-up merge sort of the due list by expire tick, only needed
 * when an advance wrapped the wheel and a slot held several due ticks.
 * Sorts through the next links, then rebuilds prev links and the tail. */
static void sort_due(struct timer_wheel *wheel)
{
	struct timer_entry *e = wheel->entries;
	uint32_t list = wheel->heads[wheel->slot_count];
	size_t run = 1;

	for (;;) {
		uint32_t p = list, head = LINK_NONE, tail = LINK_NONE;
		size_t merges = 0;

		while (p != LINK_NONE) {
			uint32_t q = p;
			size_t psize = 0, qsize = run;

			merges++;
			while (psize < run && q != LINK_NONE) {
				psize++;
				q = e[q].next;
			}
			while (psize > 0 || (qsize > 0 && q != LINK_NONE)) {
				uint32_t take;

				if (psize == 0) {
					take = q, q = e[q].next, qsize--;
				} else if (qsize == 0 || q == LINK_NONE ||
					   e[p].expire_tick <= e[q].expire_tick) {
					take = p, p = e[p].next, psize--;
				} else {
					take = q, q = e[q].next, qsize--;
				}
				if (tail != LINK_NONE)
					e[tail].next = take;
				else
					head = take;
				tail = take;
			}
			p = q;
		}
		if (tail != LINK_NONE)
			e[tail].next = LINK_NONE;
		list = head;
		if (merges <= 1)
			break;
		run *= 2;
	}
	wheel->heads[wheel->slot_count] = list;
	wheel->due_tail = LINK_NONE;
	for (uint32_t id = list, prev = LINK_NONE; id != LINK_NONE; prev = id, id = e[id].next) {
		e[id].prev = prev;
		wheel->due_tail = id;
	}
}

size_t timer_wheel_advance(struct timer_wheel *wheel, uint64_t now_ms,
			   void (*expired)(void *ctx, uint32_t id), void *ctx)
{
	uint64_t target, walk, tick;
	uint32_t due_slot;
	size_t fired = 0;

	if (!wheel)
		return 0;
	due_slot = wheel->slot_count;
	target = now_ms / wheel->tick_ms;
	if (target < wheel->current_tick)
		target = wheel->current_tick; /* the clock went back: never rewind */
	/* current_tick's slot is walked again (past times clamped there); a
	 * jump of a revolution or more walks every slot once, no more. */
	walk = target - wheel->current_tick;
	if (walk >= wheel->slot_count)
		walk = wheel->slot_count - 1;
	tick = target - walk;
	for (uint64_t i = 0; i <= walk; i++, tick++) {
		uint32_t slot = (uint32_t)(tick & wheel->slot_mask);
		uint32_t id = wheel->heads[slot];

		while (id != LINK_NONE) {
			uint32_t next = wheel->entries[id].next;

			/* Later revolutions stay where they are. */
			if (wheel->entries[id].expire_tick <= target) {
				unlink_entry(wheel, id);
				append_due(wheel, id);
			}
			id = next;
		}
	}
	if (target - wheel->current_tick >= wheel->slot_count)
		sort_due(wheel);
	/* From here schedules from callbacks clamp to target: an entry put back
	 * at or before now fires on the next advance, not in this loop. */
	wheel->current_tick = target;

	if (!expired) {
		while (wheel->heads[due_slot] != LINK_NONE) {
			unlink_entry(wheel, wheel->heads[due_slot]);
			fired++;
		}
		return fired;
	}
	/* Pop one at a time: the callback may cancel or reschedule any entry,
	 * including ones still waiting on the due list. */
	while (wheel->heads[due_slot] != LINK_NONE) {
		uint32_t id = wheel->heads[due_slot];

		unlink_entry(wheel, id);
		fired++;
		expired(ctx, id);
	}
	return fired;
}

size_t timer_wheel_memory(const struct timer_wheel *wheel)
{
	if (!wheel)
		return 0;
	return sizeof(*wheel) + (size_t)wheel->capacity * sizeof(*wheel->entries) +
	       ((size_t)wheel->slot_count + 1) * sizeof(*wheel->heads);
}
