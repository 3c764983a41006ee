/* bench_engine.c - engine figures against same-run baselines: SIP msg/s vs libosip2, captures
 * vs a libpcap read, bytes per flow/session, media packet cost at 1 k vs 1 M sessions, and
 * the engine lock's longest hold while a failed server's 250 000-session share moves. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <osipparser2/osip_message.h>
#include <osipparser2/osip_parser.h>
#include <osipparser2/sdp_message.h>
#include <pcap/pcap.h>

#include "engine/big_alloc.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "engine/flow_table.h"
#include "engine/gateway.h"
#include "dpi/packet.h"
#include "io/pcap_source.h"
#include "engine/session_table.h"

#include "../unit/packet_builder.h"
#include "bench_common.h"

#define BENCH_VIP "198.18.77.20"
#define BENCH_VIP6 "fd00:77::20"
#define SIP_TARGET_MSG_PER_S 100000.0
#define FLOW_TARGET_BYTES 256.0
#define SCALE_TARGET_RATIO 1.2
#define SCALE_BUILD_BUDGET_S 60.0
#define SCALE_FALLBACK_SESSIONS 250000u
#define MAX_PACKET 2048
#define MAX_ANNOUNCEMENTS 16
#define RTP_PAYLOAD 160
#define TINY_CAPTURE 100          /* packets: below this pcap_open dominates the baseline */
#define LATENCY_NODE 64           /* bytes: one node per cache line */
#define LATENCY_MAX_BYTES (1ull << 30)

#define NOINLINE __attribute__((noinline)) /* timed loops stay named for callgrind */

/* ---- small helpers ---- */

static void *xmalloc(size_t size)
{
	void *p = malloc(size);
	if (!p) {
		fprintf(stderr, "bench_engine: out of memory (%zu bytes)\n", size);
		exit(2);
	}
	return p;
}

/* xorshift64*: deterministic, cheap, good enough to scatter lookups. */
static void human_rate(double per_second, char *buf, size_t size)
{
	if (per_second >= 1e6)
		snprintf(buf, size, "%.2fM", per_second / 1e6);
	else if (per_second >= 1e3)
		snprintf(buf, size, "%.1fk", per_second / 1e3);
	else
		snprintf(buf, size, "%.0f", per_second);
}

static bool parse_address(const char *text, struct netaddr *out)
{
	return netaddr_parse(span_make(text, strlen(text)), out);
}

static bool config_add_vip(struct sara_config *cfg, const struct netaddr *vip)
{
	if (sara_config_is_vip(cfg, vip))
		return true;
	if (cfg->vip_count == SARA_MAX_VIPS)
		return false;
	cfg->vips[cfg->vip_count++] = *vip;
	return true;
}

/* The lab cluster of conf/example.cfg, built in code, with long timeouts
 * (the benchmarks keep the engine clock still, nothing must expire). */
static void bench_config(struct sara_config *cfg, uint32_t flows, uint32_t sessions)
{
	static const char *const server_addresses[] = { "198.18.2.11", "198.18.2.12", "198.18.2.13" };
	static const char *const server_addresses6[] = { "fd00:2::11", "fd00:2::12", "fd00:2::13" };
	struct netaddr vip;
	sara_config_defaults(cfg);
	snprintf(cfg->name, sizeof(cfg->name), "bench");
	parse_address(BENCH_VIP, &vip);
	config_add_vip(cfg, &vip);
	parse_address(BENCH_VIP6, &vip);
	config_add_vip(cfg, &vip);
	for (unsigned i = 0; i < 3; i++) {
		struct server_config *s = &cfg->servers[i];
		snprintf(s->id, sizeof(s->id), "s%u", i + 1);
		parse_address(server_addresses[i], &s->address);
		parse_address(server_addresses6[i], &s->address6);
		s->mark = i + 1;
		s->table = 101 + i;
		s->weight = 1.0;
	}
	cfg->server_count = 3;
	cfg->timeouts.signalling_s = 60;
	cfg->timeouts.media_s = 60;
	cfg->timeouts.linger_s = 60;
	cfg->limits.flows = flows;
	cfg->limits.sessions = sessions;
}

static struct engine *engine_or_die(const struct sara_config *cfg, uint64_t now_ms)
{
	char err[256];
	struct engine *engine = engine_create(cfg, NULL, now_ms, err, sizeof(err));
	if (!engine) {
		fprintf(stderr, "bench_engine: engine_create: %s\n", err);
		exit(2);
	}
	return engine;
}

/* ---- packet arena: many datagrams in one allocation ---- */

struct packet_ref {
	size_t offset;     /* into the arena's bytes */
	uint32_t len;
	uint32_t body;     /* SIP: offset of the SDP body in the payload, 0 if none */
	uint64_t ms;       /* capture time (replay) */
};

struct arena {
	uint8_t *bytes;
	size_t used, capacity;
	struct packet_ref *packets;
	size_t count, packet_capacity;
};

static void arena_reset(struct arena *a)
{
	a->used = 0;
	a->count = 0;
}

static void arena_free(struct arena *a)
{
	free(a->bytes);
	free(a->packets);
	memset(a, 0, sizeof(*a));
}

/* Appends len bytes plus a NUL (libosip2's SDP parser wants one). */
static struct packet_ref *arena_add(struct arena *a, const uint8_t *data, size_t len)
{
	size_t need = (len + 1 + 15) & ~(size_t)15;
	if (a->used + need > a->capacity) {
		a->capacity = (a->capacity ? a->capacity * 2 : 1 << 20) + need;
		a->bytes = realloc(a->bytes, a->capacity);
		if (!a->bytes) {
			fprintf(stderr, "bench_engine: out of memory for packets\n");
			exit(2);
		}
	}
	if (a->count == a->packet_capacity) {
		a->packet_capacity = a->packet_capacity ? a->packet_capacity * 2 : 4096;
		a->packets = realloc(a->packets, a->packet_capacity * sizeof(a->packets[0]));
		if (!a->packets) {
			fprintf(stderr, "bench_engine: out of memory for packet index\n");
			exit(2);
		}
	}
	memcpy(a->bytes + a->used, data, len);
	a->bytes[a->used + len] = 0;
	struct packet_ref *ref = &a->packets[a->count++];
	memset(ref, 0, sizeof(*ref));
	ref->offset = a->used;
	ref->len = (uint32_t)len;
	a->used += need;
	return ref;
}

static const uint8_t *arena_data(const struct arena *a, const struct packet_ref *ref)
{
	return a->bytes + ref->offset;
}

/* ---- synthetic calls ---- */

enum sip_kind { SIP_KIND_INVITE = 0, SIP_KIND_ACK, SIP_KIND_BYE };

/* Call i's client: a distinct IPv4 address, RTP on an even port. */
struct call_endpoints {
	char client[16];
	uint16_t rtp_port;
	uint16_t vip_media_port;  /* where its RTP goes (the server's port, via the VIP) */
};

