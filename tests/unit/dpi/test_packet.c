/* test_packet.c - packet_decode on valid IPv4/IPv6 UDP/TCP datagrams,
 * fragments, and malformed input (truncations, lying length fields). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dpi/packet.h"
#include "packet_builder.h"

static const char sip_options[] = "OPTIONS sip:bob@example.com SIP/2.0\r\n"
				  "Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK776asdhds\r\n"
				  "Call-ID: a84b4c76e66710\r\nCSeq: 1 OPTIONS\r\n"
				  "Content-Length: 0\r\n\r\n";

/* Decodes from an exactly-sized heap copy so ASan flags any over-read. */
static enum packet_status decode_copy(const uint8_t *bytes, size_t len, struct packet *out,
				      uint8_t **copy)
{
	*copy = malloc(len ? len : 1);
	assert_non_null(*copy);
	memcpy(*copy, bytes, len);
	return packet_decode(*copy, len, out);
}

static void assert_key_zero_tail(const struct packet *p)
{
	static const uint8_t zero[12];
	assert_int_equal(p->key.pad, 0);
	if (p->key.family == NETADDR_IPV4) {
		assert_memory_equal(p->key.src + 4, zero, 12);
		assert_memory_equal(p->key.dst + 4, zero, 12);
	}
}

static void test_ipv4_udp(void **state)
{
	(void)state;
	uint8_t buf[512], *copy;
	size_t n = packet_build_udp(NETADDR_IPV4, "192.0.2.1", 5070, "198.18.0.1", 5060, sip_options,
				    strlen(sip_options), buf, sizeof(buf));
	assert_int_equal(n, 20 + 8 + strlen(sip_options));
	struct packet p;
	assert_int_equal(decode_copy(buf, n, &p, &copy), PACKET_OK);
	assert_int_equal(p.key.family, NETADDR_IPV4);
	assert_int_equal(p.key.l4, L4_UDP);
	assert_int_equal(p.key.sport, 5070);
	assert_int_equal(p.key.dport, 5060);
	const uint8_t src[4] = { 192, 0, 2, 1 }, dst[4] = { 198, 18, 0, 1 };
	assert_memory_equal(p.key.src, src, 4);
	assert_memory_equal(p.key.dst, dst, 4);
	assert_key_zero_tail(&p);
	assert_int_equal(p.payload_len, strlen(sip_options));
	assert_memory_equal(p.payload, sip_options, p.payload_len);
	assert_ptr_equal(p.payload, copy + 28);
	free(copy);
}

static void test_ipv4_tcp(void **state)
{
	(void)state;
	uint8_t buf[512], *copy;
	size_t n = packet_build_tcp(NETADDR_IPV4, "10.0.0.1", 40000, "10.0.0.2", 554, 0xdeadbeef,
				    TCP_FLAG_ACK | TCP_FLAG_PSH, "DESCRIBE", 8, buf, sizeof(buf));
	struct packet p;
	assert_int_equal(decode_copy(buf, n, &p, &copy), PACKET_OK);
	assert_int_equal(p.key.l4, L4_TCP);
	assert_int_equal(p.key.sport, 40000);
	assert_int_equal(p.key.dport, 554);
	assert_int_equal(p.tcp_seq, 0xdeadbeef);
	assert_int_equal(p.tcp_flags, TCP_FLAG_ACK | TCP_FLAG_PSH);
	assert_int_equal(p.payload_len, 8);
	assert_memory_equal(p.payload, "DESCRIBE", 8);
	assert_key_zero_tail(&p);
	free(copy);
}

static void test_ipv6_udp_and_tcp(void **state)
{
	(void)state;
	uint8_t buf[512], *copy;
	struct packet p;
	size_t n = packet_build_udp(NETADDR_IPV6, "2001:db8::1", 5060, "2001:db8::2", 5062,
				    sip_options, strlen(sip_options), buf, sizeof(buf));
	assert_int_equal(decode_copy(buf, n, &p, &copy), PACKET_OK);
	assert_int_equal(p.key.family, NETADDR_IPV6);
	assert_int_equal(p.key.l4, L4_UDP);
	assert_int_equal(p.key.dport, 5062);
	uint8_t addr[16];
	inet_pton(NETADDR_IPV6, "2001:db8::2", addr);
	assert_memory_equal(p.key.dst, addr, 16);
	assert_int_equal(p.payload_len, strlen(sip_options));
	free(copy);

	n = packet_build_tcp(NETADDR_IPV6, "2001:db8::1", 1234, "2001:db8::2", 5060, 7, TCP_FLAG_SYN,
			     NULL, 0, buf, sizeof(buf));
	assert_int_equal(decode_copy(buf, n, &p, &copy), PACKET_OK);
	assert_int_equal(p.key.l4, L4_TCP);
	assert_int_equal(p.tcp_flags, TCP_FLAG_SYN);
	assert_int_equal(p.tcp_seq, 7);
	assert_int_equal(p.payload_len, 0);
	free(copy);
}

