/* command_line.h - sara-ctl's command line: the options, the command and
 * its operand, checked against the rules flags and sarad's command table
 * (control_commands.h); the usage text. */
#ifndef SARA_CTL_COMMAND_LINE_H
#define SARA_CTL_COMMAND_LINE_H

#include <stdbool.h>
#include <stdio.h>

#include "sara-ctl/rules.h"
#include "sara-ctl/sarad_request.h"

#define COMMAND_LINE_PARSED (-1) /* go on; any other value is the exit status */

/* What the command line asked for. */
struct command_line {
	const char *config_path;
	const char *command;         /* NULL: only --check-config */
	const char *server, *limit;  /* --server, --limit */
	const char *self;            /* --self (bird, conntrackd) */
	const char *key, *client, *since; /* --key, --client, --since */
	bool check_config, json, json_lines, rules_flags, backend_set, role_set, operation_set;
	struct rules_options rules;
	struct sarad_request sarad;  /* .command NULL: not a sarad command */
};

/* Parses argv (getopt_long: restarts it). COMMAND_LINE_PARSED, or the exit
 * status after printing the usage or saying what is wrong on stderr
 * (0 for --help, usage on stdout). */
int command_line_parse(int argc, char **argv, struct command_line *out);
void command_line_usage(FILE *out);
/* bird or conntrackd: a command that prints another program's configuration. */
bool command_line_is_ha(const char *command);

#endif
