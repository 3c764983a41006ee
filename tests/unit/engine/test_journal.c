/* test_journal.c - the session journal's format and replay: every record
 * round trips; a torn tail, a flipped byte anywhere, another format version
 * or cluster are detected and reported, never trusted; replay keeps each
 * session's latest version, ends sessions for good, gathers their flows and
 * reads a compaction's previous file before the current one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/journal_codec.h"
#include "engine/journal_replay.h"

#define CLUSTER "voice-1"
#define IMAGE_MAX 65536

static struct netaddr addr(const char *text)
{
	struct netaddr a;
	assert_true(netaddr_parse(span_make(text, strlen(text)), &a));
	return a;
}

static struct session_record session(uint64_t serial, uint32_t version, const char *key, const char *server)
{
	struct session_record s;
	memset(&s, 0, sizeof(s));
	s.serial = serial;
	s.version = version;
	s.proto = PROTO_SIP;
	s.confirmed = version > 1;
	s.server = -1;
	snprintf(s.server_id, sizeof(s.server_id), "%s", server);
	s.key_len = (uint16_t)strlen(key);
	memcpy(s.key, key, s.key_len);
	s.created_ms = 123456789;
	s.peer = addr("192.0.2.10");
	s.stream_count = 2;
	s.streams[0].client_addr = addr("192.0.2.10");
	s.streams[0].client_rtp = 7000;
	s.streams[0].client_rtcp = 7001;
	s.streams[0].server_addr = addr("198.18.10.1");
	s.streams[0].server_rtp = 6000;
	s.streams[0].server_rtcp = 6001;
	s.streams[0].server_rtcp_addr = addr("198.18.10.2");   /* a=rtcp naming another address */
	s.server_heard = true;
	s.signalling_s = 1800;
	s.streams[1].client_addr = addr("2001:db8::10");
	s.streams[1].client_rtp = 7002;
	s.streams[1].client_rtcp = 7002;
	return s;
}

static struct session_flow_record flow(uint64_t serial, uint16_t sport)
{
	struct session_flow_record f;
	struct netaddr src = addr("192.0.2.10"), dst = addr("198.18.10.1");
	memset(&f, 0, sizeof(f));
	f.serial = serial;
	f.identity = 2; /* FLOW_SECONDARY */
	f.key.family = src.family;
	f.key.l4 = 17;
	f.key.sport = sport;
	f.key.dport = 6000;
	memcpy(f.key.src, src.bytes, 16);
	memcpy(f.key.dst, dst.bytes, 16);
	return f;
}

/* A journal image being built. */
struct image {
	uint8_t buf[IMAGE_MAX];
	size_t len;
};

static void image_add(struct image *im, size_t n)
{
	assert_true(n > 0);
	im->len += n;
	assert_true(im->len <= IMAGE_MAX);
}

static void image_start(struct image *im, const char *cluster, uint16_t version)
{
	struct journal_header h = { .version = version, .created_wall_ms = 1700000000000ull, .next_serial = 2 };
	snprintf(h.cluster, sizeof(h.cluster), "%s", cluster);
	im->len = 0;
	image_add(im, journal_encode_magic(im->buf, IMAGE_MAX));
	image_add(im, journal_encode_header(&h, im->buf + im->len, IMAGE_MAX - im->len));
}

static void image_session(struct image *im, const struct session_record *s)
{
	image_add(im, journal_encode_session(s, im->buf + im->len, IMAGE_MAX - im->len));
}

static void image_flow(struct image *im, const struct session_flow_record *f)
{
	image_add(im, journal_encode_flow(f, im->buf + im->len, IMAGE_MAX - im->len));
}

static void image_end(struct image *im, uint64_t serial)
{
	image_add(im, journal_encode_end(serial, im->buf + im->len, IMAGE_MAX - im->len));
}

/* ---- the codec ---- */

/* A record decoded and encoded again gives the same bytes: every field
 * the layout holds came back (struct padding aside). */