static void call_endpoints_of(uint32_t call, struct call_endpoints *out)
{
	snprintf(out->client, sizeof(out->client), "10.%u.%u.%u", (call >> 16) & 0xff,
		 (call >> 8) & 0xff, call & 0xff);
	out->rtp_port = (uint16_t)(16384 + 2 * (call % 8192));
	out->vip_media_port = (uint16_t)(30000 + 2 * (call % 10000));
}

/* Writes the SIP text of one message of call i (sipp's uac scenario); the
 * SDP body offset goes to *body_at (0 when there is none). */
static size_t sip_message_text(uint32_t call, enum sip_kind kind, char *buf, size_t size,
			       size_t *body_at)
{
	struct call_endpoints ep;
	char sdp[512];
	int sdp_len = 0, head_len;
	call_endpoints_of(call, &ep);
	*body_at = 0;
	if (kind == SIP_KIND_INVITE)
		sdp_len = snprintf(sdp, sizeof(sdp),
				   "v=0\r\n"
				   "o=user1 53655765 2353687637 IN IP4 %s\r\n"
				   "s=-\r\n"
				   "c=IN IP4 %s\r\n"
				   "t=0 0\r\n"
				   "m=audio %u RTP/AVP 0 8 101\r\n"
				   "a=rtpmap:0 PCMU/8000\r\n"
				   "a=rtpmap:8 PCMA/8000\r\n"
				   "a=rtpmap:101 telephone-event/8000\r\n"
				   "a=fmtp:101 0-15\r\n"
				   "a=sendrecv\r\n",
				   ep.client, ep.client, ep.rtp_port);
	static const char *const methods[] = { "INVITE", "ACK", "BYE" };
	static const unsigned cseqs[] = { 1, 1, 2 };
	head_len = snprintf(buf, size,
			    "%s sip:service@" BENCH_VIP ":5060 SIP/2.0\r\n"
			    "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bK-%u-%u-%d\r\n"
			    "From: sipp <sip:sipp@%s:5060>;tag=%u\r\n"
			    "To: service <sip:service@" BENCH_VIP ":5060>%s\r\n"
			    "Call-ID: %u-bench@%s\r\n"
			    "CSeq: %u %s\r\n"
			    "Contact: sip:sipp@%s:5060\r\n"
			    "Max-Forwards: 70\r\n"
			    "Subject: Performance Test\r\n"
			    "%s"
			    "Content-Length: %d\r\n"
			    "\r\n",
			    methods[kind], ep.client, call, cseqs[kind], (int)kind, ep.client,
			    call * 7 + 1, kind == SIP_KIND_INVITE ? "" : ";tag=srv1", call, ep.client,
			    cseqs[kind], methods[kind], ep.client,
			    kind == SIP_KIND_INVITE ? "Content-Type: application/sdp\r\n" : "", sdp_len);
	if (head_len < 0 || (size_t)head_len + (size_t)sdp_len >= size)
		return 0;
	if (sdp_len > 0) {
		memcpy(buf + head_len, sdp, (size_t)sdp_len);
		*body_at = (size_t)head_len;
	}
	return (size_t)head_len + (size_t)sdp_len;
}

/* One SIP message of call i as an IPv4/UDP datagram client:5060 -> VIP:5060. */
static size_t sip_message_packet(uint32_t call, enum sip_kind kind, uint8_t *buf, size_t size,
				 size_t *body_at)
{
	char text[1500];
	struct call_endpoints ep;
	size_t len = sip_message_text(call, kind, text, sizeof(text), body_at);
	call_endpoints_of(call, &ep);
	if (len == 0)
		return 0;
	return packet_build_udp(AF_INET, ep.client, 5060, BENCH_VIP, 5060, text, len, buf, size);
}

/* An RTP packet (G.711, 20 ms) of call i: client RTP port -> VIP media port. */
static size_t rtp_packet(uint32_t call, uint16_t sequence, uint8_t *buf, size_t size)
{
	uint8_t rtp[12 + RTP_PAYLOAD];
	struct call_endpoints ep;
	call_endpoints_of(call, &ep);
	memset(rtp, 0xd5, sizeof(rtp));
	rtp[0] = 0x80;
	rtp[1] = 0;
	packet_builder_put16(rtp + 2, sequence);
	packet_builder_put32(rtp + 4, (uint32_t)sequence * 160u);
	packet_builder_put32(rtp + 8, call * 2654435761u);
	return packet_build_udp(AF_INET, ep.client, ep.rtp_port, BENCH_VIP, ep.vip_media_port, rtp,
				sizeof(rtp), buf, size);
}

/* ---- 1. SIP messages/s through parse + engine ---- */

struct sip_workload {
	struct arena packets;   /* INVITE, ACK, BYE datagrams, in feeding order */
	uint32_t calls;
};

/* Calls overlap like a loaded server's: INVITE of call i, ACK of call
 * i - window, BYE of call i - 2 * window. */
static void sip_workload_build(struct sip_workload *w, uint32_t calls)
{
	const uint32_t window = calls < 2000 ? calls / 4 + 1 : 500;
	uint8_t buf[MAX_PACKET];
	memset(w, 0, sizeof(*w));
	w->calls = calls;
	for (uint32_t step = 0; step < calls + 2 * window; step++) {
		for (int kind = SIP_KIND_INVITE; kind <= SIP_KIND_BYE; kind++) {
			uint32_t lag = (uint32_t)kind * window;
			size_t body_at, len;
			if (step < lag || step - lag >= calls)
				continue;
			len = sip_message_packet(step - lag, (enum sip_kind)kind, buf, sizeof(buf), &body_at);
			if (len == 0) {
				fprintf(stderr, "bench_engine: cannot build SIP message\n");
				exit(2);
			}
			arena_add(&w->packets, buf, len)->body = (uint32_t)body_at;
		}
	}
}

/* Timed: every message through engine_packet. Returns messages tied to a session. */
static NOINLINE size_t feed_sip_messages(struct engine *engine, const struct arena *packets)
{
	size_t with_session = 0;
	for (size_t i = 0; i < packets->count; i++) {
		struct verdict v;
		engine_packet(engine, arena_data(packets, &packets->packets[i]), packets->packets[i].len,
			      1000, &v);
		with_session += v.session != 0;
	}
	return with_session;
}

/* Timed: the same SIP bytes through libosip2 alone (message, then SDP body). */
static NOINLINE size_t parse_sip_baseline(const struct arena *packets)
{
	const size_t l4_offset = PACKET_BUILDER_IPV4_HEADER + PACKET_BUILDER_UDP_HEADER;
	size_t parsed = 0;
	for (size_t i = 0; i < packets->count; i++) {
		const struct packet_ref *ref = &packets->packets[i];
		const char *text = (const char *)arena_data(packets, ref) + l4_offset;
		osip_message_t *msg;
		bool ok;
		if (osip_message_init(&msg) != 0)
			continue;
		ok = osip_message_parse(msg, text, ref->len - l4_offset) == 0;
		if (ref->body) {
			sdp_message_t *sdp;
			ok = ok && sdp_message_init(&sdp) == 0;
			if (ok) {
				ok = sdp_message_parse(sdp, text + ref->body) == 0;
				sdp_message_free(sdp);
			}
		}
		osip_message_free(msg);
		parsed += ok;
	}
	return parsed;
}

