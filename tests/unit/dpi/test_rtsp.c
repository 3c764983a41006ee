/* test_rtsp.c - unit tests of dpi/rtsp.c: messages, Transport forms, every
 * rtsp_status from crafted input, truncation, and the TCP framer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>

#include "dpi/rtsp.h"

/* Test inputs are C literals, so strlen is fine here (never in dpi/). */
static enum rtsp_status parse_text(const char *text, struct rtsp_msg *msg)
{
	return rtsp_parse((const uint8_t *)text, strlen(text), msg);
}

static void assert_addr(const struct netaddr *addr, const char *expected)
{
	char text[NETADDR_STRLEN];
	assert_string_equal(netaddr_format(addr, text, sizeof(text)), expected);
}

/* Parses "SETUP ... CSeq: 1 / Transport: <value>" and returns the status. */
static enum rtsp_status parse_transport_value(const char *value, struct rtsp_msg *msg)
{
	char text[2048];
	int n = snprintf(text, sizeof(text),
			 "SETUP rtsp://cam.example/stream/track1 RTSP/1.0\r\nCSeq: 1\r\n"
			 "Transport: %s\r\n\r\n", value);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	return parse_text(text, msg);
}

static const char setup_request[] =
	"SETUP rtsp://192.0.2.10:554/live/track1 RTSP/1.0\r\n"
	"CSeq: 3\r\n"
	"User-Agent: sara-test/1.0\r\n"
	"Transport: RTP/AVP;unicast;client_port=5000-5001\r\n"
	"\r\n";

static const char setup_reply[] =
	"RTSP/1.0 200 OK\r\n"
	"CSeq: 3\r\n"
	"Session: 12345678;timeout=60\r\n"
	"Transport: RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;"
	"source=192.0.2.10;destination=198.51.100.7;ssrc=1A2B3C4D;mode=\"PLAY\"\r\n"
	"Date: Thu, 23 Jan 1997 15:35:06 GMT\r\n"
	"\r\n";

static const char announce_request[] =
	"ANNOUNCE rtsp://192.0.2.10/live RTSP/1.0\r\n"
	"CSeq: 7\r\n"
	"Content-Type: application/sdp\r\n"
	"Content-Length: 91\r\n"
	"\r\n"
	"v=0\r\n"
	"o=- 1 1 IN IP4 192.0.2.1\r\n"
	"s=sara\r\n"
	"c=IN IP4 192.0.2.1\r\n"
	"t=0 0\r\n"
	"m=video 5004 RTP/AVP 96\r\n";

/* ---------------------------------------------------------------- SETUP */

static void test_setup_request_udp(void **state)
{
	(void)state;
	struct rtsp_msg msg;
	assert_int_equal(parse_text(setup_request, &msg), RTSP_OK);
	assert_true(msg.is_request);
	assert_int_equal(msg.method, RTSP_SETUP);
	assert_int_equal(msg.version, 10);
	assert_true(msg.has_cseq);
	assert_int_equal(msg.cseq, 3);
	assert_int_equal(msg.session_id_len, 0);
	assert_int_equal(msg.transport_count, 1);
	assert_int_equal(msg.transports_ignored, 0);
	const struct rtsp_transport *t = &msg.transports[0];
	assert_false(t->lower_tcp);
	assert_false(t->interleaved);
	assert_false(t->multicast);
	assert_false(t->record);
	assert_true(t->has_client_port);
	assert_int_equal(t->client_port[0], 5000);
	assert_int_equal(t->client_port[1], 5001);
	assert_false(t->has_server_port);
	assert_int_equal(t->destination.family, 0);
	assert_int_equal(t->source.family, 0);
	assert_int_equal(msg.message_len, strlen(setup_request));
	assert_null(msg.body);
	assert_int_equal(msg.body_len, 0);
	assert_false(msg.body_is_sdp);
}

static void test_setup_reply_udp(void **state)
{
	(void)state;
	struct rtsp_msg msg;
	assert_int_equal(parse_text(setup_reply, &msg), RTSP_OK);
	assert_false(msg.is_request);
	assert_int_equal(msg.status, 200);
	assert_int_equal(msg.cseq, 3);
	assert_string_equal(msg.session_id, "12345678");
	assert_int_equal(msg.session_id_len, 8);
	assert_int_equal(msg.session_timeout_s, 60);
	assert_int_equal(msg.transport_count, 1);
	const struct rtsp_transport *t = &msg.transports[0];
	assert_true(t->has_client_port && t->has_server_port);
	assert_int_equal(t->client_port[0], 5000);
	assert_int_equal(t->client_port[1], 5001);
	assert_int_equal(t->server_port[0], 6970);
	assert_int_equal(t->server_port[1], 6971);
	assert_addr(&t->source, "192.0.2.10");
	assert_addr(&t->destination, "198.51.100.7");
	assert_false(t->multicast);
	assert_false(t->record);
}

static void test_setup_interleaved(void **state)
{
	(void)state;
	struct rtsp_msg msg;
	assert_int_equal(parse_transport_value("RTP/AVP/TCP;unicast;interleaved=0-1", &msg), RTSP_OK);
	assert_int_equal(msg.transport_count, 1);
	assert_true(msg.transports[0].lower_tcp);
	assert_true(msg.transports[0].interleaved);
	assert_int_equal(msg.transports[0].interleaved_channel[0], 0);
	assert_int_equal(msg.transports[0].interleaved_channel[1], 1);
	assert_false(msg.transports[0].has_client_port);

	/* A single channel pairs with the next one for RTCP. */
	assert_int_equal(parse_transport_value("RTP/AVP/TCP;interleaved=4", &msg), RTSP_OK);
	assert_int_equal(msg.transports[0].interleaved_channel[0], 4);
	assert_int_equal(msg.transports[0].interleaved_channel[1], 5);

	/* Explicit UDP and the other RTP profiles. */
	assert_int_equal(parse_transport_value("rtp/savpf/udp;client_port=7000", &msg), RTSP_OK);
	assert_false(msg.transports[0].lower_tcp);
	assert_int_equal(msg.transports[0].client_port[0], 7000);
	assert_int_equal(msg.transports[0].client_port[1], 7001);
	assert_int_equal(parse_transport_value("RTP/AVPF;client_port=7000", &msg), RTSP_OK);
	assert_int_equal(parse_transport_value("RTP/SAVP/TCP;interleaved=2-3", &msg), RTSP_OK);
	assert_true(msg.transports[0].lower_tcp);
	assert_int_equal(msg.transports[0].interleaved_channel[0], 2);
}