static void assert_round_trip(const uint8_t *bytes, size_t n, struct journal_record *rec)
{
	uint8_t again[JOURNAL_RECORD_MAX];
	size_t off = 0;
	assert_int_equal(journal_decode(bytes, n, &off, rec), JOURNAL_READ_RECORD);
	assert_int_equal(off, n);
	assert_int_equal(journal_encode_record(rec, again, sizeof(again)), n);
	assert_memory_equal(again, bytes, n);
}

static void test_records_round_trip(void **state)
{
	uint8_t buf[JOURNAL_RECORD_MAX];
	struct journal_record rec;
	struct session_record s = session(42, 7, "a84b4c76e66710@pc33.example.com", "media2");
	struct session_flow_record f = flow(42, 7000);
	struct server_record srv = { .id = "media2", .address = addr("10.0.0.2"), .mark = 0x101, .table = 102 };
	struct journal_header h = { .version = JOURNAL_FORMAT_VERSION, .cluster = CLUSTER, .created_wall_ms = 99,
				    .next_serial = 1234 };
	struct connection_record c = { .key = f.key, .server = -1, .server_id = "media3" };
	(void)state;

	assert_round_trip(buf, journal_encode_session(&s, buf, sizeof(buf)), &rec);
	assert_int_equal(rec.type, JOURNAL_SESSION);
	assert_int_equal(rec.u.session.serial, 42);
	assert_int_equal(rec.u.session.version, 7);
	assert_string_equal(rec.u.session.server_id, "media2");
	assert_int_equal(rec.u.session.server, -1);
	assert_int_equal(rec.u.session.key_len, strlen("a84b4c76e66710@pc33.example.com"));
	assert_memory_equal(rec.u.session.key, "a84b4c76e66710@pc33.example.com", rec.u.session.key_len);
	assert_int_equal(rec.u.session.created_ms, 123456789);
	assert_true(netaddr_equal(&rec.u.session.peer, &s.peer));
	assert_int_equal(rec.u.session.stream_count, 2);
	assert_true(netaddr_equal(&rec.u.session.streams[1].client_addr, &s.streams[1].client_addr));
	assert_int_equal(rec.u.session.streams[0].server_rtcp, 6001);
	assert_true(netaddr_equal(&rec.u.session.streams[0].server_rtcp_addr, &s.streams[0].server_rtcp_addr));
	assert_int_equal(rec.u.session.streams[1].client_rtcp_addr.family, 0);
	assert_true(rec.u.session.confirmed);
	assert_true(rec.u.session.server_heard);
	assert_int_equal(rec.u.session.signalling_s, 1800);

	assert_round_trip(buf, journal_encode_flow(&f, buf, sizeof(buf)), &rec);
	assert_int_equal(rec.type, JOURNAL_FLOW);
	assert_int_equal(rec.u.flow.serial, 42);
	assert_memory_equal(&rec.u.flow.key, &f.key, sizeof(f.key));   /* explicit padding: zero */

	assert_round_trip(buf, journal_encode_server(&srv, buf, sizeof(buf)), &rec);
	assert_int_equal(rec.type, JOURNAL_SERVER);
	assert_string_equal(rec.u.server.id, "media2");
	assert_int_equal(rec.u.server.mark, 0x101);
	assert_int_equal(rec.u.server.table, 102);
	assert_true(netaddr_equal(&rec.u.server.address, &srv.address));
	assert_int_equal(rec.u.server.address6.family, 0);
	/* a dual-stack server's IPv6 address follows */
	srv.address6 = addr("fd00:2::2");
	assert_round_trip(buf, journal_encode_server(&srv, buf, sizeof(buf)), &rec);
	assert_true(netaddr_equal(&rec.u.server.address6, &srv.address6));
	assert_true(netaddr_equal(&rec.u.server.address, &srv.address));

	assert_round_trip(buf, journal_encode_header(&h, buf, sizeof(buf)), &rec);
	assert_int_equal(rec.type, JOURNAL_HEADER);
	assert_string_equal(rec.u.header.cluster, CLUSTER);
	assert_int_equal(rec.u.header.next_serial, 1234);
	assert_int_equal(rec.u.header.created_wall_ms, 99);

	assert_round_trip(buf, journal_encode_end(42, buf, sizeof(buf)), &rec);
	assert_int_equal(rec.type, JOURNAL_END);
	assert_int_equal(rec.u.end_serial, 42);

	c.key.l4 = 6;
	assert_round_trip(buf, journal_encode_connection(&c, buf, sizeof(buf)), &rec);
	assert_int_equal(rec.type, JOURNAL_CONNECTION);
	assert_memory_equal(&rec.u.connection.key, &c.key, sizeof(c.key));
	assert_string_equal(rec.u.connection.server_id, "media3");
	assert_round_trip(buf, journal_encode_connection_end(&c.key, buf, sizeof(buf)), &rec);
	assert_int_equal(rec.type, JOURNAL_CONNECTION_END);
	assert_memory_equal(&rec.u.connection_end, &c.key, sizeof(c.key));
}

