/* test_program_options.c - the shared command line: -c and --check-config,
 * --help and --version, a program's own options and refusals, operands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "io/program_options.h"

#define ARGS(...) ((char *[]){ "prog", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "prog", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(cl, out, first, ...) \
	(optind = 0, program_options_parse(ARGC(__VA_ARGS__), ARGS(__VA_ARGS__), (cl), (out), (first)))

struct own {
	bool verbose;
	const char *name;
	unsigned taken;
};

static void usage(FILE *out)
{
	(void)out;
}

/* -v, and --name which refuses "bad". */
static bool take(void *ctx, int opt, const char *arg)
{
	struct own *own = ctx;
	own->taken++;
	if (opt == 'v') {
		own->verbose = true;
		return true;
	}
	own->name = arg;
	return opt == 'n' && strcmp(arg, "bad") != 0;
}

static const struct option own_options[] = {
	{ "verbose", no_argument, NULL, 'v' },
	{ "name", required_argument, NULL, 'n' },
	{ NULL, 0, NULL, 0 },
};

static void test_shared_and_own(void **state)
{
	struct own own = { 0 };
	struct program_command_line cl = { "prog", "v", own_options, usage, take, &own, false };
	struct program_options out;
	int first = -1;
	(void)state;
	assert_int_equal(PARSE(&cl, &out, &first, "-c", "a.cfg", "-v", "--name", "x", "--check-config"), -1);
	assert_string_equal(out.config_path, "a.cfg");
	assert_true(out.check_config);
	assert_true(own.verbose);
	assert_string_equal(own.name, "x");
	assert_int_equal(own.taken, 2);
	assert_int_equal(first, 7);   /* argc: no operands */
}

static void test_exits(void **state)
{
	struct own own = { 0 };
	struct program_command_line cl = { "prog", "", own_options, usage, take, &own, false };
	struct program_options out;
	int first = -1;
	(void)state;
	assert_int_equal(PARSE(&cl, &out, &first, "--help"), 0);
	assert_int_equal(PARSE(&cl, &out, &first, "--version"), 0);
	assert_int_equal(PARSE(&cl, &out, &first, "--verbose"), 2);                 /* no -c */
	assert_int_equal(PARSE(&cl, &out, &first, "-c", "a.cfg", "extra"), 2);     /* no operands */
	assert_int_equal(PARSE(&cl, &out, &first, "-c", "a.cfg", "--name", "bad"), 2);
	assert_int_equal(PARSE(&cl, &out, &first, "-c", "a.cfg", "-v"), 2);        /* -v not short here */
	assert_int_equal(first, -1);
}

static void test_operands(void **state)
{
	struct own own = { 0 };
	struct program_command_line cl = { "prog", "v", own_options, usage, take, &own, true };
	struct program_options out;
	int first = -1;
	(void)state;
	assert_int_equal(PARSE(&cl, &out, &first, "-c", "a.cfg", "one.pcap", "two.pcap"), -1);
	assert_int_equal(first, 3);
	assert_false(out.check_config);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_and_own),
		cmocka_unit_test(test_exits),
		cmocka_unit_test(test_operands),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
