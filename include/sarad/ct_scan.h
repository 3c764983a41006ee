/* ct_scan.h - the conntrack scan: one dump of the kernel's marked
 * connections into a live set, swapped into the dispatcher for its
 * flow_active hook. It runs on a thread of its own, woken by the event
 * loop's timer every media_s / 2: a dump of a large table blocks on
 * netlink for as long as it takes, and the loop must go on deciding
 * packets and reading reports meanwhile. */
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
};

/* Starts the thread, which scans at once. ct is the scan's own handle
 * (closed by ct_scan_stop). 0, or -1 with err set. */
int ct_scan_start(struct ct_scan *s, struct dispatcher *d, struct ct_marks *ct, char *err, size_t err_size);
/* Asks for a scan (the loop's timer); one already running absorbs it. */
void ct_scan_wake(struct ct_scan *s);
/* media_s / 2 as running, for the loop's timer. */
uint64_t ct_scan_period_ms(struct dispatcher *d);
/* Waits for a running dump to end, joins the thread, closes the handle. */
void ct_scan_stop(struct ct_scan *s);

#endif
