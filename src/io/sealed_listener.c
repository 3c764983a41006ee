/* sealed_listener.c - the part sarad's sealed-channel listeners share
 * (sealed_listener.h). */
#include "io/sealed_listener.h"

#include <stdlib.h>

void *sealed_listener_create(size_t size, const struct sara_config *cfg, uint64_t (*now_ms)(void),
			     const char *event, sealed_check_fn check)
{
	struct sealed_listener *l = size >= sizeof(*l) ? calloc(1, size) : NULL;
	if (!l)
		return NULL;
	l->cfg = cfg;
	l->now_ms = now_ms;
	l->check = check;
	sealed_rejects_init(&l->rejects, event);
	return l;
}

void sealed_listener_reject(struct sealed_listener *l, enum counter_id reason, const struct endpoint *from)
{
	sealed_rejects_add(&l->rejects, reason, from, l->now_ms());
}

/* The receiver refused the datagram: forged, replayed, stale, oversized... */
static void on_reject(void *ctx, int reason, const struct endpoint *from)
{
	struct sealed_listener *l = ctx;
	l->received++;
	sealed_listener_reject(l, sealed_reject_counter(reason), from);
}

static void on_accept(void *ctx, const struct sealed_message *msg)
{
	struct sealed_listener *l = ctx;
	l->received++;
	l->check(l, msg);
}

struct sealed_receiver_handler sealed_listener_handler(struct sealed_listener *l)
{
	return (struct sealed_receiver_handler){ .accept = on_accept, .reject = on_reject, .ctx = l };
}
