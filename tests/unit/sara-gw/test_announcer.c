/* test_announcer.c - the gateway's packet work through a fake sender: a
 * server's 200 OK with SDP makes one announcement that decodes back to the
 * call and its media; packets without news make none; failed sends are
 * counted; and the --decode printer's line for that announcement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/announce_codec.h"
#include "packet_builder.h"
#include "sara-gw/announcer.h"
#include "sara-gw/decoder.h"

#define SENT_MAX 4

struct fake_sender {
	bool refuse;
	unsigned calls;
	uint8_t bodies[SENT_MAX][WIRE_MAX_BODY];
	size_t lens[SENT_MAX];
};

static bool fake_send(void *ctx, const uint8_t *body, size_t len)
{
	struct fake_sender *f = ctx;
	if (f->calls < SENT_MAX) {
		memcpy(f->bodies[f->calls], body, len);
		f->lens[f->calls] = len;
	}
	f->calls++;
	return !f->refuse;
}

struct fixture {
	struct sara_config cfg;
	struct fake_sender sender;
	struct announcer announcer;
};

static struct netaddr addr(const char *text)
{
	struct netaddr a;
	assert_true(netaddr_parse(span_make(text, strlen(text)), &a));
	return a;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];
	assert_non_null(f);
	sara_config_defaults(&f->cfg);
	snprintf(f->cfg.name, sizeof(f->cfg.name), "test");
	f->cfg.vip_count = 1;
	f->cfg.vips[0] = addr("198.18.77.20");
	f->cfg.sip_port_count = 1;
	f->cfg.sip_ports[0] = 5060;
	f->cfg.rtsp_port_count = 1;
	f->cfg.rtsp_ports[0] = 8554;
	assert_true(announcer_init(&f->announcer, &f->cfg, 0, fake_send, &f->sender, err, sizeof(err)));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	announcer_destroy(&f->announcer);
	free(f);
	return 0;
}

/* The server's answer to the client, from the VIP, with an SDP body. */
static size_t reply_with_sdp(const char *call_id, uint8_t *ip, size_t cap)
{
	static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 198.18.2.11\r\ns=-\r\nc=IN IP4 198.18.2.11\r\nt=0 0\r\n"
				  "m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
	char reply[1024];
	int n = snprintf(reply, sizeof(reply),
			 "SIP/2.0 200 OK\r\n"
			 "Via: SIP/2.0/UDP 198.18.0.10:5060;branch=z9hG4bK-1\r\n"
			 "From: <sip:alice@example.org>;tag=1\r\nTo: <sip:bob@example.org>;tag=2\r\n"
			 "Call-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:bob@198.18.77.20:5060>\r\n"
			 "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
			 call_id, strlen(sdp), sdp);
	return packet_build_udp(NETADDR_IPV4, "198.18.77.20", 5060, "198.18.0.10", 5060, reply, (size_t)n, ip, cap);
}

static void test_reply_with_sdp_makes_one_announcement(void **state)
{
	struct fixture *f = *state;
	uint8_t ip[2048];
	size_t len = reply_with_sdp("call-1@sara-B", ip, sizeof(ip));
	struct announcement ann;
	assert_true(len > 0);
	assert_int_equal(announcer_packet(&f->announcer, ip, len, 1000), 1);
	assert_int_equal(f->sender.calls, 1);
	assert_int_equal(announce_decode(f->sender.bodies[0], f->sender.lens[0], &ann), COUNTER_NONE);
	assert_int_equal(announce_check_cluster(&f->cfg, &ann), COUNTER_NONE);
	assert_string_equal(ann.facts.key, "call-1@sara-B");
	assert_int_equal(ann.facts.status, 200);
	assert_false(ann.facts.is_request);
	assert_int_equal(ann.facts.stream_count, 1);
	assert_int_equal(ann.facts.streams[0].rtp_port, 6000);
	assert_int_equal(ann.conn.dport, 5060);
	assert_int_equal(f->announcer.stats.packets, 1);
	assert_int_equal(f->announcer.stats.announcements, 1);
	assert_int_equal(f->announcer.stats.sent, 1);
	assert_int_equal(f->announcer.stats.send_errors, 0);
}

