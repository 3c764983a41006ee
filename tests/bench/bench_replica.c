/* bench_replica.c - what session replication through Redis costs
 * (ha.session_store = "redis"), with sarad's own dispatcher and replication
 * modules against two real redis-servers on loopback (tests/bench/replica.sh
 * starts them: 127.0.0.1 is this dispatcher's, 127.0.0.2 its peer's):
 *   - per new session on the packet path, replication off against on, in
 *     alternating rounds of the same run (SIP calls: INVITE with SDP, the
 *     200 announced, ACK, first RTP packet, BYE);
 *   - the signalling rate with replication on against off, each until its
 *     last record is in the store (on: the replication thread drained);
 *   - the resync: a peer started empty reads 100 000 sessions from this
 *     dispatcher's store into its engine.
 * Figures only. Usage: bench_replica PORT [CALLS] [ROUNDS] [RESYNC_SESSIONS]. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "engine/config.h"
#include "engine/engine.h"
#include "engine/engine_replica.h"
#include "engine/server_slots.h"
#include "io/log.h"
#include "io/session_store_redis.h"
#include "sarad/dispatcher.h"

#include "../unit/packet_builder.h"
#include "bench_common.h"

#define BENCH_VIP "198.18.77.20"
#define DEFAULT_CALLS 20000u
#define DEFAULT_ROUNDS 5u
#define DEFAULT_RESYNC 100000u
#define WINDOW 200u              /* calls in progress at once */
#define MAX_PACKET 2048

enum input_kind { IN_INVITE = 0, IN_ANSWER, IN_ACK, IN_RTP, IN_BYE, IN_KINDS };

struct input {
	enum input_kind kind;
	uint32_t call;
	size_t len;
	uint8_t *data;           /* a datagram; NULL for the answer (an announcement) */
};

struct workload {
	struct input *inputs;
	size_t count;
	struct announcement *answers;  /* per call */
	uint32_t calls;
};

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (!p) {
		fprintf(stderr, "bench_replica: out of memory\n");
		exit(2);
	}
	return p;
}

static void client_of(uint32_t call, char *buf, size_t size)
{
	snprintf(buf, size, "10.%u.%u.%u", (call >> 16) & 0xff, (call >> 8) & 0xff, call & 0xff);
}

static size_t sip_datagram(uint32_t call, const char *method, unsigned cseq, bool sdp, uint8_t *out, size_t cap)
{
	char client[16], body[512], text[1500];
	int body_len = 0, n;
	client_of(call, client, sizeof(client));
	if (sdp)
		body_len = snprintf(body, sizeof(body),
				    "v=0\r\no=user1 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
				    "m=audio %u RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n",
				    client, client, 16384 + 2 * (call % 8192));
	n = snprintf(text, sizeof(text),
		     "%s sip:service@" BENCH_VIP " SIP/2.0\r\nVia: SIP/2.0/UDP %s:5060;branch=z9hG4bK-%u-%u\r\n"
		     "From: <sip:a@%s>;tag=%u\r\nTo: <sip:service@" BENCH_VIP ">%s\r\nCall-ID: %u-replica@%s\r\n"
		     "CSeq: %u %s\r\nContact: <sip:a@%s>\r\nMax-Forwards: 70\r\n%sContent-Length: %d\r\n\r\n%s",
		     method, client, call, cseq, client, call, sdp ? "" : ";tag=srv", call, client, cseq, method, client,
		     sdp ? "Content-Type: application/sdp\r\n" : "", body_len, sdp ? body : "");
	return packet_build_udp(NETADDR_IPV4, client, 5060, BENCH_VIP, 5060, text, (size_t)n, out, cap);
}

static size_t rtp_datagram(uint32_t call, uint8_t *out, size_t cap)
{
	char client[16];
	uint8_t rtp[172] = { 0x80, 8 };
	client_of(call, client, sizeof(client));
	return packet_build_udp(NETADDR_IPV4, client, (uint16_t)(16384 + 2 * (call % 8192)), BENCH_VIP,
				(uint16_t)(30000 + 2 * (call % 10000)), rtp, sizeof(rtp), out, cap);
}

