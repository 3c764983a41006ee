/* main.c - sara-gw, the gateway companion: options and the configuration,
 * then the announcing gateway on its NFQUEUE or, with --decode, the
 * receiver that prints announcements. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/log.h"
#include "io/program_options.h"
#include "io/program_start.h"
#include "sara-gw/decoder.h"
#include "sara-gw/gw_daemon.h"

struct command_line {
	struct program_options shared;   /* -c, --check-config */
	const char *listen_text;
	struct endpoint metrics;
	bool foreground, decode, queue_given;
	unsigned long id, queue_num, count;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sara-gw -c CLUSTER.cfg [--id N] [--queue N] [--metrics ADDR:PORT] [--foreground]\n"
		"               [--check-config]\n"
		"       sara-gw -c CLUSTER.cfg --decode [--listen ADDR:PORT] [--count N]\n"
		"       sara-gw --version\n"
		"The gateway companion: inspects the servers' outbound signalling taken from\n"
		"an NFQUEUE, announces the media flows it learns to sarad (gateway.listen,\n"
		"authenticated with key_file), then accepts the packet.\n"
		"  -c, --config FILE   the cluster's configuration\n"
		"      --id N          sender id in announcements (default 1; one per gateway)\n"
		"      --queue N       NFQUEUE number (default queue.first + queue.count: the\n"
		"                      first number after sarad's queues, so both can share a host)\n"
		"      --metrics EP    serve the counters to Prometheus: GET /metrics over HTTP on\n"
		"                      ADDR:PORT or [ADDR]:PORT (default gateway.metrics, else off)\n"
		"      --foreground    stay in the foreground and log to stderr (else daemon, syslog)\n"
		"      --check-config  validate the configuration and the key file and exit\n"
		"      --decode        receive announcements instead and print them, one a line\n"
		"      --listen EP     address for --decode (default gateway.listen)\n"
		"      --count N       with --decode: exit after N datagrams\n"
		"      --version       print the version and exit\n"
		"SIGUSR1 prints the counters; SIGHUP reads the configuration and key again;\n"
		"SIGTERM/SIGINT print the counters and exit.\n");
}

/* arg as --name's number 0..max; false after saying what is wanted. */
static bool take_number(const char *name, const char *arg, unsigned long max, const char *want, unsigned long *out)
{
	if (option_number(arg, max, out))
		return true;
	fprintf(stderr, "sara-gw: --%s %s: want %s\n", name, arg, want);
	return false;
}

/* One of sara-gw's own options; false after saying why it is refused. */
static bool take_option(void *ctx, int opt, const char *arg)
{
	struct command_line *cl = ctx;
	switch (opt) {
	case 'i': return take_number("id", arg, UINT32_MAX, "a number 0..4294967295", &cl->id);
	case 'q':
		cl->queue_given = true;
		return take_number("queue", arg, UINT16_MAX, "a number 0..65535", &cl->queue_num);
	case 'f': cl->foreground = true; return true;
	case 'D': cl->decode = true; return true;
	case 'l': cl->listen_text = arg; return true;
	case 'M':
		if (endpoint_parse(span_make(arg, strlen(arg)), &cl->metrics) && cl->metrics.port != 0)
			return true;
		fprintf(stderr, "sara-gw: --metrics %s: want ADDR:PORT or [ADDR]:PORT\n", arg);
		return false;
	case 'n': return take_number("count", arg, ULONG_MAX, "a number", &cl->count);
	}
	return false;
}

/* -1 to go on, else the exit status. */
static int parse_command_line(int argc, char **argv, struct command_line *cl)
{
	static const struct option own_options[] = {
		{ "id", required_argument, NULL, 'i' },     { "queue", required_argument, NULL, 'q' },
		{ "foreground", no_argument, NULL, 'f' },   { "decode", no_argument, NULL, 'D' },
		{ "listen", required_argument, NULL, 'l' }, { "count", required_argument, NULL, 'n' },
		{ "metrics", required_argument, NULL, 'M' }, { NULL, 0, NULL, 0 },
	};
	const struct program_command_line command_line = { "sara-gw", "", own_options, usage, take_option, cl, false };
	int operands;
	return program_options_parse(argc, argv, &command_line, &cl->shared, &operands);
}

static int decode(const struct command_line *cl, const struct sara_config *cfg, const struct wire_key *key)
{
	struct endpoint at;
	if (!decode_endpoint("sara-gw", cl->listen_text, &cfg->gateway.listen, "gateway.listen", cl->shared.config_path, &at))
		return 2;
	return gw_decode_run(cfg, key, &at, cl->count);
}

int main(int argc, char **argv)
{
	static struct sara_config cfg;  /* large: not on the stack */
	struct command_line cl = { .id = 1 };
	struct wire_key key;
	char where[ENDPOINT_STRLEN];
	bool metrics_given;
	int rc;

	log_open("sara-gw", true, false);
	if ((rc = parse_command_line(argc, argv, &cl)) >= 0)
		return rc;
	if (!program_load_config("sara-gw", cl.shared.config_path, &cfg, &key))
		return 2;
	if (cl.decode)
		return decode(&cl, &cfg, &key);
	if (cfg.gateway.listen.addr.family == 0) {
		fprintf(stderr, "sara-gw: %s: gateway.listen is not set: sara-gw needs sarad's address\n",
			cl.shared.config_path);
		return 2;
	}
	if (!cl.queue_given) {
		cl.queue_num = (unsigned long)cfg.queue.first + cfg.queue.count;
		if (cl.queue_num > UINT16_MAX) {
			fprintf(stderr, "sara-gw: %s: no queue number after queue.first + queue.count; use --queue\n",
				cl.shared.config_path);
			return 2;
		}
	}
	/* keepalived's check (sara-ctl gw-check) asks gateway.metrics */
	metrics_given = cl.metrics.addr.family != 0;
	if (!metrics_given)
		cl.metrics = cfg.gateway.metrics;
	if (cl.shared.check_config) {
		printf("%s: ok (queue %lu, announcing to %s as sender %lu)\n", cl.shared.config_path, cl.queue_num,
		       endpoint_format(&cfg.gateway.listen, where, sizeof(where)), cl.id);
		return 0;
	}
	return gw_run(&(struct gw_settings){ .cfg = &cfg, .key = &key, .sender = (uint32_t)cl.id,
					     .queue_num = (uint16_t)cl.queue_num, .queue_given = cl.queue_given,
					     .config_path = cl.shared.config_path, .metrics = cl.metrics,
					     .metrics_given = metrics_given,
					     .foreground = cl.foreground });
}
