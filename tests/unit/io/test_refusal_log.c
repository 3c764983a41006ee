/* test_refusal_log.c - the ring of recent refusals: newest first, bounded
 * at REFUSAL_RING with exact counts beyond it, a window of whole seconds,
 * old seconds' buckets reused, and records from several threads at once
 * all counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "io/refusal_log.h"

#define NOW_MS 5000000u
#define THREADS 4
#define PER_THREAD 5000

static struct verdict refusal(enum verdict_reason reason, uint16_t sport)
{
	struct verdict v = { .action = VERDICT_DROP, .reason = (uint8_t)reason };
	v.key.family = NETADDR_IPV4;
	v.key.l4 = L4_UDP;
	v.key.sport = sport;
	v.key.dport = 5060;
	return v;
}

static void test_reasons(void **state)
{
	(void)state;
	assert_string_equal(refusal_reason_name(REASON_ADMISSION), "admission");
	assert_string_equal(refusal_reason_name(REASON_TABLE_FULL), "table_full");
	assert_string_equal(refusal_reason_name(REASON_NO_SERVER), "no_server");
	assert_string_equal(refusal_reason_name(REASON_MALFORMED), "malformed");
	assert_null(refusal_reason_name(REASON_SESSION));
	assert_null(refusal_reason_name(REASON_NOT_VIP));
	assert_null(refusal_reason_name(VERDICT_REASON_COUNT));
	assert_false(refusal_reason(REASON_UNPREDICTED));
}

/* More than the ring holds in one second: the latest REFUSAL_RING are
 * listed newest first, all are counted. */
static void test_ring_bounded_counts_exact(void **state)
{
	struct refusal_log *log = malloc(sizeof(*log));
	struct refusal *out = calloc(REFUSAL_RING, sizeof(*out));
	uint64_t counts[VERDICT_REASON_COUNT];
	unsigned n;
	(void)state;
	assert_non_null(log);
	assert_non_null(out);
	refusal_log_init(log);
	for (unsigned i = 0; i < REFUSAL_RING + 500; i++) {
		struct verdict v = refusal(i % 2 ? REASON_ADMISSION : REASON_NO_SERVER, (uint16_t)i);
		refusal_log_record(log, &v, NOW_MS, 1000 + i);
	}
	n = refusal_log_read(log, NOW_MS, 60, counts, out, REFUSAL_RING);
	assert_int_equal(n, REFUSAL_RING);
	assert_int_equal(counts[REASON_ADMISSION] + counts[REASON_NO_SERVER], REFUSAL_RING + 500);
	assert_int_equal(counts[REASON_ADMISSION], (REFUSAL_RING + 500) / 2);
	assert_int_equal(out[0].key.sport, REFUSAL_RING + 499);      /* newest first */
	assert_int_equal(out[0].wall_ms, 1000 + REFUSAL_RING + 499);
	assert_int_equal(out[REFUSAL_RING - 1].key.sport, 500);      /* the oldest still held */
	/* max bounds the copy, not the counts. */
	assert_int_equal(refusal_log_read(log, NOW_MS, 60, counts, out, 3), 3);
	assert_int_equal(counts[REASON_ADMISSION] + counts[REASON_NO_SERVER], REFUSAL_RING + 500);
	refusal_log_destroy(log);
	free(out);
	free(log);
}

/* The window: whole seconds back from now; a bucket reused for a later
 * second forgets the earlier one. */
static void test_window_and_bucket_reuse(void **state)
{
	struct refusal_log *log = malloc(sizeof(*log));
	struct refusal out[8];
	uint64_t counts[VERDICT_REASON_COUNT];
	struct verdict v = refusal(REASON_TABLE_FULL, 1);
	(void)state;
	assert_non_null(log);
	refusal_log_init(log);
	refusal_log_record(log, &v, NOW_MS - 200000, 1);    /* 200 s ago */
	v.key.sport = 2;
	refusal_log_record(log, &v, NOW_MS - 30500, 2);     /* 30.5 s ago */
	v.key.sport = 3;
	refusal_log_record(log, &v, NOW_MS, 3);
	assert_int_equal(refusal_log_read(log, NOW_MS, 1, counts, out, 8), 1);
	assert_int_equal(counts[REASON_TABLE_FULL], 1);
	assert_int_equal(refusal_log_read(log, NOW_MS, 31, counts, out, 8), 2);
	assert_int_equal(counts[REASON_TABLE_FULL], 2);
	assert_int_equal(out[1].key.sport, 2);
	assert_int_equal(refusal_log_read(log, NOW_MS, REFUSAL_WINDOW_S, counts, out, 8), 3);
	assert_int_equal(counts[REASON_TABLE_FULL], 3);
	/* Out-of-range windows are clamped. */
	assert_int_equal(refusal_log_read(log, NOW_MS, 0, counts, out, 8), 1);
	assert_int_equal(refusal_log_read(log, NOW_MS, 100000, counts, out, 8), 3);

	/* REFUSAL_WINDOW_S later the bucket of "now" serves a new second. */
	v.key.sport = 4;
	refusal_log_record(log, &v, NOW_MS + REFUSAL_WINDOW_S * 1000u, 4);
	assert_int_equal(refusal_log_read(log, NOW_MS + REFUSAL_WINDOW_S * 1000u, 1, counts, out, 8), 1);
	assert_int_equal(counts[REASON_TABLE_FULL], 1);
	assert_int_equal(out[0].key.sport, 4);
	refusal_log_destroy(log);
	free(log);
}

static void *record_many(void *ctx)
{
	struct refusal_log *log = ctx;
	struct verdict v = refusal(REASON_ADMISSION, 9);
	for (unsigned i = 0; i < PER_THREAD; i++)
		refusal_log_record(log, &v, NOW_MS + i % 1000, 0);
	return NULL;
}

/* The queue threads record at once; the control thread reads meanwhile. */
static void test_threads(void **state)
{
	struct refusal_log *log = malloc(sizeof(*log));
	struct refusal *out = calloc(REFUSAL_RING, sizeof(*out));
	uint64_t counts[VERDICT_REASON_COUNT];
	pthread_t threads[THREADS];
	(void)state;
	assert_non_null(log);
	assert_non_null(out);
	refusal_log_init(log);
	for (unsigned i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, record_many, log), 0);
	for (unsigned i = 0; i < 50; i++)
		refusal_log_read(log, NOW_MS + 999, 60, counts, out, REFUSAL_RING);
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	assert_int_equal(refusal_log_read(log, NOW_MS + 999, 60, counts, out, REFUSAL_RING), REFUSAL_RING);
	assert_int_equal(counts[REASON_ADMISSION], THREADS * PER_THREAD);
	assert_int_equal(log->recorded, THREADS * PER_THREAD);
	refusal_log_destroy(log);
	free(out);
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_ring_bounded_counts_exact),
		cmocka_unit_test(test_window_and_bucket_reuse),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
