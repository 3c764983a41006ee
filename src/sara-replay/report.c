/* report.c - sara-replay's report of a finished run, as text or JSON. */
#include "sara-replay/report.h"

static const char *server_name(const struct replay *r, int server)
{
	return server >= 0 && (unsigned)server < r->cfg->server_count ? r->cfg->servers[server].id : "-";
}

/* The server a session is shown at: observed modes, where its first packet
 * arrived; otherwise the engine's choice. */
static int shown_server(const struct replay *r, const struct session_record *s)
{
	return r->mode != REPLAY_PLAIN ? s->first_observed : s->server;
}

static const char *flow_kind(const struct flow_record *f)
{
	return flow_identity_name((enum flow_identity)f->identity);
}

static const char *l4_name(const struct flow_record *f)
{
	return f->key.l4 == L4_TCP ? "tcp" : "udp";
}

static void flow_endpoints(const struct flow_record *f, char src[ENDPOINT_STRLEN], char dst[ENDPOINT_STRLEN])
{
	struct endpoint a, b;
	flow_key_src(&f->key, &a);
	flow_key_dst(&f->key, &b);
	endpoint_format(&a, src, ENDPOINT_STRLEN);
	endpoint_format(&b, dst, ENDPOINT_STRLEN);
}

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* ---- text ---- */

static void servers_text(const struct replay *r, const struct flow_record *f, FILE *out)
{
	bool first = true;
	for (unsigned i = 0; i < 64 && i < r->cfg->server_count; i++) {
		if (!(f->servers & (1ull << i)))
			continue;
		fprintf(out, "%s%s", first ? "" : ",", r->cfg->servers[i].id);
		first = false;
	}
	if (f->unmarked)
		fprintf(out, "%sunmarked", first ? "" : ",");
}

static void flow_text(const struct replay *r, const struct flow_record *f, bool with_kind, FILE *out)
{
	char src[ENDPOINT_STRLEN], dst[ENDPOINT_STRLEN];
	flow_endpoints(f, src, dst);
	fprintf(out, "  %s %s -> %s", l4_name(f), src, dst);
	if (with_kind)
		fprintf(out, " %s", flow_kind(f));
	fprintf(out, " packets %llu server ", (unsigned long long)f->packets);
	servers_text(r, f, out);
	fputc('\n', out);
}

static void sessions_text(const struct replay *r, FILE *out)
{
	static const char *const state_names[] = {
		[SESSION_INTACT] = "intact", [SESSION_SPLIT] = "SPLIT", [SESSION_UNREACHED] = "UNREACHED",
	};
	for (uint32_t i = 0; i < r->records.session_count; i++) {
		const struct session_record *s = &r->records.sessions[i];
		if (!session_has_flows(s))
			continue;
		fprintf(out, "session %s %s server %s %s\n", proto_name((enum proto_id)s->proto), s->key,
			server_name(r, shown_server(r, s)), state_names[session_state(r, s)]);
		for (uint32_t f = s->first_flow; f != RECORD_NONE; f = r->records.flows[f].next_of_session)
			flow_text(r, &r->records.flows[f], true, out);
	}
	for (uint32_t i = 0; i < r->records.flow_count; i++) {
		const struct flow_record *f = &r->records.flows[i];
		if (f->merged || f->session != 0)
			continue;
		fputs("unassigned\n", out);
		flow_text(r, f, false, out);
	}
}

static void counter_text(void *ctx, const struct counter_def *def, uint64_t value)
{
	fprintf((FILE *)ctx, " %s=%llu", def->name, (unsigned long long)value);
}

