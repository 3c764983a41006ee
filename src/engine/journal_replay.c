/* journal_replay.c - a session journal's images read into the live
 * sessions, their flows and servers (journal_replay.h). */
#include "engine/journal_replay.h"

#include <stdlib.h>
#include <string.h>

#define SLOT_EMPTY UINT32_MAX
#define NO_FLOW UINT32_MAX

struct replay_session {
	struct session_record rec;
	bool ended;
	uint8_t flow_count;
	uint32_t flow_head;          /* list through replay_flow.next, newest first */
};

struct replay_flow {
	struct session_flow_record rec;
	uint32_t next;
};

struct replay_connection {
	struct connection_record rec;
	bool ended;
};

struct journal_replay {
	struct replay_session *sessions;     /* in first-seen order */
	uint32_t session_count, session_cap;
	struct replay_flow *flows;
	uint32_t flow_count, flow_cap;
	/* serial -> index in sessions, open addressing (linear probing) */
	uint64_t *slot_serial;
	uint32_t *slot_index;
	uint32_t slot_mask;                  /* slots - 1; 0 before the first session */
	/* connections by key, open addressing over conn_index */
	struct replay_connection *conns;
	uint32_t conn_count, conn_cap;
	uint32_t *conn_index;                /* SLOT_EMPTY or an index in conns */
	uint32_t conn_mask;
	uint32_t *live_conns;                /* journal_replay_finish's */
	uint32_t live_conn_count;
	struct server_record servers[JOURNAL_REPLAY_SERVERS_MAX];
	unsigned server_count;
	struct journal_replay_stats stats;
	uint64_t next_serial;
	/* journal_replay_finish's output */
	uint32_t *live;                      /* indexes of live sessions, by serial */
	uint32_t live_count;
	struct session_flow_record *gathered; /* each live session's flows, in turn */
	uint32_t *gathered_first;
	bool no_memory;
};

struct journal_replay *journal_replay_create(void)
{
	return calloc(1, sizeof(struct journal_replay));
}

void journal_replay_destroy(struct journal_replay *r)
{
	if (!r)
		return;
	free(r->sessions);
	free(r->flows);
	free(r->slot_serial);
	free(r->slot_index);
	free(r->live);
	free(r->gathered);
	free(r->gathered_first);
	free(r->conns);
	free(r->conn_index);
	free(r->live_conns);
	free(r);
}

/* ---- the serial index ---- */

static uint32_t serial_hash(uint64_t serial, uint32_t mask)
{
	serial *= 0x9e3779b97f4a7c15ull;
	return (uint32_t)(serial >> 32) & mask;
}

/* The index of serial's session, or SLOT_EMPTY. */
static uint32_t find(const struct journal_replay *r, uint64_t serial)
{
	if (!r->slot_mask)
		return SLOT_EMPTY;
	for (uint32_t i = serial_hash(serial, r->slot_mask);; i = (i + 1) & r->slot_mask) {
		if (r->slot_index[i] == SLOT_EMPTY)
			return SLOT_EMPTY;
		if (r->slot_serial[i] == serial)
			return r->slot_index[i];
	}
}

static void put_slot(struct journal_replay *r, uint64_t serial, uint32_t index)
{
	uint32_t i = serial_hash(serial, r->slot_mask);
	while (r->slot_index[i] != SLOT_EMPTY)
		i = (i + 1) & r->slot_mask;
	r->slot_serial[i] = serial;
	r->slot_index[i] = index;
}

/* Keeps the index at most half full. */
static bool grow_index(struct journal_replay *r)
{
	uint32_t old_slots = r->slot_mask ? r->slot_mask + 1 : 0, slots = old_slots ? old_slots * 2 : 1024;
	uint64_t *old_serial = r->slot_serial;
	uint32_t *old_index = r->slot_index;
	if (slots > (1u << 30))
		return false;
	r->slot_serial = malloc(slots * sizeof(*r->slot_serial));
	r->slot_index = malloc(slots * sizeof(*r->slot_index));
	if (!r->slot_serial || !r->slot_index) {
		free(r->slot_serial);
		free(r->slot_index);
		r->slot_serial = old_serial;
		r->slot_index = old_index;
		return false;
	}
	memset(r->slot_index, 0xff, slots * sizeof(*r->slot_index));
	r->slot_mask = slots - 1;
	for (uint32_t i = 0; i < old_slots; i++)
		if (old_index[i] != SLOT_EMPTY)
			put_slot(r, old_serial[i], old_index[i]);
	free(old_serial);
	free(old_index);
	return true;
}

