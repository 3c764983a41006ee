/* announcer.h - the gateway's work on one outbound packet: the gateway
 * engine turns its signalling into announcements, each encoded and handed
 * to a sender (the sealed channel to sarad, or a test's), with counters. */
#ifndef SARA_GW_ANNOUNCER_H
#define SARA_GW_ANNOUNCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"
#include "engine/counters.h"
#include "engine/gateway.h"

#define ANNOUNCER_MAX_PER_PACKET 16  /* a TCP segment may end several messages */

/* Sends one encoded announcement body; false when it could not. */
typedef bool (*announcer_send_fn)(void *ctx, const uint8_t *body, size_t len);

struct announcer_stats {
	uint64_t packets, announcements, sent, send_errors, encode_errors;
};

struct announcer {
	struct gateway *gateway;
	announcer_send_fn send;
	void *send_ctx;
	struct announcer_stats stats;
};

/* False with err set when the gateway engine cannot be made. */
bool announcer_init(struct announcer *a, const struct sara_config *cfg, uint64_t now_ms, announcer_send_fn send,
		    void *send_ctx, char *err, size_t err_size);
void announcer_destroy(struct announcer *a);

/* One outbound IP datagram; returns the number of announcements it made
 * (each sent, or counted as an encode or send error). */
size_t announcer_packet(struct announcer *a, const uint8_t *ip, size_t len, uint64_t now_ms);
/* Writes the stats into out (COUNTER_SCOPE_GW_DAEMON: packets,
 * announcements, sent, send_errors, encode_errors). */
void announcer_get_counters(const struct announcer *a, struct counter_set *out);

#endif
