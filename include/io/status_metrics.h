/* status_metrics.h - sarad's metrics page: a status snapshot written in
 * the Prometheus text format, every family named sara_*. Pure: the same
 * snapshot gives the same text. */
#ifndef SARA_STATUS_METRICS_H
#define SARA_STATUS_METRICS_H

#include "io/metrics_text.h"
#include "io/status_snapshot.h"

/* Appends the page to t: the cluster and uptime; the engine's statistics
 * and events; admission's zone, loads, thresholds and decisions; verdicts
 * by action and reason; each queue, the kernel's drops with it; the
 * announcements and agent reports, rejected by reason; server health's
 * events; each server's weight, availability, sessions, load and health
 * (label server); conntrack operations; the daemon's own events. */
void status_metrics_render(const struct status_snapshot *s, struct metrics_text *t);

#endif
