/* program_start.c - start-up steps sara-agent and sara-gw share
 * (program_start.h). */
#include "io/program_start.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/config_file.h"
#include "io/key_file.h"
#include "io/log.h"

bool option_number(const char *text, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || end == text || *end != '\0' || text[0] == '-' || v > max)
		return false;
	*out = v;
	return true;
}

bool program_load_config(const char *prog, const char *path, struct sara_config *cfg, struct wire_key *key)
{
	char err[512];
	if (!sara_config_load(path, cfg, err, sizeof(err))) {
		log_early_error(prog, "%s", err);
		return false;
	}
	if (!key_file_load(cfg->key_file, key, err, sizeof(err))) {
		log_early_error(prog, "key_file %s", err);
		return false;
	}
	return true;
}

bool decode_endpoint(const char *prog, const char *listen_text, const struct endpoint *configured,
		     const char *setting, const char *config_path, struct endpoint *at)
{
	*at = *configured;
	if (listen_text && !endpoint_parse(span_make(listen_text, strlen(listen_text)), at)) {
		fprintf(stderr, "%s: --listen %s: want ADDR:PORT or [ADDR]:PORT\n", prog, listen_text);
		return false;
	}
	if (at->addr.family == 0) {
		fprintf(stderr, "%s: %s: %s is not set and no --listen given\n", prog, config_path, setting);
		return false;
	}
	return true;
}