static bool grow(void **array, uint32_t *cap, size_t size)
{
	uint32_t n = *cap ? *cap * 2 : 256;
	void *p;
	if (n > (1u << 30))
		return false;
	p = realloc(*array, (size_t)n * size);
	if (!p)
		return false;
	*array = p;
	*cap = n;
	return true;
}

/* serial's session, made (empty, not ended) on first sight; NULL when out of memory. */
static struct replay_session *session_entry(struct journal_replay *r, uint64_t serial)
{
	uint32_t index = find(r, serial);
	struct replay_session *s;
	if (index != SLOT_EMPTY)
		return &r->sessions[index];
	if ((r->session_count + 1) * 2 > (r->slot_mask ? r->slot_mask + 1 : 0) && !grow_index(r))
		return NULL;
	if (r->session_count == r->session_cap &&
	    !grow((void **)&r->sessions, &r->session_cap, sizeof(*r->sessions)))
		return NULL;
	index = r->session_count++;
	s = &r->sessions[index];
	memset(s, 0, sizeof(*s));
	s->rec.serial = serial;
	s->flow_head = NO_FLOW;
	put_slot(r, serial, index);
	return s;
}

/* ---- records ---- */

static void update_session(struct journal_replay *r, struct replay_session *s, const struct session_record *rec)
{
	if (s->rec.version == 0 && s->rec.key_len == 0)
		r->stats.sessions_seen++;
	/* The highest version wins; a tie goes to the later record. */
	if (s->rec.key_len == 0 || rec->version >= s->rec.version)
		s->rec = *rec;
}

static bool add_flow(struct journal_replay *r, struct replay_session *s, const struct session_flow_record *rec)
{
	for (uint32_t f = s->flow_head; f != NO_FLOW; f = r->flows[f].next)
		if (memcmp(&r->flows[f].rec.key, &rec->key, sizeof(rec->key)) == 0) {
			r->flows[f].rec.identity = rec->identity;
			return true;
		}
	if (s->flow_count >= JOURNAL_REPLAY_FLOWS_MAX) {
		r->stats.flows_dropped++;
		return true;
	}
	if (r->flow_count == r->flow_cap && !grow((void **)&r->flows, &r->flow_cap, sizeof(*r->flows)))
		return false;
	r->flows[r->flow_count] = (struct replay_flow){ *rec, s->flow_head };
	s->flow_head = r->flow_count++;
	s->flow_count++;
	return true;
}

static void serial_seen(struct journal_replay *r, uint64_t serial)
{
	if (serial < UINT64_MAX && serial + 1 > r->next_serial)
		r->next_serial = serial + 1;
}

/* A session, flow or end record for session serial; false when out of
 * memory. After its end record a session takes no more records. */
static bool apply_to_session(struct journal_replay *r, const struct journal_record *rec, uint64_t serial)
{
	struct replay_session *s;
	serial_seen(r, serial);
	s = session_entry(r, serial);
	if (!s)
		return false;
	if (rec->type == JOURNAL_END) {
		if (!s->ended)
			r->stats.sessions_ended++;
		s->ended = true;
		return true;
	}
	if (s->ended)
		return true;
	if (rec->type == JOURNAL_FLOW)
		return add_flow(r, s, &rec->u.flow);
	update_session(r, s, &rec->u.session);
	return true;
}

/* ---- connections ---- */

static uint32_t key_hash(const struct flow_key *key, uint32_t mask)
{
	const uint8_t *p = (const uint8_t *)key;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < sizeof(*key); i++)
		h = (h ^ p[i]) * 16777619u;
	return h & mask;
}

static uint32_t *conn_slot(struct journal_replay *r, const struct flow_key *key)
{
	for (uint32_t i = key_hash(key, r->conn_mask);; i = (i + 1) & r->conn_mask) {
		uint32_t *slot = &r->conn_index[i];
		if (*slot == SLOT_EMPTY || memcmp(&r->conns[*slot].rec.key, key, sizeof(*key)) == 0)
			return slot;
	}
}

static bool grow_conn_index(struct journal_replay *r)
{
	uint32_t slots = r->conn_mask ? (r->conn_mask + 1) * 2 : 256;
	uint32_t *index;
	if (slots > (1u << 30) || !(index = malloc(slots * sizeof(*index))))
		return false;
	free(r->conn_index);
	r->conn_index = index;
	memset(index, 0xff, slots * sizeof(*index));
	r->conn_mask = slots - 1;
	for (uint32_t c = 0; c < r->conn_count; c++)
		*conn_slot(r, &r->conns[c].rec.key) = c;
	return true;
}

