/* rtsp.c - our own length-bounded RTSP parser: one RFC 2326 message (with the
 * RFC 7826 Transport forms) into struct rtsp_msg, and the TCP framer. */
#include "dpi/rtsp.h"

#include <string.h>

/* Longest method token we accept; real ones are at most 13 (GET_PARAMETER). */
#define RTSP_METHOD_TOKEN_MAX 32

/* ------------------------------------------------------------------------ */
/* Tables: methods (case-sensitive, RFC 2326 6.1) and the headers we need.   */

struct method_entry {
	const char *name;
	size_t len;
};

#define METHOD(m) { m, sizeof(m) - 1 }
/* Indexed by enum rtsp_method; the wire names double as counter names. */
static const struct method_entry method_table[RTSP_METHOD_COUNT] = {
	[RTSP_METHOD_UNKNOWN] = METHOD("UNKNOWN"),
	[RTSP_OPTIONS] = METHOD("OPTIONS"),
	[RTSP_DESCRIBE] = METHOD("DESCRIBE"),
	[RTSP_ANNOUNCE] = METHOD("ANNOUNCE"),
	[RTSP_SETUP] = METHOD("SETUP"),
	[RTSP_PLAY] = METHOD("PLAY"),
	[RTSP_PAUSE] = METHOD("PAUSE"),
	[RTSP_RECORD] = METHOD("RECORD"),
	[RTSP_TEARDOWN] = METHOD("TEARDOWN"),
	[RTSP_GET_PARAMETER] = METHOD("GET_PARAMETER"),
	[RTSP_SET_PARAMETER] = METHOD("SET_PARAMETER"),
	[RTSP_REDIRECT] = METHOD("REDIRECT"),
	[RTSP_PLAY_NOTIFY] = METHOD("PLAY_NOTIFY"),
};

enum header_id {
	HDR_OTHER = 0,
	HDR_CSEQ,
	HDR_SESSION,
	HDR_TRANSPORT,
	HDR_CONTENT_LENGTH,
	HDR_CONTENT_TYPE,
};

struct header_entry {
	const char *name; /* lower case; matched case-insensitively */
	size_t len;
	enum header_id id;
};

static const struct header_entry header_table[] = {
	{ "cseq", 4, HDR_CSEQ },
	{ "session", 7, HDR_SESSION },
	{ "transport", 9, HDR_TRANSPORT },
	{ "content-length", 14, HDR_CONTENT_LENGTH },
	{ "content-type", 12, HDR_CONTENT_TYPE },
};

static const char *const status_names[RTSP_STATUS_COUNT] = { RTSP_STATUS_LIST(ENUM_LIST_ENTRY) };

const char *rtsp_status_name(enum rtsp_status status)
{
	return (unsigned)status < RTSP_STATUS_COUNT ? status_names[status] : "unknown";
}

const char *rtsp_method_name(enum rtsp_method method)
{
	return method_table[(unsigned)method < RTSP_METHOD_COUNT ? method : RTSP_METHOD_UNKNOWN].name;
}

/* ------------------------------------------------------------------------ */
/* Character classes.                                                        */

static bool is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 2616 token (RTSP reuses it for methods and header names). */
static bool is_token_char(uint8_t c)
{
	if (is_alnum(c))
		return true;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
	case '+': case '-': case '.': case '^': case '_': case '`': case '|': case '~':
		return true;
	default:
		return false;
	}
}

/* RFC 2326 3.4: session-id = 1*( ALPHA | DIGIT | safe ), safe = $-_.+ */
static bool is_session_id_char(uint8_t c)
{
	return is_alnum(c) || c == '$' || c == '-' || c == '_' || c == '.' || c == '+';
}

/* Anything visible in a Request-URI; controls and spaces end it. UTF-8 bytes
 * (>= 0x80) pass: some cameras put raw names in their URLs. */
static bool is_url_char(uint8_t c)
{
	return c > 0x20 && c != 0x7f;
}

/* Trimmed, then without one pair of surrounding double quotes: Transport
 * values appear both as mode=play and mode="PLAY". */
static struct span unquote(struct span s)
{
	s = span_trim_lws(s);
	if (s.len >= 2 && s.ptr[0] == '"' && s.ptr[s.len - 1] == '"') {
		s.ptr++;
		s.len -= 2;
	}
	return s;
}

