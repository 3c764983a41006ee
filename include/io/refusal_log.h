/* refusal_log.h - sarad's recent refusals, for "sara-ctl refused": a
 * bounded ring of the latest refused packets (when, from which client, to
 * which VIP, why, what was done) and exact per-second counts by reason over
 * the last REFUSAL_WINDOW_S seconds. The queue threads record, the control
 * socket reads; one mutex. */
#ifndef SARA_REFUSAL_LOG_H
#define SARA_REFUSAL_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dpi/flow_key.h"
#include "engine/engine.h"

#define REFUSAL_RING 1024        /* refusals kept one by one */
#define REFUSAL_WINDOW_S 300     /* how far back the counts reach */

/* One refused packet. */
struct refusal {
	uint64_t wall_ms;            /* CLOCK_REALTIME, for the operator */
	uint64_t mono_ms;            /* the daemon's monotonic clock, for ages */
	struct flow_key key;         /* client -> VIP */
	uint8_t reason;              /* enum verdict_reason */
	uint8_t action;              /* enum verdict_action */
	uint8_t reply;               /* enum verdict_reply sent with a drop */
	bool marked;                 /* accepted with a server mark (table full, when_full = pass) */
};

struct refusal_log {
	pthread_mutex_t lock;
	uint64_t recorded;           /* ever; ring[recorded % REFUSAL_RING] is the next slot */
	struct refusal ring[REFUSAL_RING];
	uint64_t second_of[REFUSAL_WINDOW_S];  /* the monotonic second each bucket counts */
	uint32_t counts[REFUSAL_WINDOW_S][VERDICT_REASON_COUNT];
};

void refusal_log_init(struct refusal_log *log);
void refusal_log_destroy(struct refusal_log *log);

/* Whether a verdict's reason is a refusal: admission, a full table, no
 * server, malformed signalling. */
bool refusal_reason(unsigned reason);
/* "admission", "table_full", "no_server", "malformed" (the verdict
 * counters' names); NULL for a reason that is not a refusal. */
const char *refusal_reason_name(unsigned reason);

/* Records v (a refusal_reason) decided at mono_ms (the daemon's clock). */
void refusal_log_record(struct refusal_log *log, const struct verdict *v, uint64_t mono_ms, uint64_t wall_ms);

/* The refusals of the last since_s seconds (1..REFUSAL_WINDOW_S) before
 * now_ms, in whole seconds (the current one and since_s before it): their
 * counts by reason (exact, whatever the ring kept) into
 * counts[VERDICT_REASON_COUNT], and those the ring still holds, newest
 * first, at most max into out. Returns how many were copied. */
unsigned refusal_log_read(struct refusal_log *log, uint64_t now_ms, unsigned since_s,
			  uint64_t counts[VERDICT_REASON_COUNT], struct refusal *out, unsigned max);

#endif
