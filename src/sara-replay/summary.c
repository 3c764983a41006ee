/* summary.c - the verdict on each replayed session, the run's totals and
 * the --check verdict. */
#include <stdio.h>

#include "sara-replay/summary.h"

uint64_t session_servers(const struct replay_records *recs, const struct session_record *s, bool *unmarked)
{
	uint64_t servers = 0;
	*unmarked = false;
	for (uint32_t i = s->first_flow; i != RECORD_NONE; i = recs->flows[i].next_of_session) {
		servers |= recs->flows[i].servers;
		*unmarked |= recs->flows[i].unmarked;
	}
	return servers;
}

enum session_state session_state(const struct replay *r, const struct session_record *s)
{
	bool unmarked;
	uint64_t servers = session_servers(&r->records, s, &unmarked);
	if (!unmarked && servers != 0 && (servers & (servers - 1)) == 0)
		return SESSION_INTACT;
	/* Observed: no packet of it reached a server (all lost on the way). */
	if (r->mode != REPLAY_PLAIN && servers == 0)
		return SESSION_UNREACHED;
	return SESSION_SPLIT;
}

bool session_has_flows(const struct session_record *s)
{
	return s->first_flow != RECORD_NONE;
}

bool flow_is_media(const struct flow_record *f)
{
	return f->identity == FLOW_SECONDARY || f->identity == FLOW_UNPREDICTED || f->identity == FLOW_ANNOUNCED;
}

static void count_session(const struct replay *r, const struct session_record *s, struct replay_summary *sum)
{
	bool unmarked;
	uint64_t servers = session_servers(&r->records, s, &unmarked);
	sum->sessions++;
	switch (session_state(r, s)) {
	case SESSION_INTACT: sum->intact++; break;
	case SESSION_UNREACHED: sum->unreached++; break;
	case SESSION_SPLIT: sum->split++; break;
	}
	for (unsigned b = 0; b < r->cfg->server_count; b++)
		if (servers & (1ull << b))
			sum->per_server_sessions[b]++;
	for (uint32_t i = s->first_flow; i != RECORD_NONE; i = r->records.flows[i].next_of_session) {
		const struct flow_record *f = &r->records.flows[i];
		if (!flow_is_media(f))
			continue;
		sum->media++;
		if (f->identity == FLOW_UNPREDICTED)
			sum->unpredicted++;
		else
			sum->predicted++;
	}
}

void summary_compute(const struct replay *r, struct replay_summary *sum)
{
	*sum = (struct replay_summary){ 0 };
	for (uint32_t i = 0; i < r->records.session_count; i++)
		if (session_has_flows(&r->records.sessions[i]))
			count_session(r, &r->records.sessions[i], sum);
}

bool summary_check(const struct replay *r, const struct replay_summary *sum, char *why, size_t why_size)
{
	if (sum->split == 0 && sum->unreached == 0 && sum->unpredicted == 0)
		return true;
	if (r->mode == REPLAY_PLAIN)
		snprintf(why, why_size, "check failed: %llu split sessions, %llu unpredicted media flows",
			 (unsigned long long)sum->split, (unsigned long long)sum->unpredicted);
	else
		snprintf(why, why_size, "check failed: %llu split sessions, %llu unreached sessions, "
					"%llu unpredicted media flows",
			 (unsigned long long)sum->split, (unsigned long long)sum->unreached,
			 (unsigned long long)sum->unpredicted);
	return false;
}
