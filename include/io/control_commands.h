/* control_commands.h - the commands of sarad's control socket, each once:
 * name, operand, options and help. The socket dispatches and checks
 * arguments through this table; sara-ctl builds its usage and checks its
 * command line from it. */
#ifndef SARA_CONTROL_COMMANDS_H
#define SARA_CONTROL_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Plain integers: the help text spells them (CONTROL_TEXT). */
#define CONTROL_SESSIONS_LIMIT_DEFAULT 1000     /* sessions listed without --limit */
#define CONTROL_SESSIONS_LIMIT_MAX 100000
#define CONTROL_REFUSED_SINCE_DEFAULT 60       /* seconds of refusals without --since */
#define CONTROL_REFUSED_SINCE_MAX 300          /* REFUSAL_WINDOW_S: what sarad counts */
#define CONTROL_TEXT_(n) #n
#define CONTROL_TEXT(n) CONTROL_TEXT_(n)

#define CONTROL_OPTIONS_MAX 4
#define CONTROL_USAGE_MAX 128   /* "sessions [--server ID] [--limit N] [--key CALL-ID] [--client ADDR]" */

enum control_command_id {
	CONTROL_STATUS,
	CONTROL_SERVERS,
	CONTROL_SESSIONS,
	CONTROL_DRAIN,
	CONTROL_UNDRAIN,
	CONTROL_REFUSED,
	CONTROL_PING,
	CONTROL_COMMAND_COUNT
};

/* The option indices of sessions and refused (struct control_args values). */
enum { CONTROL_SESSIONS_SERVER = 0, CONTROL_SESSIONS_LIMIT = 1, CONTROL_SESSIONS_KEY = 2, CONTROL_SESSIONS_CLIENT = 3 };
enum { CONTROL_REFUSED_SINCE = 0 };

/* "--limit N": an option and the name of its value. */
struct control_option {
	const char *name;
	const char *value;
};

struct control_command {
	enum control_command_id id;
	const char *name;
	const char *operand;          /* the one word after the name ("ID"); NULL: none */
	struct control_option options[CONTROL_OPTIONS_MAX]; /* name NULL: no more */
	const char *help;             /* one line per '\n', for sara-ctl's usage */
	bool needs_engine;            /* refused by a control socket without one */
	bool in_sara_ctl;             /* sara-ctl offers it (ping is for scripts) */
};

/* A command's words after its name, checked against its entry. */
struct control_args {
	const char *operand;
	const char *values[CONTROL_OPTIONS_MAX]; /* by option index; NULL: not given */
};

/* The table, in the order of help texts; *count set. */
const struct control_command *control_commands(unsigned *count);
/* The command called name, or NULL. */
const struct control_command *control_command_find(const char *name);
/* The index of option in cmd's options ("--limit"), or -1. */
int control_command_option(const struct control_command *cmd, const char *option);
/* "sessions [--server ID] [--limit N]": name, operand, options. */
void control_command_usage(const struct control_command *cmd, char *out, size_t size);
/* Checks words (those after the name) against cmd: its operand exactly
 * once when it has one, each option at most with its value. false with
 * err filled ("usage: drain ID", "sessions: unexpected \"x\"; usage: ...")
 * otherwise. */
bool control_command_parse(const struct control_command *cmd, const char *const *words, unsigned count,
			   struct control_args *out, char *err, size_t err_size);

/* sara-ctl's usage lines for the commands it offers: a synopsis line per
 * command, lead and tail around it ("<lead>drain|undrain ID<tail>":
 * adjacent commands taking the same arguments share one), and the help lines
 * ("  drain ID      no new sessions..."). */
void control_commands_print_synopsis(FILE *out, const char *lead, const char *tail);
void control_commands_print_help(FILE *out);

#endif
