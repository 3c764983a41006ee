/* test_engine_replica.c - two engines as two dispatchers: what A decides
 * goes through its replica hooks, sealed and opened (replica_codec), into
 * B; B then sends a call's in-dialog requests and media to A's server
 * although its own selector would pick another; a newer version updates,
 * an older one is stale; an end by signalling ends it on B, an expiry
 * does not travel as one; nothing B applies is told back; an RTSP session's
 * control connections (the first, which takes the Session id, and one that
 * carries the session on) are known to B under the session, so that B sends
 * a segment of theirs it meets mid-stream (an ACK) to A's server, and its
 * client's next connection after one closed on A to the session's server. */
#include "call_harness.h"

#include "engine/engine_replica.h"
#include "engine/replica_codec.h"

#define CA "192.0.2.21"
#define CB "192.0.2.22"
#define NOW_WALL 1700000000000ull
#define MSGS_MAX 64

struct peer_link {
	struct call_harness *h;
	struct wire_key key;
	struct replica_digest servers;
	uint64_t seq;
	uint8_t msg[MSGS_MAX][REPLICA_MESSAGE_MAX];
	size_t len[MSGS_MAX];
	unsigned count;
	unsigned told;          /* every hook call, sealed or not */
	unsigned expired_ends;  /* ends by expiry: not sealed */
};

static void link_seal(struct peer_link *l, struct replica_item *item)
{
	assert_true(l->count < MSGS_MAX);
	l->len[l->count] = replica_seal(&l->key, 1, ++l->seq, NOW_WALL, &l->servers, item, l->msg[l->count],
					REPLICA_MESSAGE_MAX);
	assert_true(l->len[l->count] > 0);
	l->count++;
}

static void name_server(struct peer_link *l, int server, char *id, size_t size)
{
	const struct sara_config *running = engine_config(l->h->engine);
	assert_true(server >= 0 && (unsigned)server < running->server_count);
	snprintf(id, size, "%s", running->servers[server].id);
}

static void on_changed(void *ctx, const struct session_record *rec)
{
	struct peer_link *l = ctx;
	struct replica_item item = { .op = REPLICA_SESSION };
	l->told++;
	item.u.session = *rec;
	name_server(l, rec->server, item.u.session.server_id, sizeof(item.u.session.server_id));
	link_seal(l, &item);
}

static void on_flow(void *ctx, uint8_t proto, const char *key, size_t key_len, const struct session_flow_record *rec)
{
	struct peer_link *l = ctx;
	struct replica_item item = { .op = REPLICA_FLOW, .proto = proto, .key_len = (uint16_t)key_len };
	l->told++;
	memcpy(item.key, key, key_len);
	item.u.flow = *rec;
	link_seal(l, &item);
}

static void on_ended(void *ctx, uint8_t proto, const char *key, size_t key_len, bool expired)
{
	struct peer_link *l = ctx;
	struct replica_item item = { .op = REPLICA_SESSION_END, .proto = proto, .key_len = (uint16_t)key_len };
	l->told++;
	if (expired) {
		l->expired_ends++;
		return;
	}
	memcpy(item.key, key, key_len);
	link_seal(l, &item);
}

static void on_pinned(void *ctx, const struct connection_record *rec)
{
	struct peer_link *l = ctx;
	struct replica_item item = { .op = REPLICA_CONNECTION };
	l->told++;
	item.u.connection = *rec;
	name_server(l, rec->server, item.u.connection.server_id, sizeof(item.u.connection.server_id));
	link_seal(l, &item);
}

static void on_closed(void *ctx, const struct flow_key *key)
{
	struct peer_link *l = ctx;
	(void)key;
	l->told++;
}

