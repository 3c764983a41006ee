/* config.c - one cluster's configuration as data: the key table with types,
 * bounds and defaults, the cross-key rules, and what SIGHUP may change. No
 * file format here: io/config_file reads libconfig through the key table. */
#include "engine/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine/agent_msg.h"
#include "engine/config_schema.h"
#include "engine/overload_control.h"

/* Enums are written through an int; the compiler must agree. */
_Static_assert(sizeof(enum selection_algorithm) == sizeof(int), "enum width");
_Static_assert(sizeof(enum full_policy) == sizeof(int), "enum width");
_Static_assert(sizeof(enum malformed_policy) == sizeof(int), "enum width");
_Static_assert(sizeof(enum reject_mode) == sizeof(int), "enum width");
_Static_assert(sizeof(enum rtsp_reject_mode) == sizeof(int), "enum width");
_Static_assert(sizeof(enum admission_policy) == sizeof(int), "enum width");
_Static_assert(sizeof(enum admission_estimate) == sizeof(int), "enum width");

#define LABEL_MAX 96  /* "servers[63].address"; each part printed with %.40s */
#define MARK_MAX 2147483648u  /* 2^31: the design's upper bound for fwmarks */
#define TABLE_MAX 2147483647u

/* ---- the key table ------------------------------------------------------ */

#define FIELD_SIZE(T, field) sizeof(((T *)0)->field)
#define UINT_KEY(n, T, field, lo, hi) \
	{ .name = n, .type = KEY_UINT, .offset = offsetof(T, field), \
	  .size = FIELD_SIZE(T, field), .min = (lo), .max = (hi) }
#define REQUIRED_UINT_KEY(n, T, field, lo, hi) \
	{ .name = n, .type = KEY_UINT, .offset = offsetof(T, field), \
	  .size = FIELD_SIZE(T, field), .min = (lo), .max = (hi), .required = true }
#define FLOAT_KEY(n, T, field, lo, hi, excl) \
	{ .name = n, .type = KEY_FLOAT, .offset = offsetof(T, field), \
	  .fmin = (lo), .fmax = (hi), .min_exclusive = (excl) }
#define BOOL_KEY(n, T, field) \
	{ .name = n, .type = KEY_BOOL, .offset = offsetof(T, field) }
#define STRING_KEY(kind, n, T, field, req) \
	{ .name = n, .type = (kind), .offset = offsetof(T, field), \
	  .size = FIELD_SIZE(T, field), .required = (req) }
#define CHOICE_KEY(n, T, field, list) \
	{ .name = n, .type = KEY_CHOICE, .offset = offsetof(T, field), .choices = (list) }
#define PLAIN_KEY(kind, n, T, field, req) \
	{ .name = n, .type = (kind), .offset = offsetof(T, field), .required = (req) }
#define ARRAY_KEY(kind, n, T, field, counter, req) \
	{ .name = n, .type = (kind), .offset = offsetof(T, field), \
	  .count_offset = offsetof(T, counter), \
	  .capacity = FIELD_SIZE(T, field) / FIELD_SIZE(T, field[0]), .required = (req) }
#define GROUP_KEY(n, table) { .name = n, .type = KEY_GROUP, .section = &(table) }
#define TABLE(keys) { keys, sizeof(keys) / sizeof(keys[0]) }

#define CFG struct sara_config

static const struct key_choice store_choices[] = {
	{ "off", SESSION_STORE_OFF },
	{ "redis", SESSION_STORE_REDIS },
	{ NULL, 0 },
};

static const struct key_choice algorithm_choices[] = {
	{ "shell", SELECT_SHELL },
	{ "round-robin", SELECT_ROUND_ROBIN },
	{ "least-sessions", SELECT_LEAST_SESSIONS },
	{ "hash", SELECT_HASH },
	{ NULL, 0 },
};
static const struct key_choice full_choices[] = {
	{ "pass", FULL_PASS }, { "drop", FULL_DROP }, { NULL, 0 },
};
static const struct key_choice malformed_choices[] = {
	{ "pass", MALFORMED_PASS }, { "drop", MALFORMED_DROP }, { NULL, 0 },
};
static const struct key_choice reject_choices[] = {
	{ "drop", REJECT_DROP }, { "503", REJECT_503 }, { NULL, 0 },
};
static const struct key_choice policy_choices[] = {
	{ "sa2c", ADMISSION_POLICY_SA2C }, { "random", ADMISSION_POLICY_RANDOM },
	{ "call-limit", ADMISSION_POLICY_CALL_LIMIT }, { NULL, 0 },
};
static const struct key_choice estimate_choices[] = {
	{ "lead", ADMISSION_ESTIMATE_LEAD }, { "rate", ADMISSION_ESTIMATE_RATE },
	{ "window", ADMISSION_ESTIMATE_WINDOW }, { NULL, 0 },
};
static const struct key_choice rtsp_reject_choices[] = {
	{ "drop", RTSP_REJECT_DROP }, { "reset", RTSP_REJECT_RESET }, { NULL, 0 },
};

