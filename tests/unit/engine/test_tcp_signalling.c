/* test_tcp_signalling.c - the shared signalling TCP loop: ISN capture,
 * in-order and out-of-order delivery, FIN/RST release, error counters and
 * resynchronisation, with a line framer standing in for SIP or RTSP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dpi/packet.h"
#include "dpi/tcp_stream.h"
#include "engine/counters.h"
#include "engine/tcp_signalling.h"

#define ISN 1000u
#define BUFFER 256
#define MAX_MESSAGES 16

/* One message a line; '!' at the start of a line cannot be framed. */
static enum frame_result line_framer(const uint8_t *p, size_t len, size_t max_message,
				     size_t *msg_len)
{
	const uint8_t *end;
	if (p[0] == '!')
		return FRAME_INVALID;
	end = memchr(p, '\n', len);
	if (!end)
		return len >= max_message ? FRAME_INVALID : FRAME_NEED_MORE;
	*msg_len = (size_t)(end - p) + 1;
	return FRAME_MESSAGE;
}

struct fixture {
	struct tcp_stream_pool *pool;
	struct counter_set counters;
	struct tcp_signalling state;
	struct tcp_framing framing;
	char messages[MAX_MESSAGES][64];
	unsigned count;
	unsigned stop_after; /* the callback asks to stop after this many; 0: never */
};

static bool collect(void *ctx, const uint8_t *msg, size_t len)
{
	struct fixture *fx = ctx;
	assert_true(fx->count < MAX_MESSAGES);
	assert_true(len < sizeof(fx->messages[0]));
	memcpy(fx->messages[fx->count], msg, len);
	fx->messages[fx->count][len] = '\0';
	fx->count++;
	return fx->stop_after == 0 || fx->count % fx->stop_after != 0;
}

/* How many events were counted, all counters together. */
static uint64_t events_counted(const struct fixture *fx)
{
	uint64_t total = 0;
	for (unsigned id = 0; id < COUNTER_COUNT; id++)
		total += fx->counters.values[id];
	return total;
}

static int setup_pool(struct fixture *fx, unsigned streams, size_t buffer)
{
	memset(fx, 0, sizeof(*fx));
	fx->pool = tcp_stream_pool_create(streams, buffer);
	fx->framing = (struct tcp_framing){ line_framer, 1024 };
	return fx->pool ? 0 : -1;
}

static int setup(void **state)
{
	static struct fixture fx;
	*state = &fx;
	return setup_pool(&fx, 2, BUFFER);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	tcp_signalling_release(&fx->state, fx->pool);
	tcp_stream_pool_destroy(fx->pool);
	return 0;
}

/* Bytes [offset, offset + len) of text, numbered from the first data byte
 * after a SYN with sequence ISN. */
static enum tcp_signalling_result send_piece(struct fixture *fx, const char *text, size_t offset,
					     size_t len, uint8_t flags)
{
	struct tcp_segment segment = { ISN + 1 + (uint32_t)offset, flags,
				       (const uint8_t *)text + offset, len };
	return tcp_signalling_segment(&fx->state, fx->pool, &segment, &fx->framing, &fx->counters,
				      collect, fx);
}

static void send_syn(struct fixture *fx)
{
	struct tcp_segment syn = { ISN, TCP_FLAG_SYN, NULL, 0 };
	assert_int_equal(tcp_signalling_segment(&fx->state, fx->pool, &syn, &fx->framing,
						&fx->counters, collect, fx),
			 TCP_SIGNALLING_OK);
}

static void test_in_order(void **state)
{
	struct fixture *fx = *state;
	static const char text[] = "hello\nworld\n";

	send_syn(fx);
	assert_true(fx->state.isn_known);
	assert_int_equal(fx->state.isn, ISN);
	assert_false(fx->state.data_seen);
	assert_null(fx->state.stream); /* a handshake takes no stream */
	assert_int_equal(tcp_stream_pool_in_use(fx->pool), 0);

	assert_int_equal(send_piece(fx, text, 0, 8, TCP_FLAG_ACK), TCP_SIGNALLING_OK);
	assert_true(fx->state.data_seen);
	assert_non_null(fx->state.stream);
	assert_int_equal(fx->count, 1);
	assert_string_equal(fx->messages[0], "hello\n");
	assert_int_equal(send_piece(fx, text, 8, strlen(text) - 8, TCP_FLAG_ACK), TCP_SIGNALLING_OK);
	assert_int_equal(fx->count, 2);
	assert_string_equal(fx->messages[1], "world\n");
	/* A retransmission of bytes already taken yields nothing again. */
	assert_int_equal(send_piece(fx, text, 0, 8, TCP_FLAG_ACK), TCP_SIGNALLING_OK);
	assert_int_equal(fx->count, 2);
	assert_int_equal(events_counted(fx), 0);
}

