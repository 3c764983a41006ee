/* sip_oc.c - RFC 7339 overload control in a response's top Via
 * (sip_oc.h): a bounded scan of the Via's first value, then a copy with
 * two edits (the bare "oc" replaced, the client's oc-algo dropped). */
#include "dpi/sip_oc.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dpi/sip.h"
#include "dpi/sip_headers.h"
#include "dpi/span.h"

/* oc-seq = 1*12DIGIT "." 1*5DIGIT (RFC 7339 section 9). */
#define OC_SEQ_MAX_SECONDS 999999999999ull

/* What the scan of the top Via's first value found; offsets from msg. */
struct top_via {
	bool oc, oc_valued, validity, seq, algo;
	size_t oc_at, oc_end;       /* the "oc" name */
	size_t algo_at, algo_end;   /* ";" through the end of the oc-algo value */
	struct span algo_value;
};

static size_t skip_lws(struct span v, size_t i)
{
	while (i < v.len && span_is_lws(v.ptr[i]))
		i++;
	return i;
}

static bool scan_token(struct span v, size_t *i)
{
	size_t start = *i;
	while (*i < v.len && sip_is_token_char((uint8_t)v.ptr[*i]))
		(*i)++;
	return *i > start;
}

/* sent-protocol = token SLASH token SLASH token, SLASH = SWS "/" SWS. */
static bool scan_sent_protocol(struct span v, size_t *i)
{
	for (int part = 0; part < 3; part++) {
		if (part > 0) {
			*i = skip_lws(v, *i);
			if (*i >= v.len || v.ptr[*i] != '/')
				return false;
			*i = skip_lws(v, *i + 1);
		}
		if (!scan_token(v, i))
			return false;
	}
	return true;
}

/* A parameter value that is not quoted: a token, or a host (received=,
 * maddr=) with the ":" "[" "]" of IPv6. */
static bool is_value_char(char c)
{
	return sip_is_token_char((uint8_t)c) || c == ':' || c == '[' || c == ']';
}

/* sent-by = host [COLON port]: anything up to the first ";" or "," that
 * holds no quote, control byte or white space other than around ":". */
static bool scan_sent_by(struct span v, size_t *i)
{
	size_t start = *i;
	while (*i < v.len && v.ptr[*i] != ';' && v.ptr[*i] != ',') {
		char c = v.ptr[*i];
		if (c == '"' || ((uint8_t)c < 0x20 && !span_is_lws(c)) || (uint8_t)c == 0x7f)
			return false;
		(*i)++;
	}
	while (*i > start && span_is_lws(v.ptr[*i - 1]))
		(*i)--;
	return *i > start;
}

/* quoted-string from *i (at the opening quote) past its closing quote. */
static bool scan_quoted(struct span v, size_t *i)
{
	(*i)++;
	while (*i < v.len && v.ptr[*i] != '"') {
		uint8_t c = (uint8_t)v.ptr[*i];
		if (c == '\\')
			(*i)++;
		else if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
		(*i)++;
	}
	if (*i >= v.len)
		return false;
	(*i)++;
	return true;
}

/* One via-params: SEMI name [EQUAL value], from *i at the ";". */
static bool scan_param(struct span v, size_t *i, struct span *name, struct span *value, bool *valued)
{
	size_t j = skip_lws(v, *i + 1), name_at = j, k;
	if (!scan_token(v, &j))
		return false;
	*name = span_make(v.ptr + name_at, j - name_at);
	*valued = false;
	k = skip_lws(v, j);
	if (k < v.len && v.ptr[k] == '=') {
		size_t value_at;
		k = skip_lws(v, k + 1);
		value_at = k;
		if (k < v.len && v.ptr[k] == '"') {
			if (!scan_quoted(v, &k))
				return false;
		} else {
			while (k < v.len && is_value_char(v.ptr[k]))
				k++;
		}
		if (k == value_at)
			return false;
		*value = span_make(v.ptr + value_at, k - value_at);
		*valued = true;
		j = k;
	}
	*i = j;
	return true;
}

/* The first via-parm of the Via value v (sent-protocol LWS sent-by
 * *(SEMI via-params)), up to the "," of the next one or the end. */
static bool scan_top_via(const uint8_t *msg, struct span v, struct top_via *via)
{
	size_t i = skip_lws(v, 0);
	memset(via, 0, sizeof(*via));
	if (!scan_sent_protocol(v, &i) || i >= v.len || !span_is_lws(v.ptr[i]))
		return false;
	i = skip_lws(v, i);
	if (!scan_sent_by(v, &i))
		return false;
	for (;;) {
		struct span name, value = { NULL, 0 };
		bool valued;
		size_t semi = skip_lws(v, i);
		if (semi >= v.len || v.ptr[semi] == ',')
			return true;
		if (v.ptr[semi] != ';')
			return false;
		i = semi;
		if (!scan_param(v, &i, &name, &value, &valued))
			return false;
		if (span_eq_nocase(name, "oc")) {
			if (via->oc)
				return false;
			via->oc = true;
			via->oc_valued = valued;
			via->oc_at = (size_t)((const uint8_t *)name.ptr - msg);
			via->oc_end = via->oc_at + name.len;
		} else if (span_eq_nocase(name, "oc-validity")) {
			via->validity = true;
		} else if (span_eq_nocase(name, "oc-seq")) {
			via->seq = true;
		} else if (span_eq_nocase(name, "oc-algo")) {
			if (via->algo)
				return false;
			via->algo = true;
			via->algo_value = value;
			via->algo_at = (size_t)((const uint8_t *)v.ptr + semi - msg);
			via->algo_end = (size_t)((const uint8_t *)v.ptr + i - msg);
		}
	}
}

