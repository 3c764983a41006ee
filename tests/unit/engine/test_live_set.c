/* test_live_set.c - unit tests for the conntrack scan's set of flow keys:
 * what was added is found, what was not is not, IPv4 and IPv6, a full set
 * says so instead of answering "absent" for keys it had no room for, and a
 * removal (a conntrack event) leaves every other key findable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>

#include "engine/live_set.h"

static struct flow_key key_of(int family, uint8_t l4, const char *src, uint16_t sport, const char *dst,
			      uint16_t dport)
{
	struct flow_key k;
	memset(&k, 0, sizeof(k));
	k.family = (uint8_t)family;
	k.l4 = l4;
	k.sport = sport;
	k.dport = dport;
	assert_int_equal(inet_pton(family, src, k.src), 1);
	assert_int_equal(inet_pton(family, dst, k.dst), 1);
	return k;
}

static struct live_set *new_set(uint32_t capacity)
{
	struct hash_key key;
	struct live_set *set;
	memset(&key, 0x3c, sizeof(key));
	set = live_set_create(capacity, &key);
	assert_non_null(set);
	return set;
}

static void test_added_keys_are_found(void **state)
{
	struct live_set *set = new_set(4096);
	(void)state;
	for (uint16_t port = 7000; port < 9000; port += 2) {
		struct flow_key k = key_of(NETADDR_IPV4, L4_UDP, "198.18.0.10", port, "198.18.77.20", 6000);
		assert_true(live_set_add(set, &k));
	}
	struct flow_key v6 = key_of(NETADDR_IPV6, L4_TCP, "fd00::10", 40000, "fd00::20", 5060);
	assert_true(live_set_add(set, &v6));
	assert_true(live_set_add(set, &v6)); /* again: still one entry */
	assert_int_equal(live_set_count(set), 1001);
	for (uint16_t port = 7000; port < 9000; port++) {
		struct flow_key k = key_of(NETADDR_IPV4, L4_UDP, "198.18.0.10", port, "198.18.77.20", 6000);
		assert_int_equal(live_set_contains(set, &k), port % 2 == 0);
	}
	assert_true(live_set_contains(set, &v6));
	/* Same ports, other protocol, other family, other direction: not added. */
	struct flow_key tcp = key_of(NETADDR_IPV4, L4_TCP, "198.18.0.10", 7000, "198.18.77.20", 6000);
	struct flow_key reply = key_of(NETADDR_IPV4, L4_UDP, "198.18.77.20", 6000, "198.18.0.10", 7000);
	struct flow_key v6udp = key_of(NETADDR_IPV6, L4_UDP, "fd00::10", 40000, "fd00::20", 5060);
	assert_false(live_set_contains(set, &tcp));
	assert_false(live_set_contains(set, &reply));
	assert_false(live_set_contains(set, &v6udp));
	assert_false(live_set_full(set));
	live_set_destroy(set);
}

/* Past its capacity a set refuses keys and says it is full: the scan that
 * filled it must not be used to answer "absent". */
static void test_full_set_says_so(void **state)
{
	struct live_set *set = new_set(100);
	(void)state;
	for (uint16_t port = 0; port < 100; port++) {
		struct flow_key k = key_of(NETADDR_IPV4, L4_UDP, "198.18.0.10", (uint16_t)(10000 + port), "198.18.77.20", 6000);
		assert_true(live_set_add(set, &k));
	}
	assert_false(live_set_full(set));
	struct flow_key again = key_of(NETADDR_IPV4, L4_UDP, "198.18.0.10", 10000, "198.18.77.20", 6000);
	assert_true(live_set_add(set, &again)); /* present already: no room needed */
	assert_false(live_set_full(set));
	struct flow_key extra = key_of(NETADDR_IPV4, L4_UDP, "198.18.0.10", 20000, "198.18.77.20", 6000);
	assert_false(live_set_add(set, &extra));
	assert_true(live_set_full(set));
	assert_false(live_set_contains(set, &extra));
	assert_int_equal(live_set_count(set), 100);
	assert_true(live_set_memory(set) >= 2 * 100 * sizeof(uint64_t));
	live_set_destroy(set);
	live_set_destroy(NULL);
}

/* Nearly half full, so probe runs are long and removals shift keys back
 * across them: after every step each key still in is found and each key
 * taken out is not. */
static void test_removed_keys_are_gone_others_stay(void **state)
{
	enum { KEYS = 2000 };
	struct live_set *set = new_set(KEYS);
	static bool in[KEYS];
	(void)state;
	for (unsigned i = 0; i < KEYS; i++) {
		struct flow_key k = key_of(NETADDR_IPV4, L4_UDP, "198.18.1.1", (uint16_t)(10000 + i), "198.18.9.9", 4000);
		assert_true(live_set_add(set, &k));
		in[i] = true;
	}
	for (unsigned round = 0; round < 3; round++) {
		for (unsigned i = round; i < KEYS; i += 3 + round) {
			struct flow_key k = key_of(NETADDR_IPV4, L4_UDP, "198.18.1.1", (uint16_t)(10000 + i), "198.18.9.9",
						   4000);
			assert_int_equal(live_set_remove(set, &k), in[i]);
			in[i] = false;
		}
		unsigned count = 0;
		for (unsigned i = 0; i < KEYS; i++) {
			struct flow_key k = key_of(NETADDR_IPV4, L4_UDP, "198.18.1.1", (uint16_t)(10000 + i), "198.18.9.9",
						   4000);
			assert_int_equal(live_set_contains(set, &k), in[i]);
			count += in[i];
		}
		assert_int_equal(live_set_count(set), count);
	}
	/* Never added, or taken out twice: nothing to remove. */
	struct flow_key absent = key_of(NETADDR_IPV4, L4_TCP, "198.18.1.1", 10000, "198.18.9.9", 4000);
	assert_false(live_set_remove(set, &absent));
	struct flow_key first = key_of(NETADDR_IPV4, L4_UDP, "198.18.1.1", 10000, "198.18.9.9", 4000);
	assert_false(live_set_remove(set, &first));
	/* Room freed by removals takes keys again. */
	assert_true(live_set_add(set, &first));
	assert_true(live_set_contains(set, &first));
	live_set_destroy(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_added_keys_are_found),
		cmocka_unit_test(test_full_set_says_so),
		cmocka_unit_test(test_removed_keys_are_gone_others_stay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
