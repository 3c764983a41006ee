/* test_metrics_text.c - the Prometheus text format writer: exact text of
 * families and samples, escaping of help and label values, special reals,
 * counter names from the table (the _total suffix, milliseconds as
 * seconds), a scope's families over several series, labelled families,
 * and the size bound. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "io/metrics_text.h"

static void test_family_and_samples_exact(void **state)
{
	struct metrics_text t = { 0 };
	struct metric_label labels[] = { { "server", "s1" }, { "state", "up" } };
	(void)state;
	metrics_family(&t, "sara_x_total", METRIC_COUNTER, "things that happened");
	metrics_sample_u64(&t, "sara_x_total", NULL, 0, 18446744073709551615ull);
	metrics_family(&t, "sara_y", METRIC_GAUGE, "a level");
	metrics_sample_u64(&t, "sara_y", labels, 2, 0);
	metrics_sample_real(&t, "sara_y", labels, 1, 0.25);
	metrics_sample_real(&t, "sara_y", NULL, 0, 3.0);
	metrics_sample_real(&t, "sara_y", NULL, 0, NAN);
	metrics_sample_real(&t, "sara_y", NULL, 0, INFINITY);
	metrics_sample_real(&t, "sara_y", NULL, 0, -INFINITY);
	metrics_sample_real(&t, "sara_y", NULL, 0, 1e300);
	assert_false(t.failed);
	assert_string_equal(t.text, "# HELP sara_x_total things that happened\n"
				    "# TYPE sara_x_total counter\n"
				    "sara_x_total 18446744073709551615\n"
				    "# HELP sara_y a level\n"
				    "# TYPE sara_y gauge\n"
				    "sara_y{server=\"s1\",state=\"up\"} 0\n"
				    "sara_y{server=\"s1\"} 0.25\n"
				    "sara_y 3\n"
				    "sara_y NaN\n"
				    "sara_y +Inf\n"
				    "sara_y -Inf\n"
				    "sara_y 1e+300\n");
	assert_int_equal(t.len, strlen(t.text));
	metrics_text_free(&t);
}

/* Label values: backslash, double quote and line feed escaped, other bytes
 * as they are; help: backslash and line feed only. */
static void test_escaping(void **state)
{
	struct metrics_text t = { 0 };
	struct metric_label label = { "id", "a\\b\"c\nd\te\xc3\xa9" };
	(void)state;
	metrics_family(&t, "m", METRIC_GAUGE, "say \"hi\" \\ then\nmore");
	metrics_sample_u64(&t, "m", &label, 1, 7);
	metrics_sample_u64(&t, "m", &(struct metric_label){ "id", "" }, 1, 8);
	assert_string_equal(t.text, "# HELP m say \"hi\" \\\\ then\\nmore\n"
				    "# TYPE m gauge\n"
				    "m{id=\"a\\\\b\\\"c\\nd\te\xc3\xa9\"} 7\n"
				    "m{id=\"\"} 8\n");
	metrics_text_free(&t);
}

static void test_counter_names(void **state)
{
	char name[METRICS_NAME_MAX];
	(void)state;
	assert_true(metrics_counter_name("sara_", counter_def(COUNTER_ENGINE_PACKETS), name, sizeof(name)));
	assert_string_equal(name, "sara_packets_total");
	assert_true(metrics_counter_name("sara_", counter_def(COUNTER_ENGINE_FLOWS_IN_USE), name, sizeof(name)));
	assert_string_equal(name, "sara_flows_in_use");
	assert_true(metrics_counter_name("sara_", counter_def(COUNTER_CONNTRACK_SCAN_MS), name, sizeof(name)));
	assert_string_equal(name, "sara_conntrack_scan_seconds_total");
	assert_true(metrics_counter_name("sara_engine_", counter_def(COUNTER_SIP_PARSE_ERROR), name, sizeof(name)));
	assert_string_equal(name, "sara_engine_sip_parse_error_total");
	assert_false(metrics_counter_name("sara_", counter_def(COUNTER_ENGINE_PACKETS), name, 10));
}

/* A scope's counters, each a family with one sample per series, zeros
 * included; milliseconds written as seconds, exactly. */
