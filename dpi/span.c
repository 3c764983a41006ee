/* span.c - bounded helpers on counted byte strings (see span.h). */
#include "dpi/span.h"

#include <string.h>

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool span_eq_nocase(struct span s, const char *literal)
{
	size_t n = strlen(literal);
	if (s.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (ascii_lower(s.ptr[i]) != ascii_lower(literal[i]))
			return false;
	return true;
}

bool span_prefix_nocase(struct span s, const char *literal)
{
	size_t n = strlen(literal);
	if (s.len < n)
		return false;
	return span_eq_nocase(span_make(s.ptr, n), literal);
}

struct span span_trim(struct span s)
{
	while (s.len > 0 && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
		s.ptr++;
		s.len--;
	}
	while (s.len > 0 && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
		s.len--;
	return s;
}

bool span_to_u32(struct span s, uint32_t max, uint32_t *out)
{
	uint64_t value = 0;
	if (s.len == 0 || s.len > 10)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		if (s.ptr[i] < '0' || s.ptr[i] > '9')
			return false;
		value = value * 10 + (uint64_t)(s.ptr[i] - '0');
	}
	if (value > max)
		return false;
	*out = (uint32_t)value;
	return true;
}

bool span_split(struct span *s, char sep, struct span *head)
{
	const char *hit = s->len ? memchr(s->ptr, sep, s->len) : NULL;
	if (!hit) {
		*head = *s;
		s->ptr += s->len;
		s->len = 0;
		return false;
	}
	*head = span_make(s->ptr, (size_t)(hit - s->ptr));
	s->len -= (size_t)(hit - s->ptr) + 1;
	s->ptr = hit + 1;
	return true;
}

bool span_next_line(const uint8_t *p, size_t len, size_t *pos, struct span *line)
{
	const uint8_t *start = p + *pos;
	const uint8_t *lf = *pos < len ? memchr(start, '\n', len - *pos) : NULL;
	if (!lf)
		return false;
	size_t text_len = (size_t)(lf - start);
	if (text_len > 0 && start[text_len - 1] == '\r')
		text_len--;
	*line = span_make(start, text_len);
	*pos = (size_t)(lf - p) + 1;
	return true;
}
