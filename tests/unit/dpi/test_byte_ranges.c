/* test_byte_ranges.c - unit tests for the reassemblers' range list: order,
 * merging of overlapping and touching ranges, the capacity bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dpi/byte_ranges.h"

static void assert_ranges(const struct byte_range *r, unsigned count, const uint32_t *expected,
			  unsigned expected_count)
{
	assert_int_equal(count, expected_count);
	for (unsigned i = 0; i < count; i++) {
		assert_int_equal(r[i].start, expected[2 * i]);
		assert_int_equal(r[i].end, expected[2 * i + 1]);
	}
}

static void test_disjoint_kept_sorted(void **state)
{
	struct byte_range r[4];
	unsigned n = 0;
	(void)state;
	assert_true(byte_ranges_add(r, &n, 4, 50, 60));
	assert_true(byte_ranges_add(r, &n, 4, 10, 20));
	assert_true(byte_ranges_add(r, &n, 4, 30, 40));
	assert_ranges(r, n, (const uint32_t[]){ 10, 20, 30, 40, 50, 60 }, 3);
}

static void test_overlap_and_touch_merge(void **state)
{
	struct byte_range r[4];
	unsigned n = 0;
	(void)state;
	assert_true(byte_ranges_add(r, &n, 4, 10, 20));
	assert_true(byte_ranges_add(r, &n, 4, 20, 25));   /* touches: one range */
	assert_ranges(r, n, (const uint32_t[]){ 10, 25 }, 1);
	assert_true(byte_ranges_add(r, &n, 4, 40, 50));
	assert_true(byte_ranges_add(r, &n, 4, 15, 45));   /* bridges both */
	assert_ranges(r, n, (const uint32_t[]){ 10, 50 }, 1);
	assert_true(byte_ranges_add(r, &n, 4, 12, 14));   /* inside: unchanged */
	assert_ranges(r, n, (const uint32_t[]){ 10, 50 }, 1);
}

static void test_full_list_unchanged(void **state)
{
	struct byte_range r[2];
	unsigned n = 0;
	(void)state;
	assert_true(byte_ranges_add(r, &n, 2, 0, 1));
	assert_true(byte_ranges_add(r, &n, 2, 10, 11));
	assert_false(byte_ranges_add(r, &n, 2, 5, 6));
	assert_ranges(r, n, (const uint32_t[]){ 0, 1, 10, 11 }, 2);
	/* a range that merges needs no room */
	assert_true(byte_ranges_add(r, &n, 2, 1, 10));
	assert_ranges(r, n, (const uint32_t[]){ 0, 11 }, 1);
}

static void test_capacity_above_the_bound_refused(void **state)
{
	struct byte_range r[BYTE_RANGES_MAX + 1];
	unsigned n = 0;
	(void)state;
	assert_false(byte_ranges_add(r, &n, BYTE_RANGES_MAX + 1, 0, 1));
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disjoint_kept_sorted),
		cmocka_unit_test(test_overlap_and_touch_merge),
		cmocka_unit_test(test_full_list_unchanged),
		cmocka_unit_test(test_capacity_above_the_bound_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
