/* summary.h - what a replay's records say: each session intact, split or
 * unreached, the totals, and the --check verdict. No I/O. */
#ifndef SARA_REPLAY_SUMMARY_H
#define SARA_REPLAY_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sara-replay/replay.h"

enum session_state {
	SESSION_INTACT,      /* every packet at one server */
	SESSION_SPLIT,       /* at several servers, or some at none */
	SESSION_UNREACHED,   /* observed modes: no packet reached a server */
};

struct replay_summary {
	uint64_t sessions, intact, split, unreached;
	uint64_t media, predicted, unpredicted;          /* media flows of the sessions */
	uint64_t per_server_sessions[SARA_MAX_SERVERS];  /* sessions with a packet there */
};

/* The servers a session's packets went to (bit i: server i); *unmarked
 * when a packet went to none. Needs the chains attribute_flows makes. */
uint64_t session_servers(const struct replay_records *recs, const struct session_record *s, bool *unmarked);
enum session_state session_state(const struct replay *r, const struct session_record *s);
/* Whether a session has any flow (the report lists only those). */
bool session_has_flows(const struct session_record *s);
/* A flow of the kinds counted as media: announced, secondary, unpredicted. */
bool flow_is_media(const struct flow_record *f);

/* Totals over the sessions that have flows, after replay_finish. */
void summary_compute(const struct replay *r, struct replay_summary *sum);
/* --check: true when no session is split or unreached and no media went
 * unpredicted; otherwise false with "check failed: ..." in why. */
bool summary_check(const struct replay *r, const struct replay_summary *sum, char *why, size_t why_size);

#endif
