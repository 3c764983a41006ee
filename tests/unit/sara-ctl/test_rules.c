/* test_rules.c - unit tests for src/sara-ctl/rules.c: the generated iptables, nft and
 * ip rule/route text for conf/example.cfg (against the committed
 * conf/rules/ files) and for a multi-queue, fail-closed, IPv6 cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/config.h"
#include "io/config_file.h"
#include "sara-ctl/rules.h"

#define TEXT_MAX (512 * 1024)

/* Tests run from the repository root (make unit) or from tests/unit. */
static const char *repo_path(const char *name, char *buf, size_t size)
{
	static const char *const dirs[] = { ".", "../..", ".." };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(buf, size, "%s/%s", dirs[i], name);
		if (access(buf, R_OK) == 0)
			return buf;
	}
	snprintf(buf, size, "%s", name);
	return buf;
}

static char *read_text(const char *name)
{
	char path[256];
	FILE *file = fopen(repo_path(name, path, sizeof(path)), "r");
	char *text = calloc(1, TEXT_MAX);
	size_t len;
	assert_non_null(file);
	assert_non_null(text);
	len = fread(text, 1, TEXT_MAX - 1, file);
	text[len] = '\0';
	fclose(file);
	return text;
}

static void load_example(struct sara_config *cfg)
{
	char path[256], err[512];
	bool ok = sara_config_load(repo_path("conf/example.cfg", path, sizeof(path)), cfg, err, sizeof(err));
	if (!ok)
		print_error("%s\n", err);
	assert_true(ok);
}

static void parse_addr(const char *text, struct netaddr *out)
{
	assert_true(netaddr_parse(span_make(text, strlen(text)), out));
}

/* Two IPv6 VIPs, two IPv6 servers, queues 4-5, fail-closed, SIP on two ports. */
static void build_v6_config(struct sara_config *cfg)
{
	char err[256];
	sara_config_defaults(cfg);
	snprintf(cfg->name, sizeof(cfg->name), "v6lab");
	cfg->vip_count = 2;
	parse_addr("fd00:77::20", &cfg->vips[0]);
	parse_addr("fd00:77::21", &cfg->vips[1]);
	cfg->sip_port_count = 2;
	cfg->sip_ports[0] = 5060;
	cfg->sip_ports[1] = 5080;
	cfg->rtsp_port_count = 1;
	cfg->rtsp_ports[0] = 554;
	cfg->server_count = 2;
	for (unsigned i = 0; i < 2; i++) {
		struct server_config *s = &cfg->servers[i];
		snprintf(s->id, sizeof(s->id), "%c", 'a' + i);
		parse_addr(i == 0 ? "fd00:2::11" : "fd00:2::12", &s->address);
		s->mark = 11 + i;
		s->table = 111 + i;
		s->weight = 1.0;
	}
	cfg->queue.first = 4;
	cfg->queue.count = 2;
	cfg->queue.fail_open = false;
	if (!sara_config_validate(cfg, err, sizeof(err)))
		print_error("%s\n", err);
	assert_true(sara_config_validate(cfg, err, sizeof(err)));
}

static struct rules_set *build(const struct sara_config *cfg, enum rules_backend backend, enum rules_role role,
			       enum rules_operation op, int gateway_queue)
{
	struct rules_options opt = { backend, role, op, gateway_queue };
	struct rules_set *set = calloc(1, sizeof(*set));
	char err[256];
	assert_non_null(set);
	if (!rules_build(cfg, &opt, set, err, sizeof(err)))
		print_error("%s\n", err);
	assert_false(set->overflow);
	assert_true(set->count > 0);
	return set;
}

static char *format(const struct rules_set *set)
{
	char *text = calloc(1, TEXT_MAX);
	assert_non_null(text);
	assert_true(rules_format(set, text, TEXT_MAX) > 0);
	return text;
}

