/* replay.h - one sara-replay run: inbound packets through the engine and
 * recorded where they went, outbound ones through the gateway. No file I/O. */
#ifndef SARA_REPLAY_REPLAY_H
#define SARA_REPLAY_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpi/packet.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "engine/gateway.h"
#include "engine/hash.h"
#include "io/pcap_source.h"
#include "sara-replay/observations.h"
#include "sara-replay/records.h"

enum replay_mode {
	REPLAY_PLAIN,     /* FILEs only: placement is the engine's verdict */
	REPLAY_MERGED,    /* --observed only: the merged captures are replayed */
	REPLAY_MATCHED,   /* FILEs (sent) + --observed: each sent packet is looked up */
};

enum packet_direction {
	DIRECTION_UNDECODED,  /* not an IP packet (or fragment) packet_decode reads */
	DIRECTION_INBOUND,    /* to a VIP from outside the cluster: the dispatcher's */
	DIRECTION_OUTBOUND,   /* from a VIP or server to outside: the gateway's */
	DIRECTION_OTHER,      /* unrelated, or inside the cluster (proxy to server) */
};

struct server_tally {
	uint64_t inbound;     /* packets to a VIP captured at this server */
	uint64_t outbound;    /* packets from the cluster captured at this server */
	uint64_t unmatched;   /* matched mode: captured here, absent from the sent capture */
};

struct replay {
	const struct sara_config *cfg;
	struct engine *engine;
	struct gateway *gateway;
	enum replay_mode mode;
	struct replay_records records;
	struct observations observations;   /* matched mode */
	int observed[SARA_MAX_SERVERS];     /* servers given a capture, in --observed order */
	unsigned observed_count;
	int current_server;                 /* merged mode: server of the packet being fed */
	uint64_t inbound, outbound, other, truncated, announcements;
	struct server_tally tally[SARA_MAX_SERVERS];
};

/* An empty run over cfg (which must outlive it): its own engine and
 * gateway, tables hashed with key and bounded by max_records each. False
 * with err filled when the engine or gateway cannot be made. */
bool replay_init(struct replay *r, const struct sara_config *cfg, enum replay_mode mode,
		 const struct hash_key *key, uint64_t max_records, char *err, size_t err_size);
void replay_free(struct replay *r);

/* Observed modes: a capture was taken at server; its order counts (a packet
 * two servers captured is claimed at the one added first). False when
 * SARA_MAX_SERVERS captures were added already or server is not one. */
bool replay_add_observed(struct replay *r, int server);
/* Whether a capture was added for server. */
bool replay_server_observed(const struct replay *r, unsigned server);

/* Decodes l3 into *pkt and says which way it travels for cfg. */
enum packet_direction replay_direction(const struct sara_config *cfg, const uint8_t *l3, size_t len,
				       struct packet *pkt);
/* Feeds one captured packet (merged mode: captured at current_server). */
void replay_packet(struct replay *r, const struct captured_packet *cp);
/* Matched mode, before the sent packets: server captured cp. */
void replay_observe(struct replay *r, int server, const struct captured_packet *cp);
/* Once, after the last packet: counts the captured copies no sent packet
 * claimed (matched mode) and attributes flows to sessions (attribution.h). */
void replay_finish(struct replay *r);
/* A table's capacity refused something: the records are incomplete. */
bool replay_incomplete(const struct replay *r);

#endif
