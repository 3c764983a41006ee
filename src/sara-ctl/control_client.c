/* control_client.c - asks sarad over its control socket
 * (control_client.h). */
#include "sara-ctl/control_client.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "io/clock.h"
#include "sara-ctl/ctl.h"

#define FIRST_READ_SIZE (64 * 1024)  /* most answers are a few KiB */

/* A connected socket, or -1 after saying why (*status: the exit status). */
static int connect_sarad(const struct sara_config *cfg, int *status)
{
	struct sockaddr_un addr;
	int fd;
	*status = EXIT_FAILED;
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	if (strlen(cfg->control.socket) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "%s: control socket path too long: %s\n", CTL_PROGRAM, cfg->control.socket);
		*status = EXIT_USAGE;
		return -1;
	}
	memcpy(addr.sun_path, cfg->control.socket, strlen(cfg->control.socket) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "%s: socket: %s\n", CTL_PROGRAM, strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
		return fd;
	if (errno == ENOENT || errno == ECONNREFUSED)
		fprintf(stderr, "%s: sarad is not running for cluster %s (nothing listens on %s: %s)\n", CTL_PROGRAM,
			cfg->name, cfg->control.socket, strerror(errno));
	else
		fprintf(stderr, "%s: cannot connect to %s: %s\n", CTL_PROGRAM, cfg->control.socket, strerror(errno));
	close(fd);
	return -1;
}

/* Reads to EOF within the deadline into a growing buffer (malloc'd,
 * room for a NUL). Returns the length, or -1 after saying why. */
static long read_answer(int fd, const struct sara_config *cfg, size_t max, char **doc_out)
{
	uint64_t deadline = clock_ms(CLOCK_MONOTONIC) + CONTROL_CLIENT_TIMEOUT_MS;
	size_t len = 0, cap = 0;
	char *doc = NULL;
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		uint64_t t = clock_ms(CLOCK_MONOTONIC);
		ssize_t r;
		if (t >= deadline || poll(&pfd, 1, (int)(deadline - t)) == 0) {
			fprintf(stderr, "%s: sarad did not finish its answer within %d ms\n", CTL_PROGRAM,
				CONTROL_CLIENT_TIMEOUT_MS);
			goto fail;
		}
		if (len == max) {
			fprintf(stderr, "%s: sarad's answer is larger than %zu bytes\n", CTL_PROGRAM, max);
			goto fail;
		}
		if (len == cap) {
			size_t fresh_cap = cap ? cap * 2 : FIRST_READ_SIZE;
			char *fresh;
			if (fresh_cap > max)
				fresh_cap = max;
			fresh = realloc(doc, fresh_cap + 1);
			if (!fresh) {
				fprintf(stderr, "%s: out of memory\n", CTL_PROGRAM);
				goto fail;
			}
			doc = fresh;
			cap = fresh_cap;
		}
		r = read(fd, doc + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "%s: reading from %s: %s\n", CTL_PROGRAM, cfg->control.socket, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	*doc_out = doc;
	return (long)len;
fail:
	free(doc);
	return -1;
}

int control_client_ask(const struct sara_config *cfg, const char *request, size_t max, char **doc_out,
		       size_t *len_out)
{
	size_t request_len = strlen(request);
	char *doc = NULL;
	long len;
	int status, fd = connect_sarad(cfg, &status);

	if (fd < 0)
		return status;
	status = EXIT_FAILED;
	if (send(fd, request, request_len, MSG_NOSIGNAL) != (ssize_t)request_len) {
		fprintf(stderr, "%s: sending to %s: %s\n", CTL_PROGRAM, cfg->control.socket, strerror(errno));
		goto out_close;
	}
	len = read_answer(fd, cfg, max, &doc);
	if (len < 0)
		goto out_close;
	if (len == 0) {
		fprintf(stderr, "%s: sarad closed the control connection without an answer\n", CTL_PROGRAM);
		free(doc);
		goto out_close;
	}
	doc[len] = '\0';
	*doc_out = doc;
	*len_out = (size_t)len;
	status = 0;
out_close:
	close(fd);
	return status;
}
