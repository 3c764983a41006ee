/* test_wire.c - unit tests for authenticated control messages: sealing and
 * opening, forgery, truncation, replay windows, staleness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/wire.h"

#define NOW_MS 1700000000000ull
#define SKEW_MS 5000u

static struct wire_key test_key(void)
{
	struct wire_key key;
	for (int i = 0; i < WIRE_KEY_SIZE; i++)
		key.bytes[i] = (uint8_t)i;
	return key;
}

static struct wire_replay *new_replay(void)
{
	struct wire_replay *replay = calloc(1, sizeof(*replay));
	assert_non_null(replay);
	return replay;
}

/* A sealed message with a recognisable body. */
static size_t seal(const struct wire_key *key, uint32_t sender, uint64_t seq, uint64_t time_ms,
		   uint8_t *out, size_t cap)
{
	static const uint8_t body[] = "announcement body";
	struct wire_header hdr = {
		.type = WIRE_ANNOUNCE,
		.body_len = sizeof(body),
		.sender = sender,
		.seq = seq,
		.time_ms = time_ms,
	};
	size_t len = wire_seal(key, &hdr, body, out, cap);
	assert_int_equal(len, WIRE_HEADER_SIZE + sizeof(body) + WIRE_TAG_SIZE);
	return len;
}

static enum wire_verdict open_msg(const struct wire_key *key, struct wire_replay *replay,
				  const uint8_t *msg, size_t len, uint64_t now)
{
	struct wire_header hdr;
	const uint8_t *body = NULL;
	return wire_open(key, replay, msg, len, now, SKEW_MS, &hdr, &body);
}

static enum wire_verdict send_seq(const struct wire_key *key, struct wire_replay *replay,
				  uint32_t sender, uint64_t seq)
{
	uint8_t msg[WIRE_MAX_MESSAGE];
	size_t len = seal(key, sender, seq, NOW_MS, msg, sizeof(msg));
	return open_msg(key, replay, msg, len, NOW_MS);
}

static void test_round_trip_every_field(void **state)
{
	struct wire_key key = test_key();
	struct wire_replay *replay = new_replay();
	uint8_t body[WIRE_MAX_BODY], msg[WIRE_MAX_MESSAGE];
	struct wire_header hdr = {
		.type = WIRE_LOAD,
		.body_len = WIRE_MAX_BODY,
		.sender = 0xdeadbeef,
		.seq = 0x0102030405060708ull,
		.time_ms = NOW_MS + 17,
	}, got;
	const uint8_t *got_body = NULL;
	size_t len;
	(void)state;
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 7 + 3);
	len = wire_seal(&key, &hdr, body, msg, sizeof(msg));
	assert_int_equal(len, WIRE_MAX_MESSAGE);
	/* The header is big-endian, as documented. */
	assert_memory_equal(msg, "SARA", 4);
	assert_int_equal(msg[4], WIRE_VERSION);
	assert_int_equal(msg[5], WIRE_LOAD);
	assert_int_equal(msg[8], 0xde);
	assert_int_equal(msg[12], 0x01);
	assert_int_equal(msg[19], 0x08);
	memset(&got, 0xff, sizeof(got));
	assert_int_equal(wire_open(&key, replay, msg, len, NOW_MS, SKEW_MS, &got, &got_body), WIRE_OK);
	assert_int_equal(got.type, WIRE_LOAD);
	assert_int_equal(got.body_len, WIRE_MAX_BODY);
	assert_int_equal(got.sender, 0xdeadbeef);
	assert_true(got.seq == 0x0102030405060708ull);
	assert_true(got.time_ms == NOW_MS + 17);
	assert_ptr_equal(got_body, msg + WIRE_HEADER_SIZE);
	assert_memory_equal(got_body, body, sizeof(body));

	/* An empty body is a valid message too. */
	hdr.body_len = 0;
	hdr.seq++;
	len = wire_seal(&key, &hdr, NULL, msg, sizeof(msg));
	assert_int_equal(len, WIRE_HEADER_SIZE + WIRE_TAG_SIZE);
	assert_int_equal(wire_open(&key, replay, msg, len, NOW_MS, SKEW_MS, &got, &got_body), WIRE_OK);
	assert_int_equal(got.body_len, 0);
	free(replay);
}

