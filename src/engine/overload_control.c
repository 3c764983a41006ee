/* overload_control.c - RFC 7339 feedback from SA2C's state, its wire body,
 * and the tables on either side of the channel (overload_control.h). */
#include "engine/overload_control.h"

#include <string.h>

#include "dpi/byte_order.h"

size_t oc_state_encode(const struct oc_state *s, uint8_t *out, size_t cap)
{
	if (cap < OC_STATE_SIZE)
		return 0;
	out[0] = s->reduction;
	put_be32(out + 1, s->validity_ms);
	put_be64(out + 5, s->seq_ms);
	return OC_STATE_SIZE;
}

enum counter_id oc_state_decode(const uint8_t *buf, size_t len, struct oc_state *out)
{
	struct oc_state s;
	memset(out, 0, sizeof(*out));
	if (len != OC_STATE_SIZE)
		return COUNTER_GW_OC_STATE_INVALID;
	s.reduction = buf[0];
	s.validity_ms = get_be32(buf + 1);
	s.seq_ms = get_be64(buf + 5);
	if (s.reduction > SIP_OC_MAX_REDUCTION || s.validity_ms > OC_VALIDITY_MAX_MS || s.seq_ms == 0)
		return COUNTER_GW_OC_STATE_INVALID;
	*out = s;
	return COUNTER_NONE;
}

uint8_t oc_reduction(double refusal_probability)
{
	return (uint8_t)fraction_to_fixed(refusal_probability, SIP_OC_MAX_REDUCTION);
}

/* ---- the dispatcher's side ---- */

void oc_source_configure(struct oc_source *s, uint32_t validity_ms)
{
	if (validity_ms != s->validity_ms)
		s->started = false;
	s->validity_ms = validity_ms;
}

bool oc_source_update(struct oc_source *s, double refusal_probability, uint64_t now_mono_ms, uint64_t now_wall_ms)
{
	uint8_t reduction = oc_reduction(refusal_probability);
	bool changed = !s->started || reduction != s->current.reduction;
	if (s->validity_ms == 0)
		return false;
	if (!changed && now_mono_ms - s->sent_ms < s->validity_ms / 2)
		return false;
	if (changed) {
		/* oc-seq only grows, whatever the wall clock does. */
		s->current.seq_ms = now_wall_ms > s->current.seq_ms ? now_wall_ms : s->current.seq_ms + 1;
		s->current.reduction = reduction;
	}
	s->current.validity_ms = s->validity_ms;
	s->started = true;
	s->sent_ms = now_mono_ms;
	return true;
}

bool oc_source_feedback(const struct oc_source *s, struct sip_oc_feedback *out)
{
	if (s->validity_ms == 0 || !s->started)
		return false;
	*out = (struct sip_oc_feedback){ .reduction = s->current.reduction, .validity_ms = s->current.validity_ms,
					 .seq_ms = s->current.seq_ms };
	return true;
}

static bool recent(uint64_t seen_ms, uint64_t now_ms, uint64_t window_ms)
{
	return now_ms < seen_ms || now_ms - seen_ms <= window_ms;
}

bool oc_gateways_seen(struct oc_gateways *t, uint32_t sender, const struct endpoint *from, uint64_t now_ms)
{
	struct oc_gateway *slot = NULL;
	for (unsigned i = 0; i < OC_MAX_GATEWAYS; i++) {
		struct oc_gateway *g = &t->g[i];
		if (g->used && g->sender == sender) {
			slot = g;
			break;
		}
		/* Else the first free entry, or the one heard from longest ago. */
		if (!slot || (slot->used && (!g->used || g->seen_ms < slot->seen_ms)))
			slot = g;
	}
	if (slot->used && slot->sender != sender && recent(slot->seen_ms, now_ms, OC_GATEWAY_FORGET_MS))
		return false;
	*slot = (struct oc_gateway){ .used = true, .sender = sender, .at = *from, .seen_ms = now_ms };
	return true;
}

unsigned oc_gateways_list(const struct oc_gateways *t, uint64_t now_ms, struct endpoint *out, unsigned cap)
{
	unsigned n = 0;
	for (unsigned i = 0; i < OC_MAX_GATEWAYS && n < cap; i++)
		if (t->g[i].used && recent(t->g[i].seen_ms, now_ms, OC_GATEWAY_FORGET_MS))
			out[n++] = t->g[i].at;
	return n;
}

/* ---- the gateway's side ---- */

static bool fresh(const struct oc_view_entry *e, uint64_t now_ms)
{
	return e->used && e->state.validity_ms > 0 && recent(e->received_ms, now_ms, e->state.validity_ms);
}

enum counter_id oc_view_take(struct oc_view *v, uint32_t sender, const struct oc_state *s, uint64_t now_ms)
{
	struct oc_view_entry *slot = NULL;
	for (unsigned i = 0; i < OC_MAX_DISPATCHERS; i++) {
		struct oc_view_entry *e = &v->d[i];
		if (e->used && e->sender == sender) {
			if (s->seq_ms < e->state.seq_ms)
				return COUNTER_GW_OC_STATE_OUT_OF_ORDER;
			slot = e;
			break;
		}
		if (!slot && !fresh(e, now_ms))
			slot = e;
	}
	if (!slot)
		return COUNTER_GW_OC_STATE_TOO_MANY;
	*slot = (struct oc_view_entry){ .used = true, .sender = sender, .state = *s, .received_ms = now_ms };
	return COUNTER_NONE;
}

bool oc_view_feedback(const struct oc_view *v, uint64_t now_ms, struct sip_oc_feedback *out)
{
	const struct oc_view_entry *best = NULL;
	for (unsigned i = 0; i < OC_MAX_DISPATCHERS; i++)
		if (fresh(&v->d[i], now_ms) && (!best || v->d[i].state.reduction > best->state.reduction))
			best = &v->d[i];
	if (!best)
		return false;
	*out = (struct sip_oc_feedback){ .reduction = best->state.reduction,
					 .validity_ms = best->state.validity_ms,
					 .seq_ms = best->state.seq_ms };
	return true;
}

enum counter_id oc_result_counter(enum sip_oc_result result)
{
	static const enum counter_id counters[SIP_OC_RESULT_COUNT] = {
		[SIP_OC_ADDED] = COUNTER_GW_OC_ADDED,
		[SIP_OC_NOT_RESPONSE] = COUNTER_GW_OC_NOT_RESPONSE,
		[SIP_OC_NO_VIA] = COUNTER_GW_OC_NO_VIA,
		[SIP_OC_MALFORMED] = COUNTER_GW_OC_MALFORMED,
		[SIP_OC_NOT_ADVERTISED] = COUNTER_GW_OC_NOT_ADVERTISED,
		[SIP_OC_ALREADY_SET] = COUNTER_GW_OC_ALREADY_SET,
		[SIP_OC_NO_LOSS] = COUNTER_GW_OC_NO_LOSS,
		[SIP_OC_TOO_LONG] = COUNTER_GW_OC_TOO_LONG,
		[SIP_OC_BAD_FEEDBACK] = COUNTER_GW_OC_BAD_FEEDBACK,
	};
	return (unsigned)result < SIP_OC_RESULT_COUNT ? counters[result] : COUNTER_NONE;
}
