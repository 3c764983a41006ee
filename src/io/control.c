/* control.c - sarad's control commands (control.h): one command line in,
 * checked against the command table (control_commands.h), one JSON
 * document out. The socket that carries them is control_socket.c. */
#include "io/control.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/admission.h"
#include "engine/flow_table.h"
#include "io/heap_text.h"
#include "io/status_counters.h"

#define COMMAND_MAX CONTROL_COMMAND_MAX
#define JSON_MAX (4u << 20)   /* a status document never grows past this */
#define COMMAND_WORDS 12      /* "sessions --server ID --limit N --key K --client A" and room */
#define ERROR_TEXT_MAX 4096   /* an error message, with every server id listed */
/* A session listing is the one reply that grows with the table: it stops
 * (truncated, "size") before passing SESSIONS_JSON_MAX, so even --limit
 * CONTROL_SESSIONS_LIMIT_MAX with hostile keys stays bounded. */
#define SESSIONS_JSON_MAX (32u << 20)
/* The most one listed session can take: its key escaped (\u00XX, six bytes
 * per byte), its server id, and the numbers and names around them. */
#define SESSION_JSON_WORST (6u * SESSION_KEY_MAX + 6u * SARA_ID_MAX + 384u)
#define SESSIONS_TAIL_ROOM 512u /* the counts after the list */
#define JSON_DEPTH_MAX 8        /* nesting of the deepest reply, with room */
#define SESSION_FLOWS_MAX 64    /* flows shown of one session (sessions --key); more are counted */

/* ---- a bounded JSON text buffer ---- */

struct json {
	char *text;
	size_t len, cap;
	size_t max;           /* 0: JSON_MAX */
	bool failed;
	bool need_comma;      /* a value was written at the current nesting level */
	char closers[JSON_DEPTH_MAX];   /* what ends each open object or array, innermost last */
	unsigned depth;
};

static void json_raw(struct json *j, const char *s, size_t n)
{
	if (!j->failed && !heap_text_append(&j->text, &j->len, &j->cap, s, n, 1024, j->max ? j->max : JSON_MAX))
		j->failed = true;
}

static void json_printf(struct json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void json_printf(struct json *j, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		json_raw(j, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Every byte outside printable ASCII is written as \u00XX: session keys
 * come from the wire and need not be UTF-8, and the reply must stay valid
 * JSON (a client reads each \u00XX back as the byte XX). */
static void json_string(struct json *j, const char *s)
{
	json_raw(j, "\"", 1);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };
			json_raw(j, esc, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			json_printf(j, "\\u%04x", c);
		} else {
			json_raw(j, s, 1);
		}
	}
	json_raw(j, "\"", 1);
}

static void json_sep(struct json *j)
{
	if (j->need_comma)
		json_raw(j, ", ", 2);
	j->need_comma = true;
}

static void json_key(struct json *j, const char *key)
{
	json_sep(j);
	json_string(j, key);
	json_raw(j, ": ", 2);
}

static void json_open(struct json *j, const char *key, char bracket)
{
	if (key)
		json_key(j, key);
	else
		json_sep(j);
	json_raw(j, &bracket, 1);
	j->need_comma = false;
	if (j->depth == JSON_DEPTH_MAX)
		j->failed = true;
	else
		j->closers[j->depth++] = bracket == '{' ? '}' : ']';
}

/* Ends the innermost open object or array. */
static void json_close(struct json *j)
{
	if (j->depth == 0)
		return;
	json_raw(j, &j->closers[--j->depth], 1);
	j->need_comma = true;
}

static void json_u64(struct json *j, const char *key, uint64_t value)
{
	json_key(j, key);
	json_printf(j, "%llu", (unsigned long long)value);
}

/* The document with what is still open closed (malloc'd), or NULL when it
 * did not fit. */
static char *json_finish(struct json *j)
{
	while (j->depth > 0)
		json_close(j);
	json_raw(j, "\n", 1);
	if (j->failed) {
		free(j->text);
		return NULL;
	}
	return j->text;
}

static void json_bool(struct json *j, const char *key, bool value)
{
	json_key(j, key);
	json_raw(j, value ? "true" : "false", value ? 4 : 5);
}

static void json_null(struct json *j, const char *key)
{
	json_key(j, key);
	json_raw(j, "null", 4);
}

/* A fraction or weight with three decimals; null when not a number. */
static void json_real(struct json *j, const char *key, double value)
{
	json_key(j, key);
	if (isfinite(value))
		json_printf(j, "%.3f", value);
	else
		json_raw(j, "null", 4);
}

static void json_counter(void *ctx, const struct counter_def *def, uint64_t value)
{
	json_u64(ctx, def->name, value);
}

/* scope's reported counters, as members of the object open in j. */
static void json_counters(struct json *j, const struct counter_set *set, enum counter_scope scope)
{
	counters_visit(set, scope, COUNTERS_REPORTED, json_counter, j);
}

/* scope's reported counters as an object named key. */
static void json_counter_object(struct json *j, const char *key, const struct counter_set *set,
				enum counter_scope scope)
{
	json_open(j, key, '{');
	json_counters(j, set, scope);
	json_close(j);
}

/* ---- status ---- */

void control_kernel_queue_stats(uint16_t num, struct kernel_queue_stats *out)
{
	FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "r");
	unsigned long q;
	memset(out, 0, sizeof(*out));
	if (!f)
		return;
	while (fscanf(f, "%lu %lu %lu %lu %lu %lu %lu %lu %*d", &q, &out->portid, &out->waiting, &out->copy_mode,
		      &out->copy_range, &out->dropped, &out->user_dropped, &out->id_sequence) == 8) {
		if (q == num) {
			out->found = true;
			break;
		}
	}
	fclose(f);
}

