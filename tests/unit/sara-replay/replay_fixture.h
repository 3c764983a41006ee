/* replay_fixture.h - what sara-replay's unit tests share: a three-server
 * cluster, a replay over it, hand-built packets, a SIP call, hand-made records. */
#ifndef SARA_TESTS_REPLAY_FIXTURE_H
#define SARA_TESTS_REPLAY_FIXTURE_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/config.h"
#include "sara-replay/replay.h"
#include "packet_builder.h"

#define FIXTURE_VIP "198.18.10.1"
#define FIXTURE_SERVERS 3
#define FIXTURE_SIP_PORT 5060
#define FIXTURE_TEXT_MAX 4096
#define FIXTURE_START_US 1700000000000000ull

/* One clock for every packet a test feeds: 20 ms apart. */
static uint64_t fixture_now_us = FIXTURE_START_US;

static inline void fixture_parse_address(const char *text, struct netaddr *out)
{
	assert_true(netaddr_parse(span_make(text, strlen(text)), out));
}

/* One IPv4 VIP and servers s1, s2, s3 (10.0.0.1-3), round-robin, so that
 * consecutive calls land on different servers. */
static inline void fixture_config(struct sara_config *cfg)
{
	sara_config_defaults(cfg);
	snprintf(cfg->name, sizeof(cfg->name), "replay-test");
	cfg->vip_count = 1;
	fixture_parse_address(FIXTURE_VIP, &cfg->vips[0]);
	cfg->server_count = FIXTURE_SERVERS;
	for (unsigned i = 0; i < FIXTURE_SERVERS; i++) {
		struct server_config *s = &cfg->servers[i];
		char address[16];
		snprintf(s->id, sizeof(s->id), "s%u", i + 1);
		snprintf(address, sizeof(address), "10.0.0.%u", i + 1);
		fixture_parse_address(address, &s->address);
		s->mark = 0x100 + i;
		s->table = 101 + i;
		s->weight = 1.0;
	}
	cfg->selection.algorithm = SELECT_ROUND_ROBIN;
}

/* A replay of mode over cfg (filled by fixture_config), with a fixed hash key. */
static inline void fixture_replay(struct replay *r, struct sara_config *cfg, enum replay_mode mode,
				  uint64_t max_records)
{
	struct hash_key key;
	char err[256];
	memset(&key, 0x5a, sizeof(key));
	fixture_config(cfg);
	fixture_now_us = FIXTURE_START_US;
	if (!replay_init(r, cfg, mode, &key, max_records, err, sizeof(err)))
		fail_msg("replay_init: %s", err);
}

/* A captured packet holding the datagram in buf. */
static inline struct captured_packet fixture_captured(const uint8_t *buf, size_t len)
{
	struct captured_packet cp = { .l3 = buf, .l3_len = len, .l3_wire_len = len,
				      .ts_us = fixture_now_us, .family = 2 };
	fixture_now_us += 20000;
	return cp;
}

static inline size_t fixture_udp(const char *src, uint16_t sport, const char *dst, uint16_t dport,
				 const void *payload, size_t len, uint8_t *buf, size_t size)
{
	size_t n = packet_build_udp(NETADDR_IPV4, src, sport, dst, dport, payload, len, buf, size);
	assert_true(n > 0);
	return n;
}

/* One UDP datagram through replay_packet. */
static inline void fixture_feed_udp(struct replay *r, const char *src, uint16_t sport, const char *dst,
				    uint16_t dport, const void *payload, size_t len)
{
	static uint8_t buf[FIXTURE_TEXT_MAX + 64];
	struct captured_packet cp = fixture_captured(buf, fixture_udp(src, sport, dst, dport, payload, len,
									buf, sizeof(buf)));
	replay_packet(r, &cp);
}

static inline void fixture_feed_tcp(struct replay *r, const char *src, uint16_t sport, const char *dst,
				    uint16_t dport, uint32_t seq, uint8_t flags, const char *text)
{
	static uint8_t buf[FIXTURE_TEXT_MAX + 64];
	size_t n = packet_build_tcp(NETADDR_IPV4, src, sport, dst, dport, seq, flags, text,
				    text ? strlen(text) : 0, buf, sizeof(buf));
	struct captured_packet cp;
	assert_true(n > 0);
	cp = fixture_captured(buf, n);
	replay_packet(r, &cp);
}

/* A 12-byte RTP packet (version 2). */
static const uint8_t fixture_rtp[12] = { 0x80, 0x00, 0x12, 0x34 };

/* SIP message text: a request when status is 0, else a response; sdp_addr
 * and rtp (0: none) give an SDP body with one audio stream. */
