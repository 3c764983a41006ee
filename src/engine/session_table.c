/* session_table.c - fixed-capacity session pool keyed by (protocol, key)
 * (session_table.h). Serials are never reused, so stale references show. */
#include "engine/session_table.h"

#include "engine/big_alloc.h"

#include <stdlib.h>
#include <string.h>

bool session_table_init(struct session_table *table, uint32_t capacity, const struct hash_key *key)
{
	uint32_t buckets = 16;
	while (buckets < capacity && buckets < (1u << 31))
		buckets <<= 1;
	memset(table, 0, sizeof(*table));
	table->capacity = capacity;
	table->bucket_mask = buckets - 1;
	table->sessions = big_calloc(capacity, sizeof(*table->sessions));
	table->buckets = big_calloc(buckets, sizeof(uint32_t));
	if (!table->sessions || !table->buckets)
		goto fail_free_arrays;
	memset(table->buckets, 0xff, sizeof(uint32_t) * buckets);
	table->hash_key = *key;
	table->next_serial = 1;
	for (uint32_t i = 0; i < capacity; i++)
		table->sessions[i].index_next = i + 1 < capacity ? i + 1 : SESSION_NIL;
	table->free_head = capacity ? 0 : SESSION_NIL;
	return true;

fail_free_arrays:
	session_table_fini(table);
	return false;
}

void session_table_fini(struct session_table *table)
{
	big_free(table->sessions, table->capacity, sizeof(*table->sessions));
	big_free(table->buckets, (size_t)table->bucket_mask + 1, sizeof(uint32_t));
	memset(table, 0, sizeof(*table));
}

size_t session_table_memory(const struct session_table *table)
{
	return (size_t)table->capacity * sizeof(struct session) +
	       sizeof(uint32_t) * ((size_t)table->bucket_mask + 1);
}

static uint32_t session_bucket(const struct session_table *table, enum proto_id proto,
			       const char *key, size_t key_len)
{
	/* The protocol is folded in so a Call-ID cannot collide with an RTSP id. */
	uint64_t h = hash_bytes(&table->hash_key, key, key_len) ^ ((uint64_t)proto * 0x9e3779b97f4a7c15ull);
	return (uint32_t)(h ^ (h >> 32)) & table->bucket_mask;
}

static void session_link(struct session_table *table, uint32_t id)
{
	struct session *s = &table->sessions[id];
	uint32_t *bucket;
	s->bucket = session_bucket(table, s->proto, s->key, s->key_len);
	bucket = &table->buckets[s->bucket];
	s->index_next = *bucket;
	*bucket = id;
}

static void session_unlink(struct session_table *table, uint32_t id)
{
	struct session *s = &table->sessions[id];
	uint32_t *link = &table->buckets[s->bucket];
	while (*link != SESSION_NIL && *link != id)
		link = &table->sessions[*link].index_next;
	if (*link == id)
		*link = s->index_next;
	s->index_next = SESSION_NIL;
}

uint32_t session_table_add(struct session_table *table, enum proto_id proto, const char *key,
			   size_t key_len)
{
	uint32_t id = table->free_head;
	struct session *s;
	if (id == SESSION_NIL || key_len >= SESSION_KEY_MAX)
		return SESSION_NIL;
	s = &table->sessions[id];
	table->free_head = s->index_next;
	memset(s, 0, sizeof(*s));
	memcpy(s->key, key, key_len);
	s->key_len = (uint16_t)key_len;
	s->proto = (uint8_t)proto;
	s->in_use = true;
	s->server = -1;
	s->flows_head = SESSION_NIL;
	s->serial = table->next_serial++;
	session_link(table, id);
	table->in_use++;
	return id;
}

uint32_t session_table_lookup(const struct session_table *table, enum proto_id proto,
			      const char *key, size_t key_len)
{
	uint32_t id;
	if (key_len >= SESSION_KEY_MAX)
		return SESSION_NIL;
	id = table->buckets[session_bucket(table, proto, key, key_len)];
	for (; id != SESSION_NIL; id = table->sessions[id].index_next) {
		const struct session *s = &table->sessions[id];
		if (s->proto == proto && s->key_len == key_len && memcmp(s->key, key, key_len) == 0)
			return id;
	}
	return SESSION_NIL;
}

bool session_table_rekey(struct session_table *table, uint32_t id, const char *key, size_t key_len)
{
	struct session *s = &table->sessions[id];
	if (key_len >= SESSION_KEY_MAX)
		return false;
	session_unlink(table, id);
	memcpy(s->key, key, key_len);
	s->key[key_len] = '\0';
	s->key_len = (uint16_t)key_len;
	session_link(table, id);
	return true;
}

void session_table_remove(struct session_table *table, uint32_t id)
{
	struct session *s = &table->sessions[id];
	session_unlink(table, id);
	s->in_use = false;
	s->index_next = table->free_head;
	table->free_head = id;
	table->in_use--;
}
