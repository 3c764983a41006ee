/* log.h - the daemons' log: one line per event to stderr and/or syslog,
 * events written as "event=NAME key=value ..." (logfmt: a value with a
 * blank, a quote, '=' or a byte outside printable ASCII is quoted and
 * escaped), with per-kind rate limiting so that floods print one
 * "event=suppressed" line instead. Under journald (stderr is the journal
 * stream: JOURNAL_STREAM), stderr lines carry their priority as a "<N>"
 * prefix instead of a time stamp, which journald reads as the priority. */
#ifndef SARA_LOG_H
#define SARA_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>   /* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */

#define LOG_LINE_MAX 1024

/* Where lines go. Both may be on; none silences everything. */
void log_open(const char *ident, bool to_stderr, bool to_syslog);
void log_close(void);
/* Tests and embedders: every formatted line also goes to sink (NULL: off). */
void log_set_sink(void (*sink)(void *ctx, int priority, const char *line), void *ctx);

void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One rate limiter per message kind: at most `burst` lines per `interval_ms`
 * window; the rest are counted and reported once the window has passed, as
 * "event=suppressed kind=KIND count=N". Not thread-safe by itself:
 * log_limited() serialises through the log's lock. */
struct log_limit {
	const char *kind;        /* static string, a plain word: the suppressed line's kind= */
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

/* ---- events ---- */

/* One event line, built field by field: log_event_begin, the fields, then
 * log_event_emit. A field that does not fit ends the line with
 * "truncated=true"; the fields after it are dropped. */
struct log_event {
	char text[LOG_LINE_MAX];
	size_t len;
	bool truncated;
};

/* "event=NAME"; name is a plain word. */
void log_event_begin(struct log_event *e, const char *name);
/* " key=value", value quoted and escaped when it must be; NULL is "-".
 * Keys are plain words. */
void log_event_str(struct log_event *e, const char *key, const char *value);
void log_event_u64(struct log_event *e, const char *key, uint64_t value);
void log_event_i64(struct log_event *e, const char *key, int64_t value);
void log_event_bool(struct log_event *e, const char *key, bool value);
/* value with `decimals` digits after the point. */
void log_event_real(struct log_event *e, const char *key, double value, int decimals);
/* value formatted by fmt, then as log_event_str. */
void log_event_fmt(struct log_event *e, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The line as built so far. */
const char *log_event_text(const struct log_event *e);
void log_event_emit(const struct log_event *e, int priority);
/* Rate-limited as log_limited. */
void log_event_limited(struct log_limit *lim, uint64_t now_ms, int priority, const struct log_event *e);
/* "event=NAME error=TEXT" at LOG_ERR: a failure whose text says it all. */
void log_error_event(const char *name, const char *error);
/* "event=stopping signal=SIGINT|SIGTERM" at LOG_INFO: a daemon leaving its loop. */
void log_stopping_event(int signo);
/* "event=reload result=refused error=ERROR" at LOG_ERR: SIGHUP refused,
 * the running configuration kept. */
void log_reload_refused_event(const char *error);

/* Whether stderr lines go to journald (and carry "<N>" priorities). */
bool log_stderr_is_journal(void);

/* A start-up error before the log is open (a configuration that does not
 * load): "PROG: TEXT" on stderr as a person reads it, with journald's "<3>"
 * (error) in front when stderr is the journal. */
void log_early_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
