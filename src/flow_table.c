/* flow_table.c - fixed-capacity flow pool with exact and wildcard indexes
 * (flow_table.h). All memory is reserved at init; lookups are O(1) expected. */
#include "flow_table.h"

#include "big_alloc.h"

#include <stdlib.h>
#include <string.h>

/* The part of a key each wildcard index hashes: one side's endpoint. */
struct endpoint_hash_key {
	uint8_t family, l4;
	uint16_t port;
	uint8_t addr[16];
};

static uint32_t round_up_pow2(uint32_t n)
{
	uint32_t p = 1;
	while (p < n && p < (1u << 31))
		p <<= 1;
	return p;
}

bool flow_table_init(struct flow_table *table, uint32_t capacity, const struct hash_key *key)
{
	uint32_t buckets = round_up_pow2(capacity < 16 ? 16 : capacity);
	memset(table, 0, sizeof(*table));
	table->capacity = capacity;
	table->bucket_mask = buckets - 1;
	table->flows = big_calloc(capacity, sizeof(*table->flows));
	table->exact_buckets = big_calloc(buckets, sizeof(uint32_t));
	table->source_buckets = big_calloc(buckets, sizeof(uint32_t));
	table->dest_buckets = big_calloc(buckets, sizeof(uint32_t));
	if (!table->flows || !table->exact_buckets || !table->source_buckets || !table->dest_buckets)
		goto fail_free_arrays;
	memset(table->exact_buckets, 0xff, sizeof(uint32_t) * buckets);
	memset(table->source_buckets, 0xff, sizeof(uint32_t) * buckets);
	memset(table->dest_buckets, 0xff, sizeof(uint32_t) * buckets);
	table->hash_key = *key;
	for (uint32_t i = 0; i < capacity; i++)
		table->flows[i].index_next = i + 1 < capacity ? i + 1 : FLOW_NIL;
	table->free_head = capacity ? 0 : FLOW_NIL;
	return true;

fail_free_arrays:
	flow_table_fini(table);
	return false;
}

void flow_table_fini(struct flow_table *table)
{
	size_t buckets = (size_t)table->bucket_mask + 1;
	big_free(table->flows, table->capacity, sizeof(*table->flows));
	big_free(table->exact_buckets, buckets, sizeof(uint32_t));
	big_free(table->source_buckets, buckets, sizeof(uint32_t));
	big_free(table->dest_buckets, buckets, sizeof(uint32_t));
	memset(table, 0, sizeof(*table));
}

size_t flow_table_memory(const struct flow_table *table)
{
	return (size_t)table->capacity * sizeof(struct flow) +
	       3 * sizeof(uint32_t) * ((size_t)table->bucket_mask + 1);
}

static uint32_t hash_exact(const struct flow_table *table, const struct flow_key *key)
{
	return (uint32_t)hash_bytes(&table->hash_key, key, sizeof(*key)) & table->bucket_mask;
}

static uint32_t hash_endpoint(const struct flow_table *table, uint8_t family, uint8_t l4,
			      uint16_t port, const uint8_t *addr)
{
	struct endpoint_hash_key ek = { family, l4, port, { 0 } };
	memcpy(ek.addr, addr, 16);
	return (uint32_t)hash_bytes(&table->hash_key, &ek, sizeof(ek)) & table->bucket_mask;
}

static uint32_t *bucket_of(struct flow_table *table, const struct flow *f)
{
	switch (f->match) {
	case MATCH_FROM_SOURCE:
		return &table->source_buckets[hash_endpoint(table, f->key.family, f->key.l4,
							     f->key.sport, f->key.src)];
	case MATCH_TO_DEST_FROM_ADDR:
	case MATCH_TO_DEST:
		return &table->dest_buckets[hash_endpoint(table, f->key.family, f->key.l4,
							   f->key.dport, f->key.dst)];
	default:
		return &table->exact_buckets[hash_exact(table, &f->key)];
	}
}

