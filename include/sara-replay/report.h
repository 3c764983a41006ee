/* report.h - prints a finished replay, per session its flows and their
 * servers, then the totals, as text or one JSON document. */
#ifndef SARA_REPLAY_REPORT_H
#define SARA_REPLAY_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "sara-replay/replay.h"
#include "sara-replay/summary.h"

/* Lines an operator reads; verbose adds packet and counter totals. */
void report_text(const struct replay *r, const struct replay_summary *sum, bool verbose, FILE *out);
/* One JSON object: sessions, unassigned_flows, summary, (observed,
 * per_server,) packets and counters. */
void report_json(const struct replay *r, const struct replay_summary *sum, FILE *out);

#endif
