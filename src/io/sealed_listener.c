/* sealed_listener.c - the part sarad's sealed-channel listeners share
 * (sealed_listener.h). */
#include "io/sealed_listener.h"

#include <stdlib.h>

struct sealed_listener *sealed_listener_create(size_t size, const struct sara_config *cfg, uint64_t (*now_ms)(void),
					       sealed_check_fn check, const char *reject_event,
					       struct sealed_listener_tally tally)
{
	struct sealed_listener *l = size >= sizeof(*l) ? calloc(1, size) : NULL;
	if (!l)
		return NULL;
	l->cfg = cfg;
	l->now_ms = now_ms;
	l->check = check;
	l->tally = tally;
	sealed_rejects_init(&l->rejects, reject_event);
	return l;
}

void sealed_listener_destroy(struct sealed_listener *l)
{
	free(l);
}

void sealed_listener_reject(struct sealed_listener *l, enum counter_id reason, const struct endpoint *from)
{
	counter_add(&l->counts, l->tally.rejected, 1);
	sealed_rejects_add(&l->rejects, reason, from, l->now_ms());
}

/* The receiver refused the datagram: forged, replayed, stale, oversized... */
static void on_reject(void *ctx, int reason, const struct endpoint *from)
{
	struct sealed_listener *l = ctx;
	counter_add(&l->counts, l->tally.received, 1);
	sealed_listener_reject(l, sealed_reject_counter(reason), from);
}

static void on_accept(void *ctx, const struct sealed_message *msg)
{
	struct sealed_listener *l = ctx;
	counter_add(&l->counts, l->tally.received, 1);
	l->check(l, msg);
}

struct sealed_receiver_handler sealed_listener_handler(struct sealed_listener *l)
{
	return (struct sealed_receiver_handler){ .accept = on_accept, .reject = on_reject, .ctx = l };
}

void sealed_listener_get_counters(const struct sealed_listener *l, struct counter_set *out)
{
	*out = l->rejects.counts;
	for (unsigned i = 0; i < COUNTER_COUNT; i++)
		out->values[i] += l->counts.values[i];
}