static const struct key_spec port_keys[] = {
	ARRAY_KEY(KEY_PORTS, "sip", CFG, sip_ports, sip_port_count, false),
	ARRAY_KEY(KEY_PORTS, "rtsp", CFG, rtsp_ports, rtsp_port_count, false),
};
static const struct key_spec queue_keys[] = {
	UINT_KEY("first", CFG, queue.first, 0, 65535),
	UINT_KEY("count", CFG, queue.count, 1, 1024),
	BOOL_KEY("fail_open", CFG, queue.fail_open),
	BOOL_KEY("notrack_udp_signalling", CFG, queue.notrack_udp_signalling),
};
static const struct key_spec gateway_keys[] = {
	PLAIN_KEY(KEY_ENDPOINT, "listen", CFG, gateway.listen, false),
	PLAIN_KEY(KEY_ENDPOINT, "metrics", CFG, gateway.metrics, false),
};
static const struct key_spec agent_keys[] = {
	PLAIN_KEY(KEY_ENDPOINT, "listen", CFG, agents.listen, false),
	UINT_KEY("interval_ms", CFG, agents.interval_ms, 10, 60000),
	UINT_KEY("misses", CFG, agents.misses, 1, 100),
};
static const struct key_spec timeout_keys[] = {
	UINT_KEY("signalling_s", CFG, timeouts.signalling_s, SARA_SIGNALLING_S_MIN, SARA_SIGNALLING_S_MAX), /* DESIGN 4 */
	UINT_KEY("media_s", CFG, timeouts.media_s, 10, 60),
	UINT_KEY("linger_s", CFG, timeouts.linger_s, 0, 60),
};
static const struct key_spec selection_keys[] = {
	CHOICE_KEY("algorithm", CFG, selection.algorithm, algorithm_choices),
	UINT_KEY("window", CFG, selection.window, 2, 1024),  /* a regression needs 2 points */
	UINT_KEY("slow_start_s", CFG, selection.slow_start_s, 0, 3600),
};
static const struct key_spec admission_keys[] = {
	BOOL_KEY("enabled", CFG, admission.enabled),
	CHOICE_KEY("policy", CFG, admission.policy, policy_choices),
	FLOAT_KEY("t1", CFG, admission.t1, 0.0, 1.0, false),
	FLOAT_KEY("t2", CFG, admission.t2, 0.0, 1.0, false),
	FLOAT_KEY("t3", CFG, admission.t3, 0.0, 1.0, false),
	FLOAT_KEY("c", CFG, admission.c, 0.0, 1.0, false),
	FLOAT_KEY("alpha", CFG, admission.alpha, 0.0, 1.0, false),
	FLOAT_KEY("reopen_s", CFG, admission.reopen_s, 0.0, 600.0, false),
	FLOAT_KEY("lead_s", CFG, admission.lead_s, 0.0, 10.0, false),
	CHOICE_KEY("reject", CFG, admission.reject, reject_choices),
	UINT_KEY("retry_after_s", CFG, admission.retry_after_s, 1, 3600),
	CHOICE_KEY("rtsp_reject", CFG, admission.rtsp_reject, rtsp_reject_choices),
	UINT_KEY("replies_per_s", CFG, admission.replies_per_s, 1, 1000000),
	UINT_KEY("call_limit", CFG, admission.call_limit, 0, 10000000),
	CHOICE_KEY("estimate", CFG, admission.estimate, estimate_choices),
	FLOAT_KEY("answer_delay_s", CFG, admission.answer_delay_s, 0.05, 10.0, false),
	BOOL_KEY("degrade", CFG, admission.degrade),
	BOOL_KEY("window_per_server", CFG, admission.window_per_server),
	UINT_KEY("oc_validity_ms", CFG, admission.oc_validity_ms, 0, OC_VALIDITY_MAX_MS),
};
static const struct key_spec limit_keys[] = {
	UINT_KEY("flows", CFG, limits.flows, 1, 100000000),
	UINT_KEY("sessions", CFG, limits.sessions, 1, 100000000),
	CHOICE_KEY("when_full", CFG, limits.when_full, full_choices),
	UINT_KEY("tcp_streams", CFG, limits.tcp_streams, 1, 1048576),
	UINT_KEY("tcp_buffer", CFG, limits.tcp_buffer, 1024, 16777216),
	UINT_KEY("fragments", CFG, limits.fragments, 1, 1048576),
	CHOICE_KEY("malformed", CFG, limits.malformed, malformed_choices),
};
static const struct key_spec control_keys[] = {
	STRING_KEY(KEY_STRING, "socket", CFG, control.socket, false),
};
static const struct key_spec state_keys[] = {
	STRING_KEY(KEY_STRING, "journal", CFG, state.journal, false),
};

static const struct key_spec metrics_keys[] = {
	PLAIN_KEY(KEY_ENDPOINT, "listen", CFG, metrics.listen, false),
};

static const struct key_spec ha_keys[] = {
	ARRAY_KEY(KEY_ADDRESSES, "dispatchers", CFG, ha.dispatchers, ha.dispatcher_count, false),
	PLAIN_KEY(KEY_ADDRESS, "router", CFG, ha.router, false),
	UINT_KEY("asn", CFG, ha.asn, 1, 4294967295u),
	UINT_KEY("router_asn", CFG, ha.router_asn, 1, 4294967295u),
	BOOL_KEY("bfd", CFG, ha.bfd),
	UINT_KEY("bfd_interval_ms", CFG, ha.bfd_interval_ms, 10, 10000),
	UINT_KEY("bfd_multiplier", CFG, ha.bfd_multiplier, 2, 255),
	STRING_KEY(KEY_IDENT, "sync_interface", CFG, ha.sync_interface, false),
	UINT_KEY("sync_port", CFG, ha.sync_port, 1, 65535),
	PLAIN_KEY(KEY_MULTICAST, "sync_group", CFG, ha.sync_group, false),
	UINT_KEY("sync_resync_s", CFG, ha.sync_resync_s, 0, 3600),
	ARRAY_KEY(KEY_ADDRESSES, "gateways", CFG, ha.gateways, ha.gateway_count, false),
	ARRAY_KEY(KEY_ADDRESSES, "vrrp_addresses", CFG, ha.vrrp_addresses, ha.vrrp_address_count, false),
	UINT_KEY("vrrp_id", CFG, ha.vrrp_id, 1, 255),
	UINT_KEY("vrrp_advert_ms", CFG, ha.vrrp_advert_ms, 10, 40950),  /* VRRPv3: 1 to 4095 cs */
	CHOICE_KEY("session_store", CFG, ha.session_store, store_choices),
	UINT_KEY("redis_port", CFG, ha.redis_port, 1, 65535),
	UINT_KEY("replication_queue", CFG, ha.replication_queue, 64, 1048576),
	STRING_KEY(KEY_STRING, "redis_password_file", CFG, ha.redis_password_file, false),
};

