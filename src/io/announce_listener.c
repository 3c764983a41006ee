/* announce_listener.c - gateway announcements checked (announce_listener.h):
 * sealed message -> announce_decode -> announce_check_cluster -> the sink,
 * with one reject counter per reason and rate-limited log lines. */
#include "io/announce_listener.h"

#include <string.h>

#include "engine/counters.h"

struct announce_listener {
	struct sealed_listener base;   /* first: the listener is freed through it */
	announce_sink_fn sink;
	void *sink_ctx;
	announce_sender_fn on_sender;
	void *sender_ctx;
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
	if (l->on_sender)
		l->on_sender(l->sender_ctx, msg->hdr.sender, &msg->from);
	counter_add(&base->counts, COUNTER_ANNOUNCE_ACCEPTED, 1);
}

struct sealed_listener *announce_listener_create(const struct sara_config *cfg, uint64_t (*now_ms)(void),
						 announce_sink_fn sink, void *sink_ctx)
{
	struct sealed_listener *base = sealed_listener_create(
		sizeof(struct announce_listener), cfg, now_ms, check_announcement, "announcement_rejected",
		(struct sealed_listener_tally){ COUNTER_ANNOUNCE_RECEIVED, COUNTER_ANNOUNCE_REJECTED });
	struct announce_listener *l = (struct announce_listener *)base;
	if (l) {
		l->sink = sink;
		l->sink_ctx = sink_ctx;
	}
	return base;
}

void announce_listener_on_sender(struct sealed_listener *base, announce_sender_fn fn, void *ctx)
{
	struct announce_listener *l = (struct announce_listener *)base;
	l->on_sender = fn;
	l->sender_ctx = ctx;
}
