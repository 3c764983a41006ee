/* test_service_notify.c - the readiness messages arrive at a fake
 * NOTIFY_SOCKET (a UNIX datagram socket this test binds) as systemd would
 * read them: READY=1 with its STATUS, RELOADING=1 with MONOTONIC_USEC,
 * STOPPING=1, and WATCHDOG=1 from the event loop at half WATCHDOG_USEC;
 * nothing is sent, and no timer added, when the variables are unset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "io/event_loop.h"
#include "io/log.h"
#include "io/service_notify.h"

struct fake_manager {
	char dir[64];
	char path[128];
	int fd;
};

static int setup(void **state)
{
	struct fake_manager *m = calloc(1, sizeof(*m));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 2 };
	assert_non_null(m);
	log_open("test", false, false);
	snprintf(m->dir, sizeof(m->dir), "/tmp/sara-notify.XXXXXX");
	assert_non_null(mkdtemp(m->dir));
	snprintf(m->path, sizeof(m->path), "%s/notify", m->dir);
	m->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(m->fd >= 0);
	assert_true(strlen(m->path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, m->path, strlen(m->path) + 1);
	assert_int_equal(bind(m->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* A message that never comes fails the test instead of hanging it. */
	assert_int_equal(setsockopt(m->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", m->path, 1), 0);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	*state = m;
	return 0;
}

static int teardown(void **state)
{
	struct fake_manager *m = *state;
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	close(m->fd);
	unlink(m->path);
	rmdir(m->dir);
	log_close();
	free(m);
	return 0;
}

/* The next datagram, NUL-terminated; "" when none came within 2 s. */
static const char *receive(struct fake_manager *m)
{
	static char text[1024];
	ssize_t n = recv(m->fd, text, sizeof(text) - 1, 0);
	text[n > 0 ? n : 0] = '\0';
	return text;
}

static bool nothing_waiting(struct fake_manager *m)
{
	char byte;
	return recv(m->fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK) < 0;
}

static void test_ready_with_status(void **state)
{
	struct fake_manager *m = *state;
	service_notify_ready("serving cluster c1");
	assert_string_equal(receive(m), "READY=1\nSTATUS=serving cluster c1");
	service_notify_ready(NULL);
	assert_string_equal(receive(m), "READY=1");
	assert_true(nothing_waiting(m));
}

static void test_reloading_then_ready_then_stopping(void **state)
{
	struct fake_manager *m = *state;
	struct timespec ts;
	unsigned long long usec, now_usec;
	const char *text;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now_usec = (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000u;
	service_notify_reloading();
	text = receive(m);
	assert_int_equal(sscanf(text, "RELOADING=1\nMONOTONIC_USEC=%llu", &usec), 1);
	/* The manager's clock: CLOCK_MONOTONIC, in microseconds. */
	assert_true(usec >= now_usec && usec < now_usec + 1000000ull);
	service_notify_ready(NULL);
	assert_string_equal(receive(m), "READY=1");
	service_notify_status("draining");
	assert_string_equal(receive(m), "STATUS=draining");
	service_notify_stopping();
	assert_string_equal(receive(m), "STOPPING=1");
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* WatchdogSec=200ms: one WATCHDOG=1 at once, then one every 100 ms from
 * the loop's timer, and only while the loop turns. */
static void test_watchdog_from_the_loop(void **state)
{
	struct fake_manager *m = *state;
	char err[128], pid[32];
	struct event_loop *loop = event_loop_create(err, sizeof(err));
	uint64_t start;
	int kicks = 0;
	assert_non_null(loop);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	assert_int_equal(setenv("WATCHDOG_USEC", "200000", 1), 0);
	assert_int_equal(setenv("WATCHDOG_PID", pid, 1), 0);
	assert_int_equal(service_watchdog_interval_ms(), 100);
	assert_int_equal(service_watchdog_attach(loop, err, sizeof(err)), 0);
	assert_string_equal(receive(m), "WATCHDOG=1");
	start = monotonic_ms();
	while (monotonic_ms() - start < 450)
		assert_true(event_loop_run_once(loop, 50, err, sizeof(err)) >= 0);
	while (!nothing_waiting(m)) {
		assert_string_equal(receive(m), "WATCHDOG=1");
		kicks++;
	}
	assert_in_range(kicks, 2, 5); /* 4 on time; a loaded machine may merge one */
	/* A stuck loop sends nothing. */
	usleep(250000);
	assert_true(nothing_waiting(m));
	event_loop_destroy(loop);
}

/* The watchdog of another process (WATCHDOG_PID not ours) is not ours to feed. */
static void test_watchdog_of_another_pid(void **state)
{
	struct fake_manager *m = *state;
	char err[128], pid[32];
	struct event_loop *loop = event_loop_create(err, sizeof(err));
	assert_non_null(loop);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	assert_int_equal(setenv("WATCHDOG_USEC", "200000", 1), 0);
	assert_int_equal(setenv("WATCHDOG_PID", pid, 1), 0);
	assert_int_equal(service_watchdog_interval_ms(), 0);
	assert_int_equal(service_watchdog_attach(loop, err, sizeof(err)), 0);
	assert_int_equal(event_loop_run_once(loop, 250, err, sizeof(err)), 0);
	assert_true(nothing_waiting(m));
	event_loop_destroy(loop);
}

/* Not started by systemd: no socket, no watchdog, nothing sent, no timer. */
static void test_without_notify_socket(void **state)
{
	struct fake_manager *m = *state;
	char err[128];
	struct event_loop *loop = event_loop_create(err, sizeof(err));
	assert_non_null(loop);
	unsetenv("NOTIFY_SOCKET");
	service_notify_ready("x");
	service_notify_reloading();
	service_notify_stopping();
	assert_int_equal(service_watchdog_interval_ms(), 0);
	assert_int_equal(service_watchdog_attach(loop, err, sizeof(err)), 0);
	assert_int_equal(event_loop_run_once(loop, 150, err, sizeof(err)), 0);
	assert_true(nothing_waiting(m));
	event_loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ready_with_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reloading_then_ready_then_stopping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watchdog_from_the_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watchdog_of_another_pid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_notify_socket, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
