/* attribution.h - after a replay, gives flows to sessions the engine could
 * not name while the packets passed, and chains each session's flows. */
#ifndef SARA_REPLAY_ATTRIBUTION_H
#define SARA_REPLAY_ATTRIBUTION_H

#include "sara-replay/records.h"

/* Packets a TCP flow carried before its session was known (its handshake)
 * are merged into the first session that claims the flow; sessionless UDP
 * that looks like RTP/RTCP, from a session's client while it ran, becomes
 * that session's unpredicted media (has_unpredicted). Then every session's
 * flows are chained from first_flow in record order. Running it again
 * (after more records) redoes the chains. */
void attribute_flows(struct replay_records *recs);

#endif
