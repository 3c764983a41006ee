/* log.c - sarad's log (log.h): formatted lines to stderr and/or syslog,
 * and per-kind rate limiting with a "suppressed N" summary line. */
#include "io/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_LINE_MAX 1024

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static bool log_to_stderr = true;
static bool log_to_syslog;
static const char *log_ident = "sara";
static void (*log_sink)(void *ctx, int priority, const char *line);
static void *log_sink_ctx;

void log_open(const char *ident, bool to_stderr, bool to_syslog)
{
	pthread_mutex_lock(&log_lock);
	log_ident = ident ? ident : "sara";
	log_to_stderr = to_stderr;
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

/* Caller holds log_lock. One write per line so that threads do not interleave. */
static void emit_locked(int priority, const char *line)
{
	if (log_to_stderr) {
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
	char line[LOG_LINE_MAX];
	snprintf(line, sizeof(line), "%s: suppressed %llu similar messages", lim->kind,
		 (unsigned long long)count);
	emit_locked(LOG_WARNING, line);
}

void log_limited(struct log_limit *lim, uint64_t now_ms, int priority, const char *fmt, ...)
{
	uint64_t report;
	bool allowed;
	va_list ap;
	pthread_mutex_lock(&log_lock);
	allowed = log_limit_check(lim, now_ms, &report);
	if (report)
		emit_suppressed_locked(lim, report);
	if (allowed) {
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