/* APPLY/REMOVE lists with each entry's step, so the run logic is pinned too. */
static char *format_steps(const struct rules_set *set)
{
	static const char *const names[] = { "comment", "text", "must", "may-fail", "check", "repeat", "add-rule" };
	char *text = calloc(1, TEXT_MAX), line[2048];
	size_t used = 0;
	assert_non_null(text);
	for (unsigned i = 0; i < set->count; i++) {
		const struct rules_command *cmd = &set->commands[i];
		assert_true(rules_format_command(cmd, line, sizeof(line)) > 0);
		used += (size_t)snprintf(text + used, TEXT_MAX - used, "%s: %s\n", names[cmd->step], line);
		if (cmd->stdin_text)
			used += (size_t)snprintf(text + used, TEXT_MAX - used, "%s", cmd->stdin_text);
		assert_true(used < TEXT_MAX);
	}
	return text;
}

static void expect_text(const char *got, const char *want)
{
	if (strcmp(got, want) != 0)
		print_error("---- got ----\n%s---- want ----\n%s", got, want);
	assert_string_equal(got, want);
}

/* ---- conf/example.cfg against the committed files ------------------------------ */

static void test_example_iptables_matches_committed(void **state)
{
	struct sara_config cfg;
	struct rules_set *set;
	char *got, *want;
	(void)state;
	load_example(&cfg);
	set = build(&cfg, RULES_IPTABLES, RULES_DISPATCHER, RULES_PRINT, -1);
	got = format(set);
	want = read_text("conf/rules/lab.iptables.sh");
	expect_text(got, want);
	free(want);
	free(got);
	free(set);
}

static void test_example_nft_matches_committed(void **state)
{
	struct sara_config cfg;
	struct rules_set *set;
	char *got, *want;
	(void)state;
	load_example(&cfg);
	set = build(&cfg, RULES_NFT, RULES_DISPATCHER, RULES_PRINT, -1);
	got = format(set);
	want = read_text("conf/rules/lab.nft");
	expect_text(got, want);
	free(want);
	free(got);
	free(set);
}

static void test_example_gateway_matches_committed(void **state)
{
	struct sara_config cfg;
	struct rules_set *set;
	char *got, *want;
	(void)state;
	load_example(&cfg);
	assert_int_equal(rules_default_gateway_queue(&cfg), 1);
	set = build(&cfg, RULES_IPTABLES, RULES_GATEWAY, RULES_PRINT, -1);
	got = format(set);
	want = read_text("conf/rules/lab-gateway.iptables.sh");
	expect_text(got, want);
	free(want);
	free(got);
	free(set);
}

/* The example's essentials, independent of the committed files. */
static void test_example_essentials(void **state)
{
	struct sara_config cfg;
	struct rules_set *set;
	char *text;
	(void)state;
	load_example(&cfg);
	set = build(&cfg, RULES_IPTABLES, RULES_DISPATCHER, RULES_PRINT, -1);
	text = format(set);
	/* restore first, signalling, RETURN for decided flows, then the rest */
	const char *restore = strstr(text, "iptables -t mangle -A SARA -j CONNMARK --restore-mark\n");
	const char *sip = strstr(text, "iptables -t mangle -A SARA -p udp --dport 5060 -j NFQUEUE --queue-num 0 --queue-bypass\n");
	const char *ret = strstr(text, "iptables -t mangle -A SARA -m mark ! --mark 0 -j RETURN\n");
	const char *rest = strstr(text, "iptables -t mangle -A SARA -j NFQUEUE --queue-num 0 --queue-bypass\n");
	assert_non_null(restore);
	assert_non_null(sip);
	assert_non_null(ret);
	assert_non_null(rest);
	assert_true(restore < sip && sip < ret && ret < rest);
	assert_non_null(strstr(text, "iptables -t mangle -A POSTROUTING -d 198.18.77.20/32 -m mark ! --mark 0 -j CONNMARK --save-mark\n"));
	assert_non_null(strstr(text, "ip rule add fwmark 2 lookup 102 protocol 83\n"));
	assert_non_null(strstr(text, "ip route replace 198.18.77.20/32 via 198.18.2.13 table 103 proto 83\n"));
	assert_non_null(strstr(text, "ip route replace 198.18.77.20/32 nexthop via 198.18.2.11 nexthop via 198.18.2.12 nexthop via 198.18.2.13\n"));
	assert_null(strstr(text, "INVALID"));
	/* The IPv6 VIP is queued and routed to each server's address6, under
	 * the same mark and table as its IPv4 address. */
	assert_non_null(strstr(text, "ip6tables -t mangle -A PREROUTING -d fd00:77::20/128 -j SARA\n"));
	assert_non_null(strstr(text, "ip -6 route replace fd00:77::20/128 via fd00:2::12 table 102 proto 83\n"));
	assert_non_null(strstr(text, "ip -6 rule add fwmark 2 lookup 102 protocol 83\n"));
	assert_non_null(strstr(text, "ip -6 route replace fd00:77::20/128 nexthop via fd00:2::11 nexthop via "
				     "fd00:2::12 nexthop via fd00:2::13\n"));
	assert_null(strstr(text, "no IPv6"));
	assert_null(strstr(text, "ip -6 route replace fd00:77::20/128 via 198.18"));
	free(text);
	free(set);
}

