/* cpu_spin.c - measures how much of one CPU is left over: an idle-priority
 * busy loop pinned to that CPU counts its iterations for a bounded time.
 * The live benchmark compares loaded and unloaded rates to get CPU per packet
 * (tick-based /proc/stat accounting badly under-reports softirq work). */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_SECONDS 600
#define LOOPS_PER_CLOCK_CHECK 100000

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char *end;
	if (argc != 3) {
		fprintf(stderr, "usage: cpu_spin CPU SECONDS\n"
			"Prints: cpu_spin: cpu N loops_per_s X (SCHED_IDLE busy loop)\n");
		return 2;
	}
	long cpu = strtol(argv[1], &end, 10);
	if (end == argv[1] || *end || cpu < 0 || cpu >= CPU_SETSIZE)
		goto bad;
	double seconds = strtod(argv[2], &end);
	if (end == argv[2] || *end || !(seconds > 0) || seconds > MAX_SECONDS)
		goto bad;

	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET((int)cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("cpu_spin: sched_setaffinity");
		return 1;
	}
	struct sched_param param = { .sched_priority = 0 };
	if (sched_setscheduler(0, SCHED_IDLE, &param)) {
		perror("cpu_spin: SCHED_IDLE");
		return 1;
	}
	volatile uint64_t loops = 0;
	double started = now_seconds(), deadline = started + seconds, now = started;
	while (now < deadline) {
		for (unsigned i = 0; i < LOOPS_PER_CLOCK_CHECK; i++)
			loops++;
		now = now_seconds();
	}
	printf("cpu_spin: cpu %ld loops_per_s %.0f\n", cpu, (double)loops / (now - started));
	return 0;
bad:
	fprintf(stderr, "cpu_spin: bad CPU or SECONDS\n");
	return 2;
}
