/* secret_file.c - a one-line secret read from a private file (secret_file.h). */
#include "io/secret_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "io/fd_io.h"

ssize_t secret_file_read(const char *path, char *buf, size_t size, char *err, size_t err_size)
{
	struct stat st;
	ssize_t got = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, err_size, "%s: not a regular file", path);
		goto out;
	}
	/* a secret readable by others is theirs too */
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, err_size, "%s: mode %04o is open to group or others (chmod 600)", path,
			 (unsigned)(st.st_mode & 07777));
		goto out;
	}
	got = fd_read_full(fd, buf, size);
	if (got < 0)
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
out:
	close(fd);
	return got;
}

bool secret_file_load(const char *path, char *out, size_t out_size, char *err, size_t err_size)
{
	char text[SECRET_FILE_MAX + 3];   /* the secret, CR LF, one byte to tell "too long" */
	size_t len;
	ssize_t got;
	bool ok = false;
	if (out_size > 0)
		out[0] = '\0';
	got = secret_file_read(path, text, sizeof(text), err, err_size);
	if (got < 0)
		goto out;
	len = (size_t)got;
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len > 0 && text[len - 1] == '\r')
		len--;
	if (len == 0) {
		snprintf(err, err_size, "%s: empty", path);
		goto out;
	}
	if (len > SECRET_FILE_MAX || len >= out_size) {
		snprintf(err, err_size, "%s: longer than %zu bytes", path,
			 (size_t)SECRET_FILE_MAX < out_size - 1 ? (size_t)SECRET_FILE_MAX : out_size - 1);
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) {
			snprintf(err, err_size, "%s: a control character or a second line at offset %zu (one "
				 "line: the secret)", path, i);
			goto out;
		}
	memcpy(out, text, len);
	out[len] = '\0';
	ok = true;
out:
	sodium_memzero(text, sizeof(text));
	return ok;
}
