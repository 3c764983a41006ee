/* queue_set.h - sarad's NFQUEUE queues (queue.first .. first+count-1):
 * opened, served, checked for kernel overflow, closed. One queue is served
 * by the event loop; with more, each gets a thread of its own so that
 * their batches are decided in parallel between two takes of the engine
 * lock (the rules spread packets over them: --queue-balance). */
#ifndef SARA_SARAD_QUEUE_SET_H
#define SARA_SARAD_QUEUE_SET_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"
#include "sarad/queue_worker.h"

#define QUEUE_SET_MAX 64

struct queue_set;

struct queue_thread {
	struct queue_set *set;
	struct queue_worker *worker;
	pthread_t thread;
};

struct queue_set {
	struct queue_shared shared;
	unsigned count;                         /* queues open */
	struct queue_worker workers[QUEUE_SET_MAX];
	struct nfqueue *queues[QUEUE_SET_MAX];  /* for the control socket's status */
	uint16_t nums[QUEUE_SET_MAX];
	struct queue_thread threads[QUEUE_SET_MAX];
	unsigned threads_started;
	bool stopping;                          /* __atomic: the threads return */
	/* A thread's fatal error (the reason); called from that thread. */
	void (*on_fatal)(void *ctx, const char *err);
	void *fatal_ctx;
};

/* Opens cfg's queues (shared is copied into every worker). 0, or the exit
 * status (1 a queue could not be had, 2 too many queues) with err set. */
int queue_set_open(struct queue_set *qs, const struct sara_config *cfg, const struct queue_shared *shared,
		   char *err, size_t err_size);
/* With more than one queue: a thread per queue. 0, or -1 with err set. */
int queue_set_start_threads(struct queue_set *qs, char *err, size_t err_size);
/* The kernel's per-queue drop counters grew: one rate-limited line. */
void queue_set_check_overflow(struct queue_set *qs, bool fail_open, uint64_t now_ms);
/* Stops and joins the threads. */
void queue_set_stop(struct queue_set *qs);
void queue_set_close(struct queue_set *qs);

#endif
