/* control.h - sarad's control socket: a UNIX stream socket at
 * control.socket; a client writes one command line, gets one JSON reply,
 * and the connection closes. The commands are in control_commands.h. */
#ifndef SARA_CONTROL_H
#define SARA_CONTROL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/agent_listener.h"
#include "io/announce_listener.h"
#include "io/control_commands.h"
#include "io/ct_marks.h"
#include "engine/engine.h"
#include "engine/server_health.h"
#include "io/event_loop.h"
#include "io/nfqueue.h"
#include "io/refusal_log.h"

#define VERDICT_REASONS 16   /* room for enum verdict_reason */
#define CONTROL_COMMAND_MAX 256   /* room for one command line and its NUL */

/* Verdicts by action (enum verdict_action) and reason; updated with atomic
 * adds by the queue threads. */
struct verdict_counts {
	uint64_t by_action_reason[2][VERDICT_REASONS];
	uint64_t accepted_unmarked;   /* accepted with no server mark (fail-open routing) */
	uint64_t connmarks_set;       /* accepts that also wrote the flow's connmark */
};

/* What the replies read; every pointer except engine may be NULL. The
 * control module takes engine_lock only around engine_* calls, and never
 * holds it while it calls the callbacks below (they take it themselves).
 * The listeners and server health are read without a lock: the thread
 * that serves the socket is the one that feeds them. */
struct control_view {
	const char *cluster;
	uint64_t (*now_ms)(void);     /* the daemon's monotonic clock */
	uint64_t started_ms;
	struct engine *engine;
	pthread_mutex_t *engine_lock;
	const struct verdict_counts *verdicts;
	struct nfqueue *const *queues;
	const uint16_t *queue_nums;
	unsigned queue_count;
	struct sealed_listener *announcements;
	const char *announce_listen;  /* "addr:port" text, for the reply */
	struct sealed_listener *agents; /* NULL when agents.listen is unset */
	const char *agents_listen;    /* "addr:port" text, for the reply */
	const struct server_health *health; /* each server's health; NULL without agents */
	struct ct_marks *ct;
	/* Visits the daemon's own counters (COUNTER_SCOPE_DAEMON, and
	 * COUNTER_SCOPE_REPLY while it sends replies) with counters_visit. */
	void (*visit_daemon_counters)(void *ctx, enum counters_filter filter, counter_visit_fn fn, void *fn_ctx);
	void *daemon_ctx;
	/* Operator drain ("drain ID" / "undrain ID"): server is an index into
	 * the engine's cfg->servers, already checked. A drained server takes no
	 * new sessions; its current sessions stay. Returns 0, or -1 with err
	 * filled. Called from the control thread without engine_lock held; ctx
	 * is daemon_ctx. NULL: drain and undrain answer "not supported". */
	int (*set_drain)(void *ctx, unsigned server, bool drain, char *err, size_t err_size);
	/* Whether the operator drained server (the "drained" of "servers" and
	 * of drain's reply); same calling rules. NULL: "drained" is null. */
	bool (*is_drained)(void *ctx, unsigned server);
	/* The recent refusals ("refused"); NULL: refused answers that this
	 * sarad records none. */
	struct refusal_log *refusals;
};

struct control;

/* The kernel's own counters for one queue in this network namespace
 * (/proc/net/netfilter/nfnetlink_queue); found is false when unbound. */
struct kernel_queue_stats {
	bool found;
	unsigned long portid, waiting, copy_mode, copy_range, dropped, user_dropped, id_sequence;
};
void control_kernel_queue_stats(uint16_t queue_num, struct kernel_queue_stats *out);

/* Most clients served at once; more wait in the listen backlog. */
#define CONTROL_CLIENTS_MAX 16

/* Creates the socket (replacing a stale one, refusing a live one). */
struct control *control_open(const char *path, const struct control_view *view, char *err, size_t err_size);
/* Serves the socket from loop, never blocking it: the listening socket and
 * each client's are watched by the loop; a client's command is answered
 * when its line is complete, at its end of input, or after a second
 * without input; a reply the socket buffer cannot take at once is written
 * as the client reads it, and dropped after a second without progress.
 * on_fatal (with the reason) when accepting fails for good. 0, or -1 with
 * err set. */
int control_attach(struct control *c, struct event_loop *loop, void (*on_fatal)(void *ctx, const char *err),
		   void *fatal_ctx, char *err, size_t err_size);
/* Closes every client and the socket (and leaves the loop), and unlinks it. */
void control_close(struct control *c);

/* The status document (malloc'd, NUL-terminated; NULL when out of memory). */
char *control_status_json(const struct control_view *view);
/* The reply to one command line (malloc'd). */
char *control_handle_command(const struct control_view *view, const char *line, size_t len);

#endif