/* Like span_split, but a separator inside "..." does not count: RTSP 2.0
 * quotes dest_addr values, and a quoted value may hold ';' or ','. */
static bool split_outside_quotes(struct span *s, char sep, struct span *head)
{
	const char *hit = s->len ? memchr(s->ptr, sep, s->len) : NULL;
	/* Common case: no quote before the separator, memchr did it all. */
	if (!hit || !memchr(s->ptr, '"', (size_t)(hit - s->ptr)))
		return span_split(s, sep, head);

	bool quoted = false;
	for (size_t i = 0; i < s->len; i++) {
		char c = s->ptr[i];
		if (c == '"') {
			quoted = !quoted;
		} else if (c == sep && !quoted) {
			*head = span_make(s->ptr, i);
			s->ptr += i + 1;
			s->len -= i + 1;
			return true;
		}
	}
	*head = *s;
	s->ptr += s->len;
	s->len = 0;
	return false;
}

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* span_eq_nocase with the literal's length known at compile time: keyword
 * matching is on the hot path and strlen on every comparison shows. */
static bool eq_nocase_n(struct span s, const char *lower_literal, size_t n)
{
	if (s.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (ascii_lower(s.ptr[i]) != lower_literal[i])
			return false;
	return true;
}
#define SPAN_IS(s, lower_literal) eq_nocase_n((s), lower_literal, sizeof(lower_literal) - 1)

/* ------------------------------------------------------------------------ */
/* Message boundaries.                                                       */

/* Finds the empty line ending the header section in [p, p+limit): CRLFCRLF,
 * or bare-LF variants (LF LF, LF CRLF) that embedded servers send. Sets
 * *head_len to the bytes up to and including the empty line. */
static bool find_head_end(const uint8_t *p, size_t limit, size_t *head_len)
{
	const uint8_t *cursor = p, *end = p + limit;
	const uint8_t *newline;

	while (cursor < end && (newline = memchr(cursor, '\n', (size_t)(end - cursor)))) {
		const uint8_t *next = newline + 1;
		if (next < end && next[0] == '\n') {
			*head_len = (size_t)(next + 1 - p);
			return true;
		}
		if (end - next >= 2 && next[0] == '\r' && next[1] == '\n') {
			*head_len = (size_t)(next + 2 - p);
			return true;
		}
		cursor = next;
	}
	return false;
}

/* Control bytes in the header section mean binary data (an RTP packet, a
 * TLS record, a desynchronised stream), not a text protocol. A CR is only
 * allowed before LF, or as the last byte available (its LF not yet here). */
static bool byte_is_control(const uint8_t *p, size_t i, size_t len)
{
	uint8_t c = p[i];
	if (c >= 0x20 && c != 0x7f)
		return false;
	if (c == '\t' || c == '\n')
		return false;
	if (c == '\r' && (i + 1 == len || p[i + 1] == '\n'))
		return false;
	return true;
}

#define ONES_64 0x0101010101010101ull
#define HIGHS_64 0x8080808080808080ull

/* Eight bytes at a time: the header section is read once per message and
 * this scan would otherwise cost as much as the rest of the parse. Only a
 * word holding a byte < 0x20 or 0x7f (CR, LF and HT included) is looked at
 * byte by byte. */
static bool has_control_bytes(const uint8_t *p, size_t len)
{
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t word, del;
		memcpy(&word, p + i, 8);
		del = word ^ (0x7f * ONES_64);
		bool below_space = ((word - 0x20 * ONES_64) & ~word & HIGHS_64) != 0;
		bool has_del = ((del - ONES_64) & ~del & HIGHS_64) != 0;
		if (!below_space && !has_del)
			continue;
		for (size_t j = i; j < i + 8; j++)
			if (byte_is_control(p, j, len))
				return true;
	}
	for (; i < len; i++)
		if (byte_is_control(p, i, len))
			return true;
	return false;
}

/* ------------------------------------------------------------------------ */
/* Start line. The line may be incomplete (no LF yet): every step that runs
 * out of bytes reports TRUNCATED while what we saw is a valid prefix, and
 * NOT_RTSP as soon as a byte contradicts RTSP.                              */

struct line_cursor {
	const uint8_t *p, *end; /* end = the LF (or CRLF) or the end of data */
	bool complete;          /* the line's LF is in the buffer */
};

static enum rtsp_status ran_out(const struct line_cursor *c)
{
	return c->complete ? RTSP_ERR_NOT_RTSP : RTSP_ERR_TRUNCATED;
}