static void bench_sip(uint32_t calls, unsigned rounds)
{
	struct sip_workload w;
	struct sara_config cfg;
	double engine_s[16], osip_s[16];
	size_t with_session = 0, parsed = 0, invite_bytes;
	char rate[32], base_rate[32];
	if (rounds > 16)
		rounds = 16;
	sip_workload_build(&w, calls);
	invite_bytes = w.packets.packets[0].len;
	bench_config(&cfg, calls * 4 + 64, calls + 64);
	parser_init();
	for (unsigned r = 0; r < rounds; r++) {
		struct engine *engine = engine_or_die(&cfg, 1000);
		double t0 = now_seconds();
		with_session = feed_sip_messages(engine, &w.packets);
		engine_s[r] = now_seconds() - t0;
		engine_destroy(engine);
		t0 = now_seconds();
		parsed = parse_sip_baseline(&w.packets);
		osip_s[r] = now_seconds() - t0;
	}
	double engine_rate = (double)w.packets.count / median_of(engine_s, rounds);
	double osip_rate = (double)w.packets.count / median_of(osip_s, rounds);
	human_rate(engine_rate, rate, sizeof(rate));
	human_rate(osip_rate, base_rate, sizeof(base_rate));
	printf("engine sip invite+sdp/ack/bye: %.0f msg/s = %s (%.2fx target 100k; libosip2 alone "
	       "%.0f msg/s = %s, ratio %.2f)\n",
	       engine_rate, rate, engine_rate / SIP_TARGET_MSG_PER_S, osip_rate, base_rate,
	       engine_rate / osip_rate);
	printf("  %u calls x 3 messages, INVITE %zu bytes on the wire, median of %u rounds; "
	       "%.2f us/msg engine, %.2f us/msg libosip2\n",
	       calls, invite_bytes, rounds, 1e6 / engine_rate, 1e6 / osip_rate);
	if (with_session != w.packets.count)
		printf("  WARNING: %zu of %zu messages tied to no session\n",
		       w.packets.count - with_session, w.packets.count);
	if (parsed != w.packets.count)
		printf("  WARNING: libosip2 refused %zu of %zu messages\n", w.packets.count - parsed,
		       w.packets.count);
	arena_free(&w.packets);
}

/* ---- 2. Engine packets/s on replayed captures ---- */

struct capture {
	const char *path;
	struct arena packets;   /* l3 bytes, capture order */
	struct netaddr vip;     /* family 0: only the configured ones */
	uint64_t skipped_records;
};

static bool capture_load(struct capture *c, const char *path)
{
	char err[PCAP_SOURCE_ERR_MAX];
	struct captured_packet cp;
	struct pcap_source *src = pcap_source_open(path, err, sizeof(err));
	int rc;
	memset(c, 0, sizeof(*c));
	c->path = path;
	if (!src) {
		printf("capture %s: skipped (%s)\n", path, err);
		return false;
	}
	while ((rc = pcap_source_next(src, &cp)) == 1)
		arena_add(&c->packets, cp.l3, cp.l3_len)->ms = captured_packet_ms(&cp);
	c->skipped_records = pcap_source_stats(src)->skipped;
	if (rc < 0)
		printf("capture %s: read error after %zu packets (%s); timing what was read\n", path,
		       c->packets.count, pcap_source_error(src));
	pcap_source_close(src);
	if (c->packets.count == 0) {
		printf("capture %s: skipped (no IP packets)\n", path);
		arena_free(&c->packets);
		return false;
	}
	return true;
}

/* The VIP of a capture with none given: where the first packet to a SIP or
 * RTSP port goes. */
static bool capture_guess_vip(struct capture *c, const struct sara_config *cfg)
{
	for (size_t i = 0; i < c->packets.count; i++) {
		struct packet pkt;
		const struct packet_ref *ref = &c->packets.packets[i];
		if (packet_decode(arena_data(&c->packets, ref), ref->len, &pkt) != PACKET_OK)
			continue;
		if (!sara_config_is_sip_port(cfg, pkt.key.dport) && !sara_config_is_rtsp_port(cfg, pkt.key.dport))
			continue;
		memset(&c->vip, 0, sizeof(c->vip));
		c->vip.family = pkt.key.family;
		memcpy(c->vip.bytes, pkt.key.dst, 16);
		return true;
	}
	return false;
}

struct replay_counts {
	size_t inbound, outbound, other, announcements;
};

static bool key_addr_is(const struct sara_config *cfg, const uint8_t *bytes, uint8_t family,
			bool servers_too)
{
	struct netaddr a;
	memset(&a, 0, sizeof(a));
	a.family = family;
	memcpy(a.bytes, bytes, 16);
	return sara_config_is_vip(cfg, &a) || (servers_too && sara_config_server_by_address(cfg, &a) >= 0);
}

/* Timed: one pass over a loaded capture, classified as sara-replay does:
 * to a VIP from outside -> engine; from the cluster to outside -> gateway,
 * its announcements -> engine; anything else is left alone. */
static NOINLINE void feed_capture(struct engine *engine, struct gateway *gw,
				  const struct sara_config *cfg, const struct arena *packets,
				  struct replay_counts *counts)
{
	memset(counts, 0, sizeof(*counts));
	for (size_t i = 0; i < packets->count; i++) {
		const struct packet_ref *ref = &packets->packets[i];
		const uint8_t *ip = arena_data(packets, ref);
		struct packet pkt;
		enum packet_status status = packet_decode(ip, ref->len, &pkt);
		bool to_vip, from_cluster;
		if (status != PACKET_OK && status != PACKET_FRAGMENT) {
			counts->other++;
			continue;
		}
		to_vip = key_addr_is(cfg, pkt.key.dst, pkt.key.family, false);
		from_cluster = key_addr_is(cfg, pkt.key.src, pkt.key.family, true);
		if (to_vip && !from_cluster) {
			struct verdict v;
			counts->inbound++;
			engine_packet(engine, ip, ref->len, ref->ms, &v);
		} else if (from_cluster && !to_vip) {
			struct announcement ann[MAX_ANNOUNCEMENTS];
			size_t n = gateway_packet(gw, ip, ref->len, ref->ms, ann, MAX_ANNOUNCEMENTS);
			counts->outbound++;
			for (size_t a = 0; a < n; a++)
				engine_announce(engine, &ann[a], ref->ms);
			counts->announcements += n;
		} else {
			counts->other++;
		}
	}
}