static const struct key_table port_table = TABLE(port_keys);
static const struct key_table queue_table = TABLE(queue_keys);
static const struct key_table gateway_table = TABLE(gateway_keys);
static const struct key_table agent_table = TABLE(agent_keys);
static const struct key_table timeout_table = TABLE(timeout_keys);
static const struct key_table selection_table = TABLE(selection_keys);
static const struct key_table admission_table = TABLE(admission_keys);
static const struct key_table limit_table = TABLE(limit_keys);
static const struct key_table control_table = TABLE(control_keys);
static const struct key_table state_table = TABLE(state_keys);
static const struct key_table metrics_table = TABLE(metrics_keys);
static const struct key_table ha_table = TABLE(ha_keys);

static const struct key_spec top_keys[] = {
	STRING_KEY(KEY_IDENT, "name", CFG, name, true),
	ARRAY_KEY(KEY_ADDRESSES, "vips", CFG, vips, vip_count, true),
	GROUP_KEY("ports", port_table),
	PLAIN_KEY(KEY_SERVERS, "servers", CFG, servers, true),
	GROUP_KEY("queue", queue_table),
	GROUP_KEY("gateway", gateway_table),
	GROUP_KEY("agents", agent_table),
	STRING_KEY(KEY_STRING, "key_file", CFG, key_file, false),
	GROUP_KEY("timeouts", timeout_table),
	GROUP_KEY("selection", selection_table),
	GROUP_KEY("admission", admission_table),
	GROUP_KEY("limits", limit_table),
	GROUP_KEY("control", control_table),
	GROUP_KEY("state", state_table),
	GROUP_KEY("metrics", metrics_table),
	GROUP_KEY("ha", ha_table),
};
const struct key_table config_top_keys = TABLE(top_keys);

#define SRV struct server_config
static const struct key_spec server_keys[] = {
	STRING_KEY(KEY_IDENT, "id", SRV, id, true),
	PLAIN_KEY(KEY_ADDRESS, "address", SRV, address, true),
	PLAIN_KEY(KEY_ADDRESS, "address6", SRV, address6, false),
	/* mark and table have no safe default: they must match the operator's
	 * `ip rule` set-up, so every server names them */
	REQUIRED_UINT_KEY("mark", SRV, mark, 1, MARK_MAX),
	REQUIRED_UINT_KEY("table", SRV, table, 1, TABLE_MAX),
	FLOAT_KEY("weight", SRV, weight, 0.0, 1000.0, true),
};
const struct key_table server_key_table = TABLE(server_keys);

_Static_assert(sizeof(top_keys) / sizeof(top_keys[0]) <= KEYS_PER_GROUP_MAX, "seen[]");
_Static_assert(sizeof(limit_keys) / sizeof(limit_keys[0]) <= KEYS_PER_GROUP_MAX, "seen[]");
_Static_assert(sizeof(admission_keys) / sizeof(admission_keys[0]) <= KEYS_PER_GROUP_MAX, "seen[]");
_Static_assert(sizeof(ha_keys) / sizeof(ha_keys[0]) <= KEYS_PER_GROUP_MAX, "seen[]");
#undef SRV
#undef CFG

/* ---- cross-key rules ------------------------------------------------------ */

/* Adds a candidate site; false so that `AT(a) || AT(b)` records both. */
__attribute__((format(printf, 3, 4)))
static bool problem_site(struct config_problem *problem, const char *anchor, const char *fmt, ...)
{
	struct config_site *site;
	va_list ap;

	if (problem->site_count >= CONFIG_PROBLEM_SITES)
		return false;
	site = &problem->sites[problem->site_count++];
	snprintf(site->anchor, sizeof(site->anchor), "%s", anchor);
	va_start(ap, fmt);
	vsnprintf(site->path, sizeof(site->path), fmt, ap);
	va_end(ap);
	return false;
}

__attribute__((format(printf, 2, 3)))
static bool problem_reason(struct config_problem *problem, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(problem->reason, sizeof(problem->reason), fmt, ap);
	va_end(ap);
	return false;
}

/* Names where a broken rule points, as libconfig paths ("servers.[2].mark"):
 * the reader shows the line of the deepest setting of path that the file
 * has, or of the next candidate when the file lacks anchor altogether. */
#define AT(anchor, ...) problem_site(problem, (anchor), __VA_ARGS__)
#define RULE_FAIL(sites, ...) ((void)(sites), problem_reason(problem, __VA_ARGS__))

static bool port_listed_twice(const uint16_t *ports, unsigned count, unsigned *dup)
{
	for (unsigned i = 1; i < count; i++)
		for (unsigned j = 0; j < i; j++)
			if (ports[i] == ports[j]) {
				*dup = i;
				return true;
			}
	return false;
}