static void skip_spaces(struct line_cursor *c)
{
	while (c->p < c->end && *c->p == ' ')
		c->p++;
}

/* "RTSP/1.0" or "RTSP/2.0" into 10 / 20. */
static enum rtsp_status parse_version(struct line_cursor *c, unsigned *version)
{
	static const char literal[] = "RTSP/x.0";
	for (size_t i = 0; i < sizeof(literal) - 1; i++) {
		if (c->p == c->end)
			return ran_out(c);
		uint8_t b = *c->p;
		if (literal[i] == 'x') {
			if (b != '1' && b != '2')
				return RTSP_ERR_NOT_RTSP;
			*version = (unsigned)(b - '0') * 10;
		} else if (b != (uint8_t)literal[i]) {
			return RTSP_ERR_NOT_RTSP;
		}
		c->p++;
	}
	return RTSP_OK;
}

static enum rtsp_method lookup_method(const uint8_t *name, size_t len)
{
	for (unsigned m = RTSP_METHOD_UNKNOWN + 1; m < RTSP_METHOD_COUNT; m++)
		if (method_table[m].len == len && memcmp(method_table[m].name, name, len) == 0)
			return (enum rtsp_method)m;
	return RTSP_METHOD_UNKNOWN;
}

/* Method SP Request-URI SP RTSP-Version (runs of spaces tolerated). */
static enum rtsp_status parse_request_line(struct line_cursor *c, struct rtsp_msg *out)
{
	const uint8_t *method = c->p;
	while (c->p < c->end && is_token_char(*c->p) && c->p - method <= RTSP_METHOD_TOKEN_MAX)
		c->p++;
	size_t method_len = (size_t)(c->p - method);
	if (method_len == 0 || method_len > RTSP_METHOD_TOKEN_MAX)
		return RTSP_ERR_NOT_RTSP;
	if (c->p == c->end)
		return ran_out(c);
	if (*c->p != ' ')
		return RTSP_ERR_NOT_RTSP;
	skip_spaces(c);

	const uint8_t *url = c->p;
	while (c->p < c->end && is_url_char(*c->p))
		c->p++;
	if (c->p == c->end)
		return ran_out(c);
	if (*c->p != ' ' || c->p == url)
		return RTSP_ERR_NOT_RTSP;
	skip_spaces(c);

	enum rtsp_status status = parse_version(c, &out->version);
	if (status != RTSP_OK)
		return status;
	skip_spaces(c);
	if (c->p != c->end)
		return RTSP_ERR_NOT_RTSP;
	if (!c->complete)
		return RTSP_ERR_TRUNCATED;
	out->is_request = true;
	out->method = lookup_method(method, method_len);
	return RTSP_OK;
}

/* RTSP-Version SP 3DIGIT [SP Reason-Phrase]. */
static enum rtsp_status parse_status_line(struct line_cursor *c, struct rtsp_msg *out)
{
	enum rtsp_status status = parse_version(c, &out->version);
	if (status != RTSP_OK)
		return status;
	if (c->p == c->end)
		return ran_out(c);
	if (*c->p != ' ')
		return RTSP_ERR_NOT_RTSP;
	skip_spaces(c);

	unsigned code = 0;
	for (int i = 0; i < 3; i++) {
		if (c->p == c->end)
			return ran_out(c);
		uint8_t d = *c->p;
		if (d < '0' || d > '9' || (i == 0 && d == '0'))
			return RTSP_ERR_NOT_RTSP;
		code = code * 10 + (unsigned)(d - '0');
		c->p++;
	}
	/* The reason phrase is free text (control bytes are caught later). */
	if (c->p < c->end && *c->p != ' ')
		return RTSP_ERR_NOT_RTSP;
	if (!c->complete)
		return RTSP_ERR_TRUNCATED;
	out->is_request = false;
	out->status = code;
	return RTSP_OK;
}

