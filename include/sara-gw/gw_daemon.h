/* gw_daemon.h - sara-gw's run: the servers' outbound signalling taken from
 * an NFQUEUE on one event loop, announced to sarad over the sealed channel
 * before the packet is accepted (always: fail-open); the counters on
 * GET /metrics with --metrics; SIGUSR1 logs the counters, SIGHUP reads the
 * configuration again (gw_reload.h), SIGTERM/SIGINT stop. */
#ifndef SARA_GW_DAEMON_H
#define SARA_GW_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/config.h"
#include "engine/wire.h"

#define GW_QUEUE_MAX_LEN 4096       /* kernel queue length (packets) */
#define GW_RCVBUF_BYTES (4u << 20)  /* bursts of replies must not overflow the socket */

struct gw_settings {
	const struct sara_config *cfg;
	const struct wire_key *key;
	uint32_t sender;            /* the sender id of the announcements */
	uint16_t queue_num;
	bool queue_given;           /* --queue: the queue does not follow the file */
	const char *config_path;    /* read again on SIGHUP */
	struct endpoint metrics;    /* --metrics, else gateway.metrics: where GET /metrics is served; family 0 = off */
	bool metrics_given;         /* --metrics: the endpoint does not follow the file */
	bool foreground;            /* else a daemon logging to syslog */
};

/* Returns the exit status: 0, or 1 when start-up or the queue failed. */
int gw_run(const struct gw_settings *settings);

#endif
