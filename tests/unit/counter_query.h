/* counter_query.h - one named counter's value read through a
 * *_foreach_counter() visitor, for the engine's and the gateway's tests. */
#ifndef SARA_TESTS_COUNTER_QUERY_H
#define SARA_TESTS_COUNTER_QUERY_H

#include <stdint.h>
#include <string.h>

struct counter_query {
	const char *name;
	uint64_t value; /* 0 when the counter never counted */
};

/* Pass as the visitor with a struct counter_query as ctx. */
static inline void counter_query_visit(void *ctx, const char *name, uint64_t value)
{
	struct counter_query *q = ctx;
	if (strcmp(q->name, name) == 0)
		q->value = value;
}

#endif
