/* replica_codec.h - a dispatcher's session decisions as its peers receive
 * them through the session store: one journal record per sealed message
 * (engine/wire.h, type WIRE_SESSION_REPLICA) with the digest of the sender's
 * server list, the store's key names, and the hello line that lets a peer
 * with another key or server list be refused by name. No I/O. */
#ifndef SARA_REPLICA_CODEC_H
#define SARA_REPLICA_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"
#include "engine/journal_codec.h"
#include "engine/session_record.h"
#include "engine/wire.h"

#define REPLICA_FORMAT 1
#define REPLICA_DIGEST_SIZE 8
/* format u8, digest, op u8, proto u8, key length u16 */
#define REPLICA_PREFIX (5 + REPLICA_DIGEST_SIZE)
#define REPLICA_MESSAGE_MAX WIRE_MAX_MESSAGE
#define REPLICA_STORE_KEY_MAX (16 + SARA_ID_MAX * 2 + 2 * SESSION_KEY_MAX)
#define REPLICA_FIELD_MAX 96
#define REPLICA_HELLO_MAX 256

enum replica_op {
	REPLICA_SESSION = 1,     /* a session's whole state (u.session) */
	REPLICA_SESSION_END,     /* a session ended (proto, key) */
	REPLICA_FLOW,            /* a flow the session (proto, key) decided (u.flow) */
	REPLICA_CONNECTION,      /* a TCP connection pinned without a session (u.connection) */
	REPLICA_CONNECTION_END,  /* ... gone (u.connection_end) */
};

/* One decision. proto, key and key_len name the session for every session
 * op (REPLICA_SESSION included: filled from u.session when decoded). Servers
 * travel by id: u.session.server and u.connection.server are -1 when read. */
struct replica_item {
	uint8_t op;              /* enum replica_op */
	uint8_t proto;
	uint16_t key_len;
	char key[SESSION_KEY_MAX];
	union {
		struct session_record session;
		struct session_flow_record flow;
		struct connection_record connection;
		struct flow_key connection_end;
	} u;
};

struct replica_digest { uint8_t bytes[REPLICA_DIGEST_SIZE]; };

/* The bytes of item that say something (a session's unused streams
 * left out, only its op's member of the union): what a copy of it needs. */
size_t replica_item_size(const struct replica_item *item);

/* The servers sessions may name, independent of slot order: the digest of
 * every configured, not retired server's id, addresses, mark and table,
 * sorted by id. Two dispatchers agree on a session's server only when
 * these are equal. */
struct replica_digest replica_server_digest(const struct sara_config *cfg);
/* A one-way fingerprint of the cluster key: peers compare it to tell
 * "another key" from "forged" (a tag that does not verify says neither). */
struct replica_digest replica_key_fingerprint(const struct wire_key *key);

/* The item sealed as sender with seq and the wall clock time_ms into out.
 * Returns the message length, 0 when the item cannot be represented or
 * cap is too small. */
size_t replica_seal(const struct wire_key *key, uint32_t sender, uint64_t seq, uint64_t time_ms,
		    const struct replica_digest *servers, const struct replica_item *item, uint8_t *out, size_t cap);

enum replica_verdict {
	REPLICA_OK = 0,
	REPLICA_TRUNCATED,       /* wire: too short, or lengths disagree */
	REPLICA_BAD_MAGIC,       /* wire: not a sara message */
	REPLICA_FORGED,          /* wire: the tag does not verify (or another key) */
	REPLICA_REPLAYED,        /* wire: a sequence number seen before */
	REPLICA_STALE,           /* wire: timestamp too far from our clock */
	REPLICA_TOO_MANY_SENDERS,
	REPLICA_NOT_REPLICA,     /* authentic, but another kind of sealed message */
	REPLICA_OTHER_SENDER,    /* authentic, but not the peer this channel belongs to */
	REPLICA_OTHER_SERVERS,   /* authentic, but made with another server list */
	REPLICA_MALFORMED,       /* authentic, but its body does not decode */
	REPLICA_VERDICT_COUNT
};

/* Opens one message. replay NULL: a stored state read back (no replay or
 * clock check); otherwise a published one, checked against replay and
 * max_skew_ms. expect_sender 0: any sender. On REPLICA_OK fills *item
 * and *hdr. */
enum replica_verdict replica_open(const struct wire_key *key, struct wire_replay *replay, const uint8_t *msg,
				  size_t len, uint64_t now_wall_ms, uint32_t max_skew_ms, uint32_t expect_sender,
				  const struct replica_digest *servers, struct replica_item *item,
				  struct wire_header *hdr);
const char *replica_verdict_name(enum replica_verdict verdict);
/* Sealed messages travel back to back (one PUBLISH carries a batch): the
 * length of the one at p, or 0 when fewer than its bytes are left. */
size_t replica_message_length(const uint8_t *p, size_t len);

/* The store's key of an item: "sara:CLUSTER:s:PROTO:HEX(KEY)" for a
 * session's ops, "sara:CLUSTER:c:HEX(FLOW)" for a connection's. The field
 * within it: "s" for a session's state, "f:HEX(FLOW)" for one of its
 * flows, "c" for a connection. Lengths, 0 when the buffer is too small. */
size_t replica_store_key(const char *cluster, const struct replica_item *item, char *out, size_t size);
size_t replica_store_field(const struct replica_item *item, char *out, size_t size);
/* What a resync scans for: "sara:CLUSTER:[sc]:*". */
size_t replica_store_pattern(const char *cluster, char *out, size_t size);
/* The key of a dispatcher's hello line, and its channel: "sara:CLUSTER:hello",
 * "sara:CLUSTER:replica". */
size_t replica_hello_key(const char *cluster, char *out, size_t size);
size_t replica_channel(const char *cluster, char *out, size_t size);

/* The hello a dispatcher leaves in its store for its peers to check
 * before they take anything from it: "sara-replica FORMAT cluster=NAME
 * key=HEX servers=HEX sender=N". */
struct replica_hello {
	unsigned format;
	char cluster[SARA_ID_MAX * 2];
	struct replica_digest key, servers;
	uint32_t sender;
};
size_t replica_hello_format(const struct replica_hello *h, char *out, size_t size);
bool replica_hello_parse(const char *text, size_t len, struct replica_hello *out);

enum replica_hello_check {
	REPLICA_HELLO_MATCH = 0,
	REPLICA_HELLO_OTHER_FORMAT,
	REPLICA_HELLO_OTHER_CLUSTER,
	REPLICA_HELLO_OTHER_KEY,
	REPLICA_HELLO_OTHER_SERVERS,
	REPLICA_HELLO_OTHER_SENDER,
};
/* Whether the peer's hello (theirs) agrees with ours; expect_sender is the
 * id the peer must have. */
enum replica_hello_check replica_hello_compare(const struct replica_hello *ours, const struct replica_hello *theirs,
						 uint32_t expect_sender);
const char *replica_hello_check_text(enum replica_hello_check check);

#endif
