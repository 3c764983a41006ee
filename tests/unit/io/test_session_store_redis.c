/* test_session_store_redis.c - the Redis session store against real
 * redis-servers the test starts on loopback (two: this dispatcher's and
 * its peer's, on free ports): what the writer leaves in the store (one
 * hash per session, the latest value of each field, ends deleted, a day's
 * time to live), what a peer reads back and follows on the channel, what
 * it refuses (forged, replayed), that neither writes the other's store,
 * and stores that require a password (two more servers, with
 * requirepass). Without redis-server (make deps installs it) the group
 * fails: a skip would hide the store's regressions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "engine/replica_codec.h"
#include "io/log.h"
#include "io/session_store_redis.h"

#define CLUSTER "store-test"
#define WAIT_MS 5000
#define MAX_SEEN 256

struct redis {
	pid_t pid;
	uint16_t port;
};

#define PASSWORD "pw of the test"
/* [0] this dispatcher's, [1] its peer's; [2] and [3] the same, with
 * requirepass PASSWORD */
static struct redis redis_at[4];
static char dir[64];

/* ---- the redis-servers ---- */

static bool in_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[512];
	while (path && *path) {
		size_t n = strcspn(path, ":");
		if (n > 0 && n + strlen(name) + 2 < sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name);
			if (access(buf, X_OK) == 0)
				return true;
		}
		path += n + (path[n] == ':');
	}
	return false;
}

