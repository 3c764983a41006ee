/* log.c - the daemons' log (log.h): lines to stderr (a journal stream
 * gets "<N>" priorities) and/or syslog, event lines built field by field
 * with logfmt quoting, and per-kind rate limiting with a summary line. */
#include "io/log.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TRUNCATED_TAIL " truncated=true"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static bool log_to_stderr = true;
static bool log_to_syslog;
static const char *log_ident = "sara";
static void (*log_sink)(void *ctx, int priority, const char *line);
static void *log_sink_ctx;
static bool log_to_journal;    /* stderr is journald's stream */

/* systemd sets JOURNAL_STREAM=DEVICE:INODE for the stream it connected to
 * stdout and stderr; stderr is the journal while it is still that stream
 * (not when a child's stderr was redirected elsewhere). */
static bool stderr_is_journal_stream(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_open(const char *ident, bool to_stderr, bool to_syslog)
{
	pthread_mutex_lock(&log_lock);
	log_ident = ident ? ident : "sara";
	log_to_stderr = to_stderr;
	log_to_journal = to_stderr && stderr_is_journal_stream();
	if (to_syslog && !log_to_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_to_syslog = to_syslog;
	pthread_mutex_unlock(&log_lock);
}

void log_close(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_to_syslog)
		closelog();
	log_to_syslog = false;
	pthread_mutex_unlock(&log_lock);
}

void log_set_sink(void (*sink)(void *ctx, int priority, const char *line), void *ctx)
{
	pthread_mutex_lock(&log_lock);
	log_sink = sink;
	log_sink_ctx = ctx;
	pthread_mutex_unlock(&log_lock);
}

static const char *priority_name(int priority)
{
	switch (priority) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_NOTICE: case LOG_INFO: return "info";
	default: return "debug";
	}
}

void log_early_error(const char *prog, const char *fmt, ...)
{
	char text[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s%s: %s\n", stderr_is_journal_stream() ? "<3>" : "", prog, text);
	fflush(stderr);
}

bool log_stderr_is_journal(void)
{
	bool journal;
	pthread_mutex_lock(&log_lock);
	journal = log_to_journal;
	pthread_mutex_unlock(&log_lock);
	return journal;
}

/* Caller holds log_lock. One write per line so that threads do not interleave. */
static void emit_locked(int priority, const char *line)
{
	if (log_to_journal) {
		/* journald stamps the time and the program; SyslogLevelPrefix=
		 * (on by default) takes the priority from "<N>". */
		fprintf(stderr, "<%d>%s\n", priority & LOG_PRIMASK, line);
		fflush(stderr);
	} else if (log_to_stderr) {
		char stamp[32];
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s %s: %s\n", stamp, ts.tv_nsec / 1000000L, log_ident,
			priority_name(priority), line);
		fflush(stderr);
	}
	if (log_to_syslog)
		syslog(priority, "%s", line);
	if (log_sink)
		log_sink(log_sink_ctx, priority, line);
}

static void vemit(int priority, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	vsnprintf(line, sizeof(line), fmt, ap);
	emit_locked(priority, line);
}

void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&log_lock);
	vemit(priority, fmt, ap);
	pthread_mutex_unlock(&log_lock);
	va_end(ap);
}

static void window_restart(struct log_limit *lim, uint64_t now_ms)
{
	lim->started = true;
	lim->window_start_ms = now_ms;
	lim->in_window = 0;
	lim->suppressed = 0;
}

bool log_limit_check(struct log_limit *lim, uint64_t now_ms, uint64_t *report)
{
	*report = 0;
	if (!lim->started) {
		window_restart(lim, now_ms);
	} else if (now_ms < lim->window_start_ms || now_ms - lim->window_start_ms >= lim->interval_ms) {
		*report = lim->suppressed;
		window_restart(lim, now_ms);
	}
	if (lim->in_window < lim->burst) {
		lim->in_window++;
		return true;
	}
	lim->suppressed++;
	lim->suppressed_total++;
	return false;
}

uint64_t log_limit_expire(struct log_limit *lim, uint64_t now_ms)
{
	uint64_t report;
	if (!lim->started || lim->suppressed == 0)
		return 0;
	if (now_ms >= lim->window_start_ms && now_ms - lim->window_start_ms < lim->interval_ms)
		return 0;
	report = lim->suppressed;
	window_restart(lim, now_ms);
	return report;
}

static void emit_suppressed_locked(const struct log_limit *lim, uint64_t count)
{
	struct log_event e;
	log_event_begin(&e, "suppressed");
	log_event_str(&e, "kind", lim->kind);
	log_event_u64(&e, "count", count);
	log_event_u64(&e, "window_s", lim->interval_ms / 1000u);
	emit_locked(LOG_WARNING, e.text);
}

/* Takes log_lock (the caller releases it) and first reports what lim held
 * back; whether this message may go. */
static bool limit_lock(struct log_limit *lim, uint64_t now_ms)
{
	uint64_t report;
	bool allowed;
	pthread_mutex_lock(&log_lock);
	allowed = log_limit_check(lim, now_ms, &report);
	if (report)
		emit_suppressed_locked(lim, report);
	return allowed;
}

