/* oc_rewriter.c - the dispatchers' states in, the responses rewritten
 * (oc_rewriter.h). */
#include "sara-gw/oc_rewriter.h"

#include <string.h>

#include "dpi/packet.h"
#include "dpi/udp_payload.h"

void oc_rewriter_init(struct oc_rewriter *w, uint64_t (*now_ms)(void))
{
	memset(&w->view, 0, sizeof(w->view));
	memset(&w->counters, 0, sizeof(w->counters));
	memset(&w->rx, 0, sizeof(w->rx));
	w->rx.fd = -1;
	w->now_ms = now_ms;
	sealed_rejects_init(&w->rejects, "oc_state_rejected");
}

bool oc_rewriter_attach(struct oc_rewriter *w, int fd, const struct wire_key *key, char *err, size_t err_size)
{
	return sealed_receiver_attach(&w->rx, fd, key, OC_STATE_MAX_SKEW_MS, err, err_size);
}

void oc_rewriter_detach(struct oc_rewriter *w)
{
	sealed_receiver_close(&w->rx);
}

static void reject(struct oc_rewriter *w, enum counter_id reason, const struct endpoint *from)
{
	counter_add(&w->counters, COUNTER_GW_OC_STATES_REJECTED, 1);
	counter_add(&w->counters, reason, 1);
	sealed_rejects_add(&w->rejects, reason, from, w->now_ms());
}

static void on_reject(void *ctx, int reason, const struct endpoint *from)
{
	struct oc_rewriter *w = ctx;
	counter_add(&w->counters, COUNTER_GW_OC_STATES_RECEIVED, 1);
	reject(w, sealed_reject_counter(reason), from);
}

static void on_accept(void *ctx, const struct sealed_message *msg)
{
	struct oc_rewriter *w = ctx;
	struct oc_state state;
	enum counter_id reason = COUNTER_GW_OC_STATE_INVALID;
	counter_add(&w->counters, COUNTER_GW_OC_STATES_RECEIVED, 1);
	if (msg->hdr.type == WIRE_OC_STATE)
		reason = oc_state_decode(msg->body, msg->hdr.body_len, &state);
	if (reason == COUNTER_NONE)
		reason = oc_view_take(&w->view, msg->hdr.sender, &state, w->now_ms());
	if (reason != COUNTER_NONE) {
		reject(w, reason, &msg->from);
		return;
	}
	counter_add(&w->counters, COUNTER_GW_OC_STATES_TAKEN, 1);
}

int oc_rewriter_drain(struct oc_rewriter *w, char *err, size_t err_size)
{
	struct sealed_receiver_handler h = { .accept = on_accept, .reject = on_reject, .ctx = w };
	if (w->rx.fd < 0)
		return 0;
	return sealed_receiver_drain(&w->rx, 64, &h, err, err_size);
}

size_t oc_rewriter_packet(struct oc_rewriter *w, const uint8_t *ip, size_t len, const uint8_t **out)
{
	struct sip_oc_feedback fb;
	struct packet pkt;
	enum sip_oc_result result;
	size_t sip_len = 0, total;

	if (!oc_view_feedback(&w->view, w->now_ms(), &fb)) {
		counter_add(&w->counters, COUNTER_GW_OC_NO_STATE, 1);
		return 0;
	}
	if (packet_decode(ip, len, &pkt) != PACKET_OK || pkt.key.l4 != L4_UDP || pkt.payload_len == 0) {
		counter_add(&w->counters, COUNTER_GW_OC_UNREWRITABLE, 1);
		return 0;
	}
	result = sip_oc_add(pkt.payload, pkt.payload_len, &fb, w->sip, sizeof(w->sip), &sip_len);
	if (result != SIP_OC_ADDED) {
		counter_add(&w->counters, oc_result_counter(result), 1);
		return 0;
	}
	total = udp_payload_replace(ip, len, &pkt, w->sip, sip_len, w->packet, sizeof(w->packet));
	if (total == 0) {
		counter_add(&w->counters, COUNTER_GW_OC_UNREWRITABLE, 1);
		return 0;
	}
	counter_add(&w->counters, COUNTER_GW_OC_ADDED, 1);
	*out = w->packet;
	return total;
}

void oc_rewriter_get_counters(const struct oc_rewriter *w, struct counter_set *set)
{
	for (unsigned id = COUNTER_GW_OC_ADDED; id <= COUNTER_GW_OC_STATE_TOO_MANY; id++)
		set->values[id] = w->counters.values[id];
}
