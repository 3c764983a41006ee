/* sip_headers.c - the bounded header-line walk (sip_headers.h). */
#include "dpi/sip_headers.h"

#include <string.h>

#include "dpi/sip.h"

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

enum sip_header_scan sip_header_next(const uint8_t *p, size_t len, size_t *pos, struct sip_header_line *h)
{
	struct span line, next;
	if (!span_next_line(p, len, pos, &line))
		return SIP_HEADER_BAD;
	if (line.len == 0)
		return SIP_HEADER_END;
	if (is_wsp(line.ptr[0]))
		return SIP_HEADER_BAD;
	const char *colon = memchr(line.ptr, ':', line.len);
	if (!colon)
		return SIP_HEADER_BAD;
	h->name = span_trim(span_make(line.ptr, (size_t)(colon - line.ptr)));
	if (h->name.len == 0)
		return SIP_HEADER_BAD;
	for (size_t i = 0; i < h->name.len; i++)
		if (!sip_is_token_char((uint8_t)h->name.ptr[i]))
			return SIP_HEADER_BAD;
	const char *value_end = line.ptr + line.len;
	for (;;) {
		size_t peek = *pos;
		if (!span_next_line(p, len, &peek, &next) || next.len == 0 || !is_wsp(next.ptr[0]))
			break;
		value_end = next.ptr + next.len;
		*pos = peek;
	}
	h->value = span_make(colon + 1, (size_t)(value_end - colon - 1));
	return SIP_HEADER_LINE;
}

bool sip_header_is_via(struct span name)
{
	return span_eq_nocase(name, "Via") || span_eq_nocase(name, "v");
}
