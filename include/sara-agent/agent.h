/* agent.h - the node agent's run: every agents.interval_ms one probe, one
 * heartbeat and one load report to sarad (and, with --metrics, its counters
 * on GET /metrics), on one event loop that also takes SIGUSR1 (drain),
 * SIGUSR2 (undrain), SIGHUP (the configuration and key read again:
 * reload.h) and SIGTERM/SIGINT (stop). */
#ifndef SARA_AGENT_AGENT_H
#define SARA_AGENT_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/config.h"
#include "engine/wire.h"
#include "sara-agent/probes.h"

#define AGENT_FIRST_REPORT_MS 200  /* CPU needs two proc/stat samples */

struct agent_settings {
	const struct sara_config *cfg;
	const struct wire_key *key;
	unsigned server;              /* index in cfg->servers; the sender is agent_sender_id of its id */
	const char *config_path;      /* read again on SIGHUP */
	struct probe probe;           /* kind (and command) parsed; configured by agent_run */
	unsigned probe_failures_needed;
	uint32_t drain_in_s;          /* SIGUSR1: the planned failure this far ahead */
	unsigned counted;             /* bit i set: load component i is reported */
	const char *root;             /* "/", or a fake tree holding proc/ */
	const char *app_load_path;    /* the backlog from this file; NULL: from /proc */
	struct endpoint metrics;      /* --metrics: where GET /metrics is served; family 0 = off */
	bool verbose;                 /* log every report */
	bool foreground;              /* else a daemon logging to syslog */
	bool once;                    /* one report, printed; exit 0 when it was sent */
};

/* Returns the exit status: 0, or 1 when start-up failed (or --once could
 * not send). */
int agent_run(const struct agent_settings *settings);

#endif
