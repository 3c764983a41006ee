/* ipfrag.c - bounded IPv4/IPv6 fragment reassembly: a fixed table of
 * datagrams, each with a fixed buffer, expired in arrival order. */
#include "dpi/ipfrag.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "dpi/byte_order.h"
#include "dpi/byte_ranges.h"
#include "dpi/inet_checksum.h"

#define IPV4_HEADER_MIN 20
#define IPV6_HEADER_LEN 40
#define IPV6_FRAGMENT_HEADER_LEN 8
#define IPV6_NEXT_HOP_BY_HOP 0
#define IPV6_NEXT_ROUTING 43
#define IPV6_NEXT_DEST_OPTIONS 60
#define IP_MAX_LEN 65535
/* Room kept before the payload for the rebuilt header: an IPv4 header with
 * options (60) or the IPv6 unfragmentable part. Larger chains are dropped. */
#define HEADER_ROOM 512
/* Disjoint byte ranges held per datagram. In-order arrival keeps one range;
 * this bounds the work an attacker sending tiny interleaved pieces causes. */
#define MAX_RANGES 16
#define NO_INDEX UINT32_MAX


struct datagram {
	bool in_use;
	uint8_t family;
	uint8_t protocol;
	uint8_t src[16];
	uint8_t dst[16];
	uint32_t id;
	uint64_t created_ms;
	bool total_known;       /* the last fragment (MF clear) arrived */
	uint32_t total_len;     /* payload bytes, once total_known */
	uint32_t header_len;    /* 0 until the offset-0 fragment arrived */
	uint32_t next_header_at; /* IPv6: offset of the byte naming the Fragment header */
	unsigned range_count;
	struct byte_range ranges[MAX_RANGES]; /* sorted, disjoint, not adjacent */
	uint32_t bucket;
	uint32_t hash_next;     /* bucket chain, or free list when unused */
	uint32_t age_prev, age_next;
	uint8_t *storage;       /* HEADER_ROOM + max_datagram bytes */
};

struct ipfrag_table {
	unsigned capacity;
	size_t max_datagram;
	uint32_t timeout_ms;
	uint64_t hash_seed;
	uint32_t bucket_mask;
	uint32_t *buckets;
	struct datagram *datagrams;
	uint8_t *storage;
	uint32_t free_head;
	uint32_t oldest, newest; /* arrival-order list, for expiry */
	unsigned pending;
	uint64_t expired;
	uint64_t dropped;
};

