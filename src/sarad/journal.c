/* journal.c - sarad's session journal (journal.h). */
#include "sarad/journal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_journal.h"
#include "engine/journal_codec.h"
#include "engine/server_slots.h"

/* ---- the batch ---- */

static void count(struct session_journal *j, enum counter_id id, uint64_t n)
{
	if (j->counters && n)
		daemon_count(j->counters, id, n);
}

/* Room for one more record; false when the batch cannot grow. */
static bool batch_room(struct session_journal *j)
{
	size_t cap;
	uint8_t *grown;
	if (j->batch_cap - j->batch_len >= JOURNAL_RECORD_MAX)
		return true;
	if (!j->snapshot) {
		session_journal_write(j);
		if (j->batch_cap - j->batch_len >= JOURNAL_RECORD_MAX)
			return true;
	}
	cap = j->batch_cap ? j->batch_cap * 2 : JOURNAL_BATCH_WRITE + JOURNAL_RECORD_MAX;
	grown = realloc(j->batch, cap);
	if (!grown)
		return false;
	j->batch = grown;
	j->batch_cap = cap;
	return true;
}

static void batch_add(struct session_journal *j, size_t n)
{
	j->batch_len += n;
	j->batch_records++;
	if (!j->snapshot && j->batch_len >= JOURNAL_BATCH_WRITE)
		session_journal_write(j);
}

static void lost_record(struct session_journal *j)
{
	count(j, COUNTER_JOURNAL_WRITE_ERRORS, 1);
	log_limited(&j->errors, j->now_ms(), LOG_ERR, "journal %s: a record could not be kept (out of memory)",
		    j->file.path);
}

/* Where the next record goes (*room bytes there), or NULL when there is no
 * room: the record is counted as lost. */
static uint8_t *batch_reserve(struct session_journal *j, size_t *room)
{
	if (!batch_room(j)) {
		lost_record(j);
		return NULL;
	}
	*room = j->batch_cap - j->batch_len;
	return j->batch + j->batch_len;
}

/* Keeps the n bytes an encoder wrote at batch_reserve's place (0: none). */
static void batch_keep(struct session_journal *j, size_t n)
{
	if (n)
		batch_add(j, n);
}

/* ---- the engine's hooks ---- */

/* Records name their server by id, which outlives its index; false when
 * the record has no server. */
static bool name_server(struct session_journal *j, int server, char *id, size_t id_size)
{
	const struct sara_config *running = engine_config(j->engine);
	if (server < 0 || (unsigned)server >= running->server_count)
		return false;
	memcpy(id, running->servers[server].id, id_size < sizeof(running->servers[server].id) ? id_size
					: sizeof(running->servers[server].id));
	return true;
}

/* One record into the batch (counted as lost when there is no room). */
static void batch_append(struct session_journal *j, const struct journal_record *rec)
{
	size_t room;
	uint8_t *at = batch_reserve(j, &room);
	if (at)
		batch_keep(j, journal_encode_record(rec, at, room));
}

static void on_session_changed(void *ctx, const struct session_record *rec)
{
	struct session_journal *j = ctx;
	struct journal_record named = { .type = JOURNAL_SESSION, .u.session = *rec };
	if (!name_server(j, rec->server, named.u.session.server_id, sizeof(named.u.session.server_id)))
		return;   /* no server: nothing a restart could pin */
	batch_append(j, &named);
}

static void on_flow_decided(void *ctx, const struct session_flow_record *rec)
{
	batch_append(ctx, &(struct journal_record){ .type = JOURNAL_FLOW, .u.flow = *rec });
}

static void on_session_ended(void *ctx, uint64_t serial)
{
	batch_append(ctx, &(struct journal_record){ .type = JOURNAL_END, .u.end_serial = serial });
}

static void on_connection_pinned(void *ctx, const struct connection_record *rec)
{
	struct session_journal *j = ctx;
	struct journal_record named = { .type = JOURNAL_CONNECTION, .u.connection = *rec };
	if (!name_server(j, rec->server, named.u.connection.server_id, sizeof(named.u.connection.server_id)))
		return;
	batch_append(j, &named);
}

static void on_connection_closed(void *ctx, const struct flow_key *key)
{
	batch_append(ctx, &(struct journal_record){ .type = JOURNAL_CONNECTION_END, .u.connection_end = *key });
}