static void link_attach(struct peer_link *l, struct call_harness *h)
{
	struct engine_replica_hooks hooks = { .ctx = l, .session_changed = on_changed, .flow_decided = on_flow,
					      .session_ended = on_ended, .connection_pinned = on_pinned,
					      .connection_closed = on_closed };
	memset(l, 0, sizeof(*l));
	l->h = h;
	for (int i = 0; i < WIRE_KEY_SIZE; i++)
		l->key.bytes[i] = (uint8_t)(i * 7);
	l->servers = replica_server_digest(&h->cfg);
	engine_set_replica(h->engine, &hooks);
}

static int slot_of(const struct call_harness *h, const char *id)
{
	const struct sara_config *running = engine_config(h->engine);
	for (unsigned s = 0; s < running->server_count; s++)
		if (strcmp(running->servers[s].id, id) == 0)
			return (int)s;
	return -1;
}

/* One message opened as B's subscriber would and applied to B's engine. */
static enum engine_replica_result apply_one(struct call_harness *b, struct wire_replay *replay, const uint8_t *msg,
					    size_t len, const struct peer_link *from)
{
	struct replica_item item;
	struct wire_header hdr;
	struct replica_digest mine = replica_server_digest(&b->cfg);
	assert_int_equal(replica_open(&from->key, replay, msg, len, NOW_WALL, 5000, 1, &mine, &item, &hdr), REPLICA_OK);
	switch (item.op) {
	case REPLICA_SESSION:
		item.u.session.server = slot_of(b, item.u.session.server_id);
		return engine_replica_session(b->engine, &item.u.session);
	case REPLICA_SESSION_END:
		return engine_replica_end(b->engine, item.proto, item.key, item.key_len);
	case REPLICA_FLOW:
		return engine_replica_flow(b->engine, item.proto, item.key, item.key_len, &item.u.flow);
	case REPLICA_CONNECTION:
		item.u.connection.server = slot_of(b, item.u.connection.server_id);
		return engine_replica_connection(b->engine, &item.u.connection);
	}
	return ENGINE_REPLICA_INVALID;
}

/* Every message A sealed since *next, into B. */
static unsigned deliver(struct peer_link *a, struct call_harness *b, struct wire_replay *replay, unsigned *next,
			unsigned *adopted)
{
	unsigned n = 0;
	for (; *next < a->count; (*next)++, n++) {
		enum engine_replica_result r = apply_one(b, replay, a->msg[*next], a->len[*next], a);
		assert_true(r == ENGINE_REPLICA_ADOPTED || r == ENGINE_REPLICA_UPDATED || r == ENGINE_REPLICA_ENDED ||
			    r == ENGINE_REPLICA_STALE);
		if (adopted && r == ENGINE_REPLICA_ADOPTED)
			(*adopted)++;
	}
	return n;
}

static void least_sessions(struct sara_config *cfg)
{
	cfg->selection.algorithm = SELECT_LEAST_SESSIONS;
}

static uint64_t b_counter(const struct call_harness *h, enum counter_id id)
{
	return counter_get(engine_counters(h->engine), id);
}

/* A call decided on A is known to B before B sees its next packet: B's own
 * least-sessions pick (s2: B already holds a call on s1) is not used. */
