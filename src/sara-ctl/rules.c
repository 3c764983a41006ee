/* rules.c - generates a cluster's netfilter and policy-routing rule set
 * (dispatcher or gateway; iptables or nft) as command lines. No I/O. */
#include "sara-ctl/rules.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sara-ctl/text_buf.h"

#define LINE_MAX_CHARS 8192   /* one command line: 64 "nexthop via IPv6" fit */
#define PORTS_TEXT_MAX 128    /* 16 ports of 5 digits with separators */
#define ADDRS_TEXT_MAX ((SARA_MAX_VIPS + 2 * SARA_MAX_SERVERS) * (NETADDR_STRLEN + 2) + 8)

struct builder {
	struct rules_set *set;
	const struct sara_config *cfg;
	const struct rules_options *opt;
	unsigned gateway_queue;
};

static const int families[2] = { NETADDR_IPV4, NETADDR_IPV6 };

/* ---- the set: commands and their string pool ---------------------------- */

static const char *pool_copy(struct rules_set *set, const char *text, size_t len)
{
	char *out;
	if (set->pool_used + len + 1 > sizeof(set->pool)) {
		set->overflow = true;
		return NULL;
	}
	out = set->pool + set->pool_used;
	memcpy(out, text, len);
	out[len] = '\0';
	set->pool_used += len + 1;
	return out;
}

/* A new command whose argv starts at the next free word; words are appended
 * with command_word() before the next command is begun. */
static struct rules_command *command_new(struct rules_set *set, enum rules_step step)
{
	struct rules_command *cmd;
	if (set->overflow || set->count == RULES_MAX_COMMANDS || set->word_count == RULES_MAX_WORDS) {
		set->overflow = true;
		return NULL;
	}
	cmd = &set->commands[set->count++];
	memset(cmd, 0, sizeof(*cmd));
	cmd->step = step;
	cmd->argv = &set->words[set->word_count];
	set->words[set->word_count++] = NULL;
	return cmd;
}

/* Appends one word (copied into the pool) to the command begun last. */
static bool command_word(struct rules_set *set, struct rules_command *cmd, const char *text, size_t len)
{
	const char *word;
	if (set->word_count == RULES_MAX_WORDS) {
		set->overflow = true;
		return false;
	}
	word = pool_copy(set, text, len);
	if (!word)
		return false;
	cmd->argv[cmd->argc++] = word;
	set->words[set->word_count++] = NULL;
	return true;
}

/* One command from a printf-formatted line: split at spaces into its words
 * (no word we generate contains a space), or kept whole as one word. NULL
 * on overflow. */
__attribute__((format(printf, 4, 0)))
static struct rules_command *vadd(struct rules_set *set, enum rules_step step, bool split, const char *fmt,
				  va_list ap)
{
	char line[LINE_MAX_CHARS];
	struct rules_command *cmd;
	const char *p, *end;
	int n = vsnprintf(line, sizeof(line), fmt, ap);

	if (n < 0 || (size_t)n >= sizeof(line)) {
		set->overflow = true;
		return NULL;
	}
	cmd = command_new(set, step);
	if (!cmd)
		return NULL;
	if (!split)
		return command_word(set, cmd, line, (size_t)n) ? cmd : NULL;
	p = line;
	end = line + n;
	while (p < end) {
		const char *word_end;
		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		word_end = memchr(p, ' ', (size_t)(end - p));
		if (!word_end)
			word_end = end;
		if (!command_word(set, cmd, p, (size_t)(word_end - p)))
			return NULL;
		p = word_end;
	}
	return cmd;
}

/* A command: the formatted line's words. */
__attribute__((format(printf, 3, 4)))
static struct rules_command *add(struct rules_set *set, enum rules_step step, const char *fmt, ...)
{
	struct rules_command *cmd;
	va_list ap;
	va_start(ap, fmt);
	cmd = vadd(set, step, true, fmt, ap);
	va_end(ap);
	return cmd;
}

/* A comment (RULES_COMMENT) or verbatim text (RULES_TEXT): one argv word. */
__attribute__((format(printf, 3, 4)))
static void add_text(struct rules_set *set, enum rules_step step, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vadd(set, step, false, fmt, ap);
	va_end(ap);
}

/* ---- text pieces -------------------------------------------------------- */

static bool has_family(const struct sara_config *cfg, int family, bool vips, bool servers)
{
	for (unsigned i = 0; vips && i < cfg->vip_count; i++)
		if (cfg->vips[i].family == family)
			return true;
	for (unsigned i = 0; servers && i < cfg->server_count; i++)
		if (server_config_address(&cfg->servers[i], family))
			return true;
	return false;
}

static const char *host_prefix(const struct netaddr *addr, char *buf, size_t size)
{
	char text[NETADDR_STRLEN];
	snprintf(buf, size, "%s/%d", netaddr_format(addr, text, sizeof(text)),
		 addr->family == NETADDR_IPV6 ? 128 : 32);
	return buf;
}