static uint16_t free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = 0;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static redisContext *connect_port(uint16_t port)
{
	struct timeval tv = { 1, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	if (c && c->err) {
		redisFree(c);
		return NULL;
	}
	return c;
}

static bool start_redis(struct redis *r, unsigned index, const char *password)
{
	char port[8], log_file[128];
	if (!r->port)
		r->port = free_port();   /* kept on a restart */
	snprintf(port, sizeof(port), "%u", r->port);
	snprintf(log_file, sizeof(log_file), "%s/redis-%u.log", dir, index);
	r->pid = fork();
	if (r->pid < 0)
		return false;
	if (r->pid == 0) {
		execlp("redis-server", "redis-server", "--bind", "127.0.0.1", "--port", port, "--save", "",
		       "--appendonly", "no", "--dir", dir, "--logfile", log_file, "--requirepass", password,
		       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < WAIT_MS / 20; i++) {
		redisContext *c = connect_port(r->port);
		if (c) {
			redisFree(c);
			return true;
		}
		usleep(20000);
	}
	return false;
}

static void stop_redis(struct redis *r)
{
	if (r->pid <= 0)
		return;
	kill(r->pid, SIGTERM);
	waitpid(r->pid, NULL, 0);
	r->pid = 0;
}

static int group_setup(void **state)
{
	(void)state;
	log_open("test_session_store_redis", true, false);
	if (!in_path("redis-server")) {
		fprintf(stderr, "test_session_store_redis: no redis-server in PATH (make deps installs it)\n");
		return -1;
	}
	snprintf(dir, sizeof(dir), "/tmp/sara-store-test.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	for (unsigned i = 0; i < 4; i++)
		if (!start_redis(&redis_at[i], i, i < 2 ? "" : PASSWORD)) {
			fprintf(stderr, "test_session_store_redis: redis-server did not start (%s)\n", dir);
			return -1;
		}
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];
	(void)state;
	for (unsigned i = 0; i < 4; i++)
		stop_redis(&redis_at[i]);
	if (dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "test_session_store_redis: %s left\n", dir);
	}
	return 0;
}

static redisReply *command(uint16_t port, const char *fmt, ...)
{
	redisContext *c = connect_port(port);
	redisReply *r;
	va_list ap;
	assert_non_null(c);
	if (port == redis_at[2].port || port == redis_at[3].port) {
		r = redisCommand(c, "AUTH %s", PASSWORD);
		assert_non_null(r);
		assert_int_equal(r->type, REDIS_REPLY_STATUS);
		freeReplyObject(r);
	}
	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	redisFree(c);
	assert_non_null(r);
	return r;
}

static void flush(void)
{
	for (unsigned i = 0; i < 4; i++)
		freeReplyObject(command(redis_at[i].port, "FLUSHALL"));
}

/* Each test: both stores empty. */
static int test_setup(void **state)
{
	(void)state;
	flush();
	return 0;
}

/* ---- what a store hands over ---- */

struct seen {
	uint8_t op;
	uint32_t version;
	enum replica_source from;
	char key[32];
};

struct sink_log {
	pthread_mutex_t lock;
	struct seen seen[MAX_SEEN];
	unsigned count;
	uint64_t counters[COUNTER_COUNT];
};

static void sink_apply(void *ctx, const struct replica_item *item, enum replica_source from)
{
	struct sink_log *l = ctx;
	pthread_mutex_lock(&l->lock);
	if (l->count < MAX_SEEN) {
		struct seen *s = &l->seen[l->count++];
		const char *key = item->op == REPLICA_SESSION ? item->u.session.key : item->key;
		size_t len = item->op == REPLICA_SESSION ? item->u.session.key_len : item->key_len;
		s->op = item->op;
		s->version = item->op == REPLICA_SESSION ? item->u.session.version : 0;
		s->from = from;
		snprintf(s->key, sizeof(s->key), "%.*s", (int)len, key);
	}
	pthread_mutex_unlock(&l->lock);
}

static void sink_count(void *ctx, enum counter_id id, uint64_t n)
{
	struct sink_log *l = ctx;
	pthread_mutex_lock(&l->lock);
	l->counters[id] += n;
	pthread_mutex_unlock(&l->lock);
}

static uint64_t counter(struct sink_log *l, enum counter_id id)
{
	uint64_t v;
	pthread_mutex_lock(&l->lock);
	v = l->counters[id];
	pthread_mutex_unlock(&l->lock);
	return v;
}

/* How many records of op for key came from where (FROM any: -1). */
static unsigned seen_count(struct sink_log *l, uint8_t op, const char *key, uint32_t version, int from)
{
	unsigned n = 0;
	pthread_mutex_lock(&l->lock);
	for (unsigned i = 0; i < l->count; i++)
		n += l->seen[i].op == op && strcmp(l->seen[i].key, key) == 0 &&
		     (version == 0 || l->seen[i].version == version) && (from < 0 || (int)l->seen[i].from == from);
	pthread_mutex_unlock(&l->lock);
	return n;
}

static struct wire_key test_key(void)
{
	struct wire_key key;
	for (unsigned i = 0; i < WIRE_KEY_SIZE; i++)
		key.bytes[i] = (uint8_t)(i * 7 + 3);
	return key;
}

static struct replica_digest test_servers(void)
{
	struct replica_digest d = { { 1, 2, 3, 4, 5, 6, 7, 8 } };
	return d;
}

/* Dispatcher self_id, its Redis at redis_at[pair + self_id - 1], the
 * other as its peer when with_peer, AUTH with password (NULL: none); not
 * run (its writer not started). */
static struct session_store *create_store_in(unsigned pair, const char *password, uint32_t self_id, bool with_peer,
					     struct sink_log *log)
{
	struct session_store_config sc;
	struct session_store_sink sink = { .ctx = log, .apply = sink_apply, .count = sink_count };
	struct session_store *s;
	char err[256];
	memset(&sc, 0, sizeof(sc));
	snprintf(sc.cluster, sizeof(sc.cluster), "%s", CLUSTER);
	sc.key = test_key();
	sc.servers = test_servers();
	sc.self_id = self_id;
	netaddr_parse(span_make("127.0.0.1", 9), &sc.self.addr);
	sc.self.port = redis_at[pair + self_id - 1].port;
	if (password)
		snprintf(sc.password, sizeof(sc.password), "%s", password);
	if (with_peer) {
		uint32_t other = self_id == 1 ? 2 : 1;
		sc.peer_count = 1;
		sc.peers[0].id = other;
		sc.peers[0].at.addr = sc.self.addr;
		sc.peers[0].at.port = redis_at[pair + other - 1].port;
	}
	sc.queue = 1024;
	s = session_store_create(&sc, &sink, err, sizeof(err));
	if (!s)
		fail_msg("session_store_create: %s", err);
	return s;
}

static struct session_store *create_store(uint32_t self_id, bool with_peer, struct sink_log *log)
{
	return create_store_in(0, NULL, self_id, with_peer, log);
}

static void run_store(struct session_store *s)
{
	char err[256];
	if (!session_store_run(s, err, sizeof(err)))
		fail_msg("session_store_run: %s", err);
}

static struct session_store *start_store(uint32_t self_id, bool with_peer, struct sink_log *log)
{
	struct session_store *s = create_store(self_id, with_peer, log);
	run_store(s);
	return s;
}

static void sink_init(struct sink_log *l)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
}

