/* observations.h - matched mode's bounded table of the packet copies each
 * server captured, matched by a fingerprint that survives the path. No I/O. */
#ifndef SARA_REPLAY_OBSERVATIONS_H
#define SARA_REPLAY_OBSERVATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"
#include "engine/hash.h"

/* Copies of one packet (fingerprint) one server captured and no sent packet
 * has claimed yet. */
struct observation {
	uint64_t fingerprint;
	uint32_t count;
	int16_t server;
	bool used;
};

struct observations {
	struct hash_key hash_key;
	uint64_t max_entries;    /* the table does not grow past this many entries */
	bool out_of_memory;      /* an entry was refused: later claims may miss */
	struct observation *slots; /* open addressing, at most half full */
	uint32_t count, mask;
};

void observations_init(struct observations *obs, const struct hash_key *key, uint64_t max_entries);
void observations_free(struct observations *obs);

/* A packet's identity on its way from the client to a server: its IP bytes
 * (link padding excluded) with the fields the path rewrites zeroed: IPv4 TTL
 * and header checksum, IPv6 hop limit, and the UDP/TCP checksum (a capture
 * at the sender holds a partial checksum that NFQUEUE completes). 0 when it
 * is not IPv4/IPv6. */
uint64_t observation_fingerprint(const struct hash_key *key, const uint8_t *l3, size_t len);

/* Server (0 .. SARA_MAX_SERVERS - 1) captured the packet l3. */
void observations_add(struct observations *obs, const uint8_t *l3, size_t len, int server);
/* Claims one captured copy of the sent packet l3, looking at servers in
 * their order: the server whose copy it claimed, or LOCATION_NOWHERE when
 * none captured it (or every copy is claimed already). */
int observations_take(struct observations *obs, const uint8_t *l3, size_t len, const int *servers,
		      unsigned server_count);
/* Adds the copies no sent packet claimed to unclaimed[server]. */
void observations_unclaimed(const struct observations *obs, uint64_t unclaimed[SARA_MAX_SERVERS]);

#endif
