/* fuzz_replica.c - libFuzzer target for what a dispatcher reads from its
 * peers' Redis: the input as a replication body sealed with the cluster key
 * (so that the body decoder behind the tag is reached), as a published
 * batch of messages back to back (framing, then replica_open each), and as
 * a peer's hello line. Invariants: a body that opens re-seals to a message
 * that opens to the same item; framing never reads past the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/replica_codec.h"

#define FUZZ_KEY_BYTE 0x5a
#define FUZZ_NOW_MS 1000000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wire_key key;
static struct replica_digest servers;

static void set_up(void)
{
	memset(key.bytes, FUZZ_KEY_BYTE, sizeof(key.bytes));
	memset(servers.bytes, 0, sizeof(servers.bytes));
}

/* The input as a body: its digest field made ours, sealed, opened. */
static void check_body(const uint8_t *data, size_t size)
{
	uint8_t body[WIRE_MAX_BODY], msg[REPLICA_MESSAGE_MAX], again[REPLICA_MESSAGE_MAX];
	struct wire_header hdr = { .type = WIRE_SESSION_REPLICA, .sender = 1, .seq = 1, .time_ms = FUZZ_NOW_MS };
	struct replica_item item, item2;
	struct wire_header out;
	size_t n, m;
	if (size > sizeof(body))
		size = sizeof(body);
	memcpy(body, data, size);
	if (size > REPLICA_DIGEST_SIZE)
		memcpy(body + 1, servers.bytes, REPLICA_DIGEST_SIZE);
	hdr.body_len = (uint16_t)size;
	n = wire_seal_mac(WIRE_MAC_BLAKE2B, &key, &hdr, body, msg, sizeof(msg));
	if (n == 0 || replica_open(&key, NULL, msg, n, FUZZ_NOW_MS, 0, 0, &servers, &item, &out) != REPLICA_OK)
		return;
	/* what opened seals again and opens to the same decision */
	m = replica_seal(&key, 1, 2, FUZZ_NOW_MS, &servers, &item, again, sizeof(again));
	if (m == 0)
		return;   /* a record the encoder refuses (a decoded one may still be odd) */
	if (replica_open(&key, NULL, again, m, FUZZ_NOW_MS, 0, 0, &servers, &item2, &out) != REPLICA_OK ||
	    item2.op != item.op || item2.key_len != item.key_len || memcmp(item2.key, item.key, item.key_len) != 0)
		abort();
}

/* The input as a published batch. */
static void check_batch(const uint8_t *data, size_t size)
{
	static struct wire_replay replay;
	struct replica_item item;
	struct wire_header hdr;
	size_t at = 0;
	while (at < size) {
		size_t len = replica_message_length(data + at, size - at);
		if (len == 0)
			break;
		if (len > size - at)
			abort();
		(void)replica_open(&key, &replay, data + at, len, FUZZ_NOW_MS, 5000, 1, &servers, &item, &hdr);
		at += len;
	}
}

static void check_hello(const uint8_t *data, size_t size)
{
	struct replica_hello h, ours;
	char text[REPLICA_HELLO_MAX];
	memset(&ours, 0, sizeof(ours));
	if (!replica_hello_parse((const char *)data, size, &h))
		return;
	/* what parsed formats again and parses to the same */
	if (replica_hello_format(&h, text, sizeof(text)) == 0)
		return;
	if (!replica_hello_parse(text, strlen(text), &ours) || ours.sender != h.sender ||
	    memcmp(ours.key.bytes, h.key.bytes, REPLICA_DIGEST_SIZE) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		set_up();
		ready = 1;
	}
	check_body(data, size);
	check_batch(data, size);
	check_hello(data, size);
	return 0;
}
