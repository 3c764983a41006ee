/* test_flow_table.c - unit tests for the flow pool: exact 5-tuple index,
 * capacity and free list, and the wildcard indexes for announced flows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>

#include "engine/flow_table.h"

#define SMALL_CAPACITY 8

static void fixed_hash_key(struct hash_key *key)
{
	memset(key, 0x5a, sizeof(*key));
}

static void init_table(struct flow_table *table, uint32_t capacity)
{
	struct hash_key key;
	fixed_hash_key(&key);
	assert_true(flow_table_init(table, capacity, &key));
}

/* A key from address text; NULL or port 0 leave that side zero. */
static struct flow_key make_key(int family, uint8_t l4, const char *src, uint16_t sport,
				const char *dst, uint16_t dport)
{
	struct flow_key key;
	memset(&key, 0, sizeof(key));
	key.family = (uint8_t)family;
	key.l4 = l4;
	key.sport = sport;
	key.dport = dport;
	if (src)
		assert_int_equal(inet_pton(family, src, key.src), 1);
	if (dst)
		assert_int_equal(inet_pton(family, dst, key.dst), 1);
	return key;
}

static uint32_t add_flow(struct flow_table *table, const struct flow_key *key, enum flow_match match)
{
	uint32_t id = flow_table_alloc(table);
	assert_int_not_equal(id, FLOW_NIL);
	table->flows[id].key = *key;
	table->flows[id].match = (uint8_t)match;
	flow_table_insert(table, id);
	return id;
}

/* The packet an RTP sender at client:port would send to VIP:dport. */
static struct flow_key rtp_packet(const char *client, uint16_t sport, uint16_t dport)
{
	return make_key(NETADDR_IPV4, L4_UDP, client, sport, "198.18.10.1", dport);
}

static void test_exact_insert_lookup_remove(void **state)
{
	struct flow_table table;
	struct flow_key a = make_key(NETADDR_IPV4, L4_UDP, "192.0.2.10", 5060, "198.18.10.1", 5060);
	struct flow_key b = make_key(NETADDR_IPV4, L4_UDP, "192.0.2.10", 5061, "198.18.10.1", 5060);
	struct flow_key a_tcp = make_key(NETADDR_IPV4, L4_TCP, "192.0.2.10", 5060, "198.18.10.1", 5060);
	uint32_t id_a, id_b;

	(void)state;
	init_table(&table, SMALL_CAPACITY);
	assert_int_equal(flow_table_lookup_exact(&table, &a), FLOW_NIL);
	id_a = add_flow(&table, &a, MATCH_EXACT);
	id_b = add_flow(&table, &b, MATCH_EXACT);
	assert_int_equal(table.in_use, 2);
	assert_int_equal(flow_table_lookup_exact(&table, &a), id_a);
	assert_int_equal(flow_table_lookup_exact(&table, &b), id_b);
	/* The protocol is part of the 5-tuple. */
	assert_int_equal(flow_table_lookup_exact(&table, &a_tcp), FLOW_NIL);
	/* Exact entries are not wildcards. */
	assert_int_equal(flow_table_lookup_wildcard(&table, &a), FLOW_NIL);

	flow_table_remove(&table, id_a);
	assert_int_equal(table.in_use, 1);
	assert_false(table.flows[id_a].in_use);
	assert_int_equal(flow_table_lookup_exact(&table, &a), FLOW_NIL);
	assert_int_equal(flow_table_lookup_exact(&table, &b), id_b);
	flow_table_fini(&table);
}

static void test_alloc_returns_clean_entry(void **state)
{
	struct flow_table table;
	uint32_t id;

	(void)state;
	init_table(&table, SMALL_CAPACITY);
	id = flow_table_alloc(&table);
	assert_int_not_equal(id, FLOW_NIL);
	/* Dirty it, free it, take it again: it comes back clean. */
	table.flows[id].key = make_key(NETADDR_IPV4, L4_UDP, "192.0.2.1", 1, "198.18.10.1", 2);
	flow_table_insert(&table, id);
	table.flows[id].server = 2;
	table.flows[id].session = 7;
	table.flows[id].packets = 99;
	flow_table_remove(&table, id);
	assert_int_equal(flow_table_alloc(&table), id);
	assert_true(table.flows[id].in_use);
	assert_int_equal(table.flows[id].server, -1);
	assert_int_equal(table.flows[id].session, FLOW_NIL);
	assert_int_equal(table.flows[id].session_prev, FLOW_NIL);
	assert_int_equal(table.flows[id].session_next, FLOW_NIL);
	assert_int_equal(table.flows[id].hint_session, FLOW_NIL);
	assert_int_equal(table.flows[id].packets, 0);
	assert_null(table.flows[id].tcp.stream);
	flow_table_fini(&table);
}

