/* test_announce_codec.c - unit tests for announcements on the wire: round
 * trips of every field, a decoder that refuses every malformed byte, the
 * cluster-ownership check, and gateway -> seal -> open -> decode end to end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/announce_codec.h"
#include "engine/gateway.h"
#include "packet_builder.h"
#include "dpi/rtsp.h"
#include "dpi/sip.h"
#include "engine/wire.h"

/* Offsets in an encoded IPv4 announcement (see the layout in announce_codec.c). */
enum {
	OFF_VERSION = 0, OFF_FAMILY = 1, OFF_L4 = 2, OFF_SPORT = 3, OFF_DPORT = 5,
	OFF_SRC = 7, OFF_DST = 11, OFF_PROTO = 15, OFF_FLAGS = 16, OFF_METHOD = 17,
	OFF_STATUS = 18, OFF_MEDIA_OP = 20, OFF_KEY_LEN = 21, OFF_KEY = 23,
};

static struct netaddr addr(const char *text)
{
	struct netaddr a;
	assert_true(netaddr_parse(span_make(text, strlen(text)), &a));
	return a;
}

static void set_conn(struct announcement *ann, uint8_t l4, const char *src, uint16_t sport,
		     const char *dst, uint16_t dport)
{
	struct netaddr s = addr(src), d = addr(dst);
	ann->conn.family = s.family;
	ann->conn.l4 = l4;
	ann->conn.sport = sport;
	ann->conn.dport = dport;
	memcpy(ann->conn.src, s.bytes, 16);
	memcpy(ann->conn.dst, d.bytes, 16);
}

static void set_key(struct signal_facts *f, const char *key)
{
	f->key_len = (uint16_t)strlen(key);
	memcpy(f->key, key, f->key_len);
	f->key[f->key_len] = '\0';
}

/* A SIP 200 OK to an INVITE from the server, one audio stream. */
static void sip_ok(struct announcement *ann)
{
	memset(ann, 0, sizeof(*ann));
	set_conn(ann, L4_UDP, "198.18.0.10", 5060, "198.18.77.20", 5060);
	ann->facts.proto = PROTO_SIP;
	ann->facts.method = SIP_INVITE;
	ann->facts.status = 200;
	ann->facts.confirms_session = true;
	ann->facts.shows_server_work = true;
	ann->facts.media_op = MEDIA_REPLACE;
	set_key(&ann->facts, "a84b4c76e66710@pc33.example.org");
	ann->facts.stream_count = 1;
	ann->facts.streams[0].enabled = true;
	ann->facts.streams[0].addr = addr("198.18.2.11");
	ann->facts.streams[0].rtp_port = 6000;
	ann->facts.streams[0].rtcp_port = 6001;
}

/* Every field set to something non-default, IPv6, all streams used. */
static void everything(struct announcement *ann)
{
	static const char *const stream_addrs[] = { NULL, "198.18.2.11", "fd00::2:11", "239.1.2.3" };
	char key[SESSION_KEY_MAX];
	memset(ann, 0, sizeof(*ann));
	set_conn(ann, L4_TCP, "fd00::10", 40123, "fd00:77::20", 8554);
	ann->facts.proto = PROTO_RTSP;
	ann->facts.is_request = true;
	ann->facts.method = RTSP_METHOD_COUNT - 1;
	ann->facts.creates_session = true;
	ann->facts.confirms_session = true;
	ann->facts.ends_session = true;
	ann->facts.ends_if_unconfirmed = true;
	ann->facts.transaction_only = true;
	ann->facts.shows_server_work = true;
	ann->facts.media_op = MEDIA_MERGE;
	memset(key, 'k', SESSION_KEY_MAX - 1);
	key[SESSION_KEY_MAX - 1] = '\0';
	set_key(&ann->facts, key);
	ann->facts.stream_count = SIGNAL_MAX_STREAMS;
	for (unsigned i = 0; i < SIGNAL_MAX_STREAMS; i++) {
		struct signal_stream *s = &ann->facts.streams[i];
		const char *a = stream_addrs[i % 4];
		s->enabled = i % 2 == 0;
		s->multicast = i % 4 == 3;
		if (a)
			s->addr = addr(a);
		s->rtp_port = (uint16_t)(10000 + 2 * i);
		s->rtcp_port = (uint16_t)(10001 + 2 * i);
		s->peer_rtp_port = (uint16_t)(65534 - i);
		s->peer_rtcp_port = (uint16_t)(65535 - i);
	}
	/* The optional fields: RTCP elsewhere for two streams, a timeout. */
	ann->facts.streams[1].rtcp_addr = addr("198.18.2.12");
	ann->facts.streams[6].rtcp_addr = addr("fd00::2:12");
	ann->facts.session_timeout_s = 0x01020304;
}