void session_journal_write(struct session_journal *j)
{
	int rc;
	if (!j || j->snapshot || j->batch_len == 0)
		return;
	rc = journal_file_append(&j->file, j->batch, j->batch_len);
	if (rc < 0) {
		count(j, COUNTER_JOURNAL_WRITE_ERRORS, 1);
		log_limited(&j->errors, j->now_ms(), LOG_ERR,
			    "journal %s: writing %zu bytes: %s (these sessions would not survive a restart)",
			    j->file.path, j->batch_len, strerror(-rc));
	} else {
		count(j, COUNTER_JOURNAL_RECORDS, j->batch_records);
		count(j, COUNTER_JOURNAL_WRITES, 1);
	}
	j->batch_len = 0;
	j->batch_records = 0;
}

/* ---- a file's head: magic, header, servers ---- */

static void add_servers(struct session_journal *j)
{
	const struct sara_config *running = engine_config(j->engine);
	for (unsigned s = 0; s < running->server_count; s++) {
		const struct server_config *c = &running->servers[s];
		struct server_record rec;
		size_t n;
		if (!c->id[0])
			continue;
		memset(&rec, 0, sizeof(rec));
		memcpy(rec.id, c->id, sizeof(rec.id));
		rec.address = c->address;
		rec.address6 = c->address6;
		rec.mark = c->mark;
		rec.table = c->table;
		if (!batch_room(j)) {
			lost_record(j);
			return;
		}
		n = journal_encode_server(&rec, j->batch + j->batch_len, j->batch_cap - j->batch_len);
		if (n)
			batch_add(j, n);
	}
}

/* Magic and header into the (empty) batch. */
static bool add_head(struct session_journal *j, uint64_t wall_ms)
{
	struct journal_header h = { .version = JOURNAL_FORMAT_VERSION, .created_wall_ms = wall_ms,
				    .next_serial = engine_next_serial(j->engine) };
	size_t n;
	memcpy(h.cluster, j->cluster, sizeof(h.cluster));
	if (!batch_room(j))
		return false;
	n = journal_encode_magic(j->batch, j->batch_cap);
	n += journal_encode_header(&h, j->batch + n, j->batch_cap - n);
	j->batch_len = n;
	return true;
}

void session_journal_servers(struct session_journal *j)
{
	if (j)
		add_servers(j);
}

/* ---- start: replay, restore, compaction ---- */

/* One image into the replay; a foreign one is moved aside. */
static void read_image(struct session_journal *j, struct journal_replay *r, const char *path,
		       const struct journal_bytes *bytes, struct journal_image_report *rep, char *set_aside,
		       size_t set_aside_size, uint64_t *rejected)
{
	char err[512];
	enum journal_image_status status;
	set_aside[0] = '\0';
	if (!bytes->exists)
		return;
	status = journal_replay_add(r, bytes->data, bytes->len, j->cluster, rep);
	if (status == JOURNAL_IMAGE_OK) {
		*rejected += rep->torn_bytes + rep->corrupt_bytes;
		if (rep->corrupt_bytes)
			log_msg(LOG_ERR, "journal %s: corrupt record at byte %zu: the %zu bytes from there are not "
				"trusted (their sessions are not restored)", path, rep->corrupt_offset,
				rep->corrupt_bytes);
		if (rep->torn_bytes)
			log_msg(LOG_WARNING, "journal %s: its last %zu bytes are a record cut short (a write "
				"interrupted): ignored", path, rep->torn_bytes);
		return;
	}
	if (status == JOURNAL_IMAGE_EMPTY)
		return;
	*rejected += bytes->len;
	if (status == JOURNAL_IMAGE_NO_MEMORY) {
		log_msg(LOG_ERR, "journal %s: out of memory while reading it", path);
		return;
	}
	if (!journal_file_set_aside(path, set_aside, set_aside_size, err, sizeof(err)))
		log_msg(LOG_ERR, "journal %s: %s: not used; %s", path, journal_image_status_text(status), err);
	else if (status == JOURNAL_IMAGE_VERSION || status == JOURNAL_IMAGE_CLUSTER)
		log_msg(LOG_ERR, "journal %s: %s (format %u, cluster \"%s\"; this sarad: format %u, cluster \"%s\"): "
			"not used, moved to %s", path, journal_image_status_text(status), rep->header.version,
			rep->header.cluster, JOURNAL_FORMAT_VERSION, j->cluster, set_aside);
	else
		log_msg(LOG_ERR, "journal %s: %s: not used, moved to %s", path, journal_image_status_text(status),
			set_aside);
}

