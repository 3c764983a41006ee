/* test_records.c - unit tests for src/sara-replay/records.c: records found
 * through their indexes as the tables grow, new records, the capacity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sara-replay/records.h"

#define MANY 5000   /* several index and array growths */

static struct hash_key test_key(void)
{
	struct hash_key key;
	memset(&key, 7, sizeof(key));
	return key;
}

static struct flow_key flow_n(uint32_t n)
{
	struct flow_key key;
	memset(&key, 0, sizeof(key));
	key.family = NETADDR_IPV4;
	key.l4 = n % 2 ? L4_TCP : L4_UDP;
	key.sport = (uint16_t)(1024 + n % 50000);
	key.dport = 5060;
	key.src[0] = 192, key.src[1] = 0, key.src[2] = (uint8_t)(n >> 8), key.src[3] = (uint8_t)n;
	key.dst[0] = 198, key.dst[1] = 18, key.dst[3] = 1;
	return key;
}

static void test_flows_found_after_growth(void **state)
{
	struct replay_records recs;
	struct hash_key key = test_key();
	(void)state;
	records_init(&recs, &key, UINT32_MAX);
	for (uint32_t n = 0; n < MANY; n++) {
		struct flow_key k = flow_n(n);
		assert_int_equal(records_flow(&recs, &k, 0, false), RECORD_NONE);
		assert_int_equal(records_flow(&recs, &k, 0, true), n);
		recs.flows[n].packets = n + 1;
	}
	for (uint32_t n = 0; n < MANY; n++) {
		struct flow_key k = flow_n(n);
		uint32_t id = records_flow(&recs, &k, 0, true);
		assert_int_equal(id, n);
		assert_int_equal(recs.flows[id].packets, n + 1);
		assert_memory_equal(&recs.flows[id].key, &k, sizeof(k));
	}
	assert_int_equal(recs.flow_count, MANY);
	assert_false(recs.out_of_memory);
	records_free(&recs);
}

/* One flow in two sessions is two records; a new one belongs to no chain. */
static void test_flow_per_session(void **state)
{
	struct replay_records recs;
	struct hash_key key = test_key();
	struct flow_key k = flow_n(1);
	uint32_t a, b;
	(void)state;
	records_init(&recs, &key, 100);
	a = records_flow(&recs, &k, 0, true);
	b = records_flow(&recs, &k, 42, true);
	assert_int_not_equal(a, b);
	assert_int_equal(records_flow(&recs, &k, 42, false), b);
	assert_int_equal(records_flow(&recs, &k, 43, false), RECORD_NONE);
	assert_int_equal(recs.flows[b].session, 42);
	assert_int_equal(recs.flows[b].packets, 0);
	assert_int_equal(recs.flows[b].next_of_session, RECORD_NONE);
	assert_int_equal(recs.flow_count, 2);
	records_free(&recs);
}

static void test_sessions_found_after_growth(void **state)
{
	struct replay_records recs;
	struct hash_key key = test_key();
	(void)state;
	records_init(&recs, &key, UINT32_MAX);
	for (uint64_t serial = 1; serial <= MANY; serial++)
		assert_int_equal(records_session(&recs, serial * 7919, true), serial - 1);
	for (uint64_t serial = 1; serial <= MANY; serial++) {
		uint32_t id = records_session(&recs, serial * 7919, false);
		assert_int_equal(id, serial - 1);
		assert_int_equal(recs.sessions[id].serial, serial * 7919);
		assert_int_equal(recs.sessions[id].server, ENGINE_NO_SERVER);
		assert_int_equal(recs.sessions[id].first_observed, LOCATION_NOWHERE);
		assert_int_equal(recs.sessions[id].first_flow, RECORD_NONE);
	}
	assert_int_equal(records_session(&recs, 1, false), RECORD_NONE);
	assert_int_equal(recs.session_count, MANY);
	records_free(&recs);
}

/* Each table holds at most max_records; what is in stays findable. */
static void test_capacity(void **state)
{
	struct replay_records recs;
	struct hash_key key = test_key();
	(void)state;
	records_init(&recs, &key, 3);
	for (uint32_t n = 0; n < 3; n++) {
		struct flow_key k = flow_n(n);
		assert_int_not_equal(records_flow(&recs, &k, 0, true), RECORD_NONE);
		assert_int_not_equal(records_session(&recs, n + 1, true), RECORD_NONE);
	}
	assert_false(recs.out_of_memory);
	{
		struct flow_key k = flow_n(3);
		assert_int_equal(records_flow(&recs, &k, 0, true), RECORD_NONE);
	}
	assert_true(recs.out_of_memory);
	assert_int_equal(records_session(&recs, 4, true), RECORD_NONE);
	assert_int_equal(recs.flow_count, 3);
	assert_int_equal(recs.session_count, 3);
	{
		struct flow_key k = flow_n(2);
		assert_int_equal(records_flow(&recs, &k, 0, true), 2);
	}
	assert_int_equal(records_session(&recs, 3, true), 2);
	records_free(&recs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flows_found_after_growth),
		cmocka_unit_test(test_flow_per_session),
		cmocka_unit_test(test_sessions_found_after_growth),
		cmocka_unit_test(test_capacity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
