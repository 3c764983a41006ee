/* reporter.h - an agent's messages to sarad: the heartbeat (up, app down
 * after enough failed probes, or drain) and the load report, built from a
 * probe result and a load sample, sealed and sent; and the line that logs
 * one round. */
#ifndef SARA_AGENT_REPORTER_H
#define SARA_AGENT_REPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/agent_msg.h"
#include "io/sealed_channel.h"

struct reporter {
	struct sealed_sender *channel;
	uint32_t host_id;           /* the server's index + 1 */
	uint16_t beat_seq;
	unsigned counted;           /* bit i set: component i is reported */
	unsigned probe_failures_needed, probe_failures;
	bool draining;
	uint32_t drain_at_s;        /* wall clock: the planned failure */
};

/* The heartbeat sequence starts from the wall clock, like the channel's. */
void reporter_init(struct reporter *r, struct sealed_sender *channel, uint32_t host_id, unsigned counted,
		   unsigned probe_failures_needed);

/* The next heartbeat: drain (timestamp = the planned failure) while
 * draining, else app down once probe_failures_needed probes in a row
 * failed, else up (timestamp = now_s). */
struct agent_heartbeat reporter_heartbeat(struct reporter *r, bool app_up, uint32_t now_s);
/* An unreadable (NaN) component is reported as fully loaded, never as idle;
 * one not counted as AGENT_LOAD_NOT_REPORTED. */
struct agent_load reporter_load(const struct reporter *r, const double components[AGENT_LOAD_COMPONENTS]);

/* Sealed and sent on the channel; false when encoding or sending failed. */
bool reporter_send_heartbeat(struct reporter *r, const struct agent_heartbeat *hb);
bool reporter_send_load(struct reporter *r, const struct agent_load *load);

/* "heartbeat host 1 seq 7 flag up timestamp T probe ok; load cpu 0.2500
 * memory unreadable network - ..." (probe: "none", "ok" or "failed"). */
void reporter_format(const struct reporter *r, const struct agent_heartbeat *hb, const char *probe,
		     const double components[AGENT_LOAD_COMPONENTS], bool sent, char *buf, size_t size);

#endif
