/* sara_agent.c - sara-agent, the node agent on each server: every
 * agents.interval_ms a sealed heartbeat (up / app down / drain) and a load
 * report read from /proc (or the application's own load file) go to sarad.
 * --decode receives and prints them. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "io/sockaddr.h"
#include "engine/agent_msg.h"
#include "io/clock.h"
#include "engine/config.h"
#include "io/config_file.h"
#include "io/log.h"
#include "io/udp_listen.h"
#include "engine/server_health.h"
#include "engine/wire.h"
#include "io/key_file.h"

#define DEFAULT_DRAIN_IN_S 30
#define PROBE_TIMEOUT_MAX_MS 1000     /* a probe takes at most this, or half the interval */
#define DEFAULT_PROBE_FAILURES 2      /* consecutive failed probes before APP_DOWN */
#define CPU_FIRST_SAMPLE_MS 200       /* CPU needs two /proc/stat samples */
#define IO_QUEUE_FULL 8.0             /* average requests in flight that count as 1.0 */
#define LISTEN_BACKLOG_FULL 128.0     /* queued TCP connections that count as 1.0 (SOMAXCONN) */
#define DISKS_MAX 64
#define DISK_NAME_MAX 32
#define LINE_MAX_BYTES 512
#define DECODE_MAX_SKEW_MS 10000
#define DECODE_TICK_MS 100
#define APP_LOAD_FILE_MAX 64          /* bytes read from --app-load file:PATH */

static volatile sig_atomic_t stop_requested, drain_requested, undrain_requested;
static volatile sig_atomic_t hup_received; /* SIGHUP: no reload here; said, not fatal */

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		drain_requested = 1;
	else if (sig == SIGUSR2)
		undrain_requested = 1;
	else if (sig == SIGHUP)
		hup_received = 1;
	else
		stop_requested = 1;
}

/* No SA_RESTART: a wait returns EINTR and the loop looks at the flags. */
static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ---- load readers: each returns a fraction 0..1, or NAN when unreadable ---- */

struct cpu_sample { bool valid; uint64_t busy, total; };

struct disk_sample {
	char name[DISK_NAME_MAX];
	uint64_t weighted_ms;       /* diskstats field 14: time-weighted ms of I/O in flight */
};

struct readings {
	struct cpu_sample cpu;
	unsigned disk_count;
	struct disk_sample disks[DISKS_MAX];
	uint64_t disks_at_ms;       /* monotonic time of the disk sample */
	bool disks_valid;
};

struct agent {
	struct sara_config cfg;
	struct wire_key key;
	unsigned server;            /* index in cfg.servers */
	uint32_t sender;            /* server + 1 */
	uint64_t wire_seq;
	uint16_t beat_seq;
	const char *proc;           /* "/proc", or a fake tree for tests */
	enum { PROBE_NONE, PROBE_SIP, PROBE_RTSP, PROBE_CMD } probe;
	const char *probe_command;
	unsigned probe_failures_needed, probe_failures;
	uint32_t drain_in_s;
	bool draining;
	uint32_t drain_at_s;        /* wall clock */
	bool verbose;
	int sock;
	struct sockaddr_storage to;
	socklen_t to_len;
	struct readings readings;
	const char *app_load_path;  /* --app-load file:PATH: the backlog component; NULL = /proc */
	unsigned counted;           /* --components: bit i set = component i is reported */
	uint64_t sent, send_errors;
};

static FILE *open_proc(const struct agent *a, const char *rel)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", a->proc, rel) >= sizeof(path))
		return NULL;
	return fopen(path, "re");
}

static double clamp01(double v)
{
	return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
}

/* /proc/stat "cpu" line: busy = total - idle - iowait. */
static bool read_cpu(const struct agent *a, struct cpu_sample *out)
{
	unsigned long long v[10] = { 0 };
	char line[LINE_MAX_BYTES];
	FILE *f = open_proc(a, "stat");
	int n;
	out->valid = false;
	if (!f)
		return false;
	if (fgets(line, sizeof(line), f)) {
		n = sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			   &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
		if (n >= 4) {
			/* guest and guest_nice (8, 9) are already inside user and nice. */
			uint64_t total = 0;
			for (int i = 0; i < 8 && i < n; i++)
				total += v[i];
			out->total = total;
			out->busy = total - v[3] - (n > 4 ? v[4] : 0);
			out->valid = true;
		}
	}
	fclose(f);
	return out->valid;
}

static double cpu_load(struct agent *a)
{
	struct cpu_sample now;
	double load = NAN;
	if (!read_cpu(a, &now))
		return NAN;
	if (a->readings.cpu.valid && now.total > a->readings.cpu.total && now.busy >= a->readings.cpu.busy)
		load = (double)(now.busy - a->readings.cpu.busy) / (double)(now.total - a->readings.cpu.total);
	a->readings.cpu = now;
	return isnan(load) ? NAN : clamp01(load);
}

/* 1 - MemAvailable / MemTotal. */
static double memory_load(const struct agent *a)
{
	char line[LINE_MAX_BYTES];
	unsigned long long total = 0, available = 0, v;
	bool have_total = false, have_available = false;
	FILE *f = open_proc(a, "meminfo");
	if (!f)
		return NAN;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemTotal: %llu kB", &v) == 1) {
			total = v;
			have_total = true;
		} else if (sscanf(line, "MemAvailable: %llu kB", &v) == 1) {
			available = v;
			have_available = true;
		}
	}
	fclose(f);
	if (!have_total || !have_available || total == 0)
		return NAN;
	return clamp01(1.0 - (double)available / (double)total);
}

