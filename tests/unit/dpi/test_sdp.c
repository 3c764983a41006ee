/* test_sdp.c - unit tests of sdp_parse: ports, RTCP rules, addresses,
 * directions, limits and every error status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "dpi/sdp.h"

static enum sdp_status parse_text(const char *text, struct sdp_info *info)
{
	return sdp_parse((const uint8_t *)text, strlen(text), info);
}

static void assert_addr(const struct netaddr *addr, const char *expected)
{
	char buf[NETADDR_STRLEN];
	assert_string_equal(netaddr_format(addr, buf, sizeof(buf)), expected);
}

#define SDP_HEAD "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n"

static void test_single_audio(void **state)
{
	(void)state;
	struct sdp_info info;
	assert_int_equal(parse_text(SDP_HEAD "c=IN IP4 192.0.2.10\r\nt=0 0\r\n"
				    "m=audio 49170 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n", &info),
			 SDP_OK);
	assert_int_equal(info.media_count, 1);
	assert_int_equal(info.media_ignored, 0);
	assert_addr(&info.session_addr, "192.0.2.10");
	const struct sdp_stream *m = &info.media[0];
	assert_string_equal(m->type, "audio");
	assert_true(m->is_udp);
	assert_int_equal(m->rtp_port, 49170);
	assert_int_equal(m->rtcp_port, 49171);
	assert_false(m->rtcp_mux);
	assert_addr(&m->addr, "192.0.2.10");
	assert_addr(&m->rtcp_addr, "192.0.2.10");
	assert_int_equal(m->direction, SDP_SENDRECV);
}

static void test_port_zero_disables(void **state)
{
	(void)state;
	struct sdp_info info;
	assert_int_equal(parse_text(SDP_HEAD "c=IN IP4 192.0.2.10\r\nt=0 0\r\n"
				    "m=audio 49170 RTP/AVP 0\r\nm=video 0 RTP/AVP 31\r\n"
				    "a=rtcp:5001\r\n", &info),
			 SDP_OK);
	assert_int_equal(info.media_count, 2);
	assert_int_equal(info.media[1].rtp_port, 0);
	assert_int_equal(info.media[1].rtcp_port, 0);
	assert_string_equal(info.media[1].type, "video");
}

static void test_port_zero_needs_no_address(void **state)
{
	(void)state;
	struct sdp_info info;
	assert_int_equal(parse_text(SDP_HEAD "t=0 0\r\nm=audio 0 RTP/AVP 0\r\n", &info), SDP_OK);
	assert_int_equal(info.media_count, 1);
	assert_int_equal(info.media[0].addr.family, 0);
}

static void test_several_media_and_protocols(void **state)
{
	(void)state;
	struct sdp_info info;
	assert_int_equal(parse_text(SDP_HEAD "c=IN IP4 192.0.2.10\r\nt=0 0\r\n"
				    "m=audio 10000 RTP/SAVPF 111\r\n"
				    "m=video 10002 RTP/AVPF 96\r\n"
				    "m=application 10004 TCP/BFCP *\r\n"
				    "m=image 10006 udptl t38\r\n"
				    "m=application 10008 UDP/TLS/RTP/SAVPF 100\r\n"
				    "m=averyveryverylongmediatype 10010 RTP/AVP 0\r\n", &info),
			 SDP_OK);
	assert_int_equal(info.media_count, 6);
	assert_true(info.media[0].is_udp);
	assert_true(info.media[1].is_udp);
	assert_false(info.media[2].is_udp);
	assert_true(info.media[3].is_udp);
	assert_string_equal(info.media[3].type, "image");
	assert_true(info.media[4].is_udp);
	assert_int_equal(info.media[4].rtp_port, 10008);
	assert_string_equal(info.media[5].type, "averyveryve"); /* truncated to 11 */
}

