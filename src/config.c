/* config.c - loads one cluster's libconfig file into struct sara_config: a
 * table of keys with types and bounds, then the cross-key rules. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Enums are written through an int; the compiler must agree. */
_Static_assert(sizeof(enum selection_algorithm) == sizeof(int), "enum width");
_Static_assert(sizeof(enum full_policy) == sizeof(int), "enum width");
_Static_assert(sizeof(enum malformed_policy) == sizeof(int), "enum width");
_Static_assert(sizeof(enum reject_mode) == sizeof(int), "enum width");
_Static_assert(sizeof(enum rtsp_reject_mode) == sizeof(int), "enum width");
_Static_assert(sizeof(enum admission_policy) == sizeof(int), "enum width");

#define LABEL_MAX 96  /* "servers[63].address"; each part printed with %.40s */
#define MARK_MAX 2147483648u  /* 2^31: the design's upper bound for fwmarks */
#define TABLE_MAX 2147483647u

/* ---- the key table ------------------------------------------------------ */

enum key_type {
	KEY_GROUP,     /* a section: its own table, same base */
	KEY_UINT,      /* integer within [min, max], stored in a field of `size` bytes */
	KEY_FLOAT,     /* number (integers accepted) within bounds */
	KEY_BOOL,
	KEY_STRING,    /* non-empty, fits a buffer of `size` bytes */
	KEY_IDENT,     /* like KEY_STRING, [A-Za-z0-9_.-] only */
	KEY_CHOICE,    /* one of `choices`, stored as int */
	KEY_ADDRESS,   /* one IPv4/IPv6 address */
	KEY_ENDPOINT,  /* "addr:port" or "[v6]:port" */
	KEY_PORTS,     /* array of ports into uint16_t[capacity] + unsigned count */
	KEY_ADDRESSES, /* array of addresses into netaddr[capacity] + unsigned count */
	KEY_SERVERS,   /* list of server groups */
};

struct choice {
	const char *name;
	int value;
};

struct key_table;

struct config_key {
	const char *name;
	enum key_type type;
	size_t offset;       /* where the value lands, from the group's base */
	size_t size;         /* field width (KEY_UINT) or buffer size (strings) */
	uint64_t min, max;   /* KEY_UINT, inclusive */
	double fmin, fmax;   /* KEY_FLOAT; fmin exclusive when min_exclusive */
	bool min_exclusive;
	const struct choice *choices;      /* KEY_CHOICE, ends with a NULL name */
	const struct key_table *section;   /* KEY_GROUP */
	size_t count_offset, capacity;     /* KEY_PORTS, KEY_ADDRESSES */
	bool required;
};

struct key_table {
	const struct config_key *keys;
	size_t count;
};

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

static const struct choice algorithm_choices[] = {
	{ "shell", SELECT_SHELL },
	{ "round-robin", SELECT_ROUND_ROBIN },
	{ "least-sessions", SELECT_LEAST_SESSIONS },
	{ "hash", SELECT_HASH },
	{ NULL, 0 },
};
static const struct choice full_choices[] = {
	{ "pass", FULL_PASS }, { "drop", FULL_DROP }, { NULL, 0 },
};
static const struct choice malformed_choices[] = {
	{ "pass", MALFORMED_PASS }, { "drop", MALFORMED_DROP }, { NULL, 0 },
};
static const struct choice reject_choices[] = {
	{ "drop", REJECT_DROP }, { "503", REJECT_503 }, { NULL, 0 },
};
static const struct choice policy_choices[] = {
	{ "sa2c", ADMISSION_POLICY_SA2C }, { "random", ADMISSION_POLICY_RANDOM }, { NULL, 0 },
};
static const struct choice rtsp_reject_choices[] = {
	{ "drop", RTSP_REJECT_DROP }, { "reset", RTSP_REJECT_RESET }, { NULL, 0 },
};

