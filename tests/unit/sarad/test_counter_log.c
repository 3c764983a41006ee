/* test_counter_log.c - the counters log (SIGUSR1, final): one line per
 * group of the status document, with the names of the counter table; the
 * agents' rejects, server health from the dispatcher's feed and the
 * daemon's own counters each on their line; events still at zero left
 * out, totals always there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "io/agent_listener.h"
#include "io/clock.h"
#include "sarad/counter_log.h"
#include "sarad/health_feed.h"
#include "sarad_fixture.h"

struct fixture {
	struct sara_config cfg;
	struct daemon_counters counters;
	struct log_kinds logs;
	struct dispatcher d;
	struct sealed_listener *agents;
	struct control_view view;
};

static void visit_daemon_counters(void *ctx, enum counters_filter filter, counter_visit_fn fn, void *fn_ctx)
{
	struct fixture *f = ctx;
	daemon_counters_visit(&f->counters, filter, fn, fn_ctx);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct agent_listener_sink sink = { dispatcher_heartbeat, dispatcher_load_report, NULL };
	char err[256];
	assert_non_null(f);
	fixture_log_start();
	fixture_config(&f->cfg);
	daemon_counters_init(&f->counters);
	log_kinds_init(&f->logs);
	fixture_clock_ms = 1000000;
	assert_int_equal(dispatcher_init(&f->d, &f->cfg, NULL, &f->counters, &f->logs, fixture_now_ms, err,
					 sizeof(err)), 0);
	assert_int_equal(dispatcher_watch_health(&f->d, fixture_clock_ms, err, sizeof(err)), 0);
	sink.ctx = &f->d;
	f->agents = agent_listener_create(&f->cfg, fixture_now_ms, &sink);
	assert_non_null(f->agents);
	f->view = (struct control_view){
		.cluster = f->cfg.name,
		.now_ms = fixture_now_ms,
		.started_ms = fixture_clock_ms - 42000,
		.engine = f->d.engine,
		.engine_lock = &f->d.engine_lock,
		.agents = f->agents,
		.health = health_feed_health(f->d.health),
		.visit_daemon_counters = visit_daemon_counters,
		.daemon_ctx = f,
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	sealed_listener_destroy(f->agents);
	dispatcher_fini(&f->d);
	daemon_counters_destroy(&f->counters);
	log_set_sink(NULL, NULL);
	log_close();
	free(f);
	return 0;
}

/* The kept log line that starts with prefix, or a failure. */
static const char *line_starting(const char *prefix)
{
	unsigned n = fixture_log_count < FIXTURE_LOG_LINES ? fixture_log_count : FIXTURE_LOG_LINES;
	for (unsigned i = 0; i < n; i++)
		if (strncmp(fixture_log[i], prefix, strlen(prefix)) == 0)
			return fixture_log[i];
	fail_msg("no log line starts with \"%s\" (%u lines)", prefix, n);
	return "";
}

static void test_groups_from_the_table(void **state)
{
	struct fixture *f = *state;
	struct sealed_receiver_handler agents = sealed_listener_handler(f->agents);
	struct endpoint from = { 0 };
	struct agent_heartbeat hb = { .host_id = 1, .seq = 1, .flag = AGENT_UP };

	health_feed_heartbeat(f->d.health, 0, &hb, fixture_clock_ms, clock_ms(CLOCK_REALTIME));
	agents.reject(agents.ctx, WIRE_FORGED, &from);
	agents.reject(agents.ctx, SEALED_OVERSIZED, &from);
	daemon_count(&f->counters, COUNTER_OPERATOR_DRAINS, 1);

	fixture_log_count = 0;
	counter_log_write(&f->view, "SIGUSR1");
	assert_string_equal(fixture_log[0], "event=counters when=SIGUSR1 uptime_s=42");
	assert_non_null(strstr(line_starting("event=counters when=SIGUSR1 group=engine packets=0 bytes=0 "
					     "flows_created=0 "), " memory_bytes="));
	line_starting("event=counters when=SIGUSR1 group=admission admission_admitted_new_off=0 ");
	/* A long group goes on over lines, each saying its group. */
	assert_true(fixture_logged("admission_thresholds_reset=0"));
	assert_false(strstr(line_starting("event=counters when=SIGUSR1 group=admission admission_admitted_new_off=0 "),
			    "admission_thresholds_reset=0"));
	assert_string_equal(line_starting("event=counters when=SIGUSR1 group=agents "),
			    "event=counters when=SIGUSR1 group=agents received=2 heartbeats=0 loads=0 rejected=2 "
			    "wire_forged=1 oversized=1");
	assert_string_equal(line_starting("event=counters when=SIGUSR1 group=server_health "),
			    "event=counters when=SIGUSR1 group=server_health heartbeats=1");
	assert_string_equal(line_starting("event=counters when=SIGUSR1 group=daemon "),
			    "event=counters when=SIGUSR1 group=daemon operator_drains=1");
	/* Nothing on lines for what the view does not have. */
	assert_false(fixture_logged("group=announcements"));
	assert_false(fixture_logged("group=conntrack"));
	assert_false(fixture_logged("group=queue"));
}

/* Without agents, neither their line nor server health's. */
static void test_no_agents(void **state)
{
	struct fixture *f = *state;
	f->view.agents = NULL;
	f->view.health = NULL;
	fixture_log_count = 0;
	counter_log_write(&f->view, "final");
	assert_string_equal(fixture_log[0], "event=counters when=final uptime_s=42");
	assert_false(fixture_logged("group=agents"));
	assert_false(fixture_logged("group=server_health"));
	/* No daemon event yet: the group has no line. */
	assert_false(fixture_logged("group=daemon"));
	line_starting("event=counters when=final group=engine ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_groups_from_the_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_agents, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
