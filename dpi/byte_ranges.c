/* byte_ranges.c - sorted disjoint byte ranges (byte_ranges.h). */
#include "dpi/byte_ranges.h"

#include <string.h>

bool byte_ranges_add(struct byte_range *ranges, unsigned *count, unsigned capacity, uint32_t start,
		     uint32_t end)
{
	struct byte_range merged[BYTE_RANGES_MAX + 1];
	unsigned n = 0;
	bool placed = false;

	if (capacity > BYTE_RANGES_MAX)
		return false;
	for (unsigned i = 0; i < *count; i++) {
		struct byte_range r = ranges[i];
		if (r.end < start) {
			merged[n++] = r;
		} else if (r.start > end) {
			if (!placed) {
				merged[n++] = (struct byte_range){ start, end };
				placed = true;
			}
			merged[n++] = r;
		} else {
			start = r.start < start ? r.start : start;
			end = r.end > end ? r.end : end;
		}
	}
	if (!placed)
		merged[n++] = (struct byte_range){ start, end };
	if (n > capacity)
		return false;
	memcpy(ranges, merged, n * sizeof(merged[0]));
	*count = n;
	return true;
}
