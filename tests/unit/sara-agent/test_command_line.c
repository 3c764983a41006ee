/* test_command_line.c - sara-agent's options: defaults, the component
 * list, the metrics endpoint, and refused values (exit status 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "engine/server_health.h"
#include "sara-agent/command_line.h"

#define ARGS(...) ((char *[]){ "sara-agent", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "sara-agent", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(cl, ...) (optind = 0, parse_command_line(ARGC(__VA_ARGS__), ARGS(__VA_ARGS__), (cl)))

static void test_components(void **state)
{
	unsigned bits = 0;
	(void)state;
	assert_true(parse_components("cpu,backlog", &bits));
	assert_int_equal(bits, 1u << AGENT_LOAD_CPU | 1u << AGENT_LOAD_BACKLOG);
	assert_true(parse_components("all", &bits));
	assert_int_equal(bits, SERVER_HEALTH_COUNT_ALL);
	assert_true(parse_components("memory,all", &bits));
	assert_int_equal(bits, SERVER_HEALTH_COUNT_ALL);
	assert_true(parse_components("io", &bits));
	assert_int_equal(bits, 1u << AGENT_LOAD_IO);
	bits = 7;
	assert_false(parse_components("", &bits));
	assert_false(parse_components("cpu,,io", &bits));
	assert_false(parse_components("cpu,disk", &bits));
	assert_false(parse_components("cpus", &bits));
	assert_int_equal(bits, 7);  /* untouched when refused */
}

static void test_defaults(void **state)
{
	struct command_line cl;
	(void)state;
	assert_int_equal(PARSE(&cl, "-c", "cluster.cfg", "--id", "s1"), -1);
	assert_string_equal(cl.shared.config_path, "cluster.cfg");
	assert_string_equal(cl.id, "s1");
	assert_string_equal(cl.agent.root, "/");
	assert_int_equal(cl.agent.drain_in_s, 30);
	assert_int_equal(cl.agent.probe_failures_needed, 2);
	assert_int_equal(cl.agent.counted, SERVER_HEALTH_COUNT_ALL);
	assert_int_equal(cl.agent.probe.kind, PROBE_NONE);
	assert_null(cl.agent.app_load_path);
	assert_int_equal(cl.agent.metrics.addr.family, 0);
	assert_false(cl.agent.foreground || cl.agent.once || cl.agent.verbose || cl.decode || cl.shared.check_config);
}

static void test_values(void **state)
{
	struct command_line cl;
	(void)state;
	assert_int_equal(PARSE(&cl, "-c", "c.cfg", "--id", "s2", "--probe", "cmd:true", "--probe-failures", "5",
			       "--drain-in", "0", "--app-load", "file:/run/load", "--components", "cpu,io",
			       "--foreground", "--verbose", "--root", "/tmp/fake", "--metrics", "[::1]:9102"),
			 -1);
	assert_int_equal(cl.agent.metrics.addr.family, NETADDR_IPV6);
	assert_int_equal(cl.agent.metrics.port, 9102);
	assert_int_equal(cl.agent.probe.kind, PROBE_CMD);
	assert_string_equal(cl.agent.probe.command, "true");
	assert_int_equal(cl.agent.probe_failures_needed, 5);
	assert_int_equal(cl.agent.drain_in_s, 0);
	assert_string_equal(cl.agent.app_load_path, "/run/load");
	assert_int_equal(cl.agent.counted, 1u << AGENT_LOAD_CPU | 1u << AGENT_LOAD_IO);
	assert_true(cl.agent.foreground && cl.agent.verbose);
	assert_string_equal(cl.agent.root, "/tmp/fake");
	assert_int_equal(PARSE(&cl, "-c", "c.cfg", "--listen", "127.0.0.1:7400", "--count", "3"), -1);
	assert_true(cl.decode);
	assert_string_equal(cl.listen_text, "127.0.0.1:7400");
	assert_int_equal(cl.count, 3);
}

static int saved_stderr = -1;

/* Each refusal is said on stderr, with the usage: not in the test output
 * (restored in the teardown, which runs even after a failed assertion). */
static int silence_stderr(void **state)
{
	int devnull = open("/dev/null", O_WRONLY);
	(void)state;
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	if (devnull < 0 || saved_stderr < 0 || dup2(devnull, STDERR_FILENO) < 0)
		return -1;
	close(devnull);
	return 0;
}

static int restore_stderr(void **state)
{
	(void)state;
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	return 0;
}

static void test_refused(void **state)
{
	struct command_line cl;
	(void)state;
	assert_int_equal(PARSE(&cl, "-c", "c.cfg", "--probe-failures", "0"), 2);
	assert_int_equal(PARSE(&cl, "-c", "c.cfg", "--probe-failures", "101"), 2);
	assert_int_equal(PARSE(&cl, "-c", "c.cfg", "--drain-in", "86401"), 2);
	assert_int_equal(PARSE(&cl, "-c", "c.cfg", "--drain-in", "-1"), 2);
	assert_int_equal(PARSE(&cl, "-c", "c.cfg", "--probe", "http"), 2);
	assert_int_equal(PARSE(&cl, "-c", "c.cfg", "--app-load", "/run/load"), 2);
	assert_int_equal(PARSE(&cl, "-c", "c.cfg", "--components", "gpu"), 2);
	assert_int_equal(PARSE(&cl, "-c", "c.cfg", "--count", "many"), 2);
	assert_int_equal(PARSE(&cl, "-c", "c.cfg", "--metrics", "9100"), 2);
	assert_int_equal(PARSE(&cl, "-c", "c.cfg", "--metrics", "127.0.0.1:0"), 2);
	assert_int_equal(PARSE(&cl, "--id", "s1"), 2);               /* no -c */
	assert_int_equal(PARSE(&cl, "-c", "c.cfg", "extra"), 2);     /* an operand */
	assert_int_equal(PARSE(&cl, "-c", "c.cfg", "--no-such"), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_components),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test_setup_teardown(test_refused, silence_stderr, restore_stderr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
