/* oc_sender.c - SA2C's state as RFC 7339 overload control, to the 503s and
 * the gateways (oc_sender.h). */
#include "sarad/oc_sender.h"

#include <string.h>
#include <time.h>

#include <sodium.h>

#include "engine/admission.h"
#include "engine/engine.h"
#include "io/clock.h"

void oc_sender_init(struct oc_sender *s, struct daemon_counters *counters, struct refusal_replies *replies,
		    uint64_t (*now_ms)(void))
{
	memset(s, 0, sizeof(*s));
	s->tx.fd = -1;
	s->counters = counters;
	s->replies = replies;
	s->now_ms = now_ms;
}

void oc_sender_attach(struct oc_sender *s, int fd, const struct wire_key *key)
{
	/* A fresh id each start: a gateway keeps a replay window per sender. */
	sealed_sender_borrow(&s->tx, fd, key, randombytes_random() | 1u);
}

void oc_sender_gateway_seen(void *ctx, uint32_t sender, const struct endpoint *from)
{
	struct oc_sender *s = ctx;
	if (!oc_gateways_seen(&s->gateways, sender, from, s->now_ms()))
		daemon_count(s->counters, COUNTER_OC_GATEWAYS_FULL, 1);
}

void oc_sender_tick(struct oc_sender *s, struct dispatcher *d)
{
	struct endpoint to[OC_MAX_GATEWAYS];
	struct sip_oc_feedback fb;
	uint8_t body[OC_STATE_SIZE];
	uint64_t now = s->now_ms();
	double p;
	unsigned n;

	oc_source_configure(&s->source, d->cfg->admission.oc_validity_ms);
	pthread_mutex_lock(&d->engine_lock);
	p = admission_client_reduction(engine_admission(d->engine));
	pthread_mutex_unlock(&d->engine_lock);
	if (!oc_source_update(&s->source, p, now, clock_ms(CLOCK_REALTIME))) {
		if (s->source.validity_ms == 0)
			refusal_replies_set_oc(s->replies, NULL);
		return;
	}
	refusal_replies_set_oc(s->replies, oc_source_feedback(&s->source, &fb) ? &fb : NULL);
	if (s->tx.fd < 0)
		return;
	n = oc_gateways_list(&s->gateways, now, to, OC_MAX_GATEWAYS);
	oc_state_encode(&s->source.current, body, sizeof(body));
	for (unsigned i = 0; i < n; i++)
		daemon_count(s->counters,
			     sealed_send_to(&s->tx, &to[i], WIRE_OC_STATE, body, sizeof(body)) ? COUNTER_OC_STATES_SENT
											  : COUNTER_OC_STATE_SEND_ERRORS,
			     1);
}
