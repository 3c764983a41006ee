/* inet_checksum.h - the Internet checksum (RFC 1071): a one's-complement sum
 * of big-endian 16-bit words, for the IP headers sara rewrites or builds. */
#ifndef SARA_INET_CHECKSUM_H
#define SARA_INET_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Adds p[0..len) to a running sum; an odd last byte is padded with zero. */
static inline uint32_t inet_checksum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

/* The checksum field's value for a running sum. */
static inline uint16_t inet_checksum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

#endif
