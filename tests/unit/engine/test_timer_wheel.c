/* test_timer_wheel.c - unit tests for the hashed timer wheel: order,
 * rounding, callbacks that reschedule, time jumps, and a naive model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/timer_wheel.h"

#define LOG_MAX 4096

struct fire_log {
	size_t count;
	uint32_t ids[LOG_MAX];
	uint64_t at_ms[LOG_MAX]; /* the now_ms of the advance that fired it */
	uint64_t now_ms;
	struct timer_wheel *wheel;
	/* What the callback does besides logging. */
	uint32_t reschedule_id;   /* reschedule this id when it fires */
	uint64_t reschedule_to_ms;
	uint32_t cancel_id;       /* cancel this id when trigger_id fires */
	uint32_t schedule_id;     /* schedule this id when trigger_id fires */
	uint64_t schedule_to_ms;
	uint32_t trigger_id;
};

static void log_init(struct fire_log *log, struct timer_wheel *wheel)
{
	memset(log, 0, sizeof(*log));
	log->wheel = wheel;
	log->reschedule_id = log->cancel_id = log->schedule_id = log->trigger_id = UINT32_MAX;
}

static void on_expired(void *ctx, uint32_t id)
{
	struct fire_log *log = ctx;

	assert_false(timer_wheel_is_scheduled(log->wheel, id));
	assert_true(log->count < LOG_MAX);
	log->ids[log->count] = id;
	log->at_ms[log->count] = log->now_ms;
	log->count++;
	if (id == log->reschedule_id)
		timer_wheel_schedule(log->wheel, id, log->reschedule_to_ms);
	if (id == log->trigger_id) {
		if (log->cancel_id != UINT32_MAX)
			timer_wheel_cancel(log->wheel, log->cancel_id);
		if (log->schedule_id != UINT32_MAX)
			timer_wheel_schedule(log->wheel, log->schedule_id, log->schedule_to_ms);
	}
}

static size_t advance(struct fire_log *log, uint64_t now_ms)
{
	log->now_ms = now_ms;
	return timer_wheel_advance(log->wheel, now_ms, on_expired, log);
}

static void test_create_rejects_bad_arguments(void **state)
{
	struct timer_wheel *wheel;

	(void)state;
	assert_null(timer_wheel_create(0, 8, 10, 0));
	assert_null(timer_wheel_create(8, 8, 0, 0));
	wheel = timer_wheel_create(8, 5, 10, 0); /* 5 slots round up to 8 */
	assert_non_null(wheel);
	assert_true(timer_wheel_memory(wheel) >= 8 * 16 + 8 * 4);
	timer_wheel_destroy(wheel);
	timer_wheel_destroy(NULL);
}

static void test_fires_in_tick_order(void **state)
{
	struct timer_wheel *wheel = timer_wheel_create(16, 8, 10, 1000);
	struct fire_log log;

	(void)state;
	log_init(&log, wheel);
	timer_wheel_schedule(wheel, 3, 1050);
	timer_wheel_schedule(wheel, 1, 1010);
	timer_wheel_schedule(wheel, 2, 1030);
	timer_wheel_schedule(wheel, 0, 1070);
	assert_true(timer_wheel_is_scheduled(wheel, 3));
	assert_int_equal(advance(&log, 1009), 0);
	assert_int_equal(advance(&log, 1060), 3);
	assert_int_equal(log.ids[0], 1);
	assert_int_equal(log.ids[1], 2);
	assert_int_equal(log.ids[2], 3);
	assert_true(timer_wheel_is_scheduled(wheel, 0));
	assert_int_equal(advance(&log, 1070), 1);
	assert_int_equal(log.ids[3], 0);
	assert_false(timer_wheel_is_scheduled(wheel, 0));
	assert_int_equal(advance(&log, 5000), 0);
	timer_wheel_destroy(wheel);
}

static void test_rounds_up_to_next_tick(void **state)
{
	struct timer_wheel *wheel = timer_wheel_create(4, 16, 10, 0);
	struct fire_log log;

	(void)state;
	log_init(&log, wheel);
	timer_wheel_schedule(wheel, 0, 101); /* tick 11: fires at 110 */
	timer_wheel_schedule(wheel, 1, 100); /* exactly tick 10: fires at 100 */
	assert_int_equal(advance(&log, 99), 0);
	assert_int_equal(advance(&log, 100), 1);
	assert_int_equal(log.ids[0], 1);
	assert_int_equal(advance(&log, 109), 0);
	assert_int_equal(advance(&log, 110), 1);
	assert_int_equal(log.ids[1], 0);
	timer_wheel_destroy(wheel);
}

