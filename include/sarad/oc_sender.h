/* oc_sender.h - sarad's RFC 7339 overload control: each tick, SA2C's
 * refusal probability of new sessions becomes the oc state
 * (engine/overload_control.h), handed to the 503s sarad sends and, when it
 * changes and every oc-validity / 2, sent to the gateways that announce to
 * sarad, from the socket they announce to. Loop thread only. */
#ifndef SARA_SARAD_OC_SENDER_H
#define SARA_SARAD_OC_SENDER_H

#include <stdint.h>

#include "engine/overload_control.h"
#include "engine/wire.h"
#include "io/sealed_channel.h"
#include "sarad/daemon_counters.h"
#include "sarad/dispatcher.h"
#include "sarad/refusal_replies.h"

struct oc_sender {
	struct oc_source source;
	struct oc_gateways gateways;
	struct sealed_sender tx;            /* on the announcement socket; fd -1 without gateway.listen */
	struct daemon_counters *counters;
	struct refusal_replies *replies;
	uint64_t (*now_ms)(void);           /* monotonic */
};

void oc_sender_init(struct oc_sender *s, struct daemon_counters *counters, struct refusal_replies *replies,
		    uint64_t (*now_ms)(void));
/* Sends on fd (the announcement receiver's, which stays its owner's),
 * sealed with key under a random sender id. */
void oc_sender_attach(struct oc_sender *s, int fd, const struct wire_key *key);
/* announce_listener_on_sender's hook: a gateway to send to. */
void oc_sender_gateway_seen(void *ctx, uint32_t sender, const struct endpoint *from);
/* Reads admission under the engine lock; sends when due. */
void oc_sender_tick(struct oc_sender *s, struct dispatcher *d);

#endif
