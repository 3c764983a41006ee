/* test_tcp_stream.c - TCP reassembly for signalling: splits at every point,
 * retransmissions, out-of-order, wraparound, overflow, SYN, pool limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dpi/packet.h"
#include "dpi/tcp_stream.h"

/* Test framing: a message is text up to and including a blank line
 * ("\n\n"); a lone leading '\n' is a keep-alive to skip; a '!' byte
 * cannot be framed. */
static size_t last_max_message;

static enum frame_result blank_line_framer(const uint8_t *p, size_t len, size_t max_message,
					   size_t *msg_len)
{
	last_max_message = max_message;
	if (p[0] == '\n') {
		*msg_len = 1;
		return FRAME_SKIP;
	}
	if (p[0] == '!')
		return FRAME_INVALID;
	for (size_t i = 1; i < len; i++) {
		if (p[i - 1] == '\n' && p[i] == '\n') {
			if (i + 1 > max_message)
				return FRAME_INVALID;
			*msg_len = i + 1;
			return FRAME_MESSAGE;
		}
	}
	return len >= max_message ? FRAME_INVALID : FRAME_NEED_MORE;
}

/* A framer that lies about lengths, to check the stream guards itself. */
static size_t lying_length;
static enum frame_result lying_framer(const uint8_t *p, size_t len, size_t max_message,
				      size_t *msg_len)
{
	(void)p;
	(void)max_message;
	*msg_len = lying_length == SIZE_MAX ? len + 1 : lying_length;
	return p[0] == 's' ? FRAME_SKIP : FRAME_MESSAGE;
}

static const char message_a[] = "INVITE sip:a SIP/2.0\nCall-ID: 1\n\n";
static const char message_b[] = "BYE sip:a SIP/2.0\nCall-ID: 1\n\n";
static const char message_c[] = "OPTIONS * RTSP/1.0\nCSeq: 2\n\n";

/* Pulls the next message and checks it equals `expected`, then consumes it. */
static void expect_message(struct tcp_stream *stream, const char *expected)
{
	const uint8_t *msg;
	size_t len;
	assert_int_equal(tcp_stream_next(stream, blank_line_framer, 4096, &msg, &len), FRAME_MESSAGE);
	assert_int_equal(len, strlen(expected));
	assert_memory_equal(msg, expected, len);
	tcp_stream_consume(stream, len);
}

static void expect_need_more(struct tcp_stream *stream)
{
	const uint8_t *msg;
	size_t len;
	assert_int_equal(tcp_stream_next(stream, blank_line_framer, 4096, &msg, &len),
			 FRAME_NEED_MORE);
	assert_null(msg);
}

static enum tcp_stream_status add(struct tcp_stream *stream, uint32_t seq, const char *text,
				  size_t len)
{
	return tcp_stream_add(stream, seq, TCP_FLAG_ACK, (const uint8_t *)text, len);
}

static void test_single_message(void **state)
{
	(void)state;
	struct tcp_stream_pool *pool = tcp_stream_pool_create(2, 256);
	struct tcp_stream *stream = tcp_stream_open(pool);
	assert_non_null(stream);
	expect_need_more(stream);
	assert_int_equal(add(stream, 1000, message_a, strlen(message_a)), TCP_STREAM_OK);
	expect_message(stream, message_a);
	expect_need_more(stream);
	assert_int_equal(tcp_stream_buffered(stream), 0);
	tcp_stream_close(pool, stream);
	tcp_stream_pool_destroy(pool);
}

/* Two segments, split at every possible byte, starting at several ISNs
 * including ones that make the split straddle 2^32. */
static void test_every_split_point(void **state)
{
	(void)state;
	static const uint32_t isns[] = { 0, 1000, 0xffffffe0u, 0xfffffff0u, 0xffffffffu };
	struct tcp_stream_pool *pool = tcp_stream_pool_create(1, 128);
	size_t n = strlen(message_a);
	for (size_t k = 0; k < sizeof(isns) / sizeof(isns[0]); k++) {
		for (size_t split = 1; split < n; split++) {
			for (int reversed = 0; reversed < 2; reversed++) {
				struct tcp_stream *stream = tcp_stream_open(pool);
				uint32_t isn = isns[k];
				/* A SYN fixes the ISN so the second half may come first. */
				assert_int_equal(tcp_stream_add(stream, isn - 1, TCP_FLAG_SYN, NULL, 0),
						 TCP_STREAM_OK);
				if (!reversed) {
					assert_int_equal(add(stream, isn, message_a, split), TCP_STREAM_OK);
					expect_need_more(stream);
					assert_int_equal(add(stream, isn + (uint32_t)split, message_a + split,
							     n - split),
							 TCP_STREAM_OK);
				} else {
					assert_int_equal(add(stream, isn + (uint32_t)split, message_a + split,
							     n - split),
							 TCP_STREAM_OK);
					expect_need_more(stream);
					assert_int_equal(add(stream, isn, message_a, split), TCP_STREAM_OK);
				}
				expect_message(stream, message_a);
				expect_need_more(stream);
				tcp_stream_close(pool, stream);
			}
		}
	}
	tcp_stream_pool_destroy(pool);
}