static bool check_addresses_and_ports(const struct sara_config *cfg, struct config_problem *problem)
{
	char text[NETADDR_STRLEN];
	unsigned dup;


	if (cfg->vip_count == 0 || cfg->vip_count > SARA_MAX_VIPS)
		return RULE_FAIL(AT("vips", "vips"), "vips must list 1 to %d addresses", SARA_MAX_VIPS);
	for (unsigned i = 0; i < cfg->vip_count; i++)
		for (unsigned j = 0; j < i; j++)
			if (netaddr_equal(&cfg->vips[i], &cfg->vips[j]))
				return RULE_FAIL(AT("vips", "vips.[%u]", i), "vips[%u] %s is listed twice",
						 i, netaddr_format(&cfg->vips[i], text, sizeof(text)));

	if (cfg->sip_port_count > SARA_MAX_PORTS || cfg->rtsp_port_count > SARA_MAX_PORTS)
		return RULE_FAIL(AT("ports.sip", "ports.sip"), "ports: at most %d ports per protocol", SARA_MAX_PORTS);
	if (cfg->sip_port_count + cfg->rtsp_port_count == 0)
		return RULE_FAIL(AT("ports.sip", "ports.sip") || AT("ports.rtsp", "ports.rtsp"),
				 "ports: at least one SIP or RTSP port is needed");
	if (port_listed_twice(cfg->sip_ports, cfg->sip_port_count, &dup))
		return RULE_FAIL(AT("ports.sip", "ports.sip.[%u]", dup), "ports.sip[%u] %u is listed twice",
				 dup, cfg->sip_ports[dup]);
	if (port_listed_twice(cfg->rtsp_ports, cfg->rtsp_port_count, &dup))
		return RULE_FAIL(AT("ports.rtsp", "ports.rtsp.[%u]", dup), "ports.rtsp[%u] %u is listed twice",
				 dup, cfg->rtsp_ports[dup]);
	for (unsigned i = 0; i < cfg->sip_port_count; i++) {
		for (unsigned j = 0; j < cfg->rtsp_port_count; j++) {
			/* point at the list the file names; the other may be a default */
			if (cfg->sip_ports[i] != cfg->rtsp_ports[j])
				continue;
			return RULE_FAIL(AT("ports.rtsp", "ports.rtsp.[%u]", j) || AT("ports.sip", "ports.sip.[%u]", i),
					 "port %u is listed both in ports.sip and ports.rtsp",
					 cfg->sip_ports[i]);
		}
	}
	return true;
}

static const char *family_name(int family)
{
	return family == NETADDR_IPV6 ? "IPv6" : "IPv4";
}

/* A dual-stack server's second address: IPv6, beside an IPv4 address. */
static bool check_address6(const struct sara_config *cfg, unsigned i, struct config_problem *problem)
{
	const struct server_config *s = &cfg->servers[i];
	char text[NETADDR_STRLEN], text6[NETADDR_STRLEN];

	if (s->address6.family == 0)
		return true;
	if (s->address6.family != NETADDR_IPV6)
		return RULE_FAIL(AT("servers", "servers.[%u].address6", i),
				 "servers[%u].address6 %s is not an IPv6 address", i,
				 netaddr_format(&s->address6, text6, sizeof(text6)));
	if (s->address.family == NETADDR_IPV6)
		return RULE_FAIL(AT("servers", "servers.[%u].address6", i),
				 "servers[%u] (\"%s\") has two IPv6 addresses (address %s, address6 %s): "
				 "address6 is the IPv6 address of a server whose address is IPv4", i, s->id,
				 netaddr_format(&s->address, text, sizeof(text)),
				 netaddr_format(&s->address6, text6, sizeof(text6)));
	if (sara_config_is_vip(cfg, &s->address6))
		return RULE_FAIL(AT("servers", "servers.[%u].address6", i),
				 "servers[%u].address6 %s is also a VIP", i,
				 netaddr_format(&s->address6, text6, sizeof(text6)));
	return true;
}

/* Every VIP's family is routable to every server: selection does not look
 * at a session's family, so a session of a family its server lacks would
 * have no route, and the kernel would drop it without a word. */
static bool check_vip_families(const struct sara_config *cfg, struct config_problem *problem)
{
	char text[NETADDR_STRLEN];

	for (unsigned v = 0; v < cfg->vip_count; v++) {
		int family = cfg->vips[v].family;
		unsigned having = 0;
		bool seen = false;
		for (unsigned w = 0; w < v && !seen; w++)
			seen = cfg->vips[w].family == family;
		if (seen)
			continue;
		for (unsigned i = 0; i < cfg->server_count; i++)
			having += server_config_address(&cfg->servers[i], family) != NULL;
		if (having == 0)
			return RULE_FAIL(AT("vips", "vips.[%u]", v),
					 "vips[%u] %s is %s but no server has an %s address%s", v,
					 netaddr_format(&cfg->vips[v], text, sizeof(text)), family_name(family),
					 family_name(family),
					 family == NETADDR_IPV6 ? " (give the servers one with address6)" : "");
		for (unsigned i = 0; i < cfg->server_count; i++) {
			const struct server_config *s = &cfg->servers[i];
			if (server_config_address(s, family))
				continue;
			return RULE_FAIL(AT("servers", "servers.[%u]", i),
					 "servers[%u] (\"%s\") has no %s address, but vips[%u] %s is %s and "
					 "any server may get its sessions: %s", i, s->id, family_name(family), v,
					 netaddr_format(&cfg->vips[v], text, sizeof(text)), family_name(family),
					 family == NETADDR_IPV6 ? "give it one with address6"
								: "give it one as address, its IPv6 one as address6");
		}
	}
	return true;
}

