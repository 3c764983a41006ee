/* bench_journal.c - what the session journal costs per new session: the same
 * SIP calls (INVITE with SDP, the server's 200 through an announcement, ACK,
 * the first RTP packet, BYE and the server's 200 to it, announced too)
 * through an engine without a journal and one
 * with sarad's (a real file, one write(2) per batch of packets as the
 * dispatcher writes it), in alternating rounds of the same run; the median
 * per session of each, their spread, the ratio, and the records, writes and
 * bytes per session. Figures only. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "engine/config.h"
#include "engine/engine.h"
#include "engine/gateway.h"
#include "sarad/journal.h"

#include "../unit/packet_builder.h"
#include "bench_common.h"

#define BENCH_VIP "198.18.77.20"
#define DEFAULT_CALLS 20000u
#define DEFAULT_ROUNDS 5u
#define WINDOW 200u              /* calls in progress at once */
#define MAX_PACKET 2048

enum input_kind { IN_INVITE = 0, IN_INVITE_ANSWER, IN_ACK, IN_RTP, IN_BYE, IN_BYE_ANSWER, IN_KINDS };

struct input {
	enum input_kind kind;
	uint32_t call;
	size_t len;
	uint8_t *data;                  /* a datagram; NULL for an answer */
	struct announcement *answer;    /* the server's answer as the gateway announces it */
};

struct workload {
	struct input *inputs;
	size_t count;
	struct announcement *answers;   /* two per call: to the INVITE, to the BYE */
	uint32_t calls;
};

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (!p) {
		fprintf(stderr, "bench_journal: out of memory\n");
		exit(2);
	}
	return p;
}

static void client_of(uint32_t call, char *buf, size_t size)
{
	snprintf(buf, size, "10.%u.%u.%u", (call >> 16) & 0xff, (call >> 8) & 0xff, call & 0xff);
}

static uint16_t client_rtp_port(uint32_t call)
{
	return (uint16_t)(16384 + 2 * (call % 8192));
}

static uint16_t server_rtp_port(uint32_t call)
{
	return (uint16_t)(30000 + 2 * (call % 10000));
}

/* The client's request to the VIP, or with from_server the server's 200 to
 * it (from the VIP, as the gateway sees it); with sdp, the sender's audio. */
static size_t sip_datagram(uint32_t call, bool from_server, const char *method, unsigned cseq, bool sdp,
			   uint8_t *out, size_t cap)
{
	char client[16], start[128], body[512], text[1500];
	const char *media_addr;
	int body_len = 0, n;
	client_of(call, client, sizeof(client));
	media_addr = from_server ? BENCH_VIP : client;
	if (from_server)
		snprintf(start, sizeof(start), "SIP/2.0 200 OK");
	else
		snprintf(start, sizeof(start), "%s sip:service@" BENCH_VIP " SIP/2.0", method);
	if (sdp)
		body_len = snprintf(body, sizeof(body),
				    "v=0\r\no=user1 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
				    "m=audio %u RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n", media_addr, media_addr,
				    from_server ? server_rtp_port(call) : client_rtp_port(call));
	/* The dialog has the server's To tag from the INVITE's answer on. */
	n = snprintf(text, sizeof(text),
		     "%s\r\nVia: SIP/2.0/UDP %s:5060;branch=z9hG4bK-%u-%u\r\n"
		     "From: <sip:a@%s>;tag=%u\r\nTo: <sip:service@" BENCH_VIP ">%s\r\nCall-ID: %u-journal@%s\r\n"
		     "CSeq: %u %s\r\nContact: <sip:%s@%s>\r\n%s%sContent-Length: %d\r\n\r\n%s",
		     start, client, call, cseq, client, call, from_server || !sdp ? ";tag=srv" : "", call, client,
		     cseq, method, from_server ? "service" : "a", media_addr, from_server ? "" : "Max-Forwards: 70\r\n",
		     sdp ? "Content-Type: application/sdp\r\n" : "", body_len, sdp ? body : "");
	if (from_server)
		return packet_build_udp(NETADDR_IPV4, BENCH_VIP, 5060, client, 5060, text, (size_t)n, out, cap);
	return packet_build_udp(NETADDR_IPV4, client, 5060, BENCH_VIP, 5060, text, (size_t)n, out, cap);
}

static size_t rtp_datagram(uint32_t call, uint8_t *out, size_t cap)
{
	char client[16];
	uint8_t rtp[172] = { 0x80, 8 };
	client_of(call, client, sizeof(client));
	return packet_build_udp(NETADDR_IPV4, client, client_rtp_port(call), BENCH_VIP, server_rtp_port(call), rtp,
				sizeof(rtp), out, cap);
}

/* The server's 200 to the INVITE (with its audio) or to the BYE, as
 * sara-gw announces it: the datagram through the gateway role. */
static void answer_of(struct gateway *gw, uint32_t call, const char *method, unsigned cseq, bool sdp,
		      struct announcement *ann)
{
	uint8_t buf[MAX_PACKET];
	size_t len = sip_datagram(call, true, method, cseq, sdp, buf, sizeof(buf));
	if (len == 0 || gateway_packet(gw, buf, len, 0, ann, 1) != 1) {
		fprintf(stderr, "bench_journal: the gateway did not announce call %u's 200 to its %s\n", call, method);
		exit(2);
	}
}

