/* reload.h - sara-agent's SIGHUP: the configuration and key file read
 * again for the server the agent reports for (--id). Where it reports
 * (agents.listen), how often (agents.interval_ms), what it probes (the
 * server's address, the ports) and the key follow; a file that does not
 * load, has no agents.listen or no longer lists the server is refused, and
 * the running configuration stays. */
#ifndef SARA_AGENT_RELOAD_H
#define SARA_AGENT_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/config.h"
#include "engine/wire.h"

struct agent_reload {
	struct sara_config cfg;       /* the file as read */
	struct wire_key key;
	unsigned server;              /* the agent's server in cfg */
	bool channel_changed;         /* agents.listen, ha.dispatchers or the key: the channel opened again */
	bool interval_changed;
};

/* Reads path for server id, against the running cfg and key. False with
 * err when it is refused. */
bool agent_reload_read(const char *path, const char *id, const struct sara_config *running,
		       const struct wire_key *running_key, struct agent_reload *out, char *err, size_t err_size);

#endif
