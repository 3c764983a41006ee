/* engine_journal.h - the engine's sessions as the journal sees them (in
 * engine.c, which owns the tables): every change to what a restart needs
 * told through hooks, the whole table walked for a compaction, and a
 * journaled session re-created pinned to its server. */
#ifndef SARA_ENGINE_JOURNAL_H
#define SARA_ENGINE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/session_record.h"

/* Called under whatever serialises the engine, in the order things
 * happen. A record's server is an index (server_id empty): the adapter
 * names it. */
struct engine_journal_hooks {
	void *ctx;
	/* A session created, or changed in what a restart needs: its server,
	 * key, confirmation or media streams. Once per packet, announcement or
	 * failover at most, each time with a higher version. */
	void (*session_changed)(void *ctx, const struct session_record *rec);
	/* A flow a session decided: a media flow seen for the first time (the
	 * kernel may forward it by its connmark from now on), or an RTSP
	 * session's control connection. */
	void (*flow_decided)(void *ctx, const struct session_flow_record *rec);
	/* A session ended or expired: final for its serial. */
	void (*session_ended)(void *ctx, uint64_t serial);
	/* A signalling TCP connection pinned to a server with no session of
	 * its own (SIP over TCP: its calls follow it), and its end. */
	void (*connection_pinned)(void *ctx, const struct connection_record *rec);
	void (*connection_closed)(void *ctx, const struct flow_key *key);
};

/* NULL turns the journal's hooks off. */
void engine_set_journal(struct engine *engine, const struct engine_journal_hooks *hooks);

/* A compaction's walk: tells session_changed (with a new version) and
 * flow_decided for every session, then connection_pinned for every pinned
 * connection, in the slots from *cursor on (sessions' then flows'), at
 * most max_slots of them per call; *cursor moves on. True once the walk
 * has reached the end of both tables. */
bool engine_journal_walk(struct engine *engine, uint32_t *cursor, uint32_t max_slots);

/* The serial the next session will get; raised (never lowered) to serial
 * before restoring, so that a restart never hands out a serial again. */
uint64_t engine_next_serial(const struct engine *engine);
void engine_raise_next_serial(struct engine *engine, uint64_t serial);

/* A server the running table lacks but journaled sessions name (removed
 * while sarad was down): back on a slot as retired, so that its sessions
 * drain there. The slot, or -1 with err (server_slots_add_retired). */
int engine_add_retired_server(struct engine *engine, const struct server_config *srv, char *err, size_t err_size);

enum engine_restore {
	ENGINE_RESTORED = 0,
	ENGINE_RESTORE_NO_SERVER,   /* rec->server names no server of the running table */
	ENGINE_RESTORE_DUPLICATE,   /* a session with this key (or serial) exists */
	ENGINE_RESTORE_TABLE_FULL,
	ENGINE_RESTORE_INVALID,     /* a key or stream the engine cannot hold */
};

/* Re-creates a journaled session: its serial (later sessions get higher
 * ones), key, server (rec->server, an index), confirmation and streams,
 * its decided flows (seen media flows, kept alive while the kernel carries
 * them; its RTSP connection, pinned to the server, reassembled from the
 * next segment on) and the predictions its streams make. It is taken as
 * active now. Journal hooks are not called. */
enum engine_restore engine_restore_session(struct engine *engine, const struct session_record *rec,
					   const struct session_flow_record *flows, size_t flow_count);
/* Re-creates a journaled connection pinned to rec->server (an index): its
 * next segment resynchronises reassembly, its calls follow it. */
enum engine_restore engine_restore_connection(struct engine *engine, const struct connection_record *rec);

#endif