/* The slot of a journaled session's server: the running table's, or one
 * retired for it from the journal's server record. */
static int server_slot(struct session_journal *j, const struct journal_replay *r, const char *id,
		       struct journal_restore_report *report)
{
	const struct server_record *past;
	struct server_config srv;
	char err[256];
	int slot = server_slots_find(engine_config(j->engine), id);
	if (slot >= 0)
		return slot;
	past = journal_replay_server(r, id);
	if (!past)
		return -1;
	memset(&srv, 0, sizeof(srv));
	memcpy(srv.id, past->id, sizeof(srv.id));
	srv.address = past->address;
	srv.address6 = past->address6;
	srv.mark = past->mark;
	srv.table = past->table;
	srv.weight = 1.0;
	slot = engine_add_retired_server(j->engine, &srv, err, sizeof(err));
	if (slot < 0) {
		log_msg(LOG_WARNING, "journal: server %s is no longer configured and cannot drain its sessions: %s",
			id, err);
		return -1;
	}
	report->servers_retired++;
	log_msg(LOG_NOTICE, "journal: server %s is no longer configured: retired, its sessions drain (mark %u)", id,
		srv.mark);
	return slot;
}

static void restore(struct session_journal *j, const struct journal_replay *r, struct journal_restore_report *report)
{
	for (size_t i = 0; i < journal_replay_session_count(r); i++) {
		const struct session_flow_record *flows;
		size_t n;
		struct session_record rec = *journal_replay_session(r, i, &flows, &n);
		enum engine_restore result;
		rec.server = server_slot(j, r, rec.server_id, report);
		result = engine_restore_session(j->engine, &rec, flows, n);
		if (result == ENGINE_RESTORED)
			report->restored++;
		else if (result == ENGINE_RESTORE_NO_SERVER)
			report->dropped_no_server++;
		else
			report->dropped_other++;
	}
	for (size_t i = 0; i < journal_replay_connection_count(r); i++) {
		struct connection_record rec = *journal_replay_connection(r, i);
		rec.server = server_slot(j, r, rec.server_id, report);
		if (engine_restore_connection(j->engine, &rec) == ENGINE_RESTORED)
			report->connections_restored++;
		else
			report->connections_dropped++;
	}
}

/* The whole state into one new file. */
static bool compact_at_start(struct session_journal *j, uint64_t wall_ms, struct journal_restore_report *report,
			     char *err, size_t err_size)
{
	struct engine_journal_hooks hooks = { .ctx = j, .session_changed = on_session_changed,
					      .flow_decided = on_flow_decided, .session_ended = on_session_ended,
					      .connection_pinned = on_connection_pinned,
					      .connection_closed = on_connection_closed };
	uint32_t cursor = 0;
	bool ok;
	j->snapshot = true;
	if (!add_head(j, wall_ms)) {
		snprintf(err, err_size, "journal %s: out of memory", j->file.path);
		return false;
	}
	add_servers(j);
	engine_set_journal(j->engine, &hooks);
	while (!engine_journal_walk(j->engine, &cursor, JOURNAL_WALK_SLOTS))
		;
	ok = journal_file_replace(&j->file, j->batch, j->batch_len, err, err_size);
	report->snapshot_bytes = j->batch_len;
	j->snapshot = false;
	j->batch_len = 0;
	j->batch_records = 0;
	if (!ok) {
		engine_set_journal(j->engine, NULL);
		return false;
	}
	count(j, COUNTER_JOURNAL_COMPACTIONS, 1);
	j->compact_at = 3 * j->file.size > JOURNAL_COMPACT_MIN ? 3 * j->file.size : JOURNAL_COMPACT_MIN;
	return true;
}

