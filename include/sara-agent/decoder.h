/* decoder.h - sara-agent --decode, a receiver for tests and for debugging a
 * deployment: prints every agent message received, the health events it
 * causes (failed / draining / recovered) and, at the end, each server's
 * state and the health counters. */
#ifndef SARA_AGENT_DECODER_H
#define SARA_AGENT_DECODER_H

#include <stdbool.h>
#include <stdio.h>

#include "dpi/netaddr.h"
#include "engine/config.h"
#include "engine/server_health.h"
#include "io/sealed_channel.h"

#define AGENT_DECODE_MAX_SKEW_MS 10000
#define AGENT_DECODE_TICK_MS 100  /* how often missed heartbeats are looked for */

struct agent_decoder {
	const struct sara_config *cfg;
	struct server_health *health;
	FILE *out;
};

/* False when out of memory. */
bool agent_decoder_init(struct agent_decoder *d, const struct sara_config *cfg, FILE *out);
void agent_decoder_destroy(struct agent_decoder *d);
/* One authenticated message: "heartbeat sender 1 server s1 seq ...",
 * "load sender 1 server s1 cpu ... combined ...", or "rejected REASON ...". */
void agent_decoder_message(struct agent_decoder *d, const struct sealed_message *msg);
/* A datagram the channel refused (reason: a wire verdict or SEALED_OVERSIZED). */
void agent_decoder_refused(struct agent_decoder *d, int reason, const struct endpoint *from);
/* "server ID state S heartbeats N lost N loads N" per server, then the counters. */
void agent_decoder_summary(struct agent_decoder *d);

/* Receives at `at` until SIGTERM/SIGINT or count datagrams (0: no limit),
 * printing to stdout. Returns the exit status (0, or 1 on an error). */
int agent_decode_run(const struct sara_config *cfg, const struct wire_key *key, const struct endpoint *at,
		     unsigned long count);

#endif
