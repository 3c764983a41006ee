/* test_ipfrag.c - fragment reassembly of a large UDP SIP INVITE over IPv4
 * and IPv6: orders, duplicates, overlaps, timeouts, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dpi/ipfrag.h"
#include "dpi/packet.h"
#include "packet_builder.h"

#define PIECE_MAX 2048

static char invite[3400];
static size_t invite_len;

/* A realistic INVITE whose SDP makes it about 3.1 KB: three 1480-byte
 * IPv4 pieces, three 1232-byte IPv6 pieces. */
static void make_invite(void)
{
	int n = snprintf(invite, sizeof(invite),
			 "INVITE sip:bob@198.18.77.20 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-524287-1\r\n"
			 "From: <sip:alice@192.0.2.10>;tag=9fxced76sl\r\n"
			 "To: <sip:bob@198.18.77.20>\r\n"
			 "Call-ID: 3848276298220188511@192.0.2.10\r\n"
			 "CSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n"
			 "Content-Length:  2800\r\n\r\n"
			 "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\ns=-\r\n"
			 "c=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 97\r\n");
	while ((size_t)n < 3100)
		n += snprintf(invite + n, sizeof(invite) - (size_t)n,
			      "a=rtpmap:%d telephone-event/8000\r\n", n % 128);
	invite_len = (size_t)n;
}

struct fragments {
	uint8_t piece[4][PIECE_MAX];
	size_t len[4];
	unsigned count;
	uint8_t whole[4096];
	size_t whole_len;
};

/* Builds the INVITE datagram and cuts it into pieces of `size` bytes. */
static void fragment_invite(struct fragments *f, int family, bool hop_by_hop, uint32_t id,
			    size_t size)
{
	struct packet_spec spec = { .family = family, .l4 = L4_UDP,
				    .src = family == NETADDR_IPV4 ? "192.0.2.10" : "2001:db8::10",
				    .dst = family == NETADDR_IPV4 ? "198.18.77.20" : "2001:db8::20",
				    .sport = 5060, .dport = 5060, .payload = invite,
				    .payload_len = invite_len, .ipv4_id = (uint16_t)id,
				    .ipv6_hop_by_hop = hop_by_hop };
	f->whole_len = packet_build(&spec, f->whole, sizeof(f->whole));
	assert_true(f->whole_len > 0);
	size_t unused, head = packet_builder_unfragmentable(f->whole, f->whole_len, &unused);
	size_t fragmentable = f->whole_len - head;
	f->count = 0;
	for (size_t offset = 0; offset < fragmentable; offset += size) {
		size_t piece = fragmentable - offset < size ? fragmentable - offset : size;
		assert_true(f->count < 4);
		f->len[f->count] = packet_build_fragment(f->whole, f->whole_len, offset, piece, id,
							 f->piece[f->count], PIECE_MAX);
		assert_true(f->len[f->count] > 0);
		f->count++;
	}
}

static enum ipfrag_result submit(struct ipfrag_table *table, const uint8_t *ip, size_t len,
				 uint64_t now, const uint8_t **out, size_t *out_len)
{
	struct packet frag;
	assert_int_equal(packet_decode(ip, len, &frag), PACKET_FRAGMENT);
	return ipfrag_submit(table, ip, len, &frag, now, out, out_len);
}

/* The reassembled datagram decodes as the original INVITE. */
static void assert_invite(const uint8_t *ip, size_t len, int family)
{
	struct packet p;
	assert_int_equal(packet_decode(ip, len, &p), PACKET_OK);
	assert_int_equal(p.key.family, family);
	assert_int_equal(p.key.l4, L4_UDP);
	assert_int_equal(p.key.sport, 5060);
	assert_int_equal(p.key.dport, 5060);
	assert_int_equal(p.payload_len, invite_len);
	assert_memory_equal(p.payload, invite, invite_len);
}

static void run_order(int family, bool hop_by_hop, size_t size, const unsigned *order)
{
	struct fragments f;
	fragment_invite(&f, family, hop_by_hop, 0x1234, size);
	struct ipfrag_table *table = ipfrag_table_create(4, 65535, 1000);
	assert_non_null(table);
	const uint8_t *out;
	size_t out_len;
	for (unsigned i = 0; i < f.count; i++) {
		enum ipfrag_result r = submit(table, f.piece[order[i]], f.len[order[i]], 10, &out,
					      &out_len);
		if (i + 1 < f.count) {
			assert_int_equal(r, IPFRAG_PENDING);
			assert_int_equal(ipfrag_pending(table), 1);
		} else {
			assert_int_equal(r, IPFRAG_COMPLETE);
		}
	}
	assert_int_equal(ipfrag_pending(table), 0);
	/* The rebuilt datagram is byte-identical to the original but for
	 * the IPv4 identification, which the original also carries. */
	assert_int_equal(out_len, f.whole_len);
	assert_memory_equal(out, f.whole, f.whole_len);
	assert_invite(out, out_len, family);
	ipfrag_table_destroy(table);
}

