/* packet.c - decodes one raw IPv4/IPv6 datagram (no link layer) into a flow
 * key and an L4 payload, reading only [ip, ip+len) and trusting no length. */
#include "dpi/packet.h"

#include <string.h>

#define IPV4_HEADER_MIN 20
#define IPV6_HEADER_LEN 40
#define IPV4_FLAG_MORE_FRAGMENTS 0x2000
#define IPV4_OFFSET_MASK 0x1fff
#define TCP_HEADER_MIN 20
#define UDP_HEADER_LEN 8

#define IPV6_NEXT_HOP_BY_HOP 0
#define IPV6_NEXT_ROUTING 43
#define IPV6_NEXT_FRAGMENT 44
#define IPV6_NEXT_AUTH 51
#define IPV6_NEXT_DEST_OPTIONS 60
#define IPV6_FRAGMENT_HEADER_LEN 8
/* Real chains carry two or three headers; a longer chain is an attack on
 * the decoder's time, not traffic we need to understand. */
#define IPV6_MAX_EXTENSION_HEADERS 8

static uint16_t read_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t read_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* l4/l4_len is exactly the transport part of the datagram, so a length field
 * pointing past it contradicts the IP header: malformed, not truncated. */
static enum packet_status decode_transport(uint8_t protocol, const uint8_t *l4, size_t l4_len,
					   struct packet *out)
{
	if (protocol == L4_TCP) {
		if (l4_len < TCP_HEADER_MIN)
			return PACKET_MALFORMED;
		size_t header_len = (size_t)(l4[12] >> 4) * 4;
		if (header_len < TCP_HEADER_MIN || header_len > l4_len)
			return PACKET_MALFORMED;
		out->key.l4 = L4_TCP;
		out->key.sport = read_be16(l4);
		out->key.dport = read_be16(l4 + 2);
		out->tcp_seq = read_be32(l4 + 4);
		out->tcp_ack = read_be32(l4 + 8);
		out->tcp_flags = l4[13];
		out->payload = l4 + header_len;
		out->payload_len = l4_len - header_len;
		return PACKET_OK;
	}
	if (protocol == L4_UDP) {
		if (l4_len < UDP_HEADER_LEN)
			return PACKET_MALFORMED;
		size_t udp_len = read_be16(l4 + 4);
		if (udp_len < UDP_HEADER_LEN || udp_len > l4_len)
			return PACKET_MALFORMED;
		out->key.l4 = L4_UDP;
		out->key.sport = read_be16(l4);
		out->key.dport = read_be16(l4 + 2);
		out->payload = l4 + UDP_HEADER_LEN;
		out->payload_len = udp_len - UDP_HEADER_LEN;
		return PACKET_OK;
	}
	return PACKET_UNSUPPORTED;
}

static enum packet_status decode_ipv4(const uint8_t *ip, size_t len, struct packet *out)
{
	if (len < IPV4_HEADER_MIN)
		return PACKET_TRUNCATED;
	size_t header_len = (size_t)(ip[0] & 0x0f) * 4;
	if (header_len < IPV4_HEADER_MIN)
		return PACKET_MALFORMED;
	if (header_len > len)
		return PACKET_TRUNCATED;
	size_t total_len = read_be16(ip + 2);
	if (total_len < header_len)
		return PACKET_MALFORMED;
	/* Bytes after total_len are link-layer padding, never payload. */
	if (total_len > len)
		return PACKET_TRUNCATED;

	out->key.family = NETADDR_IPV4;
	memcpy(out->key.src, ip + 12, 4);
	memcpy(out->key.dst, ip + 16, 4);

	uint8_t protocol = ip[9];
	uint16_t fragment_field = read_be16(ip + 6);
	bool more = (fragment_field & IPV4_FLAG_MORE_FRAGMENTS) != 0;
	uint32_t offset = (uint32_t)(fragment_field & IPV4_OFFSET_MASK) * 8;
	if (more || offset != 0) {
		/* Reassembling anything but TCP/UDP would be wasted memory. */
		if (protocol != L4_TCP && protocol != L4_UDP)
			return PACKET_UNSUPPORTED;
		out->key.l4 = protocol;
		out->frag_id = read_be16(ip + 4);
		out->frag_offset = offset;
		out->frag_more = more;
		out->payload = ip + header_len;
		out->payload_len = total_len - header_len;
		return PACKET_FRAGMENT;
	}
	return decode_transport(protocol, ip + header_len, total_len - header_len, out);
}