static void test_encoders_refuse(void **state)
{
	uint8_t buf[JOURNAL_RECORD_MAX];
	struct session_record s = session(1, 1, "k", "s1");
	struct session_flow_record f = flow(1, 7000);
	struct server_record srv = { .id = "s2", .address = addr("10.0.0.2"), .mark = 2, .table = 102 };
	(void)state;
	assert_int_equal(journal_encode_session(&s, buf, 20), 0);       /* too small */
	s.key_len = SESSION_KEY_MAX;
	assert_int_equal(journal_encode_session(&s, buf, sizeof(buf)), 0);
	s = session(1, 1, "k", "s1");
	s.stream_count = SESSION_MAX_STREAMS + 1;
	assert_int_equal(journal_encode_session(&s, buf, sizeof(buf)), 0);
	s = session(1, 1, "k", "s1");
	s.peer.family = 99;
	assert_int_equal(journal_encode_session(&s, buf, sizeof(buf)), 0);
	f.key.family = 0;
	assert_int_equal(journal_encode_flow(&f, buf, sizeof(buf)), 0);
	assert_int_equal(journal_encode_magic(buf, 7), 0);
	/* a server's address6 is IPv6 or nothing */
	srv.address6 = addr("10.0.0.22");
	assert_int_equal(journal_encode_server(&srv, buf, sizeof(buf)), 0);
}

/* Every prefix of a record is torn (or nothing); the whole is a record. */
static void test_torn_record(void **state)
{
	uint8_t buf[JOURNAL_RECORD_MAX];
	struct journal_record rec;
	struct session_record s = session(9, 1, "call-9", "s1");
	size_t n = journal_encode_session(&s, buf, sizeof(buf));
	(void)state;
	for (size_t cut = 0; cut < n; cut++) {
		size_t off = 0;
		enum journal_read r = journal_decode(buf, cut, &off, &rec);
		assert_int_equal(r, cut == 0 ? JOURNAL_READ_END : JOURNAL_READ_TORN);
		assert_int_equal(off, 0);
	}
}

/* A flipped bit anywhere in a record is caught by its checksum or framing. */
static void test_flipped_bit_anywhere(void **state)
{
	uint8_t buf[JOURNAL_RECORD_MAX];
	struct journal_record rec;
	struct session_record s = session(9, 1, "call-9", "s1");
	size_t n = journal_encode_session(&s, buf, sizeof(buf));
	(void)state;
	for (size_t i = 0; i < n; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			size_t off = 0;
			enum journal_read r;
			buf[i] ^= (uint8_t)(1u << bit);
			r = journal_decode(buf, n, &off, &rec);
			/* A longer length makes the record look torn; anything else is corrupt. */
			assert_true(r == JOURNAL_READ_CORRUPT || (r == JOURNAL_READ_TORN && (i == 2 || i == 3)));
			buf[i] ^= (uint8_t)(1u << bit);
		}
	}
}

