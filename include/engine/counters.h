/* counters.h - a bounded set of named event counters (one per drop or
 * malformed reason), so every path that refuses input says why. */
#ifndef SARA_COUNTERS_H
#define SARA_COUNTERS_H

#include <stdint.h>

#define COUNTERS_MAX 96

struct counter_set {
	unsigned count;
	const char *names[COUNTERS_MAX]; /* static strings */
	uint64_t values[COUNTERS_MAX];
};

/* Adds n to the counter called name (a string with static storage). Past
 * COUNTERS_MAX distinct names, the count goes to "counters_overflow". */
void counter_add(struct counter_set *set, const char *name, uint64_t n);
uint64_t counter_get(const struct counter_set *set, const char *name);
void counter_foreach(const struct counter_set *set,
		     void (*fn)(void *ctx, const char *name, uint64_t value), void *ctx);

#endif
