/* test_gw_check.c - sara-ctl gw-check (src/sara-ctl/gw_check.c): the
 * answers it judges (a fresh sara-gw page, a stale one, another program's,
 * an error, not HTTP), then against a real metrics endpoint on loopback:
 * alive once published, not before, not another program's, not when gone,
 * not when it accepts and never answers (within keepalived's 1 s), a
 * wildcard asked on loopback, no endpoint a usage error. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/clock.h"
#include "io/metrics_http.h"
#include "sara-ctl/ctl.h"
#include "sara-ctl/gw_check.h"

#define OK_HEAD "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n\r\n"
#define PAGE "# TYPE sara_gw_uptime_seconds gauge\nsara_gw_uptime_seconds 12.5\n" \
	     "# HELP sara_gw_metrics_snapshot_age_seconds how old the values on this page are\n" \
	     "# TYPE sara_gw_metrics_snapshot_age_seconds gauge\n"

static bool judge(const char *answer, char *why, size_t size)
{
	return gw_check_answer(answer, strlen(answer), GW_CHECK_STALE_MS, why, size);
}

static void test_answers(void **state)
{
	char why[160];
	(void)state;
	assert_true(judge(OK_HEAD PAGE "sara_gw_metrics_snapshot_age_seconds 0.412\n", why, sizeof(why)));
	assert_string_equal(why, "snapshot 0.4 s old");
	assert_true(judge(OK_HEAD PAGE "sara_gw_metrics_snapshot_age_seconds 3\n", why, sizeof(why)));
	/* a loop that stopped publishing: the thread still answers, stale */
	assert_false(judge(OK_HEAD PAGE "sara_gw_metrics_snapshot_age_seconds 3.2\n", why, sizeof(why)));
	assert_string_equal(why, "its event loop published no snapshot for 3.2 s");
	assert_false(judge(OK_HEAD PAGE "sara_gw_metrics_snapshot_age_seconds 1e9\n", why, sizeof(why)));
	/* sarad's page, or none of the gauge's value */
	assert_false(judge(OK_HEAD "sarad_metrics_snapshot_age_seconds 0.1\n", why, sizeof(why)));
	assert_non_null(strstr(why, "not sara-gw's"));
	assert_false(judge(OK_HEAD PAGE "sara_gw_metrics_snapshot_age_seconds_x 0.1\n", why, sizeof(why)));
	assert_false(judge(OK_HEAD PAGE "sara_gw_metrics_snapshot_age_seconds 0.1x\n", why, sizeof(why)));
	assert_false(judge(OK_HEAD PAGE "sara_gw_metrics_snapshot_age_seconds NaN\n", why, sizeof(why)));
	assert_false(judge(OK_HEAD PAGE "sara_gw_metrics_snapshot_age_seconds \n", why, sizeof(why)));
	/* the line must be whole: a page cut short proves nothing */
	assert_false(judge(OK_HEAD PAGE "sara_gw_metrics_snapshot_age_seconds 0.1", why, sizeof(why)));
	/* not a page */
	assert_false(judge("HTTP/1.0 503 Service Unavailable\r\n\r\nno snapshot yet\n", why, sizeof(why)));
	assert_string_equal(why, "HTTP status 503");
	assert_false(judge("HTTP/1.0 200 OK\r\nsara_gw_metrics_snapshot_age_seconds 0.1\n", why, sizeof(why)));
	assert_non_null(strstr(why, "end of header"));
	assert_false(judge("SSH-2.0-OpenSSH_9.6\r\n", why, sizeof(why)));
	assert_string_equal(why, "not an HTTP answer");
	assert_false(judge("", why, sizeof(why)));
}

static void render_nothing(const void *snapshot, struct metrics_text *out)
{
	(void)snapshot;
	metrics_family(out, "test_value", METRIC_GAUGE, "a value");
	metrics_sample_u64(out, "test_value", NULL, 0, 1);
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

static struct endpoint endpoint_at(const char *address, uint16_t port)
{
	struct endpoint e;
	assert_true(netaddr_parse(span_make(address, strlen(address)), &e.addr));
	e.port = port;
	return e;
}

static struct sara_config *config_asking(struct endpoint at)
{
	struct sara_config *cfg = calloc(1, sizeof(*cfg));
	assert_non_null(cfg);
	snprintf(cfg->path, sizeof(cfg->path), "test.cfg");
	cfg->gateway.metrics = at;
	return cfg;
}

static void test_against_an_endpoint(void **state)
{
	uint16_t port = free_port();
	struct endpoint at = endpoint_at("127.0.0.1", port);
	struct sara_config *cfg = config_asking(at);
	char err[256], snapshot[8] = { 0 };
	struct metrics_http *m = metrics_http_start(&at, "sara_gw", sizeof(snapshot), render_nothing, err, sizeof(err));
	(void)state;
	assert_non_null(m);
	assert_int_equal(gw_check_run(cfg), EXIT_FAILED);   /* 503: nothing published yet */
	assert_true(metrics_http_publish(m, snapshot));
	assert_int_equal(gw_check_run(cfg), 0);
	cfg->gateway.metrics = endpoint_at("0.0.0.0", port);
	assert_int_equal(gw_check_run(cfg), 0);             /* a wildcard is asked on loopback */
	metrics_http_stop(m);
	assert_int_equal(gw_check_run(cfg), EXIT_FAILED);   /* refused: sara-gw is gone */

	/* another program's endpoint answers, but not as sara-gw */
	m = metrics_http_start(&at, "sarad", sizeof(snapshot), render_nothing, err, sizeof(err));
	assert_non_null(m);
	assert_true(metrics_http_publish(m, snapshot));
	assert_int_equal(gw_check_run(cfg), EXIT_FAILED);
	metrics_http_stop(m);

	memset(&cfg->gateway.metrics, 0, sizeof(cfg->gateway.metrics));
	assert_int_equal(gw_check_run(cfg), EXIT_USAGE);
	free(cfg);
}

/* A process that is stopped (SIGSTOP, a hang of every thread): the kernel
 * takes the connection, nobody answers. The check gives up in time for
 * keepalived's 1 s timeout, and says no. */
static void test_a_silent_endpoint(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sara_config *cfg;
	uint64_t started;
	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	cfg = config_asking(endpoint_at("127.0.0.1", ntohs(a.sin_port)));
	started = clock_ms(CLOCK_MONOTONIC);
	assert_int_equal(gw_check_run(cfg), EXIT_FAILED);
	assert_true(clock_ms(CLOCK_MONOTONIC) - started >= GW_CHECK_TIMEOUT_MS - 1);
	assert_true(clock_ms(CLOCK_MONOTONIC) - started < 1000);
	close(fd);
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_against_an_endpoint),
		cmocka_unit_test(test_a_silent_endpoint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
