/* test_event_loop.c - unit tests for the daemons' event loop: fds, timers,
 * signals, removal from inside a callback, stop, and its capacity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/event_loop.h"

struct seen {
	struct event_loop *loop;
	int fd_calls, timer_calls, signal_calls, last_signal;
	int stop_after_timer;
	int remove_fd;          /* removed by the fd callback when >= 0 */
	char last_byte;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void on_fd(void *ctx, int fd, uint32_t events)
{
	struct seen *s = ctx;
	(void)events;
	s->fd_calls++;
	assert_int_equal(read(fd, &s->last_byte, 1), 1);
	if (s->remove_fd >= 0)
		event_loop_remove_fd(s->loop, s->remove_fd);
}

static void on_timer(void *ctx)
{
	struct seen *s = ctx;
	s->timer_calls++;
	if (s->stop_after_timer && s->timer_calls >= s->stop_after_timer)
		event_loop_stop(s->loop);
}

static void on_signal(void *ctx, int signo)
{
	struct seen *s = ctx;
	s->signal_calls++;
	s->last_signal = signo;
	event_loop_stop(s->loop);
}

static struct event_loop *new_loop(void)
{
	char err[128];
	struct event_loop *loop = event_loop_create(err, sizeof(err));
	assert_non_null(loop);
	return loop;
}

static void test_fd_readable_runs_its_callback(void **state)
{
	struct seen s = { .remove_fd = -1 };
	char err[128];
	int p[2];
	(void)state;
	s.loop = new_loop();
	assert_int_equal(pipe(p), 0);
	assert_int_equal(event_loop_add_fd(s.loop, p[0], on_fd, &s, err, sizeof(err)), 0);
	assert_int_equal(event_loop_run_once(s.loop, 0, err, sizeof(err)), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(event_loop_run_once(s.loop, 1000, err, sizeof(err)), 1);
	assert_int_equal(s.fd_calls, 1);
	assert_int_equal(s.last_byte, 'x');
	event_loop_remove_fd(s.loop, p[0]);
	assert_int_equal(write(p[1], "y", 1), 1);
	assert_int_equal(event_loop_run_once(s.loop, 20, err, sizeof(err)), 0);
	assert_int_equal(s.fd_calls, 1);
	event_loop_destroy(s.loop);
	close(p[0]);
	close(p[1]);
}

struct pair {
	struct event_loop *loop;
	int a, b, calls;
};

static void remove_the_other(void *ctx, int fd, uint32_t events)
{
	struct pair *p = ctx;
	(void)events;
	p->calls++;
	event_loop_remove_fd(p->loop, fd == p->a ? p->b : p->a);
}

/* Two fds ready in one batch; whichever runs first removes the other, whose
 * event in the same batch must then not run. */
static void test_removed_inside_a_batch_does_not_run(void **state)
{
	struct pair pr = { 0 };
	char err[128];
	int a[2], b[2];
	(void)state;
	pr.loop = new_loop();
	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	pr.a = a[0];
	pr.b = b[0];
	assert_int_equal(event_loop_add_fd(pr.loop, a[0], remove_the_other, &pr, err, sizeof(err)), 0);
	assert_int_equal(event_loop_add_fd(pr.loop, b[0], remove_the_other, &pr, err, sizeof(err)), 0);
	assert_int_equal(write(a[1], "a", 1), 1);
	assert_int_equal(write(b[1], "b", 1), 1);
	assert_int_equal(event_loop_run_once(pr.loop, 1000, err, sizeof(err)), 1);
	assert_int_equal(pr.calls, 1);
	event_loop_destroy(pr.loop);
	close(a[0]); close(a[1]); close(b[0]); close(b[1]);
}

static void test_periodic_timer_and_stop(void **state)
{
	struct seen s = { .remove_fd = -1, .stop_after_timer = 3 };
	char err[128];
	uint64_t start;
	int id;
	(void)state;
	s.loop = new_loop();
	id = event_loop_add_timer(s.loop, 20, on_timer, &s, err, sizeof(err));
	assert_true(id >= 0);
	start = now_ms();
	assert_int_equal(event_loop_run(s.loop, err, sizeof(err)), 0);
	assert_int_equal(s.timer_calls, 3);
	/* three periods of 20 ms: not before 60 ms */
	assert_true(now_ms() - start >= 55);
	assert_true(event_loop_set_interval(s.loop, id, 10));
	s.stop_after_timer = 4;
	assert_int_equal(event_loop_run(s.loop, err, sizeof(err)), 0);
	assert_int_equal(s.timer_calls, 4);
	event_loop_remove_timer(s.loop, id);
	assert_false(event_loop_set_interval(s.loop, id, 10));
	assert_int_equal(event_loop_run_once(s.loop, 30, err, sizeof(err)), 0);
	assert_int_equal(s.timer_calls, 4);
	event_loop_destroy(s.loop);
}

static void test_zero_interval_refused(void **state)
{
	struct seen s = { .remove_fd = -1 };
	char err[128] = "";
	(void)state;
	s.loop = new_loop();
	assert_int_equal(event_loop_add_timer(s.loop, 0, on_timer, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "above 0"));
	event_loop_destroy(s.loop);
}

static void test_signal_delivered_through_the_loop(void **state)
{
	struct seen s = { .remove_fd = -1 };
	const int signals[] = { SIGUSR1 };
	char err[128];
	sigset_t set;
	(void)state;
	s.loop = new_loop();
	assert_int_equal(event_loop_add_signals(s.loop, signals, 1, on_signal, &s, err, sizeof(err)), 0);
	assert_int_equal(event_loop_add_signals(s.loop, signals, 1, on_signal, &s, err, sizeof(err)), -1);
	assert_int_equal(raise(SIGUSR1), 0); /* blocked: pending until the loop reads it */
	assert_int_equal(event_loop_run(s.loop, err, sizeof(err)), 0);
	assert_int_equal(s.signal_calls, 1);
	assert_int_equal(s.last_signal, SIGUSR1);
	event_loop_destroy(s.loop);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static void test_capacity_is_bounded(void **state)
{
	struct seen s = { .remove_fd = -1 };
	char err[128] = "";
	int p[2], added = 0;
	(void)state;
	s.loop = new_loop();
	assert_int_equal(pipe(p), 0);
	/* one fd can be watched once; timers fill the rest */
	assert_int_equal(event_loop_add_fd(s.loop, p[0], on_fd, &s, err, sizeof(err)), 0);
	while (event_loop_add_timer(s.loop, 1000, on_timer, &s, err, sizeof(err)) >= 0)
		added++;
	assert_int_equal(added, EVENT_LOOP_MAX_WATCHES - 1);
	assert_non_null(strstr(err, "full"));
	event_loop_destroy(s.loop);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_readable_runs_its_callback),
		cmocka_unit_test(test_removed_inside_a_batch_does_not_run),
		cmocka_unit_test(test_periodic_timer_and_stop),
		cmocka_unit_test(test_zero_interval_refused),
		cmocka_unit_test(test_signal_delivered_through_the_loop),
		cmocka_unit_test(test_capacity_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