static void test_setup_multicast(void **state)
{
	(void)state;
	struct rtsp_msg msg;
	assert_int_equal(parse_transport_value(
				 "RTP/AVP;multicast;destination=232.1.2.3;port=5004-5005;ttl=16", &msg),
			 RTSP_OK);
	const struct rtsp_transport *t = &msg.transports[0];
	assert_true(t->multicast);
	assert_addr(&t->destination, "232.1.2.3");
	assert_true(t->has_client_port);
	assert_int_equal(t->client_port[0], 5004);
	assert_int_equal(t->client_port[1], 5005);

	/* No keyword: a multicast destination is enough. */
	assert_int_equal(parse_transport_value("RTP/AVP;destination=239.0.0.1;port=6000", &msg),
			 RTSP_OK);
	assert_true(msg.transports[0].multicast);
	assert_int_equal(msg.transports[0].client_port[1], 6001);
	assert_int_equal(parse_transport_value("RTP/AVP;destination=\"ff0e::1\";port=6000", &msg),
			 RTSP_OK);
	assert_true(msg.transports[0].multicast);
	assert_addr(&msg.transports[0].destination, "ff0e::1");

	/* Unicast destination stays unicast. */
	assert_int_equal(parse_transport_value("RTP/AVP;unicast;destination=192.0.2.1;client_port=1-2",
					       &msg), RTSP_OK);
	assert_false(msg.transports[0].multicast);
}

static void test_setup_destination_source(void **state)
{
	(void)state;
	struct rtsp_msg msg;
	assert_int_equal(parse_transport_value("RTP/AVP/TCP;unicast;destination=192.168.1.210;"
					       "source=192.168.1.110;interleaved=2-3", &msg), RTSP_OK);
	assert_addr(&msg.transports[0].destination, "192.168.1.210");
	assert_addr(&msg.transports[0].source, "192.168.1.110");
	assert_int_equal(msg.transports[0].interleaved_channel[0], 2);

	/* IPv6, bracketed and quoted. */
	assert_int_equal(parse_transport_value("RTP/AVP;destination=\"[2001:db8::7]\";source=2001:db8::1;"
					       "client_port=5000-5001", &msg), RTSP_OK);
	assert_addr(&msg.transports[0].destination, "2001:db8::7");
	assert_addr(&msg.transports[0].source, "2001:db8::1");

	/* A host name is legal but not resolvable here: left absent, no error. */
	assert_int_equal(parse_transport_value("RTP/AVP;destination=client.example.com;client_port=5000",
					       &msg), RTSP_OK);
	assert_int_equal(msg.transports[0].destination.family, 0);
	assert_true(msg.transports[0].has_client_port);
}

static void test_setup_rtsp2_addresses(void **state)
{
	(void)state;
	struct rtsp_msg msg;
	const struct rtsp_transport *t = &msg.transports[0];

	/* RFC 7826 ":port" form, quoted, RTP then RTCP. */
	assert_int_equal(parse_transport_value("RTP/AVP;unicast;dest_addr=\":4588\"/\":4589\"", &msg),
			 RTSP_OK);
	assert_int_equal(t->destination.family, 0);
	assert_true(t->has_client_port);
	assert_int_equal(t->client_port[0], 4588);
	assert_int_equal(t->client_port[1], 4589);

	/* Unquoted host:port pairs and src_addr, as in the rtsp-types corpus. */
	assert_int_equal(parse_transport_value(
				 "RTP/AVP;unicast;dest_addr=192.0.2.53:4588/192.0.2.53:4589; "
				 "src_addr=198.51.100.241:6256/198.51.100.241:6257; ssrc=2A3F93ED", &msg),
			 RTSP_OK);
	assert_addr(&t->destination, "192.0.2.53");
	assert_int_equal(t->client_port[0], 4588);
	assert_int_equal(t->client_port[1], 4589);
	assert_addr(&t->source, "198.51.100.241");
	assert_true(t->has_server_port);
	assert_int_equal(t->server_port[0], 6256);
	assert_int_equal(t->server_port[1], 6257);

	/* One address only: RTCP is RTP + 1; IPv6 in brackets. */
	assert_int_equal(parse_transport_value("RTP/AVP;dest_addr=\"[2001:db8::1]:5000\"", &msg), RTSP_OK);
	assert_addr(&t->destination, "2001:db8::1");
	assert_int_equal(t->client_port[0], 5000);
	assert_int_equal(t->client_port[1], 5001);

	/* Host name: the port counts, the name does not. */
	assert_int_equal(parse_transport_value("RTP/AVP;dest_addr=\"client.example.com:7000\"", &msg),
			 RTSP_OK);
	assert_int_equal(t->destination.family, 0);
	assert_int_equal(t->client_port[0], 7000);

	/* Multicast dest_addr. */
	assert_int_equal(parse_transport_value("RTP/AVP;dest_addr=\"224.2.0.1:3456\"", &msg), RTSP_OK);
	assert_true(t->multicast);

	/* Bad ports in dest_addr. */
	assert_int_equal(parse_transport_value("RTP/AVP;dest_addr=\":x\"", &msg), RTSP_ERR_BAD_TRANSPORT);
	assert_int_equal(parse_transport_value("RTP/AVP;dest_addr=\"192.0.2.1:70000\"", &msg),
			 RTSP_ERR_BAD_TRANSPORT);
	assert_int_equal(parse_transport_value("RTP/AVP;src_addr=\"[::1]x\"", &msg),
			 RTSP_ERR_BAD_TRANSPORT);
}

static void test_setup_mode(void **state)
{
	(void)state;
	struct rtsp_msg msg;
	assert_int_equal(parse_transport_value("RTP/AVP;unicast;client_port=5000-5001;mode=record", &msg),
			 RTSP_OK);
	assert_true(msg.transports[0].record);
	assert_int_equal(parse_transport_value("RTP/AVP;mode=\"RECORD\";client_port=5000", &msg), RTSP_OK);
	assert_true(msg.transports[0].record);
	assert_int_equal(parse_transport_value("RTP/AVP;mode=\"PLAY\";client_port=5000", &msg), RTSP_OK);
	assert_false(msg.transports[0].record);
	assert_int_equal(parse_transport_value("RTP/AVP;mode=play", &msg), RTSP_OK);
	assert_false(msg.transports[0].record);
	assert_int_equal(parse_transport_value("RTP/AVP;mode=\"PLAY,RECORD\"", &msg), RTSP_OK);
	assert_true(msg.transports[0].record);
}

