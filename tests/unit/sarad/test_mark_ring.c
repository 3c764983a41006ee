/* test_mark_ring.c - the connmark write ring: writes come out in the order
 * they went in, across the wrap; a full ring refuses and counts; pops are
 * bounded by the caller's batch; an emptied ring starts again at slot 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sarad/mark_ring.h"

static struct flow_key key_n(uint16_t n)
{
	struct flow_key k;
	memset(&k, 0, sizeof(k));
	k.family = NETADDR_IPV4;
	k.l4 = L4_UDP;
	k.sport = n;
	k.dport = 5060;
	return k;
}

static void test_order_kept_across_wrap(void **state)
{
	struct mark_ring ring;
	struct mark_update out[8];
	uint16_t next_in = 0, next_out = 0;
	(void)state;
	assert_true(mark_ring_init(&ring, 4));
	/* Push 3, pop 2, repeatedly: head walks around the ring several times. */
	for (unsigned round = 0; round < 6; round++) {
		for (unsigned i = 0; i < 3 && ring.count < 4; i++) {
			struct flow_key k = key_n(next_in);
			assert_true(mark_ring_push(&ring, &k, next_in % 2 ? 0 : 100u + next_in));
			next_in++;
		}
		uint32_t n = mark_ring_pop(&ring, out, 2);
		for (uint32_t i = 0; i < n; i++, next_out++) {
			assert_int_equal(out[i].key.sport, next_out);
			assert_int_equal(out[i].mark, next_out % 2 ? 0 : 100u + next_out);
		}
	}
	/* What is left comes out in order too, then nothing. */
	uint32_t n = mark_ring_pop(&ring, out, 8);
	for (uint32_t i = 0; i < n; i++, next_out++)
		assert_int_equal(out[i].key.sport, next_out);
	assert_int_equal(next_out, next_in);
	assert_int_equal(mark_ring_pop(&ring, out, 8), 0);
	assert_int_equal(ring.refused, 0);
	mark_ring_free(&ring);
}

static void test_emptied_ring_starts_over(void **state)
{
	struct mark_ring ring;
	struct mark_update out[4];
	(void)state;
	assert_true(mark_ring_init(&ring, 8));
	/* one write a tick, each popped before the next: always slot 0 */
	for (uint16_t i = 0; i < 20; i++) {
		struct flow_key k = key_n(i);
		assert_true(mark_ring_push(&ring, &k, 1));
		assert_int_equal(mark_ring_pop(&ring, out, 4), 1);
		assert_int_equal(out[0].key.sport, i);
		assert_int_equal(ring.head, 0);
	}
	/* a backlog left over keeps its place */
	for (uint16_t i = 0; i < 3; i++) {
		struct flow_key k = key_n(i);
		assert_true(mark_ring_push(&ring, &k, 1));
	}
	assert_int_equal(mark_ring_pop(&ring, out, 2), 2);
	assert_int_equal(ring.head, 2);
	assert_int_equal(mark_ring_pop(&ring, out, 2), 1);
	assert_int_equal(out[0].key.sport, 2);
	assert_int_equal(ring.head, 0);
	mark_ring_free(&ring);
}

static void test_full_ring_refuses_and_counts(void **state)
{
	struct mark_ring ring;
	struct mark_update out[4];
	(void)state;
	assert_true(mark_ring_init(&ring, 3));
	for (uint16_t i = 0; i < 3; i++) {
		struct flow_key k = key_n(i);
		assert_true(mark_ring_push(&ring, &k, 7));
	}
	for (uint16_t i = 10; i < 12; i++) {
		struct flow_key k = key_n(i);
		assert_false(mark_ring_push(&ring, &k, 7));
	}
	assert_int_equal(ring.refused, 2);
	assert_int_equal(ring.count, 3);
	/* The refused ones never entered: the first three come out. */
	assert_int_equal(mark_ring_pop(&ring, out, 4), 3);
	for (uint16_t i = 0; i < 3; i++)
		assert_int_equal(out[i].key.sport, i);
	/* Room again. */
	struct flow_key k = key_n(20);
	assert_true(mark_ring_push(&ring, &k, 0));
	assert_int_equal(ring.refused, 2);
	mark_ring_free(&ring);
}

static void test_zero_capacity_refused(void **state)
{
	struct mark_ring ring;
	(void)state;
	assert_false(mark_ring_init(&ring, 0));
	mark_ring_free(&ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_kept_across_wrap),
		cmocka_unit_test(test_emptied_ring_starts_over),
		cmocka_unit_test(test_full_ring_refuses_and_counts),
		cmocka_unit_test(test_zero_capacity_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
