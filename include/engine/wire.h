/* wire.h - authenticated UDP control messages between sara programs
 * (gateway announcements, agent reports): a fixed header, a body,
 * and a libsodium crypto_auth tag over both. Receivers reject forged,
 * replayed and stale messages and say which. */
#ifndef SARA_WIRE_H
#define SARA_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpi/enum_list.h"
#include "engine/counters.h"

#define WIRE_MAGIC 0x53415241u   /* "SARA" */
#define WIRE_VERSION 1
#define WIRE_HEADER_SIZE 28      /* magic u32, version u8, type u8, body_len u16,
				  * sender u32, seq u64, time_ms u64; big-endian */
#define WIRE_TAG_SIZE 32         /* crypto_auth_BYTES (HMAC-SHA-512-256) */
#define WIRE_KEY_SIZE 32         /* crypto_auth_KEYBYTES */
#define WIRE_MAX_MESSAGE 1400    /* one unfragmented datagram */
#define WIRE_MAX_BODY (WIRE_MAX_MESSAGE - WIRE_HEADER_SIZE - WIRE_TAG_SIZE)
#define WIRE_MAX_SENDERS 256     /* replay state is kept per sender id */
#define WIRE_REPLAY_WINDOW 64    /* out-of-order sequence numbers accepted */

/* WIRE_OC_STATE: a dispatcher's admission state for RFC 7339 overload
 * control, to the gateways (engine/overload_control.h). */
/* WIRE_SESSION_REPLICA: a dispatcher's session decision to its peers, through
 * Redis (engine/replica_codec.h); never on a UDP socket. */
enum wire_type { WIRE_ANNOUNCE = 1, WIRE_HEARTBEAT = 2, WIRE_LOAD = 3, WIRE_OC_STATE = 4, WIRE_SESSION_REPLICA = 5 };

struct wire_header {
	uint8_t type;        /* enum wire_type */
	uint16_t body_len;
	uint32_t sender;     /* gateway or agent id */
	uint64_t seq;        /* strictly increasing per sender; a sender starts at
			      * its wall clock in microseconds, so a restarted
			      * sender is not taken for a replay */
	uint64_t time_ms;    /* sender's wall clock (ms since the epoch) */
};

struct wire_key { uint8_t bytes[WIRE_KEY_SIZE]; };

/* Per-sender replay window (highest sequence seen plus a bitmap). */
struct wire_replay_entry { uint32_t sender; bool used; uint64_t highest; uint64_t window; };
struct wire_replay { struct wire_replay_entry senders[WIRE_MAX_SENDERS]; };

/* What wire_open says, each with the counter of a message it rejects. */
#define WIRE_VERDICT_LIST(X)                                       \
	X(WIRE_OK, COUNTER_NONE)                                   \
	/* shorter than header + tag, or body_len disagrees */     \
	X(WIRE_TRUNCATED, COUNTER_WIRE_TRUNCATED)                  \
	/* not a sara message, or another version */               \
	X(WIRE_BAD_MAGIC, COUNTER_WIRE_BAD_MAGIC)                  \
	/* authentication tag does not verify */                   \
	X(WIRE_FORGED, COUNTER_WIRE_FORGED)                        \
	/* sequence number seen before or older than the window */ \
	X(WIRE_REPLAYED, COUNTER_WIRE_REPLAYED)                    \
	/* timestamp further than max_skew from our clock */       \
	X(WIRE_STALE, COUNTER_WIRE_STALE)                          \
	X(WIRE_TOO_MANY_SENDERS, COUNTER_WIRE_TOO_MANY_SENDERS)

enum wire_verdict { WIRE_VERDICT_LIST(ENUM_LIST_ID) WIRE_VERDICT_COUNT };

/* The tag: HMAC-SHA-512-256 (crypto_auth) for the UDP channel; keyed
 * BLAKE2b-256 (crypto_generichash) where every record is sealed on its own
 * at a high rate (session replication): several times cheaper here. */
enum wire_mac { WIRE_MAC_HMAC = 0, WIRE_MAC_BLAKE2B };

/* Header + body + tag into out. Returns the message length, 0 when the body
 * is too long or cap too small. */
size_t wire_seal(const struct wire_key *key, const struct wire_header *hdr, const uint8_t *body,
		 uint8_t *out, size_t cap);
size_t wire_seal_mac(enum wire_mac mac, const struct wire_key *key, const struct wire_header *hdr,
		     const uint8_t *body, uint8_t *out, size_t cap);
/* Checks one received datagram. On WIRE_OK fills hdr and points *body into
 * msg; the replay state is updated only for authentic, fresh messages.
 * replay NULL: no replay nor clock check (a stored state read back, whose
 * age and order say nothing: the record's own version decides). */
enum wire_verdict wire_open(const struct wire_key *key, struct wire_replay *replay, const uint8_t *msg,
			    size_t len, uint64_t now_wall_ms, uint32_t max_skew_ms, struct wire_header *hdr,
			    const uint8_t **body);
enum wire_verdict wire_open_mac(enum wire_mac mac, const struct wire_key *key, struct wire_replay *replay,
				const uint8_t *msg, size_t len, uint64_t now_wall_ms, uint32_t max_skew_ms,
				struct wire_header *hdr, const uint8_t **body);
/* The counter of a rejected message (COUNTER_WIRE_FORGED...); COUNTER_NONE
 * for WIRE_OK and verdicts out of range. */
enum counter_id wire_verdict_counter(enum wire_verdict verdict);

#endif
