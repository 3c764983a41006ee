/* tcp_stream.h - per-flow TCP reassembly for signalling: in-order delivery
 * into a bounded buffer; retransmissions trimmed; a bounded number of
 * out-of-order segments held until the gap fills. */
#ifndef SARA_TCP_STREAM_H
#define SARA_TCP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpi/framing.h"

enum tcp_stream_status {
	TCP_STREAM_OK = 0,
	TCP_STREAM_OVERFLOW,   /* buffer full: data dropped, stream resynchronises */
	TCP_STREAM_OOO_LIMIT,  /* too many out-of-order segments: segment dropped */
	TCP_STREAM_NO_MEMORY,  /* pool exhausted */
};

struct tcp_stream_pool;
struct tcp_stream;

/* capacity streams, each holding at most buffer_size bytes of unconsumed
 * data; memory is reserved lazily but never exceeds the bound. */
struct tcp_stream_pool *tcp_stream_pool_create(unsigned capacity, size_t buffer_size);
void tcp_stream_pool_destroy(struct tcp_stream_pool *pool);
struct tcp_stream *tcp_stream_open(struct tcp_stream_pool *pool);
void tcp_stream_close(struct tcp_stream_pool *pool, struct tcp_stream *stream);
unsigned tcp_stream_pool_in_use(const struct tcp_stream_pool *pool);
size_t tcp_stream_pool_bytes(const struct tcp_stream_pool *pool); /* reserved now */

/* Feeds one segment. The first segment (or a SYN) fixes the initial
 * sequence number; data before the next expected byte is a retransmission. */
enum tcp_stream_status tcp_stream_add(struct tcp_stream *stream, uint32_t seq, uint8_t flags,
				      const uint8_t *data, size_t len);

/* Returns the next framed message: FRAME_MESSAGE with *msg and *msg_len set
 * (valid until the next add/consume), FRAME_NEED_MORE, or FRAME_INVALID (the
 * caller decides; tcp_stream_resync() drops the buffered bytes). FRAME_SKIP
 * results are consumed internally. Call tcp_stream_consume(msg_len) after
 * handling a message. */
enum frame_result tcp_stream_next(struct tcp_stream *stream, framer_fn framer, size_t max_message,
				  const uint8_t **msg, size_t *msg_len);
void tcp_stream_consume(struct tcp_stream *stream, size_t n);
void tcp_stream_resync(struct tcp_stream *stream);
size_t tcp_stream_buffered(const struct tcp_stream *stream);

#endif
