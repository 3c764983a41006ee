/* program_start.h - what the sealed-channel programs (sara-agent, sara-gw)
 * share before they run: option numbers, the cluster's configuration with
 * its key, and the address --decode listens on. */
#ifndef SARA_PROGRAM_START_H
#define SARA_PROGRAM_START_H

#include <stdbool.h>

#include "engine/config.h"
#include "engine/wire.h"

/* A decimal option value 0..max, the whole text; false otherwise. */
bool option_number(const char *text, unsigned long max, unsigned long *out);
/* The configuration at path, then its key_file; false after logging why
 * as prog (to stderr too, before the daemon's logging is set up). */
bool program_load_config(const char *prog, const char *path, struct sara_config *cfg, struct wire_key *key);
/* Where --decode listens: listen_text when given, else configured (the
 * setting named setting in config_path); false after saying why. */
bool decode_endpoint(const char *prog, const char *listen_text, const struct endpoint *configured,
		     const char *setting, const char *config_path, struct endpoint *at);

#endif
