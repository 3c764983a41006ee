/* test_metrics_http.c - the metrics endpoint on loopback: 503 before the
 * first snapshot, then the latest snapshot's page with the server's own
 * counters, 404 and 405 elsewhere, a port in use refused with its reason,
 * and an idle connection that holds no other scrape back. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/metrics_http.h"

struct test_snapshot {
	uint64_t value;
	char name[16];
};

static void render_test(const void *snapshot, struct metrics_text *out)
{
	const struct test_snapshot *s = snapshot;
	metrics_family(out, "test_value", METRIC_GAUGE, "the snapshot's value");
	metrics_sample_u64(out, "test_value", &(struct metric_label){ "name", s->name }, 1, s->value);
}

/* A free loopback port (bound, read, closed). */
static uint16_t free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static struct endpoint loopback(uint16_t port)
{
	struct endpoint e;
	assert_true(endpoint_parse(span_make("127.0.0.1:1", 11), &e));
	e.port = port;
	return e;
}

static int connect_to(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 3 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* One request; the whole answer (the server closes: HTTP/1.0). */
static char *request(uint16_t port, const char *method, const char *path)
{
	static char answer[65536];
	char line[256];
	size_t used = 0;
	ssize_t n;
	int fd = connect_to(port);
	snprintf(line, sizeof(line), "%s %s HTTP/1.0\r\nHost: test\r\n\r\n", method, path);
	assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	while ((n = read(fd, answer + used, sizeof(answer) - 1 - used)) > 0)
		used += (size_t)n;
	answer[used] = '\0';
	close(fd);
	return answer;
}

static const char *body_of(const char *answer)
{
	const char *p = strstr(answer, "\r\n\r\n");
	assert_non_null(p);
	return p + 4;
}

static void test_serves_the_latest_snapshot(void **state)
{
	uint16_t port = free_port();
	struct endpoint at = loopback(port);
	struct test_snapshot snap = { 1, "a\"b" };
	struct metrics_http_stats st;
	char err[256];
	const char *answer;
	struct metrics_http *m = metrics_http_start(&at, "test", sizeof(snap), render_test, err, sizeof(err));
	(void)state;
	if (!m)
		fail_msg("start: %s", err);

	answer = request(port, "GET", "/metrics");
	assert_non_null(strstr(answer, "HTTP/1.0 503") ? answer : strstr(answer, "HTTP/1.1 503"));

	assert_true(metrics_http_publish(m, &snap));
	answer = request(port, "GET", "/metrics");
	assert_non_null(strstr(answer, " 200 OK\r\n"));
	assert_non_null(strstr(answer, "Content-Type: " METRICS_CONTENT_TYPE "\r\n"));
	assert_true(strncmp(body_of(answer),
			    "# HELP test_value the snapshot's value\n"
			    "# TYPE test_value gauge\n"
			    "test_value{name=\"a\\\"b\"} 1\n"
			    "# HELP test_metrics_scrapes_total metrics pages served\n"
			    "# TYPE test_metrics_scrapes_total counter\n"
			    "test_metrics_scrapes_total 1\n",
			    200) == 0);
	assert_non_null(strstr(answer, "\ntest_metrics_snapshots_skipped_total 0\n"));
	assert_non_null(strstr(answer, "\n# TYPE test_metrics_snapshot_age_seconds gauge\n"));

	snap.value = 2;
	assert_true(metrics_http_publish(m, &snap));
	answer = request(port, "GET", "/metrics");
	assert_non_null(strstr(answer, "test_value{name=\"a\\\"b\"} 2\n"));
	assert_non_null(strstr(answer, "test_metrics_scrapes_total 2\n"));

	answer = request(port, "HEAD", "/metrics");
	assert_non_null(strstr(answer, " 200 OK\r\n"));
	assert_string_equal(body_of(answer), "");

	metrics_http_get_stats(m, &st);
	assert_int_equal(st.scrapes, 3);
	assert_int_equal(st.publishes, 2);
	assert_int_equal(st.skipped, 0);
	metrics_http_stop(m);
}

static void test_other_paths_and_methods(void **state)
{
	uint16_t port = free_port();
	struct endpoint at = loopback(port);
	struct test_snapshot snap = { 7, "x" };
	struct metrics_http_stats st;
	char err[256];
	const char *answer;
	struct metrics_http *m = metrics_http_start(&at, "test", sizeof(snap), render_test, err, sizeof(err));
	(void)state;
	assert_non_null(m);
	metrics_http_publish(m, &snap);
	answer = request(port, "GET", "/");
	assert_non_null(strstr(answer, " 404 "));
	answer = request(port, "GET", "/metrics/more");
	assert_non_null(strstr(answer, " 404 "));
	answer = request(port, "POST", "/metrics");
	assert_non_null(strstr(answer, " 405 "));
	assert_non_null(strstr(answer, "Allow: GET, HEAD\r\n"));
	metrics_http_get_stats(m, &st);
	assert_int_equal(st.not_found, 3);
	assert_int_equal(st.scrapes, 0);
	metrics_http_stop(m);
}

/* A port in use: no server, and the reason names the endpoint. */
static void test_port_in_use(void **state)
{
	uint16_t port = free_port();
	struct endpoint at = loopback(port);
	char err[256], want[64];
	struct metrics_http *m = metrics_http_start(&at, "test", 8, render_test, err, sizeof(err));
	(void)state;
	assert_non_null(m);
	assert_null(metrics_http_start(&at, "test", 8, render_test, err, sizeof(err)));
	snprintf(want, sizeof(want), "127.0.0.1:%u: cannot bind: ", (unsigned)port);
	if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, strerror(EADDRINUSE)))
		fail_msg("unexpected error: %s", err);
	metrics_http_stop(m);
	metrics_http_stop(NULL);
}

/* A client that connects and says nothing holds no other scrape back. */
static void test_idle_connection_blocks_nothing(void **state)
{
	uint16_t port = free_port();
	struct endpoint at = loopback(port);
	struct test_snapshot snap = { 3, "y" };
	char err[256];
	int idle[METRICS_HTTP_PER_CLIENT - 1];
	struct metrics_http *m = metrics_http_start(&at, "test", sizeof(snap), render_test, err, sizeof(err));
	(void)state;
	assert_non_null(m);
	metrics_http_publish(m, &snap);
	for (unsigned i = 0; i < sizeof(idle) / sizeof(idle[0]); i++)
		idle[i] = connect_to(port);
	assert_non_null(strstr(request(port, "GET", "/metrics"), "test_value{name=\"y\"} 3\n"));
	snap.value = 4;
	assert_true(metrics_http_publish(m, &snap));
	assert_non_null(strstr(request(port, "GET", "/metrics"), "test_value{name=\"y\"} 4\n"));
	for (unsigned i = 0; i < sizeof(idle) / sizeof(idle[0]); i++)
		close(idle[i]);
	metrics_http_stop(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serves_the_latest_snapshot),
		cmocka_unit_test(test_other_paths_and_methods),
		cmocka_unit_test(test_port_in_use),
		cmocka_unit_test(test_idle_connection_blocks_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