static void test_example_apply_is_idempotent(void **state)
{
	struct sara_config cfg;
	struct rules_set *set;
	char *text;
	(void)state;
	load_example(&cfg);
	set = build(&cfg, RULES_IPTABLES, RULES_DISPATCHER, RULES_APPLY, -1);
	text = format_steps(set);
	/* the chain is replaced whole, hooks are checked before added, an ip rule
	 * in place is kept (never deleted and added again) */
	/* the chain is replaced in one transaction: no packet meets it half-built */
	assert_non_null(strstr(text, "must: iptables-restore --noflush\n*mangle\n:SARA - [0:0]\n"
				     "-A SARA -j CONNMARK --restore-mark\n"
				     "-A SARA -p udp --dport 5060 -j NFQUEUE --queue-num 0 --queue-bypass\n"));
	assert_non_null(strstr(text, "-A SARA -j NFQUEUE --queue-num 0 --queue-bypass\nCOMMIT\n"));
	assert_null(strstr(text, "-F SARA"));
	assert_non_null(strstr(text, "check: iptables -t mangle -C PREROUTING -d 198.18.77.20/32 -j SARA\n"
				     "must: iptables -t mangle -A PREROUTING -d 198.18.77.20/32 -j SARA\n"));
	assert_non_null(strstr(text, "add-rule: ip rule add fwmark 1 lookup 101 protocol 83\n"));
	assert_null(strstr(text, "comment:"));
	free(text);
	free(set);
}

/* ---- a multi-queue, fail-closed, IPv6 cluster ---------------------------------- */

