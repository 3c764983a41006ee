/* proto_rtsp.c - the RTSP descriptor: a parsed RTSP message (dpi/rtsp)
 * turned into signalling facts (Session id, SETUP transports, TEARDOWN). */
#include "dpi/rtsp.h"
#include "engine/signal_facts.h"

#include <string.h>

static void rtsp_media(const struct rtsp_msg *msg, struct signal_facts *out)
{
	out->media_op = MEDIA_MERGE;
	for (unsigned i = 0; i < msg->transport_count && out->stream_count < SIGNAL_MAX_STREAMS; i++) {
		const struct rtsp_transport *t = &msg->transports[i];
		struct signal_stream *s = &out->streams[out->stream_count];
		/* A reply names the chosen transport; a request may offer several,
		 * of which the first usable one is what clients set up. */
		memset(s, 0, sizeof(*s));
		s->multicast = t->multicast;
		if (msg->is_request) {
			if (!t->has_client_port)
				continue;
			s->addr = t->destination;
			s->rtp_port = t->client_port[0];
			s->rtcp_port = t->client_port[1];
		} else {
			if (!t->has_server_port)
				continue;
			s->addr = t->source;
			s->rtp_port = t->server_port[0];
			s->rtcp_port = t->server_port[1];
			if (t->has_client_port) {
				s->peer_rtp_port = t->client_port[0];
				s->peer_rtcp_port = t->client_port[1];
			}
		}
		s->enabled = !t->interleaved && !t->lower_tcp && !t->multicast && s->rtp_port != 0;
		out->stream_count++;
		if (msg->is_request)
			break;
	}
}

static enum counter_id rtsp_inspect(const uint8_t *msg, size_t len, struct signal_facts *out)
{
	static const enum counter_id reasons[RTSP_STATUS_COUNT] = {
		[RTSP_ERR_EMPTY] = COUNTER_RTSP_EMPTY,
		[RTSP_ERR_NOT_RTSP] = COUNTER_RTSP_NOT_RTSP,
		[RTSP_ERR_TRUNCATED] = COUNTER_RTSP_TRUNCATED,
		[RTSP_ERR_OVERSIZED] = COUNTER_RTSP_OVERSIZED,
		[RTSP_ERR_BINARY] = COUNTER_RTSP_BINARY,
		[RTSP_ERR_BAD_CONTENT_LENGTH] = COUNTER_RTSP_BAD_CONTENT_LENGTH,
		[RTSP_ERR_DUPLICATE_HEADER] = COUNTER_RTSP_DUPLICATE_HEADER,
		[RTSP_ERR_BAD_CSEQ] = COUNTER_RTSP_BAD_CSEQ,
		[RTSP_ERR_BAD_SESSION] = COUNTER_RTSP_BAD_SESSION,
		[RTSP_ERR_BAD_TRANSPORT] = COUNTER_RTSP_BAD_TRANSPORT,
	};
	struct rtsp_msg parsed;
	enum rtsp_status status = rtsp_parse(msg, len, &parsed);
	memset(out, 0, offsetof(struct signal_facts, streams));
	if (status != RTSP_OK)
		return (unsigned)status < RTSP_STATUS_COUNT && reasons[status] ? reasons[status]
									        : COUNTER_RTSP_ERROR;
	out->proto = PROTO_RTSP;
	out->is_request = parsed.is_request;
	out->method = (uint8_t)parsed.method;
	out->status = (uint16_t)parsed.status;
	if (parsed.session_id_len > 0 && parsed.session_id_len < SESSION_KEY_MAX) {
		memcpy(out->key, parsed.session_id, parsed.session_id_len);
		out->key[parsed.session_id_len] = '\0';
		out->key_len = (uint16_t)parsed.session_id_len;
		out->session_timeout_s = parsed.session_timeout_s;
	}
	if (parsed.is_request) {
		out->creates_session = true;
		out->ends_session = parsed.method == RTSP_TEARDOWN;
		out->confirms_session = parsed.method == RTSP_PLAY || parsed.method == RTSP_RECORD;
	}
	if (parsed.transport_count > 0 &&
	    (parsed.is_request ? parsed.method == RTSP_SETUP : parsed.status / 100 == 2))
		rtsp_media(&parsed, out);
	return COUNTER_NONE;
}

const struct proto_handler proto_rtsp = {
	.id = PROTO_RTSP,
	.name = "rtsp",
	.tcp_only = true,
	.max_message = RTSP_MAX_MESSAGE,
	.frame = rtsp_frame,
	.inspect = rtsp_inspect,
	.is_port = sara_config_is_rtsp_port,
};
