/* test_status_snapshot.c - a control view copied into a snapshot: the
 * engine's statistics and admission, the servers with the daemon's drain
 * answer, the verdicts, the queues, the daemon's own counters by id, and
 * a view with nothing but the daemon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "io/status_snapshot.h"
#include "packet_builder.h"

#define VIP4 "198.18.10.1"
#define QUEUE_NUM 65432 /* no test machine binds it: the kernel's view is absent */

static uint64_t fixed_now(void)
{
	return 61500;
}

static void daemon_counters(void *ctx, enum counters_filter filter, counter_visit_fn fn, void *fn_ctx)
{
	struct counter_set set = { 0 };
	(void)ctx;
	assert_int_equal(filter, COUNTERS_ALL);
	counter_add(&set, COUNTER_OPERATOR_DRAINS, 4);
	counter_add(&set, COUNTER_CONNTRACK_SCAN_MS, 250);
	counters_visit(&set, COUNTER_SCOPE_DAEMON, filter, fn, fn_ctx);
}

static bool drained_second(void *ctx, unsigned server)
{
	(void)ctx;
	return server == 1;
}

static struct engine *engine_new(void)
{
	struct sara_config cfg;
	struct engine *engine;
	char err[256];
	sara_config_defaults(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "snap-test");
	cfg.vip_count = 1;
	assert_true(netaddr_parse(span_make(VIP4, strlen(VIP4)), &cfg.vips[0]));
	cfg.server_count = 2;
	for (unsigned i = 0; i < 2; i++) {
		snprintf(cfg.servers[i].id, sizeof(cfg.servers[i].id), "s%u", i + 1);
		assert_true(netaddr_parse(span_make(i ? "10.0.0.2" : "10.0.0.1", 8), &cfg.servers[i].address));
		cfg.servers[i].mark = i + 1;
		cfg.servers[i].table = 101 + i;
		cfg.servers[i].weight = i + 1.5;
	}
	cfg.limits.sessions = 16;
	cfg.limits.flows = 32;
	engine = engine_create(&cfg, NULL, 1000, err, sizeof(err));
	if (!engine)
		fail_msg("engine_create: %s", err);
	return engine;
}

static void test_take_from_a_view(void **state)
{
	static const char not_sip[] = "hello\r\n\r\n";
	struct verdict_counts verdicts = { 0 };
	struct engine *engine = engine_new();
	const uint16_t queue_nums[1] = { QUEUE_NUM };
	struct control_view view = { 0 };
	struct status_snapshot *s = malloc(status_snapshot_size(1));
	uint8_t packet[256];
	struct verdict v;
	size_t n;
	(void)state;
	assert_non_null(s);
	memset(s, 0xa5, status_snapshot_size(1)); /* whatever was there goes */

	n = packet_build_udp(AF_INET, "192.0.2.1", 5060, VIP4, 5060, not_sip, strlen(not_sip), packet,
			     sizeof(packet));
	engine_packet(engine, packet, n, 1000, &v);
	verdicts.by_action_reason[VERDICT_DROP][REASON_MALFORMED] = 5;
	view.cluster = "snap-test";
	view.now_ms = fixed_now;
	view.started_ms = 1500;
	view.engine = engine;
	view.verdicts = &verdicts;
	view.queue_nums = queue_nums;
	view.queue_count = 1;
	view.visit_daemon_counters = daemon_counters;
	view.is_drained = drained_second;
	status_snapshot_take(&view, s);

	assert_string_equal(s->cluster, "snap-test");
	assert_int_equal(s->uptime_ms, 60000);
	assert_true(s->has_engine);
	assert_int_equal(counter_get(&s->engine, COUNTER_ENGINE_PACKETS), 1);
	assert_int_equal(counter_get(&s->engine, COUNTER_SIP_NOT_SIP), 1);
	assert_int_equal(counter_get(&s->engine, COUNTER_ENGINE_SESSIONS_CAPACITY), 16);
	assert_true(s->admission.enabled);
	assert_int_equal(s->admission.zone, ADMISSION_ZONE_NORMAL);
	assert_true(s->admission.configured.t1 == 0.6);
	assert_int_equal(s->server_count, 2);
	assert_string_equal(s->servers[0].id, "s1");
	assert_string_equal(s->servers[1].id, "s2");
	assert_true(s->servers[1].weight == 2.5);
	assert_true(s->servers[0].available);
	assert_int_equal(s->servers[0].drained, 0);
	assert_int_equal(s->servers[1].drained, 1);
	assert_false(s->servers[0].has_health);
	assert_true(s->has_verdicts);
	assert_int_equal(counter_get(&s->verdicts, COUNTER_DROP_MALFORMED), 5);
	assert_int_equal(s->queue_count, 1);
	assert_int_equal(s->queues[0].num, QUEUE_NUM);
	assert_false(s->queues[0].kernel.found);
	assert_int_equal(s->queues[0].stats.received, 0);
	assert_false(s->has_announcements);
	assert_false(s->has_agents);
	assert_false(s->has_conntrack);
	assert_int_equal(counter_get(&s->daemon, COUNTER_OPERATOR_DRAINS), 4);
	assert_int_equal(counter_get(&s->daemon, COUNTER_CONNTRACK_SCAN_MS), 250);
	free(s);
	engine_destroy(engine);
}

static void test_take_bare_view(void **state)
{
	struct control_view view = { 0 };
	struct status_snapshot *s = malloc(status_snapshot_size(0));
	(void)state;
	assert_non_null(s);
	memset(s, 0xa5, status_snapshot_size(0));
	view.started_ms = 10;
	status_snapshot_take(&view, s);
	assert_string_equal(s->cluster, "");
	assert_int_equal(s->uptime_ms, 0);
	assert_false(s->has_engine);
	assert_false(s->has_verdicts);
	assert_int_equal(s->server_count, 0);
	assert_int_equal(s->queue_count, 0);
	for (unsigned id = COUNTER_NONE + 1; id < COUNTER_COUNT; id++)
		assert_int_equal(counter_get(&s->daemon, (enum counter_id)id), 0);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_take_from_a_view),
		cmocka_unit_test(test_take_bare_view),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