static void test_media_level_c_overrides_session(void **state)
{
	(void)state;
	struct sdp_info info;
	assert_int_equal(parse_text(SDP_HEAD "c=IN IP4 192.0.2.10\r\nt=0 0\r\n"
				    "m=audio 4000 RTP/AVP 0\r\n"
				    "m=video 4002 RTP/AVP 31\r\nc=IN IP4 198.51.100.7\r\n", &info),
			 SDP_OK);
	assert_addr(&info.session_addr, "192.0.2.10");
	assert_addr(&info.media[0].addr, "192.0.2.10");
	assert_addr(&info.media[1].addr, "198.51.100.7");
	assert_addr(&info.media[1].rtcp_addr, "198.51.100.7");
}

static void test_media_level_c_only(void **state)
{
	(void)state;
	struct sdp_info info;
	assert_int_equal(parse_text(SDP_HEAD "t=0 0\r\n"
				    "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 192.0.2.1\r\n"
				    "m=video 4002 RTP/AVP 31\r\nc=IN IP6 2001:db8::1\r\n", &info),
			 SDP_OK);
	assert_int_equal(info.session_addr.family, 0);
	assert_addr(&info.media[0].addr, "192.0.2.1");
	assert_int_equal(info.media[1].addr.family, NETADDR_IPV6);
	assert_addr(&info.media[1].addr, "2001:db8::1");
}

static void test_ipv6_session(void **state)
{
	(void)state;
	struct sdp_info info;
	assert_int_equal(parse_text("v=0\r\no=- 1 1 IN IP6 2001:db8::20\r\ns=-\r\n"
				    "c=IN IP6 2001:db8::20\r\nt=0 0\r\nm=audio 6000 RTP/AVP 2\r\n",
				    &info),
			 SDP_OK);
	assert_int_equal(info.session_addr.family, NETADDR_IPV6);
	assert_addr(&info.media[0].addr, "2001:db8::20");
}

static void test_multicast_ttl_stripped(void **state)
{
	(void)state;
	struct sdp_info info;
	assert_int_equal(parse_text(SDP_HEAD "c=IN IP4 224.2.1.1/127\r\nt=0 0\r\n"
				    "m=audio 5004 RTP/AVP 0\r\n", &info),
			 SDP_OK);
	assert_addr(&info.media[0].addr, "224.2.1.1");
	assert_true(netaddr_is_multicast(&info.media[0].addr));
}

static void test_rtcp_attribute_port_only(void **state)
{
	(void)state;
	struct sdp_info info;
	assert_int_equal(parse_text(SDP_HEAD "c=IN IP4 192.0.2.10\r\nt=0 0\r\n"
				    "m=audio 49170 RTP/AVP 0\r\na=rtcp:53020\r\n", &info),
			 SDP_OK);
	assert_int_equal(info.media[0].rtcp_port, 53020);
	assert_addr(&info.media[0].rtcp_addr, "192.0.2.10");
}

static void test_rtcp_attribute_with_address(void **state)
{
	(void)state;
	struct sdp_info info;
	assert_int_equal(parse_text(SDP_HEAD "c=IN IP4 192.0.2.10\r\nt=0 0\r\n"
				    "m=audio 49170 RTP/AVP 0\r\na=rtcp:53020 IN IP4 126.16.64.4\r\n"
				    "m=video 49172 RTP/AVP 31\r\na=rtcp:53022 IN IP6 2001:db8::7\r\n",
				    &info),
			 SDP_OK);
	assert_int_equal(info.media[0].rtcp_port, 53020);
	assert_addr(&info.media[0].rtcp_addr, "126.16.64.4");
	assert_addr(&info.media[0].addr, "192.0.2.10");
	assert_int_equal(info.media[1].rtcp_port, 53022);
	assert_addr(&info.media[1].rtcp_addr, "2001:db8::7");
}