uint32_t flow_table_alloc(struct flow_table *table)
{
	uint32_t id = table->free_head;
	if (id == FLOW_NIL)
		return FLOW_NIL;
	table->free_head = table->flows[id].index_next;
	memset(&table->flows[id], 0, sizeof(table->flows[id]));
	table->flows[id].index_next = FLOW_NIL;
	table->flows[id].session = FLOW_NIL;
	table->flows[id].session_prev = FLOW_NIL;
	table->flows[id].session_next = FLOW_NIL;
	table->flows[id].hint_session = FLOW_NIL;
	table->flows[id].server = -1;
	table->flows[id].in_use = true;
	table->in_use++;
	return id;
}

void flow_table_insert(struct flow_table *table, uint32_t id)
{
	struct flow *f = &table->flows[id];
	uint32_t *bucket = bucket_of(table, f);
	f->index_next = *bucket;
	*bucket = id;
}

void flow_table_remove(struct flow_table *table, uint32_t id)
{
	struct flow *f = &table->flows[id];
	uint32_t *link = bucket_of(table, f);
	while (*link != FLOW_NIL && *link != id)
		link = &table->flows[*link].index_next;
	if (*link == id)
		*link = f->index_next;
	f->in_use = false;
	f->index_next = table->free_head;
	table->free_head = id;
	table->in_use--;
}

uint32_t flow_table_lookup_exact(const struct flow_table *table, const struct flow_key *key)
{
	return flow_table_lookup_exact_in(table, hash_exact(table, key), key);
}

uint32_t flow_table_lookup_exact_in(const struct flow_table *table, uint32_t bucket,
				    const struct flow_key *key)
{
	uint32_t id = table->exact_buckets[bucket & table->bucket_mask];
	while (id != FLOW_NIL) {
		const struct flow *f = &table->flows[id];
		if (memcmp(&f->key, key, sizeof(*key)) == 0)
			return id;
		id = f->index_next;
	}
	return FLOW_NIL;
}

uint32_t flow_table_exact_bucket(const struct flow_table *table, const struct flow_key *key)
{
	return hash_exact(table, key);
}

void flow_table_prefetch_bucket(const struct flow_table *table, uint32_t bucket)
{
	__builtin_prefetch(&table->exact_buckets[bucket & table->bucket_mask]);
}

void flow_table_prefetch_chain(const struct flow_table *table, uint32_t bucket)
{
	uint32_t id = table->exact_buckets[bucket & table->bucket_mask];
	if (id != FLOW_NIL) {
		/* Both cache lines of the entry (struct flow is two lines). */
		__builtin_prefetch(&table->flows[id]);
		__builtin_prefetch((const char *)&table->flows[id] + 64);
	}
}

uint32_t flow_table_lookup_wildcard(const struct flow_table *table, const struct flow_key *key)
{
	uint32_t id = table->source_buckets[hash_endpoint(table, key->family, key->l4, key->sport,
							  key->src)];
	uint32_t any_source = FLOW_NIL;
	for (; id != FLOW_NIL; id = table->flows[id].index_next) {
		const struct flow *f = &table->flows[id];
		if (f->key.family == key->family && f->key.l4 == key->l4 &&
		    f->key.sport == key->sport && memcmp(f->key.src, key->src, 16) == 0)
			return id;
	}
	id = table->dest_buckets[hash_endpoint(table, key->family, key->l4, key->dport, key->dst)];
	for (; id != FLOW_NIL; id = table->flows[id].index_next) {
		const struct flow *f = &table->flows[id];
		if (f->key.family != key->family || f->key.l4 != key->l4 ||
		    f->key.dport != key->dport || memcmp(f->key.dst, key->dst, 16) != 0)
			continue;
		if (f->match == MATCH_TO_DEST_FROM_ADDR && memcmp(f->key.src, key->src, 16) == 0)
			return id;
		if (f->match == MATCH_TO_DEST && any_source == FLOW_NIL)
			any_source = id;
	}
	return any_source;
}
