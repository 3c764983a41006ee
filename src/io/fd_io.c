/* fd_io.c - whole-length reads and writes on a file descriptor (fd_io.h). */
#include "io/fd_io.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

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
