/* packet_builder.h - test helpers that write raw IPv4/IPv6 UDP/TCP datagrams
 * (no link layer) and their IP fragments into a caller buffer. */
#ifndef SARA_TESTS_PACKET_BUILDER_H
#define SARA_TESTS_PACKET_BUILDER_H

/*
 * Self-contained (libc only), everything static inline. Usage:
 *
 *	uint8_t buf[2048];
 *	size_t n = packet_build_udp(NETADDR_IPV4, "192.0.2.1", 5060, "198.18.0.1", 5060,
 *				    invite, strlen(invite), buf, sizeof(buf));
 *	uint8_t piece[1500];
 *	size_t m = packet_build_fragment(buf, n, 0, 512, 77, piece, sizeof(piece));
 *
 * Every builder returns the number of bytes written, or 0 when the arguments
 * are invalid or the buffer is too small. IPv4 header and L4 checksums are
 * filled in correctly; IPv4 datagrams carry no options.
 */

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "dpi/inet_checksum.h"

#ifndef L4_TCP
#define L4_TCP 6
#endif
#ifndef L4_UDP
#define L4_UDP 17
#endif

#define PACKET_BUILDER_IPV4_HEADER 20
#define PACKET_BUILDER_IPV6_HEADER 40
#define PACKET_BUILDER_IPV6_FRAGMENT_HEADER 8
#define PACKET_BUILDER_TCP_HEADER 20
#define PACKET_BUILDER_UDP_HEADER 8

/* Everything a datagram needs; zero-initialise and fill what matters. */
struct packet_spec {
	int family;             /* NETADDR_IPV4 or NETADDR_IPV6 */
	uint8_t l4;             /* L4_UDP or L4_TCP */
	const char *src;        /* address text, e.g. "192.0.2.1" or "2001:db8::1" */
	const char *dst;
	uint16_t sport, dport;  /* host byte order */
	uint32_t tcp_seq, tcp_ack;
	uint8_t tcp_flags;      /* TCP_FLAG_* bits as in packet.h (0x02 = SYN ...) */
	const void *payload;
	size_t payload_len;
	uint16_t ipv4_id;       /* IPv4 identification field */
	bool ipv4_dont_fragment;
	bool ipv6_hop_by_hop;   /* insert an empty (PadN) hop-by-hop header */
	bool ipv6_dest_options; /* insert an empty destination options header */
};

static inline void packet_builder_put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void packet_builder_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Writes an empty 8-byte extension header (next header + PadN option). */
static inline void packet_builder_empty_extension(uint8_t *p, uint8_t next)
{
	p[0] = next;
	p[1] = 0;    /* (0 + 1) * 8 bytes */
	p[2] = 1;    /* PadN */
	p[3] = 4;    /* four pad bytes */
	memset(p + 4, 0, 4);
}

