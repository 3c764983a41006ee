/* test_control_commands.c - the control socket's command table: names
 * found, unknown ones refused, operands and options checked with the
 * socket's error texts, and sara-ctl's usage lines made from the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "io/control_commands.h"

#define ERR_MAX 256
#define SESSIONS_USAGE "sessions [--server ID] [--limit N] [--key CALL-ID] [--client ADDR]"

static void test_table_is_consistent(void **state)
{
	unsigned count;
	const struct control_command *cmds = control_commands(&count);
	(void)state;
	assert_int_equal(count, CONTROL_COMMAND_COUNT);
	for (unsigned i = 0; i < count; i++) {
		assert_int_equal(cmds[i].id, i);
		assert_non_null(cmds[i].name);
		assert_true(strlen(cmds[i].name) > 0);
		assert_non_null(cmds[i].help);
		assert_true(strlen(cmds[i].help) > 10);
		assert_ptr_equal(control_command_find(cmds[i].name), &cmds[i]);
		for (unsigned j = 0; j < i; j++)
			assert_string_not_equal(cmds[i].name, cmds[j].name);
	}
	assert_int_equal(control_command_find("sessions")->id, CONTROL_SESSIONS);
	assert_false(control_command_find("ping")->in_sara_ctl);
	assert_false(control_command_find("status")->needs_engine);
	assert_true(control_command_find("drain")->needs_engine);
}

static void test_unknown_commands_refused(void **state)
{
	(void)state;
	assert_null(control_command_find("bogus"));
	assert_null(control_command_find(""));
	assert_null(control_command_find("STATUS"));
	assert_null(control_command_find("status "));
	assert_null(control_command_find("rules"));  /* sara-ctl's own, not sarad's */
}

/* Parses the blank-separated words after a command's name. */
static bool parse(const char *name, const char *line, struct control_args *args, char *err)
{
	static char copy[ERR_MAX];
	const char *words[8];
	unsigned count = 0;
	snprintf(copy, sizeof(copy), "%s", line);
	for (char *w = strtok(copy, " "); w && count < 8; w = strtok(NULL, " "))
		words[count++] = w;
	err[0] = '\0';
	return control_command_parse(control_command_find(name), words, count, args, err, ERR_MAX);
}

static void test_operand_counted(void **state)
{
	struct control_args args;
	char err[ERR_MAX];
	(void)state;
	assert_true(parse("drain", "s1", &args, err));
	assert_string_equal(args.operand, "s1");
	assert_false(parse("drain", "", &args, err));
	assert_string_equal(err, "usage: drain ID");
	assert_false(parse("undrain", "s1 s2", &args, err));
	assert_string_equal(err, "usage: undrain ID");
	assert_false(parse("drain", "s1 --limit 3", &args, err));
	assert_string_equal(err, "usage: drain ID");
	/* No operand, no arguments. */
	assert_true(parse("servers", "", &args, err));
	assert_null(args.operand);
	assert_false(parse("servers", "extra", &args, err));
	assert_string_equal(err, "usage: servers");
	assert_false(parse("status", "--json", &args, err));
	assert_string_equal(err, "usage: status");
	assert_false(parse("ping", "x", &args, err));
	assert_string_equal(err, "usage: ping");
}

static void test_options_take_their_value(void **state)
{
	struct control_args args;
	char err[ERR_MAX];
	(void)state;
	assert_true(parse("sessions", "", &args, err));
	assert_null(args.values[CONTROL_SESSIONS_SERVER]);
	assert_null(args.values[CONTROL_SESSIONS_LIMIT]);
	assert_true(parse("sessions", "--limit 5 --server s2", &args, err));
	assert_string_equal(args.values[CONTROL_SESSIONS_SERVER], "s2");
	assert_string_equal(args.values[CONTROL_SESSIONS_LIMIT], "5");
	assert_true(parse("sessions", "--server a --server b", &args, err)); /* the last one holds */
	assert_string_equal(args.values[CONTROL_SESSIONS_SERVER], "b");
	assert_false(parse("sessions", "--server", &args, err));
	assert_string_equal(err, "sessions: unexpected \"--server\"; usage: " SESSIONS_USAGE);
	assert_false(parse("sessions", "--limit 5 s1", &args, err));
	assert_string_equal(err, "sessions: unexpected \"s1\"; usage: " SESSIONS_USAGE);
	assert_false(parse("sessions", "--json", &args, err));
	assert_string_equal(err, "sessions: unexpected \"--json\"; usage: " SESSIONS_USAGE);
	assert_true(parse("sessions", "--key a@b --client 192.0.2.1", &args, err));
	assert_string_equal(args.values[CONTROL_SESSIONS_KEY], "a@b");
	assert_string_equal(args.values[CONTROL_SESSIONS_CLIENT], "192.0.2.1");
	assert_true(parse("refused", "--since 30", &args, err));
	assert_string_equal(args.values[CONTROL_REFUSED_SINCE], "30");
	assert_false(parse("refused", "--since", &args, err));
	assert_string_equal(err, "refused: unexpected \"--since\"; usage: refused [--since S]");
	assert_false(parse("refused", "--key x", &args, err));
	assert_int_equal(control_command_option(control_command_find("sessions"), "--limit"), CONTROL_SESSIONS_LIMIT);
	assert_int_equal(control_command_option(control_command_find("sessions"), "--json"), -1);
	assert_int_equal(control_command_option(control_command_find("drain"), "--server"), -1);
}

