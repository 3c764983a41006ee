/* live_set.c - open-addressed set of 64-bit keyed fingerprints of flow keys
 * (live_set.h), linear probing at most half full, backward-shift removal. */
#include "engine/live_set.h"

#include "engine/big_alloc.h"

#include <stdlib.h>
#include <string.h>

struct live_set {
	uint64_t *slots;      /* 0: empty */
	uint32_t mask;        /* slots - 1 */
	uint32_t capacity, count;
	bool full;
	struct hash_key key;
};

static uint64_t fingerprint(const struct live_set *set, const struct flow_key *key)
{
	uint64_t f = hash_bytes(&set->key, key, sizeof(*key));
	return f ? f : 1; /* 0 marks an empty slot */
}

struct live_set *live_set_create(uint32_t capacity, const struct hash_key *key)
{
	struct live_set *set = calloc(1, sizeof(*set));
	uint64_t slots = 16;
	if (!set)
		return NULL;
	while (slots < 2ull * capacity)
		slots <<= 1;
	if (slots > (1ull << 32))
		goto fail_free_set;
	set->slots = big_calloc(slots, sizeof(uint64_t));
	if (!set->slots)
		goto fail_free_set;
	set->mask = (uint32_t)(slots - 1);
	set->capacity = capacity;
	set->key = *key;
	return set;

fail_free_set:
	free(set);
	return NULL;
}

void live_set_destroy(struct live_set *set)
{
	if (!set)
		return;
	big_free(set->slots, (size_t)set->mask + 1, sizeof(uint64_t));
	free(set);
}

/* The slot holding f, or the empty slot where it would go: at most half
 * full, so an empty slot ends every probe. */
static uint32_t slot_for(const struct live_set *set, uint64_t f)
{
	uint32_t at = (uint32_t)f & set->mask;
	while (set->slots[at] != 0 && set->slots[at] != f)
		at = (at + 1) & set->mask;
	return at;
}

bool live_set_add(struct live_set *set, const struct flow_key *key)
{
	uint64_t f = fingerprint(set, key);
	uint32_t at = slot_for(set, f);
	if (set->slots[at] == f)
		return true;
	if (set->count >= set->capacity) {
		set->full = true;
		return false;
	}
	set->slots[at] = f;
	set->count++;
	return true;
}

/* Backward-shift deletion: every key after the hole up to the next empty
 * slot whose home slot does not lie cyclically in (hole, its slot] moves
 * into the hole, so no probe ever stops early at a hole. */
bool live_set_remove(struct live_set *set, const struct flow_key *key)
{
	uint64_t f = fingerprint(set, key);
	uint32_t hole = slot_for(set, f), at = hole;
	if (set->slots[hole] != f)
		return false;
	for (;;) {
		uint32_t home;
		at = (at + 1) & set->mask;
		if (set->slots[at] == 0)
			break;
		home = (uint32_t)set->slots[at] & set->mask;
		/* Distances from home: the key may move back only if the hole
		 * is not beyond its home on its probe path. */
		if (((at - home) & set->mask) >= ((at - hole) & set->mask)) {
			set->slots[hole] = set->slots[at];
			hole = at;
		}
	}
	set->slots[hole] = 0;
	set->count--;
	return true;
}

bool live_set_contains(const struct live_set *set, const struct flow_key *key)
{
	uint64_t f = fingerprint(set, key);
	return set->slots[slot_for(set, f)] == f;
}

bool live_set_full(const struct live_set *set)
{
	return set->full;
}

uint32_t live_set_count(const struct live_set *set)
{
	return set->count;
}

size_t live_set_memory(const struct live_set *set)
{
	return ((size_t)set->mask + 1) * sizeof(uint64_t);
}