static bool read_mem_total_kb(const struct agent *a, unsigned long long *kb)
{
	char line[LINE_MAX_BYTES];
	bool ok = false;
	FILE *f = open_proc(a, "meminfo");
	if (!f)
		return false;
	while (!ok && fgets(line, sizeof(line), f))
		ok = sscanf(line, "MemTotal: %llu kB", kb) == 1;
	fclose(f);
	return ok;
}

/* The pressure threshold (middle value) of tcp_mem / udp_mem, in pages.
 * Those sysctls only exist in the initial network namespace; elsewhere the
 * kernel's default is used: RAM pages / ram_divisor (16 for TCP, 8 for UDP;
 * tcp_init_mem() and udp_init()). */
static bool read_mem_pressure(const struct agent *a, const char *rel, unsigned ram_divisor,
			      unsigned long long *pressure)
{
	unsigned long long low, mid, high, total_kb;
	long page = sysconf(_SC_PAGESIZE);
	FILE *f = open_proc(a, rel);
	bool ok = false;
	if (f) {
		ok = fscanf(f, "%llu %llu %llu", &low, &mid, &high) == 3 && mid > 0;
		fclose(f);
		if (ok)
			*pressure = mid;
	}
	if (!ok && page > 0 && read_mem_total_kb(a, &total_kb) && total_kb * 1024u / (unsigned long long)page >= ram_divisor) {
		*pressure = total_kb * 1024u / (unsigned long long)page / ram_divisor;
		ok = true;
	}
	return ok;
}

/* Socket buffer pages in use (sockstat "mem") against the kernel's
 * pressure threshold, the larger of TCP and UDP. */
static double network_load(const struct agent *a)
{
	char line[LINE_MAX_BYTES];
	unsigned long long tcp_mem = 0, udp_mem = 0, tcp_pressure, udp_pressure, inuse, orphan, tw, alloc;
	bool have_tcp = false, have_udp = false;
	double load = NAN;
	FILE *f = open_proc(a, "net/sockstat");
	if (!f)
		return NAN;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "TCP: inuse %llu orphan %llu tw %llu alloc %llu mem %llu", &inuse, &orphan, &tw,
			   &alloc, &tcp_mem) == 5)
			have_tcp = true;
		else if (sscanf(line, "UDP: inuse %llu mem %llu", &inuse, &udp_mem) == 2)
			have_udp = true;
	}
	fclose(f);
	if (have_tcp && read_mem_pressure(a, "sys/net/ipv4/tcp_mem", 16, &tcp_pressure))
		load = (double)tcp_mem / (double)tcp_pressure;
	if (have_udp && read_mem_pressure(a, "sys/net/ipv4/udp_mem", 8, &udp_pressure)) {
		double udp = (double)udp_mem / (double)udp_pressure;
		load = isnan(load) || udp > load ? udp : load;
	}
	return isnan(load) ? NAN : clamp01(load);
}

/* Whole disks only: a partition's name extends its disk's (sda1, nvme0n1p1). */
static bool is_partition_of_listed(const struct disk_sample *disks, unsigned count, const char *name)
{
	for (unsigned i = 0; i < count; i++) {
		size_t len = strlen(disks[i].name);
		if (strncmp(name, disks[i].name, len) == 0 && name[len] != '\0')
			return true;
	}
	return false;
}

/* Average I/O queue length over the last period (diskstats field 14, the
 * time-weighted ms of requests in flight, divided by the elapsed ms), summed
 * over whole disks, 1.0 at IO_QUEUE_FULL requests. */
static double io_load(struct agent *a, uint64_t now_ms)
{
	struct readings *r = &a->readings;
	struct disk_sample fresh[DISKS_MAX];
	unsigned fresh_count = 0;
	char line[LINE_MAX_BYTES];
	double queued_ms = 0.0, load = NAN;
	FILE *f = open_proc(a, "diskstats");
	if (!f)
		return NAN;
	while (fgets(line, sizeof(line), f) && fresh_count < DISKS_MAX) {
		unsigned major, minor;
		char name[DISK_NAME_MAX];
		unsigned long long v[11];
		if (sscanf(line, " %u %u %31s %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &major, &minor,
			   name, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10]) != 14)
			continue;
		if (strncmp(name, "loop", 4) == 0 || strncmp(name, "ram", 3) == 0 || strncmp(name, "zram", 4) == 0)
			continue;
		/* diskstats lists a disk before its partitions. */
		if (is_partition_of_listed(fresh, fresh_count, name))
			continue;
		snprintf(fresh[fresh_count].name, DISK_NAME_MAX, "%s", name);
		fresh[fresh_count].weighted_ms = v[10];
		fresh_count++;
	}
	fclose(f);
	if (r->disks_valid && now_ms > r->disks_at_ms) {
		for (unsigned i = 0; i < fresh_count; i++)
			for (unsigned j = 0; j < r->disk_count; j++)
				if (strcmp(fresh[i].name, r->disks[j].name) == 0 &&
				    fresh[i].weighted_ms >= r->disks[j].weighted_ms)
					queued_ms += (double)(fresh[i].weighted_ms - r->disks[j].weighted_ms);
		load = clamp01(queued_ms / (double)(now_ms - r->disks_at_ms) / IO_QUEUE_FULL);
	}
	memcpy(r->disks, fresh, sizeof(fresh[0]) * fresh_count);
	r->disk_count = fresh_count;
	r->disks_at_ms = now_ms;
	r->disks_valid = true;
	return load;
}

