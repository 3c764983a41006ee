/* load_readers.c - the load components read from /proc (load_readers.h). */
#include "sara-agent/load_readers.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_BYTES 512
#define TCP_LISTEN_STATE 0x0A

bool load_readers_init(struct load_readers *r, const char *root, const struct sara_config *cfg,
		       const char *app_load_path)
{
	size_t len = strlen(root);
	memset(r, 0, sizeof(*r));
	while (len > 0 && root[len - 1] == '/')
		len--;
	if (len >= sizeof(r->root))
		return false;
	memcpy(r->root, root, len);
	r->root[len] = '\0';
	r->cfg = cfg;
	r->app_load_path = app_load_path;
	return true;
}

/* rel: a path under the root, "proc/stat". */
static FILE *open_under_root(const struct load_readers *r, const char *rel)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", r->root, rel) >= sizeof(path))
		return NULL;
	return fopen(path, "re");
}

static double clamp01(double v)
{
	return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
}

/* The "cpu" line of proc/stat. */
static bool read_cpu(const struct load_readers *r, struct load_cpu_sample *out)
{
	unsigned long long v[10] = { 0 };
	char line[LINE_MAX_BYTES];
	FILE *f = open_under_root(r, "proc/stat");
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

double load_cpu(struct load_readers *r)
{
	struct load_cpu_sample now;
	double load = NAN;
	if (!read_cpu(r, &now))
		return NAN;
	if (r->cpu.valid && now.total > r->cpu.total && now.busy >= r->cpu.busy)
		load = (double)(now.busy - r->cpu.busy) / (double)(now.total - r->cpu.total);
	r->cpu = now;
	return isnan(load) ? NAN : clamp01(load);
}

/* MemTotal and MemAvailable of proc/meminfo, in kB; false unless both are there. */
static bool read_meminfo(const struct load_readers *r, unsigned long long *total, unsigned long long *available)
{
	char line[LINE_MAX_BYTES];
	unsigned long long v;
	bool have_total = false, have_available = false;
	FILE *f = open_under_root(r, "proc/meminfo");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemTotal: %llu kB", &v) == 1) {
			*total = v;
			have_total = true;
		} else if (sscanf(line, "MemAvailable: %llu kB", &v) == 1) {
			*available = v;
			have_available = true;
		}
	}
	fclose(f);
	return have_total && have_available;
}

double load_memory(const struct load_readers *r)
{
	unsigned long long total = 0, available = 0;
	if (!read_meminfo(r, &total, &available) || total == 0)
		return NAN;
	return clamp01(1.0 - (double)available / (double)total);
}

static bool read_mem_total_kb(const struct load_readers *r, unsigned long long *kb)
{
	char line[LINE_MAX_BYTES];
	bool ok = false;
	FILE *f = open_under_root(r, "proc/meminfo");
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
static bool read_mem_pressure(const struct load_readers *r, const char *rel, unsigned ram_divisor,
			      unsigned long long *pressure)
{
	unsigned long long low, mid, high, total_kb;
	long page = sysconf(_SC_PAGESIZE);
	FILE *f = open_under_root(r, rel);
	bool ok = false;
	if (f) {
		ok = fscanf(f, "%llu %llu %llu", &low, &mid, &high) == 3 && mid > 0;
		fclose(f);
		if (ok)
			*pressure = mid;
	}
	if (!ok && page > 0 && read_mem_total_kb(r, &total_kb) &&
	    total_kb * 1024u / (unsigned long long)page >= ram_divisor) {
		*pressure = total_kb * 1024u / (unsigned long long)page / ram_divisor;
		ok = true;
	}
	return ok;
}

double load_network(const struct load_readers *r)
{
	char line[LINE_MAX_BYTES];
	unsigned long long tcp_mem = 0, udp_mem = 0, tcp_pressure, udp_pressure, inuse, orphan, tw, alloc;
	bool have_tcp = false, have_udp = false;
	double load = NAN;
	FILE *f = open_under_root(r, "proc/net/sockstat");
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
	if (have_tcp && read_mem_pressure(r, "proc/sys/net/ipv4/tcp_mem", 16, &tcp_pressure))
		load = (double)tcp_mem / (double)tcp_pressure;
	if (have_udp && read_mem_pressure(r, "proc/sys/net/ipv4/udp_mem", 8, &udp_pressure)) {
		double udp = (double)udp_mem / (double)udp_pressure;
		load = isnan(load) || udp > load ? udp : load;
	}
	return isnan(load) ? NAN : clamp01(load);
}

/* Whole disks only: a partition's name extends its disk's (sda1, nvme0n1p1). */
static bool is_partition_of_listed(const struct load_disk_sample *disks, unsigned count, const char *name)
{
	for (unsigned i = 0; i < count; i++) {
		size_t len = strlen(disks[i].name);
		if (strncmp(name, disks[i].name, len) == 0 && name[len] != '\0')
			return true;
	}
	return false;
}

/* The whole disks of proc/diskstats (no loop, ram or zram devices), at most
 * LOAD_DISKS_MAX; -1 when the file cannot be opened. */
static int read_disks(const struct load_readers *r, struct load_disk_sample *out)
{
	char line[LINE_MAX_BYTES];
	unsigned count = 0;
	FILE *f = open_under_root(r, "proc/diskstats");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && count < LOAD_DISKS_MAX) {
		unsigned major, minor;
		char name[LOAD_DISK_NAME_MAX];
		unsigned long long v[11];
		if (sscanf(line, " %u %u %31s %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &major, &minor,
			   name, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10]) != 14)
			continue;
		if (strncmp(name, "loop", 4) == 0 || strncmp(name, "ram", 3) == 0 || strncmp(name, "zram", 4) == 0)
			continue;
		/* diskstats lists a disk before its partitions. */
		if (is_partition_of_listed(out, count, name))
			continue;
		snprintf(out[count].name, LOAD_DISK_NAME_MAX, "%s", name);
		out[count].weighted_ms = v[10];
		count++;
	}
	fclose(f);
	return (int)count;
}