/* "5060" or "554,8554" (sep ",") or "554, 8554" (sep ", "). */
static const char *ports_text(const uint16_t *ports, unsigned count, const char *sep, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < count; i++) {
		int n = snprintf(buf + used, size - used, "%s%u", i ? sep : "", (unsigned)ports[i]);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
	return buf;
}

/* iptables port match: "--dport 5060" or "-m multiport --dports 554,8554". */
static const char *xt_ports(const uint16_t *ports, unsigned count, bool source, char *buf, size_t size)
{
	char list[PORTS_TEXT_MAX];
	ports_text(ports, count, ",", list, sizeof(list));
	if (count == 1)
		snprintf(buf, size, "--%s %s", source ? "sport" : "dport", list);
	else
		snprintf(buf, size, "-m multiport --%s %s", source ? "sports" : "dports", list);
	return buf;
}

/* The dispatcher's NFQUEUE target options. */
static const char *xt_queue(const struct sara_config *cfg, char *buf, size_t size)
{
	if (cfg->queue.count > 1)
		snprintf(buf, size, "NFQUEUE --queue-balance %u:%u%s", (unsigned)cfg->queue.first,
			 (unsigned)cfg->queue.first + cfg->queue.count - 1,
			 cfg->queue.fail_open ? " --queue-bypass" : "");
	else
		snprintf(buf, size, "NFQUEUE --queue-num %u%s", (unsigned)cfg->queue.first,
			 cfg->queue.fail_open ? " --queue-bypass" : "");
	return buf;
}

static const char *nft_queue(const struct sara_config *cfg, char *buf, size_t size)
{
	if (cfg->queue.count > 1)
		snprintf(buf, size, "queue num %u-%u%s", (unsigned)cfg->queue.first,
			 (unsigned)cfg->queue.first + cfg->queue.count - 1, cfg->queue.fail_open ? " bypass" : "");
	else
		snprintf(buf, size, "queue num %u%s", (unsigned)cfg->queue.first,
			 cfg->queue.fail_open ? " bypass" : "");
	return buf;
}

static const char *xt_binary(int family)
{
	return family == NETADDR_IPV6 ? "ip6tables" : "iptables";
}

static const char *ip_binary(int family)
{
	return family == NETADDR_IPV6 ? "ip -6" : "ip";
}


/* ---- iptables: our chains, printed or replaced in one transaction -------- */

#define CHAIN_SCRIPT_MAX 8192

/* One rule of chain: printed, a command; applied, a line of the restore
 * script that replaces the chain in one transaction (iptables-restore
 * --noflush), so that no packet meets it half-built. */
__attribute__((format(printf, 5, 6)))
static void chain_rule(struct builder *b, struct text_buf *script, const char *xt, const char *chain,
		       const char *fmt, ...)
{
	char rule[LINE_MAX_CHARS];
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(rule, sizeof(rule), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(rule)) {
		b->set->overflow = true;
		return;
	}
	if (b->opt->operation == RULES_APPLY)
		text_buf_printf(script, "-A %s %s\n", chain, rule);
	else
		add(b->set, RULES_MUST, "%s -t mangle -A %s %s", xt, chain, rule);
}

/* Applied: the restore command carrying the chain's script. */
static void chain_commit(struct builder *b, struct text_buf *script, const char *xt)
{
	struct rules_command *cmd;
	const char *text;
	if (b->opt->operation != RULES_APPLY)
		return;
	text_buf_printf(script, "COMMIT\n");
	if (script->overflow) {
		b->set->overflow = true;
		return;
	}
	text = pool_copy(b->set, script->buf, script->used);
	cmd = add(b->set, RULES_MUST, "%s-restore --noflush", xt);
	if (cmd && text)
		cmd->stdin_text = text;
}

/* ---- iptables: the dispatcher's chain SARA ------------------------------- */

/* With queue.notrack_udp_signalling: UDP signalling to the VIPs skips
 * conntrack (table raw, before it). Every such packet crosses to sarad and
 * takes its verdict's mark, so its connection entry only cost a lookup and
 * a connmark save per message; without it a fail-open bypass routes the
 * packet by the fallback route instead of the flow's last mark. Removed
 * (when present) on apply with the key off, and on remove. */
