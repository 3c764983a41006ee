/* control_commands.c - the control socket's command table, its argument
 * check and the usage text made from it (control_commands.h). */
#include "io/control_commands.h"

#include <string.h>

#define HELP_COLUMN 14  /* "  drain ID      no new sessions..." */

static const struct control_command commands[CONTROL_COMMAND_COUNT] = {
	{ CONTROL_STATUS, "status", NULL, { { NULL, NULL } },
	  "ask sarad (control.socket) for its status; --json prints it raw", false, true },
	{ CONTROL_SERVERS, "servers", NULL, { { NULL, NULL } },
	  "each server: address, mark, weight, availability, drain, health,\nsessions and load estimate", true,
	  true },
	{ CONTROL_SESSIONS, "sessions", NULL,
	  { { "--server", "ID" }, { "--limit", "N" }, { "--key", "CALL-ID" }, { "--client", "ADDR" } },
	  "the sessions sarad follows (default at most " CONTROL_TEXT(CONTROL_SESSIONS_LIMIT_DEFAULT)
	  ", --limit up to\n" CONTROL_TEXT(CONTROL_SESSIONS_LIMIT_MAX)
	  "; --server ID: that server's only, --client ADDR: that\n"
	  "client's only); --key CALL-ID: one session (SIP Call-ID, RTSP\n"
	  "Session id): its client, its server and why, its flows with\n"
	  "their packet counts",
	  true, true },
	{ CONTROL_DRAIN, "drain", "ID", { { NULL, NULL } },
	  "no new sessions for server ID; its current sessions stay", true, true },
	{ CONTROL_UNDRAIN, "undrain", "ID", { { NULL, NULL } }, "server ID takes new sessions again", true, true },
	{ CONTROL_REFUSED, "refused", NULL, { { "--since", "S" } },
	  "what was refused in the last S seconds (default " CONTROL_TEXT(CONTROL_REFUSED_SINCE_DEFAULT)
	  ", at most " CONTROL_TEXT(CONTROL_REFUSED_SINCE_MAX) "),\n"
	  "and why: counts by reason, and the latest refusals one by one",
	  false, true },
	{ CONTROL_PING, "ping", NULL, { { NULL, NULL } }, "answers {\"pong\": true} while sarad serves", false,
	  false },
};

const struct control_command *control_commands(unsigned *count)
{
	*count = CONTROL_COMMAND_COUNT;
	return commands;
}

const struct control_command *control_command_find(const char *name)
{
	for (unsigned i = 0; i < CONTROL_COMMAND_COUNT; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int control_command_option(const struct control_command *cmd, const char *option)
{
	for (unsigned i = 0; i < CONTROL_OPTIONS_MAX && cmd->options[i].name; i++)
		if (strcmp(cmd->options[i].name, option) == 0)
			return (int)i;
	return -1;
}

/* " ID [--server ID] [--limit N]": what follows the name. */
static void arguments_text(const struct control_command *cmd, char *out, size_t size)
{
	size_t used = 0;
	out[0] = '\0';
	if (cmd->operand)
		used += (size_t)snprintf(out, size, " %s", cmd->operand);
	for (unsigned i = 0; i < CONTROL_OPTIONS_MAX && cmd->options[i].name && used < size; i++)
		used += (size_t)snprintf(out + used, size - used, " [%s %s]", cmd->options[i].name,
					 cmd->options[i].value);
}

void control_command_usage(const struct control_command *cmd, char *out, size_t size)
{
	char args[CONTROL_USAGE_MAX];
	arguments_text(cmd, args, sizeof(args));
	snprintf(out, size, "%s%s", cmd->name, args);
}

static bool usage_error(const struct control_command *cmd, const char *unexpected, char *err, size_t err_size)
{
	char usage[CONTROL_USAGE_MAX];
	control_command_usage(cmd, usage, sizeof(usage));
	/* A command with options names the word it could not place. */
	if (unexpected && cmd->options[0].name)
		snprintf(err, err_size, "%s: unexpected \"%s\"; usage: %s", cmd->name, unexpected, usage);
	else
		snprintf(err, err_size, "usage: %s", usage);
	return false;
}

bool control_command_parse(const struct control_command *cmd, const char *const *words, unsigned count,
			   struct control_args *out, char *err, size_t err_size)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < count; i++) {
		int option = control_command_option(cmd, words[i]);
		if (option >= 0 && i + 1 < count) {
			out->values[option] = words[++i];
		} else if (cmd->operand && !out->operand && option < 0) {
			out->operand = words[i];
		} else {
			return usage_error(cmd, words[i], err, err_size);
		}
	}
	if (cmd->operand && !out->operand)
		return usage_error(cmd, NULL, err, err_size);
	return true;
}

void control_commands_print_synopsis(FILE *out, const char *lead, const char *tail)
{
	for (unsigned i = 0; i < CONTROL_COMMAND_COUNT; i++) {
		char args[CONTROL_USAGE_MAX], next_args[CONTROL_USAGE_MAX];
		if (!commands[i].in_sara_ctl)
			continue;
		arguments_text(&commands[i], args, sizeof(args));
		fprintf(out, "%s%s", lead, commands[i].name);
		/* Commands taking the same arguments are variants: one line. */
		while (args[0] && i + 1 < CONTROL_COMMAND_COUNT && commands[i + 1].in_sara_ctl) {
			arguments_text(&commands[i + 1], next_args, sizeof(next_args));
			if (strcmp(args, next_args) != 0)
				break;
			fprintf(out, "|%s", commands[++i].name);
		}
		fprintf(out, "%s%s\n", args, tail);
	}
}

void control_commands_print_help(FILE *out)
{
	for (unsigned i = 0; i < CONTROL_COMMAND_COUNT; i++) {
		const struct control_command *cmd = &commands[i];
		char first[CONTROL_USAGE_MAX];
		const char *line = cmd->help;
		if (!cmd->in_sara_ctl)
			continue;
		snprintf(first, sizeof(first), "%s%s%s", cmd->name, cmd->operand ? " " : "",
			 cmd->operand ? cmd->operand : "");
		for (bool first_line = true; line; first_line = false) {
			const char *end = strchr(line, '\n');
			int len = end ? (int)(end - line) : (int)strlen(line);
			fprintf(out, "  %-*s%.*s\n", HELP_COLUMN, first_line ? first : "", len, line);
			line = end ? end + 1 : NULL;
		}
	}
}