static void test_v6_iptables_print(void **state)
{
	struct sara_config cfg;
	struct rules_set *set;
	char *text;
	(void)state;
	build_v6_config(&cfg);
	set = build(&cfg, RULES_IPTABLES, RULES_DISPATCHER, RULES_PRINT, -1);
	text = format(set);
	expect_text(text,
		"# sara dispatcher rules for cluster v6lab (iptables); generated by sara-ctl rules\n"
		"# sarad reads queues 4-5, fail closed\n"
		"# ip6tables: chain SARA in table mangle, for packets to the IPv6 VIPs\n"
		"ip6tables -t mangle -N SARA\n"
		"# a decided connection's mark comes back from its connmark\n"
		"ip6tables -t mangle -A SARA -j CONNMARK --restore-mark\n"
		"# signalling always crosses to sarad\n"
		"ip6tables -t mangle -A SARA -p udp -m multiport --dports 5060,5080 -j NFQUEUE --queue-balance 4:5\n"
		"ip6tables -t mangle -A SARA -p tcp -m multiport --dports 5060,5080 -j NFQUEUE --queue-balance 4:5\n"
		"ip6tables -t mangle -A SARA -p tcp --dport 554 -j NFQUEUE --queue-balance 4:5\n"
		"# decided flows stay in the kernel; the first packets of the others cross\n"
		"ip6tables -t mangle -A SARA -m mark ! --mark 0 -j RETURN\n"
		"ip6tables -t mangle -A SARA -j NFQUEUE --queue-balance 4:5\n"
		"# hook: packets to each VIP; the verdict's mark is saved in a later hook\n"
		"ip6tables -t mangle -A PREROUTING -d fd00:77::20/128 -j SARA\n"
		"ip6tables -t mangle -A POSTROUTING -d fd00:77::20/128 -m mark ! --mark 0 -j CONNMARK --save-mark\n"
		"ip6tables -t mangle -A PREROUTING -d fd00:77::21/128 -j SARA\n"
		"ip6tables -t mangle -A POSTROUTING -d fd00:77::21/128 -m mark ! --mark 0 -j CONNMARK --save-mark\n"
		"# ip -6 policy routing: mark M -> table T -> server\n"
		"ip -6 route replace fd00:77::20/128 via fd00:2::11 table 111 proto 83\n"
		"ip -6 route replace fd00:77::21/128 via fd00:2::11 table 111 proto 83\n"
		"ip -6 rule add fwmark 11 lookup 111 protocol 83\n"
		"ip -6 route replace fd00:77::20/128 via fd00:2::12 table 112 proto 83\n"
		"ip -6 route replace fd00:77::21/128 via fd00:2::12 table 112 proto 83\n"
		"ip -6 rule add fwmark 12 lookup 112 protocol 83\n");
	free(text);
	free(set);
}

static void test_v6_nft_print(void **state)
{
	struct sara_config cfg;
	struct rules_set *set;
	char *text;
	(void)state;
	build_v6_config(&cfg);
	set = build(&cfg, RULES_NFT, RULES_DISPATCHER, RULES_PRINT, -1);
	text = format(set);
	expect_text(text,
		"# sara dispatcher rules for cluster v6lab (nft); generated by sara-ctl rules\n"
		"# sarad reads queues 4-5, fail closed\n"
		"table inet sara {\n"
		"\tchain prerouting {\n"
		"\t\ttype filter hook prerouting priority mangle; policy accept;\n"
		"\t\tip6 daddr { fd00:77::20, fd00:77::21 } jump dispatch\n"
		"\t}\n"
		"\tchain dispatch {\n"
		"\t\t# a decided connection's mark comes back from its connmark\n"
		"\t\tmeta mark set ct mark\n"
		"\t\t# signalling always crosses to sarad\n"
		"\t\tudp dport { 5060, 5080 } queue num 4-5\n"
		"\t\ttcp dport { 5060, 5080, 554 } queue num 4-5\n"
		"\t\t# decided flows stay in the kernel; the first packets of the others cross\n"
		"\t\tmeta mark != 0 return\n"
		"\t\tqueue num 4-5\n"
		"\t}\n"
		"\tchain postrouting {\n"
		"\t\ttype filter hook postrouting priority mangle; policy accept;\n"
		"\t\t# the verdict's mark takes effect after prerouting: save it here\n"
		"\t\tip6 daddr { fd00:77::20, fd00:77::21 } meta mark != 0 ct mark set meta mark\n"
		"\t}\n"
		"}\n"
		"# ip -6 policy routing: mark M -> table T -> server\n"
		"# ip -6 route replace fd00:77::20/128 via fd00:2::11 table 111 proto 83\n"
		"# ip -6 route replace fd00:77::21/128 via fd00:2::11 table 111 proto 83\n"
		"# ip -6 rule add fwmark 11 lookup 111 protocol 83\n"
		"# ip -6 route replace fd00:77::20/128 via fd00:2::12 table 112 proto 83\n"
		"# ip -6 route replace fd00:77::21/128 via fd00:2::12 table 112 proto 83\n"
		"# ip -6 rule add fwmark 12 lookup 112 protocol 83\n");
	free(text);
	free(set);
}