/* One byte per segment, in order, across the wrap. */
static void test_byte_by_byte(void **state)
{
	(void)state;
	struct tcp_stream_pool *pool = tcp_stream_pool_create(1, 128);
	struct tcp_stream *stream = tcp_stream_open(pool);
	uint32_t seq = 0xfffffff5u;
	size_t n = strlen(message_b);
	for (size_t i = 0; i < n; i++) {
		expect_need_more(stream);
		assert_int_equal(add(stream, seq + (uint32_t)i, message_b + i, 1), TCP_STREAM_OK);
	}
	expect_message(stream, message_b);
	tcp_stream_close(pool, stream);
	tcp_stream_pool_destroy(pool);
}

static void test_several_messages_in_one_segment(void **state)
{
	(void)state;
	char text[256];
	size_t n = 0;
	n += (size_t)sprintf(text + n, "\n\n%s\n%s%s", message_a, message_b, message_c);
	memcpy(text + n, "REG", 3); /* start of a fourth */
	n += 3;
	struct tcp_stream_pool *pool = tcp_stream_pool_create(1, 256);
	struct tcp_stream *stream = tcp_stream_open(pool);
	assert_int_equal(add(stream, 5, text, n), TCP_STREAM_OK);
	/* Keep-alive newlines are skipped internally. */
	expect_message(stream, message_a);
	expect_message(stream, message_b);
	expect_message(stream, message_c);
	expect_need_more(stream);
	assert_int_equal(tcp_stream_buffered(stream), 3);
	assert_int_equal(add(stream, 5 + (uint32_t)n, "ISTER\n\n", 7), TCP_STREAM_OK);
	expect_message(stream, "REGISTER\n\n");
	tcp_stream_pool_destroy(pool); /* closes what is open */
}

static void test_retransmissions(void **state)
{
	(void)state;
	struct tcp_stream_pool *pool = tcp_stream_pool_create(1, 256);
	struct tcp_stream *stream = tcp_stream_open(pool);
	size_t n = strlen(message_a);
	assert_int_equal(add(stream, 100, message_a, 10), TCP_STREAM_OK);
	/* The same segment again: ignored. */
	assert_int_equal(add(stream, 100, message_a, 10), TCP_STREAM_OK);
	assert_int_equal(tcp_stream_buffered(stream), 10);
	/* A prefix of it: ignored. */
	assert_int_equal(add(stream, 102, message_a + 2, 5), TCP_STREAM_OK);
	assert_int_equal(tcp_stream_buffered(stream), 10);
	/* Partly old: repacketised retransmission carrying new bytes. */
	assert_int_equal(add(stream, 104, message_a + 4, 16), TCP_STREAM_OK);
	assert_int_equal(tcp_stream_buffered(stream), 20);
	assert_int_equal(add(stream, 120, message_a + 20, n - 20), TCP_STREAM_OK);
	expect_message(stream, message_a);
	/* Everything again after delivery: still ignored. */
	assert_int_equal(add(stream, 100, message_a, n), TCP_STREAM_OK);
	expect_need_more(stream);
	/* Very old data (half the sequence space back) is old, not future. */
	assert_int_equal(add(stream, 100 + (uint32_t)n - 0x7fffffffu, "junk", 4), TCP_STREAM_OK);
	assert_int_equal(tcp_stream_buffered(stream), 0);
	tcp_stream_pool_destroy(pool);
}