static void test_setup_ports(void **state)
{
	(void)state;
	struct rtsp_msg msg;
	/* Port 0 means "no port": absent, not an error. */
	assert_int_equal(parse_transport_value("RTP/AVP;client_port=0-0;server_port=0", &msg), RTSP_OK);
	assert_false(msg.transports[0].has_client_port);
	assert_false(msg.transports[0].has_server_port);
	assert_int_equal(parse_transport_value("RTP/AVP;client_port=65534-65535", &msg), RTSP_OK);
	assert_int_equal(msg.transports[0].client_port[1], 65535);
	assert_int_equal(parse_transport_value("RTP/AVP;client_port=\"5000-5001\"", &msg), RTSP_OK);
	assert_int_equal(msg.transports[0].client_port[0], 5000);
	/* ssrc vendor quirks are skipped, whatever they look like. */
	assert_int_equal(parse_transport_value("RTP/AVP/TCP;unicast;interleaved=0-1;ssrc= d6d6627", &msg),
			 RTSP_OK);
	assert_int_equal(parse_transport_value("RTP/AVP;ssrc=0x1234ABCD;client_port=1-2", &msg), RTSP_OK);
	assert_int_equal(parse_transport_value("RTP/AVP;ssrc=12AB;client_port=1-2", &msg), RTSP_OK);
	assert_int_equal(parse_transport_value("RTP/AVP;ssrc=garbage!;client_port=1-2", &msg), RTSP_OK);
	/* Unknown parameters and flags are ignored. */
	assert_int_equal(parse_transport_value("RTP/AVP;append;layers=2;x-foo=\"a;b,c\";client_port=8-9",
					       &msg), RTSP_OK);
	assert_int_equal(msg.transport_count, 1);
	assert_int_equal(msg.transports[0].client_port[0], 8);
}

static void test_transport_list(void **state)
{
	(void)state;
	struct rtsp_msg msg;
	assert_int_equal(parse_transport_value("RTP/AVP;unicast;dest_addr=\":4588\"/\":4589\","
					       "RTP/AVP/TCP;unicast;interleaved=0-1", &msg), RTSP_OK);
	assert_int_equal(msg.transport_count, 2);
	assert_int_equal(msg.transports[0].client_port[0], 4588);
	assert_true(msg.transports[1].interleaved);

	/* More than RTSP_MAX_TRANSPORTS: the rest are counted. */
	assert_int_equal(parse_transport_value("RTP/AVP;client_port=1000, RTP/AVP;client_port=1002,"
					       "RTP/AVP;client_port=1004, RTP/AVP;client_port=1006,"
					       "RTP/AVP;client_port=1008, RTP/AVP/TCP;interleaved=0-1",
					       &msg), RTSP_OK);
	assert_int_equal(msg.transport_count, RTSP_MAX_TRANSPORTS);
	assert_int_equal(msg.transports_ignored, 2);
	assert_int_equal(msg.transports[3].client_port[0], 1006);

	/* Non-RTP protocols are well-formed but not ours. */
	assert_int_equal(parse_transport_value("RAW/RAW/UDP;client_port=3000,x-real-rdt/udp;client_port=3002,"
					       "RTP/AVP;client_port=3004", &msg), RTSP_OK);
	assert_int_equal(msg.transport_count, 1);
	assert_int_equal(msg.transports_ignored, 2);
	assert_int_equal(msg.transports[0].client_port[0], 3004);

	/* Two Transport lines append; an empty element is skipped. */
	assert_int_equal(parse_text("SETUP rtsp://a/b RTSP/1.0\r\nCSeq: 2\r\n"
				    "Transport: RTP/AVP;client_port=10-11,\r\n"
				    "Transport: RTP/AVP/TCP;interleaved=6-7\r\n\r\n", &msg), RTSP_OK);
	assert_int_equal(msg.transport_count, 2);
	assert_int_equal(msg.transports[1].interleaved_channel[0], 6);

	/* Folded header line (obsolete, still legal in RFC 2326). */
	assert_int_equal(parse_text("SETUP rtsp://a/b RTSP/1.0\r\nCSeq: 2\r\n"
				    "Transport: RTP/AVP;unicast;\r\n\tclient_port=4000-4001\r\n\r\n", &msg),
			 RTSP_OK);
	assert_int_equal(msg.transports[0].client_port[0], 4000);
}

static void test_bad_transport(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"RTP/AVP;client_port=abc",
		"RTP/AVP;client_port=70000-70001",
		"RTP/AVP;client_port=5000-",
		"RTP/AVP;client_port=-5000",
		"RTP/AVP;client_port=--",
		"RTP/AVP;client_port=65535",   /* no room for the RTCP port */
		"RTP/AVP;server_port=1-2-3",
		"RTP/AVP;client_port=",
		"RTP/AVP/TCP;interleaved=300-301",
		"RTP/AVP/TCP;interleaved=a-b",
		"RTP/AVP;ttl=999",
		"RTP/AVP;port=0-",
		"port=0-",                     /* gortsplib fuzz: no protocol id */
		"=\"",
		"0",
		"RTP;client_port=1-2",
		"RTP/;client_port=1-2",
		"RTP/AVP/;client_port=1-2",
		"",
		",,",
	};
	struct rtsp_msg msg;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum rtsp_status status = parse_transport_value(bad[i], &msg);
		if (status != RTSP_ERR_BAD_TRANSPORT)
			fail_msg("Transport: %s -> %s", bad[i], rtsp_status_name(status));
	}
}

/* ------------------------------------------------ other methods, Session */

static void test_play_pause_teardown_session(void **state)
{
	(void)state;
	struct rtsp_msg msg;
	assert_int_equal(parse_text("PLAY rtsp://192.0.2.10/live RTSP/1.0\r\nCSeq: 4\r\n"
				    "Session: 12345678\r\nRange: npt=0.000-\r\n\r\n", &msg), RTSP_OK);
	assert_int_equal(msg.method, RTSP_PLAY);
	assert_string_equal(msg.session_id, "12345678");
	assert_int_equal(msg.session_timeout_s, 0);

	/* Vendor spacing: "Session:        id" and "id; timeout=60". */
	assert_int_equal(parse_text("PAUSE rtsp://192.0.2.10/live RTSP/1.0\r\nCSeq: 5\r\n"
				    "Session:        9a90de54; timeout=60\r\n\r\n", &msg), RTSP_OK);
	assert_int_equal(msg.method, RTSP_PAUSE);
	assert_string_equal(msg.session_id, "9a90de54");
	assert_int_equal(msg.session_timeout_s, 60);

	assert_int_equal(parse_text("TEARDOWN rtsp://192.0.2.10/live RTSP/1.0\r\nCSeq: 6\r\n"
				    "session: A$b-c_d.e+f;TIMEOUT=120;x=1\r\n\r\n", &msg), RTSP_OK);
	assert_int_equal(msg.method, RTSP_TEARDOWN);
	assert_string_equal(msg.session_id, "A$b-c_d.e+f");
	assert_int_equal(msg.session_timeout_s, 120);

	/* RTSP 2.0 request. */
	assert_int_equal(parse_text("GET_PARAMETER rtsp://a/ RTSP/2.0\r\nCSeq: 9\r\n"
				    "Session: QKyjN8nt2WqbWw4tIYof52\r\n\r\n", &msg), RTSP_OK);
	assert_int_equal(msg.version, 20);
	assert_int_equal(msg.method, RTSP_GET_PARAMETER);
}