static void test_ipv6_extension_headers(void **state)
{
	(void)state;
	uint8_t buf[512], *copy;
	struct packet p;
	struct packet_spec spec = { .family = NETADDR_IPV6, .l4 = L4_UDP, .src = "fd00::1",
				    .dst = "fd00::2", .sport = 1, .dport = 2,
				    .payload = "x", .payload_len = 1,
				    .ipv6_hop_by_hop = true, .ipv6_dest_options = true };
	size_t n = packet_build(&spec, buf, sizeof(buf));
	assert_int_equal(n, 40 + 16 + 8 + 1);
	assert_int_equal(decode_copy(buf, n, &p, &copy), PACKET_OK);
	assert_int_equal(p.key.sport, 1);
	assert_int_equal(p.payload_len, 1);
	assert_ptr_equal(p.payload, copy + 64);
	free(copy);
}

static void test_trailing_link_padding(void **state)
{
	(void)state;
	uint8_t buf[128];
	size_t n = packet_build_udp(NETADDR_IPV4, "192.0.2.1", 1, "192.0.2.2", 2, "ab", 2, buf,
				    sizeof(buf));
	memset(buf + n, 0xee, 18); /* Ethernet pads short frames to 60 bytes */
	struct packet p;
	assert_int_equal(packet_decode(buf, n + 18, &p), PACKET_OK);
	assert_int_equal(p.payload_len, 2);

	n = packet_build_tcp(NETADDR_IPV6, "::1", 1, "::2", 2, 0, 0, "abc", 3, buf, sizeof(buf));
	memset(buf + n, 0xee, 7);
	assert_int_equal(packet_decode(buf, n + 7, &p), PACKET_OK);
	assert_int_equal(p.payload_len, 3);
}

/* Every prefix of a valid datagram is truncated, never read past. */
static void test_truncated_at_every_length(void **state)
{
	(void)state;
	uint8_t buf[4][512];
	size_t n[4];
	n[0] = packet_build_udp(NETADDR_IPV4, "192.0.2.1", 1, "192.0.2.2", 2, sip_options, 40, buf[0], 512);
	n[1] = packet_build_tcp(NETADDR_IPV4, "192.0.2.1", 1, "192.0.2.2", 2, 9, 0, sip_options, 40,
				buf[1], 512);
	n[2] = packet_build_udp(NETADDR_IPV6, "::1", 1, "::2", 2, sip_options, 40, buf[2], 512);
	struct packet_spec spec = { .family = NETADDR_IPV6, .l4 = L4_TCP, .src = "::1", .dst = "::2",
				    .payload = sip_options, .payload_len = 40,
				    .ipv6_hop_by_hop = true, .ipv6_dest_options = true };
	n[3] = packet_build(&spec, buf[3], 512);
	for (int k = 0; k < 4; k++) {
		for (size_t len = 0; len < n[k]; len++) {
			uint8_t *copy;
			struct packet p;
			assert_int_equal(decode_copy(buf[k], len, &p, &copy), PACKET_TRUNCATED);
			free(copy);
		}
	}
	struct packet p;
	assert_int_equal(packet_decode(NULL, 0, &p), PACKET_TRUNCATED);
}

static void test_ipv4_header_errors(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct packet p;
	size_t n = packet_build_udp(NETADDR_IPV4, "192.0.2.1", 1, "192.0.2.2", 2, "abcd", 4, buf,
				    sizeof(buf));
	buf[0] = 0x44; /* IHL 4 < 5 */
	assert_int_equal(packet_decode(buf, n, &p), PACKET_MALFORMED);
	buf[0] = 0x4f; /* IHL 15 = 60 bytes > 32 captured */
	assert_int_equal(packet_decode(buf, n, &p), PACKET_TRUNCATED);
	buf[0] = 0x47; /* 28-byte header: eats the UDP header, leaves 4 bytes */
	assert_int_equal(packet_decode(buf, n, &p), PACKET_MALFORMED);
	buf[0] = 0x45;
	packet_builder_put16(buf + 2, 19); /* total length < header */
	assert_int_equal(packet_decode(buf, n, &p), PACKET_MALFORMED);
	packet_builder_put16(buf + 2, (uint32_t)n + 1); /* lies upward */
	assert_int_equal(packet_decode(buf, n, &p), PACKET_TRUNCATED);
	packet_builder_put16(buf + 2, (uint32_t)n);
	buf[0] = 0x55; /* version 5 */
	assert_int_equal(packet_decode(buf, n, &p), PACKET_MALFORMED);
	buf[0] = 0x05;
	assert_int_equal(packet_decode(buf, n, &p), PACKET_MALFORMED);
	buf[0] = 0x45;
	buf[9] = 1; /* ICMP */
	assert_int_equal(packet_decode(buf, n, &p), PACKET_UNSUPPORTED);
	buf[9] = 132; /* SCTP */
	assert_int_equal(packet_decode(buf, n, &p), PACKET_UNSUPPORTED);
}

