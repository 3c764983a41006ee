/* probes.c - the application probes: SIP OPTIONS, RTSP OPTIONS, a command
 * (probes.h). */
#include "sara-agent/probes.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/clock.h"
#include "io/fd_io.h"
#include "io/sockaddr.h"

#define CHILD_POLL_MS 10  /* waiting for a command where pidfd_open is missing */

bool probe_parse(struct probe *p, const char *text)
{
	if (strcmp(text, "sip") == 0)
		p->kind = PROBE_SIP;
	else if (strcmp(text, "rtsp") == 0)
		p->kind = PROBE_RTSP;
	else if (strncmp(text, "cmd:", 4) == 0 && text[4] != '\0') {
		p->kind = PROBE_CMD;
		p->command = text + 4;
	} else if (strcmp(text, "none") == 0)
		p->kind = PROBE_NONE;
	else
		return false;
	return true;
}

void probe_configure(struct probe *p, const struct sara_config *cfg, unsigned server)
{
	uint32_t half = cfg->agents.interval_ms / 2;
	p->target.addr = cfg->servers[server].address;
	p->target.port = 0;
	if (p->kind == PROBE_SIP)
		p->target.port = cfg->sip_port_count ? cfg->sip_ports[0] : 5060;
	else if (p->kind == PROBE_RTSP)
		p->target.port = cfg->rtsp_port_count ? cfg->rtsp_ports[0] : 554;
	p->cluster_name = cfg->name;
	p->timeout_ms = (int)(half < PROBE_TIMEOUT_MAX_MS ? (half ? half : 1) : PROBE_TIMEOUT_MAX_MS);
}

const char *probe_kind_name(enum probe_kind kind)
{
	switch (kind) {
	case PROBE_NONE: return "none";
	case PROBE_SIP: return "sip";
	case PROBE_RTSP: return "rtsp";
	case PROBE_CMD: return "cmd";
	}
	return "?";
}

bool probe_run(const struct probe *p)
{
	switch (p->kind) {
	case PROBE_NONE:
		return true;
	case PROBE_SIP:
		return probe_sip(&p->target, p->cluster_name, p->timeout_ms);
	case PROBE_RTSP:
		return probe_rtsp(&p->target, p->timeout_ms);
	case PROBE_CMD:
		return probe_command(p->command, p->timeout_ms);
	}
	return false;
}

/* The address as a URI host: "192.0.2.1" or "[2001:db8::1]". */
static const char *uri_host(const struct netaddr *addr, char *buf, size_t size)
{
	char text[NETADDR_STRLEN];
	netaddr_format(addr, text, sizeof(text));
	snprintf(buf, size, addr->family == NETADDR_IPV6 ? "[%s]" : "%s", text);
	return buf;
}

bool probe_sip(const struct endpoint *target, const char *cluster_name, int timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t len = endpoint_to_sockaddr(target, &ss);
	char host[NETADDR_STRLEN + 2], request[768], reply[2048];
	uint64_t deadline = clock_ms(CLOCK_MONOTONIC) + (uint64_t)timeout_ms;
	unsigned tag = (unsigned)(clock_us(CLOCK_REALTIME) & 0xffffff);
	bool ok = false;
	int n, fd;
	if (len == 0 || (fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	uri_host(&target->addr, host, sizeof(host));
	n = snprintf(request, sizeof(request),
		     "OPTIONS sip:%s:%u SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP %s;branch=z9hG4bK-sara-agent-%06x;rport\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: <sip:sara-agent@%s>;tag=%06x\r\n"
		     "To: <sip:%s:%u>\r\n"
		     "Call-ID: sara-agent-%06x@%s\r\n"
		     "CSeq: 1 OPTIONS\r\n"
		     "Content-Length: 0\r\n\r\n",
		     host, target->port, host, tag, host, tag, host, target->port, tag, cluster_name);
	if (n <= 0 || (size_t)n >= sizeof(request))
		goto out;
	/* connect: only the server's own answer is read, ICMP errors show. */
	if (connect(fd, (struct sockaddr *)&ss, len) != 0 || send(fd, request, (size_t)n, 0) != n)
		goto out;
	while (!ok && fd_wait_until(fd, POLLIN, deadline)) {
		ssize_t r = recv(fd, reply, sizeof(reply), MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r < 0)
			break;  /* ECONNREFUSED: nothing listens */
		/* Any SIP response says the application is alive. */
		ok = r >= 8 && memcmp(reply, "SIP/2.0 ", 8) == 0;
	}
out:
	close(fd);
	return ok;
}

bool probe_rtsp(const struct endpoint *target, int timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t len = endpoint_to_sockaddr(target, &ss);
	char host[NETADDR_STRLEN + 2], request[512], reply[1024];
	uint64_t deadline = clock_ms(CLOCK_MONOTONIC) + (uint64_t)timeout_ms;
	size_t got = 0;
	bool ok = false;
	int n, fd;
	if (len == 0 || (fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return false;
	n = snprintf(request, sizeof(request), "OPTIONS rtsp://%s:%u/ RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: sara-agent\r\n\r\n",
		     uri_host(&target->addr, host, sizeof(host)), target->port);
	if (n <= 0 || (size_t)n >= sizeof(request) || !fd_connect_until(fd, (struct sockaddr *)&ss, len, deadline))
		goto out;
	if (send(fd, request, (size_t)n, MSG_NOSIGNAL) != n)
		goto out;
	while (got < 9 && fd_wait_until(fd, POLLIN, deadline)) {
		ssize_t r = recv(fd, reply + got, sizeof(reply) - got, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	ok = got >= 9 && memcmp(reply, "RTSP/1.0 ", 9) == 0;
out:
	close(fd);
	return ok;
}

/* The child: the daemon's blocked signals (its event loop's signalfd) must
 * not stay blocked in the command. */
static void exec_command(const char *command)
{
	sigset_t none;
	int devnull = open("/dev/null", O_RDWR);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
	}
	execl("/bin/sh", "sh", "-c", command, (char *)NULL);
	_exit(127);
}

/* Reaps pid if it exits before the deadline: 1 with *status set, 0 when
 * it still runs at the deadline, -1 when it cannot be waited for. */
static int wait_child(pid_t pid, uint64_t deadline, int *status)
{
	int pidfd = pidfd_open(pid, 0);
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		bool failed = r < 0 && errno != EINTR;
		if (r == pid || failed || clock_ms(CLOCK_MONOTONIC) >= deadline) {
			if (pidfd >= 0)
				close(pidfd);
			return r == pid ? 1 : failed ? -1 : 0;
		}
		if (pidfd >= 0)
			(void)fd_wait_until(pidfd, POLLIN, deadline);
		else
			(void)poll(NULL, 0, CHILD_POLL_MS);
	}
}

bool probe_command(const char *command, int timeout_ms)
{
	uint64_t deadline = clock_ms(CLOCK_MONOTONIC) + (uint64_t)timeout_ms;
	int status;
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0)
		exec_command(command);
	switch (wait_child(pid, deadline, &status)) {
	case 1:
		return WIFEXITED(status) && WEXITSTATUS(status) == 0;
	case 0:
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return false;
	default:
		return false;
	}
}