static void test_session_bounds(void **state)
{
	(void)state;
	char text[512], id[RTSP_SESSION_ID_MAX + 2];
	struct rtsp_msg msg;

	memset(id, 'a', sizeof(id));
	id[RTSP_SESSION_ID_MAX] = '\0';
	snprintf(text, sizeof(text), "PLAY rtsp://a/ RTSP/1.0\r\nCSeq: 1\r\nSession: %s;timeout=30\r\n\r\n",
		 id);
	assert_int_equal(parse_text(text, &msg), RTSP_OK);
	assert_int_equal(msg.session_id_len, RTSP_SESSION_ID_MAX);
	assert_int_equal(strlen(msg.session_id), RTSP_SESSION_ID_MAX);

	memset(id, 'a', sizeof(id));
	id[RTSP_SESSION_ID_MAX + 1] = '\0';
	snprintf(text, sizeof(text), "PLAY rtsp://a/ RTSP/1.0\r\nCSeq: 1\r\nSession: %s\r\n\r\n", id);
	assert_int_equal(parse_text(text, &msg), RTSP_ERR_BAD_SESSION);

	static const char *const bad[] = {
		"Session: \r\n", "Session: ;timeout=60\r\n", "Session: abc{}\r\n",
		"Session: ab cd\r\n", "Session: \"abc\"\r\n", "Session: abc;timeout=x\r\n",
		"Session: abc;timeout\r\n", "Session: abc;timeout=99999999999\r\n",
		"Session: ;=\"\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "PLAY rtsp://a/ RTSP/1.0\r\nCSeq: 1\r\n%s\r\n", bad[i]);
		enum rtsp_status status = parse_text(text, &msg);
		if (status != RTSP_ERR_BAD_SESSION)
			fail_msg("%s -> %s", bad[i], rtsp_status_name(status));
	}
}

static void test_announce_sdp_body(void **state)
{
	(void)state;
	struct rtsp_msg msg;
	size_t len = strlen(announce_request);
	assert_int_equal(parse_text(announce_request, &msg), RTSP_OK);
	assert_int_equal(msg.method, RTSP_ANNOUNCE);
	assert_true(msg.body_is_sdp);
	assert_int_equal(msg.body_len, 91);
	assert_int_equal(msg.message_len, len);
	assert_ptr_equal(msg.body, (const uint8_t *)announce_request + len - 91);
	assert_memory_equal(msg.body, "v=0\r\n", 5);

	/* Parameters and case do not hide the media type. */
	assert_int_equal(parse_text("RTSP/1.0 200 OK\r\nCSeq: 2\r\ncontent-type: Application/SDP; charset=utf-8\r\n"
				    "content-length: 5\r\n\r\nv=0\r\n", &msg), RTSP_OK);
	assert_true(msg.body_is_sdp);
	assert_int_equal(msg.body_len, 5);

	/* Another type, or no body, is no SDP. */
	assert_int_equal(parse_text("SET_PARAMETER rtsp://a/ RTSP/1.0\r\nCSeq: 2\r\n"
				    "Content-Type: text/parameters\r\nContent-Length: 9\r\n\r\nbarparam\n", &msg),
			 RTSP_OK);
	assert_false(msg.body_is_sdp);
	assert_int_equal(msg.method, RTSP_SET_PARAMETER);
	assert_int_equal(parse_text("RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\n\r\n", &msg),
			 RTSP_OK);
	assert_false(msg.body_is_sdp);
	assert_null(msg.body);
}

static void test_responses(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		unsigned status;
	} cases[] = {
		{ "RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n", 200 },
		{ "RTSP/1.0 401 Unauthorized\r\nCSeq: 1 \r\n"
		  "WWW-Authenticate: Digest realm=\"Surveillance Server\", nonce=\"98481030\"\r\n\r\n", 401 },
		{ "RTSP/1.0 405 Method Not Allowed\r\nCSeq: 2\r\nAllow: OPTIONS, DESCRIBE\r\n\r\n", 405 },
		{ "RTSP/1.0 461 Unsupported Transport\r\nCSeq: 3\r\n\r\n", 461 },
		{ "RTSP/1.0 501 Not Implemented\r\nCSeq: 4\r\n\r\n", 501 },
		{ "RTSP/2.0 200 OK\r\nCSeq: 5\r\n\r\n", 200 },
		{ "RTSP/1.0 200\r\nCSeq: 6\r\n\r\n", 200 }, /* empty reason, no SP */
	};
	struct rtsp_msg msg;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse_text(cases[i].text, &msg), RTSP_OK);
		assert_false(msg.is_request);
		assert_int_equal(msg.status, cases[i].status);
		assert_true(msg.has_cseq);
	}
	assert_int_equal(parse_text("RTSP/2.0 200 OK\r\n\r\n", &msg), RTSP_OK);
	assert_int_equal(msg.version, 20);
	assert_false(msg.has_cseq);
}

