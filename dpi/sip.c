/* sip.c - one SIP message (RFC 3261) to a struct sip_msg: our own bounded
 * pre-checks on the raw bytes, then libosip2, plus the SIP-over-TCP framer. */
#include <osipparser2/osip_parser.h>
#include <osipparser2/osip_port.h>

#include "dpi/sip.h"

#include <stdarg.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "dpi/parser_library.h"
#include "dpi/span.h"

#define SIP_METHOD_NAME_MAX 64   /* longest request method token we accept */
#define SIP_CSEQ_MAX 2147483647u /* RFC 3261 8.1.1.5: less than 2**31 */

/* A method's wire token is its name in upper case. */
static const char *const method_names[SIP_METHOD_COUNT] = {
	[SIP_METHOD_UNKNOWN] = "unknown", [SIP_INVITE] = "invite", [SIP_ACK] = "ack",
	[SIP_BYE] = "bye", [SIP_CANCEL] = "cancel", [SIP_PRACK] = "prack",
	[SIP_UPDATE] = "update", [SIP_OPTIONS] = "options", [SIP_REGISTER] = "register",
	[SIP_SUBSCRIBE] = "subscribe", [SIP_NOTIFY] = "notify", [SIP_INFO] = "info",
	[SIP_REFER] = "refer", [SIP_MESSAGE] = "message", [SIP_PUBLISH] = "publish",
};

static const char *const status_names[SIP_STATUS_COUNT] = { SIP_STATUS_LIST(ENUM_LIST_ENTRY) };

const char *sip_status_name(enum sip_status status)
{
	return (unsigned)status < SIP_STATUS_COUNT ? status_names[status] : "invalid";
}

const char *sip_method_name(enum sip_method method)
{
	return (unsigned)method < SIP_METHOD_COUNT ? method_names[method] : "invalid";
}

/* Whether token is name in upper case: method tokens are case-sensitive
 * (RFC 3261 7.1), so "invite" is no INVITE. */
