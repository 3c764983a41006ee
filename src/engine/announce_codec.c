/* announce_codec.c - struct announcement to and from an explicit big-endian
 * byte layout (announce_codec.h), and the cluster-ownership check sarad
 * applies before trusting one. */
#include "engine/announce_codec.h"

#include <string.h>

#include "engine/byte_writer.h"

#include "dpi/rtsp.h"
#include "dpi/sip.h"

/*
 * Layout (version 1), all integers big-endian:
 *   u8  codec version (1)
 *   conn:   u8 family (4|6), u8 l4 (6|17), u16 sport, u16 dport,
 *           src addr (4|16 bytes), dst addr (4|16 bytes)
 *   facts:  u8 proto (1 sip, 2 rtsp), u8 flags (FACT_*), u8 method,
 *           u16 status, u8 media_op, u16 key_len, key bytes (no NUL),
 *           u8 stream_count (<= SIGNAL_MAX_STREAMS), then per stream:
 *           u8 flags (STREAM_*), u8 family (0|4|6), addr (0|4|16 bytes),
 *           u16 rtp, u16 rtcp, u16 peer_rtp, u16 peer_rtcp
 *   then optional fields, each u8 type, u8 length, value:
 *     EXT_RTCP_ADDR: u8 stream index, u8 family (4|6), addr (4|16 bytes)
 *     EXT_SESSION_TIMEOUT: u32 seconds
 * An optional field is written only when it differs from its default
 * (RTCP at the stream's address, no timeout), so a message without them is
 * byte for byte what the layout was before they existed.
 * Address families travel as 4/6, not as the host's AF_* numbers.
 */
#define ANNOUNCE_CODEC_VERSION 1

/* Types far from the counts and flags a stray byte would hold. */
#define EXT_RTCP_ADDR 0xa1
#define EXT_SESSION_TIMEOUT 0xa2

#define FACT_IS_REQUEST 0x01
#define FACT_CREATES 0x02
#define FACT_CONFIRMS 0x04
#define FACT_ENDS 0x08
#define FACT_ENDS_IF_UNCONFIRMED 0x10
#define FACT_TRANSACTION_ONLY 0x20
#define FACT_SHOWS_SERVER_WORK 0x40
#define FACT_ALL 0x7f

#define STREAM_ENABLED 0x01
#define STREAM_MULTICAST 0x02
#define STREAM_ALL 0x03

#define STATUS_MAX 999

static uint8_t wire_family(uint8_t family)
{
	return family == NETADDR_IPV4 ? 4 : family == NETADDR_IPV6 ? 6 : 0;
}

static size_t addr_size(uint8_t family)
{
	return family == NETADDR_IPV4 ? 4 : family == NETADDR_IPV6 ? 16 : 0;
}

