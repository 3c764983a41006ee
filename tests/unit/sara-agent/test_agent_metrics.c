/* test_agent_metrics.c - sara-agent's metrics page: the exact text for a
 * known state, and what is left out without a probe or before the first
 * round. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sara-agent/agent_metrics.h"

static void test_page_exact(void **state)
{
	struct agent_snapshot s = {
		.server = "s1", .uptime_ms = 12250, .reports = 40, .sent = 80, .send_errors = 1, .probing = true,
		.probe_up = true, .probe_failures = 2, .draining = false, .have_load = true,
		.counted = 1u << AGENT_LOAD_CPU | 1u << AGENT_LOAD_BACKLOG,
		.load = { [AGENT_LOAD_CPU] = 0.25, [AGENT_LOAD_MEMORY] = 0.5, [AGENT_LOAD_BACKLOG] = NAN },
	};
	struct metrics_text t = { 0 };
	(void)state;
	agent_metrics_render(&s, &t);
	assert_false(t.failed);
	assert_string_equal(t.text,
		"# HELP sara_agent_info the server this agent reports for (value 1)\n"
		"# TYPE sara_agent_info gauge\n"
		"sara_agent_info{server=\"s1\"} 1\n"
		"# HELP sara_agent_uptime_seconds time since sara-agent started\n"
		"# TYPE sara_agent_uptime_seconds gauge\n"
		"sara_agent_uptime_seconds 12.25\n"
		"# HELP sara_agent_reports_total report rounds: one heartbeat and one load report each\n"
		"# TYPE sara_agent_reports_total counter\n"
		"sara_agent_reports_total 40\n"
		"# HELP sara_agent_datagrams_sent_total heartbeats and load reports sent to sarad\n"
		"# TYPE sara_agent_datagrams_sent_total counter\n"
		"sara_agent_datagrams_sent_total 80\n"
		"# HELP sara_agent_send_errors_total heartbeats and load reports the socket refused\n"
		"# TYPE sara_agent_send_errors_total counter\n"
		"sara_agent_send_errors_total 1\n"
		"# HELP sara_agent_probe_up 1 when the application answered the last probe\n"
		"# TYPE sara_agent_probe_up gauge\n"
		"sara_agent_probe_up 1\n"
		"# HELP sara_agent_probe_failures_total application probes that failed\n"
		"# TYPE sara_agent_probe_failures_total counter\n"
		"sara_agent_probe_failures_total 2\n"
		"# HELP sara_agent_draining 1 while a drain (SIGUSR1) is announced\n"
		"# TYPE sara_agent_draining gauge\n"
		"sara_agent_draining 0\n"
		"# HELP sara_agent_load the load last read per counted component (0..1; NaN when unreadable, "
		"reported as 1)\n"
		"# TYPE sara_agent_load gauge\n"
		"sara_agent_load{component=\"cpu\"} 0.25\n"
		"sara_agent_load{component=\"backlog\"} NaN\n");
	metrics_text_free(&t);
}

static void test_left_out(void **state)
{
	struct agent_snapshot s = { .server = "s2", .counted = 1u << AGENT_LOAD_CPU };
	struct metrics_text t = { 0 };
	(void)state;
	agent_metrics_render(&s, &t);
	assert_null(strstr(t.text, "sara_agent_probe"));
	assert_null(strstr(t.text, "sara_agent_load"));
	assert_non_null(strstr(t.text, "\nsara_agent_draining 0\n"));
	s.have_load = true;
	s.draining = true;
	metrics_text_reset(&t);
	agent_metrics_render(&s, &t);
	assert_non_null(strstr(t.text, "\nsara_agent_load{component=\"cpu\"} 0\n"));
	assert_null(strstr(t.text, "component=\"memory\""));
	assert_non_null(strstr(t.text, "\nsara_agent_draining 1\n"));
	metrics_text_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_exact),
		cmocka_unit_test(test_left_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