static bool is_token_of(struct span token, const char *name)
{
	size_t n = strlen(name);
	if (token.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (token.ptr[i] != (name[i] >= 'a' && name[i] <= 'z' ? name[i] - 'a' + 'A' : name[i]))
			return false;
	return true;
}

static enum sip_method method_from_span(struct span token)
{
	for (int m = SIP_METHOD_UNKNOWN + 1; m < SIP_METHOD_COUNT; m++)
		if (is_token_of(token, method_names[m]))
			return (enum sip_method)m;
	return SIP_METHOD_UNKNOWN;
}

/* ---- raw-byte scanning shared by sip_parse and sip_frame ---- */

bool sip_is_token_char(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return memchr("-.!%*_+`'~", c, 10) != NULL;
}

static bool is_control(uint8_t c)
{
	return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f;
}

enum header_id {
	HDR_OTHER = 0, HDR_CALL_ID, HDR_CSEQ, HDR_CONTENT_LENGTH, HDR_CONTENT_TYPE, HDR_COUNT
};

/* By length first: every header line of every message comes here, and
 * most are none of these. */
static enum header_id header_id_of(struct span name)
{
	switch (name.len) {
	case 1:
		return span_eq_nocase(name, "i") ? HDR_CALL_ID
		       : span_eq_nocase(name, "l") ? HDR_CONTENT_LENGTH
		       : span_eq_nocase(name, "c") ? HDR_CONTENT_TYPE : HDR_OTHER;
	case 4:
		return span_eq_nocase(name, "CSeq") ? HDR_CSEQ : HDR_OTHER;
	case 7:
		return span_eq_nocase(name, "Call-ID") ? HDR_CALL_ID : HDR_OTHER;
	case 12:
		return span_eq_nocase(name, "Content-Type") ? HDR_CONTENT_TYPE : HDR_OTHER;
	case 14:
		return span_eq_nocase(name, "Content-Length") ? HDR_CONTENT_LENGTH : HDR_OTHER;
	default:
		return HDR_OTHER;
	}
}

enum header_bytes { BYTES_CLEAN, BYTES_ESCAPED_CONTROLS, BYTES_BAD };

/* What the pre-check learnt from the header section. */
struct header_scan {
	size_t header_len;             /* start line + headers + empty line */
	struct span value[HDR_COUNT];  /* first value of each header we track */
	bool present[HDR_COUNT];
	bool differs[HDR_COUNT];       /* repeated with another value */
	bool repeated[HDR_COUNT];      /* seen more than once */
	enum header_bytes header_bytes; /* set by precheck */
};

/* Content-Length values are compared as numbers ("05" == "5"), the others
 * byte for byte (Call-ID is case-sensitive). */
static bool same_header_value(enum header_id id, struct span a, struct span b)
{
	if (id == HDR_CONTENT_LENGTH) {
		uint32_t va, vb;
		if (span_to_u32(a, UINT32_MAX, &va) && span_to_u32(b, UINT32_MAX, &vb))
			return va == vb;
	}
	return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

static void note_header(struct header_scan *scan, enum header_id id, struct span value)
{
	if (id == HDR_OTHER)
		return;
	value = span_trim(value);
	if (!scan->present[id]) {
		scan->present[id] = true;
		scan->value[id] = value;
	} else {
		scan->repeated[id] = true;
		if (!same_header_value(id, scan->value[id], value))
			scan->differs[id] = true;
	}
}

/* Walks the header lines after the start line (which ends at first_line_end)
 * up to the empty line, within [p, p+len). Folded continuation lines (leading
 * SP/HT) extend the previous header's value. Bare LF line ends are accepted. */
static bool scan_headers(const uint8_t *p, size_t len, size_t first_line_end,
			 struct header_scan *scan)
{
	size_t pos = first_line_end;
	enum header_id current = HDR_OTHER;
	struct span current_value = { NULL, 0 };
	struct span line;

	memset(scan, 0, sizeof(*scan));
	for (;;) {
		if (!span_next_line(p, len, &pos, &line))
			return false;
		if (line.len > 0 && (line.ptr[0] == ' ' || line.ptr[0] == '\t')) {
			/* continuation: the value now runs to the end of this line */
			if (current_value.ptr)
				current_value.len = (size_t)(line.ptr + line.len - current_value.ptr);
			continue;
		}
		note_header(scan, current, current_value);
		current = HDR_OTHER;
		current_value = span_make(NULL, 0);
		if (line.len == 0)
			break;
		const char *colon = memchr(line.ptr, ':', line.len);
		if (!colon)
			continue; /* not a header line: libosip2 judges it */
		struct span name = span_trim(span_make(line.ptr, (size_t)(colon - line.ptr)));
		current = header_id_of(name);
		current_value = span_make(colon + 1, (size_t)(line.ptr + line.len - colon - 1));
	}
	scan->header_len = pos;
	return true;
}

/* A byte the header check has nothing to do for: printable (space included),
 * a tab, or 0x80 and above (UTF-8); not DEL, a quote or a backslash. */
static bool is_plain_header_byte(uint8_t c)
{
	return (c >= 0x20 && c != 0x7f && c != '"' && c != '\\') || c == '\t';
}

/* How many bytes from p on are plain, 16 at a time where SSE2 allows: every
 * message's header section is checked, and it is mostly plain bytes. */
static size_t plain_header_run(const uint8_t *p, size_t n)
{
	size_t k = 0;
#if defined(__SSE2__)
	const __m128i below_space = _mm_set1_epi8(0x1f);
	const __m128i tab = _mm_set1_epi8('\t');
	const __m128i del = _mm_set1_epi8(0x7f);
	const __m128i quote = _mm_set1_epi8('"');
	const __m128i backslash = _mm_set1_epi8('\\');
	for (; k + 16 <= n; k += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + k));
		/* v <= 0x1f unsigned: the minimum of v and 0x1f is v itself */
		__m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, below_space), v);
		control = _mm_andnot_si128(_mm_cmpeq_epi8(v, tab), control);
		__m128i special = _mm_or_si128(_mm_or_si128(control, _mm_cmpeq_epi8(v, del)),
					       _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
		unsigned mask = (unsigned)_mm_movemask_epi8(special);
		if (mask)
			return k + (size_t)__builtin_ctz(mask);
	}
#endif
	while (k < n && is_plain_header_byte(p[k]))
		k++;
	return k;
}