/* Calls overlap: step s carries call s's INVITE, call s - WINDOW's answer,
 * ACK and first RTP packet, and call s - 2 * WINDOW's BYE and its answer. */
static void workload_build(struct workload *w, const struct sara_config *cfg, uint32_t calls)
{
	uint8_t buf[MAX_PACKET];
	size_t cap = (size_t)calls * IN_KINDS;
	char err[512];
	struct gateway *gw = gateway_create(cfg, 0, err, sizeof(err));
	if (!gw) {
		fprintf(stderr, "bench_journal: gateway_create: %s\n", err);
		exit(2);
	}
	w->inputs = xcalloc(cap, sizeof(*w->inputs));
	w->answers = xcalloc(2 * (size_t)calls, sizeof(*w->answers));
	w->calls = calls;
	for (uint32_t step = 0; step < calls + 2 * WINDOW; step++) {
		for (int kind = 0; kind < IN_KINDS; kind++) {
			uint32_t lag = kind == IN_INVITE ? 0 : kind >= IN_BYE ? 2 * WINDOW : WINDOW;
			uint32_t call;
			struct input *in;
			size_t len = 0;
			if (step < lag || step - lag >= calls)
				continue;
			call = step - lag;
			in = &w->inputs[w->count++];
			in->kind = (enum input_kind)kind;
			in->call = call;
			switch (kind) {
			case IN_INVITE: len = sip_datagram(call, false, "INVITE", 1, true, buf, sizeof(buf)); break;
			case IN_ACK: len = sip_datagram(call, false, "ACK", 1, false, buf, sizeof(buf)); break;
			case IN_BYE: len = sip_datagram(call, false, "BYE", 2, false, buf, sizeof(buf)); break;
			case IN_RTP: len = rtp_datagram(call, buf, sizeof(buf)); break;
			case IN_INVITE_ANSWER:
				in->answer = &w->answers[2 * (size_t)call];
				answer_of(gw, call, "INVITE", 1, true, in->answer);
				continue;
			case IN_BYE_ANSWER:
				in->answer = &w->answers[2 * (size_t)call + 1];
				answer_of(gw, call, "BYE", 2, false, in->answer);
				continue;
			}
			if (len == 0) {
				fprintf(stderr, "bench_journal: cannot build a packet\n");
				exit(2);
			}
			in->data = xcalloc(1, len);
			memcpy(in->data, buf, len);
			in->len = len;
		}
	}
	gateway_destroy(gw);
}

static void bench_config(struct sara_config *cfg, uint32_t calls)
{
	static const char *const addresses[] = { "198.18.2.11", "198.18.2.12", "198.18.2.13" };
	sara_config_defaults(cfg);
	snprintf(cfg->name, sizeof(cfg->name), "bench-journal");
	cfg->vip_count = 1;
	netaddr_parse(span_make(BENCH_VIP, strlen(BENCH_VIP)), &cfg->vips[0]);
	cfg->server_count = 3;
	for (unsigned i = 0; i < 3; i++) {
		struct server_config *s = &cfg->servers[i];
		snprintf(s->id, sizeof(s->id), "s%u", i + 1);
		netaddr_parse(span_make(addresses[i], strlen(addresses[i])), &s->address);
		s->mark = i + 1;
		s->table = 101 + i;
		s->weight = 1.0;
	}
	cfg->selection.algorithm = SELECT_ROUND_ROBIN;
	cfg->admission.enabled = false;
	cfg->timeouts.linger_s = 0;   /* a BYE's 200 ends its session at the next tick */
	cfg->limits.sessions = 4 * WINDOW + 1024;
	cfg->limits.flows = 16 * cfg->limits.sessions;
	(void)calls;
}

static uint64_t clock_now;

static uint64_t bench_now_ms(void)
{
	return clock_now;
}

/* Feeds the workload the way the dispatcher does: packets in batches of up
 * to ENGINE_BATCH_MAX, the journal written after each engine call. */
static void feed(struct engine *engine, struct session_journal *j, const struct workload *w)
{
	struct engine_input batch[ENGINE_BATCH_MAX];
	struct verdict out[ENGINE_BATCH_MAX];
	size_t n = 0;
	for (size_t i = 0; i <= w->count; i++) {
		bool answer = i < w->count && w->inputs[i].answer;
		if (n > 0 && (i == w->count || answer || n == ENGINE_BATCH_MAX)) {
			clock_now += 1;
			engine_packet_batch(engine, batch, n, clock_now, out);
			session_journal_write(j);
			n = 0;
		}
		if (i == w->count)
			break;
		if (answer) {
			engine_announce(engine, w->inputs[i].answer, clock_now);
			session_journal_write(j);
			continue;
		}
		batch[n++] = (struct engine_input){ w->inputs[i].data, w->inputs[i].len, 0 };
	}
	clock_now += 1000;
	engine_advance(engine, clock_now);
	session_journal_write(j);
}

