/* flow_table.h - the fixed-capacity flow pool with an exact 5-tuple index
 * and two wildcard indexes for announced flows whose other end is unknown. */
#ifndef SARA_FLOW_TABLE_H
#define SARA_FLOW_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpi/flow_key.h"
#include "engine/hash.h"
#include "engine/tcp_signalling.h"

#define FLOW_NIL UINT32_MAX

/* How an entry matches packets. */
enum flow_match {
	MATCH_EXACT = 0,   /* the whole 5-tuple */
	MATCH_FROM_SOURCE, /* source address+port; any VIP destination (dst zero) */
	MATCH_TO_DEST_FROM_ADDR, /* destination address+port and source address; any source port */
	MATCH_TO_DEST,     /* destination address+port; any source */
};

/* The first cache line holds everything a known media packet reads (key,
 * owning session and its serial, server, identity, status, last seen); it
 * writes only its packet count on the second, which the batch path
 * prefetches with the first. The rest is for signalling and bookkeeping
 * (index_next is not needed on the first line: the exact index finds an
 * entry through its bucket's tags). */
struct flow {
	struct flow_key key;
	uint32_t session;        /* owning session, FLOW_NIL when none */
	int16_t server;          /* -1: none yet */
	uint8_t identity;        /* enum flow_identity */
	uint8_t status;          /* enum flow_status */
	uint64_t last_seen_ms;
	uint64_t session_serial; /* the owning session's serial, 0 when none */
	/* second cache line */
	uint64_t packets;        /* packets the engine decided on this flow */
	uint32_t index_next;     /* chain in its index; free-list link when unused */
	uint32_t session_prev, session_next; /* the owning session's flow list */
	struct tcp_signalling tcp; /* signalling TCP: its reassembly */
	uint64_t hint_serial;    /* shared SIP signalling flows: last session seen */
	uint32_t hint_session;
	uint8_t match;           /* enum flow_match */
	uint8_t proto;           /* enum proto_id for signalling flows */
	/* An RTSP connection met mid-stream with no connmark to go by: its
	 * server derived from its key, a guess until a message names its
	 * session (it may have been sent, at its SYN, to its session's server) */
	bool server_guessed;
	bool in_use;
} __attribute__((aligned(64)));

/* The exact index: one cache line per bucket, holding the ids of up to
 * FLOW_EXACT_SLOTS entries and a 16-bit tag of each one's hash, so that a
 * lookup reads the bucket's line and then only the entry whose tag matches
 * (no walk along a chain of entries, each a cache miss at a large table).
 * Entries that find their bucket full go on its overflow chain (through
 * index_next); a freed slot takes the chain's head back. */
#define FLOW_EXACT_SLOTS 10
struct flow_exact_bucket {
	uint32_t id[FLOW_EXACT_SLOTS];   /* FLOW_NIL: a free slot */
	uint16_t tag[FLOW_EXACT_SLOTS];
	uint32_t overflow;               /* chain of the entries that did not fit */
} __attribute__((aligned(64)));

struct flow_table {
	struct flow *flows;
	uint32_t capacity, in_use, free_head;
	uint32_t bucket_mask;            /* the wildcard indexes' */
	uint32_t exact_mask;             /* the exact index's (bucket lines) */
	struct flow_exact_bucket *exact_buckets;
	uint32_t *source_buckets, *dest_buckets;
	struct hash_key hash_key;
};

bool flow_table_init(struct flow_table *table, uint32_t capacity, const struct hash_key *key);
/* Gives every flow's TCP reassembly stream back to streams: before the
 * table or the pool goes. */
void flow_table_release_streams(struct flow_table *table, struct tcp_stream_pool *streams);
void flow_table_fini(struct flow_table *table);
size_t flow_table_memory(const struct flow_table *table);

/* Takes a zeroed entry off the free list (FLOW_NIL when full). Fill key and
 * match, then flow_table_insert() it. */
uint32_t flow_table_alloc(struct flow_table *table);
void flow_table_insert(struct flow_table *table, uint32_t id);
/* Unlinks from its index and frees. The caller owns stream and session links. */
void flow_table_remove(struct flow_table *table, uint32_t id);

uint32_t flow_table_lookup_exact(const struct flow_table *table, const struct flow_key *key);
/* Batched lookups: the exact index's bucket for key (its hash: opaque, never
 * UINT64_MAX); prefetching that bucket, and then (once it has arrived) the
 * entry its tags point at, lets a batch of packets overlap their cache
 * misses. Exact keys are unique in the index (callers insert one only after
 * a lookup missed). */
uint64_t flow_table_exact_bucket(const struct flow_table *table, const struct flow_key *key);
void flow_table_prefetch_bucket(const struct flow_table *table, uint64_t bucket);
void flow_table_prefetch_chain(const struct flow_table *table, uint64_t bucket);
/* flow_table_lookup_exact with the bucket already computed. */
uint32_t flow_table_lookup_exact_in(const struct flow_table *table, uint64_t bucket,
				    const struct flow_key *key);
/* Announced wildcard entries that match a packet key, most specific first:
 * FROM_SOURCE, TO_DEST_FROM_ADDR, TO_DEST; newest first within a kind. */
uint32_t flow_table_lookup_wildcard(const struct flow_table *table, const struct flow_key *key);

#endif