/* The length of everything()'s encoding before its optional fields
 * (6 + 4 + 18 + 6 bytes), and where each of them ends. */
#define EVERYTHING_OPTIONAL_BYTES (2 + 2 + 4 + 2 + 2 + 16 + 2 + 4)
static bool everything_boundary(size_t len, size_t cut)
{
	size_t base = len - EVERYTHING_OPTIONAL_BYTES;
	return cut == base || cut == base + 8 || cut == base + 8 + 20;
}

static void assert_round_trip(const struct announcement *ann)
{
	uint8_t buf[WIRE_MAX_BODY];
	struct announcement got;
	size_t len = announce_encode(ann, buf, sizeof(buf));
	assert_true(len > 0);
	memset(&got, 0xa5, sizeof(got));
	assert_int_equal(announce_decode(buf, len, &got), COUNTER_NONE);
	/* Whole-struct equality: the decoder leaves no byte undefined. */
	assert_memory_equal(&got, ann, sizeof(got));
}

static void test_round_trip_every_field(void **state)
{
	struct announcement ann, got;
	uint8_t buf[WIRE_MAX_BODY];
	size_t len;
	(void)state;
	everything(&ann);
	assert_round_trip(&ann);
	len = announce_encode(&ann, buf, sizeof(buf));
	assert_int_equal(announce_decode(buf, len, &got), COUNTER_NONE);
	assert_int_equal(got.conn.family, NETADDR_IPV6);
	assert_int_equal(got.conn.l4, L4_TCP);
	assert_int_equal(got.conn.sport, 40123);
	assert_int_equal(got.conn.dport, 8554);
	assert_int_equal(got.facts.key_len, SESSION_KEY_MAX - 1);
	assert_int_equal(got.facts.key[SESSION_KEY_MAX - 1], '\0');
	assert_true(got.facts.ends_if_unconfirmed && got.facts.transaction_only);
	assert_int_equal(got.facts.stream_count, SIGNAL_MAX_STREAMS);
	assert_int_equal(got.facts.streams[0].addr.family, 0);
	assert_int_equal(got.facts.streams[2].addr.family, NETADDR_IPV6);
	assert_true(got.facts.streams[3].multicast);
	assert_int_equal(got.facts.streams[7].peer_rtcp_port, 65535 - 7);
	assert_int_equal(got.facts.streams[0].rtcp_addr.family, 0);
	assert_int_equal(got.facts.streams[1].rtcp_addr.family, NETADDR_IPV4);
	assert_int_equal(got.facts.streams[6].rtcp_addr.family, NETADDR_IPV6);
	assert_int_equal(got.facts.session_timeout_s, 0x01020304);
	/* Explicit layout of the optional fields at the end. */
	assert_memory_equal(buf + len - EVERYTHING_OPTIONAL_BYTES,
			    "\xa1\x06\x01\x04\xc6\x12\x02\x0c" "\xa1\x12\x06\x06", 12);
	assert_memory_equal(buf + len - 6, "\xa2\x04\x01\x02\x03\x04", 6);

	sip_ok(&ann);
	assert_round_trip(&ann);
	/* Explicit big-endian layout, not the struct's bytes. */
	len = announce_encode(&ann, buf, sizeof(buf));
	assert_int_equal(buf[OFF_VERSION], 1);
	assert_int_equal(buf[OFF_FAMILY], 4);
	assert_int_equal(buf[OFF_L4], L4_UDP);
	assert_int_equal(buf[OFF_SPORT] << 8 | buf[OFF_SPORT + 1], 5060);
	assert_int_equal(buf[OFF_STATUS] << 8 | buf[OFF_STATUS + 1], 200);
	assert_memory_equal(buf + OFF_DST, "\xc6\x12\x4d\x14", 4);

	/* No key, no streams, a request. */
	memset(&ann, 0, sizeof(ann));
	set_conn(&ann, L4_UDP, "198.18.0.10", 5060, "198.18.77.20", 5060);
	ann.facts.proto = PROTO_SIP;
	ann.facts.is_request = true;
	ann.facts.method = SIP_BYE;
	ann.facts.ends_session = true;
	assert_round_trip(&ann);
	(void)len;
}