static const struct config_key port_keys[] = {
	ARRAY_KEY(KEY_PORTS, "sip", CFG, sip_ports, sip_port_count, false),
	ARRAY_KEY(KEY_PORTS, "rtsp", CFG, rtsp_ports, rtsp_port_count, false),
};
static const struct config_key queue_keys[] = {
	UINT_KEY("first", CFG, queue.first, 0, 65535),
	UINT_KEY("count", CFG, queue.count, 1, 1024),
	BOOL_KEY("fail_open", CFG, queue.fail_open),
};
static const struct config_key gateway_keys[] = {
	PLAIN_KEY(KEY_ENDPOINT, "listen", CFG, gateway.listen, false),
};
static const struct config_key agent_keys[] = {
	PLAIN_KEY(KEY_ENDPOINT, "listen", CFG, agents.listen, false),
	UINT_KEY("interval_ms", CFG, agents.interval_ms, 10, 60000),
	UINT_KEY("misses", CFG, agents.misses, 1, 100),
};
static const struct config_key timeout_keys[] = {
	UINT_KEY("signalling_s", CFG, timeouts.signalling_s, 10, 60),  /* DESIGN 4 */
	UINT_KEY("media_s", CFG, timeouts.media_s, 10, 60),
	UINT_KEY("linger_s", CFG, timeouts.linger_s, 0, 60),
};
static const struct config_key selection_keys[] = {
	CHOICE_KEY("algorithm", CFG, selection.algorithm, algorithm_choices),
	UINT_KEY("window", CFG, selection.window, 2, 1024),  /* a regression needs 2 points */
	UINT_KEY("slow_start_s", CFG, selection.slow_start_s, 0, 3600),
};
static const struct config_key admission_keys[] = {
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
};
static const struct config_key limit_keys[] = {
	UINT_KEY("flows", CFG, limits.flows, 1, 100000000),
	UINT_KEY("sessions", CFG, limits.sessions, 1, 100000000),
	CHOICE_KEY("when_full", CFG, limits.when_full, full_choices),
	UINT_KEY("tcp_streams", CFG, limits.tcp_streams, 1, 1048576),
	UINT_KEY("tcp_buffer", CFG, limits.tcp_buffer, 1024, 16777216),
	UINT_KEY("fragments", CFG, limits.fragments, 1, 1048576),
	CHOICE_KEY("malformed", CFG, limits.malformed, malformed_choices),
};
static const struct config_key control_keys[] = {
	STRING_KEY(KEY_STRING, "socket", CFG, control.socket, false),
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

static const struct config_key top_keys[] = {
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
};
static const struct key_table top_table = TABLE(top_keys);

#define SRV struct config_server
static const struct config_key server_keys[] = {
	STRING_KEY(KEY_IDENT, "id", SRV, id, true),
	PLAIN_KEY(KEY_ADDRESS, "address", SRV, address, true),
	/* mark and table have no safe default: they must match the operator's
	 * `ip rule` set-up, so every server names them */
	REQUIRED_UINT_KEY("mark", SRV, mark, 1, MARK_MAX),
	REQUIRED_UINT_KEY("table", SRV, table, 1, TABLE_MAX),
	FLOAT_KEY("weight", SRV, weight, 0.0, 1000.0, true),
};
static const struct key_table server_table = TABLE(server_keys);

#define KEYS_PER_GROUP_MAX 16  /* load_group's seen[] */
_Static_assert(sizeof(top_keys) / sizeof(top_keys[0]) <= KEYS_PER_GROUP_MAX, "seen[]");
_Static_assert(sizeof(limit_keys) / sizeof(limit_keys[0]) <= KEYS_PER_GROUP_MAX, "seen[]");
_Static_assert(sizeof(admission_keys) / sizeof(admission_keys[0]) <= KEYS_PER_GROUP_MAX, "seen[]");
#undef SRV
#undef CFG

/* ---- errors -------------------------------------------------------------- */

struct load {
	const char *path;
	char *err;
	size_t err_size;
	struct sara_config *cfg;
};

/* Writes "file:line: reason", or "file: reason" when no line is known.
 * Settings from an @include'd file carry their own file name. */
__attribute__((format(printf, 5, 6)))
static bool fail_at(char *err, size_t err_size, const char *path,
		    const config_setting_t *where, const char *fmt, ...)
{
	const char *file = path && path[0] ? path : NULL;
	unsigned line = 0;
	size_t used = 0;
	va_list ap;

	if (err_size == 0)
		return false;
	if (where) {
		line = config_setting_source_line(where);
		if (config_setting_source_file(where))
			file = config_setting_source_file(where);
	}
	if (file && line)
		used = (size_t)snprintf(err, err_size, "%s:%u: ", file, line);
	else if (file)
		used = (size_t)snprintf(err, err_size, "%s: ", file);
	else
		err[0] = '\0';
	if (used >= err_size)
		return false;
	va_start(ap, fmt);
	vsnprintf(err + used, err_size - used, fmt, ap);
	va_end(ap);
	return false;
}

#define FAIL(ld, where, ...) fail_at((ld)->err, (ld)->err_size, (ld)->path, (where), __VA_ARGS__)

/* ---- one key at a time ---------------------------------------------------- */

static void store_uint(void *field, size_t size, uint64_t value)
{
	switch (size) {
	case 1: { uint8_t v = (uint8_t)value; memcpy(field, &v, 1); break; }
	case 2: { uint16_t v = (uint16_t)value; memcpy(field, &v, 2); break; }
	case 4: { uint32_t v = (uint32_t)value; memcpy(field, &v, 4); break; }
	default: memcpy(field, &value, 8); break;
	}
}

static bool is_integer(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64;
}

static bool get_integer(struct load *ld, const config_setting_t *s, const char *label,
			uint64_t min, uint64_t max, uint64_t *out)
{
	long long value;
	if (!is_integer(s))
		return FAIL(ld, s, "%s must be an integer", label);
	value = config_setting_get_int64(s);
	/* libconfig 1.5 reads 2147483648 as a 32-bit int and wraps it: say so */
	if (value < 0 && config_setting_type(s) == CONFIG_TYPE_INT && max > INT32_MAX)
		return FAIL(ld, s, "%s must be between %" PRIu64 " and %" PRIu64 ", not %lld "
			    "(write integers above 2147483647 with an L suffix, like 2147483648L)",
			    label, min, max, value);
	if (value < 0 || (uint64_t)value < min || (uint64_t)value > max)
		return FAIL(ld, s, "%s must be between %" PRIu64 " and %" PRIu64 ", not %lld",
			    label, min, max, value);
	*out = (uint64_t)value;
	return true;
}

static bool get_string(struct load *ld, const config_setting_t *s, const char *label,
		       size_t size, const char **out)
{
	const char *text = config_setting_get_string(s);
	size_t len;
	if (config_setting_type(s) != CONFIG_TYPE_STRING || !text)
		return FAIL(ld, s, "%s must be a string", label);
	len = strlen(text);
	if (len == 0)
		return FAIL(ld, s, "%s must not be empty", label);
	if (size && len >= size)
		return FAIL(ld, s, "%s is longer than %zu characters", label, size - 1);
	*out = text;
	return true;
}

static bool ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

static bool get_address(struct load *ld, const config_setting_t *s, const char *label,
			struct netaddr *out)
{
	const char *text;
	if (!get_string(ld, s, label, 0, &text))
		return false;
	if (!netaddr_parse(span_make(text, strlen(text)), out))
		return FAIL(ld, s, "%s \"%s\" is not an IPv4 or IPv6 address", label, text);
	if (netaddr_is_unspecified(out) || netaddr_is_multicast(out))
		return FAIL(ld, s, "%s \"%s\" must be a unicast address", label, text);
	return true;
}

static bool load_group(struct load *ld, const config_setting_t *group,
		       const struct key_table *table, void *base, const char *label);

static bool load_ports(struct load *ld, const config_setting_t *s, const struct config_key *key,
		       void *base, const char *label)
{
	uint16_t *ports = (uint16_t *)((char *)base + key->offset);
	unsigned *count = (unsigned *)((char *)base + key->count_offset);
	int n = config_setting_length(s);

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
		return FAIL(ld, s, "%s must be a list of ports, like [ 5060 ]", label);
	if ((size_t)n > key->capacity)
		return FAIL(ld, s, "%s has %d ports, at most %zu", label, n, key->capacity);
	for (int i = 0; i < n; i++) {
		const config_setting_t *elem = config_setting_get_elem(s, (unsigned)i);
		char elem_label[LABEL_MAX];
		uint64_t port;
		snprintf(elem_label, sizeof(elem_label), "%.40s[%d]", label, i);
		if (!get_integer(ld, elem, elem_label, 1, 65535, &port))
			return false;
		ports[i] = (uint16_t)port;
	}
	*count = (unsigned)n;
	return true;
}

static bool load_addresses(struct load *ld, const config_setting_t *s,
			   const struct config_key *key, void *base, const char *label)
{
	struct netaddr *addrs = (struct netaddr *)((char *)base + key->offset);
	unsigned *count = (unsigned *)((char *)base + key->count_offset);
	int n = config_setting_length(s);

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
		return FAIL(ld, s, "%s must be a list of addresses, like [ \"198.18.10.1\" ]", label);
	if (n == 0)
		return FAIL(ld, s, "%s must list at least one address", label);
	if ((size_t)n > key->capacity)
		return FAIL(ld, s, "%s has %d addresses, at most %zu", label, n, key->capacity);
	for (int i = 0; i < n; i++) {
		char elem_label[LABEL_MAX];
		snprintf(elem_label, sizeof(elem_label), "%.40s[%d]", label, i);
		if (!get_address(ld, config_setting_get_elem(s, (unsigned)i), elem_label, &addrs[i]))
			return false;
	}
	*count = (unsigned)n;
	return true;
}

static bool load_servers(struct load *ld, const config_setting_t *s, const char *label)
{
	struct sara_config *cfg = ld->cfg;
	int n = config_setting_length(s);

	if (config_setting_type(s) != CONFIG_TYPE_LIST)
		return FAIL(ld, s, "%s must be a list of groups, like ( { id = \"s1\"; ... } )", label);
	if (n == 0)
		return FAIL(ld, s, "%s must list at least one server", label);
	if (n > CONFIG_MAX_SERVERS)
		return FAIL(ld, s, "%s has %d entries, at most %d", label, n, CONFIG_MAX_SERVERS);
	for (int i = 0; i < n; i++) {
		const config_setting_t *group = config_setting_get_elem(s, (unsigned)i);
		struct config_server *server = &cfg->servers[i];
		char elem_label[LABEL_MAX];
		snprintf(elem_label, sizeof(elem_label), "%.40s[%d]", label, i);
		if (config_setting_type(group) != CONFIG_TYPE_GROUP)
			return FAIL(ld, group, "%s must be a group { id = ...; address = ...; }",
				    elem_label);
		memset(server, 0, sizeof(*server));
		server->weight = 1.0;
		if (!load_group(ld, group, &server_table, server, elem_label))
			return false;
	}
	cfg->server_count = (unsigned)n;
	return true;
}

static bool load_key(struct load *ld, const config_setting_t *s, const struct config_key *key,
		     void *base, const char *label)
{
	void *field = (char *)base + key->offset;
	const char *text;
	uint64_t value;

	switch (key->type) {
	case KEY_GROUP:
		if (config_setting_type(s) != CONFIG_TYPE_GROUP)
			return FAIL(ld, s, "\"%s\" must be a group { ... }", label);
		return load_group(ld, s, key->section, base, label);
	case KEY_UINT:
		if (!get_integer(ld, s, label, key->min, key->max, &value))
			return false;
		store_uint(field, key->size, value);
		return true;
	case KEY_FLOAT: {
		double number;
		if (is_integer(s))
			number = (double)config_setting_get_int64(s);
		else if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
			number = config_setting_get_float(s);
		else
			return FAIL(ld, s, "%s must be a number", label);
		if (key->min_exclusive ? !(number > key->fmin) : !(number >= key->fmin))
			return FAIL(ld, s, "%s must be %s %g and at most %g, not %g", label,
				    key->min_exclusive ? "greater than" : "at least",
				    key->fmin, key->fmax, number);
		if (!(number <= key->fmax))
			return FAIL(ld, s, "%s must be %s %g and at most %g, not %g", label,
				    key->min_exclusive ? "greater than" : "at least",
				    key->fmin, key->fmax, number);
		memcpy(field, &number, sizeof(number));
		return true;
	}
	case KEY_BOOL: {
		bool flag;
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return FAIL(ld, s, "%s must be true or false", label);
		flag = config_setting_get_bool(s) != 0;
		memcpy(field, &flag, sizeof(flag));
		return true;
	}
	case KEY_STRING:
	case KEY_IDENT:
		if (!get_string(ld, s, label, key->size, &text))
			return false;
		if (key->type == KEY_IDENT) {
			for (const char *c = text; *c; c++)
				if (!ident_char(*c))
					return FAIL(ld, s, "%s \"%s\" may only contain letters, "
						    "digits, '_', '.' and '-'", label, text);
		}
		memcpy(field, text, strlen(text) + 1);
		return true;
	case KEY_CHOICE: {
		char names[128];
		size_t used = 0;
		if (!get_string(ld, s, label, 0, &text))
			return false;
		for (const struct choice *c = key->choices; c->name; c++) {
			if (strcmp(c->name, text) == 0) {
				memcpy(field, &c->value, sizeof(int));
				return true;
			}
		}
		names[0] = '\0';
		for (const struct choice *c = key->choices; c->name && used < sizeof(names); c++)
			used += (size_t)snprintf(names + used, sizeof(names) - used, "%s\"%s\"",
						 c == key->choices ? "" : ", ", c->name);
		return FAIL(ld, s, "%s must be one of %s, not \"%s\"", label, names, text);
	}
	case KEY_ADDRESS:
		return get_address(ld, s, label, field);
	case KEY_ENDPOINT: {
		struct endpoint ep;
		if (!get_string(ld, s, label, 0, &text))
			return false;
		if (!endpoint_parse(span_make(text, strlen(text)), &ep) || ep.port == 0)
			return FAIL(ld, s, "%s \"%s\" must be address:port, like \"198.18.1.1:7400\" "
				    "or \"[fd00::1]:7400\"", label, text);
		memcpy(field, &ep, sizeof(ep));
		return true;
	}
	case KEY_PORTS:
		return load_ports(ld, s, key, base, label);
	case KEY_ADDRESSES:
		return load_addresses(ld, s, key, base, label);
	case KEY_SERVERS:
		return load_servers(ld, s, label);
	}
	return FAIL(ld, s, "%s: internal error, unhandled key type", label);
}

static const struct config_key *find_key(const struct key_table *table, const char *name)
{
	for (size_t i = 0; i < table->count; i++)
		if (strcmp(table->keys[i].name, name) == 0)
			return &table->keys[i];
	return NULL;
}

/* Loads every member of group through table; rejects members the table
 * does not know (typos would otherwise silently keep a default). */
static bool load_group(struct load *ld, const config_setting_t *group,
		       const struct key_table *table, void *base, const char *label)
{
	bool seen[KEYS_PER_GROUP_MAX] = { false };  /* indexed like table->keys */
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		const config_setting_t *member = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(member);
		const struct config_key *key = name ? find_key(table, name) : NULL;
		char member_label[LABEL_MAX];

		if (!key) {
			if (label[0])
				return FAIL(ld, member, "unknown key \"%s\" in \"%s\"",
					    name ? name : "?", label);
			return FAIL(ld, member, "unknown key \"%s\"", name ? name : "?");
		}
		seen[key - table->keys] = true;
		if (label[0])
			snprintf(member_label, sizeof(member_label), "%.40s.%.40s", label, name);
		else
			snprintf(member_label, sizeof(member_label), "%.40s", name);
		if (!load_key(ld, member, key, base, member_label))
			return false;
	}
	for (size_t k = 0; k < table->count; k++) {
		if (!table->keys[k].required || seen[k])
			continue;
		if (label[0])
			return FAIL(ld, group, "missing required key \"%s\" in \"%s\"",
				    table->keys[k].name, label);
		return FAIL(ld, NULL, "missing required key \"%s\"", table->keys[k].name);
	}
	return true;
}