static void test_capacity_exhaustion_and_free_list_reuse(void **state)
{
	struct flow_table table;
	uint32_t ids[SMALL_CAPACITY];
	struct flow_key keys[SMALL_CAPACITY];

	(void)state;
	init_table(&table, SMALL_CAPACITY);
	for (unsigned i = 0; i < SMALL_CAPACITY; i++) {
		keys[i] = rtp_packet("192.0.2.10", (uint16_t)(40000 + i), 20000);
		ids[i] = add_flow(&table, &keys[i], MATCH_EXACT);
		for (unsigned j = 0; j < i; j++)
			assert_int_not_equal(ids[i], ids[j]);
	}
	assert_int_equal(table.in_use, SMALL_CAPACITY);
	assert_int_equal(flow_table_alloc(&table), FLOW_NIL);
	assert_int_equal(flow_table_alloc(&table), FLOW_NIL);
	assert_int_equal(table.in_use, SMALL_CAPACITY);

	/* Freed entries come back (last freed first); the rest are untouched. */
	flow_table_remove(&table, ids[3]);
	flow_table_remove(&table, ids[5]);
	assert_int_equal(table.in_use, SMALL_CAPACITY - 2);
	assert_int_equal(flow_table_alloc(&table), ids[5]);
	assert_int_equal(flow_table_alloc(&table), ids[3]);
	assert_int_equal(flow_table_alloc(&table), FLOW_NIL);
	for (unsigned i = 0; i < SMALL_CAPACITY; i++)
		if (i != 3 && i != 5)
			assert_int_equal(flow_table_lookup_exact(&table, &keys[i]), ids[i]);
	flow_table_fini(&table);
}

static void test_zero_capacity(void **state)
{
	struct flow_table table;
	struct flow_key key = rtp_packet("192.0.2.10", 40000, 20000);

	(void)state;
	init_table(&table, 0);
	assert_int_equal(flow_table_alloc(&table), FLOW_NIL);
	assert_int_equal(flow_table_lookup_exact(&table, &key), FLOW_NIL);
	assert_int_equal(flow_table_lookup_wildcard(&table, &key), FLOW_NIL);
	flow_table_fini(&table);
}

static void test_wildcard_from_source(void **state)
{
	struct flow_table table;
	/* Predicted from a client's SDP offer: its RTP source, any VIP port. */
	struct flow_key prediction = make_key(NETADDR_IPV4, L4_UDP, "192.0.2.10", 40000, NULL, 0);
	struct flow_key hit1 = rtp_packet("192.0.2.10", 40000, 20000);
	struct flow_key hit2 = make_key(NETADDR_IPV4, L4_UDP, "192.0.2.10", 40000, "198.18.10.2", 31000);
	struct flow_key other_port = rtp_packet("192.0.2.10", 40002, 20000);
	struct flow_key other_host = rtp_packet("192.0.2.11", 40000, 20000);
	struct flow_key tcp = make_key(NETADDR_IPV4, L4_TCP, "192.0.2.10", 40000, "198.18.10.1", 20000);
	uint32_t id;

	(void)state;
	init_table(&table, SMALL_CAPACITY);
	id = add_flow(&table, &prediction, MATCH_FROM_SOURCE);
	assert_int_equal(flow_table_lookup_wildcard(&table, &hit1), id);
	assert_int_equal(flow_table_lookup_wildcard(&table, &hit2), id);
	assert_int_equal(flow_table_lookup_wildcard(&table, &other_port), FLOW_NIL);
	assert_int_equal(flow_table_lookup_wildcard(&table, &other_host), FLOW_NIL);
	assert_int_equal(flow_table_lookup_wildcard(&table, &tcp), FLOW_NIL);
	/* Wildcards are not in the exact index. */
	assert_int_equal(flow_table_lookup_exact(&table, &prediction), FLOW_NIL);
	flow_table_remove(&table, id);
	assert_int_equal(flow_table_lookup_wildcard(&table, &hit1), FLOW_NIL);
	flow_table_fini(&table);
}

