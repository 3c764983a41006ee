/* sealed_channel.h - the cluster's authenticated UDP messages (engine/wire.h
 * on a socket): a sender that stamps and seals, a receiver that opens,
 * checks and hands each accepted message to its owner. Agents' reports and
 * the gateway's announcements both travel on it. */
#ifndef SARA_SEALED_CHANNEL_H
#define SARA_SEALED_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpi/netaddr.h"
#include "engine/config.h"
#include "engine/counters.h"
#include "engine/wire.h"
#include "io/log.h"

/* Every active dispatcher hears every sender (ha.dispatchers). */
#define SEALED_MAX_DESTINATIONS 8

struct sealed_sender {
	int fd;
	unsigned to_count;
	struct endpoint to[SEALED_MAX_DESTINATIONS];
	struct wire_key key;
	uint32_t sender;
	uint64_t seq;                /* starts at the wall clock in microseconds */
	uint64_t sent, send_errors;  /* per datagram; a full socket buffer counts, never blocks */
	bool borrowed;               /* fd is another's (sealed_sender_borrow): close leaves it open */
};

/* A UDP socket towards `to`, sealing with key as sender_id. False with err
 * set ("socket: REASON", "no address to send to"). */
bool sealed_sender_open(struct sealed_sender *s, const struct endpoint *to, const struct wire_key *key,
			uint32_t sender_id, char *err, size_t err_size);
/* The same towards count destinations of one address family (1 to
 * SEALED_MAX_DESTINATIONS): each message goes to every one of them. */
bool sealed_sender_open_many(struct sealed_sender *s, const struct endpoint *to, unsigned count,
			     const struct wire_key *key, uint32_t sender_id, char *err, size_t err_size);
/* The same towards the dispatchers that take what is sent to listen
 * (sara_config_dispatcher_endpoints); false with err "PATH: nowhere to
 * WHAT (SETTING unset or a wildcard, no ha.dispatchers)" when there are none. */
bool sealed_sender_open_dispatchers(struct sealed_sender *s, const struct sara_config *cfg,
				    const struct endpoint *listen, const char *setting, const char *what,
				    const struct wire_key *key, uint32_t sender_id, char *err, size_t err_size);
/* Seals type + body (at most WIRE_MAX_BODY bytes) once, with the next
 * sequence number and the wall clock, and sends it to every destination
 * without blocking (each receiver keeps its own replay window). True when
 * every destination's send went out. */
bool sealed_send(struct sealed_sender *s, uint8_t type, const uint8_t *body, size_t body_len);
void sealed_sender_close(struct sealed_sender *s);
/* A sender on another's socket, with no destination of its own: sarad
 * answers its gateways from the socket they send to (gateway.listen), so
 * the state leaves from the address they know. The fd stays the owner's. */
void sealed_sender_borrow(struct sealed_sender *s, int fd, const struct wire_key *key, uint32_t sender_id);
/* Seals type + body with the next sequence number and sends it to `to`
 * alone, without blocking. */
bool sealed_send_to(struct sealed_sender *s, const struct endpoint *to, uint8_t type, const uint8_t *body,
		    size_t body_len);

/* Why a datagram was refused: a wire verdict (forged, replayed, stale...),
 * or SEALED_OVERSIZED for one longer than any sealed message. */
#define SEALED_OVERSIZED WIRE_VERDICT_COUNT
/* The counter of a refusal reason (COUNTER_WIRE_FORGED...,
 * COUNTER_OVERSIZED); COUNTER_NONE for WIRE_OK and reasons out of range. */
enum counter_id sealed_reject_counter(int reason);

/* An owner's account of the messages it refused (the receiver's refusals
 * and its own): counted by reason, logged at most 5 lines per 10 s. */
struct sealed_rejects {
	const char *event;           /* the log event: "agent_report_rejected" */
	struct counter_set counts;
	uint64_t total;
	struct log_limit log;
};

/* event (static storage) names the log event and its rate limit. */
void sealed_rejects_init(struct sealed_rejects *r, const char *event);
/* Counts reason and logs "event=EVENT from=ADDR reason=REASON" (rate-limited). */
void sealed_rejects_add(struct sealed_rejects *r, enum counter_id reason, const struct endpoint *from,
			uint64_t now_ms);

struct sealed_message {
	struct wire_header hdr;
	const uint8_t *body;         /* hdr.body_len bytes, valid during the call */
	struct endpoint from;
};

struct sealed_receiver_handler {
	void (*accept)(void *ctx, const struct sealed_message *msg);
	/* reason: an enum wire_verdict, or SEALED_OVERSIZED */
	void (*reject)(void *ctx, int reason, const struct endpoint *from);
	void *ctx;
};

struct sealed_receiver {
	int fd;
	struct wire_key key;
	struct wire_replay *replay;  /* per-sender windows (large): heap */
	uint64_t max_skew_ms;
	uint64_t received, accepted, rejected;
	bool borrowed;               /* fd is another's (sealed_receiver_attach) */
};

/* Binds a UDP socket at `at`. False with err set ("bind ADDR: REASON"). */
bool sealed_receiver_open(struct sealed_receiver *r, const struct endpoint *at, const struct wire_key *key,
			  uint64_t max_skew_ms, char *err, size_t err_size);
/* Reads what is waiting (at most max datagrams, never blocking) and hands
 * each to the handler. Returns the number read, or -1 with err set. */
int sealed_receiver_drain(struct sealed_receiver *r, unsigned max, const struct sealed_receiver_handler *h,
			  char *err, size_t err_size);
void sealed_receiver_close(struct sealed_receiver *r);
/* A receiver on another's socket (sara-gw hears the dispatchers' states
 * on the socket it announces from). False with err set when out of
 * memory. Close leaves the fd open. */
bool sealed_receiver_attach(struct sealed_receiver *r, int fd, const struct wire_key *key, uint64_t max_skew_ms,
			    char *err, size_t err_size);

/* A close-on-exec UDP socket bound to at (SO_REUSEADDR), or -1 with err
 * set to "socket: REASON" or "bind ADDR: REASON". */
int udp_bind(const struct endpoint *at, char *err, size_t err_size);

#endif
