/* engine.h - sara's decision engine: no I/O. Adapters (NFQUEUE, pcap
 * replay, tests) feed it inbound IP packets and gateway announcements; it
 * answers a verdict per packet (DESIGN.md section 4). */
#ifndef SARA_ENGINE_H
#define SARA_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"
#include "engine/counters.h"
#include "engine/session_table.h"
#include "dpi/flow_key.h"
#include "engine/signal_facts.h"

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
	VERDICT_REASON_COUNT
};

/* What the adapter should answer a refused packet with, besides dropping it
 * (admission.reject, admission.rtsp_reject). */
enum verdict_reply {
	REPLY_NONE = 0,
	REPLY_SIP_503,           /* a SIP request over UDP: 503 with Retry-After */
	REPLY_TCP_RESET,         /* the SYN of a new RTSP connection: RST */
};

struct verdict {
	uint8_t action;          /* enum verdict_action */
	uint8_t identity;        /* enum flow_identity */
	uint8_t reason;          /* enum verdict_reason */
	bool new_flow;           /* first packet of this flow the engine has seen */
	uint8_t reply;           /* enum verdict_reply, with VERDICT_DROP only */
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
	struct netaddr client;   /* the client's signalling address; family 0: not known */
	struct session_pick pick; /* how server was chosen (session_table.h) */
	uint32_t slot;           /* its place in the table: engine_session_flows finds it there */
};

