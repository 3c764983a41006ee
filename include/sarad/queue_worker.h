/* queue_worker.h - one NFQUEUE queue's packets: collected per receive
 * batch, decided together by the dispatcher, answered with verdicts (mark,
 * connmark), the refused ones with a 503 or RST, and counted. */
#ifndef SARA_SARAD_QUEUE_WORKER_H
#define SARA_SARAD_QUEUE_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "io/control.h"
#include "io/nfqueue.h"
#include "io/refusal_log.h"
#include "sarad/daemon_counters.h"
#include "sarad/dispatcher.h"
#include "sarad/log_kinds.h"
#include "sarad/refusal_replies.h"

/* What every worker of a daemon shares. */
struct queue_shared {
	struct dispatcher *dispatcher;
	struct verdict_counts *verdicts;   /* atomic adds */
	struct refusal_replies *replies;
	struct daemon_counters *counters;
	struct log_kinds *logs;
	struct refusal_log *refusals;      /* NULL: not kept */
};

/* One queued packet waiting for the end of its batch. */
struct pending_packet {
	uint32_t id;
	bool has_ct, ct_confirmed;
	uint32_t ct_mark;
};

struct queue_worker {
	const struct queue_shared *shared;
	uint16_t num;
	struct nfqueue *queue;
	/* the batch being collected (payloads stay valid until its end) */
	size_t pending_count;
	struct pending_packet pending[ENGINE_BATCH_MAX];
	struct engine_input inputs[ENGINE_BATCH_MAX];
	struct verdict verdicts[ENGINE_BATCH_MAX];
	/* the kernel's drop counters as last seen by the overflow check */
	uint64_t kernel_dropped, kernel_user_dropped;
};

/* Takes one receive batch, waiting up to timeout_ms (0 from the event
 * loop, which saw the queue readable), and answers every packet in it.
 * Returns the number of packets, -1 on a fatal error (err set). */
int queue_worker_receive(struct queue_worker *w, int timeout_ms, char *err, size_t err_size);

#endif
