/* bench_index_layouts.c - what a known media packet's flow lookup costs at
 * 1 M sessions' worth of flows vs 1 k, for the engine's flow_table and for
 * two one-line layouts it could have used, so that README's reasoning on
 * the 1.2x scale target is reproducible rather than a remembered experiment.
 *
 * All three answer the same batched question the engine asks (a batch of
 * ENGINE_BATCH_MAX keys, every stage prefetched for the whole batch before
 * the next stage reads it) and do what a known media packet does to its
 * entry (read the session serial, write last-seen and status):
 *   two-line: flow_table itself (bucket line of ids and tags, then the
 *             flow's first line), as engine_packet_batch uses it;
 *   cuckoo:   one 64-byte entry per line holding the key and every field
 *             the packet needs, three hash choices, two lines per flow
 *             (the most a 256-byte-per-flow budget leaves once the rest of
 *             a flow is stored apart): one line when the key sits at its
 *             first choice, a dependent second or third line otherwise;
 *   hot-v4:   32-byte IPv4 entries two to a line, 1.5 lines per flow, a
 *             lossy cache in front of flow_table: one line on a hit, the
 *             two-line path after it on a miss.
 * The one-line layouts are experiments, never used by the engine: they
 * store no more than the lookup needs. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>

#include "engine/big_alloc.h"
#include "engine/engine.h"
#include "engine/flow_table.h"
#include "engine/hash.h"

#include "bench_common.h"

#define BIG_FLOWS 4126024u   /* bench_engine's flow pool at 1 M sessions */
#define SMALL_FLOWS 5149u    /* and at 1 k sessions */
#define PASSES 5
#define LOOKUPS_PER_PASS ((size_t)1 << 22)
#define CUCKOO_CHOICES 3
#define CUCKOO_MAX_KICKS 500
#define EMPTY_PAD 0xffff     /* a free cuckoo slot's key.pad: no packet key has it */
#define NOINLINE __attribute__((noinline))

/* Flow i of a population: an RTP sender 10.x.y.z:port to the VIP. Distinct
 * for every i below 2^24. */
static void key_of(uint32_t i, struct flow_key *key)
{
	memset(key, 0, sizeof(*key));
	key->family = AF_INET;
	key->l4 = L4_UDP;
	key->sport = (uint16_t)(10000 + (i & 0x3fff) * 2);
	key->dport = 20000;
	key->src[0] = 10;
	key->src[1] = (uint8_t)(i >> 16);
	key->src[2] = (uint8_t)(i >> 8);
	key->src[3] = (uint8_t)i;
	key->dst[0] = 198;
	key->dst[1] = 18;
	key->dst[2] = 77;
	key->dst[3] = 20;
}

static uint32_t random_flow(uint64_t *state, uint32_t count)
{
	return (uint32_t)(((random_next(state) >> 32) * count) >> 32);
}

/* ---- cuckoo: one line per entry ---- */

struct cuckoo_entry {
	struct flow_key key;
	uint64_t session_serial;
	uint64_t last_seen_ms;
	uint32_t id;
	int16_t server;
	uint8_t identity, status;
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct cuckoo_entry) == 64, "a cuckoo entry is one line");

struct cuckoo {
	struct cuckoo_entry *slots;
	uint32_t count;
	struct hash_key hash_key;
	uint64_t at_choice[CUCKOO_CHOICES];
	uint32_t failed;
};

static uint32_t cuckoo_slot(const struct cuckoo *c, uint64_t hash, unsigned choice)
{
	uint32_t bits = choice == 0 ? (uint32_t)hash
		      : choice == 1 ? (uint32_t)(hash >> 32)
				    : (uint32_t)((hash * 0xd6e8feb86659fd93ull) >> 32);
	return (uint32_t)(((uint64_t)bits * c->count) >> 32);
}