static bool check_servers(const struct sara_config *cfg, struct config_problem *problem)
{
	char text[NETADDR_STRLEN];

	if (cfg->server_count == 0 || cfg->server_count > SARA_MAX_SERVERS)
		return RULE_FAIL(AT("servers", "servers"), "servers must list 1 to %d servers", SARA_MAX_SERVERS);
	for (unsigned i = 0; i < cfg->server_count; i++) {
		const struct server_config *s = &cfg->servers[i];
		if (s->id[0] == '\0')
			return RULE_FAIL(AT("servers", "servers.[%u].id", i), "servers[%u].id must not be empty", i);
		if (s->address.family == 0)
			return RULE_FAIL(AT("servers", "servers.[%u].address", i),
					 "servers[%u] (\"%s\") has no address", i, s->id);
		if (s->mark == 0 || s->mark > MARK_MAX)
			return RULE_FAIL(AT("servers", "servers.[%u].mark", i),
					 "servers[%u].mark must be between 1 and %u", i, MARK_MAX);
		if (s->table == 0 || s->table > TABLE_MAX)
			return RULE_FAIL(AT("servers", "servers.[%u].table", i),
					 "servers[%u].table must be between 1 and %u", i, TABLE_MAX);
		if (s->table >= 253 && s->table <= 255)
			return RULE_FAIL(AT("servers", "servers.[%u].table", i),
					 "servers[%u].table %u is reserved (253 default, 254 main, "
					 "255 local)", i, s->table);
		if (!(s->weight > 0.0 && s->weight <= 1000.0))
			return RULE_FAIL(AT("servers", "servers.[%u].weight", i),
					 "servers[%u].weight must be greater than 0 and at most 1000", i);
		if (sara_config_is_vip(cfg, &s->address))
			return RULE_FAIL(AT("servers", "servers.[%u].address", i),
					 "servers[%u].address %s is also a VIP", i,
					 netaddr_format(&s->address, text, sizeof(text)));
		if (!check_address6(cfg, i, problem))
			return false;
		for (unsigned j = 0; j < i; j++) {
			const struct server_config *o = &cfg->servers[j];
			if (strcmp(s->id, o->id) == 0)
				return RULE_FAIL(AT("servers", "servers.[%u].id", i), "servers[%u].id \"%s\" "
						 "is already used by servers[%u]", i, s->id, j);
			if (server_config_has_address(o, &s->address))
				return RULE_FAIL(AT("servers", "servers.[%u].address", i), "servers[%u].address "
						 "%s is already used by servers[%u] (\"%s\")", i,
						 netaddr_format(&s->address, text, sizeof(text)),
						 j, o->id);
			if (s->address6.family && server_config_has_address(o, &s->address6))
				return RULE_FAIL(AT("servers", "servers.[%u].address6", i), "servers[%u].address6 "
						 "%s is already used by servers[%u] (\"%s\")", i,
						 netaddr_format(&s->address6, text, sizeof(text)),
						 j, o->id);
			if (s->mark == o->mark)
				return RULE_FAIL(AT("servers", "servers.[%u].mark", i), "servers[%u].mark %u is "
						 "already used by servers[%u] (\"%s\")", i, s->mark,
						 j, o->id);
			if (agent_sender_id(s->id) == agent_sender_id(o->id))
				return RULE_FAIL(AT("servers", "servers.[%u].id", i), "servers[%u].id \"%s\" and "
						 "servers[%u].id \"%s\" give their agents the same sender id; rename "
						 "one", i, s->id, j, o->id);
			/* one table per server: two servers in one table share a route */
			if (s->table == o->table)
				return RULE_FAIL(AT("servers", "servers.[%u].table", i), "servers[%u].table %u is "
						 "already used by servers[%u] (\"%s\")", i, s->table,
						 j, o->id);
		}
	}
	return true;
}

static bool check_queue_admission_limits(const struct sara_config *cfg, struct config_problem *problem)
{
	if ((uint32_t)cfg->queue.first + cfg->queue.count > 65536u)
		return RULE_FAIL(AT("queue", "queue.count"), "queue: first %u + count %u goes past "
				 "queue 65535", cfg->queue.first, cfg->queue.count);

	if (cfg->admission.enabled && cfg->admission.policy == ADMISSION_POLICY_CALL_LIMIT &&
	    cfg->admission.call_limit == 0)
		return RULE_FAIL(AT("admission", "admission.call_limit"),
				 "admission: policy \"call-limit\" needs call_limit (calls per server) above 0");

	/* SA2C thresholds must be ordered or the drop probabilities are nonsense */
	if (!(cfg->admission.t1 < cfg->admission.t2))
		return RULE_FAIL(AT("admission", "admission.t2"), "admission: t1 (%g) must be below t2 (%g)",
				 cfg->admission.t1, cfg->admission.t2);
	if (!(cfg->admission.t2 < cfg->admission.t3))
		return RULE_FAIL(AT("admission", "admission.t3"), "admission: t2 (%g) must be below t3 (%g)",
				 cfg->admission.t2, cfg->admission.t3);
	if (!(cfg->admission.t3 < cfg->admission.c))
		return RULE_FAIL(AT("admission", "admission.c"), "admission: t3 (%g) must be below c (%g)",
				 cfg->admission.t3, cfg->admission.c);
	if (!(cfg->admission.c <= 1.0))
		return RULE_FAIL(AT("admission", "admission.c"), "admission: c (%g) must be at most 1",
				 cfg->admission.c);
	if (!(cfg->admission.alpha >= 0.0 && cfg->admission.alpha <= 1.0))
		return RULE_FAIL(AT("admission", "admission.alpha"),
				 "admission: alpha (%g) must be between 0 and 1", cfg->admission.alpha);

	if (cfg->state.journal[0] && strcmp(cfg->state.journal, SARA_JOURNAL_OFF) != 0 && cfg->state.journal[0] != '/')
		return RULE_FAIL(AT("state", "state.journal"), "state.journal \"%s\" must be an absolute path or "
				 "\"" SARA_JOURNAL_OFF "\"", cfg->state.journal);

	/* every session holds at least one flow */
	if (cfg->limits.flows < cfg->limits.sessions)
		return RULE_FAIL(AT("limits", "limits.flows"), "limits: flows (%u) must be at least "
				 "sessions (%u)", cfg->limits.flows, cfg->limits.sessions);
	return true;
}

