/* replication.c - sarad's sessions shared with its peers (replication.h). */
#include "sarad/replication.h"

#include <errno.h>
#include <ifaddrs.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <sodium.h>

#include "engine/engine_replica.h"
#include "engine/server_slots.h"
#include "io/log.h"
#include "io/secret_file.h"
#include "io/sockaddr.h"
#include "sarad/dispatcher.h"

/* ---- this dispatcher among ha.dispatchers ---- */

static int own_index(const struct sara_config *cfg, char *err, size_t err_size)
{
	struct ifaddrs *ifs = NULL;
	int found = -1, matches = 0;
	if (getifaddrs(&ifs) < 0) {
		snprintf(err, err_size, "getifaddrs: %s", strerror(errno));
		return -1;
	}
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		struct sockaddr_storage ss;
		struct endpoint ep;
		if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
			continue;
		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, i->ifa_addr,
		       i->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		if (!endpoint_from_sockaddr(&ss, &ep))
			continue;
		for (unsigned d = 0; d < cfg->ha.dispatcher_count; d++)
			if (netaddr_equal(&cfg->ha.dispatchers[d], &ep.addr) && (int)d != found) {
				found = (int)d;
				matches++;
			}
	}
	freeifaddrs(ifs);
	if (matches == 1)
		return found;
	snprintf(err, err_size, "ha.session_store: %s of ha.dispatchers is configured on this host",
		 matches ? "more than one" : "none");
	return -1;
}

/* ---- the engine's decisions out (engine lock held) ---- */

static void put(struct replication *r, const struct replica_item *item, bool publish)
{
	session_store_put(r->store, item, publish);
}

static bool name_server(struct replication *r, int server, char *id, size_t size)
{
	const struct sara_config *running = engine_config(r->d->engine);
	if (server < 0 || (unsigned)server >= running->server_count || !running->servers[server].id[0])
		return false;
	snprintf(id, size, "%s", running->servers[server].id);
	return true;
}

static void on_session_changed(void *ctx, const struct session_record *rec)
{
	struct replication *r = ctx;
	struct replica_item item;
	memset(&item, 0, offsetof(struct replica_item, u));
	item.op = REPLICA_SESSION;
	item.u.session = *rec;
	if (name_server(r, rec->server, item.u.session.server_id, sizeof(item.u.session.server_id)))
		put(r, &item, true);
}

static void on_flow_decided(void *ctx, uint8_t proto, const char *key, size_t key_len,
			    const struct session_flow_record *rec)
{
	struct replica_item item;
	memset(&item, 0, offsetof(struct replica_item, u));
	item.op = REPLICA_FLOW;
	item.proto = proto;
	item.key_len = (uint16_t)key_len;
	memcpy(item.key, key, key_len);
	item.u.flow = *rec;
	put(ctx, &item, true);
}

/* An expiry is this dispatcher's view (the session may live on where its
 * packets go): it leaves this store only. */
static void on_session_ended(void *ctx, uint8_t proto, const char *key, size_t key_len, bool expired)
{
	struct replica_item item;
	memset(&item, 0, offsetof(struct replica_item, u));
	item.op = REPLICA_SESSION_END;
	item.proto = proto;
	item.key_len = (uint16_t)key_len;
	memcpy(item.key, key, key_len);
	put(ctx, &item, !expired);
}

static void on_connection_pinned(void *ctx, const struct connection_record *rec)
{
	struct replication *r = ctx;
	struct replica_item item;
	memset(&item, 0, offsetof(struct replica_item, u));
	item.op = REPLICA_CONNECTION;
	item.u.connection = *rec;
	if (name_server(r, rec->server, item.u.connection.server_id, sizeof(item.u.connection.server_id)))
		put(r, &item, true);
}

/* A connection's end here says nothing of the others' (one direction is
 * all a dispatcher sees): this store only. */
static void on_connection_closed(void *ctx, const struct flow_key *key)
{
	struct replica_item item;
	memset(&item, 0, offsetof(struct replica_item, u));
	item.op = REPLICA_CONNECTION_END;
	item.u.connection_end = *key;
	put(ctx, &item, false);
}

/* ---- the peers' decisions in (a store thread) ---- */

static enum counter_id result_counter(enum engine_replica_result result)
{
	switch (result) {
	case ENGINE_REPLICA_ADOPTED: return COUNTER_REPLICA_SESSIONS_ADOPTED;
	case ENGINE_REPLICA_UPDATED: return COUNTER_REPLICA_SESSIONS_UPDATED;
	case ENGINE_REPLICA_ENDED: return COUNTER_REPLICA_SESSIONS_ENDED;
	case ENGINE_REPLICA_STALE: return COUNTER_REPLICA_VERSIONS_STALE;
	default: return COUNTER_REPLICA_UNUSABLE;
	}
}

