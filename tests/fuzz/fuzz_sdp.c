/* fuzz_sdp.c - libFuzzer target for dpi/sdp.c: sdp_parse on arbitrary bytes,
 * with the per-media invariants the engine relies on checked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpi/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdp_info info;
	enum sdp_status status = sdp_parse(data, size, &info);
	if ((unsigned)status >= SDP_STATUS_COUNT || !sdp_status_name(status))
		abort();
	if (status != SDP_OK) {
		/* nothing half-filled on failure */
		if (info.media_count != 0 || info.media_ignored != 0)
			abort();
		return 0;
	}
	if (info.media_count > SDP_MAX_MEDIA)
		abort();
	if (info.media_ignored > 0 && info.media_count != SDP_MAX_MEDIA)
		abort();
	for (unsigned i = 0; i < info.media_count; i++) {
		const struct sdp_stream *m = &info.media[i];
		if (m->type[sizeof(m->type) - 1] != '\0')
			abort();
		if (m->rtp_port == 0 && m->rtcp_port != 0)
			abort();
		if (m->rtcp_mux && m->rtp_port != 0 && m->rtcp_port != m->rtp_port)
			abort();
		if (m->rtp_port != 0 && m->addr.family == 0)
			abort();
		if ((unsigned)m->direction > SDP_INACTIVE)
			abort();
	}
	return 0;
}
