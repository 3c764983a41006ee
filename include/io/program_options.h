/* program_options.h - the command line every sara daemon and tool reads the
 * same way: -c/--config, --check-config, -h/--help and --version, and one
 * getopt loop that hands each of the program's own options to it. */
#ifndef SARA_PROGRAM_OPTIONS_H
#define SARA_PROGRAM_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#define PROGRAM_OPTIONS_MAX 32       /* long options of one program, the shared ones included */
#define PROGRAM_SHORT_OPTIONS_MAX 16 /* its short option letters, with their colons */

/* getopt values of the shared long-only options (above every character). */
enum { PROGRAM_OPT_CHECK_CONFIG = 0x100, PROGRAM_OPT_VERSION };

/* What a program's command line is made of. */
struct program_command_line {
	const char *prog;
	const char *short_options;       /* its own, getopt's form ("f", "v"; "" for none) */
	const struct option *options;    /* its own long options, ending in a zero row */
	void (*usage)(FILE *out);
	/* One of its own options (arg: its value or NULL); false after saying
	 * why it is refused. */
	bool (*take)(void *ctx, int opt, const char *arg);
	void *ctx;
	bool operands;                   /* operands may follow the options */
};

/* The shared options' values. */
struct program_options {
	const char *config_path;
	bool check_config;
};

/* Reads argv into out and the program's take: -1 to go on (*first_operand
 * is argv's first operand), else the exit status: 0 after --help or
 * --version, 2 after a refused option or a usage error (-c missing, an
 * unknown option, operands where none are taken; the usage on stderr). */
int program_options_parse(int argc, char **argv, const struct program_command_line *cl,
			  struct program_options *out, int *first_operand);

#endif