/* Places *entry (consumed: it may come back holding an evicted one). */
static bool cuckoo_insert(struct cuckoo *c, struct cuckoo_entry *entry, uint64_t *seed)
{
	for (unsigned kick = 0; kick < CUCKOO_MAX_KICKS; kick++) {
		uint64_t hash = hash_bytes(&c->hash_key, &entry->key, sizeof(entry->key));
		for (unsigned choice = 0; choice < CUCKOO_CHOICES; choice++) {
			struct cuckoo_entry *slot = &c->slots[cuckoo_slot(c, hash, choice)];
			if (slot->key.pad == EMPTY_PAD) {
				*slot = *entry;
				return true;
			}
		}
		struct cuckoo_entry *victim =
			&c->slots[cuckoo_slot(c, hash, (unsigned)(random_next(seed) % CUCKOO_CHOICES))];
		struct cuckoo_entry evicted = *victim;
		*victim = *entry;
		*entry = evicted;
	}
	return false;
}

static bool cuckoo_build(struct cuckoo *c, uint32_t flows, const struct hash_key *key)
{
	uint64_t seed = 3;
	memset(c, 0, sizeof(*c));
	c->count = flows * 2;
	c->hash_key = *key;
	c->slots = big_calloc(c->count, sizeof(*c->slots));
	if (!c->slots)
		return false;
	for (uint32_t i = 0; i < c->count; i++)
		c->slots[i].key.pad = EMPTY_PAD;
	for (uint32_t i = 0; i < flows; i++) {
		struct cuckoo_entry entry = { .id = i, .session_serial = i + 1, .server = 1, .identity = 2 };
		key_of(i, &entry.key);
		if (!cuckoo_insert(c, &entry, &seed))
			c->failed++;
	}
	for (uint32_t i = 0; i < flows; i++) {
		struct flow_key k;
		key_of(i, &k);
		uint64_t hash = hash_bytes(&c->hash_key, &k, sizeof(k));
		for (unsigned choice = 0; choice < CUCKOO_CHOICES; choice++)
			if (memcmp(&c->slots[cuckoo_slot(c, hash, choice)].key, &k, sizeof(k)) == 0) {
				c->at_choice[choice]++;
				break;
			}
	}
	return true;
}

static void cuckoo_free(struct cuckoo *c)
{
	big_free(c->slots, c->count, sizeof(*c->slots));
}

/* Timed: lookups random known flows, batched, each further choice
 * prefetched for the batch's misses before it is read. */
static NOINLINE uint64_t cuckoo_walk(struct cuckoo *c, uint32_t flows, size_t lookups, uint64_t seed)
{
	uint64_t sum = 0;
	for (size_t at = 0; at < lookups; at += ENGINE_BATCH_MAX) {
		struct flow_key key[ENGINE_BATCH_MAX];
		uint64_t hash[ENGINE_BATCH_MAX];
		struct cuckoo_entry *found[ENGINE_BATCH_MAX];
		unsigned missing = 0;
		for (unsigned i = 0; i < ENGINE_BATCH_MAX; i++) {
			key_of(random_flow(&seed, flows), &key[i]);
			hash[i] = hash_bytes(&c->hash_key, &key[i], sizeof(key[i]));
			found[i] = NULL;
			__builtin_prefetch(&c->slots[cuckoo_slot(c, hash[i], 0)]);
		}
		for (unsigned choice = 0; choice < CUCKOO_CHOICES; choice++) {
			missing = 0;
			for (unsigned i = 0; i < ENGINE_BATCH_MAX; i++) {
				if (found[i])
					continue;
				struct cuckoo_entry *e = &c->slots[cuckoo_slot(c, hash[i], choice)];
				if (memcmp(&e->key, &key[i], sizeof(key[i])) == 0) {
					found[i] = e;
				} else if (choice + 1 < CUCKOO_CHOICES) {
					__builtin_prefetch(&c->slots[cuckoo_slot(c, hash[i], choice + 1)]);
					missing++;
				}
			}
			if (!missing)
				break;
		}
		for (unsigned i = 0; i < ENGINE_BATCH_MAX; i++) {
			if (!found[i])
				continue;
			sum += found[i]->session_serial;
			found[i]->last_seen_ms = at;
			found[i]->status = 1;
		}
	}
	return sum;
}