static void test_udp_length_lies(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct packet p;
	for (int family = 0; family < 2; family++) {
		size_t n = packet_build_udp(family ? NETADDR_IPV6 : NETADDR_IPV4, family ? "::1" : "1.1.1.1", 1,
					    family ? "::2" : "2.2.2.2", 2, "abcdef", 6, buf,
					    sizeof(buf));
		uint8_t *udp = buf + (family ? 40 : 20);
		packet_builder_put16(udp + 4, 15); /* one more than there is */
		assert_int_equal(packet_decode(buf, n, &p), PACKET_MALFORMED);
		packet_builder_put16(udp + 4, 7);
		assert_int_equal(packet_decode(buf, n, &p), PACKET_MALFORMED);
		packet_builder_put16(udp + 4, 0);
		assert_int_equal(packet_decode(buf, n, &p), PACKET_MALFORMED);
		packet_builder_put16(udp + 4, 10); /* shorter: bounds the payload */
		assert_int_equal(packet_decode(buf, n, &p), PACKET_OK);
		assert_int_equal(p.payload_len, 2);
		packet_builder_put16(udp + 4, 8);
		assert_int_equal(packet_decode(buf, n, &p), PACKET_OK);
		assert_int_equal(p.payload_len, 0);
		/* A UDP header cut by the IP length. */
		if (family)
			packet_builder_put16(buf + 4, 7);
		else
			packet_builder_put16(buf + 2, 27);
		assert_int_equal(packet_decode(buf, n, &p), PACKET_MALFORMED);
	}
}

static void test_tcp_data_offset_lies(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct packet p;
	size_t n = packet_build_tcp(NETADDR_IPV4, "1.1.1.1", 1, "2.2.2.2", 2, 5, 0, "abcd", 4, buf,
				    sizeof(buf));
	uint8_t *tcp = buf + 20;
	tcp[12] = 4 << 4; /* 16 bytes < minimum */
	assert_int_equal(packet_decode(buf, n, &p), PACKET_MALFORMED);
	tcp[12] = 7 << 4; /* 28 bytes > 24 available */
	assert_int_equal(packet_decode(buf, n, &p), PACKET_MALFORMED);
	tcp[12] = 6 << 4; /* 24: exactly everything, no payload */
	assert_int_equal(packet_decode(buf, n, &p), PACKET_OK);
	assert_int_equal(p.payload_len, 0);
	tcp[12] = 15 << 4;
	assert_int_equal(packet_decode(buf, n, &p), PACKET_MALFORMED);
	tcp[12] = 5 << 4;
	packet_builder_put16(buf + 2, 39); /* TCP header cut to 19 bytes */
	assert_int_equal(packet_decode(buf, n, &p), PACKET_MALFORMED);
}

static void test_ipv4_fragments(void **state)
{
	(void)state;
	uint8_t whole[256], piece[256];
	struct packet p;
	size_t n = packet_build_udp(NETADDR_IPV4, "192.0.2.1", 5060, "192.0.2.2", 5060, sip_options,
				    100, whole, sizeof(whole));
	size_t m = packet_build_fragment(whole, n, 0, 64, 0xbeef, piece, sizeof(piece));
	assert_int_equal(packet_decode(piece, m, &p), PACKET_FRAGMENT);
	assert_int_equal(p.key.family, NETADDR_IPV4);
	assert_int_equal(p.key.l4, L4_UDP);
	assert_int_equal(p.key.sport, 0);
	assert_int_equal(p.key.dport, 0);
	assert_int_equal(p.frag_id, 0xbeef);
	assert_int_equal(p.frag_offset, 0);
	assert_true(p.frag_more);
	assert_int_equal(p.payload_len, 64);
	assert_ptr_equal(p.payload, piece + 20);

	m = packet_build_fragment(whole, n, 64, n - 20 - 64, 0xbeef, piece, sizeof(piece));
	assert_int_equal(packet_decode(piece, m, &p), PACKET_FRAGMENT);
	assert_int_equal(p.frag_offset, 64);
	assert_false(p.frag_more);
	assert_int_equal(p.payload_len, n - 20 - 64);

	/* Fragmented ICMP is not ours to reassemble. */
	piece[9] = 1;
	assert_int_equal(packet_decode(piece, m, &p), PACKET_UNSUPPORTED);
	/* DF alone is not a fragment. */
	whole[6] = 0x40;
	assert_int_equal(packet_decode(whole, n, &p), PACKET_OK);
}