static void xt_notrack(struct builder *b, int family)
{
	struct rules_set *set = b->set;
	const struct sara_config *cfg = b->cfg;
	enum rules_operation op = b->opt->operation;
	const char *xt = xt_binary(family);
	char ports[PORTS_TEXT_MAX + 32], vip[NETADDR_STRLEN + 8];
	bool wanted = cfg->queue.notrack_udp_signalling && op != RULES_REMOVE;

	if (!cfg->sip_port_count || (!wanted && op == RULES_PRINT))
		return;
	xt_ports(cfg->sip_ports, cfg->sip_port_count, false, ports, sizeof(ports));
	if (op == RULES_PRINT)
		add_text(set, RULES_COMMENT, "UDP signalling skips conntrack: each message takes sarad's mark");
	for (unsigned i = 0; i < cfg->vip_count; i++) {
		if (cfg->vips[i].family != family)
			continue;
		host_prefix(&cfg->vips[i], vip, sizeof(vip));
		if (!wanted) {
			add(set, RULES_REPEAT_UNTIL_FAIL, "%s -t raw -D PREROUTING -d %s -p udp %s -j CT --notrack", xt,
			    vip, ports);
			continue;
		}
		if (op == RULES_APPLY)
			add(set, RULES_SKIP_NEXT_IF_OK, "%s -t raw -C PREROUTING -d %s -p udp %s -j CT --notrack", xt,
			    vip, ports);
		add(set, RULES_MUST, "%s -t raw -A PREROUTING -d %s -p udp %s -j CT --notrack", xt, vip, ports);
	}
}


static void xt_dispatcher(struct builder *b, int family)
{
	struct rules_set *set = b->set;
	const struct sara_config *cfg = b->cfg;
	enum rules_operation op = b->opt->operation;
	const char *xt = xt_binary(family);
	char queue[96], ports[PORTS_TEXT_MAX + 32], vip[NETADDR_STRLEN + 8], script_text[CHAIN_SCRIPT_MAX];
	struct text_buf script = { script_text, sizeof(script_text), 0, false };

	if (!has_family(cfg, family, true, false))
		return;
	xt_queue(cfg, queue, sizeof(queue));
	xt_notrack(b, family);
	if (op == RULES_REMOVE) {
		for (unsigned i = 0; i < cfg->vip_count; i++) {
			if (cfg->vips[i].family != family)
				continue;
			host_prefix(&cfg->vips[i], vip, sizeof(vip));
			add(set, RULES_REPEAT_UNTIL_FAIL, "%s -t mangle -D PREROUTING -d %s -j %s", xt, vip, RULES_CHAIN);
			add(set, RULES_REPEAT_UNTIL_FAIL,
			    "%s -t mangle -D POSTROUTING -d %s -m mark ! --mark 0 -j CONNMARK --save-mark", xt, vip);
		}
		add(set, RULES_MAY_FAIL, "%s -t mangle -F %s", xt, RULES_CHAIN);
		add(set, RULES_MAY_FAIL, "%s -t mangle -X %s", xt, RULES_CHAIN);
		return;
	}

	if (op == RULES_PRINT) {
		add_text(set, RULES_COMMENT, "%s: chain %s in table mangle, for packets to the %s VIPs",
			 xt, RULES_CHAIN, family == NETADDR_IPV6 ? "IPv6" : "IPv4");
		add(set, RULES_MUST, "%s -t mangle -N %s", xt, RULES_CHAIN);
	}
	text_buf_printf(&script, "*mangle\n:%s - [0:0]\n", RULES_CHAIN);
	if (op == RULES_PRINT)
		add_text(set, RULES_COMMENT, "a decided connection's mark comes back from its connmark");
	chain_rule(b, &script, xt, RULES_CHAIN, "-j CONNMARK --restore-mark");
	if (op == RULES_PRINT)
		add_text(set, RULES_COMMENT, "signalling always crosses to sarad");
	if (cfg->sip_port_count) {
		xt_ports(cfg->sip_ports, cfg->sip_port_count, false, ports, sizeof(ports));
		chain_rule(b, &script, xt, RULES_CHAIN, "-p udp %s -j %s", ports, queue);
		chain_rule(b, &script, xt, RULES_CHAIN, "-p tcp %s -j %s", ports, queue);
	}
	if (cfg->rtsp_port_count) {
		xt_ports(cfg->rtsp_ports, cfg->rtsp_port_count, false, ports, sizeof(ports));
		chain_rule(b, &script, xt, RULES_CHAIN, "-p tcp %s -j %s", ports, queue);
	}
	if (op == RULES_PRINT)
		add_text(set, RULES_COMMENT, "decided flows stay in the kernel; the first packets of the others cross");
	chain_rule(b, &script, xt, RULES_CHAIN, "-m mark ! --mark 0 -j RETURN");
	chain_rule(b, &script, xt, RULES_CHAIN, "-j %s", queue);
	chain_commit(b, &script, xt);
	if (op == RULES_PRINT)
		add_text(set, RULES_COMMENT, "hook: packets to each VIP; the verdict's mark is saved in a later hook");
	for (unsigned i = 0; i < cfg->vip_count; i++) {
		if (cfg->vips[i].family != family)
			continue;
		host_prefix(&cfg->vips[i], vip, sizeof(vip));
		if (op == RULES_APPLY)
			add(set, RULES_SKIP_NEXT_IF_OK, "%s -t mangle -C PREROUTING -d %s -j %s", xt, vip, RULES_CHAIN);
		add(set, RULES_MUST, "%s -t mangle -A PREROUTING -d %s -j %s", xt, vip, RULES_CHAIN);
		if (op == RULES_APPLY)
			add(set, RULES_SKIP_NEXT_IF_OK,
			    "%s -t mangle -C POSTROUTING -d %s -m mark ! --mark 0 -j CONNMARK --save-mark", xt, vip);
		add(set, RULES_MUST, "%s -t mangle -A POSTROUTING -d %s -m mark ! --mark 0 -j CONNMARK --save-mark",
		    xt, vip);
	}
}

