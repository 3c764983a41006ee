/* ct_follow.h - keeps the dispatcher's live set current from conntrack
 * events on the event loop, with a full scan (ct_scan.h) at start, after
 * the kernel dropped events, and while entries from before the start
 * remain; without events, the periodic scan of every media_s / 2. */
#ifndef SARA_SARAD_CT_FOLLOW_H
#define SARA_SARAD_CT_FOLLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "io/ct_events.h"
#include "io/event_loop.h"
#include "sarad/ct_scan.h"
#include "sarad/dispatcher.h"

#define CT_FOLLOW_EVENTS_PER_WAKE 1024u   /* then the loop serves the others: ~2 ms */

struct ct_follow {
	struct dispatcher *dispatcher;
	struct ct_scan *scan;
	struct ct_events *events;     /* NULL: no events, periodic scans */
	struct event_loop *loop;
	bool reading;                 /* the events' fd is in the loop */
	/* A scan asked for and not finished: events wait in the socket, to be
	 * applied after the scan's set, which they are newer than. */
	bool scanning;
	uint64_t scan_awaited;        /* ct_scan_finished() once it is done */
};

/* events (may be NULL) was opened before the scan started, whose first
 * scan the follower waits for; events is the follower's to close. */
void ct_follow_start(struct ct_follow *f, struct dispatcher *d, struct ct_scan *scan, struct ct_events *events,
		     struct event_loop *loop);
/* The loop's 100 ms tick: after a scan, the events are read again. */
void ct_follow_tick(struct ct_follow *f);
/* The loop's media_s / 2 timer: a scan when one is needed. */
void ct_follow_scan_due(struct ct_follow *f);
/* Stops reading and closes the events. */
void ct_follow_stop(struct ct_follow *f);

#endif