static void test_ipv6_fragments(void **state)
{
	(void)state;
	uint8_t whole[256], piece[256];
	struct packet p;
	struct packet_spec spec = { .family = NETADDR_IPV6, .l4 = L4_UDP, .src = "fd00::1",
				    .dst = "fd00::2", .sport = 5060, .dport = 5060,
				    .payload = sip_options, .payload_len = 100,
				    .ipv6_hop_by_hop = true };
	size_t n = packet_build(&spec, whole, sizeof(whole));
	size_t m = packet_build_fragment(whole, n, 0, 64, 0x89abcdef, piece, sizeof(piece));
	assert_int_equal(m, 40 + 8 + 8 + 64);
	assert_int_equal(packet_decode(piece, m, &p), PACKET_FRAGMENT);
	assert_int_equal(p.key.family, NETADDR_IPV6);
	assert_int_equal(p.key.l4, L4_UDP);
	assert_int_equal(p.key.sport, 0);
	assert_int_equal(p.frag_id, 0x89abcdef);
	assert_int_equal(p.frag_offset, 0);
	assert_true(p.frag_more);
	assert_ptr_equal(p.payload, piece + 56);
	assert_int_equal(p.payload_len, 64);

	m = packet_build_fragment(whole, n, 64, 108 - 64, 0x89abcdef, piece, sizeof(piece));
	assert_int_equal(packet_decode(piece, m, &p), PACKET_FRAGMENT);
	assert_int_equal(p.frag_offset, 64);
	assert_false(p.frag_more);

	/* An atomic fragment (offset 0, M clear) is a whole datagram. */
	m = packet_build_fragment(whole, n, 0, n - 48, 7, piece, sizeof(piece));
	assert_int_equal(packet_decode(piece, m, &p), PACKET_OK);
	assert_int_equal(p.key.sport, 5060);
	assert_int_equal(p.payload_len, 100);

	/* A fragment of ICMPv6 is not ours. */
	m = packet_build_fragment(whole, n, 0, 64, 1, piece, sizeof(piece));
	piece[48] = 58;
	assert_int_equal(packet_decode(piece, m, &p), PACKET_UNSUPPORTED);
	/* A Fragment header cut short. */
	packet_builder_put16(piece + 4, 8 + 4);
	assert_int_equal(packet_decode(piece, m, &p), PACKET_MALFORMED);
}

static void test_ipv6_chain_errors(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct packet p;
	struct packet_spec spec = { .family = NETADDR_IPV6, .l4 = L4_UDP, .src = "::1", .dst = "::2",
				    .payload = "abcd", .payload_len = 4,
				    .ipv6_hop_by_hop = true, .ipv6_dest_options = true };
	size_t n = packet_build(&spec, buf, sizeof(buf));
	assert_int_equal(packet_decode(buf, n, &p), PACKET_OK);

	buf[41] = 255; /* hop-by-hop claims 2048 bytes */
	assert_int_equal(packet_decode(buf, n, &p), PACKET_MALFORMED);
	buf[41] = 0;
	buf[49] = 1; /* destination options runs 8 bytes past the end */
	assert_int_equal(packet_decode(buf, n, &p), PACKET_MALFORMED);
	buf[49] = 0;
	buf[48] = 0; /* hop-by-hop again, not first */
	assert_int_equal(packet_decode(buf, n, &p), PACKET_MALFORMED);
	buf[48] = 50; /* ESP */
	assert_int_equal(packet_decode(buf, n, &p), PACKET_UNSUPPORTED);
	buf[48] = 59; /* no next header */
	assert_int_equal(packet_decode(buf, n, &p), PACKET_UNSUPPORTED);
	buf[48] = L4_UDP;

	/* Payload length stops inside an extension header's first 2 bytes. */
	packet_builder_put16(buf + 4, 9);
	assert_int_equal(packet_decode(buf, n, &p), PACKET_MALFORMED);
	packet_builder_put16(buf + 4, 8);
	assert_int_equal(packet_decode(buf, n, &p), PACKET_MALFORMED);
	packet_builder_put16(buf + 4, (uint32_t)n - 40 + 1);
	assert_int_equal(packet_decode(buf, n, &p), PACKET_TRUNCATED);
	/* Jumbogram: payload length 0 with hop-by-hop. */
	packet_builder_put16(buf + 4, 0);
	assert_int_equal(packet_decode(buf, n, &p), PACKET_UNSUPPORTED);
}

