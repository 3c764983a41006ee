/* packet.c - decodes one raw IPv4/IPv6 datagram (no link layer) into a flow
 * key and an L4 payload, or an ICMP error into the flow it quotes, reading
 * only [ip, ip+len) and trusting no length. */
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

/* ---- ICMP errors and the datagram they quote ---- */

#define L4_ICMP 1
#define L4_ICMPV6 58
#define ICMP_HEADER_LEN 8
/* RFC 792: an error quotes the IP header and at least 64 bits of data. */
#define QUOTED_TRANSPORT_MIN 8

static bool icmp_type_is_error(uint8_t family, uint8_t type)
{
	if (family == NETADDR_IPV4)
		return type == ICMP_DEST_UNREACHABLE || type == ICMP_SOURCE_QUENCH ||
		       type == ICMP_TIME_EXCEEDED || type == ICMP_PARAMETER_PROBLEM;
	return type == ICMP6_DEST_UNREACHABLE || type == ICMP6_PACKET_TOO_BIG ||
	       type == ICMP6_TIME_EXCEEDED || type == ICMP6_PARAMETER_PROBLEM;
}

/* Walks an IPv6 extension header chain inside [ip, ip+end) from the fixed
 * header: *proto and *pos name the first header that is not an extension,
 * *fragment the offset and M-flag field of a fragment header (0 without
 * one, or for an atomic fragment). False when a header runs past end or
 * the chain is too long. */
static bool ipv6_upper_layer(const uint8_t *ip, size_t end, uint8_t *proto, size_t *pos,
			     uint16_t *fragment)
{
	uint8_t next = ip[6];
	size_t at = IPV6_HEADER_LEN;
	*fragment = 0;
	for (unsigned count = 0; count <= IPV6_MAX_EXTENSION_HEADERS; count++) {
		size_t header_len;
		switch (next) {
		case IPV6_NEXT_HOP_BY_HOP:
		case IPV6_NEXT_ROUTING:
		case IPV6_NEXT_DEST_OPTIONS:
			if (end - at < 2)
				return false;
			header_len = ((size_t)ip[at + 1] + 1) * 8;
			break;
		case IPV6_NEXT_AUTH:
			if (end - at < 2)
				return false;
			header_len = ((size_t)ip[at + 1] + 2) * 4;
			break;
		case IPV6_NEXT_FRAGMENT:
			header_len = IPV6_FRAGMENT_HEADER_LEN;
			if (end - at < header_len)
				return false;
			*fragment = read_be16(ip + at + 2) & 0xfff9;
			break;
		default:
			*proto = next;
			*pos = at;
			return true;
		}
		if (header_len > end - at)
			return false;
		next = ip[at];
		at += header_len;
	}
	return false;
}

/* The quoted datagram in [q, q+len): its IP header (of the error's own
 * family) and the ports from the first bytes of its transport header. Its
 * length fields are not checked against len: the quote is a prefix. */
static enum icmp_error_status decode_quote(uint8_t family, const uint8_t *q, size_t len,
					   struct flow_key *out)
{
	uint8_t proto;
	size_t l4;
	memset(out, 0, sizeof(*out));
	if (len < 1 || (q[0] >> 4) != (family == NETADDR_IPV4 ? 4 : 6))
		return ICMP_ERROR_MALFORMED;
	if (family == NETADDR_IPV4) {
		if (len < IPV4_HEADER_MIN)
			return ICMP_ERROR_MALFORMED;
		l4 = (size_t)(q[0] & 0x0f) * 4;
		if (l4 < IPV4_HEADER_MIN || l4 > len)
			return ICMP_ERROR_MALFORMED;
		proto = q[9];
		if ((read_be16(q + 6) & IPV4_OFFSET_MASK) != 0)
			return ICMP_ERROR_QUOTE_UNSUPPORTED;
		memcpy(out->src, q + 12, 4);
		memcpy(out->dst, q + 16, 4);
	} else {
		uint16_t fragment;
		if (len < IPV6_HEADER_LEN)
			return ICMP_ERROR_MALFORMED;
		if (!ipv6_upper_layer(q, len, &proto, &l4, &fragment))
			return ICMP_ERROR_MALFORMED;
		/* A first fragment still begins with the transport header. */
		if ((fragment & 0xfff8) != 0)
			return ICMP_ERROR_QUOTE_UNSUPPORTED;
		memcpy(out->src, q + 8, 16);
		memcpy(out->dst, q + 24, 16);
	}
	if (proto != L4_TCP && proto != L4_UDP)
		return ICMP_ERROR_QUOTE_UNSUPPORTED;
	if (len - l4 < QUOTED_TRANSPORT_MIN)
		return ICMP_ERROR_MALFORMED;
	out->family = family;
	out->l4 = proto;
	out->sport = read_be16(q + l4);
	out->dport = read_be16(q + l4 + 2);
	return ICMP_ERROR_OK;
}

