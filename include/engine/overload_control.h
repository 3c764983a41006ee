/* overload_control.h - RFC 7339 loss-based overload control from SA2C's
 * state: the reduction a dispatcher advertises (oc = round(100 x the
 * refusal probability of new sessions)), its validity and sequence; the
 * sealed body that carries it to the gateways (WIRE_OC_STATE); the
 * gateways a dispatcher sends it to; and a gateway's view of it, fresh for
 * its validity. Pure: the callers pass the clocks. */
#ifndef SARA_OVERLOAD_CONTROL_H
#define SARA_OVERLOAD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpi/netaddr.h"
#include "dpi/sip_oc.h"
#include "engine/counters.h"

/* The body of WIRE_OC_STATE: reduction u8 (0..100), validity_ms u32,
 * seq_ms u64 (the dispatcher's wall clock when the reduction last changed),
 * big-endian, 13 bytes. validity_ms 0: the dispatcher stopped (the gateway
 * adds nothing). */
#define OC_STATE_SIZE 13
#define OC_VALIDITY_MAX_MS 60000   /* admission.oc_validity_ms's bound */

struct oc_state {
	uint8_t reduction;
	uint32_t validity_ms;
	uint64_t seq_ms;
};

size_t oc_state_encode(const struct oc_state *s, uint8_t *out, size_t cap);
/* COUNTER_NONE, or COUNTER_GW_OC_STATE_INVALID for a wrong size, a
 * reduction above 100, a validity above OC_VALIDITY_MAX_MS or a zero
 * sequence; *out is zeroed on failure. */
enum counter_id oc_state_decode(const uint8_t *buf, size_t len, struct oc_state *out);

/* round(100 x p), p clamped to 0..1 (NaN: 100). */
uint8_t oc_reduction(double refusal_probability);

/* ---- the dispatcher's side ---- */

struct oc_source {
	uint32_t validity_ms;   /* admission.oc_validity_ms; 0: off */
	bool started;           /* a state went out since the last (re)configuration */
	struct oc_state current;
	uint64_t sent_ms;       /* monotonic: the last time the state was due */
};

/* validity_ms 0 turns it off. A change sends the state at the next update. */
void oc_source_configure(struct oc_source *s, uint32_t validity_ms);
/* The refusal probability of new sessions now. True when the state must
 * go out: the reduction changed (oc-seq then moves to now_wall_ms, never
 * backwards), or validity/2 passed since it last went out. */
bool oc_source_update(struct oc_source *s, double refusal_probability, uint64_t now_mono_ms, uint64_t now_wall_ms);
/* The feedback to write into sarad's own 503s; false when off or before
 * the first update. */
bool oc_source_feedback(const struct oc_source *s, struct sip_oc_feedback *out);

/* The gateways a dispatcher sends its state to: the senders of accepted
 * announcements, at the address they sent from, forgotten after
 * OC_GATEWAY_FORGET_MS without one. */
#define OC_MAX_GATEWAYS 16
#define OC_GATEWAY_FORGET_MS 60000

struct oc_gateway {
	bool used;
	uint32_t sender;
	struct endpoint at;
	uint64_t seen_ms;
};

struct oc_gateways {
	struct oc_gateway g[OC_MAX_GATEWAYS];
};

/* False when the table is full of gateways heard from recently. */
bool oc_gateways_seen(struct oc_gateways *t, uint32_t sender, const struct endpoint *from, uint64_t now_ms);
/* The addresses of the gateways heard from within OC_GATEWAY_FORGET_MS. */
unsigned oc_gateways_list(const struct oc_gateways *t, uint64_t now_ms, struct endpoint *out, unsigned cap);

/* ---- the gateway's side ---- */

#define OC_MAX_DISPATCHERS 8

struct oc_view_entry {
	bool used;
	uint32_t sender;
	struct oc_state state;
	uint64_t received_ms;   /* monotonic */
};

struct oc_view {
	struct oc_view_entry d[OC_MAX_DISPATCHERS];
};

/* One dispatcher's state, as received at now_ms. COUNTER_NONE when taken;
 * COUNTER_GW_OC_STATE_OUT_OF_ORDER for a sequence older than the one held
 * (an equal one refreshes it); COUNTER_GW_OC_STATE_TOO_MANY when every
 * entry holds a fresh state of another dispatcher. */
enum counter_id oc_view_take(struct oc_view *v, uint32_t sender, const struct oc_state *s, uint64_t now_ms);
/* The feedback to write now: of the states received within their validity,
 * the one asking for the largest reduction. False when there is none. */
bool oc_view_feedback(const struct oc_view *v, uint64_t now_ms, struct sip_oc_feedback *out);

/* The gateway's counter of a rewrite's result (COUNTER_GW_OC_ADDED,
 * COUNTER_GW_OC_NOT_ADVERTISED...); COUNTER_NONE out of range. */
enum counter_id oc_result_counter(enum sip_oc_result result);

#endif
