/* hash.h - the keyed hash used by every table (SipHash-2-4 through
 * libsodium), so that traffic cannot choose its own bucket. */
#ifndef SARA_HASH_H
#define SARA_HASH_H

#include <stddef.h>
#include <stdint.h>

struct hash_key {
	uint8_t bytes[16];
};

/* A random key (libsodium's CSPRNG); stable keys for tests via memset. */
void hash_key_random(struct hash_key *key);
uint64_t hash_bytes(const struct hash_key *key, const void *data, size_t len);

#endif
