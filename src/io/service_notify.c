/* service_notify.c - sd_notify messages and the watchdog timer
 * (service_notify.h), through libsystemd. */
#include "io/service_notify.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "io/log.h"

/* A notification that could not be sent is logged once: the watchdog would
 * otherwise repeat it every interval. */
static bool send_failure_logged;

static void notify(const char *state)
{
	int rc = sd_notify(0, state);
	if (rc < 0 && !send_failure_logged) {
		struct log_event e;
		send_failure_logged = true;
		log_event_begin(&e, "notify_failed");
		log_event_fmt(&e, "state", "%.*s", (int)strcspn(state, "\n"), state);
		log_event_str(&e, "error", strerror(-rc));
		log_event_emit(&e, LOG_WARNING);
	}
}

void service_notify_ready(const char *status)
{
	char state[512];
	if (status)
		snprintf(state, sizeof(state), "READY=1\nSTATUS=%s", status);
	else
		snprintf(state, sizeof(state), "READY=1");
	notify(state);
}

void service_notify_reloading(void)
{
	struct timespec ts;
	char state[128];
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000u);
	notify(state);
}

void service_notify_stopping(void)
{
	notify("STOPPING=1");
}

void service_notify_status(const char *status)
{
	char state[512];
	snprintf(state, sizeof(state), "STATUS=%s", status);
	notify(state);
}

uint64_t service_watchdog_interval_ms(void)
{
	uint64_t usec = 0;
	uint64_t half_ms;
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	half_ms = usec / 2000u;
	return half_ms ? half_ms : 1;
}

static void on_watchdog(void *ctx)
{
	(void)ctx;
	notify("WATCHDOG=1");
}

int service_watchdog_attach(struct event_loop *loop, char *err, size_t err_size)
{
	uint64_t interval = service_watchdog_interval_ms();
	if (interval == 0)
		return 0;
	if (event_loop_add_timer(loop, interval, on_watchdog, NULL, err, err_size) < 0)
		return -1;
	notify("WATCHDOG=1");
	return 0;
}