/* ---- the engine's flow_table, and hot-v4 in front of it ---- */

struct hot_v4_entry {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t l4, identity;
	int8_t server;
	uint8_t status;
	uint32_t id;
	uint32_t last_seen_ms;   /* low 32 bits: a flow idles far less than 49 days */
	uint64_t session_serial;
};
struct hot_v4_line {
	struct hot_v4_entry entry[2];
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct hot_v4_line) == 64, "two hot-v4 entries per line");

struct indexed_pool {
	struct flow_table table;     /* every flow: the two-line layout */
	struct hot_v4_line *hot;     /* hot-v4 cache in front of it */
	uint32_t hot_lines;
	uint64_t hot_entries;
};

static uint32_t hot_line_of(const struct indexed_pool *p, uint64_t hash)
{
	return (uint32_t)(((hash >> 16) & 0xffffffffu) * p->hot_lines >> 32);
}

static bool hot_matches(const struct hot_v4_entry *e, const struct flow_key *key)
{
	uint32_t src, dst;
	memcpy(&src, key->src, 4);
	memcpy(&dst, key->dst, 4);
	return e->l4 == key->l4 && e->src == src && e->dst == dst && e->sport == key->sport &&
	       e->dport == key->dport;
}

static bool indexed_pool_build(struct indexed_pool *p, uint32_t flows, const struct hash_key *key)
{
	memset(p, 0, sizeof(*p));
	if (!flow_table_init(&p->table, flows, key))
		return false;
	p->hot_lines = flows + flows / 2;
	p->hot = big_calloc(p->hot_lines, sizeof(*p->hot));
	if (!p->hot)
		return false;
	for (uint32_t i = 0; i < flows; i++) {
		uint32_t id = flow_table_alloc(&p->table);
		struct flow *f = &p->table.flows[id];
		key_of(i, &f->key);
		f->session_serial = i + 1;
		f->session = i;
		f->server = 1;
		f->identity = 2;
		flow_table_insert(&p->table, id);
		struct hot_v4_line *line =
			&p->hot[hot_line_of(p, flow_table_exact_bucket(&p->table, &f->key))];
		for (unsigned s = 0; s < 2; s++) {
			struct hot_v4_entry *e = &line->entry[s];
			if (e->l4)
				continue;
			memcpy(&e->src, f->key.src, 4);
			memcpy(&e->dst, f->key.dst, 4);
			e->sport = f->key.sport;
			e->dport = f->key.dport;
			e->l4 = f->key.l4;
			e->id = id;
			e->session_serial = f->session_serial;
			e->server = 1;
			e->identity = 2;
			p->hot_entries++;
			break;
		}
	}
	return true;
}

static void indexed_pool_free(struct indexed_pool *p)
{
	big_free(p->hot, p->hot_lines, sizeof(*p->hot));
	flow_table_fini(&p->table);
}

/* What a known media packet does to its flow (engine.c packet_decided). */
static uint64_t touch_flow(struct flow *f, size_t at)
{
	f->last_seen_ms = at;
	f->status = 1;
	return f->session_serial;
}

