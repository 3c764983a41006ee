/* sip_reply.c - a stateless 503 for a refused SIP request (sip_reply.h):
 * sip_parse() vets the request, a bounded header scan copies what to echo. */
#include <osipparser2/osip_parser.h>

#include "dpi/sip_reply.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dpi/sip.h"
#include "dpi/sip_headers.h"
#include "dpi/span.h"

enum echoed { ECHO_FROM = 0, ECHO_TO, ECHO_CALL_ID, ECHO_CSEQ, ECHO_COUNT };

static const char *const echoed_names[ECHO_COUNT] = {
	[ECHO_FROM] = "From", [ECHO_TO] = "To", [ECHO_CALL_ID] = "Call-ID", [ECHO_CSEQ] = "CSeq",
};

/* Bounded output: once a write does not fit, nothing more is written. */
struct writer {
	uint8_t *p;
	size_t cap, len;
	bool overflow;
};

static void put(struct writer *w, const void *data, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, data, n);
	w->len += n;
}

static void put_str(struct writer *w, const char *s)
{
	put(w, s, strlen(s));
}

static int echoed_of(struct span name)
{
	if (span_eq_nocase(name, "From") || span_eq_nocase(name, "f"))
		return ECHO_FROM;
	if (span_eq_nocase(name, "To") || span_eq_nocase(name, "t"))
		return ECHO_TO;
	if (span_eq_nocase(name, "Call-ID") || span_eq_nocase(name, "i"))
		return ECHO_CALL_ID;
	if (span_eq_nocase(name, "CSeq"))
		return ECHO_CSEQ;
	return -1;
}

/* False when the value is empty or holds a control byte other than HT and
 * the line breaks of its folds. */
static bool value_is_clean(struct span v)
{
	v = span_trim_lws(v);
	if (v.len == 0)
		return false;
	for (size_t i = 0; i < v.len; i++) {
		uint8_t c = (uint8_t)v.ptr[i];
		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
			return false;
	}
	return true;
}

/* Call-ID = word ["@" word] (RFC 3261 25.1): no white space inside, so it
 * goes back byte for byte, not unfolded into something else. */
static bool is_one_word(struct span v)
{
	v = span_trim_lws(v);
	for (size_t i = 0; i < v.len; i++)
		if (span_is_lws(v.ptr[i]))
			return false;
	return true;
}

/* Writes the trimmed value with the CR and LF of its folds turned into
 * spaces, as libosip2 unfolds (RFC 3261 7.3.1: a fold is white space):
 * collapsing the run instead can change how libosip2 splits a Via. */
static void put_unfolded(struct writer *w, struct span v)
{
	v = span_trim_lws(v);
	size_t i = 0;
	while (i < v.len) {
		if (v.ptr[i] == '\r' || v.ptr[i] == '\n') {
			put(w, " ", 1);
			i++;
			continue;
		}
		size_t run = i;
		while (run < v.len && v.ptr[run] != '\r' && v.ptr[run] != '\n')
			run++;
		put(w, v.ptr + i, run - i);
		i = run;
	}
}

enum to_tag { TO_TAG_ABSENT, TO_TAG_PRESENT, TO_UNBALANCED };

/* A "tag" parameter of the To header: ";" LWS "tag" LWS "=" outside quoted
 * strings and outside the <...> of a name-addr (RFC 3261 20.39, 25.1).
 * UNBALANCED when a quote or a "<" is left open: a tag appended there
 * would land inside it. */
static enum to_tag to_tag_of(struct span v)
{
	bool in_quotes = false;
	int angle = 0;
	for (size_t i = 0; i < v.len; i++) {
		char c = v.ptr[i];
		if (in_quotes) {
			if (c == '\\')
				i++; /* quoted-pair */
			else if (c == '"')
				in_quotes = false;
			continue;
		}
		if (c == '"')
			in_quotes = true;
		else if (c == '<')
			angle++;
		else if (c == '>' && angle > 0)
			angle--;
		else if (c == ';' && angle == 0) {
			size_t j = i + 1;
			while (j < v.len && span_is_lws(v.ptr[j]))
				j++;
			if (v.len - j < 3 || !span_eq_nocase(span_make(v.ptr + j, 3), "tag"))
				continue;
			j += 3;
			while (j < v.len && span_is_lws(v.ptr[j]))
				j++;
			if (j < v.len && v.ptr[j] == '=')
				return TO_TAG_PRESENT;
		}
	}
	return in_quotes || angle > 0 ? TO_UNBALANCED : TO_TAG_ABSENT;
}

/* FNV-1a over the values that identify the request (RFC 3261 8.2.7: a
 * stateless UAS gives a retransmission the same To tag). Not secret: the tag
 * only has to differ between dialogs. */
