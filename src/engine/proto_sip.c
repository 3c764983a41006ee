/* proto_sip.c - the SIP descriptor: a parsed SIP message (dpi/sip) turned
 * into signalling facts (Call-ID key, dialog events, SDP media). */
#include "engine/signal_facts.h"
#include "dpi/sip.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* Call-IDs longer than a session key keep a prefix plus a digest of the
 * whole, computed the same way in the dispatcher and the gateway. */
static void sip_session_key(const struct sip_msg *msg, struct signal_facts *out)
{
	unsigned char digest[8];
	size_t prefix = SESSION_KEY_MAX - 1 - 1 - 2 * sizeof(digest);
	if (msg->call_id_len < SESSION_KEY_MAX) {
		memcpy(out->key, msg->call_id, msg->call_id_len);
		out->key[msg->call_id_len] = '\0';
		out->key_len = (uint16_t)msg->call_id_len;
		return;
	}
	crypto_generichash(digest, sizeof(digest), (const unsigned char *)msg->call_id,
			   msg->call_id_len, NULL, 0);
	memcpy(out->key, msg->call_id, prefix);
	out->key[prefix] = '~';
	for (size_t i = 0; i < sizeof(digest); i++)
		snprintf(out->key + prefix + 1 + 2 * i, 3, "%02x", digest[i]);
	out->key_len = (uint16_t)(prefix + 1 + 2 * sizeof(digest));
}

static void sip_media(const struct sdp_info *sdp, struct signal_facts *out)
{
	unsigned described = sdp->media_count + sdp->media_ignored;
	out->media_op = MEDIA_REPLACE;
	out->stream_count = (uint8_t)(sdp->media_count < SIGNAL_MAX_STREAMS ? sdp->media_count
									   : SIGNAL_MAX_STREAMS);
	out->streams_ignored = (uint8_t)(described - out->stream_count < UINT8_MAX ? described - out->stream_count
										    : UINT8_MAX);
	for (unsigned i = 0; i < out->stream_count; i++) {
		const struct sdp_stream *m = &sdp->media[i];
		struct signal_stream *s = &out->streams[i];
		/* Nothing of the stream may be left from the caller's stack: the
		 * gateway puts every field on the wire (peer ports stay 0, SDP has
		 * none). */
		memset(s, 0, sizeof(*s));
		s->addr = m->addr;
		/* a=rtcp:PORT IN IP4 ADDR (RFC 3605): RTCP elsewhere than RTP. */
		if (m->rtcp_addr.family && !netaddr_equal(&m->rtcp_addr, &m->addr) &&
		    !netaddr_is_unspecified(&m->rtcp_addr))
			s->rtcp_addr = m->rtcp_addr;
		s->rtp_port = m->rtp_port;
		s->rtcp_port = m->rtcp_port;
		s->multicast = netaddr_is_multicast(&m->addr);
		/* c=0.0.0.0 is RFC 2543 hold: no media flows from this side. */
		s->enabled = m->rtp_port != 0 && m->is_udp && !s->multicast &&
			     !netaddr_is_unspecified(&m->addr);
	}
}

static bool sip_transaction_only(enum sip_method method)
{
	switch (method) {
	case SIP_OPTIONS: case SIP_REGISTER: case SIP_MESSAGE: case SIP_PUBLISH:
		return true;
	default:
		return false;
	}
}

static enum counter_id sip_inspect(const uint8_t *msg, size_t len, struct signal_facts *out)
{
	static struct sip_msg parsed; /* large (SDP); the engine is single-threaded */
	static const enum counter_id reasons[SIP_STATUS_COUNT] = {
		[SIP_ERR_EMPTY] = COUNTER_SIP_EMPTY,
		[SIP_ERR_NOT_SIP] = COUNTER_SIP_NOT_SIP,
		[SIP_ERR_TRUNCATED] = COUNTER_SIP_TRUNCATED,
		[SIP_ERR_OVERSIZED] = COUNTER_SIP_OVERSIZED,
		[SIP_ERR_BINARY] = COUNTER_SIP_BINARY,
		[SIP_ERR_BAD_CONTENT_LENGTH] = COUNTER_SIP_BAD_CONTENT_LENGTH,
		[SIP_ERR_DUPLICATE_HEADER] = COUNTER_SIP_DUPLICATE_HEADER,
		[SIP_ERR_NO_CALL_ID] = COUNTER_SIP_NO_CALL_ID,
		[SIP_ERR_CALL_ID_TOO_LONG] = COUNTER_SIP_CALL_ID_TOO_LONG,
		[SIP_ERR_BAD_CSEQ] = COUNTER_SIP_BAD_CSEQ,
		[SIP_ERR_PARSE] = COUNTER_SIP_PARSE_ERROR,
	};
	enum sip_status status = sip_parse_fast(msg, len, &parsed);
	memset(out, 0, offsetof(struct signal_facts, streams));
	out->proto = PROTO_SIP;
	if (status != SIP_PARSE_OK) {
		/* The parser keeps a Call-ID it could read before failing. */
		if (parsed.call_id_len)
			sip_session_key(&parsed, out);
		return (unsigned)status < SIP_STATUS_COUNT && reasons[status] ? reasons[status]
									       : COUNTER_SIP_ERROR;
	}
	out->is_request = parsed.is_request;
	out->method = (uint8_t)parsed.method;
	out->status = (uint16_t)parsed.status;
	sip_session_key(&parsed, out);
	if (parsed.is_request) {
		switch (parsed.method) {
		case SIP_ACK:
			out->confirms_session = true;
			out->acknowledges = true;
			break;
		case SIP_BYE:
		case SIP_CANCEL:
			out->ends_session = true;
			break;
		case SIP_PRACK:
		case SIP_UPDATE:
		case SIP_INFO:
			break; /* in-dialog only */
		default:
			out->creates_session = true;
			out->transaction_only = sip_transaction_only(parsed.method);
			break;
		}
	} else if (parsed.method == SIP_INVITE) {
		out->confirms_session = parsed.status >= 200 && parsed.status < 300;
		out->ends_if_unconfirmed = parsed.status >= 300;
		out->shows_server_work = parsed.status > 100;
	}
	if (parsed.has_sdp)
		sip_media(&parsed.sdp, out);
	return COUNTER_NONE;
}

const struct proto_handler proto_sip = {
	.id = PROTO_SIP,
	.name = "sip",
	.tcp_only = false,
	.ending_request_timeout_ms = 64 * 500,
	.max_message = SIP_MAX_MESSAGE,
	.frame = sip_frame,
	.inspect = sip_inspect,
	.is_port = sara_config_is_sip_port,
};