static bool is_service_port(const struct sara_config *cfg, unsigned port)
{
	return port <= UINT16_MAX && (sara_config_is_sip_port(cfg, (uint16_t)port) || sara_config_is_rtsp_port(cfg, (uint16_t)port));
}

/* The fullest SIP/RTSP socket in one /proc/net/{udp,tcp}{,6} table: UDP
 * sockets by rx_queue bytes against net.core.rmem_default, TCP listeners by
 * their accept queue (rx_queue of a LISTEN socket) against
 * LISTEN_BACKLOG_FULL: /proc/net/tcp does not show a listener's own backlog
 * limit (only sock_diag does), so a fixed scale stands in for it. */
static void backlog_table(const struct agent *a, const char *rel, bool tcp, double rmem, double *worst, bool *found)
{
	char line[LINE_MAX_BYTES];
	FILE *f = open_proc(a, rel);
	if (!f)
		return;
	if (!fgets(line, sizeof(line), f)) {  /* header */
		fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char local[64], remote[64];
		unsigned slot, state, port;
		unsigned long tx, rx;
		char *colon;
		double load;
		if (sscanf(line, " %u: %63s %63s %x %lx:%lx", &slot, local, remote, &state, &tx, &rx) != 6)
			continue;
		colon = strrchr(local, ':');
		if (!colon || sscanf(colon + 1, "%x", &port) != 1 || !is_service_port(&a->cfg, port))
			continue;
		if (tcp) {
			if (state != 0x0A)  /* TCP_LISTEN */
				continue;
			load = (double)rx / LISTEN_BACKLOG_FULL;
		} else {
			load = (double)rx / rmem;
		}
		*found = true;
		if (load > *worst)
			*worst = load;
	}
	fclose(f);
}

static double backlog_load(const struct agent *a)
{
	unsigned long long rmem_default = 212992;
	double worst = 0.0;
	bool found = false;
	FILE *f = open_proc(a, "sys/net/core/rmem_default");
	if (f) {
		if (fscanf(f, "%llu", &rmem_default) != 1 || rmem_default == 0)
			rmem_default = 212992;
		fclose(f);
	}
	backlog_table(a, "net/udp", false, (double)rmem_default, &worst, &found);
	backlog_table(a, "net/udp6", false, (double)rmem_default, &worst, &found);
	backlog_table(a, "net/tcp", true, (double)rmem_default, &worst, &found);
	backlog_table(a, "net/tcp6", true, (double)rmem_default, &worst, &found);
	/* No service socket at all: nothing queued (the probe reports the app). */
	(void)found;
	return clamp01(worst);
}

/* The application's own load, written by the application into a file: the
 * first number in it, 0..1 (larger is sent as 1, smaller as 0). NaN when the
 * file is missing, unreadable or holds no number: reported as fully loaded.
 * Read fresh each interval, at most APP_LOAD_FILE_MAX bytes. Why: /proc shows
 * a namespace's sockets but the whole host's CPU, so in a lab (or a host
 * shared by several servers) only the application knows its own load. */
static double app_load(const char *path)
{
	char text[APP_LOAD_FILE_MAX + 1], *end;
	ssize_t n;
	double v;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return NAN;
	n = read(fd, text, APP_LOAD_FILE_MAX);
	close(fd);
	if (n <= 0)
		return NAN;
	text[n] = '\0';
	errno = 0;
	v = strtod(text, &end);
	if (end == text || errno != 0 || !isfinite(v))
		return NAN;
	return clamp01(v);
}

static void read_load(struct agent *a, double components[AGENT_LOAD_COMPONENTS])
{
	uint64_t now = clock_ms(CLOCK_MONOTONIC);
	components[AGENT_LOAD_CPU] = cpu_load(a);
	components[AGENT_LOAD_MEMORY] = memory_load(a);
	components[AGENT_LOAD_NETWORK] = network_load(a);
	components[AGENT_LOAD_IO] = io_load(a, now);
	components[AGENT_LOAD_BACKLOG] = a->app_load_path ? app_load(a->app_load_path) : backlog_load(a);
}

/* ---- the application probe ---- */

static int probe_timeout_ms(const struct agent *a)
{
	uint32_t half = a->cfg.agents.interval_ms / 2;
	return (int)(half < PROBE_TIMEOUT_MAX_MS ? (half ? half : 1) : PROBE_TIMEOUT_MAX_MS);
}

/* Waits for fd to be readable until deadline; false on timeout. */
static bool wait_readable(int fd, uint64_t deadline_ms)
{
	for (;;) {
		uint64_t now = clock_ms(CLOCK_MONOTONIC);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n;
		if (now >= deadline_ms)
			return false;
		n = poll(&pfd, 1, (int)(deadline_ms - now));
		if (n > 0)
			return true;
		if (n == 0 || (n < 0 && errno != EINTR))
			return false;
	}
}

