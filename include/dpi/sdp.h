/* sdp.h - the media facts sara needs from an SDP body (RFC 4566/8866):
 * per m= line the address, the RTP port and the RTCP port. */
#ifndef SARA_SDP_H
#define SARA_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpi/enum_list.h"
#include "dpi/netaddr.h"

#define SDP_MAX_MEDIA 8
#define SDP_MAX_BYTES 16384

enum sdp_direction { SDP_SENDRECV = 0, SDP_SENDONLY, SDP_RECVONLY, SDP_INACTIVE };

struct sdp_stream {
	char type[12];        /* "audio", "video", "application", ... (truncated) */
	bool is_udp;          /* proto RTP/AVP, RTP/SAVP(F), RTP/AVPF, udp... (not TCP/...) */
	uint16_t rtp_port;    /* 0 = stream disabled */
	uint16_t rtcp_port;   /* rtp+1, a=rtcp:, or == rtp_port with rtcp-mux; 0 if disabled */
	bool rtcp_mux;
	struct netaddr addr;  /* media-level c=, else session-level c=; family 0 if none */
	struct netaddr rtcp_addr; /* a=rtcp: address when given, else == addr */
	enum sdp_direction direction; /* media-level a=, else session-level, else sendrecv */
};

struct sdp_info {
	struct netaddr session_addr; /* session-level c=; family 0 if absent */
	unsigned media_count;        /* entries filled in media[] */
	unsigned media_ignored;      /* m= lines beyond SDP_MAX_MEDIA */
	struct sdp_stream media[SDP_MAX_MEDIA];
};

/* What sdp_parse says, each with its name (sdp_status_name). */
#define SDP_STATUS_LIST(X)                                                                  \
	X(SDP_OK, "ok")                                                                     \
	X(SDP_ERR_EMPTY, "empty")                                                           \
	X(SDP_ERR_OVERSIZED, "oversized")     /* > SDP_MAX_BYTES */                         \
	X(SDP_ERR_BINARY, "binary")           /* NUL or control bytes */                    \
	X(SDP_ERR_PARSE, "parse")             /* libosip2's sdp_message_parse refused it */ \
	X(SDP_ERR_BAD_PORT, "bad_port")       /* m= port not a number in 0..65535 */        \
	X(SDP_ERR_BAD_ADDRESS, "bad_address") /* c= address not parseable */                \
	X(SDP_ERR_NO_ADDRESS, "no_address")   /* an enabled m= line with no c= anywhere */

enum sdp_status { SDP_STATUS_LIST(ENUM_LIST_ID) SDP_STATUS_COUNT };

enum sdp_status sdp_parse(const uint8_t *p, size_t len, struct sdp_info *out);
const char *sdp_status_name(enum sdp_status status);

#endif