/* An address listed in ha.gateways or ha.vrrp_addresses: unicast, no VIP,
 * listed once in both lists together. */
static bool vrrp_address_ok(const struct sara_config *cfg, const struct netaddr *a, const char *key, unsigned i,
			    struct config_problem *problem)
{
	char text[NETADDR_STRLEN];
	unsigned listed = 0;

	netaddr_format(a, text, sizeof(text));
	if (netaddr_is_unspecified(a) || netaddr_is_multicast(a) || sara_config_is_vip(cfg, a))
		return RULE_FAIL(AT("ha", "ha.%s.[%u]", key, i), "ha.%s[%u] %s is not a unicast address "
				 "of the gateways (nor a VIP)", key, i, text);
	for (unsigned j = 0; j < cfg->ha.gateway_count; j++)
		listed += netaddr_equal(a, &cfg->ha.gateways[j]);
	for (unsigned j = 0; j < cfg->ha.vrrp_address_count; j++)
		listed += netaddr_equal(a, &cfg->ha.vrrp_addresses[j]);
	if (listed > 1)
		return RULE_FAIL(AT("ha", "ha.%s.[%u]", key, i), "ha.%s[%u] %s is listed twice in "
				 "ha.gateways and ha.vrrp_addresses", key, i, text);
	return true;
}

static bool check_vrrp(const struct sara_config *cfg, struct config_problem *problem)
{
	for (unsigned i = 0; i < cfg->ha.gateway_count; i++)
		if (!vrrp_address_ok(cfg, &cfg->ha.gateways[i], "gateways", i, problem))
			return false;
	for (unsigned i = 0; i < cfg->ha.vrrp_address_count; i++)
		if (!vrrp_address_ok(cfg, &cfg->ha.vrrp_addresses[i], "vrrp_addresses", i, problem))
			return false;
	/* one VRRP instance, and one virtual router id, per shared address */
	if (cfg->ha.vrrp_id + cfg->ha.vrrp_address_count - 1 > 255)
		return RULE_FAIL(AT("ha", "ha.vrrp_id"), "ha.vrrp_id %u + %u addresses goes past 255",
				 cfg->ha.vrrp_id, cfg->ha.vrrp_address_count);
	if (cfg->ha.vrrp_advert_ms % 10)
		return RULE_FAIL(AT("ha", "ha.vrrp_advert_ms"), "ha.vrrp_advert_ms %u is not a multiple of "
				 "10 (VRRPv3 counts centiseconds)", cfg->ha.vrrp_advert_ms);
	return true;
}

static bool check_ha(const struct sara_config *cfg, struct config_problem *problem)
{
	char text[NETADDR_STRLEN];

	for (unsigned i = 0; i < cfg->ha.dispatcher_count; i++) {
		const struct netaddr *a = &cfg->ha.dispatchers[i];
		if (netaddr_is_unspecified(a) || netaddr_is_multicast(a) || sara_config_is_vip(cfg, a))
			return RULE_FAIL(AT("ha", "ha.dispatchers.[%u]", i), "ha.dispatchers[%u] %s is not "
					 "a dispatcher's own unicast address", i, netaddr_format(a, text, sizeof(text)));
		for (unsigned j = 0; j < i; j++)
			if (netaddr_equal(a, &cfg->ha.dispatchers[j]))
				return RULE_FAIL(AT("ha", "ha.dispatchers.[%u]", i), "ha.dispatchers[%u] %s is "
						 "listed twice", i, netaddr_format(a, text, sizeof(text)));
		/* conntrackd speaks one family on its sync link */
		if (a->family != cfg->ha.dispatchers[0].family)
			return RULE_FAIL(AT("ha", "ha.dispatchers.[%u]", i), "ha.dispatchers: IPv4 and IPv6 "
					 "addresses mixed");
	}
	if (cfg->ha.session_store != SESSION_STORE_OFF && cfg->ha.dispatcher_count < 2)
		return RULE_FAIL(AT("ha", "ha.session_store"), "ha.session_store needs ha.dispatchers (two or more): "
				 "the peers whose sessions are read");
	if (cfg->ha.router.family && (cfg->ha.asn == 0 || cfg->ha.router_asn == 0))
		return RULE_FAIL(AT("ha", "ha.router"), "ha.router needs ha.asn and ha.router_asn");
	if (cfg->ha.sync_group.family && !netaddr_is_multicast(&cfg->ha.sync_group))
		return RULE_FAIL(AT("ha", "ha.sync_group"), "ha.sync_group %s is not a multicast address",
				 netaddr_format(&cfg->ha.sync_group, text, sizeof(text)));
	return check_vrrp(cfg, problem);
}

bool sara_config_check(const struct sara_config *cfg, struct config_problem *problem)
{
	memset(problem, 0, sizeof(*problem));
	return check_addresses_and_ports(cfg, problem) && check_servers(cfg, problem) &&
	       check_vip_families(cfg, problem) && check_queue_admission_limits(cfg, problem) &&
	       check_ha(cfg, problem);
}

/* ---- public ---------------------------------------------------------------- *//* ---- public ---------------------------------------------------------------- */

