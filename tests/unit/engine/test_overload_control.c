/* test_overload_control.c - unit tests of the RFC 7339 state: the
 * reduction from SA2C's refusal probability, when a dispatcher sends, its
 * wire body, the gateways it sends to, and the gateway's view expiring. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "engine/overload_control.h"

static void test_reduction(void **state)
{
	(void)state;
	assert_int_equal(oc_reduction(0.0), 0);
	assert_int_equal(oc_reduction(-0.5), 0);
	assert_int_equal(oc_reduction(0.004), 0);
	assert_int_equal(oc_reduction(0.005), 1);
	assert_int_equal(oc_reduction(0.2), 20);
	assert_int_equal(oc_reduction(0.999), 100);
	assert_int_equal(oc_reduction(1.0), 100);
	assert_int_equal(oc_reduction(7.0), 100);
	assert_int_equal(oc_reduction(NAN), 100);
}

static void test_source_sends_on_change_and_every_half_validity(void **state)
{
	struct oc_source s = { 0 };
	struct sip_oc_feedback fb;
	(void)state;
	oc_source_configure(&s, 500);
	assert_false(oc_source_feedback(&s, &fb));
	assert_true(oc_source_update(&s, 0.0, 1000, 1700000000000ull));
	assert_true(oc_source_feedback(&s, &fb));
	assert_int_equal(fb.reduction, 0);
	assert_int_equal(fb.validity_ms, 500);
	assert_int_equal(fb.seq_ms, 1700000000000ull);
	/* Same reduction: quiet until validity / 2, then a refresh with the same seq. */
	assert_false(oc_source_update(&s, 0.001, 1100, 1700000000100ull));
	assert_false(oc_source_update(&s, 0.0, 1249, 1700000000249ull));
	assert_true(oc_source_update(&s, 0.0, 1250, 1700000000250ull));
	assert_int_equal(s.current.seq_ms, 1700000000000ull);
	/* A change goes out at once with a new seq. */
	assert_true(oc_source_update(&s, 0.37, 1260, 1700000000260ull));
	assert_true(oc_source_feedback(&s, &fb));
	assert_int_equal(fb.reduction, 37);
	assert_int_equal(fb.seq_ms, 1700000000260ull);
	/* The wall clock stepping back never moves oc-seq back. */
	assert_true(oc_source_update(&s, 0.8, 1270, 1600000000000ull));
	assert_int_equal(s.current.seq_ms, 1700000000261ull);
	/* A new validity is sent at the next update; 0 turns it off. */
	oc_source_configure(&s, 2000);
	assert_true(oc_source_update(&s, 0.8, 1271, 1700000000300ull));
	assert_int_equal(s.current.validity_ms, 2000);
	oc_source_configure(&s, 0);
	assert_false(oc_source_update(&s, 1.0, 5000, 1700000005000ull));
	assert_false(oc_source_feedback(&s, &fb));
}

static void test_state_codec(void **state)
{
	struct oc_state in = { .reduction = 42, .validity_ms = 500, .seq_ms = 1282321615782ull }, out;
	uint8_t buf[OC_STATE_SIZE + 1];
	(void)state;
	assert_int_equal(oc_state_encode(&in, buf, OC_STATE_SIZE - 1), 0);
	assert_int_equal(oc_state_encode(&in, buf, sizeof(buf)), OC_STATE_SIZE);
	assert_int_equal(buf[0], 42);
	assert_int_equal(oc_state_decode(buf, OC_STATE_SIZE, &out), COUNTER_NONE);
	assert_int_equal(out.reduction, 42);
	assert_int_equal(out.validity_ms, 500);
	assert_int_equal(out.seq_ms, 1282321615782ull);
	assert_int_equal(oc_state_decode(buf, OC_STATE_SIZE - 1, &out), COUNTER_GW_OC_STATE_INVALID);
	assert_int_equal(out.reduction, 0);
	assert_int_equal(oc_state_decode(buf, OC_STATE_SIZE + 1, &out), COUNTER_GW_OC_STATE_INVALID);
	struct oc_state bad = in;
	bad.reduction = 101;
	oc_state_encode(&bad, buf, sizeof(buf));
	assert_int_equal(oc_state_decode(buf, OC_STATE_SIZE, &out), COUNTER_GW_OC_STATE_INVALID);
	bad = in;
	bad.validity_ms = OC_VALIDITY_MAX_MS + 1;
	oc_state_encode(&bad, buf, sizeof(buf));
	assert_int_equal(oc_state_decode(buf, OC_STATE_SIZE, &out), COUNTER_GW_OC_STATE_INVALID);
	bad = in;
	bad.seq_ms = 0;
	oc_state_encode(&bad, buf, sizeof(buf));
	assert_int_equal(oc_state_decode(buf, OC_STATE_SIZE, &out), COUNTER_GW_OC_STATE_INVALID);
}

static struct endpoint ep(uint8_t last, uint16_t port)
{
	struct endpoint e = { 0 };
	e.addr.family = NETADDR_IPV4;
	e.addr.bytes[0] = 192;
	e.addr.bytes[1] = 0;
	e.addr.bytes[2] = 2;
	e.addr.bytes[3] = last;
	e.port = port;
	return e;
}