static void sleep_ms(unsigned ms)
{
	usleep(ms * 1000);
}

static void wait_stored(struct session_store *s)
{
	for (int i = 0; i < WAIT_MS / 5 && session_store_pending(s) > 0; i++)
		sleep_ms(5);
	assert_int_equal(session_store_pending(s), 0);
}

static struct replica_item session_item(const char *key, uint32_t version)
{
	struct replica_item item;
	memset(&item, 0, sizeof(item));
	item.op = REPLICA_SESSION;
	item.u.session.serial = 100 + (uint64_t)strlen(key);
	item.u.session.version = version;
	item.u.session.proto = PROTO_SIP;
	item.u.session.confirmed = version > 1;
	item.u.session.server = -1;
	snprintf(item.u.session.server_id, sizeof(item.u.session.server_id), "s2");
	item.u.session.key_len = (uint16_t)strlen(key);
	memcpy(item.u.session.key, key, item.u.session.key_len);
	return item;
}

static struct replica_item flow_item(const char *key, uint16_t port)
{
	struct replica_item item;
	memset(&item, 0, sizeof(item));
	item.op = REPLICA_FLOW;
	item.proto = PROTO_SIP;
	item.key_len = (uint16_t)strlen(key);
	memcpy(item.key, key, item.key_len);
	item.u.flow.serial = 100 + (uint64_t)strlen(key);
	item.u.flow.identity = 1;
	item.u.flow.key.family = NETADDR_IPV4;
	item.u.flow.key.l4 = L4_UDP;
	item.u.flow.key.sport = port;
	item.u.flow.key.dport = 30000;
	return item;
}

static struct replica_item end_item(const char *key)
{
	struct replica_item item;
	memset(&item, 0, sizeof(item));
	item.op = REPLICA_SESSION_END;
	item.proto = PROTO_SIP;
	item.key_len = (uint16_t)strlen(key);
	memcpy(item.key, key, item.key_len);
	return item;
}

static void put(struct session_store *s, struct replica_item item)
{
	assert_true(session_store_put(s, &item, true));
}

static void store_key(const char *key, char *out, size_t size)
{
	struct replica_item item = end_item(key);
	assert_true(replica_store_key(CLUSTER, &item, out, size) > 0);
}

/* The version of the session state stored at key's "s" (0: none). */
static uint32_t stored_version(uint16_t port, const char *key)
{
	char name[REPLICA_STORE_KEY_MAX];
	struct replica_digest servers = test_servers();
	struct wire_key wk = test_key();
	struct replica_item item;
	struct wire_header hdr;
	redisReply *r;
	uint32_t version = 0;
	store_key(key, name, sizeof(name));
	r = command(port, "HGET %s s", name);
	if (r->type == REDIS_REPLY_STRING) {
		assert_int_equal(replica_open(&wk, NULL, (const uint8_t *)r->str, (size_t)r->len, 0, 0, 0, &servers,
					      &item, &hdr), REPLICA_OK);
		version = item.u.session.version;
	}
	freeReplyObject(r);
	return version;
}

static long long key_integer(uint16_t port, const char *cmd, const char *key)
{
	char name[REPLICA_STORE_KEY_MAX];
	redisReply *r;
	long long v;
	store_key(key, name, sizeof(name));
	r = command(port, "%s %s", cmd, name);
	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	v = r->integer;
	freeReplyObject(r);
	return v;
}

/* ---- tests ---- */

/* What the writer leaves, however its records fall into batches (one:
 * all queued before the writer starts; else the ends in a later batch
 * than the keys they delete): the latest state and every flow of a live session, nothing of
 * an ended one, a key made again after its end, each with a day to live. */
