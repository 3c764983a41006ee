/* ct_follow.c - conntrack events into the dispatcher's live set, scans when
 * events cannot tell (ct_follow.h). */
#include "sarad/ct_follow.h"

#include <errno.h>
#include <string.h>

#include "io/log.h"

/* Asks for a scan; events wait in the socket until it is done. After a
 * loss, the events queued are older than it and are dropped first: the
 * scan, started after them, supersedes them. */
static void request_scan(struct ct_follow *f, bool discard_queued)
{
	if (f->reading) {
		event_loop_remove_fd(f->loop, ct_events_fd(f->events));
		f->reading = false;
	}
	if (discard_queued)
		(void)ct_events_discard(f->events);   /* a socket error: the next read reports it */
	f->scanning = true;
	f->scan_awaited = ct_scan_finished(f->scan) + 1;
	ct_scan_wake(f->scan);
}

static void on_event(void *ctx, enum ct_event_kind kind, const struct flow_key *key, uint32_t mark)
{
	struct ct_follow *f = ctx;
	daemon_count(f->dispatcher->counters, COUNTER_CONNTRACK_EVENTS, 1);
	/* A set that overflowed is gone: the period's scan tries again. */
	(void)dispatcher_ct_event(f->dispatcher, kind, key, mark);
}

static void on_readable(void *ctx, int fd, uint32_t events)
{
	struct ct_follow *f = ctx;
	struct log_event e;
	long rc;
	(void)fd;
	(void)events;
	rc = ct_events_read(f->events, CT_FOLLOW_EVENTS_PER_WAKE, on_event, f);
	if (rc >= 0)
		return;
	/* Lost events (or a socket error, treated alike): what the set says
	 * may be wrong until a scan has replaced it. */
	daemon_count(f->dispatcher->counters, COUNTER_CONNTRACK_EVENTS_LOST, 1);
	daemon_count(f->dispatcher->counters, COUNTER_CONNTRACK_RESYNCS, 1);
	log_event_begin(&e, "conntrack_events_lost");
	log_event_str(&e, "error", strerror((int)-rc));
	log_event_str(&e, "msg", "one conntrack scan resynchronises; idle media flows are asked about one by one meanwhile");
	log_event_limited(&f->dispatcher->logs->ct_scan, f->dispatcher->now_ms(), LOG_WARNING, &e);
	dispatcher_drop_live(f->dispatcher);
	request_scan(f, true);
}

static void start_reading(struct ct_follow *f)
{
	char err[256];
	if (event_loop_add_fd(f->loop, ct_events_fd(f->events), on_readable, f, err, sizeof(err)) < 0) {
		log_error_event("conntrack_events", err);
		return;   /* the set stays unfollowed: the next due scan tries again */
	}
	f->reading = true;
	on_readable(f, ct_events_fd(f->events), 0);
}

void ct_follow_start(struct ct_follow *f, struct dispatcher *d, struct ct_scan *scan, struct ct_events *events,
		     struct event_loop *loop)
{
	memset(f, 0, sizeof(*f));
	f->dispatcher = d;
	f->scan = scan;
	f->events = events;
	f->loop = loop;
	/* ct_scan_start's own first scan. */
	f->scanning = events != NULL;
	f->scan_awaited = 1;
}

void ct_follow_tick(struct ct_follow *f)
{
	if (!f->scanning || ct_scan_finished(f->scan) < f->scan_awaited)
		return;
	f->scanning = false;
	start_reading(f);
}

void ct_follow_scan_due(struct ct_follow *f)
{
	if (!f->events) {
		ct_scan_wake(f->scan);
		return;
	}
	if (f->scanning)
		return;
	/* No set (a failed or overfull scan, or one dropped), a set the loop
	 * could not follow, or entries from before the start that may never
	 * send their DESTROY. */
	if (!f->reading || !dispatcher_has_live(f->dispatcher) || ct_scan_inherited(f->scan) > 0)
		request_scan(f, false);
}

void ct_follow_stop(struct ct_follow *f)
{
	if (f->reading)
		event_loop_remove_fd(f->loop, ct_events_fd(f->events));
	f->reading = false;
	ct_events_close(f->events);
	f->events = NULL;
}
