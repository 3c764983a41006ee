/* daemon_counters.h - sarad's own event counters (COUNTER_SCOPE_DAEMON:
 * connmark writes, server events, drains, reloads, conntrack scans), one
 * set shared by the loop, the queue threads and the scan thread under one
 * lock. */
#ifndef SARA_SARAD_DAEMON_COUNTERS_H
#define SARA_SARAD_DAEMON_COUNTERS_H

#include <pthread.h>
#include <stdint.h>

#include "engine/counters.h"

struct daemon_counters {
	pthread_mutex_t lock;
	struct counter_set set;
};

void daemon_counters_init(struct daemon_counters *c);
void daemon_counters_destroy(struct daemon_counters *c);
void daemon_count(struct daemon_counters *c, enum counter_id id, uint64_t n);
uint64_t daemon_counter_get(struct daemon_counters *c, enum counter_id id);
/* counters_visit over COUNTER_SCOPE_DAEMON, from a copy taken under the
 * lock. */
void daemon_counters_visit(struct daemon_counters *c, enum counters_filter filter, counter_visit_fn fn,
			   void *ctx);

#endif
