/* reload.c - sara-agent's SIGHUP (reload.h). */
#include "sara-agent/reload.h"

#include <stdio.h>
#include <string.h>

#include "io/config_file.h"
#include "io/key_file.h"

/* Whether a and b send to the same dispatchers, in the same order
 * (sara_config_dispatcher_endpoints of their LISTEN key). */
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
	if (sara_config_dispatcher_endpoints(&out->cfg, &out->cfg.agents.listen, (struct endpoint[SARA_MAX_DISPATCHERS]){ 0 },
					     SARA_MAX_DISPATCHERS) == 0) {
		snprintf(err, err_size, "%s: nowhere to report to (agents.listen a wildcard, no ha.dispatchers)", path);
		return false;
	}
	if (!key_file_load(out->cfg.key_file, &out->key, why, sizeof(why))) {
		snprintf(err, err_size, "key_file %s", why);
		return false;
	}
	out->channel_changed = !same_destinations(&out->cfg, &out->cfg.agents.listen, running, &running->agents.listen) ||
			       memcmp(&out->key, running_key, sizeof(out->key)) != 0;
	out->interval_changed = out->cfg.agents.interval_ms != running->agents.interval_ms;
	return true;
}
