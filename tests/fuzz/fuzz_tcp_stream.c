/* fuzz_tcp_stream.c - libFuzzer target: segments cut from one reference
 * byte stream, in any order, duplicated, overlapping, across 2^32; every
 * delivered message must be the reference bytes at that position. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpi/packet.h"
#include "dpi/tcp_stream.h"

#define STREAM_LEN 2048
#define BUFFER_SIZE 256

/* A message is 1..64 bytes, its length given by its first byte. */
static enum frame_result length_byte_framer(const uint8_t *p, size_t len, size_t max_message,
					    size_t *msg_len)
{
	size_t want = (size_t)(p[0] % 64) + 1;
	if (want > max_message)
		return FRAME_INVALID;
	if (len < want)
		return FRAME_NEED_MORE;
	*msg_len = want;
	/* Messages starting with 0xff are keep-alives to skip. */
	return p[0] == 0xff ? FRAME_SKIP : FRAME_MESSAGE;
}

/* Input: 4 bytes of ISN, then operations of 4 bytes:
 * [offset high][offset low][length][flags]. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	uint8_t reference[STREAM_LEN];
	for (size_t i = 0; i < STREAM_LEN; i++)
		reference[i] = (uint8_t)(i * 131 + (i >> 3) * 7);
	uint32_t isn = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
	struct tcp_stream_pool *pool = tcp_stream_pool_create(1, BUFFER_SIZE);
	struct tcp_stream *stream = tcp_stream_open(pool);
	tcp_stream_add(stream, isn - 1, TCP_FLAG_SYN, NULL, 0);
	size_t delivered = 0;  /* reference offset of the next byte to deliver */
	int in_sync = 1;       /* cleared once data has been dropped */

	for (size_t pos = 4; size - pos >= 4; pos += 4) {
		size_t offset = ((size_t)data[pos] << 8 | data[pos + 1]) % STREAM_LEN;
		size_t len = data[pos + 2];
		uint8_t flags = data[pos + 3];
		if (len > STREAM_LEN - offset)
			len = STREAM_LEN - offset;
		if (flags & 0x80) {
			tcp_stream_resync(stream);
			in_sync = 0;
			continue;
		}
		/* A copy sized exactly, so over-reads are caught. */
		uint8_t *segment = malloc(len ? len : 1);
		memcpy(segment, reference + offset, len);
		uint8_t tcp_flags = flags & (TCP_FLAG_FIN | TCP_FLAG_RST | TCP_FLAG_PSH | TCP_FLAG_ACK);
		enum tcp_stream_status s = tcp_stream_add(stream, isn + (uint32_t)offset, tcp_flags,
							  segment, len);
		free(segment);
		if (s == TCP_STREAM_OVERFLOW || s == TCP_STREAM_NO_MEMORY)
			in_sync = 0;

		const uint8_t *msg;
		size_t msg_len;
		enum frame_result r;
		size_t before = tcp_stream_buffered(stream);
		while ((r = tcp_stream_next(stream, length_byte_framer, 4096, &msg, &msg_len)) ==
		       FRAME_MESSAGE) {
			size_t skipped = before - tcp_stream_buffered(stream);
			delivered += skipped;
			if (in_sync && (delivered + msg_len > STREAM_LEN ||
					memcmp(msg, reference + delivered, msg_len) != 0))
				abort();
			delivered += msg_len;
			tcp_stream_consume(stream, msg_len);
			before = tcp_stream_buffered(stream);
		}
		delivered += before - tcp_stream_buffered(stream);
		if (r == FRAME_INVALID) {
			tcp_stream_resync(stream);
			in_sync = 0;
		}
		if (tcp_stream_buffered(stream) > BUFFER_SIZE || tcp_stream_pool_bytes(pool) > BUFFER_SIZE)
			abort();
	}
	tcp_stream_pool_destroy(pool);
	return 0;
}
