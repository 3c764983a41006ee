/* fuzz_sip.c - libFuzzer target for dpi/sip.c: sip_parse and sip_frame on
 * the same bytes, with the invariants the engine relies on checked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpi/sip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_sdp(const struct sdp_info *sdp)
{
	if (sdp->media_count > SDP_MAX_MEDIA)
		abort();
	for (unsigned i = 0; i < sdp->media_count; i++) {
		const struct sdp_stream *m = &sdp->media[i];
		if (m->type[sizeof(m->type) - 1] != '\0')
			abort();
		if (m->rtp_port == 0 && m->rtcp_port != 0)
			abort();
		if (m->rtcp_mux && m->rtp_port != 0 && m->rtcp_port != m->rtp_port)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_msg msg;
	size_t frame_len = 0;

	enum sip_status status = sip_parse(data, size, &msg);
	/* The dispatcher's fast path: whatever the full parse accepts, it
	 * reads the same way (it may accept more: body-less requests whose
	 * other headers libosip2 refuses). */
	{
		struct sip_msg fast;
		enum sip_status fast_status = sip_parse_fast(data, size, &fast);
		if (status == SIP_PARSE_OK &&
		    (fast_status != SIP_PARSE_OK || fast.is_request != msg.is_request || fast.method != msg.method ||
		     fast.cseq != msg.cseq || fast.status != msg.status || fast.call_id_len != msg.call_id_len ||
		     memcmp(fast.call_id, msg.call_id, msg.call_id_len) != 0 || fast.message_len != msg.message_len))
			abort();
		if (fast_status == SIP_PARSE_OK && (fast.call_id_len == 0 || fast.call_id_len > SIP_CALL_ID_MAX ||
					      fast.message_len == 0 || fast.message_len > size))
			abort();
	}
	if ((unsigned)status >= SIP_STATUS_COUNT || !sip_status_name(status))
		abort();
	if (status == SIP_PARSE_OK) {
		if (msg.message_len == 0 || msg.message_len > size || msg.message_len > SIP_MAX_MESSAGE)
			abort();
		if (msg.call_id_len == 0 || msg.call_id_len > SIP_CALL_ID_MAX ||
		    msg.call_id[msg.call_id_len] != '\0' || strlen(msg.call_id) != msg.call_id_len)
			abort();
		if ((unsigned)msg.method >= SIP_METHOD_COUNT || !sip_method_name(msg.method))
			abort();
		if (msg.is_request ? msg.status != 0 : (msg.status < 100 || msg.status > 699))
			abort();
		if (msg.cseq > 2147483647u)
			abort();
		if (msg.has_sdp ? msg.sdp_status != SDP_OK : msg.sdp.media_count != 0)
			abort();
		if ((unsigned)msg.sdp_status >= SDP_STATUS_COUNT)
			abort();
		check_sdp(&msg.sdp);
	}

	/* Two framing limits: the parser's and a small one, to reach INVALID. */
	static const size_t limits[] = { SIP_MAX_MESSAGE, 256 };
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		enum frame_result fr = sip_frame(data, size, limits[i], &frame_len);
		if (fr > FRAME_INVALID)
			abort();
		if ((fr == FRAME_MESSAGE || fr == FRAME_SKIP) && (frame_len == 0 || frame_len > size))
			abort();
		/* keep-alive runs may be skipped whole; a message fits the limit */
		if (fr == FRAME_MESSAGE && frame_len > limits[i])
			abort();
	}

	/* The body path on its own: the same bytes as an SDP. */
	struct sdp_info sdp;
	enum sdp_status sdp_status = sdp_parse(data, size, &sdp);
	if ((unsigned)sdp_status >= SDP_STATUS_COUNT)
		abort();
	if (sdp_status == SDP_OK)
		check_sdp(&sdp);
	return 0;
}