static void status_engine(struct json *j, const struct control_view *v)
{
	struct counter_set set;
	status_counters_engine_view(v, &set);
	json_counter_object(j, "engine", &set, COUNTER_SCOPE_ENGINE_STATS);
	json_counter_object(j, "counters", &set, COUNTER_SCOPE_ENGINE);
}

static void json_thresholds(struct json *j, const char *key, const struct admission_thresholds *t)
{
	json_open(j, key, '{');
	json_real(j, "t1", t->t1);
	json_real(j, "t2", t->t2);
	json_real(j, "t3", t->t3);
	json_real(j, "c", t->c);
	json_close(j);
}

/* SA2C: where x stands, the thresholds as moved, and every decision. */
static void status_admission(struct json *j, const struct control_view *v)
{
	enum admission_policy policy;
	struct counter_set set = { 0 };
	struct admission adm;
	unsigned server_count;
	/* All copied under the lock: a reload (SIGHUP) may change them. */
	if (v->engine_lock)
		pthread_mutex_lock(v->engine_lock);
	adm = *engine_admission(v->engine);
	policy = engine_config(v->engine)->admission.policy;
	server_count = engine_config(v->engine)->server_count;
	if (v->engine_lock)
		pthread_mutex_unlock(v->engine_lock);
	json_open(j, "admission", '{');
	json_bool(j, "enabled", adm.enabled);
	json_key(j, "policy");
	json_string(j, admission_policy_name(policy));
	json_key(j, "zone");
	json_string(j, admission_zone_name(admission_zone(&adm)));
	json_real(j, "load", adm.load);
	json_real(j, "cluster_load", adm.cluster_load);
	json_real(j, "dispatcher_load", adm.dispatcher_load);
	json_real(j, "rate_limit", adm.rate_limit);
	json_real(j, "rate_tokens", adm.tokens);
	json_real(j, "answer_window", admission_answer_window(&adm));
	json_real(j, "answers_awaited", (double)admission_awaited(&adm));
	json_real(j, "server_answer_window", admission_server_window(&adm));
	/* by server, in the configuration's order */
	json_open(j, "server_answers_awaited", '[');
	for (unsigned i = 0; adm.window_per_server && i < server_count; i++) {
		json_sep(j);
		json_printf(j, "%u", admission_server_awaited(&adm, (int)i));
	}
	json_close(j);
	json_real(j, "oc_reduction", admission_client_reduction(&adm));
	json_real(j, "new_session_load", admission_new_session_load(&adm));
	json_real(j, "lead_s", adm.lead_s);
	json_real(j, "load_per_session", adm.load_per_session);
	json_real(j, "refuse_new_p", admission_refusal_probability(&adm, ADMIT_NEW_SESSION));
	json_real(j, "refuse_established_p", admission_refusal_probability(&adm, ADMIT_ESTABLISHED));
	json_real(j, "reopen_s", adm.reopen_s);
	json_real(j, "refuse_new_floor", adm.refuse_new_floor);
	json_thresholds(j, "thresholds", &adm.current);
	json_thresholds(j, "configured", &adm.configured);
	admission_get_counters(&adm, &set);
	json_counter_object(j, "counters", &set, COUNTER_SCOPE_ADMISSION);
	json_close(j);
}

static void status_verdicts(struct json *j, const struct verdict_counts *vc)
{
	struct counter_set set = { 0 };
	status_counters_verdicts(vc, &set);
	json_open(j, "verdicts", '{');
	json_counter_object(j, "accept", &set, COUNTER_SCOPE_VERDICT_ACCEPT);
	json_counter_object(j, "drop", &set, COUNTER_SCOPE_VERDICT_DROP);
	json_counters(j, &set, COUNTER_SCOPE_VERDICTS);
	json_close(j);
}

