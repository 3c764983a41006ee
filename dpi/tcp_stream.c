/* tcp_stream.c - per-flow in-order TCP reassembly for signalling: one
 * bounded linear buffer per stream, out-of-order bytes held in place. */
#include "dpi/tcp_stream.h"

#include <stdlib.h>
#include <string.h>

#include "dpi/byte_ranges.h"
#include "dpi/packet.h"

/* Out-of-order ranges held per stream. Signalling rarely has more than one
 * or two holes; the bound caps the bookkeeping an attacker can cause. */
#define TCP_STREAM_MAX_HELD 8
#define NO_INDEX UINT32_MAX


/* The buffer holds the window [next_seq - length, ...): `length` contiguous
 * bytes from `start`, then held ranges at their sequence position. */
struct tcp_stream {
	bool in_use;
	bool synced;         /* next_seq is known */
	bool received_data;  /* any byte accepted since the last (re)sync */
	uint32_t next_seq;   /* sequence of the byte after the contiguous data */
	uint8_t *buffer;     /* buffer_size bytes, allocated on first data */
	size_t start;        /* first unconsumed byte */
	size_t length;       /* contiguous bytes at start */
	unsigned held_count;
	struct byte_range held[TCP_STREAM_MAX_HELD]; /* sorted, disjoint, past start+length */
	uint32_t free_next;
	struct tcp_stream_pool *pool;
};

struct tcp_stream_pool {
	unsigned capacity;
	size_t buffer_size;
	struct tcp_stream *streams;
	uint32_t free_head;
	unsigned in_use;
	size_t bytes_reserved;
};

struct tcp_stream_pool *tcp_stream_pool_create(unsigned capacity, size_t buffer_size)
{
	if (capacity == 0 || capacity >= NO_INDEX || buffer_size == 0 ||
	    buffer_size > SIZE_MAX / capacity)
		return NULL;
	struct tcp_stream_pool *pool = calloc(1, sizeof(*pool));
	if (pool == NULL)
		goto fail;
	pool->streams = calloc(capacity, sizeof(*pool->streams));
	if (pool->streams == NULL)
		goto fail_free_pool;
	pool->capacity = capacity;
	pool->buffer_size = buffer_size;
	for (unsigned i = 0; i < capacity; i++) {
		pool->streams[i].free_next = i + 1 < capacity ? i + 1 : NO_INDEX;
		pool->streams[i].pool = pool;
	}
	pool->free_head = 0;
	return pool;

fail_free_pool:
	free(pool);
fail:
	return NULL;
}

void tcp_stream_pool_destroy(struct tcp_stream_pool *pool)
{
	if (pool == NULL)
		return;
	for (unsigned i = 0; i < pool->capacity; i++)
		free(pool->streams[i].buffer);
	free(pool->streams);
	free(pool);
}

struct tcp_stream *tcp_stream_open(struct tcp_stream_pool *pool)
{
	if (pool->free_head == NO_INDEX)
		return NULL;
	struct tcp_stream *stream = &pool->streams[pool->free_head];
	pool->free_head = stream->free_next;
	memset(stream, 0, sizeof(*stream));
	stream->pool = pool;
	stream->in_use = true;
	stream->free_next = NO_INDEX;
	pool->in_use++;
	return stream;
}

void tcp_stream_close(struct tcp_stream_pool *pool, struct tcp_stream *stream)
{
	if (stream == NULL || stream->pool != pool || !stream->in_use)
		return;
	/* Buffers go back to the allocator so that idle streams cost nothing. */
	if (stream->buffer != NULL) {
		free(stream->buffer);
		stream->buffer = NULL;
		pool->bytes_reserved -= pool->buffer_size;
	}
	stream->in_use = false;
	stream->free_next = pool->free_head;
	pool->free_head = (uint32_t)(stream - pool->streams);
	pool->in_use--;
}

unsigned tcp_stream_pool_in_use(const struct tcp_stream_pool *pool)
{
	return pool->in_use;
}

size_t tcp_stream_pool_bytes(const struct tcp_stream_pool *pool)
{
	return pool->bytes_reserved;
}

size_t tcp_stream_buffered(const struct tcp_stream *stream)
{
	return stream->length;
}

/* Drops everything buffered, held bytes included, and forgets the sequence:
 * the next segment carrying data is taken as the new start, so a stream
 * with a hole that will never fill does not stall forever. */
void tcp_stream_resync(struct tcp_stream *stream)
{
	stream->start = 0;
	stream->length = 0;
	stream->held_count = 0;
	stream->synced = false;
	stream->received_data = false;
}

void tcp_stream_consume(struct tcp_stream *stream, size_t n)
{
	if (n > stream->length)
		n = stream->length;
	stream->start += n;
	stream->length -= n;
	if (stream->length == 0 && stream->held_count == 0)
		stream->start = 0;
}

/* Moves unconsumed and held bytes to the front of the buffer. */
static void compact(struct tcp_stream *stream)
{
	if (stream->start == 0)
		return;
	size_t used_end = stream->held_count > 0 ? stream->held[stream->held_count - 1].end
						 : stream->start + stream->length;
	memmove(stream->buffer, stream->buffer + stream->start, used_end - stream->start);
	for (unsigned i = 0; i < stream->held_count; i++) {
		stream->held[i].start -= stream->start;
		stream->held[i].end -= stream->start;
	}
	stream->start = 0;
}

