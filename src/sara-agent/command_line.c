/* command_line.c - sara-agent's options (command_line.h). */
#include "sara-agent/command_line.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/server_health.h"
#include "io/program_start.h"

#define DEFAULT_DRAIN_IN_S 30
#define DEFAULT_PROBE_FAILURES 2      /* consecutive failed probes before APP_DOWN */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sara-agent -c CLUSTER.cfg --id ID [--probe sip|rtsp|cmd:COMMAND] [--drain-in N]\n"
		"                  [--app-load file:PATH] [--components LIST]\n"
		"                  [--metrics ADDR:PORT] [--foreground] [--check-config] [--once]\n"
		"                  [--verbose]\n"
		"       sara-agent -c CLUSTER.cfg --decode [--listen ADDR:PORT] [--count N]\n"
		"       sara-agent --version\n"
		"The node agent: every agents.interval_ms sends a heartbeat and a load report\n"
		"(CPU, memory, socket buffers, I/O queue, SIP/RTSP backlog, from /proc) to\n"
		"agents.listen, authenticated with key_file.\n"
		"  -c, --config FILE   the cluster's configuration\n"
		"      --id ID         this server's id in the configuration (its sender id derives from it)\n"
		"      --probe P       application probe: sip (SIP OPTIONS to the server's address\n"
		"                      and first SIP port), rtsp (RTSP OPTIONS to its first RTSP\n"
		"                      port) or cmd:COMMAND (exit status 0 = up); failing -> app down\n"
		"      --probe-failures N  consecutive failed probes before app down (default %d)\n"
		"      --drain-in N    SIGUSR1 announces a planned failure N s ahead (default %d);\n"
		"                      SIGUSR2 cancels it\n"
		"      --app-load file:PATH  the application's own load as the backlog component:\n"
		"                      the first number in PATH (0..1, read every interval;\n"
		"                      missing or not a number = fully loaded) instead of the\n"
		"                      SIP/RTSP socket queues in /proc\n"
		"      --components LIST  the components that count, comma-separated from cpu,\n"
		"                      memory, network, io, backlog (default all); the others are\n"
		"                      sent as not reported and sarad leaves them out\n"
		"      --metrics EP    serve the agent's counters to Prometheus: GET /metrics over\n"
		"                      HTTP on ADDR:PORT or [ADDR]:PORT (default off)\n"
		"      --foreground    stay in the foreground and log to stderr (else daemon, syslog)\n"
		"      --check-config  validate the configuration, the key file and the id, and exit\n"
		"      --once          send one heartbeat and one load report, print them, exit\n"
		"      --verbose       log every report\n"
		"      --decode        receive agent messages instead, print them and the health\n"
		"                      events they cause (failed / draining / recovered)\n"
		"      --listen EP     address for --decode (default agents.listen); implies --decode\n"
		"      --count N       with --decode: exit after N datagrams\n"
		"      --version       print the version and exit\n",
		DEFAULT_PROBE_FAILURES, DEFAULT_DRAIN_IN_S);
}

bool parse_components(const char *text, unsigned *out)
{
	unsigned bits = 0;
	for (const char *at = text;; at += strcspn(at, ",") + 1) {
		size_t len = strcspn(at, ",");
		bool known = len == 3 && strncmp(at, "all", 3) == 0;
		if (known)
			bits |= SERVER_HEALTH_COUNT_ALL;
		for (unsigned i = 0; i < AGENT_LOAD_COMPONENTS && !known; i++) {
			const char *name = agent_load_component_name(i);
			known = strlen(name) == len && strncmp(at, name, len) == 0;
			bits |= known ? 1u << i : 0;
		}
		if (!known)
			return false;
		if (at[len] == '\0')
			break;
	}
	*out = bits;
	return bits != 0;
}

/* One option into cl; false (after saying why) when its value is invalid. */
static bool take_option(void *ctx, int opt, const char *arg)
{
	struct command_line *cl = ctx;
	struct agent_settings *a = &cl->agent;
	unsigned long n;
	switch (opt) {
	case 'i': cl->id = arg; return true;
	case 'f': a->foreground = true; return true;
	case 'o': a->once = true; return true;
	case 'v': a->verbose = true; return true;
	case 'D': cl->decode = true; return true;
	case 'l': cl->listen_text = arg; cl->decode = true; return true;
	case 'R': a->root = arg; return true;
	case 'p':
		if (probe_parse(&a->probe, arg))
			return true;
		fprintf(stderr, "sara-agent: --probe %s: want sip, rtsp or cmd:COMMAND\n", arg);
		return false;
	case 'F':
		if (option_number(arg, 100, &n) && n > 0) {
			a->probe_failures_needed = (unsigned)n;
			return true;
		}
		fprintf(stderr, "sara-agent: --probe-failures %s: want 1..100\n", arg);
		return false;
	case 'd':
		if (option_number(arg, 86400, &n)) {
			a->drain_in_s = (uint32_t)n;
			return true;
		}
		fprintf(stderr, "sara-agent: --drain-in %s: want 0..86400 seconds\n", arg);
		return false;
	case 'n':
		if (option_number(arg, ULONG_MAX, &cl->count))
			return true;
		fprintf(stderr, "sara-agent: --count %s: want a number\n", arg);
		return false;
	case 'A':
		if (strncmp(arg, "file:", 5) == 0 && arg[5] != '\0') {
			a->app_load_path = arg + 5;
			return true;
		}
		fprintf(stderr, "sara-agent: --app-load %s: want file:PATH\n", arg);
		return false;
	case 'M':
		if (endpoint_parse(span_make(arg, strlen(arg)), &a->metrics) && a->metrics.port != 0)
			return true;
		fprintf(stderr, "sara-agent: --metrics %s: want ADDR:PORT or [ADDR]:PORT\n", arg);
		return false;
	case 'K':
		if (parse_components(arg, &a->counted))
			return true;
		fprintf(stderr, "sara-agent: --components %s: want a comma-separated list of cpu, memory, network, io, backlog\n",
			arg);
		return false;
	}
	return false;
}

int parse_command_line(int argc, char **argv, struct command_line *cl)
{
	static const struct option own_options[] = {
		{ "id", required_argument, NULL, 'i' }, { "probe", required_argument, NULL, 'p' },
		{ "probe-failures", required_argument, NULL, 'F' }, { "drain-in", required_argument, NULL, 'd' },
		{ "foreground", no_argument, NULL, 'f' }, { "once", no_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' }, { "decode", no_argument, NULL, 'D' },
		{ "listen", required_argument, NULL, 'l' }, { "count", required_argument, NULL, 'n' },
		{ "app-load", required_argument, NULL, 'A' }, { "components", required_argument, NULL, 'K' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "root", required_argument, NULL, 'R' },  /* tests: a fake tree holding proc/ */
		{ NULL, 0, NULL, 0 },
	};
	const struct program_command_line command_line = { "sara-agent", "", own_options, usage, take_option, cl,
							   false };
	int operands;
	*cl = (struct command_line){ .agent = { .root = "/", .drain_in_s = DEFAULT_DRAIN_IN_S,
						.probe_failures_needed = DEFAULT_PROBE_FAILURES,
						.counted = SERVER_HEALTH_COUNT_ALL } };
	return program_options_parse(argc, argv, &command_line, &cl->shared, &operands);
}