static void test_ipv6_chain_too_long(void **state)
{
	(void)state;
	/* Nine destination options headers then UDP: over the bound. */
	uint8_t buf[40 + 9 * 8 + 8] = { 0 };
	buf[0] = 0x60;
	packet_builder_put16(buf + 4, 9 * 8 + 8);
	buf[6] = 60;
	for (int i = 0; i < 9; i++)
		packet_builder_empty_extension(buf + 40 + 8 * i, i == 8 ? L4_UDP : 60);
	packet_builder_put16(buf + 40 + 72 + 4, 8);
	struct packet p;
	assert_int_equal(packet_decode(buf, sizeof(buf), &p), PACKET_MALFORMED);
	/* Seven is fine (eight headers allowed in all). */
	uint8_t ok[40 + 7 * 8 + 8] = { 0 };
	ok[0] = 0x60;
	packet_builder_put16(ok + 4, 7 * 8 + 8);
	ok[6] = 60;
	for (int i = 0; i < 7; i++)
		packet_builder_empty_extension(ok + 40 + 8 * i, i == 6 ? L4_UDP : 60);
	packet_builder_put16(ok + 40 + 56 + 4, 8);
	assert_int_equal(packet_decode(ok, sizeof(ok), &p), PACKET_OK);
	/* AH: length in 4-byte units, plus 2. */
	uint8_t ah[40 + 12 + 8] = { 0 };
	ah[0] = 0x60;
	packet_builder_put16(ah + 4, 20);
	ah[6] = 51;
	ah[40] = L4_UDP;
	ah[41] = 1; /* (1 + 2) * 4 = 12 */
	packet_builder_put16(ah + 52 + 4, 8);
	assert_int_equal(packet_decode(ah, sizeof(ah), &p), PACKET_OK);
	ah[41] = 2;
	assert_int_equal(packet_decode(ah, sizeof(ah), &p), PACKET_MALFORMED);
}

/* Random corruption of valid datagrams: any status, but no over-read. */
static void test_mutations_stay_in_bounds(void **state)
{
	(void)state;
	uint8_t base[512];
	struct packet_spec spec = { .family = NETADDR_IPV6, .l4 = L4_TCP, .src = "::1", .dst = "::2",
				    .payload = sip_options, .payload_len = 60,
				    .ipv6_hop_by_hop = true };
	size_t n6 = packet_build(&spec, base, sizeof(base));
	uint8_t base4[512];
	size_t n4 = packet_build_udp(NETADDR_IPV4, "1.2.3.4", 1, "5.6.7.8", 2, sip_options, 60, base4,
				     sizeof(base4));
	uint32_t seed = 12345;
	for (int round = 0; round < 20000; round++) {
		const uint8_t *src = round & 1 ? base : base4;
		size_t n = round & 1 ? n6 : n4;
		uint8_t *copy = malloc(n);
		memcpy(copy, src, n);
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245u + 12345u;
			copy[(seed >> 8) % 64 % n] = (uint8_t)(seed >> 20);
		}
		seed = seed * 1103515245u + 12345u;
		size_t len = (seed >> 4) % (n + 1);
		struct packet p;
		enum packet_status status = packet_decode(copy, len, &p);
		assert_true(status < PACKET_STATUS_COUNT);
		if (status == PACKET_OK || status == PACKET_FRAGMENT) {
			assert_true(p.payload >= copy);
			assert_true(p.payload + p.payload_len <= copy + len);
		}
		free(copy);
	}
}

/* ---- ICMP errors ---- */

/* Decodes an ICMP error from an exactly-sized heap copy (ASan). */
static enum icmp_error_status icmp_copy(const uint8_t *bytes, size_t len, struct icmp_error *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, bytes, len);
	enum icmp_error_status status = packet_decode_icmp_error(copy, len, out);
	free(copy);
	return status;
}

/* The datagram a server sent from the VIP to a client, and an error about
 * it from the client's side back to the VIP quoting quote_len bytes of it. */
static size_t icmp_about_udp(int family, uint8_t type, uint8_t code, uint32_t rest, size_t quote_len,
			     uint8_t *buf, size_t cap)
{
	const char *vip = family == NETADDR_IPV4 ? "198.18.0.1" : "fd00::1";
	const char *client = family == NETADDR_IPV4 ? "192.0.2.1" : "2001:db8::1";
	const char *router = family == NETADDR_IPV4 ? "192.0.2.254" : "2001:db8::fe";
	uint8_t sent[512];
	size_t n = packet_build_udp(family, vip, 6000, client, 7078, sip_options, 100, sent, sizeof(sent));
	assert_true(n > 0);
	if (quote_len > n)
		quote_len = n;
	return packet_build_icmp_error(family, router, vip, type, code, rest, sent, quote_len, buf, cap);
}

