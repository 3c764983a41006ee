/* sip_headers.h - a bounded walk over a SIP message's header lines (RFC 3261
 * 7.3.1): one logical header at a time, folded continuation lines included,
 * for the modules that copy or rewrite headers byte for byte. */
#ifndef SARA_SIP_HEADERS_H
#define SARA_SIP_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpi/span.h"

struct sip_header_line {
	struct span name;  /* trimmed, before the colon */
	struct span value; /* raw, after the colon, folds (CR LF + WSP) included */
};

enum sip_header_scan { SIP_HEADER_LINE, SIP_HEADER_END, SIP_HEADER_BAD };

/* The next logical header from *pos in [p, p+len), SIP_HEADER_END at the
 * empty line ending the headers (*pos then just past it). A line without a
 * colon, a name that is not a token, a fold with nothing to continue or a
 * header section without its empty line is SIP_HEADER_BAD. */
enum sip_header_scan sip_header_next(const uint8_t *p, size_t len, size_t *pos, struct sip_header_line *h);

/* "Via" or its compact form "v", any case. */
bool sip_header_is_via(struct span name);

#endif
