/* test_control_socket.c - the control socket served from an event loop:
 * a command line is answered and the connection closed; a line without
 * its newline is answered at its end of input, or after a second without
 * input; a reply larger than the socket buffers reaches a slow reader
 * whole while the loop goes on serving others, and a reader that stops is
 * dropped; more clients than CONTROL_CLIENTS_MAX are all served. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/clock.h"
#include "io/control.h"
#include "io/event_loop.h"

#define BIG_COUNTERS 40000   /* a status document of about 1.5 MB */

struct fixture {
	char dir[64], path[128];
	struct event_loop *loop;
	struct control *control;
	bool big;                /* the status lists BIG_COUNTERS counters */
	unsigned fatal_calls;
};

static uint64_t now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

/* Counters the table does not have, only to make the document large. */
static void many_counters(void *ctx, enum counters_filter filter, counter_visit_fn fn, void *fn_ctx)
{
	struct fixture *f = ctx;
	char name[48];
	struct counter_def def = { name, "a test's filler", COUNTER_KIND_TOTAL, COUNTER_IN_DAEMON };
	(void)filter;
	for (unsigned i = 0; f->big && i < BIG_COUNTERS; i++) {
		snprintf(name, sizeof(name), "a_rather_long_counter_name_%u", i);
		fn(fn_ctx, &def, i);
	}
}

