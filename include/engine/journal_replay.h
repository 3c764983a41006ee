/* journal_replay.h - what a session journal says is still alive: the file
 * images (a compaction's previous file first) read record by record into
 * the live sessions (each one's latest state), their flows and the servers
 * they name, with an account of every byte that could not be trusted. */
#ifndef SARA_JOURNAL_REPLAY_H
#define SARA_JOURNAL_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/journal_codec.h"

#define JOURNAL_REPLAY_FLOWS_MAX 16     /* per session; more are dropped (counted) */
#define JOURNAL_REPLAY_SERVERS_MAX 256

enum journal_image_status {
	JOURNAL_IMAGE_OK = 0,       /* read to its end, maybe with a torn tail or corrupt bytes */
	JOURNAL_IMAGE_EMPTY,        /* no bytes at all */
	JOURNAL_IMAGE_NOT_JOURNAL,  /* no magic: not a sara journal */
	JOURNAL_IMAGE_BAD_HEADER,   /* magic, but no readable header record */
	JOURNAL_IMAGE_VERSION,      /* another format version */
	JOURNAL_IMAGE_CLUSTER,      /* another cluster's journal */
	JOURNAL_IMAGE_NO_MEMORY,
};

/* What one image held. Records after the first corrupt one are not read:
 * their framing cannot be trusted. */
struct journal_image_report {
	enum journal_image_status status;
	struct journal_header header;   /* when the header was read */
	uint64_t records;               /* good records (the header included) */
	size_t good_bytes;              /* the image's trusted prefix */
	size_t torn_bytes;              /* an incomplete record at the end */
	size_t corrupt_offset;          /* where the first corrupt record starts */
	size_t corrupt_bytes;           /* from there to the end, ignored */
};

struct journal_replay;

struct journal_replay *journal_replay_create(void);
void journal_replay_destroy(struct journal_replay *r);

/* Reads one image of the journal of cluster (images in the order they were
 * written). Returns report->status; anything but JOURNAL_IMAGE_OK and
 * _EMPTY left the replay unchanged. */
enum journal_image_status journal_replay_add(struct journal_replay *r, const uint8_t *buf, size_t len,
					     const char *cluster, struct journal_image_report *report);

/* Ends the reading: the live sessions sorted and their flows gathered.
 * False when out of memory. */
bool journal_replay_finish(struct journal_replay *r);

/* After journal_replay_finish: the sessions still alive after every image,
 * each one's record with the highest version and the flows recorded for it,
 * in serial order (the order they were created). */
size_t journal_replay_session_count(const struct journal_replay *r);
const struct session_record *journal_replay_session(const struct journal_replay *r, size_t i,
						    const struct session_flow_record **flows, size_t *flow_count);
/* After journal_replay_finish: the signalling TCP connections still
 * pinned (the last record of each key, unless it ended). */
size_t journal_replay_connection_count(const struct journal_replay *r);
const struct connection_record *journal_replay_connection(const struct journal_replay *r, size_t i);

/* Above every serial the images name (their headers' next serial
 * included): where a restarted engine's serials go on from. */
uint64_t journal_replay_next_serial(const struct journal_replay *r);
/* The last record of server id, or NULL. */
const struct server_record *journal_replay_server(const struct journal_replay *r, const char *id);

struct journal_replay_stats {
	uint64_t sessions_seen, sessions_ended, flows_dropped, servers_dropped;
};
void journal_replay_get_stats(const struct journal_replay *r, struct journal_replay_stats *out);

const char *journal_image_status_text(enum journal_image_status status);

#endif