static void status_queues(struct json *j, const struct control_view *v)
{
	json_open(j, "queues", '[');
	for (unsigned i = 0; i < v->queue_count; i++) {
		struct nfqueue_stats st;
		struct kernel_queue_stats k;
		struct counter_set set = { 0 };
		memset(&st, 0, sizeof(st));
		if (v->queues && v->queues[i])
			nfqueue_get_stats(v->queues[i], &st);
		control_kernel_queue_stats(v->queue_nums[i], &k);
		status_counters_queue(&st, &k, &set);
		json_open(j, NULL, '{');
		json_u64(j, "num", v->queue_nums[i]);
		json_counters(j, &set, COUNTER_SCOPE_QUEUE);
		if (k.found)
			json_counters(j, &set, COUNTER_SCOPE_KERNEL_QUEUE);
		json_close(j);
	}
	json_close(j);
}

static void status_announcements(struct json *j, const struct control_view *v)
{
	struct counter_set set;
	json_open(j, "announcements", '{');
	if (!v->announcements) {
		json_key(j, "enabled");
		json_raw(j, "false", 5);
		json_close(j);
		return;
	}
	sealed_listener_get_counters(v->announcements, &set);
	json_key(j, "enabled");
	json_raw(j, "true", 4);
	if (v->announce_listen) {
		json_key(j, "listen");
		json_string(j, v->announce_listen);
	}
	json_counters(j, &set, COUNTER_SCOPE_ANNOUNCE);
	json_counter_object(j, "rejects", &set, COUNTER_SCOPE_ANNOUNCE_REJECT);
	json_close(j);
}

/* The node agents' listener and each server's health as sarad sees it. */
static void status_agents(struct json *j, const struct control_view *v, uint64_t now)
{
	struct counter_set set;
	json_open(j, "agents", '{');
	json_key(j, "enabled");
	if (!v->agents) {
		json_raw(j, "false", 5);
		json_close(j);
		return;
	}
	json_raw(j, "true", 4);
	if (v->agents_listen) {
		json_key(j, "listen");
		json_string(j, v->agents_listen);
	}
	sealed_listener_get_counters(v->agents, &set);
	json_counters(j, &set, COUNTER_SCOPE_AGENTS);
	json_counter_object(j, "rejects", &set, COUNTER_SCOPE_AGENT_REJECT);
	json_open(j, "health", '{');
	if (v->health)
		json_counters(j, server_health_counters(v->health), COUNTER_SCOPE_HEALTH);
	json_close(j);
	json_close(j);

	json_open(j, "servers", '[');
	for (unsigned i = 0; i < agent_listener_server_count(v->agents); i++) {
		struct server_health_info info;
		if (!v->health || !server_health_get(v->health, i, now, &info) || !agent_listener_server_id(v->agents, i)[0])
			continue;   /* a free slot of the running table */
		json_open(j, NULL, '{');
		json_key(j, "id");
		json_string(j, agent_listener_server_id(v->agents, i));
		json_key(j, "state");
		json_string(j, server_state_name(info.state));
		json_key(j, "cause");
		json_string(j, server_cause_name(info.cause));
		json_key(j, "heard");
		json_raw(j, info.heard ? "true" : "false", info.heard ? 4 : 5);
		json_u64(j, "last_heartbeat_age_ms", info.last_beat_age_ms);
		json_key(j, "weight_factor");
		json_printf(j, "%.3f", info.weight_factor);
		json_key(j, "load");
		if (info.has_load)
			json_printf(j, "%.4f", info.load);
		else
			json_raw(j, "null", 4);
		json_u64(j, "hold_down_ms", info.hold_down_ms);
		json_u64(j, "heartbeats", info.heartbeats);
		json_u64(j, "heartbeats_lost", info.lost);
		json_u64(j, "loads", info.loads);
		json_close(j);
	}
	json_close(j);
}

static void status_conntrack(struct json *j, const struct control_view *v)
{
	struct ct_marks_stats st;
	struct counter_set set = { 0 };
	if (!v->ct)
		return;
	ct_marks_get_stats(v->ct, &st);
	status_counters_conntrack(&st, &set);
	json_counter_object(j, "conntrack", &set, COUNTER_SCOPE_CONNTRACK);
}

char *control_status_json(const struct control_view *v)
{
	struct json j = { 0 };
	uint64_t now = v->now_ms ? v->now_ms() : v->started_ms;
	json_open(&j, NULL, '{');
	json_key(&j, "cluster");
	json_string(&j, v->cluster ? v->cluster : "");
	json_u64(&j, "uptime_s", now >= v->started_ms ? (now - v->started_ms) / 1000u : 0);
	if (v->engine) {
		status_engine(&j, v);
		status_admission(&j, v);
	}
	if (v->verdicts)
		status_verdicts(&j, v->verdicts);
	status_queues(&j, v);
	status_announcements(&j, v);
	status_agents(&j, v, now);
	status_conntrack(&j, v);
	json_open(&j, "daemon", '{');
	if (v->visit_daemon_counters)
		v->visit_daemon_counters(v->daemon_ctx, COUNTERS_REPORTED, json_counter, &j);
	return json_finish(&j);
}

/* ---- command lines and replies ---- */