/* Parses the first line; on success *fields is just past its LF. */
static enum rtsp_status parse_start_line(const uint8_t *p, size_t len, struct rtsp_msg *out,
					 const uint8_t **fields)
{
	static const char response_prefix[] = "RTSP/";
	const uint8_t *newline = memchr(p, '\n', len);
	struct line_cursor c = { p, newline ? newline : p + len, newline != NULL };

	/* A CR before the LF, or as the last byte so far, is line ending. */
	if (c.end > c.p && c.end[-1] == '\r')
		c.end--;
	if (newline)
		*fields = newline + 1;

	/* '$' is a token character, but at a message boundary it starts an
	 * interleaved frame (RFC 2326 10.12): the framer must agree. */
	if (len > 0 && p[0] == '$')
		return RTSP_ERR_NOT_RTSP;
	/* '/' is no token character, so "RTSP/" cannot start a method. */
	if (len >= sizeof(response_prefix) - 1 &&
	    memcmp(p, response_prefix, sizeof(response_prefix) - 1) == 0)
		return parse_status_line(&c, out);
	return parse_request_line(&c, out);
}

/* ------------------------------------------------------------------------ */
/* Header values.                                                            */

/* Digits-only values that overflow are too big, not malformed. */
static bool is_all_digits(struct span s)
{
	if (s.len == 0)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (s.ptr[i] < '0' || s.ptr[i] > '9')
			return false;
	return true;
}

static enum rtsp_status parse_content_length(struct span value, bool *seen, uint32_t *length)
{
	uint32_t parsed;
	value = span_trim_lws(value);
	if (!span_to_u32(value, UINT32_MAX, &parsed))
		return is_all_digits(value) ? RTSP_ERR_OVERSIZED : RTSP_ERR_BAD_CONTENT_LENGTH;
	if (parsed > RTSP_MAX_MESSAGE)
		return RTSP_ERR_OVERSIZED;
	/* Two different lengths is how request smuggling starts. */
	if (*seen && *length != parsed)
		return RTSP_ERR_DUPLICATE_HEADER;
	*seen = true;
	*length = parsed;
	return RTSP_OK;
}

static enum rtsp_status parse_cseq(struct span value, struct rtsp_msg *out)
{
	uint32_t cseq;
	if (!span_to_u32(span_trim_lws(value), UINT32_MAX, &cseq))
		return RTSP_ERR_BAD_CSEQ;
	if (out->has_cseq && out->cseq != cseq)
		return RTSP_ERR_DUPLICATE_HEADER;
	out->has_cseq = true;
	out->cseq = cseq;
	return RTSP_OK;
}

/* session-id [";" "timeout" "=" delta-seconds]; other parameters ignored.
 * Cameras write "9a90de54; timeout=60", hence the trimming. */
static enum rtsp_status parse_session(struct span value, struct rtsp_msg *out)
{
	struct span id, param;
	uint32_t timeout = 0;

	split_outside_quotes(&value, ';', &id);
	id = span_trim_lws(id);
	if (id.len == 0 || id.len > RTSP_SESSION_ID_MAX)
		return RTSP_ERR_BAD_SESSION;
	for (size_t i = 0; i < id.len; i++)
		if (!is_session_id_char((uint8_t)id.ptr[i]))
			return RTSP_ERR_BAD_SESSION;

	while (value.len > 0) {
		struct span name;
		split_outside_quotes(&value, ';', &param);
		bool has_value = span_split(&param, '=', &name);
		if (!SPAN_IS(span_trim_lws(name), "timeout"))
			continue;
		if (!has_value || !span_to_u32(span_trim_lws(param), UINT32_MAX, &timeout))
			return RTSP_ERR_BAD_SESSION;
	}

	if (out->session_id_len > 0) {
		if (out->session_id_len != id.len || memcmp(out->session_id, id.ptr, id.len) != 0 ||
		    out->session_timeout_s != timeout)
			return RTSP_ERR_DUPLICATE_HEADER;
		return RTSP_OK;
	}
	memcpy(out->session_id, id.ptr, id.len);
	out->session_id[id.len] = '\0';
	out->session_id_len = id.len;
	out->session_timeout_s = timeout;
	return RTSP_OK;
}

/* ------------------------------------------------------------------------ */
/* Transport (RFC 2326 12.39, RFC 7826 18.54).                               */

/* "a-b" or "a" (then [a, a+1]: the RTP/RTCP pairing convention), each <= max. */
static bool parse_number_pair(struct span value, uint32_t max, uint32_t pair[2])
{
	struct span first;
	value = unquote(value);
	if (span_split(&value, '-', &first))
		return span_to_u32(span_trim_lws(first), max, &pair[0]) &&
		       span_to_u32(span_trim_lws(value), max, &pair[1]);
	if (!span_to_u32(first, max, &pair[0]) || pair[0] >= max)
		return false;
	pair[1] = pair[0] + 1;
	return true;
}