static void test_call_moves_to_b_with_its_server(void **state)
{
	struct call_harness *a = ch_new(least_sessions), *b = ch_new(least_sessions);
	struct peer_link *la = calloc(1, sizeof(*la)), *lb = calloc(1, sizeof(*lb));
	struct wire_replay *replay = calloc(1, sizeof(*replay));
	unsigned next = 0, adopted = 0;
	int server_a, server_b;
	uint64_t session_a, session_on_b;
	char sdp[512];
	struct verdict v;
	struct session_info info;
	(void)state;
	assert_non_null(la);
	assert_non_null(lb);
	assert_non_null(replay);
	link_attach(la, a);
	link_attach(lb, b);
	/* B's own call first: on s1 (least sessions, first slot) */
	ch_call(b, CB, "own@b", 7000, 6000, &server_b);
	assert_int_equal(server_b, 0);
	/* A's call, on A's s1 too; B would put a new one on s2 */
	session_a = ch_call(a, CA, "moved@a", 7002, 6002, &server_a);
	assert_int_equal(server_a, 0);
	lb->told = 0;
	assert_true(deliver(la, b, replay, &next, &adopted) > 0);
	/* the session, and its media flow (seen: kept alive by the kernel's copy) */
	assert_int_equal(adopted, 2);
	assert_int_equal(lb->told, 0);  /* nothing applied is told back */

	/* the client rehashed onto B: its re-INVITE, media and BYE go to s1 */
	ch_client_request(b, CA, "INVITE", "moved@a", 2, ch_sdp(sdp, sizeof(sdp), CA, 7102), &v);
	assert_int_equal(v.action, VERDICT_ACCEPT);
	assert_int_equal(v.reason, REASON_SESSION);
	assert_int_equal(v.server, server_a);
	session_on_b = v.session;
	assert_int_not_equal(session_on_b, 0);
	assert_int_equal(b_counter(b, COUNTER_SESSIONS_ADOPTED), 0);   /* known, not derived */
	assert_true(engine_session_info(b->engine, session_on_b, &info));
	assert_true(session_on_b != session_a || session_a > 0);   /* B's serial: its own */
	assert_int_equal(info.server, server_a);
	ch_media(b, CA, 7002, 6002, &v);   /* the media flow A had decided */
	assert_int_equal(v.server, server_a);
	assert_int_equal(v.identity, FLOW_SECONDARY);
	ch_client_request(b, CA, "BYE", "moved@a", 3, NULL, &v);
	assert_int_equal(v.server, server_a);
	/* B's changes go to the peers, with a higher version than A's */
	assert_true(lb->told > 0);
	free(replay);
	free(la);
	free(lb);
	ch_free(a);
	ch_free(b);
}

/* A re-INVITE on A updates B's predictions; an older state is stale. */
static void test_newer_updates_older_is_stale(void **state)
{
	struct call_harness *a = ch_new(least_sessions), *b = ch_new(least_sessions);
	struct peer_link *la = calloc(1, sizeof(*la));
	struct wire_replay *replay = calloc(1, sizeof(*replay));
	unsigned next = 0, first;
	int server;
	char sdp[512];
	struct verdict v;
	(void)state;
	assert_non_null(la);
	assert_non_null(replay);
	link_attach(la, a);
	engine_advance(b->engine, a->now);
	ch_call(a, CA, "upd@a", 7000, 6000, &server);
	deliver(la, b, replay, &next, NULL);
	first = 0;   /* A's first message: the session at version 1 */
	ch_client_request(a, CA, "INVITE", "upd@a", 2, ch_sdp(sdp, sizeof(sdp), CA, 7200), &v);
	ch_server_ok(a, CA, "upd@a", 2, "INVITE", 6200);
	assert_true(deliver(la, b, replay, &next, NULL) > 0);
	/* the new media, never seen by B, is predicted there on A's server */
	ch_media(b, CA, 7200, 6200, &v);
	assert_int_equal(v.server, server);
	assert_int_equal(v.identity, FLOW_SECONDARY);
	/* A's first state again, opened as a stored one: stale, ignored */
	{
		struct replica_item item;
		struct wire_header hdr;
		struct replica_digest mine = replica_server_digest(&b->cfg);
		assert_int_equal(replica_open(&la->key, NULL, la->msg[first], la->len[first], NOW_WALL, 5000, 0, &mine,
					      &item, &hdr),
				 REPLICA_OK);
		assert_int_equal(item.op, REPLICA_SESSION);
		item.u.session.server = slot_of(b, item.u.session.server_id);
		assert_int_equal(engine_replica_session(b->engine, &item.u.session), ENGINE_REPLICA_STALE);
	}
	free(replay);
	free(la);
	ch_free(a);
	ch_free(b);
}

