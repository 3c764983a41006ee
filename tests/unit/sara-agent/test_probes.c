/* test_probes.c - the application probes against loopback responders run
 * in a child process: a command that exits 0 / 1 / hangs past its timeout
 * (killed in time, signals unblocked), RTSP over TCP and SIP over UDP that
 * answer, answer wrongly, stay silent, or do not listen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/clock.h"
#include "io/sockaddr.h"
#include "sara-agent/probes.h"

#define TIMEOUT_MS 300

static struct endpoint loopback(uint16_t port)
{
	struct endpoint e = { .addr = { .family = NETADDR_IPV4, .bytes = { 127, 0, 0, 1 } }, .port = port };
	return e;
}

/* A socket of type bound to 127.0.0.1 at a port the kernel picks. */
static int bound_socket(int type, struct endpoint *at)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	*at = loopback(0);
	len = endpoint_to_sockaddr(at, &ss);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	len = sizeof(ss);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	assert_true(endpoint_from_sockaddr(&ss, at));
	return fd;
}

/* A port nothing listens on (bound, then closed). */
static struct endpoint closed_port(int type)
{
	struct endpoint at;
	close(bound_socket(type, &at));
	return at;
}

static uint64_t elapsed_ms(uint64_t since)
{
	return clock_ms(CLOCK_MONOTONIC) - since;
}

static void stop_child(pid_t pid)
{
	int status;
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void test_parse_and_configure(void **state)
{
	struct sara_config cfg;
	struct probe p = { 0 };
	(void)state;
	assert_true(probe_parse(&p, "cmd:/bin/true"));
	assert_int_equal(p.kind, PROBE_CMD);
	assert_string_equal(p.command, "/bin/true");
	assert_false(probe_parse(&p, "cmd:"));
	assert_false(probe_parse(&p, "http"));
	assert_true(probe_parse(&p, "none"));
	assert_string_equal(probe_kind_name(p.kind), "none");
	assert_true(probe_parse(&p, "rtsp"));

	sara_config_defaults(&cfg);
	cfg.server_count = 1;
	cfg.servers[0].address = loopback(0).addr;
	cfg.rtsp_port_count = 0;
	cfg.agents.interval_ms = 600;
	probe_configure(&p, &cfg, 0);
	assert_int_equal(p.target.port, 554);  /* no RTSP port configured */
	assert_int_equal(p.timeout_ms, 300);   /* half the interval */
	cfg.agents.interval_ms = 5000;
	assert_true(probe_parse(&p, "sip"));
	probe_configure(&p, &cfg, 0);
	assert_int_equal(p.target.port, cfg.sip_ports[0]);
	assert_int_equal(p.timeout_ms, PROBE_TIMEOUT_MAX_MS);
	cfg.agents.interval_ms = 1;
	probe_configure(&p, &cfg, 0);
	assert_int_equal(p.timeout_ms, 1);
}

static void test_command_exit_status(void **state)
{
	struct probe p = { .kind = PROBE_CMD, .command = "exit 0", .timeout_ms = 2000 };
	(void)state;
	assert_true(probe_run(&p));
	assert_false(probe_command("exit 1", 2000));
	assert_false(probe_command("kill -KILL $$", 2000));
	assert_false(probe_command("/nonexistent/command 2>/dev/null", 2000));
}

static void test_command_past_its_timeout_is_killed(void **state)
{
	uint64_t start = clock_ms(CLOCK_MONOTONIC);
	(void)state;
	assert_false(probe_command("sleep 5", TIMEOUT_MS));
	assert_true(elapsed_ms(start) >= TIMEOUT_MS);
	assert_true(elapsed_ms(start) < 2000);
}

/* The agent blocks its loop's signals; a command must not inherit that:
 * a shell that sends itself SIGTERM dies of it instead of exiting 0. */
static void test_command_runs_with_signals_unblocked(void **state)
{
	sigset_t set, old;
	(void)state;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	assert_int_equal(sigprocmask(SIG_BLOCK, &set, &old), 0);
	assert_false(probe_command("kill -TERM $$; exit 0", 2000));
	assert_true(probe_command("exit 0", 2000));
	assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
}

/* Child: accepts one connection, reads the request and answers reply (if
 * the request looks like an RTSP OPTIONS), or stays silent (NULL). */
static pid_t rtsp_responder(int listener, const char *reply)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char request[1024] = { 0 };
		int c = accept(listener, NULL, NULL);
		ssize_t n = c >= 0 ? recv(c, request, sizeof(request) - 1, 0) : -1;
		if (n > 0 && reply && strncmp(request, "OPTIONS rtsp://127.0.0.1:", 25) == 0 &&
		    strstr(request, "RTSP/1.0\r\nCSeq: 1\r\n"))
			(void)send(c, reply, strlen(reply), MSG_NOSIGNAL);
		sleep(5);
		_exit(0);
	}
	return pid;
}

