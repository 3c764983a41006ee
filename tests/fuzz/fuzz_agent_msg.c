/* fuzz_agent_msg.c - libFuzzer target for agent messages as sarad reads
 * them: the input as a heartbeat body, as a load body, and as a whole sealed
 * datagram; then as a script of heartbeats, loads and clock ticks driving
 * server_health. Invariants: a decoded body re-encodes to exactly the input;
 * a refused one leaves the output zeroed; weight factors stay in 0..1 and
 * are 0 exactly when a server is unavailable; combined loads stay in 0..1.
 * Seeds (tests/fuzz/corpus/agent_msg/) are bodies, scripts and one datagram
 * sealed with FUZZ_KEY_BYTE at FUZZ_NOW_MS. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/agent_msg.h"
#include "engine/server_health.h"
#include "engine/wire.h"

#define FUZZ_KEY_BYTE 0x5a
#define FUZZ_NOW_MS 1000000u
#define FUZZ_SKEW_MS 5000u
#define FUZZ_SERVERS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sara_config cfg;
static struct wire_key key;
static struct wire_replay replay;

static void set_up(void)
{
	sara_config_defaults(&cfg);
	cfg.server_count = FUZZ_SERVERS;
	cfg.agents.interval_ms = 100;
	cfg.agents.misses = 3;
	cfg.selection.slow_start_s = 2;
	memset(key.bytes, FUZZ_KEY_BYTE, sizeof(key.bytes));
}

static void check_bodies(const uint8_t *data, size_t size)
{
	struct agent_heartbeat hb;
	struct agent_load load;
	uint8_t again[32];
	static const struct agent_heartbeat zero_hb;
	static const struct agent_load zero_load;
	if (agent_heartbeat_decode(data, size, &hb) != COUNTER_NONE) {
		if (memcmp(&hb, &zero_hb, sizeof(hb)) != 0)
			abort();
	} else if (hb.flag >= AGENT_FLAG_COUNT || hb.host_id == 0 ||
		   agent_heartbeat_encode(&hb, again, sizeof(again)) != size || memcmp(again, data, size) != 0) {
		abort();
	}
	if (agent_load_decode(data, size, &load) != COUNTER_NONE) {
		if (memcmp(&load, &zero_load, sizeof(load)) != 0)
			abort();
	} else {
		for (unsigned i = 0; i < AGENT_LOAD_COMPONENTS; i++)
			if (load.fixed[i] > AGENT_LOAD_SCALE && load.fixed[i] != AGENT_LOAD_NOT_REPORTED)
				abort();
		if (agent_load_encode(&load, again, sizeof(again)) != size || memcmp(again, data, size) != 0)
			abort();
	}
}

static void check_invariants(const struct server_health *h, uint64_t now)
{
	for (unsigned s = 0; s < FUZZ_SERVERS; s++) {
		double f = server_health_weight_factor(h, s, now);
		struct server_health_info info;
		if (!(f >= 0.0 && f <= 1.0))
			abort();
		if ((f == 0.0) != !server_health_available(h, s))
			abort();
		if (!server_health_get(h, s, now, &info) || (info.has_load && !(info.load >= 0.0 && info.load <= 1.0)))
			abort();
	}
}

static void on_event(void *ctx, const struct server_event *event)
{
	(void)ctx;
	if (event->server >= FUZZ_SERVERS)
		abort();
	if (event->kind == SERVER_EVENT_LOAD && !(event->load >= 0.0 && event->load <= 1.0))
		abort();
}

/* Script: records of 1 op byte + 11 bytes. op % 4: 0 heartbeat (server from
 * the op, body from the bytes), 1 load (five u16 as raw fractions up to
 * 6.5535, or NaN when the op's high bit is set), 2 tick (u16 ms forward),
 * 3 a heartbeat of an out-of-range server. */
static void run_script(const uint8_t *data, size_t size)
{
	struct server_health *h = server_health_create(&cfg, 0, on_event, NULL);
	uint64_t now = 0;
	if (!h)
		abort();
	for (size_t at = 0; at + 12 <= size; at += 12) {
		uint8_t op = data[at];
		const uint8_t *b = data + at + 1;
		struct agent_heartbeat hb;
		unsigned server = (op >> 2) % FUZZ_SERVERS;
		switch (op % 4) {
		case 0:
			hb.host_id = server + 1;
			hb.seq = (uint16_t)(b[0] << 8 | b[1]);
			hb.flag = b[2] % (AGENT_FLAG_COUNT + 1);
			hb.timestamp = (uint32_t)(FUZZ_NOW_MS / 1000) + b[3];
			server_health_heartbeat(h, server, &hb, now, FUZZ_NOW_MS + now);
			break;
		case 1: {
			double c[AGENT_LOAD_COMPONENTS];
			for (unsigned i = 0; i < AGENT_LOAD_COMPONENTS; i++)
				c[i] = (op & 0x80) && i == 0 ? NAN : (double)(b[2 * i] << 8 | b[2 * i + 1]) / 10000.0;
			server_health_load(h, server, c, now);
			break;
		}
		case 2:
			now += (uint64_t)(b[0] << 8 | b[1]);
			server_health_tick(h, now);
			break;
		default:
			hb.host_id = 99;
			hb.seq = 0;
			hb.flag = 0;
			hb.timestamp = 0;
			server_health_heartbeat(h, FUZZ_SERVERS + server, &hb, now, FUZZ_NOW_MS + now);
			break;
		}
		check_invariants(h, now);
	}
	server_health_destroy(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct wire_header hdr;
	const uint8_t *body = NULL;
	enum wire_verdict verdict;
	if (!ready) {
		set_up();
		ready = true;
	}
	check_bodies(data, size);

	/* The input as a received datagram. */
	memset(&replay, 0, sizeof(replay));
	verdict = wire_open(&key, &replay, data, size, FUZZ_NOW_MS, FUZZ_SKEW_MS, &hdr, &body);
	if ((unsigned)verdict >= WIRE_VERDICT_COUNT)
		abort();
	if (verdict == WIRE_OK) {
		unsigned server;
		struct agent_heartbeat hb;
		struct agent_load load;
		check_bodies(body, hdr.body_len);
		if (hdr.type == WIRE_HEARTBEAT && agent_heartbeat_decode(body, hdr.body_len, &hb) == COUNTER_NONE &&
		    agent_msg_check_sender(&cfg, hdr.sender, hb.host_id, &server) == COUNTER_NONE &&
		    server >= cfg.server_count)
			abort();
		if (hdr.type == WIRE_LOAD && agent_load_decode(body, hdr.body_len, &load) == COUNTER_NONE &&
		    agent_msg_check_sender(&cfg, hdr.sender, load.host_id, &server) == COUNTER_NONE &&
		    server >= cfg.server_count)
			abort();
	}
	run_script(data, size);
	return 0;
}
