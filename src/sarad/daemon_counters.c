/* daemon_counters.c - sarad's own event counters under one lock (daemon_counters.h). */
#include "sarad/daemon_counters.h"

#include <string.h>

void daemon_counters_init(struct daemon_counters *c)
{
	memset(&c->set, 0, sizeof(c->set));
	pthread_mutex_init(&c->lock, NULL);
}

void daemon_counters_destroy(struct daemon_counters *c)
{
	pthread_mutex_destroy(&c->lock);
}

void daemon_count(struct daemon_counters *c, enum counter_id id, uint64_t n)
{
	pthread_mutex_lock(&c->lock);
	counter_add(&c->set, id, n);
	pthread_mutex_unlock(&c->lock);
}

uint64_t daemon_counter_get(struct daemon_counters *c, enum counter_id id)
{
	uint64_t value;
	pthread_mutex_lock(&c->lock);
	value = counter_get(&c->set, id);
	pthread_mutex_unlock(&c->lock);
	return value;
}

void daemon_counters_visit(struct daemon_counters *c, enum counters_filter filter, counter_visit_fn fn,
			   void *ctx)
{
	struct counter_set copy;
	pthread_mutex_lock(&c->lock);
	copy = c->set;
	pthread_mutex_unlock(&c->lock);
	counters_visit(&copy, COUNTER_SCOPE_DAEMON, filter, fn, ctx);
}