static void test_methods_and_lines(void **state)
{
	(void)state;
	struct rtsp_msg msg;
	static const struct {
		const char *name;
		enum rtsp_method method;
	} methods[] = {
		{ "OPTIONS", RTSP_OPTIONS }, { "DESCRIBE", RTSP_DESCRIBE }, { "ANNOUNCE", RTSP_ANNOUNCE },
		{ "SETUP", RTSP_SETUP }, { "PLAY", RTSP_PLAY }, { "PAUSE", RTSP_PAUSE },
		{ "RECORD", RTSP_RECORD }, { "TEARDOWN", RTSP_TEARDOWN },
		{ "GET_PARAMETER", RTSP_GET_PARAMETER }, { "SET_PARAMETER", RTSP_SET_PARAMETER },
		{ "REDIRECT", RTSP_REDIRECT }, { "PLAY_NOTIFY", RTSP_PLAY_NOTIFY },
		{ "SETUPX", RTSP_METHOD_UNKNOWN }, { "setup", RTSP_METHOD_UNKNOWN }, /* case-sensitive */
		{ "X-VENDOR", RTSP_METHOD_UNKNOWN }, { "0", RTSP_METHOD_UNKNOWN },
	};
	char text[256];
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		snprintf(text, sizeof(text), "%s * RTSP/1.0\r\nCSeq: 1\r\n\r\n", methods[i].name);
		assert_int_equal(parse_text(text, &msg), RTSP_OK);
		assert_true(msg.is_request);
		assert_int_equal(msg.method, methods[i].method);
		if (methods[i].method != RTSP_METHOD_UNKNOWN)
			assert_string_equal(rtsp_method_name(msg.method), methods[i].name);
	}

	/* Bare LF line ends, header names in any case, tolerated spacing. */
	assert_int_equal(parse_text("OPTIONS * RTSP/1.0\ncseq: 12\nTRANSPORT: RTP/AVP;client_port=2-3\n\n", &msg),
			 RTSP_OK);
	assert_int_equal(msg.cseq, 12);
	assert_int_equal(msg.transports[0].client_port[0], 2);
	assert_int_equal(msg.message_len, strlen("OPTIONS * RTSP/1.0\ncseq: 12\nTRANSPORT: RTP/AVP;client_port=2-3\n\n"));
	assert_int_equal(parse_text("OPTIONS  rtsp://a/  RTSP/1.0 \r\nCSeq : 1\r\n\r\n", &msg), RTSP_OK);
	assert_int_equal(parse_text("OPTIONS * RTSP/1.0\r\nCSeq: 1\n\r\n", &msg), RTSP_OK);

	/* Trailing bytes after the message belong to the next one. */
	assert_int_equal(parse_text("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\nOPTIONS * RTSP/1.0\r\n", &msg), RTSP_OK);
	assert_int_equal(msg.message_len, strlen("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n"));
}

/* ------------------------------------------------------- every status */

static void test_status_empty_and_not_rtsp(void **state)
{
	(void)state;
	struct rtsp_msg msg;
	assert_int_equal(rtsp_parse((const uint8_t *)"", 0, &msg), RTSP_ERR_EMPTY);
	static const char *const not_rtsp[] = {
		"HTTP/1.1 200 OK\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=x\r\n",           /* bare SDP */
		"v=0",
		"RTSP/1.1 200 OK\r\n\r\n",
		"RTSP/1.0 20 OK\r\n\r\n",
		"RTSP/1.0 2000 OK\r\n\r\n",
		"RTSP/1.0 099 OK\r\n\r\n",
		"RTSP/1.0 0 0\r\n",                                    /* gortsplib fuzz */
		"RTSP/1.0  \r\n\r\n",
		"RTSP/1.0\r\n\r\n",
		"OPTIONS\r\n\r\n",
		"OPTIONS *\r\n\r\n",
		"OPTIONS * RTSP/1.0 x\r\n\r\n",
		"OPTIONS * SIP/2.0\r\n\r\n",
		" OPTIONS * RTSP/1.0\r\n\r\n",
		"\r\n\r\n",
		"OPTIONS * RTSP/1.0\r\nno colon here\r\n\r\n",
		"OPTIONS * RTSP/1.0\r\n: empty name\r\n\r\n",
		"OPTIONS * RTSP/1.0\r\nBad Name: x\r\n\r\n",
		"OPTIONS * RTSP/1.0\r\n folded-first: x\r\n\r\n",
		"0 rtsp: 0\r\n\r\n",
		"$SETUP rtsp://a/b RTSP/1.0\nq: x\n\n",                 /* fuzz: '$' is a frame */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA * RTSP/1.0\r\n\r\n", /* method too long */
		"\x80\x60\x00\x01\x00\x00\x00\x00\xde\xad\xbe\xef",     /* an RTP header */
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",         /* a TLS ClientHello */
	};
	for (size_t i = 0; i < sizeof(not_rtsp) / sizeof(not_rtsp[0]); i++) {
		size_t len = strlen(not_rtsp[i]);
		if (i >= sizeof(not_rtsp) / sizeof(not_rtsp[0]) - 2)
			len = 11; /* embedded NULs: fixed lengths */
		enum rtsp_status status = rtsp_parse((const uint8_t *)not_rtsp[i], len, &msg);
		if (status != RTSP_ERR_NOT_RTSP)
			fail_msg("case %zu -> %s", i, rtsp_status_name(status));
	}
}

static void test_status_truncated_every_prefix(void **state)
{
	(void)state;
	const char *const messages[] = { setup_request, setup_reply, announce_request };
	struct rtsp_msg msg;
	for (size_t m = 0; m < 3; m++) {
		size_t len = strlen(messages[m]);
		/* A heap copy of exactly each prefix lets ASan catch any overread. */
		for (size_t cut = 0; cut < len; cut++) {
			uint8_t *copy = malloc(cut ? cut : 1);
			assert_non_null(copy);
			memcpy(copy, messages[m], cut);
			enum rtsp_status status = rtsp_parse(copy, cut, &msg);
			free(copy);
			if (status != (cut == 0 ? RTSP_ERR_EMPTY : RTSP_ERR_TRUNCATED))
				fail_msg("message %zu cut at %zu -> %s", m, cut, rtsp_status_name(status));
		}
		assert_int_equal(rtsp_parse((const uint8_t *)messages[m], len, &msg), RTSP_OK);
	}
	/* Bodies: a Content-Length that lies upwards is a truncated message. */
	assert_int_equal(parse_text("RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 10\r\n\r\nv=0\r\n", &msg),
			 RTSP_ERR_TRUNCATED);
}

static void test_status_lying_content_length(void **state)
{
	(void)state;
	struct rtsp_msg msg;
	/* Shorter than the body: the rest is the next message on the wire. */
	const char *text = "ANNOUNCE rtsp://a/ RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 3\r\n\r\nv=0\r\no=x\r\n";
	assert_int_equal(parse_text(text, &msg), RTSP_OK);
	assert_int_equal(msg.body_len, 3);
	assert_int_equal(msg.message_len, strlen(text) - 7);
	size_t frame_len = 0;
	assert_int_equal(rtsp_frame((const uint8_t *)text, strlen(text), 4096, &frame_len), FRAME_MESSAGE);
	assert_int_equal(frame_len, msg.message_len);
	/* Longer than what will ever come: truncated, then oversized. */
	assert_int_equal(parse_text("RTSP/1.0 200 OK\r\nContent-Length: 65000\r\n\r\nabc", &msg),
			 RTSP_ERR_TRUNCATED);
	assert_int_equal(parse_text("RTSP/1.0 200 OK\r\nContent-Length: 65535\r\n\r\nabc", &msg),
			 RTSP_ERR_OVERSIZED);
}