/* A BYE ends the call on B too; an expiry on A does not end B's copy. */
static void test_end_travels_expiry_does_not(void **state)
{
	struct call_harness *a = ch_new(least_sessions), *b = ch_new(least_sessions);
	struct peer_link *la = calloc(1, sizeof(*la));
	struct wire_replay *replay = calloc(1, sizeof(*replay));
	unsigned next = 0;
	int server;
	struct verdict v;
	struct engine_stats stats;
	(void)state;
	assert_non_null(la);
	assert_non_null(replay);
	link_attach(la, a);
	engine_advance(b->engine, a->now);
	ch_call(a, CA, "bye@a", 7000, 6000, &server);
	ch_call(a, CB, "idle@a", 7004, 6004, &server);
	deliver(la, b, replay, &next, NULL);
	engine_get_stats(b->engine, &stats);
	assert_int_equal(stats.sessions_in_use, 2);
	ch_client_request(a, CA, "BYE", "bye@a", 2, NULL, &v);
	ch_server_ok(a, CA, "bye@a", 2, "BYE", 0);
	ch_advance_ms(a, 3000);   /* the linger over: ended */
	deliver(la, b, replay, &next, NULL);
	engine_get_stats(b->engine, &stats);
	assert_int_equal(stats.sessions_in_use, 1);
	/* the idle call expires on A (no media carried by the kernel) */
	a->kernel_carries_media = false;
	ch_advance_ms(a, 10ull * CH_SIGNALLING_S * 1000);
	engine_get_stats(a->engine, &stats);
	assert_int_equal(stats.sessions_in_use, 0);
	assert_int_equal(la->expired_ends, 1);
	deliver(la, b, replay, &next, NULL);
	engine_get_stats(b->engine, &stats);
	assert_int_equal(stats.sessions_in_use, 1);   /* B's copy lives on its own timers */
	/* an end of a session B never knew */
	assert_int_equal(engine_replica_end(b->engine, PROTO_SIP, "nope", 4), ENGINE_REPLICA_UNKNOWN);
	free(replay);
	free(la);
	ch_free(a);
	ch_free(b);
}

/* A long call: B holds A's seen media flow, which the kernel carries (the
 * flow_active hook), so B's copy outlives the signalling timeout. */
static void test_long_call_kept_by_its_media(void **state)
{
	struct call_harness *a = ch_new(least_sessions), *b = ch_new(least_sessions);
	struct peer_link *la = calloc(1, sizeof(*la));
	struct wire_replay *replay = calloc(1, sizeof(*replay));
	unsigned next = 0;
	int server;
	struct engine_stats stats;
	(void)state;
	assert_non_null(la);
	assert_non_null(replay);
	link_attach(la, a);
	b->now = a->now;
	engine_advance(b->engine, b->now);
	ch_call(a, CA, "long@a", 7000, 6000, &server);
	deliver(la, b, replay, &next, NULL);
	b->kernel_carries_media = true;
	ch_advance_ms(b, 5ull * CH_SIGNALLING_S * 1000);
	engine_get_stats(b->engine, &stats);
	assert_int_equal(stats.sessions_in_use, 1);
	b->kernel_carries_media = false;   /* the call's media stopped */
	ch_advance_ms(b, 5ull * CH_SIGNALLING_S * 1000);
	engine_get_stats(b->engine, &stats);
	assert_int_equal(stats.sessions_in_use, 0);
	free(replay);
	free(la);
	ch_free(a);
	ch_free(b);
}

/* A server B's table lacks: not adopted. */
static void test_unknown_server_not_adopted(void **state)
{
	struct call_harness *b = ch_new(least_sessions);
	struct session_record rec;
	(void)state;
	memset(&rec, 0, sizeof(rec));
	rec.serial = 3;
	rec.version = 1;
	rec.proto = PROTO_SIP;
	rec.key_len = 1;
	rec.key[0] = 'x';
	rec.server = -1;
	assert_int_equal(engine_replica_session(b->engine, &rec), ENGINE_REPLICA_NO_SERVER);
	rec.server = 1;
	rec.proto = PROTO_COUNT;
	assert_int_equal(engine_replica_session(b->engine, &rec), ENGINE_REPLICA_INVALID);
	assert_string_equal(engine_replica_result_name(ENGINE_REPLICA_STALE), "stale");
	ch_free(b);
}

