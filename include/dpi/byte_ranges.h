/* byte_ranges.h - a short sorted list of disjoint byte ranges, for the
 * reassemblers (IP fragments, TCP segments) to record what arrived. */
#ifndef SARA_BYTE_RANGES_H
#define SARA_BYTE_RANGES_H

#include <stdbool.h>
#include <stdint.h>

/* The longest list a caller may keep: the bound on bookkeeping an attacker
 * sending tiny interleaved pieces can cause. */
#define BYTE_RANGES_MAX 16

struct byte_range {
	uint32_t start, end; /* [start, end) */
};

/* Adds [start, end) to ranges (sorted, disjoint, not adjacent; *count used
 * of capacity <= BYTE_RANGES_MAX), merging the ranges it overlaps or
 * touches. False, with the list unchanged, when the result would not fit. */
bool byte_ranges_add(struct byte_range *ranges, unsigned *count, unsigned capacity, uint32_t start,
		     uint32_t end);

#endif