void log_limited(struct log_limit *lim, uint64_t now_ms, int priority, const char *fmt, ...)
{
	va_list ap;
	if (limit_lock(lim, now_ms)) {
		va_start(ap, fmt);
		vemit(priority, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&log_lock);
}

void log_limit_flush(struct log_limit *lim, uint64_t now_ms)
{
	uint64_t report;
	pthread_mutex_lock(&log_lock);
	report = log_limit_expire(lim, now_ms);
	if (report)
		emit_suppressed_locked(lim, report);
	pthread_mutex_unlock(&log_lock);
}

/* ---- events ---- */

static bool needs_quotes(const char *value)
{
	if (!*value)
		return true;
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '=' || *p == '\\')
			return true;
	return false;
}

/* Ends the line with the truncation mark; nothing is added after it. */
static void event_truncate(struct log_event *e)
{
	if (e->truncated)
		return;
	memcpy(e->text + e->len, TRUNCATED_TAIL, sizeof(TRUNCATED_TAIL));
	e->len += sizeof(TRUNCATED_TAIL) - 1;
	e->truncated = true;
}

/* Appends text[0..n) when it fits with room for the truncation mark; else
 * truncates. */
static void event_append(struct log_event *e, const char *text, size_t n)
{
	size_t room = sizeof(e->text) - sizeof(TRUNCATED_TAIL);
	if (e->truncated)
		return;
	if (e->len + n > room) {
		event_truncate(e);
		return;
	}
	memcpy(e->text + e->len, text, n);
	e->len += n;
	e->text[e->len] = '\0';
}

void log_event_begin(struct log_event *e, const char *name)
{
	e->len = 0;
	e->truncated = false;
	e->text[0] = '\0';
	event_append(e, "event=", 6);
	event_append(e, name, strlen(name));
}

void log_event_str(struct log_event *e, const char *key, const char *value)
{
	/* Each byte escapes to at most 4 ("\xHH"); a field never outgrows a line. */
	char field[LOG_LINE_MAX];
	size_t n = 0, key_len = strlen(key);
	if (!value)
		value = "-";
	if (key_len + 4 > sizeof(field)) {
		event_truncate(e);
		return;
	}
	field[n++] = ' ';
	memcpy(field + n, key, key_len);
	n += key_len;
	field[n++] = '=';
	if (!needs_quotes(value)) {
		size_t len = strlen(value);
		if (n + len > sizeof(field)) {
			event_truncate(e);
			return;
		}
		memcpy(field + n, value, len);
		event_append(e, field, n + len);
		return;
	}
	field[n++] = '"';
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (n + 5 > sizeof(field)) {
			event_truncate(e);
			return;
		}
		switch (*p) {
		case '"': field[n++] = '\\'; field[n++] = '"'; break;
		case '\\': field[n++] = '\\'; field[n++] = '\\'; break;
		case '\n': field[n++] = '\\'; field[n++] = 'n'; break;
		case '\r': field[n++] = '\\'; field[n++] = 'r'; break;
		case '\t': field[n++] = '\\'; field[n++] = 't'; break;
		default:
			if (*p < 0x20 || *p >= 0x7f)
				n += (size_t)snprintf(field + n, 5, "\\x%02x", *p);
			else
				field[n++] = (char)*p;
		}
	}
	field[n++] = '"';
	event_append(e, field, n);
}

void log_event_fmt(struct log_event *e, const char *key, const char *fmt, ...)
{
	char value[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	log_event_str(e, key, value);
}

void log_event_u64(struct log_event *e, const char *key, uint64_t value)
{
	log_event_fmt(e, key, "%" PRIu64, value);
}

void log_event_i64(struct log_event *e, const char *key, int64_t value)
{
	log_event_fmt(e, key, "%" PRId64, value);
}

void log_event_bool(struct log_event *e, const char *key, bool value)
{
	log_event_str(e, key, value ? "true" : "false");
}

void log_event_real(struct log_event *e, const char *key, double value, int decimals)
{
	log_event_fmt(e, key, "%.*f", decimals, value);
}

const char *log_event_text(const struct log_event *e)
{
	return e->text;
}

void log_event_emit(const struct log_event *e, int priority)
{
	pthread_mutex_lock(&log_lock);
	emit_locked(priority, e->text);
	pthread_mutex_unlock(&log_lock);
}

void log_event_limited(struct log_limit *lim, uint64_t now_ms, int priority, const struct log_event *e)
{
	if (limit_lock(lim, now_ms))
		emit_locked(priority, e->text);
	pthread_mutex_unlock(&log_lock);
}

void log_error_event(const char *name, const char *error)
{
	struct log_event e;
	log_event_begin(&e, name);
	log_event_str(&e, "error", error);
	log_event_emit(&e, LOG_ERR);
}

void log_stopping_event(int signo)
{
	struct log_event e;
	log_event_begin(&e, "stopping");
	log_event_str(&e, "signal", signo == SIGINT ? "SIGINT" : "SIGTERM");
	log_event_emit(&e, LOG_INFO);
}

void log_reload_refused_event(const char *error)
{
	struct log_event e;
	log_event_begin(&e, "reload");
	log_event_str(&e, "result", "refused");
	log_event_str(&e, "error", error);
	log_event_str(&e, "msg", "keeping the running configuration");
	log_event_emit(&e, LOG_ERR);
}
