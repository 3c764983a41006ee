/* session_store_redis.h - session replication through Redis: this
 * dispatcher's decisions written to its own Redis (a hash per session, a
 * PUBLISH per decision on the cluster's channel) by one thread fed from a
 * bounded ring; one thread per peer that checks the peer's hello,
 * SUBSCRIBEs to its channel, reads (resyncs) its store and hands every
 * authentic record to the owner. Never writes a peer's Redis. */
#ifndef SARA_SESSION_STORE_REDIS_H
#define SARA_SESSION_STORE_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpi/netaddr.h"
#include "engine/config.h"
#include "engine/counters.h"
#include "engine/replica_codec.h"
#include "io/replica_ring.h"
#include "io/secret_file.h"

#define SESSION_STORE_TTL_S 86400u         /* a key nobody ends (its writer died) goes after a day */
#define SESSION_STORE_BATCH 256u           /* records per pipelined round trip */
#define SESSION_STORE_BATCH_MIN 64u        /* fewer wait for the batch in flight to be stored */
#define SESSION_STORE_WAIT_MS 2u           /* the writer looks at the queue at least this often */
#define SESSION_STORE_CONNECT_MS 500u
#define SESSION_STORE_BACKOFF_MIN_MS 100u
#define SESSION_STORE_BACKOFF_MAX_MS 2000u
#define SESSION_STORE_MAX_SKEW_MS 10000u   /* a published record older than this is stale */

/* Where a record came from. */
enum replica_source {
	REPLICA_FROM_OWN_STORE,    /* this dispatcher's store, read at start */
	REPLICA_FROM_PEER_STORE,   /* a peer's store, read when its channel was joined */
	REPLICA_FROM_PEER,         /* a peer's channel, as it decided */
};

/* The owner's side: apply takes a verified record (servers by id); count
 * adds to the owner's counters (any thread). */
struct session_store_sink {
	void *ctx;
	void (*apply)(void *ctx, const struct replica_item *item, enum replica_source from);
	void (*count)(void *ctx, enum counter_id id, uint64_t n);
};

struct session_store_peer {
	uint32_t id;                  /* its sender id: its index in ha.dispatchers + 1 */
	struct endpoint at;           /* its Redis */
};

struct session_store_config {
	char cluster[SARA_ID_MAX * 2];
	struct wire_key key;
	struct replica_digest servers;
	uint32_t self_id;
	struct endpoint self;         /* this dispatcher's Redis */
	unsigned peer_count;
	struct session_store_peer peers[SARA_MAX_DISPATCHERS];
	uint32_t queue;               /* the ring's capacity */
	char password[SECRET_FILE_MAX + 1];   /* every store's AUTH; empty: none */
};

struct session_store;

/* The store, its queue allocated, nothing started: the sink may put
 * into it once it is run. NULL with err when out of memory. */
struct session_store *session_store_create(const struct session_store_config *cfg,
					   const struct session_store_sink *sink, char *err, size_t err_size);
/* Reads this dispatcher's own store into the sink (what it held before a
 * restart of sarad alone), leaves its hello there, and starts the writer
 * and one thread per peer. False with err when a thread cannot start
 * (then session_store_stop); an unreachable Redis is not an error (logged,
 * retried). */
bool session_store_run(struct session_store *s, char *err, size_t err_size);
/* Both of the above. */
struct session_store *session_store_start(const struct session_store_config *cfg,
					  const struct session_store_sink *sink, char *err, size_t err_size);
/* A decision for the writer: publish (this dispatcher's) or only stored
 * (a peer's, applied here). Never blocks; false when the ring is full
 * (counted: replica_queue_drops). */
bool session_store_put(struct session_store *s, const struct replica_item *item, bool publish);
/* Decisions not written yet (the batch being written included). */
uint32_t session_store_pending(struct session_store *s);
/* The server list changed (a reload): records are sealed with, and peers'
 * records checked against, the new digest; the hello is written again. */
void session_store_set_servers(struct session_store *s, const struct replica_digest *servers);
/* Stops every thread (what the ring still holds is written first when the
 * store answers within a second) and frees. */
void session_store_stop(struct session_store *s);

/* For tests and benchmarks: the records read by the last resync of each
 * peer (index in cfg->peers), and how long it took. */
struct session_store_resync {
	uint64_t records, ms;
	bool done;
};
void session_store_resync_of(struct session_store *s, unsigned peer, struct session_store_resync *out);

#endif