static void apply(void *ctx, const struct replica_item *in, enum replica_source from)
{
	struct replication *r = ctx;
	struct dispatcher *d = r->d;
	struct replica_item item = *in;
	enum engine_replica_result result = ENGINE_REPLICA_INVALID;
	bool keep;
	pthread_mutex_lock(&d->engine_lock);
	switch (item.op) {
	case REPLICA_SESSION:
		item.u.session.server = server_slots_find(engine_config(d->engine), item.u.session.server_id);
		result = engine_replica_session(d->engine, &item.u.session);
		break;
	case REPLICA_FLOW:
		result = engine_replica_flow(d->engine, item.proto, item.key, item.key_len, &item.u.flow);
		break;
	case REPLICA_SESSION_END:
		result = engine_replica_end(d->engine, item.proto, item.key, item.key_len);
		break;
	case REPLICA_CONNECTION:
		item.u.connection.server = server_slots_find(engine_config(d->engine), item.u.connection.server_id);
		result = engine_replica_connection(d->engine, &item.u.connection);
		break;
	case REPLICA_CONNECTION_END:
		result = ENGINE_REPLICA_STALE;   /* never published */
		break;
	}
	session_journal_write(d->journal);
	pthread_mutex_unlock(&d->engine_lock);
	daemon_count(r->counters, result_counter(result), 1);
	/* What this engine now holds is kept in this store too, so that a
	 * peer that comes back empty finds the whole cluster's view here. */
	keep = from != REPLICA_FROM_OWN_STORE &&
	       (result == ENGINE_REPLICA_ADOPTED || result == ENGINE_REPLICA_UPDATED ||
		item.op == REPLICA_SESSION_END);
	if (keep)
		put(r, in, false);
}

static void count(void *ctx, enum counter_id id, uint64_t n)
{
	struct replication *r = ctx;
	daemon_count(r->counters, id, n);
}

/* ---- life ---- */

bool replication_start(struct replication *r, struct dispatcher *d, const struct sara_config *cfg,
		       const struct wire_key *key, struct daemon_counters *counters, char *err, size_t err_size)
{
	struct session_store_config sc;
	struct session_store_sink sink = { .ctx = r, .apply = apply, .count = count };
	struct engine_replica_hooks hooks = { .ctx = r, .session_changed = on_session_changed,
					      .flow_decided = on_flow_decided, .session_ended = on_session_ended,
					      .connection_pinned = on_connection_pinned,
					      .connection_closed = on_connection_closed };
	char at[ENDPOINT_STRLEN];
	int self;
	memset(r, 0, sizeof(*r));
	if (cfg->ha.session_store == SESSION_STORE_OFF)
		return true;
	self = own_index(cfg, err, err_size);
	if (self < 0)
		return false;
	r->d = d;
	r->counters = counters;
	r->self = (unsigned)self;
	memset(&sc, 0, sizeof(sc));
	snprintf(sc.cluster, sizeof(sc.cluster), "%s", cfg->name);
	sc.key = *key;
	sc.servers = replica_server_digest(engine_config(d->engine));
	sc.self_id = (uint32_t)self + 1;
	sc.self.addr = cfg->ha.dispatchers[self];
	sc.self.port = cfg->ha.redis_port;
	sc.queue = cfg->ha.replication_queue;
	if (cfg->ha.redis_password_file[0]) {
		char why[SARA_PATH_MAX + 128];
		if (!secret_file_load(cfg->ha.redis_password_file, sc.password, sizeof(sc.password), why, sizeof(why))) {
			snprintf(err, err_size, "ha.redis_password_file %s", why);
			return false;
		}
	}
	for (unsigned i = 0; i < cfg->ha.dispatcher_count; i++) {
		if ((int)i == self)
			continue;
		sc.peers[sc.peer_count].id = i + 1;
		sc.peers[sc.peer_count].at.addr = cfg->ha.dispatchers[i];
		sc.peers[sc.peer_count].at.port = cfg->ha.redis_port;
		sc.peer_count++;
	}
	/* The store is known to apply() before any record arrives (a peer's
	 * is kept in it); the local store is read back before the hooks are
	 * set: what it holds is not written again. */
	r->store = session_store_create(&sc, &sink, err, err_size);
	sodium_memzero(sc.password, sizeof(sc.password));   /* the store keeps its own copy */
	if (!r->store)
		return false;
	if (!session_store_run(r->store, err, err_size)) {
		session_store_stop(r->store);
		r->store = NULL;
		return false;
	}
	pthread_mutex_lock(&d->engine_lock);
	engine_set_replica(d->engine, &hooks);
	pthread_mutex_unlock(&d->engine_lock);
	log_msg(LOG_INFO, "replication: through redis, this dispatcher's store %s (sender %u), %u peers",
		endpoint_format(&sc.self, at, sizeof(at)), sc.self_id, sc.peer_count);
	return true;
}

void replication_servers_changed(struct replication *r)
{
	struct replica_digest servers;
	if (!r || !r->store)
		return;
	pthread_mutex_lock(&r->d->engine_lock);
	servers = replica_server_digest(engine_config(r->d->engine));
	pthread_mutex_unlock(&r->d->engine_lock);
	session_store_set_servers(r->store, &servers);
}

void replication_stop(struct replication *r)
{
	if (!r || !r->store)
		return;
	pthread_mutex_lock(&r->d->engine_lock);
	engine_set_replica(r->d->engine, NULL);
	pthread_mutex_unlock(&r->d->engine_lock);
	session_store_stop(r->store);
	r->store = NULL;
}