static void test_icmp_port_unreachable_ipv4(void **state)
{
	(void)state;
	uint8_t buf[1024];
	struct icmp_error e;
	size_t n = icmp_about_udp(NETADDR_IPV4, ICMP_DEST_UNREACHABLE, 3, 0, 512, buf, sizeof(buf));
	assert_int_equal(icmp_copy(buf, n, &e), ICMP_ERROR_OK);
	assert_int_equal(e.type, ICMP_DEST_UNREACHABLE);
	assert_int_equal(e.code, 3);
	assert_int_equal(e.mtu, 0);
	const uint8_t vip[4] = { 198, 18, 0, 1 }, client[4] = { 192, 0, 2, 1 }, router[4] = { 192, 0, 2, 254 };
	assert_int_equal(e.dst.family, NETADDR_IPV4);
	assert_memory_equal(e.dst.bytes, vip, 4);
	assert_memory_equal(e.src.bytes, router, 4);
	/* The quoted flow as its sender sent it: VIP -> client. */
	assert_int_equal(e.quoted.family, NETADDR_IPV4);
	assert_int_equal(e.quoted.l4, L4_UDP);
	assert_memory_equal(e.quoted.src, vip, 4);
	assert_memory_equal(e.quoted.dst, client, 4);
	assert_int_equal(e.quoted.sport, 6000);
	assert_int_equal(e.quoted.dport, 7078);
	/* and with the zeroed tail keys compare on */
	assert_int_equal(e.quoted.pad, 0);
	static const uint8_t zero[12];
	assert_memory_equal(e.quoted.src + 4, zero, 12);
}

static void test_icmp_fragmentation_needed_tcp(void **state)
{
	(void)state;
	uint8_t sent[1600], buf[1024];
	size_t n = packet_build_tcp(NETADDR_IPV4, "198.18.0.1", 5060, "192.0.2.1", 40000, 1000, 0x18,
				    sip_options, strlen(sip_options), sent, sizeof(sent));
	/* A router quotes the IP header and 8 bytes: exactly the minimum. */
	size_t m = packet_build_icmp_error(NETADDR_IPV4, "203.0.113.1", "198.18.0.1", ICMP_DEST_UNREACHABLE,
					   ICMP_CODE_FRAGMENTATION_NEEDED, 1400, sent, 28, buf, sizeof(buf));
	assert_true(n > 28 && m > 0);
	struct icmp_error e;
	assert_int_equal(icmp_copy(buf, m, &e), ICMP_ERROR_OK);
	assert_int_equal(e.mtu, 1400);
	assert_int_equal(e.quoted.l4, L4_TCP);
	assert_int_equal(e.quoted.sport, 5060);
	assert_int_equal(e.quoted.dport, 40000);
	/* One byte fewer is not a quote of 64 bits of data. */
	m = packet_build_icmp_error(NETADDR_IPV4, "203.0.113.1", "198.18.0.1", ICMP_DEST_UNREACHABLE,
				    ICMP_CODE_FRAGMENTATION_NEEDED, 1400, sent, 27, buf, sizeof(buf));
	assert_int_equal(icmp_copy(buf, m, &e), ICMP_ERROR_MALFORMED);
}

static void test_icmp6_packet_too_big(void **state)
{
	(void)state;
	uint8_t buf[1024];
	struct icmp_error e;
	size_t n = icmp_about_udp(NETADDR_IPV6, ICMP6_PACKET_TOO_BIG, 0, 1280, 512, buf, sizeof(buf));
	assert_int_equal(icmp_copy(buf, n, &e), ICMP_ERROR_OK);
	assert_int_equal(e.type, ICMP6_PACKET_TOO_BIG);
	assert_int_equal(e.mtu, 1280);
	assert_int_equal(e.dst.family, NETADDR_IPV6);
	assert_int_equal(e.quoted.family, NETADDR_IPV6);
	assert_int_equal(e.quoted.sport, 6000);
	assert_int_equal(e.quoted.dport, 7078);
	uint8_t vip[16] = { 0xfd, 0x00, [15] = 1 };
	assert_memory_equal(e.quoted.src, vip, 16);
	/* Destination unreachable and time exceeded are errors too. */
	n = icmp_about_udp(NETADDR_IPV6, ICMP6_DEST_UNREACHABLE, 4, 0, 512, buf, sizeof(buf));
	assert_int_equal(icmp_copy(buf, n, &e), ICMP_ERROR_OK);
	n = icmp_about_udp(NETADDR_IPV6, ICMP6_TIME_EXCEEDED, 0, 0, 512, buf, sizeof(buf));
	assert_int_equal(icmp_copy(buf, n, &e), ICMP_ERROR_OK);
	/* An echo request is not. */
	n = icmp_about_udp(NETADDR_IPV6, 128, 0, 0, 512, buf, sizeof(buf));
	assert_int_equal(icmp_copy(buf, n, &e), ICMP_NOT_AN_ERROR);
}

