/* daemonize.c - the fork and the readiness pipe (daemonize.h). */
#include "sarad/daemonize.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int daemonize(void)
{
	int fds[2];
	pid_t pid;
	char ok;
	if (pipe(fds) < 0) {
		fprintf(stderr, "sarad: pipe: %s\n", strerror(errno));
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "sarad: fork: %s\n", strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		int status;
		close(fds[1]);
		if (read(fds[0], &ok, 1) == 1)
			exit(0);
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
			exit(WEXITSTATUS(status));
		exit(1);
	}
	close(fds[0]);
	setsid();
	return fds[1];
}

void daemonize_ready(int ready_fd)
{
	int null = open("/dev/null", O_RDWR);
	char ok = 1;
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (write(ready_fd, &ok, 1) != 1) {
		/* the parent is gone: nothing to tell */
	}
	close(ready_fd);
}
