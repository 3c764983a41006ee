/* flow_table.c - fixed-capacity flow pool with exact and wildcard indexes
 * (flow_table.h). All memory is reserved at init; lookups are O(1) expected:
 * the exact index reads one bucket line and one entry per hit. */
#include "engine/flow_table.h"

#include "engine/big_alloc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* A bucket is one cache line; a known media packet's fields are all in
 * its flow's first line (flow_table.h). */
_Static_assert(sizeof(struct flow_exact_bucket) == 64, "an exact bucket is one cache line");
_Static_assert(offsetof(struct flow, session_serial) + sizeof(uint64_t) <= 64,
	       "a known media packet's fields fit in the flow's first cache line");
_Static_assert(offsetof(struct flow, packets) + sizeof(uint64_t) <= 128,
	       "a flow's packet count is on its second cache line");

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

/* Exact-index bucket lines for a pool of capacity entries: one per four
 * entries (rounded up to a power of two), so that a full pool of exact
 * entries averages four of a line's FLOW_EXACT_SLOTS and overflow is rare. */
static uint32_t exact_lines_for(uint32_t capacity)
{
	return round_up_pow2(capacity < 16 ? 16 : capacity) / 4;
}

bool flow_table_init(struct flow_table *table, uint32_t capacity, const struct hash_key *key)
{
	uint32_t buckets = round_up_pow2(capacity < 16 ? 16 : capacity);
	uint32_t exact_lines = exact_lines_for(capacity);
	memset(table, 0, sizeof(*table));
	table->capacity = capacity;
	table->bucket_mask = buckets - 1;
	table->exact_mask = exact_lines - 1;
	table->flows = big_calloc(capacity, sizeof(*table->flows));
	table->exact_buckets = big_calloc(exact_lines, sizeof(*table->exact_buckets));
	table->source_buckets = big_calloc(buckets, sizeof(uint32_t));
	table->dest_buckets = big_calloc(buckets, sizeof(uint32_t));
	if (!table->flows || !table->exact_buckets || !table->source_buckets || !table->dest_buckets)
		goto fail_free_arrays;
	/* Every id FLOW_NIL: free slots, empty overflow chains. */
	memset(table->exact_buckets, 0xff, sizeof(*table->exact_buckets) * exact_lines);
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

void flow_table_release_streams(struct flow_table *table, struct tcp_stream_pool *streams)
{
	for (uint32_t i = 0; i < table->capacity; i++)
		if (table->flows[i].in_use)
			tcp_signalling_release(&table->flows[i].tcp, streams);
}

void flow_table_fini(struct flow_table *table)
{
	size_t buckets = (size_t)table->bucket_mask + 1;
	big_free(table->exact_buckets, (size_t)table->exact_mask + 1, sizeof(*table->exact_buckets));
	big_free(table->flows, table->capacity, sizeof(*table->flows));
	big_free(table->source_buckets, buckets, sizeof(uint32_t));
	big_free(table->dest_buckets, buckets, sizeof(uint32_t));
	memset(table, 0, sizeof(*table));
}

size_t flow_table_memory(const struct flow_table *table)
{
	return (size_t)table->capacity * sizeof(struct flow) +
	       sizeof(struct flow_exact_bucket) * ((size_t)table->exact_mask + 1) +
	       2 * sizeof(uint32_t) * ((size_t)table->bucket_mask + 1);
}

/* The exact index's 64-bit hash of a key: its low bits pick the bucket
 * line, its top 16 bits are the entry's tag there. The tag must come from
 * bits the bucket number does not use: entries sharing a line share those
 * bits, so a tag overlapping them would filter nothing (with a 32-bit hash
 * and 2^21 lines, 5 of 16 tag bits did). Never UINT64_MAX, which callers
 * of flow_table_exact_bucket may keep for "none". */
static uint64_t hash_exact(const struct flow_table *table, const struct flow_key *key)
{
	uint64_t hash = hash_bytes(&table->hash_key, key, sizeof(*key));
	return hash != UINT64_MAX ? hash : hash - 1;
}

static struct flow_exact_bucket *exact_bucket_of(const struct flow_table *table, uint64_t hash)
{
	return &table->exact_buckets[hash & table->exact_mask];
}

static uint16_t exact_tag(uint64_t hash)
{
	return (uint16_t)(hash >> 48);
}

static uint32_t hash_endpoint(const struct flow_table *table, uint8_t family, uint8_t l4,
			      uint16_t port, const uint8_t *addr)
{
	struct endpoint_hash_key ek = { family, l4, port, { 0 } };
	memcpy(ek.addr, addr, 16);
	return (uint32_t)hash_bytes(&table->hash_key, &ek, sizeof(ek)) & table->bucket_mask;
}

/* The wildcard index's chain an entry of a wildcard kind hangs on. */
static uint32_t *wildcard_bucket_of(struct flow_table *table, const struct flow *f)
{
	if (f->match == MATCH_FROM_SOURCE)
		return &table->source_buckets[hash_endpoint(table, f->key.family, f->key.l4,
							     f->key.sport, f->key.src)];
	return &table->dest_buckets[hash_endpoint(table, f->key.family, f->key.l4, f->key.dport,
						   f->key.dst)];
}

static bool is_wildcard(const struct flow *f)
{
	return f->match != MATCH_EXACT;
}

/* Unlinks id from the chain starting at *link, if it is there. */
static void chain_unlink(struct flow_table *table, uint32_t *link, uint32_t id)
{
	while (*link != FLOW_NIL && *link != id)
		link = &table->flows[*link].index_next;
	if (*link == id)
		*link = table->flows[id].index_next;
}

static void exact_insert(struct flow_table *table, uint32_t id)
{
	struct flow *f = &table->flows[id];
	uint64_t hash = hash_exact(table, &f->key);
	struct flow_exact_bucket *b = exact_bucket_of(table, hash);
	for (unsigned i = 0; i < FLOW_EXACT_SLOTS; i++) {
		if (b->id[i] == FLOW_NIL) {
			b->id[i] = id;
			b->tag[i] = exact_tag(hash);
			f->index_next = FLOW_NIL;
			return;
		}
	}
	f->index_next = b->overflow;
	b->overflow = id;
}

static void exact_remove(struct flow_table *table, uint32_t id)
{
	struct flow_exact_bucket *b = exact_bucket_of(table, hash_exact(table, &table->flows[id].key));
	for (unsigned i = 0; i < FLOW_EXACT_SLOTS; i++) {
		if (b->id[i] != id)
			continue;
		/* The slot goes to the overflow chain's head, if any. */
		uint32_t moved = b->overflow;
		if (moved != FLOW_NIL) {
			b->overflow = table->flows[moved].index_next;
			table->flows[moved].index_next = FLOW_NIL;
			b->tag[i] = exact_tag(hash_exact(table, &table->flows[moved].key));
		}
		b->id[i] = moved;
		return;
	}
	chain_unlink(table, &b->overflow, id);
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
	uint32_t *bucket;
	if (!is_wildcard(f)) {
		exact_insert(table, id);
		return;
	}
	bucket = wildcard_bucket_of(table, f);
	f->index_next = *bucket;
	*bucket = id;
}

void flow_table_remove(struct flow_table *table, uint32_t id)
{
	struct flow *f = &table->flows[id];
	if (is_wildcard(f))
		chain_unlink(table, wildcard_bucket_of(table, f), id);
	else
		exact_remove(table, id);
	f->in_use = false;
	f->index_next = table->free_head;
	table->free_head = id;
	table->in_use--;
}

uint32_t flow_table_lookup_exact(const struct flow_table *table, const struct flow_key *key)
{
	return flow_table_lookup_exact_in(table, hash_exact(table, key), key);
}

uint32_t flow_table_lookup_exact_in(const struct flow_table *table, uint64_t bucket,
				    const struct flow_key *key)
{
	const struct flow_exact_bucket *b = exact_bucket_of(table, bucket);
	uint16_t tag = exact_tag(bucket);
	uint32_t id;
	for (unsigned i = 0; i < FLOW_EXACT_SLOTS; i++) {
		id = b->id[i];
		if (b->tag[i] == tag && id != FLOW_NIL &&
		    memcmp(&table->flows[id].key, key, sizeof(*key)) == 0)
			return id;
	}
	for (id = b->overflow; id != FLOW_NIL; id = table->flows[id].index_next)
		if (memcmp(&table->flows[id].key, key, sizeof(*key)) == 0)
			return id;
	return FLOW_NIL;
}

uint64_t flow_table_exact_bucket(const struct flow_table *table, const struct flow_key *key)
{
	return hash_exact(table, key);
}

void flow_table_prefetch_bucket(const struct flow_table *table, uint64_t bucket)
{
	__builtin_prefetch(exact_bucket_of(table, bucket));
}

void flow_table_prefetch_chain(const struct flow_table *table, uint64_t bucket)
{
	const struct flow_exact_bucket *b = exact_bucket_of(table, bucket);
	uint16_t tag = exact_tag(bucket);
	uint32_t id = b->overflow;
	for (unsigned i = 0; i < FLOW_EXACT_SLOTS; i++) {
		if (b->tag[i] == tag && b->id[i] != FLOW_NIL) {
			id = b->id[i];
			break;
		}
	}
	/* The entry's first line, all a known media packet reads, and the
	 * second, where its packet count is written. */
	if (id != FLOW_NIL) {
		__builtin_prefetch(&table->flows[id]);
		__builtin_prefetch(&table->flows[id].packets, 1);
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
