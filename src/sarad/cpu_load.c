/* cpu_load.c - the dispatcher's own CPU load (cpu_load.h). */
#include "sarad/cpu_load.h"

#include <sys/resource.h>
#include <unistd.h>

void cpu_load_init(struct cpu_load *l, unsigned threads, uint64_t now_ms)
{
	l->threads = threads ? threads : 1;
	l->fed_ms = now_ms;
	l->cpu_fed_us = 0;
}

double cpu_load_sample(struct cpu_load *l, uint64_t now_ms)
{
	struct rusage usage;
	uint64_t cpu_us, wall_ms = now_ms - l->fed_ms;
	double load;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = l->threads;

	l->fed_ms = now_ms;
	if (getrusage(RUSAGE_SELF, &usage) != 0 || wall_ms == 0)
		return 0;
	cpu_us = (uint64_t)usage.ru_utime.tv_sec * 1000000u + (uint64_t)usage.ru_utime.tv_usec +
		 (uint64_t)usage.ru_stime.tv_sec * 1000000u + (uint64_t)usage.ru_stime.tv_usec;
	if (cores > 0 && threads > (unsigned)cores)
		threads = (unsigned)cores;
	load = l->cpu_fed_us && cpu_us > l->cpu_fed_us
		       ? (double)(cpu_us - l->cpu_fed_us) / ((double)wall_ms * 1000.0 * threads)
		       : 0;
	l->cpu_fed_us = cpu_us;
	return load > 1 ? 1 : load;
}