/* Timed: the floor - libpcap reading the file and touching every packet. */
static NOINLINE size_t read_with_libpcap(const char *path, uint64_t *touched)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *header;
	const u_char *data;
	size_t packets = 0;
	pcap_t *p = pcap_open_offline(path, errbuf);
	if (!p)
		return 0;
	while (pcap_next_ex(p, &header, &data) == 1) {
		uint64_t sum = header->caplen;
		for (uint32_t b = 0; b < header->caplen && b < 64; b += 8)
			sum += data[b];
		*touched += sum;
		packets++;
	}
	pcap_close(p);
	return packets;
}

struct replay_totals {
	size_t files, tiny_files, packets;
	double engine_s, pcap_s;
};

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static void bench_capture(const char *path, const struct netaddr *given_vip, bool guess_vip,
			  struct replay_totals *totals)
{
	struct capture c;
	struct sara_config cfg;
	struct replay_counts counts;
	double engine_s = 0, pcap_s = 0;
	uint64_t touched = 0;
	unsigned reps;
	char vip_text[NETADDR_STRLEN] = "configured";
	char rate[32], base_rate[32];
	if (!capture_load(&c, path))
		return;
	/* Small tables for small captures: creation stays cheap (untimed anyway). */
	uint32_t flows = c.packets.count * 4 + 1024, sessions = c.packets.count + 256;
	bench_config(&cfg, flows, sessions);
	if (given_vip && given_vip->family) {
		c.vip = *given_vip;
	} else if (guess_vip && !capture_guess_vip(&c, &cfg)) {
		printf("capture %s: skipped (no packet to a SIP/RTSP port to take a VIP from)\n",
		       base_name(path));
		arena_free(&c.packets);
		return;
	}
	if (c.vip.family) {
		if (sara_config_server_by_address(&cfg, &c.vip) < 0)
			config_add_vip(&cfg, &c.vip);
		netaddr_format(&c.vip, vip_text, sizeof(vip_text));
	}
	reps = (unsigned)(200000 / c.packets.count);
	reps = reps < 5 ? 5 : reps > 2000 ? 2000 : reps;
	for (unsigned r = 0; r < reps; r++) {
		char err[256];
		uint64_t start_ms = c.packets.packets[0].ms;
		struct engine *engine = engine_or_die(&cfg, start_ms);
		struct gateway *gw = gateway_create(&cfg, start_ms, err, sizeof(err));
		if (!gw) {
			fprintf(stderr, "bench_engine: gateway_create: %s\n", err);
			exit(2);
		}
		double t0 = now_seconds();
		feed_capture(engine, gw, &cfg, &c.packets, &counts);
		engine_s += now_seconds() - t0;
		gateway_destroy(gw);
		engine_destroy(engine);
		t0 = now_seconds();
		read_with_libpcap(path, &touched);
		pcap_s += now_seconds() - t0;
	}
	double engine_rate = (double)c.packets.count * reps / engine_s;
	double pcap_rate = (double)c.packets.count * reps / pcap_s;
	human_rate(engine_rate, rate, sizeof(rate));
	human_rate(pcap_rate, base_rate, sizeof(base_rate));
	bool tiny = c.packets.count < TINY_CAPTURE;
	printf("capture %s: engine %s pkt/s (libpcap read alone %s pkt/s, ratio %.2f)%s\n",
	       base_name(path), rate, base_rate, engine_rate / pcap_rate,
	       tiny ? " [tiny: pcap_open dominates the baseline]" : "");
	printf("  %zu packets: %zu in, %zu out (%zu announcements), %zu other; vip %s; %u reps%s\n",
	       c.packets.count, counts.inbound, counts.outbound, counts.announcements, counts.other,
	       vip_text, reps, touched == 0 ? "; WARNING: libpcap read nothing" : "");
	if (counts.inbound + counts.outbound == 0)
		printf("  note: no packet reached the engine or gateway (VIP guess wrong?)\n");
	if (tiny) {
		totals->tiny_files++;
	} else {
		totals->files++;
		totals->packets += c.packets.count * reps;
		totals->engine_s += engine_s;
		totals->pcap_s += pcap_s;
	}
	arena_free(&c.packets);
}

/* ---- 3. Bytes per flow and per session ---- */

static size_t engine_memory(uint32_t flows, uint32_t sessions)
{
	struct sara_config cfg;
	struct engine_stats stats;
	bench_config(&cfg, flows, sessions);
	struct engine *engine = engine_or_die(&cfg, 0);
	engine_get_stats(engine, &stats);
	engine_destroy(engine);
	return stats.memory_bytes;
}

static void bench_memory(void)
{
	/* Powers of two so bucket arrays scale exactly with capacity. */
	const uint32_t flows = 1u << 20, sessions = 1u << 18;
	size_t base = engine_memory(flows, sessions);
	size_t more_flows = engine_memory(2 * flows, sessions);
	size_t more_sessions = engine_memory(flows, 2 * sessions);
	double per_flow = (double)(more_flows - base) / flows;
	double per_session = (double)(more_sessions - base) / sessions;
	printf("memory per flow: %.1f bytes reserved (sizeof(struct flow) %zu + exact/source/dest "
	       "buckets + timer entry) - %s (target <= %.0f)\n",
	       per_flow, sizeof(struct flow), per_flow <= FLOW_TARGET_BYTES ? "OK" : "ABOVE TARGET",
	       FLOW_TARGET_BYTES);
	printf("memory per session: %.1f bytes reserved (sizeof(struct session) %zu, of which key "
	       "%d, %d x struct session_stream %zu)\n",
	       per_session, sizeof(struct session), SESSION_KEY_MAX, SESSION_MAX_STREAMS,
	       sizeof(struct session_stream));
	printf("memory engine flows=%u sessions=%u: %.1f MiB = %.1f bytes per flow of capacity "
	       "(sessions included; fixed part %.1f KiB)\n",
	       flows, sessions, base / 1048576.0, (double)base / flows,
	       ((double)base - per_flow * flows - per_session * sessions) / 1024.0);
	printf("memory per SIP call (1 session + 4 flows: signalling, RTP/RTCP predictions, "
	       "RTP seen): %.0f bytes\n", per_session + 4 * per_flow);
}

/* ---- 4. Media packet cost at 1 k vs 1 M sessions ---- */

/* The machine's floor for a scattered table: one dependent load at a
 * random cache line of a bytes-sized region (pointer chase over a single
 * random cycle), with 4 KiB pages or transparent huge pages. */