static void test_wildcard_dest_prefers_source_address(void **state)
{
	struct flow_table table;
	/* Predicted from the server's answer: VIP:20000, from the client's
	 * address (any port), or from anywhere. */
	struct flow_key from_addr = make_key(NETADDR_IPV4, L4_UDP, "192.0.2.10", 0, "198.18.10.1", 20000);
	struct flow_key any_source = make_key(NETADDR_IPV4, L4_UDP, NULL, 0, "198.18.10.1", 20000);
	struct flow_key from_client = rtp_packet("192.0.2.10", 41234, 20000);
	struct flow_key from_stranger = rtp_packet("203.0.113.9", 41234, 20000);
	struct flow_key other_dest = rtp_packet("192.0.2.10", 41234, 20002);
	uint32_t id_any, id_addr;

	(void)state;
	init_table(&table, SMALL_CAPACITY);
	/* Inserted least specific last, so it is the newest: still loses. */
	id_addr = add_flow(&table, &from_addr, MATCH_TO_DEST_FROM_ADDR);
	id_any = add_flow(&table, &any_source, MATCH_TO_DEST);
	assert_int_equal(flow_table_lookup_wildcard(&table, &from_client), id_addr);
	assert_int_equal(flow_table_lookup_wildcard(&table, &from_stranger), id_any);
	assert_int_equal(flow_table_lookup_wildcard(&table, &other_dest), FLOW_NIL);

	/* And the other insertion order. */
	flow_table_remove(&table, id_addr);
	flow_table_remove(&table, id_any);
	id_any = add_flow(&table, &any_source, MATCH_TO_DEST);
	id_addr = add_flow(&table, &from_addr, MATCH_TO_DEST_FROM_ADDR);
	assert_int_equal(flow_table_lookup_wildcard(&table, &from_client), id_addr);
	assert_int_equal(flow_table_lookup_wildcard(&table, &from_stranger), id_any);
	flow_table_remove(&table, id_addr);
	assert_int_equal(flow_table_lookup_wildcard(&table, &from_client), id_any);
	flow_table_fini(&table);
}

static void test_wildcard_source_beats_dest(void **state)
{
	struct flow_table table;
	struct flow_key by_source = make_key(NETADDR_IPV4, L4_UDP, "192.0.2.10", 40000, NULL, 0);
	struct flow_key by_dest = make_key(NETADDR_IPV4, L4_UDP, "192.0.2.10", 0, "198.18.10.1", 20000);
	struct flow_key packet = rtp_packet("192.0.2.10", 40000, 20000);
	uint32_t id_source;

	(void)state;
	init_table(&table, SMALL_CAPACITY);
	id_source = add_flow(&table, &by_source, MATCH_FROM_SOURCE);
	add_flow(&table, &by_dest, MATCH_TO_DEST_FROM_ADDR);
	assert_int_equal(flow_table_lookup_wildcard(&table, &packet), id_source);
	flow_table_fini(&table);
}

static void test_wildcard_newest_first(void **state)
{
	struct flow_table table;
	struct flow_key source = make_key(NETADDR_IPV4, L4_UDP, "192.0.2.10", 40000, NULL, 0);
	struct flow_key dest = make_key(NETADDR_IPV4, L4_UDP, NULL, 0, "198.18.10.1", 20000);
	struct flow_key packet = rtp_packet("192.0.2.10", 40000, 20000);
	struct flow_key stranger = rtp_packet("203.0.113.9", 1000, 20000);
	uint32_t old_source, new_source, old_dest, new_dest;

	(void)state;
	init_table(&table, SMALL_CAPACITY);
	old_source = add_flow(&table, &source, MATCH_FROM_SOURCE);
	new_source = add_flow(&table, &source, MATCH_FROM_SOURCE);
	old_dest = add_flow(&table, &dest, MATCH_TO_DEST);
	new_dest = add_flow(&table, &dest, MATCH_TO_DEST);
	assert_int_equal(flow_table_lookup_wildcard(&table, &packet), new_source);
	assert_int_equal(flow_table_lookup_wildcard(&table, &stranger), new_dest);
	flow_table_remove(&table, new_source);
	flow_table_remove(&table, new_dest);
	assert_int_equal(flow_table_lookup_wildcard(&table, &packet), old_source);
	assert_int_equal(flow_table_lookup_wildcard(&table, &stranger), old_dest);
	flow_table_fini(&table);
}

