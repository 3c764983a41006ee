/* gw_check.h - sara-ctl gw-check: whether this gateway's sara-gw is alive,
 * for keepalived's vrrp_script (sara-ctl keepalived): its metrics endpoint
 * (gateway.metrics) answers with a page its event loop published lately. */
#ifndef SARA_CTL_GW_CHECK_H
#define SARA_CTL_GW_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/config.h"

/* sara-gw's loop hands the endpoint a snapshot every second
 * (METRICS_SNAPSHOT_MS); one three times that old says the loop is stuck. */
#define GW_CHECK_STALE_MS 3000
/* The whole exchange, under keepalived's script timeout (1 s, its least). */
#define GW_CHECK_TIMEOUT_MS 800
/* The name of the page's age: metrics_http's own gauge under sara-gw's prefix. */
#define GW_CHECK_AGE_METRIC "sara_gw_metrics_snapshot_age_seconds"

/* Judges sara-gw's answer, a whole HTTP response of len bytes: alive when
 * it is a 200 carrying sara-gw's page, whose snapshot is at most
 * max_age_ms old. False with why set otherwise. */
bool gw_check_answer(const char *text, size_t len, unsigned max_age_ms, char *why, size_t why_size);

/* sara-ctl -c CLUSTER gw-check: asks gateway.metrics (a wildcard address
 * as loopback). 0 alive, EXIT_FAILED not (the reason on stderr),
 * EXIT_USAGE when gateway.metrics is not set. */
int gw_check_run(const struct sara_config *cfg);

#endif