static void test_out_of_order(void **state)
{
	(void)state;
	struct tcp_stream_pool *pool = tcp_stream_pool_create(1, 256);
	struct tcp_stream *stream = tcp_stream_open(pool);
	char text[256];
	size_t n = (size_t)sprintf(text, "%s%s%s", message_a, message_b, message_c);
	uint32_t isn = 0xffffff00u;
	assert_int_equal(tcp_stream_add(stream, isn, TCP_FLAG_SYN, NULL, 0), TCP_STREAM_OK);
	uint32_t base = isn + 1;
	/* Five pieces delivered 4, 2, 3, 0 then 1, with one duplicate hold. */
	size_t cut[6] = { 0, 20, 45, 70, 80, n };
	static const int order[] = { 4, 2, 2, 3, 0, 1 };
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		int k = order[i];
		assert_int_equal(add(stream, base + (uint32_t)cut[k], text + cut[k], cut[k + 1] - cut[k]),
				 TCP_STREAM_OK);
		if (i < 5)
			expect_need_more(stream);
		else
			assert_int_equal(tcp_stream_buffered(stream), n);
		if (k == 0)
			assert_int_equal(tcp_stream_buffered(stream), 20);
	}
	expect_message(stream, message_a);
	expect_message(stream, message_b);
	expect_message(stream, message_c);
	expect_need_more(stream);
	tcp_stream_pool_destroy(pool);
}

static void test_out_of_order_limits(void **state)
{
	(void)state;
	struct tcp_stream_pool *pool = tcp_stream_pool_create(1, 256);
	struct tcp_stream *stream = tcp_stream_open(pool);
	assert_int_equal(add(stream, 0, "a", 1), TCP_STREAM_OK);
	/* Eight disjoint holes are held; the ninth is refused. */
	for (uint32_t i = 0; i < 8; i++)
		assert_int_equal(add(stream, 10 + 10 * i, "xy", 2), TCP_STREAM_OK);
	assert_int_equal(add(stream, 100, "xy", 2), TCP_STREAM_OOO_LIMIT);
	/* A piece merging with a held one is still accepted. */
	assert_int_equal(add(stream, 12, "zz", 2), TCP_STREAM_OK);
	/* Beyond the buffer window: refused, whatever the hold count. */
	assert_int_equal(add(stream, 300, "q", 1), TCP_STREAM_OOO_LIMIT);
	assert_int_equal(add(stream, 0x7ffffff0u, "q", 1), TCP_STREAM_OOO_LIMIT);
	assert_int_equal(add(stream, 252, "123456", 6), TCP_STREAM_OOO_LIMIT);
	assert_int_equal(tcp_stream_buffered(stream), 1);
	/* The resync drops everything and re-learns from the next segment. */
	tcp_stream_resync(stream);
	assert_int_equal(tcp_stream_buffered(stream), 0);
	assert_int_equal(add(stream, 5000, message_c, strlen(message_c)), TCP_STREAM_OK);
	expect_message(stream, message_c);
	tcp_stream_pool_destroy(pool);
}

static void test_overflow_and_resync(void **state)
{
	(void)state;
	struct tcp_stream_pool *pool = tcp_stream_pool_create(1, 64);
	struct tcp_stream *stream = tcp_stream_open(pool);
	char big[100];
	memset(big, 'x', sizeof(big));
	const uint8_t *msg;
	size_t len;
	assert_int_equal(add(stream, 0, big, 40), TCP_STREAM_OK);
	/* The framer is told no message can exceed the buffer. */
	assert_int_equal(tcp_stream_next(stream, blank_line_framer, 100000, &msg, &len),
			 FRAME_NEED_MORE);
	assert_int_equal(last_max_message, 64);
	assert_int_equal(add(stream, 40, big, 30), TCP_STREAM_OVERFLOW);
	assert_int_equal(tcp_stream_buffered(stream), 0);
	/* After the overflow the next segment starts afresh. */
	assert_int_equal(add(stream, 70, message_b, strlen(message_b)), TCP_STREAM_OK);
	expect_message(stream, message_b);
	/* A single segment larger than the buffer. */
	assert_int_equal(add(stream, 70 + (uint32_t)strlen(message_b), big, 100), TCP_STREAM_OVERFLOW);
	assert_int_equal(tcp_stream_pool_bytes(pool), 64);
	/* Exactly full is fine: consumption makes room (compaction). */
	assert_int_equal(add(stream, 1000, big, 60), TCP_STREAM_OK);
	tcp_stream_consume(stream, 50);
	assert_int_equal(add(stream, 1060, "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", 36), TCP_STREAM_OK);
	assert_int_equal(tcp_stream_buffered(stream), 46);
	tcp_stream_consume(stream, 1000); /* clamped */
	assert_int_equal(tcp_stream_buffered(stream), 0);
	tcp_stream_pool_destroy(pool);
}

