/* test_udp_listen.c - the UDP socket bound to a configured endpoint: an
 * address this host lacks fails with the address and the reason; no
 * address at all is refused before any system call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dpi/span.h"
#include "io/udp_listen.h"

static void test_udp_listen_errors(void **state)
{
	struct endpoint at;
	char err[128];
	int fd;
	(void)state;
	memset(&at, 0, sizeof(at));
	assert_int_equal(udp_listen(&at, err, sizeof(err)), -1);
	assert_string_equal(err, "no address to listen on");
	assert_true(endpoint_parse(span_make("192.0.2.77:7410", 15), &at));
	assert_int_equal(udp_listen(&at, err, sizeof(err)), -1);
	assert_true(strncmp(err, "bind 192.0.2.77:7410: ", 22) == 0);
	assert_true(endpoint_parse(span_make("127.0.0.1:0", 11), &at));
	fd = udp_listen(&at, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_listen_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