static void test_v6_apply_and_remove_steps(void **state)
{
	struct sara_config cfg;
	struct rules_set *set;
	char *text;
	(void)state;
	build_v6_config(&cfg);
	set = build(&cfg, RULES_IPTABLES, RULES_DISPATCHER, RULES_REMOVE, -1);
	text = format_steps(set);
	expect_text(text,
		"repeat: ip6tables -t raw -D PREROUTING -d fd00:77::20/128 -p udp -m multiport --dports 5060,5080 -j CT --notrack\n"
		"repeat: ip6tables -t raw -D PREROUTING -d fd00:77::21/128 -p udp -m multiport --dports 5060,5080 -j CT --notrack\n"
		"repeat: ip6tables -t mangle -D PREROUTING -d fd00:77::20/128 -j SARA\n"
		"repeat: ip6tables -t mangle -D POSTROUTING -d fd00:77::20/128 -m mark ! --mark 0 -j CONNMARK --save-mark\n"
		"repeat: ip6tables -t mangle -D PREROUTING -d fd00:77::21/128 -j SARA\n"
		"repeat: ip6tables -t mangle -D POSTROUTING -d fd00:77::21/128 -m mark ! --mark 0 -j CONNMARK --save-mark\n"
		"may-fail: ip6tables -t mangle -F SARA\n"
		"may-fail: ip6tables -t mangle -X SARA\n"
		"may-fail: ip -6 route del fd00:77::20/128 table 111\n"
		"may-fail: ip -6 route del fd00:77::21/128 table 111\n"
		"repeat: ip -6 rule del fwmark 11 lookup 111\n"
		"may-fail: ip -6 route del fd00:77::20/128 table 112\n"
		"may-fail: ip -6 route del fd00:77::21/128 table 112\n"
		"repeat: ip -6 rule del fwmark 12 lookup 112\n");
	free(text);
	free(set);

	set = build(&cfg, RULES_NFT, RULES_DISPATCHER, RULES_APPLY, -1);
	text = format_steps(set);
	/* the nft script replaces the table in one transaction */
	assert_non_null(strstr(text, "must: nft -f -\ntable inet sara {}\ndelete table inet sara\ntable inet sara {\n"));
	assert_non_null(strstr(text, "add-rule: ip -6 rule add fwmark 12 lookup 112 protocol 83\n"));
	free(text);
	free(set);

	set = build(&cfg, RULES_NFT, RULES_DISPATCHER, RULES_REMOVE, -1);
	text = format_steps(set);
	assert_non_null(strstr(text, "may-fail: nft delete table inet sara\n"));
	free(text);
	free(set);
}

/* queue.notrack_udp_signalling: UDP signalling to each VIP skips conntrack
 * (table raw, or an nft chain at raw priority); applied idempotently; an
 * apply with the key off deletes what an earlier apply left. */
