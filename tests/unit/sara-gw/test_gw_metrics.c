/* test_gw_metrics.c - sara-gw's metrics page: every counter of its scopes
 * once, the queue label, and the kernel's families only when the kernel
 * has the queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sara-gw/gw_metrics.h"

static unsigned occurrences(const char *page, const char *needle)
{
	unsigned n = 0;
	for (const char *p = strstr(page, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

struct check {
	const char *page;
	uint64_t base;
	unsigned checked;
};

static void check_once(void *ctx, const struct counter_def *def, uint64_t value)
{
	struct check *c = ctx;
	char text[48];
	(void)value;
	snprintf(text, sizeof(text), " %llu\n", (unsigned long long)(c->base + counter_id_of(def)));
	if (occurrences(c->page, text) != 1)
		fail_msg("counter %s appears %u times", def->name, occurrences(c->page, text));
	c->checked++;
}

static void test_every_counter_once(void **state)
{
	static const struct counter_set empty;
	struct gw_snapshot s = { .uptime_ms = 2000, .queue_num = 3 };
	struct metrics_text t = { 0 };
	struct check c = { 0 };
	(void)state;
	for (unsigned id = COUNTER_NONE + 1; id < COUNTER_COUNT; id++) {
		s.counters.values[id] = 100000 + id;
		s.gateway.values[id] = 200000 + id;
	}
	gw_metrics_render(&s, &t);
	assert_false(t.failed);
	c.page = t.text;
	c.base = 100000;
	counters_visit(&empty, COUNTER_SCOPE_GW_DAEMON, COUNTERS_ALL, check_once, &c);
	counters_visit(&empty, COUNTER_SCOPE_GW_QUEUE, COUNTERS_ALL, check_once, &c);
	c.base = 200000;
	counters_visit(&empty, COUNTER_SCOPE_GATEWAY, COUNTERS_ALL, check_once, &c);
	assert_true(c.checked > 30);
	assert_non_null(strstr(t.text, "# TYPE sara_gw_uptime_seconds gauge\nsara_gw_uptime_seconds 2\n"));
	assert_non_null(strstr(t.text, "\nsara_gw_packets_total 1"));
	assert_non_null(strstr(t.text, "\nsara_gw_queue_received_total{queue=\"3\"} "));
	assert_non_null(strstr(t.text, "\nsara_gw_gateway_sip_parse_error_total "));
	assert_null(strstr(t.text, "sara_gw_queue_kernel"));
	metrics_text_free(&t);
}

static void test_kernel_queue(void **state)
{
	struct gw_snapshot s = { .queue_num = 7, .kernel = { .found = true, .dropped = 5, .user_dropped = 6 } };
	struct metrics_text t = { 0 };
	(void)state;
	gw_metrics_render(&s, &t);
	assert_non_null(strstr(t.text, "# TYPE sara_gw_queue_kernel_dropped_total counter\n"
				       "sara_gw_queue_kernel_dropped_total{queue=\"7\"} 5\n"));
	assert_non_null(strstr(t.text, "\nsara_gw_queue_kernel_user_dropped_total{queue=\"7\"} 6\n"));
	metrics_text_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_counter_once),
		cmocka_unit_test(test_kernel_queue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
