/* agent_metrics.h - sara-agent's metrics page (--metrics): its reports,
 * sends, probe and drain, and the load it last read per component, from a
 * snapshot its loop takes; every family named sara_agent_*. */
#ifndef SARA_AGENT_METRICS_H
#define SARA_AGENT_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/agent_msg.h"
#include "engine/config.h"
#include "io/metrics_text.h"

struct agent_snapshot {
	char server[SARA_ID_MAX];
	uint64_t uptime_ms;
	uint64_t reports;              /* rounds: a heartbeat and a load report each */
	uint64_t sent, send_errors;    /* datagrams */
	bool probing;                  /* a probe is configured */
	bool probe_up;                 /* the last probe answered */
	uint64_t probe_failures;       /* probes that failed */
	bool draining;
	bool have_load;                /* one round done: load below is valid */
	unsigned counted;              /* bit i set: component i is reported */
	double load[AGENT_LOAD_COMPONENTS]; /* NaN: unreadable */
};

/* The page of one snapshot (a struct agent_snapshot). */
void agent_metrics_render(const void *snapshot, struct metrics_text *out);

#endif
