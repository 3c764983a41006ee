/* reload.c - sara-agent's SIGHUP (reload.h). */
#include "sara-agent/reload.h"

#include <stdio.h>
#include <string.h>

#include "io/config_file.h"
#include "io/key_file.h"

static bool same_endpoint(const struct endpoint *a, const struct endpoint *b)
{
	return a->port == b->port && netaddr_equal(&a->addr, &b->addr);
}

bool agent_reload_read(const char *path, const char *id, const struct sara_config *running,
		       const struct wire_key *running_key, struct agent_reload *out, char *err, size_t err_size)
{
	char why[512];
	bool found = false;
	memset(out, 0, sizeof(*out));
	if (!sara_config_load(path, &out->cfg, err, err_size))
		return false;
	for (unsigned i = 0; i < out->cfg.server_count && !found; i++)
		if (strcmp(out->cfg.servers[i].id, id) == 0) {
			out->server = i;
			found = true;
		}
	if (!found) {
		snprintf(err, err_size, "%s: server %s is no longer listed (this agent reports for it)", path, id);
		return false;
	}
	if (out->cfg.agents.listen.addr.family == 0) {
		snprintf(err, err_size, "%s: agents.listen is not set: the agent needs sarad's address", path);
		return false;
	}
	if (!key_file_load(out->cfg.key_file, &out->key, why, sizeof(why))) {
		snprintf(err, err_size, "key_file %s", why);
		return false;
	}
	out->channel_changed = !same_endpoint(&out->cfg.agents.listen, &running->agents.listen) ||
			       memcmp(&out->key, running_key, sizeof(out->key)) != 0;
	out->interval_changed = out->cfg.agents.interval_ms != running->agents.interval_ms;
	return true;
}
