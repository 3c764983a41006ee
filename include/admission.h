/* admission.h - session-aware admission control (SA2C, DESIGN.md section
 * 6). For now a pass-through hook with its counters: the three-threshold
 * controller plugs in here without touching the engine. */
#ifndef SARA_ADMISSION_H
#define SARA_ADMISSION_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

enum admission_kind { ADMIT_NEW_SESSION = 0, ADMIT_ESTABLISHED };

struct admission {
	bool enabled;
	uint64_t admitted[2], refused[2];
};

void admission_init(struct admission *adm, const struct sara_config *cfg);
/* True when the packet may pass. */
bool admission_decide(struct admission *adm, enum admission_kind kind);

#endif