struct session_journal *session_journal_open(const struct sara_config *cfg, struct engine *engine,
					     struct daemon_counters *counters, uint64_t (*now_ms)(void),
					     uint64_t wall_ms, struct journal_restore_report *report, char *err,
					     size_t err_size)
{
	struct session_journal *j = calloc(1, sizeof(*j));
	struct journal_bytes previous = { 0 }, current = { 0 };
	struct journal_replay *r = NULL;
	char read_err[512];

	memset(report, 0, sizeof(*report));
	if (!j) {
		snprintf(err, err_size, "journal: out of memory");
		return NULL;
	}
	j->engine = engine;
	j->counters = counters;
	j->now_ms = now_ms;
	j->walk_slots = JOURNAL_WALK_SLOTS;
	j->errors = (struct log_limit)LOG_LIMIT_INIT("journal", 5, 10000);
	snprintf(j->cluster, sizeof(j->cluster), "%s", cfg->name);
	if (!journal_file_init(&j->file, cfg->state.journal, err, err_size))
		goto fail_free;
	if (!journal_file_lock(&j->file, err, err_size)) {
		/* neither read nor written: the other one's */
		report->read = false;
		goto fail_free;
	}
	r = journal_replay_create();
	if (!r) {
		snprintf(err, err_size, "journal: out of memory");
		goto fail_free;
	}
	if (journal_file_read(&j->file, &previous, &current, read_err, sizeof(read_err))) {
		report->read = true;
		read_image(j, r, j->file.old_path, &previous, &report->previous, report->set_aside[0],
			   sizeof(report->set_aside[0]), &report->bytes_rejected);
		read_image(j, r, j->file.path, &current, &report->current, report->set_aside[1],
			   sizeof(report->set_aside[1]), &report->bytes_rejected);
		if (journal_replay_finish(r)) {
			engine_raise_next_serial(engine, journal_replay_next_serial(r));
			restore(j, r, report);
		} else {
			log_msg(LOG_ERR, "journal %s: out of memory while replaying it", j->file.path);
		}
	} else {
		/* Unreadable is not foreign: leave it for the operator, and
		 * write no new file over it. */
		snprintf(err, err_size, "journal %s", read_err);
		goto fail_free;
	}
	journal_bytes_free(&previous);
	journal_bytes_free(&current);
	journal_replay_destroy(r);
	r = NULL;
	count(j, COUNTER_JOURNAL_SESSIONS_RESTORED, report->restored);
	count(j, COUNTER_JOURNAL_SESSIONS_DROPPED, report->dropped_no_server + report->dropped_other);
	count(j, COUNTER_JOURNAL_BYTES_REJECTED, report->bytes_rejected);
	if (!compact_at_start(j, wall_ms, report, err, err_size))
		goto fail_free;
	return j;

fail_free:
	journal_bytes_free(&previous);
	journal_bytes_free(&current);
	journal_replay_destroy(r);
	journal_file_close(&j->file);
	journal_file_unlock(&j->file);
	free(j->batch);
	free(j);
	return NULL;
}

/* ---- compaction as the file grows ---- */

bool session_journal_step(struct session_journal *j)
{
	char err[512];
	if (!j)
		return false;
	if (!j->compacting) {
		if (j->file.size < j->compact_at)
			return false;
		session_journal_write(j);
		if (!add_head(j, 0)) {
			lost_record(j);
			return false;
		}
		add_servers(j);
		if (!journal_file_rotate(&j->file, j->batch, j->batch_len, err, sizeof(err))) {
			log_limited(&j->errors, j->now_ms(), LOG_ERR, "journal: compaction not started: %s", err);
			j->compact_at = j->file.size + JOURNAL_COMPACT_MIN;
			j->batch_len = 0;
			j->batch_records = 0;
			return false;
		}
		j->batch_len = 0;
		j->batch_records = 0;
		j->compacting = true;
		j->cursor = 0;
	}
	if (!engine_journal_walk(j->engine, &j->cursor, j->walk_slots)) {
		session_journal_write(j);
		return false;
	}
	session_journal_write(j);
	j->compacting = false;
	j->compact_at = 3 * j->file.size > JOURNAL_COMPACT_MIN ? 3 * j->file.size : JOURNAL_COMPACT_MIN;
	return true;
}

void session_journal_settle(struct session_journal *j)
{
	char err[512];
	if (!j)
		return;
	if (journal_file_settle(&j->file, err, sizeof(err)))
		count(j, COUNTER_JOURNAL_COMPACTIONS, 1);
	else
		log_limited(&j->errors, j->now_ms(), LOG_ERR, "journal: compaction not settled: %s", err);
}

void session_journal_close(struct session_journal *j)
{
	if (!j)
		return;
	session_journal_write(j);
	engine_set_journal(j->engine, NULL);
	journal_file_close(&j->file);
	journal_file_unlock(&j->file);
	free(j->batch);
	free(j);
}