static void check_store(bool one_batch)
{
	struct sink_log log;
	struct session_store *s;
	sink_init(&log);
	s = create_store(1, false, &log);
	if (!one_batch) {
		run_store(s);
		sleep_ms(20);   /* the writer connected and waiting */
	}
	/* made */
	put(s, session_item("live@t", 1));
	put(s, flow_item("live@t", 4000));
	put(s, session_item("live@t", 2));
	put(s, flow_item("live@t", 4002));
	put(s, session_item("live@t", 3));
	put(s, session_item("gone@t", 1));
	put(s, flow_item("gone@t", 4004));
	put(s, session_item("again@t", 1));
	put(s, flow_item("again@t", 4006));
	if (!one_batch)
		sleep_ms(20);
	/* ended (its flows with it), one made again */
	put(s, end_item("gone@t"));
	put(s, end_item("again@t"));
	put(s, session_item("again@t", 1));
	if (one_batch)
		run_store(s);
	wait_stored(s);
	session_store_stop(s);

	assert_int_equal(counter(&log, COUNTER_REPLICA_WRITTEN), 12);
	assert_int_equal(counter(&log, COUNTER_REPLICA_STORE_ERRORS), 0);
	assert_int_equal(stored_version(redis_at[0].port, "live@t"), 3);
	assert_int_equal(key_integer(redis_at[0].port, "HLEN", "live@t"), 3);   /* s and two flows */
	assert_int_equal(key_integer(redis_at[0].port, "EXISTS", "gone@t"), 0);
	assert_int_equal(stored_version(redis_at[0].port, "again@t"), 1);
	assert_int_equal(key_integer(redis_at[0].port, "HLEN", "again@t"), 1);
	for (unsigned i = 0; i < 2; i++) {
		long long ttl = key_integer(redis_at[0].port, "TTL", i ? "again@t" : "live@t");
		assert_true(ttl > (long long)SESSION_STORE_TTL_S - 60 && ttl <= (long long)SESSION_STORE_TTL_S);
	}
	/* nothing in the peer's store */
	{
		redisReply *r = command(redis_at[1].port, "DBSIZE");
		assert_int_equal(r->integer, 0);
		freeReplyObject(r);
	}
}

static void test_store_one_batch(void **state)
{
	(void)state;
	check_store(true);
}

static void test_store_record_by_record(void **state)
{
	(void)state;
	check_store(false);
}

/* A peer started later reads the store, then follows the channel;
 * neither writes the other's store. */
static void test_peer_resync_and_follow(void **state)
{
	struct sink_log a_log, b_log;
	struct session_store *a, *b;
	struct replica_item it;
	struct session_store_resync rs = { 0 };
	redisReply *r;
	(void)state;
	sink_init(&a_log);
	sink_init(&b_log);
	a = start_store(1, true, &a_log);
	it = session_item("early@t", 1);
	assert_true(session_store_put(a, &it, true));
	it = flow_item("early@t", 5000);
	assert_true(session_store_put(a, &it, true));
	it = session_item("early@t", 2);
	assert_true(session_store_put(a, &it, true));
	wait_stored(a);
	b = start_store(2, true, &b_log);
	for (int i = 0; i < WAIT_MS / 5 && !rs.done; i++) {
		sleep_ms(5);
		session_store_resync_of(b, 0, &rs);
	}
	assert_true(rs.done);
	assert_int_equal(rs.records, 2);   /* the latest state and the flow */
	assert_int_equal(seen_count(&b_log, REPLICA_SESSION, "early@t", 2, REPLICA_FROM_PEER_STORE), 1);
	assert_int_equal(seen_count(&b_log, REPLICA_FLOW, "early@t", 0, REPLICA_FROM_PEER_STORE), 1);
	assert_int_equal(seen_count(&b_log, REPLICA_SESSION, "early@t", 1, -1), 0);

	/* decided after b joined: over the channel, each record in order */
	it = session_item("late@t", 1);
	assert_true(session_store_put(a, &it, true));
	it = session_item("late@t", 2);
	assert_true(session_store_put(a, &it, true));
	it = end_item("early@t");
	assert_true(session_store_put(a, &it, true));
	wait_stored(a);
	for (int i = 0; i < WAIT_MS / 5 && seen_count(&b_log, REPLICA_SESSION_END, "early@t", 0, -1) == 0; i++)
		sleep_ms(5);
	assert_int_equal(seen_count(&b_log, REPLICA_SESSION, "late@t", 1, REPLICA_FROM_PEER), 1);
	assert_int_equal(seen_count(&b_log, REPLICA_SESSION, "late@t", 2, REPLICA_FROM_PEER), 1);
	assert_int_equal(seen_count(&b_log, REPLICA_SESSION_END, "early@t", 0, REPLICA_FROM_PEER), 1);
	assert_int_equal(counter(&b_log, COUNTER_REPLICA_RECEIVED), 3);
	/* a, whose peer b has kept nothing of its own: nothing came back */
	assert_int_equal(a_log.count, 0);

	/* each store holds its own hello only; b wrote nothing in a's */
	r = command(redis_at[0].port, "GET sara:%s:hello", CLUSTER);
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	assert_non_null(strstr(r->str, "sender=1"));
	freeReplyObject(r);
	r = command(redis_at[1].port, "DBSIZE");
	assert_int_equal(r->integer, 1);   /* b's hello */
	freeReplyObject(r);
	session_store_stop(b);
	session_store_stop(a);
}