/* ---- cross-key rules ------------------------------------------------------ */

/* Where each rule points when it fails; all NULL after programmatic set-up. */
struct rule_sites {
	const char *path;
	const config_setting_t *vips, *sip, *rtsp, *servers, *queue, *admission, *limits;
};

/* The member `name` of group, else the group itself, else NULL. */
static const config_setting_t *site(const config_setting_t *group, const char *name)
{
	const config_setting_t *member = group && name ? config_setting_get_member(group, name) : NULL;
	return member ? member : group;
}

static const config_setting_t *site_elem(const config_setting_t *list, unsigned index)
{
	const config_setting_t *elem = list ? config_setting_get_elem(list, index) : NULL;
	return elem ? elem : list;
}

static const config_setting_t *server_site(const struct rule_sites *at, unsigned index,
					   const char *name)
{
	return site(site_elem(at->servers, index), name);
}

#define RULE_FAIL(where, ...) fail_at(err, err_size, at->path, (where), __VA_ARGS__)

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

static bool check_rules(const struct sara_config *cfg, const struct rule_sites *at,
			char *err, size_t err_size)
{
	char text[NETADDR_STRLEN];
	unsigned dup;

	if (cfg->vip_count == 0 || cfg->vip_count > CONFIG_MAX_VIPS)
		return RULE_FAIL(at->vips, "vips must list 1 to %d addresses", CONFIG_MAX_VIPS);
	for (unsigned i = 0; i < cfg->vip_count; i++)
		for (unsigned j = 0; j < i; j++)
			if (netaddr_equal(&cfg->vips[i], &cfg->vips[j]))
				return RULE_FAIL(site_elem(at->vips, i), "vips[%u] %s is listed twice",
						 i, netaddr_format(&cfg->vips[i], text, sizeof(text)));

	if (cfg->sip_port_count > CONFIG_MAX_PORTS || cfg->rtsp_port_count > CONFIG_MAX_PORTS)
		return RULE_FAIL(at->sip, "ports: at most %d ports per protocol", CONFIG_MAX_PORTS);
	if (cfg->sip_port_count + cfg->rtsp_port_count == 0)
		return RULE_FAIL(at->sip ? at->sip : at->rtsp,
				 "ports: at least one SIP or RTSP port is needed");
	if (port_listed_twice(cfg->sip_ports, cfg->sip_port_count, &dup))
		return RULE_FAIL(site_elem(at->sip, dup), "ports.sip[%u] %u is listed twice",
				 dup, cfg->sip_ports[dup]);
	if (port_listed_twice(cfg->rtsp_ports, cfg->rtsp_port_count, &dup))
		return RULE_FAIL(site_elem(at->rtsp, dup), "ports.rtsp[%u] %u is listed twice",
				 dup, cfg->rtsp_ports[dup]);
	for (unsigned i = 0; i < cfg->sip_port_count; i++) {
		for (unsigned j = 0; j < cfg->rtsp_port_count; j++) {
			/* point at the list the file names; the other may be a default */
			if (cfg->sip_ports[i] != cfg->rtsp_ports[j])
				continue;
			return RULE_FAIL(at->rtsp ? site_elem(at->rtsp, j) : site_elem(at->sip, i),
					 "port %u is listed both in ports.sip and ports.rtsp",
					 cfg->sip_ports[i]);
		}
	}

	if (cfg->server_count == 0 || cfg->server_count > CONFIG_MAX_SERVERS)
		return RULE_FAIL(at->servers, "servers must list 1 to %d servers", CONFIG_MAX_SERVERS);
	for (unsigned i = 0; i < cfg->server_count; i++) {
		const struct config_server *s = &cfg->servers[i];
		if (s->id[0] == '\0')
			return RULE_FAIL(server_site(at, i, "id"), "servers[%u].id must not be empty", i);
		if (s->address.family == 0)
			return RULE_FAIL(server_site(at, i, "address"),
					 "servers[%u] (\"%s\") has no address", i, s->id);
		if (s->mark == 0 || s->mark > MARK_MAX)
			return RULE_FAIL(server_site(at, i, "mark"),
					 "servers[%u].mark must be between 1 and %u", i, MARK_MAX);
		if (s->table == 0 || s->table > TABLE_MAX)
			return RULE_FAIL(server_site(at, i, "table"),
					 "servers[%u].table must be between 1 and %u", i, TABLE_MAX);
		if (s->table >= 253 && s->table <= 255)
			return RULE_FAIL(server_site(at, i, "table"),
					 "servers[%u].table %u is reserved (253 default, 254 main, "
					 "255 local)", i, s->table);
		if (!(s->weight > 0.0 && s->weight <= 1000.0))
			return RULE_FAIL(server_site(at, i, "weight"),
					 "servers[%u].weight must be greater than 0 and at most 1000", i);
		if (config_is_vip(cfg, &s->address))
			return RULE_FAIL(server_site(at, i, "address"),
					 "servers[%u].address %s is also a VIP", i,
					 netaddr_format(&s->address, text, sizeof(text)));
		for (unsigned j = 0; j < i; j++) {
			const struct config_server *o = &cfg->servers[j];
			if (strcmp(s->id, o->id) == 0)
				return RULE_FAIL(server_site(at, i, "id"), "servers[%u].id \"%s\" "
						 "is already used by servers[%u]", i, s->id, j);
			if (netaddr_equal(&s->address, &o->address))
				return RULE_FAIL(server_site(at, i, "address"), "servers[%u].address "
						 "%s is already used by servers[%u] (\"%s\")", i,
						 netaddr_format(&s->address, text, sizeof(text)),
						 j, o->id);
			if (s->mark == o->mark)
				return RULE_FAIL(server_site(at, i, "mark"), "servers[%u].mark %u is "
						 "already used by servers[%u] (\"%s\")", i, s->mark,
						 j, o->id);
			/* one table per server: two servers in one table share a route */
			if (s->table == o->table)
				return RULE_FAIL(server_site(at, i, "table"), "servers[%u].table %u is "
						 "already used by servers[%u] (\"%s\")", i, s->table,
						 j, o->id);
		}
	}

	if ((uint32_t)cfg->queue.first + cfg->queue.count > 65536u)
		return RULE_FAIL(site(at->queue, "count"), "queue: first %u + count %u goes past "
				 "queue 65535", cfg->queue.first, cfg->queue.count);

	/* SA2C thresholds must be ordered or the drop probabilities are nonsense */
	if (!(cfg->admission.t1 < cfg->admission.t2))
		return RULE_FAIL(site(at->admission, "t2"), "admission: t1 (%g) must be below t2 (%g)",
				 cfg->admission.t1, cfg->admission.t2);
	if (!(cfg->admission.t2 < cfg->admission.t3))
		return RULE_FAIL(site(at->admission, "t3"), "admission: t2 (%g) must be below t3 (%g)",
				 cfg->admission.t2, cfg->admission.t3);
	if (!(cfg->admission.t3 < cfg->admission.c))
		return RULE_FAIL(site(at->admission, "c"), "admission: t3 (%g) must be below c (%g)",
				 cfg->admission.t3, cfg->admission.c);
	if (!(cfg->admission.c <= 1.0))
		return RULE_FAIL(site(at->admission, "c"), "admission: c (%g) must be at most 1",
				 cfg->admission.c);
	if (!(cfg->admission.alpha >= 0.0 && cfg->admission.alpha <= 1.0))
		return RULE_FAIL(site(at->admission, "alpha"),
				 "admission: alpha (%g) must be between 0 and 1", cfg->admission.alpha);

	/* every session holds at least one flow */
	if (cfg->limits.flows < cfg->limits.sessions)
		return RULE_FAIL(site(at->limits, "flows"), "limits: flows (%u) must be at least "
				 "sessions (%u)", cfg->limits.flows, cfg->limits.sessions);
	return true;
}

