/* log.h - sarad's log: one line per event to stderr and/or syslog, with
 * per-kind rate limiting so that floods print "suppressed N" instead. */
#ifndef SARA_LOG_H
#define SARA_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>   /* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */

/* Where lines go. Both may be on; none silences everything. */
void log_open(const char *ident, bool to_stderr, bool to_syslog);
void log_close(void);
/* Tests and embedders: every formatted line also goes to sink (NULL: off). */
void log_set_sink(void (*sink)(void *ctx, int priority, const char *line), void *ctx);

void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One rate limiter per message kind: at most `burst` lines per `interval_ms`
 * window; the rest are counted and reported once the window has passed, as
 * "KIND: suppressed N messages in the last S s". Not thread-safe by itself:
 * log_limited() serialises through the log's lock. */
struct log_limit {
	const char *kind;        /* static string, the prefix of the suppressed line */
	uint32_t burst;
	uint32_t interval_ms;
	bool started;
	uint64_t window_start_ms;
	uint32_t in_window;      /* lines allowed in the current window */
	uint64_t suppressed;     /* lines refused in the current window */
	uint64_t suppressed_total;
};

#define LOG_LIMIT_INIT(kind_, burst_, interval_ms_) \
	{ .kind = (kind_), .burst = (burst_), .interval_ms = (interval_ms_) }

/* The pure decision: true when a line may be printed now. When a window
 * with suppressed lines has ended, *report receives their count (else 0)
 * and the caller prints the suppressed line first. */
bool log_limit_check(struct log_limit *lim, uint64_t now_ms, uint64_t *report);
/* Ends the current window if it has passed; returns the suppressed count to
 * report (0: nothing to say). For a periodic flush when no new line comes. */
uint64_t log_limit_expire(struct log_limit *lim, uint64_t now_ms);

/* Rate-limited log line (thread-safe). */
void log_limited(struct log_limit *lim, uint64_t now_ms, int priority, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Prints the pending suppressed line of lim if its window has passed. */
void log_limit_flush(struct log_limit *lim, uint64_t now_ms);

#endif
