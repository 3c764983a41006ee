/* test_replica_codec.c - replicated session decisions on the wire: every
 * op round-trips; forged, replayed, stale, another sender's, another
 * server list's, another kind's and malformed messages are refused with
 * their own verdict; stored states open without the replay window; the
 * store's names; the hello line and its comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dpi/span.h"
#include "engine/replica_codec.h"

#define NOW_MS 1700000000000ull
#define SKEW_MS 5000u
#define SENDER 2u

static struct wire_key key_of(uint8_t base)
{
	struct wire_key key;
	for (int i = 0; i < WIRE_KEY_SIZE; i++)
		key.bytes[i] = (uint8_t)(base + i);
	return key;
}

static void two_servers(struct sara_config *cfg)
{
	sara_config_defaults(cfg);
	snprintf(cfg->name, sizeof(cfg->name), "codec");
	cfg->server_count = 2;
	for (unsigned i = 0; i < 2; i++) {
		char text[32];
		snprintf(cfg->servers[i].id, sizeof(cfg->servers[i].id), "s%u", i + 1);
		snprintf(text, sizeof(text), "198.18.5.%u", i + 1);
		assert_true(netaddr_parse(span_make(text, strlen(text)), &cfg->servers[i].address));
		cfg->servers[i].mark = i + 1;
		cfg->servers[i].table = 101 + i;
		cfg->servers[i].weight = 1.0;
	}
}

static struct replica_item session_item(void)
{
	struct replica_item item;
	memset(&item, 0, sizeof(item));
	item.op = REPLICA_SESSION;
	item.u.session.serial = 7;
	item.u.session.version = 3;
	item.u.session.proto = PROTO_SIP;
	item.u.session.confirmed = true;
	item.u.session.server = 1;
	snprintf(item.u.session.server_id, sizeof(item.u.session.server_id), "s2");
	item.u.session.key_len = (uint16_t)strlen("call-1@client");
	memcpy(item.u.session.key, "call-1@client", item.u.session.key_len);
	item.u.session.stream_count = 1;
	item.u.session.streams[0].client_rtp = 7000;
	item.u.session.streams[0].server_rtp = 6000;
	return item;
}

static size_t seal_item(const struct wire_key *key, uint64_t seq, uint64_t time_ms, const struct replica_digest *d,
			const struct replica_item *item, uint8_t *out)
{
	size_t n = replica_seal(key, SENDER, seq, time_ms, d, item, out, REPLICA_MESSAGE_MAX);
	assert_true(n > 0);
	return n;
}

static void test_every_op_round_trips(void **state)
{
	struct sara_config cfg;
	struct wire_key key = key_of(1);
	struct wire_replay *replay = calloc(1, sizeof(*replay));
	struct replica_digest d;
	struct replica_item in[5], out;
	struct wire_header hdr;
	uint8_t msg[REPLICA_MESSAGE_MAX];
	(void)state;
	assert_non_null(replay);
	two_servers(&cfg);
	d = replica_server_digest(&cfg);
	in[0] = session_item();
	memset(&in[1], 0, sizeof(in[1]) * 4);
	in[1].op = REPLICA_SESSION_END;
	in[1].proto = PROTO_SIP;
	in[1].key_len = 6;
	memcpy(in[1].key, "call-9", 6);
	in[2] = in[1];
	in[2].op = REPLICA_FLOW;
	in[2].u.flow.identity = 3;
	in[2].u.flow.serial = 5;
	in[2].u.flow.key.family = NETADDR_IPV4;
	in[2].u.flow.key.l4 = L4_UDP;
	in[2].u.flow.key.sport = 7000;
	in[2].u.flow.key.dport = 6000;
	in[3].op = REPLICA_CONNECTION;
	in[3].u.connection.key = in[2].u.flow.key;
	in[3].u.connection.key.l4 = L4_TCP;
	snprintf(in[3].u.connection.server_id, sizeof(in[3].u.connection.server_id), "s1");
	in[4].op = REPLICA_CONNECTION_END;
	in[4].u.connection_end = in[3].u.connection.key;
	for (unsigned i = 0; i < 5; i++) {
		size_t n = seal_item(&key, 100 + i, NOW_MS, &d, &in[i], msg);
		assert_int_equal(replica_open(&key, replay, msg, n, NOW_MS, SKEW_MS, SENDER, &d, &out, &hdr), REPLICA_OK);
		assert_int_equal(out.op, in[i].op);
		assert_int_equal(hdr.sender, SENDER);
		assert_int_equal(hdr.seq, 100 + i);
		/* the queue copies replica_item_size bytes, over a slot's old
		 * bytes: they seal alike, and the store names them alike */
		{
			struct replica_item *copy = malloc(sizeof(*copy));
			uint8_t again[REPLICA_MESSAGE_MAX];
			char key_a[REPLICA_STORE_KEY_MAX], key_b[REPLICA_STORE_KEY_MAX];
			char field_a[REPLICA_FIELD_MAX], field_b[REPLICA_FIELD_MAX];
			assert_non_null(copy);
			memset(copy, 0xa5, sizeof(*copy));
			assert_true(replica_item_size(&in[i]) <= sizeof(*copy));
			memcpy(copy, &in[i], replica_item_size(&in[i]));
			assert_int_equal(seal_item(&key, 100 + i, NOW_MS, &d, copy, again), n);
			assert_memory_equal(again, msg, n);
			assert_int_equal(replica_store_key("cl", copy, key_a, sizeof(key_a)),
					 replica_store_key("cl", &in[i], key_b, sizeof(key_b)));
			assert_string_equal(key_a, key_b);
			assert_int_equal(replica_store_field(copy, field_a, sizeof(field_a)),
					 replica_store_field(&in[i], field_b, sizeof(field_b)));
			assert_string_equal(field_a, field_b);
			free(copy);
		}
	}
	/* the last one decoded is the connection's end */
	assert_memory_equal(&out.u.connection_end, &in[4].u.connection_end, sizeof(struct flow_key));
	/* the session: by key, server by id */
	{
		size_t n = seal_item(&key, 200, NOW_MS, &d, &in[0], msg);
		assert_int_equal(replica_open(&key, replay, msg, n, NOW_MS, SKEW_MS, SENDER, &d, &out, &hdr), REPLICA_OK);
		assert_int_equal(out.proto, PROTO_SIP);
		assert_int_equal(out.key_len, in[0].u.session.key_len);
		assert_memory_equal(out.key, "call-1@client", out.key_len);
		assert_string_equal(out.u.session.server_id, "s2");
		assert_int_equal(out.u.session.server, -1);
		assert_int_equal(out.u.session.version, 3);
		assert_int_equal(out.u.session.streams[0].server_rtp, 6000);
	}
	free(replay);
}

