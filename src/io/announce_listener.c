/* announce_listener.c - gateway announcements in (announce_listener.h):
 * wire_open -> announce_decode -> announce_check_cluster -> engine_announce,
 * with one reject counter per reason and rate-limited log lines. */
#include "io/sockaddr.h"
#include "io/announce_listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine/announce_codec.h"
#include "io/clock.h"
#include "engine/counters.h"
#include "io/log.h"
#include "io/udp_listen.h"

#include <sodium.h>

/* Datagrams handled per poll before returning to check for shutdown. */
#define DATAGRAMS_PER_POLL 256

struct announce_listener {
	const struct sara_config *cfg;
	struct wire_key key;
	struct wire_replay *replay;   /* large (per-sender windows): heap */
	struct engine *engine;
	pthread_mutex_t *engine_lock;
	uint64_t (*now_ms)(void);
	int fd;
	pthread_mutex_t lock;         /* guards stats and rejects against readers */
	struct announce_listener_stats stats;
	struct counter_set rejects;
	struct log_limit reject_log;
};

struct announce_listener *announce_listener_open(const struct sara_config *cfg, const struct wire_key *key,
						 struct engine *engine, pthread_mutex_t *engine_lock,
						 uint64_t (*now_ms)(void), char *err, size_t err_size)
{
	struct announce_listener *l = calloc(1, sizeof(*l));
	char why[128];

	if (!l || !(l->replay = calloc(1, sizeof(*l->replay)))) {
		snprintf(err, err_size, "announcements: out of memory");
		goto fail;
	}
	l->cfg = cfg;
	l->key = *key;
	l->engine = engine;
	l->engine_lock = engine_lock;
	l->now_ms = now_ms;
	l->fd = -1;
	l->reject_log = (struct log_limit)LOG_LIMIT_INIT("announcement rejected", 5, 10000);
	pthread_mutex_init(&l->lock, NULL);
	l->fd = udp_listen(&cfg->gateway.listen, why, sizeof(why));
	if (l->fd < 0) {
		snprintf(err, err_size, "announcements: %s (gateway.listen)", why);
		goto fail;
	}
	return l;
fail:
	announce_listener_close(l);
	return NULL;
}

void announce_listener_close(struct announce_listener *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	sodium_memzero(&l->key, sizeof(l->key));
	free(l->replay);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static void reject(struct announce_listener *l, enum counter_id reason, const struct sockaddr_storage *from)
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
	log_limited(&l->reject_log, l->now_ms(), LOG_WARNING, "announcement from %s rejected: %s", text,
		    counter_name(reason));
}

static void handle_datagram(struct announce_listener *l, const uint8_t *msg, size_t len,
			    const struct sockaddr_storage *from)
{
	struct wire_header hdr;
	struct announcement ann;
	const uint8_t *body = NULL;
	enum counter_id reason;
	enum wire_verdict verdict;

	/* The replay state is only touched by this thread. */
	verdict = wire_open(&l->key, l->replay, msg, len, clock_ms(CLOCK_REALTIME), ANNOUNCE_MAX_SKEW_MS, &hdr, &body);
	if (verdict != WIRE_OK) {
		reject(l, wire_verdict_counter(verdict), from);
		return;
	}
	if (hdr.type != WIRE_ANNOUNCE) {
		reject(l, COUNTER_NOT_AN_ANNOUNCEMENT, from);
		return;
	}
	memset(&ann, 0, sizeof(ann));
	reason = announce_decode(body, hdr.body_len, &ann);
	if (reason != COUNTER_NONE) {
		reject(l, reason, from);
		return;
	}
	reason = announce_check_cluster(l->cfg, &ann);
	if (reason != COUNTER_NONE) {
		reject(l, reason, from);
		return;
	}
	pthread_mutex_lock(l->engine_lock);
	engine_announce(l->engine, &ann, l->now_ms());
	pthread_mutex_unlock(l->engine_lock);
	pthread_mutex_lock(&l->lock);
	l->stats.accepted++;
	pthread_mutex_unlock(&l->lock);
}

int announce_listener_poll(struct announce_listener *l, int timeout_ms, char *err, size_t err_size)
{
	uint8_t msg[WIRE_MAX_MESSAGE + 1];
	struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
	int handled = 0, n = poll(&pfd, 1, timeout_ms);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		snprintf(err, err_size, "announcements: poll: %s", strerror(errno));
		return -1;
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
			snprintf(err, err_size, "announcements: recv: %s", strerror(errno));
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
	return handled;
}

void announce_listener_get_stats(struct announce_listener *l, struct announce_listener_stats *out)
{
	pthread_mutex_lock(&l->lock);
	*out = l->stats;
	pthread_mutex_unlock(&l->lock);
}

void announce_listener_get_counters(struct announce_listener *l, struct counter_set *out)
{
	pthread_mutex_lock(&l->lock);
	*out = l->rejects;
	out->values[COUNTER_ANNOUNCE_RECEIVED] = l->stats.received;
	out->values[COUNTER_ANNOUNCE_ACCEPTED] = l->stats.accepted;
	out->values[COUNTER_ANNOUNCE_REJECTED] = l->stats.rejected;
	pthread_mutex_unlock(&l->lock);
}
