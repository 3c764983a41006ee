/* ct_scan.h - the conntrack scan: one dump of the kernel's marked
 * connections into a live set, swapped into the dispatcher for its
 * flow_active hook. It runs on a thread of its own, woken by the event
 * loop (at start, after lost conntrack events, and every media_s / 2 while
 * it is needed): a dump of a large table blocks on netlink for as long as
 * it takes, and the loop must go on deciding packets meanwhile. */
#ifndef SARA_SARAD_CT_SCAN_H
#define SARA_SARAD_CT_SCAN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/hash.h"
#include "io/ct_marks.h"
#include "sarad/dispatcher.h"

struct ct_scan {
	struct dispatcher *dispatcher;
	struct ct_marks *ct;             /* its own handle: a dump holds it */
	struct hash_key key;             /* the live sets' fingerprints */
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;            /* wanted and stopping */
	pthread_cond_t wake;
	bool wanted, stopping;
	/* Events keep the sets current (ct_follow.h). Then the entries the
	 * first scan found may send none (created while nothing listened, with
	 * net.netfilter.nf_conntrack_events = 2): the ones still there (thread
	 * only) and how many (__atomic). */
	bool followed;
	bool inherited_known;            /* a scan succeeded */
	struct live_set *inherited;
	uint32_t inherited_count;
	uint64_t scans_finished;         /* __atomic: succeeded or failed */
};

/* Starts the thread, which scans at once. ct is the scan's own handle
 * (closed by ct_scan_stop); followed: conntrack events keep the sets
 * current. 0, or -1 with err set. */
int ct_scan_start(struct ct_scan *s, struct dispatcher *d, struct ct_marks *ct, bool followed, char *err,
		  size_t err_size);
/* Asks for a scan (the loop's timer); one already running absorbs it. */
void ct_scan_wake(struct ct_scan *s);
/* Scans finished so far, succeeded or failed (any thread). */
uint64_t ct_scan_finished(const struct ct_scan *s);
/* Entries of the first scan still there at the last one (followed only). */
uint32_t ct_scan_inherited(const struct ct_scan *s);
/* media_s / 2 as running, for the loop's timer. */
uint64_t ct_scan_period_ms(struct dispatcher *d);
/* Waits for a running dump to end, joins the thread, closes the handle. */
void ct_scan_stop(struct ct_scan *s);

#endif
