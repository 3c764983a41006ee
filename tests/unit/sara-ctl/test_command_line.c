/* test_command_line.c - sara-ctl's command line: sarad's commands and
 * their operands and options checked against the command table, the rules
 * flags, and the exit statuses of a usage error. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sara-ctl/command_line.h"
#include "sara-ctl/ctl.h"

#define WORDS_MAX 16

static struct command_line cl;

/* Parses "sara-ctl WORDS..." with stderr (usage, complaints) muted. */
static int parse(const char *line)
{
	static char copy[512];
	char *argv[WORDS_MAX + 1] = { "sara-ctl" };
	int argc = 1, saved = dup(STDERR_FILENO), null_fd = open("/dev/null", O_WRONLY), status;
	snprintf(copy, sizeof(copy), "%s", line);
	for (char *w = strtok(copy, " "); w && argc < WORDS_MAX; w = strtok(NULL, " "))
		argv[argc++] = w;
	argv[argc] = NULL;
	fflush(stderr);
	dup2(null_fd, STDERR_FILENO);
	status = command_line_parse(argc, argv, &cl);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(null_fd);
	return status;
}

static void test_sarad_commands_from_the_table(void **state)
{
	(void)state;
	assert_int_equal(parse("-c x.cfg sessions --server s1 --limit 5 --json"), COMMAND_LINE_PARSED);
	assert_int_equal(cl.sarad.command->id, CONTROL_SESSIONS);
	assert_string_equal(cl.sarad.args.values[CONTROL_SESSIONS_SERVER], "s1");
	assert_string_equal(cl.sarad.args.values[CONTROL_SESSIONS_LIMIT], "5");
	assert_int_equal(cl.sarad.format, RENDER_JSON);
	assert_int_equal(parse("-c x.cfg undrain s2"), COMMAND_LINE_PARSED);
	assert_int_equal(cl.sarad.command->id, CONTROL_UNDRAIN);
	assert_string_equal(cl.sarad.args.operand, "s2");
	assert_int_equal(parse("--config x.cfg status"), COMMAND_LINE_PARSED);
	assert_int_equal(cl.sarad.command->id, CONTROL_STATUS);
	assert_int_equal(cl.sarad.format, RENDER_TEXT);
}

static void test_sarad_arguments_checked(void **state)
{
	(void)state;
	assert_int_equal(parse("-c x.cfg drain"), EXIT_USAGE);               /* no ID */
	assert_int_equal(parse("-c x.cfg drain s1 s2"), EXIT_USAGE);         /* one too many */
	assert_int_equal(parse("-c x.cfg status --server s1"), EXIT_USAGE);  /* not status's option */
	assert_int_equal(parse("-c x.cfg drain s1 --limit 3"), EXIT_USAGE);
	assert_int_equal(parse("-c x.cfg sessions --limit 100001"), EXIT_USAGE);
	assert_int_equal(parse("-c x.cfg sessions --limit 1x"), EXIT_USAGE);
	assert_int_equal(parse("-c x.cfg ping"), EXIT_USAGE);                /* for scripts, not sara-ctl */
	assert_int_equal(parse("-c x.cfg bogus"), EXIT_USAGE);
	assert_int_equal(parse("-c x.cfg keygen --json"), EXIT_USAGE);
	assert_int_equal(parse("servers"), EXIT_USAGE);                      /* no -c */
}

static void test_rules_flags(void **state)
{
	(void)state;
	assert_int_equal(parse("-c x.cfg rules --nft --apply --gateway --queue 7"), COMMAND_LINE_PARSED);
	assert_null(cl.sarad.command);
	assert_string_equal(cl.command, "rules");
	assert_int_equal(cl.rules.backend, RULES_NFT);
	assert_int_equal(cl.rules.operation, RULES_APPLY);
	assert_int_equal(cl.rules.role, RULES_GATEWAY);
	assert_int_equal(cl.rules.gateway_queue, 7);
	assert_int_equal(parse("-c x.cfg rules --nft --iptables"), EXIT_USAGE);
	assert_int_equal(parse("-c x.cfg rules --queue 7"), EXIT_USAGE);     /* only the gateway's */
	assert_int_equal(parse("-c x.cfg rules --queue 65536 --gateway"), EXIT_USAGE);
	assert_int_equal(parse("-c x.cfg status --apply"), EXIT_USAGE);
}

