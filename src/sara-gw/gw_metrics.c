/* gw_metrics.c - sara-gw's metrics page (gw_metrics.h). */
#include "sara-gw/gw_metrics.h"

#include <stdio.h>

#include "io/status_counters.h"

void gw_metrics_render(const void *snapshot, struct metrics_text *out)
{
	const struct gw_snapshot *s = snapshot;
	struct nfqueue_stats no_stats = { 0 };
	struct counter_set kernel = { 0 };
	char num[8];
	struct metric_label queue = { "queue", num };
	struct metrics_series own = { &s->counters, NULL, 0 }, by_queue = { &s->counters, &queue, 1 };

	snprintf(num, sizeof(num), "%u", (unsigned)s->queue_num);
	metrics_family(out, "sara_gw_uptime_seconds", METRIC_GAUGE, "time since sara-gw started");
	metrics_sample_real(out, "sara_gw_uptime_seconds", NULL, 0, (double)s->uptime_ms / 1000.0);
	metrics_counters(out, "sara_gw_", COUNTER_SCOPE_GW_DAEMON, &own, 1);
	metrics_counters(out, "sara_gw_queue_", COUNTER_SCOPE_GW_QUEUE, &by_queue, 1);
	if (s->kernel.found) {
		status_counters_queue(&no_stats, &s->kernel, &kernel);
		by_queue.set = &kernel;
		metrics_counters(out, "sara_gw_queue_", COUNTER_SCOPE_KERNEL_QUEUE, &by_queue, 1);
	}
	own.set = &s->gateway;
	metrics_counters(out, "sara_gw_gateway_", COUNTER_SCOPE_GATEWAY, &own, 1);
}