static void test_ipv4_orders(void **state)
{
	(void)state;
	static const unsigned orders[][3] = { { 0, 1, 2 }, { 2, 1, 0 }, { 1, 2, 0 }, { 2, 0, 1 },
					      { 0, 2, 1 }, { 1, 0, 2 } };
	for (size_t i = 0; i < 6; i++)
		run_order(NETADDR_IPV4, false, 1480, orders[i]);
	static const unsigned two[][2] = { { 0, 1 }, { 1, 0 } };
	run_order(NETADDR_IPV4, false, 1600, two[0]);
	run_order(NETADDR_IPV4, false, 1600, two[1]);
}

static void test_ipv6_orders(void **state)
{
	(void)state;
	static const unsigned orders[][3] = { { 0, 1, 2 }, { 2, 1, 0 }, { 1, 2, 0 }, { 2, 0, 1 } };
	for (size_t i = 0; i < 4; i++) {
		run_order(NETADDR_IPV6, false, 1232, orders[i]);
		/* The hop-by-hop header is unfragmentable: it must come back
		 * in the rebuilt header, chained straight to UDP. */
		run_order(NETADDR_IPV6, true, 1232, orders[i]);
	}
}

static void test_duplicates(void **state)
{
	(void)state;
	struct fragments f;
	fragment_invite(&f, NETADDR_IPV4, false, 7, 1480);
	struct ipfrag_table *table = ipfrag_table_create(4, 65535, 1000);
	const uint8_t *out;
	size_t out_len;
	assert_int_equal(submit(table, f.piece[1], f.len[1], 0, &out, &out_len), IPFRAG_PENDING);
	assert_int_equal(submit(table, f.piece[1], f.len[1], 0, &out, &out_len), IPFRAG_PENDING);
	assert_int_equal(submit(table, f.piece[0], f.len[0], 0, &out, &out_len), IPFRAG_PENDING);
	assert_int_equal(submit(table, f.piece[0], f.len[0], 0, &out, &out_len), IPFRAG_PENDING);
	assert_null(out);
	assert_int_equal(submit(table, f.piece[2], f.len[2], 0, &out, &out_len), IPFRAG_COMPLETE);
	assert_invite(out, out_len, NETADDR_IPV4);
	assert_int_equal(ipfrag_dropped(table), 0);
	/* A late duplicate starts a new partial datagram that will expire. */
	assert_int_equal(submit(table, f.piece[2], f.len[2], 5, &out, &out_len), IPFRAG_PENDING);
	assert_int_equal(ipfrag_pending(table), 1);
	assert_int_equal(submit(table, f.piece[0], f.len[0], 2000, &out, &out_len), IPFRAG_PENDING);
	assert_int_equal(ipfrag_expired(table), 1);
	ipfrag_table_destroy(table);
}

static void test_overlaps(void **state)
{
	(void)state;
	struct fragments f;
	fragment_invite(&f, NETADDR_IPV6, false, 99, 1232);
	struct ipfrag_table *table = ipfrag_table_create(4, 65535, 1000);
	const uint8_t *out;
	size_t out_len;
	/* Same bytes, overlapping cut: [0,1232) then [1000, 2464). */
	uint8_t odd[PIECE_MAX];
	size_t odd_len = packet_build_fragment(f.whole, f.whole_len, 1000, 1464, 99, odd, sizeof(odd));
	assert_int_equal(submit(table, f.piece[0], f.len[0], 0, &out, &out_len), IPFRAG_PENDING);
	assert_int_equal(submit(table, odd, odd_len, 0, &out, &out_len), IPFRAG_PENDING);
	assert_int_equal(submit(table, f.piece[2], f.len[2], 0, &out, &out_len), IPFRAG_COMPLETE);
	assert_invite(out, out_len, NETADDR_IPV6);

	/* Different bytes in the overlap: the datagram is dropped. */
	odd[odd_len - 1] ^= 1; /* inside [1000, 2464), overlapping piece 1 */
	assert_int_equal(submit(table, f.piece[1], f.len[1], 0, &out, &out_len), IPFRAG_PENDING);
	assert_int_equal(submit(table, odd, odd_len, 0, &out, &out_len), IPFRAG_DROPPED);
	assert_int_equal(ipfrag_pending(table), 0);
	assert_int_equal(ipfrag_dropped(table), 1);
	ipfrag_table_destroy(table);
}