/* One of a's stored records published again as it is (replayed) and
 * with one bit flipped (forged): b counts both and applies neither. */
static void test_peer_refuses_forged_and_replayed(void **state)
{
	struct sink_log a_log, b_log;
	struct session_store *a, *b;
	struct replica_item it;
	char name[REPLICA_STORE_KEY_MAX], channel[REPLICA_STORE_KEY_MAX];
	struct session_store_resync rs = { 0 };
	redisReply *r;
	char *copy;
	size_t len;
	(void)state;
	sink_init(&a_log);
	sink_init(&b_log);
	a = start_store(1, true, &a_log);
	wait_stored(a);
	b = start_store(2, true, &b_log);
	for (int i = 0; i < WAIT_MS / 5 && !rs.done; i++) {
		sleep_ms(5);
		session_store_resync_of(b, 0, &rs);
	}
	assert_true(rs.done);
	it = session_item("x@t", 1);
	assert_true(session_store_put(a, &it, true));
	wait_stored(a);
	for (int i = 0; i < WAIT_MS / 5 && counter(&b_log, COUNTER_REPLICA_RECEIVED) == 0; i++)
		sleep_ms(5);
	assert_int_equal(counter(&b_log, COUNTER_REPLICA_RECEIVED), 1);

	store_key("x@t", name, sizeof(name));
	replica_channel(CLUSTER, channel, sizeof(channel));
	r = command(redis_at[0].port, "HGET %s s", name);
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	len = (size_t)r->len;
	copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, r->str, len);
	freeReplyObject(r);
	freeReplyObject(command(redis_at[0].port, "PUBLISH %s %b", channel, copy, len));
	copy[len / 2] ^= 0x10;
	freeReplyObject(command(redis_at[0].port, "PUBLISH %s %b", channel, copy, len));
	free(copy);
	for (int i = 0; i < WAIT_MS / 5 && (counter(&b_log, COUNTER_REPLICA_REJECTED_REPLAYED) == 0 ||
					    counter(&b_log, COUNTER_REPLICA_REJECTED_FORGED) == 0); i++)
		sleep_ms(5);
	assert_int_equal(counter(&b_log, COUNTER_REPLICA_REJECTED_REPLAYED), 1);
	assert_int_equal(counter(&b_log, COUNTER_REPLICA_REJECTED_FORGED), 1);
	assert_int_equal(counter(&b_log, COUNTER_REPLICA_RECEIVED), 1);
	assert_int_equal(seen_count(&b_log, REPLICA_SESSION, "x@t", 0, -1), 1);
	session_store_stop(b);
	session_store_stop(a);
}

/* This dispatcher's Redis stops and comes back empty on its port: the
 * batch sent into the dead connection is lost and counted; the writer
 * reconnects, leaves its hello again, and what was decided while it could
 * not (waiting in the queue) is stored. */
