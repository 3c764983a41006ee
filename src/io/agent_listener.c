/* agent_listener.c - node-agent reports in (agent_listener.h): wire_open ->
 * agent_{heartbeat,load}_decode -> agent_msg_check_sender -> server_health,
 * with one reject counter per reason and rate-limited log lines. */
#include "io/sockaddr.h"
#include "io/agent_listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine/agent_msg.h"
#include "io/clock.h"
#include "engine/counters.h"
#include "io/log.h"
#include "io/udp_listen.h"

#include <sodium.h>

/* Datagrams handled per poll before ticking and checking for shutdown. */
#define DATAGRAMS_PER_POLL 256

struct agent_listener {
	const struct sara_config *cfg;
	struct wire_key key;
	/* Our own replay state: agent sender ids (server index + 1) overlap
	 * with gateway ids, so sharing the announcements' would make one
	 * sender's sequence numbers look replayed to the other. Large: heap. */
	struct wire_replay *replay;
	uint64_t (*now_ms)(void);
	int fd;
	/* server_health is not thread-safe: the listener thread feeds it and
	 * the control thread reads it, both under health_lock. */
	pthread_mutex_t health_lock;
	struct server_health *health;
	pthread_mutex_t lock;         /* guards stats and rejects against readers */
	struct agent_listener_stats stats;
	struct counter_set rejects;
	struct log_limit reject_log;
};

struct agent_listener *agent_listener_open(const struct sara_config *cfg, const struct wire_key *key,
					   uint64_t (*now_ms)(void), server_health_event_fn on_event,
					   void *event_ctx, char *err, size_t err_size)
{
	struct agent_listener *l = calloc(1, sizeof(*l));
	char why[128];

	if (!l || !(l->replay = calloc(1, sizeof(*l->replay)))) {
		snprintf(err, err_size, "agents: out of memory");
		goto fail;
	}
	l->cfg = cfg;
	l->key = *key;
	l->now_ms = now_ms;
	l->fd = -1;
	l->reject_log = (struct log_limit)LOG_LIMIT_INIT("agent report rejected", 5, 10000);
	pthread_mutex_init(&l->lock, NULL);
	pthread_mutex_init(&l->health_lock, NULL);
	if (!cfg->agents.listen.addr.family) {
		snprintf(err, err_size, "agents: agents.listen is not set");
		goto fail;
	}
	l->health = server_health_create(cfg, now_ms(), on_event, event_ctx);
	if (!l->health) {
		snprintf(err, err_size, "agents: out of memory");
		goto fail;
	}
	l->fd = udp_listen(&cfg->agents.listen, why, sizeof(why));
	if (l->fd < 0) {
		snprintf(err, err_size, "agents: %s (agents.listen)", why);
		goto fail;
	}
	return l;
fail:
	agent_listener_close(l);
	return NULL;
}

void agent_listener_close(struct agent_listener *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	sodium_memzero(&l->key, sizeof(l->key));
	server_health_destroy(l->health);
	free(l->replay);
	pthread_mutex_destroy(&l->lock);
	pthread_mutex_destroy(&l->health_lock);
	free(l);
}

static void reject(struct agent_listener *l, enum counter_id reason, const struct sockaddr_storage *from)
{
	char text[ENDPOINT_STRLEN];
	struct endpoint source;
	pthread_mutex_lock(&l->lock);
	counter_add(&l->rejects, reason, 1);
	l->stats.rejected++;
	pthread_mutex_unlock(&l->lock);
	if (endpoint_from_sockaddr(from, &source))
		endpoint_format(&source, text, sizeof(text));
	else
		snprintf(text, sizeof(text), "?");
	log_limited(&l->reject_log, l->now_ms(), LOG_WARNING, "agent report from %s rejected: %s", text,
		    counter_name(reason));
}

static void count_accepted(struct agent_listener *l, bool heartbeat)
{
	pthread_mutex_lock(&l->lock);
	if (heartbeat)
		l->stats.heartbeats++;
	else
		l->stats.loads++;
	pthread_mutex_unlock(&l->lock);
}

static void handle_heartbeat(struct agent_listener *l, const struct wire_header *hdr, const uint8_t *body,
			     const struct sockaddr_storage *from)
{
	struct agent_heartbeat hb;
	unsigned server = 0;
	enum counter_id reason = agent_heartbeat_decode(body, hdr->body_len, &hb);
	if (reason == COUNTER_NONE)
		reason = agent_msg_check_sender(l->cfg, hdr->sender, hb.host_id, &server);
	if (reason != COUNTER_NONE) {
		reject(l, reason, from);
		return;
	}
	pthread_mutex_lock(&l->health_lock);
	server_health_heartbeat(l->health, server, &hb, l->now_ms(), clock_ms(CLOCK_REALTIME));
	pthread_mutex_unlock(&l->health_lock);
	count_accepted(l, true);
}

