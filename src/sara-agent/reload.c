/* reload.c - sara-agent's SIGHUP (reload.h). */
#include "sara-agent/reload.h"

#include <stdio.h>
#include <string.h>

#include "io/config_file.h"
#include "io/program_start.h"

/* Whether a and b send to the same dispatchers, in the same order
 * (sara_config_dispatcher_endpoints of their LISTEN key). */
bool agent_reload_read(const char *path, const char *id, const struct sara_config *running,
		       const struct wire_key *running_key, struct agent_reload *out, char *err, size_t err_size)
{
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
	if (!program_reload_channel(path, &out->cfg, &out->cfg.agents.listen, "report to", running, &running->agents.listen,
				    running_key, &out->key, &out->channel_changed, err, err_size))
		return false;
	out->interval_changed = out->cfg.agents.interval_ms != running->agents.interval_ms;
	return true;
}
