/* test_udp_payload.c - unit tests of udp_payload_replace: a datagram with a
 * new payload equals the one built with it from scratch (lengths and
 * checksums), IPv4 and IPv6, longer and shorter; what it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "dpi/packet.h"
#include "dpi/udp_payload.h"
#include "../packet_builder.h"

static void check_family(int family, const char *src, const char *dst)
{
	static const char before[] = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;oc\r\n\r\n";
	static const char after[] = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;oc=20;oc-validity=500;oc-seq=1.5;"
				    "oc-algo=\"loss\"\r\n\r\n";
	uint8_t original[2048], want[2048], out[2048];
	struct packet pkt;
	size_t n = packet_build_udp(family, src, 5060, dst, 40000, before, strlen(before), original,
				    sizeof(original));
	size_t m = packet_build_udp(family, src, 5060, dst, 40000, after, strlen(after), want, sizeof(want));
	assert_true(n > 0 && m > 0);
	assert_int_equal(packet_decode(original, n, &pkt), PACKET_OK);
	assert_int_equal(udp_payload_replace(original, n, &pkt, (const uint8_t *)after, strlen(after), out,
					     sizeof(out)),
			 m);
	assert_memory_equal(out, want, m);
	/* Shorter works the same way; too small a buffer is refused. */
	assert_int_equal(packet_decode(want, m, &pkt), PACKET_OK);
	assert_int_equal(udp_payload_replace(want, m, &pkt, (const uint8_t *)before, strlen(before), out,
					     sizeof(out)),
			 n);
	assert_memory_equal(out, original, n);
	assert_int_equal(udp_payload_replace(want, m, &pkt, (const uint8_t *)before, strlen(before), out, n - 1), 0);
}

static void test_ipv4(void **state)
{
	(void)state;
	check_family(NETADDR_IPV4, "198.18.0.10", "192.0.2.1");
}

static void test_ipv6(void **state)
{
	(void)state;
	check_family(NETADDR_IPV6, "2001:db8::10", "2001:db8::1");
}

static void test_refused(void **state)
{
	uint8_t seg[256], out[256];
	struct packet pkt;
	(void)state;
	size_t n = packet_build_tcp(NETADDR_IPV4, "198.18.0.10", 5060, "192.0.2.1", 40000, 1, 0x18, "x", 1, seg,
				    sizeof(seg));
	assert_true(n > 0);
	assert_int_equal(packet_decode(seg, n, &pkt), PACKET_OK);
	assert_int_equal(udp_payload_replace(seg, n, &pkt, (const uint8_t *)"y", 1, out, sizeof(out)), 0);
	assert_int_equal(udp_payload_replace(NULL, 0, &pkt, NULL, 0, out, sizeof(out)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