/* Timed: the engine's two stages (engine_packet_batch) on flow_table. */
static NOINLINE uint64_t two_line_walk(struct indexed_pool *p, uint32_t flows, size_t lookups,
				       uint64_t seed)
{
	uint64_t sum = 0;
	for (size_t at = 0; at < lookups; at += ENGINE_BATCH_MAX) {
		struct flow_key key[ENGINE_BATCH_MAX];
		uint64_t bucket[ENGINE_BATCH_MAX];
		for (unsigned i = 0; i < ENGINE_BATCH_MAX; i++) {
			key_of(random_flow(&seed, flows), &key[i]);
			bucket[i] = flow_table_exact_bucket(&p->table, &key[i]);
			flow_table_prefetch_bucket(&p->table, bucket[i]);
		}
		for (unsigned i = 0; i < ENGINE_BATCH_MAX; i++)
			flow_table_prefetch_chain(&p->table, bucket[i]);
		for (unsigned i = 0; i < ENGINE_BATCH_MAX; i++) {
			uint32_t id = flow_table_lookup_exact_in(&p->table, bucket[i], &key[i]);
			if (id != FLOW_NIL)
				sum += touch_flow(&p->table.flows[id], at);
		}
	}
	return sum;
}

/* Timed: hot-v4 first; the batch's misses then take the two stages. */
static NOINLINE uint64_t hot_v4_walk(struct indexed_pool *p, uint32_t flows, size_t lookups,
				     uint64_t seed)
{
	uint64_t sum = 0;
	for (size_t at = 0; at < lookups; at += ENGINE_BATCH_MAX) {
		struct flow_key key[ENGINE_BATCH_MAX];
		uint64_t bucket[ENGINE_BATCH_MAX];
		struct hot_v4_entry *hit[ENGINE_BATCH_MAX];
		unsigned missing = 0;
		for (unsigned i = 0; i < ENGINE_BATCH_MAX; i++) {
			key_of(random_flow(&seed, flows), &key[i]);
			bucket[i] = flow_table_exact_bucket(&p->table, &key[i]);
			__builtin_prefetch(&p->hot[hot_line_of(p, bucket[i])]);
		}
		for (unsigned i = 0; i < ENGINE_BATCH_MAX; i++) {
			struct hot_v4_line *line = &p->hot[hot_line_of(p, bucket[i])];
			hit[i] = hot_matches(&line->entry[0], &key[i])   ? &line->entry[0]
				 : hot_matches(&line->entry[1], &key[i]) ? &line->entry[1]
									 : NULL;
			if (!hit[i]) {
				flow_table_prefetch_bucket(&p->table, bucket[i]);
				missing++;
			}
		}
		for (unsigned i = 0; i < ENGINE_BATCH_MAX; i++) {
			if (!hit[i])
				continue;
			sum += hit[i]->session_serial;
			hit[i]->last_seen_ms = (uint32_t)at;
			hit[i]->status = 1;
		}
		if (!missing)
			continue;
		for (unsigned i = 0; i < ENGINE_BATCH_MAX; i++)
			if (!hit[i])
				flow_table_prefetch_chain(&p->table, bucket[i]);
		for (unsigned i = 0; i < ENGINE_BATCH_MAX; i++) {
			if (hit[i])
				continue;
			uint32_t id = flow_table_lookup_exact_in(&p->table, bucket[i], &key[i]);
			if (id != FLOW_NIL)
				sum += touch_flow(&p->table.flows[id], at);
		}
	}
	return sum;
}

/* ---- timing ---- */

struct population {
	uint32_t flows;
	struct indexed_pool pool;
	struct cuckoo cuckoo;
};

enum layout { LAYOUT_TWO_LINE, LAYOUT_CUCKOO, LAYOUT_HOT_V4, LAYOUT_COUNT };
static const char *const layout_names[LAYOUT_COUNT] = { "two-line (flow_table)", "cuckoo, one line",
							"hot-v4 + two-line" };

static uint64_t walk(struct population *pop, enum layout layout, uint64_t seed)
{
	switch (layout) {
	case LAYOUT_TWO_LINE:
		return two_line_walk(&pop->pool, pop->flows, LOOKUPS_PER_PASS, seed);
	case LAYOUT_CUCKOO:
		return cuckoo_walk(&pop->cuckoo, pop->flows, LOOKUPS_PER_PASS, seed);
	default:
		return hot_v4_walk(&pop->pool, pop->flows, LOOKUPS_PER_PASS, seed);
	}
}

