/* signal.h - signalling facts: what one SIP or RTSP message means for the
 * session table, independent of the protocol. The protocol descriptors turn
 * messages into facts; the engine (inbound) and the gateway (outbound,
 * as announcements) apply them. Fixed-size and pointer-free, so a gateway
 * can send them over the wire. */
#ifndef SARA_SIGNAL_H
#define SARA_SIGNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"
#include "engine/counters.h"
#include "dpi/flow_key.h"
#include "dpi/framing.h"
#include "dpi/netaddr.h"

enum proto_id { PROTO_NONE = 0, PROTO_SIP, PROTO_RTSP, PROTO_COUNT };

#define SESSION_KEY_MAX 128  /* bytes, including room for a NUL */
#define SIGNAL_MAX_STREAMS 8

enum media_op {
	MEDIA_NONE = 0,
	MEDIA_REPLACE, /* SIP SDP: this side's streams are exactly these (by m= index) */
	MEDIA_MERGE,   /* RTSP SETUP: add or update streams, matched by client RTP port */
};

/* One media stream as one side describes it: where that side receives RTP
 * and RTCP (it also sends from there with symmetric RTP). RTSP replies also
 * name the other side's ports (peer_*). */
struct signal_stream {
	bool enabled;          /* false: port 0, hold to 0.0.0.0, interleaved, TCP media */
	bool multicast;        /* not pinned: needs no prediction */
	struct netaddr addr;   /* family 0: the signalling peer's address */
	struct netaddr rtcp_addr; /* family 0: RTCP at addr (a=rtcp: may name another) */
	uint16_t rtp_port, rtcp_port;
	uint16_t peer_rtp_port, peer_rtcp_port; /* 0 when unknown */
};

struct signal_facts {
	uint8_t proto;            /* enum proto_id */
	bool is_request;
	uint8_t method;           /* sip_method or rtsp_method */
	uint16_t status;          /* responses */
	uint16_t key_len;         /* 0: no key in the message (RTSP before Session:) */
	char key[SESSION_KEY_MAX];
	bool creates_session;     /* may start a session when the key is unknown */
	bool confirms_session;    /* 2xx to INVITE, ACK, RTSP PLAY/RECORD 2xx */
	bool shows_server_work;   /* an answer only a server that took the session up sends: SIP's
				     to an INVITE above 100 (a 100 is a transaction layer's) */
	bool ends_session;        /* BYE, CANCEL, TEARDOWN, failed initial INVITE */
	bool ends_if_unconfirmed; /* final error to INVITE: ends only a call not yet set up */
	bool transaction_only;    /* OPTIONS, REGISTER, MESSAGE...: ends after its final response */
	bool acknowledges;        /* SIP ACK: completes the transaction of the request it follows */
	uint32_t session_timeout_s; /* RTSP Session: ;timeout= (the server's keep-alive window), 0: none */
	uint8_t media_op;         /* enum media_op */
	uint8_t stream_count;
	uint8_t streams_ignored;  /* described beyond SIGNAL_MAX_STREAMS (not announced) */
	struct signal_stream streams[SIGNAL_MAX_STREAMS];
};

/* Turns one framed message into facts. Returns COUNTER_NONE on success,
 * else the counter of the reason (COUNTER_SIP_TRUNCATED...). */
typedef enum counter_id (*signal_inspect_fn)(const uint8_t *msg, size_t len, struct signal_facts *out);

/* One const descriptor per signalling protocol (STYLE.md practice 5): the
 * engine and the gateway never switch on protocol names. */
struct proto_handler {
	enum proto_id id;
	const char *name;             /* "sip", "rtsp" */
	bool tcp_only;                /* RTSP: sessions follow the control connection */
	/* How long a request that ends a session (SIP BYE, CANCEL) may go
	 * unanswered and be retransmitted: SIP's Timer F, 64 T1 = 32 s
	 * (RFC 3261 17.1.2.2); 0 when its protocol does not retransmit. */
	uint32_t ending_request_timeout_ms;
	size_t max_message;
	framer_fn frame;
	signal_inspect_fn inspect;
	bool (*is_port)(const struct sara_config *cfg, uint16_t port);
};

extern const struct proto_handler proto_sip;
extern const struct proto_handler proto_rtsp;

/* The handler for a packet to (or from) this port, or NULL. */
const struct proto_handler *proto_for_port(const struct sara_config *cfg, uint8_t l4, uint16_t port);
const struct proto_handler *proto_by_id(enum proto_id id);
const char *proto_name(enum proto_id id);

/* An announcement: facts learned by the gateway from one outbound message,
 * and the signalling flow it travelled on, oriented inbound (client -> VIP). */
struct announcement {
	struct flow_key conn;
	struct signal_facts facts;
};

#endif