static void test_encode_refuses(void **state)
{
	struct announcement ann;
	uint8_t buf[WIRE_MAX_BODY];
	size_t len;
	(void)state;
	everything(&ann);
	len = announce_encode(&ann, buf, sizeof(buf));
	for (size_t cap = 0; cap < len; cap++)
		assert_int_equal(announce_encode(&ann, buf, cap), 0);
	assert_int_equal(announce_encode(&ann, buf, len), len);
	ann.facts.key_len = SESSION_KEY_MAX;
	assert_int_equal(announce_encode(&ann, buf, sizeof(buf)), 0);
	everything(&ann);
	ann.facts.stream_count = SIGNAL_MAX_STREAMS + 1;
	assert_int_equal(announce_encode(&ann, buf, sizeof(buf)), 0);
	everything(&ann);
	ann.conn.family = 0;
	assert_int_equal(announce_encode(&ann, buf, sizeof(buf)), 0);
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void test_truncated_at_every_length(void **state)
{
	struct announcement ann, got;
	uint8_t buf[WIRE_MAX_BODY + 1];
	size_t len;
	(void)state;
	everything(&ann);
	len = announce_encode(&ann, buf, sizeof(buf));
	for (size_t cut = 0; cut < len; cut++) {
		/* An exact-size copy, so ASan sees any read past it. */
		uint8_t *copy = malloc(cut ? cut : 1);
		assert_non_null(copy);
		memcpy(copy, buf, cut);
		if (everything_boundary(len, cut)) {
			/* Cut between optional fields: a message with fewer. */
			assert_int_equal(announce_decode(copy, cut, &got), COUNTER_NONE);
		} else {
			assert_string_equal(counter_name(announce_decode(copy, cut, &got)), "announce_truncated");
			assert_true(all_zero(&got, sizeof(got)));
		}
		free(copy);
	}
	buf[len] = 0;
	assert_string_equal(counter_name(announce_decode(buf, len + 1, &got)), "announce_trailing_bytes");
	assert_int_equal(announce_decode(buf, len, &got), COUNTER_NONE);
}

/* Encodes sip_ok, patches one byte, expects reason. */
static void expect_patched(size_t offset, uint8_t value, const char *reason)
{
	struct announcement ann, got;
	uint8_t buf[WIRE_MAX_BODY];
	size_t len;
	sip_ok(&ann);
	len = announce_encode(&ann, buf, sizeof(buf));
	assert_true(offset < len);
	buf[offset] = value;
	if (reason) {
		enum counter_id r = announce_decode(buf, len, &got);
		assert_int_not_equal(r, COUNTER_NONE);
		assert_string_equal(counter_name(r), reason);
		assert_true(all_zero(&got, sizeof(got)));
	} else {
		assert_int_equal(announce_decode(buf, len, &got), COUNTER_NONE);
	}
}

static void test_decoder_validates_every_field(void **state)
{
	const size_t streams_at = OFF_KEY + strlen("a84b4c76e66710@pc33.example.org");
	(void)state;
	expect_patched(OFF_VERSION, 2, "announce_bad_version");
	expect_patched(OFF_FAMILY, 0, "announce_bad_family");
	expect_patched(OFF_FAMILY, 5, "announce_bad_family");
	expect_patched(OFF_FAMILY, 2, "announce_bad_family");   /* NETADDR_IPV4 is not the wire's 4 */
	expect_patched(OFF_L4, 1, "announce_bad_l4");
	expect_patched(OFF_L4, L4_TCP, NULL);
	expect_patched(OFF_PROTO, PROTO_NONE, "announce_bad_proto");
	expect_patched(OFF_PROTO, PROTO_COUNT, "announce_bad_proto");
	expect_patched(OFF_PROTO, PROTO_RTSP, NULL);             /* INVITE's number is an RTSP method too */
	expect_patched(OFF_FLAGS, 0x40, NULL);                   /* shows the server's work */
	expect_patched(OFF_FLAGS, 0x80, "announce_bad_flags");
	expect_patched(OFF_METHOD, SIP_METHOD_COUNT, "announce_bad_method");
	expect_patched(OFF_METHOD, 255, "announce_bad_method");
	expect_patched(OFF_STATUS, 0x04, "announce_bad_status"); /* 200 + 1024 */
	expect_patched(OFF_FLAGS, 0x01, "announce_bad_status");  /* a request with a status */
	expect_patched(OFF_MEDIA_OP, MEDIA_MERGE + 1, "announce_bad_media_op");
	expect_patched(OFF_KEY_LEN, 1, "announce_bad_key");      /* 256 + 31 */
	expect_patched(OFF_KEY_LEN + 1, SESSION_KEY_MAX, "announce_bad_key");
	expect_patched(OFF_KEY_LEN + 1, 100, "announce_truncated");  /* claims more than is there */
	expect_patched(OFF_KEY + 3, 0, "announce_bad_key");
	expect_patched(streams_at, SIGNAL_MAX_STREAMS + 1, "announce_too_many_streams");
	expect_patched(streams_at, 2, "announce_truncated");
	expect_patched(streams_at, 0, "announce_trailing_bytes");
	expect_patched(streams_at + 1, 0x04, "announce_bad_stream_flags");
	expect_patched(streams_at + 2, 5, "announce_bad_family");
	expect_patched(streams_at + 2, 6, "announce_truncated");  /* IPv6 wants 12 more bytes */
	expect_patched(streams_at + 2, 0, "announce_trailing_bytes");
	expect_patched(streams_at + 7, 0, NULL);  /* rtp 6000 -> 112 */
}

/* sip_ok with RTCP at another address and a session timeout, encoded:
 * the optional fields are the last 8 + 6 bytes. */
static size_t sip_ok_optional(uint8_t *buf, size_t cap)
{
	struct announcement ann;
	size_t plain;
	sip_ok(&ann);
	plain = announce_encode(&ann, buf, cap);
	ann.facts.streams[0].rtcp_addr = addr("198.18.2.12");
	ann.facts.session_timeout_s = 60;
	assert_int_equal(announce_encode(&ann, buf, cap), plain + 8 + 6);
	return plain + 8 + 6;
}

static void expect_optional(size_t from_end, uint8_t value, const char *reason)
{
	uint8_t buf[WIRE_MAX_BODY];
	struct announcement got;
	size_t len = sip_ok_optional(buf, sizeof(buf));
	buf[len - from_end] = value;
	if (reason)
		assert_string_equal(counter_name(announce_decode(buf, len, &got)), reason);
	else
		assert_int_equal(announce_decode(buf, len, &got), COUNTER_NONE);
}

static void test_optional_fields_validated(void **state)
{
	uint8_t buf[WIRE_MAX_BODY + 16];
	struct announcement got;
	size_t len;
	(void)state;
	len = sip_ok_optional(buf, sizeof(buf));
	assert_int_equal(announce_decode(buf, len, &got), COUNTER_NONE);
	assert_int_equal(got.facts.streams[0].rtcp_addr.family, NETADDR_IPV4);
	assert_int_equal(got.facts.session_timeout_s, 60);
	/* RTCP address: type, length, stream index, family. */
	expect_optional(14, 0xa3, "announce_trailing_bytes");
	expect_optional(13, 7, "announce_bad_extension");
	expect_optional(13, 20, "announce_truncated");
	expect_optional(12, 1, "announce_bad_extension"); /* one stream only */
	expect_optional(11, 6, "announce_bad_extension"); /* 4 address bytes for IPv6 */
	expect_optional(11, 0, "announce_bad_extension");
	/* Timeout: length, zero. */
	expect_optional(5, 2, "announce_bad_extension");
	expect_optional(2, 1, NULL);
	buf[len - 1] = 0;
	buf[len - 2] = 0;
	buf[len - 3] = 0;
	buf[len - 4] = 0;
	assert_string_equal(counter_name(announce_decode(buf, len, &got)), "announce_bad_extension");
	/* Twice the timeout; the RTCP field after the timeout; twice for one
	 * stream. */
	len = sip_ok_optional(buf, sizeof(buf));
	memcpy(buf + len, buf + len - 6, 6);
	assert_string_equal(counter_name(announce_decode(buf, len + 6, &got)), "announce_bad_extension");
	memcpy(buf + len, buf + len - 14, 8);
	assert_string_equal(counter_name(announce_decode(buf, len + 8, &got)), "announce_bad_extension");
	memmove(buf + len - 6, buf + len - 14, 8);
	assert_string_equal(counter_name(announce_decode(buf, len + 2, &got)), "announce_bad_extension");
}

static void test_enabled_stream_needs_port(void **state)
{
	struct announcement ann, got;
	uint8_t buf[WIRE_MAX_BODY];
	size_t len;
	(void)state;
	sip_ok(&ann);
	ann.facts.streams[0].rtp_port = 0;
	len = announce_encode(&ann, buf, sizeof(buf));
	assert_true(len > 0);
	assert_string_equal(counter_name(announce_decode(buf, len, &got)), "announce_bad_stream");
	ann.facts.streams[0].enabled = false;
	assert_round_trip(&ann);
}

static void test_flipped_bit_anywhere(void **state)
{
	struct announcement ann, got;
	uint8_t buf[WIRE_MAX_BODY];
	size_t len;
	unsigned accepted = 0, refused = 0;
	(void)state;
	everything(&ann);
	len = announce_encode(&ann, buf, sizeof(buf));
	for (size_t byte = 0; byte < len; byte++) {
		for (int bit = 0; bit < 8; bit++) {
			enum counter_id r;
			buf[byte] ^= (uint8_t)(1u << bit);
			r = announce_decode(buf, len, &got);
			buf[byte] ^= (uint8_t)(1u << bit);
			if (r != COUNTER_NONE) {
				refused++;
				assert_true(all_zero(&got, sizeof(got)));
			} else {
				/* What is accepted re-encodes to exactly what was read. */
				uint8_t again[WIRE_MAX_BODY];
				accepted++;
				assert_true(got.facts.stream_count <= SIGNAL_MAX_STREAMS);
				assert_true(got.facts.key_len < SESSION_KEY_MAX);
				assert_int_equal(announce_encode(&got, again, sizeof(again)), len);
				buf[byte] ^= (uint8_t)(1u << bit);
				assert_memory_equal(again, buf, len);
				buf[byte] ^= (uint8_t)(1u << bit);
			}
		}
	}
	assert_true(accepted > 0 && refused > 0);
}

/* ---- cluster check ---- */

static void cluster(struct sara_config *cfg)
{
	sara_config_defaults(cfg);
	snprintf(cfg->name, sizeof(cfg->name), "test");
	cfg->vip_count = 2;
	cfg->vips[0] = addr("198.18.77.20");
	cfg->vips[1] = addr("fd00:77::20");
	cfg->sip_port_count = 1;
	cfg->sip_ports[0] = 5060;
	cfg->rtsp_port_count = 1;
	cfg->rtsp_ports[0] = 8554;
}

static void expect_stream_addr(const struct sara_config *cfg, const char *stream, bool enabled,
			       const char *reason)
{
	struct announcement ann;
	sip_ok(&ann);
	ann.facts.streams[0].addr = addr(stream);
	ann.facts.streams[0].enabled = enabled;
	if (reason)
		assert_string_equal(counter_name(announce_check_cluster(cfg, &ann)), reason);
	else
		assert_int_equal(announce_check_cluster(cfg, &ann), COUNTER_NONE);
}

static void test_check_cluster(void **state)
{
	struct sara_config cfg;
	struct announcement ann;
	(void)state;
	cluster(&cfg);
	sip_ok(&ann);
	assert_int_equal(announce_check_cluster(&cfg, &ann), COUNTER_NONE);

	set_conn(&ann, L4_UDP, "198.18.0.10", 5060, "198.18.2.11", 5060);
	assert_string_equal(counter_name(announce_check_cluster(&cfg, &ann)), "announce_not_vip");
	set_conn(&ann, L4_UDP, "198.18.0.10", 5060, "198.18.77.20", 5061);
	assert_string_equal(counter_name(announce_check_cluster(&cfg, &ann)), "announce_not_signalling_port");
	set_conn(&ann, L4_UDP, "198.18.0.10", 5060, "198.18.77.20", 8554);
	assert_string_equal(counter_name(announce_check_cluster(&cfg, &ann)), "announce_not_signalling_port");
	set_conn(&ann, L4_TCP, "198.18.0.10", 40000, "198.18.77.20", 5060);
	assert_int_equal(announce_check_cluster(&cfg, &ann), COUNTER_NONE);

	everything(&ann);  /* RTSP over TCP to [fd00:77::20]:8554 */
	ann.facts.streams[3].enabled = false;  /* the multicast one */
	assert_int_equal(announce_check_cluster(&cfg, &ann), COUNTER_NONE);
	ann.conn.l4 = L4_UDP;
	assert_string_equal(counter_name(announce_check_cluster(&cfg, &ann)), "announce_wrong_transport");
	ann.conn.l4 = L4_TCP;
	ann.conn.dport = 5060;
	assert_string_equal(counter_name(announce_check_cluster(&cfg, &ann)), "announce_not_signalling_port");
	ann.conn.dport = 8554;
	ann.facts.proto = PROTO_NONE;
	assert_string_equal(counter_name(announce_check_cluster(&cfg, &ann)), "announce_bad_proto");

	expect_stream_addr(&cfg, "0.0.0.0", true, "announce_bad_stream_addr");
	expect_stream_addr(&cfg, "127.0.0.1", true, "announce_bad_stream_addr");
	expect_stream_addr(&cfg, "127.255.0.9", true, "announce_bad_stream_addr");
	expect_stream_addr(&cfg, "224.0.0.1", true, "announce_bad_stream_addr");
	expect_stream_addr(&cfg, "::", true, "announce_bad_stream_addr");
	expect_stream_addr(&cfg, "::1", true, "announce_bad_stream_addr");
	expect_stream_addr(&cfg, "::ffff:127.0.0.1", true, "announce_bad_stream_addr");
	expect_stream_addr(&cfg, "ff02::1", true, "announce_bad_stream_addr");
	/* Disabled streams are not pinned, so their address does not matter. */
	expect_stream_addr(&cfg, "0.0.0.0", false, NULL);
	expect_stream_addr(&cfg, "239.1.2.3", false, NULL);
	expect_stream_addr(&cfg, "fd00::2:11", true, NULL);
	/* a=rtcp's address is checked like the stream's. */
	sip_ok(&ann);
	ann.facts.streams[0].rtcp_addr = addr("127.0.0.1");
	assert_string_equal(counter_name(announce_check_cluster(&cfg, &ann)), "announce_bad_stream_addr");
	ann.facts.streams[0].rtcp_addr = addr("198.18.2.12");
	assert_int_equal(announce_check_cluster(&cfg, &ann), COUNTER_NONE);
	/* Family 0: "the signalling peer's address". */
	sip_ok(&ann);
	memset(&ann.facts.streams[0].addr, 0, sizeof(ann.facts.streams[0].addr));
	assert_int_equal(announce_check_cluster(&cfg, &ann), COUNTER_NONE);
}

/* ---- end to end: what sara-gw sends is what sarad reads ---- */

/* Field by field: a parser's facts leave unused streams and padding undefined. */
static void assert_same_announcement(const struct announcement *a, const struct announcement *b)
{
	const struct signal_facts *x = &a->facts, *y = &b->facts;
	assert_memory_equal(&a->conn, &b->conn, sizeof(a->conn));
	assert_int_equal(x->proto, y->proto);
	assert_int_equal(x->is_request, y->is_request);
	assert_int_equal(x->method, y->method);
	assert_int_equal(x->status, y->status);
	assert_int_equal(x->key_len, y->key_len);
	assert_memory_equal(x->key, y->key, x->key_len);
	assert_int_equal(x->creates_session, y->creates_session);
	assert_int_equal(x->confirms_session, y->confirms_session);
	assert_int_equal(x->ends_session, y->ends_session);
	assert_int_equal(x->ends_if_unconfirmed, y->ends_if_unconfirmed);
	assert_int_equal(x->transaction_only, y->transaction_only);
	assert_int_equal(x->shows_server_work, y->shows_server_work);
	assert_int_equal(x->media_op, y->media_op);
	assert_int_equal(x->stream_count, y->stream_count);
	for (unsigned i = 0; i < x->stream_count; i++) {
		const struct signal_stream *s = &x->streams[i], *t = &y->streams[i];
		assert_int_equal(s->enabled, t->enabled);
		assert_int_equal(s->multicast, t->multicast);
		assert_int_equal(s->addr.family, t->addr.family);
		assert_memory_equal(s->addr.bytes, t->addr.bytes, 16);
		assert_int_equal(s->rtp_port, t->rtp_port);
		assert_int_equal(s->rtcp_port, t->rtcp_port);
		assert_int_equal(s->peer_rtp_port, t->peer_rtp_port);
		assert_int_equal(s->peer_rtcp_port, t->peer_rtcp_port);
	}
}

static void test_gateway_seal_open_decode(void **state)
{
	static const char sdp[] =
		"v=0\r\n"
		"o=bob 2890844527 2890844527 IN IP4 198.18.2.11\r\n"
		"s=-\r\n"
		"c=IN IP4 198.18.2.11\r\n"
		"t=0 0\r\n"
		"m=audio 6000 RTP/AVP 0\r\n"
		"a=rtpmap:0 PCMU/8000\r\n";
	char reply[1024];
	struct sara_config cfg;
	struct gateway *gw;
	struct announcement out[4], got;
	struct wire_key key;
	struct wire_replay *replay = calloc(1, sizeof(*replay));
	struct wire_header hdr = { .type = WIRE_ANNOUNCE, .sender = 1, .seq = 42,
				   .time_ms = 1700000000000ull }, got_hdr;
	uint8_t ip[2048], body[WIRE_MAX_BODY], msg[WIRE_MAX_MESSAGE];
	const uint8_t *got_body;
	char err[256];
	size_t n, len, body_len;
	(void)state;
	assert_non_null(replay);
	snprintf(reply, sizeof(reply),
		 "SIP/2.0 200 OK\r\n"
		 "Via: SIP/2.0/UDP 198.18.0.10:5060;branch=z9hG4bK776asdhds\r\n"
		 "From: <sip:alice@example.org>;tag=1928301774\r\n"
		 "To: <sip:bob@example.org>;tag=a6c85cf\r\n"
		 "Call-ID: e2e-1@198.18.0.10\r\n"
		 "CSeq: 1 INVITE\r\n"
		 "Contact: <sip:bob@198.18.77.20>\r\n"
		 "Content-Type: application/sdp\r\n"
		 "Content-Length: %zu\r\n"
		 "\r\n%s",
		 strlen(sdp), sdp);
	memset(key.bytes, 0x5a, sizeof(key.bytes));
	cluster(&cfg);
	gw = gateway_create(&cfg, 0, err, sizeof(err));
	assert_non_null(gw);
	len = packet_build_udp(NETADDR_IPV4, "198.18.77.20", 5060, "198.18.0.10", 5060, reply,
			       strlen(reply), ip, sizeof(ip));
	assert_true(len > 0);
	n = gateway_packet(gw, ip, len, 1000, out, 4);
	assert_int_equal(n, 1);
	body_len = announce_encode(&out[0], body, sizeof(body));
	assert_true(body_len > 0);
	hdr.body_len = (uint16_t)body_len;
	len = wire_seal(&key, &hdr, body, msg, sizeof(msg));
	assert_true(len > 0);
	assert_int_equal(wire_open(&key, replay, msg, len, hdr.time_ms, 5000, &got_hdr, &got_body), WIRE_OK);
	assert_int_equal(announce_decode(got_body, got_hdr.body_len, &got), COUNTER_NONE);
	assert_same_announcement(&got, &out[0]);
	assert_int_equal(announce_check_cluster(&cfg, &got), COUNTER_NONE);
	assert_int_equal(got.conn.dport, 5060);
	assert_int_equal(got.facts.status, 200);
	assert_string_equal(got.facts.key, "e2e-1@198.18.0.10");
	assert_int_equal(got.facts.stream_count, 1);
	assert_int_equal(got.facts.streams[0].rtp_port, 6000);
	gateway_destroy(gw);
	free(replay);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_field),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_truncated_at_every_length),
		cmocka_unit_test(test_decoder_validates_every_field),
		cmocka_unit_test(test_enabled_stream_needs_port),
		cmocka_unit_test(test_optional_fields_validated),
		cmocka_unit_test(test_flipped_bit_anywhere),
		cmocka_unit_test(test_check_cluster),
		cmocka_unit_test(test_gateway_seal_open_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