void sara_config_defaults(struct sara_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->sip_port_count = 1;
	cfg->sip_ports[0] = 5060;
	cfg->rtsp_port_count = 2;
	cfg->rtsp_ports[0] = 554;
	cfg->rtsp_ports[1] = 8554;
	cfg->queue.first = 0;
	cfg->queue.count = 1;
	cfg->queue.fail_open = true;
	cfg->agents.interval_ms = 1000;
	cfg->agents.misses = 3;
	cfg->timeouts.signalling_s = 60;
	cfg->timeouts.media_s = 30;
	cfg->timeouts.linger_s = 5;
	cfg->selection.algorithm = SELECT_SHELL;
	cfg->selection.window = 8;
	cfg->selection.slow_start_s = 30;
	cfg->admission.enabled = true;
	cfg->admission.t1 = 0.6;
	cfg->admission.t2 = 0.8;
	cfg->admission.t3 = 0.9;
	cfg->admission.c = 0.98;
	cfg->admission.alpha = 0.7;
	/* The lead replaces the reopening ramp: in the goodput experiment
	 * (README, Experiments) it cut the media lost at 2x and 3x to half or
	 * less with the same goodput. */
	cfg->admission.reopen_s = 0.0;
	cfg->admission.lead_s = 1.0;
	/* The window estimate and no degrading of established sessions: in
	 * the goodput experiment (docs/experiments.md) the lead held 72 to
	 * 80 % of capacity from 1.5x to 3x, the rate 0.88 to 0.96, the window
	 * 0.99; dropping admitted calls' media cost them up to 57 % of it for
	 * no goodput. */
	cfg->admission.estimate = ADMISSION_ESTIMATE_WINDOW;
	/* The window's backlog: the answers wait 0.2 s at most, so that a
	 * request queued behind them (a BYE) is served before the client's
	 * first retransmission (RFC 3261 Timer E, 0.5 s), which would cost the
	 * server the work again (docs/experiments.md: 0.5 s lost 6-8 % of
	 * capacity at 3x to retransmitted BYEs). */
	cfg->admission.answer_delay_s = 0.2;
	cfg->admission.degrade = false;
	cfg->admission.window_per_server = true;
	cfg->admission.reject = REJECT_503;
	cfg->admission.retry_after_s = 5;
	cfg->admission.rtsp_reject = RTSP_REJECT_RESET;
	cfg->admission.replies_per_s = 1000;
	/* RFC 7339's default oc-validity: a client that hears nothing more
	 * stops reducing half a second after the last response. */
	cfg->admission.oc_validity_ms = 500;
	cfg->limits.flows = 1000000;
	cfg->limits.sessions = 250000;
	cfg->limits.when_full = FULL_PASS;
	cfg->limits.tcp_streams = 4096;
	cfg->limits.tcp_buffer = 16384;
	cfg->limits.fragments = 1024;
	cfg->limits.malformed = MALFORMED_PASS;
	/* BFD at 100 ms x 3: a dead dispatcher's routes go within 0.3 s */
	cfg->ha.bfd = true;
	cfg->ha.bfd_interval_ms = 100;
	cfg->ha.bfd_multiplier = 3;
	cfg->ha.sync_port = 3780;  /* conntrackd's customary port */
	cfg->ha.sync_resync_s = HA_SYNC_RESYNC_S_DEFAULT;
	/* VRRP at 100 ms: a dead gateway's addresses move within 0.4 s */
	cfg->ha.vrrp_id = 51;
	cfg->ha.vrrp_advert_ms = 100;
	cfg->ha.session_store = SESSION_STORE_OFF;
	cfg->ha.redis_port = 6379;
	cfg->ha.replication_queue = 16384;
	/* control.socket and key_file depend on the name: config_load fills them */
}
bool sara_config_validate(const struct sara_config *cfg, char *err, size_t err_size)
{
	struct config_problem problem;
	if (err_size)
		err[0] = '\0';
	if (sara_config_check(cfg, &problem))
		return true;
	if (cfg->path[0])
		snprintf(err, err_size, "%s: %s", cfg->path, problem.reason);
	else
		snprintf(err, err_size, "%s", problem.reason);
	return false;
}

static const char *choice_name(const struct key_choice *choices, int value)
{
	for (const struct key_choice *c = choices; c->name; c++)
		if (c->value == value)
			return c->name;
	return "unknown";
}

const char *selection_algorithm_name(enum selection_algorithm algorithm)
{
	return choice_name(algorithm_choices, (int)algorithm);
}

const char *admission_policy_name(enum admission_policy policy)
{
	return choice_name(policy_choices, (int)policy);
}

