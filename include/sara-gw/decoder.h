/* decoder.h - sara-gw --decode, a receiver for tests and for debugging a
 * deployment: prints every announcement received, one a line (flow,
 * protocol, call, facts, media streams, whether it fits the cluster). */
#ifndef SARA_GW_DECODER_H
#define SARA_GW_DECODER_H

#include <stdint.h>
#include <stdio.h>

#include "dpi/netaddr.h"
#include "engine/config.h"
#include "engine/counters.h"
#include "engine/signal_facts.h"
#include "io/sealed_channel.h"

#define GW_DECODE_MAX_SKEW_MS 10000

/* "announce sender 7 seq N age_ms N udp SRC -> DST sip response invite 200
 * key "CALL" flags confirms media replace streams 1 [on ADDR rtp P rtcp P
 * peer 0/0] cluster ok"; cluster_reason COUNTER_NONE means ok (else its
 * name). now_ms: wall clock. */
void gw_decoder_print_announcement(FILE *out, const struct wire_header *hdr, const struct announcement *ann,
				   enum counter_id cluster_reason, uint64_t now_ms);
/* One authenticated message: an announcement printed, anything else said. */
void gw_decoder_message(FILE *out, const struct sara_config *cfg, const struct sealed_message *msg);

/* Receives at `at` until SIGTERM/SIGINT or count datagrams (0: no limit),
 * printing to stdout. Returns the exit status (0, or 1 on an error). */
int gw_decode_run(const struct sara_config *cfg, const struct wire_key *key, const struct endpoint *at,
		  unsigned long count);

#endif
