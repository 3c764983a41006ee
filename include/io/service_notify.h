/* service_notify.h - the daemons' side of systemd's readiness protocol
 * (Type=notify, sd_notify): READY=1 once serving, RELOADING=1 and READY=1
 * around a reload, STOPPING=1, and WATCHDOG=1 from the daemon's event loop
 * at half the watchdog timeout, so that a loop that stops turning is
 * restarted. Every call is a no-op when NOTIFY_SOCKET is unset. */
#ifndef SARA_SERVICE_NOTIFY_H
#define SARA_SERVICE_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "io/event_loop.h"

/* READY=1, with STATUS=status unless status is NULL. */
void service_notify_ready(const char *status);
/* RELOADING=1 with MONOTONIC_USEC (what systemd 253's notify-reload asks);
 * service_notify_ready ends the reload. */
void service_notify_reloading(void);
void service_notify_stopping(void);
void service_notify_status(const char *status);

/* How often to send WATCHDOG=1: half the timeout systemd set for this
 * process (WatchdogSec=, through WATCHDOG_USEC and WATCHDOG_PID), at least
 * 1 ms; 0 when no watchdog is set. */
uint64_t service_watchdog_interval_ms(void);
/* With a watchdog: a timer on loop that sends WATCHDOG=1 every interval,
 * and one WATCHDOG=1 now. Without one nothing is added. Returns 0, or -1
 * with err set (the loop could not take the timer). */
int service_watchdog_attach(struct event_loop *loop, char *err, size_t err_size);

#endif
