/* main.c - sara-replay: parses the options, loads the cluster's
 * configuration and wires the replay, capture, summary and report modules. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/config.h"
#include "engine/hash.h"
#include "io/config_file.h"
#include "io/version.h"
#include "sara-replay/captures.h"
#include "sara-replay/replay.h"
#include "sara-replay/report.h"
#include "sara-replay/summary.h"

#define DEFAULT_MAX_RECORDS 10000000u
#define KEEP_GOING (-1)  /* from a step: no exit status yet */

struct options {
	const char *config_path;
	const char *extra_vips[SARA_MAX_VIPS];
	unsigned extra_vip_count;
	const char *observed[SARA_MAX_SERVERS];  /* ID=FILE */
	unsigned observed_count;
	bool json, check, check_config, verbose;
	char **files;                            /* the FILEs (or SENT-FILEs) */
	unsigned file_count;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sara-replay -c CLUSTER.cfg [--vip ADDR]... [--json] [--check] [--verbose] FILE...\n"
		"       sara-replay -c CLUSTER.cfg [options] --observed ID=FILE... [SENT-FILE...]\n"
		"       sara-replay -c CLUSTER.cfg --check-config\n"
		"       sara-replay --version\n"
		"Replays pcap/pcapng captures through sara's engine: packets to a VIP are\n"
		"inbound (dispatcher), packets from a VIP or server are outbound (gateway).\n"
		"  -c, --config FILE   the cluster's configuration\n"
		"      --vip ADDR      treat ADDR as a VIP too (e.g. the real server of a capture)\n"
		"      --observed ID=FILE\n"
		"                      FILE was captured at server ID (repeatable): a flow's\n"
		"                      servers are where its packets were captured, not the\n"
		"                      engine's verdict. Without SENT-FILEs the captures are\n"
		"                      merged in timestamp order and replayed; with them the\n"
		"                      SENT-FILEs (captured before the dispatcher) are replayed\n"
		"                      and each inbound packet is looked up in the captures, so\n"
		"                      packets no server received show as lost (null/unmarked)\n"
		"      --json          print one JSON document\n"
		"      --check         exit 1 if a session is split or unreached, or media went\n"
		"                      unpredicted\n"
		"      --check-config  validate the configuration and exit\n"
		"  -v, --verbose       also print packet and counter totals\n"
		"      --version       print the version and exit\n");
}

/* KEEP_GOING, or the exit status (--help, a usage error). */
static int parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' }, { "vip", required_argument, NULL, 'V' },
		{ "observed", required_argument, NULL, 'O' }, { "json", no_argument, NULL, 'j' },
		{ "check", no_argument, NULL, 'k' }, { "check-config", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "c:vh", options, NULL)) != -1) {
		switch (c) {
		case 'c': opt->config_path = optarg; break;
		case 'V':
			if (opt->extra_vip_count == SARA_MAX_VIPS) {
				fprintf(stderr, "sara-replay: at most %d --vip\n", SARA_MAX_VIPS);
				return 2;
			}
			opt->extra_vips[opt->extra_vip_count++] = optarg;
			break;
		case 'O':
			if (opt->observed_count == SARA_MAX_SERVERS) {
				fprintf(stderr, "sara-replay: at most %d --observed\n", SARA_MAX_SERVERS);
				return 2;
			}
			opt->observed[opt->observed_count++] = optarg;
			break;
		case 'j': opt->json = true; break;
		case 'k': opt->check = true; break;
		case 'C': opt->check_config = true; break;
		case 'v': opt->verbose = true; break;
		case 'h': usage(stdout); return 0;
		case 'R': version_print(stdout, "sara-replay"); return 0;
		default: usage(stderr); return 2;
		}
	}
	opt->files = argv + optind;
	opt->file_count = (unsigned)(argc - optind);
	return KEEP_GOING;
}

/* The configuration with the --vip addresses added, validated. KEEP_GOING,
 * or the exit status (an error, or --check-config done). */
static int load_config(const struct options *opt, struct sara_config *cfg)
{
	char err[512];
	if (!opt->config_path) {
		usage(stderr);
		return 2;
	}
	if (!sara_config_load(opt->config_path, cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	for (unsigned i = 0; i < opt->extra_vip_count; i++) {
		const char *text = opt->extra_vips[i];
		struct netaddr vip;
		if (!netaddr_parse(span_make(text, strlen(text)), &vip)) {
			fprintf(stderr, "sara-replay: --vip %s: not an IPv4 or IPv6 address\n", text);
			return 2;
		}
		if (sara_config_is_vip(cfg, &vip))
			continue;
		if (cfg->vip_count == SARA_MAX_VIPS) {
			fprintf(stderr, "sara-replay: too many VIPs (at most %d)\n", SARA_MAX_VIPS);
			return 2;
		}
		cfg->vips[cfg->vip_count++] = vip;
	}
	if (!sara_config_validate(cfg, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", opt->config_path, err);
		return 2;
	}
	if (!opt->check_config)
		return KEEP_GOING;
	printf("%s: ok (%u VIPs, %u servers, selection %s)\n", opt->config_path, cfg->vip_count, cfg->server_count,
	       selection_algorithm_name(cfg->selection.algorithm));
	return 0;
}

/* Replays, reports and checks; the exit status. */
static int run(const struct options *opt, const struct sara_config *cfg, struct observed_capture *caps)
{
	enum replay_mode mode = opt->observed_count == 0 ? REPLAY_PLAIN
				: opt->file_count > 0 ? REPLAY_MATCHED : REPLAY_MERGED;
	struct replay r;
	struct replay_summary sum;
	struct hash_key key;
	char err[512];
	int status;
	hash_key_random(&key);
	if (!replay_init(&r, cfg, mode, &key, DEFAULT_MAX_RECORDS, err, sizeof(err))) {
		fprintf(stderr, "sara-replay: %s\n", err);
		return 2;
	}
	status = captures_replay(&r, caps, opt->observed_count, opt->files, opt->file_count,
				 isatty(STDERR_FILENO) && !opt->json) < 0 ? 2 : 0;
	replay_finish(&r);
	if (replay_incomplete(&r))
		fprintf(stderr, "sara-replay: record limit reached; the report is incomplete\n");
	summary_compute(&r, &sum);
	if (opt->json)
		report_json(&r, &sum, stdout);
	else
		report_text(&r, &sum, opt->verbose, stdout);
	if (status == 0 && opt->check && !summary_check(&r, &sum, err, sizeof(err))) {
		fprintf(stderr, "sara-replay: %s\n", err);
		status = 1;
	}
	replay_free(&r);
	return status;
}

int main(int argc, char **argv)
{
	static struct sara_config cfg;
	struct options opt = { 0 };
	struct observed_capture caps[SARA_MAX_SERVERS];
	int status = parse_options(argc, argv, &opt);
	if (status != KEEP_GOING)
		return status;
	status = load_config(&opt, &cfg);
	if (status != KEEP_GOING)
		return status;
	if (opt.file_count == 0 && opt.observed_count == 0) {
		usage(stderr);
		return 2;
	}
	for (unsigned i = 0; i < opt.observed_count; i++) {
		if (!captures_parse_observed(opt.observed[i], &cfg, &caps[i])) {
			fprintf(stderr, "sara-replay: --observed %s: expected ID=FILE with ID a server of %s\n",
				opt.observed[i], opt.config_path);
			return 2;
		}
	}
	status = run(&opt, &cfg, caps);
	captures_close(caps, opt.observed_count);
	return status;
}
