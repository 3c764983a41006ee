/* key_file.h - reads or creates the key that seals control messages. */
#ifndef SARA_KEY_FILE_H
#define SARA_KEY_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/wire.h"

/* Key file: 64 hex digits (whitespace around them ignored). Refuses files
 * readable by group or others. Errors as "path: reason". */
bool key_file_load(const char *path, struct wire_key *key, char *err, size_t err_size);
/* Writes a fresh random key (mode 0600); fails if path exists. */
bool key_file_generate(const char *path, char *err, size_t err_size);

#endif
