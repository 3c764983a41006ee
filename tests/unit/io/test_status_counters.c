/* test_status_counters.c - the statistics structs written into counter
 * sets, and the walk over everything sarad reports, in the groups and
 * order the log prints them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "io/status_counters.h"
#include "packet_builder.h"

#define VIP4 "198.18.10.1"
#define QUEUE_NUM 65432 /* no test machine binds it: the kernel's view is absent */
#define TEXT_MAX 16384

/* What the log would print: "group: name value, name value" lines. */
struct transcript {
	char text[TEXT_MAX];
	size_t len;
	unsigned groups, counters;
	bool line_open;
};

static void transcript_group(void *ctx, const char *label)
{
	struct transcript *t = ctx;
	t->len += (size_t)snprintf(t->text + t->len, sizeof(t->text) - t->len, "%s%s:", t->groups ? "\n" : "", label);
	t->groups++;
	t->line_open = false;
}

static void transcript_counter(void *ctx, const struct counter_def *def, uint64_t value)
{
	struct transcript *t = ctx;
	t->len += (size_t)snprintf(t->text + t->len, sizeof(t->text) - t->len, "%s %s %llu", t->line_open ? "," : "",
				   def->name, (unsigned long long)value);
	t->counters++;
	t->line_open = true;
	assert_true(t->len < sizeof(t->text) - 1);
}

static void daemon_counters(void *ctx, enum counters_filter filter, counter_visit_fn fn, void *fn_ctx)
{
	struct counter_set set = { 0 };
	(void)ctx;
	counter_add(&set, COUNTER_OPERATOR_DRAINS, 1);
	counters_visit(&set, COUNTER_SCOPE_DAEMON, filter, fn, fn_ctx);
}

static void assert_line(const char *text, const char *line)
{
	const char *p = strstr(text, line);
	size_t n = strlen(line);
	if (!p || (p != text && p[-1] != '\n') || (p[n] != '\n' && p[n] != '\0'))
		fail_msg("expected the line\n%s\nin\n%s", line, text);
}

static void assert_contains(const char *text, const char *part)
{
	if (!strstr(text, part))
		fail_msg("expected %s\nin %s", part, text);
}

static struct engine *engine_new(void)
{
	struct sara_config cfg;
	struct engine *engine;
	char err[256];
	sara_config_defaults(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "walk-test");
	cfg.vip_count = 1;
	assert_true(netaddr_parse(span_make(VIP4, strlen(VIP4)), &cfg.vips[0]));
	cfg.server_count = 1;
	snprintf(cfg.servers[0].id, sizeof(cfg.servers[0].id), "s1");
	assert_true(netaddr_parse(span_make("10.0.0.1", 8), &cfg.servers[0].address));
	cfg.servers[0].mark = 0x100;
	cfg.servers[0].table = 101;
	cfg.servers[0].weight = 1.0;
	cfg.limits.sessions = 16;
	cfg.limits.flows = 32;
	engine = engine_create(&cfg, NULL, 1000, err, sizeof(err));
	if (!engine)
		fail_msg("engine_create: %s", err);
	return engine;
}

