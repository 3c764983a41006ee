/* text_buf.h - an append-only text buffer for the files sara-ctl writes
 * (rules, nft scripts, BIRD and conntrackd configurations). */
#ifndef SARA_CTL_TEXT_BUF_H
#define SARA_CTL_TEXT_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct text_buf {
	char *buf;
	size_t size, used;
	bool overflow;  /* the first text that did not fit: nothing more is added */
};

__attribute__((format(printf, 2, 3)))
void text_buf_printf(struct text_buf *tb, const char *fmt, ...);

#endif