enum icmp_error_status packet_decode_icmp_error(const uint8_t *ip, size_t len, struct icmp_error *out)
{
	const uint8_t *icmp;
	size_t icmp_len;
	memset(out, 0, sizeof(*out));
	if (ip == NULL || len < 1)
		return ICMP_NOT_AN_ERROR;
	if (ip[0] >> 4 == 4) {
		if (len < IPV4_HEADER_MIN || ip[9] != L4_ICMP)
			return ICMP_NOT_AN_ERROR;
		size_t header_len = (size_t)(ip[0] & 0x0f) * 4;
		size_t total_len = read_be16(ip + 2);
		if (header_len < IPV4_HEADER_MIN || total_len < header_len || total_len > len)
			return ICMP_ERROR_MALFORMED;
		if (read_be16(ip + 6) & (IPV4_FLAG_MORE_FRAGMENTS | IPV4_OFFSET_MASK))
			return ICMP_NOT_AN_ERROR;
		out->src.family = out->dst.family = NETADDR_IPV4;
		memcpy(out->src.bytes, ip + 12, 4);
		memcpy(out->dst.bytes, ip + 16, 4);
		icmp = ip + header_len;
		icmp_len = total_len - header_len;
	} else if (ip[0] >> 4 == 6) {
		uint8_t proto;
		size_t pos;
		uint16_t fragment;
		if (len < IPV6_HEADER_LEN)
			return ICMP_NOT_AN_ERROR;
		size_t end = IPV6_HEADER_LEN + (size_t)read_be16(ip + 4);
		if (end > len)
			return ICMP_NOT_AN_ERROR;
		if (!ipv6_upper_layer(ip, end, &proto, &pos, &fragment) || proto != L4_ICMPV6 ||
		    fragment != 0)
			return ICMP_NOT_AN_ERROR;
		out->src.family = out->dst.family = NETADDR_IPV6;
		memcpy(out->src.bytes, ip + 8, 16);
		memcpy(out->dst.bytes, ip + 24, 16);
		icmp = ip + pos;
		icmp_len = end - pos;
	} else {
		return ICMP_NOT_AN_ERROR;
	}
	if (icmp_len < ICMP_HEADER_LEN)
		return ICMP_ERROR_MALFORMED;
	if (!icmp_type_is_error(out->src.family, icmp[0]))
		return ICMP_NOT_AN_ERROR;
	out->type = icmp[0];
	out->code = icmp[1];
	if (out->src.family == NETADDR_IPV4 && out->type == ICMP_DEST_UNREACHABLE &&
	    out->code == ICMP_CODE_FRAGMENTATION_NEEDED)
		out->mtu = read_be16(icmp + 6);
	else if (out->src.family == NETADDR_IPV6 && out->type == ICMP6_PACKET_TOO_BIG)
		out->mtu = read_be32(icmp + 4);
	return decode_quote(out->src.family, icmp + ICMP_HEADER_LEN, icmp_len - ICMP_HEADER_LEN,
			    &out->quoted);
}