/* the generators: --self for those of one host; conntrackd's timer is the
 * same on every dispatcher */
static void test_ha_generators(void **state)
{
	(void)state;
	assert_int_equal(parse("-c x.cfg conntrackd --self 198.18.2.1"), COMMAND_LINE_PARSED);
	assert_string_equal(cl.command, "conntrackd");
	assert_int_equal(parse("-c x.cfg conntrackd-timer"), COMMAND_LINE_PARSED);
	assert_true(command_line_is_ha(cl.command));
	assert_null(cl.sarad.command);
	assert_int_equal(parse("-c x.cfg conntrackd-timer --self 198.18.2.1"), EXIT_USAGE);
	assert_int_equal(parse("-c x.cfg status --self 198.18.2.1"), EXIT_USAGE);
}

static void test_check_config_and_help(void **state)
{
	int saved = dup(STDOUT_FILENO), null_fd = open("/dev/null", O_WRONLY), status;
	(void)state;
	assert_int_equal(parse("-c x.cfg --check-config"), COMMAND_LINE_PARSED);
	assert_true(cl.check_config);
	assert_null(cl.command);
	fflush(stdout);
	dup2(null_fd, STDOUT_FILENO);
	status = parse("--help");
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(null_fd);
	assert_int_equal(status, 0);
}

static void test_session_and_refusal_options(void **state)
{
	(void)state;
	assert_int_equal(parse("-c x.cfg sessions --key a84b4c76e66710@pc33.example --json-lines"), COMMAND_LINE_PARSED);
	assert_int_equal(cl.sarad.command->id, CONTROL_SESSIONS);
	assert_string_equal(cl.sarad.args.values[CONTROL_SESSIONS_KEY], "a84b4c76e66710@pc33.example");
	assert_int_equal(cl.sarad.format, RENDER_JSON_LINES);
	assert_int_equal(parse("-c x.cfg sessions --client 2001:db8::7 --server s1"), COMMAND_LINE_PARSED);
	assert_string_equal(cl.sarad.args.values[CONTROL_SESSIONS_CLIENT], "2001:db8::7");
	assert_string_equal(cl.sarad.args.values[CONTROL_SESSIONS_SERVER], "s1");
	assert_int_equal(parse("-c x.cfg refused"), COMMAND_LINE_PARSED);
	assert_int_equal(cl.sarad.command->id, CONTROL_REFUSED);
	assert_null(cl.sarad.args.values[CONTROL_REFUSED_SINCE]);
	assert_int_equal(parse("-c x.cfg refused --since 300 --json"), COMMAND_LINE_PARSED);
	assert_string_equal(cl.sarad.args.values[CONTROL_REFUSED_SINCE], "300");
	assert_int_equal(cl.sarad.format, RENDER_JSON);

	assert_int_equal(parse("-c x.cfg sessions --key k --server s1"), EXIT_USAGE);  /* one session */
	assert_int_equal(parse("-c x.cfg sessions --key k --limit 3"), EXIT_USAGE);
	assert_int_equal(parse("-c x.cfg sessions --client 10.0.0.300"), EXIT_USAGE);
	assert_int_equal(parse("-c x.cfg sessions --client h.example"), EXIT_USAGE);
	assert_int_equal(parse("-c x.cfg refused --since 0"), EXIT_USAGE);
	assert_int_equal(parse("-c x.cfg refused --since 301"), EXIT_USAGE);
	assert_int_equal(parse("-c x.cfg refused --since 1m"), EXIT_USAGE);
	assert_int_equal(parse("-c x.cfg refused --key k"), EXIT_USAGE);             /* sessions' option */
	assert_int_equal(parse("-c x.cfg servers --since 5"), EXIT_USAGE);
	assert_int_equal(parse("-c x.cfg status --json --json-lines"), EXIT_USAGE);
	assert_int_equal(parse("-c x.cfg keygen --json-lines"), EXIT_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sarad_commands_from_the_table),
		cmocka_unit_test(test_sarad_arguments_checked),
		cmocka_unit_test(test_rules_flags),
		cmocka_unit_test(test_ha_generators),
		cmocka_unit_test(test_check_config_and_help),
		cmocka_unit_test(test_session_and_refusal_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