static void test_gateways_learned_and_forgotten(void **state)
{
	static struct oc_gateways t;
	struct endpoint list[OC_MAX_GATEWAYS + 1], a = ep(1, 4000), b = ep(1, 4001);
	(void)state;
	memset(&t, 0, sizeof(t));
	assert_int_equal(oc_gateways_list(&t, 0, list, OC_MAX_GATEWAYS), 0);
	assert_true(oc_gateways_seen(&t, 7, &a, 1000));
	assert_true(oc_gateways_seen(&t, 7, &b, 2000)); /* the same gateway, a new socket */
	assert_int_equal(oc_gateways_list(&t, 2000, list, OC_MAX_GATEWAYS), 1);
	assert_int_equal(list[0].port, 4001);
	for (uint32_t id = 100; id < 100 + OC_MAX_GATEWAYS - 1; id++) {
		struct endpoint e = ep((uint8_t)id, 5060);
		assert_true(oc_gateways_seen(&t, id, &e, 3000));
	}
	struct endpoint extra = ep(99, 5060);
	assert_false(oc_gateways_seen(&t, 999, &extra, 3000));
	assert_int_equal(oc_gateways_list(&t, 3000, list, OC_MAX_GATEWAYS), OC_MAX_GATEWAYS);
	assert_int_equal(oc_gateways_list(&t, 3000, list, 3), 3);
	/* Gateway 7 fell silent: forgotten, and its entry reused. */
	assert_int_equal(oc_gateways_list(&t, 2000 + OC_GATEWAY_FORGET_MS + 1, list, OC_MAX_GATEWAYS),
			 OC_MAX_GATEWAYS - 1);
	assert_true(oc_gateways_seen(&t, 999, &extra, 2000 + OC_GATEWAY_FORGET_MS + 1));
}

static void test_view_freshness_order_and_choice(void **state)
{
	struct oc_view v;
	struct sip_oc_feedback fb;
	struct oc_state s1 = { .reduction = 30, .validity_ms = 500, .seq_ms = 5000 };
	(void)state;
	memset(&v, 0, sizeof(v));
	assert_false(oc_view_feedback(&v, 0, &fb));
	assert_int_equal(oc_view_take(&v, 1, &s1, 10000), COUNTER_NONE);
	assert_true(oc_view_feedback(&v, 10500, &fb));
	assert_int_equal(fb.reduction, 30);
	assert_int_equal(fb.seq_ms, 5000);
	/* Older than oc-validity: the gateway stops adding oc. */
	assert_false(oc_view_feedback(&v, 10501, &fb));
	/* A refresh (same seq) is taken; an older seq is not. */
	assert_int_equal(oc_view_take(&v, 1, &s1, 20000), COUNTER_NONE);
	struct oc_state older = s1;
	older.seq_ms = 4999;
	older.reduction = 90;
	assert_int_equal(oc_view_take(&v, 1, &older, 20001), COUNTER_GW_OC_STATE_OUT_OF_ORDER);
	assert_true(oc_view_feedback(&v, 20100, &fb));
	assert_int_equal(fb.reduction, 30);
	/* Two dispatchers: the larger reduction of the fresh ones. */
	struct oc_state s2 = { .reduction = 60, .validity_ms = 200, .seq_ms = 7000 };
	assert_int_equal(oc_view_take(&v, 2, &s2, 20100), COUNTER_NONE);
	assert_true(oc_view_feedback(&v, 20200, &fb));
	assert_int_equal(fb.reduction, 60);
	assert_int_equal(fb.validity_ms, 200);
	assert_true(oc_view_feedback(&v, 20400, &fb));
	assert_int_equal(fb.reduction, 30);
	/* Validity 0: the dispatcher stopped. */
	struct oc_state stop = { .reduction = 0, .validity_ms = 0, .seq_ms = 8000 };
	assert_int_equal(oc_view_take(&v, 1, &stop, 20401), COUNTER_NONE);
	assert_false(oc_view_feedback(&v, 20402, &fb));
	/* The table: fresh states of others are kept, stale ones replaced. */
	for (uint32_t id = 10; id < 10 + OC_MAX_DISPATCHERS; id++)
		assert_int_equal(oc_view_take(&v, id, &s1, 30000), COUNTER_NONE);
	assert_int_equal(oc_view_take(&v, 99, &s1, 30000), COUNTER_GW_OC_STATE_TOO_MANY);
	assert_int_equal(oc_view_take(&v, 99, &s1, 30501), COUNTER_NONE);
}

static void test_result_counters(void **state)
{
	(void)state;
	for (int r = 0; r < SIP_OC_RESULT_COUNT; r++)
		assert_int_not_equal(oc_result_counter((enum sip_oc_result)r), COUNTER_NONE);
	assert_int_equal(oc_result_counter(SIP_OC_ADDED), COUNTER_GW_OC_ADDED);
	assert_int_equal(oc_result_counter(SIP_OC_RESULT_COUNT), COUNTER_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reduction),
		cmocka_unit_test(test_source_sends_on_change_and_every_half_validity),
		cmocka_unit_test(test_state_codec),
		cmocka_unit_test(test_gateways_learned_and_forgotten),
		cmocka_unit_test(test_view_freshness_order_and_choice),
		cmocka_unit_test(test_result_counters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