static void round_robin(struct sara_config *cfg)
{
	cfg->selection.algorithm = SELECT_ROUND_ROBIN;
}

static bool count_placeholder(void *ctx, const struct session_info *session)
{
	unsigned *n = ctx;
	if (strncmp(session->key, "conn:", 5) == 0)
		(*n)++;
	return true;
}

/* B's sessions, and how many of them are connections' placeholders. */
static unsigned b_sessions(const struct call_harness *b, unsigned *placeholders)
{
	struct engine_stats stats;
	*placeholders = 0;
	engine_foreach_session(b->engine, count_placeholder, placeholders);
	engine_get_stats(b->engine, &stats);
	return stats.sessions_in_use;
}

/* An RTSP session decided on A, its client rehashed onto B, which has no
 * connmark to go by (conntrackd's copy missing) and whose own pick, round-
 * robin, would be another server: B knows the session's connections from
 * A's records, so the first segment it meets of each, a bare ACK (media
 * over the connection: the client acknowledges it), goes to A's server,
 * and B keeps no placeholder of a connection under its old key. */
static void test_rtsp_connections_known_to_b(void **state)
{
	struct call_harness *a = ch_new(round_robin), *b = ch_new(round_robin);
	struct peer_link *la = calloc(1, sizeof(*la));
	struct wire_replay *replay = calloc(1, sizeof(*replay));
	struct ch_tcp other = { CB, 41000, CH_RTSP_PORT, 1000, 9000 };
	struct ch_tcp first = { CA, 40000, CH_RTSP_PORT, 1000, 5000 };
	struct ch_tcp second = { CA, 40002, CH_RTSP_PORT, 7000, 8000 };
	unsigned next = 0, placeholders = 0;
	int server_a, server_other;
	char text[CH_TEXT_MAX];
	struct verdict v;
	(void)state;
	assert_non_null(la);
	assert_non_null(replay);
	link_attach(la, a);
	b->now = a->now;
	engine_advance(b->engine, b->now);
	/* A's round-robin: CB's session on the first server, CA's on the next;
	 * B, fresh, would pick the first */
	(void)ch_rtsp_session(a, &other, "R0", 5100, 6100, &server_other);
	(void)ch_rtsp_session(a, &first, "R1", 5000, 6000, &server_a);
	assert_int_not_equal(server_a, server_other);
	deliver(la, b, replay, &next, NULL);
	assert_int_equal(b_sessions(b, &placeholders), 2);
	assert_int_equal(placeholders, 0);
	/* the client's ACK of its media, then its PAUSE, through B */
	ch_tcp_client(b, &first, TCP_FLAG_ACK, NULL, 0, &v);
	assert_int_equal(v.action, VERDICT_ACCEPT);
	assert_int_equal(v.server, server_a);
	ch_tcp_client(b, &first, TCP_FLAG_ACK | TCP_FLAG_PSH, ch_rtsp_request(text, sizeof(text), "PAUSE", 3, "R1", NULL),
		      0, &v);
	assert_int_equal(v.server, server_a);
	assert_int_equal(v.reason, REASON_SESSION);

	/* on A, the client carries its session on over a second connection */
	ch_tcp_client(a, &first, TCP_FLAG_FIN | TCP_FLAG_ACK, NULL, 0, &v);
	ch_tcp_open(a, &second, &v);
	assert_int_equal(v.server, server_a);   /* its session's server (affinity) */
	ch_tcp_client(a, &second, TCP_FLAG_ACK | TCP_FLAG_PSH,
		      ch_rtsp_request(text, sizeof(text), "GET_PARAMETER", 4, "R1", NULL), 0, &v);
	assert_int_equal(v.server, server_a);
	assert_int_equal(counter_get(engine_counters(a->engine), COUNTER_RTSP_CONNECTION_JOINED), 1);
	deliver(la, b, replay, &next, NULL);
	assert_int_equal(b_sessions(b, &placeholders), 2);
	assert_int_equal(placeholders, 0);
	ch_tcp_client(b, &second, TCP_FLAG_ACK, NULL, 0, &v);
	assert_int_equal(v.server, server_a);
	ch_tcp_client(b, &second, TCP_FLAG_ACK | TCP_FLAG_PSH,
		      ch_rtsp_request(text, sizeof(text), "GET_PARAMETER", 5, "R1", NULL), 0, &v);
	assert_int_equal(v.server, server_a);
	assert_int_equal(v.reason, REASON_SESSION);
	assert_int_equal(b_counter(b, COUNTER_RTSP_CONNECTION_NOT_JOINED), 0);
	free(replay);
	free(la);
	ch_free(a);
	ch_free(b);
}