static inline const char *fixture_sip(char *buf, size_t size, const char *method, unsigned status,
				      const char *call_id, const char *sdp_addr, uint16_t rtp)
{
	char sdp[512] = "";
	char first[128];
	int n;
	if (rtp)
		snprintf(sdp, sizeof(sdp),
			 "v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
			 "m=audio %u RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
			 sdp_addr, sdp_addr, rtp);
	if (status)
		snprintf(first, sizeof(first), "SIP/2.0 %u OK", status);
	else
		snprintf(first, sizeof(first), "%s sip:bob@sara.example SIP/2.0", method);
	n = snprintf(buf, size,
		     "%s\r\nVia: SIP/2.0/UDP client.example:5060;branch=z9hG4bK-1\r\nMax-Forwards: 70\r\n"
		     "From: <sip:alice@client.example>;tag=1928301774\r\nTo: <sip:bob@sara.example>;tag=a6c85cf\r\n"
		     "Call-ID: %s\r\nCSeq: 1 %s\r\nContact: <sip:alice@client.example>\r\n%s"
		     "Content-Length: %zu\r\n\r\n%s",
		     first, call_id, method, rtp ? "Content-Type: application/sdp\r\n" : "", strlen(sdp), sdp);
	assert_true(n > 0 && (size_t)n < size);
	return buf;
}

/* A whole UDP call from client: INVITE offering client:client_rtp, 200 OK
 * from the VIP with its audio at VIP:server_rtp (through the gateway), ACK,
 * then rtp_packets RTP packets client:client_rtp -> VIP:server_rtp. */
static inline void fixture_call(struct replay *r, const char *client, const char *call_id, uint16_t client_rtp,
				uint16_t server_rtp, unsigned rtp_packets)
{
	char text[FIXTURE_TEXT_MAX];
	fixture_sip(text, sizeof(text), "INVITE", 0, call_id, client, client_rtp);
	fixture_feed_udp(r, client, FIXTURE_SIP_PORT, FIXTURE_VIP, FIXTURE_SIP_PORT, text, strlen(text));
	fixture_sip(text, sizeof(text), "INVITE", 200, call_id, FIXTURE_VIP, server_rtp);
	fixture_feed_udp(r, FIXTURE_VIP, FIXTURE_SIP_PORT, client, FIXTURE_SIP_PORT, text, strlen(text));
	fixture_sip(text, sizeof(text), "ACK", 0, call_id, NULL, 0);
	fixture_feed_udp(r, client, FIXTURE_SIP_PORT, FIXTURE_VIP, FIXTURE_SIP_PORT, text, strlen(text));
	for (unsigned i = 0; i < rtp_packets; i++)
		fixture_feed_udp(r, client, client_rtp, FIXTURE_VIP, server_rtp, fixture_rtp, sizeof(fixture_rtp));
}

/* A session record made by hand (as the replay would have): serial, its
 * SIP Call-ID, the engine's server and the server that observed it first. */
static inline struct session_record *fixture_session(struct replay *r, uint64_t serial, const char *call_id,
						     int server, int first_observed)
{
	uint32_t id = records_session(&r->records, serial, true);
	struct session_record *s;
	assert_int_not_equal(id, RECORD_NONE);
	s = &r->records.sessions[id];
	s->proto = PROTO_SIP;
	snprintf(s->key, sizeof(s->key), "%s", call_id);
	s->server = server;
	s->first_observed = first_observed;
	s->first_us = s->last_us = fixture_now_us;
	fixture_now_us += 20000;
	return s;
}

/* A UDP flow record made by hand: src:sport -> VIP:dport, of session
 * (0: none) and kind identity, its packets at the servers in the bit set
 * servers (unmarked: some at none). */
static inline struct flow_record *fixture_flow(struct replay *r, const char *src, uint16_t sport, uint16_t dport,
					       uint64_t session, enum flow_identity identity, uint64_t packets,
					       uint64_t servers, bool unmarked)
{
	struct flow_key key;
	struct netaddr a, b;
	uint32_t id;
	struct flow_record *f;
	fixture_parse_address(src, &a);
	fixture_parse_address(FIXTURE_VIP, &b);
	memset(&key, 0, sizeof(key));
	key.family = NETADDR_IPV4;
	key.l4 = L4_UDP;
	key.sport = sport;
	key.dport = dport;
	memcpy(key.src, a.bytes, 16);
	memcpy(key.dst, b.bytes, 16);
	id = records_flow(&r->records, &key, session, true);
	assert_int_not_equal(id, RECORD_NONE);
	f = &r->records.flows[id];
	f->identity = (uint8_t)identity;
	f->packets = packets;
	f->servers = servers;
	f->unmarked = unmarked;
	f->first_us = fixture_now_us;
	return f;
}

/* Tests run from the repository root (make unit) or from tests/unit. */
static inline const char *fixture_repo_path(const char *name, char *buf, size_t size)
{
	static const char *const dirs[] = { ".", "../..", ".." };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(buf, size, "%s/%s", dirs[i], name);
		if (access(buf, R_OK) == 0)
			return buf;
	}
	snprintf(buf, size, "%s", name);
	return buf;
}

#endif
