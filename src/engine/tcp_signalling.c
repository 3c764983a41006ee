/* tcp_signalling.c - one signalling TCP flow's reassembly (tcp_signalling.h):
 * the loop the engine and the gateway role share over dpi/tcp_stream. */
#include "engine/tcp_signalling.h"

#include "dpi/packet.h"
#include "dpi/tcp_stream.h"
#include "engine/counters.h"

/* Adds the segment's bytes; the result says whether they were lost. */
static enum tcp_signalling_result add_segment(struct tcp_stream *stream,
					      const struct tcp_segment *segment,
					      struct counter_set *counters)
{
	switch (tcp_stream_add(stream, segment->seq, segment->flags, segment->payload, segment->len)) {
	case TCP_STREAM_OK:
		return TCP_SIGNALLING_OK;
	case TCP_STREAM_OVERFLOW:
		/* The stream has already dropped the oversized message. */
		counter_add(counters, COUNTER_TCP_STREAM_OVERFLOW, 1);
		return TCP_SIGNALLING_SEGMENT_LOST;
	case TCP_STREAM_OOO_LIMIT:
		/* The packet still reaches the connection's server; we give up on
		 * the gap rather than stall the stream forever. */
		counter_add(counters, COUNTER_TCP_STREAM_OUT_OF_ORDER_LIMIT, 1);
		tcp_stream_resync(stream);
		return TCP_SIGNALLING_SEGMENT_LOST;
	case TCP_STREAM_NO_MEMORY:
		counter_add(counters, COUNTER_TCP_STREAM_NO_MEMORY, 1);
		return TCP_SIGNALLING_SEGMENT_LOST;
	}
	return TCP_SIGNALLING_SEGMENT_LOST;
}

enum tcp_signalling_result tcp_signalling_segment(struct tcp_signalling *state,
						  struct tcp_stream_pool *pool,
						  const struct tcp_segment *segment,
						  const struct tcp_framing *framing,
						  struct counter_set *counters,
						  tcp_message_fn on_message, void *ctx)
{
	enum tcp_signalling_result result;
	if (segment->flags & (TCP_FLAG_FIN | TCP_FLAG_RST))
		state->closed = true;
	else if (segment->flags & TCP_FLAG_SYN)
		state->closed = false;
	/* The SYN's sequence number is kept in the state, so that a first data
	 * segment arriving out of order is placed right; the stream is taken
	 * only when data arrives, so that a SYN flood cannot use up the
	 * streams. */
	if (!state->stream && segment->len == 0) {
		if (segment->flags & TCP_FLAG_SYN) {
			state->isn = segment->seq;
			state->isn_known = true;
		}
		return TCP_SIGNALLING_OK;
	}
	if (segment->len > 0)
		state->data_seen = true;
	if (!state->stream) {
		state->stream = tcp_stream_open(pool);
		if (!state->stream) {
			counter_add(counters, COUNTER_TCP_STREAMS_FULL, 1);
			return TCP_SIGNALLING_NO_STREAM;
		}
		if (state->isn_known && !(segment->flags & TCP_FLAG_SYN))
			tcp_stream_add(state->stream, state->isn, TCP_FLAG_SYN, NULL, 0);
	}
	result = add_segment(state->stream, segment, counters);
	for (;;) {
		const uint8_t *msg;
		size_t msg_len;
		bool more;
		enum frame_result r = tcp_stream_next(state->stream, framing->frame,
						      framing->max_message, &msg, &msg_len);
		if (r == FRAME_NEED_MORE)
			break;
		if (r != FRAME_MESSAGE) {
			counter_add(counters, COUNTER_TCP_STREAM_UNFRAMEABLE, 1);
			tcp_stream_resync(state->stream);
			break;
		}
		more = on_message(ctx, msg, msg_len);
		tcp_stream_consume(state->stream, msg_len);
		if (!more)
			break;
	}
	if (segment->flags & (TCP_FLAG_FIN | TCP_FLAG_RST))
		tcp_signalling_release(state, pool);
	return result;
}

void tcp_signalling_release(struct tcp_signalling *state, struct tcp_stream_pool *pool)
{
	if (!state->stream)
		return;
	tcp_stream_close(pool, state->stream);
	state->stream = NULL;
}
