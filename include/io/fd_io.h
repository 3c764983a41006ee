/* fd_io.h - reads and writes on a file descriptor that go on through
 * signals and short transfers until the whole length is done; waits and
 * connects bounded by a deadline. */
#ifndef SARA_FD_IO_H
#define SARA_FD_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Reads until len bytes or the end of the file: the bytes read, or -1 with
 * errno set. */
ssize_t fd_read_full(int fd, void *buf, size_t len);
/* Writes all len bytes: 0, or -errno (-EIO when the fd takes nothing). */
int fd_write_all(int fd, const void *buf, size_t len);
/* Waits (through signals) until fd has one of events or deadline_ms
 * (CLOCK_MONOTONIC) passes: true when ready; false at the deadline
 * (errno ETIMEDOUT) or on an error (errno set). */
bool fd_wait_until(int fd, short events, uint64_t deadline_ms);
/* Connects the non-blocking socket fd to sa by deadline_ms: false with
 * errno set (the connection's own error, or ETIMEDOUT). */
bool fd_connect_until(int fd, const struct sockaddr *sa, socklen_t len, uint64_t deadline_ms);

#endif
