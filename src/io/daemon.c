/* daemon.c - a background process that reports its start-up through a
 * readiness pipe (daemon.h). */
#include "io/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int daemonize(const char *prog)
{
	int fds[2], status;
	ssize_t n;
	pid_t pid;
	char ok;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		fprintf(stderr, "%s: pipe: %s\n", prog, strerror(errno));
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		close(fds[1]);
		/* One byte: the child is ready. End of file: it exited first. */
		do
			n = read(fds[0], &ok, 1);
		while (n < 0 && errno == EINTR);
		if (n == 1)
			exit(0);
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
			exit(WEXITSTATUS(status));
		exit(1);
	}
	close(fds[0]);
	setsid();
	return fds[1];
}

void daemon_ready(int ready_fd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	char ok = 1;

	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (write(ready_fd, &ok, 1) != 1) {
		/* the parent is gone: nobody to tell */
	}
	close(ready_fd);
}
