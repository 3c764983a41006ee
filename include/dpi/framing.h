/* framing.h - the contract between TCP reassembly and a protocol: a
 * restartable framer says "need more", "message of N bytes" or "invalid". */
#ifndef SARA_FRAMING_H
#define SARA_FRAMING_H

#include <stddef.h>
#include <stdint.h>

enum frame_result {
	FRAME_NEED_MORE = 0, /* no complete message in [p, p+len) yet */
	FRAME_MESSAGE,       /* a message of *msg_len bytes starts at p */
	FRAME_SKIP,          /* *msg_len bytes at p are not a message (keep-alive
				CRLFs, RTSP interleaved $-frames): consume them */
	FRAME_INVALID,       /* cannot be framed: the stream is out of sync */
};

/* max_message bounds the headers+body size the framer will wait for: a
 * message announcing more is FRAME_INVALID. */
typedef enum frame_result (*framer_fn)(const uint8_t *p, size_t len, size_t max_message,
				       size_t *msg_len);

#endif