/* Control bytes in the header section: only CR LF / LF line ends, HT, and
 * inside a quoted string a quoted-pair may escape any byte but CR and LF
 * (RFC 3261 25.1; RFC 4475 3.1.1.2 escapes BEL, NUL and DEL). A CR not
 * ending a line would be a line end to libosip2 but not to us (kamailio
 * sample sg.sip): refused as well. With rewrite non-NULL, the escaped control
 * bytes are replaced by '?' there, at the same offsets, so that libosip2's
 * string functions never meet an early NUL. */
static enum header_bytes check_header_bytes(const uint8_t *p, size_t n, char *rewrite)
{
	enum header_bytes result = BYTES_CLEAN;
	bool in_quotes = false;
	for (size_t i = 0; i < n; i++) {
		i += plain_header_run(p + i, n - i);
		if (i >= n)
			break;
		uint8_t c = p[i];
		if (c == '\n') {
			/* a quoted string may only continue on a folded line */
			in_quotes = in_quotes && i + 1 < n && (p[i + 1] == ' ' || p[i + 1] == '\t');
			continue;
		}
		if (c == '\r') {
			if (i + 1 < n && p[i + 1] != '\n')
				return BYTES_BAD;
			continue;
		}
		if (in_quotes && c == '\\' && i + 1 < n && p[i + 1] != '\r' && p[i + 1] != '\n') {
			if (is_control(p[i + 1])) {
				result = BYTES_ESCAPED_CONTROLS;
				if (rewrite)
					rewrite[i + 1] = '?';
			}
			i++;
			continue;
		}
		if (c == '"')
			in_quotes = !in_quotes;
		else if (is_control(c))
			return BYTES_BAD;
	}
	return result;
}

/* "SIP/2.0": the protocol name is matched case-insensitively (RFC 3261 25.1
 * ABNF literals), the version exactly. */
static bool is_sip_version(struct span s)
{
	return span_eq_nocase(s, "SIP/2.0");
}

/* URI in a Request-Line: scheme ":" then anything but whitespace (RFC 3261
 * 25.1 Request-URI is SIP-URI / SIPS-URI / absoluteURI). */
static bool is_request_uri(struct span uri)
{
	size_t i = 0;
	if (uri.len == 0)
		return false;
	if (!((uri.ptr[0] >= 'a' && uri.ptr[0] <= 'z') || (uri.ptr[0] >= 'A' && uri.ptr[0] <= 'Z')))
		return false;
	while (i < uri.len && uri.ptr[i] != ':') {
		uint8_t c = (uint8_t)uri.ptr[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '-' || c == '.'))
			return false;
		i++;
	}
	if (i == uri.len || i + 1 == uri.len)
		return false;
	for (; i < uri.len; i++)
		if ((uint8_t)uri.ptr[i] <= ' ')
			return false;
	return true;
}

/* Request-Line: Method SP Request-URI SP SIP-Version (single spaces). */
static bool parse_request_line(struct span line, enum sip_method *method)
{
	const char *sp1 = memchr(line.ptr, ' ', line.len);
	if (!sp1)
		return false;
	struct span token = span_make(line.ptr, (size_t)(sp1 - line.ptr));
	if (token.len == 0 || token.len > SIP_METHOD_NAME_MAX)
		return false;
	for (size_t i = 0; i < token.len; i++)
		if (!sip_is_token_char((uint8_t)token.ptr[i]))
			return false;
	struct span rest = span_make(sp1 + 1, (size_t)(line.ptr + line.len - sp1 - 1));
	const char *sp2 = memchr(rest.ptr, ' ', rest.len);
	if (!sp2)
		return false;
	struct span uri = span_make(rest.ptr, (size_t)(sp2 - rest.ptr));
	struct span version = span_make(sp2 + 1, (size_t)(rest.ptr + rest.len - sp2 - 1));
	if (!is_request_uri(uri) || !is_sip_version(version))
		return false;
	*method = method_from_span(token);
	return true;
}

/* Status-Line: SIP-Version SP 3DIGIT SP Reason-Phrase (the phrase may be
 * empty, RFC 4475 3.1.1.13; a missing final SP is tolerated). */
static bool parse_status_line(struct span line, unsigned *status)
{
	if (line.len < 11 || !is_sip_version(span_make(line.ptr, 7)) || line.ptr[7] != ' ')
		return false;
	uint32_t code;
	if (!span_to_u32(span_make(line.ptr + 8, 3), 999, &code) || code < 100 || code > 699)
		return false;
	if (line.len > 11 && line.ptr[11] != ' ')
		return false;
	*status = code;
	return true;
}