static void test_seal_refuses_oversize(void **state)
{
	struct wire_key key = test_key();
	uint8_t body[WIRE_MAX_BODY + 1] = { 0 }, msg[WIRE_MAX_MESSAGE + 64];
	struct wire_header hdr = { .type = WIRE_ANNOUNCE, .body_len = WIRE_MAX_BODY + 1 };
	(void)state;
	assert_int_equal(wire_seal(&key, &hdr, body, msg, sizeof(msg)), 0);
	hdr.body_len = 10;
	for (size_t cap = 0; cap < WIRE_HEADER_SIZE + 10 + WIRE_TAG_SIZE; cap++)
		assert_int_equal(wire_seal(&key, &hdr, body, msg, cap), 0);
	assert_int_equal(wire_seal(&key, &hdr, body, msg, WIRE_HEADER_SIZE + 10 + WIRE_TAG_SIZE),
			 WIRE_HEADER_SIZE + 10 + WIRE_TAG_SIZE);
}

static void test_forged_tag_and_wrong_key(void **state)
{
	struct wire_key key = test_key(), other = test_key();
	struct wire_replay *replay = new_replay();
	uint8_t msg[WIRE_MAX_MESSAGE];
	size_t len = seal(&key, 1, 100, NOW_MS, msg, sizeof(msg));
	(void)state;
	other.bytes[31] ^= 1;
	assert_int_equal(open_msg(&other, replay, msg, len, NOW_MS), WIRE_FORGED);
	/* A zero tag, and a forged message does not consume its sequence number. */
	memset(msg + len - WIRE_TAG_SIZE, 0, WIRE_TAG_SIZE);
	assert_int_equal(open_msg(&key, replay, msg, len, NOW_MS), WIRE_FORGED);
	len = seal(&key, 1, 100, NOW_MS, msg, sizeof(msg));
	assert_int_equal(open_msg(&key, replay, msg, len, NOW_MS), WIRE_OK);
	free(replay);
}

static void test_flipped_bit_anywhere(void **state)
{
	struct wire_key key = test_key();
	struct wire_replay *replay = new_replay();
	uint8_t msg[WIRE_MAX_MESSAGE];
	size_t len = seal(&key, 7, 1000, NOW_MS, msg, sizeof(msg));
	(void)state;
	for (size_t byte = 0; byte < len; byte++) {
		for (int bit = 0; bit < 8; bit++) {
			enum wire_verdict v;
			msg[byte] ^= (uint8_t)(1u << bit);
			v = open_msg(&key, replay, msg, len, NOW_MS);
			msg[byte] ^= (uint8_t)(1u << bit);
			if (byte < 5)
				assert_int_equal(v, WIRE_BAD_MAGIC);      /* magic, version */
			else if (byte == 6 || byte == 7)
				assert_int_equal(v, WIRE_TRUNCATED);      /* body_len */
			else
				assert_int_equal(v, WIRE_FORGED);
		}
	}
	/* The untouched message still opens: nothing above touched the state. */
	assert_int_equal(open_msg(&key, replay, msg, len, NOW_MS), WIRE_OK);
	free(replay);
}