/* A port pair whose RTP port is 0 announces no flow: leave it absent. */
static bool parse_port_pair(struct span value, bool *has_port, uint16_t port[2])
{
	uint32_t pair[2];
	if (!parse_number_pair(value, 65535, pair))
		return false;
	*has_port = pair[0] != 0;
	port[0] = *has_port ? (uint16_t)pair[0] : 0;
	port[1] = *has_port ? (uint16_t)pair[1] : 0;
	return true;
}

/* destination= / source=: an IP literal fills addr. A host name is legal
 * there but we cannot resolve it on the data path: it stays absent. */
static void parse_transport_addr(struct span value, struct netaddr *addr)
{
	struct netaddr parsed;
	if (netaddr_parse(unquote(value), &parsed))
		*addr = parsed;
}

/* One RTSP 2.0 address: "host:port", "[v6]:port", ":port" or a bare host. */
static bool parse_addr_port(struct span item, struct netaddr *addr, uint32_t *port)
{
	struct span host = item, port_text = span_make(item.ptr, 0);
	bool has_port = false;

	*port = 0;
	if (item.len > 0 && item.ptr[0] == '[') {
		const char *close = memchr(item.ptr, ']', item.len);
		if (!close)
			return false;
		host = span_make(item.ptr, (size_t)(close - item.ptr) + 1);
		struct span rest = span_make(close + 1, item.len - host.len);
		if (rest.len > 0) {
			if (rest.ptr[0] != ':')
				return false;
			port_text = span_make(rest.ptr + 1, rest.len - 1);
			has_port = true;
		}
	} else {
		const char *colon = item.len ? memrchr(item.ptr, ':', item.len) : NULL;
		/* Two colons or more: an unbracketed IPv6 address, no port. */
		if (colon && !memchr(item.ptr, ':', (size_t)(colon - item.ptr))) {
			host = span_make(item.ptr, (size_t)(colon - item.ptr));
			port_text = span_make(colon + 1, item.len - host.len - 1);
			has_port = true;
		}
	}
	if (has_port && !span_to_u32(port_text, 65535, port))
		return false;
	if (host.len > 0)
		parse_transport_addr(host, addr);
	return true;
}

/* dest_addr / src_addr: one or two quoted addresses separated by '/', the
 * RTP one then the RTCP one; without the second, RTCP is RTP + 1. */
static bool parse_addr_list(struct span value, struct netaddr *addr, bool *has_port,
			    uint16_t port[2])
{
	struct span item;
	uint32_t rtp_port, rtcp_port = 0;

	split_outside_quotes(&value, '/', &item);
	if (!parse_addr_port(unquote(item), addr, &rtp_port))
		return false;
	if (value.len > 0) {
		struct netaddr rtcp_addr; /* RTCP address: we pin the RTP one only */
		split_outside_quotes(&value, '/', &item);
		if (!parse_addr_port(unquote(item), &rtcp_addr, &rtcp_port))
			return false;
	}
	if (rtp_port == 0)
		return true;
	if (rtcp_port == 0)
		rtcp_port = rtp_port < 65535 ? rtp_port + 1 : rtp_port;
	*has_port = true;
	port[0] = (uint16_t)rtp_port;
	port[1] = (uint16_t)rtcp_port;
	return true;
}

/* mode=play | mode="PLAY" | mode="PLAY,RECORD" (RFC 2326 allows a list). */
static bool mode_has_record(struct span value)
{
	struct span mode;
	value = unquote(value);
	while (value.len > 0) {
		span_split(&value, ',', &mode);
		if (SPAN_IS(unquote(mode), "record"))
			return true;
	}
	return false;
}

enum transport_kind { TRANSPORT_RTP, TRANSPORT_OTHER, TRANSPORT_MALFORMED };

/* "RTP/AVP", "RTP/AVPF/TCP", "RTP/SAVP/UDP", ... Other well-formed
 * protocol ids (RAW/RAW/UDP, x-real-rdt/udp) are not ours to announce. */