static void test_status_oversized(void **state)
{
	(void)state;
	struct rtsp_msg msg;
	assert_int_equal(parse_text("RTSP/1.0 200 OK\r\nContent-Length: 70000\r\n\r\n", &msg),
			 RTSP_ERR_OVERSIZED);
	assert_int_equal(parse_text("RTSP/1.0 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", &msg),
			 RTSP_ERR_OVERSIZED);
	assert_int_equal(parse_text("RTSP/1.0 200 OK\r\nContent-Length: 4294967296\r\n\r\n", &msg),
			 RTSP_ERR_OVERSIZED);

	/* Headers that never end within RTSP_MAX_MESSAGE. */
	size_t len = RTSP_MAX_MESSAGE + 100;
	char *big = malloc(len);
	assert_non_null(big);
	memset(big, 'a', len);
	memcpy(big, "OPTIONS * RTSP/1.0\r\nX-Pad: ", 27);
	assert_int_equal(rtsp_parse((const uint8_t *)big, len, &msg), RTSP_ERR_OVERSIZED);
	/* The same bytes, shorter, are merely truncated. */
	assert_int_equal(rtsp_parse((const uint8_t *)big, 1000, &msg), RTSP_ERR_TRUNCATED);
	/* A request line longer than the limit. */
	memcpy(big, "OPTIONS /", 9);
	assert_int_equal(rtsp_parse((const uint8_t *)big, len, &msg), RTSP_ERR_OVERSIZED);
	free(big);
}

static void test_status_binary(void **state)
{
	(void)state;
	struct rtsp_msg msg;
	static const char nul_in_value[] = "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX: a\0b\r\n\r\n";
	assert_int_equal(rtsp_parse((const uint8_t *)nul_in_value, sizeof(nul_in_value) - 1, &msg),
			 RTSP_ERR_BINARY);
	assert_int_equal(parse_text("OPTIONS * RTSP/1.0\r\nCSeq: 1\x01\r\n\r\n", &msg), RTSP_ERR_BINARY);
	assert_int_equal(parse_text("OPTIONS * RTSP/1.0\r\nCSeq: 1\rX: y\r\n\r\n", &msg), RTSP_ERR_BINARY);
	assert_int_equal(parse_text("RTSP/1.0 200 O\x7fK\r\n\r\n", &msg), RTSP_ERR_BINARY);
	assert_int_equal(parse_text("OPTIONS * RTSP/1.0\r\nX: \x1b[31m\r\n", &msg), RTSP_ERR_BINARY);
	/* Control bytes in the body are the body's business. */
	static const char nul_in_body[] = "RTSP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n\0\x01";
	assert_int_equal(rtsp_parse((const uint8_t *)nul_in_body, sizeof(nul_in_body) - 1, &msg), RTSP_OK);
	/* UTF-8 in a header value is text. */
	assert_int_equal(parse_text("RTSP/1.0 200 OK\r\nServer: caméra\r\n\r\n", &msg), RTSP_OK);
}

static void test_status_bad_content_length(void **state)
{
	(void)state;
	static const char *const bad[] = { "abc", "-1", "", "1 2", "0x10", "+5", "1.0" };
	char text[256];
	struct rtsp_msg msg;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: %s\r\n\r\n", bad[i]);
		enum rtsp_status status = parse_text(text, &msg);
		if (status != RTSP_ERR_BAD_CONTENT_LENGTH)
			fail_msg("Content-Length: %s -> %s", bad[i], rtsp_status_name(status));
	}
	/* gortsplib fuzz regression. */
	assert_int_equal(parse_text("0 rtsp:# RTSP/1.0\r\nContent-Length:\r\n\r\n", &msg),
			 RTSP_ERR_BAD_CONTENT_LENGTH);
}

static void test_status_duplicates(void **state)
{
	(void)state;
	struct rtsp_msg msg;
	assert_int_equal(parse_text("RTSP/1.0 200 OK\r\nCSeq: 1\r\nCSeq: 2\r\n\r\n", &msg),
			 RTSP_ERR_DUPLICATE_HEADER);
	assert_int_equal(parse_text("RTSP/1.0 200 OK\r\nSession: a\r\nSession: b\r\n\r\n", &msg),
			 RTSP_ERR_DUPLICATE_HEADER);
	assert_int_equal(parse_text("RTSP/1.0 200 OK\r\nSession: a;timeout=5\r\nSession: a;timeout=6\r\n\r\n",
				    &msg), RTSP_ERR_DUPLICATE_HEADER);
	assert_int_equal(parse_text("RTSP/1.0 200 OK\r\nContent-Length: 1\r\ncontent-length: 2\r\n\r\nab",
				    &msg), RTSP_ERR_DUPLICATE_HEADER);
	/* The same value twice is harmless. */
	assert_int_equal(parse_text("RTSP/1.0 200 OK\r\nCSeq: 1\r\nCSeq: 01\r\nSession: a; timeout=5\r\n"
				    "Session: a;timeout=5\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
				    &msg), RTSP_OK);
	assert_int_equal(msg.body_len, 1);
}

static void test_status_bad_cseq(void **state)
{
	(void)state;
	static const char *const bad[] = { "x", "", "-1", "1 2", "99999999999", "4294967296" };
	char text[256];
	struct rtsp_msg msg;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "OPTIONS * RTSP/1.0\r\nCSeq: %s\r\n\r\n", bad[i]);
		assert_int_equal(parse_text(text, &msg), RTSP_ERR_BAD_CSEQ);
	}
	assert_int_equal(parse_text("OPTIONS * RTSP/1.0\r\nCSeq: 4294967295\r\n\r\n", &msg), RTSP_OK);
	assert_int_equal(msg.cseq, 4294967295u);
}

/* Deterministic pseudo-random bytes (no rand(): same run everywhere). */
static uint32_t next_random(uint32_t *seed)
{
	*seed = *seed * 1664525u + 1013904223u;
	return *seed >> 8;
}

static void test_binary_junk(void **state)
{
	(void)state;
	struct rtsp_msg msg;
	size_t frame_len;
	uint32_t seed = 2326;
	uint8_t buf[512];

	for (int round = 0; round < 20000; round++) {
		size_t len = next_random(&seed) % sizeof(buf);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)next_random(&seed);
		/* Half the time, start like RTSP so the deeper code is reached. */
		if (round & 1 && len > 40) {
			static const char *const starts[] = {
				"SETUP rtsp://a/ RTSP/1.0\r\nTransport: ", "RTSP/1.0 200 OK\r\nSession: ",
				"PLAY * RTSP/2.0\r\nContent-Length: ",
			};
			const char *start = starts[round % 3];
			memcpy(buf, start, strlen(start));
		}
		enum rtsp_status status = rtsp_parse(buf, len, &msg);
		assert_true((unsigned)status < RTSP_STATUS_COUNT);
		if (status == RTSP_OK)
			assert_true(msg.message_len <= len);
		enum frame_result fr = rtsp_frame(buf, len, 4096, &frame_len);
		assert_true(fr <= FRAME_INVALID);
		if (fr == FRAME_MESSAGE || fr == FRAME_SKIP)
			assert_true(frame_len > 0 && frame_len <= len);
	}
	for (unsigned b = 0; b < 256; b++) {
		uint8_t one = (uint8_t)b;
		assert_true((unsigned)rtsp_parse(&one, 1, &msg) < RTSP_STATUS_COUNT);
		assert_true(rtsp_frame(&one, 1, 4096, &frame_len) <= FRAME_INVALID);
	}
}

