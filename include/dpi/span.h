/* span.h - counted byte strings passed between parsers and the engine.
 * Packet bytes are never NUL-terminated in place; every helper is bounded. */
#ifndef SARA_SPAN_H
#define SARA_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct span {
	const char *ptr;
	size_t len;
};

static inline struct span span_make(const void *ptr, size_t len)
{
	struct span s = { (const char *)ptr, len };
	return s;
}

/* Case-insensitive comparison with a NUL-terminated literal. */
bool span_eq_nocase(struct span s, const char *literal);
/* True when s starts with literal, case-insensitively. */
bool span_prefix_nocase(struct span s, const char *literal);
/* Drops leading and trailing spaces and tabs. */
struct span span_trim(struct span s);
/* Linear white space: space, tab, and the CR and LF of folded header lines. */
bool span_is_lws(char c);
/* Drops leading and trailing linear white space (folds too). */
struct span span_trim_lws(struct span s);
/* Decimal digits only, no sign, value <= max; false on empty, overflow or junk. */
bool span_to_u32(struct span s, uint32_t max, uint32_t *out);
/* Splits s at the first `sep`: head is before it, s becomes what follows.
 * Returns false (head = all of s, s empty) when sep is absent. */
bool span_split(struct span *s, char sep, struct span *head);
/* One line at *pos in [p, p+len): its text without CR LF, and *pos moved
 * past its LF. False when no LF is left (the line is incomplete). */
bool span_next_line(const uint8_t *p, size_t len, size_t *pos, struct span *line);

#endif