static void test_out_of_order_within_limits(void **state)
{
	struct fixture *fx = *state;
	static const char text[] = "one\ntwo\nthree\n";

	send_syn(fx);
	send_piece(fx, text, 8, 6, TCP_FLAG_ACK);
	send_piece(fx, text, 4, 4, TCP_FLAG_ACK);
	assert_int_equal(fx->count, 0);
	assert_int_equal(send_piece(fx, text, 0, 4, TCP_FLAG_ACK), TCP_SIGNALLING_OK);
	assert_int_equal(fx->count, 3);
	assert_string_equal(fx->messages[0], "one\n");
	assert_string_equal(fx->messages[1], "two\n");
	assert_string_equal(fx->messages[2], "three\n");
	assert_int_equal(events_counted(fx), 0);
}

/* The SYN took no stream, yet its ISN places a first data segment that
 * arrives out of order; without the SYN, the first data fixes the start. */
static void test_syn_isn_places_first_data(void **state)
{
	struct fixture *fx = *state;
	static const char text[] = "first\nsecond\n";

	send_syn(fx);
	send_piece(fx, text, 6, 7, TCP_FLAG_ACK);
	assert_int_equal(fx->count, 0);
	send_piece(fx, text, 0, 6, TCP_FLAG_ACK);
	assert_int_equal(fx->count, 2);
	assert_string_equal(fx->messages[0], "first\n");
	assert_string_equal(fx->messages[1], "second\n");
	tcp_signalling_release(&fx->state, fx->pool);

	/* No SYN seen: "second\n" is taken as the start of the stream. */
	memset(&fx->state, 0, sizeof(fx->state));
	fx->count = 0;
	send_piece(fx, text, 6, 7, TCP_FLAG_ACK);
	assert_int_equal(fx->count, 1);
	assert_string_equal(fx->messages[0], "second\n");
}

static void test_fin_and_rst_release_the_stream(void **state)
{
	struct fixture *fx = *state;
	static const char text[] = "bye\n";
	static const char partial[] = "half a mess";

	/* A FIN carrying the last message: the message first, then release. */
	send_syn(fx);
	send_piece(fx, text, 0, strlen(text), TCP_FLAG_ACK | TCP_FLAG_FIN);
	assert_int_equal(fx->count, 1);
	assert_string_equal(fx->messages[0], "bye\n");
	assert_null(fx->state.stream);
	assert_int_equal(tcp_stream_pool_in_use(fx->pool), 0);
	/* The last ACK after it takes no stream again. */
	send_piece(fx, text, strlen(text) + 1, 0, TCP_FLAG_ACK);
	assert_null(fx->state.stream);

	/* An RST drops a message still being assembled. */
	memset(&fx->state, 0, sizeof(fx->state));
	send_syn(fx);
	send_piece(fx, partial, 0, strlen(partial), TCP_FLAG_ACK);
	assert_int_equal(tcp_stream_pool_in_use(fx->pool), 1);
	send_piece(fx, partial, strlen(partial), 0, TCP_FLAG_RST);
	assert_null(fx->state.stream);
	assert_int_equal(tcp_stream_pool_in_use(fx->pool), 0);
	assert_int_equal(fx->count, 1);
}

/* Bytes that cannot be framed are counted and dropped; the next segment
 * starts the stream again. */
static void test_unframeable_resyncs(void **state)
{
	struct fixture *fx = *state;
	static const char text[] = "!junk\nafter\n";

	send_syn(fx);
	assert_int_equal(send_piece(fx, text, 0, 6, TCP_FLAG_ACK), TCP_SIGNALLING_OK);
	assert_int_equal(counter_get(&fx->counters, COUNTER_TCP_STREAM_UNFRAMEABLE), 1);
	assert_int_equal(fx->count, 0);
	assert_int_equal(tcp_stream_buffered(fx->state.stream), 0);
	send_piece(fx, text, 6, 6, TCP_FLAG_ACK);
	assert_int_equal(fx->count, 1);
	assert_string_equal(fx->messages[0], "after\n");
	assert_int_equal(counter_get(&fx->counters, COUNTER_TCP_STREAM_UNFRAMEABLE), 1);
}

