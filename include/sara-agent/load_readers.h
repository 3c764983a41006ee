/* load_readers.h - a server's load components read from /proc under a root
 * directory ("/", or a fake tree in tests), each a fraction 0..1, or NaN
 * when its files are missing or malformed (reported as fully loaded). */
#ifndef SARA_AGENT_LOAD_READERS_H
#define SARA_AGENT_LOAD_READERS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/agent_msg.h"
#include "engine/config.h"

#define LOAD_DISKS_MAX 64
#define LOAD_DISK_NAME_MAX 32
#define LOAD_ROOT_MAX 256
#define LOAD_IO_QUEUE_FULL 8.0         /* average requests in flight that count as 1.0 */
#define LOAD_LISTEN_BACKLOG_FULL 128.0 /* queued TCP connections that count as 1.0 (SOMAXCONN) */
#define LOAD_RMEM_DEFAULT 212992       /* net.core.rmem_default when unreadable */
#define LOAD_APP_FILE_MAX 64           /* bytes read from the application's load file */

struct load_cpu_sample { bool valid; uint64_t busy, total; };

struct load_disk_sample {
	char name[LOAD_DISK_NAME_MAX];
	uint64_t weighted_ms;       /* diskstats field 14: time-weighted ms of I/O in flight */
};

/* CPU and I/O are deltas: the readers keep the previous sample. */
struct load_readers {
	char root[LOAD_ROOT_MAX];   /* without a trailing slash; "" for "/" */
	const struct sara_config *cfg;  /* its SIP/RTSP ports are the backlog's sockets */
	const char *app_load_path;  /* the backlog from the application's file; NULL: from /proc */
	struct load_cpu_sample cpu;
	unsigned disk_count;
	struct load_disk_sample disks[LOAD_DISKS_MAX];
	uint64_t disks_at_ms;       /* monotonic time of the disk sample */
	bool disks_valid;
};

/* False when root is too long. */
bool load_readers_init(struct load_readers *r, const char *root, const struct sara_config *cfg,
		       const char *app_load_path);
/* Takes the first CPU and disk samples, so that the next reading has deltas. */
void load_readers_prime(struct load_readers *r, uint64_t now_ms);
/* Every component, in enum agent_load_component order. */
void load_read_all(struct load_readers *r, uint64_t now_ms, double components[AGENT_LOAD_COMPONENTS]);

/* busy / total jiffies of proc/stat since the previous sample; NaN on the
 * first sample. busy = total - idle - iowait. */
double load_cpu(struct load_readers *r);
/* 1 - MemAvailable / MemTotal (proc/meminfo). */
double load_memory(const struct load_readers *r);
/* Socket buffer pages in use (proc/net/sockstat "mem") against the kernel's
 * pressure threshold (proc/sys/net/ipv4/{tcp,udp}_mem), the larger of TCP
 * and UDP. */
double load_network(const struct load_readers *r);
/* Average I/O queue length of whole disks since the previous sample
 * (proc/diskstats), 1.0 at LOAD_IO_QUEUE_FULL; NaN on the first sample. */
double load_io(struct load_readers *r, uint64_t now_ms);
/* The fullest SIP/RTSP socket of proc/net/{udp,tcp}{,6}: UDP receive queues
 * against net.core.rmem_default, TCP accept queues against
 * LOAD_LISTEN_BACKLOG_FULL; NaN when none of those tables can be read. */
double load_backlog(const struct load_readers *r);
/* The first number in the application's own load file (clamped to 0..1). */
double load_app_file(const char *path);

#endif