size_t announce_encode(const struct announcement *ann, uint8_t *out, size_t cap)
{
	const struct flow_key *conn = &ann->conn;
	const struct signal_facts *f = &ann->facts;
	struct byte_writer w = { .p = out, .cap = cap };
	uint8_t flags = 0;
	size_t key_len = f->key_len;
	unsigned streams = f->stream_count;
	/* What the layout cannot represent is a caller bug: refuse it (0)
	 * rather than send something else. */
	if (wire_family(conn->family) == 0 || key_len >= SESSION_KEY_MAX || streams > SIGNAL_MAX_STREAMS)
		return 0;
	put_u8(&w, ANNOUNCE_CODEC_VERSION);
	put_u8(&w, wire_family(conn->family));
	put_u8(&w, conn->l4);
	put_u16(&w, conn->sport);
	put_u16(&w, conn->dport);
	put_bytes(&w, conn->src, addr_size(conn->family));
	put_bytes(&w, conn->dst, addr_size(conn->family));

	flags |= f->is_request ? FACT_IS_REQUEST : 0;
	flags |= f->creates_session ? FACT_CREATES : 0;
	flags |= f->confirms_session ? FACT_CONFIRMS : 0;
	flags |= f->ends_session ? FACT_ENDS : 0;
	flags |= f->ends_if_unconfirmed ? FACT_ENDS_IF_UNCONFIRMED : 0;
	flags |= f->transaction_only ? FACT_TRANSACTION_ONLY : 0;
	flags |= f->shows_server_work ? FACT_SHOWS_SERVER_WORK : 0;
	put_u8(&w, f->proto);
	put_u8(&w, flags);
	put_u8(&w, f->method);
	put_u16(&w, f->status);
	put_u8(&w, f->media_op);
	put_u16(&w, (uint16_t)key_len);
	put_bytes(&w, f->key, key_len);
	put_u8(&w, (uint8_t)streams);
	for (unsigned i = 0; i < streams; i++) {
		const struct signal_stream *s = &f->streams[i];
		uint8_t family = s->addr.family == NETADDR_IPV4 || s->addr.family == NETADDR_IPV6 ? s->addr.family : 0;
		put_u8(&w, (uint8_t)((s->enabled ? STREAM_ENABLED : 0) | (s->multicast ? STREAM_MULTICAST : 0)));
		put_u8(&w, wire_family(family));
		put_bytes(&w, s->addr.bytes, addr_size(family));
		put_u16(&w, s->rtp_port);
		put_u16(&w, s->rtcp_port);
		put_u16(&w, s->peer_rtp_port);
		put_u16(&w, s->peer_rtcp_port);
	}
	for (unsigned i = 0; i < streams; i++) {
		const struct netaddr *a = &f->streams[i].rtcp_addr;
		if (wire_family(a->family) == 0)
			continue;
		put_u8(&w, EXT_RTCP_ADDR);
		put_u8(&w, (uint8_t)(2 + addr_size(a->family)));
		put_u8(&w, (uint8_t)i);
		put_u8(&w, wire_family(a->family));
		put_bytes(&w, a->bytes, addr_size(a->family));
	}
	if (f->session_timeout_s) {
		put_u8(&w, EXT_SESSION_TIMEOUT);
		put_u8(&w, 4);
		put_u32(&w, f->session_timeout_s);
	}
	return w.bad ? 0 : w.len;
}

struct reader {
	const uint8_t *p;
	size_t len, pos;
};

static bool get_bytes(struct reader *r, void *dst, size_t n)
{
	if (r->len - r->pos < n)
		return false;
	memcpy(dst, r->p + r->pos, n);
	r->pos += n;
	return true;
}

static bool get_u8(struct reader *r, uint8_t *v)
{
	return get_bytes(r, v, 1);
}

static bool get_u16(struct reader *r, uint16_t *v)
{
	uint8_t b[2];
	if (!get_bytes(r, b, 2))
		return false;
	*v = (uint16_t)(b[0] << 8 | b[1]);
	return true;
}

static bool get_u32(struct reader *r, uint32_t *v)
{
	uint8_t b[4];
	if (!get_bytes(r, b, 4))
		return false;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return true;
}

/* Wire family 0/4/6 to AF_*; false on anything else. */
static bool host_family(uint8_t wire, uint8_t *family)
{
	switch (wire) {
	case 0: *family = 0; return true;
	case 4: *family = NETADDR_IPV4; return true;
	case 6: *family = NETADDR_IPV6; return true;
	default: return false;
	}
}

static unsigned method_count(uint8_t proto)
{
	return proto == PROTO_SIP ? SIP_METHOD_COUNT : proto == PROTO_RTSP ? RTSP_METHOD_COUNT : 0;
}