static void test_timeout(void **state)
{
	(void)state;
	struct fragments a, b;
	fragment_invite(&a, NETADDR_IPV4, false, 1, 1480);
	fragment_invite(&b, NETADDR_IPV4, false, 2, 1480);
	struct ipfrag_table *table = ipfrag_table_create(4, 65535, 500);
	const uint8_t *out;
	size_t out_len;
	assert_int_equal(submit(table, a.piece[0], a.len[0], 1000, &out, &out_len), IPFRAG_PENDING);
	assert_int_equal(submit(table, b.piece[0], b.len[0], 1400, &out, &out_len), IPFRAG_PENDING);
	assert_int_equal(ipfrag_pending(table), 2);
	/* At exactly the timeout the datagram still lives. */
	assert_int_equal(submit(table, a.piece[1], a.len[1], 1500, &out, &out_len), IPFRAG_PENDING);
	assert_int_equal(ipfrag_expired(table), 0);
	/* Past it, a's pieces are gone: its last piece starts anew. */
	assert_int_equal(submit(table, a.piece[2], a.len[2], 1501, &out, &out_len), IPFRAG_PENDING);
	assert_int_equal(ipfrag_expired(table), 1);
	assert_int_equal(ipfrag_pending(table), 2);
	/* b completes within its own timeout. */
	assert_int_equal(submit(table, b.piece[1], b.len[1], 1800, &out, &out_len), IPFRAG_PENDING);
	assert_int_equal(submit(table, b.piece[2], b.len[2], 1900, &out, &out_len), IPFRAG_COMPLETE);
	assert_invite(out, out_len, NETADDR_IPV4);
	/* A clock stepping back expires nothing. */
	assert_int_equal(submit(table, b.piece[0], b.len[0], 10, &out, &out_len), IPFRAG_PENDING);
	assert_int_equal(ipfrag_expired(table), 1);
	ipfrag_table_destroy(table);
}

static void test_table_full(void **state)
{
	(void)state;
	struct fragments f[3];
	for (uint32_t i = 0; i < 3; i++)
		fragment_invite(&f[i], NETADDR_IPV6, false, 100 + i, 1232);
	struct ipfrag_table *table = ipfrag_table_create(2, 65535, 1000);
	const uint8_t *out;
	size_t out_len;
	assert_int_equal(submit(table, f[0].piece[0], f[0].len[0], 0, &out, &out_len), IPFRAG_PENDING);
	assert_int_equal(submit(table, f[1].piece[0], f[1].len[0], 0, &out, &out_len), IPFRAG_PENDING);
	assert_int_equal(submit(table, f[2].piece[0], f[2].len[0], 0, &out, &out_len), IPFRAG_DROPPED);
	assert_int_equal(ipfrag_dropped(table), 1);
	/* The two held ones still complete, interleaved. */
	for (unsigned k = 1; k < 3; k++) {
		for (unsigned d = 0; d < 2; d++) {
			enum ipfrag_result r = submit(table, f[d].piece[k], f[d].len[k], 0, &out, &out_len);
			assert_int_equal(r, k == 2 ? IPFRAG_COMPLETE : IPFRAG_PENDING);
		}
	}
	assert_invite(out, out_len, NETADDR_IPV6);
	assert_int_equal(ipfrag_pending(table), 0);
	/* And the slots are free again. */
	assert_int_equal(submit(table, f[2].piece[0], f[2].len[0], 0, &out, &out_len), IPFRAG_PENDING);
	ipfrag_table_destroy(table);
}

