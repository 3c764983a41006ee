/* bench_common.h - what every offline benchmark needs: a monotonic clock in
 * seconds, the median of repeated passes, and a seedable PRNG (xorshift*),
 * so that the bench_*.c files time and pick alike. Header-only: each bench
 * is built from its one .c file. */
#ifndef SARA_BENCH_COMMON_H
#define SARA_BENCH_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static inline double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Sorts values in place. */
static inline double median_of(double *values, unsigned count)
{
	qsort(values, count, sizeof(values[0]), compare_doubles);
	return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

/* xorshift64*: any nonzero state. */
static inline uint64_t random_next(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

#endif