static void test_past_time_fires_on_next_advance(void **state)
{
	struct timer_wheel *wheel = timer_wheel_create(4, 8, 10, 500);
	struct fire_log log;

	(void)state;
	log_init(&log, wheel);
	timer_wheel_schedule(wheel, 2, 0);
	timer_wheel_schedule(wheel, 3, 500);
	/* Same tick as the last advance, even a clock going back. */
	assert_int_equal(advance(&log, 400), 2);
	assert_int_equal(advance(&log, 505), 0);
	timer_wheel_schedule(wheel, 1, 501);
	assert_int_equal(advance(&log, 505), 0); /* 501 rounds up to 510 */
	assert_int_equal(advance(&log, 510), 1);
	timer_wheel_destroy(wheel);
}

static void test_reschedule_from_callback(void **state)
{
	struct timer_wheel *wheel = timer_wheel_create(4, 8, 10, 0);
	struct fire_log log;

	(void)state;
	log_init(&log, wheel);
	timer_wheel_schedule(wheel, 1, 20);
	/* A periodic timer: each firing puts itself 30 ms ahead. */
	log.reschedule_id = 1;
	log.reschedule_to_ms = 50;
	assert_int_equal(advance(&log, 20), 1);
	assert_true(timer_wheel_is_scheduled(wheel, 1));
	assert_int_equal(advance(&log, 49), 0);
	log.reschedule_to_ms = 10; /* already past: next advance, not this one */
	assert_int_equal(advance(&log, 50), 1);
	assert_true(timer_wheel_is_scheduled(wheel, 1));
	log.reschedule_id = UINT32_MAX;
	assert_int_equal(advance(&log, 50), 1);
	assert_false(timer_wheel_is_scheduled(wheel, 1));
	assert_int_equal(log.count, 3);
	timer_wheel_destroy(wheel);
}

static void test_callback_cancels_and_schedules_others(void **state)
{
	struct timer_wheel *wheel = timer_wheel_create(8, 8, 10, 0);
	struct fire_log log;

	(void)state;
	log_init(&log, wheel);
	timer_wheel_schedule(wheel, 0, 10);
	timer_wheel_schedule(wheel, 1, 30); /* due in the same advance */
	timer_wheel_schedule(wheel, 2, 40);
	log.trigger_id = 0;
	log.cancel_id = 1;   /* due but not fired yet: must not fire */
	log.schedule_id = 5; /* at or before now: waits for the next advance */
	log.schedule_to_ms = 35;
	assert_int_equal(advance(&log, 45), 2);
	assert_int_equal(log.ids[0], 0);
	assert_int_equal(log.ids[1], 2);
	assert_false(timer_wheel_is_scheduled(wheel, 1));
	assert_true(timer_wheel_is_scheduled(wheel, 5));
	/* Whatever a callback schedules waits for the next advance, even if
	 * it falls between ticks this advance still has to fire. */
	log.schedule_id = 6;
	log.schedule_to_ms = 75;
	timer_wheel_schedule(wheel, 0, 50);
	timer_wheel_schedule(wheel, 2, 90);
	assert_int_equal(advance(&log, 100), 3);
	assert_int_equal(log.ids[2], 5);
	assert_int_equal(log.ids[3], 0);
	assert_int_equal(log.ids[4], 2);
	assert_true(timer_wheel_is_scheduled(wheel, 6));
	log.trigger_id = UINT32_MAX;
	assert_int_equal(advance(&log, 100), 1);
	assert_int_equal(log.ids[5], 6);
	timer_wheel_destroy(wheel);
}

static void test_cancel(void **state)
{
	struct timer_wheel *wheel = timer_wheel_create(8, 4, 10, 0);
	struct fire_log log;

	(void)state;
	log_init(&log, wheel);
	for (uint32_t id = 0; id < 8; id++)
		timer_wheel_schedule(wheel, id, 10 + 10 * id);
	timer_wheel_cancel(wheel, 3);
	timer_wheel_cancel(wheel, 3); /* twice is harmless */
	timer_wheel_cancel(wheel, 0); /* a slot head */
	timer_wheel_cancel(wheel, 7);
	assert_false(timer_wheel_is_scheduled(wheel, 3));
	assert_int_equal(advance(&log, 1000), 5);
	for (size_t i = 0; i < log.count; i++)
		assert_true(log.ids[i] != 0 && log.ids[i] != 3 && log.ids[i] != 7);
	timer_wheel_destroy(wheel);
}