/* ---- policy routing (both backends) -------------------------------------- */

/* Each server's route in its table, and the rule that sends its mark there. */
static void server_routes(struct builder *b, int family, bool as_comments)
{
	struct rules_set *set = b->set;
	const struct sara_config *cfg = b->cfg;
	enum rules_operation op = b->opt->operation;
	const char *ip = ip_binary(family);
	enum rules_step must = as_comments ? RULES_COMMENT : RULES_MUST;
	char vip[NETADDR_STRLEN + 8], addr[NETADDR_STRLEN];

	if (op == RULES_PRINT)
		add_text(set, RULES_COMMENT, "%s policy routing: mark M -> table T -> server", ip);
	for (unsigned s = 0; s < cfg->server_count; s++) {
		const struct server_config *srv = &cfg->servers[s];
		const struct netaddr *srv_addr = server_config_address(srv, family);
		if (!srv_addr) {
			if (op == RULES_PRINT)
				add_text(set, RULES_COMMENT, "server %s has no %s address: no %s route to it", srv->id,
					 family == NETADDR_IPV6 ? "IPv6" : "IPv4", family == NETADDR_IPV6 ? "IPv6" : "IPv4");
			continue;
		}
		netaddr_format(srv_addr, addr, sizeof(addr));
		for (unsigned v = 0; v < cfg->vip_count; v++) {
			if (cfg->vips[v].family != family)
				continue;
			host_prefix(&cfg->vips[v], vip, sizeof(vip));
			if (op == RULES_REMOVE)
				add(set, RULES_MAY_FAIL, "%s route del %s table %" PRIu32, ip, vip, srv->table);
			else if (as_comments)
				add_text(set, RULES_COMMENT, "%s route replace %s via %s table %" PRIu32 " proto %d", ip,
					 vip, addr, srv->table, RULES_RT_PROTO);
			else
				add(set, must, "%s route replace %s via %s table %" PRIu32 " proto %d", ip, vip, addr,
				    srv->table, RULES_RT_PROTO);
		}
		if (op == RULES_REMOVE) {
			add(set, RULES_REPEAT_UNTIL_FAIL, "%s rule del fwmark %" PRIu32 " lookup %" PRIu32, ip,
			    srv->mark, srv->table);
			continue;
		}
		/* Applied, a rule already there stays: deleting and adding it
		 * again would leave its mark unrouted for a moment. */
		if (as_comments)
			add_text(set, RULES_COMMENT, "%s rule add fwmark %" PRIu32 " lookup %" PRIu32 " protocol %d", ip,
				 srv->mark, srv->table, RULES_RT_PROTO);
		else
			add(set, op == RULES_APPLY ? RULES_ADD_RULE : RULES_MUST,
			    "%s rule add fwmark %" PRIu32 " lookup %" PRIu32 " protocol %d", ip, srv->mark, srv->table,
			    RULES_RT_PROTO);
	}
}

/* With queue.fail_open: each VIP's main-table route over every server of
 * the family (what sarad does not mark still reaches a server). */
static void fallback_routes(struct builder *b, int family, bool as_comments)
{
	struct rules_set *set = b->set;
	const struct sara_config *cfg = b->cfg;
	enum rules_operation op = b->opt->operation;
	const char *ip = ip_binary(family);
	char vip[NETADDR_STRLEN + 8], addr[NETADDR_STRLEN], vip_text[NETADDR_STRLEN];
	unsigned same_family = 0;

	for (unsigned s = 0; s < cfg->server_count; s++)
		if (server_config_address(&cfg->servers[s], family))
			same_family++;
	if (op == RULES_PRINT)
		add_text(set, RULES_COMMENT, "fail-open fallback: bypassed packets (mark 0) spread over the servers");
	for (unsigned v = 0; v < cfg->vip_count; v++) {
		char line[LINE_MAX_CHARS];
		size_t used;
		if (cfg->vips[v].family != family)
			continue;
		host_prefix(&cfg->vips[v], vip, sizeof(vip));
		if (same_family == 0) {
			if (op == RULES_PRINT)
				add_text(set, RULES_COMMENT, "no server has an %s address: no fallback route for %s",
					 family == NETADDR_IPV6 ? "IPv6" : "IPv4",
					 netaddr_format(&cfg->vips[v], vip_text, sizeof(vip_text)));
			continue;
		}
		if (op == RULES_REMOVE) {
			add(set, RULES_MAY_FAIL, "%s route del %s", ip, vip);
			continue;
		}
		used = (size_t)snprintf(line, sizeof(line), "%s route replace %s", ip, vip);
		for (unsigned s = 0; s < cfg->server_count && used < sizeof(line); s++) {
			const struct netaddr *srv_addr = server_config_address(&cfg->servers[s], family);
			if (!srv_addr)
				continue;
			netaddr_format(srv_addr, addr, sizeof(addr));
			used += (size_t)snprintf(line + used, sizeof(line) - used, "%s via %s",
						 same_family > 1 ? " nexthop" : "", addr);
		}
		if (used >= sizeof(line)) {
			set->overflow = true;
			return;
		}
		if (as_comments)
			add_text(set, RULES_COMMENT, "%s", line);
		else
			add(set, RULES_MUST, "%s", line);
	}
}

