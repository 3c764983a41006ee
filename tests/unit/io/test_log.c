/* test_log.c - unit tests for sarad's log: per-kind rate limiting (burst,
 * window, "suppressed N" summaries, clock steps) and line formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
	assert_string_equal(cap.lines[2], "malformed signalling: suppressed 98 similar messages");
	/* A new line in a later window: no summary repeated. */
	log_limited(&lim, 30000, LOG_WARNING, "bad message %d", 100);
	assert_int_equal(cap.count, 4);
	assert_string_equal(cap.lines[3], "bad message 100");
}

static void test_summary_before_next_line(void **state)
{
	struct capture cap;
	struct log_limit lim = LOG_LIMIT_INIT("table full", 1, 1000);
	(void)state;
	memset(&cap, 0, sizeof(cap));
	log_set_sink(capture_sink, &cap);
	log_limited(&lim, 0, LOG_WARNING, "full %d", 1);
	log_limited(&lim, 1, LOG_WARNING, "full %d", 2);
	log_limited(&lim, 2, LOG_WARNING, "full %d", 3);
	log_limited(&lim, 2000, LOG_WARNING, "full %d", 4);
	assert_int_equal(cap.count, 3);
	assert_string_equal(cap.lines[0], "full 1");
	assert_string_equal(cap.lines[1], "table full: suppressed 2 similar messages");
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
		cmocka_unit_test(test_long_line_truncated),
	};
	return cmocka_run_group_tests(tests, setup_quiet, teardown_quiet);
}