struct ipfrag_table *ipfrag_table_create(unsigned capacity, size_t max_datagram,
					 uint32_t timeout_ms)
{
	if (capacity == 0 || capacity > (1u << 24) || max_datagram < IPV4_HEADER_MIN)
		return NULL;
	if (max_datagram > IP_MAX_LEN)
		max_datagram = IP_MAX_LEN;

	struct ipfrag_table *table = calloc(1, sizeof(*table));
	if (table == NULL)
		goto fail;
	table->capacity = capacity;
	table->max_datagram = max_datagram;
	table->timeout_ms = timeout_ms;
	uint32_t buckets = 1;
	while (buckets < capacity * 2u)
		buckets <<= 1;
	table->bucket_mask = buckets - 1;
	table->buckets = malloc(sizeof(*table->buckets) * buckets);
	table->datagrams = calloc(capacity, sizeof(*table->datagrams));
	/* Reserved up front: calloc of a large block is mapped lazily by the
	 * kernel, and no allocation can fail while traffic flows. */
	table->storage = calloc(capacity, HEADER_ROOM + max_datagram);
	if (table->buckets == NULL || table->datagrams == NULL || table->storage == NULL)
		goto fail_free_table;
	for (uint32_t i = 0; i < buckets; i++)
		table->buckets[i] = NO_INDEX;
	for (unsigned i = 0; i < capacity; i++) {
		table->datagrams[i].storage = table->storage + (size_t)i * (HEADER_ROOM + max_datagram);
		table->datagrams[i].hash_next = i + 1 < capacity ? i + 1 : NO_INDEX;
	}
	table->free_head = 0;
	table->oldest = table->newest = NO_INDEX;
	/* Fragment ids are chosen by the sender: seed the hash so an attacker
	 * cannot aim every fragment at one bucket. */
	if (getrandom(&table->hash_seed, sizeof(table->hash_seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(table->hash_seed))
		table->hash_seed = (uint64_t)(uintptr_t)table * 0x9e3779b97f4a7c15ull;
	return table;

fail_free_table:
	ipfrag_table_destroy(table);
fail:
	return NULL;
}

void ipfrag_table_destroy(struct ipfrag_table *table)
{
	if (table == NULL)
		return;
	free(table->storage);
	free(table->datagrams);
	free(table->buckets);
	free(table);
}

unsigned ipfrag_pending(const struct ipfrag_table *table)
{
	return table->pending;
}

uint64_t ipfrag_expired(const struct ipfrag_table *table)
{
	return table->expired;
}

uint64_t ipfrag_dropped(const struct ipfrag_table *table)
{
	return table->dropped;
}

static uint32_t datagram_hash(const struct ipfrag_table *table, const struct packet *frag)
{
	/* FNV-1a over the key fields, started from the seed, then mixed. */
	uint64_t h = 0xcbf29ce484222325ull ^ table->hash_seed;
	const uint8_t head[6] = { frag->key.family, frag->key.l4, (uint8_t)(frag->frag_id >> 24),
				  (uint8_t)(frag->frag_id >> 16), (uint8_t)(frag->frag_id >> 8),
				  (uint8_t)frag->frag_id };
	for (size_t i = 0; i < sizeof(head); i++)
		h = (h ^ head[i]) * 0x100000001b3ull;
	for (size_t i = 0; i < 16; i++)
		h = (h ^ frag->key.src[i]) * 0x100000001b3ull;
	for (size_t i = 0; i < 16; i++)
		h = (h ^ frag->key.dst[i]) * 0x100000001b3ull;
	h ^= h >> 29;
	return (uint32_t)h & table->bucket_mask;
}

static bool datagram_matches(const struct datagram *d, const struct packet *frag)
{
	return d->family == frag->key.family && d->protocol == frag->key.l4 &&
	       d->id == frag->frag_id && memcmp(d->src, frag->key.src, 16) == 0 &&
	       memcmp(d->dst, frag->key.dst, 16) == 0;
}

static uint32_t datagram_find(const struct ipfrag_table *table, uint32_t bucket,
			      const struct packet *frag)
{
	for (uint32_t i = table->buckets[bucket]; i != NO_INDEX; i = table->datagrams[i].hash_next)
		if (datagram_matches(&table->datagrams[i], frag))
			return i;
	return NO_INDEX;
}

/* Unlinks a datagram from its bucket and the age list and frees its slot.
 * The storage keeps its bytes until the slot is reused by a later call,
 * which is what keeps a completed datagram readable until then. */
static void datagram_release(struct ipfrag_table *table, uint32_t index)
{
	struct datagram *d = &table->datagrams[index];
	uint32_t bucket = d->bucket;
	for (uint32_t *link = &table->buckets[bucket]; *link != NO_INDEX;
	     link = &table->datagrams[*link].hash_next) {
		if (*link == index) {
			*link = d->hash_next;
			break;
		}
	}
	if (d->age_prev != NO_INDEX)
		table->datagrams[d->age_prev].age_next = d->age_next;
	else
		table->oldest = d->age_next;
	if (d->age_next != NO_INDEX)
		table->datagrams[d->age_next].age_prev = d->age_prev;
	else
		table->newest = d->age_prev;
	d->in_use = false;
	d->hash_next = table->free_head;
	table->free_head = index;
	table->pending--;
}

static void expire_old(struct ipfrag_table *table, uint64_t now_ms)
{
	while (table->oldest != NO_INDEX) {
		const struct datagram *d = &table->datagrams[table->oldest];
		/* A clock stepping backwards never expires anything early. */
		if (now_ms <= d->created_ms || now_ms - d->created_ms <= table->timeout_ms)
			break;
		datagram_release(table, table->oldest);
		table->expired++;
	}
}

static uint32_t datagram_create(struct ipfrag_table *table, uint32_t bucket,
				const struct packet *frag, uint64_t now_ms)
{
	uint32_t index = table->free_head;
	if (index == NO_INDEX)
		return NO_INDEX;
	struct datagram *d = &table->datagrams[index];
	table->free_head = d->hash_next;
	uint8_t *storage = d->storage;
	memset(d, 0, sizeof(*d));
	d->storage = storage;
	d->in_use = true;
	d->family = frag->key.family;
	d->protocol = frag->key.l4;
	d->id = frag->frag_id;
	memcpy(d->src, frag->key.src, 16);
	memcpy(d->dst, frag->key.dst, 16);
	d->created_ms = now_ms;
	d->bucket = bucket;
	d->hash_next = table->buckets[bucket];
	table->buckets[bucket] = index;
	d->age_prev = table->newest;
	d->age_next = NO_INDEX;
	if (table->newest != NO_INDEX)
		table->datagrams[table->newest].age_next = index;
	else
		table->oldest = index;
	table->newest = index;
	table->pending++;
	return index;
}

/* Copies the header of the offset-0 fragment into the room before the
 * payload. IPv6 keeps only the unfragmentable part (everything before the
 * Fragment header) and remembers which byte named the Fragment header. */
static bool store_first_header(struct datagram *d, const uint8_t *ip, size_t header_len)
{
	if (header_len > HEADER_ROOM)
		return false;
	if (d->family == NETADDR_IPV4) {
		if (header_len < IPV4_HEADER_MIN)
			return false;
		memcpy(d->storage + HEADER_ROOM - header_len, ip, header_len);
		d->header_len = (uint32_t)header_len;
		return true;
	}
	/* header_len covers base + unfragmentable headers + Fragment header. */
	if (header_len < IPV6_HEADER_LEN + IPV6_FRAGMENT_HEADER_LEN)
		return false;
	size_t fragment_at = header_len - IPV6_FRAGMENT_HEADER_LEN;
	size_t next_header_at = 6;
	size_t pos = IPV6_HEADER_LEN;
	uint8_t next = ip[6];
	/* packet_decode already walked this chain; walk it again, bounded,
	 * only to find the byte that names the Fragment header. */
	while (pos < fragment_at) {
		if (next != IPV6_NEXT_HOP_BY_HOP && next != IPV6_NEXT_ROUTING &&
		    next != IPV6_NEXT_DEST_OPTIONS)
			return false;
		if (fragment_at - pos < 2)
			return false;
		next_header_at = pos;
		next = ip[pos];
		pos += ((size_t)ip[pos + 1] + 1) * 8;
	}
	if (pos != fragment_at)
		return false;
	memcpy(d->storage + HEADER_ROOM - fragment_at, ip, fragment_at);
	/* The rebuilt chain skips the Fragment header. */
	d->storage[HEADER_ROOM - fragment_at + next_header_at] = ip[fragment_at];
	d->header_len = (uint32_t)fragment_at;
	d->next_header_at = (uint32_t)next_header_at;
	return true;
}

/* Checks that bytes already held agree with the new fragment wherever they
 * overlap: identical duplicates are fine, different bytes are an evasion
 * attempt (or corruption) and the whole datagram goes. */
static bool overlaps_agree(const struct datagram *d, uint32_t start, uint32_t end,
			   const uint8_t *data)
{
	const uint8_t *payload = d->storage + HEADER_ROOM;
	for (unsigned i = 0; i < d->range_count; i++) {
		uint32_t from = d->ranges[i].start > start ? d->ranges[i].start : start;
		uint32_t to = d->ranges[i].end < end ? d->ranges[i].end : end;
		if (from < to && memcmp(payload + from, data + (from - start), to - from) != 0)
			return false;
	}
	return true;
}

/* Adds [start, end) (payload offsets) to the sorted range list, merging
 * what it touches. */
static bool add_range(struct datagram *d, uint32_t start, uint32_t end)
{
	return byte_ranges_add(d->ranges, &d->range_count, MAX_RANGES, start, end);
}

/* Rewrites the stored header for the whole datagram; false when the result
 * would not fit in an IP length field or in max_datagram. */
static bool finish_header(const struct ipfrag_table *table, struct datagram *d)
{
	uint8_t *header = d->storage + HEADER_ROOM - d->header_len;
	size_t whole = (size_t)d->header_len + d->total_len;
	if (whole > table->max_datagram)
		return false;
	if (d->family == NETADDR_IPV4) {
		put_be16(header + 2, (uint16_t)whole);
		/* Keep DF and the reserved bit, clear MF and the offset. */
		header[6] &= 0xc0;
		header[7] = 0;
		put_be16(header + 10, 0);
		put_be16(header + 10, inet_checksum_fold(inet_checksum_add(0, header, d->header_len)));
		return true;
	}
	if (whole - IPV6_HEADER_LEN > IP_MAX_LEN)
		return false;
	put_be16(header + 4, (uint16_t)(whole - IPV6_HEADER_LEN));
	return true;
}

enum ipfrag_result ipfrag_submit(struct ipfrag_table *table, const uint8_t *ip, size_t len,
				 const struct packet *frag, uint64_t now_ms,
				 const uint8_t **out_ip, size_t *out_len)
{
	*out_ip = NULL;
	*out_len = 0;
	expire_old(table, now_ms);

	/* The payload must lie inside the fragment the caller handed us. */
	if (frag->payload < ip || frag->payload_len > len ||
	    (size_t)(frag->payload - ip) > len - frag->payload_len ||
	    (frag->key.family != NETADDR_IPV4 && frag->key.family != NETADDR_IPV6)) {
		table->dropped++;
		return IPFRAG_DROPPED;
	}

	uint32_t bucket = datagram_hash(table, frag);
	uint32_t index = datagram_find(table, bucket, frag);
	if (index == NO_INDEX) {
		index = datagram_create(table, bucket, frag, now_ms);
		if (index == NO_INDEX) {
			table->dropped++;
			return IPFRAG_DROPPED;
		}
	}
	struct datagram *d = &table->datagrams[index];

	uint64_t start = frag->frag_offset;
	uint64_t end = start + frag->payload_len;
	/* Every fragment but the last carries a multiple of 8 bytes. */
	if (frag->payload_len == 0 || end > table->max_datagram ||
	    (frag->frag_more && frag->payload_len % 8 != 0))
		goto drop_datagram;
	if (frag->frag_more) {
		if (d->total_known && end > d->total_len)
			goto drop_datagram;
	} else {
		if (d->total_known && end != d->total_len)
			goto drop_datagram;
		if (d->range_count > 0 && d->ranges[d->range_count - 1].end > end)
			goto drop_datagram;
		d->total_known = true;
		d->total_len = (uint32_t)end;
	}
	if (!overlaps_agree(d, (uint32_t)start, (uint32_t)end, frag->payload))
		goto drop_datagram;
	if (start == 0 && d->header_len == 0 &&
	    !store_first_header(d, ip, (size_t)(frag->payload - ip)))
		goto drop_datagram;
	if (!add_range(d, (uint32_t)start, (uint32_t)end))
		goto drop_datagram;
	memcpy(d->storage + HEADER_ROOM + start, frag->payload, frag->payload_len);

	if (!d->total_known || d->header_len == 0 || d->range_count != 1 ||
	    d->ranges[0].start != 0 || d->ranges[0].end != d->total_len)
		return IPFRAG_PENDING;
	if (!finish_header(table, d))
		goto drop_datagram;
	/* A Fragment header nested in the fragmentable part would send the
	 * output back here, copying the table onto itself: refuse it. */
	struct packet whole;
	if (packet_decode(d->storage + HEADER_ROOM - d->header_len,
			  (size_t)d->header_len + d->total_len, &whole) == PACKET_FRAGMENT)
		goto drop_datagram;
	*out_ip = d->storage + HEADER_ROOM - d->header_len;
	*out_len = (size_t)d->header_len + d->total_len;
	datagram_release(table, index);
	return IPFRAG_COMPLETE;

drop_datagram:
	datagram_release(table, index);
	table->dropped++;
	return IPFRAG_DROPPED;
}
