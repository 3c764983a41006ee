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
/* On SIGHUP: next has somewhere to send (its dispatchers behind
 * next_listen, "nowhere to WHAT" otherwise), its key_file reads into key,
 * and *changed says whether the channel must be opened again (other
 * destinations or another key than running's). */
bool program_reload_channel(const char *path, const struct sara_config *next, const struct endpoint *next_listen,
			    const char *what, const struct sara_config *running, const struct endpoint *running_listen,
			    const struct wire_key *running_key, struct wire_key *key, bool *changed, char *err,
			    size_t err_size);

#endif
