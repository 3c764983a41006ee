/* byte_order.h - big-endian (network order) integers at unaligned byte
 * positions, and fractions as fixed-point integers, for the fixed layouts of
 * sara's own wire messages. The caller has checked that the bytes are there. */
#ifndef SARA_BYTE_ORDER_H
#define SARA_BYTE_ORDER_H

#include <math.h>
#include <stdint.h>

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t get_be64(const uint8_t *p)
{
	return ((uint64_t)get_be32(p) << 32) | get_be32(p + 4);
}

/* A fraction 0..1 as the fixed-point integer 0..scale a message carries,
 * rounded. NaN and above 1 give scale (a broken reading looks full, never
 * idle); 0 and below give 0. */
static inline unsigned fraction_to_fixed(double fraction, unsigned scale)
{
	if (isnan(fraction) || fraction >= 1.0)
		return scale;
	if (!(fraction > 0.0))
		return 0;
	return (unsigned)lround(fraction * scale);
}

#endif
