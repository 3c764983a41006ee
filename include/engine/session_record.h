/* session_record.h - a session as the journal keeps it: what a restarted
 * engine needs to re-create it pinned to its server (key, server, media
 * streams) and the flows it had decided. Pointer-free, fixed-size. */
#ifndef SARA_SESSION_RECORD_H
#define SARA_SESSION_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "dpi/flow_key.h"
#include "dpi/netaddr.h"
#include "engine/config.h"
#include "engine/session_table.h"
#include "engine/signal_facts.h"

struct session_record {
	uint64_t serial;         /* the engine's session serial, kept across a restart */
	uint32_t version;        /* +1 per record of this session: the highest wins */
	uint8_t proto;           /* enum proto_id */
	bool confirmed, key_is_connection, transaction_only;
	bool server_heard;       /* its answers are seen through the gateway */
	uint16_t signalling_s;   /* its own signalling timeout; 0: timeouts.signalling_s */
	int server;              /* the engine's server index; not stored */
	char server_id[SARA_ID_MAX]; /* what is stored: the server by id */
	uint16_t key_len;
	char key[SESSION_KEY_MAX];   /* not NUL-terminated on the wire */
	uint64_t created_ms;     /* the engine's (monotonic) clock */
	struct netaddr peer;     /* the client's signalling address */
	uint8_t stream_count;
	struct session_stream streams[SESSION_MAX_STREAMS];
};

/* A flow a session had decided: a media flow already seen (the kernel may
 * carry it by its connmark), or the session's own signalling connection
 * (RTSP). identity: enum flow_identity (FLOW_SECONDARY or FLOW_SIGNALLING). */
struct session_flow_record {
	uint64_t serial;
	uint8_t identity;
	struct flow_key key;
};

/* A signalling TCP connection pinned to a server with no session of its
 * own (SIP over TCP: every call on it follows it). The kernel cannot keep
 * it: the dispatcher sees one direction of it, so its conntrack entry stays
 * SYN_SENT and marks nothing after the SYN. */
struct connection_record {
	struct flow_key key;
	int server;              /* the engine's server index; not stored */
	char server_id[SARA_ID_MAX]; /* what is stored */
};

/* A server as sessions name it: enough to keep routing a removed server's
 * sessions to it until they end. */
struct server_record {
	char id[SARA_ID_MAX];
	struct netaddr address;
	struct netaddr address6;   /* a dual-stack server's IPv6 address; family 0: none */
	uint32_t mark, table;
};

#endif
