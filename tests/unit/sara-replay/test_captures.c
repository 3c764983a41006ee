/* test_captures.c - unit tests for src/sara-replay/captures.c: --observed
 * arguments, merged and matched captures, unreadable files (on pcaps it writes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sara-replay/captures.h"
#include "replay_fixture.h"

#define CLIENT "192.0.2.10"
#define MAX_RECORDS 1000
#define LINKTYPE_RAW 101

static struct sara_config cfg;

/* A classic little-endian pcap file of raw IP packets, in /tmp. */
struct pcap_writer {
	char path[64];
	FILE *file;
};

static void put32(FILE *f, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	assert_int_equal(fwrite(b, 1, 4, f), 4);
}

static void pcap_create(struct pcap_writer *w)
{
	int fd;
	snprintf(w->path, sizeof(w->path), "/tmp/sara-test-captures.XXXXXX");
	fd = mkstemp(w->path);
	assert_true(fd >= 0);
	w->file = fdopen(fd, "wb");
	assert_non_null(w->file);
	put32(w->file, 0xa1b2c3d4);
	put32(w->file, 2 | 4u << 16); /* version 2.4 */
	put32(w->file, 0);
	put32(w->file, 0);
	put32(w->file, 65535);
	put32(w->file, LINKTYPE_RAW);
}

static void pcap_add(struct pcap_writer *w, uint64_t ts_us, const uint8_t *ip, size_t len)
{
	put32(w->file, (uint32_t)(ts_us / 1000000));
	put32(w->file, (uint32_t)(ts_us % 1000000));
	put32(w->file, (uint32_t)len);
	put32(w->file, (uint32_t)len);
	assert_int_equal(fwrite(ip, 1, len, w->file), len);
}

static void pcap_close(struct pcap_writer *w)
{
	assert_int_equal(fclose(w->file), 0);
}

/* One SIP message or RTP packet of a call, written at ts_us. */
static void pcap_sip(struct pcap_writer *w, uint64_t ts_us, bool outbound, const char *method, unsigned status,
		     uint16_t rtp)
{
	char text[FIXTURE_TEXT_MAX];
	uint8_t ip[FIXTURE_TEXT_MAX + 64];
	fixture_sip(text, sizeof(text), method, status, "merged@client", outbound ? FIXTURE_VIP : CLIENT, rtp);
	pcap_add(w, ts_us, ip,
		 outbound ? fixture_udp(FIXTURE_VIP, 5060, CLIENT, 5060, text, strlen(text), ip, sizeof(ip))
			  : fixture_udp(CLIENT, 5060, FIXTURE_VIP, 5060, text, strlen(text), ip, sizeof(ip)));
}

static void pcap_rtp(struct pcap_writer *w, uint64_t ts_us)
{
	uint8_t ip[128];
	pcap_add(w, ts_us, ip, fixture_udp(CLIENT, 40000, FIXTURE_VIP, 20000, fixture_rtp, sizeof(fixture_rtp), ip,
					   sizeof(ip)));
}

static void test_parse_observed(void **state)
{
	struct observed_capture cap;
	static const char *const bad[] = { "nosuch=a.pcap", "s1", "s1=", "=a.pcap", "s=a.pcap", "s12=a.pcap" };
	(void)state;
	fixture_config(&cfg);
	assert_true(captures_parse_observed("s2=/tmp/a=b.pcap", &cfg, &cap));
	assert_int_equal(cap.server, 1);
	assert_string_equal(cap.path, "/tmp/a=b.pcap");
	assert_null(cap.src);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(captures_parse_observed(bad[i], &cfg, &cap));
}

/* Merged mode: s1 captured the INVITE and ACK, s2 the answer and the RTP;
 * replayed in timestamp order the RTP follows the answer that announced it. */