/* A message larger than the buffer is given up (tcp_stream_overflow); the
 * stream picks up at the next segment. */
static void test_overflow(void **state)
{
	struct fixture *fx = *state;
	char big[BUFFER + 64];
	static const char next[] = "ok\n";

	memset(big, 'x', sizeof(big));
	send_syn(fx);
	assert_int_equal(send_piece(fx, big, 0, BUFFER / 2, TCP_FLAG_ACK), TCP_SIGNALLING_OK);
	assert_int_equal(send_piece(fx, big, BUFFER / 2, BUFFER / 2 + 32, TCP_FLAG_ACK),
			 TCP_SIGNALLING_SEGMENT_LOST);
	assert_int_equal(counter_get(&fx->counters, COUNTER_TCP_STREAM_OVERFLOW), 1);
	assert_int_equal(fx->count, 0);
	send_piece(fx, next, 0, strlen(next), TCP_FLAG_ACK);
	assert_int_equal(fx->count, 1);
	assert_string_equal(fx->messages[0], "ok\n");
}

/* More holes than a stream holds: counted, and the stream resynchronises
 * on the next segment rather than waiting for a gap that may never fill. */
static void test_out_of_order_limit(void **state)
{
	struct fixture *fx = *state;
	char text[64];
	enum tcp_signalling_result result = TCP_SIGNALLING_OK;
	unsigned holes;

	memset(text, 'y', sizeof(text));
	send_syn(fx);
	for (holes = 0; holes < 20 && result == TCP_SIGNALLING_OK; holes++)
		result = send_piece(fx, text, 2 + 3 * holes, 1, TCP_FLAG_ACK);
	assert_int_equal(result, TCP_SIGNALLING_SEGMENT_LOST);
	assert_true(holes > 1);
	assert_int_equal(counter_get(&fx->counters, COUNTER_TCP_STREAM_OUT_OF_ORDER_LIMIT), 1);
	send_piece(fx, "fresh\n", 0, 6, TCP_FLAG_ACK);
	assert_int_equal(fx->count, 1);
	assert_string_equal(fx->messages[0], "fresh\n");
}

/* Every stream taken: the segment is counted and not inspected. */
static void test_streams_full(void **state)
{
	struct fixture *fx = *state;
	struct tcp_signalling others[2] = { { 0 }, { 0 } };
	struct tcp_segment data = { 1, TCP_FLAG_ACK, (const uint8_t *)"a\n", 2 };

	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(tcp_signalling_segment(&others[i], fx->pool, &data, &fx->framing,
							&fx->counters, collect, fx),
				 TCP_SIGNALLING_OK);
	assert_int_equal(fx->count, 2);
	assert_int_equal(send_piece(fx, "b\n", 0, 2, TCP_FLAG_ACK), TCP_SIGNALLING_NO_STREAM);
	assert_int_equal(counter_get(&fx->counters, COUNTER_TCP_STREAMS_FULL), 1);
	assert_null(fx->state.stream);
	assert_int_equal(fx->count, 2);
	for (unsigned i = 0; i < 2; i++)
		tcp_signalling_release(&others[i], fx->pool);
}

/* A callback that stops leaves the rest buffered for the next segment. */
static void test_callback_stops(void **state)
{
	struct fixture *fx = *state;
	static const char text[] = "a\nb\nc\n";

	fx->stop_after = 1;
	send_syn(fx);
	send_piece(fx, text, 0, strlen(text), TCP_FLAG_ACK);
	assert_int_equal(fx->count, 1);
	assert_int_equal(tcp_stream_buffered(fx->state.stream), 4);
	send_piece(fx, text, strlen(text), 0, TCP_FLAG_ACK);
	assert_int_equal(fx->count, 2);
	fx->stop_after = 0;
	send_piece(fx, text, strlen(text), 0, TCP_FLAG_ACK);
	assert_int_equal(fx->count, 3);
	assert_string_equal(fx->messages[2], "c\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order_within_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syn_isn_places_first_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fin_and_rst_release_the_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unframeable_resyncs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_streams_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callback_stops, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