static void test_invalid_then_resync(void **state)
{
	(void)state;
	struct tcp_stream_pool *pool = tcp_stream_pool_create(1, 128);
	struct tcp_stream *stream = tcp_stream_open(pool);
	const uint8_t *msg;
	size_t len;
	assert_int_equal(add(stream, 0, "!garbage", 8), TCP_STREAM_OK);
	assert_int_equal(tcp_stream_next(stream, blank_line_framer, 4096, &msg, &len), FRAME_INVALID);
	tcp_stream_resync(stream);
	assert_int_equal(add(stream, 8, message_a, strlen(message_a)), TCP_STREAM_OK);
	expect_message(stream, message_a);

	/* Framer lengths are not trusted. */
	assert_int_equal(add(stream, 8 + (uint32_t)strlen(message_a), "abc", 3), TCP_STREAM_OK);
	lying_length = 0;
	assert_int_equal(tcp_stream_next(stream, lying_framer, 4096, &msg, &len), FRAME_INVALID);
	lying_length = SIZE_MAX;
	assert_int_equal(tcp_stream_next(stream, lying_framer, 4096, &msg, &len), FRAME_INVALID);
	tcp_stream_resync(stream);
	assert_int_equal(add(stream, 9999, "sss", 3), TCP_STREAM_OK);
	lying_length = 0; /* a zero-length skip would spin forever */
	assert_int_equal(tcp_stream_next(stream, lying_framer, 4096, &msg, &len), FRAME_INVALID);
	lying_length = 1;
	assert_int_equal(tcp_stream_next(stream, lying_framer, 4096, &msg, &len), FRAME_NEED_MORE);
	assert_int_equal(tcp_stream_buffered(stream), 0);
	tcp_stream_pool_destroy(pool);
}

static void test_syn_handling(void **state)
{
	(void)state;
	struct tcp_stream_pool *pool = tcp_stream_pool_create(1, 128);
	struct tcp_stream *stream = tcp_stream_open(pool);
	/* Pure ACKs before anything do not fix the sequence. */
	assert_int_equal(tcp_stream_add(stream, 42, TCP_FLAG_ACK, NULL, 0), TCP_STREAM_OK);
	assert_int_equal(tcp_stream_pool_bytes(pool), 0);
	/* SYN at 999: data expected at 1000; a later segment held. */
	assert_int_equal(tcp_stream_add(stream, 999, TCP_FLAG_SYN, NULL, 0), TCP_STREAM_OK);
	assert_int_equal(add(stream, 1010, message_a + 10, strlen(message_a) - 10), TCP_STREAM_OK);
	expect_need_more(stream);
	/* A retransmitted SYN changes nothing. */
	assert_int_equal(tcp_stream_add(stream, 999, TCP_FLAG_SYN, NULL, 0), TCP_STREAM_OK);
	assert_int_equal(add(stream, 1000, message_a, 10), TCP_STREAM_OK);
	expect_message(stream, message_a);
	/* A SYN with another ISN after data is ignored. */
	assert_int_equal(tcp_stream_add(stream, 5, TCP_FLAG_SYN, NULL, 0), TCP_STREAM_OK);
	uint32_t next = 1000 + (uint32_t)strlen(message_a);
	assert_int_equal(add(stream, next, message_b, strlen(message_b)), TCP_STREAM_OK);
	expect_message(stream, message_b);
	/* FIN and RST flags are accepted; their data is still delivered. */
	next += (uint32_t)strlen(message_b);
	assert_int_equal(tcp_stream_add(stream, next, TCP_FLAG_FIN | TCP_FLAG_ACK,
					(const uint8_t *)message_c, strlen(message_c)),
			 TCP_STREAM_OK);
	expect_message(stream, message_c);
	tcp_stream_close(pool, stream);

	/* SYN carrying data (TCP Fast Open): the data starts at ISN + 1. */
	stream = tcp_stream_open(pool);
	assert_int_equal(tcp_stream_add(stream, 0xffffffffu, TCP_FLAG_SYN,
					(const uint8_t *)message_a, 5),
			 TCP_STREAM_OK);
	assert_int_equal(add(stream, 5, message_a + 5, strlen(message_a) - 5), TCP_STREAM_OK);
	expect_message(stream, message_a);
	tcp_stream_close(pool, stream);

	/* A new SYN before any data restarts the sequence. */
	stream = tcp_stream_open(pool);
	assert_int_equal(tcp_stream_add(stream, 100, TCP_FLAG_SYN, NULL, 0), TCP_STREAM_OK);
	assert_int_equal(tcp_stream_add(stream, 7000, TCP_FLAG_SYN, NULL, 0), TCP_STREAM_OK);
	assert_int_equal(add(stream, 7001, message_b, strlen(message_b)), TCP_STREAM_OK);
	expect_message(stream, message_b);
	tcp_stream_close(pool, stream);
	tcp_stream_pool_destroy(pool);
}

