/* command_line.c - sara-ctl's command line (command_line.h). */
#include "sara-ctl/command_line.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpi/netaddr.h"
#include "engine/signal_facts.h"
#include "io/version.h"
#include "sara-ctl/ctl.h"

#define LIMIT_MAX_TEXT CONTROL_TEXT(CONTROL_SESSIONS_LIMIT_MAX)
#define SINCE_MAX_TEXT CONTROL_TEXT(CONTROL_REFUSED_SINCE_MAX)

enum { OPT_IPTABLES = 256, OPT_NFT, OPT_APPLY, OPT_REMOVE, OPT_DISPATCHER, OPT_GATEWAY, OPT_QUEUE, OPT_JSON,
       OPT_CHECK_CONFIG, OPT_SERVER, OPT_LIMIT, OPT_SELF, OPT_VERSION, OPT_KEY, OPT_CLIENT, OPT_SINCE,
       OPT_JSON_LINES };

static const struct option long_options[] = {
	{ "config", required_argument, NULL, 'c' },         { "iptables", no_argument, NULL, OPT_IPTABLES },
	{ "nft", no_argument, NULL, OPT_NFT },               { "apply", no_argument, NULL, OPT_APPLY },
	{ "remove", no_argument, NULL, OPT_REMOVE },         { "dispatcher", no_argument, NULL, OPT_DISPATCHER },
	{ "gateway", no_argument, NULL, OPT_GATEWAY },       { "queue", required_argument, NULL, OPT_QUEUE },
	{ "json", no_argument, NULL, OPT_JSON },             { "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
	{ "server", required_argument, NULL, OPT_SERVER },   { "limit", required_argument, NULL, OPT_LIMIT },
	{ "self", required_argument, NULL, OPT_SELF },
	{ "key", required_argument, NULL, OPT_KEY },         { "client", required_argument, NULL, OPT_CLIENT },
	{ "since", required_argument, NULL, OPT_SINCE },     { "json-lines", no_argument, NULL, OPT_JSON_LINES },
	{ "help", no_argument, NULL, 'h' },                  { "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

void command_line_usage(FILE *out)
{
	fprintf(out,
		"usage: sara-ctl -c CLUSTER.cfg rules [--iptables|--nft] [--apply|--remove] [--dispatcher|--gateway]\n"
		"                                     [--queue N]\n"
		"       sara-ctl -c CLUSTER.cfg keygen\n"
		"       sara-ctl -c CLUSTER.cfg bird|conntrackd|keepalived [--self ADDR]\n"
		"       sara-ctl -c CLUSTER.cfg conntrackd-timer\n"
		"       sara-ctl -c CLUSTER.cfg gw-check\n");
	control_commands_print_synopsis(out, "       sara-ctl -c CLUSTER.cfg ", " [--json|--json-lines]");
	fprintf(out,
		"       sara-ctl -c CLUSTER.cfg --check-config\n"
		"       sara-ctl --version\n"
		"  rules         print the netfilter and policy-routing commands (default: the\n"
		"                dispatcher's, iptables); --apply runs them idempotently,\n"
		"                --remove removes what --apply added\n"
		"    --nft         an nft script instead (table inet sara); --apply --nft refuses\n"
		"                  on kernels without the nftables queue expression\n"
		"    --gateway     the gateway's rule (sara-gw's queue) instead of the dispatcher's\n"
		"    --queue N     the gateway's queue (default queue.first + queue.count)\n"
		"  keygen        write a new random key to key_file (never overwrites)\n"
		"  bird          print this dispatcher's BIRD 2 configuration: the VIPs to ha.router\n"
		"                over BGP (with BFD), while sarad is healthy\n"
		"  conntrackd    print this dispatcher's conntrackd configuration: FTFW with the\n"
		"                other of two ha.dispatchers, NOTRACK multicast among more, the\n"
		"                VIPs' flows only\n"
		"  conntrackd-timer  print the systemd timer that has conntrackd resend its\n"
		"                table every ha.sync_resync_s (3 or more dispatchers)\n"
		"  keepalived    print this gateway's keepalived configuration: VRRP for\n"
		"                ha.vrrp_addresses among the ha.gateways, watching sara-gw\n"
		"                (gw-check) when gateway.metrics is set\n"
		"    --self ADDR   this dispatcher's address in ha.dispatchers, or this gateway's\n"
		"                  in ha.gateways (default: the one configured on this host)\n"
		"  gw-check      exit 0 when this gateway's sara-gw is alive: its metrics\n"
		"                endpoint (gateway.metrics) answers with a fresh page\n");
	control_commands_print_help(out);
	fprintf(out,
		"  -c, --config FILE   the cluster's configuration\n"
		"      --json          sarad's reply as it is (one JSON document)\n"
		"      --json-lines    one JSON object a line: each server, session or refusal\n"
		"      --check-config  validate the configuration and exit\n"
		"      --version       print the version and exit\n"
		"Exit status: 0 done, 1 failed, 2 usage or configuration error, 3 no nft queue support.\n");
}

static int usage_error(void)
{
	command_line_usage(stderr);
	return EXIT_USAGE;
}

/* A server id or number on sarad's command line: one word, printable. */
static bool plain_word(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 0x7f)
			return false;
	return true;
}

/* A decimal number min..max, as a plain word of at most max_text's digits. */
static bool decimal_within(const char *s, long min, long max, const char *max_text)
{
	return plain_word(s, strlen(max_text)) && strspn(s, "0123456789") == strlen(s) && atol(s) >= min &&
	       atol(s) <= max;
}

/* The value of --name into *field when valid; else says it is not what
 * (a printf format) and gives the usage exit status. */
static int take_value(const char **field, const char *arg, bool valid, const char *name, const char *what, ...)
	__attribute__((format(printf, 5, 6)));
static int take_value(const char **field, const char *arg, bool valid, const char *name, const char *what, ...)
{
	char text[160];
	va_list ap;
	if (!valid) {
		va_start(ap, what);
		vsnprintf(text, sizeof(text), what, ap);
		va_end(ap);
		fprintf(stderr, "%s: --%s %s: not %s\n", CTL_PROGRAM, name, arg, text);
		return EXIT_USAGE;
	}
	*field = arg;
	return COMMAND_LINE_PARSED;
}

bool command_line_is_ha(const char *command)
{
	return strcmp(command, "bird") == 0 || strcmp(command, "conntrackd") == 0 ||
	       strcmp(command, "conntrackd-timer") == 0 || strcmp(command, "keepalived") == 0;
}

/* Records a rules flag; twice the same kind is a usage error. */
static int rules_flag(struct command_line *cl, bool *kind_set)
{
	if (*kind_set)
		return usage_error();
	*kind_set = cl->rules_flags = true;
	return COMMAND_LINE_PARSED;
}

static int take_option(struct command_line *cl, int opt, const char *arg)
{
	char *end;
	long q;
	switch (opt) {
	case 'c': cl->config_path = arg; return COMMAND_LINE_PARSED;
	case OPT_IPTABLES: case OPT_NFT:
		cl->rules.backend = opt == OPT_NFT ? RULES_NFT : RULES_IPTABLES;
		return rules_flag(cl, &cl->backend_set);
	case OPT_APPLY: case OPT_REMOVE:
		cl->rules.operation = opt == OPT_APPLY ? RULES_APPLY : RULES_REMOVE;
		return rules_flag(cl, &cl->operation_set);
	case OPT_DISPATCHER: case OPT_GATEWAY:
		cl->rules.role = opt == OPT_GATEWAY ? RULES_GATEWAY : RULES_DISPATCHER;
		return rules_flag(cl, &cl->role_set);
	case OPT_QUEUE:
		errno = 0;
		q = strtol(arg, &end, 10);
		if (errno || *end || end == arg || q < 0 || q > 65535) {
			fprintf(stderr, "%s: --queue %s: not a queue number (0-65535)\n", CTL_PROGRAM, arg);
			return EXIT_USAGE;
		}
		cl->rules.gateway_queue = (int)q;
		cl->rules_flags = true;
		return COMMAND_LINE_PARSED;
	case OPT_JSON: cl->json = true; return COMMAND_LINE_PARSED;
	case OPT_JSON_LINES: cl->json_lines = true; return COMMAND_LINE_PARSED;
	case OPT_KEY:
		/* One word on sarad's command line, as a Call-ID or Session id is. */
		return take_value(&cl->key, arg, plain_word(arg, SESSION_KEY_MAX - 1), "key",
				  "a session key (one word, printable, at most %d bytes)", SESSION_KEY_MAX - 1);
	case OPT_CLIENT: {
		struct netaddr addr;
		return take_value(&cl->client, arg, netaddr_parse(span_make(arg, strlen(arg)), &addr), "client",
				  "an IPv4 or IPv6 address");
	}
	case OPT_SINCE:
		return take_value(&cl->since, arg, decimal_within(arg, 1, CONTROL_REFUSED_SINCE_MAX, SINCE_MAX_TEXT),
				  "since", "a number of seconds 1-%s", SINCE_MAX_TEXT);
	case OPT_SERVER:
		return take_value(&cl->server, arg, plain_word(arg, SARA_ID_MAX - 1), "server", "a server id");
	case OPT_LIMIT:
		return take_value(&cl->limit, arg, decimal_within(arg, 0, CONTROL_SESSIONS_LIMIT_MAX, LIMIT_MAX_TEXT),
				  "limit", "a number 0-%s", LIMIT_MAX_TEXT);
	case OPT_CHECK_CONFIG: cl->check_config = true; return COMMAND_LINE_PARSED;
	case OPT_SELF: cl->self = arg; return COMMAND_LINE_PARSED;
	case 'h': command_line_usage(stdout); return 0;
	case OPT_VERSION: version_print(stdout, CTL_PROGRAM); return 0;
	default: return usage_error();
	}
}

/* An option value for the sarad command, when the command takes it. */
static bool give_option(struct sarad_request *req, const char *option, const char *value)
{
	int i = req->command ? control_command_option(req->command, option) : -1;
	if (!value)
		return true;
	if (i < 0)
		return false;
	req->args.values[i] = value;
	return true;
}

/* The command and its operand (the words after the options). */
static int take_command(struct command_line *cl, char **words, int count)
{
	const struct control_command *ask;
	int used = 0;
	if (used < count)
		cl->command = words[used++];
	ask = cl->command ? control_command_find(cl->command) : NULL;
	cl->sarad.command = ask && ask->in_sara_ctl ? ask : NULL;
	if (cl->sarad.command && cl->sarad.command->operand) {
		if (used == count)
			return usage_error();
		cl->sarad.args.operand = words[used++];
		if (!plain_word(cl->sarad.args.operand, SARA_ID_MAX - 1)) {
			fprintf(stderr, "%s: %s %s: not a server id\n", CTL_PROGRAM, cl->command, cl->sarad.args.operand);
			return EXIT_USAGE;
		}
	}
	if (used < count || !cl->config_path || (!cl->command && !cl->check_config))
		return usage_error();
	if (cl->command && strcmp(cl->command, "rules") != 0 && strcmp(cl->command, "keygen") != 0 &&
	    strcmp(cl->command, "gw-check") != 0 && !command_line_is_ha(cl->command) && !cl->sarad.command) {
		fprintf(stderr, "%s: unknown command '%s'\n", CTL_PROGRAM, cl->command);
		return usage_error();
	}
	cl->sarad.format = cl->json ? RENDER_JSON : cl->json_lines ? RENDER_JSON_LINES : RENDER_TEXT;
	if ((cl->rules_flags && (!cl->command || strcmp(cl->command, "rules") != 0)) ||
	    ((cl->json || cl->json_lines) && !cl->sarad.command) || (cl->json && cl->json_lines) ||
	    !give_option(&cl->sarad, "--server", cl->server) || !give_option(&cl->sarad, "--limit", cl->limit) ||
	    !give_option(&cl->sarad, "--key", cl->key) || !give_option(&cl->sarad, "--client", cl->client) ||
	    !give_option(&cl->sarad, "--since", cl->since) ||
	    (cl->rules.gateway_queue >= 0 && cl->rules.role != RULES_GATEWAY) ||
	    (cl->self && (!cl->command || !command_line_is_ha(cl->command) ||
			  strcmp(cl->command, "conntrackd-timer") == 0)))
		return usage_error();
	if (cl->key && (cl->server || cl->limit || cl->client)) {
		fprintf(stderr, "%s: sessions --key names one session; it takes no other option\n", CTL_PROGRAM);
		return EXIT_USAGE;
	}
	return COMMAND_LINE_PARSED;
}

int command_line_parse(int argc, char **argv, struct command_line *out)
{
	int opt, status;
	memset(out, 0, sizeof(*out));
	out->rules = (struct rules_options){ RULES_IPTABLES, RULES_DISPATCHER, RULES_PRINT, -1 };
	optind = 0;
	while ((opt = getopt_long(argc, argv, "c:h", long_options, NULL)) != -1)
		if ((status = take_option(out, opt, optarg)) != COMMAND_LINE_PARSED)
			return status;
	return take_command(out, argv + optind, argc - optind);
}