static void test_notrack_udp_signalling(void **state)
{
	struct sara_config cfg;
	struct rules_set *set;
	char *text;
	(void)state;
	build_v6_config(&cfg);
	set = build(&cfg, RULES_IPTABLES, RULES_DISPATCHER, RULES_PRINT, -1);
	text = format(set);
	assert_null(strstr(text, "notrack"));
	free(text);
	free(set);

	cfg.queue.notrack_udp_signalling = true;
	set = build(&cfg, RULES_IPTABLES, RULES_DISPATCHER, RULES_PRINT, -1);
	text = format(set);
	assert_non_null(strstr(text, "# UDP signalling skips conntrack: each message takes sarad's mark\n"
				     "ip6tables -t raw -A PREROUTING -d fd00:77::20/128 -p udp -m multiport "
				     "--dports 5060,5080 -j CT --notrack\n"
				     "ip6tables -t raw -A PREROUTING -d fd00:77::21/128 -p udp -m multiport "
				     "--dports 5060,5080 -j CT --notrack\n"));
	free(text);
	free(set);

	set = build(&cfg, RULES_IPTABLES, RULES_DISPATCHER, RULES_APPLY, -1);
	text = format_steps(set);
	assert_non_null(strstr(text, "check: ip6tables -t raw -C PREROUTING -d fd00:77::20/128 -p udp -m multiport "
				     "--dports 5060,5080 -j CT --notrack\n"
				     "must: ip6tables -t raw -A PREROUTING -d fd00:77::20/128 -p udp -m multiport "
				     "--dports 5060,5080 -j CT --notrack\n"));
	free(text);
	free(set);

	set = build(&cfg, RULES_NFT, RULES_DISPATCHER, RULES_PRINT, -1);
	text = format(set);
	assert_non_null(strstr(text, "\tchain notrack {\n"
				     "\t\ttype filter hook prerouting priority raw; policy accept;\n"
				     "\t\t# UDP signalling skips conntrack: each message takes sarad's mark\n"
				     "\t\tip6 daddr { fd00:77::20, fd00:77::21 } udp dport { 5060, 5080 } notrack\n"
				     "\t}\n"));
	free(text);
	free(set);

	cfg.queue.notrack_udp_signalling = false;
	set = build(&cfg, RULES_IPTABLES, RULES_DISPATCHER, RULES_APPLY, -1);
	text = format_steps(set);
	assert_non_null(strstr(text, "repeat: ip6tables -t raw -D PREROUTING -d fd00:77::21/128 -p udp -m multiport "
				     "--dports 5060,5080 -j CT --notrack\n"));
	assert_null(strstr(text, "-t raw -A"));
	free(text);
	free(set);
}

static void test_gateway_queue_override(void **state)
{
	struct sara_config cfg;
	struct rules_set *set;
	char *text;
	(void)state;
	build_v6_config(&cfg);
	assert_int_equal(rules_default_gateway_queue(&cfg), 6);
	set = build(&cfg, RULES_IPTABLES, RULES_GATEWAY, RULES_PRINT, 9);
	text = format(set);
	/* always bypass: the gateway must never hold the servers' replies */
	assert_non_null(strstr(text, "ip6tables -t mangle -A SARA-GW -p udp -m multiport --sports 5060,5080 -j NFQUEUE --queue-num 9 --queue-bypass\n"));
	assert_non_null(strstr(text, "ip6tables -t mangle -A FORWARD -s fd00:2::12/128 -j SARA-GW\n"));
	assert_null(strstr(text, "iptables "));
	assert_null(strstr(text, " rule "));
	free(text);
	free(set);
}

/* ---- dual stack: one mark and table per server, a route per family ------------- */

/* An IPv4 and an IPv6 VIP; two servers with an IPv4 address and an address6. */
static void build_dual_stack_config(struct sara_config *cfg)
{
	char err[256];
	sara_config_defaults(cfg);
	snprintf(cfg->name, sizeof(cfg->name), "dual");
	cfg->vip_count = 2;
	parse_addr("198.18.77.20", &cfg->vips[0]);
	parse_addr("fd00:77::20", &cfg->vips[1]);
	cfg->server_count = 2;
	for (unsigned i = 0; i < 2; i++) {
		struct server_config *s = &cfg->servers[i];
		snprintf(s->id, sizeof(s->id), "s%u", i + 1);
		parse_addr(i == 0 ? "198.18.2.11" : "198.18.2.12", &s->address);
		parse_addr(i == 0 ? "fd00:2::11" : "fd00:2::12", &s->address6);
		s->mark = 1 + i;
		s->table = 101 + i;
		s->weight = 1.0;
	}
	if (!sara_config_validate(cfg, err, sizeof(err)))
		print_error("%s\n", err);
	assert_true(sara_config_validate(cfg, err, sizeof(err)));
}

