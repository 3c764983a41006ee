/* rule_listing.h - the host's policy rules as `ip -N rule show` lists
 * them, read back so that rules --apply adds only the rules that are
 * missing and prunes sara's own rules (RULES_RT_PROTO) of servers the
 * configuration no longer lists. No I/O. */
#ifndef SARA_CTL_RULE_LISTING_H
#define SARA_CTL_RULE_LISTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"

#define RULE_LISTING_MAX 512

struct policy_rule {
	uint32_t mark, table;
	unsigned proto;          /* 0 when the listing shows none */
};

struct rule_listing {
	unsigned count;
	bool truncated;          /* more fwmark rules than RULE_LISTING_MAX */
	struct policy_rule rules[RULE_LISTING_MAX];
};

/* The fwmark rules of `ip -N rule show` output ("32765: from all fwmark
 * 0x2 lookup 102 proto 83"); other rules are skipped. */
void rule_listing_parse(const char *text, size_t len, struct rule_listing *out);
bool rule_listing_has(const struct rule_listing *l, uint32_t mark, uint32_t table);

/* One of sara's rules (proto) that no server of cfg (of the family,
 * NETADDR_IPV4 or _IPV6) has, and whose mark is not in keep (the marks a
 * running sarad still routes sessions with: its removed servers drain). */
struct stale_rule {
	uint32_t mark, table;
	bool table_unused;       /* no server of cfg uses the table: its routes may go too */
};
unsigned rule_listing_stale(const struct rule_listing *l, const struct sara_config *cfg, int family, unsigned proto,
			    const uint32_t *keep, unsigned keep_count, struct stale_rule *out, unsigned max);

/* "fwmark M lookup T" of an "ip [-6] rule add" argv; false when absent. */
bool rule_listing_argv(const char *const *argv, bool *ipv6, uint32_t *mark, uint32_t *table);

#endif