static void test_bad_offsets(void **state)
{
	(void)state;
	struct fragments f;
	fragment_invite(&f, NETADDR_IPV4, false, 5, 1480);
	const uint8_t *out;
	size_t out_len;
	uint8_t piece[PIECE_MAX];
	size_t n;

	/* Too big for max_datagram 2000: the third piece ends past it. */
	struct ipfrag_table *table = ipfrag_table_create(4, 2000, 1000);
	assert_int_equal(submit(table, f.piece[0], f.len[0], 0, &out, &out_len), IPFRAG_PENDING);
	assert_int_equal(submit(table, f.piece[2], f.len[2], 0, &out, &out_len), IPFRAG_DROPPED);
	assert_int_equal(ipfrag_pending(table), 0);
	ipfrag_table_destroy(table);

	table = ipfrag_table_create(4, 65535, 1000);
	/* A non-final piece whose length is not a multiple of 8. */
	n = packet_build_fragment(f.whole, f.whole_len, 0, 1001, 5, piece, sizeof(piece));
	assert_int_equal(submit(table, piece, n, 0, &out, &out_len), IPFRAG_DROPPED);
	/* Two final pieces that disagree on the end. */
	assert_int_equal(submit(table, f.piece[2], f.len[2], 0, &out, &out_len), IPFRAG_PENDING);
	n = packet_build_fragment(f.whole, f.whole_len, 1480, f.whole_len - 20 - 1480 - 8, 5,
				  piece, sizeof(piece));
	piece[6] &= (uint8_t)~0x20; /* clear MF: claims to be the last */
	assert_int_equal(submit(table, piece, n, 0, &out, &out_len), IPFRAG_DROPPED);
	/* A piece reaching past a known end. */
	assert_int_equal(submit(table, f.piece[2], f.len[2], 0, &out, &out_len), IPFRAG_PENDING);
	size_t fragmentable = f.whole_len - 20;
	n = packet_build_fragment(f.whole, f.whole_len, 2960, 8, 5, piece, sizeof(piece));
	packet_builder_put16(piece + 6, (uint32_t)(fragmentable / 8) | 0x2000);
	assert_int_equal(submit(table, piece, n, 0, &out, &out_len), IPFRAG_DROPPED);
	/* A last piece arriving after data beyond its end. */
	assert_int_equal(submit(table, f.piece[1], f.len[1], 0, &out, &out_len), IPFRAG_PENDING);
	n = packet_build_fragment(f.whole, f.whole_len, 8, 8, 5, piece, sizeof(piece));
	piece[6] &= (uint8_t)~0x20;
	assert_int_equal(submit(table, piece, n, 0, &out, &out_len), IPFRAG_DROPPED);
	assert_int_equal(ipfrag_pending(table), 0);

	/* A packet whose payload does not lie inside (ip, len). */
	struct packet frag;
	assert_int_equal(packet_decode(f.piece[0], f.len[0], &frag), PACKET_FRAGMENT);
	assert_int_equal(ipfrag_submit(table, f.piece[0], f.len[0] - 1, &frag, 0, &out, &out_len),
			 IPFRAG_DROPPED);
	assert_int_equal(ipfrag_submit(table, f.piece[1], f.len[1], &frag, 0, &out, &out_len),
			 IPFRAG_DROPPED);
	assert_int_equal(ipfrag_pending(table), 0);
	ipfrag_table_destroy(table);
}

/* Tiny interleaved pieces leave many holes; past the bound the datagram goes. */
static void test_too_many_holes(void **state)
{
	(void)state;
	struct fragments f;
	fragment_invite(&f, NETADDR_IPV4, false, 9, 1480);
	struct ipfrag_table *table = ipfrag_table_create(4, 65535, 1000);
	const uint8_t *out;
	size_t out_len;
	uint8_t piece[PIECE_MAX];
	enum ipfrag_result r = IPFRAG_PENDING;
	unsigned sent = 0;
	for (size_t offset = 0; offset < 2000 && r == IPFRAG_PENDING; offset += 16, sent++) {
		size_t n = packet_build_fragment(f.whole, f.whole_len, offset, 8, 9, piece,
						 sizeof(piece));
		r = submit(table, piece, n, 0, &out, &out_len);
	}
	assert_int_equal(r, IPFRAG_DROPPED);
	assert_int_equal(sent, 17);
	ipfrag_table_destroy(table);
}

