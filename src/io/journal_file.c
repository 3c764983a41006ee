/* journal_file.c - the session journal's files (journal_file.h). */
#include "io/journal_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io/fd_io.h"

#define JOURNAL_FILE_MODE 0600   /* client addresses and call ids: the operator's only */

bool journal_file_init(struct journal_file *j, const char *path, char *err, size_t err_size)
{
	memset(j, 0, sizeof(*j));
	j->fd = -1;
	j->lock_fd = -1;
	if (strlen(path) + sizeof(".rejected-18446744073709551615") > sizeof(j->path)) {
		snprintf(err, err_size, "%s: path too long", path);
		return false;
	}
	snprintf(j->path, sizeof(j->path), "%s", path);
	snprintf(j->old_path, sizeof(j->old_path), "%s.old", path);
	return true;
}

bool journal_file_lock(struct journal_file *j, char *err, size_t err_size)
{
	char lock_path[SARA_PATH_MAX + 8];
	snprintf(lock_path, sizeof(lock_path), "%s.lock", j->path);
	j->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, JOURNAL_FILE_MODE);
	if (j->lock_fd < 0) {
		snprintf(err, err_size, "%s: %s", lock_path, strerror(errno));
		return false;
	}
	if (flock(j->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, err_size, "%s: %s", j->path,
			 errno == EWOULDBLOCK ? "in use by another process (another sarad of this cluster?)"
					      : strerror(errno));
		close(j->lock_fd);
		j->lock_fd = -1;
		return false;
	}
	return true;
}

void journal_file_unlock(struct journal_file *j)
{
	if (j->lock_fd >= 0)
		close(j->lock_fd);
	j->lock_fd = -1;
}

/* The whole of path; exists false when there is none. */
static bool read_whole(const char *path, struct journal_bytes *out, char *err, size_t err_size)
{
	struct stat st;
	ssize_t got;
	int fd;
	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return true;
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return false;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > JOURNAL_FILE_READ_MAX) {
		snprintf(err, err_size, "%s: %s", path,
			 !S_ISREG(st.st_mode) ? "not a regular file" : "larger than a journal can be");
		goto fail_close;
	}
	out->exists = true;
	out->data = malloc((size_t)st.st_size + 1);
	if (!out->data) {
		snprintf(err, err_size, "%s: out of memory for %lld bytes", path, (long long)st.st_size);
		goto fail_close;
	}
	got = fd_read_full(fd, out->data, (size_t)st.st_size);
	if (got < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		goto fail_free;
	}
	out->len = (size_t)got;   /* less when it shrank meanwhile: what is there */
	close(fd);
	return true;

fail_free:
	journal_bytes_free(out);
fail_close:
	close(fd);
	return false;
}

bool journal_file_read(const struct journal_file *j, struct journal_bytes *previous, struct journal_bytes *current,
		       char *err, size_t err_size)
{
	memset(current, 0, sizeof(*current));
	if (!read_whole(j->old_path, previous, err, err_size))
		return false;
	if (!read_whole(j->path, current, err, err_size)) {
		journal_bytes_free(previous);
		return false;
	}
	return true;
}

void journal_bytes_free(struct journal_bytes *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

bool journal_file_set_aside(const char *path, char *moved_to, size_t moved_size, char *err, size_t err_size)
{
	long long now = (long long)time(NULL);
	/* never over an earlier one */
	snprintf(moved_to, moved_size, "%s.rejected-%lld", path, now);
	for (unsigned n = 1; access(moved_to, F_OK) == 0 && n < 1000; n++)
		snprintf(moved_to, moved_size, "%s.rejected-%lld.%u", path, now, n);
	if (rename(path, moved_to) < 0) {
		snprintf(err, err_size, "%s: cannot move it aside: %s", path, strerror(errno));
		return false;
	}
	return true;
}

/* The directory holding path, fsync'd: a rename is durable once it is. */
static void sync_directory(const char *path)
{
	char dir[SARA_PATH_MAX + 16];
	int fd;
	snprintf(dir, sizeof(dir), "%s", path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static int open_append(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW, JOURNAL_FILE_MODE);
}

bool journal_file_replace(struct journal_file *j, const uint8_t *bytes, size_t len, char *err, size_t err_size)
{
	char tmp[SARA_PATH_MAX + 8];
	int fd, rc;
	snprintf(tmp, sizeof(tmp), "%s.tmp", j->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, JOURNAL_FILE_MODE);
	if (fd < 0) {
		snprintf(err, err_size, "%s: %s", tmp, strerror(errno));
		return false;
	}
	rc = fd_write_all(fd, bytes, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && rename(tmp, j->path) < 0)
		rc = -errno;
	if (rc < 0) {
		snprintf(err, err_size, "%s: %s", tmp, strerror(-rc));
		unlink(tmp);
		return false;
	}
	unlink(j->old_path);
	sync_directory(j->path);
	journal_file_close(j);
	j->fd = open_append(j->path);
	if (j->fd < 0) {
		snprintf(err, err_size, "%s: %s", j->path, strerror(errno));
		return false;
	}
	j->size = len;
	return true;
}

int journal_file_append(struct journal_file *j, const uint8_t *bytes, size_t len)
{
	int rc;
	if (j->fd < 0)
		return -EBADF;
	rc = fd_write_all(j->fd, bytes, len);
	if (rc == 0)
		j->size += len;
	return rc;
}

bool journal_file_rotate(struct journal_file *j, const uint8_t *head, size_t head_len, char *err, size_t err_size)
{
	int fd, rc;
	/* A previous file still there (a settle that failed) holds records
	 * the current one may lack: never overwrite it. */
	if (access(j->old_path, F_OK) == 0) {
		snprintf(err, err_size, "%s: still there from an earlier compaction", j->old_path);
		return false;
	}
	if (rename(j->path, j->old_path) < 0) {
		snprintf(err, err_size, "%s: %s", j->path, strerror(errno));
		return false;
	}
	fd = open(j->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, JOURNAL_FILE_MODE);
	if (fd < 0) {
		snprintf(err, err_size, "%s: %s", j->path, strerror(errno));
		rename(j->old_path, j->path);
		return false;
	}
	rc = fd_write_all(fd, head, head_len);
	if (rc < 0) {
		snprintf(err, err_size, "%s: %s", j->path, strerror(-rc));
		close(fd);
		unlink(j->path);
		rename(j->old_path, j->path);
		return false;
	}
	journal_file_close(j);
	j->fd = fd;
	j->size = head_len;
	return true;
}

bool journal_file_settle(struct journal_file *j, char *err, size_t err_size)
{
	if (j->fd < 0 || fsync(j->fd) < 0) {
		snprintf(err, err_size, "%s: %s", j->path, j->fd < 0 ? "not open" : strerror(errno));
		return false;
	}
	if (unlink(j->old_path) < 0 && errno != ENOENT) {
		snprintf(err, err_size, "%s: %s", j->old_path, strerror(errno));
		return false;
	}
	sync_directory(j->path);
	return true;
}

void journal_file_close(struct journal_file *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
}
