/* refusal_replies.h - the answers to packets admission control refused (a
 * SIP 503, a TCP RST): the raw-socket sender, opened at start or by the
 * reload that turns them on, and the Retry-After the reload may change.
 * The queue workers read both without a lock. */
#ifndef SARA_SARAD_REFUSAL_REPLIES_H
#define SARA_SARAD_REFUSAL_REPLIES_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dpi/sip_oc.h"

#include "engine/config.h"
#include "engine/counters.h"
#include "engine/engine.h"
#include "io/reject_sender.h"

struct refusal_replies {
	struct reject_sender *sender;    /* NULL: refused packets are only dropped; __atomic */
	uint32_t retry_after_s;          /* admission.retry_after_s as (re)loaded; __atomic */
	/* RFC 7339 overload control for the 503s: the loop thread sets it,
	 * the workers copy it under oc_lock. */
	pthread_mutex_t oc_lock;
	bool oc_on;
	struct sip_oc_feedback oc;
};

/* Before any other call. */
void refusal_replies_init(struct refusal_replies *r);
/* The overload control refused INVITEs carry from now on (NULL: none). */
void refusal_replies_set_oc(struct refusal_replies *r, const struct sip_oc_feedback *oc);

/* Opens the sender when cfg's admission sends 503s or RSTs and it is not
 * open yet; a failure is logged (refused packets are then only dropped).
 * Also takes cfg's Retry-After. */
void refusal_replies_configure(struct refusal_replies *r, const struct sara_config *cfg);
/* The answer of one refused packet (in: the packet, v: its drop verdict). */
void refusal_replies_send(struct refusal_replies *r, const struct engine_input *in, const struct verdict *v,
			  uint64_t now_ms);
/* counters_visit over the sender's counters (COUNTER_SCOPE_REPLY); nothing
 * while it is closed. */
void refusal_replies_visit_counters(struct refusal_replies *r, enum counters_filter filter, counter_visit_fn fn,
				    void *ctx);
void refusal_replies_close(struct refusal_replies *r);

#endif
