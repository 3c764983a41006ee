/* session_store_redis.c - session replication through Redis (session_store_redis.h). */
#include "io/session_store_redis.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include <hiredis/hiredis.h>
#include <sodium.h>

#include "io/clock.h"
#include "io/log.h"

struct peer_state {
	struct session_store *store;
	unsigned index;
	pthread_t thread;
	bool started;
	struct wire_replay replay;          /* its channel's sequence numbers */
	int refused;                        /* the hello check last logged (0: none) */
	pthread_mutex_t lock;               /* resync's figures */
	struct session_store_resync resync;
};

#define SESSION_STORE_GROUP_SLOTS (2 * SESSION_STORE_BATCH)

/* The writer's view of one batch: each entry's key, field and sealed
 * message (in s->publish), and the first entry of its key. */
struct batch_scratch {
	char key[SESSION_STORE_BATCH][REPLICA_STORE_KEY_MAX];
	char field[SESSION_STORE_BATCH][REPLICA_FIELD_MAX];
	uint16_t key_len[SESSION_STORE_BATCH], field_len[SESSION_STORE_BATCH], msg_len[SESSION_STORE_BATCH];
	size_t msg_at[SESSION_STORE_BATCH];
	uint32_t group[SESSION_STORE_BATCH];
	uint16_t next[SESSION_STORE_BATCH];         /* the group's next entry; UINT16_MAX: none */
	uint16_t tail[SESSION_STORE_BATCH];         /* a group's last entry (at its first) */
	uint16_t slot[SESSION_STORE_GROUP_SLOTS];   /* UINT16_MAX: free */
};

/* A batch sent to the store whose replies are owed. */
struct owed_batch {
	uint32_t records, published, replies;
};

struct session_store {
	struct session_store_config cfg;
	struct session_store_sink sink;
	struct replica_ring ring;
	pthread_t writer;
	bool writer_started;
	atomic_bool stopping;
	pthread_mutex_t servers_lock;       /* cfg.servers after a reload */
	atomic_bool hello_due;
	uint64_t seq;                       /* the writer's; starts at the wall clock in microseconds */
	char channel[REPLICA_STORE_KEY_MAX], hello_key[REPLICA_STORE_KEY_MAX], pattern[REPLICA_STORE_KEY_MAX];
	uint8_t *publish;                   /* the writer's batch, its sealed messages */
	struct batch_scratch *scratch;
	char expiry[24];                    /* the batch's keys go then (unix ms): SESSION_STORE_TTL_S on */
	size_t expiry_len;
	char *cmd;                          /* the writer's batch, as Redis commands */
	size_t cmd_len, cmd_cap;
	struct owed_batch owed[2];          /* batches sent, replies not read yet (oldest first) */
	unsigned owed_count;
	atomic_uint in_flight;              /* their records: pending, not stored yet */
	redisReplyObjectFunctions *reply_objects;   /* hiredis's own, for the hello */
	uint64_t queued_told, dropped_told; /* the ring's totals already counted (the writer's) */
	struct peer_state peers[SARA_MAX_DISPATCHERS];
};

static void count(struct session_store *s, enum counter_id id, uint64_t n)
{
	if (n && s->sink.count)
		s->sink.count(s->sink.ctx, id, n);
}

static struct replica_digest servers_now(struct session_store *s)
{
	struct replica_digest d;
	pthread_mutex_lock(&s->servers_lock);
	d = s->cfg.servers;
	pthread_mutex_unlock(&s->servers_lock);
	return d;
}

