/* gw_metrics.h - sara-gw's metrics page (--metrics): its counters and its
 * queue's, the kernel's view of the queue, and the gateway role's events,
 * from a snapshot the loop takes; every family named sara_gw_*. */
#ifndef SARA_GW_METRICS_H
#define SARA_GW_METRICS_H

#include <stdint.h>

#include "engine/counters.h"
#include "io/control.h"
#include "io/metrics_text.h"

struct gw_snapshot {
	uint64_t uptime_ms;
	uint16_t queue_num;
	struct counter_set counters;        /* GW_DAEMON, GW_QUEUE */
	struct counter_set gateway;         /* GATEWAY: the role's events */
	struct kernel_queue_stats kernel;   /* the kernel's view of the queue */
};

/* The page of one snapshot (a struct gw_snapshot). */
void gw_metrics_render(const void *snapshot, struct metrics_text *out);

#endif
