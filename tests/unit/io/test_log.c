/* test_log.c - unit tests for the daemons' log: per-kind rate limiting
 * (burst, window, suppressed summaries, clock steps), event lines (logfmt
 * quoting and escaping, numbers, truncation) and the journald format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/log.h"

#define CAPTURE_LINES 64

struct capture {
	unsigned count;
	int priority[CAPTURE_LINES];
	char lines[CAPTURE_LINES][256];
};

static void capture_sink(void *ctx, int priority, const char *line)
{
	struct capture *c = ctx;
	if (c->count < CAPTURE_LINES) {
		c->priority[c->count] = priority;
		snprintf(c->lines[c->count], sizeof(c->lines[0]), "%s", line);
	}
	c->count++;
}

static int setup_quiet(void **state)
{
	(void)state;
	log_open("test", false, false); /* only the sink sees lines */
	return 0;
}

static int teardown_quiet(void **state)
{
	(void)state;
	log_set_sink(NULL, NULL);
	log_close();
	return 0;
}

static void test_burst_then_suppressed(void **state)
{
	struct log_limit lim = LOG_LIMIT_INIT("kind", 3, 1000);
	uint64_t report;
	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_true(log_limit_check(&lim, 100 + (uint64_t)i, &report));
		assert_int_equal(report, 0);
	}
	for (int i = 0; i < 5; i++) {
		assert_false(log_limit_check(&lim, 200 + (uint64_t)i, &report));
		assert_int_equal(report, 0);
	}
	assert_int_equal(lim.suppressed, 5);
	/* The window (started at 100) ends at 1100: the next line is allowed
	 * and the 5 refused ones are reported once. */
	assert_false(log_limit_check(&lim, 1099, &report));
	assert_int_equal(report, 0);
	assert_true(log_limit_check(&lim, 1100, &report));
	assert_int_equal(report, 6);
	assert_true(log_limit_check(&lim, 1101, &report));
	assert_int_equal(report, 0);
	assert_int_equal(lim.suppressed_total, 6);
}

static void test_quiet_window_reports_nothing(void **state)
{
	struct log_limit lim = LOG_LIMIT_INIT("kind", 2, 1000);
	uint64_t report;
	(void)state;
	assert_true(log_limit_check(&lim, 0, &report));
	assert_true(log_limit_check(&lim, 5000, &report));
	assert_int_equal(report, 0);
	assert_int_equal(log_limit_expire(&lim, 99999), 0);
}

static void test_expire_flushes_pending(void **state)
{
	struct log_limit lim = LOG_LIMIT_INIT("kind", 1, 1000);
	uint64_t report;
	(void)state;
	assert_true(log_limit_check(&lim, 0, &report));
	assert_false(log_limit_check(&lim, 10, &report));
	assert_false(log_limit_check(&lim, 20, &report));
	assert_int_equal(log_limit_expire(&lim, 500), 0);  /* window still open */
	assert_int_equal(log_limit_expire(&lim, 1000), 2);
	assert_int_equal(log_limit_expire(&lim, 3000), 0);  /* said once */
	assert_true(log_limit_check(&lim, 3001, &report));
	assert_int_equal(report, 0);
}

static void test_clock_step_back_restarts_window(void **state)
{
	struct log_limit lim = LOG_LIMIT_INIT("kind", 1, 1000);
	uint64_t report;
	(void)state;
	assert_true(log_limit_check(&lim, 50000, &report));
	assert_false(log_limit_check(&lim, 50001, &report));
	/* A clock that went backwards must not silence the kind forever. */
	assert_true(log_limit_check(&lim, 10, &report));
	assert_int_equal(report, 1);
}

static void test_zero_burst_suppresses_all(void **state)
{
	struct log_limit lim = LOG_LIMIT_INIT("kind", 0, 1000);
	uint64_t report;
	(void)state;
	for (int i = 0; i < 10; i++)
		assert_false(log_limit_check(&lim, (uint64_t)i, &report));
	assert_int_equal(log_limit_expire(&lim, 1000), 10);
}

static void test_limited_lines_and_summary(void **state)
{
	struct capture cap;
	struct log_limit lim = LOG_LIMIT_INIT("malformed signalling", 2, 10000);
	(void)state;
	memset(&cap, 0, sizeof(cap));
	log_set_sink(capture_sink, &cap);
	for (int i = 0; i < 100; i++)
		log_limited(&lim, 1000 + (uint64_t)i, LOG_WARNING, "bad message %d", i);
	assert_int_equal(cap.count, 2);
	assert_string_equal(cap.lines[0], "bad message 0");
	assert_string_equal(cap.lines[1], "bad message 1");
	assert_int_equal(cap.priority[0], LOG_WARNING);
	/* A flood that stops: the periodic flush says how many were dropped. */
	log_limit_flush(&lim, 5000);
	assert_int_equal(cap.count, 2);
	log_limit_flush(&lim, 11000);
	assert_int_equal(cap.count, 3);
	assert_string_equal(cap.lines[2], "event=suppressed kind=\"malformed signalling\" count=98 window_s=10");
	/* A new line in a later window: no summary repeated. */
	log_limited(&lim, 30000, LOG_WARNING, "bad message %d", 100);
	assert_int_equal(cap.count, 4);
	assert_string_equal(cap.lines[3], "bad message 100");
}