static void test_icmp6_quote_with_extension_headers(void **state)
{
	(void)state;
	uint8_t sent[512], buf[1024];
	struct packet_spec spec = { .family = NETADDR_IPV6, .l4 = L4_TCP, .src = "fd00::1", .dst = "2001:db8::1",
				    .sport = 554, .dport = 50000, .payload = sip_options, .payload_len = 40,
				    .ipv6_hop_by_hop = true, .ipv6_dest_options = true };
	size_t n = packet_build(&spec, sent, sizeof(sent));
	struct icmp_error e;
	/* 40 + 8 + 8 header bytes, then 8 of TCP: the shortest readable quote. */
	for (size_t q = 0; q <= n; q++) {
		size_t m = packet_build_icmp_error(NETADDR_IPV6, "2001:db8::fe", "fd00::1", ICMP6_PACKET_TOO_BIG,
						   0, 1280, sent, q, buf, sizeof(buf));
		enum icmp_error_status st = icmp_copy(buf, m, &e);
		assert_int_equal(st, q >= 64 ? ICMP_ERROR_OK : ICMP_ERROR_MALFORMED);
		if (st == ICMP_ERROR_OK) {
			assert_int_equal(e.quoted.l4, L4_TCP);
			assert_int_equal(e.quoted.sport, 554);
			assert_int_equal(e.quoted.dport, 50000);
		}
	}
}

/* Every cut of a valid error: never an over-read, and nothing but the
 * whole message (or one still holding the quote's first 28 bytes) reads. */
static void test_icmp_truncated_at_every_length(void **state)
{
	(void)state;
	uint8_t buf[1024];
	struct icmp_error e;
	size_t n = icmp_about_udp(NETADDR_IPV4, ICMP_TIME_EXCEEDED, 0, 0, 200, buf, sizeof(buf));
	for (size_t len = 0; len < n; len++) {
		enum icmp_error_status st = icmp_copy(buf, len, &e);
		/* the outer total length now points past the bytes */
		assert_true(st == ICMP_NOT_AN_ERROR || st == ICMP_ERROR_MALFORMED);
	}
	/* A quote cut anywhere below IP header + 8 bytes, with consistent lengths. */
	uint8_t sent[512];
	size_t s = packet_build_udp(NETADDR_IPV4, "198.18.0.1", 6000, "192.0.2.1", 7078, sip_options, 100,
				    sent, sizeof(sent));
	for (size_t q = 0; q <= s; q++) {
		size_t m = packet_build_icmp_error(NETADDR_IPV4, "192.0.2.1", "198.18.0.1", ICMP_DEST_UNREACHABLE,
						   3, 0, sent, q, buf, sizeof(buf));
		assert_int_equal(icmp_copy(buf, m, &e), q >= 28 ? ICMP_ERROR_OK : ICMP_ERROR_MALFORMED);
	}
}

static void test_icmp_malformed_and_unsupported_quotes(void **state)
{
	(void)state;
	uint8_t sent[512], quote[512], buf[1024];
	struct icmp_error e;
	size_t s = packet_build_udp(NETADDR_IPV4, "198.18.0.1", 6000, "192.0.2.1", 7078, sip_options, 40,
				    sent, sizeof(sent));
	size_t m;
#define ICMP4_QUOTING(q, len) \
	packet_build_icmp_error(NETADDR_IPV4, "192.0.2.1", "198.18.0.1", ICMP_DEST_UNREACHABLE, 3, 0, q, len, buf, sizeof(buf))
	/* An IPv6 header inside an ICMPv4 error. */
	memcpy(quote, sent, s);
	quote[0] = 0x65;
	m = ICMP4_QUOTING(quote, s);
	assert_int_equal(icmp_copy(buf, m, &e), ICMP_ERROR_MALFORMED);
	/* A header length below 20, and one past the quote. */
	quote[0] = 0x44;
	m = ICMP4_QUOTING(quote, s);
	assert_int_equal(icmp_copy(buf, m, &e), ICMP_ERROR_MALFORMED);
	quote[0] = 0x4f; /* 60 bytes of header, 8 bytes of L4 after them needed */
	m = ICMP4_QUOTING(quote, 60 + 7);
	assert_int_equal(icmp_copy(buf, m, &e), ICMP_ERROR_MALFORMED);
	m = ICMP4_QUOTING(quote, 60 + 8);
	assert_int_equal(icmp_copy(buf, m, &e), ICMP_ERROR_OK);
	/* A later fragment has no ports; a first one does. */
	memcpy(quote, sent, s);
	packet_builder_put16(quote + 6, 0x2000 | 10);
	m = ICMP4_QUOTING(quote, s);
	assert_int_equal(icmp_copy(buf, m, &e), ICMP_ERROR_QUOTE_UNSUPPORTED);
	packet_builder_put16(quote + 6, 0x2000);
	m = ICMP4_QUOTING(quote, s);
	assert_int_equal(icmp_copy(buf, m, &e), ICMP_ERROR_OK);
	/* SCTP, or an ICMP echo quoted: no flow sara knows. */
	memcpy(quote, sent, s);
	quote[9] = 132;
	m = ICMP4_QUOTING(quote, s);
	assert_int_equal(icmp_copy(buf, m, &e), ICMP_ERROR_QUOTE_UNSUPPORTED);
#undef ICMP4_QUOTING
	/* Not errors: echo, a TCP datagram, an ICMP header cut short. */
	m = packet_build_icmp_error(NETADDR_IPV4, "192.0.2.1", "198.18.0.1", 8, 0, 0, sent, s, buf, sizeof(buf));
	assert_int_equal(icmp_copy(buf, m, &e), ICMP_NOT_AN_ERROR);
	assert_int_equal(icmp_copy(sent, s, &e), ICMP_NOT_AN_ERROR);
	m = packet_build_icmp_error(NETADDR_IPV4, "192.0.2.1", "198.18.0.1", 3, 3, 0, NULL, 0, buf, sizeof(buf));
	buf[3] = 20 + 7; /* total length: the ICMP header is 7 bytes */
	buf[2] = 0;
	assert_int_equal(icmp_copy(buf, 27, &e), ICMP_ERROR_MALFORMED);
	/* A fragmented error is left alone. */
	m = packet_build_icmp_error(NETADDR_IPV4, "192.0.2.1", "198.18.0.1", 3, 3, 0, sent, s, buf, sizeof(buf));
	packet_builder_put16(buf + 6, 0x2000);
	assert_int_equal(icmp_copy(buf, m, &e), ICMP_NOT_AN_ERROR);
	assert_int_equal(packet_decode_icmp_error(NULL, 0, &e), ICMP_NOT_AN_ERROR);
}

