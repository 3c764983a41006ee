/* replication.h - sarad's sessions shared with the other dispatchers
 * (ha.session_store = "redis", docs/high-availability.md): the engine's
 * replica hooks into the session store's queue, and the peers' records
 * applied to the engine under its lock, each then kept in the local store
 * too. This dispatcher is found among ha.dispatchers by its addresses. */
#ifndef SARA_SARAD_REPLICATION_H
#define SARA_SARAD_REPLICATION_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/config.h"
#include "engine/wire.h"
#include "io/session_store_redis.h"
#include "sarad/daemon_counters.h"

struct dispatcher;

struct replication {
	struct dispatcher *d;
	struct daemon_counters *counters;
	struct session_store *store;
	unsigned self;                /* index in ha.dispatchers */
};

/* Off (r->store NULL, returns true) unless cfg->ha.session_store is set.
 * Reads back the local store, hooks into the engine, starts the threads.
 * False with err when this dispatcher is not among ha.dispatchers or the
 * threads cannot start. */
bool replication_start(struct replication *r, struct dispatcher *d, const struct sara_config *cfg,
		       const struct wire_key *key, struct daemon_counters *counters, char *err, size_t err_size);
/* After a reload changed the servers (any thread but under no lock). */
void replication_servers_changed(struct replication *r);
/* Unhooks and stops the threads; before the engine goes. */
void replication_stop(struct replication *r);

#endif
