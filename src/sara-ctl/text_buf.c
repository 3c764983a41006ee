/* text_buf.c - the append-only text buffer (text_buf.h). */
#include "sara-ctl/text_buf.h"

#include <stdarg.h>
#include <stdio.h>

void text_buf_printf(struct text_buf *tb, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (tb->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(tb->buf + tb->used, tb->size - tb->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= tb->size - tb->used) {
		tb->overflow = true;
		return;
	}
	tb->used += (size_t)n;
}