static void totals_text(const struct replay *r, const struct replay_summary *sum, bool verbose, FILE *out)
{
	bool observed = r->mode != REPLAY_PLAIN;
	for (unsigned b = 0; observed && b < r->cfg->server_count; b++) {
		if (!replay_server_observed(r, b))
			continue;
		fprintf(out, "server %s: sessions %llu packets %llu", r->cfg->servers[b].id,
			(unsigned long long)sum->per_server_sessions[b], (unsigned long long)r->tally[b].inbound);
		if (r->mode == REPLAY_MATCHED && r->tally[b].unmatched)
			fprintf(out, " unmatched %llu", (unsigned long long)r->tally[b].unmatched);
		fputc('\n', out);
	}
	fprintf(out, "sessions %llu intact %llu split %llu", (unsigned long long)sum->sessions,
		(unsigned long long)sum->intact, (unsigned long long)sum->split);
	if (observed)
		fprintf(out, " unreached %llu", (unsigned long long)sum->unreached);
	fprintf(out, "; media flows %llu predicted %llu unpredicted %llu\n", (unsigned long long)sum->media,
		(unsigned long long)sum->predicted, (unsigned long long)sum->unpredicted);
	if (!verbose)
		return;
	fprintf(out, "packets inbound %llu outbound %llu other %llu; announcements %llu\ncounters:",
		(unsigned long long)r->inbound, (unsigned long long)r->outbound, (unsigned long long)r->other,
		(unsigned long long)r->announcements);
	counters_visit(engine_counters(r->engine), COUNTER_SCOPE_ENGINE, COUNTERS_REPORTED, counter_text, out);
	fputs("\ngateway counters:", out);
	counters_visit(gateway_counters(r->gateway), COUNTER_SCOPE_GATEWAY, COUNTERS_REPORTED, counter_text, out);
	fputc('\n', out);
}

void report_text(const struct replay *r, const struct replay_summary *sum, bool verbose, FILE *out)
{
	sessions_text(r, out);
	totals_text(r, sum, verbose, out);
}

/* ---- JSON ---- */

static void servers_json(const struct replay *r, const struct flow_record *f, FILE *out)
{
	bool first = true;
	for (unsigned i = 0; i < 64 && i < r->cfg->server_count; i++) {
		if (!(f->servers & (1ull << i)))
			continue;
		fputs(first ? "" : ", ", out);
		json_string(out, r->cfg->servers[i].id);
		first = false;
	}
	if (f->unmarked)
		fprintf(out, "%snull", first ? "" : ", ");
}

static void flow_json(const struct replay *r, const struct flow_record *f, bool with_kind, bool first, FILE *out)
{
	char src[ENDPOINT_STRLEN], dst[ENDPOINT_STRLEN];
	flow_endpoints(f, src, dst);
	fprintf(out, "%s{\"l4\": \"%s\", \"src\": \"%s\", \"dst\": \"%s\"", first ? "" : ", ", l4_name(f), src, dst);
	if (with_kind)
		fprintf(out, ", \"kind\": \"%s\"", flow_kind(f));
	fprintf(out, ", \"packets\": %llu, \"servers\": [", (unsigned long long)f->packets);
	servers_json(r, f, out);
	fputs("]}", out);
}

static void session_json(const struct replay *r, const struct session_record *s, bool first, FILE *out)
{
	enum session_state state = session_state(r, s);
	bool first_flow = true;
	fprintf(out, "%s\n  {\"proto\": \"%s\", \"key\": ", first ? "" : ",", proto_name((enum proto_id)s->proto));
	json_string(out, s->key);
	fprintf(out, ", \"server\": ");
	json_string(out, server_name(r, shown_server(r, s)));
	fprintf(out, ", \"intact\": %s", state == SESSION_INTACT ? "true" : "false");
	if (r->mode != REPLAY_PLAIN)
		fprintf(out, ", \"reached\": %s", state == SESSION_UNREACHED ? "false" : "true");
	fputs(", \"flows\": [", out);
	for (uint32_t f = s->first_flow; f != RECORD_NONE; f = r->records.flows[f].next_of_session) {
		flow_json(r, &r->records.flows[f], true, first_flow, out);
		first_flow = false;
	}
	fputs("]}", out);
}

