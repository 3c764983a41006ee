/* tcp_signalling.h - one signalling TCP flow's reassembly, shared by the
 * engine and the gateway role: segments in, framed messages out. No I/O. */
#ifndef SARA_TCP_SIGNALLING_H
#define SARA_TCP_SIGNALLING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpi/framing.h"

struct counter_set;
struct tcp_stream;
struct tcp_stream_pool;

/* A flow's reassembly state; all zero for a new flow. */
struct tcp_signalling {
	struct tcp_stream *stream; /* taken when data arrives, released on FIN or RST */
	uint32_t isn;              /* the SYN's sequence number, when isn_known */
	bool isn_known;
	bool data_seen;            /* false: a handshake only (maybe a SYN flood) */
	bool closed;               /* a FIN or RST came (since the last SYN) */
};

/* One TCP segment of the flow. */
struct tcp_segment {
	uint32_t seq;
	uint8_t flags; /* TCP_FLAG_* */
	const uint8_t *payload;
	size_t len;
};

/* How the flow's protocol cuts messages out of the byte stream. */
struct tcp_framing {
	framer_fn frame;
	size_t max_message;
};

/* One complete message, valid only during the call. Returning false leaves
 * the messages after it buffered until the flow's next segment. The
 * callback must not release the flow's stream. */
typedef bool (*tcp_message_fn)(void *ctx, const uint8_t *msg, size_t len);

enum tcp_signalling_result {
	TCP_SIGNALLING_OK = 0,       /* the segment was taken (or carried nothing to take) */
	TCP_SIGNALLING_NO_STREAM,    /* no stream free: the segment went uninspected */
	TCP_SIGNALLING_SEGMENT_LOST, /* overflow, too many gaps or no memory */
};

/* Feeds one segment: a SYN's sequence number is kept, a stream is taken on
 * the first data, every complete message is handed to on_message, and a FIN
 * or RST releases the stream once its messages are out. Errors are counted
 * in counters under the reason's id (COUNTER_TCP_STREAM_OVERFLOW...); the stream resynchronises by itself
 * where waiting could never help. */
enum tcp_signalling_result tcp_signalling_segment(struct tcp_signalling *state,
						  struct tcp_stream_pool *pool,
						  const struct tcp_segment *segment,
						  const struct tcp_framing *framing,
						  struct counter_set *counters,
						  tcp_message_fn on_message, void *ctx);

/* Gives the stream, if any, back to pool (the flow goes away). */
void tcp_signalling_release(struct tcp_signalling *state, struct tcp_stream_pool *pool);

#endif
