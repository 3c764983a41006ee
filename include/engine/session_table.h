/* session_table.h - the fixed-capacity session pool, indexed by
 * (protocol, key): SIP Call-ID, RTSP Session id or control connection. */
#ifndef SARA_SESSION_TABLE_H
#define SARA_SESSION_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/hash.h"
#include "dpi/netaddr.h"
#include "engine/signal_facts.h"

#define SESSION_NIL UINT32_MAX
#define SESSION_MAX_STREAMS 4

/* One media stream as both sides described it. Ports 0 = side unknown. */
struct session_stream {
	struct netaddr client_addr, server_addr;
	uint16_t client_rtp, client_rtcp, server_rtp, server_rtcp;
};

struct session {
	char key[SESSION_KEY_MAX];  /* NUL-terminated */
	uint16_t key_len;
	uint8_t proto;              /* enum proto_id */
	bool in_use;
	bool key_is_connection;     /* RTSP before its Session: id is known */
	bool confirmed, ending, transaction_only;
	bool journal_dirty;         /* changed since the journal was last told */
	int16_t server;
	uint8_t stream_count;
	uint32_t index_next;        /* hash chain; free-list link when unused */
	uint32_t flows_head;        /* flows owned by this session */
	uint32_t flow_count;
	uint64_t serial;
	uint32_t journal_version;   /* of the last record the journal was told */
	uint64_t created_ms, last_seen_ms;
	struct netaddr peer;        /* the client's signalling address */
	struct session_stream streams[SESSION_MAX_STREAMS];
};

struct session_table {
	struct session *sessions;
	uint32_t capacity, in_use, free_head, bucket_mask;
	uint32_t *buckets;
	uint64_t next_serial;
	struct hash_key hash_key;
};

bool session_table_init(struct session_table *table, uint32_t capacity, const struct hash_key *key);
void session_table_fini(struct session_table *table);
size_t session_table_memory(const struct session_table *table);

/* A new session with this key (SESSION_NIL when full or the key is too long). */
uint32_t session_table_add(struct session_table *table, enum proto_id proto, const char *key,
			   size_t key_len);
uint32_t session_table_lookup(const struct session_table *table, enum proto_id proto,
			      const char *key, size_t key_len);
bool session_table_rekey(struct session_table *table, uint32_t id, const char *key, size_t key_len);
void session_table_remove(struct session_table *table, uint32_t id);

#endif
