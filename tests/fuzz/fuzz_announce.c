/* fuzz_announce.c - libFuzzer target for what sarad reads from the network:
 * the input as an announcement body (announce_decode, then the cluster
 * check), as a whole datagram (wire_open), and sealed then opened.
 * Invariants: a decoded announcement re-encodes to exactly the input; a
 * refused one leaves the output zeroed; a sealed body always opens.
 * Seeds (tests/fuzz/corpus/announce/) are encoded bodies and one datagram
 * sealed with FUZZ_KEY_BYTE at FUZZ_NOW_MS. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/announce_codec.h"
#include "engine/wire.h"

#define FUZZ_KEY_BYTE 0x5a        /* every key byte */
#define FUZZ_NOW_MS 1000000u
#define FUZZ_SKEW_MS 5000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sara_config cfg;
static struct wire_key key;
static struct wire_replay replay;

static void set_up(void)
{
	static const uint8_t vip4[4] = { 198, 18, 77, 20 };
	sara_config_defaults(&cfg);
	cfg.vip_count = 2;
	cfg.vips[0].family = NETADDR_IPV4;
	memcpy(cfg.vips[0].bytes, vip4, 4);
	cfg.vips[1].family = NETADDR_IPV6;
	cfg.vips[1].bytes[0] = 0xfd;
	cfg.vips[1].bytes[15] = 0x20;
	memset(key.bytes, FUZZ_KEY_BYTE, sizeof(key.bytes));
}

static void check_decode(const uint8_t *data, size_t size)
{
	struct announcement ann;
	uint8_t again[WIRE_MAX_BODY];
	enum counter_id reason = announce_decode(data, size, &ann);
	if (reason != COUNTER_NONE) {
		static const struct announcement zero;
		if (memcmp(&ann, &zero, sizeof(ann)) != 0)
			abort();
		return;
	}
	if (ann.facts.stream_count > SIGNAL_MAX_STREAMS || ann.facts.key_len >= SESSION_KEY_MAX ||
	    ann.facts.key[ann.facts.key_len] != '\0' || ann.conn.pad != 0)
		abort();
	if (announce_encode(&ann, again, sizeof(again)) != size || memcmp(again, data, size) != 0)
		abort();
	(void)announce_check_cluster(&cfg, &ann);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct wire_header hdr;
	const uint8_t *body = NULL;
	enum wire_verdict verdict;
	uint8_t msg[WIRE_MAX_MESSAGE];
	size_t len;
	if (!ready) {
		set_up();
		ready = true;
	}
	check_decode(data, size);

	/* The input as a received datagram; fresh replay state per input. */
	memset(&replay, 0, sizeof(replay));
	verdict = wire_open(&key, &replay, data, size, FUZZ_NOW_MS, FUZZ_SKEW_MS, &hdr, &body);
	if ((unsigned)verdict >= WIRE_VERDICT_COUNT ||
	    (verdict == WIRE_OK) != (wire_verdict_counter(verdict) == COUNTER_NONE))
		abort();
	if (verdict == WIRE_OK) {
		if (body != data + WIRE_HEADER_SIZE ||
		    (size_t)WIRE_HEADER_SIZE + hdr.body_len + WIRE_TAG_SIZE != size)
			abort();
		if (hdr.type == WIRE_ANNOUNCE)
			check_decode(body, hdr.body_len);
		/* The same datagram again is a replay. */
		if (wire_open(&key, &replay, data, size, FUZZ_NOW_MS, FUZZ_SKEW_MS, &hdr, &body) !=
		    WIRE_REPLAYED)
			abort();
	}

	/* The input as a body we seal ourselves: it must open unchanged. */
	if (size <= WIRE_MAX_BODY) {
		struct wire_header sealed = { .type = WIRE_ANNOUNCE, .body_len = (uint16_t)size,
					      .sender = 7, .seq = size, .time_ms = FUZZ_NOW_MS };
		memset(&replay, 0, sizeof(replay));
		len = wire_seal(&key, &sealed, data, msg, sizeof(msg));
		if (len != WIRE_HEADER_SIZE + size + WIRE_TAG_SIZE)
			abort();
		if (wire_open(&key, &replay, msg, len, FUZZ_NOW_MS, FUZZ_SKEW_MS, &hdr, &body) != WIRE_OK ||
		    hdr.body_len != size || memcmp(body, data, size) != 0)
			abort();
		/* One flipped bit, chosen by the input, is never accepted. */
		if (size > 0) {
			size_t at = data[0] % len;
			msg[at] ^= (uint8_t)(1u << (data[size - 1] & 7));
			if (wire_open(&key, &replay, msg, len, FUZZ_NOW_MS, FUZZ_SKEW_MS, &hdr, &body) == WIRE_OK)
				abort();
		}
	} else if (wire_seal(&key, &(struct wire_header){ .body_len = (uint16_t)(size > 65535 ? 65535 : size) },
			     data, msg, sizeof(msg)) != 0) {
		abort();
	}
	return 0;
}