static void test_names(void **state)
{
	(void)state;
	for (unsigned s = 0; s < RTSP_STATUS_COUNT; s++) {
		const char *name = rtsp_status_name((enum rtsp_status)s);
		assert_non_null(name);
		assert_true(strlen(name) > 0);
		for (const char *c = name; *c; c++)
			assert_true((*c >= 'a' && *c <= 'z') || *c == '_');
		for (unsigned t = 0; t < s; t++)
			assert_string_not_equal(name, rtsp_status_name((enum rtsp_status)t));
	}
	assert_string_equal(rtsp_status_name(RTSP_OK), "ok");
	assert_string_equal(rtsp_status_name(RTSP_ERR_BAD_TRANSPORT), "bad_transport");
	assert_string_equal(rtsp_status_name(RTSP_STATUS_COUNT), "unknown");
	assert_string_equal(rtsp_method_name(RTSP_SETUP), "SETUP");
	assert_string_equal(rtsp_method_name(RTSP_METHOD_UNKNOWN), "UNKNOWN");
	assert_string_equal(rtsp_method_name(RTSP_METHOD_COUNT), "UNKNOWN");
}

/* --------------------------------------------------------------- framer */

struct framed {
	enum frame_result result;
	size_t len;
};

/* The reassembly loop of the engine, in miniature: data arrives in chunks of
 * `step` bytes; the framer is called until it needs more. */
static size_t frame_stream(const uint8_t *stream, size_t stream_len, size_t step, size_t max_message,
			   struct framed *out, size_t out_cap)
{
	size_t have = 0, consumed = 0, count = 0;
	while (have < stream_len || consumed < have) {
		size_t msg_len = 0;
		enum frame_result fr = rtsp_frame(stream + consumed, have - consumed, max_message, &msg_len);
		if (fr == FRAME_NEED_MORE) {
			if (have == stream_len)
				break;
			have = have + step < stream_len ? have + step : stream_len;
			continue;
		}
		assert_true(count < out_cap);
		out[count].result = fr;
		out[count].len = fr == FRAME_INVALID ? 0 : msg_len;
		count++;
		if (fr == FRAME_INVALID)
			break;
		assert_true(msg_len > 0 && msg_len <= have - consumed);
		if (fr == FRAME_MESSAGE) {
			struct rtsp_msg msg;
			/* The framer and the parser agree on every boundary. */
			assert_int_equal(rtsp_parse(stream + consumed, msg_len, &msg), RTSP_OK);
			assert_int_equal(msg.message_len, msg_len);
		}
		consumed += msg_len;
	}
	return count;
}

/* Adjacent skips are merged: keep-alive CRLFs arriving one byte at a time
 * are skipped one byte at a time, which is as good as all at once. */
static size_t merge_skips(struct framed *frames, size_t count)
{
	size_t merged = 0;
	for (size_t i = 0; i < count; i++) {
		if (merged > 0 && frames[i].result == FRAME_SKIP && frames[merged - 1].result == FRAME_SKIP)
			frames[merged - 1].len += frames[i].len;
		else
			frames[merged++] = frames[i];
	}
	return merged;
}

static void test_frame_basics(void **state)
{
	(void)state;
	size_t len = 0;
	const uint8_t *announce = (const uint8_t *)announce_request;
	size_t announce_len = strlen(announce_request);

	assert_int_equal(rtsp_frame(announce, 0, 4096, &len), FRAME_NEED_MORE);
	assert_int_equal(rtsp_frame(announce, announce_len, 4096, &len), FRAME_MESSAGE);
	assert_int_equal(len, announce_len);
	for (size_t cut = 1; cut < announce_len; cut++)
		assert_int_equal(rtsp_frame(announce, cut, 4096, &len), FRAME_NEED_MORE);

	/* Interleaved frames: any length up to 65535 + 4, max_message aside. */
	assert_int_equal(rtsp_frame((const uint8_t *)"$", 1, 4096, &len), FRAME_NEED_MORE);
	assert_int_equal(rtsp_frame((const uint8_t *)"$\x00\x00", 3, 4096, &len), FRAME_NEED_MORE);
	assert_int_equal(rtsp_frame((const uint8_t *)"$\x00\x00\x04" "abc", 7, 4096, &len), FRAME_NEED_MORE);
	assert_int_equal(rtsp_frame((const uint8_t *)"$\x00\x00\x04" "abcdXX", 10, 4096, &len), FRAME_SKIP);
	assert_int_equal(len, 8);
	assert_int_equal(rtsp_frame((const uint8_t *)"$\x01\x00\x00", 4, 4096, &len), FRAME_SKIP);
	assert_int_equal(len, 4);
	uint8_t *big = calloc(1, 65535 + 4);
	assert_non_null(big);
	memcpy(big, "$\x01\xff\xff", 4);
	assert_int_equal(rtsp_frame(big, 65535 + 3, 4096, &len), FRAME_NEED_MORE);
	assert_int_equal(rtsp_frame(big, 65535 + 4, 4096, &len), FRAME_SKIP);
	assert_int_equal(len, 65535 + 4);
	free(big);

	/* Keep-alive CRLFs. */
	assert_int_equal(rtsp_frame((const uint8_t *)"\r\n\r\nOPTIONS", 11, 4096, &len), FRAME_SKIP);
	assert_int_equal(len, 4);
	assert_int_equal(rtsp_frame((const uint8_t *)"\n", 1, 4096, &len), FRAME_SKIP);
	assert_int_equal(len, 1);

	/* Bare LF framing. */
	assert_int_equal(rtsp_frame((const uint8_t *)"OPTIONS * RTSP/1.0\nCSeq: 1\n\nX", 29, 4096, &len),
			 FRAME_MESSAGE);
	assert_int_equal(len, 28);
}