static void test_rtsp(void **state)
{
	struct endpoint at;
	int listener = bound_socket(SOCK_STREAM, &at);
	uint64_t start;
	pid_t pid;
	(void)state;
	assert_int_equal(listen(listener, 4), 0);
	pid = rtsp_responder(listener, "RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n");
	assert_true(probe_rtsp(&at, 2000));
	stop_child(pid);
	pid = rtsp_responder(listener, "HTTP/1.1 200 OK\r\n\r\n");
	assert_false(probe_rtsp(&at, 2000));
	stop_child(pid);
	pid = rtsp_responder(listener, NULL);
	start = clock_ms(CLOCK_MONOTONIC);
	assert_false(probe_rtsp(&at, TIMEOUT_MS));
	assert_true(elapsed_ms(start) >= TIMEOUT_MS);
	stop_child(pid);
	close(listener);
}

static void test_tcp_to_a_closed_port(void **state)
{
	struct endpoint at = closed_port(SOCK_STREAM);
	uint64_t start = clock_ms(CLOCK_MONOTONIC);
	(void)state;
	assert_false(probe_rtsp(&at, 2000));
	assert_true(elapsed_ms(start) < 1000);  /* refused at once, not timed out */
}

/* Child: answers one SIP OPTIONS naming the target and the cluster. */
static pid_t sip_responder(int fd, uint16_t port, const char *reply)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char request[2048] = { 0 }, start_line[64];
		struct sockaddr_storage peer;
		socklen_t peer_len = sizeof(peer);
		ssize_t n = recvfrom(fd, request, sizeof(request) - 1, 0, (struct sockaddr *)&peer, &peer_len);
		snprintf(start_line, sizeof(start_line), "OPTIONS sip:127.0.0.1:%u SIP/2.0\r\n", port);
		if (n > 0 && strncmp(request, start_line, strlen(start_line)) == 0 &&
		    strstr(request, "@probe-test\r\n") && strstr(request, "\r\nContent-Length: 0\r\n\r\n"))
			(void)sendto(fd, reply, strlen(reply), 0, (struct sockaddr *)&peer, peer_len);
		sleep(5);
		_exit(0);
	}
	return pid;
}

static void test_sip(void **state)
{
	struct endpoint at;
	int fd = bound_socket(SOCK_DGRAM, &at);
	struct probe p = { .kind = PROBE_SIP, .target = at, .cluster_name = "probe-test", .timeout_ms = 2000 };
	uint64_t start;
	pid_t pid;
	(void)state;
	pid = sip_responder(fd, at.port, "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_true(probe_run(&p));
	stop_child(pid);
	pid = sip_responder(fd, at.port, "garbage");
	start = clock_ms(CLOCK_MONOTONIC);
	assert_false(probe_sip(&at, "probe-test", TIMEOUT_MS));
	assert_true(elapsed_ms(start) >= TIMEOUT_MS);
	stop_child(pid);
	close(fd);
	at = closed_port(SOCK_DGRAM);
	start = clock_ms(CLOCK_MONOTONIC);
	assert_false(probe_sip(&at, "probe-test", 2000));
	assert_true(elapsed_ms(start) < 1000);  /* ICMP port unreachable */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_configure),
		cmocka_unit_test(test_command_exit_status),
		cmocka_unit_test(test_command_past_its_timeout_is_killed),
		cmocka_unit_test(test_command_runs_with_signals_unblocked),
		cmocka_unit_test(test_rtsp),
		cmocka_unit_test(test_tcp_to_a_closed_port),
		cmocka_unit_test(test_sip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
