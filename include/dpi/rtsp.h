/* rtsp.h - RTSP 1.0 (RFC 2326) messages and the RTSP 2.0 (RFC 7826)
 * Transport forms, in our own length-bounded parser. */
#ifndef SARA_RTSP_H
#define SARA_RTSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpi/enum_list.h"
#include "dpi/framing.h"
#include "dpi/netaddr.h"

#define RTSP_MAX_MESSAGE 65535
#define RTSP_SESSION_ID_MAX 127
#define RTSP_MAX_TRANSPORTS 4

enum rtsp_method {
	RTSP_METHOD_UNKNOWN = 0,
	RTSP_OPTIONS, RTSP_DESCRIBE, RTSP_ANNOUNCE, RTSP_SETUP, RTSP_PLAY, RTSP_PAUSE,
	RTSP_RECORD, RTSP_TEARDOWN, RTSP_GET_PARAMETER, RTSP_SET_PARAMETER,
	RTSP_REDIRECT, RTSP_PLAY_NOTIFY,
	RTSP_METHOD_COUNT
};

/* One transport spec of a Transport: header. Port pairs are [rtp, rtcp]; a
 * single port "client_port=5000" gives [5000, 5001]. RTSP 2.0 dest_addr /
 * src_addr ("host:port" or ":port", quoted) fill the same fields as
 * destination+client_port / source+server_port. */
struct rtsp_transport {
	bool lower_tcp;      /* RTP/AVP/TCP */
	bool interleaved;    /* media inside the RTSP connection: no new flow */
	bool multicast;
	bool record;         /* mode=record / mode="RECORD" */
	bool has_client_port, has_server_port;
	uint16_t client_port[2];
	uint16_t server_port[2];
	uint8_t interleaved_channel[2];
	struct netaddr destination; /* family 0 if absent */
	struct netaddr source;      /* family 0 if absent */
};

struct rtsp_msg {
	bool is_request;
	enum rtsp_method method;  /* requests */
	unsigned status;          /* responses */
	unsigned version;         /* 10 or 20 */
	uint32_t cseq;
	bool has_cseq;
	char session_id[RTSP_SESSION_ID_MAX + 1]; /* NUL-terminated, without ;timeout= */
	size_t session_id_len;    /* 0 when no Session: header */
	uint32_t session_timeout_s; /* 0 when not given */
	unsigned transport_count;
	unsigned transports_ignored;
	struct rtsp_transport transports[RTSP_MAX_TRANSPORTS];
	size_t message_len;       /* headers + body */
	const uint8_t *body;      /* inside the input, Content-Length bytes */
	size_t body_len;
	bool body_is_sdp;         /* Content-Type: application/sdp */
};

/* What rtsp_parse says, each with its name (rtsp_status_name). */
#define RTSP_STATUS_LIST(X)                                  \
	X(RTSP_OK, "ok")                                     \
	X(RTSP_ERR_EMPTY, "empty")                           \
	X(RTSP_ERR_NOT_RTSP, "not_rtsp")                     \
	X(RTSP_ERR_TRUNCATED, "truncated")                   \
	X(RTSP_ERR_OVERSIZED, "oversized")                   \
	X(RTSP_ERR_BINARY, "binary")                         \
	X(RTSP_ERR_BAD_CONTENT_LENGTH, "bad_content_length") \
	X(RTSP_ERR_DUPLICATE_HEADER, "duplicate_header")     \
	X(RTSP_ERR_BAD_CSEQ, "bad_cseq")                     \
	X(RTSP_ERR_BAD_SESSION, "bad_session")               \
	X(RTSP_ERR_BAD_TRANSPORT, "bad_transport")

enum rtsp_status { RTSP_STATUS_LIST(ENUM_LIST_ID) RTSP_STATUS_COUNT };

/* Parses exactly one message (headers + Content-Length body) at p. */
enum rtsp_status rtsp_parse(const uint8_t *p, size_t len, struct rtsp_msg *out);
const char *rtsp_status_name(enum rtsp_status status);
const char *rtsp_method_name(enum rtsp_method method);

/* framer_fn for an RTSP connection: request/response framed by headers +
 * Content-Length; interleaved "$" ch len16 frames are FRAME_SKIP. */
enum frame_result rtsp_frame(const uint8_t *p, size_t len, size_t max_message, size_t *msg_len);

#endif
