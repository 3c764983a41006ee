/* announce_listener.c - gateway announcements checked (announce_listener.h):
 * sealed message -> announce_decode -> announce_check_cluster -> the sink,
 * with one reject counter per reason and rate-limited log lines. */
#include "io/announce_listener.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/counters.h"
#include "io/log.h"

struct announce_listener {
	const struct sara_config *cfg;
	uint64_t (*now_ms)(void);
	announce_sink_fn sink;
	void *sink_ctx;
	announce_sender_fn on_sender;
	void *sender_ctx;
	struct announce_listener_stats stats;
	struct sealed_rejects rejects;
};

struct announce_listener *announce_listener_create(const struct sara_config *cfg, uint64_t (*now_ms)(void),
						   announce_sink_fn sink, void *sink_ctx)
{
	struct announce_listener *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->cfg = cfg;
	l->now_ms = now_ms;
	l->sink = sink;
	l->sink_ctx = sink_ctx;
	sealed_rejects_init(&l->rejects, "announcement_rejected");
	return l;
}

void announce_listener_destroy(struct announce_listener *l)
{
	free(l);
}

static void reject(struct announce_listener *l, enum counter_id reason, const struct endpoint *from)
{
	sealed_rejects_add(&l->rejects, reason, from, l->now_ms());
}

/* The receiver refused the datagram: forged, replayed, stale, oversized... */
static void on_reject(void *ctx, int reason, const struct endpoint *from)
{
	struct announce_listener *l = ctx;
	l->stats.received++;
	reject(l, sealed_reject_counter(reason), from);
}

static void on_accept(void *ctx, const struct sealed_message *msg)
{
	struct announce_listener *l = ctx;
	struct announcement ann;
	enum counter_id reason;

	l->stats.received++;
	if (msg->hdr.type != WIRE_ANNOUNCE) {
		reject(l, COUNTER_NOT_AN_ANNOUNCEMENT, &msg->from);
		return;
	}
	memset(&ann, 0, sizeof(ann));
	reason = announce_decode(msg->body, msg->hdr.body_len, &ann);
	if (reason == COUNTER_NONE)
		reason = announce_check_cluster(l->cfg, &ann);
	if (reason != COUNTER_NONE) {
		reject(l, reason, &msg->from);
		return;
	}
	if (l->sink)
		l->sink(l->sink_ctx, &ann);
	if (l->on_sender)
		l->on_sender(l->sender_ctx, msg->hdr.sender, &msg->from);
	l->stats.accepted++;
}

void announce_listener_on_sender(struct announce_listener *l, announce_sender_fn fn, void *ctx)
{
	l->on_sender = fn;
	l->sender_ctx = ctx;
}

struct sealed_receiver_handler announce_listener_handler(struct announce_listener *l)
{
	return (struct sealed_receiver_handler){ .accept = on_accept, .reject = on_reject, .ctx = l };
}

void announce_listener_get_stats(const struct announce_listener *l, struct announce_listener_stats *out)
{
	*out = l->stats;
	out->rejected = l->rejects.total;
}

void announce_listener_get_counters(const struct announce_listener *l, struct counter_set *out)
{
	*out = l->rejects.counts;
	out->values[COUNTER_ANNOUNCE_RECEIVED] = l->stats.received;
	out->values[COUNTER_ANNOUNCE_ACCEPTED] = l->stats.accepted;
	out->values[COUNTER_ANNOUNCE_REJECTED] = l->rejects.total;
}
