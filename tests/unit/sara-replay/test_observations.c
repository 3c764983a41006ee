/* test_observations.c - unit tests for src/sara-replay/observations.c: the
 * fingerprint, copies claimed in server order, unclaimed copies, the bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sara-replay/observations.h"
#include "sara-replay/records.h"
#include "packet_builder.h"

static struct hash_key test_key(void)
{
	struct hash_key key;
	memset(&key, 3, sizeof(key));
	return key;
}

static size_t udp4(uint16_t sport, const char *payload, uint8_t *buf, size_t size)
{
	size_t n = packet_build_udp(NETADDR_IPV4, "192.0.2.10", sport, "198.18.10.1", 20000, payload,
				    strlen(payload), buf, size);
	assert_true(n > 0);
	return n;
}

static void test_fingerprint_ignores_path_rewrites(void **state)
{
	struct hash_key key = test_key();
	uint8_t a[128], b[160];
	size_t n = udp4(40000, "rtp payload", a, sizeof(a));
	uint64_t fp = observation_fingerprint(&key, a, n);
	(void)state;
	assert_int_not_equal(fp, 0);
	memcpy(b, a, n);
	b[8] -= 3;                  /* TTL */
	b[10] ^= 0xff, b[11] ^= 1;  /* IPv4 header checksum */
	b[26] ^= 0x55, b[27] ^= 2;  /* UDP checksum */
	memset(b + n, 0xee, 6);     /* link padding after the IP length */
	assert_int_equal(observation_fingerprint(&key, b, n + 6), fp);
	/* What the path keeps: ports, addresses, payload. */
	assert_int_not_equal(observation_fingerprint(&key, b, udp4(40001, "rtp payload", b, sizeof(b))), fp);
	assert_int_not_equal(observation_fingerprint(&key, b, udp4(40000, "rtp payloaD", b, sizeof(b))), fp);
	memcpy(b, a, n);
	b[15] ^= 1;                 /* source address */
	assert_int_not_equal(observation_fingerprint(&key, b, n), fp);
}

static void test_fingerprint_ipv6_hop_limit_and_not_ip(void **state)
{
	struct hash_key key = test_key();
	uint8_t a[128], b[128];
	static const uint8_t garbage[64] = { 0x12 };
	size_t n = packet_build_udp(NETADDR_IPV6, "2001:db8::10", 40000, "fd00:10::1", 20000, "x", 1, a,
				    sizeof(a));
	(void)state;
	assert_true(n > 0);
	memcpy(b, a, n);
	b[7] = 1; /* hop limit */
	assert_int_equal(observation_fingerprint(&key, b, n), observation_fingerprint(&key, a, n));
	b[8 + 15] ^= 1;
	assert_int_not_equal(observation_fingerprint(&key, b, n), observation_fingerprint(&key, a, n));
	assert_int_equal(observation_fingerprint(&key, garbage, sizeof(garbage)), 0);
}

/* Copies are claimed at the servers in the order given, one each time. */
static void test_take_in_server_order(void **state)
{
	struct observations obs;
	struct hash_key key = test_key();
	uint8_t a[128], other[128];
	size_t n = udp4(40000, "one", a, sizeof(a));
	size_t m = udp4(40000, "two", other, sizeof(other));
	static const int order[] = { 2, 0 };
	uint64_t unclaimed[SARA_MAX_SERVERS] = { 0 };
	(void)state;
	observations_init(&obs, &key, 1000);
	assert_int_equal(observations_take(&obs, a, n, order, 2), LOCATION_NOWHERE);
	observations_add(&obs, a, n, 0);
	observations_add(&obs, a, n, 2);
	observations_add(&obs, a, n, 2);
	observations_add(&obs, other, m, 1);
	assert_int_equal(observations_take(&obs, a, n, order, 2), 2);
	assert_int_equal(observations_take(&obs, a, n, order, 2), 2);
	assert_int_equal(observations_take(&obs, a, n, order, 2), 0);
	assert_int_equal(observations_take(&obs, a, n, order, 2), LOCATION_NOWHERE);
	/* Server 1 is not among those asked. */
	assert_int_equal(observations_take(&obs, other, m, order, 2), LOCATION_NOWHERE);
	observations_unclaimed(&obs, unclaimed);
	assert_int_equal(unclaimed[0], 0);
	assert_int_equal(unclaimed[1], 1);
	assert_int_equal(unclaimed[2], 0);
	assert_false(obs.out_of_memory);
	observations_free(&obs);
}

/* The table grows while it holds fewer than max_entries; past that, new
 * packets are refused and counted as out of memory. */
static void test_bound(void **state)
{
	struct observations obs;
	struct hash_key key = test_key();
	uint8_t a[128];
	char payload[16];
	(void)state;
	observations_init(&obs, &key, 1000);
	for (unsigned i = 0; i < 5000; i++) {
		snprintf(payload, sizeof(payload), "p%u", i);
		observations_add(&obs, a, udp4(40000, payload, a, sizeof(a)), 0);
	}
	assert_true(obs.out_of_memory);
	assert_true(obs.count >= 1000 && obs.count < 5000);
	observations_free(&obs);
	observations_init(&obs, &key, 0);
	observations_add(&obs, a, udp4(40000, "x", a, sizeof(a)), 0);
	assert_true(obs.out_of_memory);
	assert_int_equal(obs.count, 0);
	observations_free(&obs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fingerprint_ignores_path_rewrites),
		cmocka_unit_test(test_fingerprint_ipv6_hop_limit_and_not_ip),
		cmocka_unit_test(test_take_in_server_order),
		cmocka_unit_test(test_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