static void test_ipv6_and_family_separation(void **state)
{
	struct flow_table table;
	struct flow_key exact6 = make_key(NETADDR_IPV6, L4_UDP, "2001:db8::10", 5060, "fd00:10::1", 5060);
	struct flow_key source6 = make_key(NETADDR_IPV6, L4_UDP, "2001:db8::10", 40000, NULL, 0);
	struct flow_key dest6 = make_key(NETADDR_IPV6, L4_UDP, "2001:db8::10", 0, "fd00:10::1", 20000);
	struct flow_key rtp6 = make_key(NETADDR_IPV6, L4_UDP, "2001:db8::10", 40000, "fd00:10::1", 20000);
	struct flow_key rtcp6 = make_key(NETADDR_IPV6, L4_UDP, "2001:db8::10", 40001, "fd00:10::1", 20000);
	struct flow_key other6 = make_key(NETADDR_IPV6, L4_UDP, "2001:db8::11", 40001, "fd00:10::1", 20000);
	/* Same 16 address bytes, other family: must not match. */
	struct flow_key as_v4 = rtp6;
	uint32_t id_exact, id_source, id_dest;

	(void)state;
	as_v4.family = NETADDR_IPV4;
	init_table(&table, SMALL_CAPACITY);
	id_exact = add_flow(&table, &exact6, MATCH_EXACT);
	id_source = add_flow(&table, &source6, MATCH_FROM_SOURCE);
	id_dest = add_flow(&table, &dest6, MATCH_TO_DEST_FROM_ADDR);
	assert_int_equal(flow_table_lookup_exact(&table, &exact6), id_exact);
	assert_int_equal(flow_table_lookup_wildcard(&table, &rtp6), id_source);
	assert_int_equal(flow_table_lookup_wildcard(&table, &rtcp6), id_dest);
	assert_int_equal(flow_table_lookup_wildcard(&table, &other6), FLOW_NIL);
	assert_int_equal(flow_table_lookup_wildcard(&table, &as_v4), FLOW_NIL);
	flow_table_fini(&table);
}

/* Far more entries than buckets would hold one each: every chain is walked
 * and unlinked correctly, for the exact and both wildcard indexes. */
/* More exact entries in one bucket line than it has slots: the rest go on
 * its overflow chain, every one is found, and a freed slot takes the
 * chain's head back (removals from slots and from the chain, in any order). */
