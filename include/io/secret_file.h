/* secret_file.h - reads a one-line secret (a password) from a file only
 * its owner may read. */
#ifndef SARA_SECRET_FILE_H
#define SARA_SECRET_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SECRET_FILE_MAX 512   /* bytes of the secret, its line end not counted */

/* Up to size bytes of a regular file only its owner may read or write,
 * into buf; how many, or -1 with err ("path: reason"). The keys' and
 * passwords' common check; the caller wipes buf. */
ssize_t secret_file_read(const char *path, char *buf, size_t size, char *err, size_t err_size);
/* The file's first line, trailing CR/LF dropped, into out (NUL-terminated).
 * Refuses a file readable or writable by group or others, an empty secret,
 * one longer than SECRET_FILE_MAX or than out, and one with a control
 * character or more than one line. Errors as "path: reason" (never the
 * secret). */
bool secret_file_load(const char *path, char *out, size_t out_size, char *err, size_t err_size);

#endif
