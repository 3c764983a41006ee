/* udp_payload.h - one IPv4/IPv6 UDP datagram with its payload replaced: the
 * IP header (options included) kept, the lengths and the IPv4 header and
 * UDP checksums written again. For sara-gw, which hands the kernel a
 * rewritten SIP response in its verdict. */
#ifndef SARA_UDP_PAYLOAD_H
#define SARA_UDP_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "dpi/packet.h"

/* ip[0..len) is the datagram packet_decode() read into *pkt (PACKET_OK,
 * L4_UDP, its payload inside ip). Writes into out[0..cap) the same datagram
 * with payload[0..payload_len) as its UDP payload and returns its length;
 * 0 when the datagram is not one this can rewrite (not UDP, an IPv6 header
 * chain: the UDP header must follow the fixed 40 bytes) or the result
 * does not fit cap or the IP length fields. */
size_t udp_payload_replace(const uint8_t *ip, size_t len, const struct packet *pkt, const uint8_t *payload,
			   size_t payload_len, uint8_t *out, size_t cap);

#endif