static void test_rtcp_attribute_malformed_ignored(void **state)
{
	(void)state;
	struct sdp_info info;
	assert_int_equal(parse_text(SDP_HEAD "c=IN IP4 192.0.2.10\r\nt=0 0\r\n"
				    "m=audio 49170 RTP/AVP 0\r\na=rtcp:notaport\r\n", &info),
			 SDP_OK);
	assert_int_equal(info.media[0].rtcp_port, 49171);
}

static void test_rtcp_mux(void **state)
{
	(void)state;
	struct sdp_info info;
	assert_int_equal(parse_text(SDP_HEAD "c=IN IP4 192.0.2.10\r\nt=0 0\r\n"
				    "m=audio 9000 UDP/TLS/RTP/SAVPF 111\r\na=rtcp:9001 IN IP4 192.0.2.10\r\n"
				    "a=rtcp-mux\r\n", &info),
			 SDP_OK);
	assert_true(info.media[0].rtcp_mux);
	assert_int_equal(info.media[0].rtcp_port, 9000);
	/* rtcp-mux wins over an a=rtcp naming another address too. */
	assert_int_equal(parse_text(SDP_HEAD "c=IN IP4 192.0.2.10\r\nt=0 0\r\n"
				    "m=audio 9000 UDP/TLS/RTP/SAVPF 111\r\na=rtcp:9001 IN IP4 203.0.113.9\r\n"
				    "a=rtcp-mux\r\n", &info),
			 SDP_OK);
	assert_int_equal(info.media[0].rtcp_port, 9000);
	assert_addr(&info.media[0].rtcp_addr, "192.0.2.10");
}

static void test_directions(void **state)
{
	(void)state;
	struct sdp_info info;
	assert_int_equal(parse_text(SDP_HEAD "c=IN IP4 192.0.2.10\r\nt=0 0\r\na=recvonly\r\n"
				    "m=audio 4000 RTP/AVP 0\r\n"
				    "m=audio 4002 RTP/AVP 0\r\na=sendonly\r\n"
				    "m=audio 4004 RTP/AVP 0\r\na=inactive\r\n"
				    "m=audio 4006 RTP/AVP 0\r\na=sendrecv\r\n", &info),
			 SDP_OK);
	assert_int_equal(info.media[0].direction, SDP_RECVONLY);
	assert_int_equal(info.media[1].direction, SDP_SENDONLY);
	assert_int_equal(info.media[2].direction, SDP_INACTIVE);
	assert_int_equal(info.media[3].direction, SDP_SENDRECV);
}

static void test_hold_unspecified_address(void **state)
{
	(void)state;
	struct sdp_info info;
	assert_int_equal(parse_text(SDP_HEAD "c=IN IP4 0.0.0.0\r\nt=0 0\r\n"
				    "m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n", &info),
			 SDP_OK);
	assert_true(netaddr_is_unspecified(&info.media[0].addr));
	assert_int_equal(info.media[0].direction, SDP_SENDONLY);
}

static void test_media_over_limit(void **state)
{
	(void)state;
	char text[2048];
	int n = snprintf(text, sizeof(text), SDP_HEAD "c=IN IP4 192.0.2.10\r\nt=0 0\r\n");
	for (int i = 0; i < SDP_MAX_MEDIA + 3; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "m=audio %d RTP/AVP 0\r\n",
			      20000 + 2 * i);
	struct sdp_info info;
	assert_int_equal(parse_text(text, &info), SDP_OK);
	assert_int_equal(info.media_count, SDP_MAX_MEDIA);
	assert_int_equal(info.media_ignored, 3);
	assert_int_equal(info.media[SDP_MAX_MEDIA - 1].rtp_port, 20000 + 2 * (SDP_MAX_MEDIA - 1));
}

static void test_lf_only(void **state)
{
	(void)state;
	struct sdp_info info;
	assert_int_equal(parse_text("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.9\n"
				    "t=0 0\nm=audio 7078 RTP/AVP 0\n", &info),
			 SDP_OK);
	assert_int_equal(info.media[0].rtp_port, 7078);
	assert_addr(&info.media[0].addr, "192.0.2.9");
}

