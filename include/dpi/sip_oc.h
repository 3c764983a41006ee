/* sip_oc.h - RFC 7339 overload control written into one SIP response: when
 * the top Via (the client's own) advertises a valueless "oc", that Via gets
 * the server's oc, oc-validity, oc-seq and oc-algo="loss" (the loss-based
 * algorithm, RFC 7339 section 5.2). Pure and bounded; the body and
 * Content-Length are untouched. */
#ifndef SARA_SIP_OC_H
#define SARA_SIP_OC_H

#include <stddef.h>
#include <stdint.h>

#include "dpi/enum_list.h"

#define SIP_OC_MAX_REDUCTION 100
/* The most "oc=N;oc-validity=V;oc-seq=S.mmm;oc-algo="loss"" adds to a
 * message (it replaces a bare "oc" and may drop the client's oc-algo). */
#define SIP_OC_GROWTH 80

struct sip_oc_feedback {
	uint32_t reduction;    /* oc: percent of its requests the client should shed, 0..100 */
	uint32_t validity_ms;  /* oc-validity */
	uint64_t seq_ms;       /* oc-seq, written as seconds "." milliseconds */
};

/* What sip_oc_add says, each with its name (sip_oc_result_name). */
#define SIP_OC_RESULT_LIST(X)                                                \
	X(SIP_OC_ADDED, "added")                                             \
	/* the first line is not a SIP/2.0 status line */                    \
	X(SIP_OC_NOT_RESPONSE, "not_response")                               \
	/* no Via before the end of the headers */                           \
	X(SIP_OC_NO_VIA, "no_via")                                           \
	/* the headers or the top Via do not scan, the top Via repeats oc or \
	 * oc-algo, or the result does not read back as a SIP response */    \
	X(SIP_OC_MALFORMED, "malformed")                                     \
	/* the top Via has no oc: the client does not take part */           \
	X(SIP_OC_NOT_ADVERTISED, "not_advertised")                           \
	/* the top Via's oc has a value, or oc-validity / oc-seq is there:   \
	 * a server on the path answered already */                          \
	X(SIP_OC_ALREADY_SET, "already_set")                                 \
	/* the client's oc-algo offers no "loss" */                          \
	X(SIP_OC_NO_LOSS, "no_loss")                                         \
	/* the result does not fit the output buffer */                      \
	X(SIP_OC_TOO_LONG, "too_long")                                       \
	/* reduction above 100, or seq_ms past 12 digits of seconds */       \
	X(SIP_OC_BAD_FEEDBACK, "bad_feedback")

enum sip_oc_result { SIP_OC_RESULT_LIST(ENUM_LIST_ID) SIP_OC_RESULT_COUNT };

/* Writes into out[0..cap) the response msg[0..len) with the top Via's bare
 * "oc" replaced by "oc=N;oc-validity=V;oc-seq=S.mmm;oc-algo="loss"" and
 * the client's own oc-algo offer (if any, it must list "loss") removed;
 * every other byte is copied as it was (compact "v:", several values in
 * one Via line, folds). *out_len is set on SIP_OC_ADDED only; any other
 * result leaves nothing usable in out. The result is checked with
 * sip_parse() before it is returned. Never reads outside msg. */
enum sip_oc_result sip_oc_add(const uint8_t *msg, size_t len, const struct sip_oc_feedback *fb, uint8_t *out,
			      size_t cap, size_t *out_len);

/* "added", "not_response", ...; "?" out of range. */
const char *sip_oc_result_name(enum sip_oc_result result);

#endif