/* One flow of a session, for the control socket. */
struct flow_info {
	struct flow_key key;     /* a wildcard prediction's unknown end is zero */
	uint8_t identity;        /* enum flow_identity */
	uint8_t status;          /* enum flow_status */
	uint8_t match;           /* enum flow_match (flow_table.h): which ends of key are known */
	int server;
	uint64_t packets;        /* packets the engine decided on it (a media flow's later
				  * packets stay in the kernel, by connmark, and are not seen) */
	uint64_t last_seen_ms;
	bool shared;             /* the signalling flow its messages came on, which it does not
				  * own: packets counts every session's on it */
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
	/* A seen flow moved to another server (its server failed): the
	 * kernel's connmark for it must follow (mark: the new server's). */
	void (*flow_moved)(void *ctx, const struct flow_key *key, int server, uint32_t mark);
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
struct admission;

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
struct engine_input {
	const uint8_t *ip;
	size_t len;
	/* The packet's connmark, 0 for none: a TCP signalling segment met in
	 * the middle of its connection (sarad restarted) stays on the server
	 * it names. */
	uint32_t ct_mark;
};
void engine_packet_batch(struct engine *engine, const struct engine_input *in, size_t count,
			 uint64_t now_ms, struct verdict *out);
/* Facts the gateway learned from outbound signalling. */
void engine_announce(struct engine *engine, const struct announcement *ann, uint64_t now_ms);
/* Runs timers (expiry, linger, purge); engine_packet calls it too. */
void engine_advance(struct engine *engine, uint64_t now_ms);

bool engine_session_info(const struct engine *engine, uint64_t serial, struct session_info *out);
/* Calls fn for every session in table order until fn returns false
 * (the control socket's session listing). Linear in the table's capacity. */
void engine_foreach_session(const struct engine *engine,
			    bool (*fn)(void *ctx, const struct session_info *session), void *ctx);
/* The sessions whose key is key[0..key_len), at most one per protocol, in
 * protocol order, at most max into out. Returns how many were found. One
 * index lookup per protocol. */
unsigned engine_find_sessions(const struct engine *engine, const char *key, size_t key_len,
			      struct session_info *out, unsigned max);
/* The flows of session (a snapshot from engine_foreach_session or
 * engine_find_sessions): those it owns, newest first, then the shared
 * signalling flow its latest message came on, if it still exists; at most
 * max into out. Returns how many there are (possibly more than max), 0
 * when the session has ended since. */
uint32_t engine_session_flows(const struct engine *engine, const struct session_info *session,
			      struct flow_info *out, uint32_t max);

/* One server as the selector sees it, for sara-ctl servers. */
struct engine_server_info {
	bool available;          /* may take new sessions */
	uint32_t sessions;       /* sessions pinned to it now */
	double weight;           /* configured */
	double weight_factor;    /* slow start: 0..1 of the weight in use now */
	double load_estimate;    /* shell estimate 0..1, or -1 without load reports */
};
bool engine_server_info(const struct engine *engine, unsigned server, struct engine_server_info *out);
void engine_get_stats(const struct engine *engine, struct engine_stats *out);
/* The engine's event counters (COUNTER_SCOPE_ENGINE: drops, malformed
 * reasons...); read them under the lock that serialises the engine. */
const struct counter_set *engine_counters(const struct engine *engine);
/* Server availability, for drain (sessions keep their server). */
void engine_set_server_available(struct engine *engine, unsigned server, bool available);
/* A server failed: it gets no new sessions, and its sessions (with their
 * flows) and its sessionless flows move to the remaining servers, spread
 * evenly by sessions per weight; hooks.flow_moved is told about every seen
 * flow. Returns the number of sessions moved (0 when no server is left:
 * they stay, and fail open). */
uint32_t engine_server_failed(struct engine *engine, unsigned server);
/* The same in slices, so that the packet path waits for one slice at a
 * time: the server gets no new sessions from now on, and its sessions and
 * flows are queued to move; engine_repin_step moves them, looking at most
 * at slots table slots and stopping after moves flow moves (a session's
 * flows move together). A packet of a session or flow not moved yet moves
 * it first, so no verdict names the failed server. Another failure during
 * the sweep starts it over. engine_repin_step returns the sessions moved
 * and sets *done once none is left to move. */
void engine_server_failing(struct engine *engine, unsigned server);
uint32_t engine_repin_step(struct engine *engine, uint32_t slots, uint32_t moves, bool *done);
bool engine_repin_pending(const struct engine *engine);
/* A slice's size, table slots and flow moves alike: about 1 ms at 250 000
 * sessions (tests/bench/bench_engine --only repin). */
#define ENGINE_REPIN_SLICE 32768u
/* Slow start: the share of its weight a joining server may use (0..1). */
void engine_set_server_weight_factor(struct engine *engine, unsigned server, double factor);
/* A server's combined load (0..1) from its agent: one shell sample. */
void engine_report_server_load(struct engine *engine, unsigned server, double load);
/* Once per agents interval: the cluster load of admission control from
 * the available servers' shell estimates (DESIGN.md sections 6 and 7),
 * and the dispatcher's own load (0..1). */
void engine_update_admission(struct engine *engine, uint64_t now_ms, double dispatcher_load);
/* A configuration reload (SIGHUP): applies cfg's live keys (timeouts,
 * selection algorithm, weights, admission, when_full, malformed; see
 * config_reload_check) and keeps every session, flow and load. False, with
 * err, when cfg is invalid or changes a key that needs a restart; the
 * running configuration then stays. New timeouts apply to timers set from
 * now on. */
bool engine_reconfigure(struct engine *engine, const struct sara_config *cfg, char *err, size_t err_size);
/* engine_reconfigure, saying what became of the servers: plan->running is
 * the engine's new running table (server_slots.h). A server the file no
 * longer lists retires: no new sessions, its sessions keep it until they
 * end; one the file adds starts with fresh state (the adapter gives it slow
 * start). */
struct slot_plan;
bool engine_apply_config(struct engine *engine, const struct sara_config *cfg, struct slot_plan *plan, char *err,
			 size_t err_size);
const struct admission *engine_admission(const struct engine *engine);
const struct sara_config *engine_config(const struct engine *engine);

const char *flow_identity_name(enum flow_identity identity);
const char *flow_status_name(enum flow_status status);
/* "exact", "from-source", "to-dest-from-addr", "to-dest" (enum flow_match). */
const char *flow_match_name(unsigned match);
/* "selected", "connection", "moved" (enum session_pick_how). */
const char *session_pick_how_name(unsigned how);
/* The counter of a verdict (COUNTER_SCOPE_VERDICT_ACCEPT or _DROP);
 * COUNTER_NONE when out of range. */
enum counter_id verdict_counter(enum verdict_action action, enum verdict_reason reason);

#endif
