/* fuzz_rtsp.c - libFuzzer target for dpi/rtsp.c: rtsp_parse and rtsp_frame on
 * the same bytes, with the invariants the engine relies on checked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpi/rtsp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtsp_msg msg;
	size_t frame_len = 0;

	enum rtsp_status status = rtsp_parse(data, size, &msg);
	if ((unsigned)status >= RTSP_STATUS_COUNT)
		abort();
	if (status == RTSP_OK) {
		if (msg.message_len == 0 || msg.message_len > size || msg.message_len > RTSP_MAX_MESSAGE)
			abort();
		if (msg.body_len && (msg.body < data || msg.body + msg.body_len != data + msg.message_len))
			abort();
		if (msg.session_id_len > RTSP_SESSION_ID_MAX || msg.session_id[msg.session_id_len] != '\0' ||
		    strlen(msg.session_id) != msg.session_id_len)
			abort();
		if (msg.transport_count > RTSP_MAX_TRANSPORTS)
			abort();
	}

	/* Two framing limits: the parser's and a small one, to reach INVALID. */
	static const size_t limits[] = { RTSP_MAX_MESSAGE, 256 };
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		enum frame_result fr = rtsp_frame(data, size, limits[i], &frame_len);
		if (fr > FRAME_INVALID)
			abort();
		if ((fr == FRAME_MESSAGE || fr == FRAME_SKIP) && (frame_len == 0 || frame_len > size))
			abort();
		/* The framer and the parser must cut the stream at the same place. */
		if (i == 0 && status == RTSP_OK && (fr != FRAME_MESSAGE || frame_len != msg.message_len))
			abort();
		if (i == 0 && fr == FRAME_MESSAGE) {
			struct rtsp_msg framed;
			enum rtsp_status again = rtsp_parse(data, frame_len, &framed);
			/* A framed message parses, or fails on its content, never on
			 * its boundaries. */
			if (again == RTSP_ERR_TRUNCATED || again == RTSP_ERR_EMPTY ||
			    (again == RTSP_OK && framed.message_len != frame_len))
				abort();
		}
	}
	return 0;
}
