/* sip.h - what sara needs from a SIP message (RFC 3261): kind, method or
 * status, Call-ID, and the media of an SDP body. libosip2 does the parsing,
 * behind our own length-bounded pre-checks. */
#ifndef SARA_SIP_H
#define SARA_SIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpi/enum_list.h"
#include "dpi/framing.h"
#include "dpi/sdp.h"

#define SIP_MAX_MESSAGE 65535 /* bytes, headers + body */
#define SIP_CALL_ID_MAX 255   /* longer Call-IDs are rejected */

enum sip_method {
	SIP_METHOD_UNKNOWN = 0,
	SIP_INVITE, SIP_ACK, SIP_BYE, SIP_CANCEL, SIP_PRACK, SIP_UPDATE,
	SIP_OPTIONS, SIP_REGISTER, SIP_SUBSCRIBE, SIP_NOTIFY, SIP_INFO,
	SIP_REFER, SIP_MESSAGE, SIP_PUBLISH,
	SIP_METHOD_COUNT
};

struct sip_msg {
	bool is_request;
	enum sip_method method;   /* request method; for a response, the CSeq method */
	unsigned status;          /* response status code, 0 for requests */
	uint32_t cseq;
	char call_id[SIP_CALL_ID_MAX + 1]; /* NUL-terminated copy */
	size_t call_id_len;
	size_t message_len;       /* bytes of this message (headers + body) */
	bool has_sdp;             /* body is application/sdp and parsed into sdp */
	struct sdp_info sdp;
	enum sdp_status sdp_status; /* SDP_OK when has_sdp; the reason otherwise if an SDP body failed */
};

/* What sip_parse says, each with its name (sip_status_name). */
#define SIP_STATUS_LIST(X)                                                           \
	X(SIP_PARSE_OK, "ok")                                                        \
	X(SIP_ERR_EMPTY, "empty")                                                    \
	/* first line is not a SIP request or status line */                         \
	X(SIP_ERR_NOT_SIP, "not_sip")                                                \
	/* no end of headers, or body shorter than Content-Length */                 \
	X(SIP_ERR_TRUNCATED, "truncated")                                            \
	/* > SIP_MAX_MESSAGE */                                                      \
	X(SIP_ERR_OVERSIZED, "oversized")                                            \
	/* NUL / control bytes in the header section */                              \
	X(SIP_ERR_BINARY, "binary")                                                  \
	/* not a number, or disagrees with the bytes present */                      \
	X(SIP_ERR_BAD_CONTENT_LENGTH, "bad_content_length")                          \
	/* Call-ID, CSeq or Content-Length twice, differently; Content-Type twice */ \
	X(SIP_ERR_DUPLICATE_HEADER, "duplicate_header")                              \
	X(SIP_ERR_NO_CALL_ID, "no_call_id")                                          \
	X(SIP_ERR_CALL_ID_TOO_LONG, "call_id_too_long")                              \
	X(SIP_ERR_BAD_CSEQ, "bad_cseq")                                              \
	/* libosip2 refused the message */                                           \
	X(SIP_ERR_PARSE, "parse")

enum sip_status { SIP_STATUS_LIST(ENUM_LIST_ID) SIP_STATUS_COUNT };

/* Parses exactly one message in [p, p+len). A UDP datagram is one message;
 * over TCP, sip_frame() delimits them first. On failure out is zeroed, except
 * that call_id is kept when our own scan read one unambiguously and the
 * refusal was about another header (SIP_ERR_PARSE, _DUPLICATE_HEADER,
 * _BAD_CSEQ), so the message can still follow its session. */
enum sip_status sip_parse(const uint8_t *p, size_t len, struct sip_msg *out);
/* The same for the dispatcher's packet path: a request other than INVITE
 * with no body is read from our own bounded scan without libosip2 (whose
 * parse and allocations are most of a message's cost), when its Call-ID
 * is one plain word and its CSeq names the request's method; anything else
 * is sip_parse. Such a request is accepted even where libosip2 would have
 * refused another header (From, To, Via): the server it reaches judges. */
enum sip_status sip_parse_fast(const uint8_t *p, size_t len, struct sip_msg *out);
const char *sip_status_name(enum sip_status status);
const char *sip_method_name(enum sip_method method);
/* RFC 3261 token character (methods, header names, parameters). */
bool sip_is_token_char(uint8_t c);

/* framer_fn for SIP over TCP (RFC 3261 18.3): headers up to CRLFCRLF, then
 * Content-Length (or compact "l:") bytes of body; CRLF keep-alives skipped. */
enum frame_result sip_frame(const uint8_t *p, size_t len, size_t max_message, size_t *msg_len);


#endif
