/* heap_text.h - appending to a NUL-terminated text on the heap that doubles
 * as it grows, up to a limit: the control replies and the metrics page. */
#ifndef SARA_HEAP_TEXT_H
#define SARA_HEAP_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Appends s[0..n) to *text (*len bytes used of *cap, *cap 0 for none yet),
 * growing it from initial bytes by doubling; false, the text unchanged, when
 * it would need more than max bytes or memory ran out. */
bool heap_text_append(char **text, size_t *len, size_t *cap, const char *s, size_t n, size_t initial,
		      size_t max);

#endif
