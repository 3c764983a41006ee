/* main.c - sara-replay: parses the options, loads the cluster's
 * configuration and wires the replay, capture, summary and report modules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/config.h"
#include "engine/hash.h"
#include "io/config_file.h"
#include "io/program_options.h"
#include "sara-replay/captures.h"
#include "sara-replay/replay.h"
#include "sara-replay/report.h"
#include "sara-replay/summary.h"

#define DEFAULT_MAX_RECORDS 10000000u
#define KEEP_GOING (-1)  /* from a step: no exit status yet */

struct options {
	struct program_options shared;           /* -c, --check-config */
	const char *extra_vips[SARA_MAX_VIPS];
	unsigned extra_vip_count;
	const char *observed[SARA_MAX_SERVERS];  /* ID=FILE */
	unsigned observed_count;
	bool json, check, verbose;
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

/* arg added to a repeatable option's list; false after saying it is full. */
static bool take_repeated(const char *name, const char *arg, const char **list, unsigned *count, unsigned max)
{
	if (*count == max) {
		fprintf(stderr, "sara-replay: at most %u --%s\n", max, name);
		return false;
	}
	list[(*count)++] = arg;
	return true;
}

/* One of sara-replay's own options; false after saying why it is refused. */
static bool take_option(void *ctx, int c, const char *arg)
{
	struct options *opt = ctx;
	switch (c) {
	case 'V': return take_repeated("vip", arg, opt->extra_vips, &opt->extra_vip_count, SARA_MAX_VIPS);
	case 'O': return take_repeated("observed", arg, opt->observed, &opt->observed_count, SARA_MAX_SERVERS);
	case 'j': opt->json = true; return true;
	case 'k': opt->check = true; return true;
	case 'v': opt->verbose = true; return true;
	}
	return false;
}

/* KEEP_GOING, or the exit status (--help, a usage error). */
static int parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option own_options[] = {
		{ "vip", required_argument, NULL, 'V' }, { "observed", required_argument, NULL, 'O' },
		{ "json", no_argument, NULL, 'j' },      { "check", no_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },   { NULL, 0, NULL, 0 },
	};
	const struct program_command_line command_line = { "sara-replay", "v", own_options, usage, take_option, opt,
							   true };
	int first_file;
	int status = program_options_parse(argc, argv, &command_line, &opt->shared, &first_file);
	if (status != KEEP_GOING)
		return status;
	opt->files = argv + first_file;
	opt->file_count = (unsigned)(argc - first_file);
	return KEEP_GOING;
}

/* The configuration with the --vip addresses added, validated. KEEP_GOING,
 * or the exit status (an error, or --check-config done). */
static int load_config(const struct options *opt, struct sara_config *cfg)
{
	char err[512];
	if (!sara_config_load(opt->shared.config_path, cfg, err, sizeof(err))) {
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
		fprintf(stderr, "%s: %s\n", opt->shared.config_path, err);
		return 2;
	}
	if (!opt->shared.check_config)
		return KEEP_GOING;
	printf("%s: ok (%u VIPs, %u servers, selection %s)\n", opt->shared.config_path, cfg->vip_count, cfg->server_count,
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
				opt.observed[i], opt.shared.config_path);
			return 2;
		}
	}
	status = run(&opt, &cfg, caps);
	captures_close(caps, opt.observed_count);
	return status;
}