/* An unterminated start line that could still become SIP: "SIP/2.0 ..." or
 * a method token, SP and the start of a URI scheme. */
static bool starts_like_sip(struct span s)
{
	size_t i = 0;
	if (span_prefix_nocase(s, "SIP/2.0 "))
		return true;
	while (i < s.len && i <= SIP_METHOD_NAME_MAX && sip_is_token_char((uint8_t)s.ptr[i]))
		i++;
	if (i == 0 || i >= s.len || s.ptr[i] != ' ' || i + 1 >= s.len)
		return false;
	uint8_t c = (uint8_t)s.ptr[i + 1];
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Content-Length as a bounded decimal: BAD for junk or a sign, OVERSIZED for
 * digits beyond what a message may hold. */
static enum sip_status content_length_value(struct span value, uint32_t *out)
{
	if (value.len == 0)
		return SIP_ERR_BAD_CONTENT_LENGTH;
	for (size_t i = 0; i < value.len; i++)
		if (value.ptr[i] < '0' || value.ptr[i] > '9')
			return SIP_ERR_BAD_CONTENT_LENGTH;
	if (!span_to_u32(value, SIP_MAX_MESSAGE, out))
		return SIP_ERR_OVERSIZED;
	return SIP_PARSE_OK;
}

static bool is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* CSeq = 1*DIGIT LWS Method (RFC 3261 20.16); the LWS may be folded. */
static bool cseq_is_valid(struct span value)
{
	size_t digits = 0;
	uint32_t number;
	while (digits < value.len && value.ptr[digits] >= '0' && value.ptr[digits] <= '9')
		digits++;
	if (!span_to_u32(span_make(value.ptr, digits), SIP_CSEQ_MAX, &number))
		return false;
	size_t i = digits;
	while (i < value.len && is_lws(value.ptr[i]))
		i++;
	return i > digits && i < value.len && sip_is_token_char((uint8_t)value.ptr[i]);
}

/* ---- the TCP framer ---- */

enum frame_result sip_frame(const uint8_t *p, size_t len, size_t max_message, size_t *msg_len)
{
	struct header_scan scan;
	size_t keepalive = 0;
	size_t window;
	size_t first_line_end = 0;
	struct span first_line;

	while (keepalive < len && (p[keepalive] == '\r' || p[keepalive] == '\n'))
		keepalive++;
	if (keepalive > 0) {
		*msg_len = keepalive;
		return FRAME_SKIP;
	}
	window = len < max_message ? len : max_message;
	if (!span_next_line(p, window, &first_line_end, &first_line))
		return len >= max_message ? FRAME_INVALID : FRAME_NEED_MORE;
	if (!scan_headers(p, window, first_line_end, &scan))
		return len >= max_message ? FRAME_INVALID : FRAME_NEED_MORE;
	uint32_t body_len = 0;
	/* a second, different Content-Length makes the frame boundary unknowable */
	if (scan.differs[HDR_CONTENT_LENGTH])
		return FRAME_INVALID;
	if (scan.present[HDR_CONTENT_LENGTH]) {
		if (!span_to_u32(scan.value[HDR_CONTENT_LENGTH], UINT32_MAX, &body_len))
			return FRAME_INVALID;
	}
	if ((uint64_t)scan.header_len + body_len > max_message)
		return FRAME_INVALID;
	if (scan.header_len + body_len > len)
		return FRAME_NEED_MORE;
	*msg_len = scan.header_len + body_len;
	return FRAME_MESSAGE;
}

/* ---- the parser ---- */

static bool content_type_is(const osip_content_type_t *ct, const char *type, const char *subtype)
{
	return ct && ct->type && ct->subtype && osip_strcasecmp(ct->type, type) == 0 &&
	       osip_strcasecmp(ct->subtype, subtype) == 0;
}

/* "type/subtype" of a Content-Type value, parameters and case ignored. */
static bool media_type_is(struct span value, const char *type_subtype)
{
	struct span head;
	span_split(&value, ';', &head);
	return span_eq_nocase(span_trim(head), type_subtype);
}

static bool media_type_is_multipart(struct span value)
{
	return span_prefix_nocase(span_trim(value), "multipart/");
}

/* The boundary parameter of a multipart Content-Type (RFC 2046 5.1.1:
 * 1 to 70 characters, maybe quoted). */
static bool multipart_boundary(struct span value, struct span *boundary)
{
	struct span param;
	span_split(&value, ';', &param); /* drop the media type */
	while (value.len > 0) {
		span_split(&value, ';', &param);
		struct span name;
		if (!span_split(&param, '=', &name) || !span_eq_nocase(span_trim(name), "boundary"))
			continue;
		param = span_trim(param);
		if (param.len >= 2 && param.ptr[0] == '"' && param.ptr[param.len - 1] == '"') {
			param.ptr++;
			param.len -= 2;
		}
		if (param.len == 0 || param.len > 70)
			return false;
		*boundary = param;
		return true;
	}
	return false;
}

/* Next "--boundary" that starts a line in [body, body+len) from *pos; *pos
 * is left on it. */
static bool next_delimiter(struct span body, struct span boundary, size_t *pos)
{
	while (*pos + 2 + boundary.len <= body.len) {
		const char *hit = memmem(body.ptr + *pos, body.len - *pos, "--", 2);
		if (!hit)
			return false;
		size_t at = (size_t)(hit - body.ptr);
		if (at + 2 + boundary.len > body.len)
			return false;
		if ((at == 0 || body.ptr[at - 1] == '\n') &&
		    memcmp(body.ptr + at + 2, boundary.ptr, boundary.len) == 0) {
			*pos = at;
			return true;
		}
		*pos = at + 1;
	}
	return false;
}

/* The first application/sdp part of a multipart body (RFC 2046 5.1; RFC
 * 4475 3.1.1.11), found by our own bounded walk over the part headers. */
static bool find_sdp_part(struct span body, struct span content_type, struct span *sdp)
{
	struct span boundary;
	size_t pos = 0;
	if (!multipart_boundary(content_type, &boundary) || !next_delimiter(body, boundary, &pos))
		return false;
	for (;;) {
		size_t after = pos + 2 + boundary.len;
		if (after + 2 <= body.len && body.ptr[after] == '-' && body.ptr[after + 1] == '-')
			return false; /* the close delimiter */
		const char *eol = memchr(body.ptr + after, '\n', body.len - after);
		if (!eol)
			return false;
		size_t cursor = (size_t)(eol - body.ptr) + 1;
		bool is_sdp = false, typed = false; /* the first Content-Type counts */
		struct span line;
		for (;;) { /* part headers, up to the empty line */
			if (!span_next_line((const uint8_t *)body.ptr, body.len, &cursor, &line))
				return false;
			if (line.len == 0)
				break;
			const char *colon = memchr(line.ptr, ':', line.len);
			if (typed || !colon ||
			    !span_eq_nocase(span_trim(span_make(line.ptr, (size_t)(colon - line.ptr))),
					    "Content-Type"))
				continue;
			typed = true;
			is_sdp = media_type_is(span_make(colon + 1, (size_t)(line.ptr + line.len - colon - 1)),
					       "application/sdp");
		}
		size_t part_start = cursor;
		pos = cursor;
		if (!next_delimiter(body, boundary, &pos))
			return false;
		if (is_sdp) {
			/* the line end before the delimiter belongs to it */
			size_t part_end = pos;
			if (part_end > part_start && body.ptr[part_end - 1] == '\n')
				part_end--;
			if (part_end > part_start && body.ptr[part_end - 1] == '\r')
				part_end--;
			*sdp = span_make(body.ptr + part_start, part_end - part_start);
			return true;
		}
	}
}

/* libosip2 splits multipart bodies itself, and leaks when a part repeats its
 * Content-Type (osip_body_set_contenttype overwrites without freeing; found
 * by fuzzing). In our scratch copy the media type becomes "xultipart/...",
 * which libosip2 stores as one opaque body; find_sdp_part does the rest. */
static void hide_multipart(const struct header_scan *scan, const uint8_t *p, char *scratch)
{
	struct span value = span_trim(scan->value[HDR_CONTENT_TYPE]);
	if (scan->present[HDR_CONTENT_TYPE] && media_type_is_multipart(value))
		scratch[(const uint8_t *)value.ptr - p] = 'x';
}

/* Call-ID text as libosip2 parsed it: number ["@" host]. */
static enum sip_status copy_call_id(osip_message_t *msg, struct sip_msg *out)
{
	osip_call_id_t *call_id = osip_message_get_call_id(msg);
	if (!call_id || !call_id->number || call_id->number[0] == '\0')
		return SIP_ERR_NO_CALL_ID;
	size_t number_len = strlen(call_id->number);
	size_t host_len = call_id->host ? strlen(call_id->host) : 0;
	size_t total = number_len + (call_id->host ? 1 + host_len : 0);
	if (total > SIP_CALL_ID_MAX)
		return SIP_ERR_CALL_ID_TOO_LONG;
	memcpy(out->call_id, call_id->number, number_len);
	if (call_id->host) {
		out->call_id[number_len] = '@';
		memcpy(out->call_id + number_len + 1, call_id->host, host_len);
	}
	out->call_id[total] = '\0';
	out->call_id_len = total;
	return SIP_PARSE_OK;
}

/* CSeq: number below 2**31 and a method token, as libosip2 parsed them. */
static enum sip_status copy_cseq(osip_message_t *msg, struct sip_msg *out,
				 const char **cseq_method)
{
	osip_cseq_t *cseq = osip_message_get_cseq(msg);
	uint32_t number;
	if (!cseq || !cseq->number || !cseq->method || cseq->method[0] == '\0')
		return SIP_ERR_BAD_CSEQ;
	if (!span_to_u32(span_make(cseq->number, strlen(cseq->number)), SIP_CSEQ_MAX, &number))
		return SIP_ERR_BAD_CSEQ;
	out->cseq = number;
	*cseq_method = cseq->method;
	return SIP_PARSE_OK;
}

/* Fills out from what libosip2 parsed; the pre-checks already passed.
 * body is the message body in the packet, content_type our raw value. */
static enum sip_status read_osip_message(osip_message_t *msg, struct span body,
					 const struct header_scan *scan, struct sip_msg *out)
{
	const char *cseq_method = NULL;
	enum sip_status status;

	status = copy_call_id(msg, out);
	if (status != SIP_PARSE_OK)
		return status;
	status = copy_cseq(msg, out, &cseq_method);
	if (status != SIP_PARSE_OK)
		return status;
	enum sip_method by_cseq = method_from_span(span_make(cseq_method, strlen(cseq_method)));
	if (MSG_IS_REQUEST(msg)) {
		/* RFC 3261 8.1.1.5: the CSeq method matches the request's method
		 * (RFC 4475 3.1.2.17/18 are rejected for disagreeing). */
		if (!msg->sip_method || strcmp(msg->sip_method, cseq_method) != 0)
			return SIP_ERR_BAD_CSEQ;
		out->is_request = true;
		out->method = by_cseq;
		out->status = 0;
	} else {
		if (msg->status_code < 100 || msg->status_code > 699)
			return SIP_ERR_NOT_SIP;
		out->is_request = false;
		out->method = by_cseq;
		out->status = (unsigned)msg->status_code;
	}

	struct span sdp = { NULL, 0 };
	bool sdp_found = false;
	const osip_content_type_t *ct = osip_message_get_content_type(msg);
	osip_body_t *osip_body = NULL;
	if (content_type_is(ct, "application", "sdp")) {
		sdp_found = true;
		if (osip_message_get_body(msg, 0, &osip_body) >= 0 && osip_body && osip_body->body)
			sdp = span_make(osip_body->body, osip_body->length);
	} else if (scan->present[HDR_CONTENT_TYPE] &&
		   media_type_is_multipart(scan->value[HDR_CONTENT_TYPE])) {
		sdp_found = find_sdp_part(body, scan->value[HDR_CONTENT_TYPE], &sdp);
	}
	if (sdp_found) {
		out->sdp_status = sdp_parse((const uint8_t *)sdp.ptr, sdp.len, &out->sdp);
		out->has_sdp = out->sdp_status == SDP_OK;
	}
	return SIP_PARSE_OK;
}

/* The pre-checks: start line, header section, Content-Length, then the
 * tracked headers' values, all on the raw bytes within [p, p+len). */
static enum sip_status precheck(const uint8_t *p, size_t len, struct header_scan *scan,
				size_t *message_len)
{
	size_t first_line_end = 0;
	struct span first_line;
	size_t window = len < SIP_MAX_MESSAGE ? len : SIP_MAX_MESSAGE;
	enum sip_method method;
	unsigned status_code;

	if (!span_next_line(p, window, &first_line_end, &first_line)) {
		/* a start line with no end: truncated SIP, or not SIP at all */
		if (!starts_like_sip(span_make(p, window)))
			return SIP_ERR_NOT_SIP;
		return len > SIP_MAX_MESSAGE ? SIP_ERR_OVERSIZED : SIP_ERR_TRUNCATED;
	}
	if (!parse_request_line(first_line, &method) && !parse_status_line(first_line, &status_code))
		return SIP_ERR_NOT_SIP;

	if (!scan_headers(p, window, first_line_end, scan)) {
		if (check_header_bytes(p, window, NULL) == BYTES_BAD)
			return SIP_ERR_BINARY;
		return len > SIP_MAX_MESSAGE ? SIP_ERR_OVERSIZED : SIP_ERR_TRUNCATED;
	}
	scan->header_bytes = check_header_bytes(p, scan->header_len, NULL);
	if (scan->header_bytes == BYTES_BAD)
		return SIP_ERR_BINARY;
	/* Content-Type counts even when repeated identically: which body
	 * parser libosip2 runs hangs on it (see hide_multipart) */
	if (scan->differs[HDR_CALL_ID] || scan->differs[HDR_CSEQ] ||
	    scan->differs[HDR_CONTENT_LENGTH] || scan->repeated[HDR_CONTENT_TYPE])
		return SIP_ERR_DUPLICATE_HEADER;

	if (scan->present[HDR_CONTENT_LENGTH]) {
		uint32_t body_len;
		enum sip_status st = content_length_value(scan->value[HDR_CONTENT_LENGTH], &body_len);
		if (st != SIP_PARSE_OK)
			return st;
		if (scan->header_len + body_len > SIP_MAX_MESSAGE)
			return SIP_ERR_OVERSIZED;
		if (scan->header_len + body_len > len)
			return SIP_ERR_TRUNCATED;
		/* bytes after the body are ignored (RFC 4475 3.1.1.8) */
		*message_len = scan->header_len + body_len;
	} else {
		/* over UDP the body is the rest of the datagram (RFC 3261 18.3) */
		if (len > SIP_MAX_MESSAGE)
			return SIP_ERR_OVERSIZED;
		*message_len = len;
	}

	if (!scan->present[HDR_CALL_ID] || scan->value[HDR_CALL_ID].len == 0)
		return SIP_ERR_NO_CALL_ID;
	if (scan->value[HDR_CALL_ID].len > SIP_CALL_ID_MAX)
		return SIP_ERR_CALL_ID_TOO_LONG;

	if (!scan->present[HDR_CSEQ])
		return SIP_ERR_BAD_CSEQ;
	if (!cseq_is_valid(scan->value[HDR_CSEQ]))
		return SIP_ERR_BAD_CSEQ;
	return SIP_PARSE_OK;
}

/* A message refused for a header the dispatcher does not need (libosip2's
 * strictness, a repeated Content-Type, a bad CSeq) still names its dialog:
 * the Call-ID found by our own scan is kept so it can follow its session. */
static void keep_readable_call_id(enum sip_status status, const struct header_scan *scan,
				  struct sip_msg *out)
{
	struct span call_id = scan->value[HDR_CALL_ID];
	if (status != SIP_ERR_PARSE && status != SIP_ERR_DUPLICATE_HEADER && status != SIP_ERR_BAD_CSEQ)
		return;
	if (!scan->present[HDR_CALL_ID] || scan->differs[HDR_CALL_ID] || call_id.len == 0 ||
	    call_id.len > SIP_CALL_ID_MAX)
		return;
	memcpy(out->call_id, call_id.ptr, call_id.len);
	out->call_id[call_id.len] = '\0';
	out->call_id_len = call_id.len;
}

/* A request other than INVITE without a body (BYE, ACK, CANCEL, OPTIONS,
 * REGISTER, re-INVITE-less PRACK/UPDATE...) carries no media: what the
 * dispatcher needs (method, Call-ID, CSeq) is read from the scan alone,
 * when the Call-ID is one plain word and the CSeq names the request-line
 * method. False sends the message to the full parse. */
static bool read_bodyless_request(const uint8_t *p, size_t len, const struct header_scan *scan,
				  size_t message_len, struct sip_msg *out)
{
	size_t first_line_end = 0, digits = 0, at;
	struct span line, cseq = scan->value[HDR_CSEQ], call_id = scan->value[HDR_CALL_ID];
	enum sip_method method;
	uint32_t number;

	if (message_len != scan->header_len || !span_next_line(p, len, &first_line_end, &line) ||
	    !parse_request_line(line, &method) || method == SIP_INVITE || method == SIP_METHOD_UNKNOWN)
		return false;
	for (size_t i = 0; i < call_id.len; i++)
		if (!sip_is_token_char((uint8_t)call_id.ptr[i]) && call_id.ptr[i] != '@')
			return false;
	while (digits < cseq.len && cseq.ptr[digits] >= '0' && cseq.ptr[digits] <= '9')
		digits++;
	if (!span_to_u32(span_make(cseq.ptr, digits), SIP_CSEQ_MAX, &number))
		return false;
	at = digits;
	while (at < cseq.len && is_lws(cseq.ptr[at]))
		at++;
	/* RFC 3261 8.1.1.5: the CSeq method is the request's, case-sensitively */
	const char *sp = memchr(line.ptr, ' ', line.len);
	size_t method_len = sp ? (size_t)(sp - line.ptr) : 0;
	if (at == digits || cseq.len - at != method_len || memcmp(cseq.ptr + at, line.ptr, method_len) != 0)
		return false;
	out->is_request = true;
	out->method = method;
	out->status = 0;
	out->cseq = number;
	memcpy(out->call_id, call_id.ptr, call_id.len);
	out->call_id[call_id.len] = '\0';
	out->call_id_len = call_id.len;
	out->message_len = message_len;
	return true;
}

static enum sip_status parse_message(const uint8_t *p, size_t len, bool bodyless_fast, struct sip_msg *out);

enum sip_status sip_parse(const uint8_t *p, size_t len, struct sip_msg *out)
{
	return parse_message(p, len, false, out);
}

enum sip_status sip_parse_fast(const uint8_t *p, size_t len, struct sip_msg *out)
{
	return parse_message(p, len, true, out);
}

static enum sip_status parse_message(const uint8_t *p, size_t len, bool bodyless_fast, struct sip_msg *out)
{
	/* libosip2 wants a NUL-terminated copy; one bounded buffer per thread */
	static _Thread_local char scratch[SIP_MAX_MESSAGE + 1];
	struct header_scan scan;
	size_t message_len = 0;
	osip_message_t *msg = NULL;
	enum sip_status status;

	memset(out, 0, sizeof(*out));
	out->sdp_status = SDP_OK;
	if (!p || len == 0)
		return SIP_ERR_EMPTY;
	memset(&scan, 0, sizeof(scan));
	status = precheck(p, len, &scan, &message_len);
	if (status != SIP_PARSE_OK) {
		keep_readable_call_id(status, &scan, out);
		return status;
	}

	if (bodyless_fast && read_bodyless_request(p, len, &scan, message_len, out))
		return SIP_PARSE_OK;
	parser_library_init();
	memcpy(scratch, p, message_len);
	scratch[message_len] = '\0';
	if (scan.header_bytes == BYTES_ESCAPED_CONTROLS)
		check_header_bytes(p, scan.header_len, scratch);
	hide_multipart(&scan, p, scratch);
	if (osip_message_init(&msg) != OSIP_SUCCESS) {
		msg = NULL;
		status = SIP_ERR_PARSE;
		goto free_message;
	}
	if (osip_message_parse(msg, scratch, message_len) != OSIP_SUCCESS) {
		status = SIP_ERR_PARSE;
		goto free_message;
	}
	struct span body = span_make(p + scan.header_len, message_len - scan.header_len);
	status = read_osip_message(msg, body, &scan, out);
	if (status != SIP_PARSE_OK)
		goto free_message;
	out->message_len = message_len;

free_message:
	if (msg)
		osip_message_free(msg);
	if (status != SIP_PARSE_OK) {
		/* callers see no half-filled message on failure */
		memset(out, 0, sizeof(*out));
		out->sdp_status = SDP_OK;
		keep_readable_call_id(status, &scan, out);
	}
	return status;
}