/* Builds a whole (unfragmented) datagram from spec into buf. */
static inline size_t packet_build(const struct packet_spec *spec, uint8_t *buf, size_t cap)
{
	uint8_t src[16] = { 0 }, dst[16] = { 0 };
	size_t address_len = spec->family == NETADDR_IPV4 ? 4 : 16;
	if ((spec->family != NETADDR_IPV4 && spec->family != NETADDR_IPV6) ||
	    (spec->l4 != L4_UDP && spec->l4 != L4_TCP) || spec->src == NULL || spec->dst == NULL ||
	    inet_pton(spec->family, spec->src, src) != 1 ||
	    inet_pton(spec->family, spec->dst, dst) != 1)
		return 0;

	size_t ip_header = spec->family == NETADDR_IPV4 ? PACKET_BUILDER_IPV4_HEADER
						   : PACKET_BUILDER_IPV6_HEADER;
	if (spec->family == NETADDR_IPV6)
		ip_header += (spec->ipv6_hop_by_hop ? 8 : 0) + (spec->ipv6_dest_options ? 8 : 0);
	size_t l4_header = spec->l4 == L4_TCP ? PACKET_BUILDER_TCP_HEADER : PACKET_BUILDER_UDP_HEADER;
	size_t l4_len = l4_header + spec->payload_len;
	size_t total = ip_header + l4_len;
	if (total > cap || l4_len > 65535 || (spec->family == NETADDR_IPV4 && total > 65535))
		return 0;
	memset(buf, 0, ip_header + l4_header);

	/* IP header. */
	if (spec->family == NETADDR_IPV4) {
		buf[0] = 0x45;
		packet_builder_put16(buf + 2, (uint32_t)total);
		packet_builder_put16(buf + 4, spec->ipv4_id);
		buf[6] = spec->ipv4_dont_fragment ? 0x40 : 0;
		buf[8] = 64;
		buf[9] = spec->l4;
		memcpy(buf + 12, src, 4);
		memcpy(buf + 16, dst, 4);
		packet_builder_put16(buf + 10, inet_checksum_fold(inet_checksum_add(0, buf, 20)));
	} else {
		buf[0] = 0x60;
		packet_builder_put16(buf + 4, (uint32_t)(total - PACKET_BUILDER_IPV6_HEADER));
		buf[7] = 64;
		memcpy(buf + 8, src, 16);
		memcpy(buf + 24, dst, 16);
		/* Chain: base -> [hop-by-hop] -> [destination options] -> L4. */
		uint8_t *next_field = buf + 6;
		size_t pos = PACKET_BUILDER_IPV6_HEADER;
		if (spec->ipv6_hop_by_hop) {
			*next_field = 0;
			packet_builder_empty_extension(buf + pos, spec->l4);
			next_field = buf + pos;
			pos += 8;
		}
		if (spec->ipv6_dest_options) {
			*next_field = 60;
			packet_builder_empty_extension(buf + pos, spec->l4);
			next_field = buf + pos;
			pos += 8;
		}
		*next_field = spec->l4;
	}

	/* Transport header and payload. */
	uint8_t *l4 = buf + ip_header;
	packet_builder_put16(l4, spec->sport);
	packet_builder_put16(l4 + 2, spec->dport);
	if (spec->l4 == L4_TCP) {
		packet_builder_put32(l4 + 4, spec->tcp_seq);
		packet_builder_put32(l4 + 8, spec->tcp_ack);
		l4[12] = (PACKET_BUILDER_TCP_HEADER / 4) << 4;
		l4[13] = spec->tcp_flags;
		packet_builder_put16(l4 + 14, 65535);
	} else {
		packet_builder_put16(l4 + 4, (uint32_t)l4_len);
	}
	if (spec->payload_len > 0)
		memcpy(l4 + l4_header, spec->payload, spec->payload_len);

	/* Checksum over the pseudo-header (RFC 768, RFC 8200 8.1). */
	uint32_t sum = inet_checksum_add(0, src, address_len);
	sum = inet_checksum_add(sum, dst, address_len);
	sum += spec->l4;
	sum += (uint32_t)(l4_len & 0xffff);
	sum = inet_checksum_add(sum, l4, l4_len);
	uint16_t checksum = inet_checksum_fold(sum);
	if (spec->l4 == L4_UDP && checksum == 0)
		checksum = 0xffff; /* 0 means "no checksum" for UDP */
	packet_builder_put16(l4 + (spec->l4 == L4_TCP ? 16 : 6), checksum);
	return total;
}

static inline size_t packet_build_udp(int family, const char *src, uint16_t sport, const char *dst,
				      uint16_t dport, const void *payload, size_t payload_len,
				      uint8_t *buf, size_t cap)
{
	struct packet_spec spec = { .family = family, .l4 = L4_UDP, .src = src, .dst = dst,
				    .sport = sport, .dport = dport, .payload = payload,
				    .payload_len = payload_len };
	return packet_build(&spec, buf, cap);
}

static inline size_t packet_build_tcp(int family, const char *src, uint16_t sport, const char *dst,
				      uint16_t dport, uint32_t seq, uint8_t flags,
				      const void *payload, size_t payload_len, uint8_t *buf,
				      size_t cap)
{
	struct packet_spec spec = { .family = family, .l4 = L4_TCP, .src = src, .dst = dst,
				    .sport = sport, .dport = dport, .tcp_seq = seq,
				    .tcp_flags = flags, .payload = payload,
				    .payload_len = payload_len };
	return packet_build(&spec, buf, cap);
}

/* Length of the part of a built datagram that every fragment repeats: the
 * IPv4 header, or the IPv6 base header plus hop-by-hop/routing headers.
 * *next_field_at receives the offset of the byte naming what follows. */
static inline size_t packet_builder_unfragmentable(const uint8_t *datagram, size_t len,
						    size_t *next_field_at)
{
	if (len < 1)
		return 0;
	if (datagram[0] >> 4 == 4) {
		size_t header = (size_t)(datagram[0] & 0x0f) * 4;
		*next_field_at = 9;
		return header >= 20 && header <= len ? header : 0;
	}
	if (len < PACKET_BUILDER_IPV6_HEADER)
		return 0;
	size_t pos = PACKET_BUILDER_IPV6_HEADER;
	*next_field_at = 6;
	uint8_t next = datagram[6];
	while (next == 0 || next == 43) {
		if (len - pos < 8)
			return 0;
		size_t ext_len = ((size_t)datagram[pos + 1] + 1) * 8;
		if (ext_len > len - pos)
			return 0;
		*next_field_at = pos;
		next = datagram[pos];
		pos += ext_len;
	}
	return pos;
}

/* Cuts one fragment out of a whole datagram built above: bytes
 * [offset, offset + fragment_len) of its fragmentable part (the L4 header
 * and data, plus IPv6 destination options), with MF set unless the piece
 * reaches the end. offset should be a multiple of 8, as should fragment_len
 * for every piece but the last (not enforced: tests build bad ones too). */