static double timed_pass(struct population *pop, enum layout layout, uint64_t seed, uint64_t *sink)
{
	double t0 = now_seconds();
	*sink += walk(pop, layout, seed);
	return (now_seconds() - t0) * 1e9 / (double)LOOKUPS_PER_PASS;
}

static bool population_build(struct population *pop, uint32_t flows, const struct hash_key *key)
{
	pop->flows = flows;
	return indexed_pool_build(&pop->pool, flows, key) && cuckoo_build(&pop->cuckoo, flows, key);
}

static void population_free(struct population *pop)
{
	indexed_pool_free(&pop->pool);
	cuckoo_free(&pop->cuckoo);
}

int main(void)
{
	static struct population small, big;
	struct hash_key key;
	double ns[LAYOUT_COUNT][2][PASSES], median[LAYOUT_COUNT][2];
	uint64_t sink = 0;
	int status = 0;

	hash_key_random(&key);
	if (!population_build(&small, SMALL_FLOWS, &key) || !population_build(&big, BIG_FLOWS, &key)) {
		printf("index layouts: skipped (out of memory)\n");
		status = 1;
		goto cleanup;
	}
	printf("index layouts: %u vs %u known IPv4 media flows, batches of %d, %zu lookups per pass, "
	       "median of %d passes alternating sizes and layouts\n",
	       BIG_FLOWS, SMALL_FLOWS, ENGINE_BATCH_MAX, LOOKUPS_PER_PASS, PASSES);
	printf("  cuckoo at %u flows: %.1f %% at the first choice, %.1f %% second, %.1f %% third, "
	       "%u not placed (%.0f MiB)\n",
	       BIG_FLOWS, 100.0 * (double)big.cuckoo.at_choice[0] / BIG_FLOWS,
	       100.0 * (double)big.cuckoo.at_choice[1] / BIG_FLOWS,
	       100.0 * (double)big.cuckoo.at_choice[2] / BIG_FLOWS, big.cuckoo.failed,
	       (double)big.cuckoo.count * 64 / 1048576.0);
	printf("  hot-v4 at %u flows: %.1f %% of flows cached (%.0f MiB in front of flow_table's %.0f MiB)\n",
	       BIG_FLOWS, 100.0 * (double)big.pool.hot_entries / BIG_FLOWS,
	       (double)big.pool.hot_lines * 64 / 1048576.0,
	       (double)flow_table_memory(&big.pool.table) / 1048576.0);
	for (int layout = 0; layout < LAYOUT_COUNT; layout++) {
		(void)walk(&small, (enum layout)layout, 1);
		(void)walk(&big, (enum layout)layout, 1);
	}
	for (unsigned pass = 0; pass < PASSES; pass++)
		for (int layout = 0; layout < LAYOUT_COUNT; layout++) {
			ns[layout][0][pass] = timed_pass(&small, (enum layout)layout, 100 + pass, &sink);
			ns[layout][1][pass] = timed_pass(&big, (enum layout)layout, 100 + pass, &sink);
		}
	for (int layout = 0; layout < LAYOUT_COUNT; layout++)
		for (int size = 0; size < 2; size++)
			median[layout][size] = median_of(ns[layout][size], PASSES);
	for (int layout = 0; layout < LAYOUT_COUNT; layout++)
		printf("index layout %-22s %.1f ns/lookup at %u flows, %.1f at %u: +%.1f ns "
		       "(two-line +%.1f in the same passes)\n",
		       layout_names[layout], median[layout][0], SMALL_FLOWS, median[layout][1], BIG_FLOWS,
		       median[layout][1] - median[layout][0],
		       median[LAYOUT_TWO_LINE][1] - median[LAYOUT_TWO_LINE][0]);
	if (sink == 1)
		printf(" ");
cleanup:
	population_free(&small);
	population_free(&big);
	return status;
}