static enum transport_kind parse_transport_protocol(struct span id, bool *lower_tcp)
{
	struct span protocol, profile, lower;
	id = span_trim_lws(id);
	if (id.len == 0)
		return TRANSPORT_MALFORMED;
	for (size_t i = 0; i < id.len; i++)
		if (!is_token_char((uint8_t)id.ptr[i]) && id.ptr[i] != '/')
			return TRANSPORT_MALFORMED;
	if (!span_split(&id, '/', &protocol) || protocol.len == 0)
		return TRANSPORT_MALFORMED;
	bool has_lower = span_split(&id, '/', &profile);
	lower = id;
	if (profile.len == 0 || (has_lower && (lower.len == 0 || memchr(lower.ptr, '/', lower.len))))
		return TRANSPORT_MALFORMED;

	if (!SPAN_IS(protocol, "rtp"))
		return TRANSPORT_OTHER;
	if (!SPAN_IS(profile, "avp") && !SPAN_IS(profile, "avpf") &&
	    !SPAN_IS(profile, "savp") && !SPAN_IS(profile, "savpf"))
		return TRANSPORT_OTHER;
	*lower_tcp = false;
	if (has_lower) {
		if (SPAN_IS(lower, "tcp"))
			*lower_tcp = true;
		else if (!SPAN_IS(lower, "udp"))
			return TRANSPORT_OTHER;
	}
	return TRANSPORT_RTP;
}

static bool parse_transport_param(struct span param, struct rtsp_transport *t, bool *multicast_kw)
{
	struct span name, value;
	uint32_t pair[2], ttl;

	param = span_trim_lws(param);
	if (param.len == 0)
		return true; /* "...;;" or a trailing ';' */
	bool has_value = span_split(&param, '=', &name);
	name = span_trim_lws(name);
	value = param;

	if (SPAN_IS(name, "unicast"))
		return true;
	if (SPAN_IS(name, "multicast")) {
		*multicast_kw = true;
		return true;
	}
	if (!has_value)
		return true; /* append, and flags we do not know */

	if (SPAN_IS(name, "interleaved")) {
		if (!parse_number_pair(value, 255, pair))
			return false;
		t->interleaved = true;
		t->interleaved_channel[0] = (uint8_t)pair[0];
		t->interleaved_channel[1] = (uint8_t)pair[1];
	} else if (SPAN_IS(name, "client_port") || SPAN_IS(name, "port")) {
		/* port= is the multicast group's RTP/RTCP pair: where receivers
		 * listen, the same role client_port has for unicast. */
		return parse_port_pair(value, &t->has_client_port, t->client_port);
	} else if (SPAN_IS(name, "server_port")) {
		return parse_port_pair(value, &t->has_server_port, t->server_port);
	} else if (SPAN_IS(name, "destination")) {
		parse_transport_addr(value, &t->destination);
	} else if (SPAN_IS(name, "source")) {
		parse_transport_addr(value, &t->source);
	} else if (SPAN_IS(name, "dest_addr")) {
		return parse_addr_list(value, &t->destination, &t->has_client_port, t->client_port);
	} else if (SPAN_IS(name, "src_addr")) {
		return parse_addr_list(value, &t->source, &t->has_server_port, t->server_port);
	} else if (SPAN_IS(name, "ttl")) {
		return span_to_u32(unquote(value), 255, &ttl);
	} else if (SPAN_IS(name, "mode")) {
		t->record = mode_has_record(value);
	}
	/* ssrc= is skipped on purpose: vendors send spaces, 0x, 4 digits,
	 * decimal; we do not need it to pin flows. Unknown names likewise. */
	return true;
}

/* One spec: protocol id then ';'-separated parameters. */
static enum rtsp_status parse_transport_spec(struct span spec, struct rtsp_msg *out)
{
	struct span id, param;
	struct rtsp_transport parsed;
	bool multicast_kw = false;

	memset(&parsed, 0, sizeof(parsed));
	split_outside_quotes(&spec, ';', &id);
	switch (parse_transport_protocol(id, &parsed.lower_tcp)) {
	case TRANSPORT_MALFORMED:
		return RTSP_ERR_BAD_TRANSPORT;
	case TRANSPORT_OTHER:
		out->transports_ignored++;
		return RTSP_OK;
	case TRANSPORT_RTP:
		break;
	}
	while (spec.len > 0) {
		split_outside_quotes(&spec, ';', &param);
		if (!parse_transport_param(param, &parsed, &multicast_kw))
			return RTSP_ERR_BAD_TRANSPORT;
	}
	parsed.multicast = multicast_kw || netaddr_is_multicast(&parsed.destination);