static enum counter_id decode_facts(struct reader *r, struct signal_facts *f)
{
	uint8_t flags, media_op, count;
	if (!get_u8(r, &f->proto) || !get_u8(r, &flags) || !get_u8(r, &f->method) ||
	    !get_u16(r, &f->status) || !get_u8(r, &media_op) || !get_u16(r, &f->key_len))
		return COUNTER_ANNOUNCE_TRUNCATED;
	if (f->proto != PROTO_SIP && f->proto != PROTO_RTSP)
		return COUNTER_ANNOUNCE_BAD_PROTO;
	if (flags & ~FACT_ALL)
		return COUNTER_ANNOUNCE_BAD_FLAGS;
	f->is_request = flags & FACT_IS_REQUEST;
	f->creates_session = flags & FACT_CREATES;
	f->confirms_session = flags & FACT_CONFIRMS;
	f->ends_session = flags & FACT_ENDS;
	f->ends_if_unconfirmed = flags & FACT_ENDS_IF_UNCONFIRMED;
	f->transaction_only = flags & FACT_TRANSACTION_ONLY;
	f->shows_server_work = flags & FACT_SHOWS_SERVER_WORK;
	if (f->method >= method_count(f->proto))
		return COUNTER_ANNOUNCE_BAD_METHOD;
	if (f->is_request ? f->status != 0 : f->status > STATUS_MAX)
		return COUNTER_ANNOUNCE_BAD_STATUS;
	if (media_op > MEDIA_MERGE)
		return COUNTER_ANNOUNCE_BAD_MEDIA_OP;
	f->media_op = media_op;
	if (f->key_len >= SESSION_KEY_MAX)
		return COUNTER_ANNOUNCE_BAD_KEY;
	if (!get_bytes(r, f->key, f->key_len))
		return COUNTER_ANNOUNCE_TRUNCATED;
	if (memchr(f->key, '\0', f->key_len))
		return COUNTER_ANNOUNCE_BAD_KEY;
	f->key[f->key_len] = '\0';
	if (!get_u8(r, &count))
		return COUNTER_ANNOUNCE_TRUNCATED;
	if (count > SIGNAL_MAX_STREAMS)
		return COUNTER_ANNOUNCE_TOO_MANY_STREAMS;
	for (unsigned i = 0; i < count; i++) {
		struct signal_stream *s = &f->streams[i];
		uint8_t sflags, family;
		if (!get_u8(r, &sflags) || !get_u8(r, &family))
			return COUNTER_ANNOUNCE_TRUNCATED;
		if (sflags & ~STREAM_ALL)
			return COUNTER_ANNOUNCE_BAD_STREAM_FLAGS;
		if (!host_family(family, &s->addr.family))
			return COUNTER_ANNOUNCE_BAD_FAMILY;
		s->enabled = sflags & STREAM_ENABLED;
		s->multicast = sflags & STREAM_MULTICAST;
		if (!get_bytes(r, s->addr.bytes, addr_size(s->addr.family)) || !get_u16(r, &s->rtp_port) ||
		    !get_u16(r, &s->rtcp_port) || !get_u16(r, &s->peer_rtp_port) ||
		    !get_u16(r, &s->peer_rtcp_port))
			return COUNTER_ANNOUNCE_TRUNCATED;
		/* An enabled stream is one the engine will pin: it needs a port. */
		if (s->enabled && s->rtp_port == 0)
			return COUNTER_ANNOUNCE_BAD_STREAM;
	}
	f->stream_count = count;
	return COUNTER_NONE;
}

/* The optional fields after the streams, up to the end of the message, in
 * the one order the encoder writes them (RTCP addresses by stream, then the
 * timeout), so that what is accepted re-encodes to the same bytes. A byte
 * that starts no known field is trailing garbage. */
static enum counter_id decode_extensions(struct reader *r, struct signal_facts *f)
{
	bool timeout_seen = false;
	int last_index = -1;
	while (r->pos < r->len) {
		uint8_t type = r->p[r->pos], len, index, family;
		struct reader value;
		if (type != EXT_RTCP_ADDR && type != EXT_SESSION_TIMEOUT)
			return COUNTER_ANNOUNCE_TRAILING_BYTES;
		r->pos++;
		if (!get_u8(r, &len) || r->len - r->pos < len)
			return COUNTER_ANNOUNCE_TRUNCATED;
		value = (struct reader){ .p = r->p + r->pos, .len = len };
		r->pos += len;
		if (type == EXT_SESSION_TIMEOUT) {
			if (timeout_seen || len != 4 || !get_u32(&value, &f->session_timeout_s) ||
			    f->session_timeout_s == 0)
				return COUNTER_ANNOUNCE_BAD_EXTENSION;
			timeout_seen = true;
			continue;
		}
		if (timeout_seen || !get_u8(&value, &index) || !get_u8(&value, &family) ||
		    index >= f->stream_count || (int)index <= last_index)
			return COUNTER_ANNOUNCE_BAD_EXTENSION;
		last_index = index;
		struct netaddr *a = &f->streams[index].rtcp_addr;
		if (!host_family(family, &a->family) || a->family == 0 ||
		    len != 2 + addr_size(a->family) || !get_bytes(&value, a->bytes, addr_size(a->family)))
			return COUNTER_ANNOUNCE_BAD_EXTENSION;
	}
	return COUNTER_NONE;
}