static void test_packets_without_news(void **state)
{
	struct fixture *f = *state;
	static const char rtp[] = "\x80\x00\x00\x01 not signalling";
	uint8_t ip[2048];
	size_t len = packet_build_udp(NETADDR_IPV4, "198.18.2.11", 6000, "198.18.0.10", 7000, rtp, sizeof(rtp) - 1,
				      ip, sizeof(ip));
	assert_int_equal(announcer_packet(&f->announcer, ip, len, 1000), 0);
	assert_int_equal(announcer_packet(&f->announcer, ip, 7, 1000), 0);  /* not even an IP header */
	assert_int_equal(f->sender.calls, 0);
	assert_int_equal(f->announcer.stats.packets, 2);
	assert_int_equal(f->announcer.stats.announcements, 0);
}

/* "name value " for each counter visited. */
static void append_counter(void *ctx, const struct counter_def *def, uint64_t value)
{
	char *text = ctx;
	size_t used = strlen(text);
	snprintf(text + used, 2048 - used, "%s %llu ", def->name, (unsigned long long)value);
}

static void test_failed_sends_are_counted(void **state)
{
	struct fixture *f = *state;
	struct counter_set set = { 0 };
	char text[2048] = "";
	uint8_t ip[2048];
	size_t len = reply_with_sdp("call-2@sara-B", ip, sizeof(ip));
	f->sender.refuse = true;
	assert_int_equal(announcer_packet(&f->announcer, ip, len, 1000), 1);
	assert_int_equal(f->sender.calls, 1);
	assert_int_equal(f->announcer.stats.sent, 0);
	assert_int_equal(f->announcer.stats.send_errors, 1);
	/* sara-gw logs them under these names, zeros included, in this order
	 * (verdict_errors is the daemon's, not the announcer's; overload
	 * control's follow). */
	announcer_get_counters(&f->announcer, &set);
	counters_visit(&set, COUNTER_SCOPE_GW_DAEMON, COUNTERS_ALL, append_counter, text);
	const char *announcer_part = "packets 1 announcements 1 sent 0 send_errors 1 encode_errors 0 verdict_errors 0 oc_added 0 ";
	assert_int_equal(strncmp(text, announcer_part, strlen(announcer_part)), 0);
}

static void test_decode_line(void **state)
{
	struct fixture *f = *state;
	struct wire_header hdr = { .type = WIRE_ANNOUNCE, .sender = 7, .seq = 42, .time_ms = 1700000000000ull };
	struct sealed_message msg = { .hdr = hdr };
	struct announcement ann;
	uint8_t ip[2048];
	char *text = NULL, want[512];
	size_t size = 0, len = reply_with_sdp("call-1@sara-B", ip, sizeof(ip));
	FILE *out = open_memstream(&text, &size);
	assert_non_null(out);
	assert_int_equal(announcer_packet(&f->announcer, ip, len, 1000), 1);
	assert_int_equal(announce_decode(f->sender.bodies[0], f->sender.lens[0], &ann), COUNTER_NONE);
	gw_decoder_print_announcement(out, &hdr, &ann, COUNTER_NONE, 1700000000250ull);
	msg.hdr.body_len = (uint16_t)f->sender.lens[0];
	msg.body = f->sender.bodies[0];
	msg.hdr.type = WIRE_HEARTBEAT;
	gw_decoder_message(out, &f->cfg, &msg);
	msg.hdr.type = WIRE_ANNOUNCE;
	msg.hdr.body_len = 3;
	gw_decoder_message(out, &f->cfg, &msg);
	fclose(out);
	snprintf(want, sizeof(want),
		 "announce sender 7 seq 42 age_ms 250 udp 198.18.0.10:5060 -> 198.18.77.20:5060 sip response "
		 "invite 200 key \"call-1@sara-B\" flags confirms media replace streams 1 [on 198.18.2.11 "
		 "rtp 6000 rtcp 6001 peer 0/0] cluster ok\n"
		 "message type 2 sender 7 seq 42 len %zu\n"
		 "rejected announce_truncated sender 7 seq 42\n",
		 f->sender.lens[0]);
	assert_string_equal(text, want);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reply_with_sdp_makes_one_announcement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packets_without_news, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_sends_are_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_line, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
