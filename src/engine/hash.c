/* hash.c - keyed SipHash-2-4 from libsodium for table indexes (hash.h). */
#include "engine/hash.h"

#include <sodium.h>
#include <string.h>

void hash_key_random(struct hash_key *key)
{
	if (sodium_init() < 0) {
		/* No usable randomness: a fixed key still hashes correctly,
		 * only without flood protection. */
		memset(key->bytes, 0x5a, sizeof(key->bytes));
		return;
	}
	randombytes_buf(key->bytes, sizeof(key->bytes));
}

uint64_t hash_bytes(const struct hash_key *key, const void *data, size_t len)
{
	unsigned char out[crypto_shorthash_siphash24_BYTES];
	uint64_t value;
	crypto_shorthash_siphash24(out, data, len, key->bytes);
	memcpy(&value, out, sizeof(value));
	return value;
}
