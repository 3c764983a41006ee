/* main.c - sara-agent, the node agent on each server: options and the
 * configuration, then the agent (sealed heartbeats and load reports to
 * sarad every agents.interval_ms) or, with --decode, the receiver. */
#include <stdio.h>
#include <string.h>

#include "io/log.h"
#include "io/program_start.h"
#include "sara-agent/agent.h"
#include "sara-agent/command_line.h"
#include "sara-agent/decoder.h"

static int decode(const struct command_line *cl, const struct sara_config *cfg, const struct wire_key *key)
{
	struct endpoint at;
	if (!decode_endpoint("sara-agent", cl->listen_text, &cfg->agents.listen, "agents.listen", cl->shared.config_path,
			     &at))
		return 2;
	return agent_decode_run(cfg, key, &at, cl->count);
}

/* The server named by --id; false (after saying why) when there is none. */
static bool find_server(const struct command_line *cl, const struct sara_config *cfg, unsigned *server)
{
	if (!cl->id) {
		fprintf(stderr, "sara-agent: --id ID is required (a server id from %s)\n", cl->shared.config_path);
		return false;
	}
	for (unsigned i = cfg->server_count; i-- > 0;)
		if (strcmp(cfg->servers[i].id, cl->id) == 0) {
			*server = i;
			return true;
		}
	fprintf(stderr, "sara-agent: --id %s: no such server in %s\n", cl->id, cl->shared.config_path);
	return false;
}

int main(int argc, char **argv)
{
	static struct sara_config cfg;  /* large: not on the stack */
	struct command_line cl;
	struct wire_key key;
	char where[ENDPOINT_STRLEN];
	int rc;

	log_open("sara-agent", true, false);
	if ((rc = parse_command_line(argc, argv, &cl)) >= 0)
		return rc;
	if (!program_load_config("sara-agent", cl.shared.config_path, &cfg, &key))
		return 2;
	if (cl.decode)
		return decode(&cl, &cfg, &key);
	if (!find_server(&cl, &cfg, &cl.agent.server))
		return 2;
	if (cfg.agents.listen.addr.family == 0) {
		fprintf(stderr, "sara-agent: %s: agents.listen is not set: the agent needs sarad's address\n",
			cl.shared.config_path);
		return 2;
	}
	if (cl.shared.check_config) {
		printf("%s: ok (server %s, sender %u, reporting to %s every %u ms, probe %s)\n", cl.shared.config_path, cl.id,
		       agent_sender_id(cl.id), endpoint_format(&cfg.agents.listen, where, sizeof(where)),
		       cfg.agents.interval_ms, probe_kind_name(cl.agent.probe.kind));
		return 0;
	}
	cl.agent.cfg = &cfg;
	cl.agent.key = &key;
	cl.agent.config_path = cl.shared.config_path;
	return agent_run(&cl.agent);
}