static void sleep_ms(uint32_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Sleeps ms in slices, returning early (true) once stopping. */
static bool wait_or_stop(struct session_store *s, uint32_t ms)
{
	while (ms > 0 && !atomic_load(&s->stopping)) {
		uint32_t slice = ms < 100 ? ms : 100;
		sleep_ms(slice);
		ms -= slice;
	}
	return atomic_load(&s->stopping);
}

/* A connection to the store at, authenticated when password is set;
 * NULL with err when it cannot be made or the password is refused. */
static redisContext *connect_to(const struct endpoint *at, const char *password, char *err, size_t err_size)
{
	char host[NETADDR_STRLEN];
	struct timeval tv = { .tv_sec = 0, .tv_usec = SESSION_STORE_CONNECT_MS * 1000 };
	redisContext *c;
	netaddr_format(&at->addr, host, sizeof(host));
	c = redisConnectWithTimeout(host, at->port, tv);
	if (!c) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	if (c->err) {
		snprintf(err, err_size, "%s", c->errstr);
		redisFree(c);
		return NULL;
	}
	/* replies within a second, or the connection is taken as broken */
	tv.tv_sec = 1;
	tv.tv_usec = 0;
	redisSetTimeout(c, tv);
	if (password[0]) {
		const char *argv[2] = { "AUTH", password };
		size_t lens[2] = { 4, strlen(password) };
		redisReply *r = redisCommandArgv(c, 2, argv, lens);
		bool ok = r && r->type == REDIS_REPLY_STATUS;
		if (!ok)
			snprintf(err, err_size, "AUTH (ha.redis_password_file): %s",
				 !r ? c->errstr : r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		if (r)
			freeReplyObject(r);
		if (!ok) {
			redisFree(c);
			return NULL;
		}
	}
	return c;
}

static const char *where(const struct endpoint *at, char *buf, size_t size)
{
	return endpoint_format(at, buf, size);
}

/* ---- reading a store (resync) ---- */

static void account_rejection(struct session_store *s, enum replica_verdict v)
{
	switch (v) {
	case REPLICA_OK: break;
	case REPLICA_FORGED: count(s, COUNTER_REPLICA_REJECTED_FORGED, 1); break;
	case REPLICA_REPLAYED: count(s, COUNTER_REPLICA_REJECTED_REPLAYED, 1); break;
	case REPLICA_STALE: count(s, COUNTER_REPLICA_REJECTED_STALE, 1); break;
	case REPLICA_OTHER_SERVERS: count(s, COUNTER_REPLICA_REJECTED_OTHER_SERVERS, 1); break;
	case REPLICA_OTHER_SENDER: count(s, COUNTER_REPLICA_REJECTED_OTHER_SENDER, 1); break;
	default: count(s, COUNTER_REPLICA_REJECTED_MALFORMED, 1); break;
	}
}

/* One stored value, checked and handed over: the session's state before
 * its flows (a hash's fields come in any order). */
static void resync_value(struct session_store *s, const char *data, size_t len, enum replica_source from,
			 const struct replica_digest *servers, struct replica_item *item, bool session_pass)
{
	struct wire_header hdr;
	enum replica_verdict v = replica_open(&s->cfg.key, NULL, (const uint8_t *)data, len, 0, 0, 0, servers, item,
					      &hdr);
	if (v != REPLICA_OK) {
		if (session_pass)
			account_rejection(s, v);
		return;
	}
	if ((item->op == REPLICA_SESSION || item->op == REPLICA_CONNECTION) != session_pass)
		return;
	count(s, COUNTER_REPLICA_RESYNCED, 1);
	s->sink.apply(s->sink.ctx, item, from);
}

/* Every session and connection of the store c is connected to. Returns the
 * records read, or -1 when the connection broke. */
static int64_t resync(struct session_store *s, redisContext *c, enum replica_source from)
{
	struct replica_digest servers = servers_now(s);
	struct replica_item *item = malloc(sizeof(*item));
	char cursor[32] = "0";
	int64_t records = 0;
	if (!item)
		return -1;
	do {
		redisReply *scan = redisCommand(c, "SCAN %s MATCH %s COUNT 1000", cursor, s->pattern);
		size_t keys;
		if (!scan || scan->type != REDIS_REPLY_ARRAY || scan->elements != 2 ||
		    scan->element[0]->type != REDIS_REPLY_STRING || scan->element[1]->type != REDIS_REPLY_ARRAY) {
			if (scan)
				freeReplyObject(scan);
			free(item);
			return -1;
		}
		snprintf(cursor, sizeof(cursor), "%s", scan->element[0]->str);
		keys = scan->element[1]->elements;
		for (size_t i = 0; i < keys; i++)
			redisAppendCommand(c, "HGETALL %b", scan->element[1]->element[i]->str,
					   (size_t)scan->element[1]->element[i]->len);
		for (size_t i = 0; i < keys; i++) {
			redisReply *h = NULL;
			if (redisGetReply(c, (void **)&h) != REDIS_OK || !h) {
				freeReplyObject(scan);
				free(item);
				return -1;
			}
			if (h->type == REDIS_REPLY_ARRAY)
				for (int pass = 1; pass >= 0; pass--)
					for (size_t f = 0; f + 1 < h->elements; f += 2)
						if (h->element[f + 1]->type == REDIS_REPLY_STRING) {
							resync_value(s, h->element[f + 1]->str,
								     (size_t)h->element[f + 1]->len, from, &servers,
								     item, pass == 1);
							records += pass == 1;
						}
			freeReplyObject(h);
		}
		freeReplyObject(scan);
	} while (strcmp(cursor, "0") != 0 && !atomic_load(&s->stopping));
	free(item);
	return records;
}

/* ---- the writer ---- */

static void hello_text(struct session_store *s, char *out, size_t size)
{
	struct replica_hello h;
	memset(&h, 0, sizeof(h));
	h.format = REPLICA_FORMAT;
	snprintf(h.cluster, sizeof(h.cluster), "%s", s->cfg.cluster);
	h.key = replica_key_fingerprint(&s->cfg.key);
	h.servers = servers_now(s);
	h.sender = s->cfg.self_id;
	replica_hello_format(&h, out, size);
}

/* False with err (the store's answer) when it is not written. */
static bool write_hello(struct session_store *s, redisContext *c, char *err, size_t err_size)
{
	char text[REPLICA_HELLO_MAX];
	redisReply *r;
	bool ok;
	hello_text(s, text, sizeof(text));
	r = redisCommand(c, "SET %s %s", s->hello_key, text);
	ok = r && r->type == REDIS_REPLY_STATUS;
	if (!ok)
		snprintf(err, err_size, "hello not written: %s",
			 !r ? c->errstr : r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	if (r)
		freeReplyObject(r);
	return ok;
}

/* ---- the writer's commands, in Redis's own protocol ----
 * Formatted here into one buffer per batch (no allocation per command),
 * handed to hiredis as one preformatted block; replies are read without
 * reply objects (the reader's functions unset: a reply is its type). */

static bool cmd_reserve(struct session_store *s, size_t more)
{
	size_t want = s->cmd_len + more;
	char *grown;
	if (want <= s->cmd_cap)
		return true;
	want = want < 2 * s->cmd_cap ? 2 * s->cmd_cap : want;
	grown = realloc(s->cmd, want);
	if (!grown)
		return false;
	s->cmd = grown;
	s->cmd_cap = want;
	return true;
}

/* The decimal v at out (no NUL); its length. */
static size_t put_decimal(char *out, uint64_t v)
{
	char digits[24];
	size_t n = 0;
	do {
		digits[sizeof(digits) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(out, digits + sizeof(digits) - n, n);
	return n;
}

/* PREFIX, the decimal v, CRLF at out; its length. */
static size_t put_header(char *out, char prefix, size_t v)
{
	size_t len = 0;
	out[len++] = prefix;
	len += put_decimal(out + len, v);
	out[len++] = '\r';
	out[len++] = '\n';
	return len;
}

/* "*N\r\n" then "$LEN\r\nARG\r\n" per argument. */
static bool cmd_append(struct session_store *s, unsigned argc, const char *const *argv, const size_t *lens)
{
	size_t need = 32;
	for (unsigned i = 0; i < argc; i++)
		need += lens[i] + 32;
	if (!cmd_reserve(s, need))
		return false;
	s->cmd_len += put_header(s->cmd + s->cmd_len, '*', argc);
	for (unsigned i = 0; i < argc; i++) {
		s->cmd_len += put_header(s->cmd + s->cmd_len, '$', lens[i]);
		memcpy(s->cmd + s->cmd_len, argv[i], lens[i]);
		s->cmd_len += lens[i];
		s->cmd[s->cmd_len++] = '\r';
		s->cmd[s->cmd_len++] = '\n';
	}
	return true;
}

/* Whether an entry's key gets its time to live: once, when the key is
 * made here (a session's first version, a peer's record kept, a
 * connection). */
static bool entry_expires(const struct replica_entry *e)
{
	return e->item.op == REPLICA_CONNECTION ||
	       (e->item.op == REPLICA_SESSION && (e->item.u.session.version <= 1 || !e->publish));
}

static bool entry_deletes(const struct replica_entry *e)
{
	return e->item.op == REPLICA_SESSION_END || e->item.op == REPLICA_CONNECTION_END;
}

static uint32_t key_hash(const char *key, size_t len)
{
	uint32_t h = 2166136261u;   /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)key[i]) * 16777619u;
	return h;
}

/* Each entry's store key, field and sealed message; entries of one key
 * chained from the first (b->group[i] == i), in order. An entry that
 * cannot be stored has msg_len 0 (skipped). */
static void prepare_batch(struct session_store *s, struct batch_scratch *b, const struct replica_entry *batch,
			  uint32_t n, const struct replica_digest *servers)
{
	uint64_t now = clock_ms(CLOCK_REALTIME);
	size_t at = 0;
	s->expiry_len = put_decimal(s->expiry, now + (uint64_t)SESSION_STORE_TTL_S * 1000u);
	memset(b->slot, 0xff, sizeof(b->slot));
	for (uint32_t i = 0; i < n; i++) {
		const struct replica_entry *e = &batch[i];
		uint32_t h;
		b->msg_len[i] = 0;
		b->key_len[i] = (uint16_t)replica_store_key(s->cfg.cluster, &e->item, b->key[i], sizeof(b->key[i]));
		b->field_len[i] = (uint16_t)replica_store_field(&e->item, b->field[i], sizeof(b->field[i]));
		if (!b->key_len[i] || !b->field_len[i])
			continue;
		b->msg_len[i] = (uint16_t)replica_seal(&s->cfg.key, s->cfg.self_id, ++s->seq, now, servers, &e->item,
						       s->publish + at, REPLICA_MESSAGE_MAX);
		b->msg_at[i] = at;
		at += b->msg_len[i];
		if (!b->msg_len[i])
			continue;
		/* the group: an open-addressed table of first entries */
		h = key_hash(b->key[i], b->key_len[i]) % SESSION_STORE_GROUP_SLOTS;
		while (b->slot[h] != UINT16_MAX && (b->key_len[b->slot[h]] != b->key_len[i] ||
						    memcmp(b->key[b->slot[h]], b->key[i], b->key_len[i]) != 0))
			h = (h + 1) % SESSION_STORE_GROUP_SLOTS;
		b->next[i] = UINT16_MAX;
		if (b->slot[h] == UINT16_MAX) {
			b->slot[h] = (uint16_t)i;
			b->tail[i] = (uint16_t)i;
		} else {
			uint16_t g = b->slot[h];
			b->next[b->tail[g]] = (uint16_t)i;
			b->tail[g] = (uint16_t)i;
		}
		b->group[i] = b->slot[h];
	}
}

/* One group's commands, appended (its first entry g): DEL when one of
 * its entries ends the key, one HSET of the fields written after the last
 * DEL (the latest value of each field, as the commands one by one would
 * leave it), EXPIRE when one of those makes the key. Replies owed. */
static unsigned append_group(struct session_store *s, struct batch_scratch *b, const struct replica_entry *batch,
			     uint32_t g)
{
	const char *argv[2 + 2 * SESSION_STORE_BATCH];
	size_t lens[2 + 2 * SESSION_STORE_BATCH];
	unsigned argc = 2, replies = 0;
	bool deleted = false, expires = false;
	uint32_t first = g;
	/* where the fields start: after the group's last DEL */
	for (uint32_t i = g; i != UINT16_MAX; i = b->next[i])
		if (entry_deletes(&batch[i])) {
			deleted = true;
			first = b->next[i];
		}
	argv[0] = "HSET";
	lens[0] = 4;
	argv[1] = b->key[g];
	lens[1] = b->key_len[g];
	for (uint32_t i = first; i != UINT16_MAX; i = b->next[i]) {
		bool later = false;
		expires |= entry_expires(&batch[i]);
		/* a later value of the same field replaces this one */
		for (uint32_t j = b->next[i]; j != UINT16_MAX && !later; j = b->next[j])
			later = b->field_len[j] == b->field_len[i] &&
				memcmp(b->field[j], b->field[i], b->field_len[i]) == 0;
		if (later)
			continue;
		argv[argc] = b->field[i];
		lens[argc++] = b->field_len[i];
		argv[argc] = (const char *)s->publish + b->msg_at[i];
		lens[argc++] = b->msg_len[i];
	}
	if (deleted) {
		const char *dargv[2] = { "DEL", b->key[g] };
		size_t dlens[2] = { 3, b->key_len[g] };
		replies += cmd_append(s, 2, dargv, dlens);
	}
	if (argc > 2) {
		replies += cmd_append(s, argc, argv, lens);
		if (expires) {
			/* the time itself: Redis stores (and would propagate) no other form */
			const char *xargv[3] = { "PEXPIREAT", b->key[g], s->expiry };
			size_t xlens[3] = { 9, b->key_len[g], s->expiry_len };
			replies += cmd_append(s, 3, xargv, xlens);
		}
	}
	return replies;
}

/* PUBLISH CHANNEL with every published message of the batch, back to
 * back (the peers wake once for all of it, and apply each in order). */
static unsigned append_publish(struct session_store *s, struct batch_scratch *b, const struct replica_entry *batch,
			       uint32_t n)
{
	size_t total = 0, channel_len = strlen(s->channel);
	for (uint32_t i = 0; i < n; i++)
		total += batch[i].publish ? b->msg_len[i] : 0;
	if (total == 0 || !cmd_reserve(s, total + channel_len + 96))
		return 0;
	memcpy(s->cmd + s->cmd_len, "*3\r\n$7\r\nPUBLISH\r\n", 17);
	s->cmd_len += 17;
	s->cmd_len += put_header(s->cmd + s->cmd_len, '$', channel_len);
	memcpy(s->cmd + s->cmd_len, s->channel, channel_len);
	s->cmd_len += channel_len;
	s->cmd[s->cmd_len++] = '\r';
	s->cmd[s->cmd_len++] = '\n';
	s->cmd_len += put_header(s->cmd + s->cmd_len, '$', total);
	for (uint32_t i = 0; i < n; i++)
		if (batch[i].publish && b->msg_len[i]) {
			memcpy(s->cmd + s->cmd_len, s->publish + b->msg_at[i], b->msg_len[i]);
			s->cmd_len += b->msg_len[i];
		}
	s->cmd[s->cmd_len++] = '\r';
	s->cmd[s->cmd_len++] = '\n';
	return 1;
}

/* One batch formatted and sent (its replies read later: Redis stores one
 * batch while the next is formatted). Records of one key share their
 * commands. False when the connection broke or memory ran out (the
 * batch is lost, counted). */
static bool send_batch(struct session_store *s, redisContext *c, const struct replica_entry *batch, uint32_t n)
{
	struct replica_digest servers = servers_now(s);
	struct owed_batch *o = &s->owed[s->owed_count];
	struct batch_scratch *b = s->scratch;
	memset(o, 0, sizeof(*o));
	s->cmd_len = 0;
	prepare_batch(s, b, batch, n, &servers);
	for (uint32_t i = 0; i < n; i++) {
		if (b->msg_len[i] && b->group[i] == i)
			o->replies += append_group(s, b, batch, i);
		o->published += batch[i].publish;
	}
	o->replies += append_publish(s, b, batch, n);
	o->records = n;
	if (o->replies == 0) {
		count(s, COUNTER_REPLICA_STORE_ERRORS, n);
		return true;
	}
	s->owed_count++;
	atomic_fetch_add(&s->in_flight, n);
	/* straight from the batch's buffer (hiredis's would be a copy); the
	 * socket's send timeout bounds the wait */
	for (size_t sent = 0; sent < s->cmd_len;) {
		ssize_t w = send(c->fd, s->cmd + sent, s->cmd_len - sent, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			c->err = REDIS_ERR_IO;
			snprintf(c->errstr, sizeof(c->errstr), "%s", w < 0 ? strerror(errno) : "closed");
			return false;
		}
		sent += (size_t)w;
	}
	return true;
}

/* The replies of the oldest batch sent. False when the connection broke. */
static bool collect_batch(struct session_store *s, redisContext *c)
{
	struct owed_batch o = s->owed[0];
	uint64_t errors = 0;
	for (unsigned i = 0; i < o.replies; i++) {
		void *r = NULL;
		if (redisGetReply(c, &r) != REDIS_OK || !r)
			return false;
		errors += (uintptr_t)r == REDIS_REPLY_ERROR;
	}
	memmove(&s->owed[0], &s->owed[1], (size_t)(--s->owed_count) * sizeof(s->owed[0]));
	/* counted before they stop being pending: whoever waits for none
	 * pending reads the counters whole */
	count(s, COUNTER_REPLICA_WRITTEN, o.records);
	count(s, COUNTER_REPLICA_PUBLISHED, o.published);
	count(s, COUNTER_REPLICA_STORE_ERRORS, errors);
	atomic_fetch_sub(&s->in_flight, o.records);
	return true;
}

/* Every batch still owed: their records lost (the connection broke). */
static uint32_t drop_owed(struct session_store *s)
{
	uint32_t lost = 0;
	for (unsigned i = 0; i < s->owed_count; i++)
		lost += s->owed[i].records;
	s->owed_count = 0;
	count(s, COUNTER_REPLICA_STORE_ERRORS, lost);
	atomic_fetch_sub(&s->in_flight, lost);
	return lost;
}

/* The ring's pushes and drops since last told, into the owner's counters. */
static void count_queue(struct session_store *s)
{
	uint64_t pushed, dropped;
	replica_ring_totals(&s->ring, &pushed, &dropped);
	count(s, COUNTER_REPLICA_QUEUED, pushed - s->queued_told);
	count(s, COUNTER_REPLICA_QUEUE_DROPS, dropped - s->dropped_told);
	s->queued_told = pushed;
	s->dropped_told = dropped;
}

/* The hello through hiredis's reply objects (nothing else is owed then). */
static bool write_hello_now(struct session_store *s, redisContext *c, char *err, size_t err_size)
{
	bool ok;
	c->reader->fn = s->reply_objects;
	ok = write_hello(s, c, err, err_size);
	c->reader->fn = NULL;
	return ok;
}

static void *writer_main(void *arg)
{
	struct session_store *s = arg;
	struct replica_entry *batch = NULL;
	redisContext *c = NULL;
	uint32_t backoff = SESSION_STORE_BACKOFF_MIN_MS;
	char err[256], at[ENDPOINT_STRLEN];
	bool logged = false, ok;
	while (true) {
		uint32_t n;
		if (!c) {
			if (atomic_load(&s->stopping))
				break;
			c = connect_to(&s->cfg.self, s->cfg.password, err, sizeof(err));
			if (c)
				s->reply_objects = c->reader->fn;
			if (!c || !write_hello_now(s, c, err, sizeof(err))) {
				if (!logged)
					log_msg(LOG_ERR, "replication: local store %s: %s (retrying; decisions wait in "
						"the queue, %u at most)", where(&s->cfg.self, at, sizeof(at)),
						err, s->cfg.queue);
				logged = true;
				count_queue(s);
				if (c)
					redisFree(c);
				c = NULL;
				if (wait_or_stop(s, backoff))
					break;
				backoff = backoff * 2 > SESSION_STORE_BACKOFF_MAX_MS ? SESSION_STORE_BACKOFF_MAX_MS
										: backoff * 2;
				continue;
			}
			if (logged)
				log_msg(LOG_NOTICE, "replication: local store %s reached",
					where(&s->cfg.self, at, sizeof(at)));
			logged = false;
			backoff = SESSION_STORE_BACKOFF_MIN_MS;
			atomic_store(&s->hello_due, false);
		}
		if (s->owed_count == 0 && atomic_exchange(&s->hello_due, false))
			write_hello_now(s, c, err, sizeof(err));
		/* a batch owed: what is queued now is sent before its replies
		 * are read, so Redis stores one while the next is formatted */
		n = replica_ring_peek(&s->ring, &batch, SESSION_STORE_BATCH, s->owed_count ? 0 : SESSION_STORE_WAIT_MS);
		count_queue(s);
		ok = true;
		/* a few records wait for the batch owed: sent with what comes
		 * meanwhile, Redis reads fewer, larger batches */
		if (s->owed_count && n < SESSION_STORE_BATCH_MIN)
			n = 0;
		if (n > 0) {
			ok = send_batch(s, c, batch, n);
			replica_ring_release(&s->ring, n);
		}
		/* one batch in flight while more come; none once the queue is idle */
		while (ok && s->owed_count > (n > 0 ? 1u : 0u))
			ok = collect_batch(s, c);
		if (!ok) {
			uint32_t lost = drop_owed(s);
			log_msg(LOG_ERR, "replication: local store %s: %s (%u records lost)",
				where(&s->cfg.self, at, sizeof(at)), c->err ? c->errstr : "out of memory", lost);
			redisFree(c);
			c = NULL;
			continue;
		}
		if (n == 0 && atomic_load(&s->stopping))
			break;
	}
	if (c)
		redisFree(c);
	return NULL;
}

/* ---- a peer ---- */

/* The peer's hello, compared with ours: 0 when it agrees, else the check
 * that failed (logged once per change), -1 when it could not be read. */
static int check_hello(struct peer_state *p, redisContext *c)
{
	struct session_store *s = p->store;
	const struct session_store_peer *peer = &s->cfg.peers[p->index];
	struct replica_hello ours, theirs;
	char text[REPLICA_HELLO_MAX], at[ENDPOINT_STRLEN];
	redisReply *r = redisCommand(c, "GET %s", s->hello_key);
	enum replica_hello_check check;
	if (!r)
		return -1;
	hello_text(s, text, sizeof(text));
	replica_hello_parse(text, strlen(text), &ours);
	if (r->type != REDIS_REPLY_STRING || !replica_hello_parse(r->str, (size_t)r->len, &theirs)) {
		bool nil = r->type == REDIS_REPLY_NIL;
		char why[160];
		snprintf(why, sizeof(why), "%s", nil ? "no hello in its store (its sarad not started)"
			 : r->type == REDIS_REPLY_ERROR ? r->str : "its hello is unreadable");
		freeReplyObject(r);
		if (p->refused != -2)
			log_msg(LOG_WARNING, "replication: peer %s: %s; not read until it has one",
				where(&peer->at, at, sizeof(at)), why);
		p->refused = -2;
		return -2;
	}
	freeReplyObject(r);
	check = replica_hello_compare(&ours, &theirs, peer->id);
	if (check != REPLICA_HELLO_MATCH) {
		if (p->refused != (int)check) {
			char ours_hex[REPLICA_HELLO_MAX], theirs_hex[REPLICA_HELLO_MAX];
			replica_hello_format(&ours, ours_hex, sizeof(ours_hex));
			replica_hello_format(&theirs, theirs_hex, sizeof(theirs_hex));
			log_msg(LOG_ERR, "replication: peer %s %s: refused, none of its sessions is taken (its hello "
				"\"%s\", ours \"%s\", sender %u expected)", where(&peer->at, at, sizeof(at)),
				replica_hello_check_text(check), theirs_hex, ours_hex, peer->id);
			count(s, COUNTER_REPLICA_PEERS_REFUSED, 1);
		}
		p->refused = (int)check;
		return (int)check;
	}
	if (p->refused)
		log_msg(LOG_NOTICE, "replication: peer %s agrees now", where(&peer->at, at, sizeof(at)));
	p->refused = 0;
	return 0;
}

/* A peer whose server list changed since its hello (a reload on one side
 * only): said once when its records start being refused, once when they
 * agree again. */
static void note_server_list(struct peer_state *p, enum replica_verdict v)
{
	char at[ENDPOINT_STRLEN];
	const struct endpoint *peer = &p->store->cfg.peers[p->index].at;
	if (v == REPLICA_OTHER_SERVERS && p->refused != REPLICA_HELLO_OTHER_SERVERS) {
		log_msg(LOG_ERR, "replication: peer %s has another server list now: its records are refused "
			"(replica_rejected_other_servers) until both lists agree", where(peer, at, sizeof(at)));
		p->refused = REPLICA_HELLO_OTHER_SERVERS;
	} else if (v == REPLICA_OK && p->refused == REPLICA_HELLO_OTHER_SERVERS) {
		log_msg(LOG_NOTICE, "replication: peer %s agrees on the server list again", where(peer, at, sizeof(at)));
		p->refused = 0;
	}
}

/* One PUBLISH: a batch of sealed messages back to back, each checked. */
static void handle_message(struct peer_state *p, redisReply *r, struct replica_item *item)
{
	struct session_store *s = p->store;
	struct replica_digest servers;
	const uint8_t *at, *end;
	uint64_t now;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 || r->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(r->element[0]->str, "message") != 0 || r->element[2]->type != REDIS_REPLY_STRING)
		return;   /* the subscription's confirmation */
	servers = servers_now(s);
	now = clock_ms(CLOCK_REALTIME);
	at = (const uint8_t *)r->element[2]->str;
	end = at + r->element[2]->len;
	while (at < end) {
		struct wire_header hdr;
		size_t len = replica_message_length(at, (size_t)(end - at));
		enum replica_verdict v;
		if (len == 0) {
			account_rejection(s, REPLICA_TRUNCATED);   /* the rest cannot be framed */
			return;
		}
		v = replica_open(&s->cfg.key, &p->replay, at, len, now, SESSION_STORE_MAX_SKEW_MS,
				 s->cfg.peers[p->index].id, &servers, item, &hdr);
		at += len;
		note_server_list(p, v);
		if (v != REPLICA_OK) {
			account_rejection(s, v);
			continue;
		}
		count(s, COUNTER_REPLICA_RECEIVED, 1);
		s->sink.apply(s->sink.ctx, item, REPLICA_FROM_PEER);
	}
}

/* Subscribed: messages until the connection breaks or sarad stops. */
static void follow(struct peer_state *p, redisContext *sub, struct replica_item *item)
{
	struct session_store *s = p->store;
	while (!atomic_load(&s->stopping)) {
		struct pollfd pfd = { .fd = sub->fd, .events = POLLIN };
		redisReply *r = NULL;
		int rc;
		while (redisGetReplyFromReader(sub, (void **)&r) == REDIS_OK && r) {
			handle_message(p, r, item);
			freeReplyObject(r);
			r = NULL;
		}
		rc = poll(&pfd, 1, 200);
		if (rc < 0 && errno != EINTR)
			return;
		if (rc > 0 && redisBufferRead(sub) != REDIS_OK)
			return;
	}
}

static void *peer_main(void *arg)
{
	struct peer_state *p = arg;
	struct session_store *s = p->store;
	const struct session_store_peer *peer = &s->cfg.peers[p->index];
	struct replica_item *item = malloc(sizeof(*item));
	uint32_t backoff = SESSION_STORE_BACKOFF_MIN_MS;
	char err[256], at[ENDPOINT_STRLEN];
	bool logged = false;
	if (!item)
		return NULL;
	while (!atomic_load(&s->stopping)) {
		redisContext *sub = NULL, *rd = NULL;
		redisReply *r;
		uint64_t started;
		int64_t records;
		sub = connect_to(&peer->at, s->cfg.password, err, sizeof(err));
		if (!sub) {
			if (!logged)
				log_msg(LOG_WARNING, "replication: peer %s: %s (retrying)",
					where(&peer->at, at, sizeof(at)), err);
			logged = true;
			count(s, COUNTER_REPLICA_PEER_ERRORS, 1);
			goto retry;
		}
		if (check_hello(p, sub) != 0)
			goto retry_slowly;
		/* Subscribed before reading the store: a decision made while it
		 * is read waits in the subscription, so none falls between. */
		r = redisCommand(sub, "SUBSCRIBE %s", s->channel);
		if (!r || r->type != REDIS_REPLY_ARRAY) {
			if (r)
				freeReplyObject(r);
			count(s, COUNTER_REPLICA_PEER_ERRORS, 1);
			goto retry;
		}
		freeReplyObject(r);
		rd = connect_to(&peer->at, s->cfg.password, err, sizeof(err));
		if (!rd) {
			count(s, COUNTER_REPLICA_PEER_ERRORS, 1);
			goto retry;
		}
		count(s, COUNTER_REPLICA_PEER_CONNECTS, 1);
		started = clock_ms(CLOCK_MONOTONIC);
		records = resync(s, rd, REPLICA_FROM_PEER_STORE);
		redisFree(rd);
		rd = NULL;
		if (records < 0) {
			count(s, COUNTER_REPLICA_PEER_ERRORS, 1);
			goto retry;
		}
		pthread_mutex_lock(&p->lock);
		p->resync.records = (uint64_t)records;
		p->resync.ms = clock_ms(CLOCK_MONOTONIC) - started;
		p->resync.done = true;
		pthread_mutex_unlock(&p->lock);
		log_msg(LOG_NOTICE, "replication: peer %s: %lld records read from its store in %llu ms; following its "
			"decisions", where(&peer->at, at, sizeof(at)), (long long)records,
			(unsigned long long)(clock_ms(CLOCK_MONOTONIC) - started));
		logged = false;
		backoff = SESSION_STORE_BACKOFF_MIN_MS;
		/* the reads above used blocking calls with a timeout: the
		 * subscription is read without one from here */
		{
			struct timeval none = { 0, 0 };
			redisSetTimeout(sub, none);
		}
		follow(p, sub, item);
		if (!atomic_load(&s->stopping)) {
			log_msg(LOG_WARNING, "replication: peer %s: connection lost (%s); reconnecting",
				where(&peer->at, at, sizeof(at)), sub->err ? sub->errstr : "closed");
			count(s, COUNTER_REPLICA_PEER_ERRORS, 1);
		}
		redisFree(sub);
		continue;
retry_slowly:
		backoff = SESSION_STORE_BACKOFF_MAX_MS;
retry:
		if (sub)
			redisFree(sub);
		if (rd)
			redisFree(rd);
		if (wait_or_stop(s, backoff))
			break;
		backoff = backoff * 2 > SESSION_STORE_BACKOFF_MAX_MS ? SESSION_STORE_BACKOFF_MAX_MS : backoff * 2;
	}
	free(item);
	return NULL;
}

/* ---- life ---- */

static void read_own_store(struct session_store *s)
{
	char err[256], at[ENDPOINT_STRLEN];
	redisContext *c = connect_to(&s->cfg.self, s->cfg.password, err, sizeof(err));
	uint64_t started = clock_ms(CLOCK_MONOTONIC);
	int64_t records;
	if (!c) {
		log_msg(LOG_WARNING, "replication: local store %s: %s: nothing read back at start",
			where(&s->cfg.self, at, sizeof(at)), err);
		return;
	}
	records = resync(s, c, REPLICA_FROM_OWN_STORE);
	redisFree(c);
	if (records > 0)
		log_msg(LOG_NOTICE, "replication: local store %s: %lld records read back in %llu ms",
			where(&s->cfg.self, at, sizeof(at)), (long long)records,
			(unsigned long long)(clock_ms(CLOCK_MONOTONIC) - started));
}

struct session_store *session_store_create(const struct session_store_config *cfg,
					   const struct session_store_sink *sink, char *err, size_t err_size)
{
	struct session_store *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	s->cfg = *cfg;
	s->sink = *sink;
	s->seq = clock_us(CLOCK_REALTIME);
	atomic_init(&s->stopping, false);
	atomic_init(&s->hello_due, false);
	atomic_init(&s->in_flight, 0);
	pthread_mutex_init(&s->servers_lock, NULL);
	replica_channel(cfg->cluster, s->channel, sizeof(s->channel));
	replica_hello_key(cfg->cluster, s->hello_key, sizeof(s->hello_key));
	replica_store_pattern(cfg->cluster, s->pattern, sizeof(s->pattern));
	s->publish = malloc((size_t)SESSION_STORE_BATCH * REPLICA_MESSAGE_MAX);
	s->scratch = malloc(sizeof(*s->scratch));
	if (!s->publish || !s->scratch || !replica_ring_init(&s->ring, cfg->queue)) {
		snprintf(err, err_size, "replication queue: out of memory");
		session_store_stop(s);
		return NULL;
	}
	return s;
}

bool session_store_run(struct session_store *s, char *err, size_t err_size)
{
	const struct session_store_config *cfg = &s->cfg;
	read_own_store(s);
	if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
		snprintf(err, err_size, "replication thread: %s", strerror(errno));
		return false;
	}
	s->writer_started = true;
	pthread_setname_np(s->writer, "sara-replicate");   /* for top -H, perf */
	for (unsigned i = 0; i < cfg->peer_count; i++) {
		struct peer_state *p = &s->peers[i];
		p->store = s;
		p->index = i;
		pthread_mutex_init(&p->lock, NULL);
		if (pthread_create(&p->thread, NULL, peer_main, p) != 0) {
			pthread_mutex_destroy(&p->lock);
			snprintf(err, err_size, "replication peer thread: %s", strerror(errno));
			return false;
		}
		p->started = true;
		pthread_setname_np(p->thread, "sara-peer");
	}
	return true;
}

struct session_store *session_store_start(const struct session_store_config *cfg,
					  const struct session_store_sink *sink, char *err, size_t err_size)
{
	struct session_store *s = session_store_create(cfg, sink, err, err_size);
	if (s && !session_store_run(s, err, err_size)) {
		session_store_stop(s);
		return NULL;
	}
	return s;
}

bool session_store_put(struct session_store *s, const struct replica_item *item, bool publish)
{
	/* counted by the writer, from the ring's totals: no other lock here */
	return replica_ring_push(&s->ring, item, publish);
}


uint32_t session_store_pending(struct session_store *s)
{
	return replica_ring_waiting(&s->ring) + atomic_load(&s->in_flight);
}

void session_store_set_servers(struct session_store *s, const struct replica_digest *servers)
{
	pthread_mutex_lock(&s->servers_lock);
	s->cfg.servers = *servers;
	pthread_mutex_unlock(&s->servers_lock);
	atomic_store(&s->hello_due, true);
}

void session_store_resync_of(struct session_store *s, unsigned peer, struct session_store_resync *out)
{
	memset(out, 0, sizeof(*out));
	if (peer >= s->cfg.peer_count || !s->peers[peer].started)
		return;
	pthread_mutex_lock(&s->peers[peer].lock);
	*out = s->peers[peer].resync;
	pthread_mutex_unlock(&s->peers[peer].lock);
}

void session_store_stop(struct session_store *s)
{
	if (!s)
		return;
	atomic_store(&s->stopping, true);
	if (s->ring.entries)
		replica_ring_close(&s->ring);
	for (unsigned i = 0; i < s->cfg.peer_count; i++)
		if (s->peers[i].started) {
			pthread_join(s->peers[i].thread, NULL);
			pthread_mutex_destroy(&s->peers[i].lock);
		}
	if (s->writer_started)
		pthread_join(s->writer, NULL);
	replica_ring_free(&s->ring);
	sodium_memzero(s->cfg.password, sizeof(s->cfg.password));
	pthread_mutex_destroy(&s->servers_lock);
	free(s->publish);
	free(s->cmd);
	free(s->scratch);
	free(s);
}