/* ---- public ---------------------------------------------------------------- */

void config_defaults(struct sara_config *cfg)
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
	cfg->admission.reject = REJECT_503;
	cfg->admission.retry_after_s = 5;
	cfg->admission.rtsp_reject = RTSP_REJECT_RESET;
	cfg->admission.replies_per_s = 1000;
	cfg->limits.flows = 1000000;
	cfg->limits.sessions = 250000;
	cfg->limits.when_full = FULL_PASS;
	cfg->limits.tcp_streams = 4096;
	cfg->limits.tcp_buffer = 16384;
	cfg->limits.fragments = 1024;
	cfg->limits.malformed = MALFORMED_PASS;
	/* control.socket and key_file depend on the name: config_load fills them */
}

bool config_load(const char *path, struct sara_config *cfg, char *err, size_t err_size)
{
	struct load ld = { .path = path, .err = err, .err_size = err_size, .cfg = cfg };
	struct rule_sites sites = { .path = path };
	config_t lc;
	bool ok = false;

	config_defaults(cfg);
	if (err_size)
		err[0] = '\0';
	if (strlen(path) >= sizeof(cfg->path))
		return FAIL(&ld, NULL, "path is longer than %zu characters", sizeof(cfg->path) - 1);
	memcpy(cfg->path, path, strlen(path) + 1);

	config_init(&lc);
	if (!config_read_file(&lc, path)) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
			FAIL(&ld, NULL, "cannot read: %s", strerror(errno ? errno : EIO));
		else
			snprintf(err, err_size, "%s:%d: %s",
				 config_error_file(&lc) ? config_error_file(&lc) : path,
				 config_error_line(&lc),
				 config_error_text(&lc) ? config_error_text(&lc) : "syntax error");
		goto destroy_config;
	}
	if (!load_group(&ld, config_root_setting(&lc), &top_table, cfg, ""))
		goto destroy_config;

	/* defaults that name the cluster, so two clusters on one host differ */
	if (cfg->control.socket[0] == '\0')
		snprintf(cfg->control.socket, sizeof(cfg->control.socket), "/run/sara/%s.sock",
			 cfg->name);
	if (cfg->key_file[0] == '\0')
		snprintf(cfg->key_file, sizeof(cfg->key_file), "/etc/sara/%s.key", cfg->name);

	sites.vips = config_lookup(&lc, "vips");
	sites.sip = config_lookup(&lc, "ports.sip");
	sites.rtsp = config_lookup(&lc, "ports.rtsp");
	sites.servers = config_lookup(&lc, "servers");
	sites.queue = config_lookup(&lc, "queue");
	sites.admission = config_lookup(&lc, "admission");
	sites.limits = config_lookup(&lc, "limits");
	ok = check_rules(cfg, &sites, err, err_size);

