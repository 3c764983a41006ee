/* program_options.c - the options every sara program shares and the getopt
 * loop around its own (program_options.h). */
#include "io/program_options.h"

#include <string.h>

#include "io/version.h"

static const struct option shared_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "check-config", no_argument, NULL, PROGRAM_OPT_CHECK_CONFIG },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, PROGRAM_OPT_VERSION },
};

#define SHARED_COUNT (sizeof(shared_options) / sizeof(shared_options[0]))

/* The shared long options, then the program's, then the zero row; false
 * when they do not fit. */
static bool all_options(const struct option *own, struct option *all)
{
	size_t n = SHARED_COUNT;
	memcpy(all, shared_options, sizeof(shared_options));
	for (; own->name; own++) {
		if (n + 1 >= PROGRAM_OPTIONS_MAX)
			return false;
		all[n++] = *own;
	}
	all[n] = (struct option){ NULL, 0, NULL, 0 };
	return true;
}

/* One option: -1 to go on, else the exit status. */
static int take(const struct program_command_line *cl, struct program_options *out, int opt)
{
	switch (opt) {
	case 'c': out->config_path = optarg; return -1;
	case PROGRAM_OPT_CHECK_CONFIG: out->check_config = true; return -1;
	case 'h': cl->usage(stdout); return 0;
	case PROGRAM_OPT_VERSION: version_print(stdout, cl->prog); return 0;
	case '?': cl->usage(stderr); return 2;
	default: return cl->take(cl->ctx, opt, optarg) ? -1 : 2;
	}
}

int program_options_parse(int argc, char **argv, const struct program_command_line *cl,
			  struct program_options *out, int *first_operand)
{
	struct option options[PROGRAM_OPTIONS_MAX];
	char short_options[PROGRAM_SHORT_OPTIONS_MAX] = "c:h";
	int opt, status;

	*out = (struct program_options){ NULL, false };
	if (!all_options(cl->options, options) ||
	    strlen(short_options) + strlen(cl->short_options) >= sizeof(short_options)) {
		fprintf(stderr, "%s: more options than a command line holds\n", cl->prog);
		return 2;
	}
	strcat(short_options, cl->short_options);
	while ((opt = getopt_long(argc, argv, short_options, options, NULL)) != -1)
		if ((status = take(cl, out, opt)) >= 0)
			return status;
	if (!out->config_path || (!cl->operands && optind != argc)) {
		cl->usage(stderr);
		return 2;
	}
	*first_operand = optind;
	return -1;
}
