/* probes.h - is the application on this server alive: a SIP OPTIONS over
 * UDP, an RTSP OPTIONS over TCP, or a command's exit status, each bounded
 * by a timeout. */
#ifndef SARA_AGENT_PROBES_H
#define SARA_AGENT_PROBES_H

#include <stdbool.h>
#include <stdint.h>

#include "dpi/netaddr.h"
#include "engine/config.h"

#define PROBE_TIMEOUT_MAX_MS 1000  /* a probe takes at most this, or half the interval */

enum probe_kind { PROBE_NONE, PROBE_SIP, PROBE_RTSP, PROBE_CMD };

struct probe {
	enum probe_kind kind;
	const char *command;        /* PROBE_CMD: run by /bin/sh -c */
	struct endpoint target;     /* PROBE_SIP, PROBE_RTSP */
	const char *cluster_name;   /* PROBE_SIP: in the Call-ID */
	int timeout_ms;
};

/* "sip", "rtsp", "cmd:COMMAND" or "none" into p->kind (and p->command);
 * false for anything else. */
bool probe_parse(struct probe *p, const char *text);
/* The target (the server's address and first SIP or RTSP port, else 5060 /
 * 554) and the timeout (half the report interval, at most
 * PROBE_TIMEOUT_MAX_MS) from the configuration. */
void probe_configure(struct probe *p, const struct sara_config *cfg, unsigned server);
const char *probe_kind_name(enum probe_kind kind);  /* "none", "sip", "rtsp", "cmd" */

/* True when the application answered in time (PROBE_NONE: always). */
bool probe_run(const struct probe *p);

/* Any SIP response to an OPTIONS from a connected UDP socket. */
bool probe_sip(const struct endpoint *target, const char *cluster_name, int timeout_ms);
/* An "RTSP/1.0 " answer to an OPTIONS on a TCP connection. */
bool probe_rtsp(const struct endpoint *target, int timeout_ms);
/* /bin/sh -c command exits 0 within the timeout (killed after it). */
bool probe_command(const char *command, int timeout_ms);

#endif
