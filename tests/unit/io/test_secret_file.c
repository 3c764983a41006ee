/* test_secret_file.c - a one-line secret read from a private file: its
 * line end dropped; refused when others may read it, when empty, too
 * long, of two lines or with a control character; the error never
 * carries the secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/secret_file.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sara-secret-test.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* path of a file in dir holding len bytes of text, with mode. */
static const char *file_of(const char *name, const char *text, size_t len, mode_t mode)
{
	static char path[128];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void expect_refused(const char *path, const char *why)
{
	char out[64], err[256];
	memset(out, 'x', sizeof(out));
	assert_false(secret_file_load(path, out, sizeof(out), err, sizeof(err)));
	if (!strstr(err, why))
		print_error("expected \"%s\" in: %s\n", why, err);
	assert_non_null(strstr(err, why));
	assert_null(strstr(err, "s3cret"));
	assert_string_equal(out, "");
}

static void test_reads_one_line(void **state)
{
	char out[64], err[256];
	(void)state;
	assert_true(secret_file_load(file_of("a", "s3cret pass\n", 12, 0600), out, sizeof(out), err, sizeof(err)));
	assert_string_equal(out, "s3cret pass");   /* a space is the secret's */
	assert_true(secret_file_load(file_of("b", "s3cret\r\n", 8, 0400), out, sizeof(out), err, sizeof(err)));
	assert_string_equal(out, "s3cret");
	assert_true(secret_file_load(file_of("c", "s3cret", 6, 0600), out, sizeof(out), err, sizeof(err)));
	assert_string_equal(out, "s3cret");
}

static void test_refusals(void **state)
{
	char big[SECRET_FILE_MAX + 2];
	char out[SECRET_FILE_MAX + 8], err[256];
	(void)state;
	expect_refused(file_of("open", "s3cret\n", 7, 0640), "mode 0640 is open to group or others");
	expect_refused(file_of("empty", "\n", 1, 0600), "empty");
	expect_refused(file_of("two", "s3cret\nmore\n", 12, 0600), "a control character or a second line");
	expect_refused(file_of("tab", "s3\tcret\n", 8, 0600), "a control character");
	expect_refused(file_of("long", "s3cret-longer-than-the-buffer-of-sixty-four-bytes-given-to-it-here", 66, 0600),
		       "longer than 63 bytes");
	snprintf(big, sizeof(big), "%0*d", SECRET_FILE_MAX + 1, 7);
	assert_false(secret_file_load(file_of("huge", big, SECRET_FILE_MAX + 1, 0600), out, sizeof(out), err,
				      sizeof(err)));
	assert_non_null(strstr(err, "longer than 512 bytes"));
	expect_refused("/nonexistent/sara-secret", "No such file");
	expect_refused(dir, "not a regular file");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_one_line),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