/* A command line split into blank-separated words (up to the line end). */
struct command_line {
	char text[COMMAND_MAX];
	const char *words[COMMAND_WORDS];
	unsigned count;
	bool too_many;
};

static void command_split(const char *line, size_t len, struct command_line *out)
{
	size_t n = 0;
	char *p;
	memset(out, 0, sizeof(*out));
	while (n < len && n + 1 < sizeof(out->text) && line[n] != '\r' && line[n] != '\n' && line[n] != '\0') {
		out->text[n] = line[n];
		n++;
	}
	out->text[n] = '\0';
	for (p = out->text; *p;) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			break;
		if (out->count == COMMAND_WORDS) {
			out->too_many = true;
			break;
		}
		out->words[out->count++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
}

/* {"ok": false, "error": "..."} */
static char *reply_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *reply_error(const char *fmt, ...)
{
	struct json j = { 0 };
	char message[ERROR_TEXT_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	json_open(&j, NULL, '{');
	json_bool(&j, "ok", false);
	json_key(&j, "error");
	json_string(&j, message);
	return json_finish(&j);
}

static void engine_lock(const struct control_view *v)
{
	if (v->engine_lock)
		pthread_mutex_lock(v->engine_lock);
}

static void engine_unlock(const struct control_view *v)
{
	if (v->engine_lock)
		pthread_mutex_unlock(v->engine_lock);
}

/* The index of the server called id, or -1 with err saying which ids exist. */
static int find_server(const struct control_view *v, const char *id, char *err, size_t err_size)
{
	const struct sara_config *cfg;
	int found = -1;
	size_t used;
	engine_lock(v);
	cfg = engine_config(v->engine);
	for (unsigned i = 0; i < cfg->server_count && found < 0; i++)
		if (cfg->servers[i].id[0] && strcmp(cfg->servers[i].id, id) == 0)
			found = (int)i;
	if (found < 0) {
		used = (size_t)snprintf(err, err_size, "no server \"%s\"; servers:", id);
		for (unsigned i = 0; i < cfg->server_count && used < err_size; i++)
			used += (size_t)snprintf(err + used, err_size - used, "%s %s", i ? "," : "",
						 cfg->servers[i].id);
	}
	engine_unlock(v);
	return found;
}

/* ---- servers ---- */

/* One server, gathered in steps so that no two locks are ever held. */
struct server_row {
	struct server_config cfg;
	struct engine_server_info engine;
	bool has_health;
	struct server_health_info health;
	int drained;                  /* -1: no is_drained callback */
};

static char *command_servers(const struct control_view *v)
{
	struct server_row *rows = calloc(SARA_MAX_SERVERS, sizeof(*rows));
	uint64_t now = v->now_ms ? v->now_ms() : v->started_ms;
	struct json j = { 0 };
	unsigned count;
	char *reply = NULL;

	if (!rows)
		return NULL;
	engine_lock(v);
	count = engine_config(v->engine)->server_count;
	for (unsigned i = 0; i < count; i++) {
		rows[i].cfg = engine_config(v->engine)->servers[i];
		engine_server_info(v->engine, i, &rows[i].engine);
	}
	engine_unlock(v);
	for (unsigned i = 0; i < count; i++) {
		/* Health was made from the same configuration: same indices. */
		if (v->health)
			rows[i].has_health = server_health_get(v->health, i, now, &rows[i].health);
		rows[i].drained = v->is_drained ? v->is_drained(v->daemon_ctx, i) : -1;
	}

	json_open(&j, NULL, '{');
	json_bool(&j, "agents", v->agents != NULL);
	json_open(&j, "servers", '[');
	for (unsigned i = 0; i < count; i++) {
		const struct server_row *r = &rows[i];
		char address[NETADDR_STRLEN];
		if (!r->cfg.id[0])
			continue;   /* a free slot of the running table */
		json_open(&j, NULL, '{');
		json_key(&j, "id");
		json_string(&j, r->cfg.id);
		json_key(&j, "address");
		json_string(&j, netaddr_format(&r->cfg.address, address, sizeof(address)));
		if (r->cfg.address6.family) {
			json_key(&j, "address6");
			json_string(&j, netaddr_format(&r->cfg.address6, address, sizeof(address)));
		}
		json_u64(&j, "mark", r->cfg.mark);
		json_u64(&j, "table", r->cfg.table);
		json_real(&j, "weight", r->cfg.weight);
		json_real(&j, "weight_factor", r->engine.weight_factor);
		json_bool(&j, "available", r->engine.available);
		if (r->drained < 0)
			json_null(&j, "drained");
		else
			json_bool(&j, "drained", r->drained);
		/* removed by a reload, its sessions draining */
		json_bool(&j, "removed", r->cfg.retired);
		json_key(&j, "state");
		json_string(&j, r->cfg.retired ? "removed" : r->has_health ? server_state_name(r->health.state) : "unknown");
		json_key(&j, "cause");
		json_string(&j, r->has_health ? server_cause_name(r->health.cause) : "no agents");
		if (r->has_health && r->health.heard)
			json_u64(&j, "last_heartbeat_age_ms", r->health.last_beat_age_ms);
		else
			json_null(&j, "last_heartbeat_age_ms");
		json_u64(&j, "sessions", r->engine.sessions);
		if (r->engine.load_estimate >= 0)
			json_real(&j, "load_estimate", r->engine.load_estimate);
		else
			json_null(&j, "load_estimate");
		json_close(&j);
	}
	reply = json_finish(&j);
	free(rows);
	return reply;
}

/* ---- sessions ---- */

/* What the engine's walk copies out, under engine_lock; formatted after. */
struct session_listing {
	int server;                   /* only this server's sessions; -1: all */
	const struct netaddr *client; /* only this client's sessions; NULL: all */
	struct session_info *list;
	uint32_t capacity, listed;
	uint64_t matched;
};

static bool pick_session(void *ctx, const struct session_info *session)
{
	struct session_listing *p = ctx;
	if (p->server >= 0 && session->server != p->server)
		return true;
	if (p->client && !netaddr_equal(&session->client, p->client))
		return true;
	p->matched++;
	if (p->listed < p->capacity)
		p->list[p->listed++] = *session;
	return true;
}

static bool parse_limit(const char *text, uint32_t *out)
{
	char *end;
	unsigned long n;
	if (!text || *text < '0' || *text > '9')
		return false;
	errno = 0;
	n = strtoul(text, &end, 10);
	if (errno || *end || n > CONTROL_SESSIONS_LIMIT_MAX)
		return false;
	*out = (uint32_t)n;
	return true;
}

/* The session's client address, or null. */
static void json_client(struct json *j, const struct netaddr *client)
{
	char text[NETADDR_STRLEN];
	if (client->family)
		json_string(j, netaddr_format(client, text, sizeof(text)));
	else
		json_raw(j, "null", 4);
}

/* A server index as its id, or null. */
static void json_server_id(struct json *j, const char *key, int server, char ids[][SARA_ID_MAX], unsigned count)
{
	if (server >= 0 && (unsigned)server < count) {
		json_key(j, key);
		json_string(j, ids[server]);
	} else {
		json_null(j, key);
	}
}

/* What every session entry says, listing or detail. */
static void json_session_head(struct json *j, const struct session_info *s, char ids[][SARA_ID_MAX],
			      unsigned server_count, uint64_t now)
{
	json_u64(j, "serial", s->serial);
	json_key(j, "proto");
	json_string(j, proto_name((enum proto_id)s->proto));
	json_key(j, "key");
	json_string(j, s->key);
	json_key(j, "client");
	json_client(j, &s->client);
	json_server_id(j, "server", s->server, ids, server_count);
	json_u64(j, "flows", s->flow_count);
	json_bool(j, "confirmed", s->confirmed);
	json_bool(j, "ending", s->ending);
	json_u64(j, "age_ms", now > s->created_ms ? now - s->created_ms : 0);
	json_u64(j, "idle_ms", now > s->last_seen_ms ? now - s->last_seen_ms : 0);
}

/* The server ids, copied under the lock (a reload may rename nothing, but
 * the copy keeps formatting outside it). Returns the server count. */
static unsigned copy_server_ids(const struct control_view *v, char ids[][SARA_ID_MAX])
{
	const struct sara_config *cfg = engine_config(v->engine);
	for (unsigned i = 0; i < cfg->server_count; i++)
		memcpy(ids[i], cfg->servers[i].id, SARA_ID_MAX);
	return cfg->server_count;
}

/* ---- sessions --key: one session in full ---- */

struct session_detail {
	struct session_info info;
	uint32_t flow_count;                      /* all it has; the first SESSION_FLOWS_MAX are kept */
	struct flow_info flows[SESSION_FLOWS_MAX];
};

/* One end of a flow: "addr:port", "addr:*" for any port, "*" when the
 * prediction does not know it (flow_match). */
static void flow_end(const struct flow_info *f, bool source, char *buf, size_t size)
{
	bool known = source ? f->match != MATCH_TO_DEST : f->match != MATCH_FROM_SOURCE;
	struct endpoint e;
	char addr[NETADDR_STRLEN];
	if (!known) {
		snprintf(buf, size, "*");
		return;
	}
	if (source)
		flow_key_src(&f->key, &e);
	else
		flow_key_dst(&f->key, &e);
	if (source && f->match == MATCH_TO_DEST_FROM_ADDR) {
		snprintf(buf, size, "%s%s%s:*", e.addr.family == NETADDR_IPV6 ? "[" : "",
			 netaddr_format(&e.addr, addr, sizeof(addr)), e.addr.family == NETADDR_IPV6 ? "]" : "");
		return;
	}
	endpoint_format(&e, buf, size);
}

static void json_flow(struct json *j, const struct flow_info *f, char ids[][SARA_ID_MAX], unsigned server_count,
		      uint64_t now)
{
	char text[ENDPOINT_STRLEN + 8];
	json_open(j, NULL, '{');
	json_key(j, "kind");
	json_string(j, flow_identity_name((enum flow_identity)f->identity));
	json_key(j, "transport");
	json_string(j, f->key.l4 == L4_TCP ? "tcp" : "udp");
	json_key(j, "src");
	flow_end(f, true, text, sizeof(text));
	json_string(j, text);
	json_key(j, "dst");
	flow_end(f, false, text, sizeof(text));
	json_string(j, text);
	json_key(j, "match");
	json_string(j, flow_match_name(f->match));
	json_server_id(j, "server", f->server, ids, server_count);
	json_key(j, "state");
	json_string(j, flow_status_name((enum flow_status)f->status));
	json_u64(j, "packets", f->packets);
	json_u64(j, "idle_ms", now > f->last_seen_ms ? now - f->last_seen_ms : 0);
	json_bool(j, "shared", f->shared);
	json_close(j);
}

/* Which server, and why: how it was chosen and what the selector knew. */
static void json_pick(struct json *j, const struct session_pick *p, char ids[][SARA_ID_MAX], unsigned server_count,
		      uint64_t now)
{
	json_open(j, "pick", '{');
	json_key(j, "how");
	json_string(j, session_pick_how_name(p->how));
	json_key(j, "algorithm");
	json_string(j, p->how == PICK_MOVED ? "even" : selection_algorithm_name((enum selection_algorithm)p->algorithm));
	if (p->load >= 0)
		json_real(j, "load", p->load);
	else
		json_null(j, "load");
	json_real(j, "weight", p->weight);
	json_u64(j, "sessions", p->sessions);
	json_server_id(j, "from_server", p->from_server, ids, server_count);
	json_u64(j, "age_ms", now > p->at_ms ? now - p->at_ms : 0);
	json_close(j);
}

static char *session_by_key(const struct control_view *v, const char *key)
{
	char ids[SARA_MAX_SERVERS][SARA_ID_MAX];
	struct session_detail *found = calloc(PROTO_COUNT, sizeof(*found));
	struct session_info infos[PROTO_COUNT];
	uint64_t now = v->now_ms ? v->now_ms() : v->started_ms;
	struct json j = { 0 };
	unsigned count, server_count;
	char *reply;

	if (!found)
		return NULL;
	engine_lock(v);
	server_count = copy_server_ids(v, ids);
	count = engine_find_sessions(v->engine, key, strlen(key), infos, PROTO_COUNT);
	for (unsigned i = 0; i < count; i++) {
		found[i].info = infos[i];
		found[i].flow_count = engine_session_flows(v->engine, &infos[i], found[i].flows, SESSION_FLOWS_MAX);
	}
	engine_unlock(v);

	json_open(&j, NULL, '{');
	json_key(&j, "key");
	json_string(&j, key);
	json_u64(&j, "matched", count);
	json_open(&j, "sessions", '[');
	for (unsigned i = 0; i < count; i++) {
		const struct session_detail *d = &found[i];
		uint32_t listed = d->flow_count < SESSION_FLOWS_MAX ? d->flow_count : SESSION_FLOWS_MAX;
		json_open(&j, NULL, '{');
		json_session_head(&j, &d->info, ids, server_count, now);
		json_pick(&j, &d->info.pick, ids, server_count, now);
		json_open(&j, "flow_list", '[');
		for (uint32_t f = 0; f < listed; f++)
			json_flow(&j, &d->flows[f], ids, server_count, now);
		json_close(&j);
		json_u64(&j, "flows_listed", listed);
		json_u64(&j, "flows_total", d->flow_count);
		json_close(&j);
	}
	reply = json_finish(&j);
	free(found);
	return reply;
}

/* ---- sessions: the listing ---- */

static char *command_sessions(const struct control_view *v, const struct control_args *args)
{
	char ids[SARA_MAX_SERVERS][SARA_ID_MAX];
	char err[ERROR_TEXT_MAX];
	struct session_listing pick = { .server = -1 };
	struct engine_stats st;
	struct json j = { .max = SESSIONS_JSON_MAX };
	struct netaddr client;
	uint32_t limit = CONTROL_SESSIONS_LIMIT_DEFAULT, written = 0;
	uint64_t now = v->now_ms ? v->now_ms() : v->started_ms;
	const char *filter = args->values[CONTROL_SESSIONS_SERVER], *cut = NULL;
	const char *limit_text = args->values[CONTROL_SESSIONS_LIMIT];
	const char *key = args->values[CONTROL_SESSIONS_KEY], *client_text = args->values[CONTROL_SESSIONS_CLIENT];
	unsigned server_count;
	char *reply = NULL;

	if (key) {
		if (filter || limit_text || client_text)
			return reply_error("sessions: --key names one session; it takes no other option");
		return session_by_key(v, key);
	}
	if (limit_text && !parse_limit(limit_text, &limit))
		return reply_error("sessions: --limit \"%s\": not a number 0-%u", limit_text,
				   (unsigned)CONTROL_SESSIONS_LIMIT_MAX);
	if (client_text) {
		if (!netaddr_parse(span_make(client_text, strlen(client_text)), &client))
			return reply_error("sessions: --client \"%s\": not an IPv4 or IPv6 address", client_text);
		pick.client = &client;
	}
	if (filter && (pick.server = find_server(v, filter, err, sizeof(err))) < 0)
		return reply_error("%s", err);

	/* Copy under the lock, format without it: the queue threads wait on
	 * engine_lock, and copying is much quicker than printing. */
	engine_lock(v);
	engine_get_stats(v->engine, &st);
	server_count = copy_server_ids(v, ids);
	pick.capacity = limit < st.sessions_in_use ? limit : st.sessions_in_use;
	pick.list = pick.capacity ? malloc((size_t)pick.capacity * sizeof(*pick.list)) : NULL;
	if (pick.capacity && !pick.list) {
		engine_unlock(v);
		return NULL;
	}
	engine_foreach_session(v->engine, pick_session, &pick);
	engine_unlock(v);

	json_open(&j, NULL, '{');
	json_open(&j, "sessions", '[');
	for (uint32_t i = 0; i < pick.listed; i++) {
		if (j.len + SESSION_JSON_WORST + SESSIONS_TAIL_ROOM > SESSIONS_JSON_MAX) {
			cut = "size";
			break;
		}
		json_open(&j, NULL, '{');
		json_session_head(&j, &pick.list[i], ids, server_count, now);
		json_close(&j);
		written++;
	}
	json_close(&j);
	if (!cut && written < pick.matched)
		cut = "limit";
	json_u64(&j, "total", st.sessions_in_use);
	json_u64(&j, "matched", pick.matched);
	json_u64(&j, "listed", written);
	json_u64(&j, "limit", limit);
	if (filter) {
		json_key(&j, "server");
		json_string(&j, filter);
	}
	if (client_text) {
		json_key(&j, "client");
		json_client(&j, &client);
	}
	json_bool(&j, "truncated", cut != NULL);
	if (cut) {
		json_key(&j, "truncated_by");
		json_string(&j, cut);
	}
	reply = json_finish(&j);
	free(pick.list);
	return reply;
}

/* ---- refused ---- */

static const char *refusal_action_name(const struct refusal *r)
{
	if (r->action == VERDICT_DROP)
		return "dropped";
	return r->marked ? "accepted" : "accepted_unmarked";
}

static void json_wall_time(struct json *j, const char *key, uint64_t wall_ms)
{
	time_t secs = (time_t)(wall_ms / 1000u);
	struct tm tm;
	char text[40];
	gmtime_r(&secs, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
	json_key(j, key);
	json_printf(j, "\"%s.%03uZ\"", text, (unsigned)(wall_ms % 1000u));
}

static void json_refusal(struct json *j, const struct refusal *r, uint64_t now)
{
	char text[ENDPOINT_STRLEN];
	struct endpoint e;
	json_open(j, NULL, '{');
	json_wall_time(j, "time", r->wall_ms);
	json_u64(j, "age_ms", now > r->mono_ms ? now - r->mono_ms : 0);
	json_key(j, "transport");
	json_string(j, r->key.l4 == L4_TCP ? "tcp" : r->key.l4 == L4_UDP ? "udp" : "ip");
	flow_key_src(&r->key, &e);
	json_key(j, "client");
	json_string(j, endpoint_format(&e, text, sizeof(text)));
	flow_key_dst(&r->key, &e);
	json_key(j, "vip");
	json_string(j, endpoint_format(&e, text, sizeof(text)));
	json_key(j, "reason");
	json_string(j, refusal_reason_name(r->reason));
	json_key(j, "action");
	json_string(j, refusal_action_name(r));
	json_key(j, "reply");
	if (r->action == VERDICT_DROP && r->reply == REPLY_SIP_503)
		json_string(j, "sip_503");
	else if (r->action == VERDICT_DROP && r->reply == REPLY_TCP_RESET)
		json_string(j, "tcp_reset");
	else
		json_raw(j, "null", 4);
	json_close(j);
}

static char *command_refused(const struct control_view *v, const struct control_args *args)
{
	const char *since_text = args->values[CONTROL_REFUSED_SINCE];
	uint64_t now = v->now_ms ? v->now_ms() : v->started_ms;
	uint64_t counts[VERDICT_REASON_COUNT], total = 0;
	uint32_t since = CONTROL_REFUSED_SINCE_DEFAULT;
	struct refusal *list;
	struct json j = { 0 };
	unsigned listed;
	char *reply;

	if (!v->refusals)
		return reply_error("refused: this sarad records no refusals");
	if (since_text && (!parse_limit(since_text, &since) || since < 1 || since > CONTROL_REFUSED_SINCE_MAX))
		return reply_error("refused: --since \"%s\": not a number of seconds 1-%u", since_text,
				   (unsigned)CONTROL_REFUSED_SINCE_MAX);
	list = malloc(REFUSAL_RING * sizeof(*list));
	if (!list)
		return NULL;
	listed = refusal_log_read(v->refusals, now, since, counts, list, REFUSAL_RING);

	json_open(&j, NULL, '{');
	json_u64(&j, "since_s", since);
	json_open(&j, "counts", '{');
	for (unsigned r = 0; r < VERDICT_REASON_COUNT; r++) {
		if (!refusal_reason(r))
			continue;
		json_u64(&j, refusal_reason_name(r), counts[r]);
		total += counts[r];
	}
	json_close(&j);
	json_u64(&j, "total", total);
	json_open(&j, "refusals", '[');
	for (unsigned i = 0; i < listed; i++)
		json_refusal(&j, &list[i], now);
	json_close(&j);
	json_u64(&j, "listed", listed);
	/* The ring keeps the latest REFUSAL_RING: older ones of the window are only counted. */
	json_u64(&j, "not_listed", total > listed ? total - listed : 0);
	reply = json_finish(&j);
	free(list);
	return reply;
}

/* ---- drain, undrain ---- */

static char *command_drain(const struct control_view *v, const char *id, bool drain)
{
	const char *name = drain ? "drain" : "undrain";
	char err[ERROR_TEXT_MAX];
	struct engine_server_info info;
	struct json j = { 0 };
	bool drained;
	int server;

	if (!v->set_drain)
		return reply_error("%s: not supported by this sarad", name);
	server = find_server(v, id, err, sizeof(err));
	if (server < 0)
		return reply_error("%s", err);
	err[0] = '\0';
	if (v->set_drain(v->daemon_ctx, (unsigned)server, drain, err, sizeof(err)) != 0)
		return reply_error("%s %s: %s", name, id, err[0] ? err : "failed");
	drained = v->is_drained ? v->is_drained(v->daemon_ctx, (unsigned)server) : drain;
	engine_lock(v);
	engine_server_info(v->engine, (unsigned)server, &info);
	engine_unlock(v);

	json_open(&j, NULL, '{');
	json_bool(&j, "ok", true);
	json_key(&j, "server");
	json_string(&j, id);
	json_bool(&j, "drained", drained);
	json_u64(&j, "sessions", info.sessions);  /* the ones that stay */
	return json_finish(&j);
}

/* {"error": why, "commands": [every command's name]} */
static char *reply_unknown(const char *why)
{
	struct json j = { 0 };
	unsigned count;
	const struct control_command *cmds = control_commands(&count);
	json_open(&j, NULL, '{');
	json_key(&j, "error");
	json_string(&j, why);
	json_open(&j, "commands", '[');
	for (unsigned i = 0; i < count; i++) {
		json_sep(&j);
		json_string(&j, cmds[i].name);
	}
	return json_finish(&j);
}

static char *answer_status(const struct control_view *v, const struct control_args *args)
{
	(void)args;
	return control_status_json(v);
}

static char *answer_ping(const struct control_view *v, const struct control_args *args)
{
	(void)v;
	(void)args;
	return strdup("{\"pong\": true}\n");
}

static char *answer_servers(const struct control_view *v, const struct control_args *args)
{
	(void)args;
	return command_servers(v);
}

static char *answer_drain(const struct control_view *v, const struct control_args *args)
{
	return command_drain(v, args->operand, true);
}

static char *answer_undrain(const struct control_view *v, const struct control_args *args)
{
	return command_drain(v, args->operand, false);
}

/* What answers each command of the table. */
typedef char *(*answer_fn)(const struct control_view *v, const struct control_args *args);
static const answer_fn answers[CONTROL_COMMAND_COUNT] = {
	[CONTROL_STATUS] = answer_status,
	[CONTROL_SERVERS] = answer_servers,
	[CONTROL_SESSIONS] = command_sessions,
	[CONTROL_DRAIN] = answer_drain,
	[CONTROL_UNDRAIN] = answer_undrain,
	[CONTROL_REFUSED] = command_refused,
	[CONTROL_PING] = answer_ping,
};

char *control_handle_command(const struct control_view *view, const char *line, size_t len)
{
	const struct control_command *cmd;
	struct command_line words;
	struct control_args args;
	char err[ERROR_TEXT_MAX];

	command_split(line, len, &words);
	if (words.count == 0)
		return reply_unknown("empty command");
	cmd = control_command_find(words.words[0]);
	if (!cmd)
		return reply_unknown("unknown command");
	if (cmd->needs_engine && !view->engine)
		return reply_error("%s: no engine", cmd->name);
	if (words.too_many)
		return reply_error("%s: too many arguments", cmd->name);
	if (!control_command_parse(cmd, words.words + 1, words.count - 1, &args, err, sizeof(err)))
		return reply_error("%s", err);
	return answers[cmd->id](view, &args);
}