static void sessions_json(const struct replay *r, FILE *out)
{
	bool first = true;
	fputs("{\"sessions\": [", out);
	for (uint32_t i = 0; i < r->records.session_count; i++) {
		if (!session_has_flows(&r->records.sessions[i]))
			continue;
		session_json(r, &r->records.sessions[i], first, out);
		first = false;
	}
	fputs("],\n \"unassigned_flows\": [", out);
	first = true;
	for (uint32_t i = 0; i < r->records.flow_count; i++) {
		const struct flow_record *f = &r->records.flows[i];
		if (f->merged || f->session != 0)
			continue;
		flow_json(r, f, false, first, out);
		first = false;
	}
	fputs("],\n", out);
}

static void per_server_json(const struct replay *r, const struct replay_summary *sum, FILE *out)
{
	bool first = true;
	fputs(" \"observed\": true, \"per_server\": {", out);
	for (unsigned b = 0; b < r->cfg->server_count; b++) {
		if (!replay_server_observed(r, b))
			continue;
		fputs(first ? "" : ", ", out);
		json_string(out, r->cfg->servers[b].id);
		fprintf(out, ": {\"sessions\": %llu, \"packets\": %llu, \"outbound\": %llu",
			(unsigned long long)sum->per_server_sessions[b], (unsigned long long)r->tally[b].inbound,
			(unsigned long long)r->tally[b].outbound);
		if (r->mode == REPLAY_MATCHED)
			fprintf(out, ", \"unmatched\": %llu", (unsigned long long)r->tally[b].unmatched);
		fputc('}', out);
		first = false;
	}
	fputs("},\n", out);
}

static void summary_json(const struct replay *r, const struct replay_summary *sum, FILE *out)
{
	fprintf(out, " \"summary\": {\"sessions\": %llu, \"intact\": %llu, \"split\": %llu, "
		     "\"media_flows\": %llu, \"predicted\": %llu, \"unpredicted\": %llu",
		(unsigned long long)sum->sessions, (unsigned long long)sum->intact, (unsigned long long)sum->split,
		(unsigned long long)sum->media, (unsigned long long)sum->predicted,
		(unsigned long long)sum->unpredicted);
	if (r->mode != REPLAY_PLAIN)
		fprintf(out, ", \"unreached\": %llu", (unsigned long long)sum->unreached);
	fputs("},\n", out);
	if (r->mode != REPLAY_PLAIN)
		per_server_json(r, sum, out);
}

struct counter_list {
	FILE *out;
	bool first;
};

static void counter_json(void *ctx, const struct counter_def *def, uint64_t value)
{
	struct counter_list *list = ctx;
	fprintf(list->out, "%s\"%s\": %llu", list->first ? "" : ", ", def->name, (unsigned long long)value);
	list->first = false;
}

static void totals_json(const struct replay *r, FILE *out)
{
	struct counter_list list = { out, true };
	fprintf(out, " \"packets\": {\"inbound\": %llu, \"outbound\": %llu, \"other\": %llu, "
		     "\"announcements\": %llu},\n \"counters\": {",
		(unsigned long long)r->inbound, (unsigned long long)r->outbound, (unsigned long long)r->other,
		(unsigned long long)r->announcements);
	fputs("\"engine\": {", out);
	counters_visit(engine_counters(r->engine), COUNTER_SCOPE_ENGINE, COUNTERS_REPORTED, counter_json, &list);
	fputs("}, \"gateway\": {", out);
	list.first = true;
	counters_visit(gateway_counters(r->gateway), COUNTER_SCOPE_GATEWAY, COUNTERS_REPORTED, counter_json, &list);
	fputs("}}}\n", out);
}

void report_json(const struct replay *r, const struct replay_summary *sum, FILE *out)
{
	sessions_json(r, out);
	summary_json(r, sum, out);
	totals_json(r, out);
}
