/* heap_text.c - a growing text on the heap (heap_text.h). */
#include "io/heap_text.h"

#include <stdlib.h>
#include <string.h>

bool heap_text_append(char **text, size_t *len, size_t *cap, const char *s, size_t n, size_t initial,
		      size_t max)
{
	if (*cap - *len <= n) {
		size_t want = *cap ? *cap : initial;
		char *fresh;
		while (want - *len <= n)
			want *= 2;
		if (want > max || !(fresh = realloc(*text, want)))
			return false;
		*text = fresh;
		*cap = want;
	}
	memcpy(*text + *len, s, n);
	*len += n;
	(*text)[*len] = '\0';
	return true;
}