static void test_summary_before_next_line(void **state)
{
	struct capture cap;
	struct log_limit lim = LOG_LIMIT_INIT("table_full", 1, 1000);
	(void)state;
	memset(&cap, 0, sizeof(cap));
	log_set_sink(capture_sink, &cap);
	log_limited(&lim, 0, LOG_WARNING, "full %d", 1);
	log_limited(&lim, 1, LOG_WARNING, "full %d", 2);
	log_limited(&lim, 2, LOG_WARNING, "full %d", 3);
	log_limited(&lim, 2000, LOG_WARNING, "full %d", 4);
	assert_int_equal(cap.count, 3);
	assert_string_equal(cap.lines[0], "full 1");
	assert_string_equal(cap.lines[1], "event=suppressed kind=table_full count=2 window_s=1");
	assert_string_equal(cap.lines[2], "full 4");
}

static void test_kinds_are_independent(void **state)
{
	struct capture cap;
	struct log_limit a = LOG_LIMIT_INIT("a", 1, 1000), b = LOG_LIMIT_INIT("b", 1, 1000);
	(void)state;
	memset(&cap, 0, sizeof(cap));
	log_set_sink(capture_sink, &cap);
	log_limited(&a, 0, LOG_ERR, "a1");
	log_limited(&a, 1, LOG_ERR, "a2");
	log_limited(&b, 2, LOG_ERR, "b1");
	assert_int_equal(cap.count, 2);
	assert_string_equal(cap.lines[1], "b1");
}

static void test_long_line_truncated(void **state)
{
	struct capture cap;
	char big[4000];
	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memset(&cap, 0, sizeof(cap));
	log_set_sink(capture_sink, &cap);
	log_msg(LOG_INFO, "%s", big);
	assert_int_equal(cap.count, 1);
	assert_true(strlen(cap.lines[0]) > 0);
}

/* ---- event lines ---- */

static void test_event_plain_and_quoted_values(void **state)
{
	struct log_event e;
	(void)state;
	log_event_begin(&e, "server_failed");
	log_event_str(&e, "server", "s2");
	log_event_str(&e, "cause", "missed");
	log_event_str(&e, "msg", "no new sessions; its sessions moved");
	log_event_str(&e, "empty", "");
	log_event_str(&e, "none", NULL);
	log_event_str(&e, "eq", "a=b");
	assert_string_equal(log_event_text(&e), "event=server_failed server=s2 cause=missed "
						 "msg=\"no new sessions; its sessions moved\" empty=\"\" none=- eq=\"a=b\"");
}

/* Quotes, backslashes and bytes outside printable ASCII cannot break the
 * line or forge a field: they are escaped inside quotes. */
static void test_event_escapes(void **state)
{
	struct log_event e;
	(void)state;
	log_event_begin(&e, "refused");
	log_event_str(&e, "key", "x\" forged=1 \\ y");
	log_event_str(&e, "bytes", "a\nb\rc\td\x01\xff");
	assert_string_equal(log_event_text(&e),
			    "event=refused key=\"x\\\" forged=1 \\\\ y\" bytes=\"a\\nb\\rc\\td\\x01\\xff\"");
	assert_null(strchr(log_event_text(&e), '\n'));
}

static void test_event_numbers(void **state)
{
	struct log_event e;
	(void)state;
	log_event_begin(&e, "counters");
	log_event_u64(&e, "packets", UINT64_MAX);
	log_event_i64(&e, "delta", -5);
	log_event_bool(&e, "ok", true);
	log_event_real(&e, "load", 0.256, 2);
	log_event_fmt(&e, "queues", "%u..%u", 0u, 3u);
	assert_string_equal(log_event_text(&e), "event=counters packets=18446744073709551615 delta=-5 ok=true "
						 "load=0.26 queues=0..3");
}

/* A line that would pass LOG_LINE_MAX ends with truncated=true, and no
 * field follows it. */
