/* test_load_readers.c - the load readers on a hand-written /proc tree in a
 * temporary directory: exact values from known samples (CPU, memory,
 * socket memory pressure, I/O queue, SIP/RTSP backlog, the application's
 * file), and NaN, never a crash or a silent 0, for missing or malformed
 * files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sara-agent/load_readers.h"

#define EXACT 1e-12

/* Within eps, and not NaN (cmocka's float comparison is single precision). */
#define assert_near(actual, expected, eps)                                                  \
	do {                                                                                \
		double actual_ = (actual), expected_ = (expected);                          \
		if (!(fabs(actual_ - expected_) <= (eps)))                                  \
			fail_msg("%s = %.15g, want %.15g", #actual, actual_, expected_);    \
	} while (0)

struct tree {
	char root[64];
	struct sara_config cfg;
	struct load_readers r;
};

/* Writes ROOT/rel (making its directories); content NULL removes it. */
static void put(const struct tree *t, const char *rel, const char *content)
{
	char path[512];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", t->root, rel);
	if (!content) {
		unlink(path);
		return;
	}
	for (char *slash = strchr(path + strlen(t->root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0700);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	snprintf(t->root, sizeof(t->root), "/tmp/sara-load-readers.XXXXXX");
	assert_non_null(mkdtemp(t->root));
	sara_config_defaults(&t->cfg);  /* SIP 5060, RTSP 554 and 8554 */
	assert_true(load_readers_init(&t->r, t->root, &t->cfg, NULL));
	*state = t;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct tree *t = *state;
	nftw(t->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

static void test_root_names_the_tree(void **state)
{
	struct tree *t = *state;
	struct load_readers r;
	char slashed[80], long_root[LOAD_ROOT_MAX + 8];
	put(t, "proc/meminfo", "MemTotal: 1000 kB\nMemAvailable: 250 kB\n");
	snprintf(slashed, sizeof(slashed), "%s//", t->root);
	assert_true(load_readers_init(&r, slashed, &t->cfg, NULL));
	assert_string_equal(r.root, t->root);
	assert_near(load_memory(&r), 0.75, EXACT);
	assert_true(load_readers_init(&r, "/", &t->cfg, NULL));
	assert_string_equal(r.root, "");
	memset(long_root, 'x', sizeof(long_root) - 1);
	long_root[sizeof(long_root) - 1] = '\0';
	assert_false(load_readers_init(&r, long_root, &t->cfg, NULL));
}

static void test_cpu_between_two_samples(void **state)
{
	struct tree *t = *state;
	/* busy = user + nice + system + irq + softirq + steal; guest (40, 30)
	 * is inside user already and must not count twice. */
	put(t, "proc/stat", "cpu  100 0 100 800 0 0 0 0 30 0\ncpu0 100 0 100 800 0 0 0 0 30 0\nintr 1\n");
	assert_true(isnan(load_cpu(&t->r)));  /* one sample: no delta yet */
	put(t, "proc/stat", "cpu  150 0 150 1000 100 0 0 0 40 0\ncpu0 150 0 150 1000 100 0 0 0 40 0\n");
	/* busy +100 of total +400 (idle +200, iowait +100) */
	assert_near(load_cpu(&t->r), 0.25, EXACT);
	put(t, "proc/stat", "cpu  550 0 150 1000 100 0 0 0 40 0\n");
	assert_near(load_cpu(&t->r), 1.0, EXACT);
	/* the counters did not move: no delta to divide by */
	assert_true(isnan(load_cpu(&t->r)));
}

static void test_cpu_unreadable(void **state)
{
	struct tree *t = *state;
	assert_true(isnan(load_cpu(&t->r)));  /* no proc/stat */
	put(t, "proc/stat", "cpu  100 0 100 800 0 0 0 0 0 0\n");
	assert_true(isnan(load_cpu(&t->r)));
	put(t, "proc/stat", "cpu  garbage\n");
	assert_true(isnan(load_cpu(&t->r)));
	put(t, "proc/stat", "");
	assert_true(isnan(load_cpu(&t->r)));
	/* a malformed sample does not replace the last good one */
	put(t, "proc/stat", "cpu  200 0 100 1000 0 0 0 0 0 0\n");
	assert_near(load_cpu(&t->r), 100.0 / 300.0, EXACT);
}

static void test_memory(void **state)
{
	struct tree *t = *state;
	assert_true(isnan(load_memory(&t->r)));
	put(t, "proc/meminfo", "MemTotal:        8000000 kB\nMemFree:          100000 kB\nMemAvailable:    2000000 kB\n");
	assert_near(load_memory(&t->r), 0.75, EXACT);
	put(t, "proc/meminfo", "MemTotal:        8000000 kB\nMemFree:          100000 kB\n");
	assert_true(isnan(load_memory(&t->r)));  /* no MemAvailable */
	put(t, "proc/meminfo", "MemTotal:        0 kB\nMemAvailable:    0 kB\n");
	assert_true(isnan(load_memory(&t->r)));
	put(t, "proc/meminfo", "MemTotal: lots\nMemAvailable: some\n");
	assert_true(isnan(load_memory(&t->r)));
}

static const char *sockstat =
	"sockets: used 100\n"
	"TCP: inuse 5 orphan 0 tw 2 alloc 7 mem 300\n"
	"UDP: inuse 3 mem 50\n"
	"UDPLITE: inuse 0\n"
	"RAW: inuse 0\n"
	"FRAG: inuse 0 memory 0\n";

static void test_network_against_pressure(void **state)
{
	struct tree *t = *state;
	put(t, "proc/net/sockstat", sockstat);
	put(t, "proc/sys/net/ipv4/tcp_mem", "1000\t2000\t3000\n");
	put(t, "proc/sys/net/ipv4/udp_mem", "100\t200\t300\n");
	/* TCP 300 / 2000 = 0.15, UDP 50 / 200 = 0.25: the larger */
	assert_near(load_network(&t->r), 0.25, EXACT);
	put(t, "proc/sys/net/ipv4/udp_mem", "1000\t2000\t3000\n");
	assert_near(load_network(&t->r), 0.15, EXACT);
	put(t, "proc/sys/net/ipv4/tcp_mem", "10\t20\t30\n");
	assert_near(load_network(&t->r), 1.0, EXACT);  /* above the threshold: full */
}

static void test_network_default_pressure(void **state)
{
	struct tree *t = *state;
	double pages = 8000000.0 * 1024.0 / (double)sysconf(_SC_PAGESIZE);
	/* Outside the initial namespace there are no tcp_mem / udp_mem: the
	 * kernel's defaults, RAM pages / 16 for TCP and / 8 for UDP. */
	put(t, "proc/net/sockstat", sockstat);
	put(t, "proc/meminfo", "MemTotal:        8000000 kB\nMemAvailable:    2000000 kB\n");
	assert_near(load_network(&t->r), 300.0 / floor(pages / 16.0), 1e-9);
	put(t, "proc/sys/net/ipv4/tcp_mem", "not numbers\n");
	assert_near(load_network(&t->r), 300.0 / floor(pages / 16.0), 1e-9);
	put(t, "proc/meminfo", NULL);
	assert_true(isnan(load_network(&t->r)));  /* no threshold at all */
}

static void test_network_unreadable(void **state)
{
	struct tree *t = *state;
	put(t, "proc/sys/net/ipv4/tcp_mem", "1000\t2000\t3000\n");
	put(t, "proc/sys/net/ipv4/udp_mem", "100\t200\t300\n");
	assert_true(isnan(load_network(&t->r)));  /* no sockstat */
	put(t, "proc/net/sockstat", "sockets: used 100\nRAW: inuse 0\n");
	assert_true(isnan(load_network(&t->r)));
	put(t, "proc/net/sockstat", "TCP: inuse x\nUDP: inuse 3 mem\n");
	assert_true(isnan(load_network(&t->r)));
}

static void test_io_queue(void **state)
{
	struct tree *t = *state;
	put(t, "proc/diskstats",
	    "   8       0 sda 100 0 200 10 50 0 100 20 0 30 1000 0 0 0 0\n"
	    "   8       1 sda1 90 0 180 9 45 0 90 18 0 27 500 0 0 0 0\n"
	    "   7       0 loop0 1 0 2 0 0 0 0 0 0 0 9999\n"
	    " 259       0 nvme0n1 10 0 20 1 5 0 10 2 0 3 2000 0 0 0 0\n"
	    "garbage line\n");
	assert_true(isnan(load_io(&t->r, 10000)));  /* one sample: no delta yet */
	assert_int_equal(t->r.disk_count, 2);       /* sda and nvme0n1: no partition, no loop */
	put(t, "proc/diskstats",
	    "   8       0 sda 100 0 200 10 50 0 100 20 0 30 1300 0 0 0 0\n"
	    "   8       1 sda1 90 0 180 9 45 0 90 18 0 27 5000 0 0 0 0\n"
	    "   7       0 loop0 1 0 2 0 0 0 0 0 0 0 99999\n"
	    " 259       0 nvme0n1 10 0 20 1 5 0 10 2 0 3 2100 0 0 0 0\n");
	/* 300 + 100 ms of requests in flight over 100 ms: 4 in the queue, of 8 */
	assert_near(load_io(&t->r, 10100), 4.0 / LOAD_IO_QUEUE_FULL, EXACT);
	/* nothing moved over a second: idle (a real 0, the file was read) */
	assert_near(load_io(&t->r, 11100), 0.0, EXACT);
	put(t, "proc/diskstats", NULL);
	assert_true(isnan(load_io(&t->r, 12100)));
}

static const char *net_header =
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

static void put_table(const struct tree *t, const char *rel, const char *rows)
{
	char text[2048];
	snprintf(text, sizeof(text), "%s%s", net_header, rows);
	put(t, rel, text);
}

static void test_backlog_of_service_sockets(void **state)
{
	struct tree *t = *state;
	put(t, "proc/sys/net/core/rmem_default", "106496\n");
	/* 5060 (0x13C4) holds 53248 bytes; 8080 (0x1F90), not a service, holds more */
	put_table(t, "proc/net/udp",
		  "   0: 00000000:13C4 00000000:0000 07 00000000:0000D000 00:00000000 00000000     0        0 1 2\n"
		  "   1: 00000000:1F90 00000000:0000 07 00000000:00030000 00:00000000 00000000     0        0 2 2\n");
	/* 8554 (0x216A) listens with 32 queued; an established 5060 connection does not count */
	put_table(t, "proc/net/tcp",
		  "   0: 0100007F:216A 00000000:0000 0A 00000000:00000020 00:00000000 00000000     0        0 3 1\n"
		  "   1: 0100007F:13C4 0200007F:9C40 01 00000000:00FFFFFF 00:00000000 00000000     0        0 4 1\n");
	assert_near(load_backlog(&t->r), 0.5, EXACT);  /* UDP 53248 / 106496 */
	put_table(t, "proc/net/tcp6",
		  "   0: 00000000000000000000000001000000:13C4 00000000000000000000000000000000:0000 0A 00000000:00000060 00:00000000 00000000     0        0 5 1\n");
	assert_near(load_backlog(&t->r), 96.0 / LOAD_LISTEN_BACKLOG_FULL, EXACT);
	put(t, "proc/sys/net/core/rmem_default", "0\n");  /* unusable: the kernel's default */
	put(t, "proc/net/tcp6", NULL);
	assert_near(load_backlog(&t->r), 53248.0 / LOAD_RMEM_DEFAULT, EXACT);
}

static void test_backlog_unreadable(void **state)
{
	struct tree *t = *state;
	assert_true(isnan(load_backlog(&t->r)));  /* no table at all */
	put(t, "proc/net/udp", "");
	assert_true(isnan(load_backlog(&t->r)));  /* not even a header */
	put_table(t, "proc/net/udp", "malformed row\n");
	assert_near(load_backlog(&t->r), 0.0, EXACT);  /* readable, no service socket */
}

static void test_app_load_file(void **state)
{
	struct tree *t = *state;
	char path[128];
	double components[AGENT_LOAD_COMPONENTS];
	snprintf(path, sizeof(path), "%s/app-load", t->root);
	assert_true(isnan(load_app_file(path)));
	put(t, "app-load", "0.42\n");
	assert_near(load_app_file(path), 0.42, EXACT);
	put(t, "app-load", "1.7");
	assert_near(load_app_file(path), 1.0, EXACT);
	put(t, "app-load", "-0.3");
	assert_near(load_app_file(path), 0.0, EXACT);
	put(t, "app-load", "busy");
	assert_true(isnan(load_app_file(path)));
	put(t, "app-load", "");
	assert_true(isnan(load_app_file(path)));
	/* with a load file, the backlog component is the application's */
	put(t, "app-load", "0.125");
	put_table(t, "proc/net/udp", "");
	assert_true(load_readers_init(&t->r, t->root, &t->cfg, path));
	load_read_all(&t->r, 1000, components);
	assert_near(components[AGENT_LOAD_BACKLOG], 0.125, EXACT);
	assert_true(isnan(components[AGENT_LOAD_CPU]));
	assert_true(isnan(components[AGENT_LOAD_MEMORY]));
}

static void test_read_all_after_prime(void **state)
{
	struct tree *t = *state;
	double c[AGENT_LOAD_COMPONENTS];
	put(t, "proc/stat", "cpu  100 0 100 800 0 0 0 0 0 0\n");
	put(t, "proc/diskstats", "   8       0 sda 1 0 2 1 5 0 1 2 0 3 1000 0 0 0 0\n");
	load_readers_prime(&t->r, 5000);
	put(t, "proc/stat", "cpu  150 0 150 1000 100 0 0 0 0 0\n");
	put(t, "proc/diskstats", "   8       0 sda 1 0 2 1 5 0 1 2 0 3 1400 0 0 0 0\n");
	put(t, "proc/meminfo", "MemTotal: 1000 kB\nMemAvailable: 900 kB\n");
	put(t, "proc/net/sockstat", sockstat);
	put(t, "proc/sys/net/ipv4/tcp_mem", "1000 1200 3000\n");
	put(t, "proc/sys/net/ipv4/udp_mem", "1000 1000 3000\n");
	put_table(t, "proc/net/tcp", "");
	load_read_all(&t->r, 5200, c);
	assert_near(c[AGENT_LOAD_CPU], 0.25, EXACT);
	assert_near(c[AGENT_LOAD_MEMORY], 0.1, 1e-12);
	assert_near(c[AGENT_LOAD_NETWORK], 0.25, EXACT);
	assert_near(c[AGENT_LOAD_IO], 400.0 / 200.0 / LOAD_IO_QUEUE_FULL, EXACT);
	assert_near(c[AGENT_LOAD_BACKLOG], 0.0, EXACT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_root_names_the_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu_between_two_samples, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_network_against_pressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_network_default_pressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_network_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_io_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backlog_of_service_sockets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backlog_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_app_load_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_all_after_prime, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