static void test_walk_groups_in_status_order(void **state)
{
	static const char not_sip[] = "hello\r\n\r\n";
	static struct transcript t;
	struct verdict_counts verdicts = { 0 };
	struct engine *engine = engine_new();
	const uint16_t queue_nums[1] = { QUEUE_NUM };
	struct control_view view = { 0 };
	struct status_visitor visitor = { transcript_group, transcript_counter, COUNTERS_REPORTED, &t };
	uint8_t packet[256];
	struct verdict v;
	size_t n;
	(void)state;

	n = packet_build_udp(AF_INET, "192.0.2.1", 5060, VIP4, 5060, not_sip, strlen(not_sip), packet,
			     sizeof(packet));
	engine_packet(engine, packet, n, 1000, &v);
	verdicts.by_action_reason[VERDICT_DROP][REASON_MALFORMED] = 5;
	verdicts.connmarks_set = 2;
	view.engine = engine;
	view.verdicts = &verdicts;
	view.queue_nums = queue_nums;
	view.queue_count = 1;
	view.visit_daemon_counters = daemon_counters;
	status_counters_walk(&view, &visitor);

	assert_int_equal(t.groups, 7);
	assert_contains(t.text, "engine: packets 1, bytes 37, flows_created 1, sessions_created 0, ");
	assert_contains(t.text, ", memory_bytes ");
	assert_contains(t.text, ", sip_not_sip 1\nadmission: admission_admitted_new_off 0, ");
	assert_line(t.text, "verdicts accept:");
	assert_line(t.text, "verdicts drop: malformed 5");
	assert_line(t.text, "verdicts: accepted_unmarked 0, connmarks_set 2");
	assert_line(t.text, "queue 65432: received 0, batches 0, verdicts 0, verdict_errors 0, enobufs 0");
	assert_line(t.text, "daemon: operator_drains 1");
	/* engine 15 + 1 event, admission 33, drop 1, verdicts 2, queue 5, daemon 1. */
	assert_int_equal(t.counters, 15 + 1 + 33 + 1 + 2 + 5 + 1);

	/* Everything, zeros included, is what metrics will read. */
	memset(&t, 0, sizeof(t));
	visitor.filter = COUNTERS_ALL;
	status_counters_walk(&view, &visitor);
	assert_contains(t.text, "verdicts accept: session 0, connection 0, unpredicted 0, not_vip 0, not_ip 0, ");
	assert_contains(t.text, "daemon: empty_packets 0, ");
	engine_destroy(engine);
}

/* Only the daemon group without an engine, verdicts, queues or listeners. */
static void test_walk_bare_view(void **state)
{
	static struct transcript t;
	struct control_view view = { 0 };
	struct status_visitor visitor = { transcript_group, transcript_counter, COUNTERS_REPORTED, &t };
	(void)state;
	status_counters_walk(&view, &visitor);
	assert_string_equal(t.text, "daemon:");
	assert_int_equal(t.counters, 0);
}

static void test_stats_into_counters(void **state)
{
	struct engine_stats st = { .packets = 9, .bytes = 900, .flows_in_use = 4, .memory_bytes = 1u << 20 };
	struct nfqueue_stats q = { .received = 7, .enobufs = 1 };
	struct kernel_queue_stats k = { .found = true, .dropped = 3, .user_dropped = 2, .waiting = 1 };
	struct ct_marks_stats ct = { .updates = 5, .missing = 1, .errors = 0, .queries = 8 };
	struct counter_set set = { 0 };
	(void)state;
	status_counters_engine(&st, &set);
	status_counters_queue(&q, &k, &set);
	status_counters_conntrack(&ct, &set);
	assert_int_equal(counter_get(&set, COUNTER_ENGINE_PACKETS), 9);
	assert_int_equal(counter_get(&set, COUNTER_ENGINE_BYTES), 900);
	assert_int_equal(counter_get(&set, COUNTER_ENGINE_FLOWS_IN_USE), 4);
	assert_int_equal(counter_get(&set, COUNTER_ENGINE_MEMORY_BYTES), 1u << 20);
	assert_int_equal(counter_get(&set, COUNTER_QUEUE_RECEIVED), 7);
	assert_int_equal(counter_get(&set, COUNTER_QUEUE_ENOBUFS), 1);
	assert_int_equal(counter_get(&set, COUNTER_KERNEL_DROPPED), 3);
	assert_int_equal(counter_get(&set, COUNTER_KERNEL_USER_DROPPED), 2);
	assert_int_equal(counter_get(&set, COUNTER_KERNEL_WAITING), 1);
	assert_int_equal(counter_get(&set, COUNTER_CONNTRACK_UPDATES), 5);
	assert_int_equal(counter_get(&set, COUNTER_CONNTRACK_QUERIES), 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_groups_in_status_order),
		cmocka_unit_test(test_walk_bare_view),
		cmocka_unit_test(test_stats_into_counters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
