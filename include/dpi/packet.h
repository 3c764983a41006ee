/* packet.h - decoding of one raw IPv4/IPv6 datagram into a flow key and an
 * L4 payload, or of an ICMP error into the flow it quotes. Pure: reads only
 * [ip, ip+len), allocates nothing. */
#ifndef SARA_PACKET_H
#define SARA_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpi/flow_key.h"

enum packet_status {
	PACKET_OK = 0,
	PACKET_FRAGMENT,    /* an IP fragment: feed it to ipfrag_submit() */
	PACKET_TRUNCATED,   /* a length field points past the captured bytes */
	PACKET_MALFORMED,   /* bad version, header length, option chain ... */
	PACKET_UNSUPPORTED, /* not TCP or UDP (ICMP, SCTP, ...) */
	PACKET_STATUS_COUNT
};

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_PSH 0x08
#define TCP_FLAG_ACK 0x10

struct packet {
	struct flow_key key;
	const uint8_t *payload; /* L4 payload (UDP data, TCP segment data) */
	size_t payload_len;
	uint32_t tcp_seq;       /* TCP only */
	uint32_t tcp_ack;       /* TCP only; meaningful when tcp_flags has ACK */
	uint8_t tcp_flags;      /* TCP only */
	/* Set when status is PACKET_FRAGMENT (key holds addresses and l4 only). */
	uint32_t frag_id;
	uint32_t frag_offset;   /* bytes */
	bool frag_more;
};

enum packet_status packet_decode(const uint8_t *ip, size_t len, struct packet *out);
const char *packet_status_name(enum packet_status status);

/* An ICMP or ICMPv6 error (RFC 792, RFC 4443) and the datagram it quotes:
 * the quoted IP header and the first 8 bytes of its transport header name
 * the flow whose packet caused the error. */
enum icmp_error_status {
	ICMP_ERROR_OK = 0,
	ICMP_NOT_AN_ERROR,            /* not ICMP, an informational type (echo...), or fragmented */
	ICMP_ERROR_MALFORMED,         /* the error's headers or its quote cannot be read */
	ICMP_ERROR_QUOTE_UNSUPPORTED, /* the quote has no ports: not TCP/UDP, or a later fragment */
	ICMP_ERROR_STATUS_COUNT
};

#define ICMP_DEST_UNREACHABLE 3      /* code 4: fragmentation needed */
#define ICMP_CODE_FRAGMENTATION_NEEDED 4
#define ICMP_SOURCE_QUENCH 4
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETER_PROBLEM 12
#define ICMP6_DEST_UNREACHABLE 1
#define ICMP6_PACKET_TOO_BIG 2
#define ICMP6_TIME_EXCEEDED 3
#define ICMP6_PARAMETER_PROBLEM 4

struct icmp_error {
	uint8_t type, code;
	uint32_t mtu;             /* fragmentation needed, packet too big: the next hop's MTU; else 0 */
	struct netaddr src, dst;  /* the error's own addresses */
	struct flow_key quoted;   /* the quoted datagram's flow, as its sender sent it */
};

/* Reads only [ip, ip+len); a quote cut short of its IP header plus 8
 * bytes of transport header is malformed, whatever its length field says
 * (errors quote a prefix of the datagram). */
enum icmp_error_status packet_decode_icmp_error(const uint8_t *ip, size_t len, struct icmp_error *out);

#endif
