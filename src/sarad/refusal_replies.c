/* refusal_replies.c - the 503s and RSTs of refused packets (refusal_replies.h). */
#include "sarad/refusal_replies.h"

#include <string.h>

#include "io/log.h"

void refusal_replies_init(struct refusal_replies *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->oc_lock, NULL);
}

void refusal_replies_set_oc(struct refusal_replies *r, const struct sip_oc_feedback *oc)
{
	pthread_mutex_lock(&r->oc_lock);
	r->oc_on = oc != NULL;
	if (oc)
		r->oc = *oc;
	pthread_mutex_unlock(&r->oc_lock);
}

void refusal_replies_configure(struct refusal_replies *r, const struct sara_config *cfg)
{
	char reply_err[256];
	struct reject_sender *sender;

	__atomic_store_n(&r->retry_after_s, cfg->admission.retry_after_s, __ATOMIC_RELAXED);
	if (__atomic_load_n(&r->sender, __ATOMIC_ACQUIRE) || !cfg->admission.enabled ||
	    (cfg->admission.reject != REJECT_503 && cfg->admission.rtsp_reject != RTSP_REJECT_RESET))
		return;
	sender = reject_sender_open(cfg->admission.replies_per_s, reply_err, sizeof(reply_err));
	if (!sender) {
		struct log_event e;
		log_event_begin(&e, "replies_unavailable");
		log_event_str(&e, "error", reply_err);
		log_event_str(&e, "msg", "refused requests will be dropped without a 503 or RST");
		log_event_emit(&e, LOG_WARNING);
		return;
	}
	__atomic_store_n(&r->sender, sender, __ATOMIC_RELEASE);
}

void refusal_replies_send(struct refusal_replies *r, const struct engine_input *in, const struct verdict *v,
			  uint64_t now_ms)
{
	struct reject_sender *sender = __atomic_load_n(&r->sender, __ATOMIC_ACQUIRE);
	if (!sender)
		return;
	if (v->reply == REPLY_SIP_503) {
		struct sip_oc_feedback oc;
		bool oc_on;
		pthread_mutex_lock(&r->oc_lock);
		oc_on = r->oc_on;
		oc = r->oc;
		pthread_mutex_unlock(&r->oc_lock);
		reject_sender_sip_503(sender, in->ip, in->len, __atomic_load_n(&r->retry_after_s, __ATOMIC_RELAXED),
				      oc_on ? &oc : NULL, now_ms);
	}
	else if (v->reply == REPLY_TCP_RESET)
		reject_sender_tcp_reset(sender, in->ip, in->len, now_ms);
}

void refusal_replies_visit_counters(struct refusal_replies *r, enum counters_filter filter, counter_visit_fn fn,
				    void *ctx)
{
	struct reject_sender *sender = __atomic_load_n(&r->sender, __ATOMIC_ACQUIRE);
	struct counter_set set;
	if (!sender)
		return;
	reject_sender_get_counters(sender, &set);
	counters_visit(&set, COUNTER_SCOPE_REPLY, filter, fn, ctx);
}

void refusal_replies_close(struct refusal_replies *r)
{
	reject_sender_close(r->sender);
	r->sender = NULL;
	pthread_mutex_destroy(&r->oc_lock);
}