static bool ports_equal(const uint16_t *a, unsigned a_count, const uint16_t *b, unsigned b_count)
{
	if (a_count != b_count)
		return false;
	for (unsigned i = 0; i < a_count; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* The first restart-only key that differs, or NULL. Servers are compared
 * by id (running may be sarad's running table: server_slots.h). A key added to struct
 * sara_config counts as live unless it is listed here: list it when a
 * running sarad cannot apply it (engine_reconfigure copies the whole
 * config once this says nothing differs). */
static const char *restart_only_change(const struct sara_config *a, const struct sara_config *b,
				       char *key, size_t key_size)
{
	if (strcmp(a->name, b->name) != 0)
		return "name";
	if (a->vip_count != b->vip_count)
		return "vips";
	for (unsigned i = 0; i < a->vip_count; i++)
		if (!netaddr_equal(&a->vips[i], &b->vips[i]))
			return "vips";
	if (!ports_equal(a->sip_ports, a->sip_port_count, b->sip_ports, b->sip_port_count))
		return "ports.sip";
	if (!ports_equal(a->rtsp_ports, a->rtsp_port_count, b->rtsp_ports, b->rtsp_port_count))
		return "ports.rtsp";
	/* A server is its id: one still running keeps its addresses, mark and
	 * table (its sessions' connmarks and routes name them). */
	for (unsigned i = 0; i < b->server_count; i++) {
		const struct server_config *y = &b->servers[i];
		const char *field = NULL;
		for (unsigned j = 0; j < a->server_count && !field; j++) {
			const struct server_config *x = &a->servers[j];
			if (!x->id[0] || strcmp(x->id, y->id) != 0)
				continue;
			if (!netaddr_equal(&x->address, &y->address))
				field = "address";
			else if (!netaddr_equal(&x->address6, &y->address6))
				field = "address6";
			else if (x->mark != y->mark)
				field = "mark";
			else if (x->table != y->table)
				field = "table";
		}
		if (field) {
			snprintf(key, key_size, "servers[%u].%s", i, field);
			return key;
		}
	}
	if (a->queue.first != b->queue.first || a->queue.count != b->queue.count)
		return "queue.first/count";
	if (a->queue.fail_open != b->queue.fail_open)
		return "queue.fail_open";
	if (!endpoint_equal(&a->gateway.listen, &b->gateway.listen))
		return "gateway.listen";
	if (!endpoint_equal(&a->agents.listen, &b->agents.listen))
		return "agents.listen";
	if (a->agents.interval_ms != b->agents.interval_ms)
		return "agents.interval_ms";
	if (a->agents.misses != b->agents.misses)
		return "agents.misses";
	if (strcmp(a->key_file, b->key_file) != 0)
		return "key_file";
	if (a->selection.window != b->selection.window)
		return "selection.window";
	if (a->selection.slow_start_s != b->selection.slow_start_s)
		return "selection.slow_start_s";
	if (a->admission.replies_per_s != b->admission.replies_per_s)
		return "admission.replies_per_s";
	if (a->limits.flows != b->limits.flows)
		return "limits.flows";
	if (a->limits.sessions != b->limits.sessions)
		return "limits.sessions";
	if (a->limits.tcp_streams != b->limits.tcp_streams)
		return "limits.tcp_streams";
	if (a->limits.tcp_buffer != b->limits.tcp_buffer)
		return "limits.tcp_buffer";
	if (a->limits.fragments != b->limits.fragments)
		return "limits.fragments";
	if (strcmp(a->control.socket, b->control.socket) != 0)
		return "control.socket";
	if (strcmp(a->state.journal, b->state.journal) != 0)
		return "state.journal";
	if (!endpoint_equal(&a->metrics.listen, &b->metrics.listen))
		return "metrics.listen";
	if (a->ha.session_store != b->ha.session_store)
		return "ha.session_store";
	if (a->ha.redis_port != b->ha.redis_port)
		return "ha.redis_port";
	if (a->ha.replication_queue != b->ha.replication_queue)
		return "ha.replication_queue";
	if (strcmp(a->ha.redis_password_file, b->ha.redis_password_file) != 0)
		return "ha.redis_password_file";
	return NULL;
}

bool sara_config_reload_check(const struct sara_config *running, const struct sara_config *next,
			 char *err, size_t err_size)
{
	char key[64];
	const char *changed;
	if (!sara_config_validate(next, err, err_size))
		return false;
	changed = restart_only_change(running, next, key, sizeof(key));
	if (changed && strncmp(changed, "servers[", 8) == 0) {
		snprintf(err, err_size, "%s: %s changed: a server keeps its addresses, mark and table while it "
			 "runs; add the new one under another id and remove the old one, or restart", next->path,
			 changed);
		return false;
	}
	if (changed) {
		snprintf(err, err_size, "%s: %s changed: restart to apply", next->path, changed);
		return false;
	}
	return true;
}

bool sara_config_journal_on(const struct sara_config *cfg)
{
	return cfg->state.journal[0] == '/';
}

unsigned sara_config_dispatcher_endpoints(const struct sara_config *cfg, const struct endpoint *listen,
					  struct endpoint *out, unsigned cap)
{
	unsigned n = 0;
	if (cfg->ha.dispatcher_count == 0) {
		if (cap == 0 || !listen->addr.family || netaddr_is_unspecified(&listen->addr))
			return 0;
		out[0] = *listen;
		return 1;
	}
	for (unsigned i = 0; i < cfg->ha.dispatcher_count && n < cap; i++) {
		out[n].addr = cfg->ha.dispatchers[i];
		out[n].port = listen->port;
		n++;
	}
	return listen->port ? n : 0;
}

bool sara_config_is_vip(const struct sara_config *cfg, const struct netaddr *addr)
{
	for (unsigned i = 0; i < cfg->vip_count; i++)
		if (netaddr_equal(&cfg->vips[i], addr))
			return true;
	return false;
}

const struct netaddr *server_config_address(const struct server_config *srv, int family)
{
	if (srv->address.family == family)
		return &srv->address;
	if (srv->address6.family == family)
		return &srv->address6;
	return NULL;
}

bool server_config_has_address(const struct server_config *srv, const struct netaddr *addr)
{
	return addr->family != 0 &&
	       (netaddr_equal(&srv->address, addr) || netaddr_equal(&srv->address6, addr));
}

int sara_config_server_by_address(const struct sara_config *cfg, const struct netaddr *addr)
{
	for (unsigned i = 0; i < cfg->server_count; i++)
		if (server_config_has_address(&cfg->servers[i], addr))
			return (int)i;
	return -1;
}

bool sara_config_is_sip_port(const struct sara_config *cfg, uint16_t port)
{
	for (unsigned i = 0; i < cfg->sip_port_count; i++)
		if (cfg->sip_ports[i] == port)
			return true;
	return false;
}

bool sara_config_is_rtsp_port(const struct sara_config *cfg, uint16_t port)
{
	for (unsigned i = 0; i < cfg->rtsp_port_count; i++)
		if (cfg->rtsp_ports[i] == port)
			return true;
	return false;
}
const struct key_spec *key_table_find(const struct key_table *table, const char *name)
{
	for (size_t i = 0; i < table->count; i++)
		if (strcmp(table->keys[i].name, name) == 0)
			return &table->keys[i];
	return NULL;
}
