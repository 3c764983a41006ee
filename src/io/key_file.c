/* key_file.c - the shared key of the sealed control messages: read from a
 * file of 64 hex digits that only its owner may read, or generated. */
#include "io/key_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "io/fd_io.h"
#include "io/secret_file.h"

#define KEY_FILE_MAX 256  /* 64 hex digits plus generous whitespace */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool key_file_load(const char *path, struct wire_key *key, char *err, size_t err_size)
{
	char text[KEY_FILE_MAX + 1];
	size_t len, start, end;
	ssize_t got;
	bool ok = false;
	/* A cluster key readable by others lets them forge announcements. */
	got = secret_file_read(path, text, sizeof(text), err, err_size);
	if (got < 0)
		goto out;
	len = (size_t)got;
	if (len > KEY_FILE_MAX) {
		snprintf(err, err_size, "%s: too long for a key file (want 64 hex digits)", path);
		goto out;
	}
	start = 0;
	end = len;
	while (start < end && is_space(text[start]))
		start++;
	while (end > start && is_space(text[end - 1]))
		end--;
	if (end - start != 2 * WIRE_KEY_SIZE) {
		snprintf(err, err_size, "%s: key has %zu characters, want %d hex digits", path,
			 end - start, 2 * WIRE_KEY_SIZE);
		goto out;
	}
	for (size_t i = 0; i < WIRE_KEY_SIZE; i++) {
		int hi = hex_value(text[start + 2 * i]), lo = hex_value(text[start + 2 * i + 1]);
		if (hi < 0 || lo < 0) {
			snprintf(err, err_size, "%s: not a hex digit at offset %zu", path,
				 start + 2 * i + (hi < 0 ? 0 : 1));
			sodium_memzero(key, sizeof(*key));
			goto out;
		}
		key->bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	ok = true;
out:
	sodium_memzero(text, sizeof(text));
	return ok;
}

bool key_file_generate(const char *path, char *err, size_t err_size)
{
	uint8_t key[WIRE_KEY_SIZE];
	char text[2 * WIRE_KEY_SIZE + 2];
	size_t len;
	bool ok = false;
	int fd, rc;
	if (sodium_init() < 0) {
		snprintf(err, err_size, "%s: libsodium cannot initialise", path);
		return false;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return false;
	}
	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(text, sizeof(text), key, sizeof(key));
	len = strlen(text);
	text[len++] = '\n';
	rc = fd_write_all(fd, text, len);
	if (rc < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(-rc));
		goto out;
	}
	if (fsync(fd) != 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		goto out;
	}
	ok = true;
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(text, sizeof(text));
	if (close(fd) != 0 && ok) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		ok = false;
	}
	if (!ok)
		unlink(path);
	return ok;
}