static void on_fatal(void *ctx, const char *err)
{
	struct fixture *f = ctx;
	(void)err;
	f->fatal_calls++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct control_view view;
	char err[256];
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/sara-control-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/sarad.sock", f->dir);
	f->loop = event_loop_create(err, sizeof(err));
	assert_non_null(f->loop);
	memset(&view, 0, sizeof(view));
	view.cluster = "socket-test";
	view.now_ms = now_ms;
	view.started_ms = now_ms();
	view.visit_daemon_counters = many_counters;
	view.daemon_ctx = f;
	f->control = control_open(f->path, &view, err, sizeof(err));
	assert_non_null(f->control);
	assert_int_equal(control_attach(f->control, f->loop, on_fatal, f, err, sizeof(err)), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	control_close(f->control);
	event_loop_destroy(f->loop);
	assert_int_equal(access(f->path, F_OK), -1);   /* the socket file is gone */
	rmdir(f->dir);
	assert_int_equal(f->fatal_calls, 0);
	free(f);
	return 0;
}

static int connect_client(struct fixture *f)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	memcpy(addr.sun_path, f->path, strlen(f->path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

static void send_text(int fd, const char *text)
{
	assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

/* Runs the loop for ms milliseconds. */
static void run_for(struct fixture *f, uint64_t ms)
{
	char err[128];
	uint64_t end = now_ms() + ms;
	while (now_ms() < end)
		assert_true(event_loop_run_once(f->loop, 5, err, sizeof(err)) >= 0);
}

/* What fd holds until its end, running the loop meanwhile; NULL when the
 * connection did not end within limit_ms. *len receives the length. */
static char *read_reply(struct fixture *f, int fd, uint64_t limit_ms, size_t *len)
{
	size_t cap = 1 << 16, used = 0;
	char *buf = malloc(cap + 1), err[128];
	uint64_t end = now_ms() + limit_ms;
	assert_non_null(buf);
	while (now_ms() < end) {
		ssize_t n = read(fd, buf + used, cap - used);
		if (n == 0) {
			buf[used] = '\0';
			*len = used;
			return buf;
		}
		if (n > 0) {
			used += (size_t)n;
			if (used == cap) {
				cap *= 2;
				buf = realloc(buf, cap + 1);
				assert_non_null(buf);
			}
			continue;
		}
		assert_true(event_loop_run_once(f->loop, 5, err, sizeof(err)) >= 0);
	}
	free(buf);
	return NULL;
}

static void test_command_answered(void **state)
{
	struct fixture *f = *state;
	int fd = connect_client(f);
	size_t len;
	char *reply;
	send_text(fd, "ping\n");
	reply = read_reply(f, fd, 500, &len);
	assert_non_null(reply);
	assert_string_equal(reply, "{\"pong\": true}\n");
	free(reply);
	close(fd);
}

/* At its end of input at once; without it, after a second of silence. */
static void test_line_without_newline(void **state)
{
	struct fixture *f = *state;
	int eof = connect_client(f), quiet = connect_client(f);
	uint64_t start = now_ms();
	size_t len;
	char *reply;

	send_text(eof, "ping");
	shutdown(eof, SHUT_WR);
	reply = read_reply(f, eof, 500, &len);
	assert_non_null(reply);
	assert_string_equal(reply, "{\"pong\": true}\n");
	assert_true(now_ms() - start < 500);
	free(reply);

	send_text(quiet, "pi");
	run_for(f, 100);
	send_text(quiet, "ng");
	start = now_ms();
	run_for(f, 700);
	assert_int_equal(read(quiet, &len, 1), -1);   /* no answer yet */
	reply = read_reply(f, quiet, 1500, &len);
	assert_non_null(reply);
	assert_string_equal(reply, "{\"pong\": true}\n");
	assert_true(now_ms() - start >= 900);
	free(reply);
	close(eof);
	close(quiet);
}

/* A large reply reaches a reader that takes its time, and the loop serves
 * another client meanwhile; a reader that stops reading is dropped. */
static void test_large_reply_slow_reader(void **state)
{
	struct fixture *f = *state;
	int slow = connect_client(f), stuck = connect_client(f), other;
	int small = 4096;
	size_t len, got = 0;
	char *reply, chunk[4096];

	f->big = true;
	setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	setsockopt(stuck, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	send_text(slow, "status\n");
	send_text(stuck, "status\n");
	run_for(f, 50);
	/* The replies are pending; a ping is still answered at once. */
	other = connect_client(f);
	send_text(other, "ping\n");
	reply = read_reply(f, other, 300, &len);
	assert_non_null(reply);
	assert_string_equal(reply, "{\"pong\": true}\n");
	free(reply);
	close(other);
	/* The slow reader: a chunk at a time, the loop running between. */
	for (;;) {
		ssize_t n = read(slow, chunk, sizeof(chunk));
		if (n == 0)
			break;
		if (n > 0)
			got += (size_t)n;
		run_for(f, 1);
	}
	assert_true(got > 1000000);
	/* The stuck reader was dropped after a second without progress: what
	 * it finds is cut short, then the end. */
	reply = read_reply(f, stuck, 3000, &len);
	assert_non_null(reply);
	assert_true(len < got);
	free(reply);
	close(slow);
	close(stuck);
}

/* More clients than slots: the others wait in the backlog, all are served. */
static void test_more_clients_than_slots(void **state)
{
	struct fixture *f = *state;
	enum { CLIENTS = CONTROL_CLIENTS_MAX + 6 };
	int fds[CLIENTS];
	size_t len;
	for (unsigned i = 0; i < CLIENTS; i++) {
		fds[i] = connect_client(f);
		run_for(f, 2);
	}
	for (unsigned i = 0; i < CLIENTS; i++)
		send_text(fds[i], "ping\n");
	for (unsigned i = 0; i < CLIENTS; i++) {
		char *reply = read_reply(f, fds[i], 1000, &len);
		assert_non_null(reply);
		assert_string_equal(reply, "{\"pong\": true}\n");
		free(reply);
		close(fds[i]);
	}
}

/* A second control socket on a live one is refused. */
static void test_live_socket_refused(void **state)
{
	struct fixture *f = *state;
	struct control_view view;
	char err[256];
	memset(&view, 0, sizeof(view));
	assert_null(control_open(f->path, &view, err, sizeof(err)));
	assert_non_null(strstr(err, "another process is listening on it"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_command_answered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_line_without_newline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_reply_slow_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_more_clients_than_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_socket_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
