/* wire.c - authenticated control messages (wire.h): big-endian header, body,
 * a crypto_auth tag; the receiver's replay window. No sockets, no files. */
#include "engine/wire.h"

#include <string.h>

#include <sodium.h>

#include "dpi/byte_order.h"

/* sodium_init is idempotent and safe from several threads (libsodium
 * >= 1.0.11); it picks the fastest implementations on first call. */
static bool sodium_ready(void)
{
	return sodium_init() >= 0;
}

static void tag_of(enum wire_mac mac, const struct wire_key *key, const uint8_t *msg, size_t len, uint8_t *tag)
{
	if (mac == WIRE_MAC_BLAKE2B)
		crypto_generichash(tag, WIRE_TAG_SIZE, msg, len, key->bytes, sizeof(key->bytes));
	else
		crypto_auth(tag, msg, len, key->bytes);
}

static bool tag_ok(enum wire_mac mac, const struct wire_key *key, const uint8_t *msg, size_t len, const uint8_t *tag)
{
	uint8_t want[WIRE_TAG_SIZE];
	if (mac != WIRE_MAC_BLAKE2B)
		return crypto_auth_verify(tag, msg, len, key->bytes) == 0;
	tag_of(mac, key, msg, len, want);
	return sodium_memcmp(want, tag, WIRE_TAG_SIZE) == 0;   /* constant time */
}

size_t wire_seal(const struct wire_key *key, const struct wire_header *hdr, const uint8_t *body,
		 uint8_t *out, size_t cap)
{
	return wire_seal_mac(WIRE_MAC_HMAC, key, hdr, body, out, cap);
}

size_t wire_seal_mac(enum wire_mac mac, const struct wire_key *key, const struct wire_header *hdr,
		     const uint8_t *body, uint8_t *out, size_t cap)
{
	size_t len = WIRE_HEADER_SIZE + (size_t)hdr->body_len;
	if (hdr->body_len > WIRE_MAX_BODY || cap < len + WIRE_TAG_SIZE || !sodium_ready())
		return 0;
	put_be32(out, WIRE_MAGIC);
	out[4] = WIRE_VERSION;
	out[5] = hdr->type;
	put_be16(out + 6, hdr->body_len);
	put_be32(out + 8, hdr->sender);
	put_be64(out + 12, hdr->seq);
	put_be64(out + 20, hdr->time_ms);
	if (hdr->body_len)
		memcpy(out + WIRE_HEADER_SIZE, body, hdr->body_len);
	tag_of(mac, key, out, len, out + len);
	return len + WIRE_TAG_SIZE;
}

/* The sender's replay entry, created on first sight; NULL when full. */
static struct wire_replay_entry *replay_entry(struct wire_replay *replay, uint32_t sender)
{
	struct wire_replay_entry *free_entry = NULL;
	for (size_t i = 0; i < WIRE_MAX_SENDERS; i++) {
		struct wire_replay_entry *e = &replay->senders[i];
		if (e->used && e->sender == sender)
			return e;
		if (!e->used && !free_entry)
			free_entry = e;
	}
	return free_entry;
}

/* Bit i of window: sequence highest - i was accepted. */
static bool replay_accept(struct wire_replay_entry *e, uint32_t sender, uint64_t seq)
{
	uint64_t distance;
	if (!e->used) {
		e->used = true;
		e->sender = sender;
		e->highest = seq;
		e->window = 1;
		return true;
	}
	if (seq > e->highest) {
		distance = seq - e->highest;
		e->window = distance >= WIRE_REPLAY_WINDOW ? 1 : (e->window << distance) | 1;
		e->highest = seq;
		return true;
	}
	distance = e->highest - seq;
	if (distance >= WIRE_REPLAY_WINDOW || (e->window & (1ull << distance)))
		return false;
	e->window |= 1ull << distance;
	return true;
}

enum wire_verdict wire_open(const struct wire_key *key, struct wire_replay *replay, const uint8_t *msg,
			    size_t len, uint64_t now_wall_ms, uint32_t max_skew_ms, struct wire_header *hdr,
			    const uint8_t **body)
{
	return wire_open_mac(WIRE_MAC_HMAC, key, replay, msg, len, now_wall_ms, max_skew_ms, hdr, body);
}

enum wire_verdict wire_open_mac(enum wire_mac mac, const struct wire_key *key, struct wire_replay *replay,
				const uint8_t *msg, size_t len, uint64_t now_wall_ms, uint32_t max_skew_ms,
				struct wire_header *hdr, const uint8_t **body)
{
	struct wire_header h;
	struct wire_replay_entry *entry;
	size_t signed_len;
	uint64_t skew;
	if (len < WIRE_HEADER_SIZE + WIRE_TAG_SIZE)
		return WIRE_TRUNCATED;
	if (get_be32(msg) != WIRE_MAGIC || msg[4] != WIRE_VERSION)
		return WIRE_BAD_MAGIC;
	memset(&h, 0, sizeof(h));
	h.type = msg[5];
	h.body_len = get_be16(msg + 6);
	h.sender = get_be32(msg + 8);
	h.seq = get_be64(msg + 12);
	h.time_ms = get_be64(msg + 20);
	signed_len = WIRE_HEADER_SIZE + (size_t)h.body_len;
	if (h.body_len > WIRE_MAX_BODY || len != signed_len + WIRE_TAG_SIZE)
		return WIRE_TRUNCATED;
	if (!sodium_ready() || !tag_ok(mac, key, msg, signed_len, msg + signed_len))
		return WIRE_FORGED;
	skew = h.time_ms > now_wall_ms ? h.time_ms - now_wall_ms : now_wall_ms - h.time_ms;
	if (replay && skew > max_skew_ms)
		return WIRE_STALE;
	if (replay) {
		entry = replay_entry(replay, h.sender);
		if (!entry)
			return WIRE_TOO_MANY_SENDERS;
		if (!replay_accept(entry, h.sender, h.seq))
			return WIRE_REPLAYED;
	}
	*hdr = h;
	*body = msg + WIRE_HEADER_SIZE;
	return WIRE_OK;
}

enum counter_id wire_verdict_counter(enum wire_verdict verdict)
{
	static const enum counter_id counters[WIRE_VERDICT_COUNT] = { WIRE_VERDICT_LIST(ENUM_LIST_ENTRY) };
	return (unsigned)verdict < WIRE_VERDICT_COUNT ? counters[verdict] : COUNTER_NONE;
}
