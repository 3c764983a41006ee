/* records.c - sara-replay's flow and session records: arrays in
 * first-packet order with open-addressing indexes and a capacity. */
#include <stdlib.h>
#include <string.h>

#include "sara-replay/records.h"

enum index_room { INDEX_ROOM = 0, INDEX_REBUILT, INDEX_NO_MEMORY };

/* The key a flow record is hashed by, padding zeroed. */
struct record_key {
	struct flow_key flow;
	uint64_t session;
};

static uint64_t flow_hash(const struct replay_records *recs, const struct flow_key *key, uint64_t session)
{
	struct record_key k;
	memset(&k, 0, sizeof(k));
	k.flow = *key;
	k.session = session;
	return hash_bytes(&recs->hash_key, &k, sizeof(k));
}

static uint64_t session_hash(const struct replay_records *recs, uint64_t serial)
{
	return hash_bytes(&recs->hash_key, &serial, sizeof(serial));
}

/* Keeps the index at most half full for count entries. INDEX_REBUILT: the
 * slots were replaced by empty ones and every entry must be inserted again. */
static enum index_room index_reserve(struct record_index *index, uint32_t count)
{
	uint32_t size = index->slots ? index->mask + 1 : 1024;
	uint32_t *fresh;
	if (index->slots && (uint64_t)count * 2 < size)
		return INDEX_ROOM;
	while ((uint64_t)count * 2 >= size)
		size *= 2;
	fresh = calloc(size, sizeof(uint32_t));
	if (!fresh)
		return INDEX_NO_MEMORY;
	free(index->slots);
	index->slots = fresh;
	index->mask = size - 1;
	return INDEX_REBUILT;
}

static void index_insert(struct record_index *index, uint64_t hash, uint32_t position)
{
	uint32_t slot = (uint32_t)hash & index->mask;
	while (index->slots[slot])
		slot = (slot + 1) & index->mask;
	index->slots[slot] = position + 1;
}

/* A growable array with room for one more item: items itself, or its moved
 * copy; NULL when memory ran out (items is then unchanged). */
static void *array_reserve(void *items, uint32_t count, uint32_t *capacity, size_t item_size, uint32_t first)
{
	uint32_t cap;
	void *fresh;
	if (count < *capacity)
		return items;
	cap = *capacity ? *capacity * 2 : first;
	fresh = realloc(items, item_size * cap);
	if (fresh)
		*capacity = cap;
	return fresh;
}

static uint64_t flow_hash_at(const struct replay_records *recs, uint32_t id)
{
	return flow_hash(recs, &recs->flows[id].key, recs->flows[id].session);
}

static uint64_t session_hash_at(const struct replay_records *recs, uint32_t id)
{
	return session_hash(recs, recs->sessions[id].serial);
}

/* Room for record id (under max_records) in index, whose entries 0..id-1
 * hash_at inserts again when it was rebuilt, then in the array items as
 * array_reserve; NULL when refused, items unchanged. */
static void *record_room(const struct replay_records *recs, struct record_index *index,
			 uint64_t (*hash_at)(const struct replay_records *, uint32_t), uint32_t id, void *items,
			 uint32_t *capacity, size_t item_size, uint32_t first)
{
	if (id >= recs->max_records)
		return NULL;
	switch (index_reserve(index, id + 1)) {
	case INDEX_NO_MEMORY:
		return NULL;
	case INDEX_REBUILT:
		for (uint32_t i = 0; i < id; i++)
			index_insert(index, hash_at(recs, i), i);
		break;
	case INDEX_ROOM:
		break;
	}
	return array_reserve(items, id, capacity, item_size, first);
}

void records_init(struct replay_records *recs, const struct hash_key *key, uint64_t max_records)
{
	memset(recs, 0, sizeof(*recs));
	recs->hash_key = *key;
	recs->max_records = max_records;
}

void records_free(struct replay_records *recs)
{
	free(recs->flows);
	free(recs->flow_index.slots);
	free(recs->sessions);
	free(recs->session_index.slots);
	memset(recs, 0, sizeof(*recs));
}

static uint32_t flow_lookup(const struct replay_records *recs, const struct flow_key *key, uint64_t session)
{
	const struct record_index *index = &recs->flow_index;
	if (!index->slots)
		return RECORD_NONE;
	for (uint32_t slot = (uint32_t)flow_hash(recs, key, session) & index->mask; index->slots[slot];
	     slot = (slot + 1) & index->mask) {
		uint32_t id = index->slots[slot] - 1;
		if (recs->flows[id].session == session && memcmp(&recs->flows[id].key, key, sizeof(*key)) == 0)
			return id;
	}
	return RECORD_NONE;
}

static uint32_t flow_create(struct replay_records *recs, const struct flow_key *key, uint64_t session)
{
	uint32_t id = recs->flow_count;
	struct flow_record *f = record_room(recs, &recs->flow_index, flow_hash_at, id, recs->flows,
					    &recs->flow_capacity, sizeof(*f), 1024);
	if (!f) {
		recs->out_of_memory = true;
		return RECORD_NONE;
	}
	recs->flows = f;
	f = &recs->flows[id];
	memset(f, 0, sizeof(*f));
	f->key = *key;
	f->session = session;
	f->next_of_session = RECORD_NONE;
	index_insert(&recs->flow_index, flow_hash(recs, key, session), id);
	recs->flow_count++;
	return id;
}

uint32_t records_flow(struct replay_records *recs, const struct flow_key *key, uint64_t session, bool create)
{
	uint32_t id = flow_lookup(recs, key, session);
	if (id != RECORD_NONE || !create)
		return id;
	return flow_create(recs, key, session);
}

static uint32_t session_lookup(const struct replay_records *recs, uint64_t serial)
{
	const struct record_index *index = &recs->session_index;
	if (!index->slots)
		return RECORD_NONE;
	for (uint32_t slot = (uint32_t)session_hash(recs, serial) & index->mask; index->slots[slot];
	     slot = (slot + 1) & index->mask) {
		uint32_t id = index->slots[slot] - 1;
		if (recs->sessions[id].serial == serial)
			return id;
	}
	return RECORD_NONE;
}

static uint32_t session_create(struct replay_records *recs, uint64_t serial)
{
	uint32_t id = recs->session_count;
	struct session_record *s = record_room(recs, &recs->session_index, session_hash_at, id, recs->sessions,
					       &recs->session_capacity, sizeof(*s), 256);
	if (!s) {
		recs->out_of_memory = true;
		return RECORD_NONE;
	}
	recs->sessions = s;
	s = &recs->sessions[id];
	memset(s, 0, sizeof(*s));
	s->serial = serial;
	s->server = ENGINE_NO_SERVER;
	s->first_observed = LOCATION_NOWHERE;
	s->first_flow = RECORD_NONE;
	index_insert(&recs->session_index, session_hash(recs, serial), id);
	recs->session_count++;
	return id;
}

uint32_t records_session(struct replay_records *recs, uint64_t serial, bool create)
{
	uint32_t id = session_lookup(recs, serial);
	if (id != RECORD_NONE || !create)
		return id;
	return session_create(recs, serial);
}