/* A checksum that matches contents another writer put there is still refused. */
static void test_valid_checksum_bad_contents(void **state)
{
	uint8_t buf[JOURNAL_RECORD_MAX];
	struct journal_record rec;
	size_t n = journal_encode_end(5, buf, sizeof(buf)), off = 0;
	uint32_t crc;
	(void)state;
	buf[1] = 99; /* an unknown type, resealed */
	crc = journal_crc32c(0, buf + 1, 3);
	crc = journal_crc32c(crc, buf + JOURNAL_RECORD_HEADER, n - JOURNAL_RECORD_HEADER);
	buf[4] = (uint8_t)(crc >> 24);
	buf[5] = (uint8_t)(crc >> 16);
	buf[6] = (uint8_t)(crc >> 8);
	buf[7] = (uint8_t)crc;
	assert_int_equal(journal_decode(buf, n, &off, &rec), JOURNAL_READ_CORRUPT);
}

static void test_crc32c_check_value(void **state)
{
	(void)state;
	/* The standard check value of CRC-32C. */
	assert_int_equal(journal_crc32c(0, (const uint8_t *)"123456789", 9), 0xe3069283u);
}

/* Bit by bit, as the CRC is defined: the reference for the fast paths. */
static uint32_t crc32c_reference(uint32_t crc, const uint8_t *data, size_t len)
{
	crc = ~crc;
	for (size_t i = 0; i < len; i++) {
		crc ^= data[i];
		for (int bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
	}
	return ~crc;
}

/* Every length and alignment around the eight-byte steps, and a CRC
 * carried on in two calls (as a record's header and payload are). */
static void test_crc32c_matches_reference(void **state)
{
	uint8_t data[80];
	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 37 + 11);
	for (size_t start = 0; start < 8; start++)
		for (size_t len = 0; start + len <= sizeof(data); len++)
			assert_int_equal(journal_crc32c(0, data + start, len), crc32c_reference(0, data + start, len));
	for (size_t cut = 0; cut <= 41; cut++)
		assert_int_equal(journal_crc32c(journal_crc32c(0, data, cut), data + cut, 41 - cut),
				 crc32c_reference(0, data, 41));
}

/* ---- replay ---- */

static struct journal_replay *replay_of(const struct image *im, struct journal_image_report *rep)
{
	struct journal_replay *r = journal_replay_create();
	assert_non_null(r);
	assert_int_equal(journal_replay_add(r, im->buf, im->len, CLUSTER, rep), JOURNAL_IMAGE_OK);
	assert_true(journal_replay_finish(r));
	return r;
}

static void test_replay_latest_version_and_ends(void **state)
{
	static struct image im;
	struct journal_image_report rep;
	struct journal_replay *r;
	const struct session_flow_record *flows;
	const struct session_record *s;
	struct session_record v1 = session(10, 1, "call-10", "s1"), v2 = session(10, 2, "call-10", "s2");
	struct session_record other = session(11, 1, "call-11", "s3"), gone = session(12, 1, "call-12", "s1");
	struct session_flow_record f1 = flow(10, 7000), f2 = flow(10, 7001);
	size_t n;
	(void)state;

	image_start(&im, CLUSTER, JOURNAL_FORMAT_VERSION);
	image_session(&im, &v2);
	image_session(&im, &v1);        /* an older version written later loses */
	image_flow(&im, &f1);
	image_flow(&im, &f2);
	image_flow(&im, &f1);           /* the same flow twice counts once */
	image_session(&im, &gone);
	image_flow(&im, &(struct session_flow_record){ .serial = 12, .identity = 2, .key = f1.key });
	image_end(&im, 12);
	image_session(&im, &gone);      /* nothing after an end revives a serial */
	image_session(&im, &other);
	r = replay_of(&im, &rep);
	assert_int_equal(rep.records, 11);
	assert_int_equal(rep.good_bytes, im.len);
	assert_int_equal(rep.torn_bytes + rep.corrupt_bytes, 0);
	assert_string_equal(rep.header.cluster, CLUSTER);

	assert_int_equal(journal_replay_session_count(r), 2);
	s = journal_replay_session(r, 0, &flows, &n);
	assert_int_equal(s->serial, 10);
	assert_int_equal(s->version, 2);
	assert_string_equal(s->server_id, "s2");
	assert_true(s->confirmed);
	assert_int_equal(n, 2);
	assert_true((flows[0].key.sport == 7000 && flows[1].key.sport == 7001) ||
		    (flows[0].key.sport == 7001 && flows[1].key.sport == 7000));
	s = journal_replay_session(r, 1, &flows, &n);
	assert_int_equal(s->serial, 11);
	assert_int_equal(n, 0);
	assert_null(journal_replay_session(r, 2, &flows, &n));
	journal_replay_destroy(r);
}

