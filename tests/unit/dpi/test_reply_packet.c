/* test_reply_packet.c - unit tests of tcp_reset_build and udp_reply_build: every
 * header field, checksums recomputed here, the RFC 9293 seq/ack cases, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dpi/packet.h"
#include "packet_builder.h"
#include "dpi/reply_packet.h"

#define CLIENT4 "198.51.100.7"
#define VIP4 "198.18.77.20"
#define CLIENT6 "2001:db8:1::7"
#define VIP6 "2001:db8:77::20"
#define CLIENT_PORT 40123
#define RTSP_PORT 554

static uint8_t in[2048];
static uint8_t out[2048];

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Our own checksum, written apart from dpi/reply_packet.c's. */
static uint16_t ones_complement(const uint8_t *const parts[], const size_t lens[], unsigned n)
{
	uint64_t sum = 0;
	for (unsigned k = 0; k < n; k++)
		for (size_t i = 0; i < lens[k]; i++)
			sum += (i % 2 == 0) ? (uint64_t)parts[k][i] << 8 : parts[k][i];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Verifies the IPv4 header checksum (v4) and the transport checksum over
 * the pseudo-header: both sums, checksum field included, must come to 0. */
static void assert_checksums(const uint8_t *dgram, size_t len)
{
	bool v4 = dgram[0] >> 4 == 4;
	size_t ip_len = v4 ? 20 : 40;
	size_t address_len = v4 ? 4 : 16;
	const uint8_t *src = dgram + (v4 ? 12 : 8);
	const uint8_t *dst = src + address_len;
	uint8_t proto = v4 ? dgram[9] : dgram[6];
	size_t l4_len = len - ip_len;
	if (v4) {
		const uint8_t *parts[] = { dgram };
		const size_t lens[] = { 20 };
		assert_int_equal(ones_complement(parts, lens, 1), 0);
	}
	uint8_t pseudo_tail[8] = { 0 };
	/* 32-bit length then 3 zero bytes and the protocol (RFC 8200 8.1);
	 * the IPv4 form sums to the same words. */
	pseudo_tail[0] = (uint8_t)(l4_len >> 24);
	pseudo_tail[1] = (uint8_t)(l4_len >> 16);
	pseudo_tail[2] = (uint8_t)(l4_len >> 8);
	pseudo_tail[3] = (uint8_t)l4_len;
	pseudo_tail[7] = proto;
	const uint8_t *parts[] = { src, dst, pseudo_tail, dgram + ip_len };
	const size_t lens[] = { address_len, address_len, 8, l4_len };
	assert_int_equal(ones_complement(parts, lens, 4), 0);
}

struct rst_case {
	uint32_t seq, ack;
	uint8_t flags;
	size_t payload_len;
	uint32_t want_seq, want_ack;
	uint8_t want_flags;
};

/* Builds the segment CLIENT -> VIP:554, its RST, and checks every field. */
static void check_reset(int family, const struct rst_case *c)
{
	static const char data[64] = "PLAY rtsp://198.18.77.20/x RTSP/1.0\r\n";
	const char *client = family == NETADDR_IPV4 ? CLIENT4 : CLIENT6;
	const char *vip = family == NETADDR_IPV4 ? VIP4 : VIP6;
	struct packet_spec spec = { .family = family, .l4 = L4_TCP, .src = client, .dst = vip,
				    .sport = CLIENT_PORT, .dport = RTSP_PORT, .tcp_seq = c->seq,
				    .tcp_ack = c->ack, .tcp_flags = c->flags, .payload = data,
				    .payload_len = c->payload_len };
	size_t n = packet_build(&spec, in, sizeof(in));
	assert_true(n > 0);
	struct packet seg;
	assert_int_equal(packet_decode(in, n, &seg), PACKET_OK);
	assert_int_equal(seg.tcp_ack, c->ack);

	memset(out, 0xaa, sizeof(out));
	size_t len = tcp_reset_build(&seg, out, sizeof(out));
	size_t ip_len = family == NETADDR_IPV4 ? 20 : 40;
	assert_int_equal(len, ip_len + 20);
	assert_int_equal(len, family == NETADDR_IPV4 ? TCP_RESET_IPV4_LEN : TCP_RESET_IPV6_LEN);

	uint8_t client_bytes[16], vip_bytes[16];
	assert_int_equal(inet_pton(family, client, client_bytes), 1);
	assert_int_equal(inet_pton(family, vip, vip_bytes), 1);
	if (family == NETADDR_IPV4) {
		assert_int_equal(out[0], 0x45);
		assert_int_equal(out[1], 0);
		assert_int_equal(be16(out + 2), 40);
		assert_int_equal(be16(out + 6), 0x4000); /* DF, offset 0 */
		assert_int_equal(out[8], 64);
		assert_int_equal(out[9], 6);
		assert_memory_equal(out + 12, vip_bytes, 4);
		assert_memory_equal(out + 16, client_bytes, 4);
	} else {
		assert_int_equal(be32(out), 0x60000000u);
		assert_int_equal(be16(out + 4), 20);
		assert_int_equal(out[6], 6);
		assert_int_equal(out[7], 64);
		assert_memory_equal(out + 8, vip_bytes, 16);
		assert_memory_equal(out + 24, client_bytes, 16);
	}
	const uint8_t *tcp = out + ip_len;
	assert_int_equal(be16(tcp), RTSP_PORT);
	assert_int_equal(be16(tcp + 2), CLIENT_PORT);
	assert_int_equal(be32(tcp + 4), c->want_seq);
	assert_int_equal(be32(tcp + 8), c->want_ack);
	assert_int_equal(tcp[12], 5 << 4);
	assert_int_equal(tcp[13], c->want_flags);
	assert_int_equal(be16(tcp + 14), 0); /* window */
	assert_int_equal(be16(tcp + 18), 0); /* urgent pointer */
	assert_checksums(out, len);

	/* And it decodes as the reverse flow. */
	struct packet rst;
	assert_int_equal(packet_decode(out, len, &rst), PACKET_OK);
	assert_int_equal(rst.key.l4, L4_TCP);
	assert_memory_equal(rst.key.src, seg.key.dst, 16);
	assert_memory_equal(rst.key.dst, seg.key.src, 16);
	assert_int_equal(rst.key.sport, seg.key.dport);
	assert_int_equal(rst.key.dport, seg.key.sport);
	assert_int_equal(rst.payload_len, 0);
}

static const struct rst_case cases[] = {
	/* SYN: RST|ACK, seq 0, ack = ISN + 1. */
	{ .seq = 1000, .flags = TCP_FLAG_SYN, .want_seq = 0, .want_ack = 1001,
	  .want_flags = TCP_FLAG_RST | TCP_FLAG_ACK },
	/* Data with ACK: RST, seq = their ack, ack 0. */
	{ .seq = 5000, .ack = 7777, .flags = TCP_FLAG_ACK | TCP_FLAG_PSH, .payload_len = 10,
	  .want_seq = 7777, .want_ack = 0, .want_flags = TCP_FLAG_RST },
	/* Bare ACK. */
	{ .seq = 1, .ack = 0xfffffff0u, .flags = TCP_FLAG_ACK, .want_seq = 0xfffffff0u,
	  .want_ack = 0, .want_flags = TCP_FLAG_RST },
	/* FIN|ACK: RST with seq = their ack. */
	{ .seq = 9, .ack = 42, .flags = TCP_FLAG_FIN | TCP_FLAG_ACK, .want_seq = 42, .want_ack = 0,
	  .want_flags = TCP_FLAG_RST },
	/* Data without ACK: ack = seq + data length. */
	{ .seq = 100, .flags = TCP_FLAG_PSH, .payload_len = 10, .want_seq = 0, .want_ack = 110,
	  .want_flags = TCP_FLAG_RST | TCP_FLAG_ACK },
	/* FIN without ACK counts one. */
	{ .seq = 50, .flags = TCP_FLAG_FIN, .want_seq = 0, .want_ack = 51,
	  .want_flags = TCP_FLAG_RST | TCP_FLAG_ACK },
	/* SYN with data (TFO-like) and FIN: data + 2, wrapping modulo 2^32. */
	{ .seq = 0xffffffffu, .flags = TCP_FLAG_SYN | TCP_FLAG_FIN, .payload_len = 3,
	  .want_seq = 0, .want_ack = 4, .want_flags = TCP_FLAG_RST | TCP_FLAG_ACK },
	/* Odd-length data: checksum of the RST does not depend on it. */
	{ .seq = 7, .flags = TCP_FLAG_SYN, .payload_len = 37, .want_seq = 0, .want_ack = 45,
	  .want_flags = TCP_FLAG_RST | TCP_FLAG_ACK },
};

static void test_reset_ipv4(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_reset(NETADDR_IPV4, &cases[i]);
}

static void test_reset_ipv6(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_reset(NETADDR_IPV6, &cases[i]);
}

/* Extension headers in the segment are not carried into the RST. */
static void test_reset_ipv6_extension_headers(void **state)
{
	(void)state;
	struct packet_spec spec = { .family = NETADDR_IPV6, .l4 = L4_TCP, .src = CLIENT6, .dst = VIP6,
				    .sport = CLIENT_PORT, .dport = RTSP_PORT, .tcp_seq = 77,
				    .tcp_flags = TCP_FLAG_SYN, .ipv6_hop_by_hop = true,
				    .ipv6_dest_options = true };
	size_t n = packet_build(&spec, in, sizeof(in));
	struct packet seg;
	assert_int_equal(packet_decode(in, n, &seg), PACKET_OK);
	size_t len = tcp_reset_build(&seg, out, sizeof(out));
	assert_int_equal(len, 60);
	assert_int_equal(out[6], 6);
	assert_int_equal(be32(out + 40 + 8), 78);
	assert_checksums(out, len);
}

static size_t decode_tcp(int family, uint8_t flags, struct packet *seg)
{
	size_t n = packet_build_tcp(family, family == NETADDR_IPV4 ? CLIENT4 : CLIENT6, CLIENT_PORT,
				    family == NETADDR_IPV4 ? VIP4 : VIP6, RTSP_PORT, 1, flags, NULL, 0,
				    in, sizeof(in));
	assert_true(n > 0);
	assert_int_equal(packet_decode(in, n, seg), PACKET_OK);
	return n;
}

static void test_reset_refusals(void **state)
{
	(void)state;
	struct packet seg;

	/* A RST is never answered (RFC 9293 3.10.7.1). */
	decode_tcp(NETADDR_IPV4, TCP_FLAG_RST, &seg);
	assert_int_equal(tcp_reset_build(&seg, out, sizeof(out)), 0);
	decode_tcp(NETADDR_IPV6, TCP_FLAG_RST | TCP_FLAG_ACK, &seg);
	assert_int_equal(tcp_reset_build(&seg, out, sizeof(out)), 0);

	/* cap one byte short, then exact. */
	decode_tcp(NETADDR_IPV4, TCP_FLAG_SYN, &seg);
	assert_int_equal(tcp_reset_build(&seg, out, TCP_RESET_IPV4_LEN - 1), 0);
	assert_int_equal(tcp_reset_build(&seg, out, 0), 0);
	assert_int_equal(tcp_reset_build(&seg, out, TCP_RESET_IPV4_LEN), TCP_RESET_IPV4_LEN);
	decode_tcp(NETADDR_IPV6, TCP_FLAG_SYN, &seg);
	assert_int_equal(tcp_reset_build(&seg, out, TCP_RESET_IPV6_LEN - 1), 0);
	assert_int_equal(tcp_reset_build(&seg, out, TCP_RESET_IPV6_LEN), TCP_RESET_IPV6_LEN);

	/* Not TCP. */
	size_t n = packet_build_udp(NETADDR_IPV4, CLIENT4, CLIENT_PORT, VIP4, 5060, "x", 1, in,
				    sizeof(in));
	assert_int_equal(packet_decode(in, n, &seg), PACKET_OK);
	assert_int_equal(tcp_reset_build(&seg, out, sizeof(out)), 0);

	/* Multicast or unspecified addresses get no reply. */
	n = packet_build_tcp(NETADDR_IPV4, CLIENT4, CLIENT_PORT, "224.0.0.9", RTSP_PORT, 1,
			     TCP_FLAG_SYN, NULL, 0, in, sizeof(in));
	assert_int_equal(packet_decode(in, n, &seg), PACKET_OK);
	assert_int_equal(tcp_reset_build(&seg, out, sizeof(out)), 0);
	n = packet_build_tcp(NETADDR_IPV6, "::", CLIENT_PORT, VIP6, RTSP_PORT, 1, TCP_FLAG_SYN, NULL,
			     0, in, sizeof(in));
	assert_int_equal(packet_decode(in, n, &seg), PACKET_OK);
	assert_int_equal(tcp_reset_build(&seg, out, sizeof(out)), 0);

	/* A zeroed struct (no family) is refused, not read. */
	memset(&seg, 0, sizeof(seg));
	assert_int_equal(tcp_reset_build(&seg, out, sizeof(out)), 0);
}

static void check_udp_reply(int family, size_t payload_len)
{
	const char *client = family == NETADDR_IPV4 ? CLIENT4 : CLIENT6;
	const char *vip = family == NETADDR_IPV4 ? VIP4 : VIP6;
	size_t n = packet_build_udp(family, client, CLIENT_PORT, vip, 5060, "REQ", 3, in,
				    sizeof(in));
	struct packet request;
	assert_int_equal(packet_decode(in, n, &request), PACKET_OK);

	uint8_t payload[300];
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 1);
	assert_true(payload_len <= sizeof(payload));

	/* Built in place behind the headroom, as reject_sender does. */
	memset(out, 0, sizeof(out));
	memcpy(out + UDP_REPLY_HEADROOM, payload, payload_len);
	size_t len = udp_reply_build(&request, out + UDP_REPLY_HEADROOM, payload_len, out,
				     sizeof(out));
	size_t ip_len = family == NETADDR_IPV4 ? 20 : 40;
	assert_int_equal(len, ip_len + 8 + payload_len);
	if (family == NETADDR_IPV4) {
		assert_int_equal(out[0], 0x45);
		assert_int_equal(be16(out + 2), len);
		assert_int_equal(be16(out + 6), 0); /* DF clear: may fragment */
		assert_int_equal(out[8], 64);
		assert_int_equal(out[9], 17);
	} else {
		assert_int_equal(be16(out + 4), 8 + payload_len);
		assert_int_equal(out[6], 17);
		assert_int_equal(out[7], 64);
	}
	assert_int_equal(be16(out + ip_len + 4), 8 + payload_len);
	assert_int_not_equal(be16(out + ip_len + 6), 0);
	assert_checksums(out, len);

	struct packet reply;
	assert_int_equal(packet_decode(out, len, &reply), PACKET_OK);
	assert_int_equal(reply.key.l4, L4_UDP);
	assert_memory_equal(reply.key.src, request.key.dst, 16);
	assert_memory_equal(reply.key.dst, request.key.src, 16);
	assert_int_equal(reply.key.sport, 5060);
	assert_int_equal(reply.key.dport, CLIENT_PORT);
	assert_int_equal(reply.payload_len, payload_len);
	if (payload_len > 0)
		assert_memory_equal(reply.payload, payload, payload_len);

	/* From a separate buffer too. */
	assert_int_equal(udp_reply_build(&request, payload, payload_len, out, sizeof(out)), len);
	assert_checksums(out, len);
}