/* key's entry (made on first sight), or NULL when out of memory. */
static struct replay_connection *conn_entry(struct journal_replay *r, const struct flow_key *key)
{
	uint32_t *slot;
	if ((r->conn_count + 1) * 2 > (r->conn_mask ? r->conn_mask + 1 : 0) && !grow_conn_index(r))
		return NULL;
	slot = conn_slot(r, key);
	if (*slot != SLOT_EMPTY)
		return &r->conns[*slot];
	if (r->conn_count == r->conn_cap && !grow((void **)&r->conns, &r->conn_cap, sizeof(*r->conns)))
		return NULL;
	*slot = r->conn_count;
	memset(&r->conns[r->conn_count], 0, sizeof(r->conns[0]));
	r->conns[r->conn_count].rec.key = *key;
	r->conns[r->conn_count].ended = true;
	return &r->conns[r->conn_count++];
}

/* The last record of a key wins: a connection ended and a new one with the
 * same four-tuple pinned again is the new one. */
static bool apply_connection(struct journal_replay *r, const struct connection_record *rec, bool ended)
{
	struct replay_connection *c = conn_entry(r, &rec->key);
	if (!c)
		return false;
	if (!ended)
		c->rec = *rec;
	c->ended = ended;
	return true;
}

static void apply_server(struct journal_replay *r, const struct server_record *rec)
{
	for (unsigned i = 0; i < r->server_count; i++)
		if (strcmp(r->servers[i].id, rec->id) == 0) {
			r->servers[i] = *rec;
			return;
		}
	if (r->server_count == JOURNAL_REPLAY_SERVERS_MAX) {
		r->stats.servers_dropped++;
		return;
	}
	r->servers[r->server_count++] = *rec;
}

static bool apply(struct journal_replay *r, const struct journal_record *rec)
{
	switch (rec->type) {
	case JOURNAL_SERVER: apply_server(r, &rec->u.server); return true;
	case JOURNAL_SESSION: return apply_to_session(r, rec, rec->u.session.serial);
	case JOURNAL_FLOW: return apply_to_session(r, rec, rec->u.flow.serial);
	case JOURNAL_END: return apply_to_session(r, rec, rec->u.end_serial);
	case JOURNAL_CONNECTION: return apply_connection(r, &rec->u.connection, false);
	case JOURNAL_CONNECTION_END:
		return apply_connection(r, &(struct connection_record){ .key = rec->u.connection_end }, true);
	default: return true;   /* a second header (a file appended to another): nothing to apply */
	}
}

/* ---- images ---- */

enum journal_image_status journal_replay_add(struct journal_replay *r, const uint8_t *buf, size_t len,
					     const char *cluster, struct journal_image_report *rep)
{
	struct journal_record rec;
	size_t offset = JOURNAL_MAGIC_SIZE;
	enum journal_read status;

	memset(rep, 0, sizeof(*rep));
	if (len == 0)
		return rep->status = JOURNAL_IMAGE_EMPTY;
	if (!journal_has_magic(buf, len))
		return rep->status = JOURNAL_IMAGE_NOT_JOURNAL;
	if (journal_decode(buf, len, &offset, &rec) != JOURNAL_READ_RECORD || rec.type != JOURNAL_HEADER)
		return rep->status = JOURNAL_IMAGE_BAD_HEADER;
	rep->header = rec.u.header;
	if (rec.u.header.version != JOURNAL_FORMAT_VERSION)
		return rep->status = JOURNAL_IMAGE_VERSION;
	if (strcmp(rec.u.header.cluster, cluster) != 0)
		return rep->status = JOURNAL_IMAGE_CLUSTER;
	rep->records = 1;
	if (rec.u.header.next_serial > r->next_serial)
		r->next_serial = rec.u.header.next_serial;
	while ((status = journal_decode(buf, len, &offset, &rec)) == JOURNAL_READ_RECORD) {
		if (!apply(r, &rec)) {
			r->no_memory = true;
			return rep->status = JOURNAL_IMAGE_NO_MEMORY;
		}
		rep->records++;
	}
	rep->good_bytes = offset;
	if (status == JOURNAL_READ_TORN) {
		rep->torn_bytes = len - offset;
	} else if (status == JOURNAL_READ_CORRUPT) {
		rep->corrupt_offset = offset;
		rep->corrupt_bytes = len - offset;
	}
	return rep->status = JOURNAL_IMAGE_OK;
}