static void test_refusals_have_their_reason(void **state)
{
	struct sara_config cfg, other;
	struct wire_key key = key_of(1), wrong = key_of(9);
	struct wire_replay *replay = calloc(1, sizeof(*replay));
	struct replica_digest d, d_other;
	struct replica_item item = session_item(), out;
	struct wire_header hdr;
	uint8_t msg[REPLICA_MESSAGE_MAX], copy[REPLICA_MESSAGE_MAX];
	size_t n;
	(void)state;
	assert_non_null(replay);
	two_servers(&cfg);
	other = cfg;
	other.servers[1].mark = 9;   /* one server's mark differs */
	d = replica_server_digest(&cfg);
	d_other = replica_server_digest(&other);
	assert_memory_not_equal(d.bytes, d_other.bytes, REPLICA_DIGEST_SIZE);

	n = seal_item(&key, 500, NOW_MS, &d, &item, msg);
	/* forged: one bit of the body flipped, or sealed with another key */
	memcpy(copy, msg, n);
	copy[WIRE_HEADER_SIZE + 20] ^= 1;
	assert_int_equal(replica_open(&key, replay, copy, n, NOW_MS, SKEW_MS, SENDER, &d, &out, &hdr),
			 REPLICA_FORGED);
	assert_int_equal(replica_open(&wrong, replay, msg, n, NOW_MS, SKEW_MS, SENDER, &d, &out, &hdr),
			 REPLICA_FORGED);
	/* accepted once, then replayed */
	assert_int_equal(replica_open(&key, replay, msg, n, NOW_MS, SKEW_MS, SENDER, &d, &out, &hdr), REPLICA_OK);
	assert_int_equal(replica_open(&key, replay, msg, n, NOW_MS, SKEW_MS, SENDER, &d, &out, &hdr),
			 REPLICA_REPLAYED);
	/* stale: sealed a minute ago */
	n = seal_item(&key, 501, NOW_MS - 60000, &d, &item, msg);
	assert_int_equal(replica_open(&key, replay, msg, n, NOW_MS, SKEW_MS, SENDER, &d, &out, &hdr), REPLICA_STALE);
	/* ... but a stored state is read back whatever its age or order */
	assert_int_equal(replica_open(&key, NULL, msg, n, NOW_MS, SKEW_MS, 0, &d, &out, &hdr), REPLICA_OK);
	n = seal_item(&key, 400, 1000, &d, &item, msg);   /* sealed long ago */
	assert_int_equal(replica_open(&key, NULL, msg, n, NOW_MS, SKEW_MS, 0, &d, &out, &hdr), REPLICA_OK);
	/* another server list: authentic, refused */
	n = seal_item(&key, 502, NOW_MS, &d_other, &item, msg);
	assert_int_equal(replica_open(&key, replay, msg, n, NOW_MS, SKEW_MS, SENDER, &d, &out, &hdr),
			 REPLICA_OTHER_SERVERS);
	/* another sender on this peer's channel */
	n = seal_item(&key, 503, NOW_MS, &d, &item, msg);
	assert_int_equal(replica_open(&key, replay, msg, n, NOW_MS, SKEW_MS, SENDER + 1, &d, &out, &hdr),
			 REPLICA_OTHER_SENDER);
	/* back to back: each one's length */
	n = seal_item(&key, 505, NOW_MS, &d, &item, msg);
	memcpy(copy, msg, n);
	memcpy(copy + n, msg, 40);
	assert_int_equal(replica_message_length(copy, n + 40), n);
	assert_int_equal(replica_message_length(copy + n, 40), 0);   /* a cut one */
	assert_int_equal(replica_message_length(copy, 10), 0);
	/* truncated */
	n = seal_item(&key, 504, NOW_MS, &d, &item, msg);
	assert_int_equal(replica_open(&key, replay, msg, n - 1, NOW_MS, SKEW_MS, SENDER, &d, &out, &hdr),
			 REPLICA_TRUNCATED);
	free(replay);
}

