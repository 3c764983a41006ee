/* queue_set.c - sarad's NFQUEUE queues opened, served, checked (queue_set.h). */
#include "sarad/queue_set.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "io/log.h"

#define QUEUE_MAX_LEN 8192          /* packets waiting in the kernel per queue */
#define QUEUE_RCVBUF (8u << 20)     /* 8 MiB: flow set-up bursts */
#define POLL_MS 200                 /* how long a queue thread waits before checking for stop */

static struct nfqueue *open_queue(unsigned index, const struct sara_config *cfg, char *err, size_t err_size)
{
	struct nfqueue_options opt = {
		.queue_num = (uint16_t)(cfg->queue.first + index),
		.max_len = QUEUE_MAX_LEN,
		.rcvbuf_bytes = QUEUE_RCVBUF,
		.fail_open = cfg->queue.fail_open,
		.conntrack = true,
	};
	struct nfqueue *q = nfqueue_open(&opt, err, err_size);
	if (!q && errno == EOPNOTSUPP) {
		/* Without the kernel's NFQUEUE conntrack glue a verdict cannot
		 * carry the connmark; the POSTROUTING CONNMARK --save-mark rule
		 * saves the verdict's packet mark instead. */
		if (index == 0) {
			struct log_event e;
			log_event_begin(&e, "queue_without_conntrack");
			log_event_str(&e, "error", err);
			log_event_str(&e, "msg", "connmarks come from the POSTROUTING CONNMARK --save-mark rule alone");
			log_event_emit(&e, LOG_NOTICE);
		}
		opt.conntrack = false;
		q = nfqueue_open(&opt, err, err_size);
	}
	return q;
}

int queue_set_open(struct queue_set *qs, const struct sara_config *cfg, const struct queue_shared *shared,
		   char *err, size_t err_size)
{
	qs->shared = *shared;
	if (cfg->queue.count > QUEUE_SET_MAX) {
		snprintf(err, err_size, "queue.count %u: sarad serves at most %u queues", cfg->queue.count,
			 QUEUE_SET_MAX);
		return 2;
	}
	for (unsigned i = 0; i < cfg->queue.count; i++) {
		struct queue_worker *w = &qs->workers[i];
		w->shared = &qs->shared;
		w->num = (uint16_t)(cfg->queue.first + i);
		w->queue = open_queue(i, cfg, err, err_size);
		if (!w->queue)
			return 1;
		qs->queues[i] = w->queue;
		qs->nums[i] = w->num;
		qs->count = i + 1;
	}
	return 0;
}

static void *queue_thread(void *arg)
{
	struct queue_thread *t = arg;
	char err[256];
	while (!__atomic_load_n(&t->set->stopping, __ATOMIC_RELAXED)) {
		if (queue_worker_receive(t->worker, POLL_MS, err, sizeof(err)) < 0) {
			if (t->set->on_fatal)
				t->set->on_fatal(t->set->fatal_ctx, err);
			break;
		}
	}
	return NULL;
}

int queue_set_start_threads(struct queue_set *qs, char *err, size_t err_size)
{
	if (qs->count < 2)
		return 0;
	for (unsigned i = 0; i < qs->count; i++) {
		struct queue_thread *t = &qs->threads[i];
		t->set = qs;
		t->worker = &qs->workers[i];
		if (pthread_create(&t->thread, NULL, queue_thread, t) != 0) {
			snprintf(err, err_size, "cannot start a thread: %s", strerror(errno));
			return -1;
		}
		qs->threads_started = i + 1;
	}
	return 0;
}

void queue_set_check_overflow(struct queue_set *qs, bool fail_open, uint64_t now_ms)
{
	for (unsigned i = 0; i < qs->count; i++) {
		struct queue_worker *w = &qs->workers[i];
		struct kernel_queue_stats k;
		control_kernel_queue_stats(w->num, &k);
		if (k.found && (k.dropped > w->kernel_dropped || k.user_dropped > w->kernel_user_dropped)) {
			struct log_event e;
			log_event_begin(&e, "queue_overflow");
			log_event_u64(&e, "queue", w->num);
			log_event_u64(&e, "queue_full", k.dropped - w->kernel_dropped);
			log_event_u64(&e, "socket_full", k.user_dropped - w->kernel_user_dropped);
			log_event_str(&e, "policy", fail_open ? "fail-open" : "fail-closed");
			log_event_str(&e, "msg", fail_open ? "packets accepted unmarked" : "packets dropped");
			log_event_limited(&qs->shared.logs->overflow, now_ms, LOG_WARNING, &e);
			w->kernel_dropped = k.dropped;
			w->kernel_user_dropped = k.user_dropped;
		}
	}
}

void queue_set_stop(struct queue_set *qs)
{
	__atomic_store_n(&qs->stopping, true, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < qs->threads_started; i++)
		pthread_join(qs->threads[i].thread, NULL);
	qs->threads_started = 0;
}

void queue_set_close(struct queue_set *qs)
{
	for (unsigned i = 0; i < qs->count; i++) {
		nfqueue_close(qs->workers[i].queue);
		qs->workers[i].queue = NULL;
		qs->queues[i] = NULL;
	}
	qs->count = 0;
}
