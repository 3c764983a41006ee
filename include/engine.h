/* engine.h - sara's decision engine: no I/O. Adapters (NFQUEUE, pcap
 * replay, tests) feed it inbound IP packets and gateway announcements; it
 * answers a verdict per packet (DESIGN.md section 4). */
#ifndef SARA_ENGINE_H
#define SARA_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "flow_key.h"
#include "signal.h"

#define ENGINE_NO_SERVER (-1)

enum verdict_action { VERDICT_ACCEPT = 0, VERDICT_DROP };

/* The paper's identity flag (and what sara adds for flows it cannot tie to
 * a session). */
enum flow_identity {
	FLOW_SIGNALLING = 0,
	FLOW_ANNOUNCED,      /* predicted from signalling, not seen yet */
	FLOW_SECONDARY,      /* an announced flow that has been seen */
	FLOW_UNPREDICTED,    /* to a VIP, no session claims it */
};

enum flow_status { FLOW_NEW = 0, FLOW_ESTABLISHED, FLOW_INACTIVE };

/* Why the verdict is what it is. */
enum verdict_reason {
	REASON_SESSION = 0,     /* the flow's session decides */
	REASON_CONNECTION,      /* a TCP connection pinned before its session is known */
	REASON_UNPREDICTED,     /* no session: placed by hash of the source address */
	REASON_NOT_VIP,         /* not addressed to the cluster: passed unmarked */
	REASON_NOT_IP,          /* undecodable: passed or dropped by the malformed policy */
	REASON_FRAGMENT_HELD,   /* an IP fragment held for reassembly */
	REASON_MALFORMED,       /* bad signalling, no session to follow */
	REASON_TABLE_FULL,
	REASON_NO_SERVER,       /* no server available */
	REASON_ADMISSION,       /* refused by admission control */
};

struct verdict {
	uint8_t action;          /* enum verdict_action */
	uint8_t identity;        /* enum flow_identity */
	uint8_t reason;          /* enum verdict_reason */
	bool new_flow;           /* first packet of this flow the engine has seen */
	int server;              /* index into cfg->servers, or ENGINE_NO_SERVER */
	uint32_t mark;           /* that server's fwmark, 0 for none */
	uint64_t session;        /* session serial (never reused), 0 for none */
	struct flow_key key;     /* the packet's flow (zero for held fragments) */
};

/* A snapshot of a session, for reports and the control socket. */
struct session_info {
	uint64_t serial;
	uint8_t proto;           /* enum proto_id */
	char key[SESSION_KEY_MAX];
	int server;
	bool confirmed, ending;
	uint32_t flow_count;
	uint64_t created_ms, last_seen_ms;
};

/* Told when the engine forgets a media flow (one the kernel may forward by
 * connmark: secondary or unpredicted) or a session (expiry, end, purge), so
 * that sarad can clear connmarks. Optional. */
struct engine_hooks {
	void *ctx;
	void (*flow_removed)(void *ctx, const struct flow_key *key, int server);
	void (*session_removed)(void *ctx, const struct session_info *session);
	/* Asked when a decided media flow has been idle for its timeout. Live,
	 * its packets stay in the kernel (connmark fast path) and never reach
	 * the engine: return true while the kernel still carries the flow (its
	 * conntrack entry exists), and the flow and its session are kept. */
	bool (*flow_active)(void *ctx, const struct flow_key *key, int server);
};

struct engine_stats {
	uint64_t packets, bytes;
	uint64_t flows_created, sessions_created, sessions_ended, sessions_expired;
	uint64_t flows_expired, predictions_made, predictions_hit;
	uint32_t flows_in_use, flows_capacity, sessions_in_use, sessions_capacity;
	uint32_t tcp_streams_in_use;
	size_t memory_bytes;     /* everything the engine reserved */
};

struct engine;

/* cfg is copied. now_ms is the adapter's monotonic clock. */
struct engine *engine_create(const struct sara_config *cfg, const struct engine_hooks *hooks,
			     uint64_t now_ms, char *err, size_t err_size);
void engine_destroy(struct engine *engine);

/* One inbound IP datagram (no link layer). */
void engine_packet(struct engine *engine, const uint8_t *ip, size_t len, uint64_t now_ms,
		   struct verdict *out);
/* A batch of inbound datagrams (NFQUEUE hands packets over in batches):
 * the same verdicts as engine_packet on each in turn, with the batch's
 * flow-table cache misses overlapped by prefetching. */
#define ENGINE_BATCH_MAX 32
struct engine_input { const uint8_t *ip; size_t len; };
void engine_packet_batch(struct engine *engine, const struct engine_input *in, size_t count,
			 uint64_t now_ms, struct verdict *out);
/* Facts the gateway learned from outbound signalling. */
void engine_announce(struct engine *engine, const struct announcement *ann, uint64_t now_ms);
/* Runs timers (expiry, linger, purge); engine_packet calls it too. */
void engine_advance(struct engine *engine, uint64_t now_ms);

bool engine_session_info(const struct engine *engine, uint64_t serial, struct session_info *out);
void engine_get_stats(const struct engine *engine, struct engine_stats *out);
/* Calls fn for every non-zero named counter (drops, malformed reasons...). */
void engine_foreach_counter(const struct engine *engine,
			    void (*fn)(void *ctx, const char *name, uint64_t value), void *ctx);
/* Server availability, for drain and failure (sessions keep their server). */
void engine_set_server_available(struct engine *engine, unsigned server, bool available);
const struct sara_config *engine_config(const struct engine *engine);

const char *flow_identity_name(enum flow_identity identity);
const char *verdict_reason_name(enum verdict_reason reason);

#endif
