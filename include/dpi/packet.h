/* packet.h - decoding of one raw IPv4/IPv6 datagram into a flow key and an
 * L4 payload. Pure: reads only [ip, ip+len), allocates nothing. */
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

#endif