/* SIGKILL in the middle of a write: the last record is cut short; the
 * records before it are used, the cut one is reported and not. */
static void test_replay_torn_tail(void **state)
{
	static struct image im;
	struct journal_image_report rep;
	struct journal_replay *r;
	struct session_record a = session(1, 1, "a", "s1"), b = session(2, 1, "b", "s1");
	size_t before;
	(void)state;
	image_start(&im, CLUSTER, JOURNAL_FORMAT_VERSION);
	image_session(&im, &a);
	before = im.len;
	image_session(&im, &b);
	im.len -= 5;
	r = replay_of(&im, &rep);
	assert_int_equal(rep.good_bytes, before);
	assert_int_equal(rep.torn_bytes, im.len - before);
	assert_int_equal(rep.corrupt_bytes, 0);
	assert_int_equal(journal_replay_session_count(r), 1);
	journal_replay_destroy(r);
}

/* A corrupt record: what follows it is not trusted, what precedes is. */
static void test_replay_checksum_failure(void **state)
{
	static struct image im;
	struct journal_image_report rep;
	struct journal_replay *r;
	struct session_record a = session(1, 1, "a", "s1"), b = session(2, 1, "b", "s1"), c = session(3, 1, "c", "s1");
	size_t bad;
	(void)state;
	image_start(&im, CLUSTER, JOURNAL_FORMAT_VERSION);
	image_session(&im, &a);
	bad = im.len;
	image_session(&im, &b);
	image_session(&im, &c);
	im.buf[bad + JOURNAL_RECORD_HEADER + 3] ^= 0x40;   /* inside b's serial */
	r = replay_of(&im, &rep);
	assert_int_equal(rep.corrupt_offset, bad);
	assert_int_equal(rep.corrupt_bytes, im.len - bad);
	assert_int_equal(rep.records, 2);
	assert_int_equal(journal_replay_session_count(r), 1);
	journal_replay_destroy(r);
}

static void test_replay_foreign_files(void **state)
{
	static struct image im;
	struct journal_image_report rep;
	struct journal_replay *r = journal_replay_create();
	struct session_record a = session(1, 1, "a", "s1");
	(void)state;

	image_start(&im, CLUSTER, JOURNAL_FORMAT_VERSION + 1);
	image_session(&im, &a);
	assert_int_equal(journal_replay_add(r, im.buf, im.len, CLUSTER, &rep), JOURNAL_IMAGE_VERSION);
	assert_int_equal(rep.header.version, JOURNAL_FORMAT_VERSION + 1);

	image_start(&im, "video-2", JOURNAL_FORMAT_VERSION);
	image_session(&im, &a);
	assert_int_equal(journal_replay_add(r, im.buf, im.len, CLUSTER, &rep), JOURNAL_IMAGE_CLUSTER);
	assert_string_equal(rep.header.cluster, "video-2");

	assert_int_equal(journal_replay_add(r, (const uint8_t *)"# a config file\n", 16, CLUSTER, &rep),
			 JOURNAL_IMAGE_NOT_JOURNAL);
	memcpy(im.buf, JOURNAL_MAGIC, JOURNAL_MAGIC_SIZE);
	memset(im.buf + JOURNAL_MAGIC_SIZE, 0, 16);
	assert_int_equal(journal_replay_add(r, im.buf, JOURNAL_MAGIC_SIZE + 16, CLUSTER, &rep),
			 JOURNAL_IMAGE_BAD_HEADER);
	assert_int_equal(journal_replay_add(r, im.buf, 0, CLUSTER, &rep), JOURNAL_IMAGE_EMPTY);

	/* nothing of them was taken */
	assert_true(journal_replay_finish(r));
	assert_int_equal(journal_replay_session_count(r), 0);
	journal_replay_destroy(r);
}