/* ---- results ---- */

struct live_entry {
	uint64_t serial;
	uint32_t index;
};

static int by_serial(const void *a, const void *b)
{
	uint64_t x = ((const struct live_entry *)a)->serial, y = ((const struct live_entry *)b)->serial;
	return x < y ? -1 : x > y;
}

bool journal_replay_finish(struct journal_replay *r)
{
	uint32_t gathered = 0;
	struct live_entry *order;
	free(r->live);
	free(r->gathered);
	free(r->gathered_first);
	r->live_count = 0;
	r->live = malloc(((size_t)r->session_count + 1) * sizeof(*r->live));
	r->gathered = malloc(((size_t)r->flow_count + 1) * sizeof(*r->gathered));
	r->gathered_first = malloc(((size_t)r->session_count + 1) * sizeof(*r->gathered_first));
	if (!r->live || !r->gathered || !r->gathered_first || r->no_memory)
		return false;
	/* A session with flows or an end but no state record was never
	 * journaled whole (its record was in a torn tail): nothing to restore. */
	order = malloc(((size_t)r->session_count + 1) * sizeof(*order));
	if (!order)
		return false;
	for (uint32_t i = 0; i < r->session_count; i++)
		if (!r->sessions[i].ended && r->sessions[i].rec.key_len > 0)
			order[r->live_count++] = (struct live_entry){ r->sessions[i].rec.serial, i };
	qsort(order, r->live_count, sizeof(*order), by_serial);
	for (uint32_t i = 0; i < r->live_count; i++)
		r->live[i] = order[i].index;
	free(order);
	for (uint32_t i = 0; i < r->live_count; i++) {
		const struct replay_session *s = &r->sessions[r->live[i]];
		r->gathered_first[i] = gathered;
		for (uint32_t f = s->flow_head; f != NO_FLOW; f = r->flows[f].next)
			r->gathered[gathered++] = r->flows[f].rec;
	}
	r->gathered_first[r->live_count] = gathered;
	free(r->live_conns);
	r->live_conn_count = 0;
	r->live_conns = malloc(((size_t)r->conn_count + 1) * sizeof(*r->live_conns));
	if (!r->live_conns)
		return false;
	for (uint32_t c = 0; c < r->conn_count; c++)
		if (!r->conns[c].ended)
			r->live_conns[r->live_conn_count++] = c;
	return true;
}

size_t journal_replay_connection_count(const struct journal_replay *r)
{
	return r->live_conns ? r->live_conn_count : 0;
}

const struct connection_record *journal_replay_connection(const struct journal_replay *r, size_t i)
{
	if (!r->live_conns || i >= r->live_conn_count)
		return NULL;
	return &r->conns[r->live_conns[i]].rec;
}

size_t journal_replay_session_count(const struct journal_replay *r)
{
	return r->live ? r->live_count : 0;
}

const struct session_record *journal_replay_session(const struct journal_replay *r, size_t i,
						    const struct session_flow_record **flows, size_t *flow_count)
{
	if (!r->live || i >= r->live_count)
		return NULL;
	*flows = &r->gathered[r->gathered_first[i]];
	*flow_count = r->gathered_first[i + 1] - r->gathered_first[i];
	return &r->sessions[r->live[i]].rec;
}

uint64_t journal_replay_next_serial(const struct journal_replay *r)
{
	return r->next_serial;
}

const struct server_record *journal_replay_server(const struct journal_replay *r, const char *id)
{
	for (unsigned i = 0; i < r->server_count; i++)
		if (strcmp(r->servers[i].id, id) == 0)
			return &r->servers[i];
	return NULL;
}

void journal_replay_get_stats(const struct journal_replay *r, struct journal_replay_stats *out)
{
	*out = r->stats;
}

const char *journal_image_status_text(enum journal_image_status status)
{
	switch (status) {
	case JOURNAL_IMAGE_OK: return "ok";
	case JOURNAL_IMAGE_EMPTY: return "empty";
	case JOURNAL_IMAGE_NOT_JOURNAL: return "not a sara journal (no magic)";
	case JOURNAL_IMAGE_BAD_HEADER: return "no readable header record";
	case JOURNAL_IMAGE_VERSION: return "another format version";
	case JOURNAL_IMAGE_CLUSTER: return "another cluster's journal";
	case JOURNAL_IMAGE_NO_MEMORY: return "out of memory";
	}
	return "unknown";
}
