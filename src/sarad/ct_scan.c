/* ct_scan.c - the conntrack scan thread (ct_scan.h). */
#include "sarad/ct_scan.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/live_set.h"
#include "io/log.h"

struct scan_target {
	struct live_set *set;
	const struct sara_config *cfg;   /* the servers' marks (restart-only keys) */
	/* Entries present at the first scan, and of those the ones still
	 * present at this one (NULL when not tracked). */
	const struct live_set *inherited_before;
	struct live_set *inherited;
	bool first;
};

static void scan_entry(void *ctx, const struct flow_key *key, uint32_t mark)
{
	struct scan_target *t = ctx;
	/* Other software's connmarks are not ours to answer for. */
	for (unsigned i = 0; i < t->cfg->server_count; i++) {
		if (t->cfg->servers[i].mark == mark) {
			live_set_add(t->set, key);
			if (t->inherited && (t->first || live_set_contains(t->inherited_before, key)))
				live_set_add(t->inherited, key);
			return;
		}
	}
}

/* Followed: the first successful scan's entries may send no events, and
 * a later scan keeps those of them still there. */
static bool track_inherited(struct ct_scan *s, struct scan_target *t)
{
	t->first = !s->inherited_known;
	if (!s->followed || (!t->first && !s->inherited))
		return true;
	t->inherited_before = s->inherited;
	t->inherited = live_set_create(s->dispatcher->cfg->limits.flows, &s->key);
	return t->inherited != NULL;
}

static void keep_inherited(struct ct_scan *s, struct scan_target *t)
{
	uint32_t left = t->inherited ? live_set_count(t->inherited) : 0;
	live_set_destroy(s->inherited);
	s->inherited = NULL;
	if (left > 0)
		s->inherited = t->inherited;
	else
		live_set_destroy(t->inherited);
	t->inherited = NULL;
	s->inherited_known = true;
	__atomic_store_n(&s->inherited_count, left, __ATOMIC_RELEASE);
}

/* One conntrack dump into a fresh set, swapped in for the flow_active
 * hook. A failed or overfull scan leaves the hook on single queries until
 * a scan succeeds (and, without events, is recent again). */
static void scan_once(struct ct_scan *s)
{
	struct dispatcher *d = s->dispatcher;
	struct scan_target target = { NULL, d->cfg, NULL, NULL, false };
	uint64_t start = d->now_ms();
	long entries = -ENOMEM;
	struct log_event e;

	target.set = live_set_create(d->cfg->limits.flows, &s->key);
	if (target.set && track_inherited(s, &target))
		entries = ct_marks_dump(s->ct, scan_entry, &target);
	if (entries >= 0 && !live_set_full(target.set) && !(target.inherited && live_set_full(target.inherited))) {
		keep_inherited(s, &target);
		dispatcher_set_live(d, target.set, start, s->followed);
		daemon_count(d->counters, COUNTER_CONNTRACK_SCANS, 1);
		daemon_count(d->counters, COUNTER_CONNTRACK_SCAN_MS, d->now_ms() - start);
		return;
	}
	live_set_destroy(target.set);
	live_set_destroy(target.inherited);
	daemon_count(d->counters, COUNTER_CONNTRACK_SCAN_FAILURES, 1);
	log_event_begin(&e, "conntrack_scan_failed");
	log_event_str(&e, "error", entries < 0 ? strerror((int)-entries) : "more marked connections than limits.flows");
	log_event_str(&e, "msg", "idle media flows are asked about one by one");
	log_event_limited(&d->logs->ct_scan, start, LOG_WARNING, &e);
}

static void *scan_thread(void *arg)
{
	struct ct_scan *s = arg;
	for (;;) {
		pthread_mutex_lock(&s->lock);
		while (!s->wanted && !s->stopping)
			pthread_cond_wait(&s->wake, &s->lock);
		if (s->stopping) {
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		s->wanted = false;
		pthread_mutex_unlock(&s->lock);
		scan_once(s);
		__atomic_add_fetch(&s->scans_finished, 1, __ATOMIC_RELEASE);
	}
}

int ct_scan_start(struct ct_scan *s, struct dispatcher *d, struct ct_marks *ct, bool followed, char *err,
		  size_t err_size)
{
	memset(s, 0, sizeof(*s));
	s->dispatcher = d;
	s->ct = ct;
	s->followed = followed;
	s->wanted = true;
	hash_key_random(&s->key);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	if (pthread_create(&s->thread, NULL, scan_thread, s) != 0) {
		snprintf(err, err_size, "cannot start a thread: %s", strerror(errno));
		return -1;
	}
	s->started = true;
	return 0;
}

void ct_scan_wake(struct ct_scan *s)
{
	pthread_mutex_lock(&s->lock);
	s->wanted = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

uint64_t ct_scan_finished(const struct ct_scan *s)
{
	return __atomic_load_n(&s->scans_finished, __ATOMIC_ACQUIRE);
}

uint32_t ct_scan_inherited(const struct ct_scan *s)
{
	return __atomic_load_n(&s->inherited_count, __ATOMIC_ACQUIRE);
}

uint64_t ct_scan_period_ms(struct dispatcher *d)
{
	uint64_t period = (uint64_t)dispatcher_media_s(d) * 1000u / 2u;
	return period ? period : 1;
}

void ct_scan_stop(struct ct_scan *s)
{
	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
		s->started = false;
	}
	ct_marks_close(s->ct);
	s->ct = NULL;
	live_set_destroy(s->inherited);
	s->inherited = NULL;
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
}
