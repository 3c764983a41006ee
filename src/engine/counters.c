/* counters.c - the counter table, built from counter_list.h, and its
 * visitor (counters.h). */
#include "engine/counters.h"

#include <stddef.h>

static const struct counter_def table[COUNTER_COUNT] = {
#define COUNTER_ROW(id, name_text, kind_token, scope_bits, help_text) \
	[COUNTER_##id] = { name_text, help_text, COUNTER_KIND_##kind_token, (scope_bits) },
	COUNTER_LIST(COUNTER_ROW)
#undef COUNTER_ROW
};

const struct counter_def *counter_def(enum counter_id id)
{
	return id > COUNTER_NONE && id < COUNTER_COUNT ? &table[id] : NULL;
}

enum counter_id counter_id_of(const struct counter_def *def)
{
	if (!def || def <= &table[COUNTER_NONE] || def >= &table[COUNTER_COUNT])
		return COUNTER_NONE;
	return (enum counter_id)(def - table);
}

const char *counter_name(enum counter_id id)
{
	const struct counter_def *def = counter_def(id);
	return def ? def->name : "none";
}

void counters_visit(const struct counter_set *set, enum counter_scope scope, enum counters_filter filter,
		    counter_visit_fn fn, void *ctx)
{
	uint32_t bit;
	if ((unsigned)scope >= COUNTER_SCOPE_COUNT)
		return;
	bit = 1u << scope;
	for (unsigned id = COUNTER_NONE + 1; id < COUNTER_COUNT; id++) {
		const struct counter_def *def = &table[id];
		uint64_t value = set->values[id];
		if (!(def->scopes & bit))
			continue;
		if (filter == COUNTERS_REPORTED && def->kind == COUNTER_KIND_EVENTS && value == 0)
			continue;
		fn(ctx, def, value);
	}
}
