/* test_fd_io.c - unit tests for the whole-length reads and writes: a read
 * that stops at the end of the data, a full write, a bad fd. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/fd_io.h"

static void test_write_then_read(void **state)
{
	int fds[2];
	char buf[32];
	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(fd_write_all(fds[1], "hello, ", 7), 0);
	assert_int_equal(fd_write_all(fds[1], "world", 5), 0);
	close(fds[1]);
	/* Asks for more than there is: stops at the end of the data. */
	assert_int_equal(fd_read_full(fds[0], buf, sizeof(buf)), 12);
	assert_memory_equal(buf, "hello, world", 12);
	assert_int_equal(fd_read_full(fds[0], buf, sizeof(buf)), 0);
	close(fds[0]);
}

static void test_read_stops_at_len(void **state)
{
	int fds[2];
	char buf[4];
	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(fd_write_all(fds[1], "abcdef", 6), 0);
	assert_int_equal(fd_read_full(fds[0], buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "abcd", 4);
	close(fds[1]);
	close(fds[0]);
}

static void test_bad_fd(void **state)
{
	char buf[4] = { 0 };
	(void)state;
	assert_int_equal(fd_read_full(-1, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(fd_write_all(-1, buf, sizeof(buf)), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_then_read),
		cmocka_unit_test(test_read_stops_at_len),
		cmocka_unit_test(test_bad_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
