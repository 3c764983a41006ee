/* render.c - sarad's replies as text or JSON (render.h). */
#include "sara-ctl/render.h"

#include <stdlib.h>
#include <string.h>

#include "io/control_commands.h"
#include "sara-ctl/ctl.h"
#include "sara-ctl/json_reader.h"

#define TABLE_COLUMNS_MAX 16
#define CELL_MAX 192            /* a session key (127 bytes) and then some */
#define TOP_FIELDS_MAX 16
#define TOP_VALUE_MAX 4608      /* an error message listing every server id */

static void print_raw(FILE *out, const char *doc, size_t len)
{
	fwrite(doc, 1, len, out);
	if (doc[len - 1] != '\n')
		fputc('\n', out);
}

/* One element of a reply's list as a line of its own (sarad writes no
 * line break inside a reply). */
static void print_line(void *ctx, const char *elem, size_t len)
{
	FILE *out = ctx;
	fwrite(elem, 1, len, out);
	fputc('\n', out);
}

/* ---- status: "path: value" ---- */

/* "path: text" with the common escapes undone (\uXXXX is left as written). */
static void status_scalar(struct json_walk *w, const char *p, size_t len, bool string)
{
	static const char escapes[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	FILE *out = w->ctx;
	const char *end = p + len;
	if (!string) {
		fprintf(out, "%s: %.*s\n", w->path, (int)len, p);
		return;
	}
	fprintf(out, "%s: ", w->path);
	for (; p < end; p++) {
		const char *e;
		if (*p != '\\' || p + 1 == end) {
			fputc(*p, out);
			continue;
		}
		for (e = escapes; *e && *e != p[1]; e += 2)
			;
		if (*e) {
			fputc(e[1], out);
			p++;
		} else {
			fputc(*p, out);
		}
	}
	fputc('\n', out);
}

int render_status(const char *doc, size_t len, enum render_format format, FILE *out, FILE *err)
{
	/* One document: as it is, whether JSON or JSON lines were asked. */
	if (format != RENDER_TEXT) {
		print_raw(out, doc, len);
		return 0;
	}
	if (json_walk_document(doc, len, status_scalar, out))
		return 0;
	fflush(out);
	fprintf(err, "%s: sarad's status is not the JSON object expected; as received:\n", CTL_PROGRAM);
	print_raw(out, doc, len);
	return EXIT_FAILED;
}

/* ---- tables ---- */

/* One column of a text table: the JSON member it shows and how. */
enum cell_format { CELL_TEXT, CELL_YES_NO, CELL_SECONDS, CELL_FIXED2, CELL_SHARED };
struct table_column {
	const char *member, *header;
	enum cell_format format;
};

static const struct table_column server_columns[] = {
	{ "id", "ID", CELL_TEXT },
	{ "address", "ADDRESS", CELL_TEXT },
	{ "mark", "MARK", CELL_TEXT },
	{ "table", "TABLE", CELL_TEXT },
	{ "weight", "WEIGHT", CELL_FIXED2 },
	{ "weight_factor", "FACTOR", CELL_FIXED2 },
	{ "available", "AVAILABLE", CELL_YES_NO },
	{ "drained", "DRAINED", CELL_YES_NO },
	{ "state", "HEALTH", CELL_TEXT },
	{ "cause", "CAUSE", CELL_TEXT },
	{ "last_heartbeat_age_ms", "HEARTBEAT", CELL_SECONDS },
	{ "sessions", "SESSIONS", CELL_TEXT },
	{ "load_estimate", "LOAD", CELL_FIXED2 },
};

static const struct table_column session_columns[] = {
	{ "serial", "SERIAL", CELL_TEXT },
	{ "proto", "PROTO", CELL_TEXT },
	{ "client", "CLIENT", CELL_TEXT },
	{ "server", "SERVER", CELL_TEXT },
	{ "flows", "FLOWS", CELL_TEXT },
	{ "confirmed", "CONFIRMED", CELL_YES_NO },
	{ "ending", "ENDING", CELL_YES_NO },
	{ "age_ms", "AGE", CELL_SECONDS },
	{ "idle_ms", "IDLE", CELL_SECONDS },
	{ "key", "KEY", CELL_TEXT },
};

static const struct table_column flow_columns[] = {
	{ "kind", "KIND", CELL_TEXT },
	{ "transport", "PROTO", CELL_TEXT },
	{ "src", "SOURCE", CELL_TEXT },
	{ "dst", "DESTINATION", CELL_TEXT },
	{ "server", "SERVER", CELL_TEXT },
	{ "state", "STATE", CELL_TEXT },
	{ "packets", "PACKETS", CELL_TEXT },
	{ "idle_ms", "IDLE", CELL_SECONDS },
	{ "shared", "OWNED", CELL_SHARED },
};

static const struct table_column refusal_columns[] = {
	{ "time", "TIME", CELL_TEXT },
	{ "transport", "PROTO", CELL_TEXT },
	{ "client", "CLIENT", CELL_TEXT },
	{ "vip", "VIP", CELL_TEXT },
	{ "reason", "REASON", CELL_TEXT },
	{ "action", "ACTION", CELL_TEXT },
	{ "reply", "REPLY", CELL_TEXT },
};

/* A reply read twice: once to measure the columns, once to print. Top-level
 * scalars (error, counts...) are kept by name. */
struct reply_table {
	const char *array;                 /* "servers", "sessions"; "": none */
	const struct table_column *columns;
	unsigned column_count;
	FILE *out;
	bool printing;
	long row;                          /* index of the row being gathered, -1: none */
	unsigned rows;
	char cells[TABLE_COLUMNS_MAX][CELL_MAX];
	size_t widths[TABLE_COLUMNS_MAX];
	unsigned top_count;
	struct { char name[32]; char value[TOP_VALUE_MAX]; bool string; } top[TOP_FIELDS_MAX];
};

static void cell_format(const struct table_column *col, const char *p, size_t len, bool string, char *out,
			size_t size)
{
	char text[CELL_MAX];
	json_text(p, len, text, sizeof(text));
	if (!string && strcmp(text, "null") == 0) {
		snprintf(out, size, "-");
		return;
	}
	switch (col->format) {
	case CELL_YES_NO:
		snprintf(out, size, "%s", strcmp(text, "true") == 0 ? "yes" : strcmp(text, "false") == 0 ? "no" : text);
		return;
	case CELL_SECONDS:
		snprintf(out, size, "%.1fs", strtod(text, NULL) / 1000.0);
		return;
	case CELL_FIXED2:
		snprintf(out, size, "%.2f", strtod(text, NULL));
		return;
	case CELL_SHARED:
		snprintf(out, size, "%s", strcmp(text, "true") == 0 ? "shared" : "own");
		return;
	case CELL_TEXT:
		break;
	}
	snprintf(out, size, "%s", text);
}

/* Measures (first pass) or prints (second pass) one line of cells. */
static void table_line(struct reply_table *t, const char *const *cells)
{
	for (unsigned c = 0; c < t->column_count; c++) {
		bool last = c + 1 == t->column_count;
		if (!t->printing) {
			size_t n = strlen(cells[c]);
			if (n > t->widths[c])
				t->widths[c] = n;
		} else if (last) {
			fprintf(t->out, "%s\n", cells[c]);
		} else {
			fprintf(t->out, "%-*s  ", (int)t->widths[c], cells[c]);
		}
	}
}

static void table_flush_row(struct reply_table *t)
{
	const char *cells[TABLE_COLUMNS_MAX];
	if (t->row < 0)
		return;
	for (unsigned c = 0; c < t->column_count; c++)
		cells[c] = t->cells[c][0] ? t->cells[c] : "-";
	table_line(t, cells);
	memset(t->cells, 0, sizeof(t->cells));
	t->row = -1;
	t->rows++;
}

/* A top-level member: kept (first pass) for the summary and errors. */
static void table_top(struct reply_table *t, const char *path, const char *p, size_t len, bool string)
{
	size_t name_len = strlen(path);
	if (t->printing || t->top_count == TOP_FIELDS_MAX || name_len >= sizeof(t->top[0].name))
		return;
	memcpy(t->top[t->top_count].name, path, name_len + 1);
	json_text(p, len, t->top[t->top_count].value, sizeof(t->top[0].value));
	t->top[t->top_count++].string = string;
}

static void table_scalar(struct json_walk *w, const char *p, size_t len, bool string)
{
	struct reply_table *t = w->ctx;
	size_t array_len = strlen(t->array);
	const char *member;
	char *after;
	unsigned long index;

	if (!strchr(w->path, '.') && !strchr(w->path, '[')) {
		table_top(t, w->path, p, len, string);
		return;
	}
	if (strncmp(w->path, t->array, array_len) != 0 || w->path[array_len] != '[')
		return;
	index = strtoul(w->path + array_len + 1, &after, 10);
	if (after[0] != ']' || after[1] != '.')
		return;
	member = after + 2;
	if ((long)index != t->row) {
		table_flush_row(t);
		t->row = (long)index;
	}
	for (unsigned c = 0; c < t->column_count; c++)
		if (strcmp(t->columns[c].member, member) == 0)
			cell_format(&t->columns[c], p, len, string, t->cells[c], sizeof(t->cells[c]));
}

/* A top-level member's text, or NULL. */
static const char *reply_member(const struct reply_table *t, const char *name)
{
	for (unsigned i = 0; i < t->top_count; i++)
		if (strcmp(t->top[i].name, name) == 0)
			return t->top[i].value;
	return NULL;
}

static const char *member_or(const struct reply_table *t, const char *name)
{
	const char *value = reply_member(t, name);
	return value ? value : "?";
}

/* The second pass: headers, then array's rows. */
static bool table_print(struct reply_table *t, const char *doc, size_t len)
{
	const char *headers[TABLE_COLUMNS_MAX];
	bool ok;
	for (unsigned c = 0; c < t->column_count; c++)
		headers[c] = t->columns[c].header;
	t->printing = false;
	table_line(t, headers);
	t->printing = true;
	t->rows = 0;
	table_line(t, headers);
	ok = json_walk_document(doc, len, table_scalar, t);
	table_flush_row(t);
	return ok;
}

/* Both passes over a nested array's rows (sessions[0].flow_list). */
static bool table_render_rows(struct reply_table *t, const char *doc, size_t len)
{
	t->row = -1;
	if (!json_walk_document(doc, len, table_scalar, t))
		return false;
	table_flush_row(t);
	return table_print(t, doc, len);
}

/* Reads the reply into t (its top-level members, the widths of array's
 * rows), prints it raw with --json, reports an error reply, else prints
 * array's elements a line each with --json-lines, or the table when there
 * are columns. The caller prints what follows from t. */
static int render_table(struct reply_table *t, const char *doc, size_t len, enum render_format format, FILE *err)
{
	const char *error;
	t->row = -1;
	if (!json_walk_document(doc, len, table_scalar, t)) {
		fprintf(err, "%s: sarad's answer is not the JSON object expected; as received:\n", CTL_PROGRAM);
		print_raw(t->out, doc, len);
		return EXIT_FAILED;
	}
	table_flush_row(t);
	error = reply_member(t, "error");
	if (format == RENDER_JSON || (format == RENDER_JSON_LINES && (error || !t->array[0])))
		print_raw(t->out, doc, len);
	if (error) {
		fflush(t->out);
		fprintf(err, "%s: sarad: %s\n", CTL_PROGRAM, error);
		return EXIT_FAILED;
	}
	if (format == RENDER_JSON_LINES && t->array[0] &&
	    !json_array_elements(doc, len, t->array, print_line, t->out)) {
		fprintf(err, "%s: sarad's answer has no \"%s\" list\n", CTL_PROGRAM, t->array);
		return EXIT_FAILED;
	}
	if (format == RENDER_TEXT && t->column_count && !table_print(t, doc, len))
		return EXIT_FAILED;
	return 0;
}

static struct reply_table *table_new(const char *array, const struct table_column *columns, unsigned count,
				     FILE *out, FILE *err)
{
	struct reply_table *t = calloc(1, sizeof(*t));
	if (!t) {
		fprintf(err, "%s: out of memory\n", CTL_PROGRAM);
		return NULL;
	}
	t->array = array;
	t->columns = columns;
	t->column_count = count;
	t->out = out;
	return t;
}

int render_servers(const char *doc, size_t len, enum render_format format, FILE *out, FILE *err)
{
	struct reply_table *t = table_new("servers", server_columns,
					  sizeof(server_columns) / sizeof(server_columns[0]), out, err);
	int status = t ? render_table(t, doc, len, format, err) : EXIT_FAILED;
	free(t);
	return status;
}

int render_sessions(const char *doc, size_t len, enum render_format format, const char *server, const char *client,
		    FILE *out, FILE *err)
{
	struct reply_table *t = table_new("sessions", session_columns,
					  sizeof(session_columns) / sizeof(session_columns[0]), out, err);
	const char *matched, *truncated_by;
	int status = t ? render_table(t, doc, len, format, err) : EXIT_FAILED;

	if (status != 0 || format == RENDER_JSON)
		goto out;
	matched = reply_member(t, "matched");
	truncated_by = reply_member(t, "truncated_by");
	if (format == RENDER_TEXT)
		fprintf(out, "%s of %s sessions%s%s%s%s listed (%s in the table)\n", member_or(t, "listed"),
			matched ? matched : "?", server ? " of server " : "", server ? server : "",
			client ? " of client " : "", client ? client : "", member_or(t, "total"));
	fflush(out);
	if (truncated_by && strcmp(truncated_by, "size") == 0)
		fprintf(err, "%s: the listing stopped at sarad's size cap; narrow it with --server ID\n", CTL_PROGRAM);
	else if (truncated_by)
		fprintf(err, "%s: the listing stopped at --limit %s (at most %s; --server ID narrows it)\n",
			CTL_PROGRAM, member_or(t, "limit"), CONTROL_TEXT(CONTROL_SESSIONS_LIMIT_MAX));
out:
	free(t);
	return status;
}

int render_drain(const char *doc, size_t len, enum render_format format, const char *server, FILE *out, FILE *err)
{
	struct reply_table *t = table_new("", NULL, 0, out, err);
	const char *drained;
	int status = t ? render_table(t, doc, len, format, err) : EXIT_FAILED;

	if (status != 0 || format != RENDER_TEXT)
		goto out;
	drained = reply_member(t, "drained");
	if (drained && strcmp(drained, "true") == 0)
		fprintf(out, "server %s drained: no new sessions; its %s current sessions stay\n", server,
			member_or(t, "sessions"));
	else
		fprintf(out, "server %s undrained: takes new sessions (%s current)\n", server, member_or(t, "sessions"));
out:
	free(t);
	return status;
}

/* ---- sessions --key: each session, its server and why, its flows ---- */

#define DETAIL_SESSIONS_MAX 4     /* one per protocol, and room */
#define DETAIL_FIELDS_MAX 32
#define DETAIL_PREFIX_MAX 32      /* "sessions[1]." */

/* A session's own members ("key", "pick.load"), kept by name. */
struct detail_fields {
	unsigned count;
	struct { char name[32]; char value[CELL_MAX]; bool string; } field[DETAIL_FIELDS_MAX];
};

struct session_detail_walk {
	unsigned sessions;
	struct detail_fields fields[DETAIL_SESSIONS_MAX];
};

/* sessions[N].member and sessions[N].pick.member; the flows' members are
 * the flow table's. */
static void detail_scalar(struct json_walk *w, const char *p, size_t len, bool string)
{
	struct session_detail_walk *d = w->ctx;
	struct detail_fields *f;
	unsigned long index;
	char *after;
	const char *member;
	if (strncmp(w->path, "sessions[", 9) != 0)
		return;
	index = strtoul(w->path + 9, &after, 10);
	if (after[0] != ']' || after[1] != '.' || index >= DETAIL_SESSIONS_MAX)
		return;
	member = after + 2;
	if (strchr(member, '[') || strlen(member) >= sizeof(f->field[0].name))
		return;
	if (index + 1 > d->sessions)
		d->sessions = (unsigned)index + 1;
	f = &d->fields[index];
	if (f->count == DETAIL_FIELDS_MAX)
		return;
	snprintf(f->field[f->count].name, sizeof(f->field[0].name), "%s", member);
	json_text(p, len, f->field[f->count].value, sizeof(f->field[0].value));
	f->field[f->count++].string = string;
}

static const char *field_or(const struct detail_fields *f, const char *name, const char *otherwise)
{
	for (unsigned i = 0; i < f->count; i++)
		if (strcmp(f->field[i].name, name) == 0)
			return strcmp(f->field[i].value, "null") == 0 && !f->field[i].string ? otherwise
											  : f->field[i].value;
	return otherwise;
}

static double field_seconds(const struct detail_fields *f, const char *name)
{
	return strtod(field_or(f, name, "0"), NULL) / 1000.0;
}

/* "selected by shell: load estimate 0.25, weight 1.00, 3 sessions then, 12.5 s ago" */
static void print_pick(FILE *out, const struct detail_fields *f, const char *server)
{
	const char *how = field_or(f, "pick.how", "?"), *load = field_or(f, "pick.load", NULL);
	char load_text[48];
	if (load)
		snprintf(load_text, sizeof(load_text), "load estimate %.2f", strtod(load, NULL));
	else
		snprintf(load_text, sizeof(load_text), "no load report yet");
	if (strcmp(how, "moved") == 0)
		fprintf(out, "why:      moved from %s when it failed, to the server with the fewest sessions per weight",
			field_or(f, "pick.from_server", "?"));
	else if (strcmp(how, "connection") == 0)
		fprintf(out, "why:      the server of its TCP connection (%s chose it at the SYN)",
			field_or(f, "pick.algorithm", "?"));
	else
		fprintf(out, "why:      chosen by %s", field_or(f, "pick.algorithm", "?"));
	fprintf(out, ": %s %s, weight %.2f, %s sessions, %.1fs ago\n", server, load_text,
		strtod(field_or(f, "pick.weight", "0"), NULL), field_or(f, "pick.sessions", "?"),
		field_seconds(f, "pick.age_ms"));
}

int render_session_detail(const char *doc, size_t len, enum render_format format, FILE *out, FILE *err)
{
	struct reply_table *t = table_new("sessions", NULL, 0, out, err);
	struct session_detail_walk *d = calloc(1, sizeof(*d));
	int status = EXIT_FAILED;

	if (!t || !d)
		goto out;
	if ((status = render_table(t, doc, len, format, err)) != 0)
		goto out;
	if (strcmp(member_or(t, "matched"), "0") == 0) {
		fflush(out);
		fprintf(err, "%s: no session with key \"%s\"\n", CTL_PROGRAM, member_or(t, "key"));
		status = EXIT_FAILED;
		goto out;
	}
	if (format != RENDER_TEXT)
		goto out;
	if (!json_walk_document(doc, len, detail_scalar, d)) {
		status = EXIT_FAILED;
		goto out;
	}
	for (unsigned i = 0; i < d->sessions; i++) {
		const struct detail_fields *f = &d->fields[i];
		const char *server = field_or(f, "server", "-");
		char array[DETAIL_PREFIX_MAX + 16];
		struct reply_table *flows;
		if (i)
			fputc('\n', out);
		fprintf(out, "session:  %s %s (serial %s)\n", field_or(f, "proto", "?"), field_or(f, "key", "?"),
			field_or(f, "serial", "?"));
		fprintf(out, "client:   %s\n", field_or(f, "client", "unknown"));
		fprintf(out, "server:   %s\n", server);
		print_pick(out, f, server);
		fprintf(out, "state:    %s%s, age %.1fs, idle %.1fs\n",
			strcmp(field_or(f, "confirmed", "false"), "true") == 0 ? "confirmed" : "not confirmed",
			strcmp(field_or(f, "ending", "false"), "true") == 0 ? ", ending" : "",
			field_seconds(f, "age_ms"), field_seconds(f, "idle_ms"));
		fprintf(out, "flows:    %s (packets: those sarad decided; a media flow's later packets stay in the "
			"kernel)\n", field_or(f, "flows_total", "?"));
		snprintf(array, sizeof(array), "sessions[%u].flow_list", i);
		flows = table_new(array, flow_columns, sizeof(flow_columns) / sizeof(flow_columns[0]), out, err);
		if (!flows || !table_render_rows(flows, doc, len)) {
			free(flows);
			status = EXIT_FAILED;
			goto out;
		}
		free(flows);
		if (strcmp(field_or(f, "flows_listed", "0"), field_or(f, "flows_total", "0")) != 0)
			fprintf(out, "(%s of %s flows listed)\n", field_or(f, "flows_listed", "?"),
				field_or(f, "flows_total", "?"));
	}
out:
	free(d);
	free(t);
	return status;
}

/* ---- refused ---- */

/* "counts.admission" and the like: "admission 3, table_full 0, ..." */
struct refusal_counts {
	char text[512];
	size_t len;
};

static void counts_scalar(struct json_walk *w, const char *p, size_t len, bool string)
{
	struct refusal_counts *c = w->ctx;
	int n;
	if (string || strncmp(w->path, "counts.", 7) != 0 || c->len >= sizeof(c->text))
		return;
	n = snprintf(c->text + c->len, sizeof(c->text) - c->len, "%s%s %.*s", c->len ? ", " : "", w->path + 7,
		     (int)len, p);
	if (n > 0)
		c->len += (size_t)n;
}

int render_refused(const char *doc, size_t len, enum render_format format, FILE *out, FILE *err)
{
	struct reply_table *t = table_new("refusals", refusal_columns,
					  sizeof(refusal_columns) / sizeof(refusal_columns[0]), out, err);
	struct refusal_counts counts = { .len = 0 };
	const char *not_listed;
	int status = t ? render_table(t, doc, len, format, err) : EXIT_FAILED;

	if (status != 0 || format != RENDER_TEXT)
		goto out;
	json_walk_document(doc, len, counts_scalar, &counts);
	fprintf(out, "%s refused in the last %s s: %s\n", member_or(t, "total"), member_or(t, "since_s"),
		counts.len ? counts.text : "?");
	not_listed = reply_member(t, "not_listed");
	if (not_listed && strcmp(not_listed, "0") != 0)
		fprintf(out, "(the %s listed are the latest; %s older ones are only counted)\n", member_or(t, "listed"),
			not_listed);
out:
	free(t);
	return status;
}