static void test_frame_invalid(void **state)
{
	(void)state;
	size_t len = 0;
	char head[200];
	/* Headers larger than max_message. */
	memset(head, 'a', sizeof(head));
	memcpy(head, "OPTIONS * RTSP/1.0\r\nX: ", 23);
	assert_int_equal(rtsp_frame((const uint8_t *)head, 99, 100, &len), FRAME_NEED_MORE);
	assert_int_equal(rtsp_frame((const uint8_t *)head, sizeof(head), 100, &len), FRAME_INVALID);
	/* Body larger than max_message. */
	const char *text = "RTSP/1.0 200 OK\r\nContent-Length: 200\r\n\r\n";
	assert_int_equal(rtsp_frame((const uint8_t *)text, strlen(text), 100, &len), FRAME_INVALID);
	assert_int_equal(rtsp_frame((const uint8_t *)text, strlen(text), 4096, &len), FRAME_NEED_MORE);
	/* Malformed or conflicting Content-Length: cannot be framed. */
	text = "RTSP/1.0 200 OK\r\nContent-Length: x\r\n\r\n";
	assert_int_equal(rtsp_frame((const uint8_t *)text, strlen(text), 4096, &len), FRAME_INVALID);
	text = "RTSP/1.0 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab";
	assert_int_equal(rtsp_frame((const uint8_t *)text, strlen(text), 4096, &len), FRAME_INVALID);
	/* Not RTSP: known at once, not after max_message bytes. */
	assert_int_equal(rtsp_frame((const uint8_t *)"GET / HTTP/1.1\r\n", 16, 4096, &len), FRAME_INVALID);
	assert_int_equal(rtsp_frame((const uint8_t *)"\x80\x60\x00\x01", 4, 4096, &len), FRAME_INVALID);
	assert_int_equal(rtsp_frame((const uint8_t *)"RTSP/9", 6, 4096, &len), FRAME_INVALID);
	/* Prefixes of a valid start line wait. */
	assert_int_equal(rtsp_frame((const uint8_t *)"RTS", 3, 4096, &len), FRAME_NEED_MORE);
	assert_int_equal(rtsp_frame((const uint8_t *)"SETUP rtsp://", 13, 4096, &len), FRAME_NEED_MORE);
}

static void test_frame_stream_every_split(void **state)
{
	(void)state;
	uint8_t stream[2048];
	size_t stream_len = 0;
	struct framed expected[8], got[16];
	size_t expected_count = 0;

#define APPEND(bytes, n, kind)                                                  \
	do {                                                                      \
		memcpy(stream + stream_len, bytes, n);                            \
		stream_len += n;                                                  \
		expected[expected_count].result = kind;                          \
		expected[expected_count].len = n;                                 \
		expected_count++;                                                 \
	} while (0)

	APPEND(setup_request, strlen(setup_request), FRAME_MESSAGE);
	APPEND(setup_reply, strlen(setup_reply), FRAME_MESSAGE);
	APPEND("$\x00\x00\x0c" "RTP-PAYLOAD!", 16, FRAME_SKIP);
	APPEND("$\x01\x00\x00", 4, FRAME_SKIP);
	APPEND("\r\n", 2, FRAME_SKIP);
	APPEND(announce_request, strlen(announce_request), FRAME_MESSAGE);
	/* '$' inside a body is the body's, not a frame. */
	APPEND("RTSP/1.0 200 OK\r\nContent-Length: 4\r\n\r\n$\x00\x00\x01", 42, FRAME_MESSAGE);
	APPEND("$\x00\x00\x02" "\r\n", 6, FRAME_SKIP);
#undef APPEND
	expected_count = merge_skips(expected, expected_count);

	for (size_t step = 1; step <= stream_len; step++) {
		size_t count = merge_skips(got, frame_stream(stream, stream_len, step, 4096, got, 16));
		if (count != expected_count)
			fail_msg("step %zu: %zu frames, expected %zu", step, count, expected_count);
		for (size_t i = 0; i < count; i++) {
			assert_int_equal(got[i].result, expected[i].result);
			assert_int_equal(got[i].len, expected[i].len);
		}
	}

	/* Every split into two segments: a restartable framer sees the same. */
	for (size_t cut = 0; cut <= stream_len; cut++) {
		size_t consumed = 0, count = 0, have = cut;
		while (consumed < stream_len) {
			size_t msg_len = 0;
			enum frame_result fr = rtsp_frame(stream + consumed, have - consumed, 4096, &msg_len);
			if (fr == FRAME_NEED_MORE) {
				assert_true(have < stream_len);
				have = stream_len;
				continue;
			}
			assert_true(count < 16);
			got[count].result = fr;
			got[count].len = msg_len;
			count++;
			consumed += msg_len;
		}
		count = merge_skips(got, count);
		assert_int_equal(count, expected_count);
		for (size_t i = 0; i < count; i++) {
			assert_int_equal(got[i].result, expected[i].result);
			assert_int_equal(got[i].len, expected[i].len);
		}
	}
}

static void test_frame_several_in_buffer(void **state)
{
	(void)state;
	char text[1024];
	int n = snprintf(text, sizeof(text), "%s%s%s", setup_request, setup_reply, announce_request);
	assert_true(n > 0);
	struct framed got[8];
	size_t count = frame_stream((const uint8_t *)text, (size_t)n, (size_t)n, 4096, got, 8);
	assert_int_equal(count, 3);
	assert_int_equal(got[0].len, strlen(setup_request));
	assert_int_equal(got[1].len, strlen(setup_reply));
	assert_int_equal(got[2].len, strlen(announce_request));
	for (size_t i = 0; i < count; i++)
		assert_int_equal(got[i].result, FRAME_MESSAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_setup_request_udp),
		cmocka_unit_test(test_setup_reply_udp),
		cmocka_unit_test(test_setup_interleaved),
		cmocka_unit_test(test_setup_multicast),
		cmocka_unit_test(test_setup_destination_source),
		cmocka_unit_test(test_setup_rtsp2_addresses),
		cmocka_unit_test(test_setup_mode),
		cmocka_unit_test(test_setup_ports),
		cmocka_unit_test(test_transport_list),
		cmocka_unit_test(test_bad_transport),
		cmocka_unit_test(test_play_pause_teardown_session),
		cmocka_unit_test(test_session_bounds),
		cmocka_unit_test(test_announce_sdp_body),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_methods_and_lines),
		cmocka_unit_test(test_status_empty_and_not_rtsp),
		cmocka_unit_test(test_status_truncated_every_prefix),
		cmocka_unit_test(test_status_lying_content_length),
		cmocka_unit_test(test_status_oversized),
		cmocka_unit_test(test_status_binary),
		cmocka_unit_test(test_status_bad_content_length),
		cmocka_unit_test(test_status_duplicates),
		cmocka_unit_test(test_status_bad_cseq),
		cmocka_unit_test(test_binary_junk),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_frame_basics),
		cmocka_unit_test(test_frame_invalid),
		cmocka_unit_test(test_frame_stream_every_split),
		cmocka_unit_test(test_frame_several_in_buffer),
	};
	return cmocka_run_group_tests_name("rtsp", tests, NULL, NULL);
}
