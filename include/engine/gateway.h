/* gateway.h - the gateway role: inspects the servers' outbound signalling
 * (replies carry the server-side media ports) and turns each message into
 * announcements for the dispatcher's engine. No I/O. */
#ifndef SARA_GATEWAY_H
#define SARA_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"
#include "engine/counters.h"
#include "engine/signal_facts.h"

struct gateway;

struct gateway *gateway_create(const struct sara_config *cfg, uint64_t now_ms,
			       char *err, size_t err_size);
void gateway_destroy(struct gateway *gw);
/* A reload: cfg (copied) replaces the running configuration; what the
 * gateway inspects follows from its next packet on. False (nothing
 * changed) when a table size differs (limits.tcp_streams, tcp_buffer,
 * fragments), with err. */
bool gateway_reconfigure(struct gateway *gw, const struct sara_config *cfg, char *err, size_t err_size);
/* One outbound IP datagram (from a VIP or a server). Writes at most max
 * announcements into out and returns how many. */
size_t gateway_packet(struct gateway *gw, const uint8_t *ip, size_t len, uint64_t now_ms,
		      struct announcement *out, size_t max);
/* Reassembly streams held now: one per outbound connection that carried
 * data and has not closed. */
unsigned gateway_tcp_streams_in_use(const struct gateway *gw);
/* The gateway's event counters (COUNTER_SCOPE_GATEWAY). */
const struct counter_set *gateway_counters(const struct gateway *gw);

#endif