static void test_usage_texts(void **state)
{
	char usage[CONTROL_USAGE_MAX];
	(void)state;
	control_command_usage(control_command_find("sessions"), usage, sizeof(usage));
	assert_string_equal(usage, SESSIONS_USAGE);
	control_command_usage(control_command_find("refused"), usage, sizeof(usage));
	assert_string_equal(usage, "refused [--since S]");
	control_command_usage(control_command_find("undrain"), usage, sizeof(usage));
	assert_string_equal(usage, "undrain ID");
	control_command_usage(control_command_find("status"), usage, sizeof(usage));
	assert_string_equal(usage, "status");
}

/* What a print function wrote, NUL-terminated (malloc'd). */
static char *printed(void (*print)(FILE *out, void *ctx), void *ctx)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	assert_non_null(out);
	print(out, ctx);
	fclose(out);
	return text;
}

static void print_synopsis(FILE *out, void *ctx)
{
	(void)ctx;
	control_commands_print_synopsis(out, "> ", " [--json]");
}

static void print_help(FILE *out, void *ctx)
{
	(void)ctx;
	control_commands_print_help(out);
}

static void test_help_lists_every_command(void **state)
{
	unsigned count;
	const struct control_command *cmds = control_commands(&count);
	char *synopsis = printed(print_synopsis, NULL), *help = printed(print_help, NULL);
	(void)state;
	assert_string_equal(synopsis, "> status [--json]\n"
				      "> servers [--json]\n"
				      "> " SESSIONS_USAGE " [--json]\n"
				      "> drain|undrain ID [--json]\n"
				      "> refused [--since S] [--json]\n");
	/* Each command sara-ctl offers starts a help line; ping starts none. */
	for (unsigned i = 0; i < count; i++) {
		char lines[4096], line_start[64];
		snprintf(lines, sizeof(lines), "\n%s", help);
		snprintf(line_start, sizeof(line_start), "\n  %s ", cmds[i].name);
		if (cmds[i].in_sara_ctl != (strstr(lines, line_start) != NULL))
			fail_msg("help and table disagree on %s:\n%s", cmds[i].name, help);
	}
	assert_string_equal(help,
			    "  status        ask sarad (control.socket) for its status; --json prints it raw\n"
			    "  servers       each server: address, mark, weight, availability, drain, health,\n"
			    "                sessions and load estimate\n"
			    "  sessions      the sessions sarad follows (default at most 1000, --limit up to\n"
			    "                100000; --server ID: that server's only, --client ADDR: that\n"
			    "                client's only); --key CALL-ID: one session (SIP Call-ID, RTSP\n"
			    "                Session id): its client, its server and why, its flows with\n"
			    "                their packet counts\n"
			    "  drain ID      no new sessions for server ID; its current sessions stay\n"
			    "  undrain ID    server ID takes new sessions again\n"
			    "  refused       what was refused in the last S seconds (default 60, at most 300),\n"
			    "                and why: counts by reason, and the latest refusals one by one\n");
	free(synopsis);
	free(help);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_is_consistent),
		cmocka_unit_test(test_unknown_commands_refused),
		cmocka_unit_test(test_operand_counted),
		cmocka_unit_test(test_options_take_their_value),
		cmocka_unit_test(test_usage_texts),
		cmocka_unit_test(test_help_lists_every_command),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
