/* fd_io.h - reads and writes on a file descriptor that go on through
 * signals and short transfers until the whole length is done. */
#ifndef SARA_FD_IO_H
#define SARA_FD_IO_H

#include <stddef.h>
#include <sys/types.h>

/* Reads until len bytes or the end of the file: the bytes read, or -1 with
 * errno set. */
ssize_t fd_read_full(int fd, void *buf, size_t len);
/* Writes all len bytes: 0, or -errno (-EIO when the fd takes nothing). */
int fd_write_all(int fd, const void *buf, size_t len);

#endif
