/* config_file.c - reads one cluster's libconfig file through the engine's
 * key table, then the engine's cross-key rules; errors as "file:line: reason". */
#include "io/config_file.h"

#include <errno.h>
#include <inttypes.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine/config_schema.h"

#define LABEL_MAX 96  /* "servers[63].address"; each part printed with %.40s */

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

/* A host's address (unicast) or, with multicast, a group's (the config's
 * rules check that it is one, with the key's other rules). */
static bool get_address_of(struct load *ld, const config_setting_t *s, const char *label,
			   bool multicast, struct netaddr *out)
{
	const char *text;
	if (!get_string(ld, s, label, 0, &text))
		return false;
	if (!netaddr_parse(span_make(text, strlen(text)), out))
		return FAIL(ld, s, "%s \"%s\" is not an IPv4 or IPv6 address", label, text);
	if (netaddr_is_unspecified(out) || (!multicast && netaddr_is_multicast(out)))
		return FAIL(ld, s, "%s \"%s\" must be a %s address", label, text, multicast ? "group's" : "unicast");
	return true;
}

static bool get_address(struct load *ld, const config_setting_t *s, const char *label,
			struct netaddr *out)
{
	return get_address_of(ld, s, label, false, out);
}

static bool load_group(struct load *ld, const config_setting_t *group,
		       const struct key_table *table, void *base, const char *label);

static bool load_ports(struct load *ld, const config_setting_t *s, const struct key_spec *key,
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
			   const struct key_spec *key, void *base, const char *label)
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
	if (n > SARA_MAX_SERVERS)
		return FAIL(ld, s, "%s has %d entries, at most %d", label, n, SARA_MAX_SERVERS);
	for (int i = 0; i < n; i++) {
		const config_setting_t *group = config_setting_get_elem(s, (unsigned)i);
		struct server_config *server = &cfg->servers[i];
		char elem_label[LABEL_MAX];
		snprintf(elem_label, sizeof(elem_label), "%.40s[%d]", label, i);
		if (config_setting_type(group) != CONFIG_TYPE_GROUP)
			return FAIL(ld, group, "%s must be a group { id = ...; address = ...; }",
				    elem_label);
		memset(server, 0, sizeof(*server));
		server->weight = 1.0;
		if (!load_group(ld, group, &server_key_table, server, elem_label))
			return false;
	}
	cfg->server_count = (unsigned)n;
	return true;
}

static bool load_float(struct load *ld, const config_setting_t *s, const struct key_spec *key,
		       void *field, const char *label)
{
	double number;
	if (is_integer(s))
		number = (double)config_setting_get_int64(s);
	else if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		number = config_setting_get_float(s);
	else
		return FAIL(ld, s, "%s must be a number", label);
	if ((key->min_exclusive ? !(number > key->fmin) : !(number >= key->fmin)) || !(number <= key->fmax))
		return FAIL(ld, s, "%s must be %s %g and at most %g, not %g", label,
			    key->min_exclusive ? "greater than" : "at least",
			    key->fmin, key->fmax, number);
	memcpy(field, &number, sizeof(number));
	return true;
}

static bool load_bool(struct load *ld, const config_setting_t *s, void *field, const char *label)
{
	bool flag;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return FAIL(ld, s, "%s must be true or false", label);
	flag = config_setting_get_bool(s) != 0;
	memcpy(field, &flag, sizeof(flag));
	return true;
}

static bool load_text(struct load *ld, const config_setting_t *s, const struct key_spec *key,
		      void *field, const char *label)
{
	const char *text;
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
}

static bool load_choice(struct load *ld, const config_setting_t *s, const struct key_spec *key,
			void *field, const char *label)
{
	char names[128];
	size_t used = 0;
	const char *text;
	if (!get_string(ld, s, label, 0, &text))
		return false;
	for (const struct key_choice *c = key->choices; c->name; c++) {
		if (strcmp(c->name, text) == 0) {
			memcpy(field, &c->value, sizeof(int));
			return true;
		}
	}
	names[0] = '\0';
	for (const struct key_choice *c = key->choices; c->name && used < sizeof(names); c++)
		used += (size_t)snprintf(names + used, sizeof(names) - used, "%s\"%s\"",
					 c == key->choices ? "" : ", ", c->name);
	return FAIL(ld, s, "%s must be one of %s, not \"%s\"", label, names, text);
}