/* The client closed its connection on A (the FIN never met B) and opens
 * the next one, for the same session, through B: B knows the closed
 * connection from A's records but has seen nothing of it, so it does not
 * count it open, and the SYN goes to the session's server (affinity), not
 * to B's own pick. */
static void test_rtsp_session_resumed_through_b(void **state)
{
	struct call_harness *a = ch_new(round_robin), *b = ch_new(round_robin);
	struct peer_link *la = calloc(1, sizeof(*la));
	struct wire_replay *replay = calloc(1, sizeof(*replay));
	struct ch_tcp other = { CB, 41000, CH_RTSP_PORT, 1000, 9000 };
	struct ch_tcp first = { CA, 40000, CH_RTSP_PORT, 1000, 5000 };
	struct ch_tcp next_conn = { CA, 40004, CH_RTSP_PORT, 3000, 4000 };
	unsigned next = 0;
	int server_a, server_other;
	char text[CH_TEXT_MAX];
	struct verdict v;
	(void)state;
	assert_non_null(la);
	assert_non_null(replay);
	link_attach(la, a);
	b->now = a->now;
	engine_advance(b->engine, b->now);
	(void)ch_rtsp_session(a, &other, "Q0", 5100, 6100, &server_other);
	(void)ch_rtsp_session(a, &first, "Q1", 5000, 6000, &server_a);
	assert_int_not_equal(server_a, server_other);
	ch_tcp_client(a, &first, TCP_FLAG_FIN | TCP_FLAG_ACK, NULL, 0, &v);
	deliver(la, b, replay, &next, NULL);
	ch_tcp_client(b, &next_conn, TCP_FLAG_SYN, NULL, 0, &v);
	assert_int_equal(v.server, server_a);
	assert_int_equal(b_counter(b, COUNTER_RTSP_CONNECTION_AFFINITY), 1);
	ch_tcp_server(b, &next_conn, TCP_FLAG_SYN | TCP_FLAG_ACK, NULL);
	ch_tcp_client(b, &next_conn, TCP_FLAG_ACK | TCP_FLAG_PSH,
		      ch_rtsp_request(text, sizeof(text), "GET_PARAMETER", 3, "Q1", NULL), 0, &v);
	assert_int_equal(v.server, server_a);
	assert_int_equal(v.reason, REASON_SESSION);
	assert_int_equal(b_counter(b, COUNTER_RTSP_CONNECTION_JOINED), 1);
	free(replay);
	free(la);
	ch_free(a);
	ch_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_call_moves_to_b_with_its_server),
		cmocka_unit_test(test_newer_updates_older_is_stale),
		cmocka_unit_test(test_end_travels_expiry_does_not),
		cmocka_unit_test(test_long_call_kept_by_its_media),
		cmocka_unit_test(test_unknown_server_not_adopted),
		cmocka_unit_test(test_rtsp_connections_known_to_b),
		cmocka_unit_test(test_rtsp_session_resumed_through_b),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
