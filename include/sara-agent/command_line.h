/* command_line.h - sara-agent's options: what to run (the agent, a check,
 * or the --decode receiver) and the agent's settings. */
#ifndef SARA_AGENT_COMMAND_LINE_H
#define SARA_AGENT_COMMAND_LINE_H

#include <stdbool.h>

#include "io/program_options.h"
#include "sara-agent/agent.h"

struct command_line {
	struct agent_settings agent;  /* cfg, key and server are the caller's to fill */
	struct program_options shared;  /* -c, --check-config */
	const char *id, *listen_text;
	bool decode;
	unsigned long count;          /* --decode: datagrams before exiting; 0 = no limit */
};

/* Fills cl (defaults first). Returns -1 to go on, else the exit status:
 * 0 after --help, 2 after a bad option (said on stderr, with the usage). */
int parse_command_line(int argc, char **argv, struct command_line *cl);

/* "cpu,backlog" -> the bits of those components; false on an unknown name
 * or an empty list. "all" names every component. */
bool parse_components(const char *text, unsigned *out);

#endif