static void test_many_small_pieces_complete(void **state)
{
	(void)state;
	struct fragments f;
	fragment_invite(&f, NETADDR_IPV6, true, 0xfeedf00d, 1232);
	struct ipfrag_table *table = ipfrag_table_create(1, 65535, 1000);
	const uint8_t *out = NULL;
	size_t out_len = 0;
	uint8_t piece[PIECE_MAX];
	size_t head = 48, fragmentable = f.whole_len - head;
	/* Every other 64-byte piece: each one leaves a hole. */
	enum ipfrag_result r = IPFRAG_PENDING;
	for (size_t offset = 0; offset < fragmentable && r == IPFRAG_PENDING; offset += 128) {
		size_t len = fragmentable - offset < 64 ? fragmentable - offset : 64;
		size_t n = packet_build_fragment(f.whole, f.whole_len, offset, len, 0xfeedf00d, piece,
						 sizeof(piece));
		r = submit(table, piece, n, 0, &out, &out_len);
	}
	/* 24 disjoint ranges exceed the bound of 16: dropped, counted. */
	assert_int_equal(r, IPFRAG_DROPPED);
	assert_int_equal(ipfrag_dropped(table), 1);
	/* In order they complete whatever their number. */
	for (size_t offset = 0; offset < fragmentable; offset += 64) {
		size_t len = fragmentable - offset < 64 ? fragmentable - offset : 64;
		size_t n = packet_build_fragment(f.whole, f.whole_len, offset, len, 0xfeedf00d, piece,
						 sizeof(piece));
		r = submit(table, piece, n, 0, &out, &out_len);
		assert_int_equal(r, offset + len < fragmentable ? IPFRAG_PENDING : IPFRAG_COMPLETE);
	}
	assert_memory_equal(out, f.whole, f.whole_len);
	ipfrag_table_destroy(table);
}

/* IPv6 piece: base header, Fragment header, then `data`. */
static size_t ipv6_piece(uint8_t *buf, uint8_t first_next, uint32_t offset, bool more,
			 const uint8_t *data, size_t len)
{
	memset(buf, 0, 48);
	buf[0] = 0x60;
	packet_builder_put16(buf + 4, (uint32_t)(8 + len));
	buf[6] = 44;
	buf[7] = 64;
	buf[23] = 1; /* ::1 */
	buf[39] = 2; /* ::2 */
	buf[40] = first_next;
	packet_builder_put16(buf + 42, offset | (more ? 1 : 0));
	packet_builder_put32(buf + 44, 4242);
	memcpy(buf + 48, data, len);
	return 48 + len;
}

/* A Fragment header inside the fragmentable part would make the output a
 * fragment again (and feed the table its own storage): refused. */
static void test_nested_fragment_refused(void **state)
{
	(void)state;
	uint8_t inner[32] = { 0 };
	inner[0] = 44;                        /* destination options -> Fragment */
	inner[2] = 1;                         /* PadN */
	inner[3] = 4;
	inner[8] = L4_UDP;                    /* inner Fragment header */
	packet_builder_put16(inner + 10, 8);  /* offset 8, last */
	uint8_t a[128], b[128];
	size_t a_len = ipv6_piece(a, 60, 0, true, inner, 16);
	size_t b_len = ipv6_piece(b, 60, 16, false, inner + 16, 16);
	struct ipfrag_table *table = ipfrag_table_create(2, 65535, 1000);
	const uint8_t *out;
	size_t out_len;
	assert_int_equal(submit(table, a, a_len, 0, &out, &out_len), IPFRAG_PENDING);
	assert_int_equal(submit(table, b, b_len, 0, &out, &out_len), IPFRAG_DROPPED);
	assert_int_equal(ipfrag_pending(table), 0);
	/* The same chain ending in UDP instead reassembles. */
	inner[0] = L4_UDP;
	memset(inner + 8, 0, 24);
	packet_builder_put16(inner + 12, 24);  /* UDP length */
	a_len = ipv6_piece(a, 60, 0, true, inner, 16);
	b_len = ipv6_piece(b, 60, 16, false, inner + 16, 16);
	assert_int_equal(submit(table, a, a_len, 0, &out, &out_len), IPFRAG_PENDING);
	assert_int_equal(submit(table, b, b_len, 0, &out, &out_len), IPFRAG_COMPLETE);
	struct packet p;
	assert_int_equal(packet_decode(out, out_len, &p), PACKET_OK);
	assert_int_equal(p.payload_len, 16);
	ipfrag_table_destroy(table);
}

static void test_create_bounds(void **state)
{
	(void)state;
	assert_null(ipfrag_table_create(0, 65535, 1000));
	assert_null(ipfrag_table_create(4, 10, 1000));
	ipfrag_table_destroy(NULL);
	struct ipfrag_table *table = ipfrag_table_create(1, 1u << 20, 1000); /* clamped */
	assert_non_null(table);
	ipfrag_table_destroy(table);
}

int main(void)
{
	make_invite();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_orders),
		cmocka_unit_test(test_ipv6_orders),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_overlaps),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_bad_offsets),
		cmocka_unit_test(test_too_many_holes),
		cmocka_unit_test(test_many_small_pieces_complete),
		cmocka_unit_test(test_nested_fragment_refused),
		cmocka_unit_test(test_create_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
