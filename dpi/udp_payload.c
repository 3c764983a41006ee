/* udp_payload.c - a UDP datagram's payload replaced, lengths and checksums
 * fixed (udp_payload.h). */
#include "dpi/udp_payload.h"

#include <string.h>

#include "dpi/byte_order.h"
#include "dpi/inet_checksum.h"

#define UDP_HEADER_LEN 8
#define IPV6_HEADER_LEN 40
#define IP_MAX_LEN 65535 /* IPv4 total length; IPv6 payload length */
#define IPPROTO_UDP_NUMBER 17

size_t udp_payload_replace(const uint8_t *ip, size_t len, const struct packet *pkt, const uint8_t *payload,
			   size_t payload_len, uint8_t *out, size_t cap)
{
	size_t l3_len, l4_len, total;
	uint32_t sum;
	uint8_t *udp;

	if (!ip || !pkt || !out || (payload_len > 0 && !payload) || pkt->key.l4 != L4_UDP || !pkt->payload ||
	    (const uint8_t *)pkt->payload < ip + UDP_HEADER_LEN || (const uint8_t *)pkt->payload > ip + len)
		return 0;
	l3_len = (size_t)((const uint8_t *)pkt->payload - ip) - UDP_HEADER_LEN;
	l4_len = UDP_HEADER_LEN + payload_len;
	total = l3_len + l4_len;
	if (pkt->key.family == NETADDR_IPV4) {
		if (l3_len < 20 || (ip[0] >> 4) != 4 || (size_t)(ip[0] & 0x0f) * 4 != l3_len ||
		    ip[9] != IPPROTO_UDP_NUMBER || total > IP_MAX_LEN)
			return 0;
	} else if (pkt->key.family == NETADDR_IPV6) {
		if (l3_len != IPV6_HEADER_LEN || (ip[0] >> 4) != 6 || ip[6] != IPPROTO_UDP_NUMBER ||
		    l4_len > IP_MAX_LEN)
			return 0;
	} else {
		return 0;
	}
	if (cap < total)
		return 0;
	/* The payload first: a caller may have built it inside out. */
	memmove(out + l3_len + UDP_HEADER_LEN, payload, payload_len);
	memcpy(out, ip, l3_len + UDP_HEADER_LEN);
	udp = out + l3_len;
	if (pkt->key.family == NETADDR_IPV4) {
		put_be16(out + 2, (uint16_t)total);
		put_be16(out + 10, 0);
		put_be16(out + 10, inet_checksum_fold(inet_checksum_add(0, out, l3_len)));
		sum = inet_checksum_add(0, out + 12, 8); /* source and destination */
	} else {
		put_be16(out + 4, (uint16_t)l4_len);
		sum = inet_checksum_add(0, out + 8, 32);
	}
	put_be16(udp + 4, (uint16_t)l4_len);
	put_be16(udp + 6, 0);
	sum += IPPROTO_UDP_NUMBER;
	sum += (uint32_t)l4_len;
	sum = inet_checksum_add(sum, udp, l4_len);
	uint16_t checksum = inet_checksum_fold(sum);
	/* 0 means "no checksum" (RFC 768), which IPv6 forbids (RFC 8200 8.1). */
	put_be16(udp + 6, checksum == 0 ? 0xffff : checksum);
	return total;
}
