/* queue_worker.c - one queue's batches decided and answered (queue_worker.h). */
#include "sarad/queue_worker.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "io/clock.h"
#include "io/log.h"
#include "sarad/flow_text.h"

/* A refusal: kept for "sara-ctl refused", logged within its kind's limit
 * as "event=refused reason=... flow=... action=...". */
static void log_verdict_event(const struct queue_shared *s, const struct verdict *v, uint64_t now)
{
	struct log_limit *lim;
	struct log_event e;
	char flow[FLOW_TEXT_MAX];
	switch (v->reason) {
	case REASON_MALFORMED: lim = &s->logs->malformed; break;
	case REASON_TABLE_FULL: lim = &s->logs->table_full; break;
	case REASON_NO_SERVER: lim = &s->logs->no_server; break;
	case REASON_ADMISSION: lim = &s->logs->admission; break;
	default: return;
	}
	if (s->refusals)
		refusal_log_record(s->refusals, v, now, clock_ms(CLOCK_REALTIME));
	flow_text(&v->key, flow, sizeof(flow));
	log_event_begin(&e, "refused");
	log_event_str(&e, "reason", refusal_reason_name(v->reason));
	log_event_str(&e, "flow", flow);
	log_event_str(&e, "action",
		      v->action == VERDICT_DROP ? "dropped" : v->mark ? "accepted" : "accepted_unmarked");
	log_event_limited(lim, now, LOG_WARNING, &e);
}

static void log_verdict_failed(struct queue_worker *w, uint64_t now)
{
	struct log_event e;
	log_event_begin(&e, "verdict_failed");
	log_event_u64(&e, "queue", w->num);
	log_event_str(&e, "error", strerror(errno));
	log_event_limited(&w->shared->logs->verdict_error, now, LOG_ERR, &e);
}

static void count_verdict(const struct queue_shared *s, unsigned action, unsigned reason)
{
	__atomic_fetch_add(&s->verdicts->by_action_reason[action][reason], 1, __ATOMIC_RELAXED);
}

/* Answers one decided packet: verdict, reply, counters, rate-limited event
 * log. in is the packet, still valid (the batch has not ended). */
static void answer_packet(struct queue_worker *w, const struct pending_packet *pkt,
			  const struct engine_input *in, const struct verdict *v, uint64_t now)
{
	const struct queue_shared *s = w->shared;
	bool set_connmark;
	unsigned reason = v->reason < VERDICT_REASONS ? v->reason : VERDICT_REASONS - 1;

	if (v->action == VERDICT_DROP) {
		count_verdict(s, VERDICT_DROP, reason);
		if (nfqueue_verdict(w->queue, pkt->id, false, 0, false) < 0)
			log_verdict_failed(w, now);
		if (v->reply != REPLY_NONE)
			refusal_replies_send(s->replies, in, v, now);
		log_verdict_event(s, v, now);
		return;
	}
	count_verdict(s, VERDICT_ACCEPT, reason);
	/* Signalling always crosses (the rules queue it before the fast path),
	 * so only media and unpredicted flows get the connmark that keeps
	 * their later packets in the kernel. */
	set_connmark = v->mark != 0 && v->identity != FLOW_SIGNALLING && !(pkt->has_ct && pkt->ct_mark == v->mark);
	if (v->mark == 0)
		__atomic_fetch_add(&s->verdicts->accepted_unmarked, 1, __ATOMIC_RELAXED);
	if (set_connmark)
		__atomic_fetch_add(&s->verdicts->connmarks_set, 1, __ATOMIC_RELAXED);
	if (nfqueue_verdict(w->queue, pkt->id, true, v->mark, set_connmark) < 0)
		log_verdict_failed(w, now);
	else if (set_connmark && pkt->ct_confirmed)
		(void)dispatcher_connmark_set(s->dispatcher, &v->key);   /* overfull: the next scan */
	log_verdict_event(s, v, now);
}

/* Decides the collected packets together: one engine lock, and the engine
 * overlaps their flow-table misses (engine_packet_batch). */
static void decide_pending(struct queue_worker *w)
{
	struct dispatcher *d = w->shared->dispatcher;
	uint64_t now = d->now_ms();
	if (w->pending_count == 0)
		return;
	dispatcher_decide(d, w->inputs, w->pending_count, now, w->verdicts);
	for (size_t i = 0; i < w->pending_count; i++)
		answer_packet(w, &w->pending[i], &w->inputs[i], &w->verdicts[i], now);
	w->pending_count = 0;
}

/* nfqueue_receive's callback: collects packets; pkt NULL ends the batch. */
static void on_packet(void *ctx, const struct nfqueue_packet *pkt)
{
	struct queue_worker *w = ctx;

	if (!pkt) {
		decide_pending(w);
		return;
	}
	if (pkt->len == 0) {
		/* Nothing to inspect (should not happen in copy-packet mode). */
		daemon_count(w->shared->counters, COUNTER_EMPTY_PACKETS, 1);
		nfqueue_verdict(w->queue, pkt->id, true, 0, false);
		return;
	}
	if (w->pending_count == ENGINE_BATCH_MAX)
		decide_pending(w);
	w->pending[w->pending_count] = (struct pending_packet){ pkt->id, pkt->has_ct, pkt->ct_confirmed, pkt->ct_mark };
	/* The connmark (or, without the conntrack attribute, the mark the
	 * rules restored from it) says where a connection decided before a
	 * restart goes. */
	w->inputs[w->pending_count] = (struct engine_input){ pkt->payload, pkt->len,
							     pkt->has_ct ? pkt->ct_mark : pkt->mark };
	w->pending_count++;
}

int queue_worker_receive(struct queue_worker *w, int timeout_ms, char *err, size_t err_size)
{
	return nfqueue_receive(w->queue, timeout_ms, on_packet, w, err, err_size);
}
