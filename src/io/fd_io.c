/* fd_io.c - whole-length reads and writes, bounded waits and connects on a
 * file descriptor (fd_io.h). */
#include "io/fd_io.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>

#include "io/clock.h"

ssize_t fd_read_full(int fd, void *buf, size_t len)
{
	uint8_t *at = buf;
	size_t done = 0;
	while (done < len) {
		ssize_t n = read(fd, at + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int fd_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *at = buf;
	while (len > 0) {
		ssize_t n = write(fd, at, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		at += n;
		len -= (size_t)n;
	}
	return 0;
}

bool fd_wait_until(int fd, short events, uint64_t deadline_ms)
{
	for (;;) {
		uint64_t now = clock_ms(CLOCK_MONOTONIC);
		struct pollfd pfd = { .fd = fd, .events = events };
		int n;
		if (now >= deadline_ms) {
			errno = ETIMEDOUT;
			return false;
		}
		n = poll(&pfd, 1, (int)(deadline_ms - now));
		if (n > 0)
			return true;
		if (n < 0 && errno != EINTR)
			return false;
	}
}

bool fd_connect_until(int fd, const struct sockaddr *sa, socklen_t len, uint64_t deadline_ms)
{
	int error = 0;
	socklen_t error_len = sizeof(error);
	if (connect(fd, sa, len) == 0)
		return true;
	if (errno != EINPROGRESS || !fd_wait_until(fd, POLLOUT, deadline_ms))
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_len) < 0)
		return false;
	errno = error;
	return error == 0;
}
