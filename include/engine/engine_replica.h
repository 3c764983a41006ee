/* engine_replica.h - the engine's sessions as its peer dispatchers see them
 * (in engine.c, which owns the tables): every decision told through hooks
 * as it is made, and a peer's decisions applied here, keyed by the
 * session's key (serials are each engine's own). What is applied is never
 * told back. */
#ifndef SARA_ENGINE_REPLICA_H
#define SARA_ENGINE_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/session_record.h"

/* Called under whatever serialises the engine, when the journal's hooks
 * are (engine_journal.h), but never for a compaction's walk nor for what a
 * peer's record changed. A record's server is an index: the adapter names
 * it. */
struct engine_replica_hooks {
	void *ctx;
	/* A session created or changed (a higher version each time). */
	void (*session_changed)(void *ctx, const struct session_record *rec);
	/* A flow the session (proto, key) decided. */
	void (*flow_decided)(void *ctx, uint8_t proto, const char *key, size_t key_len,
			     const struct session_flow_record *rec);
	/* A session ended: expired (idle here; its peers may still see it) or
	 * ended by its signalling (final everywhere). */
	void (*session_ended)(void *ctx, uint8_t proto, const char *key, size_t key_len, bool expired);
	/* A signalling TCP connection pinned without a session, and its end
	 * here (closed or expired). */
	void (*connection_pinned)(void *ctx, const struct connection_record *rec);
	void (*connection_closed)(void *ctx, const struct flow_key *key);
};

/* NULL turns them off. */
void engine_set_replica(struct engine *engine, const struct engine_replica_hooks *hooks);

enum engine_replica_result {
	ENGINE_REPLICA_ADOPTED = 0,  /* a session (or connection) new here, pinned to the peer's server */
	ENGINE_REPLICA_UPDATED,      /* a newer version of a session known here */
	ENGINE_REPLICA_ENDED,        /* a session known here ended */
	ENGINE_REPLICA_STALE,        /* not newer than what is known here: ignored */
	ENGINE_REPLICA_UNKNOWN,      /* an end or a flow of a session not known here */
	ENGINE_REPLICA_NO_SERVER,    /* the server named is not on the running table */
	ENGINE_REPLICA_TABLE_FULL,
	ENGINE_REPLICA_INVALID,
	ENGINE_REPLICA_RESULT_COUNT
};

/* A peer's session state (rec->server an index of this engine's table):
 * adopted with a serial of this engine's when the key is new here, or
 * replacing server, confirmation and streams when rec->version is higher
 * than the version known here (its predictions rebuilt, its idle timer
 * restarted). */
enum engine_replica_result engine_replica_session(struct engine *engine, const struct session_record *rec);
/* A flow a peer's session decided, added to the session of that key. */
enum engine_replica_result engine_replica_flow(struct engine *engine, uint8_t proto, const char *key,
					       size_t key_len, const struct session_flow_record *rec);
/* A session a peer's signalling ended, ended here too. */
enum engine_replica_result engine_replica_end(struct engine *engine, uint8_t proto, const char *key,
					      size_t key_len);
/* A connection a peer pinned (rec->server an index). */
enum engine_replica_result engine_replica_connection(struct engine *engine, const struct connection_record *rec);

const char *engine_replica_result_name(enum engine_replica_result result);

#endif