	/* Validated even when there is no room: garbage is garbage. */
	if (out->transport_count >= RTSP_MAX_TRANSPORTS) {
		out->transports_ignored++;
		return RTSP_OK;
	}
	out->transports[out->transport_count++] = parsed;
	return RTSP_OK;
}

/* Comma-separated list of specs; several Transport lines append. */
static enum rtsp_status parse_transport(struct span value, struct rtsp_msg *out)
{
	struct span spec;
	bool any = false;

	while (value.len > 0) {
		split_outside_quotes(&value, ',', &spec);
		spec = span_trim_lws(spec);
		if (spec.len == 0)
			continue;
		any = true;
		enum rtsp_status status = parse_transport_spec(spec, out);
		if (status != RTSP_OK)
			return status;
	}
	return any ? RTSP_OK : RTSP_ERR_BAD_TRANSPORT;
}

/* ------------------------------------------------------------------------ */
/* Header section.                                                           */

static enum header_id lookup_header(struct span name)
{
	for (size_t i = 0; i < sizeof(header_table) / sizeof(header_table[0]); i++)
		if (eq_nocase_n(name, header_table[i].name, header_table[i].len))
			return header_table[i].id;
	return HDR_OTHER;
}

struct header_line {
	struct span name;
	struct span value; /* folded continuation lines included */
};

/* Next field line in [*cursor, head_end), which ends with an empty line.
 * Returns 1 with a field, 0 at the empty line, -1 on a malformed line. */
static int next_header(const uint8_t **cursor, const uint8_t *head_end, struct header_line *h)
{
	const uint8_t *line = *cursor;
	const uint8_t *newline = memchr(line, '\n', (size_t)(head_end - line));
	if (!newline)
		return -1; /* cannot happen: head_end follows an LF */

	const uint8_t *line_end = newline;
	if (line_end > line && line_end[-1] == '\r')
		line_end--;
	if (line_end == line)
		return 0;
	if (line[0] == ' ' || line[0] == '\t')
		return -1; /* a continuation with nothing to continue */

	/* Obsolete line folding (RFC 2326 via RFC 2616 LWS): a line starting
	 * with SP/HT belongs to the previous field. */
	while (head_end - newline > 1 && (newline[1] == ' ' || newline[1] == '\t')) {
		newline = memchr(newline + 1, '\n', (size_t)(head_end - newline - 1));
		if (!newline)
			return -1;
		line_end = newline;
	}
	*cursor = newline + 1;

	const uint8_t *colon = memchr(line, ':', (size_t)(line_end - line));
	if (!colon)
		return -1;
	h->name = span_trim(span_make(line, (size_t)(colon - line)));
	if (h->name.len == 0)
		return -1;
	for (size_t i = 0; i < h->name.len; i++)
		if (!is_token_char((uint8_t)h->name.ptr[i]))
			return -1;
	h->value = span_trim_lws(span_make(colon + 1, (size_t)(line_end - colon - 1)));
	return 1;
}

/* Only application/sdp, parameters (";charset=...") aside. */
static bool content_type_is_sdp(struct span value)
{
	struct span media_type;
	span_split(&value, ';', &media_type);
	return SPAN_IS(span_trim_lws(media_type), "application/sdp");
}

/* Walks the fields once, filling out; returns the first error. */
static enum rtsp_status parse_headers(const uint8_t *fields, const uint8_t *head_end,
				      struct rtsp_msg *out, uint32_t *content_length)
{
	struct header_line h;
	bool has_content_length = false, is_sdp = false;
	int more;

	*content_length = 0;
	while ((more = next_header(&fields, head_end, &h)) > 0) {
		enum rtsp_status status = RTSP_OK;
		switch (lookup_header(h.name)) {
		case HDR_CSEQ:
			status = parse_cseq(h.value, out);
			break;
		case HDR_SESSION:
			status = parse_session(h.value, out);
			break;
		case HDR_TRANSPORT:
			status = parse_transport(h.value, out);
			break;
		case HDR_CONTENT_LENGTH:
			status = parse_content_length(h.value, &has_content_length, content_length);
			break;
		case HDR_CONTENT_TYPE:
			is_sdp = content_type_is_sdp(h.value);
			break;
		case HDR_OTHER:
			break;
		}
		if (status != RTSP_OK)
			return status;
	}
	if (more < 0)
		return RTSP_ERR_NOT_RTSP;
	/* Without a body there is no SDP to read, whatever the type says. */
	out->body_is_sdp = is_sdp && *content_length > 0;
	return RTSP_OK;
}

