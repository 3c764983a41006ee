/* announce_listener.c - gateway announcements checked (announce_listener.h):
 * sealed message -> announce_decode -> announce_check_cluster -> the sink,
 * with one reject counter per reason and rate-limited log lines. */
#include "io/announce_listener.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/counters.h"
#include "io/sealed_listener.h"

struct announce_listener {
	struct sealed_listener base;   /* first: what the handler's ctx points to */
	announce_sink_fn sink;
	void *sink_ctx;
	struct announce_listener_stats stats;
};

static void check_announcement(struct sealed_listener *base, const struct sealed_message *msg)
{
	struct announce_listener *l = (struct announce_listener *)base;
	struct announcement ann;
	enum counter_id reason;

	if (msg->hdr.type != WIRE_ANNOUNCE) {
		sealed_listener_reject(base, COUNTER_NOT_AN_ANNOUNCEMENT, &msg->from);
		return;
	}
	memset(&ann, 0, sizeof(ann));
	reason = announce_decode(msg->body, msg->hdr.body_len, &ann);
	if (reason == COUNTER_NONE)
		reason = announce_check_cluster(base->cfg, &ann);
	if (reason != COUNTER_NONE) {
		sealed_listener_reject(base, reason, &msg->from);
		return;
	}
	if (l->sink)
		l->sink(l->sink_ctx, &ann);
	l->stats.accepted++;
}

struct announce_listener *announce_listener_create(const struct sara_config *cfg, uint64_t (*now_ms)(void),
						   announce_sink_fn sink, void *sink_ctx)
{
	struct announce_listener *l = sealed_listener_create(sizeof(*l), cfg, now_ms, "announcement_rejected",
							     check_announcement);
	if (l) {
		l->sink = sink;
		l->sink_ctx = sink_ctx;
	}
	return l;
}

void announce_listener_destroy(struct announce_listener *l)
{
	free(l);
}

struct sealed_receiver_handler announce_listener_handler(struct announce_listener *l)
{
	return sealed_listener_handler(&l->base);
}

void announce_listener_get_stats(const struct announce_listener *l, struct announce_listener_stats *out)
{
	*out = l->stats;
	out->received = l->base.received;
	out->rejected = l->base.rejects.total;
}

void announce_listener_get_counters(const struct announce_listener *l, struct counter_set *out)
{
	*out = l->base.rejects.counts;
	out->values[COUNTER_ANNOUNCE_RECEIVED] = l->base.received;
	out->values[COUNTER_ANNOUNCE_ACCEPTED] = l->stats.accepted;
	out->values[COUNTER_ANNOUNCE_REJECTED] = l->base.rejects.total;
}
