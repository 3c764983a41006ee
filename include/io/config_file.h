/* config_file.h - reads one cluster's configuration from a libconfig file. */
#ifndef SARA_CONFIG_FILE_H
#define SARA_CONFIG_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/config.h"

/* Loads and validates path. On failure returns false and writes
 * "path:line: reason" (or "path: reason") into err. */
bool sara_config_load(const char *path, struct sara_config *cfg, char *err, size_t err_size);

#endif