/* Authentic messages that are not replicas, or whose body does not decode. */
static void test_authentic_but_not_a_replica(void **state)
{
	struct sara_config cfg;
	struct wire_key key = key_of(1);
	struct replica_digest d;
	struct replica_item out;
	struct wire_header hdr = { .type = WIRE_ANNOUNCE, .sender = SENDER, .seq = 1, .time_ms = NOW_MS };
	uint8_t body[64], msg[REPLICA_MESSAGE_MAX];
	size_t n;
	(void)state;
	two_servers(&cfg);
	d = replica_server_digest(&cfg);
	memset(body, 0, sizeof(body));
	body[0] = REPLICA_FORMAT;
	memcpy(body + 1, d.bytes, REPLICA_DIGEST_SIZE);
	hdr.body_len = sizeof(body);
	/* a UDP channel's message (HMAC) does not open as a replica, whatever its type */
	n = wire_seal(&key, &hdr, body, msg, sizeof(msg));
	assert_int_equal(replica_open(&key, NULL, msg, n, NOW_MS, SKEW_MS, 0, &d, &out, &hdr), REPLICA_FORGED);
	n = wire_seal_mac(WIRE_MAC_BLAKE2B, &key, &hdr, body, msg, sizeof(msg));
	assert_int_equal(replica_open(&key, NULL, msg, n, NOW_MS, SKEW_MS, 0, &d, &out, &hdr), REPLICA_NOT_REPLICA);
	hdr.type = WIRE_SESSION_REPLICA;
	body[1 + REPLICA_DIGEST_SIZE] = REPLICA_SESSION;   /* a session with no record after it */
	n = wire_seal_mac(WIRE_MAC_BLAKE2B, &key, &hdr, body, msg, sizeof(msg));
	assert_int_equal(replica_open(&key, NULL, msg, n, NOW_MS, SKEW_MS, 0, &d, &out, &hdr), REPLICA_MALFORMED);
	body[0] = REPLICA_FORMAT + 1;
	n = wire_seal_mac(WIRE_MAC_BLAKE2B, &key, &hdr, body, msg, sizeof(msg));
	assert_int_equal(replica_open(&key, NULL, msg, n, NOW_MS, SKEW_MS, 0, &d, &out, &hdr), REPLICA_MALFORMED);
	assert_string_equal(replica_verdict_name(REPLICA_OTHER_SERVERS), "other_servers");
}

/* The digest follows servers by id, whatever their slots. */
static void test_digest_ignores_slot_order(void **state)
{
	struct sara_config a, b;
	struct replica_digest da, db;
	(void)state;
	two_servers(&a);
	b = a;
	b.servers[0] = a.servers[1];
	b.servers[1] = a.servers[0];
	da = replica_server_digest(&a);
	db = replica_server_digest(&b);
	assert_memory_equal(da.bytes, db.bytes, REPLICA_DIGEST_SIZE);
	b.servers[0].retired = true;   /* a retired server is no longer in the list */
	db = replica_server_digest(&b);
	assert_memory_not_equal(da.bytes, db.bytes, REPLICA_DIGEST_SIZE);
}