static double random_load_ns(size_t bytes, bool huge_pages)
{
	size_t nodes = bytes / LATENCY_NODE, steps = 2000000, at = 0;
	uint64_t seed = 7;
	size_t huge = (size_t)2 << 20;
	uint8_t *region = aligned_alloc(huge, (nodes * LATENCY_NODE + huge - 1) & ~(huge - 1));
	if (!region || nodes < 2) {
		free(region);
		return 0;
	}
	madvise(region, nodes * LATENCY_NODE, huge_pages ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	/* Sattolo's shuffle: node i links to next[i], one cycle through all. */
	for (size_t i = 0; i < nodes; i++)
		*(uint64_t *)(region + i * LATENCY_NODE) = i;
	for (size_t i = nodes - 1; i > 0; i--) {
		size_t j = (size_t)(random_next(&seed) % i);
		uint64_t *a = (uint64_t *)(region + i * LATENCY_NODE), *b = (uint64_t *)(region + j * LATENCY_NODE);
		uint64_t t = *a;
		*a = *b;
		*b = t;
	}
	double t0 = now_seconds();
	for (size_t i = 0; i < steps; i++)
		at = *(volatile uint64_t *)(region + at * LATENCY_NODE);
	double ns = (now_seconds() - t0) * 1e9 / steps;
	free(region);
	(void)at;
	return ns;
}

/* The batched floor: the cheapest a table could make a known media packet
 * at a given pool size, when packets come ENGINE_BATCH_MAX at a time and
 * every line a batch needs is prefetched before any is used (what
 * engine_packet_batch does). One line per packet: a random flow entry of a
 * pool laid out like the engine's (big_calloc, sizeof(struct flow) apart),
 * read and written as a flow update does. Two lines per packet: a random
 * bucket of a uint32 index, then the flow it names, each stage prefetched
 * for the whole batch before the next starts. The same random sequence
 * (and the same arithmetic) runs over the big and the small pool, so the
 * difference is what the memory system charges for the pool's size. */
struct floor_pool {
	struct flow *flows;
	uint32_t count;
	uint32_t *buckets;
	uint32_t bucket_mask;
};

static bool floor_pool_init(struct floor_pool *p, uint32_t count)
{
	uint32_t buckets = 16;
	uint64_t seed = 11;
	while (buckets < count)
		buckets <<= 1;
	p->count = count;
	p->bucket_mask = buckets - 1;
	p->flows = big_calloc(count, sizeof(struct flow));
	p->buckets = big_calloc(buckets, sizeof(uint32_t));
	if (!p->flows || !p->buckets)
		return false;
	/* Written like flow_table_init's free list, so every page is mapped. */
	for (uint32_t i = 0; i < count; i++)
		p->flows[i].index_next = i + 1;
	for (uint32_t i = 0; i < buckets; i++)
		p->buckets[i] = (uint32_t)(((random_next(&seed) >> 32) * count) >> 32);
	return true;
}

static void floor_pool_fini(struct floor_pool *p)
{
	big_free(p->flows, p->count, sizeof(struct flow));
	big_free(p->buckets, (size_t)p->bucket_mask + 1, sizeof(uint32_t));
	memset(p, 0, sizeof(*p));
}

/* What a known media packet does to its flow: a read and a write. */
static inline uint64_t floor_touch_batch(struct floor_pool *p, const uint32_t *id, size_t at)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < ENGINE_BATCH_MAX; i++) {
		struct flow *f = &p->flows[id[i]];
		sum += f->session_serial + f->session; /* both in the first line */
		f->last_seen_ms = at;
	}
	return sum;
}

/* Timed: packets packets, one random flow line each. */
static NOINLINE uint64_t floor_one_line(struct floor_pool *p, size_t packets, uint64_t seed)
{
	uint32_t id[ENGINE_BATCH_MAX];
	uint64_t sum = 0;
	for (size_t at = 0; at < packets; at += ENGINE_BATCH_MAX) {
		for (unsigned i = 0; i < ENGINE_BATCH_MAX; i++) {
			id[i] = (uint32_t)(((random_next(&seed) >> 32) * p->count) >> 32);
			__builtin_prefetch(&p->flows[id[i]]);
		}
		sum += floor_touch_batch(p, id, at);
	}
	return sum;
}

/* Timed: packets packets, both lines of one random flow (adjacent, one
 * 128-byte aligned pair, so one page): tells a line's fill from finding
 * its page, which the pair's second line does not need. */
static NOINLINE uint64_t floor_adjacent_lines(struct floor_pool *p, size_t packets, uint64_t seed)
{
	uint32_t id[ENGINE_BATCH_MAX];
	uint64_t sum = 0;
	_Static_assert(sizeof(struct flow) == 128, "a flow is a 128-byte pair of lines");
	for (size_t at = 0; at < packets; at += ENGINE_BATCH_MAX) {
		for (unsigned i = 0; i < ENGINE_BATCH_MAX; i++) {
			id[i] = (uint32_t)(((random_next(&seed) >> 32) * p->count) >> 32);
			__builtin_prefetch(&p->flows[id[i]]);
			__builtin_prefetch(&p->flows[id[i]].packets);
		}
		for (unsigned i = 0; i < ENGINE_BATCH_MAX; i++)
			sum += p->flows[id[i]].packets; /* the second line */
		sum += floor_touch_batch(p, id, at);
	}
	return sum;
}

/* Timed: packets packets, a random bucket then the flow it names. */
static NOINLINE uint64_t floor_two_lines(struct floor_pool *p, size_t packets, uint64_t seed)
{
	uint32_t at_bucket[ENGINE_BATCH_MAX], id[ENGINE_BATCH_MAX];
	uint64_t sum = 0;
	for (size_t at = 0; at < packets; at += ENGINE_BATCH_MAX) {
		for (unsigned i = 0; i < ENGINE_BATCH_MAX; i++) {
			at_bucket[i] = (uint32_t)(random_next(&seed) >> 32) & p->bucket_mask;
			__builtin_prefetch(&p->buckets[at_bucket[i]]);
		}
		for (unsigned i = 0; i < ENGINE_BATCH_MAX; i++) {
			id[i] = p->buckets[at_bucket[i]];
			__builtin_prefetch(&p->flows[id[i]]);
		}
		sum += floor_touch_batch(p, id, at);
	}
	return sum;
}

typedef uint64_t (*floor_walk)(struct floor_pool *p, size_t packets, uint64_t seed);

/* ns per packet, median of passes after a warm-up pass. */
static double time_floor(struct floor_pool *p, floor_walk walk, size_t packets, unsigned passes)
{
	double ns[16];
	uint64_t sink = walk(p, packets, 99);
	if (passes > 16)
		passes = 16;
	for (unsigned r = 0; r < passes; r++) {
		double t0 = now_seconds();
		sink += walk(p, packets, 100 + r);
		ns[r] = (now_seconds() - t0) * 1e9 / (double)packets;
	}
	if (sink == 1)
		printf(" ");
	return median_of(ns, passes);
}

/* Prints the floors for pools of big_flows and small_flows entries, and
 * the best 1 M / 1 k ratio they allow given the engine's batched cost at
 * the small population (engine_small_ns). */
