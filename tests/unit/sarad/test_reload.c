/* test_reload.c - SIGHUP's reload: live keys (a weight, a timeout) are
 * applied and counted; a change of a restart-only key (the queues, a
 * server's mark) or a broken file is refused, counted and logged, and the
 * running configuration stays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/config_file.h"
#include "sarad/reload.h"
#include "sarad_fixture.h"

struct fixture {
	char dir[64], path[128];
	struct sara_config cfg;
	struct daemon_counters counters;
	struct log_kinds logs;
	struct refusal_replies replies;
	struct dispatcher d;
};

/* The cluster file with a few keys a test changes. */
static void write_config(struct fixture *f, unsigned queue_first, double weight, unsigned signalling_s,
			 unsigned mark2)
{
	FILE *out = fopen(f->path, "w");
	assert_non_null(out);
	fprintf(out,
		"name = \"reload-test\";\n"
		"vips = [ \"198.18.77.20\" ];\n"
		"ports = { sip = [ 5060 ]; };\n"
		"servers = ( { id = \"s1\"; address = \"198.18.2.11\"; mark = 1; table = 101; weight = %.1f; },\n"
		"            { id = \"s2\"; address = \"198.18.2.12\"; mark = %u; table = 102; weight = 1.0; } );\n"
		"queue = { first = %u; count = 1; };\n"
		"timeouts = { signalling_s = %u; media_s = 30; linger_s = 1; };\n"
		"control = { socket = \"%s/sarad.sock\"; };\n",
		weight, mark2, queue_first, signalling_s, f->dir);
	fclose(out);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[512];
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/sara-reload-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/cluster.cfg", f->dir);
	write_config(f, 0, 1.0, 30, 2);
	assert_true(sara_config_load(f->path, &f->cfg, err, sizeof(err)));
	fixture_log_start();
	daemon_counters_init(&f->counters);
	log_kinds_init(&f->logs);
	refusal_replies_configure(&f->replies, &f->cfg);
	assert_int_equal(dispatcher_init(&f->d, &f->cfg, NULL, &f->counters, &f->logs, fixture_now_ms, err,
					 sizeof(err)), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	dispatcher_fini(&f->d);
	refusal_replies_close(&f->replies);
	daemon_counters_destroy(&f->counters);
	log_set_sink(NULL, NULL);
	log_close();
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static double weight_of(struct fixture *f, unsigned server)
{
	struct engine_server_info info;
	assert_true(engine_server_info(f->d.engine, server, &info));
	return info.weight;
}

static void test_live_keys_applied(void **state)
{
	struct fixture *f = *state;
	char expected[256];
	write_config(f, 0, 2.5, 40, 2);
	assert_true(reload_config(&f->d, &f->replies));
	assert_true(weight_of(f, 0) > 2.4 && weight_of(f, 0) < 2.6);
	assert_int_equal(engine_config(f->d.engine)->timeouts.signalling_s, 40);
	assert_int_equal(daemon_counter_get(&f->counters, COUNTER_CONFIG_RELOADS), 1);
	assert_int_equal(daemon_counter_get(&f->counters, COUNTER_CONFIG_RELOADS_REFUSED), 0);
	snprintf(expected, sizeof(expected), "event=reload result=applied config=%s selection=", f->path);
	assert_true(fixture_logged(expected));
	assert_true(fixture_logged(" signalling_s=40 media_s=30 linger_s=1"));
}

static void test_restart_only_keys_refused(void **state)
{
	struct fixture *f = *state;
	write_config(f, 1, 2.5, 40, 2);   /* the live keys change too: nothing is applied */
	assert_false(reload_config(&f->d, &f->replies));
	assert_true(fixture_logged("event=reload result=refused error="));
	assert_true(fixture_logged(": queue.first/count changed: restart to apply\" "
				   "msg=\"keeping the running configuration\""));
	assert_int_equal(engine_config(f->d.engine)->queue.first, 0);
	assert_true(weight_of(f, 0) > 0.9 && weight_of(f, 0) < 1.1);
	assert_int_equal(engine_config(f->d.engine)->timeouts.signalling_s, 30);

	write_config(f, 0, 1.0, 30, 7);   /* a server's mark */
	assert_false(reload_config(&f->d, &f->replies));
	assert_int_equal(engine_config(f->d.engine)->servers[1].mark, 2);
	assert_int_equal(daemon_counter_get(&f->counters, COUNTER_CONFIG_RELOADS_REFUSED), 2);
	assert_int_equal(daemon_counter_get(&f->counters, COUNTER_CONFIG_RELOADS), 0);
}

static void test_broken_file_refused(void **state)
{
	struct fixture *f = *state;
	char expected[256];
	FILE *out = fopen(f->path, "w");
	assert_non_null(out);
	fputs("name = \"broken\"\nvips = [ ;\n", out);
	fclose(out);
	assert_false(reload_config(&f->d, &f->replies));
	snprintf(expected, sizeof(expected), "event=reload result=refused error=\"%s:", f->path);
	assert_true(fixture_logged(expected));
	assert_true(fixture_logged(" msg=\"keeping the running configuration\""));
	assert_int_equal(daemon_counter_get(&f->counters, COUNTER_CONFIG_RELOADS_REFUSED), 1);
	assert_string_equal(engine_config(f->d.engine)->name, "reload-test");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_live_keys_applied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_only_keys_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_file_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
