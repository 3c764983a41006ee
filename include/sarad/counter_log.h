/* counter_log.h - every counter sarad keeps, as log lines (SIGUSR1, and
 * the final ones at exit): the engine, verdicts, queues, announcements,
 * agents and server health, conntrack, the daemon's own. */
#ifndef SARA_SARAD_COUNTER_LOG_H
#define SARA_SARAD_COUNTER_LOG_H

#include "io/control.h"

/* What the control socket's status reads, from the same view; when names
 * the occasion ("SIGUSR1", "final"). */
void counter_log_write(const struct control_view *v, const char *when);

#endif