static void test_reschedule_moves_entry(void **state)
{
	struct timer_wheel *wheel = timer_wheel_create(4, 8, 10, 0);
	struct fire_log log;

	(void)state;
	log_init(&log, wheel);
	timer_wheel_schedule(wheel, 1, 20);
	timer_wheel_schedule(wheel, 1, 200); /* replaces, not duplicates */
	assert_int_equal(advance(&log, 100), 0);
	assert_int_equal(advance(&log, 200), 1);
	timer_wheel_destroy(wheel);
}

static void test_far_future_stays_in_slot(void **state)
{
	/* 8 slots of 10 ms: one revolution is 80 ms. */
	struct timer_wheel *wheel = timer_wheel_create(4, 8, 10, 0);
	struct fire_log log;

	(void)state;
	log_init(&log, wheel);
	timer_wheel_schedule(wheel, 0, 250); /* three revolutions ahead, slot 1 */
	timer_wheel_schedule(wheel, 1, 10);  /* slot 1 too */
	for (uint64_t now = 5; now < 250; now += 5) {
		size_t fired = advance(&log, now);
		assert_int_equal(fired, now == 10 ? 1 : 0);
	}
	assert_true(timer_wheel_is_scheduled(wheel, 0));
	assert_int_equal(advance(&log, 250), 1);
	assert_int_equal(log.ids[1], 0);
	timer_wheel_destroy(wheel);
}

static void test_time_jump_fires_everything_due_in_order(void **state)
{
	struct timer_wheel *wheel = timer_wheel_create(16, 8, 10, 0);
	struct fire_log log;

	(void)state;
	log_init(&log, wheel);
	/* Ticks 1, 9, 17, 25 share slot 1; 33 is not due at 300. */
	timer_wheel_schedule(wheel, 4, 250);
	timer_wheel_schedule(wheel, 3, 170);
	timer_wheel_schedule(wheel, 2, 90);
	timer_wheel_schedule(wheel, 1, 10);
	timer_wheel_schedule(wheel, 5, 330);
	timer_wheel_schedule(wheel, 6, 40);
	timer_wheel_schedule(wheel, 7, 300);
	timer_wheel_schedule(wheel, 8, 301);
	assert_int_equal(advance(&log, 300), 6);
	assert_int_equal(log.ids[0], 1);
	assert_int_equal(log.ids[1], 6);
	assert_int_equal(log.ids[2], 2);
	assert_int_equal(log.ids[3], 3);
	assert_int_equal(log.ids[4], 4);
	assert_int_equal(log.ids[5], 7);
	assert_true(timer_wheel_is_scheduled(wheel, 5));
	assert_true(timer_wheel_is_scheduled(wheel, 8));
	/* A jump of many revolutions at once. */
	assert_int_equal(advance(&log, UINT64_C(10000000000)), 2);
	assert_int_equal(log.ids[6], 8);
	assert_int_equal(log.ids[7], 5);
	timer_wheel_destroy(wheel);
}

static void test_capacity_edge_ids(void **state)
{
	const uint32_t capacity = 1000;
	struct timer_wheel *wheel = timer_wheel_create(capacity, 64, 1, 0);
	struct fire_log log;

	(void)state;
	log_init(&log, wheel);
	timer_wheel_schedule(wheel, capacity, 5); /* out of range: ignored */
	timer_wheel_cancel(wheel, capacity);
	timer_wheel_cancel(wheel, UINT32_MAX);
	assert_false(timer_wheel_is_scheduled(wheel, capacity));
	assert_false(timer_wheel_is_scheduled(wheel, UINT32_MAX));
	timer_wheel_schedule(wheel, capacity - 1, 5);
	timer_wheel_schedule(wheel, 0, 6);
	assert_int_equal(advance(&log, 10), 2);
	assert_int_equal(log.ids[0], capacity - 1);
	assert_int_equal(log.ids[1], 0);
	timer_wheel_destroy(wheel);
}

static void test_advance_without_callback(void **state)
{
	struct timer_wheel *wheel = timer_wheel_create(4, 8, 10, 0);

	(void)state;
	timer_wheel_schedule(wheel, 0, 10);
	timer_wheel_schedule(wheel, 1, 20);
	assert_int_equal(timer_wheel_advance(wheel, 30, NULL, NULL), 2);
	assert_false(timer_wheel_is_scheduled(wheel, 0));
	timer_wheel_destroy(wheel);
}