static void routes_family(struct builder *b, int family)
{
	/* In an nft listing the ip commands are not part of the script: comments. */
	bool as_comments = b->opt->operation == RULES_PRINT && b->opt->backend == RULES_NFT;
	if (!has_family(b->cfg, family, true, false))
		return;
	server_routes(b, family, as_comments);
	if (b->cfg->queue.fail_open)
		fallback_routes(b, family, as_comments);
}

/* ---- iptables: the gateway's chain SARA-GW ------------------------------- */

static void xt_gateway(struct builder *b, int family)
{
	struct rules_set *set = b->set;
	const struct sara_config *cfg = b->cfg;
	enum rules_operation op = b->opt->operation;
	const char *xt = xt_binary(family);
	char queue[64], ports[PORTS_TEXT_MAX + 32], src[NETADDR_STRLEN + 8], script_text[CHAIN_SCRIPT_MAX];
	struct text_buf script = { script_text, sizeof(script_text), 0, false };
	struct netaddr sources[SARA_MAX_VIPS + SARA_MAX_SERVERS];
	unsigned source_count = 0;

	if (!has_family(cfg, family, true, true))
		return;
	/* VIPs (direct server return) and server addresses, once each. */
	for (unsigned i = 0; i < cfg->vip_count + cfg->server_count; i++) {
		const struct netaddr *a = i < cfg->vip_count ? &cfg->vips[i]
							     : server_config_address(&cfg->servers[i - cfg->vip_count], family);
		bool seen = false;
		if (!a || a->family != family)
			continue;
		for (unsigned k = 0; k < source_count && !seen; k++)
			seen = netaddr_equal(&sources[k], a);
		if (!seen)
			sources[source_count++] = *a;
	}
	snprintf(queue, sizeof(queue), "NFQUEUE --queue-num %u --queue-bypass", b->gateway_queue);

	if (op == RULES_REMOVE) {
		for (unsigned i = 0; i < source_count; i++) {
			host_prefix(&sources[i], src, sizeof(src));
			add(set, RULES_REPEAT_UNTIL_FAIL, "%s -t mangle -D FORWARD -s %s -j %s", xt, src, RULES_GW_CHAIN);
		}
		add(set, RULES_MAY_FAIL, "%s -t mangle -F %s", xt, RULES_GW_CHAIN);
		add(set, RULES_MAY_FAIL, "%s -t mangle -X %s", xt, RULES_GW_CHAIN);
		return;
	}
	if (op == RULES_PRINT) {
		add_text(set, RULES_COMMENT, "%s: chain %s in table mangle: the servers' outbound signalling to sara-gw",
			 xt, RULES_GW_CHAIN);
		add(set, RULES_MUST, "%s -t mangle -N %s", xt, RULES_GW_CHAIN);
	}
	text_buf_printf(&script, "*mangle\n:%s - [0:0]\n", RULES_GW_CHAIN);
	if (cfg->sip_port_count) {
		xt_ports(cfg->sip_ports, cfg->sip_port_count, true, ports, sizeof(ports));
		chain_rule(b, &script, xt, RULES_GW_CHAIN, "-p udp %s -j %s", ports, queue);
		chain_rule(b, &script, xt, RULES_GW_CHAIN, "-p tcp %s -j %s", ports, queue);
	}
	if (cfg->rtsp_port_count) {
		xt_ports(cfg->rtsp_ports, cfg->rtsp_port_count, true, ports, sizeof(ports));
		chain_rule(b, &script, xt, RULES_GW_CHAIN, "-p tcp %s -j %s", ports, queue);
	}
	chain_commit(b, &script, xt);
	if (op == RULES_PRINT)
		add_text(set, RULES_COMMENT, "hook: forwarded packets from each VIP and server address");
	for (unsigned i = 0; i < source_count; i++) {
		host_prefix(&sources[i], src, sizeof(src));
		if (op == RULES_APPLY)
			add(set, RULES_SKIP_NEXT_IF_OK, "%s -t mangle -C FORWARD -s %s -j %s", xt, src, RULES_GW_CHAIN);
		add(set, RULES_MUST, "%s -t mangle -A FORWARD -s %s -j %s", xt, src, RULES_GW_CHAIN);
	}
}

