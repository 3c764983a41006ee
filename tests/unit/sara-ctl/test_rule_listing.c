/* test_rule_listing.c - the host's policy rules read back for rules
 * --apply: `ip -N rule show` lines parsed (hex marks, other rules skipped),
 * an "ip rule add" command's mark and table, and which of sara's rules are
 * stale: not the configuration's, not a mark sarad still routes with, not
 * someone else's (another protocol). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sara-ctl/rule_listing.h"

static const char listing[] =
	"0:\tfrom all lookup 255\n"
	"32760:\tfrom all fwmark 0xca6c lookup 51820\n"        /* a VPN's rule: not ours */
	"32761:\tfrom all fwmark 0x4 lookup 104 proto 83\n"    /* a removed server */
	"32762:\tfrom all fwmark 0x3 lookup 103 proto 83\n"
	"32763:\tfrom all fwmark 0x2 lookup 102 proto 83\n"
	"32764:\tfrom all fwmark 0x1 lookup 101\n"             /* applied by an older sara-ctl */
	"32765:\tfrom all fwmark 0x5 lookup 103 proto 83\n"    /* a table reused by another mark */
	"32766:\tfrom all lookup 254\n"
	"32767:\tfrom all lookup 253\n";

static void config(struct sara_config *cfg)
{
	sara_config_defaults(cfg);
	cfg->server_count = 3;
	for (unsigned i = 0; i < 3; i++) {
		struct server_config *s = &cfg->servers[i];
		char addr[32];
		snprintf(s->id, sizeof(s->id), "s%u", i + 1);
		snprintf(addr, sizeof(addr), "198.18.2.1%u", i + 1);
		assert_true(netaddr_parse(span_make(addr, strlen(addr)), &s->address));
		s->mark = i + 1;
		s->table = 101 + i;
	}
}

static void test_parse(void **state)
{
	struct rule_listing l;
	(void)state;
	rule_listing_parse(listing, strlen(listing), &l);
	assert_int_equal(l.count, 6);
	assert_false(l.truncated);
	assert_int_equal(l.rules[0].mark, 0xca6c);
	assert_int_equal(l.rules[0].table, 51820);
	assert_int_equal(l.rules[0].proto, 0);
	assert_int_equal(l.rules[1].mark, 4);
	assert_int_equal(l.rules[1].proto, 83);
	assert_true(rule_listing_has(&l, 1, 101));
	assert_true(rule_listing_has(&l, 2, 102));
	assert_false(rule_listing_has(&l, 2, 103));
	rule_listing_parse("", 0, &l);
	assert_int_equal(l.count, 0);
	rule_listing_parse("1: from all fwmark zz lookup 3\n2: fwmark 0x1 lookup\n", 45, &l);
	assert_int_equal(l.count, 0);
}

static void test_stale(void **state)
{
	struct sara_config cfg;
	struct rule_listing l;
	struct stale_rule stale[8];
	uint32_t keep[] = { 4 };
	unsigned n;
	(void)state;
	config(&cfg);
	rule_listing_parse(listing, strlen(listing), &l);
	n = rule_listing_stale(&l, &cfg, NETADDR_IPV4, 83, NULL, 0, stale, 8);
	assert_int_equal(n, 2);
	assert_int_equal(stale[0].mark, 4);
	assert_int_equal(stale[0].table, 104);
	assert_true(stale[0].table_unused);
	assert_int_equal(stale[1].mark, 5);
	assert_false(stale[1].table_unused);     /* table 103 is s3's: its routes stay */
	/* a mark sarad still routes with (a removed server draining) stays */
	n = rule_listing_stale(&l, &cfg, NETADDR_IPV4, 83, keep, 1, stale, 8);
	assert_int_equal(n, 1);
	assert_int_equal(stale[0].mark, 5);
	/* servers of the other family do not count for these rules */
	n = rule_listing_stale(&l, &cfg, NETADDR_IPV6, 83, NULL, 0, stale, 8);
	assert_int_equal(n, 4);
}

static void test_argv(void **state)
{
	const char *add[] = { "ip", "rule", "add", "fwmark", "7", "lookup", "107", "protocol", "83", NULL };
	const char *add6[] = { "ip", "-6", "rule", "add", "fwmark", "0x10", "lookup", "110", NULL };
	const char *none[] = { "ip", "route", "replace", "1.2.3.4/32", "via", "5.6.7.8", NULL };
	uint32_t mark = 0, table = 0;
	bool v6;
	(void)state;
	assert_true(rule_listing_argv(add, &v6, &mark, &table));
	assert_false(v6);
	assert_int_equal(mark, 7);
	assert_int_equal(table, 107);
	assert_true(rule_listing_argv(add6, &v6, &mark, &table));
	assert_true(v6);
	assert_int_equal(mark, 16);
	assert_false(rule_listing_argv(none, &v6, &mark, &table));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_stale),
		cmocka_unit_test(test_argv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