/* A compaction in progress: the previous file, then the current one (the
 * snapshot and what happened since, in any order). */
static void test_replay_two_images(void **state)
{
	static struct image old, cur;
	struct journal_image_report rep;
	struct journal_replay *r = journal_replay_create();
	const struct session_flow_record *flows;
	const struct session_record *s;
	struct session_record a1 = session(1, 1, "a", "s1"), a3 = session(1, 3, "a", "s3");
	struct session_record b1 = session(2, 1, "b", "s1"), c1 = session(3, 1, "c", "s2");
	struct server_record s3 = { .id = "s3", .address = addr("10.0.0.3"), .mark = 3, .table = 103 };
	struct server_record s3b = s3;
	size_t n;
	(void)state;
	s3b.mark = 33;
	image_start(&old, CLUSTER, JOURNAL_FORMAT_VERSION);
	image_add(&old, journal_encode_server(&s3, old.buf + old.len, IMAGE_MAX - old.len));
	image_session(&old, &a1);
	image_flow(&old, &(struct session_flow_record){ .serial = 1, .identity = 2, .key = flow(1, 7000).key });
	image_session(&old, &b1);
	image_start(&cur, CLUSTER, JOURNAL_FORMAT_VERSION);
	image_add(&cur, journal_encode_server(&s3b, cur.buf + cur.len, IMAGE_MAX - cur.len));
	image_end(&cur, 2);             /* b ended after the switch */
	image_session(&cur, &c1);       /* c created after it */
	image_session(&cur, &a3);       /* a's snapshot, newer */
	assert_int_equal(journal_replay_add(r, old.buf, old.len, CLUSTER, &rep), JOURNAL_IMAGE_OK);
	assert_int_equal(journal_replay_add(r, cur.buf, cur.len, CLUSTER, &rep), JOURNAL_IMAGE_OK);
	assert_true(journal_replay_finish(r));
	assert_int_equal(journal_replay_session_count(r), 2);
	s = journal_replay_session(r, 0, &flows, &n);
	assert_int_equal(s->serial, 1);
	assert_string_equal(s->server_id, "s3");
	assert_int_equal(n, 1);
	s = journal_replay_session(r, 1, &flows, &n);
	assert_int_equal(s->serial, 3);
	assert_int_equal(journal_replay_server(r, "s3")->mark, 33);
	assert_int_equal(journal_replay_next_serial(r), 4);   /* after c, the highest named */
	assert_null(journal_replay_server(r, "s9"));
	journal_replay_destroy(r);
}

/* Flows recorded before the session's own record was (a torn tail ate it)
 * restore nothing. */
static void test_replay_flows_without_session(void **state)
{
	static struct image im;
	struct journal_image_report rep;
	struct journal_replay *r;
	struct session_flow_record f = flow(77, 7000);
	(void)state;
	image_start(&im, CLUSTER, JOURNAL_FORMAT_VERSION);
	image_flow(&im, &f);
	r = replay_of(&im, &rep);
	assert_int_equal(journal_replay_session_count(r), 0);
	journal_replay_destroy(r);
}

