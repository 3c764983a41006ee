/* counters.c - named event counters (counters.h). */
#include "engine/counters.h"

#include <string.h>

static int counter_find(const struct counter_set *set, const char *name)
{
	for (unsigned i = 0; i < set->count; i++)
		if (set->names[i] == name || strcmp(set->names[i], name) == 0)
			return (int)i;
	return -1;
}

void counter_add(struct counter_set *set, const char *name, uint64_t n)
{
	int i = counter_find(set, name);
	if (i < 0) {
		if (set->count >= COUNTERS_MAX - 1) {
			name = "counters_overflow";
			i = counter_find(set, name);
		}
		if (i < 0) {
			i = (int)set->count++;
			set->names[i] = name;
			set->values[i] = 0;
		}
	}
	set->values[i] += n;
}

uint64_t counter_get(const struct counter_set *set, const char *name)
{
	int i = counter_find(set, name);
	return i < 0 ? 0 : set->values[i];
}

void counter_foreach(const struct counter_set *set,
		     void (*fn)(void *ctx, const char *name, uint64_t value), void *ctx)
{
	for (unsigned i = 0; i < set->count; i++)
		if (set->values[i])
			fn(ctx, set->names[i], set->values[i]);
}