/* ---- nft scripts ---------------------------------------------------------- */

/* "{ a, b }" of the addresses of one family; false when there are none. */
static bool nft_addr_set(const struct netaddr *const *addrs, unsigned count, int family, char *buf, size_t size)
{
	struct text_buf tb = { buf, size, 0, false };
	char text[NETADDR_STRLEN];
	unsigned n = 0;
	text_buf_printf(&tb, "{ ");
	for (unsigned i = 0; i < count; i++) {
		bool seen = false;
		if (addrs[i]->family != family)
			continue;
		for (unsigned k = 0; k < i && !seen; k++)
			seen = netaddr_equal(addrs[k], addrs[i]);
		if (seen)
			continue;
		text_buf_printf(&tb, "%s%s", n ? ", " : "", netaddr_format(addrs[i], text, sizeof(text)));
		n++;
	}
	text_buf_printf(&tb, " }");
	return n > 0 && !tb.overflow;
}

/* The signalling ports as nft matches: "5060" or "{ 5060, 5061 }" for UDP
 * (SIP) and for TCP (SIP and RTSP). */
struct nft_ports {
	char udp[PORTS_TEXT_MAX + 4];
	char tcp[2 * PORTS_TEXT_MAX + 4];
	unsigned udp_count, tcp_count;
};

static void nft_signalling_ports(const struct sara_config *cfg, struct nft_ports *out)
{
	uint16_t tcp_ports[2 * SARA_MAX_PORTS];
	char list[2 * PORTS_TEXT_MAX];

	out->tcp_count = 0;
	for (unsigned i = 0; i < cfg->sip_port_count; i++)
		tcp_ports[out->tcp_count++] = cfg->sip_ports[i];
	for (unsigned i = 0; i < cfg->rtsp_port_count; i++)
		tcp_ports[out->tcp_count++] = cfg->rtsp_ports[i];
	out->udp_count = cfg->sip_port_count;
	ports_text(cfg->sip_ports, cfg->sip_port_count, ", ", list, sizeof(list));
	snprintf(out->udp, sizeof(out->udp), out->udp_count > 1 ? "{ %s }" : "%s", list);
	ports_text(tcp_ports, out->tcp_count, ", ", list, sizeof(list));
	snprintf(out->tcp, sizeof(out->tcp), out->tcp_count > 1 ? "{ %s }" : "%s", list);
}

/* A base chain on hook that sends packets whose address (dir: "daddr" or
 * "saddr") is in addrs to target; sets keeps the two sets for later rules. */
struct nft_sets {
	char v4[ADDRS_TEXT_MAX], v6[ADDRS_TEXT_MAX];
	bool has4, has6;
};

static void nft_hook_jump(struct text_buf *tb, const char *hook, const char *dir, const struct netaddr **addrs,
			  unsigned count, const char *target, struct nft_sets *sets)
{
	sets->has4 = nft_addr_set(addrs, count, NETADDR_IPV4, sets->v4, sizeof(sets->v4));
	sets->has6 = nft_addr_set(addrs, count, NETADDR_IPV6, sets->v6, sizeof(sets->v6));
	text_buf_printf(tb, "\tchain %s {\n\t\ttype filter hook %s priority mangle; policy accept;\n", hook, hook);
	if (sets->has4)
		text_buf_printf(tb, "\t\tip %s %s jump %s\n", dir, sets->v4, target);
	if (sets->has6)
		text_buf_printf(tb, "\t\tip6 %s %s jump %s\n", dir, sets->v6, target);
	text_buf_printf(tb, "\t}\n");
}

