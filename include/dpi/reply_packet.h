/* reply_packet.h - the raw IP datagrams sara answers a refused packet with, as
 * its destination would have: a TCP RST, or a UDP reply. Pure: no I/O. */
#ifndef SARA_REPLY_PACKET_H
#define SARA_REPLY_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "dpi/packet.h"

#define TCP_RESET_IPV4_LEN 40 /* IPv4 header 20 + TCP header 20, no options */
#define TCP_RESET_IPV6_LEN 60 /* IPv6 header 40 + TCP header 20 */
#define TCP_RESET_MAX_LEN TCP_RESET_IPV6_LEN

/* Room in front of a UDP reply's payload: the IPv6 header and the UDP
 * header (the IPv4 case needs 28, less). */
#define UDP_REPLY_HEADROOM 48

/* Builds in out[0..cap) the whole IP datagram of the RST the destination of
 * seg (a TCP segment decoded by packet_decode() with PACKET_OK, IPv4 or
 * IPv6) answers with when it has no connection (RFC 9293 3.10.7.1):
 *  - seg without ACK: RST|ACK, seq 0, ack seg.seq + payload (+1 SYN, +1 FIN);
 *  - seg with ACK:    RST, seq seg.ack, ack 0.
 * From seg's destination address and port to its source; TTL / hop limit
 * 64, DF set (IPv4), IPv4 id 0 (the kernel fills it in), window 0, no
 * options; the IPv4 header and TCP checksums filled in.
 * Returns the length (TCP_RESET_IPV4_LEN or TCP_RESET_IPV6_LEN), or 0 when
 * seg is not TCP, is itself a RST, either address is multicast or
 * unspecified, or cap is too small. */
size_t tcp_reset_build(const struct packet *seg, uint8_t *out, size_t cap);

/* Builds in out[0..cap) the whole IP datagram of a UDP reply to request (a
 * UDP datagram decoded by packet_decode() with PACKET_OK) carrying
 * payload[0..payload_len): from request's destination address and port to
 * its source, TTL / hop limit 64, DF clear (IPv4: the path may fragment a
 * large reply), IPv4 id 0, both checksums filled in. payload may already
 * lie inside out (it is moved, not copied), e.g. built at out +
 * UDP_REPLY_HEADROOM so the headers go in front without a second buffer.
 * Returns the length, or 0 when request is not UDP, either address is
 * multicast or unspecified, the datagram would exceed the IP length limit
 * (65535 bytes in all for IPv4, 65535 after the IPv6 header), or cap is too
 * small. */
size_t udp_reply_build(const struct packet *request, const uint8_t *payload, size_t payload_len,
		       uint8_t *out, size_t cap);

#endif