enum counter_id announce_decode(const uint8_t *buf, size_t len, struct announcement *out)
{
	struct reader r = { .p = buf, .len = len };
	struct flow_key *conn = &out->conn;
	uint8_t version, family;
	enum counter_id reason;
	memset(out, 0, sizeof(*out));
	reason = COUNTER_ANNOUNCE_TRUNCATED;
	if (!get_u8(&r, &version))
		goto fail;
	if (version != ANNOUNCE_CODEC_VERSION) {
		reason = COUNTER_ANNOUNCE_BAD_VERSION;
		goto fail;
	}
	if (!get_u8(&r, &family) || !get_u8(&r, &conn->l4) || !get_u16(&r, &conn->sport) ||
	    !get_u16(&r, &conn->dport))
		goto fail;
	if (!host_family(family, &conn->family) || conn->family == 0) {
		reason = COUNTER_ANNOUNCE_BAD_FAMILY;
		goto fail;
	}
	if (conn->l4 != L4_TCP && conn->l4 != L4_UDP) {
		reason = COUNTER_ANNOUNCE_BAD_L4;
		goto fail;
	}
	if (!get_bytes(&r, conn->src, addr_size(conn->family)) ||
	    !get_bytes(&r, conn->dst, addr_size(conn->family))) {
		reason = COUNTER_ANNOUNCE_TRUNCATED;
		goto fail;
	}
	reason = decode_facts(&r, &out->facts);
	if (reason != COUNTER_NONE)
		goto fail;
	reason = decode_extensions(&r, &out->facts);
	if (reason != COUNTER_NONE)
		goto fail;
	return COUNTER_NONE;

fail:
	/* Nothing half-decoded reaches a caller that ignores the reason. */
	memset(out, 0, sizeof(*out));
	return reason;
}

static bool is_loopback(const struct netaddr *a)
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };
	static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };
	if (a->family == NETADDR_IPV4)
		return a->bytes[0] == 127;
	if (a->family == NETADDR_IPV6)
		return memcmp(a->bytes, v6_loopback, 16) == 0 ||
		       (memcmp(a->bytes, v4_mapped, 12) == 0 && a->bytes[12] == 127);
	return false;
}

enum counter_id announce_check_cluster(const struct sara_config *cfg, const struct announcement *ann)
{
	const struct proto_handler *handler = proto_by_id((enum proto_id)ann->facts.proto);
	struct endpoint dst;
	flow_key_dst(&ann->conn, &dst);
	if (!sara_config_is_vip(cfg, &dst.addr))
		return COUNTER_ANNOUNCE_NOT_VIP;
	if (!handler)
		return COUNTER_ANNOUNCE_BAD_PROTO;
	if (handler->tcp_only && ann->conn.l4 != L4_TCP)
		return COUNTER_ANNOUNCE_WRONG_TRANSPORT;
	if (!handler->is_port(cfg, dst.port))
		return COUNTER_ANNOUNCE_NOT_SIGNALLING_PORT;
	for (unsigned i = 0; i < ann->facts.stream_count && i < SIGNAL_MAX_STREAMS; i++) {
		const struct signal_stream *s = &ann->facts.streams[i];
		if (!s->enabled)
			continue;
		for (unsigned k = 0; k < 2; k++) {
			const struct netaddr *a = k == 0 ? &s->addr : &s->rtcp_addr;
			/* family 0: the signalling peer's address, or RTCP at
			 * the RTP address: nothing to check. */
			if (a->family == 0)
				continue;
			if (netaddr_is_unspecified(a) || is_loopback(a) || netaddr_is_multicast(a))
				return COUNTER_ANNOUNCE_BAD_STREAM_ADDR;
		}
	}
	return COUNTER_NONE;
}
