/* daemon.h - sarad's parts wired around one event loop: the dispatcher,
 * the queues, the announcement and agent receivers, the control socket,
 * the metrics endpoint, the timers and the signals; started in dependency order, run until
 * SIGTERM or SIGINT, stopped and freed in reverse. */
#ifndef SARA_SARAD_DAEMON_H
#define SARA_SARAD_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"
#include "engine/wire.h"
#include "io/agent_listener.h"
#include "io/announce_listener.h"
#include "io/control.h"
#include "io/event_loop.h"
#include "io/metrics_http.h"
#include "io/sealed_channel.h"
#include "io/status_snapshot.h"
#include "sarad/ct_follow.h"
#include "sarad/ct_scan.h"
#include "sarad/daemon_counters.h"
#include "sarad/dispatcher.h"
#include "sarad/log_kinds.h"
#include "sarad/oc_sender.h"
#include "sarad/queue_set.h"
#include "sarad/refusal_replies.h"

struct daemon {
	struct sara_config cfg;
	pthread_t main_thread;           /* runs the loop */
	int exit_code;                   /* __atomic: 1 once a part failed */
	uint64_t started_ms;
	struct event_loop *loop;
	struct daemon_counters counters;
	struct log_kinds logs;
	bool dispatcher_ready;
	struct dispatcher dispatcher;
	struct ct_marks *ct;             /* connmark writes and queries; NULL without conntrack */
	bool scanning;
	struct ct_scan scan;
	struct ct_follow follow;         /* conntrack events into the scan's set */
	int scan_timer;
	int repin_timer;                 /* while a failed server's sessions move; -1 otherwise */
	uint64_t scan_period_ms;
	struct refusal_replies replies;
	struct oc_sender oc;             /* RFC 7339 overload control: to the 503s and the gateways */
	struct refusal_log refusals;     /* the latest refusals, for "sara-ctl refused" */
	struct verdict_counts verdicts;
	struct queue_set queues;
	struct wire_key key;
	struct sealed_receiver announce_rx;
	struct sealed_listener *announcements;   /* NULL when gateway.listen is unset */
	char announce_listen[ENDPOINT_STRLEN];
	struct sealed_receiver agent_rx;
	struct sealed_listener *agents;              /* NULL when agents.listen is unset */
	char agents_listen[ENDPOINT_STRLEN];
	struct control *control;
	struct control_view view;        /* what the control socket and the counters log read */
	struct metrics_http *metrics;    /* NULL when metrics.listen is unset */
	struct status_snapshot *metrics_snapshot; /* the loop's copy, taken every METRICS_SNAPSHOT_MS */
};

/* d->cfg loaded. Opens and wires everything; threads start last. Returns
 * 0, or the exit status (1, or 2 for a configuration sarad cannot serve)
 * with err set; daemon_stop and daemon_free then undo what was done. */
int daemon_start(struct daemon *d, char *err, size_t err_size);
/* The start-up summary: cluster, servers, limits, agents. */
void daemon_log_config(const struct daemon *d);
/* Runs the loop until SIGTERM or SIGINT (or a part's fatal error). */
void daemon_run(struct daemon *d);
/* Joins the threads. */
void daemon_stop(struct daemon *d);
/* The rate limits' pending summaries, then the final counters. */
void daemon_log_final(struct daemon *d);
void daemon_free(struct daemon *d);
/* The exit status: 0, or 1 after a part's fatal error. */
int daemon_exit_code(const struct daemon *d);

#endif