static void handle_load(struct agent_listener *l, const struct wire_header *hdr, const uint8_t *body,
			const struct sockaddr_storage *from)
{
	struct agent_load load;
	unsigned server = 0;
	enum counter_id reason = agent_load_decode(body, hdr->body_len, &load);
	if (reason == COUNTER_NONE)
		reason = agent_msg_check_sender(l->cfg, hdr->sender, load.host_id, &server);
	if (reason != COUNTER_NONE) {
		reject(l, reason, from);
		return;
	}
	pthread_mutex_lock(&l->health_lock);
	server_health_load_report(l->health, server, &load, l->now_ms());
	pthread_mutex_unlock(&l->health_lock);
	count_accepted(l, false);
}

static void handle_datagram(struct agent_listener *l, const uint8_t *msg, size_t len,
			    const struct sockaddr_storage *from)
{
	struct wire_header hdr;
	const uint8_t *body = NULL;
	enum wire_verdict verdict;

	/* The replay state is only touched by this thread. */
	verdict = wire_open(&l->key, l->replay, msg, len, clock_ms(CLOCK_REALTIME), AGENT_MAX_SKEW_MS, &hdr, &body);
	if (verdict != WIRE_OK) {
		reject(l, wire_verdict_counter(verdict), from);
		return;
	}
	switch (hdr.type) {
	case WIRE_HEARTBEAT:
		handle_heartbeat(l, &hdr, body, from);
		break;
	case WIRE_LOAD:
		handle_load(l, &hdr, body, from);
		break;
	default:
		/* Authentic but not for us (an announcement sent to the wrong port). */
		reject(l, COUNTER_NOT_AN_AGENT_MESSAGE, from);
		break;
	}
}

int agent_listener_poll(struct agent_listener *l, int timeout_ms, char *err, size_t err_size)
{
	uint8_t msg[WIRE_MAX_MESSAGE + 1];
	struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
	/* server_health_tick must run at least every interval / 2. */
	int half = (int)(l->cfg->agents.interval_ms / 2), handled = 0, n;
	if (half < 1)
		half = 1;
	if (timeout_ms < 0 || timeout_ms > half)
		timeout_ms = half;
	n = poll(&pfd, 1, timeout_ms);
	if (n < 0) {
		if (errno != EINTR) {
			snprintf(err, err_size, "agents: poll: %s", strerror(errno));
			return -1;
		}
		n = 0;
	}
	while (n > 0 && handled < DATAGRAMS_PER_POLL) {
		struct sockaddr_storage from;
		socklen_t from_len = sizeof(from);
		/* One byte more than the largest message, so oversized ones show. */
		ssize_t len = recvfrom(l->fd, msg, sizeof(msg), MSG_DONTWAIT | MSG_TRUNC,
				       (struct sockaddr *)&from, &from_len);
		if (len < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			snprintf(err, err_size, "agents: recv: %s", strerror(errno));
			return -1;
		}
		handled++;
		pthread_mutex_lock(&l->lock);
		l->stats.received++;
		pthread_mutex_unlock(&l->lock);
		if ((size_t)len > WIRE_MAX_MESSAGE) {
			reject(l, COUNTER_OVERSIZED, &from);
			continue;
		}
		handle_datagram(l, msg, (size_t)len, &from);
	}
	pthread_mutex_lock(&l->health_lock);
	server_health_tick(l->health, l->now_ms());
	pthread_mutex_unlock(&l->health_lock);
	return handled;
}

void agent_listener_get_stats(struct agent_listener *l, struct agent_listener_stats *out)
{
	pthread_mutex_lock(&l->lock);
	*out = l->stats;
	pthread_mutex_unlock(&l->lock);
}

void agent_listener_get_counters(struct agent_listener *l, struct counter_set *out)
{
	pthread_mutex_lock(&l->lock);
	*out = l->rejects;
	out->values[COUNTER_AGENTS_RECEIVED] = l->stats.received;
	out->values[COUNTER_AGENTS_HEARTBEATS] = l->stats.heartbeats;
	out->values[COUNTER_AGENTS_LOADS] = l->stats.loads;
	out->values[COUNTER_AGENTS_REJECTED] = l->stats.rejected;
	pthread_mutex_unlock(&l->lock);
}

void agent_listener_get_health_counters(struct agent_listener *l, struct counter_set *out)
{
	pthread_mutex_lock(&l->health_lock);
	*out = *server_health_counters(l->health);
	pthread_mutex_unlock(&l->health_lock);
}

bool agent_listener_server_info(struct agent_listener *l, unsigned server, uint64_t now_ms,
				struct server_health_info *out)
{
	bool ok;
	pthread_mutex_lock(&l->health_lock);
	ok = server_health_get(l->health, server, now_ms, out);
	pthread_mutex_unlock(&l->health_lock);
	return ok;
}

unsigned agent_listener_server_count(const struct agent_listener *l)
{
	return l->cfg->server_count;
}

const char *agent_listener_server_id(const struct agent_listener *l, unsigned server)
{
	return server < l->cfg->server_count ? l->cfg->servers[server].id : "?";
}