static void nft_dispatcher_script(const struct sara_config *cfg, struct text_buf *tb)
{
	const struct netaddr *vips[SARA_MAX_VIPS];
	struct nft_sets sets;
	char queue[64];
	struct nft_ports ports;

	for (unsigned i = 0; i < cfg->vip_count; i++)
		vips[i] = &cfg->vips[i];
	nft_queue(cfg, queue, sizeof(queue));
	nft_signalling_ports(cfg, &ports);

	text_buf_printf(tb, "table inet %s {\n", RULES_NFT_TABLE);
	nft_hook_jump(tb, "prerouting", "daddr", vips, cfg->vip_count, "dispatch", &sets);
	if (cfg->queue.notrack_udp_signalling && ports.udp_count) {
		text_buf_printf(tb, "\tchain notrack {\n\t\ttype filter hook prerouting priority raw; policy accept;\n");
		text_buf_printf(tb, "\t\t# UDP signalling skips conntrack: each message takes sarad's mark\n");
		if (sets.has4)
			text_buf_printf(tb, "\t\tip daddr %s udp dport %s notrack\n", sets.v4, ports.udp);
		if (sets.has6)
			text_buf_printf(tb, "\t\tip6 daddr %s udp dport %s notrack\n", sets.v6, ports.udp);
		text_buf_printf(tb, "\t}\n");
	}
	text_buf_printf(tb, "\tchain dispatch {\n");
	text_buf_printf(tb, "\t\t# a decided connection's mark comes back from its connmark\n");
	text_buf_printf(tb, "\t\tmeta mark set ct mark\n");
	text_buf_printf(tb, "\t\t# signalling always crosses to sarad\n");
	if (ports.udp_count)
		text_buf_printf(tb, "\t\tudp dport %s %s\n", ports.udp, queue);
	if (ports.tcp_count)
		text_buf_printf(tb, "\t\ttcp dport %s %s\n", ports.tcp, queue);
	text_buf_printf(tb, "\t\t# decided flows stay in the kernel; the first packets of the others cross\n");
	text_buf_printf(tb, "\t\tmeta mark != 0 return\n");
	text_buf_printf(tb, "\t\t%s\n", queue);
	text_buf_printf(tb, "\t}\n");
	text_buf_printf(tb, "\tchain postrouting {\n\t\ttype filter hook postrouting priority mangle; policy accept;\n");
	text_buf_printf(tb, "\t\t# the verdict's mark takes effect after prerouting: save it here\n");
	if (sets.has4)
		text_buf_printf(tb, "\t\tip daddr %s meta mark != 0 ct mark set meta mark\n", sets.v4);
	if (sets.has6)
		text_buf_printf(tb, "\t\tip6 daddr %s meta mark != 0 ct mark set meta mark\n", sets.v6);
	text_buf_printf(tb, "\t}\n}\n");
}

static void nft_gateway_script(const struct sara_config *cfg, unsigned queue_num, struct text_buf *tb)
{
	const struct netaddr *sources[SARA_MAX_VIPS + 2 * SARA_MAX_SERVERS];
	struct nft_sets sets;
	struct nft_ports ports;
	unsigned count = 0;

	for (unsigned i = 0; i < cfg->vip_count; i++)
		sources[count++] = &cfg->vips[i];
	for (unsigned i = 0; i < cfg->server_count; i++) {
		sources[count++] = &cfg->servers[i].address;
		if (cfg->servers[i].address6.family)
			sources[count++] = &cfg->servers[i].address6;
	}
	nft_signalling_ports(cfg, &ports);

	text_buf_printf(tb, "table inet %s {\n", RULES_NFT_GW_TABLE);
	nft_hook_jump(tb, "forward", "saddr", sources, count, "signalling", &sets);
	text_buf_printf(tb, "\tchain signalling {\n");
	text_buf_printf(tb, "\t\t# the servers' outbound signalling to sara-gw, never blocked\n");
	if (ports.udp_count)
		text_buf_printf(tb, "\t\tudp sport %s queue num %u bypass\n", ports.udp, queue_num);
	if (ports.tcp_count)
		text_buf_printf(tb, "\t\ttcp sport %s queue num %u bypass\n", ports.tcp, queue_num);
	text_buf_printf(tb, "\t}\n}\n");
}

static void nft_rules(struct builder *b)
{
	struct rules_set *set = b->set;
	/* The script is written straight into the pool, then reserved there. */
	struct text_buf tb = { set->pool + set->pool_used, sizeof(set->pool) - set->pool_used, 0, false };
	enum rules_operation op = b->opt->operation;
	const char *table = b->opt->role == RULES_GATEWAY ? RULES_NFT_GW_TABLE : RULES_NFT_TABLE;
	struct rules_command *cmd;
	const char *script;

	if (op == RULES_REMOVE) {
		add(set, RULES_MAY_FAIL, "nft delete table inet %s", table);
		return;
	}
	/* Apply replaces the table atomically: create-if-absent, delete, define. */
	if (op == RULES_APPLY)
		text_buf_printf(&tb, "table inet %s {}\ndelete table inet %s\n", table, table);
	if (b->opt->role == RULES_GATEWAY)
		nft_gateway_script(b->cfg, b->gateway_queue, &tb);
	else
		nft_dispatcher_script(b->cfg, &tb);
	if (tb.overflow || tb.size == 0) {
		set->overflow = true;
		return;
	}
	script = tb.buf;
	set->pool_used += tb.used + 1;
	if (op == RULES_PRINT) {
		/* the script is already in the pool: one word pointing at it */
		cmd = command_new(set, RULES_TEXT);
		if (cmd && set->word_count < RULES_MAX_WORDS) {
			cmd->argv[cmd->argc++] = script;
			set->words[set->word_count++] = NULL;
		} else {
			set->overflow = true;
		}
		return;
	}
	cmd = add(set, RULES_MUST, "nft -f -");
	if (cmd)
		cmd->stdin_text = script;
}

/* ---- entry points ---------------------------------------------------------- */

unsigned rules_default_gateway_queue(const struct sara_config *cfg)
{
	return (unsigned)cfg->queue.first + cfg->queue.count;
}