/* The server's 200 with its audio, as sara-gw would announce it. */
static void answer_of(uint32_t call, struct announcement *ann)
{
	char client[16];
	struct netaddr c, v;
	client_of(call, client, sizeof(client));
	memset(ann, 0, sizeof(*ann));
	netaddr_parse(span_make(client, strlen(client)), &c);
	netaddr_parse(span_make(BENCH_VIP, strlen(BENCH_VIP)), &v);
	ann->conn.family = c.family;
	ann->conn.l4 = L4_UDP;
	ann->conn.sport = ann->conn.dport = 5060;
	memcpy(ann->conn.src, c.bytes, 16);
	memcpy(ann->conn.dst, v.bytes, 16);
	ann->facts.proto = PROTO_SIP;
	ann->facts.status = 200;
	ann->facts.key_len = (uint16_t)snprintf(ann->facts.key, sizeof(ann->facts.key), "%u-replica@%s", call, client);
	ann->facts.confirms_session = true;
	ann->facts.media_op = MEDIA_REPLACE;
	ann->facts.stream_count = 1;
	ann->facts.streams[0].enabled = true;
	ann->facts.streams[0].addr = v;
	ann->facts.streams[0].rtp_port = (uint16_t)(30000 + 2 * (call % 10000));
	ann->facts.streams[0].rtcp_port = (uint16_t)(ann->facts.streams[0].rtp_port + 1);
}

/* Calls overlap: step s carries call s's INVITE, call s - WINDOW's answer,
 * ACK and first RTP packet, and call s - 2 * WINDOW's BYE. */
static void workload_build(struct workload *w, uint32_t calls, bool with_bye)
{
	uint8_t buf[MAX_PACKET];
	size_t cap = (size_t)calls * IN_KINDS;
	w->inputs = xcalloc(cap, sizeof(*w->inputs));
	w->answers = xcalloc(calls, sizeof(*w->answers));
	w->calls = calls;
	for (uint32_t step = 0; step < calls + 2 * WINDOW; step++) {
		for (int kind = 0; kind < IN_KINDS; kind++) {
			uint32_t lag = kind == IN_INVITE ? 0 : kind == IN_BYE ? 2 * WINDOW : WINDOW;
			uint32_t call;
			struct input *in;
			size_t len = 0;
			if (step < lag || step - lag >= calls || (kind == IN_BYE && !with_bye))
				continue;
			call = step - lag;
			in = &w->inputs[w->count++];
			in->kind = (enum input_kind)kind;
			in->call = call;
			switch (kind) {
			case IN_INVITE: len = sip_datagram(call, "INVITE", 1, true, buf, sizeof(buf)); break;
			case IN_ACK: len = sip_datagram(call, "ACK", 1, false, buf, sizeof(buf)); break;
			case IN_BYE: len = sip_datagram(call, "BYE", 2, false, buf, sizeof(buf)); break;
			case IN_RTP: len = rtp_datagram(call, buf, sizeof(buf)); break;
			case IN_ANSWER: answer_of(call, &w->answers[call]); continue;
			}
			if (len == 0) {
				fprintf(stderr, "bench_replica: cannot build a packet\n");
				exit(2);
			}
			in->data = xcalloc(1, len);
			memcpy(in->data, buf, len);
			in->len = len;
		}
	}
}

static uint16_t redis_port;

static void bench_config(struct sara_config *cfg, uint32_t sessions, bool replicate)
{
	static const char *const addresses[] = { "198.18.2.11", "198.18.2.12", "198.18.2.13" };
	sara_config_defaults(cfg);
	snprintf(cfg->name, sizeof(cfg->name), "bench-replica");
	snprintf(cfg->state.journal, sizeof(cfg->state.journal), "off");
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
	cfg->selection.algorithm = SELECT_LEAST_SESSIONS;
	cfg->admission.enabled = false;
	cfg->timeouts.linger_s = 0;   /* a BYE ends its session at the next tick */
	cfg->limits.sessions = sessions;
	cfg->limits.flows = 16 * sessions;
	cfg->ha.dispatcher_count = 2;
	netaddr_parse(span_make("127.0.0.1", 9), &cfg->ha.dispatchers[0]);
	netaddr_parse(span_make("127.0.0.2", 9), &cfg->ha.dispatchers[1]);
	cfg->ha.redis_port = redis_port;
	cfg->ha.replication_queue = getenv("REPLICA_QUEUE") ? (uint32_t)strtoul(getenv("REPLICA_QUEUE"), NULL, 10) : 65536;
	cfg->ha.session_store = replicate ? SESSION_STORE_REDIS : SESSION_STORE_OFF;
}