/* The model: per id, scheduled or not and its expire tick, with the same
 * rounding and clamping rules as the header. */
#define MODEL_IDS 64
#define MODEL_TICK_MS 7

struct model {
	bool scheduled[MODEL_IDS];
	uint64_t expire_tick[MODEL_IDS];
	uint64_t current_tick;
};

static void model_schedule(struct model *m, uint32_t id, uint64_t expire_ms)
{
	uint64_t tick = (expire_ms + MODEL_TICK_MS - 1) / MODEL_TICK_MS;

	m->scheduled[id] = true;
	m->expire_tick[id] = tick < m->current_tick ? m->current_tick : tick;
}

static uint64_t next_random(uint64_t *s)
{
	/* xorshift64*: fixed seed, reproducible. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

static void test_random_against_model(void **state)
{
	struct timer_wheel *wheel = timer_wheel_create(MODEL_IDS, 16, MODEL_TICK_MS, 0);
	struct model m;
	struct fire_log log;
	uint64_t seed = UINT64_C(0x9e3779b97f4a7c15), now = 0;

	(void)state;
	memset(&m, 0, sizeof(m));
	log_init(&log, wheel);
	for (int step = 0; step < 20000; step++) {
		uint64_t r = next_random(&seed);
		uint32_t id = (uint32_t)(r >> 32) % MODEL_IDS;

		switch (r % 8) {
		case 0:
		case 1:
		case 2: { /* mostly near, sometimes several revolutions away */
			uint64_t span = (r >> 8) % 4 == 0 ? 2000 : 200;
			uint64_t at = now + (r >> 16) % span;
			if ((r >> 12) % 16 == 0)
				at = now > 50 ? now - 50 : 0; /* the past */
			timer_wheel_schedule(wheel, id, at);
			model_schedule(&m, id, at);
			break;
		}
		case 3:
			timer_wheel_cancel(wheel, id);
			m.scheduled[id] = false;
			break;
		default: { /* advance, rarely by a big jump */
			uint64_t target;
			uint64_t due_count = 0;

			now += (r >> 8) % 64 == 0 ? 5000 + (r >> 16) % 3000 : (r >> 16) % 30;
			target = now / MODEL_TICK_MS;
			for (uint32_t i = 0; i < MODEL_IDS; i++)
				due_count += m.scheduled[i] && m.expire_tick[i] <= target;
			/* Half of the time the callback reschedules what fired. */
			log.count = 0;
			log.reschedule_id = (r >> 40) % 2 ? id : UINT32_MAX;
			log.reschedule_to_ms = now + (r >> 48) % 100;
			assert_int_equal(advance(&log, now), due_count);
			for (size_t i = 0; i < log.count; i++) {
				uint32_t fired = log.ids[i];

				assert_true(m.scheduled[fired]);
				assert_true(m.expire_tick[fired] <= target);
				if (i > 0) /* tick order */
					assert_true(m.expire_tick[log.ids[i - 1]] <= m.expire_tick[fired]);
			}
			for (size_t i = 0; i < log.count; i++)
				m.scheduled[log.ids[i]] = false;
			m.current_tick = target > m.current_tick ? target : m.current_tick;
			if (log.reschedule_id != UINT32_MAX) {
				for (size_t i = 0; i < log.count; i++)
					if (log.ids[i] == log.reschedule_id)
						model_schedule(&m, log.reschedule_id, log.reschedule_to_ms);
			}
			break;
		}
		}
		for (uint32_t i = 0; i < MODEL_IDS; i++)
			assert_int_equal(timer_wheel_is_scheduled(wheel, i), m.scheduled[i]);
	}
	timer_wheel_destroy(wheel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_rejects_bad_arguments),
		cmocka_unit_test(test_fires_in_tick_order),
		cmocka_unit_test(test_rounds_up_to_next_tick),
		cmocka_unit_test(test_past_time_fires_on_next_advance),
		cmocka_unit_test(test_reschedule_from_callback),
		cmocka_unit_test(test_callback_cancels_and_schedules_others),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_reschedule_moves_entry),
		cmocka_unit_test(test_far_future_stays_in_slot),
		cmocka_unit_test(test_time_jump_fires_everything_due_in_order),
		cmocka_unit_test(test_capacity_edge_ids),
		cmocka_unit_test(test_advance_without_callback),
		cmocka_unit_test(test_random_against_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