static void test_dual_stack_apply_steps(void **state)
{
	struct sara_config cfg;
	struct rules_set *set;
	char *text;
	(void)state;
	build_dual_stack_config(&cfg);
	set = build(&cfg, RULES_IPTABLES, RULES_DISPATCHER, RULES_APPLY, -1);
	text = format_steps(set);
	/* both families queued, each from its own hook */
	assert_non_null(strstr(text, "must: iptables -t mangle -A PREROUTING -d 198.18.77.20/32 -j SARA\n"));
	assert_non_null(strstr(text, "must: ip6tables -t mangle -A PREROUTING -d fd00:77::20/128 -j SARA\n"));
	assert_non_null(strstr(text, "must: ip6tables-restore --noflush\n"));
	/* each server's table routes each VIP to its address of the VIP's family */
	assert_non_null(strstr(text, "must: ip route replace 198.18.77.20/32 via 198.18.2.12 table 102 proto 83\n"));
	assert_non_null(strstr(text, "must: ip -6 route replace fd00:77::20/128 via fd00:2::12 table 102 proto 83\n"));
	assert_non_null(strstr(text, "add-rule: ip rule add fwmark 2 lookup 102 protocol 83\n"));
	assert_non_null(strstr(text, "add-rule: ip -6 rule add fwmark 2 lookup 102 protocol 83\n"));
	assert_non_null(strstr(text, "must: ip -6 route replace fd00:77::20/128 nexthop via fd00:2::11 nexthop via "
				     "fd00:2::12\n"));
	/* no route of one family through an address of the other */
	assert_null(strstr(text, "fd00:77::20/128 via 198."));
	assert_null(strstr(text, "198.18.77.20/32 via fd00"));
	assert_null(strstr(text, "no IPv6"));
	free(text);
	free(set);

	set = build(&cfg, RULES_IPTABLES, RULES_DISPATCHER, RULES_REMOVE, -1);
	text = format_steps(set);
	assert_non_null(strstr(text, "may-fail: ip -6 route del fd00:77::20/128 table 101\n"));
	assert_non_null(strstr(text, "repeat: ip -6 rule del fwmark 1 lookup 101\n"));
	assert_non_null(strstr(text, "repeat: ip rule del fwmark 1 lookup 101\n"));
	free(text);
	free(set);
}

static void test_dual_stack_gateway(void **state)
{
	struct sara_config cfg;
	struct rules_set *set;
	char *text;
	(void)state;
	build_dual_stack_config(&cfg);
	set = build(&cfg, RULES_IPTABLES, RULES_GATEWAY, RULES_PRINT, -1);
	text = format(set);
	/* the servers' signalling is recognised from either of their addresses */
	assert_non_null(strstr(text, "iptables -t mangle -A FORWARD -s 198.18.2.11/32 -j SARA-GW\n"));
	assert_non_null(strstr(text, "ip6tables -t mangle -A FORWARD -s fd00:2::11/128 -j SARA-GW\n"));
	assert_non_null(strstr(text, "ip6tables -t mangle -A FORWARD -s fd00:2::12/128 -j SARA-GW\n"));
	assert_non_null(strstr(text, "ip6tables -t mangle -A FORWARD -s fd00:77::20/128 -j SARA-GW\n"));
	free(text);
	free(set);

	set = build(&cfg, RULES_NFT, RULES_GATEWAY, RULES_PRINT, -1);
	text = format(set);
	assert_non_null(strstr(text, "\t\tip saddr { 198.18.77.20, 198.18.2.11, 198.18.2.12 } jump signalling\n"));
	assert_non_null(strstr(text, "\t\tip6 saddr { fd00:77::20, fd00:2::11, fd00:2::12 } jump signalling\n"));
	free(text);
	free(set);
}

/* ---- limits --------------------------------------------------------------------- */