static uint64_t clock_now;

static uint64_t bench_now_ms(void)
{
	return clock_now;
}

/* The packet path as sarad's queue threads take it. */
static void feed(struct dispatcher *d, const struct workload *w)
{
	struct engine_input batch[ENGINE_BATCH_MAX];
	struct verdict out[ENGINE_BATCH_MAX];
	size_t n = 0;
	for (size_t i = 0; i <= w->count; i++) {
		bool answer = i < w->count && w->inputs[i].kind == IN_ANSWER;
		if (n > 0 && (i == w->count || answer || n == ENGINE_BATCH_MAX)) {
			clock_now += 1;
			dispatcher_decide(d, batch, n, clock_now, out);
			n = 0;
		}
		if (i == w->count)
			break;
		if (answer) {
			dispatcher_announce(d, &w->answers[w->inputs[i].call]);
			continue;
		}
		batch[n++] = (struct engine_input){ w->inputs[i].data, w->inputs[i].len, 0 };
	}
	clock_now += 1000;
	pthread_mutex_lock(&d->engine_lock);
	engine_advance(d->engine, clock_now);
	pthread_mutex_unlock(&d->engine_lock);
}

static redisContext *redis_at(const char *host)
{
	struct timeval tv = { 1, 0 };
	redisContext *c = redisConnectWithTimeout(host, redis_port, tv);
	if (!c || c->err) {
		fprintf(stderr, "bench_replica: redis %s:%u: %s\n", host, redis_port, c ? c->errstr : "out of memory");
		exit(2);
	}
	return c;
}

static void flush_all(void)
{
	const char *hosts[2] = { "127.0.0.1", "127.0.0.2" };
	for (int i = 0; i < 2; i++) {
		redisContext *c = redis_at(hosts[i]);
		redisReply *r = redisCommand(c, "FLUSHALL");
		if (r)
			freeReplyObject(r);
		redisFree(c);
	}
}

/* Until every record queued has been written (or timeout_s). */
static bool wait_drained(struct session_store *store, double timeout_s)
{
	double t0 = now_seconds();
	while (now_seconds() - t0 < timeout_s) {
		if (session_store_pending(store) == 0)
			return true;
		usleep(200);
	}
	return false;
}

