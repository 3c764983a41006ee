/* journal_file.h - the session journal's files: the current file appended
 * to with one write(2) per batch of records, its previous one while a
 * compaction runs (NAME.old), a whole new file put in place atomically, and
 * an unusable file moved aside rather than trusted or deleted. */
#ifndef SARA_IO_JOURNAL_FILE_H
#define SARA_IO_JOURNAL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"

#define JOURNAL_FILE_READ_MAX (1ull << 32)  /* a bigger file is not read (4 GiB) */

struct journal_file {
	char path[SARA_PATH_MAX];
	char old_path[SARA_PATH_MAX + 8];    /* path + ".old" */
	int fd;                              /* the current file, O_APPEND; -1 when none */
	uint64_t size;                       /* its length */
	int lock_fd;                         /* path.lock, flock'ed while this sarad uses the journal */
};

/* A whole file in memory. */
struct journal_bytes {
	uint8_t *data;
	size_t len;
	bool exists;
};

/* Names the files (path, path.old); opens nothing. False when the path is
 * too long. */
bool journal_file_init(struct journal_file *j, const char *path, char *err, size_t err_size);
/* Takes the journal for this process (flock on path.lock, released when
 * the process ends, however): a second sarad of the cluster on the host
 * must not replace the file the first one appends to. False with err
 * ("... in use by another process") when it is taken. */
bool journal_file_lock(struct journal_file *j, char *err, size_t err_size);
void journal_file_unlock(struct journal_file *j);
/* Reads the previous file (present only when a compaction was cut short)
 * and the current one. A missing file is not an error (exists false).
 * Errors as "path: reason". */
bool journal_file_read(const struct journal_file *j, struct journal_bytes *previous, struct journal_bytes *current,
		       char *err, size_t err_size);
void journal_bytes_free(struct journal_bytes *b);
/* Moves an unusable file aside as path.rejected-UNIXTIME (.N when that
 * exists); its new name in moved_to. */
bool journal_file_set_aside(const char *path, char *moved_to, size_t moved_size, char *err, size_t err_size);
/* The current file replaced by bytes as a whole (written to path.tmp,
 * fsync'd, renamed over path, the directory fsync'd), the previous file
 * removed, and the new one open for appending. */
bool journal_file_replace(struct journal_file *j, const uint8_t *bytes, size_t len, char *err, size_t err_size);
/* Appends bytes (one write(2), retried only for what a short write left).
 * 0, or -errno. */
int journal_file_append(struct journal_file *j, const uint8_t *bytes, size_t len);
/* A compaction starts: the current file becomes the previous one (path.old)
 * and a new current file begins with head (magic, header). Until
 * journal_file_settle, a restart reads both. */
bool journal_file_rotate(struct journal_file *j, const uint8_t *head, size_t head_len, char *err, size_t err_size);
/* The compaction is complete: the current file fsync'd, the previous removed. */
bool journal_file_settle(struct journal_file *j, char *err, size_t err_size);
void journal_file_close(struct journal_file *j);

#endif