static void test_exact_bucket_overflow(void **state)
{
	enum { WANT = 3 * FLOW_EXACT_SLOTS };
	struct flow_table table;
	struct flow_key keys[WANT];
	uint32_t ids[WANT], target = 0;
	unsigned found = 0;
	char addr[32];

	(void)state;
	init_table(&table, 1024);
	for (unsigned i = 0; found < WANT && i < 1000000; i++) {
		struct flow_key k;
		snprintf(addr, sizeof(addr), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		k = make_key(NETADDR_IPV4, L4_UDP, addr, 4000, "198.18.10.1", 5060);
		uint32_t line = (uint32_t)(flow_table_exact_bucket(&table, &k) & table.exact_mask);
		if (found == 0)
			target = line;
		if (line == target)
			keys[found++] = k;
	}
	assert_int_equal(found, WANT);
	for (unsigned i = 0; i < WANT; i++)
		ids[i] = add_flow(&table, &keys[i], MATCH_EXACT);
	assert_int_not_equal(table.exact_buckets[target].overflow, FLOW_NIL);
	for (unsigned i = 0; i < WANT; i++)
		assert_int_equal(flow_table_lookup_exact(&table, &keys[i]), ids[i]);
	/* Every third entry out: some held slots, some were on the chain. */
	for (unsigned i = 0; i < WANT; i += 3)
		flow_table_remove(&table, ids[i]);
	for (unsigned i = 0; i < WANT; i++)
		assert_int_equal(flow_table_lookup_exact(&table, &keys[i]), i % 3 == 0 ? FLOW_NIL : ids[i]);
	/* Freed slots were refilled from the chain: the slots are all in use. */
	for (unsigned j = 0; j < FLOW_EXACT_SLOTS; j++)
		assert_int_not_equal(table.exact_buckets[target].id[j], FLOW_NIL);
	for (unsigned i = 0; i < WANT; i++)
		if (i % 3 != 0)
			flow_table_remove(&table, ids[i]);
	assert_int_equal(table.in_use, 0);
	assert_int_equal(table.exact_buckets[target].overflow, FLOW_NIL);
	for (unsigned i = 0; i < WANT; i++)
		assert_int_equal(flow_table_lookup_exact(&table, &keys[i]), FLOW_NIL);
	flow_table_fini(&table);
}

/* Entries sharing a bucket line share the hash bits that chose the line;
 * their tags must come from other bits, or the tags cannot tell them apart.
 * A table large enough that the line number uses bit 16 (where a tag taken
 * from bits 16..31 began): the same-line tags still differ in every bit. */
static void test_exact_tags_independent_of_line(void **state)
{
	enum { WANT = 12 };
	struct flow_table table;
	uint32_t target = 0;
	unsigned found = 0;
	uint16_t tag_or = 0, tag_and = 0xffff;
	char addr[32];

	(void)state;
	init_table(&table, 1u << 19);
	assert_true(table.exact_mask >= (1u << 16));
	for (unsigned i = 0; found < WANT && i < (1u << 24); i++) {
		struct flow_key k;
		snprintf(addr, sizeof(addr), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		k = make_key(NETADDR_IPV4, L4_UDP, addr, (uint16_t)(4000 + (i >> 24)), "198.18.10.1", 5060);
		uint32_t line = (uint32_t)(flow_table_exact_bucket(&table, &k) & table.exact_mask);
		if (found == 0)
			target = line;
		if (line == target) {
			add_flow(&table, &k, MATCH_EXACT);
			found++;
		}
	}
	assert_int_equal(found, WANT);
	for (unsigned j = 0; j < WANT && j < FLOW_EXACT_SLOTS; j++) {
		tag_or |= table.exact_buckets[target].tag[j];
		tag_and &= table.exact_buckets[target].tag[j];
	}
	/* A bit set in all tags or in none: shared (chance 2^-9 per bit if not). */
	assert_int_equal(tag_or & 0x1, 0x1);
	assert_int_equal(tag_and & 0x1, 0);
	flow_table_fini(&table);
}

static void test_many_entries_collide(void **state)
{
	enum { COUNT = 3000 };
	struct flow_table table;
	static uint32_t exact_ids[COUNT], source_ids[COUNT], dest_ids[COUNT];
	char addr[32];

	(void)state;
	init_table(&table, 3 * COUNT);
	for (unsigned i = 0; i < COUNT; i++) {
		struct flow_key exact, source, dest;
		snprintf(addr, sizeof(addr), "10.%u.%u.1", i / 256, i % 256);
		exact = make_key(NETADDR_IPV4, L4_UDP, addr, 5060, "198.18.10.1", 5060);
		source = make_key(NETADDR_IPV4, L4_UDP, addr, (uint16_t)(10000 + i), NULL, 0);
		dest = make_key(NETADDR_IPV4, L4_UDP, addr, 0, "198.18.10.1", (uint16_t)(20000 + i));
		exact_ids[i] = add_flow(&table, &exact, MATCH_EXACT);
		source_ids[i] = add_flow(&table, &source, MATCH_FROM_SOURCE);
		dest_ids[i] = add_flow(&table, &dest, MATCH_TO_DEST_FROM_ADDR);
	}
	assert_int_equal(table.in_use, 3 * COUNT);
	assert_int_equal(flow_table_alloc(&table), FLOW_NIL);
	/* Remove every other entry of each kind. */
	for (unsigned i = 0; i < COUNT; i += 2) {
		flow_table_remove(&table, exact_ids[i]);
		flow_table_remove(&table, source_ids[i]);
		flow_table_remove(&table, dest_ids[i]);
	}
	for (unsigned i = 0; i < COUNT; i++) {
		bool kept = i % 2 == 1;
		struct flow_key exact, by_source, by_dest;
		snprintf(addr, sizeof(addr), "10.%u.%u.1", i / 256, i % 256);
		exact = make_key(NETADDR_IPV4, L4_UDP, addr, 5060, "198.18.10.1", 5060);
		by_source = rtp_packet(addr, (uint16_t)(10000 + i), 1);
		by_dest = rtp_packet(addr, 1, (uint16_t)(20000 + i));
		assert_int_equal(flow_table_lookup_exact(&table, &exact), kept ? exact_ids[i] : FLOW_NIL);
		assert_int_equal(flow_table_lookup_wildcard(&table, &by_source),
				 kept ? source_ids[i] : FLOW_NIL);
		assert_int_equal(flow_table_lookup_wildcard(&table, &by_dest),
				 kept ? dest_ids[i] : FLOW_NIL);
	}
	assert_true(flow_table_memory(&table) >= (size_t)3 * COUNT * sizeof(struct flow));
	flow_table_fini(&table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_insert_lookup_remove),
		cmocka_unit_test(test_alloc_returns_clean_entry),
		cmocka_unit_test(test_capacity_exhaustion_and_free_list_reuse),
		cmocka_unit_test(test_zero_capacity),
		cmocka_unit_test(test_wildcard_from_source),
		cmocka_unit_test(test_wildcard_dest_prefers_source_address),
		cmocka_unit_test(test_wildcard_source_beats_dest),
		cmocka_unit_test(test_wildcard_newest_first),
		cmocka_unit_test(test_ipv6_and_family_separation),
		cmocka_unit_test(test_many_entries_collide),
		cmocka_unit_test(test_exact_bucket_overflow),
		cmocka_unit_test(test_exact_tags_independent_of_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