static enum packet_status decode_ipv6(const uint8_t *ip, size_t len, struct packet *out)
{
	if (len < IPV6_HEADER_LEN)
		return PACKET_TRUNCATED;
	size_t payload_len = read_be16(ip + 4);
	uint8_t next = ip[6];
	/* Payload length 0 with a hop-by-hop header is a jumbogram (RFC 2675). */
	if (payload_len == 0 && next == IPV6_NEXT_HOP_BY_HOP)
		return PACKET_UNSUPPORTED;
	if (IPV6_HEADER_LEN + payload_len > len)
		return PACKET_TRUNCATED;

	out->key.family = NETADDR_IPV6;
	memcpy(out->key.src, ip + 8, 16);
	memcpy(out->key.dst, ip + 24, 16);

	const size_t end = IPV6_HEADER_LEN + payload_len;
	size_t pos = IPV6_HEADER_LEN;
	for (unsigned count = 0;; count++) {
		if (next == L4_TCP || next == L4_UDP)
			return decode_transport(next, ip + pos, end - pos, out);
		if (count == IPV6_MAX_EXTENSION_HEADERS)
			return PACKET_MALFORMED;

		size_t header_len;
		switch (next) {
		case IPV6_NEXT_HOP_BY_HOP:
			/* Only valid directly after the fixed header (RFC 8200 4.3). */
			if (count != 0)
				return PACKET_MALFORMED;
			/* fallthrough */
		case IPV6_NEXT_ROUTING:
		case IPV6_NEXT_DEST_OPTIONS:
			if (end - pos < 2)
				return PACKET_MALFORMED;
			header_len = ((size_t)ip[pos + 1] + 1) * 8;
			break;
		case IPV6_NEXT_AUTH:
			if (end - pos < 2)
				return PACKET_MALFORMED;
			header_len = ((size_t)ip[pos + 1] + 2) * 4;
			break;
		case IPV6_NEXT_FRAGMENT:
			header_len = IPV6_FRAGMENT_HEADER_LEN;
			break;
		default: /* ESP, no-next-header, ICMPv6, SCTP, ... */
			return PACKET_UNSUPPORTED;
		}
		if (header_len > end - pos)
			return PACKET_MALFORMED;

		if (next == IPV6_NEXT_FRAGMENT) {
			const uint8_t *fragment = ip + pos;
			uint16_t offset_field = read_be16(fragment + 2);
			bool more = (offset_field & 1) != 0;
			uint32_t offset = offset_field & 0xfff8;
			/* An atomic fragment (offset 0, no more) is a whole
			 * datagram: keep walking (RFC 6946). */
			if (more || offset != 0) {
				/* The fragmentable part normally starts with the
				 * transport header; destination options or AH may
				 * precede it, then l4 holds that header's number. */
				uint8_t first = fragment[0];
				if (first != L4_TCP && first != L4_UDP &&
				    first != IPV6_NEXT_DEST_OPTIONS && first != IPV6_NEXT_AUTH)
					return PACKET_UNSUPPORTED;
				out->key.l4 = first;
				out->frag_id = read_be32(fragment + 4);
				out->frag_offset = offset;
				out->frag_more = more;
				out->payload = fragment + IPV6_FRAGMENT_HEADER_LEN;
				out->payload_len = end - pos - IPV6_FRAGMENT_HEADER_LEN;
				return PACKET_FRAGMENT;
			}
		}
		next = ip[pos];
		pos += header_len;
	}
}

enum packet_status packet_decode(const uint8_t *ip, size_t len, struct packet *out)
{
	/* Zero everything first: keys are compared and hashed as bytes. */
	memset(out, 0, sizeof(*out));
	if (ip == NULL || len < 1)
		return PACKET_TRUNCATED;
	switch (ip[0] >> 4) {
	case 4:
		return decode_ipv4(ip, len, out);
	case 6:
		return decode_ipv6(ip, len, out);
	default:
		return PACKET_MALFORMED;
	}
}

const char *packet_status_name(enum packet_status status)
{
	switch (status) {
	case PACKET_OK:
		return "ok";
	case PACKET_FRAGMENT:
		return "fragment";
	case PACKET_TRUNCATED:
		return "truncated";
	case PACKET_MALFORMED:
		return "malformed";
	case PACKET_UNSUPPORTED:
		return "unsupported";
	case PACKET_STATUS_COUNT:
		break;
	}
	return "unknown";
}