/* CPU seconds of this thread, of the whole process. */
static double cpu_seconds(int who)
{
	struct rusage ru;
	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* used_cpu_sys + used_cpu_user of the redis-server at host, in seconds. */
static double redis_cpu(const char *host)
{
	redisContext *c = redis_at(host);
	redisReply *r = redisCommand(c, "INFO cpu");
	double total = 0;
	const char *names[2] = { "used_cpu_sys:", "used_cpu_user:" };
	if (r && r->type == REDIS_REPLY_STRING)
		for (int i = 0; i < 2; i++) {
			const char *at = strstr(r->str, names[i]);
			if (at)
				total += strtod(at + strlen(names[i]), NULL);
		}
	if (r)
		freeReplyObject(r);
	redisFree(c);
	return total;
}

static void pin_to(int cpu)
{
	cpu_set_t set;
	if (!getenv("REPLICA_PIN"))
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

struct round {
	double path_s, total_s, path_cpu_s, process_cpu_s, redis_cpu_s;
	uint64_t sessions_created, queued, drops, written;
};

static struct round run_round(const struct sara_config *cfg, const struct workload *w, const struct wire_key *key)
{
	static struct dispatcher d;
	struct daemon_counters counters;
	struct log_kinds logs;
	struct engine_stats st;
	struct round r = { 0 };
	char err[512];
	double t0;
	flush_all();   /* nothing read back at start */
	daemon_counters_init(&counters);
	log_kinds_init(&logs);
	/* REPLICA_PIN: the replication threads (started in replication_start:
	 * they inherit CPU 1) and replica.sh's redis-servers on CPU 1, the
	 * packet thread alone on CPU 0, as on a dispatcher with a core to spare */
	pin_to(1);
	if (dispatcher_init(&d, cfg, NULL, &counters, &logs, bench_now_ms, err, sizeof(err)) < 0 ||
	    !replication_start(&d.replication, &d, cfg, key, &counters, err, sizeof(err))) {
		fprintf(stderr, "bench_replica: %s\n", err);
		exit(2);
	}
	pin_to(0);
	{
		double thread0 = cpu_seconds(RUSAGE_THREAD), process0 = cpu_seconds(RUSAGE_SELF);
		double redis0 = redis_cpu("127.0.0.1");
		t0 = now_seconds();
		feed(&d, w);
		r.path_s = now_seconds() - t0;
		r.path_cpu_s = cpu_seconds(RUSAGE_THREAD) - thread0;
		if (d.replication.store && !wait_drained(d.replication.store, 60)) {
			fprintf(stderr, "bench_replica: the replication thread did not drain in 60 s\n");
			exit(1);
		}
		r.total_s = now_seconds() - t0;
		r.process_cpu_s = cpu_seconds(RUSAGE_SELF) - process0;
		r.redis_cpu_s = redis_cpu("127.0.0.1") - redis0;
	}
	pthread_mutex_lock(&d.engine_lock);
	engine_get_stats(d.engine, &st);
	pthread_mutex_unlock(&d.engine_lock);
	r.sessions_created = st.sessions_created;
	r.queued = daemon_counter_get(&counters, COUNTER_REPLICA_QUEUED);
	r.drops = daemon_counter_get(&counters, COUNTER_REPLICA_QUEUE_DROPS);
	r.written = daemon_counter_get(&counters, COUNTER_REPLICA_WRITTEN);
	dispatcher_fini(&d);
	daemon_counters_destroy(&counters);
	return r;
}

/* ---- the resync: a peer's engine fed from the store ---- */

struct peer_engine {
	struct engine *engine;
	pthread_mutex_t lock;
	uint64_t adopted, other;
};

static void peer_apply(void *ctx, const struct replica_item *in, enum replica_source from)
{
	struct peer_engine *p = ctx;
	struct replica_item item = *in;
	enum engine_replica_result res = ENGINE_REPLICA_INVALID;
	(void)from;
	pthread_mutex_lock(&p->lock);
	if (item.op == REPLICA_SESSION) {
		item.u.session.server = server_slots_find(engine_config(p->engine), item.u.session.server_id);
		res = engine_replica_session(p->engine, &item.u.session);
	} else if (item.op == REPLICA_FLOW) {
		res = engine_replica_flow(p->engine, item.proto, item.key, item.key_len, &item.u.flow);
	}
	if (res == ENGINE_REPLICA_ADOPTED && item.op == REPLICA_SESSION)
		p->adopted++;
	else
		p->other++;
	pthread_mutex_unlock(&p->lock);
}

static void peer_count(void *ctx, enum counter_id id, uint64_t n)
{
	(void)ctx;
	(void)id;
	(void)n;
}

/* Seconds for a peer started empty to read sessions from this store. */
static double resync_once(const struct sara_config *cfg, const struct wire_key *key, uint64_t *adopted,
			  uint64_t *records)
{
	struct peer_engine p = { 0 };
	struct session_store_config sc;
	struct session_store_sink sink = { .ctx = &p, .apply = peer_apply, .count = peer_count };
	struct session_store *s;
	struct session_store_resync rs = { 0 };
	char err[512];
	double t0, t = -1;
	redisContext *c = redis_at("127.0.0.2");
	redisReply *r = redisCommand(c, "FLUSHALL");   /* the peer comes back empty */
	if (r)
		freeReplyObject(r);
	redisFree(c);
	p.engine = engine_create(cfg, NULL, clock_now, err, sizeof(err));
	if (!p.engine) {
		fprintf(stderr, "bench_replica: %s\n", err);
		exit(2);
	}
	pthread_mutex_init(&p.lock, NULL);
	memset(&sc, 0, sizeof(sc));
	snprintf(sc.cluster, sizeof(sc.cluster), "%s", cfg->name);
	sc.key = *key;
	sc.servers = replica_server_digest(cfg);
	sc.self_id = 2;
	sc.self.addr = cfg->ha.dispatchers[1];
	sc.self.port = redis_port;
	sc.peer_count = 1;
	sc.peers[0].id = 1;
	sc.peers[0].at.addr = cfg->ha.dispatchers[0];
	sc.peers[0].at.port = redis_port;
	sc.queue = 1024;
	t0 = now_seconds();
	s = session_store_start(&sc, &sink, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "bench_replica: %s\n", err);
		exit(2);
	}
	while (now_seconds() - t0 < 120) {
		session_store_resync_of(s, 0, &rs);
		if (rs.done) {
			t = now_seconds() - t0;
			break;
		}
		usleep(1000);
	}
	session_store_stop(s);
	*adopted = p.adopted;
	*records = rs.records;
	engine_destroy(p.engine);
	pthread_mutex_destroy(&p.lock);
	return t;
}

int main(int argc, char **argv)
{
	uint32_t calls, resync_sessions;
	unsigned rounds;
	static struct sara_config off_cfg, on_cfg, fill_cfg;
	struct workload w = { 0 }, fill = { 0 };
	double path_off[64], path_on[64], extra[64], rate_off[64], rate_on[64], ratio[64], resync_s[64];
	double cpu_path_off[64], cpu_path_on[64], cpu_all_off[64], cpu_all_on[64], cpu_ratio[64], cpu_redis_on[64];
	struct round last = { 0 };
	struct wire_key key;
	unsigned resync_rounds = 3;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_replica PORT [CALLS] [ROUNDS <= 64] [RESYNC_SESSIONS]\n");
		return 2;
	}
	redis_port = (uint16_t)strtoul(argv[1], NULL, 10);
	calls = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : DEFAULT_CALLS;
	rounds = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : DEFAULT_ROUNDS;
	resync_sessions = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 10) : DEFAULT_RESYNC;
	if (calls == 0 || rounds == 0 || rounds > 64 || resync_sessions == 0) {
		fprintf(stderr, "usage: bench_replica PORT [CALLS] [ROUNDS <= 64] [RESYNC_SESSIONS]\n");
		return 2;
	}
	log_open("bench_replica", true, false);
	if (getenv("REPLICA_PIN"))
		printf("pinned: the packet thread on CPU 0; the replication threads and Redis on CPU 1\n");
	for (int i = 0; i < WIRE_KEY_SIZE; i++)
		key.bytes[i] = (uint8_t)(i * 13 + 1);
	/* an answered call's BYE waits for its 200 (not fed): room for all */
	bench_config(&off_cfg, calls + 1024, false);
	bench_config(&on_cfg, calls + 1024, true);
	workload_build(&w, calls, true);
	clock_now = 1000000;
	flush_all();
	printf("replication cost per new session: %u calls (INVITE+SDP, 200 announced, ACK, RTP, BYE), "
	       "%u rounds each, alternating; redis-server on 127.0.0.1:%u (this dispatcher) and 127.0.0.2:%u (peer)\n",
	       calls, rounds, redis_port, redis_port);
	run_round(&on_cfg, &w, &key);   /* warm-up */
	for (unsigned i = 0; i < rounds; i++) {
		struct round a = run_round(&off_cfg, &w, &key);
		struct round b = run_round(&on_cfg, &w, &key);
		if (a.sessions_created != calls || b.sessions_created != calls) {
			fprintf(stderr, "bench_replica: %llu/%llu sessions created, want %u\n",
				(unsigned long long)a.sessions_created, (unsigned long long)b.sessions_created, calls);
			return 1;
		}
		path_off[i] = a.path_s * 1e6 / calls;
		path_on[i] = b.path_s * 1e6 / calls;
		extra[i] = path_on[i] - path_off[i];
		rate_off[i] = calls / a.total_s;
		rate_on[i] = calls / b.total_s;
		ratio[i] = rate_on[i] / rate_off[i];
		cpu_path_off[i] = a.path_cpu_s * 1e6 / calls;
		cpu_path_on[i] = b.path_cpu_s * 1e6 / calls;
		cpu_all_off[i] = (a.process_cpu_s + a.redis_cpu_s) * 1e6 / calls;
		cpu_all_on[i] = (b.process_cpu_s + b.redis_cpu_s) * 1e6 / calls;
		cpu_ratio[i] = cpu_all_off[i] / cpu_all_on[i];
		cpu_redis_on[i] = b.redis_cpu_s * 1e6 / calls;
		last = b;
		printf("  round %u: CPU per session: packet thread %.2f vs %.2f us; all of sarad and its Redis %.2f vs "
		       "%.2f us (off vs on)\n", i + 1, cpu_path_off[i], cpu_path_on[i], cpu_all_off[i], cpu_all_on[i]);
		printf("  round %u: off %.2f us/session, on %.2f us/session (path); sustained %.0f vs %.0f sessions/s "
		       "(ratio %.2f); %llu records, %llu dropped\n", i + 1, path_off[i], path_on[i], rate_off[i],
		       rate_on[i], ratio[i], (unsigned long long)b.queued, (unsigned long long)b.drops);
	}
	{
		/* median_of sorts: each median before its range is read */
		double m_off = median_of(path_off, rounds), m_on = median_of(path_on, rounds);
		double m_extra = median_of(extra, rounds), m_ratio = median_of(ratio, rounds);
		double m_rate_on = median_of(rate_on, rounds), m_rate_off = median_of(rate_off, rounds);
		printf("  replication off: %.2f us per new session on the packet path (median; %.2f..%.2f)\n", m_off,
		       path_off[0], path_off[rounds - 1]);
		printf("  replication on:  %.2f us per new session on the packet path (median; %.2f..%.2f)\n", m_on,
		       path_on[0], path_on[rounds - 1]);
		printf("  replication cost: %.2f us per new session (median of the paired rounds; %.2f..%.2f)\n",
		       m_extra, extra[0], extra[rounds - 1]);
		printf("  signalling rate, replication on/off (each until its last record is stored): %.2f (median; "
		       "%.2f..%.2f); %.0f vs %.0f sessions/s\n", m_ratio, ratio[0], ratio[rounds - 1], m_rate_on,
		       m_rate_off);
	}
	{
		double m_po = median_of(cpu_path_off, rounds), m_pn = median_of(cpu_path_on, rounds);
		double m_ao = median_of(cpu_all_off, rounds), m_an = median_of(cpu_all_on, rounds);
		double m_r = median_of(cpu_ratio, rounds), m_redis = median_of(cpu_redis_on, rounds);
		printf("  CPU per new session on the packet thread: off %.2f us (%.2f..%.2f), on %.2f us (%.2f..%.2f)\n",
		       m_po, cpu_path_off[0], cpu_path_off[rounds - 1], m_pn, cpu_path_on[0], cpu_path_on[rounds - 1]);
		printf("  CPU per new session, sarad's threads and its Redis: off %.2f us (%.2f..%.2f), on %.2f us "
		       "(%.2f..%.2f); CPU-bound rate on/off %.2f (median; %.2f..%.2f)\n", m_ao, cpu_all_off[0],
		       cpu_all_off[rounds - 1], m_an, cpu_all_on[0], cpu_all_on[rounds - 1], m_r, cpu_ratio[0],
		       cpu_ratio[rounds - 1]);
		printf("  of which Redis (this dispatcher's), replication on: %.2f us per new session (median; %.2f..%.2f)\n",
		       m_redis, cpu_redis_on[0], cpu_redis_on[rounds - 1]);
	}
	printf("  per session: %.2f records, %llu dropped in the last round\n", (double)last.queued / calls,
	       (unsigned long long)last.drops);

	/* the resync: this dispatcher's store filled with resync_sessions
	 * calls that stay up, then a peer started empty reads it */
	for (size_t i = 0; i < w.count; i++)
		free(w.inputs[i].data);
	free(w.inputs);
	free(w.answers);
	bench_config(&fill_cfg, resync_sessions + 1024, true);
	fill_cfg.ha.replication_queue = 1048576;
	workload_build(&fill, resync_sessions, false);
	{
		struct round f = run_round(&fill_cfg, &fill, &key);
		printf("resync: %llu sessions in this dispatcher's store (%llu records written, %llu dropped)\n",
		       (unsigned long long)f.sessions_created, (unsigned long long)f.written,
		       (unsigned long long)f.drops);
	}
	for (unsigned i = 0; i < resync_rounds; i++) {
		uint64_t adopted = 0, records = 0;
		resync_s[i] = resync_once(&fill_cfg, &key, &adopted, &records);
		printf("  resync %u: %.2f s, %llu records read, %llu sessions adopted\n", i + 1, resync_s[i],
		       (unsigned long long)records, (unsigned long long)adopted);
		if (resync_s[i] < 0 || adopted != resync_sessions)
			return 1;
	}
	{
		double m = median_of(resync_s, resync_rounds);
		printf("  resync of %u sessions: %.2f s (median of %u; %.2f..%.2f)\n", resync_sessions, m,
		       resync_rounds, resync_s[0], resync_s[resync_rounds - 1]);
	}
	for (size_t i = 0; i < fill.count; i++)
		free(fill.inputs[i].data);
	free(fill.inputs);
	free(fill.answers);
	flush_all();
	return 0;
}