destroy_config:
	config_destroy(&lc);
	return ok;
}

bool config_validate(const struct sara_config *cfg, char *err, size_t err_size)
{
	struct rule_sites sites = { .path = cfg->path };
	if (err_size)
		err[0] = '\0';
	return check_rules(cfg, &sites, err, err_size);
}

const char *selection_algorithm_name(enum selection_algorithm algorithm)
{
	for (const struct choice *c = algorithm_choices; c->name; c++)
		if (c->value == (int)algorithm)
			return c->name;
	return "unknown";
}

static bool endpoint_equal(const struct endpoint *a, const struct endpoint *b)
{
	if (!a->addr.family || !b->addr.family)
		return a->addr.family == b->addr.family;
	return netaddr_equal(&a->addr, &b->addr) && a->port == b->port;
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

/* The first restart-only key that differs, or NULL. A key added to struct
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
	if (a->server_count != b->server_count)
		return "servers (their number)";
	for (unsigned i = 0; i < a->server_count; i++) {
		const struct config_server *x = &a->servers[i], *y = &b->servers[i];
		const char *field = NULL;
		if (strcmp(x->id, y->id) != 0)
			field = "id";
		else if (!netaddr_equal(&x->address, &y->address))
			field = "address";
		else if (x->mark != y->mark)
			field = "mark";
		else if (x->table != y->table)
			field = "table";
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
	return NULL;
}

bool config_reload_check(const struct sara_config *running, const struct sara_config *next,
			 char *err, size_t err_size)
{
	char key[64];
	const char *changed;
	if (!config_validate(next, err, err_size))
		return false;
	changed = restart_only_change(running, next, key, sizeof(key));
	if (changed) {
		snprintf(err, err_size, "%s: %s changed: restart to apply", next->path, changed);
		return false;
	}
	return true;
}

bool config_is_vip(const struct sara_config *cfg, const struct netaddr *addr)
{
	for (unsigned i = 0; i < cfg->vip_count; i++)
		if (netaddr_equal(&cfg->vips[i], addr))
			return true;
	return false;
}

int config_server_by_address(const struct sara_config *cfg, const struct netaddr *addr)
{
	for (unsigned i = 0; i < cfg->server_count; i++)
		if (netaddr_equal(&cfg->servers[i].address, addr))
			return (int)i;
	return -1;
}

bool config_is_sip_port(const struct sara_config *cfg, uint16_t port)
{
	for (unsigned i = 0; i < cfg->sip_port_count; i++)
		if (cfg->sip_ports[i] == port)
			return true;
	return false;
}

bool config_is_rtsp_port(const struct sara_config *cfg, uint16_t port)
{
	for (unsigned i = 0; i < cfg->rtsp_port_count; i++)
		if (cfg->rtsp_ports[i] == port)
			return true;
	return false;
}
