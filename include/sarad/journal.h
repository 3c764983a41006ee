/* journal.h - sarad's session journal (state.journal): the engine's
 * journal hooks turned into records and written once per locked engine
 * call, before the verdicts of that call go out (one write(2); the page
 * cache survives a SIGKILL, so nothing is fsync'd on the packet path);
 * replayed into the engine at start with servers named by id (a server the
 * configuration no longer lists comes back retired, so that its sessions
 * drain); compacted at start, and in steps on the tick once it has grown.
 * Every function but open, settle and close runs under the engine's lock. */
#ifndef SARA_SARAD_JOURNAL_H
#define SARA_SARAD_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"
#include "engine/engine.h"
#include "engine/journal_replay.h"
#include "io/journal_file.h"
#include "io/log.h"
#include "sarad/daemon_counters.h"

#define JOURNAL_BATCH_WRITE (64u * 1024)    /* a batch this large is written at once */
#define JOURNAL_COMPACT_MIN (16ull << 20)   /* no compaction below this size */
#define JOURNAL_WALK_SLOTS 8192u            /* session slots walked per tick while compacting */

/* What the start found, for the log and the tests. */
struct journal_restore_report {
	bool read;                              /* the files could be read */
	struct journal_image_report previous, current;
	char set_aside[2][SARA_PATH_MAX + 48];  /* foreign files moved aside ("" when none) */
	uint64_t restored, dropped_no_server, dropped_other, servers_retired;
	uint64_t connections_restored, connections_dropped;
	uint64_t bytes_rejected;                /* torn, corrupt or foreign */
	uint64_t snapshot_bytes;                /* the compacted file */
};

struct session_journal {
	struct journal_file file;
	struct engine *engine;
	struct daemon_counters *counters;       /* may be NULL (tests) */
	char cluster[SARA_ID_MAX * 2];
	uint8_t *batch;                         /* records not written yet */
	size_t batch_len, batch_cap;
	uint64_t batch_records;
	bool snapshot;                          /* the start's compaction: the batch only grows */
	bool compacting;                        /* a compaction's walk is under way */
	uint32_t cursor;
	uint32_t walk_slots;                    /* per step: JOURNAL_WALK_SLOTS */
	uint64_t compact_at;                    /* the file size that starts the next one */
	uint64_t (*now_ms)(void);
	struct log_limit errors;
};

/* Opens cfg->state.journal: restores what it (and a compaction's previous
 * file) holds into engine, moves an unusable file aside, writes the
 * compacted file and starts journaling through the engine's hooks.
 * Returns NULL with err when the journal cannot be written (the sessions
 * it held may still have been restored: see report); sarad runs on
 * without. now_ms: for rate-limited errors; wall_ms: the header's date. */
struct session_journal *session_journal_open(const struct sara_config *cfg, struct engine *engine,
					     struct daemon_counters *counters, uint64_t (*now_ms)(void),
					     uint64_t wall_ms, struct journal_restore_report *report, char *err,
					     size_t err_size);
/* The records of the engine call just made, in one write(2). */
void session_journal_write(struct session_journal *j);
/* The servers of the running table, after a reload changed them. */
void session_journal_servers(struct session_journal *j);
/* A compaction's step (the tick): starts one once the file has grown past
 * compact_at, walks the next slots, writes. True when the walk is complete
 * and session_journal_settle is due (without the lock). */
bool session_journal_step(struct session_journal *j);
/* The compaction's end: the new file fsync'd, the previous one removed. */
void session_journal_settle(struct session_journal *j);
/* Unhooks from the engine (under the lock) and closes. */
void session_journal_close(struct session_journal *j);

#endif
