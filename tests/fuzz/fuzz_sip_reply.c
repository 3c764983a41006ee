/* fuzz_sip_reply.c - libFuzzer target for dpi/sip_reply.c: arbitrary request
 * bytes; any 503 produced must parse (ours and libosip2) and echo the request. */
#include <osipparser2/osip_parser.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpi/parser_library.h"
#include "dpi/sip.h"
#include "dpi/sip_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_MAX (SIP_MAX_MESSAGE + SIP_REPLY_OVERHEAD)

static uint8_t out[OUT_MAX], again[OUT_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_msg request, reply;
	osip_message_t *msg = NULL;

	size_t len = sip_reply_503(data, size, 5, out, OUT_MAX);
	if (len == 0)
		return 0;
	if (len > OUT_MAX || len > size + SIP_REPLY_OVERHEAD)
		abort();
	/* Only complete, non-ACK requests are answered. */
	if (sip_parse(data, size, &request) != SIP_PARSE_OK || !request.is_request || request.method == SIP_ACK)
		abort();
	/* Our parser reads it as a 503 for the same call and CSeq. */
	if (sip_parse(out, len, &reply) != SIP_PARSE_OK || reply.is_request || reply.status != 503)
		abort();
	if (strcmp(reply.call_id, request.call_id) != 0 || reply.cseq != request.cseq)
		abort();
	/* libosip2 reads it too, with a Via, a To tag and the Retry-After. */
	parser_library_init();
	if (osip_message_init(&msg) != 0)
		abort();
	if (osip_message_parse(msg, (const char *)out, len) != 0 || !MSG_IS_RESPONSE(msg) ||
	    osip_message_get_status_code(msg) != 503 || osip_list_size(&msg->vias) < 1 || !msg->to)
		abort();
	osip_generic_param_t *tag = NULL;
	if (osip_to_get_tag(msg->to, &tag) != 0 || !tag)
		abort();
	osip_message_free(msg);
	/* Deterministic, and exact about its capacity. */
	if (sip_reply_503(data, size, 5, again, len) != len || memcmp(out, again, len) != 0)
		abort();
	if (sip_reply_503(data, size, 5, again, len - 1) != 0)
		abort();
	return 0;
}