/* Random corruption of valid errors: any status, never an over-read. */
static void test_icmp_mutations_stay_in_bounds(void **state)
{
	(void)state;
	uint8_t base4[1024], base6[1024];
	size_t n4 = icmp_about_udp(NETADDR_IPV4, ICMP_DEST_UNREACHABLE, 3, 0, 60, base4, sizeof(base4));
	size_t n6 = icmp_about_udp(NETADDR_IPV6, ICMP6_PACKET_TOO_BIG, 0, 1280, 80, base6, sizeof(base6));
	uint32_t seed = 777;
	for (int round = 0; round < 20000; round++) {
		const uint8_t *src = round & 1 ? base6 : base4;
		size_t n = round & 1 ? n6 : n4;
		uint8_t copy[1024];
		memcpy(copy, src, n);
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245u + 12345u;
			copy[(seed >> 8) % n] = (uint8_t)(seed >> 20);
		}
		seed = seed * 1103515245u + 12345u;
		size_t len = (seed >> 4) % (n + 1);
		struct icmp_error e;
		assert_true(icmp_copy(copy, len, &e) < ICMP_ERROR_STATUS_COUNT);
	}
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(packet_status_name(PACKET_OK), "ok");
	assert_string_equal(packet_status_name(PACKET_FRAGMENT), "fragment");
	assert_string_equal(packet_status_name(PACKET_TRUNCATED), "truncated");
	assert_string_equal(packet_status_name(PACKET_MALFORMED), "malformed");
	assert_string_equal(packet_status_name(PACKET_UNSUPPORTED), "unsupported");
	assert_string_equal(packet_status_name(PACKET_STATUS_COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_udp),
		cmocka_unit_test(test_ipv4_tcp),
		cmocka_unit_test(test_ipv6_udp_and_tcp),
		cmocka_unit_test(test_ipv6_extension_headers),
		cmocka_unit_test(test_trailing_link_padding),
		cmocka_unit_test(test_truncated_at_every_length),
		cmocka_unit_test(test_ipv4_header_errors),
		cmocka_unit_test(test_udp_length_lies),
		cmocka_unit_test(test_tcp_data_offset_lies),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_ipv6_fragments),
		cmocka_unit_test(test_ipv6_chain_errors),
		cmocka_unit_test(test_ipv6_chain_too_long),
		cmocka_unit_test(test_mutations_stay_in_bounds),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_icmp_port_unreachable_ipv4),
		cmocka_unit_test(test_icmp_fragmentation_needed_tcp),
		cmocka_unit_test(test_icmp6_packet_too_big),
		cmocka_unit_test(test_icmp6_quote_with_extension_headers),
		cmocka_unit_test(test_icmp_truncated_at_every_length),
		cmocka_unit_test(test_icmp_malformed_and_unsupported_quotes),
		cmocka_unit_test(test_icmp_mutations_stay_in_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