static bool probe_sip(const struct agent *a, const struct endpoint *target)
{
	struct sockaddr_storage ss;
	socklen_t len = endpoint_to_sockaddr(target, &ss);
	char text[NETADDR_STRLEN], request[768], reply[2048];
	uint64_t deadline = clock_ms(CLOCK_MONOTONIC) + (uint64_t)probe_timeout_ms(a);
	unsigned tag = (unsigned)(clock_us(CLOCK_REALTIME) & 0xffffff);
	bool ok = false;
	int n, fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	netaddr_format(&target->addr, text, sizeof(text));
	n = snprintf(request, sizeof(request),
		     "OPTIONS sip:%s%s%s:%u SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP %s%s%s;branch=z9hG4bK-sara-agent-%06x;rport\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: <sip:sara-agent@%s%s%s>;tag=%06x\r\n"
		     "To: <sip:%s%s%s:%u>\r\n"
		     "Call-ID: sara-agent-%06x@%s\r\n"
		     "CSeq: 1 OPTIONS\r\n"
		     "Content-Length: 0\r\n\r\n",
		     target->addr.family == AF_INET6 ? "[" : "", text, target->addr.family == AF_INET6 ? "]" : "",
		     target->port, target->addr.family == AF_INET6 ? "[" : "", text,
		     target->addr.family == AF_INET6 ? "]" : "", tag, target->addr.family == AF_INET6 ? "[" : "", text,
		     target->addr.family == AF_INET6 ? "]" : "", tag, target->addr.family == AF_INET6 ? "[" : "",
		     text, target->addr.family == AF_INET6 ? "]" : "", target->port, tag, a->cfg.name);
	if (n <= 0 || (size_t)n >= sizeof(request))
		goto out;
	/* connect: only the server's own answer is read, ICMP errors show. */
	if (connect(fd, (struct sockaddr *)&ss, len) != 0 || send(fd, request, (size_t)n, 0) != n)
		goto out;
	while (!ok && wait_readable(fd, deadline)) {
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

static bool probe_rtsp(const struct agent *a, const struct endpoint *target)
{
	struct sockaddr_storage ss;
	socklen_t len = endpoint_to_sockaddr(target, &ss);
	char text[NETADDR_STRLEN], request[512], reply[1024];
	uint64_t deadline = clock_ms(CLOCK_MONOTONIC) + (uint64_t)probe_timeout_ms(a);
	size_t got = 0;
	bool ok = false;
	int n, fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return false;
	netaddr_format(&target->addr, text, sizeof(text));
	n = snprintf(request, sizeof(request), "OPTIONS rtsp://%s%s%s:%u/ RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: sara-agent\r\n\r\n",
		     target->addr.family == AF_INET6 ? "[" : "", text, target->addr.family == AF_INET6 ? "]" : "",
		     target->port);
	if (n <= 0 || (size_t)n >= sizeof(request))
		goto out;
	if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		int soerr = 0;
		socklen_t soerr_len = sizeof(soerr);
		uint64_t now = clock_ms(CLOCK_MONOTONIC);
		if (errno != EINPROGRESS || now >= deadline || poll(&pfd, 1, (int)(deadline - now)) != 1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &soerr_len) != 0 || soerr != 0)
			goto out;
	}
	if (send(fd, request, (size_t)n, MSG_NOSIGNAL) != n)
		goto out;
	while (got < 9 && wait_readable(fd, deadline)) {
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

/* /bin/sh -c COMMAND; exit status 0 within the timeout = up. */
static bool probe_command(const struct agent *a)
{
	uint64_t deadline = clock_ms(CLOCK_MONOTONIC) + (uint64_t)probe_timeout_ms(a);
	int status;
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
		}
		execl("/bin/sh", "sh", "-c", a->probe_command, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if (r < 0 && errno != EINTR)
			return false;
		if (clock_ms(CLOCK_MONOTONIC) >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return false;
		}
		usleep(10000);
	}
}

static bool probe_once(const struct agent *a)
{
	struct endpoint target = { .addr = a->cfg.servers[a->server].address };
	switch (a->probe) {
	case PROBE_NONE:
		return true;
	case PROBE_SIP:
		target.port = a->cfg.sip_port_count ? a->cfg.sip_ports[0] : 5060;
		return probe_sip(a, &target);
	case PROBE_RTSP:
		target.port = a->cfg.rtsp_port_count ? a->cfg.rtsp_ports[0] : 554;
		return probe_rtsp(a, &target);
	case PROBE_CMD:
		return probe_command(a);
	}
	return false;
}

/* ---- sending ---- */

static bool send_sealed(struct agent *a, uint8_t type, const uint8_t *body, size_t body_len)
{
	uint8_t msg[WIRE_MAX_MESSAGE];
	struct wire_header hdr = {
		.type = type,
		.body_len = (uint16_t)body_len,
		.sender = a->sender,
		.seq = a->wire_seq++,
		.time_ms = clock_ms(CLOCK_REALTIME),
	};
	size_t len = wire_seal(&a->key, &hdr, body, msg, sizeof(msg));
	if (len == 0 || sendto(a->sock, msg, len, MSG_DONTWAIT, (struct sockaddr *)&a->to, a->to_len) != (ssize_t)len) {
		a->send_errors++;
		return false;
	}
	a->sent++;
	return true;
}

static const char *fraction_text(double v, bool counted, char *buf, size_t size)
{
	if (!counted)
		snprintf(buf, size, "-");
	else if (isnan(v))
		snprintf(buf, size, "unreadable");
	else
		snprintf(buf, size, "%.4f", v);
	return buf;
}

/* One heartbeat and one load report. Returns false when a send failed. */
static bool report(struct agent *a, bool print)
{
	double components[AGENT_LOAD_COMPONENTS];
	struct agent_heartbeat hb = { .host_id = a->sender, .seq = a->beat_seq++ };
	struct agent_load load = { .host_id = a->sender };
	uint8_t body[32];
	size_t len;
	bool app_up = probe_once(a), ok = true;
	uint32_t now_s = (uint32_t)(clock_ms(CLOCK_REALTIME) / 1000u);

	a->probe_failures = app_up ? 0 : a->probe_failures + 1;
	if (a->draining) {
		hb.flag = AGENT_DRAIN;
		hb.timestamp = a->drain_at_s;
	} else {
		hb.flag = a->probe_failures >= a->probe_failures_needed ? AGENT_APP_DOWN : AGENT_UP;
		hb.timestamp = now_s;
	}
	len = agent_heartbeat_encode(&hb, body, sizeof(body));
	ok &= send_sealed(a, WIRE_HEARTBEAT, body, len);

	read_load(a, components);
	/* An unreadable component is reported as fully loaded, never as idle;
	 * one left out by --components as not reported (it does not count). */
	for (unsigned i = 0; i < AGENT_LOAD_COMPONENTS; i++)
		load.fixed[i] = a->counted & (1u << i) ? agent_load_to_fixed(components[i]) : AGENT_LOAD_NOT_REPORTED;
	len = agent_load_encode(&load, body, sizeof(body));
	ok &= send_sealed(a, WIRE_LOAD, body, len);

	if (print || a->verbose) {
		char v[AGENT_LOAD_COMPONENTS][16];
		log_msg(LOG_INFO, "heartbeat host %u seq %u flag %s timestamp %u probe %s; load cpu %s memory %s network %s io %s backlog %s%s",
			hb.host_id, hb.seq, agent_flag_name(hb.flag), hb.timestamp,
			a->probe == PROBE_NONE ? "none" : app_up ? "ok" : "failed",
			fraction_text(components[AGENT_LOAD_CPU], a->counted & (1u << AGENT_LOAD_CPU), v[0], sizeof(v[0])),
			fraction_text(components[AGENT_LOAD_MEMORY], a->counted & (1u << AGENT_LOAD_MEMORY), v[1], sizeof(v[1])),
			fraction_text(components[AGENT_LOAD_NETWORK], a->counted & (1u << AGENT_LOAD_NETWORK), v[2], sizeof(v[2])),
			fraction_text(components[AGENT_LOAD_IO], a->counted & (1u << AGENT_LOAD_IO), v[3], sizeof(v[3])),
			fraction_text(components[AGENT_LOAD_BACKLOG], a->counted & (1u << AGENT_LOAD_BACKLOG), v[4], sizeof(v[4])), ok ? "" : " (send failed)");
	}
	return ok;
}

/* Sleeps until deadline or a signal; true when a signal cut it short. */
static bool sleep_until(uint64_t deadline_ms)
{
	uint64_t now = clock_ms(CLOCK_MONOTONIC);
	struct timespec ts;
	if (now >= deadline_ms)
		return false;
	ts.tv_sec = (time_t)((deadline_ms - now) / 1000u);
	ts.tv_nsec = (long)((deadline_ms - now) % 1000u) * 1000000L;
	return nanosleep(&ts, NULL) != 0 && errno == EINTR;
}

static int run_agent(struct agent *a, bool foreground, bool once)
{
	char where[ENDPOINT_STRLEN];
	uint64_t next;
	a->sock = socket(a->to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (a->sock < 0) {
		log_msg(LOG_ERR, "socket: %s", strerror(errno));
		return 1;
	}
	/* CPU and I/O are deltas: take a first sample before the first report. */
	read_cpu(a, &a->readings.cpu);
	io_load(a, clock_ms(CLOCK_MONOTONIC));
	if (once) {
		usleep(CPU_FIRST_SAMPLE_MS * 1000);
		return report(a, true) ? 0 : 1;
	}
	if (!foreground) {
		if (daemon(0, 0) != 0) {
			log_msg(LOG_ERR, "daemon: %s", strerror(errno));
			return 1;
		}
		log_open("sara-agent", false, true);
	}
	install_signals();
	log_msg(LOG_INFO, "server %s (sender %u) reporting to %s every %u ms", a->cfg.servers[a->server].id, a->sender,
		endpoint_format(&a->cfg.agents.listen, where, sizeof(where)), a->cfg.agents.interval_ms);
	next = clock_ms(CLOCK_MONOTONIC) + CPU_FIRST_SAMPLE_MS;
	while (!stop_requested) {
		bool now_report = false;
		if (hup_received) {
			hup_received = 0;
			log_msg(LOG_WARNING, "SIGHUP: sara-agent has no configuration reload; restart it to "
				"apply changes");
		}
		if (sleep_until(next) && !stop_requested && !drain_requested && !undrain_requested)
			continue;
		if (stop_requested)
			break;
		if (drain_requested) {
			drain_requested = 0;
			a->draining = true;
			a->drain_at_s = (uint32_t)(clock_ms(CLOCK_REALTIME) / 1000u) + a->drain_in_s;
			log_msg(LOG_INFO, "draining: planned failure at %u (in %u s)", a->drain_at_s, a->drain_in_s);
			now_report = true;
		}
		if (undrain_requested) {
			undrain_requested = 0;
			if (a->draining)
				log_msg(LOG_INFO, "drain cancelled: up again");
			a->draining = false;
			now_report = true;
		}
		/* A state change goes out at once, not at the next tick. */
		if (now_report || clock_ms(CLOCK_MONOTONIC) >= next) {
			report(a, false);
			next = clock_ms(CLOCK_MONOTONIC) + a->cfg.agents.interval_ms;
		}
	}
	log_msg(LOG_INFO, "stopping: sent %llu, send errors %llu", (unsigned long long)a->sent,
		(unsigned long long)a->send_errors);
	return 0;
}

/* ---- decode mode: a receiver for tests and for debugging a deployment ---- */

struct decoder {
	const struct sara_config *cfg;
	uint64_t start_ms;
};

static void print_event(void *ctx, const struct server_event *event)
{
	const struct decoder *d = ctx;
	const char *id = d->cfg->servers[event->server].id;
	switch (event->kind) {
	case SERVER_EVENT_FAILED:
		printf("event failed server %s cause %s\n", id, server_cause_name(event->cause));
		break;
	case SERVER_EVENT_DRAINING:
		printf("event draining server %s planned_in_ms %lld\n", id,
		       (long long)(event->planned_ms - clock_ms(CLOCK_MONOTONIC)));
		break;
	case SERVER_EVENT_RECOVERED:
		printf("event recovered server %s\n", id);
		break;
	case SERVER_EVENT_LOAD:
		break;  /* printed with the report */
	}
}

static void print_health_counter(void *ctx, const struct counter_def *def, uint64_t value)
{
	(void)ctx;
	printf("counter health.%s %llu\n", def->name, (unsigned long long)value);
}

static void decode_one(const struct sara_config *cfg, const struct wire_key *key, struct wire_replay *replay,
		       struct server_health *health, const uint8_t *msg, size_t len)
{
	struct wire_header hdr;
	const uint8_t *body;
	uint64_t now_wall = clock_ms(CLOCK_REALTIME), now = clock_ms(CLOCK_MONOTONIC);
	enum wire_verdict verdict = wire_open(key, replay, msg, len, now_wall, DECODE_MAX_SKEW_MS, &hdr, &body);
	enum counter_id reason;
	unsigned server;
	if (verdict != WIRE_OK) {
		printf("rejected %s len %zu\n", counter_name(wire_verdict_counter(verdict)), len);
		return;
	}
	if (hdr.type == WIRE_HEARTBEAT) {
		struct agent_heartbeat hb;
		reason = agent_heartbeat_decode(body, hdr.body_len, &hb);
		if (reason == COUNTER_NONE)
			reason = agent_msg_check_sender(cfg, hdr.sender, hb.host_id, &server);
		if (reason != COUNTER_NONE) {
			printf("rejected %s sender %u\n", counter_name(reason), hdr.sender);
			return;
		}
		printf("heartbeat sender %u server %s seq %u flag %s timestamp %u age_ms %lld\n", hdr.sender,
		       cfg->servers[server].id, hb.seq, agent_flag_name(hb.flag), hb.timestamp,
		       (long long)(now_wall - hdr.time_ms));
		server_health_heartbeat(health, server, &hb, now, now_wall);
	} else if (hdr.type == WIRE_LOAD) {
		struct agent_load load;
		reason = agent_load_decode(body, hdr.body_len, &load);
		if (reason == COUNTER_NONE)
			reason = agent_msg_check_sender(cfg, hdr.sender, load.host_id, &server);
		if (reason != COUNTER_NONE) {
			printf("rejected %s sender %u\n", counter_name(reason), hdr.sender);
			return;
		}
		printf("load sender %u server %s", hdr.sender, cfg->servers[server].id);
		for (unsigned i = 0; i < AGENT_LOAD_COMPONENTS; i++) {
			if (load.fixed[i] == AGENT_LOAD_NOT_REPORTED)
				printf(" %s -", agent_load_component_name(i));
			else
				printf(" %s %.4f", agent_load_component_name(i), agent_load_from_fixed(load.fixed[i]));
		}
		server_health_load_report(health, server, &load, now);
		{
			struct server_health_info info;
			server_health_get(health, server, now, &info);
			printf(" combined %.4f\n", info.load);
		}
	} else {
		printf("rejected not_an_agent_message type %u sender %u\n", hdr.type, hdr.sender);
	}
}

static int run_decode(const struct sara_config *cfg, const struct wire_key *key, const struct endpoint *listen_on,
		      unsigned long count)
{
	static struct wire_replay replay;  /* 256 senders: keep it off the stack */
	struct decoder d = { .cfg = cfg, .start_ms = clock_ms(CLOCK_MONOTONIC) };
	struct server_health *health;
	char where[ENDPOINT_STRLEN], why[128];
	unsigned long seen = 0;
	int status = 0, fd;
	health = server_health_create(cfg, d.start_ms, print_event, &d);
	if (!health) {
		log_msg(LOG_ERR, "out of memory");
		return 1;
	}
	fd = udp_listen(listen_on, why, sizeof(why));
	if (fd < 0) {
		log_msg(LOG_ERR, "%s", why);
		status = 1;
		goto out;
	}
	install_signals();
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("listening %s\n", endpoint_format(listen_on, where, sizeof(where)));
	while (!stop_requested && (count == 0 || seen < count)) {
		uint8_t msg[WIRE_MAX_MESSAGE + 1];
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n = poll(&pfd, 1, DECODE_TICK_MS);
		server_health_tick(health, clock_ms(CLOCK_MONOTONIC));
		if (n < 0 && errno != EINTR) {
			log_msg(LOG_ERR, "poll: %s", strerror(errno));
			status = 1;
			break;
		}
		if (n <= 0)
			continue;
		ssize_t r = recv(fd, msg, sizeof(msg), MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			log_msg(LOG_ERR, "recv: %s", strerror(errno));
			status = 1;
			break;
		}
		seen++;
		if ((size_t)r > WIRE_MAX_MESSAGE) {
			printf("rejected oversized len %zd\n", r);
			continue;
		}
		decode_one(cfg, key, &replay, health, msg, (size_t)r);
	}
	for (unsigned i = 0; i < cfg->server_count; i++) {
		struct server_health_info info;
		server_health_get(health, i, clock_ms(CLOCK_MONOTONIC), &info);
		printf("server %s state %s heartbeats %llu lost %llu loads %llu\n", cfg->servers[i].id,
		       server_state_name(info.state), (unsigned long long)info.heartbeats,
		       (unsigned long long)info.lost, (unsigned long long)info.loads);
	}
	counters_visit(server_health_counters(health), COUNTER_SCOPE_HEALTH, COUNTERS_REPORTED, print_health_counter,
		       NULL);
out:
	if (fd >= 0)
		close(fd);
	server_health_destroy(health);
	return status;
}

/* ---- main ---- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sara-agent -c CLUSTER.cfg --id ID [--probe sip|rtsp|cmd:COMMAND] [--drain-in N]\n"
		"                  [--app-load file:PATH] [--components LIST]\n"
		"                  [--foreground] [--check-config] [--once] [--verbose]\n"
		"       sara-agent -c CLUSTER.cfg --decode [--listen ADDR:PORT] [--count N]\n"
		"The node agent: every agents.interval_ms sends a heartbeat and a load report\n"
		"(CPU, memory, socket buffers, I/O queue, SIP/RTSP backlog, from /proc) to\n"
		"agents.listen, authenticated with key_file.\n"
		"  -c, --config FILE   the cluster's configuration\n"
		"      --id ID         this server's id in the configuration (sender = its index + 1)\n"
		"      --probe P       application probe: sip (SIP OPTIONS to the server's address\n"
		"                      and first SIP port), rtsp (RTSP OPTIONS to its first RTSP\n"
		"                      port) or cmd:COMMAND (exit status 0 = up); failing -> app down\n"
		"      --probe-failures N  consecutive failed probes before app down (default %d)\n"
		"      --drain-in N    SIGUSR1 announces a planned failure N s ahead (default %d);\n"
		"                      SIGUSR2 cancels it\n"
		"      --app-load file:PATH  the application's own load as the backlog component:\n"
		"                      the first number in PATH (0..1, read every interval;\n"
		"                      missing or not a number = fully loaded) instead of the\n"
		"                      SIP/RTSP socket queues in /proc\n"
		"      --components LIST  the components that count, comma-separated from cpu,\n"
		"                      memory, network, io, backlog (default all); the others are\n"
		"                      sent as not reported and sarad leaves them out\n"
		"      --foreground    stay in the foreground and log to stderr (else daemon, syslog)\n"
		"      --check-config  validate the configuration, the key file and the id, and exit\n"
		"      --once          send one heartbeat and one load report, print them, exit\n"
		"      --verbose       log every report\n"
		"      --decode        receive agent messages instead, print them and the health\n"
		"                      events they cause (failed / draining / recovered)\n"
		"      --listen EP     address for --decode (default agents.listen); implies --decode\n"
		"      --count N       with --decode: exit after N datagrams\n",
		DEFAULT_PROBE_FAILURES, DEFAULT_DRAIN_IN_S);
}

static bool parse_number(const char *text, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || end == text || *end != '\0' || text[0] == '-' || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_probe(struct agent *a, const char *text)
{
	if (strcmp(text, "sip") == 0)
		a->probe = PROBE_SIP;
	else if (strcmp(text, "rtsp") == 0)
		a->probe = PROBE_RTSP;
	else if (strncmp(text, "cmd:", 4) == 0 && text[4] != '\0') {
		a->probe = PROBE_CMD;
		a->probe_command = text + 4;
	} else if (strcmp(text, "none") == 0)
		a->probe = PROBE_NONE;
	else
		return false;
	return true;
}

/* "cpu,backlog" -> the bits of those components; false on an unknown name
 * or an empty list. "all" names every component. */
static bool parse_components(const char *text, unsigned *out)
{
	unsigned bits = 0;
	const char *at = text;
	for (;;) {
		size_t len = strcspn(at, ",");
		bool known = false;
		if (len == 3 && strncmp(at, "all", 3) == 0) {
			bits |= SERVER_HEALTH_COUNT_ALL;
			known = true;
		}
		for (unsigned i = 0; i < AGENT_LOAD_COMPONENTS && !known; i++) {
			const char *name = agent_load_component_name(i);
			if (strlen(name) == len && strncmp(at, name, len) == 0) {
				bits |= 1u << i;
				known = true;
			}
		}
		if (!known)
			return false;
		if (at[len] == '\0')
			break;
		at += len + 1;
	}
	*out = bits;
	return bits != 0;
}

static const char *probe_text(const struct agent *a)
{
	switch (a->probe) {
	case PROBE_NONE: return "none";
	case PROBE_SIP: return "sip";
	case PROBE_RTSP: return "rtsp";
	case PROBE_CMD: return "cmd";
	}
	return "?";
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "id", required_argument, NULL, 'i' },
		{ "probe", required_argument, NULL, 'p' },
		{ "probe-failures", required_argument, NULL, 'F' },
		{ "drain-in", required_argument, NULL, 'd' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "once", no_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "decode", no_argument, NULL, 'D' },
		{ "listen", required_argument, NULL, 'l' },
		{ "count", required_argument, NULL, 'n' },
		{ "app-load", required_argument, NULL, 'A' },
		{ "components", required_argument, NULL, 'K' },
		{ "proc", required_argument, NULL, 'P' },  /* tests: a fake /proc tree */
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct agent a;  /* large (config): not on the stack */
	const char *config_path = NULL, *id = NULL, *listen_text = NULL;
	bool foreground = false, check_config = false, once = false, decode = false;
	unsigned long count = 0, number;
	struct endpoint listen_on;
	char err[512], where[ENDPOINT_STRLEN];
	int opt, index;

	a.sock = -1;
	a.proc = "/proc";
	a.drain_in_s = DEFAULT_DRAIN_IN_S;
	a.probe_failures_needed = DEFAULT_PROBE_FAILURES;
	a.counted = SERVER_HEALTH_COUNT_ALL;
	log_open("sara-agent", true, false);
	while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'i': id = optarg; break;
		case 'p':
			if (!parse_probe(&a, optarg)) {
				fprintf(stderr, "sara-agent: --probe %s: want sip, rtsp or cmd:COMMAND\n", optarg);
				return 2;
			}
			break;
		case 'F':
			if (!parse_number(optarg, 100, &number) || number == 0) {
				fprintf(stderr, "sara-agent: --probe-failures %s: want 1..100\n", optarg);
				return 2;
			}
			a.probe_failures_needed = (unsigned)number;
			break;
		case 'd':
			if (!parse_number(optarg, 86400, &number)) {
				fprintf(stderr, "sara-agent: --drain-in %s: want 0..86400 seconds\n", optarg);
				return 2;
			}
			a.drain_in_s = (uint32_t)number;
			break;
		case 'f': foreground = true; break;
		case 'C': check_config = true; break;
		case 'o': once = true; break;
		case 'v': a.verbose = true; break;
		case 'D': decode = true; break;
		case 'l': listen_text = optarg; decode = true; break;
		case 'n':
			if (!parse_number(optarg, ULONG_MAX, &count)) {
				fprintf(stderr, "sara-agent: --count %s: want a number\n", optarg);
				return 2;
			}
			break;
		case 'A':
			if (strncmp(optarg, "file:", 5) != 0 || optarg[5] == '\0') {
				fprintf(stderr, "sara-agent: --app-load %s: want file:PATH\n", optarg);
				return 2;
			}
			a.app_load_path = optarg + 5;
			break;
		case 'K':
			if (!parse_components(optarg, &a.counted)) {
				fprintf(stderr, "sara-agent: --components %s: want a comma-separated list of cpu, memory, network, io, backlog\n",
					optarg);
				return 2;
			}
			break;
		case 'P': a.proc = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!config_path || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!sara_config_load(config_path, &a.cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (!key_file_load(a.cfg.key_file, &a.key, err, sizeof(err))) {
		fprintf(stderr, "sara-agent: key_file %s\n", err);
		return 2;
	}
	if (decode) {
		listen_on = a.cfg.agents.listen;
		if (listen_text && !endpoint_parse(span_make(listen_text, strlen(listen_text)), &listen_on)) {
			fprintf(stderr, "sara-agent: --listen %s: want ADDR:PORT or [ADDR]:PORT\n", listen_text);
			return 2;
		}
		if (listen_on.addr.family == 0) {
			fprintf(stderr, "sara-agent: %s: agents.listen is not set and no --listen given\n", config_path);
			return 2;
		}
		return run_decode(&a.cfg, &a.key, &listen_on, count);
	}
	if (!id) {
		fprintf(stderr, "sara-agent: --id ID is required (a server id from %s)\n", config_path);
		return 2;
	}
	index = -1;
	for (unsigned i = 0; i < a.cfg.server_count; i++)
		if (strcmp(a.cfg.servers[i].id, id) == 0)
			index = (int)i;
	if (index < 0) {
		fprintf(stderr, "sara-agent: --id %s: no such server in %s\n", id, config_path);
		return 2;
	}
	a.server = (unsigned)index;
	a.sender = (uint32_t)index + 1;
	a.to_len = endpoint_to_sockaddr(&a.cfg.agents.listen, &a.to);
	if (a.to_len == 0) {
		fprintf(stderr, "sara-agent: %s: agents.listen is not set: the agent needs sarad's address\n",
			config_path);
		return 2;
	}
	if (check_config) {
		printf("%s: ok (server %s, sender %u, reporting to %s every %u ms, probe %s)\n", config_path, id,
		       a.sender, endpoint_format(&a.cfg.agents.listen, where, sizeof(where)),
		       a.cfg.agents.interval_ms, probe_text(&a));
		return 0;
	}
	/* Wire sequence numbers start at the wall clock in microseconds, so a
	 * restarted agent is not taken for a replay (wire.h). */
	a.wire_seq = clock_us(CLOCK_REALTIME);
	a.beat_seq = (uint16_t)(a.wire_seq / 1000u);
	return run_agent(&a, foreground || once, once);
}
