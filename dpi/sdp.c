/* sdp.c - the media an SDP body (RFC 4566/8866) announces, per m= line:
 * address, RTP and RTCP ports, direction; libosip2 parses, we bound and map. */
#include <osipparser2/osip_port.h>
#include <osipparser2/sdp_message.h>

#include "dpi/sdp.h"

#include <string.h>

#include "dpi/parser_library.h"
#include "dpi/span.h"

static const char *const status_names[SDP_STATUS_COUNT] = { SDP_STATUS_LIST(ENUM_LIST_ENTRY) };

const char *sdp_status_name(enum sdp_status status)
{
	return (unsigned)status < SDP_STATUS_COUNT ? status_names[status] : "invalid";
}

static struct span span_of(const char *text)
{
	return text ? span_make(text, strlen(text)) : span_make("", 0);
}

/* A c= / a=rtcp: address. libosip2 already splits "224.2.1.1/127" into the
 * address and its TTL; the cut at '/' guards against a build that does not. */
static bool parse_connection_address(const char *text, struct netaddr *out)
{
	struct span addr = span_trim(span_of(text));
	struct span head;
	span_split(&addr, '/', &head);
	return netaddr_parse(head, out);
}

static bool parse_direction(const char *field, enum sdp_direction *out)
{
	struct span f = span_of(field);
	if (span_eq_nocase(f, "sendrecv"))
		*out = SDP_SENDRECV;
	else if (span_eq_nocase(f, "sendonly"))
		*out = SDP_SENDONLY;
	else if (span_eq_nocase(f, "recvonly"))
		*out = SDP_RECVONLY;
	else if (span_eq_nocase(f, "inactive"))
		*out = SDP_INACTIVE;
	else
		return false;
	return true;
}

/* Session-level direction attribute, if any (pos_media -1 is the session). */
static enum sdp_direction session_direction(sdp_message_t *sdp)
{
	enum sdp_direction direction = SDP_SENDRECV;
	const char *field;
	for (int pos = 0; (field = sdp_message_a_att_field_get(sdp, -1, pos)) != NULL; pos++)
		parse_direction(field, &direction);
	return direction;
}

/* a=rtcp:PORT [IN IP4|IP6 addr] (RFC 3605). A malformed value is ignored:
 * the default rtp+1 is then the best guess. */
static void apply_rtcp_attribute(const char *value, struct sdp_stream *media)
{
	struct span rest = span_trim(span_of(value));
	struct span port_text, nettype, addrtype;
	uint32_t port;

	span_split(&rest, ' ', &port_text);
	if (!span_to_u32(port_text, 65535, &port) || port == 0)
		return;
	media->rtcp_port = (uint16_t)port;
	if (!span_split(&rest, ' ', &nettype) || !span_eq_nocase(nettype, "IN"))
		return;
	if (!span_split(&rest, ' ', &addrtype))
		return;
	struct netaddr addr;
	if (netaddr_parse(rest, &addr))
		media->rtcp_addr = addr;
}

/* Direction, rtcp and rtcp-mux at media level. rtcp-mux wins over a=rtcp:
 * WebRTC offers both, and a peer answering rtcp-mux sends RTCP on the RTP
 * port (RFC 5761 5.1.3). */
static void apply_media_attributes(sdp_message_t *sdp, int pos_media, struct sdp_stream *media)
{
	const char *field;
	for (int pos = 0; (field = sdp_message_a_att_field_get(sdp, pos_media, pos)) != NULL; pos++) {
		struct span f = span_of(field);
		if (parse_direction(field, &media->direction))
			continue;
		if (span_eq_nocase(f, "rtcp-mux"))
			media->rtcp_mux = true;
		else if (span_eq_nocase(f, "rtcp") && media->rtp_port != 0)
			apply_rtcp_attribute(sdp_message_a_att_value_get(sdp, pos_media, pos), media);
	}
	if (media->rtcp_mux && media->rtp_port != 0) {
		media->rtcp_port = media->rtp_port;
		media->rtcp_addr = media->addr;
	}
}

static bool proto_is_tcp(const char *proto)
{
	struct span s = span_of(proto);
	for (size_t i = 0; i + 3 <= s.len; i++)
		if (span_prefix_nocase(span_make(s.ptr + i, s.len - i), "TCP"))
			return true;
	return false;
}

static enum sdp_status read_media(sdp_message_t *sdp, int pos_media, const struct sdp_info *info,
				  enum sdp_direction default_direction, struct sdp_stream *media)
{
	const char *type = sdp_message_m_media_get(sdp, pos_media);
	const char *c_addr = sdp_message_c_addr_get(sdp, pos_media, 0);
	uint32_t port;