static inline size_t packet_build_fragment(const uint8_t *datagram, size_t len, size_t offset,
					   size_t fragment_len, uint32_t id, uint8_t *buf,
					   size_t cap)
{
	size_t next_field_at = 0;
	size_t head = packet_builder_unfragmentable(datagram, len, &next_field_at);
	if (head == 0)
		return 0;
	bool ipv4 = datagram[0] >> 4 == 4;
	size_t whole = ipv4 ? (size_t)(datagram[2] << 8 | datagram[3])
			    : PACKET_BUILDER_IPV6_HEADER + (size_t)(datagram[4] << 8 | datagram[5]);
	if (whole > len || whole < head)
		return 0;
	size_t fragmentable = whole - head;
	if (offset > fragmentable || fragment_len > fragmentable - offset || offset / 8 > 0x1fff)
		return 0;
	bool more = offset + fragment_len < fragmentable;
	size_t extra = ipv4 ? 0 : PACKET_BUILDER_IPV6_FRAGMENT_HEADER;
	size_t total = head + extra + fragment_len;
	if (total > cap)
		return 0;

	memcpy(buf, datagram, head);
	memcpy(buf + head + extra, datagram + head + offset, fragment_len);
	if (ipv4) {
		packet_builder_put16(buf + 2, (uint32_t)total);
		packet_builder_put16(buf + 4, id & 0xffff);
		uint32_t field = (uint32_t)(offset / 8) | (more ? 0x2000 : 0);
		field |= (uint32_t)(datagram[6] & 0x40) << 8; /* keep DF */
		packet_builder_put16(buf + 6, field);
		packet_builder_put16(buf + 10, 0);
		packet_builder_put16(buf + 10, inet_checksum_fold(inet_checksum_add(0, buf, head)));
	} else {
		uint8_t *fragment = buf + head;
		fragment[0] = datagram[next_field_at];
		fragment[1] = 0;
		packet_builder_put16(fragment + 2, (uint32_t)(offset & 0xfff8) | (more ? 1 : 0));
		packet_builder_put32(fragment + 4, id);
		buf[next_field_at] = 44;
		packet_builder_put16(buf + 4, (uint32_t)(total - PACKET_BUILDER_IPV6_HEADER));
	}
	return total;
}

/* An ICMP (IPv4) or ICMPv6 error from src to dst quoting quote_len bytes of
 * quote (normally the start of a datagram built above, as dst sent it).
 * rest is the 32-bit field after the checksum: the next-hop MTU of
 * "fragmentation needed" (low 16 bits) or "packet too big", else 0. */
static inline size_t packet_build_icmp_error(int family, const char *src, const char *dst,
					     uint8_t type, uint8_t code, uint32_t rest,
					     const uint8_t *quote, size_t quote_len, uint8_t *buf,
					     size_t cap)
{
	uint8_t s[16] = { 0 }, d[16] = { 0 };
	size_t header = family == NETADDR_IPV4 ? PACKET_BUILDER_IPV4_HEADER : PACKET_BUILDER_IPV6_HEADER;
	size_t icmp_len = 8 + quote_len;
	size_t total = header + icmp_len;
	if ((family != NETADDR_IPV4 && family != NETADDR_IPV6) || inet_pton(family, src, s) != 1 ||
	    inet_pton(family, dst, d) != 1 || total > cap || icmp_len > 65535)
		return 0;
	memset(buf, 0, header + 8);
	if (family == NETADDR_IPV4) {
		buf[0] = 0x45;
		packet_builder_put16(buf + 2, (uint32_t)total);
		buf[8] = 64;
		buf[9] = 1;
		memcpy(buf + 12, s, 4);
		memcpy(buf + 16, d, 4);
		packet_builder_put16(buf + 10, inet_checksum_fold(inet_checksum_add(0, buf, 20)));
	} else {
		buf[0] = 0x60;
		packet_builder_put16(buf + 4, (uint32_t)icmp_len);
		buf[6] = 58;
		buf[7] = 64;
		memcpy(buf + 8, s, 16);
		memcpy(buf + 24, d, 16);
	}
	uint8_t *icmp = buf + header;
	icmp[0] = type;
	icmp[1] = code;
	packet_builder_put32(icmp + 4, rest);
	if (quote_len > 0)
		memcpy(icmp + 8, quote, quote_len);
	uint32_t sum = 0;
	if (family == NETADDR_IPV6) {
		sum = inet_checksum_add(0, s, 16);
		sum = inet_checksum_add(sum, d, 16);
		sum += 58;
		sum += (uint32_t)(icmp_len & 0xffff);
	}
	sum = inet_checksum_add(sum, icmp, icmp_len);
	packet_builder_put16(icmp + 2, inet_checksum_fold(sum));
	return total;
}

#endif