/* ------------------------------------------------------------------------ */
/* Entry points.                                                             */

enum rtsp_status rtsp_parse(const uint8_t *p, size_t len, struct rtsp_msg *out)
{
	const uint8_t *fields = NULL;
	size_t head_len;
	uint32_t content_length;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return RTSP_ERR_EMPTY;

	/* Nothing beyond RTSP_MAX_MESSAGE can belong to an acceptable message. */
	size_t window = len < RTSP_MAX_MESSAGE ? len : RTSP_MAX_MESSAGE;
	bool head_complete = find_head_end(p, window, &head_len);
	size_t head_seen = head_complete ? head_len : window;

	enum rtsp_status status = parse_start_line(p, head_seen, out, &fields);
	if (status == RTSP_ERR_TRUNCATED && len >= RTSP_MAX_MESSAGE)
		return RTSP_ERR_OVERSIZED;
	if (status != RTSP_OK)
		return status;
	if (has_control_bytes(p, head_seen))
		return RTSP_ERR_BINARY;
	if (!head_complete)
		return len >= RTSP_MAX_MESSAGE ? RTSP_ERR_OVERSIZED : RTSP_ERR_TRUNCATED;

	status = parse_headers(fields, p + head_len, out, &content_length);
	if (status != RTSP_OK)
		return status;
	if (head_len + content_length > RTSP_MAX_MESSAGE)
		return RTSP_ERR_OVERSIZED;
	if (len - head_len < content_length)
		return RTSP_ERR_TRUNCATED;

	out->message_len = head_len + content_length;
	out->body = content_length ? p + head_len : NULL;
	out->body_len = content_length;
	return RTSP_OK;
}

/* The framer only needs Content-Length; it must agree with rtsp_parse on
 * what a malformed one is, or the stream would be cut differently. */
static enum frame_result frame_content_length(const uint8_t *fields, const uint8_t *head_end,
					      uint32_t *content_length)
{
	struct header_line h;
	bool seen = false;
	int more;

	*content_length = 0;
	while ((more = next_header(&fields, head_end, &h)) > 0) {
		if (lookup_header(h.name) != HDR_CONTENT_LENGTH)
			continue;
		if (parse_content_length(h.value, &seen, content_length) != RTSP_OK)
			return FRAME_INVALID;
	}
	return more < 0 ? FRAME_INVALID : FRAME_MESSAGE;
}

enum frame_result rtsp_frame(const uint8_t *p, size_t len, size_t max_message, size_t *msg_len)
{
	struct rtsp_msg start; /* scratch for the start line check */
	const uint8_t *fields = NULL;
	size_t head_len, stray = 0;
	uint32_t content_length;

	if (len == 0)
		return FRAME_NEED_MORE;

	/* RFC 2326 10.12 interleaved binary data: '$', channel, 16-bit length. */
	if (p[0] == '$') {
		if (len < 4)
			return FRAME_NEED_MORE;
		size_t frame_len = 4 + ((size_t)p[2] << 8 | p[3]);
		if (len < frame_len)
			return FRAME_NEED_MORE;
		*msg_len = frame_len;
		return FRAME_SKIP;
	}

	/* Keep-alive CRLFs between messages. */
	while (stray < len && (p[stray] == '\r' || p[stray] == '\n'))
		stray++;
	if (stray > 0) {
		*msg_len = stray;
		return FRAME_SKIP;
	}

	size_t window = len < max_message ? len : max_message;
	bool head_complete = find_head_end(p, window, &head_len);
	size_t head_seen = head_complete ? head_len : window;

	/* Reject a non-RTSP first line now rather than after max_message. */
	enum rtsp_status status = parse_start_line(p, head_seen, &start, &fields);
	if (status == RTSP_ERR_NOT_RTSP)
		return FRAME_INVALID;
	if (!head_complete || status != RTSP_OK)
		return len >= max_message ? FRAME_INVALID : FRAME_NEED_MORE;

	if (frame_content_length(fields, p + head_len, &content_length) != FRAME_MESSAGE)
		return FRAME_INVALID;
	if (content_length > max_message - head_len)
		return FRAME_INVALID;
	if (len - head_len < content_length)
		return FRAME_NEED_MORE;
	*msg_len = head_len + content_length;
	return FRAME_MESSAGE;
}
