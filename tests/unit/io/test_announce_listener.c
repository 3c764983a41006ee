/* test_announce_listener.c - announcements over a loopback sealed
 * receiver, checked by the listener: sealed announcements reach its sink
 * (here the engine); forged, replayed, garbage and foreign ones are
 * rejected and counted by reason; the control socket's status document
 * reports them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/announce_codec.h"
#include "io/announce_listener.h"
#include "io/control.h"
#include "engine/engine.h"
#include "io/log.h"
#include "engine/wire.h"

#define VIP "198.18.77.20"
#define CLIENT "198.18.0.10"

struct fixture {
	struct sara_config cfg;
	struct engine *engine;
	pthread_mutex_t lock;
	struct sealed_listener *listener;
	struct sealed_receiver receiver;
	struct wire_key key;
	uint16_t port;
	int sender;
	uint64_t seq;
};

static uint64_t test_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void parse_address(const char *text, struct netaddr *out)
{
	assert_true(netaddr_parse(span_make(text, strlen(text)), out));
}

/* The listener's sink: what sarad's dispatcher does with an announcement. */
static void to_engine(void *ctx, const struct announcement *ann)
{
	struct fixture *f = ctx;
	pthread_mutex_lock(&f->lock);
	engine_announce(f->engine, ann, test_now_ms());
	pthread_mutex_unlock(&f->lock);
}

static uint64_t engine_counter(struct fixture *f, enum counter_id id);

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];
	assert_non_null(f);
	log_open("test", false, false);
	sara_config_defaults(&f->cfg);
	snprintf(f->cfg.name, sizeof(f->cfg.name), "listener-test");
	f->cfg.vip_count = 1;
	parse_address(VIP, &f->cfg.vips[0]);
	f->cfg.server_count = 1;
	snprintf(f->cfg.servers[0].id, sizeof(f->cfg.servers[0].id), "s1");
	parse_address("198.18.2.11", &f->cfg.servers[0].address);
	f->cfg.servers[0].mark = 1;
	f->cfg.servers[0].table = 101;
	f->cfg.servers[0].weight = 1.0;
	f->cfg.limits.flows = 256;
	f->cfg.limits.sessions = 32;
	f->cfg.limits.tcp_streams = 16;
	f->cfg.limits.fragments = 8;
	for (unsigned i = 0; i < WIRE_KEY_SIZE; i++)
		f->key.bytes[i] = (uint8_t)(i * 7 + 1);
	pthread_mutex_init(&f->lock, NULL);
	f->engine = engine_create(&f->cfg, NULL, test_now_ms(), err, sizeof(err));
	assert_non_null(f->engine);
	/* A loopback port unlikely to be taken; try a few. */
	f->receiver.fd = -1;
	for (unsigned attempt = 0; attempt < 20 && f->receiver.fd < 0; attempt++) {
		f->port = (uint16_t)(40000 + (getpid() * 13 + attempt * 101) % 20000);
		parse_address("127.0.0.1", &f->cfg.gateway.listen.addr);
		f->cfg.gateway.listen.port = f->port;
		(void)sealed_receiver_open(&f->receiver, &f->cfg.gateway.listen, &f->key, ANNOUNCE_MAX_SKEW_MS, err,
					   sizeof(err));
	}
	assert_true(f->receiver.fd >= 0);
	f->listener = announce_listener_create(&f->cfg, test_now_ms, to_engine, f);
	assert_non_null(f->listener);
	f->sender = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(f->sender >= 0);
	f->seq = wall_ms() * 1000u;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	close(f->sender);
	sealed_listener_destroy(f->listener);
	sealed_receiver_close(&f->receiver);
	engine_destroy(f->engine);
	pthread_mutex_destroy(&f->lock);
	free(f);
	log_close();
	return 0;
}