	memset(media, 0, sizeof(*media));
	if (type) {
		size_t n = strlen(type);
		if (n >= sizeof(media->type))
			n = sizeof(media->type) - 1;
		memcpy(media->type, type, n);
	}
	media->is_udp = !proto_is_tcp(sdp_message_m_proto_get(sdp, pos_media));
	if (!span_to_u32(span_trim(span_of(sdp_message_m_port_get(sdp, pos_media))), 65535, &port))
		return SDP_ERR_BAD_PORT;
	media->rtp_port = (uint16_t)port;
	/* rtp+1 unless that overflows, which no sane offer does */
	media->rtcp_port = port != 0 && port < 65535 ? (uint16_t)(port + 1) : 0;
	media->direction = default_direction;

	/* libosip2's c= accessor at a media position sees only that media's
	 * c= lines (NULL when absent); the session level is pos_media -1 */
	if (c_addr) {
		if (!parse_connection_address(c_addr, &media->addr))
			return SDP_ERR_BAD_ADDRESS;
	} else {
		media->addr = info->session_addr;
	}
	media->rtcp_addr = media->addr;
	apply_media_attributes(sdp, pos_media, media);
	if (media->rtp_port == 0) {
		media->rtcp_port = 0;
		return SDP_OK;
	}
	if (media->addr.family == 0)
		return SDP_ERR_NO_ADDRESS;
	return SDP_OK;
}

static enum sdp_status read_sdp_message(sdp_message_t *sdp, struct sdp_info *out)
{
	const char *session_c = sdp_message_c_addr_get(sdp, -1, 0);
	enum sdp_direction direction = session_direction(sdp);

	if (session_c && !parse_connection_address(session_c, &out->session_addr))
		return SDP_ERR_BAD_ADDRESS;
	for (int pos = 0; sdp_message_endof_media(sdp, pos) == 0; pos++) {
		if (pos >= SDP_MAX_MEDIA) {
			out->media_ignored++;
			continue;
		}
		enum sdp_status status = read_media(sdp, pos, out, direction, &out->media[pos]);
		if (status != SDP_OK)
			return status;
		out->media_count++;
	}
	return SDP_OK;
}

/* Copies the SDP into the NUL-terminated scratch buffer libosip2 needs,
 * smoothing two things it refuses but real offers carry: an empty session
 * name "s=" (RFC 5118 4.8 uses one; libosip2 wants a value) becomes "s=-",
 * and a missing final line end is added. Needs len + 4 bytes at most. */
static void copy_for_osip(const uint8_t *p, size_t len, char *scratch)
{
	size_t out = 0;
	bool name_filled = false;
	for (size_t i = 0; i < len; i++) {
		scratch[out++] = (char)p[i];
		bool line_start = i == 0 || p[i - 1] == '\n';
		if (!name_filled && line_start && p[i] == 's' && i + 1 < len && p[i + 1] == '=' &&
		    (i + 2 == len || p[i + 2] == '\r' || p[i + 2] == '\n')) {
			scratch[out++] = '=';
			scratch[out++] = '-';
			name_filled = true;
			i++;
		}
	}
	if (out > 0 && scratch[out - 1] != '\n') {
		scratch[out++] = '\r';
		scratch[out++] = '\n';
	}
	scratch[out] = '\0';
}

enum sdp_status sdp_parse(const uint8_t *p, size_t len, struct sdp_info *out)
{
	/* libosip2 wants a NUL-terminated copy; one bounded buffer per thread */
	static _Thread_local char scratch[SDP_MAX_BYTES + 4];
	sdp_message_t *sdp = NULL;
	enum sdp_status status;

	memset(out, 0, sizeof(*out));
	if (!p || len == 0)
		return SDP_ERR_EMPTY;
	if (len > SDP_MAX_BYTES)
		return SDP_ERR_OVERSIZED;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		if ((c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7f)
			return SDP_ERR_BINARY;
	}

	parser_library_init();
	copy_for_osip(p, len, scratch);
	if (sdp_message_init(&sdp) != 0) {
		sdp = NULL;
		status = SDP_ERR_PARSE;
		goto free_sdp;
	}
	if (sdp_message_parse(sdp, scratch) != 0) {
		status = SDP_ERR_PARSE;
		goto free_sdp;
	}
	status = read_sdp_message(sdp, out);

free_sdp:
	if (sdp)
		sdp_message_free(sdp);
	if (status != SDP_OK)
		memset(out, 0, sizeof(*out));
	return status;
}