static void test_store_names(void **state)
{
	struct replica_item item = session_item();
	char key[REPLICA_STORE_KEY_MAX], field[REPLICA_FIELD_MAX], expect[64];
	(void)state;
	/* a session's state is named by its own key (item.key unset) */
	item.u.session.key_len = 3;
	memcpy(item.u.session.key, "a:b", 3);
	assert_true(replica_store_key("cl", &item, key, sizeof(key)) > 0);
	snprintf(expect, sizeof(expect), "sara:cl:s:%u:613a62", PROTO_SIP);
	assert_string_equal(key, expect);
	assert_true(replica_store_field(&item, field, sizeof(field)) > 0);
	assert_string_equal(field, "s");
	/* its end and its flows by the key they carry: the same hash */
	item.op = REPLICA_SESSION_END;
	item.proto = PROTO_SIP;
	item.key_len = 3;
	memcpy(item.key, "a:b", 3);
	assert_true(replica_store_key("cl", &item, key, sizeof(key)) > 0);
	assert_string_equal(key, expect);
	item.op = REPLICA_CONNECTION_END;
	memset(&item.u.connection_end, 0, sizeof(item.u.connection_end));
	item.u.connection_end.family = NETADDR_IPV4;
	item.u.connection_end.l4 = L4_TCP;
	item.u.connection_end.sport = 0x1234;
	assert_true(replica_store_key("cl", &item, key, sizeof(key)) > 0);
	assert_memory_equal(key, "sara:cl:c:02061234", 18);
	assert_int_equal(replica_store_key("cl", &item, key, 12), 0);   /* too small: nothing */
	assert_true(replica_store_pattern("cl", key, sizeof(key)) > 0);
	assert_string_equal(key, "sara:cl:[sc]:*");
}

static void test_hello(void **state)
{
	struct sara_config cfg, other;
	struct wire_key key = key_of(1), wrong = key_of(2);
	struct replica_hello ours, theirs, read;
	char text[REPLICA_HELLO_MAX];
	size_t n;
	(void)state;
	two_servers(&cfg);
	other = cfg;
	other.server_count = 1;
	memset(&ours, 0, sizeof(ours));
	ours.format = REPLICA_FORMAT;
	snprintf(ours.cluster, sizeof(ours.cluster), "cl");
	ours.key = replica_key_fingerprint(&key);
	ours.servers = replica_server_digest(&cfg);
	ours.sender = 1;
	theirs = ours;
	theirs.sender = 2;
	n = replica_hello_format(&theirs, text, sizeof(text));
	assert_true(n > 0);
	assert_true(replica_hello_parse(text, n, &read));
	assert_int_equal(replica_hello_compare(&ours, &read, 2), REPLICA_HELLO_MATCH);
	assert_int_equal(replica_hello_compare(&ours, &read, 3), REPLICA_HELLO_OTHER_SENDER);
	read.key = replica_key_fingerprint(&wrong);
	assert_int_equal(replica_hello_compare(&ours, &read, 2), REPLICA_HELLO_OTHER_KEY);
	assert_string_equal(replica_hello_check_text(REPLICA_HELLO_OTHER_KEY), "uses another cluster key");
	theirs.servers = replica_server_digest(&other);
	n = replica_hello_format(&theirs, text, sizeof(text));
	assert_true(replica_hello_parse(text, n, &read));
	assert_int_equal(replica_hello_compare(&ours, &read, 2), REPLICA_HELLO_OTHER_SERVERS);
	snprintf(read.cluster, sizeof(read.cluster), "other");
	assert_int_equal(replica_hello_compare(&ours, &read, 2), REPLICA_HELLO_OTHER_CLUSTER);
	/* garbage is not a hello */
	assert_false(replica_hello_parse("sara-replica 1 cluster=cl key=zz", 32, &read));
	assert_false(replica_hello_parse("hello", 5, &read));
	/* a cluster name with a byte no name has (found by fuzz_replica) */
	assert_false(replica_hello_parse("sara-replica 1 cluster=a\001b key=0011223344556677 servers=0011223344556677 "
					 "sender=2", 75, &read));
	assert_false(replica_hello_parse(text, n - 1, &read));   /* no sender number left */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_op_round_trips),
		cmocka_unit_test(test_refusals_have_their_reason),
		cmocka_unit_test(test_authentic_but_not_a_replica),
		cmocka_unit_test(test_digest_ignores_slot_order),
		cmocka_unit_test(test_store_names),
		cmocka_unit_test(test_hello),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