static void test_store_comes_back(void **state)
{
	struct sink_log log;
	struct session_store *s;
	redisReply *r;
	(void)state;
	sink_init(&log);
	s = start_store(1, false, &log);
	put(s, session_item("before@t", 1));
	wait_stored(s);
	stop_redis(&redis_at[0]);
	put(s, session_item("lost@t", 1));
	sleep_ms(200);   /* sent, the connection found closed, reconnecting */
	put(s, session_item("during@t", 1));
	put(s, flow_item("during@t", 4100));
	sleep_ms(100);
	assert_int_equal(session_store_pending(s), 2);
	assert_true(start_redis(&redis_at[0], 0, ""));
	wait_stored(s);
	assert_int_equal(stored_version(redis_at[0].port, "during@t"), 1);
	assert_int_equal(key_integer(redis_at[0].port, "HLEN", "during@t"), 2);
	assert_int_equal(key_integer(redis_at[0].port, "EXISTS", "lost@t"), 0);
	assert_int_equal(key_integer(redis_at[0].port, "EXISTS", "before@t"), 0);   /* it came back empty */
	r = command(redis_at[0].port, "GET sara:%s:hello", CLUSTER);
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	freeReplyObject(r);
	assert_int_equal(counter(&log, COUNTER_REPLICA_WRITTEN), 3);
	assert_int_equal(counter(&log, COUNTER_REPLICA_STORE_ERRORS), 1);
	session_store_stop(s);
}

/* Stores that require a password (ha.redis_password_file): with it, a
 * dispatcher writes its own and a peer resyncs and follows; without it,
 * or with another, nothing is written (the records wait in the queue). */
static void test_password(void **state)
{
	struct sink_log a_log, b_log, w_log;
	struct session_store *a, *b, *w;
	struct session_store_resync rs = { 0 };
	redisReply *r;
	(void)state;
	sink_init(&a_log);
	sink_init(&b_log);
	sink_init(&w_log);
	/* the wrong password, then none */
	for (int i = 0; i < 2; i++) {
		w = create_store_in(2, i ? NULL : "not the password", 1, false, &w_log);
		put(w, session_item("refused@t", 1));
		run_store(w);
		sleep_ms(300);
		assert_int_equal(session_store_pending(w), 1);
		session_store_stop(w);
		r = command(redis_at[2].port, "DBSIZE");
		assert_int_equal(r->integer, 0);
		freeReplyObject(r);
	}
	assert_int_equal(counter(&w_log, COUNTER_REPLICA_WRITTEN), 0);

	a = create_store_in(2, PASSWORD, 1, true, &a_log);
	put(a, session_item("kept@t", 1));
	run_store(a);
	wait_stored(a);
	assert_int_equal(stored_version(redis_at[2].port, "kept@t"), 1);
	b = create_store_in(2, PASSWORD, 2, true, &b_log);
	run_store(b);
	for (int i = 0; i < WAIT_MS / 5 && !rs.done; i++) {
		sleep_ms(5);
		session_store_resync_of(b, 0, &rs);
	}
	assert_true(rs.done);
	assert_int_equal(seen_count(&b_log, REPLICA_SESSION, "kept@t", 1, REPLICA_FROM_PEER_STORE), 1);
	put(a, session_item("kept@t", 2));
	wait_stored(a);
	for (int i = 0; i < WAIT_MS / 5 && counter(&b_log, COUNTER_REPLICA_RECEIVED) == 0; i++)
		sleep_ms(5);
	assert_int_equal(seen_count(&b_log, REPLICA_SESSION, "kept@t", 2, REPLICA_FROM_PEER), 1);
	session_store_stop(b);
	session_store_stop(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_store_one_batch, test_setup),
		cmocka_unit_test_setup(test_store_record_by_record, test_setup),
		cmocka_unit_test_setup(test_peer_resync_and_follow, test_setup),
		cmocka_unit_test_setup(test_peer_refuses_forged_and_replayed, test_setup),
		cmocka_unit_test_setup(test_store_comes_back, test_setup),
		cmocka_unit_test_setup(test_password, test_setup),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