static bool load_endpoint(struct load *ld, const config_setting_t *s, void *field, const char *label)
{
	struct endpoint ep;
	const char *text;
	if (!get_string(ld, s, label, 0, &text))
		return false;
	if (!endpoint_parse(span_make(text, strlen(text)), &ep) || ep.port == 0)
		return FAIL(ld, s, "%s \"%s\" must be address:port, like \"198.18.1.1:7400\" "
			    "or \"[fd00::1]:7400\"", label, text);
	memcpy(field, &ep, sizeof(ep));
	return true;
}

static bool load_key(struct load *ld, const config_setting_t *s, const struct key_spec *key,
		     void *base, const char *label)
{
	void *field = (char *)base + key->offset;
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
	case KEY_FLOAT:
		return load_float(ld, s, key, field, label);
	case KEY_BOOL:
		return load_bool(ld, s, field, label);
	case KEY_STRING:
	case KEY_IDENT:
		return load_text(ld, s, key, field, label);
	case KEY_CHOICE:
		return load_choice(ld, s, key, field, label);
	case KEY_ADDRESS:
		return get_address(ld, s, label, field);
	case KEY_MULTICAST:
		return get_address_of(ld, s, label, true, field);
	case KEY_ENDPOINT:
		return load_endpoint(ld, s, field, label);
	case KEY_PORTS:
		return load_ports(ld, s, key, base, label);
	case KEY_ADDRESSES:
		return load_addresses(ld, s, key, base, label);
	case KEY_SERVERS:
		return load_servers(ld, s, label);
	}
	return FAIL(ld, s, "%s: internal error, unhandled key type", label);
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
		const struct key_spec *key = name ? key_table_find(table, name) : NULL;
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

/* ---- where a cross-key rule points ----------------------------------------- */

/* The deepest setting on site->path, going no shallower than its anchor;
 * NULL when the file does not have the anchor. */
static const config_setting_t *site_setting(const config_t *lc, const struct config_site *site)
{
	char path[sizeof(site->path)];
	size_t anchor_len = strlen(site->anchor);

	if (!config_lookup(lc, site->anchor))
		return NULL;
	snprintf(path, sizeof(path), "%s", site->path);
	for (;;) {
		const config_setting_t *s = config_lookup(lc, path);
		char *dot = strrchr(path, '.');
		if (s)
			return s;
		if (!dot || (size_t)(dot - path) < anchor_len)
			return config_lookup(lc, site->anchor);
		*dot = '\0';
	}
}

static bool report_problem(struct load *ld, const config_t *lc, const struct config_problem *problem)
{
	const config_setting_t *where = NULL;
	for (unsigned i = 0; i < problem->site_count && !where; i++)
		where = site_setting(lc, &problem->sites[i]);
	return FAIL(ld, where, "%s", problem->reason);
}

/* ---- public ---------------------------------------------------------------- */

bool sara_config_load(const char *path, struct sara_config *cfg, char *err, size_t err_size)
{
	struct load ld = { .path = path, .err = err, .err_size = err_size, .cfg = cfg };
	struct config_problem problem;
	config_t lc;
	bool ok = false;

	sara_config_defaults(cfg);
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
	if (!load_group(&ld, config_root_setting(&lc), &config_top_keys, cfg, ""))
		goto destroy_config;

	/* defaults that name the cluster, so two clusters on one host differ */
	if (cfg->control.socket[0] == '\0')
		snprintf(cfg->control.socket, sizeof(cfg->control.socket), "/run/sara/%s.sock",
			 cfg->name);
	if (cfg->key_file[0] == '\0')
		snprintf(cfg->key_file, sizeof(cfg->key_file), "/etc/sara/%s.key", cfg->name);
	if (cfg->state.journal[0] == '\0')
		snprintf(cfg->state.journal, sizeof(cfg->state.journal), "/var/lib/sara/%s.journal", cfg->name);

	ok = sara_config_check(cfg, &problem) || report_problem(&ld, &lc, &problem);

destroy_config:
	config_destroy(&lc);
	return ok;
}