static void test_event_truncated(void **state)
{
	struct log_event e;
	char big[3 * LOG_LINE_MAX];
	size_t len;
	(void)state;
	log_event_begin(&e, "counters");
	for (unsigned i = 0; i < 200; i++)
		log_event_u64(&e, "some_counter_name", i);
	log_event_str(&e, "after", "x");
	len = strlen(log_event_text(&e));
	assert_true(len < LOG_LINE_MAX);
	assert_string_equal(log_event_text(&e) + len - strlen(" truncated=true"), " truncated=true");
	assert_null(strstr(log_event_text(&e), "after="));

	/* One value larger than a line: escaped bytes are four times larger. */
	memset(big, '\x01', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_event_begin(&e, "big");
	log_event_str(&e, "value", big);
	assert_string_equal(log_event_text(&e), "event=big truncated=true");
}

static void test_event_emitted_and_limited(void **state)
{
	struct capture cap;
	struct log_event e;
	struct log_limit lim = LOG_LIMIT_INIT("refused_admission", 1, 1000);
	(void)state;
	memset(&cap, 0, sizeof(cap));
	log_set_sink(capture_sink, &cap);
	log_event_begin(&e, "refused");
	log_event_str(&e, "reason", "admission");
	log_event_emit(&e, LOG_NOTICE);
	log_event_limited(&lim, 0, LOG_WARNING, &e);
	log_event_limited(&lim, 1, LOG_WARNING, &e);
	log_event_limited(&lim, 2000, LOG_WARNING, &e);
	log_error_event("start_failed", "queue 0: bind failed");
	assert_int_equal(cap.count, 5);
	assert_string_equal(cap.lines[0], "event=refused reason=admission");
	assert_int_equal(cap.priority[0], LOG_NOTICE);
	assert_string_equal(cap.lines[2], "event=suppressed kind=refused_admission count=1 window_s=1");
	assert_string_equal(cap.lines[4], "event=start_failed error=\"queue 0: bind failed\"");
	assert_int_equal(cap.priority[4], LOG_ERR);
}

/* stderr redirected to a file this test reads back; JOURNAL_STREAM naming
 * that file (or not) decides the format. */
struct stderr_capture {
	char path[64];
	int saved;
};

static void stderr_to_file(struct stderr_capture *c)
{
	int fd;
	snprintf(c->path, sizeof(c->path), "/tmp/sara-log-test.XXXXXX");
	fd = mkstemp(c->path);
	assert_true(fd >= 0);
	fflush(stderr);
	c->saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

/* Restores stderr; returns what was written (static). */
static const char *stderr_back(struct stderr_capture *c)
{
	static char text[4096];
	FILE *f;
	size_t n;
	fflush(stderr);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	f = fopen(c->path, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	unlink(c->path);
	return text;
}

static void journal_stream_is_stderr(void)
{
	struct stat st;
	char value[64];
	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	assert_int_equal(setenv("JOURNAL_STREAM", value, 1), 0);
}

/* Under journald: "<N>" and the line, nothing else (journald stamps time
 * and program); an early error gets "<3>". */
static void test_journal_priorities(void **state)
{
	struct stderr_capture c;
	struct log_event e;
	(void)state;
	stderr_to_file(&c);
	journal_stream_is_stderr();
	log_open("test", true, false);
	assert_true(log_stderr_is_journal());
	log_event_begin(&e, "server_failed");
	log_event_str(&e, "server", "s2");
	log_event_emit(&e, LOG_WARNING);
	log_msg(LOG_INFO, "plain");
	log_error_event("fatal", "x");
	log_early_error("sarad", "%s: cannot read", "/etc/sara/nope.cfg");
	log_open("test", false, false);
	unsetenv("JOURNAL_STREAM");
	assert_string_equal(stderr_back(&c), "<4>event=server_failed server=s2\n<6>plain\n<3>event=fatal error=x\n"
					     "<3>sarad: /etc/sara/nope.cfg: cannot read\n");
}

/* Not the journal (a file, a terminal, or JOURNAL_STREAM naming another
 * stream): time stamp, program and priority name, and plain early errors. */
static void test_not_journal(void **state)
{
	struct stderr_capture c;
	const char *text;
	(void)state;
	assert_int_equal(setenv("JOURNAL_STREAM", "1:1", 1), 0);
	stderr_to_file(&c);
	log_open("test", true, false);
	assert_false(log_stderr_is_journal());
	log_msg(LOG_WARNING, "event=x");
	log_early_error("sarad", "bad");
	log_open("test", false, false);
	unsetenv("JOURNAL_STREAM");
	text = stderr_back(&c);
	assert_non_null(strstr(text, "Z test warning: event=x\n"));
	assert_int_equal(text[4], '-');   /* 2026-12-07T... */
	assert_non_null(strstr(text, "\nsarad: bad\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_suppressed),
		cmocka_unit_test(test_quiet_window_reports_nothing),
		cmocka_unit_test(test_expire_flushes_pending),
		cmocka_unit_test(test_clock_step_back_restarts_window),
		cmocka_unit_test(test_zero_burst_suppresses_all),
		cmocka_unit_test(test_limited_lines_and_summary),
		cmocka_unit_test(test_summary_before_next_line),
		cmocka_unit_test(test_kinds_are_independent),
		cmocka_unit_test_setup_teardown(test_event_plain_and_quoted_values, setup_quiet, teardown_quiet),
		cmocka_unit_test_setup_teardown(test_event_escapes, setup_quiet, teardown_quiet),
		cmocka_unit_test_setup_teardown(test_event_numbers, setup_quiet, teardown_quiet),
		cmocka_unit_test_setup_teardown(test_event_truncated, setup_quiet, teardown_quiet),
		cmocka_unit_test_setup_teardown(test_event_emitted_and_limited, setup_quiet, teardown_quiet),
		cmocka_unit_test_setup_teardown(test_journal_priorities, setup_quiet, teardown_quiet),
		cmocka_unit_test_setup_teardown(test_not_journal, setup_quiet, teardown_quiet),
		cmocka_unit_test(test_long_line_truncated),
	};
	return cmocka_run_group_tests(tests, setup_quiet, teardown_quiet);
}
