/* announcer.c - outbound signalling turned into announcements and sent
 * (announcer.h). */
#include "sara-gw/announcer.h"

#include "engine/announce_codec.h"
#include "engine/wire.h"

bool announcer_init(struct announcer *a, const struct sara_config *cfg, uint64_t now_ms, announcer_send_fn send,
		    void *send_ctx, char *err, size_t err_size)
{
	*a = (struct announcer){ .send = send, .send_ctx = send_ctx };
	a->gateway = gateway_create(cfg, now_ms, err, err_size);
	return a->gateway != NULL;
}

void announcer_destroy(struct announcer *a)
{
	gateway_destroy(a->gateway);
	a->gateway = NULL;
}

static void announce(struct announcer *a, const struct announcement *ann)
{
	uint8_t body[WIRE_MAX_BODY];
	size_t len = announce_encode(ann, body, sizeof(body));
	a->stats.announcements++;
	if (len == 0) {
		a->stats.encode_errors++;
		return;
	}
	if (a->send(a->send_ctx, body, len))
		a->stats.sent++;
	else
		a->stats.send_errors++;
}

size_t announcer_packet(struct announcer *a, const uint8_t *ip, size_t len, uint64_t now_ms)
{
	struct announcement anns[ANNOUNCER_MAX_PER_PACKET];
	size_t n;
	a->stats.packets++;
	n = gateway_packet(a->gateway, ip, len, now_ms, anns, ANNOUNCER_MAX_PER_PACKET);
	for (size_t i = 0; i < n; i++)
		announce(a, &anns[i]);
	return n;
}

void announcer_get_counters(const struct announcer *a, struct counter_set *out)
{
	out->values[COUNTER_GW_PACKETS] = a->stats.packets;
	out->values[COUNTER_GW_ANNOUNCEMENTS] = a->stats.announcements;
	out->values[COUNTER_GW_SENT] = a->stats.sent;
	out->values[COUNTER_GW_SEND_ERRORS] = a->stats.send_errors;
	out->values[COUNTER_GW_ENCODE_ERRORS] = a->stats.encode_errors;
}
