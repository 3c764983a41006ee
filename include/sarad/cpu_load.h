/* cpu_load.h - the dispatcher's own load l_d for admission control: the
 * share of its packet threads' CPU the process used between two feeds. */
#ifndef SARA_SARAD_CPU_LOAD_H
#define SARA_SARAD_CPU_LOAD_H

#include <stdint.h>

struct cpu_load {
	unsigned threads;        /* threads deciding packets: one core each at most */
	uint64_t fed_ms;         /* when the last sample was taken */
	uint64_t cpu_fed_us;     /* the process's CPU time then (0: none yet) */
};

void cpu_load_init(struct cpu_load *l, unsigned threads, uint64_t now_ms);
/* 0..1 since the last sample (0 for the first one); takes a new sample. */
double cpu_load_sample(struct cpu_load *l, uint64_t now_ms);

#endif
