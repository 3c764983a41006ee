/* session_table.h - the fixed-capacity session pool, indexed by
 * (protocol, key): SIP Call-ID, RTSP Session id or control connection. */
#ifndef SARA_SESSION_TABLE_H
#define SARA_SESSION_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/hash.h"
#include "dpi/flow_key.h"
#include "dpi/netaddr.h"
#include "engine/signal_facts.h"

#define SESSION_NIL UINT32_MAX
/* Offers carry up to 8 m= lines in practice (audio, video, RTCP-less
 * BFCP, T.140 ...); the rest are counted (media_streams_over_limit). */
#define SESSION_MAX_STREAMS SIGNAL_MAX_STREAMS

/* How a session's server was chosen, kept from that moment for the
 * operator's "which server, and why" (sara-ctl sessions --key). */
enum session_pick_how {
	PICK_SELECTED = 0,   /* selection.algorithm chose it for this session */
	PICK_CONNECTION,     /* the server of the TCP connection it came on (chosen at the SYN) */
	PICK_MOVED,          /* its server failed: re-pinned to the one with the fewest sessions per weight */
};

struct session_pick {
	uint8_t how;              /* enum session_pick_how */
	uint8_t algorithm;        /* enum selection_algorithm in force then */
	int16_t from_server;      /* PICK_MOVED: the server that failed; -1 otherwise */
	float load;               /* the chosen server's load estimate then (0..1); < 0: no load reports yet */
	float weight;             /* its weight in use then: weight x slow-start factor */
	uint32_t sessions;        /* the sessions it held just before */
	uint64_t at_ms;
};

/* One media stream as both sides described it. Ports 0 = side unknown.
 * A side's RTCP address is its RTP address unless a=rtcp named another. */
struct session_stream {
	struct netaddr client_addr, server_addr;
	struct netaddr client_rtcp_addr, server_rtcp_addr;
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
	bool server_heard;          /* the gateway announced one of its messages: its answers are seen */
	bool answer_awaited;        /* admitted, its server has not answered yet (admission's window) */
	uint8_t end_awaited;        /* the ending request (SIP BYE, CANCEL) still unanswered; 0: none */
	int16_t server;
	uint16_t signalling_s;      /* the session's own signalling timeout; 0: timeouts.signalling_s */
	uint8_t stream_count;
	uint32_t index_next;        /* hash chain; free-list link when unused */
	uint32_t flows_head;        /* flows owned by this session */
	uint32_t flow_count;
	uint64_t serial;
	uint32_t journal_version;   /* of the last record the journal was told */
	uint32_t bucket;            /* its hash chain's, kept so removal needs no hash */
	uint64_t created_ms, last_seen_ms;
	struct netaddr peer;        /* the client's signalling address */
	/* The signalling flow its latest client message came on. A SIP flow
	 * over UDP, or a SIP connection, is not owned by one session (a trunk
	 * carries many calls), so it is not among the session's flows; the
	 * key finds it. family 0: none yet. */
	struct flow_key signalling;
	struct session_pick pick;   /* how server was chosen */
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
