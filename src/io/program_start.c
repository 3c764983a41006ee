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

static bool same_destinations(const struct sara_config *a, const struct endpoint *a_listen,
			      const struct sara_config *b, const struct endpoint *b_listen)
{
	struct endpoint to_a[SARA_MAX_DISPATCHERS], to_b[SARA_MAX_DISPATCHERS];
	unsigned n_a = sara_config_dispatcher_endpoints(a, a_listen, to_a, SARA_MAX_DISPATCHERS);
	unsigned n_b = sara_config_dispatcher_endpoints(b, b_listen, to_b, SARA_MAX_DISPATCHERS);
	if (n_a != n_b)
		return false;
	for (unsigned i = 0; i < n_a; i++)
		if (to_a[i].port != to_b[i].port || !netaddr_equal(&to_a[i].addr, &to_b[i].addr))
			return false;
	return true;
}

bool program_reload_channel(const char *path, const struct sara_config *next, const struct endpoint *next_listen,
			    const char *what, const struct sara_config *running, const struct endpoint *running_listen,
			    const struct wire_key *running_key, struct wire_key *key, bool *changed, char *err,
			    size_t err_size)
{
	struct endpoint to[SARA_MAX_DISPATCHERS];
	char why[256];
	if (sara_config_dispatcher_endpoints(next, next_listen, to, SARA_MAX_DISPATCHERS) == 0) {
		snprintf(err, err_size, "%s: nowhere to %s (%s a wildcard, no ha.dispatchers)", path, what,
			 next_listen == &next->agents.listen ? "agents.listen" : "gateway.listen");
		return false;
	}
	if (!key_file_load(next->key_file, key, why, sizeof(why))) {
		snprintf(err, err_size, "key_file %s", why);
		return false;
	}
	*changed = !same_destinations(next, next_listen, running, running_listen) ||
		   memcmp(key, running_key, sizeof(*key)) != 0;
	return true;
}