static void bench_batched_floor(uint32_t big_flows, uint32_t small_flows, double engine_small_ns,
				double engine_big_ns, unsigned passes)
{
	const size_t packets = (size_t)1 << 22;
	struct floor_pool big = { 0 }, small = { 0 };
	double one_big, one_small, two_big, two_small, pair_big, pair_small;
	if (!floor_pool_init(&big, big_flows) || !floor_pool_init(&small, small_flows)) {
		printf("batched floor: skipped (out of memory)\n");
		floor_pool_fini(&big);
		floor_pool_fini(&small);
		return;
	}
	/* Interleaved, so that a noisy moment hits both sizes alike. */
	one_big = time_floor(&big, floor_one_line, packets, passes);
	one_small = time_floor(&small, floor_one_line, packets, passes);
	two_big = time_floor(&big, floor_two_lines, packets, passes);
	two_small = time_floor(&small, floor_two_lines, packets, passes);
	pair_big = time_floor(&big, floor_adjacent_lines, packets, passes);
	pair_small = time_floor(&small, floor_adjacent_lines, packets, passes);
	double one_diff = one_big - one_small, two_diff = two_big - two_small;
	printf("batched floor, 1 line/pkt (batches of %d, all lines prefetched, read+write): "
	       "%.1f ns/pkt over the %u-flow pool (%.0f MiB), %.1f ns over the %u-flow pool "
	       "(%.2f MiB): +%.1f ns/pkt\n",
	       ENGINE_BATCH_MAX, one_big, big_flows, (double)big_flows * sizeof(struct flow) / 1048576.0,
	       one_small, small_flows, (double)small_flows * sizeof(struct flow) / 1048576.0, one_diff);
	printf("batched floor, 2 dependent lines/pkt (bucket then flow, each stage prefetched): "
	       "%.1f ns/pkt big pool, %.1f ns small pool: +%.1f ns/pkt\n",
	       two_big, two_small, two_diff);
	printf("batched floor, 2 adjacent lines/pkt (one random 128-byte pair, both prefetched): "
	       "%.1f ns/pkt big pool, %.1f ns small pool: +%.1f ns/pkt (the second line's page is "
	       "already found: what it costs beyond one line is its fill)\n",
	       pair_big, pair_small, pair_big - pair_small);
	printf("batched floor: best ratio reachable = (engine at 1k %.1f ns + floor difference) / "
	       "engine at 1k: one line/pkt %.2f, two lines/pkt %.2f (engine now +%.1f ns/pkt, "
	       "ratio %.2f; target <= %.1f)\n",
	       engine_small_ns, (engine_small_ns + one_diff) / engine_small_ns,
	       (engine_small_ns + two_diff) / engine_small_ns, engine_big_ns - engine_small_ns,
	       engine_big_ns / engine_small_ns, SCALE_TARGET_RATIO);
	floor_pool_fini(&big);
	floor_pool_fini(&small);
}

struct scale_state {
	struct engine *engine;
	uint32_t established;     /* calls 0..established-1 have a session and an RTP flow */
	size_t failures;          /* INVITEs or first RTP packets not tied to a session */
};

/* Establishes calls [state->established, target): INVITE, then the first
 * RTP packet (the prediction becomes an exact, secondary flow). Stops at
 * deadline (seconds, monotonic) if given. */
static void scale_establish(struct scale_state *st, uint32_t target, double deadline)
{
	uint8_t buf[MAX_PACKET];
	for (uint32_t call = st->established; call < target; call++) {
		struct verdict v;
		size_t body_at, len = sip_message_packet(call, SIP_KIND_INVITE, buf, sizeof(buf), &body_at);
		engine_packet(st->engine, buf, len, 1000, &v);
		st->failures += v.session == 0;
		len = rtp_packet(call, 1, buf, sizeof(buf));
		engine_packet(st->engine, buf, len, 1000, &v);
		st->failures += v.session == 0 || v.identity != FLOW_SECONDARY;
		st->established = call + 1;
		if (deadline > 0 && (call & 0xfff) == 0 && now_seconds() > deadline)
			break;
	}
}

/* RTP packets of known flows, sessions picked at random. */
static void media_packets_build(struct arena *packets, uint32_t sessions, size_t count, uint64_t seed)
{
	uint8_t buf[MAX_PACKET];
	arena_reset(packets);
	for (size_t i = 0; i < count; i++) {
		uint32_t call = (uint32_t)(random_next(&seed) % sessions);
		size_t len = rtp_packet(call, (uint16_t)(2 + i), buf, sizeof(buf));
		arena_add(packets, buf, len);
	}
}

/* Timed: every media packet through engine_packet. Returns the ones that
 * followed a session as a secondary (known) flow. */
static NOINLINE size_t feed_media_packets(struct engine *engine, const struct arena *packets,
					  size_t count)
{
	size_t known = 0;
	for (size_t i = 0; i < count; i++) {
		struct verdict v;
		engine_packet(engine, arena_data(packets, &packets->packets[i]), packets->packets[i].len,
			      1000, &v);
		known += v.session != 0 && v.identity == FLOW_SECONDARY && !v.new_flow;
	}
	return known;
}

/* Timed: the same packets through engine_packet_batch, ENGINE_BATCH_MAX at
 * a time, as sarad hands over an NFQUEUE batch. */
static NOINLINE size_t feed_media_batches(struct engine *engine, const struct arena *packets,
					  size_t count)
{
	struct engine_input in[ENGINE_BATCH_MAX];
	struct verdict v[ENGINE_BATCH_MAX];
	size_t known = 0;
	for (size_t at = 0; at < count; at += ENGINE_BATCH_MAX) {
		size_t n = count - at < ENGINE_BATCH_MAX ? count - at : ENGINE_BATCH_MAX;
		for (size_t i = 0; i < n; i++) {
			in[i].ip = arena_data(packets, &packets->packets[at + i]);
			in[i].len = packets->packets[at + i].len;
		}
		engine_packet_batch(engine, in, n, 1000, v);
		for (size_t i = 0; i < n; i++)
			known += v[i].session != 0 && v[i].identity == FLOW_SECONDARY && !v[i].new_flow;
	}
	return known;
}

typedef size_t (*media_feeder)(struct engine *engine, const struct arena *packets, size_t count);

/* One timed pass: ns per packet; known gets the packets that hit a known flow. */
static double time_media_pass(struct engine *engine, const struct arena *packets, size_t *known,
			      media_feeder feed)
{
	double t0 = now_seconds();
	*known = feed(engine, packets, packets->count);
	return (now_seconds() - t0) * 1e9 / packets->count;
}

/* One population's engine and its media packets. */
struct scale_side {
	struct scale_state st;
	struct arena media;
	double batch_ns[16], single_ns[16];
	size_t known_batch, known_single;
};

/* Passes alternate between the two populations (small, big, small, ...),
 * each after a warm-up, so that a noisy stretch of this shared machine
 * falls on both sides alike instead of on whichever was measured then. */
static void time_media_interleaved(struct scale_side *small, struct scale_side *big, unsigned passes)
{
	struct scale_side *side[2] = { small, big };
	for (unsigned s = 0; s < 2; s++) {
		size_t warm = side[s]->media.count < 65536 ? side[s]->media.count : 65536;
		feed_media_batches(side[s]->st.engine, &side[s]->media, warm);
	}
	for (unsigned p = 0; p < passes; p++) {
		for (unsigned s = 0; s < 2; s++) {
			side[s]->batch_ns[p] = time_media_pass(side[s]->st.engine, &side[s]->media,
							       &side[s]->known_batch, feed_media_batches);
			side[s]->single_ns[p] = time_media_pass(side[s]->st.engine, &side[s]->media,
								&side[s]->known_single, feed_media_packets);
		}
	}
}

