/* records.h - sara-replay's flow and session records (where each one's
 * packets went), in first-packet order, with hash indexes. No I/O. */
#ifndef SARA_REPLAY_RECORDS_H
#define SARA_REPLAY_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

#include "dpi/flow_key.h"
#include "engine/engine.h"
#include "engine/hash.h"

/* A record's place in its table, or none. */
#define RECORD_NONE UINT32_MAX

/* Where an inbound packet went: a server index, or one of these. */
#define LOCATION_VERDICT (-2)  /* plain replay: the engine's verdict says */
#define LOCATION_NOWHERE (-1)  /* observed mode: no server captured it */

/* Packets of one inbound flow attributed to one session (0: none yet). */
struct flow_record {
	struct flow_key key;
	uint64_t session;
	uint64_t packets;
	uint64_t servers;        /* bit i: a packet went to server i */
	uint64_t first_us;
	uint8_t identity;        /* enum flow_identity of the first attributed packet */
	bool looks_rtp;          /* first payload has RTP/RTCP version 2 */
	bool unmarked;           /* a packet went to no server */
	bool merged;             /* folded into a session's record */
	uint32_t next_of_session;
};

struct session_record {
	uint64_t serial;
	uint8_t proto;
	char key[SESSION_KEY_MAX];
	int server;              /* the engine's choice, or ENGINE_NO_SERVER */
	uint64_t first_us, last_us;
	uint32_t first_flow;     /* chain through flow_record.next_of_session */
	int first_observed;      /* observed mode: server of its first packet seen there */
	bool has_unpredicted;
};

/* Open addressing over record positions: a slot holds position + 1, 0 is free. */
struct record_index {
	uint32_t *slots;
	uint32_t mask;
};

struct replay_records {
	struct hash_key hash_key;
	uint64_t max_records;    /* per table */
	bool out_of_memory;      /* a record was refused: the tables are incomplete */
	struct flow_record *flows;
	uint32_t flow_count, flow_capacity;
	struct record_index flow_index;
	struct session_record *sessions;
	uint32_t session_count, session_capacity;
	struct record_index session_index;
};

/* Empty tables hashed with key, each holding at most max_records. */
void records_init(struct replay_records *recs, const struct hash_key *key, uint64_t max_records);
void records_free(struct replay_records *recs);

/* The record of (flow, session), created (zeroed, chained to nothing) when
 * create is set. RECORD_NONE when absent, or when creating fails on the
 * capacity or memory (out_of_memory is then set). */
uint32_t records_flow(struct replay_records *recs, const struct flow_key *key, uint64_t session, bool create);
/* The record of session serial; a new one has no server, no observed
 * server and no flows. RECORD_NONE as for records_flow. */
uint32_t records_session(struct replay_records *recs, uint64_t serial, bool create);

#endif