static void test_errors(void **state)
{
	(void)state;
	struct sdp_info info;
	static uint8_t big[SDP_MAX_BYTES + 1];
	memset(big, 'a', sizeof(big));
	assert_int_equal(sdp_parse(NULL, 0, &info), SDP_ERR_EMPTY);
	assert_int_equal(sdp_parse(big, 0, &info), SDP_ERR_EMPTY);
	assert_int_equal(sdp_parse(big, sizeof(big), &info), SDP_ERR_OVERSIZED);

	static const uint8_t with_nul[] = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=\0\r\nt=0 0\r\n";
	assert_int_equal(sdp_parse(with_nul, sizeof(with_nul) - 1, &info), SDP_ERR_BINARY);
	assert_int_equal(parse_text("v=0\r\ns=\x01\r\n", &info), SDP_ERR_BINARY);
	assert_int_equal(parse_text("hello world", &info), SDP_ERR_PARSE);
	assert_int_equal(parse_text(SDP_HEAD "c=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio abc RTP/AVP 0\r\n",
				    &info),
			 SDP_ERR_BAD_PORT);
	assert_int_equal(parse_text(SDP_HEAD "c=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 70000 RTP/AVP 0\r\n",
				    &info),
			 SDP_ERR_BAD_PORT);
	assert_int_equal(parse_text(SDP_HEAD "c=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio -1 RTP/AVP 0\r\n",
				    &info),
			 SDP_ERR_BAD_PORT);
	assert_int_equal(parse_text(SDP_HEAD "c=IN IP4 host.example.com\r\nt=0 0\r\n"
				    "m=audio 4000 RTP/AVP 0\r\n", &info),
			 SDP_ERR_BAD_ADDRESS);
	assert_int_equal(parse_text(SDP_HEAD "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
				    "c=IN IP4 ' or 1=1 --\r\n", &info),
			 SDP_ERR_BAD_ADDRESS);
	assert_int_equal(parse_text(SDP_HEAD "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", &info),
			 SDP_ERR_NO_ADDRESS);
	/* on failure nothing half-filled is left behind */
	assert_int_equal(info.media_count, 0);
}

static void test_status_names(void **state)
{
	(void)state;
	for (int a = 0; a < SDP_STATUS_COUNT; a++) {
		const char *name = sdp_status_name((enum sdp_status)a);
		assert_non_null(name);
		assert_true(strlen(name) > 0);
		for (int b = 0; b < a; b++)
			assert_string_not_equal(name, sdp_status_name((enum sdp_status)b));
	}
	assert_string_equal(sdp_status_name(SDP_OK), "ok");
	assert_string_equal(sdp_status_name(SDP_ERR_NO_ADDRESS), "no_address");
	assert_string_equal(sdp_status_name(SDP_STATUS_COUNT), "invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_audio),
		cmocka_unit_test(test_port_zero_disables),
		cmocka_unit_test(test_port_zero_needs_no_address),
		cmocka_unit_test(test_several_media_and_protocols),
		cmocka_unit_test(test_media_level_c_overrides_session),
		cmocka_unit_test(test_media_level_c_only),
		cmocka_unit_test(test_ipv6_session),
		cmocka_unit_test(test_multicast_ttl_stripped),
		cmocka_unit_test(test_rtcp_attribute_port_only),
		cmocka_unit_test(test_rtcp_attribute_with_address),
		cmocka_unit_test(test_rtcp_attribute_malformed_ignored),
		cmocka_unit_test(test_rtcp_mux),
		cmocka_unit_test(test_directions),
		cmocka_unit_test(test_hold_unspecified_address),
		cmocka_unit_test(test_media_over_limit),
		cmocka_unit_test(test_lf_only),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_status_names),
	};
	return cmocka_run_group_tests_name("sdp", tests, NULL, NULL);
}
