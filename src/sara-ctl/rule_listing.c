/* rule_listing.c - the host's policy rules read back (rule_listing.h). */
#include "sara-ctl/rule_listing.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A number after word in line[0..len): decimal, or hex with 0x. */
static bool number_after(const char *line, size_t len, const char *word, uint32_t *out)
{
	size_t wlen = strlen(word);
	for (size_t i = 0; i + wlen < len; i++) {
		char digits[24];
		size_t n = 0;
		unsigned long long v;
		char *end;
		if (memcmp(line + i, word, wlen) != 0 || (i > 0 && line[i - 1] != ' ' && line[i - 1] != '\t'))
			continue;
		i += wlen;
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		while (i < len && n < sizeof(digits) - 1 && line[i] != ' ' && line[i] != '\t' && line[i] != '/')
			digits[n++] = line[i++];
		digits[n] = '\0';
		if (n == 0)
			return false;
		errno = 0;
		v = strtoull(digits, &end, 0);
		if (errno || *end || v > UINT32_MAX)
			return false;
		*out = (uint32_t)v;
		return true;
	}
	return false;
}

void rule_listing_parse(const char *text, size_t len, struct rule_listing *out)
{
	const char *p = text, *end = text + len;
	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t line_len = (size_t)((nl ? nl : end) - p);
		struct policy_rule r = { 0, 0, 0 };
		uint32_t proto = 0;
		if (number_after(p, line_len, "fwmark", &r.mark) && number_after(p, line_len, "lookup", &r.table)) {
			if (number_after(p, line_len, "proto", &proto))
				r.proto = proto;
			if (out->count < RULE_LISTING_MAX)
				out->rules[out->count++] = r;
			else
				out->truncated = true;
		}
		p += line_len + 1;
	}
}

bool rule_listing_has(const struct rule_listing *l, uint32_t mark, uint32_t table)
{
	for (unsigned i = 0; i < l->count; i++)
		if (l->rules[i].mark == mark && l->rules[i].table == table)
			return true;
	return false;
}

unsigned rule_listing_stale(const struct rule_listing *l, const struct sara_config *cfg, int family, unsigned proto,
			    const uint32_t *keep, unsigned keep_count, struct stale_rule *out, unsigned max)
{
	unsigned n = 0;
	for (unsigned i = 0; i < l->count && n < max; i++) {
		const struct policy_rule *r = &l->rules[i];
		bool listed = false, kept = false, table_used = false, seen = false;
		if (r->proto != proto)
			continue;
		for (unsigned s = 0; s < cfg->server_count; s++) {
			const struct server_config *srv = &cfg->servers[s];
			if (!server_config_address(srv, family))
				continue;
			listed |= srv->mark == r->mark && srv->table == r->table;
			table_used |= srv->table == r->table;
		}
		for (unsigned k = 0; k < keep_count; k++)
			kept |= keep[k] == r->mark;
		for (unsigned k = 0; k < n; k++)
			seen |= out[k].mark == r->mark && out[k].table == r->table;
		if (listed || kept || seen)
			continue;
		out[n++] = (struct stale_rule){ r->mark, r->table, !table_used };
	}
	return n;
}

bool rule_listing_argv(const char *const *argv, bool *ipv6, uint32_t *mark, uint32_t *table)
{
	bool have_mark = false, have_table = false;
	*ipv6 = false;
	for (unsigned i = 0; argv[i]; i++) {
		char *end;
		unsigned long long v;
		if (strcmp(argv[i], "-6") == 0)
			*ipv6 = true;
		if (!argv[i + 1] || (strcmp(argv[i], "fwmark") != 0 && strcmp(argv[i], "lookup") != 0))
			continue;
		errno = 0;
		v = strtoull(argv[i + 1], &end, 0);
		if (errno || *end || v > UINT32_MAX)
			return false;
		if (argv[i][0] == 'f') {
			*mark = (uint32_t)v;
			have_mark = true;
		} else {
			*table = (uint32_t)v;
			have_table = true;
		}
	}
	return have_mark && have_table;
}