static void bench_scale(uint32_t big, size_t media_count, unsigned passes)
{
	const uint32_t small = 1000;
	struct sara_config cfg;
	struct scale_side small_side = { 0 }, big_side = { 0 };
	struct scale_state *st = &big_side.st;
	struct engine_stats stats;
	double t0, build_s;
	if (passes > 16)
		passes = 16;
	bench_config(&cfg, big * 4 + big / 8 + 1024, big);
	t0 = now_seconds();
	st->engine = engine_or_die(&cfg, 1000);
	printf("scale: engine for %u sessions / %u flows created in %.1f s\n", cfg.limits.sessions,
	       cfg.limits.flows, now_seconds() - t0);
	/* The small population lives in an engine of the same configuration,
	 * so the two differ only in how many sessions they hold. */
	small_side.st.engine = engine_or_die(&cfg, 1000);
	scale_establish(&small_side.st, small, 0);
	media_packets_build(&small_side.media, small, media_count, 42);

	/* Grow the big engine, within the build budget. */
	t0 = now_seconds();
	scale_establish(st, small + 50000 < big ? small + 50000 : big, 0);
	double projected = (now_seconds() - t0) / st->established * big;
	uint32_t target = big;
	if (projected > SCALE_BUILD_BUDGET_S && big > SCALE_FALLBACK_SESSIONS) {
		target = SCALE_FALLBACK_SESSIONS;
		printf("scale: building %u sessions would take ~%.0f s (> %.0f s): using %u\n", big,
		       projected, SCALE_BUILD_BUDGET_S, target);
	}
	scale_establish(st, target, t0 + 1.5 * SCALE_BUILD_BUDGET_S);
	build_s = now_seconds() - t0;
	if (st->established < target)
		printf("scale: build budget exhausted, stopped at %u sessions\n", st->established);
	engine_get_stats(st->engine, &stats);
	printf("scale: %u sessions established in %.1f s (%.0f calls/s: INVITE + first RTP); "
	       "%u flows in use, %.0f MiB reserved\n",
	       st->established, build_s, st->established / build_s, stats.flows_in_use,
	       stats.memory_bytes / 1048576.0);
	if (st->failures || small_side.st.failures)
		printf("  WARNING: %zu INVITE/RTP packets were not tied to a session\n",
		       st->failures + small_side.st.failures);

	media_packets_build(&big_side.media, st->established, media_count, 43);
	time_media_interleaved(&small_side, &big_side, passes);
	double batch_small = median_of(small_side.batch_ns, passes);
	double batch_big = median_of(big_side.batch_ns, passes);
	double ns_small = median_of(small_side.single_ns, passes);
	double ns_big = median_of(big_side.single_ns, passes);
	double ratio = ns_big / ns_small, batch_ratio = batch_big / batch_small;
	printf("engine media packet, known flow, batches of %d (engine_packet_batch, what sarad "
	       "uses): %.1f ns/pkt at %u sessions, %.1f ns/pkt at %u sessions (ratio %.2f, target "
	       "<= %.1f: %s)\n",
	       ENGINE_BATCH_MAX, batch_small, small, batch_big, st->established, batch_ratio,
	       SCALE_TARGET_RATIO, batch_ratio <= SCALE_TARGET_RATIO ? "OK" : "ABOVE TARGET");
	printf("  per pass (interleaved), ratio big/small:");
	for (unsigned p = 0; p < passes; p++)
		printf(" %.2f", big_side.batch_ns[p] / small_side.batch_ns[p]);
	printf("\n");
	printf("engine media packet, known flow, one at a time (engine_packet): %.1f ns/pkt at %u "
	       "sessions, %.1f ns/pkt at %u sessions (ratio %.2f)\n",
	       ns_small, small, ns_big, st->established, ratio);
	if (small_side.known_batch != media_count || big_side.known_batch != media_count ||
	    small_side.known_single != media_count || big_side.known_single != media_count)
		printf("  WARNING: not every media packet hit a known flow (batched %zu, %zu; one at a "
		       "time %zu, %zu; of %zu)\n",
		       small_side.known_batch, big_side.known_batch, small_side.known_single,
		       big_side.known_single, media_count);
	printf("  %zu random RTP packets per pass, median of %u passes alternating between the two "
	       "engines; %.2f M pkt/s vs %.2f M pkt/s batched\n",
	       media_count, passes, 1e3 / batch_small, 1e3 / batch_big);
	size_t region = stats.memory_bytes < LATENCY_MAX_BYTES ? stats.memory_bytes : LATENCY_MAX_BYTES;
	uint32_t big_established = st->established;
	arena_free(&small_side.media);
	arena_free(&big_side.media);
	engine_destroy(small_side.st.engine);
	engine_destroy(st->engine);
	double load_ns = random_load_ns(region, false), load_huge_ns = random_load_ns(region, true);
	printf("machine floor: one dependent random load over %.0f MiB costs %.1f ns (%.1f ns with "
	       "transparent huge pages): the %u-session packet, one at a time, pays ~%.1f such loads "
	       "more than the 1000-session one\n",
	       region / 1048576.0, load_ns, load_huge_ns, big_established,
	       load_huge_ns > 0 ? (ns_big - ns_small) / load_huge_ns : 0.0);
	/* The pools a 1 M-session and a 1 k-session engine reserve (bench_config). */
	bench_batched_floor(cfg.limits.flows, small * 4 + small / 8 + 1024, batch_small, batch_big,
			    passes);
}

/* ---- callgrind: a small fixed workload, counts for instructions/packet ---- */

static void callgrind_workload(void)
{
	struct sip_workload w;
	struct sara_config cfg;
	struct scale_state st = { 0 };
	struct arena media = { 0 };
	sip_workload_build(&w, 1000);
	bench_config(&cfg, 8192, 2048);
	parser_init();
	struct engine *engine = engine_or_die(&cfg, 1000);
	feed_sip_messages(engine, &w.packets);
	engine_destroy(engine);
	parse_sip_baseline(&w.packets);
	st.engine = engine_or_die(&cfg, 1000);
	scale_establish(&st, 1000, 0);
	media_packets_build(&media, 1000, 20000, 42);
	feed_media_packets(st.engine, &media, media.count);
	printf("callgrind-counts sip_messages=%zu media_packets=%zu\n", w.packets.count, media.count);
	engine_destroy(st.engine);
	arena_free(&media);
	arena_free(&w.packets);
}

/* ---- main ---- */

/* ---- 5. Re-pinning a failed server's sessions ---- */

#define REPIN_SESSIONS 250000u
#define REPIN_TARGET_MS 10.0

/* The connmark writes a failover queues, as sarad's mark ring holds them
 * (a key and a mark a slot, 65 536 slots, oldest overwritten here). */
