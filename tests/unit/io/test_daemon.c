/* test_daemon.c - daemonize's readiness pipe: the starting process exits 0
 * only once the daemon says it is ready (and the daemon runs on, detached
 * in its own session), else with the daemon's exit status, or 1 when it was
 * killed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/daemon.h"

enum ending { READY, EXIT_3, KILLED };

/* Forks a starter that daemonizes; the daemon writes its pid into the
 * report pipe, then ends as told (READY: stays until release is readable).
 * Returns the starter's wait status. */
static int start(enum ending ending, const int report[2], int release, pid_t *daemon_pid)
{
	int status;
	pid_t starter = fork();
	assert_true(starter >= 0);
	if (starter == 0) {
		int ready_fd = daemonize("test_daemon");
		pid_t self = getpid();
		char byte;
		if (write(report[1], &self, sizeof(self)) != sizeof(self))
			_exit(99);
		if (ending == EXIT_3)
			_exit(3);
		if (ending == KILLED)
			raise(SIGKILL);
		daemon_ready(ready_fd);
		if (read(release, &byte, 1) < 0)
			_exit(98);
		_exit(0);
	}
	assert_int_equal(waitpid(starter, &status, 0), starter);
	assert_int_equal(read(report[0], daemon_pid, sizeof(*daemon_pid)), sizeof(*daemon_pid));
	return status;
}

static void test_ready_daemon_runs_on(void **state)
{
	int report[2], release[2], status;
	char link[64], target[64] = { 0 };
	pid_t pid;
	(void)state;
	assert_int_equal(pipe(report), 0);
	assert_int_equal(pipe(release), 0);
	status = start(READY, report, release[0], &pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(kill(pid, 0), 0);      /* still running */
	assert_int_equal(getsid(pid), pid);     /* its own session */
	snprintf(link, sizeof(link), "/proc/%d/fd/1", (int)pid);
	assert_true(readlink(link, target, sizeof(target) - 1) > 0);
	assert_string_equal(target, "/dev/null");
	assert_int_equal(write(release[1], "x", 1), 1);
	for (int i = 0; i < 200 && kill(pid, 0) == 0; i++)
		usleep(10000);
	close(report[0]);
	close(report[1]);
	close(release[0]);
	close(release[1]);
}

static void test_failed_start_passes_its_status(void **state)
{
	int report[2], status;
	pid_t pid;
	(void)state;
	assert_int_equal(pipe(report), 0);
	status = start(EXIT_3, report, -1, &pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
	status = start(KILLED, report, -1, &pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	close(report[0]);
	close(report[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ready_daemon_runs_on),
		cmocka_unit_test(test_failed_start_passes_its_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
