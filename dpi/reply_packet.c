/* reply_packet.c - builds the raw IP datagrams (reply_packet.h) that answer a
 * refused packet from its destination: a TCP RST or a UDP reply. */
#include "dpi/reply_packet.h"

#include <string.h>

#include "dpi/byte_order.h"
#include "dpi/inet_checksum.h"
#include "dpi/netaddr.h"

#define IPV4_HEADER_LEN 20
#define IPV6_HEADER_LEN 40
#define TCP_HEADER_LEN 20
#define UDP_HEADER_LEN 8
#define IP_MAX_LEN 65535 /* IPv4 total length; IPv6 payload length */
#define REPLY_TTL 64
#define IPV4_DONT_FRAGMENT 0x4000

/* The reply goes from the packet's destination to its source: both must be
 * addresses a unicast datagram can carry. */
static bool reply_addresses_usable(const struct flow_key *key)
{
	struct endpoint src, dst;
	flow_key_src(key, &src);
	flow_key_dst(key, &dst);
	return !netaddr_is_unspecified(&src.addr) && !netaddr_is_multicast(&src.addr) &&
	       !netaddr_is_unspecified(&dst.addr) && !netaddr_is_multicast(&dst.addr);
}

static size_t ip_header_len(uint8_t family)
{
	return family == NETADDR_IPV4 ? IPV4_HEADER_LEN : family == NETADDR_IPV6 ? IPV6_HEADER_LEN : 0;
}

/* Writes the IP header of a reply to key (addresses swapped) carrying l4_len
 * bytes of protocol l4; the caller has checked the room and the lengths. */
static void write_ip_header(const struct flow_key *key, uint8_t l4, size_t l4_len,
			    bool dont_fragment, uint8_t *out)
{
	if (key->family == NETADDR_IPV4) {
		memset(out, 0, IPV4_HEADER_LEN);
		out[0] = 0x45; /* version 4, 5 words */
		put_be16(out + 2, (uint16_t)(IPV4_HEADER_LEN + l4_len));
		/* id 0: an atomic datagram needs none (RFC 6864); raw sockets
		 * have the kernel pick one anyway. */
		put_be16(out + 6, dont_fragment ? IPV4_DONT_FRAGMENT : 0);
		out[8] = REPLY_TTL;
		out[9] = l4;
		memcpy(out + 12, key->dst, 4);
		memcpy(out + 16, key->src, 4);
		put_be16(out + 10, inet_checksum_fold(inet_checksum_add(0, out, IPV4_HEADER_LEN)));
		return;
	}
	memset(out, 0, IPV6_HEADER_LEN);
	out[0] = 0x60; /* version 6, traffic class and flow label 0 */
	put_be16(out + 4, (uint16_t)l4_len);
	out[6] = l4;
	out[7] = REPLY_TTL;
	memcpy(out + 8, key->dst, 16);
	memcpy(out + 24, key->src, 16);
}

/* The transport checksum over the pseudo-header (RFC 9293 3.1, RFC 768,
 * RFC 8200 8.1) and l4[0..l4_len), whose checksum field must be zero. */
static uint16_t transport_checksum(const struct flow_key *key, uint8_t l4_proto,
				   const uint8_t *l4, size_t l4_len)
{
	size_t address_len = key->family == NETADDR_IPV4 ? 4 : 16;
	uint32_t sum = inet_checksum_add(0, key->dst, address_len); /* reply's source */
	sum = inet_checksum_add(sum, key->src, address_len);
	sum += l4_proto;
	/* The length as IPv4's 16 bits or IPv6's 32 bits: l4_len < 2^16 here,
	 * so both pseudo-headers sum to the same words. */
	sum += (uint32_t)l4_len;
	sum = inet_checksum_add(sum, l4, l4_len);
	return inet_checksum_fold(sum);
}

size_t tcp_reset_build(const struct packet *seg, uint8_t *out, size_t cap)
{
	const struct flow_key *key = &seg->key;
	size_t header_len = ip_header_len(key->family);
	if (header_len == 0 || key->l4 != L4_TCP || (seg->tcp_flags & TCP_FLAG_RST) ||
	    !reply_addresses_usable(key))
		return 0;
	size_t total = header_len + TCP_HEADER_LEN;
	if (out == NULL || cap < total)
		return 0;

	uint32_t seq, ack;
	uint8_t flags;
	if (seg->tcp_flags & TCP_FLAG_ACK) {
		seq = seg->tcp_ack;
		ack = 0;
		flags = TCP_FLAG_RST;
	} else {
		/* SEG.LEN counts the data and the SYN and FIN flags; the sum
		 * wraps modulo 2^32 like every sequence number. */
		uint32_t seg_len = (uint32_t)seg->payload_len;
		seg_len += (seg->tcp_flags & TCP_FLAG_SYN) ? 1 : 0;
		seg_len += (seg->tcp_flags & TCP_FLAG_FIN) ? 1 : 0;
		seq = 0;
		ack = seg->tcp_seq + seg_len;
		flags = TCP_FLAG_RST | TCP_FLAG_ACK;
	}

	write_ip_header(key, L4_TCP, TCP_HEADER_LEN, true, out);
	uint8_t *tcp = out + header_len;
	memset(tcp, 0, TCP_HEADER_LEN);
	put_be16(tcp, key->dport);
	put_be16(tcp + 2, key->sport);
	put_be32(tcp + 4, seq);
	put_be32(tcp + 8, ack);
	tcp[12] = (TCP_HEADER_LEN / 4) << 4;
	tcp[13] = flags;
	/* window, checksum and urgent pointer stay 0 until the checksum. */
	put_be16(tcp + 16, transport_checksum(key, L4_TCP, tcp, TCP_HEADER_LEN));
	return total;
}

size_t udp_reply_build(const struct packet *request, const uint8_t *payload, size_t payload_len,
		       uint8_t *out, size_t cap)
{
	const struct flow_key *key = &request->key;
	size_t header_len = ip_header_len(key->family);
	if (header_len == 0 || key->l4 != L4_UDP || !reply_addresses_usable(key))
		return 0;
	if (payload_len > IP_MAX_LEN - UDP_HEADER_LEN - (key->family == NETADDR_IPV4 ? header_len : 0))
		return 0;
	size_t l4_len = UDP_HEADER_LEN + payload_len;
	size_t total = header_len + l4_len;
	if (out == NULL || cap < total || (payload_len > 0 && payload == NULL))
		return 0;

	/* First the payload: it may sit where the headers go. */
	if (payload_len > 0)
		memmove(out + header_len + UDP_HEADER_LEN, payload, payload_len);
	write_ip_header(key, L4_UDP, l4_len, false, out);
	uint8_t *udp = out + header_len;
	put_be16(udp, key->dport);
	put_be16(udp + 2, key->sport);
	put_be16(udp + 4, (uint16_t)l4_len);
	put_be16(udp + 6, 0);
	uint16_t checksum = transport_checksum(key, L4_UDP, udp, l4_len);
	/* A computed 0 goes out as 0xffff: 0 means "no checksum" (RFC 768),
	 * which IPv6 forbids (RFC 8200 8.1). */
	put_be16(udp + 6, checksum == 0 ? 0xffff : checksum);
	return total;
}