static void test_scope_over_series(void **state)
{
	struct metrics_text t = { 0 };
	struct counter_set a = { 0 }, b = { 0 };
	struct metric_label qa = { "queue", "0" }, qb = { "queue", "1" };
	struct metrics_series series[] = { { &a, &qa, 1 }, { &b, &qb, 1 } };
	(void)state;
	counter_add(&a, COUNTER_CONNTRACK_UPDATES, 5);
	counter_add(&b, COUNTER_CONNTRACK_QUERIES, 9);
	metrics_counters(&t, "sara_conntrack_", COUNTER_SCOPE_CONNTRACK, series, 2);
	assert_string_equal(t.text,
			    "# HELP sara_conntrack_updates_total connmarks written\n"
			    "# TYPE sara_conntrack_updates_total counter\n"
			    "sara_conntrack_updates_total{queue=\"0\"} 5\n"
			    "sara_conntrack_updates_total{queue=\"1\"} 0\n"
			    "# HELP sara_conntrack_missing_total connmark writes whose flow had no conntrack entry\n"
			    "# TYPE sara_conntrack_missing_total counter\n"
			    "sara_conntrack_missing_total{queue=\"0\"} 0\n"
			    "sara_conntrack_missing_total{queue=\"1\"} 0\n"
			    "# HELP sara_conntrack_errors_total conntrack requests that failed otherwise\n"
			    "# TYPE sara_conntrack_errors_total counter\n"
			    "sara_conntrack_errors_total{queue=\"0\"} 0\n"
			    "sara_conntrack_errors_total{queue=\"1\"} 0\n"
			    "# HELP sara_conntrack_queries_total single-flow conntrack queries\n"
			    "# TYPE sara_conntrack_queries_total counter\n"
			    "sara_conntrack_queries_total{queue=\"0\"} 0\n"
			    "sara_conntrack_queries_total{queue=\"1\"} 9\n");

	metrics_text_reset(&t);
	counter_add(&a, COUNTER_CONNTRACK_SCAN_MS, 12345);
	metrics_counter_family(&t, "sara_", counter_def(COUNTER_CONNTRACK_SCAN_MS), series, 1);
	assert_string_equal(t.text, "# HELP sara_conntrack_scan_seconds_total milliseconds spent in conntrack scans\n"
				    "# TYPE sara_conntrack_scan_seconds_total counter\n"
				    "sara_conntrack_scan_seconds_total{queue=\"0\"} 12.345\n");
	metrics_text_free(&t);
}

/* Every counter of a scope as one sample of a labelled family, after the
 * series' own labels. */
static void test_counters_by_label(void **state)
{
	struct metrics_text t = { 0 };
	struct counter_set set = { 0 };
	struct metric_label action = { "action", "drop" };
	struct metrics_series series = { &set, &action, 1 };
	char line[128];
	unsigned lines = 0;
	(void)state;
	counter_add(&set, COUNTER_DROP_ADMISSION, 3);
	metrics_counters_by_label(&t, "sara_verdicts_total", "reason", COUNTER_SCOPE_VERDICT_DROP, &series);
	assert_non_null(strstr(t.text, "sara_verdicts_total{action=\"drop\",reason=\"session\"} 0\n"));
	assert_non_null(strstr(t.text, "sara_verdicts_total{action=\"drop\",reason=\"admission\"} 3\n"));
	for (const char *p = t.text; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 10); /* one per reason */
	assert_null(strstr(t.text, "# "));
	snprintf(line, sizeof(line), "reason=\"%s\"", counter_name(COUNTER_DROP_TABLE_FULL));
	assert_non_null(strstr(t.text, line));
	metrics_text_free(&t);
}

/* Past METRICS_TEXT_MAX the page fails and stays failed. */
static void test_bound(void **state)
{
	static char big[1u << 20];
	struct metrics_text t = { 0 };
	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	for (unsigned i = 0; i < (METRICS_TEXT_MAX >> 20) + 1 && !t.failed; i++)
		metrics_text_raw(&t, big, sizeof(big) - 1);
	assert_true(t.failed);
	assert_true(t.len <= METRICS_TEXT_MAX);
	metrics_family(&t, "m", METRIC_GAUGE, "more");
	assert_true(t.failed);
	metrics_text_reset(&t);
	assert_false(t.failed);
	assert_int_equal(t.len, 0);
	metrics_text_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family_and_samples_exact),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_counter_names),
		cmocka_unit_test(test_scope_over_series),
		cmocka_unit_test(test_counters_by_label),
		cmocka_unit_test(test_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