static void test_truncated_at_every_length(void **state)
{
	struct wire_key key = test_key();
	struct wire_replay *replay = new_replay();
	uint8_t msg[WIRE_MAX_MESSAGE + 1];
	size_t len = seal(&key, 7, 1000, NOW_MS, msg, sizeof(msg));
	(void)state;
	for (size_t cut = 0; cut < len; cut++) {
		/* A copy of exactly cut bytes, so ASan sees any read past it. */
		uint8_t *copy = malloc(cut ? cut : 1);
		assert_non_null(copy);
		memcpy(copy, msg, cut);
		assert_int_equal(open_msg(&key, replay, copy, cut, NOW_MS), WIRE_TRUNCATED);
		free(copy);
	}
	msg[len] = 0;
	assert_int_equal(open_msg(&key, replay, msg, len + 1, NOW_MS), WIRE_TRUNCATED);
	assert_int_equal(open_msg(&key, replay, msg, len, NOW_MS), WIRE_OK);
	free(replay);
}

static void test_bad_magic_and_version(void **state)
{
	struct wire_key key = test_key();
	struct wire_replay *replay = new_replay();
	uint8_t msg[WIRE_MAX_MESSAGE];
	size_t len = seal(&key, 7, 1000, NOW_MS, msg, sizeof(msg));
	(void)state;
	msg[4] = WIRE_VERSION + 1;
	assert_int_equal(open_msg(&key, replay, msg, len, NOW_MS), WIRE_BAD_MAGIC);
	msg[4] = WIRE_VERSION;
	msg[0] = 'X';
	assert_int_equal(open_msg(&key, replay, msg, len, NOW_MS), WIRE_BAD_MAGIC);
	free(replay);
}

static void test_replayed(void **state)
{
	struct wire_key key = test_key();
	struct wire_replay *replay = new_replay();
	uint8_t msg[WIRE_MAX_MESSAGE];
	size_t len = seal(&key, 3, 5000, NOW_MS, msg, sizeof(msg));
	(void)state;
	assert_int_equal(open_msg(&key, replay, msg, len, NOW_MS), WIRE_OK);
	assert_int_equal(open_msg(&key, replay, msg, len, NOW_MS), WIRE_REPLAYED);
	assert_int_equal(open_msg(&key, replay, msg, len, NOW_MS + 100), WIRE_REPLAYED);
	/* The same sequence from another sender is that sender's business. */
	assert_int_equal(send_seq(&key, replay, 4, 5000), WIRE_OK);
	free(replay);
}

static void test_out_of_window(void **state)
{
	struct wire_key key = test_key();
	struct wire_replay *replay = new_replay();
	(void)state;
	assert_int_equal(send_seq(&key, replay, 1, 1000), WIRE_OK);
	/* 64 behind the highest is outside the window, 63 behind is inside. */
	assert_int_equal(send_seq(&key, replay, 1, 1000 - WIRE_REPLAY_WINDOW), WIRE_REPLAYED);
	assert_int_equal(send_seq(&key, replay, 1, 1000 - WIRE_REPLAY_WINDOW + 1), WIRE_OK);
	assert_int_equal(send_seq(&key, replay, 1, 0), WIRE_REPLAYED);
	/* A jump wider than the window forgets everything below it. */
	assert_int_equal(send_seq(&key, replay, 1, 1000 + 500), WIRE_OK);
	assert_int_equal(send_seq(&key, replay, 1, 1000), WIRE_REPLAYED);
	assert_int_equal(send_seq(&key, replay, 1, 1500 - 63), WIRE_OK);
	assert_int_equal(send_seq(&key, replay, 1, 1500 - 64), WIRE_REPLAYED);
	/* A restarted sender starts at its clock in microseconds: far ahead. */
	assert_int_equal(send_seq(&key, replay, 1, NOW_MS * 1000), WIRE_OK);
	free(replay);
}

static void test_reordered_within_window(void **state)
{
	struct wire_key key = test_key();
	struct wire_replay *replay = new_replay();
	const uint64_t order[] = { 10, 12, 11, 15, 13, 14, 30, 20, 29, 16 };
	(void)state;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		assert_int_equal(send_seq(&key, replay, 9, order[i]), WIRE_OK);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		assert_int_equal(send_seq(&key, replay, 9, order[i]), WIRE_REPLAYED);
	/* Unseen gaps inside the window are still accepted, once. */
	assert_int_equal(send_seq(&key, replay, 9, 17), WIRE_OK);
	assert_int_equal(send_seq(&key, replay, 9, 17), WIRE_REPLAYED);
	free(replay);
}

