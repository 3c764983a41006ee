/* observations.c - matched mode's table of captured packet copies per
 * server, keyed by a fingerprint that survives TTL and checksum rewrites. */
#include <stdlib.h>
#include <string.h>

#include "sara-replay/observations.h"
#include "sara-replay/records.h"

#define GOLDEN_RATIO_64 0x9e3779b97f4a7c15ull

void observations_init(struct observations *obs, const struct hash_key *key, uint64_t max_entries)
{
	memset(obs, 0, sizeof(*obs));
	obs->hash_key = *key;
	obs->max_entries = max_entries;
}

void observations_free(struct observations *obs)
{
	free(obs->slots);
	memset(obs, 0, sizeof(*obs));
}

uint64_t observation_fingerprint(const struct hash_key *key, const uint8_t *l3, size_t len)
{
	uint8_t head[60 + 20];
	size_t ip_len, ip_head, head_len, l4_len;
	uint8_t l4;
	bool first_fragment;
	if (len >= 20 && (l3[0] >> 4) == 4) {
		ip_len = (size_t)l3[2] << 8 | l3[3];
		ip_head = (size_t)(l3[0] & 0x0f) * 4;
		l4 = l3[9];
		first_fragment = ((l3[6] & 0x1f) | l3[7]) == 0;
		if (ip_head < 20 || ip_head > len)
			ip_head = 20;
	} else if (len >= 40 && (l3[0] >> 4) == 6) {
		ip_len = 40 + ((size_t)l3[4] << 8 | l3[5]);
		ip_head = 40;
		l4 = l3[6]; /* extension headers: their L4 checksum stays in */
		first_fragment = true;
	} else {
		return 0;
	}
	if (ip_len < ip_head || ip_len > len)
		ip_len = len; /* truncated capture or bogus length: what we have */
	l4_len = !first_fragment ? 0 : l4 == 17 ? 8 : l4 == 6 ? 20 : 0;
	if (ip_head + l4_len > ip_len)
		l4_len = 0;
	head_len = ip_head + l4_len;
	memcpy(head, l3, head_len);
	if (ip_head == 40) {
		head[7] = 0;
	} else {
		head[8] = 0;
		head[10] = head[11] = 0;
	}
	if (l4_len == 8)
		head[ip_head + 6] = head[ip_head + 7] = 0;
	else if (l4_len == 20)
		head[ip_head + 16] = head[ip_head + 17] = 0;
	return hash_bytes(key, head, head_len) * GOLDEN_RATIO_64 ^
	       hash_bytes(key, l3 + head_len, ip_len - head_len) ^ ip_len;
}

static uint32_t observation_slot(const struct observations *obs, uint64_t fingerprint, int server)
{
	uint32_t slot = (uint32_t)(fingerprint ^ (uint64_t)server * GOLDEN_RATIO_64) & obs->mask;
	while (obs->slots[slot].used &&
	       (obs->slots[slot].fingerprint != fingerprint || obs->slots[slot].server != server))
		slot = (slot + 1) & obs->mask;
	return slot;
}

static bool observations_grow(struct observations *obs)
{
	uint32_t size = obs->slots ? (obs->mask + 1) * 2 : 4096;
	struct observation *old = obs->slots;
	uint32_t old_size = old ? obs->mask + 1 : 0;
	struct observation *fresh = calloc(size, sizeof(*fresh));
	if (!fresh)
		return false;
	obs->slots = fresh;
	obs->mask = size - 1;
	for (uint32_t i = 0; i < old_size; i++)
		if (old[i].used)
			fresh[observation_slot(obs, old[i].fingerprint, old[i].server)] = old[i];
	free(old);
	return true;
}

void observations_add(struct observations *obs, const uint8_t *l3, size_t len, int server)
{
	uint64_t fingerprint = observation_fingerprint(&obs->hash_key, l3, len);
	uint32_t slot;
	if ((!obs->slots || (uint64_t)(obs->count + 1) * 2 > obs->mask + 1) &&
	    (obs->count >= obs->max_entries || !observations_grow(obs))) {
		obs->out_of_memory = true;
		return;
	}
	slot = observation_slot(obs, fingerprint, server);
	if (!obs->slots[slot].used) {
		obs->slots[slot].used = true;
		obs->slots[slot].fingerprint = fingerprint;
		obs->slots[slot].server = (int16_t)server;
		obs->count++;
	}
	obs->slots[slot].count++;
}

int observations_take(struct observations *obs, const uint8_t *l3, size_t len, const int *servers,
		      unsigned server_count)
{
	uint64_t fingerprint = observation_fingerprint(&obs->hash_key, l3, len);
	if (!obs->slots)
		return LOCATION_NOWHERE;
	for (unsigned i = 0; i < server_count; i++) {
		uint32_t slot = observation_slot(obs, fingerprint, servers[i]);
		if (obs->slots[slot].used && obs->slots[slot].count > 0) {
			obs->slots[slot].count--;
			return servers[i];
		}
	}
	return LOCATION_NOWHERE;
}

void observations_unclaimed(const struct observations *obs, uint64_t unclaimed[SARA_MAX_SERVERS])
{
	for (uint32_t i = 0; obs->slots && i <= obs->mask; i++)
		if (obs->slots[i].used)
			unclaimed[obs->slots[i].server] += obs->slots[i].count;
}