struct moved_flows {
	struct { struct flow_key key; uint32_t mark; } slots[65536];
	uint64_t count;
};

static void queue_moved_flow(void *ctx, const struct flow_key *key, int server, uint32_t mark)
{
	struct moved_flows *m = ctx;
	(void)server;
	m->slots[m->count % 65536].key = *key;
	m->slots[m->count % 65536].mark = mark;
	m->count++;
}

/* REPIN_SESSIONS calls (a session and an RTP flow each) on three servers,
 * then s1 fails: the engine's longest hold of its lock while the failed
 * server's sessions move (what the packet path waits for), all at once
 * (engine_server_failed) and in the slices sarad's loop runs. */
static void bench_repin(void)
{
	struct sara_config cfg;
	struct scale_state st = { 0 };
	struct moved_flows *queued = xmalloc(sizeof(*queued));
	struct engine_hooks hooks = { .ctx = queued, .flow_moved = queue_moved_flow };
	char err[256];
	double t0, whole_ms, longest_ms = 0, total_ms = 0;
	uint32_t moved, slices = 0;
	bench_config(&cfg, REPIN_SESSIONS * 4, REPIN_SESSIONS);
	for (unsigned sliced = 0; sliced < 2; sliced++) {
		memset(&st, 0, sizeof(st));
		st.engine = engine_create(&cfg, &hooks, 1000, err, sizeof(err));
		if (!st.engine) {
			fprintf(stderr, "bench_engine: engine_create: %s\n", err);
			exit(2);
		}
		scale_establish(&st, REPIN_SESSIONS, 0);
		queued->count = 0;
		if (!sliced) {
			t0 = now_seconds();
			moved = engine_server_failed(st.engine, 0);
			whole_ms = (now_seconds() - t0) * 1e3;
			printf("repin: %u sessions established (%zu failures); s1 failed: %u sessions, %llu flows moved "
			       "in one pass of %.2f ms under the lock\n",
			       st.established, st.failures, moved, (unsigned long long)queued->count, whole_ms);
		} else {
			moved = 0;
			engine_server_failing(st.engine, 0);
			for (bool done = false; !done;) {
				uint32_t n;
				t0 = now_seconds();
				n = engine_repin_step(st.engine, ENGINE_REPIN_SLICE, ENGINE_REPIN_SLICE, &done);
				double ms = (now_seconds() - t0) * 1e3;
				moved += n;
				total_ms += ms;
				longest_ms = ms > longest_ms ? ms : longest_ms;
				slices++;
			}
			printf("repin: sliced (%u table slots or flow moves a slice): %u sessions, %llu flows moved in %u "
			       "slices, %.2f ms in all; longest slice %.3f ms (target < %.0f ms; one pass %.2f ms)\n",
			       ENGINE_REPIN_SLICE, moved, (unsigned long long)queued->count, slices, total_ms, longest_ms,
			       REPIN_TARGET_MS, whole_ms);
		}
		engine_destroy(st.engine);
	}
	free(queued);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bench_engine [--only sip|captures|memory|scale|repin|none] [--sip-calls N]\n"
		"                    [--sessions N] [--media-packets N] [--callgrind]\n"
		"                    [[--vip ADDR | --guess-vip] CAPTURE...]...\n"
		"  --vip ADDR    the VIP of the captures that follow\n"
		"  --guess-vip   captures that follow: the VIP is where the first packet to a\n"
		"                SIP/RTSP port goes\n");
}

int main(int argc, char **argv)
{
	const char *only = NULL;
	uint32_t sip_calls = 20000, big_sessions = 1000000;
	size_t media_count = 1u << 20;
	struct replay_totals totals = { 0 };
	struct netaddr vip = { 0 };
	bool guess_vip = false, any_capture = false;
	const char **captures = xmalloc(sizeof(char *) * (size_t)argc);
	struct netaddr *capture_vips = xmalloc(sizeof(struct netaddr) * (size_t)argc);
	bool *capture_guess = xmalloc(sizeof(bool) * (size_t)argc);
	size_t capture_count = 0;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		bool has_value = i + 1 < argc;
		if (strcmp(arg, "--only") == 0 && has_value) {
			only = argv[++i];
		} else if (strcmp(arg, "--sip-calls") == 0 && has_value) {
			sip_calls = (uint32_t)strtoul(argv[++i], NULL, 10);
		} else if (strcmp(arg, "--sessions") == 0 && has_value) {
			big_sessions = (uint32_t)strtoul(argv[++i], NULL, 10);
		} else if (strcmp(arg, "--media-packets") == 0 && has_value) {
			media_count = strtoul(argv[++i], NULL, 10);
		} else if (strcmp(arg, "--callgrind") == 0) {
			callgrind_workload();
			return 0;
		} else if (strcmp(arg, "--vip") == 0 && has_value) {
			if (!parse_address(argv[++i], &vip)) {
				fprintf(stderr, "bench_engine: --vip %s: not an address\n", argv[i]);
				return 2;
			}
			guess_vip = false;
		} else if (strcmp(arg, "--guess-vip") == 0) {
			memset(&vip, 0, sizeof(vip));
			guess_vip = true;
		} else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (arg[0] == '-' && arg[1] == '-') {
			usage(stderr);
			return 2;
		} else {
			captures[capture_count] = arg;
			capture_vips[capture_count] = vip;
			capture_guess[capture_count] = guess_vip;
			capture_count++;
		}
	}
	if (sip_calls < 10 || big_sessions < 2000 || media_count < 1000) {
		fprintf(stderr, "bench_engine: --sip-calls >= 10, --sessions >= 2000, --media-packets >= 1000\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (!only || strcmp(only, "sip") == 0)
		bench_sip(sip_calls, 5);
	if (!only || strcmp(only, "captures") == 0) {
		for (size_t i = 0; i < capture_count; i++) {
			bench_capture(captures[i], &capture_vips[i], capture_guess[i], &totals);
			any_capture = true;
		}
		if (totals.files > 0) {
			char rate[32], base_rate[32];
			human_rate(totals.packets / totals.engine_s, rate, sizeof(rate));
			human_rate(totals.packets / totals.pcap_s, base_rate, sizeof(base_rate));
			printf("engine replayed captures (%zu files of >= %d packets, %zu tiny ones left "
			       "out): %s pkt/s (libpcap read alone %s pkt/s, ratio %.2f)\n",
			       totals.files, TINY_CAPTURE, totals.tiny_files, rate, base_rate,
			       totals.pcap_s / totals.engine_s);
		} else if (!any_capture) {
			printf("captures: none given\n");
		}
	}
	if (!only || strcmp(only, "memory") == 0)
		bench_memory();
	if (!only || strcmp(only, "scale") == 0)
		bench_scale(big_sessions, media_count, 5);
	if (!only || strcmp(only, "repin") == 0)
		bench_repin();
	free(captures);
	free(capture_vips);
	free(capture_guess);
	return 0;
}