static void test_stale_past_and_future(void **state)
{
	struct wire_key key = test_key();
	struct wire_replay *replay = new_replay();
	uint8_t msg[WIRE_MAX_MESSAGE];
	size_t len;
	(void)state;
	len = seal(&key, 1, 1, NOW_MS - SKEW_MS - 1, msg, sizeof(msg));
	assert_int_equal(open_msg(&key, replay, msg, len, NOW_MS), WIRE_STALE);
	len = seal(&key, 1, 1, NOW_MS + SKEW_MS + 1, msg, sizeof(msg));
	assert_int_equal(open_msg(&key, replay, msg, len, NOW_MS), WIRE_STALE);
	len = seal(&key, 1, 1, 0, msg, sizeof(msg));
	assert_int_equal(open_msg(&key, replay, msg, len, NOW_MS), WIRE_STALE);
	len = seal(&key, 1, 1, UINT64_MAX, msg, sizeof(msg));
	assert_int_equal(open_msg(&key, replay, msg, len, NOW_MS), WIRE_STALE);
	/* Stale messages did not consume sequence 1; the skew bound is inclusive. */
	len = seal(&key, 1, 1, NOW_MS - SKEW_MS, msg, sizeof(msg));
	assert_int_equal(open_msg(&key, replay, msg, len, NOW_MS), WIRE_OK);
	len = seal(&key, 1, 2, NOW_MS + SKEW_MS, msg, sizeof(msg));
	assert_int_equal(open_msg(&key, replay, msg, len, NOW_MS), WIRE_OK);
	free(replay);
}

static void test_too_many_senders(void **state)
{
	struct wire_key key = test_key();
	struct wire_replay *replay = new_replay();
	(void)state;
	for (uint32_t s = 0; s < WIRE_MAX_SENDERS; s++)
		assert_int_equal(send_seq(&key, replay, 1000 + s, 1), WIRE_OK);
	assert_int_equal(send_seq(&key, replay, 5, 1), WIRE_TOO_MANY_SENDERS);
	/* Known senders keep working. */
	assert_int_equal(send_seq(&key, replay, 1000, 2), WIRE_OK);
	assert_int_equal(send_seq(&key, replay, 1000 + WIRE_MAX_SENDERS - 1, 2), WIRE_OK);
	free(replay);
}

static void test_verdict_counters(void **state)
{
	(void)state;
	assert_int_equal(wire_verdict_counter(WIRE_OK), COUNTER_NONE);
	for (int v = WIRE_OK + 1; v < WIRE_VERDICT_COUNT; v++) {
		enum counter_id id = wire_verdict_counter((enum wire_verdict)v);
		assert_int_not_equal(id, COUNTER_NONE);
		assert_true(strncmp(counter_name(id), "wire_", 5) == 0);
		for (int w = WIRE_OK + 1; w < v; w++)
			assert_int_not_equal(id, wire_verdict_counter((enum wire_verdict)w));
	}
	assert_string_equal(counter_name(wire_verdict_counter(WIRE_FORGED)), "wire_forged");
	assert_int_equal(wire_verdict_counter(WIRE_VERDICT_COUNT), COUNTER_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_field),
		cmocka_unit_test(test_seal_refuses_oversize),
		cmocka_unit_test(test_forged_tag_and_wrong_key),
		cmocka_unit_test(test_flipped_bit_anywhere),
		cmocka_unit_test(test_truncated_at_every_length),
		cmocka_unit_test(test_bad_magic_and_version),
		cmocka_unit_test(test_replayed),
		cmocka_unit_test(test_out_of_window),
		cmocka_unit_test(test_reordered_within_window),
		cmocka_unit_test(test_stale_past_and_future),
		cmocka_unit_test(test_too_many_senders),
		cmocka_unit_test(test_verdict_counters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