/* oc-algo = "oc-algo" EQUAL DQUOTE algo-list *(COMMA algo-list) DQUOTE:
 * 1 when "loss" is listed, 0 when not, -1 when the value is not that. */
static int algo_offers_loss(struct span value)
{
	struct span list, item;
	bool loss = false;
	if (value.len < 2 || value.ptr[0] != '"' || value.ptr[value.len - 1] != '"')
		return -1;
	list = span_make(value.ptr + 1, value.len - 2);
	for (;;) {
		bool more = span_split(&list, ',', &item);
		size_t at = skip_lws(item, 0), end = item.len;
		while (end > at && span_is_lws(item.ptr[end - 1]))
			end--;
		item = span_make(item.ptr + at, end - at);
		for (size_t k = 0; k < item.len; k++)
			if (!sip_is_token_char((uint8_t)item.ptr[k]))
				return -1;
		if (item.len == 0)
			return -1;
		loss |= span_eq_nocase(item, "loss");
		if (!more)
			return loss ? 1 : 0;
	}
}

/* Copies msg[from, to) to out at *used; false when it does not fit. */
static bool copy_out(uint8_t *out, size_t cap, size_t *used, const uint8_t *from, size_t n)
{
	if (n > cap - *used)
		return false;
	memcpy(out + *used, from, n);
	*used += n;
	return true;
}

enum sip_oc_result sip_oc_add(const uint8_t *msg, size_t len, const struct sip_oc_feedback *fb, uint8_t *out,
			      size_t cap, size_t *out_len)
{
	struct sip_header_line h;
	struct span status_line;
	struct top_via via;
	struct sip_msg parsed;
	enum sip_header_scan r;
	char text[SIP_OC_GROWTH + 1];
	size_t pos = 0, used = 0;
	int text_len;

	if (!msg || !fb || !out || !out_len || len == 0)
		return SIP_OC_MALFORMED;
	if (fb->reduction > SIP_OC_MAX_REDUCTION || fb->seq_ms / 1000 > OC_SEQ_MAX_SECONDS)
		return SIP_OC_BAD_FEEDBACK;
	if (!span_next_line(msg, len, &pos, &status_line) || !span_prefix_nocase(status_line, "SIP/2.0 "))
		return SIP_OC_NOT_RESPONSE;
	while ((r = sip_header_next(msg, len, &pos, &h)) == SIP_HEADER_LINE)
		if (sip_header_is_via(h.name))
			break;
	if (r == SIP_HEADER_END)
		return SIP_OC_NO_VIA;
	if (r != SIP_HEADER_LINE || !scan_top_via(msg, h.value, &via))
		return SIP_OC_MALFORMED;
	if (!via.oc)
		return SIP_OC_NOT_ADVERTISED;
	if (via.oc_valued || via.validity || via.seq)
		return SIP_OC_ALREADY_SET;
	if (via.algo) {
		int loss = algo_offers_loss(via.algo_value);
		if (loss < 0)
			return SIP_OC_MALFORMED;
		if (loss == 0)
			return SIP_OC_NO_LOSS;
	}

	text_len = snprintf(text, sizeof(text), "oc=%" PRIu32 ";oc-validity=%" PRIu32 ";oc-seq=%" PRIu64 ".%03u;oc-algo=\"loss\"",
			    fb->reduction, fb->validity_ms, fb->seq_ms / 1000, (unsigned)(fb->seq_ms % 1000));
	if (text_len < 0 || (size_t)text_len >= sizeof(text))
		return SIP_OC_BAD_FEEDBACK;
	/* Two edits in message order: the oc name replaced, the offer dropped. */
	size_t cut_at = via.algo ? via.algo_at : len, cut_end = via.algo ? via.algo_end : len;
	bool ok;
	if (!via.algo || via.algo_at > via.oc_at)
		ok = copy_out(out, cap, &used, msg, via.oc_at) &&
		     copy_out(out, cap, &used, (const uint8_t *)text, (size_t)text_len) &&
		     copy_out(out, cap, &used, msg + via.oc_end, cut_at - via.oc_end) &&
		     copy_out(out, cap, &used, msg + cut_end, len - cut_end);
	else
		ok = copy_out(out, cap, &used, msg, cut_at) &&
		     copy_out(out, cap, &used, msg + cut_end, via.oc_at - cut_end) &&
		     copy_out(out, cap, &used, (const uint8_t *)text, (size_t)text_len) &&
		     copy_out(out, cap, &used, msg + via.oc_end, len - via.oc_end);
	if (!ok)
		return SIP_OC_TOO_LONG;
	/* What we pass on must still be a response our own parser (and the
	 * libosip2 behind it) reads, whatever the unscanned headers hold. */
	if (sip_parse(out, used, &parsed) != SIP_PARSE_OK || parsed.is_request)
		return SIP_OC_MALFORMED;
	*out_len = used;
	return SIP_OC_ADDED;
}

const char *sip_oc_result_name(enum sip_oc_result result)
{
	static const char *const names[SIP_OC_RESULT_COUNT] = { SIP_OC_RESULT_LIST(ENUM_LIST_ENTRY) };
	return (unsigned)result < SIP_OC_RESULT_COUNT ? names[result] : "?";
}