static void test_pool_accounting(void **state)
{
	(void)state;
	assert_null(tcp_stream_pool_create(0, 64));
	assert_null(tcp_stream_pool_create(4, 0));
	tcp_stream_pool_destroy(NULL);

	struct tcp_stream_pool *pool = tcp_stream_pool_create(2, 1000);
	struct tcp_stream *a = tcp_stream_open(pool);
	struct tcp_stream *b = tcp_stream_open(pool);
	assert_non_null(a);
	assert_non_null(b);
	assert_null(tcp_stream_open(pool));
	assert_int_equal(tcp_stream_pool_in_use(pool), 2);
	/* Buffers are reserved on first data only. */
	assert_int_equal(tcp_stream_pool_bytes(pool), 0);
	assert_int_equal(add(a, 1, "x", 1), TCP_STREAM_OK);
	assert_int_equal(tcp_stream_pool_bytes(pool), 1000);
	assert_int_equal(add(a, 2, "y", 1), TCP_STREAM_OK);
	assert_int_equal(tcp_stream_pool_bytes(pool), 1000);
	assert_int_equal(add(b, 1, "x", 1), TCP_STREAM_OK);
	assert_int_equal(tcp_stream_pool_bytes(pool), 2000);
	tcp_stream_close(pool, a);
	assert_int_equal(tcp_stream_pool_bytes(pool), 1000);
	assert_int_equal(tcp_stream_pool_in_use(pool), 1);
	tcp_stream_close(pool, a); /* double close is harmless */
	assert_int_equal(tcp_stream_pool_in_use(pool), 1);
	a = tcp_stream_open(pool);
	assert_non_null(a);
	assert_int_equal(tcp_stream_buffered(a), 0);
	assert_null(tcp_stream_open(pool));
	tcp_stream_close(pool, b);
	tcp_stream_close(pool, a);
	assert_int_equal(tcp_stream_pool_in_use(pool), 0);
	assert_int_equal(tcp_stream_pool_bytes(pool), 0);
	tcp_stream_pool_destroy(pool);
}

/* Pseudo-random segmentation, reordering and duplication of a stream of
 * messages: everything is delivered exactly once, in order. */
static void test_random_segmentation(void **state)
{
	(void)state;
	char text[4096];
	size_t n = 0;
	while (n + 100 < sizeof(text))
		n += (size_t)sprintf(text + n, "%s%s%s", message_a, message_b, message_c);
	uint32_t rng = 99;
	for (int round = 0; round < 200; round++) {
		struct tcp_stream_pool *pool = tcp_stream_pool_create(1, 512);
		struct tcp_stream *stream = tcp_stream_open(pool);
		uint32_t isn = rng * 2654435761u;
		tcp_stream_add(stream, isn, TCP_FLAG_SYN, NULL, 0);
		size_t delivered = 0, sent = 0;
		while (delivered < n) {
			rng = rng * 1103515245u + 12345u;
			/* Up to 3 segments ahead, sometimes a little back. */
			size_t back = (rng >> 8) % 4 == 0 && sent > 20 ? (rng >> 12) % 20 : 0;
			size_t ahead = (rng >> 16) % 3 == 0 ? (rng >> 18) % 60 : 0;
			size_t from = sent - back + ahead;
			size_t len = 1 + (rng >> 20) % 50;
			if (from >= n)
				continue;
			if (len > n - from)
				len = n - from;
			enum tcp_stream_status s = add(stream, isn + 1 + (uint32_t)from, text + from, len);
			assert_true(s == TCP_STREAM_OK || s == TCP_STREAM_OOO_LIMIT);
			const uint8_t *msg;
			size_t msg_len;
			while (tcp_stream_next(stream, blank_line_framer, 4096, &msg, &msg_len) ==
			       FRAME_MESSAGE) {
				assert_memory_equal(msg, text + delivered, msg_len);
				delivered += msg_len;
				tcp_stream_consume(stream, msg_len);
			}
			/* The receiver's next expected byte. */
			sent = delivered + tcp_stream_buffered(stream);
		}
		assert_int_equal(delivered, n);
		tcp_stream_pool_destroy(pool);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_message),
		cmocka_unit_test(test_every_split_point),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_several_messages_in_one_segment),
		cmocka_unit_test(test_retransmissions),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_out_of_order_limits),
		cmocka_unit_test(test_overflow_and_resync),
		cmocka_unit_test(test_invalid_then_resync),
		cmocka_unit_test(test_syn_handling),
		cmocka_unit_test(test_pool_accounting),
		cmocka_unit_test(test_random_segmentation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