/* diskstats field 14 is the time-weighted ms of requests in flight: its
 * growth divided by the elapsed ms is the average queue length. */
double load_io(struct load_readers *r, uint64_t now_ms)
{
	struct load_disk_sample fresh[LOAD_DISKS_MAX];
	double queued_ms = 0.0, load = NAN;
	int fresh_count = read_disks(r, fresh);
	if (fresh_count < 0)
		return NAN;
	if (r->disks_valid && now_ms > r->disks_at_ms) {
		for (int i = 0; i < fresh_count; i++)
			for (unsigned j = 0; j < r->disk_count; j++)
				if (strcmp(fresh[i].name, r->disks[j].name) == 0 &&
				    fresh[i].weighted_ms >= r->disks[j].weighted_ms)
					queued_ms += (double)(fresh[i].weighted_ms - r->disks[j].weighted_ms);
		load = clamp01(queued_ms / (double)(now_ms - r->disks_at_ms) / LOAD_IO_QUEUE_FULL);
	}
	memcpy(r->disks, fresh, sizeof(fresh[0]) * (size_t)fresh_count);
	r->disk_count = (unsigned)fresh_count;
	r->disks_at_ms = now_ms;
	r->disks_valid = true;
	return load;
}

static bool is_service_port(const struct sara_config *cfg, unsigned port)
{
	return port <= UINT16_MAX &&
	       (sara_config_is_sip_port(cfg, (uint16_t)port) || sara_config_is_rtsp_port(cfg, (uint16_t)port));
}

/* The fullest SIP/RTSP socket of one proc/net/{udp,tcp}{,6} table into
 * *worst. TCP listeners count by their accept queue (rx_queue of a LISTEN
 * socket) against a fixed scale: the table does not show a listener's own
 * backlog limit (only sock_diag does). False when the table is unreadable. */
static bool backlog_table(const struct load_readers *r, const char *rel, bool tcp, double rmem, double *worst)
{
	char line[LINE_MAX_BYTES];
	FILE *f = open_under_root(r, rel);
	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f)) {  /* header */
		fclose(f);
		return false;
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
		if (!colon || sscanf(colon + 1, "%x", &port) != 1 || !is_service_port(r->cfg, port))
			continue;
		if (tcp && state != TCP_LISTEN_STATE)
			continue;
		load = tcp ? (double)rx / LOAD_LISTEN_BACKLOG_FULL : (double)rx / rmem;
		if (load > *worst)
			*worst = load;
	}
	fclose(f);
	return true;
}

double load_backlog(const struct load_readers *r)
{
	unsigned long long rmem_default = LOAD_RMEM_DEFAULT;
	double worst = 0.0, rmem;
	bool readable = false;
	FILE *f = open_under_root(r, "proc/sys/net/core/rmem_default");
	if (f) {
		if (fscanf(f, "%llu", &rmem_default) != 1 || rmem_default == 0)
			rmem_default = LOAD_RMEM_DEFAULT;
		fclose(f);
	}
	rmem = (double)rmem_default;
	readable |= backlog_table(r, "proc/net/udp", false, rmem, &worst);
	readable |= backlog_table(r, "proc/net/udp6", false, rmem, &worst);
	readable |= backlog_table(r, "proc/net/tcp", true, rmem, &worst);
	readable |= backlog_table(r, "proc/net/tcp6", true, rmem, &worst);
	/* No service socket at all is nothing queued (the probe reports the
	 * application); no table at all is not knowing. */
	return readable ? clamp01(worst) : NAN;
}

/* Read fresh each interval: /proc shows a namespace's sockets but the whole
 * host's CPU, so in a lab (or a host shared by several servers) only the
 * application knows its own load. Missing, unreadable or not a number: NaN. */
double load_app_file(const char *path)
{
	char text[LOAD_APP_FILE_MAX + 1], *end;
	ssize_t n;
	double v;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return NAN;
	n = read(fd, text, LOAD_APP_FILE_MAX);
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

void load_readers_prime(struct load_readers *r, uint64_t now_ms)
{
	read_cpu(r, &r->cpu);
	(void)load_io(r, now_ms);
}

void load_read_all(struct load_readers *r, uint64_t now_ms, double components[AGENT_LOAD_COMPONENTS])
{
	components[AGENT_LOAD_CPU] = load_cpu(r);
	components[AGENT_LOAD_MEMORY] = load_memory(r);
	components[AGENT_LOAD_NETWORK] = load_network(r);
	components[AGENT_LOAD_IO] = load_io(r, now_ms);
	components[AGENT_LOAD_BACKLOG] = r->app_load_path ? load_app_file(r->app_load_path) : load_backlog(r);
}
