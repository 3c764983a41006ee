/* refusal_log.c - the ring of recent refusals and its per-second counts
 * (refusal_log.h). */
#include "io/refusal_log.h"

#include <string.h>

void refusal_log_init(struct refusal_log *log)
{
	memset(log, 0, sizeof(*log));
	pthread_mutex_init(&log->lock, NULL);
}

void refusal_log_destroy(struct refusal_log *log)
{
	pthread_mutex_destroy(&log->lock);
}

bool refusal_reason(unsigned reason)
{
	return reason == REASON_ADMISSION || reason == REASON_TABLE_FULL || reason == REASON_NO_SERVER ||
	       reason == REASON_MALFORMED;
}

const char *refusal_reason_name(unsigned reason)
{
	const struct counter_def *def;
	if (!refusal_reason(reason))
		return NULL;
	def = counter_def(verdict_counter(VERDICT_DROP, (enum verdict_reason)reason));
	return def ? def->name : NULL;
}

/* The bucket of second sec, emptied first when it still counts an older one. */
static uint32_t *bucket_of(struct refusal_log *log, uint64_t sec)
{
	unsigned b = (unsigned)(sec % REFUSAL_WINDOW_S);
	if (log->second_of[b] != sec) {
		log->second_of[b] = sec;
		memset(log->counts[b], 0, sizeof(log->counts[b]));
	}
	return log->counts[b];
}

void refusal_log_record(struct refusal_log *log, const struct verdict *v, uint64_t mono_ms, uint64_t wall_ms)
{
	struct refusal r = {
		.wall_ms = wall_ms,
		.mono_ms = mono_ms,
		.key = v->key,
		.reason = v->reason,
		.action = v->action,
		.reply = v->reply,
		.marked = v->action == VERDICT_ACCEPT && v->mark != 0,
	};
	if (v->reason >= VERDICT_REASON_COUNT)
		return;
	pthread_mutex_lock(&log->lock);
	log->ring[log->recorded % REFUSAL_RING] = r;
	log->recorded++;
	bucket_of(log, mono_ms / 1000u)[v->reason]++;
	pthread_mutex_unlock(&log->lock);
}

unsigned refusal_log_read(struct refusal_log *log, uint64_t now_ms, unsigned since_s,
			  uint64_t counts[VERDICT_REASON_COUNT], struct refusal *out, unsigned max)
{
	uint64_t now_s = now_ms / 1000u, held;
	unsigned copied = 0;
	if (since_s < 1)
		since_s = 1;
	if (since_s > REFUSAL_WINDOW_S)
		since_s = REFUSAL_WINDOW_S;
	memset(counts, 0, VERDICT_REASON_COUNT * sizeof(counts[0]));
	pthread_mutex_lock(&log->lock);
	/* Whole seconds: the current one and the since_s before it (and a
	 * queue thread's clock may already be in the next one). */
	for (unsigned b = 0; b < REFUSAL_WINDOW_S; b++) {
		if (log->second_of[b] + since_s < now_s)
			continue;
		for (unsigned r = 0; r < VERDICT_REASON_COUNT; r++)
			counts[r] += log->counts[b][r];
	}
	held = log->recorded < REFUSAL_RING ? log->recorded : REFUSAL_RING;
	for (uint64_t i = 0; i < held && copied < max; i++) {
		const struct refusal *r = &log->ring[(log->recorded - 1 - i) % REFUSAL_RING];
		if (r->mono_ms / 1000u + since_s < now_s)
			break;
		out[copied++] = *r;
	}
	pthread_mutex_unlock(&log->lock);
	return copied;
}
