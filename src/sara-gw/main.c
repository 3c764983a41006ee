/* main.c - sara-gw, the gateway companion: options and the configuration,
 * then the announcing gateway on its NFQUEUE or, with --decode, the
 * receiver that prints announcements. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/log.h"
#include "io/program_start.h"
#include "io/version.h"
#include "sara-gw/decoder.h"
#include "sara-gw/gw_daemon.h"

struct command_line {
	const char *config_path, *listen_text;
	struct endpoint metrics;
	bool foreground, check_config, decode, queue_given;
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
		"                      ADDR:PORT or [ADDR]:PORT (default off)\n"
		"      --foreground    stay in the foreground and log to stderr (else daemon, syslog)\n"
		"      --check-config  validate the configuration and the key file and exit\n"
		"      --decode        receive announcements instead and print them, one a line\n"
		"      --listen EP     address for --decode (default gateway.listen)\n"
		"      --count N       with --decode: exit after N datagrams\n"
		"      --version       print the version and exit\n"
		"SIGUSR1 prints the counters; SIGHUP reads the configuration and key again;\n"
		"SIGTERM/SIGINT print the counters and exit.\n");
}

/* optarg as --name's number 0..max; false after saying what is wanted. */
static bool take_number(const char *name, unsigned long max, const char *want, unsigned long *out)
{
	if (option_number(optarg, max, out))
		return true;
	fprintf(stderr, "sara-gw: --%s %s: want %s\n", name, optarg, want);
	return false;
}

/* -1 to go on, else the exit status. */
static int parse_command_line(int argc, char **argv, struct command_line *cl)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' }, { "id", required_argument, NULL, 'i' },
		{ "queue", required_argument, NULL, 'q' }, { "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 'C' }, { "decode", no_argument, NULL, 'D' },
		{ "listen", required_argument, NULL, 'l' }, { "count", required_argument, NULL, 'n' },
		{ "metrics", required_argument, NULL, 'M' }, { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },       { NULL, 0, NULL, 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c': cl->config_path = optarg; break;
		case 'i':
			if (!take_number("id", UINT32_MAX, "a number 0..4294967295", &cl->id))
				return 2;
			break;
		case 'q':
			if (!take_number("queue", UINT16_MAX, "a number 0..65535", &cl->queue_num))
				return 2;
			cl->queue_given = true;
			break;
		case 'f': cl->foreground = true; break;
		case 'C': cl->check_config = true; break;
		case 'D': cl->decode = true; break;
		case 'l': cl->listen_text = optarg; break;
		case 'M':
			if (!endpoint_parse(span_make(optarg, strlen(optarg)), &cl->metrics) || cl->metrics.port == 0) {
				fprintf(stderr, "sara-gw: --metrics %s: want ADDR:PORT or [ADDR]:PORT\n", optarg);
				return 2;
			}
			break;
		case 'n':
			if (!take_number("count", ULONG_MAX, "a number", &cl->count))
				return 2;
			break;
		case 'h': usage(stdout); return 0;
		case 'V': version_print(stdout, "sara-gw"); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!cl->config_path || optind != argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

static int decode(const struct command_line *cl, const struct sara_config *cfg, const struct wire_key *key)
{
	struct endpoint at;
	if (!decode_endpoint("sara-gw", cl->listen_text, &cfg->gateway.listen, "gateway.listen", cl->config_path, &at))
		return 2;
	return gw_decode_run(cfg, key, &at, cl->count);
}

int main(int argc, char **argv)
{
	static struct sara_config cfg;  /* large: not on the stack */
	struct command_line cl = { .id = 1 };
	struct wire_key key;
	char where[ENDPOINT_STRLEN];
	int rc;

	log_open("sara-gw", true, false);
	if ((rc = parse_command_line(argc, argv, &cl)) >= 0)
		return rc;
	if (!program_load_config("sara-gw", cl.config_path, &cfg, &key))
		return 2;
	if (cl.decode)
		return decode(&cl, &cfg, &key);
	if (cfg.gateway.listen.addr.family == 0) {
		fprintf(stderr, "sara-gw: %s: gateway.listen is not set: sara-gw needs sarad's address\n",
			cl.config_path);
		return 2;
	}
	if (!cl.queue_given) {
		cl.queue_num = (unsigned long)cfg.queue.first + cfg.queue.count;
		if (cl.queue_num > UINT16_MAX) {
			fprintf(stderr, "sara-gw: %s: no queue number after queue.first + queue.count; use --queue\n",
				cl.config_path);
			return 2;
		}
	}
	if (cl.check_config) {
		printf("%s: ok (queue %lu, announcing to %s as sender %lu)\n", cl.config_path, cl.queue_num,
		       endpoint_format(&cfg.gateway.listen, where, sizeof(where)), cl.id);
		return 0;
	}
	return gw_run(&(struct gw_settings){ .cfg = &cfg, .key = &key, .sender = (uint32_t)cl.id,
					     .queue_num = (uint16_t)cl.queue_num, .queue_given = cl.queue_given,
					     .config_path = cl.config_path, .metrics = cl.metrics,
					     .foreground = cl.foreground });
}