struct round {
	double seconds;
	uint64_t sessions_created, sessions_ended, records, writes, bytes;
};

static struct round run_round(const struct sara_config *cfg, const struct workload *w, const char *path)
{
	struct daemon_counters counters;
	struct journal_restore_report rep;
	struct session_journal *j = NULL;
	struct engine_stats st;
	struct round r = { 0 };
	char err[512];
	struct engine *engine = engine_create(cfg, NULL, clock_now, err, sizeof(err));
	double t0;
	if (!engine) {
		fprintf(stderr, "bench_journal: engine_create: %s\n", err);
		exit(2);
	}
	daemon_counters_init(&counters);
	if (path) {
		struct sara_config with = *cfg;
		snprintf(with.state.journal, sizeof(with.state.journal), "%s", path);
		unlink(path);
		j = session_journal_open(&with, engine, &counters, bench_now_ms, 0, &rep, err, sizeof(err));
		if (!j) {
			fprintf(stderr, "bench_journal: %s\n", err);
			exit(2);
		}
	}
	t0 = now_seconds();
	feed(engine, j, w);
	r.seconds = now_seconds() - t0;
	engine_get_stats(engine, &st);
	r.sessions_created = st.sessions_created;
	r.sessions_ended = st.sessions_ended;
	if (j) {
		r.records = daemon_counter_get(&counters, COUNTER_JOURNAL_RECORDS);
		r.writes = daemon_counter_get(&counters, COUNTER_JOURNAL_WRITES);
		r.bytes = j->file.size;
		session_journal_close(j);
	}
	engine_destroy(engine);
	daemon_counters_destroy(&counters);
	return r;
}

static const char *fs_name(const char *dir)
{
	struct statfs fs;
	if (statfs(dir, &fs) != 0)
		return "?";
	switch ((unsigned long)fs.f_type) {
	case 0x01021994: return "tmpfs";
	case 0xEF53: return "ext4";
	case 0x9123683E: return "btrfs";
	case 0x58465342: return "xfs";
	case 0x794c7630: return "overlayfs";
	default: return "other";
	}
}

int main(int argc, char **argv)
{
	uint32_t calls = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : DEFAULT_CALLS;
	unsigned rounds = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : DEFAULT_ROUNDS;
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	static struct sara_config cfg;
	struct workload w = { 0 };
	double off[64], on[64], extra[64], off_sorted[64], on_sorted[64];
	struct round last = { 0 };
	char path[512];

	if (calls == 0 || rounds == 0 || rounds > 64) {
		fprintf(stderr, "usage: bench_journal [CALLS] [ROUNDS <= 64]\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/sara-bench-journal.%d", dir, (int)getpid());
	bench_config(&cfg, calls);
	workload_build(&w, &cfg, calls);
	clock_now = 1000000;
	printf("journal cost per new session: %u calls (INVITE+SDP, 200 announced, ACK, RTP, BYE, 200 announced), "
	       "%u rounds each, alternating; journal file on %s (%s)\n", calls, rounds, dir, fs_name(dir));
	run_round(&cfg, &w, NULL);   /* warm-up */
	for (unsigned i = 0; i < rounds; i++) {
		struct round a = run_round(&cfg, &w, NULL);
		struct round b = run_round(&cfg, &w, path);
		if (a.sessions_created != calls || b.sessions_created != calls) {
			fprintf(stderr, "bench_journal: %llu/%llu sessions created, want %u\n",
				(unsigned long long)a.sessions_created, (unsigned long long)b.sessions_created, calls);
			return 1;
		}
		/* Every call ended as a real one does, at its BYE's 200 (not at
		 * Timer F, which the round is far too short for). */
		if (a.sessions_ended != calls || b.sessions_ended != calls) {
			fprintf(stderr, "bench_journal: %llu/%llu sessions ended, want %u\n",
				(unsigned long long)a.sessions_ended, (unsigned long long)b.sessions_ended, calls);
			return 1;
		}
		off[i] = off_sorted[i] = a.seconds * 1e9 / calls;
		on[i] = on_sorted[i] = b.seconds * 1e9 / calls;
		extra[i] = on[i] - off[i];
		last = b;
	}
	unlink(path);
	{
		double off_med = median_of(off_sorted, rounds), on_med = median_of(on_sorted, rounds);
		double extra_med = median_of(extra, rounds);
		printf("  journal off: %.0f ns per session (median; %.0f..%.0f)\n", off_med, off_sorted[0],
		       off_sorted[rounds - 1]);
		printf("  journal on:  %.0f ns per session (median; %.0f..%.0f)\n", on_med, on_sorted[0],
		       on_sorted[rounds - 1]);
		printf("  extra: %.0f ns per session (median of the paired rounds; %.0f..%.0f); ratio on/off %.2f\n",
		       extra_med, extra[0], extra[rounds - 1], on_med / off_med);
		printf("  per session: %.2f records, %.2f write(2) calls, %.0f bytes\n", (double)last.records / calls,
		       (double)last.writes / calls, (double)last.bytes / calls);
	}
	for (size_t i = 0; i < w.count; i++)
		free(w.inputs[i].data);
	free(w.inputs);
	free(w.answers);
	return 0;
}