static void test_udp_reply(void **state)
{
	(void)state;
	const size_t lengths[] = { 0, 1, 2, 37, 300 };
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		check_udp_reply(NETADDR_IPV4, lengths[i]);
		check_udp_reply(NETADDR_IPV6, lengths[i]);
	}
}

static void test_udp_reply_refusals(void **state)
{
	(void)state;
	struct packet request;
	size_t n = packet_build_udp(NETADDR_IPV4, CLIENT4, CLIENT_PORT, VIP4, 5060, "x", 1, in,
				    sizeof(in));
	assert_int_equal(packet_decode(in, n, &request), PACKET_OK);
	assert_int_equal(udp_reply_build(&request, (const uint8_t *)"ab", 2, out, 20 + 8 + 1), 0);
	assert_int_equal(udp_reply_build(&request, (const uint8_t *)"ab", 2, out, 20 + 8 + 2), 30);
	/* Past the IPv4 length limit, whatever the room. */
	uint8_t *big = calloc(1, 70000);
	assert_non_null(big);
	assert_int_equal(udp_reply_build(&request, big, 65535 - 28 + 1, big, 70000), 0);
	assert_int_equal(udp_reply_build(&request, big + 28, 65535 - 28, big, 70000), 65535);
	assert_checksums(big, 65535);

	n = packet_build_udp(NETADDR_IPV6, CLIENT6, CLIENT_PORT, VIP6, 5060, "x", 1, in, sizeof(in));
	assert_int_equal(packet_decode(in, n, &request), PACKET_OK);
	assert_int_equal(udp_reply_build(&request, big, 65535 - 8 + 1, big, 70000), 0);
	memset(big, 0, 70000);
	assert_int_equal(udp_reply_build(&request, big + 48, 65535 - 8, big, 70000), 40 + 65535);
	assert_checksums(big, 40 + 65535);
	free(big);

	/* TCP is not UDP. */
	decode_tcp(NETADDR_IPV4, TCP_FLAG_SYN, &request);
	assert_int_equal(udp_reply_build(&request, (const uint8_t *)"ab", 2, out, sizeof(out)), 0);

	/* A multicast destination (SIP's 224.0.1.75) is no source for a reply. */
	n = packet_build_udp(NETADDR_IPV4, CLIENT4, CLIENT_PORT, "224.0.1.75", 5060, "x", 1, in,
			     sizeof(in));
	assert_int_equal(packet_decode(in, n, &request), PACKET_OK);
	assert_int_equal(udp_reply_build(&request, (const uint8_t *)"ab", 2, out, sizeof(out)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_ipv4),
		cmocka_unit_test(test_reset_ipv6),
		cmocka_unit_test(test_reset_ipv6_extension_headers),
		cmocka_unit_test(test_reset_refusals),
		cmocka_unit_test(test_udp_reply),
		cmocka_unit_test(test_udp_reply_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