static uint64_t fnv1a(uint64_t h, struct span s)
{
	for (size_t i = 0; i < s.len; i++) {
		h ^= (uint8_t)s.ptr[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The reply read back the way its receiver will: our parser sees a 503 with
 * the request's Call-ID and CSeq, and libosip2 finds a Via and the To tag.
 * The echoed values are the request's own, which libosip2 accepted there,
 * but it is lenient with some values only in some places (a junk To whose
 * parameters it never reached), so the reply is checked, not assumed. */
static bool reply_reads_back(const uint8_t *reply, size_t len, const struct sip_msg *request)
{
	struct sip_msg parsed;
	osip_message_t *msg = NULL;
	osip_generic_param_t *tag = NULL;
	bool ok = false;

	if (sip_parse(reply, len, &parsed) != SIP_PARSE_OK || parsed.is_request || parsed.status != 503 ||
	    strcmp(parsed.call_id, request->call_id) != 0 || parsed.cseq != request->cseq)
		return false;
	if (osip_message_init(&msg) != OSIP_SUCCESS)
		return false;
	if (osip_message_parse(msg, (const char *)reply, len) != OSIP_SUCCESS)
		goto done;
	if (osip_list_size(&msg->vias) < 1 || !msg->to || osip_to_get_tag(msg->to, &tag) != OSIP_SUCCESS ||
	    !tag || !tag->gvalue)
		goto done;
	ok = true;
done:
	osip_message_free(msg);
	return ok;
}

size_t sip_reply_503(const uint8_t *request, size_t len, uint32_t retry_after_s, uint8_t *out,
		     size_t cap)
{
	struct sip_msg msg;
	struct span echoed[ECHO_COUNT] = { { NULL, 0 } };
	struct span first_via = { NULL, 0 };
	struct sip_header_line h;
	struct span start_line;
	struct writer w = { out, cap, 0, false };
	size_t headers_at = 0, pos;
	enum sip_header_scan r;

	if (!request || !out || len == 0)
		return 0;
	if (sip_parse(request, len, &msg) != SIP_PARSE_OK || !msg.is_request || msg.method == SIP_ACK)
		return 0;
	if (!span_next_line(request, len, &headers_at, &start_line))
		return 0;

	/* Pass 1: the singletons, and at least one Via, all clean. */
	pos = headers_at;
	while ((r = sip_header_next(request, len, &pos, &h)) == SIP_HEADER_LINE) {
		int e = echoed_of(h.name);
		if (sip_header_is_via(h.name)) {
			if (!value_is_clean(h.value))
				return 0;
			if (!first_via.ptr)
				first_via = h.value;
		} else if (e >= 0) {
			if (echoed[e].ptr || !value_is_clean(h.value))
				return 0;
			if (e == ECHO_CALL_ID && !is_one_word(h.value))
				return 0;
			echoed[e] = h.value;
		}
	}
	if (r != SIP_HEADER_END || !first_via.ptr)
		return 0;
	for (int e = 0; e < ECHO_COUNT; e++)
		if (!echoed[e].ptr)
			return 0;
	enum to_tag to_tag = to_tag_of(echoed[ECHO_TO]);
	if (to_tag == TO_UNBALANCED)
		return 0;

	put_str(&w, "SIP/2.0 503 Service Unavailable\r\n");
	/* Pass 2: every Via, in the request's order. */
	pos = headers_at;
	while (sip_header_next(request, len, &pos, &h) == SIP_HEADER_LINE) {
		if (!sip_header_is_via(h.name))
			continue;
		put_str(&w, "Via: ");
		put_unfolded(&w, h.value);
		put_str(&w, "\r\n");
	}
	for (int e = 0; e < ECHO_COUNT; e++) {
		put_str(&w, echoed_names[e]);
		put_str(&w, ": ");
		put_unfolded(&w, echoed[e]);
		if (e == ECHO_TO && to_tag == TO_TAG_ABSENT) {
			char tag[32];
			uint64_t hash = 0xcbf29ce484222325ull;
			hash = fnv1a(hash, span_trim_lws(echoed[ECHO_CALL_ID]));
			hash = fnv1a(hash, span_trim_lws(echoed[ECHO_FROM]));
			hash = fnv1a(hash, span_trim_lws(echoed[ECHO_CSEQ]));
			hash = fnv1a(hash, span_trim_lws(first_via));
			/* "<sip:b@h>;" in a request libosip2 took: no ";;" */
			struct span to = span_trim_lws(echoed[ECHO_TO]);
			bool dangling = to.ptr[to.len - 1] == ';';
			snprintf(tag, sizeof(tag), "%stag=sara%016" PRIx64, dangling ? "" : ";", hash);
			put_str(&w, tag);
		}
		put_str(&w, "\r\n");
	}
	if (retry_after_s > 0) {
		char retry[32];
		snprintf(retry, sizeof(retry), "Retry-After: %" PRIu32 "\r\n", retry_after_s);
		put_str(&w, retry);
	}
	put_str(&w, "Content-Length: 0\r\n\r\n");
	/* Only refused requests pay for the second and third parse. */
	if (w.overflow || !reply_reads_back(out, w.len, &msg))
		return 0;
	return w.len;
}