/* Folds held ranges that now touch the contiguous data into it. */
static void absorb_held(struct tcp_stream *stream)
{
	while (stream->held_count > 0) {
		size_t contiguous_end = stream->start + stream->length;
		struct byte_range first = stream->held[0];
		if (first.start > contiguous_end)
			break;
		if (first.end > contiguous_end) {
			size_t gained = first.end - contiguous_end;
			stream->length += gained;
			stream->next_seq += (uint32_t)gained;
		}
		memmove(&stream->held[0], &stream->held[1],
			(stream->held_count - 1) * sizeof(stream->held[0]));
		stream->held_count--;
	}
}

/* Records [start, end) (buffer positions) as held, merging ranges it
 * overlaps or touches; false (nothing changed) when that would exceed the
 * bound. Positions fit 32 bits: tcp_buffer is at most 16 MiB. */
static bool hold_range(struct tcp_stream *stream, size_t start, size_t end)
{
	return byte_ranges_add(stream->held, &stream->held_count, TCP_STREAM_MAX_HELD, (uint32_t)start,
			       (uint32_t)end);
}

enum tcp_stream_status tcp_stream_add(struct tcp_stream *stream, uint32_t seq, uint8_t flags,
				      const uint8_t *data, size_t len)
{
	struct tcp_stream_pool *pool = stream->pool;
	bool syn = (flags & TCP_FLAG_SYN) != 0;

	if (syn) {
		/* A SYN names the ISN; its data (TCP Fast Open) starts after.
		 * A SYN retransmitted with another ISN before any data means
		 * the connection restarted: follow it. */
		if (!stream->synced || (!stream->received_data && stream->next_seq != seq + 1)) {
			stream->next_seq = seq + 1;
			stream->synced = true;
		}
		seq += 1;
	} else if (!stream->synced) {
		/* Pure ACKs and keep-alives do not fix the sequence: a
		 * keep-alive carries next_seq - 1. */
		if (len == 0)
			return TCP_STREAM_OK;
		stream->next_seq = seq;
		stream->synced = true;
	}
	if (len == 0)
		return TCP_STREAM_OK;

	/* Signed distance mod 2^32: negative means (partly) old bytes. */
	int32_t distance = (int32_t)(seq - stream->next_seq);
	if (distance < 0) {
		size_t old = (size_t)(-(int64_t)distance);
		if (old >= len)
			return TCP_STREAM_OK; /* a pure retransmission */
		data += old;
		len -= old;
		distance = 0;
	}

	if (stream->buffer == NULL) {
		if (pool->bytes_reserved + pool->buffer_size > (size_t)pool->capacity * pool->buffer_size)
			return TCP_STREAM_NO_MEMORY;
		stream->buffer = malloc(pool->buffer_size);
		if (stream->buffer == NULL)
			return TCP_STREAM_NO_MEMORY;
		pool->bytes_reserved += pool->buffer_size;
	}

	size_t size = pool->buffer_size;
	size_t offset = (size_t)distance; /* bytes past the contiguous end */
	if (offset > size || len > size - offset ||
	    stream->start + stream->length + offset + len > size)
		compact(stream);
	bool fits = offset <= size - stream->length && len <= size - stream->length - offset;

	if (offset == 0) {
		if (!fits) {
			/* The message being assembled is larger than the
			 * buffer: give it up and pick up at the next segment. */
			tcp_stream_resync(stream);
			return TCP_STREAM_OVERFLOW;
		}
		memcpy(stream->buffer + stream->start + stream->length, data, len);
		stream->length += len;
		stream->next_seq += (uint32_t)len;
		stream->received_data = true;
		absorb_held(stream);
		return TCP_STREAM_OK;
	}

	size_t position = stream->start + stream->length + offset;
	if (!fits || !hold_range(stream, position, position + len))
		return TCP_STREAM_OOO_LIMIT;
	memcpy(stream->buffer + position, data, len);
	stream->received_data = true;
	return TCP_STREAM_OK;
}

enum frame_result tcp_stream_next(struct tcp_stream *stream, framer_fn framer, size_t max_message,
				  const uint8_t **msg, size_t *msg_len)
{
	*msg = NULL;
	*msg_len = 0;
	/* A message larger than the buffer can never be assembled: let the
	 * framer call it invalid now rather than overflow later. */
	if (max_message > stream->pool->buffer_size)
		max_message = stream->pool->buffer_size;
	for (;;) {
		if (stream->length == 0)
			return FRAME_NEED_MORE;
		const uint8_t *p = stream->buffer + stream->start;
		size_t n = 0;
		enum frame_result result = framer(p, stream->length, max_message, &n);
		switch (result) {
		case FRAME_SKIP:
			/* A framer that skips nothing would loop forever. */
			if (n == 0 || n > stream->length)
				return FRAME_INVALID;
			tcp_stream_consume(stream, n);
			continue;
		case FRAME_MESSAGE:
			if (n == 0 || n > stream->length)
				return FRAME_INVALID;
			*msg = p;
			*msg_len = n;
			return FRAME_MESSAGE;
		case FRAME_NEED_MORE:
			return FRAME_NEED_MORE;
		case FRAME_INVALID:
		default:
			return FRAME_INVALID;
		}
	}
}