static void test_merged_in_timestamp_order(void **state)
{
	struct pcap_writer at_s1, at_s2;
	struct observed_capture caps[2];
	struct replay r;
	const struct session_record *s;
	const struct flow_record *media;
	char args[2][80]; /* a capture's path points into its argument */
	(void)state;
	pcap_create(&at_s1);
	pcap_create(&at_s2);
	pcap_sip(&at_s1, FIXTURE_START_US + 1000, false, "INVITE", 0, 40000);
	pcap_sip(&at_s2, FIXTURE_START_US + 2000, true, "INVITE", 200, 20000);
	pcap_sip(&at_s1, FIXTURE_START_US + 3000, false, "ACK", 0, 0);
	pcap_rtp(&at_s2, FIXTURE_START_US + 4000);
	pcap_rtp(&at_s2, FIXTURE_START_US + 5000);
	pcap_close(&at_s1);
	pcap_close(&at_s2);
	fixture_replay(&r, &cfg, REPLAY_MERGED, MAX_RECORDS);
	snprintf(args[0], sizeof(args[0]), "s1=%s", at_s1.path);
	assert_true(captures_parse_observed(args[0], &cfg, &caps[0]));
	snprintf(args[1], sizeof(args[1]), "s2=%s", at_s2.path);
	assert_true(captures_parse_observed(args[1], &cfg, &caps[1]));
	assert_int_equal(captures_replay(&r, caps, 2, NULL, 0, false), 0);
	replay_finish(&r);

	assert_true(replay_server_observed(&r, 0) && replay_server_observed(&r, 1));
	assert_int_equal(r.tally[0].inbound, 2);
	assert_int_equal(r.tally[1].inbound, 2);
	assert_int_equal(r.tally[1].outbound, 1);
	assert_int_equal(r.records.session_count, 1);
	s = &r.records.sessions[0];
	assert_int_equal(s->first_observed, 0);
	assert_int_not_equal(s->first_flow, RECORD_NONE);
	media = &r.records.flows[r.records.flows[s->first_flow].next_of_session];
	assert_int_equal(media->identity, FLOW_SECONDARY);
	assert_int_equal(media->servers, 1u << 1);
	assert_int_equal(r.records.flows[s->first_flow].servers, 1u << 0);
	captures_close(caps, 2);
	replay_free(&r);
	unlink(at_s1.path);
	unlink(at_s2.path);
}

/* Matched mode: the sent capture claims the copies s3 captured; the packet
 * s3 never got is lost, the one only s3 has is unmatched. */
static void test_matched_against_sent(void **state)
{
	struct pcap_writer sent, at_s3;
	struct observed_capture cap;
	struct replay r;
	char *files[1];
	uint8_t ip[128];
	(void)state;
	pcap_create(&sent);
	pcap_create(&at_s3);
	for (uint16_t port = 41000; port < 41003; port++) {
		size_t n = fixture_udp(CLIENT, port, FIXTURE_VIP, 30000, fixture_rtp, sizeof(fixture_rtp), ip,
				       sizeof(ip));
		pcap_add(&sent, FIXTURE_START_US + port, ip, n);
		if (port != 41001)
			pcap_add(&at_s3, FIXTURE_START_US + port + 10, ip, n);
	}
	pcap_add(&at_s3, FIXTURE_START_US + 50000, ip,
		 fixture_udp(CLIENT, 45000, FIXTURE_VIP, 30000, fixture_rtp, sizeof(fixture_rtp), ip, sizeof(ip)));
	pcap_close(&sent);
	pcap_close(&at_s3);
	fixture_replay(&r, &cfg, REPLAY_MATCHED, MAX_RECORDS);
	cap = (struct observed_capture){ .path = at_s3.path, .server = 2 };
	files[0] = sent.path;
	assert_int_equal(captures_replay(&r, &cap, 1, files, 1, false), 0);
	replay_finish(&r);
	assert_int_equal(r.inbound, 3);
	assert_int_equal(r.records.flow_count, 3);
	for (uint32_t i = 0; i < 3; i++) {
		const struct flow_record *f = &r.records.flows[i];
		assert_int_equal(f->servers, f->key.sport == 41001 ? 0 : 1u << 2);
		assert_int_equal(f->unmarked, f->key.sport == 41001);
	}
	assert_int_equal(r.tally[2].inbound, 2);
	assert_int_equal(r.tally[2].unmatched, 1);
	captures_close(&cap, 1);
	replay_free(&r);
	unlink(sent.path);
	unlink(at_s3.path);
}

/* A file that cannot be opened fails the run; files before it stay replayed. */
static void test_unreadable_files(void **state)
{
	struct pcap_writer good;
	struct observed_capture cap = { .path = "/nonexistent/s1.pcap", .server = 0 };
	struct replay r;
	char *files[2];
	uint8_t ip[128];
	(void)state;
	pcap_create(&good);
	pcap_add(&good, FIXTURE_START_US, ip,
		 fixture_udp(CLIENT, 41000, FIXTURE_VIP, 30000, fixture_rtp, sizeof(fixture_rtp), ip, sizeof(ip)));
	pcap_close(&good);
	files[0] = good.path;
	files[1] = "/nonexistent/sent.pcap";
	fixture_replay(&r, &cfg, REPLAY_PLAIN, MAX_RECORDS);
	assert_int_equal(captures_replay(&r, NULL, 0, files, 2, false), -1);
	assert_int_equal(r.inbound, 1);
	replay_free(&r);
	fixture_replay(&r, &cfg, REPLAY_MERGED, MAX_RECORDS);
	assert_int_equal(captures_replay(&r, &cap, 1, NULL, 0, false), -1);
	assert_true(replay_server_observed(&r, 0));
	captures_close(&cap, 1);
	replay_free(&r);
	unlink(good.path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_observed),
		cmocka_unit_test(test_merged_in_timestamp_order),
		cmocka_unit_test(test_matched_against_sent),
		cmocka_unit_test(test_unreadable_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