bool rules_build(const struct sara_config *cfg, const struct rules_options *opt, struct rules_set *set,
		 char *err, size_t err_size)
{
	struct builder b = { set, cfg, opt, 0 };

	set->count = 0;
	set->word_count = 0;
	set->pool_used = 0;
	set->overflow = false;
	if (cfg->vip_count == 0 || cfg->server_count == 0) {
		snprintf(err, err_size, "the configuration has no VIPs or no servers");
		return false;
	}
	b.gateway_queue = opt->gateway_queue >= 0 ? (unsigned)opt->gateway_queue : rules_default_gateway_queue(cfg);
	if (b.gateway_queue > 65535) {
		snprintf(err, err_size, "gateway queue %u is above 65535", b.gateway_queue);
		return false;
	}

	if (opt->operation == RULES_PRINT) {
		add_text(set, RULES_COMMENT, "sara %s rules for cluster %s (%s); generated by sara-ctl rules",
			 opt->role == RULES_GATEWAY ? "gateway" : "dispatcher", cfg->name,
			 opt->backend == RULES_NFT ? "nft" : "iptables");
		if (opt->role == RULES_GATEWAY)
			add_text(set, RULES_COMMENT, "sara-gw reads queue %u", b.gateway_queue);
		else if (cfg->queue.count > 1)
			add_text(set, RULES_COMMENT, "sarad reads queues %u-%u, fail %s", (unsigned)cfg->queue.first,
				 (unsigned)cfg->queue.first + cfg->queue.count - 1, cfg->queue.fail_open ? "open" : "closed");
		else
			add_text(set, RULES_COMMENT, "sarad reads queue %u, fail %s", (unsigned)cfg->queue.first,
				 cfg->queue.fail_open ? "open" : "closed");
	}
	if (opt->backend == RULES_NFT) {
		nft_rules(&b);
	} else {
		for (unsigned f = 0; f < 2; f++) {
			if (opt->role == RULES_GATEWAY)
				xt_gateway(&b, families[f]);
			else
				xt_dispatcher(&b, families[f]);
		}
	}
	if (opt->role == RULES_DISPATCHER)
		for (unsigned f = 0; f < 2; f++)
			routes_family(&b, families[f]);
	if (set->overflow) {
		snprintf(err, err_size, "the rule set exceeds its capacity (%d commands, %d bytes)",
			 RULES_MAX_COMMANDS, RULES_POOL_SIZE);
		return false;
	}
	return true;
}

/* ---- text output ------------------------------------------------------------ */

static bool shell_safe(const char *word)
{
	if (!*word)
		return false;
	for (const char *p = word; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      strchr("-_./:,=+@%!", *p)))
			return false;
	return true;
}

static void format_command(struct text_buf *tb, const struct rules_command *cmd)
{
	for (unsigned i = 0; i < cmd->argc; i++) {
		const char *w = cmd->argv[i];
		text_buf_printf(tb, "%s", i ? " " : "");
		if (shell_safe(w)) {
			text_buf_printf(tb, "%s", w);
			continue;
		}
		text_buf_printf(tb, "'");
		for (const char *p = w; *p; p++) {
			if (*p == '\'')
				text_buf_printf(tb, "'\\''");
			else
				text_buf_printf(tb, "%c", *p);
		}
		text_buf_printf(tb, "'");
	}
}

size_t rules_format_command(const struct rules_command *cmd, char *buf, size_t size)
{
	struct text_buf tb = { buf, size, 0, false };
	if (size == 0)
		return 0;
	buf[0] = '\0';
	format_command(&tb, cmd);
	return tb.overflow ? 0 : tb.used;
}

size_t rules_format(const struct rules_set *set, char *buf, size_t size)
{
	struct text_buf tb = { buf, size, 0, false };
	if (size == 0)
		return 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < set->count; i++) {
		const struct rules_command *cmd = &set->commands[i];
		switch (cmd->step) {
		case RULES_COMMENT:
			text_buf_printf(&tb, "# %s\n", cmd->argv[0]);
			break;
		case RULES_TEXT:
			text_buf_printf(&tb, "%s", cmd->argv[0]);
			break;
		default:
			format_command(&tb, cmd);
			if (cmd->stdin_text)
				text_buf_printf(&tb, " <<'EOF'\n%sEOF", cmd->stdin_text);
			text_buf_printf(&tb, "\n");
			break;
		}
	}
	return tb.overflow ? 0 : tb.used;
}

const char *rules_nft_probe_script(void)
{
	return "table inet sara_probe {\n"
	       "\tchain probe {\n"
	       "\t\ttype filter hook prerouting priority mangle; policy accept;\n"
	       "\t\tmeta l4proto udp udp dport 9 queue num 0 bypass\n"
	       "\t}\n"
	       "}\n";
}

const char *rules_nft_baseline_script(void)
{
	return "table inet sara_probe {\n"
	       "\tchain probe {\n"
	       "\t\ttype filter hook prerouting priority mangle; policy accept;\n"
	       "\t\tmeta l4proto udp udp dport 9 accept\n"
	       "\t}\n"
	       "}\n";
}
