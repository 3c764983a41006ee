/* oc_rewriter.h - sara-gw's RFC 7339 overload control: the dispatchers'
 * admission states (WIRE_OC_STATE) heard on the socket the gateway
 * announces from, and the servers' UDP responses to clients that
 * advertised oc rewritten with them (dpi/sip_oc.h, dpi/udp_payload.h)
 * while a state is within its validity. Loop thread only. */
#ifndef SARA_GW_OC_REWRITER_H
#define SARA_GW_OC_REWRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpi/sip.h"
#include "dpi/sip_oc.h"
#include "engine/counters.h"
#include "engine/overload_control.h"
#include "io/sealed_channel.h"

/* Dispatchers whose clock differs from ours by more than this are stale. */
#define OC_STATE_MAX_SKEW_MS 5000
#define OC_REWRITER_PACKET_MAX 65535

struct oc_rewriter {
	struct oc_view view;
	struct sealed_receiver rx;          /* on the announcing socket; fd -1 when detached */
	struct sealed_rejects rejects;      /* logged by reason */
	struct counter_set counters;        /* COUNTER_GW_OC_* */
	uint64_t (*now_ms)(void);           /* monotonic */
	uint8_t sip[SIP_MAX_MESSAGE + SIP_OC_GROWTH];
	uint8_t packet[OC_REWRITER_PACKET_MAX];
};

void oc_rewriter_init(struct oc_rewriter *w, uint64_t (*now_ms)(void));
/* Hears states on fd (the channel's, which stays its owner's). */
bool oc_rewriter_attach(struct oc_rewriter *w, int fd, const struct wire_key *key, char *err, size_t err_size);
void oc_rewriter_detach(struct oc_rewriter *w);
/* Reads the states waiting (never blocks). -1 with err set on a socket error. */
int oc_rewriter_drain(struct oc_rewriter *w, char *err, size_t err_size);
/* The outbound datagram ip[0..len) with overload control added: its length,
 * *out pointing at it (valid until the next call); 0 when it goes on as it
 * was (counted by reason). */
size_t oc_rewriter_packet(struct oc_rewriter *w, const uint8_t *ip, size_t len, const uint8_t **out);
/* Adds the COUNTER_GW_OC_* counters into set. */
void oc_rewriter_get_counters(const struct oc_rewriter *w, struct counter_set *set);

#endif
