/* attribution.c - the pass after a replay: TCP handshakes into their
 * sessions, lost media to its client's session, each session's flow chain. */
#include <string.h>

#include "sara-replay/attribution.h"

/* Records are in first-packet order, so the first claimant comes first. */
static void merge_tcp_handshakes(struct replay_records *recs)
{
	for (uint32_t i = 0; i < recs->flow_count; i++) {
		struct flow_record *owner = &recs->flows[i];
		struct flow_record *early;
		uint32_t id;
		if (owner->session == 0 || owner->key.l4 != L4_TCP)
			continue; /* a UDP flow's sessionless datagrams stay unassigned */
		id = records_flow(recs, &owner->key, 0, false);
		if (id == RECORD_NONE || recs->flows[id].merged)
			continue;
		early = &recs->flows[id];
		owner->packets += early->packets;
		owner->servers |= early->servers;
		owner->unmarked |= early->unmarked;
		early->merged = true;
	}
}

/* The latest session from f's client address whose signalling had begun
 * when f started, or RECORD_NONE. */
static uint32_t session_of_client(struct replay_records *recs, const struct flow_record *f)
{
	uint32_t best = RECORD_NONE;
	for (uint32_t j = 0; j < recs->flow_count; j++) {
		const struct flow_record *g = &recs->flows[j];
		uint32_t sid;
		if (g->session == 0 || g->identity != FLOW_SIGNALLING || g->key.family != f->key.family ||
		    memcmp(g->key.src, f->key.src, 16) != 0)
			continue;
		sid = records_session(recs, g->session, false);
		if (sid == RECORD_NONE || recs->sessions[sid].first_us > f->first_us)
			continue;
		if (best == RECORD_NONE || recs->sessions[sid].first_us > recs->sessions[best].first_us)
			best = sid;
	}
	return best;
}

static void assign_lost_media(struct replay_records *recs)
{
	for (uint32_t i = 0; i < recs->flow_count; i++) {
		struct flow_record *f = &recs->flows[i];
		uint32_t sid;
		if (f->session != 0 || f->merged)
			continue;
		/* Only what looks like RTP/RTCP counts as a session's lost media. */
		if (f->key.l4 != L4_UDP || f->identity != FLOW_UNPREDICTED || !f->looks_rtp)
			continue;
		sid = session_of_client(recs, f);
		if (sid != RECORD_NONE) {
			f->session = recs->sessions[sid].serial;
			recs->sessions[sid].has_unpredicted = true;
		}
	}
}

/* Walking the records backwards and pushing each on its session's chain
 * leaves every chain in record order. */
static void chain_session_flows(struct replay_records *recs)
{
	for (uint32_t i = 0; i < recs->session_count; i++)
		recs->sessions[i].first_flow = RECORD_NONE;
	for (uint32_t i = recs->flow_count; i-- > 0;) {
		struct flow_record *f = &recs->flows[i];
		uint32_t sid;
		if (f->merged || f->session == 0)
			continue;
		sid = records_session(recs, f->session, false);
		if (sid == RECORD_NONE)
			continue;
		f->next_of_session = recs->sessions[sid].first_flow;
		recs->sessions[sid].first_flow = i;
	}
}

void attribute_flows(struct replay_records *recs)
{
	merge_tcp_handshakes(recs);
	assign_lost_media(recs);
	chain_session_flows(recs);
}
