/* byte_writer.h - big-endian fields appended to a bounded buffer, for the
 * engine's wire and file encoders (announcements, the journal). */
#ifndef SARA_BYTE_WRITER_H
#define SARA_BYTE_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct byte_writer {
	uint8_t *p;
	size_t cap, len;
	bool bad;           /* overflowed, or the encoder met a value its layout cannot hold */
};

static inline void put_bytes(struct byte_writer *w, const void *src, size_t n)
{
	if (w->bad || w->cap - w->len < n) {
		w->bad = true;
		return;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static inline void put_u8(struct byte_writer *w, uint8_t v)
{
	put_bytes(w, &v, 1);
}

static inline void put_u16(struct byte_writer *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	put_bytes(w, b, 2);
}

static inline void put_u32(struct byte_writer *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	put_bytes(w, b, 4);
}

static inline void put_u64(struct byte_writer *w, uint64_t v)
{
	put_u32(w, (uint32_t)(v >> 32));
	put_u32(w, (uint32_t)v);
}

#endif
