/* test_decoder.c - sara-agent --decode's printer: heartbeats, load reports,
 * the health events they cause, refusals, and the closing summary, each on
 * its own line as the smoke tests read them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/clock.h"
#include "sara-agent/decoder.h"

struct printer {
	struct sara_config cfg;
	struct agent_decoder decoder;
	char *text;
	size_t size, seen;
	FILE *out;
};

static int setup(void **state)
{
	struct printer *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	sara_config_defaults(&p->cfg);
	p->cfg.server_count = 2;
	snprintf(p->cfg.servers[0].id, sizeof(p->cfg.servers[0].id), "s1");
	snprintf(p->cfg.servers[1].id, sizeof(p->cfg.servers[1].id), "s2");
	p->out = open_memstream(&p->text, &p->size);
	assert_non_null(p->out);
	assert_true(agent_decoder_init(&p->decoder, &p->cfg, p->out));
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct printer *p = *state;
	agent_decoder_destroy(&p->decoder);
	fclose(p->out);
	free(p->text);
	free(p);
	return 0;
}

/* What was printed since the last call (valid until the next print). */
static const char *printed(struct printer *p)
{
	const char *from;
	fflush(p->out);
	from = p->text + p->seen;
	p->seen = p->size;
	return from;
}

static void deliver(struct printer *p, uint8_t type, uint32_t sender, const uint8_t *body, size_t len)
{
	struct sealed_message msg = {
		.hdr = { .type = type, .body_len = (uint16_t)len, .sender = sender, .seq = 1,
			 .time_ms = clock_ms(CLOCK_REALTIME) },
		.body = body,
	};
	agent_decoder_message(&p->decoder, &msg);
}

static void test_heartbeat_and_load(void **state)
{
	struct printer *p = *state;
	struct agent_heartbeat hb = { .host_id = 1, .seq = 5, .flag = AGENT_UP, .timestamp = 1700000000 };
	struct agent_load load = { .host_id = 1, .fixed = { 2500, AGENT_LOAD_NOT_REPORTED, 0, 10000, 5000 } };
	uint8_t body[32];
	size_t len = agent_heartbeat_encode(&hb, body, sizeof(body));
	deliver(p, WIRE_HEARTBEAT, 1, body, len);
	assert_non_null(strstr(printed(p), "heartbeat sender 1 server s1 seq 5 flag up timestamp 1700000000 age_ms "));
	len = agent_load_encode(&load, body, sizeof(body));
	deliver(p, WIRE_LOAD, 1, body, len);
	assert_non_null(strstr(printed(p), "load sender 1 server s1 cpu 0.2500 memory - network 0.0000 io 1.0000 "
					   "backlog 0.5000 combined "));
	agent_decoder_summary(&p->decoder);
	assert_non_null(strstr(printed(p), "server s1 state up heartbeats 1 lost 0 loads 1\n"
					   "server s2 state unknown heartbeats 0 lost 0 loads 0\n"
					   "counter health.heartbeats 1\n"));
}

static void test_drain_event(void **state)
{
	struct printer *p = *state;
	struct agent_heartbeat hb = { .host_id = 2, .seq = 1, .flag = AGENT_DRAIN,
				      .timestamp = (uint32_t)(clock_ms(CLOCK_REALTIME) / 1000u) + 30 };
	uint8_t body[32];
	size_t len = agent_heartbeat_encode(&hb, body, sizeof(body));
	const char *text;
	deliver(p, WIRE_HEARTBEAT, 2, body, len);
	text = printed(p);
	assert_non_null(strstr(text, "heartbeat sender 2 server s2 seq 1 flag drain timestamp"));
	assert_non_null(strstr(text, "\nevent draining server s2 planned_in_ms "));
	/* the same drain again is no news */
	hb.seq = 2;
	len = agent_heartbeat_encode(&hb, body, sizeof(body));
	deliver(p, WIRE_HEARTBEAT, 2, body, len);
	assert_null(strstr(printed(p), "event"));
}

static void test_refusals(void **state)
{
	struct printer *p = *state;
	struct agent_heartbeat hb = { .host_id = 1, .seq = 5, .flag = AGENT_UP, .timestamp = 1700000000 };
	struct endpoint from = { .addr = { .family = NETADDR_IPV4, .bytes = { 127, 0, 0, 1 } }, .port = 4000 };
	uint8_t body[32];
	size_t len = agent_heartbeat_encode(&hb, body, sizeof(body));
	deliver(p, WIRE_HEARTBEAT, 2, body, len);  /* sender 2 claims host 1 */
	assert_string_equal(printed(p), "rejected agent_host_mismatch sender 2\n");
	deliver(p, WIRE_HEARTBEAT, 1, body, len - 1);
	assert_string_equal(printed(p), "rejected agent_truncated sender 1\n");
	deliver(p, WIRE_ANNOUNCE, 1, body, len);
	assert_string_equal(printed(p), "rejected not_an_agent_message type 1 sender 1\n");
	agent_decoder_refused(&p->decoder, WIRE_FORGED, &from);
	assert_string_equal(printed(p), "rejected wire_forged from 127.0.0.1:4000\n");
	agent_decoder_refused(&p->decoder, SEALED_OVERSIZED, &from);
	assert_string_equal(printed(p), "rejected oversized from 127.0.0.1:4000\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_heartbeat_and_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
