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

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

bool span_is_lws(char c)
{
	return is_blank(c) || c == '\r' || c == '\n';
}

/* s without the leading and trailing bytes drop says to drop. */
static struct span trim_where(struct span s, bool (*drop)(char))
{
	while (s.len > 0 && drop(s.ptr[0])) {
		s.ptr++;
		s.len--;
	}
	while (s.len > 0 && drop(s.ptr[s.len - 1]))
		s.len--;
	return s;
}

struct span span_trim(struct span s)
{
	return trim_where(s, is_blank);
}

struct span span_trim_lws(struct span s)
{
	return trim_where(s, span_is_lws);
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
