/* log_kinds.h - sarad's rate-limited log kinds, one limiter per kind of
 * event line, and their periodic flush of "suppressed N" summaries. */
#ifndef SARA_SARAD_LOG_KINDS_H
#define SARA_SARAD_LOG_KINDS_H

#include <stdint.h>

#include "io/log.h"

struct log_kinds {
	struct log_limit malformed, table_full, no_server, admission;
	struct log_limit overflow, verdict_error, ct_error, load, ct_scan;
};

void log_kinds_init(struct log_kinds *k);
/* Prints the suppressed-lines summary of every kind whose window passed. */
void log_kinds_flush(struct log_kinds *k, uint64_t now_ms);

#endif