static void send_raw(struct fixture *f, const uint8_t *msg, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(f->port) };
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(sendto(f->sender, msg, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
}

static void make_announcement(struct announcement *ann, const char *vip)
{
	struct netaddr a;
	memset(ann, 0, sizeof(*ann));
	ann->conn.family = AF_INET;
	ann->conn.l4 = L4_UDP;
	ann->conn.sport = 5060;
	ann->conn.dport = 5060;
	parse_address(CLIENT, &a);
	memcpy(ann->conn.src, a.bytes, 16);
	parse_address(vip, &a);
	memcpy(ann->conn.dst, a.bytes, 16);
	ann->facts.proto = PROTO_SIP;
	ann->facts.is_request = false;
	ann->facts.status = 200;
	ann->facts.confirms_session = true;
	ann->facts.key_len = (uint16_t)strlen("call-1@test");
	memcpy(ann->facts.key, "call-1@test", ann->facts.key_len);
	ann->facts.media_op = MEDIA_REPLACE;
	ann->facts.stream_count = 1;
	ann->facts.streams[0].enabled = true;
	ann->facts.streams[0].rtp_port = 6000;
	ann->facts.streams[0].rtcp_port = 6001;
}

/* Seals ann with key; returns the message length. */
static size_t seal(struct fixture *f, const struct wire_key *key, const struct announcement *ann, uint8_t *msg,
		   size_t cap)
{
	uint8_t body[WIRE_MAX_BODY];
	struct wire_header hdr;
	size_t body_len = announce_encode(ann, body, sizeof(body)), len;
	assert_true(body_len > 0);
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = WIRE_ANNOUNCE;
	hdr.body_len = (uint16_t)body_len;
	hdr.sender = 7;
	hdr.seq = ++f->seq;
	hdr.time_ms = wall_ms();
	len = wire_seal(key, &hdr, body, msg, cap);
	assert_true(len > 0);
	return len;
}

static void drain(struct fixture *f, int expected)
{
	struct sealed_receiver_handler h = sealed_listener_handler(f->listener);
	char err[256];
	int handled = 0;
	for (int i = 0; i < 200 && handled < expected; i++) {
		int n = sealed_receiver_drain(&f->receiver, 256, &h, err, sizeof(err));
		assert_true(n >= 0);
		handled += n;
		if (handled < expected)
			usleep(10000);
	}
	assert_int_equal(handled, expected);
}

struct reject_find { const char *name; uint64_t value; };

static void find_reject(void *ctx, const struct counter_def *def, uint64_t value)
{
	struct reject_find *r = ctx;
	if (strcmp(r->name, def->name) == 0)
		r->value = value;
}

/* The reject counter called name, as the status document lists it. */
static uint64_t rejects(struct fixture *f, const char *name)
{
	struct reject_find r = { name, 0 };
	struct counter_set set;
	sealed_listener_get_counters(f->listener, &set);
	counters_visit(&set, COUNTER_SCOPE_ANNOUNCE_REJECT, COUNTERS_REPORTED, find_reject, &r);
	return r.value;
}

/* A counter of the listener's own (received, rejected...). */
static uint64_t counter(struct fixture *f, enum counter_id id)
{
	struct counter_set set;
	sealed_listener_get_counters(f->listener, &set);
	return counter_get(&set, id);
}

static uint64_t engine_counter(struct fixture *f, enum counter_id id)
{
	return counter_get(engine_counters(f->engine), id);
}

static void test_accepts_and_rejects(void **state)
{
	struct fixture *f = *state;
	struct announcement ann;
	struct wire_key wrong;
	uint8_t msg[WIRE_MAX_MESSAGE], again[WIRE_MAX_MESSAGE];
	size_t len;
	static const uint8_t garbage[] = "not a sara message at all, just bytes";

	make_announcement(&ann, VIP);
	len = seal(f, &f->key, &ann, msg, sizeof(msg));
	memcpy(again, msg, len);
	send_raw(f, msg, len);                 /* accepted */
	send_raw(f, again, len);               /* the same datagram: replayed */
	memcpy(&wrong, &f->key, sizeof(wrong));
	wrong.bytes[0] ^= 0xff;
	len = seal(f, &wrong, &ann, msg, sizeof(msg));
	send_raw(f, msg, len);                 /* wrong key: forged */
	send_raw(f, garbage, sizeof(garbage)); /* not ours */
	make_announcement(&ann, "198.18.99.99");
	len = seal(f, &f->key, &ann, msg, sizeof(msg));
	send_raw(f, msg, len);                 /* authentic, but not our VIP */
	drain(f, 5);

	assert_int_equal(counter(f, COUNTER_ANNOUNCE_RECEIVED), 5);
	assert_int_equal(counter(f, COUNTER_ANNOUNCE_ACCEPTED), 1);
	assert_int_equal(counter(f, COUNTER_ANNOUNCE_REJECTED), 4);
	assert_int_equal(rejects(f, "wire_replayed"), 1);
	assert_int_equal(rejects(f, "wire_forged"), 1);
	assert_int_equal(rejects(f, "announce_not_vip"), 1);
	assert_int_equal(rejects(f, "wire_bad_magic") + rejects(f, "wire_truncated"), 1);
	/* Only the accepted one reached the sink. */
	assert_int_equal(engine_counter(f, COUNTER_ANNOUNCEMENTS), 1);
}

/* A datagram longer than any sealed message: counted as oversized. */
static void test_oversized(void **state)
{
	struct fixture *f = *state;
	static uint8_t big[WIRE_MAX_MESSAGE + 100];
	memset(big, 0x5a, sizeof(big));
	send_raw(f, big, sizeof(big));
	drain(f, 1);
	assert_int_equal(counter(f, COUNTER_ANNOUNCE_RECEIVED), 1);
	assert_int_equal(counter(f, COUNTER_ANNOUNCE_REJECTED), 1);
	assert_int_equal(rejects(f, "oversized"), 1);
	assert_int_equal(engine_counter(f, COUNTER_ANNOUNCEMENTS), 0);
}

static void test_status_reports_announcements(void **state)
{
	struct fixture *f = *state;
	struct announcement ann;
	struct verdict_counts verdicts;
	struct control_view view;
	uint8_t msg[WIRE_MAX_MESSAGE];
	char *json;
	size_t len;

	make_announcement(&ann, VIP);
	len = seal(f, &f->key, &ann, msg, sizeof(msg));
	send_raw(f, msg, len);
	drain(f, 1);

	memset(&verdicts, 0, sizeof(verdicts));
	verdicts.by_action_reason[VERDICT_ACCEPT][REASON_SESSION] = 3;
	verdicts.by_action_reason[VERDICT_DROP][REASON_ADMISSION] = 2;
	memset(&view, 0, sizeof(view));
	view.cluster = "listener-\"test\"";
	view.now_ms = test_now_ms;
	view.started_ms = test_now_ms();
	view.engine = f->engine;
	view.engine_lock = &f->lock;
	view.verdicts = &verdicts;
	view.announcements = f->listener;
	view.announce_listen = "127.0.0.1:1";
	json = control_handle_command(&view, "status\n", 7);
	assert_non_null(json);
	assert_non_null(strstr(json, "\"cluster\": \"listener-\\\"test\\\"\""));
	assert_non_null(strstr(json, "\"accept\": {\"session\": 3}"));
	assert_non_null(strstr(json, "\"drop\": {\"admission\": 2}"));
	assert_non_null(strstr(json, "\"accepted\": 1"));
	assert_non_null(strstr(json, "\"queues\": []"));
	assert_non_null(strstr(json, "\"engine\": {\"packets\": 0"));
	free(json);
	json = control_handle_command(&view, "bogus", 5);
	assert_non_null(json);
	assert_non_null(strstr(json, "\"error\": \"unknown command\""));
	free(json);
	json = control_handle_command(&view, "  ping  \r\n", 10);
	assert_non_null(json);
	assert_string_equal(json, "{\"pong\": true}\n");
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accepts_and_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_reports_announcements, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
