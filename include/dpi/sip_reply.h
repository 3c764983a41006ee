/* sip_reply.h - the stateless "503 Service Unavailable" sara sends for a SIP
 * request that admission control refused (RFC 3261 8.2.6, 8.2.7, 21.5.4). */
#ifndef SARA_SIP_REPLY_H
#define SARA_SIP_REPLY_H

#include <stddef.h>
#include <stdint.h>

/* Worst case: the request's copied headers are no longer than the request,
 * plus the status line, the To tag, Retry-After and Content-Length. */
#define SIP_REPLY_OVERHEAD 256

/* Builds, in out[0..cap), a 503 response to the SIP request in
 * [request, request+len): every Via (long or compact "v", several values per
 * line kept as they are) in order, then From, To, Call-ID and CSeq copied,
 * a To tag added when the request has none (derived from the request, so a
 * retransmission gets the same tag, RFC 3261 8.2.7), "Retry-After: N" when
 * retry_after_s > 0, and "Content-Length: 0". Headers come out in their long
 * form with folded values unfolded.
 * Returns the length written, or 0 (out then holds nothing usable) when:
 * the bytes are not a complete SIP request sip_parse() accepts; the request
 * is an ACK (never answered); Via, From, To, Call-ID or CSeq is missing, or
 * From, To, Call-ID or CSeq appears twice; a copied value holds a control
 * byte; the Call-ID holds white space; the To leaves a quote or "<" open;
 * cap is too small; or the reply does not read back as a 503 with the
 * request's Call-ID and CSeq (sip_parse()) and with a Via and a To tag
 * (libosip2), which catches junk libosip2 lets through in a request's To but
 * not in a reply's. Never reads outside the request. */
size_t sip_reply_503(const uint8_t *request, size_t len, uint32_t retry_after_s, uint8_t *out,
		     size_t cap);

#endif