static void test_largest_config_fits(void **state)
{
	struct sara_config cfg;
	struct rules_set *set;
	char err[256], addr[64];
	unsigned routes = 0;
	(void)state;
	sara_config_defaults(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "big");
	cfg.vip_count = SARA_MAX_VIPS;
	/* half the VIPs of each family, every server dual-stack */
	for (unsigned i = 0; i < SARA_MAX_VIPS; i++) {
		if (i % 2)
			snprintf(addr, sizeof(addr), "fd00:77::%x", i + 1);
		else
			snprintf(addr, sizeof(addr), "198.18.77.%u", i + 1);
		parse_addr(addr, &cfg.vips[i]);
	}
	cfg.server_count = SARA_MAX_SERVERS;
	for (unsigned i = 0; i < SARA_MAX_SERVERS; i++) {
		struct server_config *s = &cfg.servers[i];
		snprintf(s->id, sizeof(s->id), "s%u", i);
		snprintf(addr, sizeof(addr), "198.18.2.%u", i + 10);
		parse_addr(addr, &s->address);
		snprintf(addr, sizeof(addr), "fd00:2::%x", i + 10);
		parse_addr(addr, &s->address6);
		s->mark = i + 1;
		s->table = 1000 + i;
		s->weight = 1.0;
	}
	assert_true(sara_config_validate(&cfg, err, sizeof(err)));
	set = build(&cfg, RULES_IPTABLES, RULES_DISPATCHER, RULES_APPLY, -1);
	for (unsigned i = 0; i < set->count; i++) {
		const struct rules_command *cmd = &set->commands[i];
		/* "ip route ..." or "ip -6 route ..." */
		unsigned verb = cmd->argc > 1 && strcmp(cmd->argv[1], "-6") == 0 ? 2 : 1;
		if (cmd->argc > verb + 3 && strcmp(cmd->argv[verb], "route") == 0 &&
		    strcmp(cmd->argv[cmd->argc - 4], "table") == 0)
			routes++;
	}
	assert_int_equal(routes, SARA_MAX_VIPS * SARA_MAX_SERVERS);
	free(set);
	set = build(&cfg, RULES_NFT, RULES_DISPATCHER, RULES_PRINT, -1);
	free(set);
	set = build(&cfg, RULES_NFT, RULES_GATEWAY, RULES_APPLY, -1);
	free(set);
	set = build(&cfg, RULES_IPTABLES, RULES_GATEWAY, RULES_APPLY, -1);
	free(set);
}

static void test_refuses_empty_config(void **state)
{
	struct sara_config cfg;
	struct rules_options opt = { RULES_IPTABLES, RULES_DISPATCHER, RULES_PRINT, -1 };
	struct rules_set *set = calloc(1, sizeof(*set));
	char err[256];
	(void)state;
	assert_non_null(set);
	sara_config_defaults(&cfg);
	assert_false(rules_build(&cfg, &opt, set, err, sizeof(err)));
	assert_non_null(strstr(err, "no VIPs"));
	free(set);
}

static void test_format_buffer_too_small(void **state)
{
	struct sara_config cfg;
	struct rules_set *set;
	char small[64];
	(void)state;
	load_example(&cfg);
	set = build(&cfg, RULES_IPTABLES, RULES_DISPATCHER, RULES_PRINT, -1);
	assert_int_equal(rules_format(set, small, sizeof(small)), 0);
	free(set);
}

static void test_probe_scripts(void **state)
{
	(void)state;
	assert_non_null(strstr(rules_nft_probe_script(), "queue num 0 bypass"));
	assert_null(strstr(rules_nft_baseline_script(), "queue"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_iptables_matches_committed),
		cmocka_unit_test(test_example_nft_matches_committed),
		cmocka_unit_test(test_example_gateway_matches_committed),
		cmocka_unit_test(test_example_essentials),
		cmocka_unit_test(test_example_apply_is_idempotent),
		cmocka_unit_test(test_v6_iptables_print),
		cmocka_unit_test(test_v6_nft_print),
		cmocka_unit_test(test_v6_apply_and_remove_steps),
		cmocka_unit_test(test_notrack_udp_signalling),
		cmocka_unit_test(test_gateway_queue_override),
		cmocka_unit_test(test_dual_stack_apply_steps),
		cmocka_unit_test(test_dual_stack_gateway),
		cmocka_unit_test(test_largest_config_fits),
		cmocka_unit_test(test_refuses_empty_config),
		cmocka_unit_test(test_format_buffer_too_small),
		cmocka_unit_test(test_probe_scripts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