/* Many sessions: the serial index grows; results come in serial order. */
static void test_replay_many_sessions(void **state)
{
	struct journal_replay *r = journal_replay_create();
	struct journal_image_report rep;
	uint8_t *buf = malloc(8u << 20);
	size_t len = 0, n;
	struct journal_header h = { .version = JOURNAL_FORMAT_VERSION, .cluster = CLUSTER };
	const struct session_flow_record *flows;
	(void)state;
	assert_non_null(buf);
	len += journal_encode_magic(buf, 8u << 20);
	len += journal_encode_header(&h, buf + len, (8u << 20) - len);
	for (uint64_t serial = 5000; serial >= 1; serial--) {
		char key[32];
		struct session_record s;
		snprintf(key, sizeof(key), "call-%llu", (unsigned long long)serial);
		s = session(serial, 1, key, "s1");
		len += journal_encode_session(&s, buf + len, (8u << 20) - len);
		if (serial % 2 == 0)
			len += journal_encode_end(serial, buf + len, (8u << 20) - len);
	}
	assert_int_equal(journal_replay_add(r, buf, len, CLUSTER, &rep), JOURNAL_IMAGE_OK);
	assert_true(journal_replay_finish(r));
	assert_int_equal(journal_replay_session_count(r), 2500);
	assert_int_equal(journal_replay_next_serial(r), 5001);
	for (size_t i = 0; i < 2500; i++)
		assert_int_equal(journal_replay_session(r, i, &flows, &n)->serial, 2 * i + 1);
	journal_replay_destroy(r);
	free(buf);
}

/* Connections: the last record of a four-tuple wins. */
static void test_replay_connections(void **state)
{
	static struct image im;
	struct journal_image_report rep;
	struct journal_replay *r;
	struct connection_record a = { .key = flow(0, 40000).key, .server_id = "s1" };
	struct connection_record b = { .key = flow(0, 40001).key, .server_id = "s2" };
	struct connection_record a2 = a;
	(void)state;
	a.key.l4 = b.key.l4 = 6;
	a2 = a;
	snprintf(a2.server_id, sizeof(a2.server_id), "s3");
	image_start(&im, CLUSTER, JOURNAL_FORMAT_VERSION);
	image_add(&im, journal_encode_connection(&a, im.buf + im.len, IMAGE_MAX - im.len));
	image_add(&im, journal_encode_connection(&b, im.buf + im.len, IMAGE_MAX - im.len));
	image_add(&im, journal_encode_connection_end(&a.key, im.buf + im.len, IMAGE_MAX - im.len));
	image_add(&im, journal_encode_connection_end(&b.key, im.buf + im.len, IMAGE_MAX - im.len));
	image_add(&im, journal_encode_connection(&a2, im.buf + im.len, IMAGE_MAX - im.len));  /* reused */
	r = replay_of(&im, &rep);
	assert_int_equal(journal_replay_connection_count(r), 1);
	assert_string_equal(journal_replay_connection(r, 0)->server_id, "s3");
	assert_null(journal_replay_connection(r, 1));
	journal_replay_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_round_trip),
		cmocka_unit_test(test_encoders_refuse),
		cmocka_unit_test(test_torn_record),
		cmocka_unit_test(test_flipped_bit_anywhere),
		cmocka_unit_test(test_valid_checksum_bad_contents),
		cmocka_unit_test(test_crc32c_check_value),
		cmocka_unit_test(test_crc32c_matches_reference),
		cmocka_unit_test(test_replay_latest_version_and_ends),
		cmocka_unit_test(test_replay_torn_tail),
		cmocka_unit_test(test_replay_checksum_failure),
		cmocka_unit_test(test_replay_foreign_files),
		cmocka_unit_test(test_replay_two_images),
		cmocka_unit_test(test_replay_flows_without_session),
		cmocka_unit_test(test_replay_many_sessions),
		cmocka_unit_test(test_replay_connections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
