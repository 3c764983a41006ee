/* sealed_channel.c - authenticated UDP messages on a socket (sealed_channel.h). */
#include "io/sealed_channel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "io/clock.h"
#include "io/sockaddr.h"

int udp_bind(const struct endpoint *at, char *err, size_t err_size)
{
	char where[ENDPOINT_STRLEN];
	enum bind_failure failed;
	int fd = endpoint_bind(at, SOCK_DGRAM, false, &failed);

	if (fd >= 0)
		return fd;
	if (failed == BIND_NO_ADDRESS)
		snprintf(err, err_size, "no address to listen on");
	else if (failed == BIND_SOCKET)
		snprintf(err, err_size, "socket: %s", strerror(errno));
	else
		snprintf(err, err_size, "bind %s: %s", endpoint_format(at, where, sizeof(where)), strerror(errno));
	return -1;
}

/* ---- sender ---- */

bool sealed_sender_open(struct sealed_sender *s, const struct endpoint *to, const struct wire_key *key,
			uint32_t sender_id, char *err, size_t err_size)
{
	return sealed_sender_open_many(s, to, 1, key, sender_id, err, err_size);
}

bool sealed_sender_open_many(struct sealed_sender *s, const struct endpoint *to, unsigned count,
			     const struct wire_key *key, uint32_t sender_id, char *err, size_t err_size)
{
	struct sockaddr_storage ss;
	int family = 0;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (count == 0 || count > SEALED_MAX_DESTINATIONS) {
		snprintf(err, err_size, count ? "more than %d destinations" : "no address to send to",
			 SEALED_MAX_DESTINATIONS);
		return false;
	}
	for (unsigned i = 0; i < count; i++) {
		if (endpoint_to_sockaddr(&to[i], &ss) == 0) {
			snprintf(err, err_size, "no address to send to");
			return false;
		}
		if (family && ss.ss_family != family) {
			snprintf(err, err_size, "destinations mix IPv4 and IPv6");
			return false;
		}
		family = ss.ss_family;
		s->to[i] = to[i];
	}
	s->fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		snprintf(err, err_size, "socket: %s", strerror(errno));
		return false;
	}
	s->to_count = count;
	s->key = *key;
	s->sender = sender_id;
	/* A restarted sender must not be taken for a replay of its old self. */
	s->seq = clock_us(CLOCK_REALTIME);
	return true;
}

bool sealed_sender_open_dispatchers(struct sealed_sender *s, const struct sara_config *cfg,
				    const struct endpoint *listen, const char *setting, const char *what,
				    const struct wire_key *key, uint32_t sender_id, char *err, size_t err_size)
{
	struct endpoint to[SEALED_MAX_DESTINATIONS];
	unsigned count = sara_config_dispatcher_endpoints(cfg, listen, to, SEALED_MAX_DESTINATIONS);
	if (count == 0) {
		snprintf(err, err_size, "%.100s: nowhere to %s (%s unset or a wildcard, no ha.dispatchers)", cfg->path,
			 what, setting);
		return false;
	}
	return sealed_sender_open_many(s, to, count, key, sender_id, err, err_size);
}

/* Seals type + body with the next sequence number into msg; 0 (counted)
 * when it cannot. */
static size_t seal_next(struct sealed_sender *s, uint8_t type, const uint8_t *body, size_t body_len,
			uint8_t msg[WIRE_MAX_MESSAGE])
{
	struct wire_header hdr = {
		.type = type,
		.body_len = (uint16_t)body_len,
		.sender = s->sender,
		.seq = s->seq++,
		.time_ms = clock_ms(CLOCK_REALTIME),
	};
	size_t len = body_len <= WIRE_MAX_BODY ? wire_seal(&s->key, &hdr, body, msg, WIRE_MAX_MESSAGE) : 0;
	if (len == 0 || s->fd < 0) {
		s->send_errors++;
		return 0;
	}
	return len;
}

static bool send_one(struct sealed_sender *s, const struct endpoint *to, const uint8_t *msg, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t ss_len = endpoint_to_sockaddr(to, &ss);
	if (ss_len == 0 || sendto(s->fd, msg, len, MSG_DONTWAIT, (struct sockaddr *)&ss, ss_len) != (ssize_t)len) {
		s->send_errors++;
		return false;
	}
	s->sent++;
	return true;
}

bool sealed_send(struct sealed_sender *s, uint8_t type, const uint8_t *body, size_t body_len)
{
	uint8_t msg[WIRE_MAX_MESSAGE];
	size_t len = seal_next(s, type, body, body_len, msg);
	bool all = s->to_count > 0;

	if (len == 0)
		return false;
	for (unsigned i = 0; i < s->to_count; i++)
		all &= send_one(s, &s->to[i], msg, len);
	return all;
}

bool sealed_send_to(struct sealed_sender *s, const struct endpoint *to, uint8_t type, const uint8_t *body,
		    size_t body_len)
{
	uint8_t msg[WIRE_MAX_MESSAGE];
	size_t len = seal_next(s, type, body, body_len, msg);
	return len > 0 && send_one(s, to, msg, len);
}

void sealed_sender_borrow(struct sealed_sender *s, int fd, const struct wire_key *key, uint32_t sender_id)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->borrowed = true;
	s->key = *key;
	s->sender = sender_id;
	s->seq = clock_us(CLOCK_REALTIME);
}

void sealed_sender_close(struct sealed_sender *s)
{
	if (s->fd >= 0 && !s->borrowed)
		close(s->fd);
	s->fd = -1;
	sodium_memzero(&s->key, sizeof(s->key));
}

/* ---- receiver ---- */

/* A receiver on fd (borrowed: closed by its owner, not by the receiver);
 * false (fd untouched) when out of memory. */
static bool receiver_setup(struct sealed_receiver *r, int fd, bool borrowed, const struct wire_key *key,
			   uint64_t max_skew_ms, char *err, size_t err_size)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->replay = calloc(1, sizeof(*r->replay));
	if (!r->replay) {
		snprintf(err, err_size, "out of memory");
		return false;
	}
	r->fd = fd;
	r->borrowed = borrowed;
	r->key = *key;
	r->max_skew_ms = max_skew_ms;
	return true;
}

bool sealed_receiver_open(struct sealed_receiver *r, const struct endpoint *at, const struct wire_key *key,
			  uint64_t max_skew_ms, char *err, size_t err_size)
{
	int fd = udp_bind(at, err, err_size);
	if (fd < 0) {
		memset(r, 0, sizeof(*r));
		r->fd = -1;
		return false;
	}
	if (!receiver_setup(r, fd, false, key, max_skew_ms, err, err_size)) {
		close(fd);
		return false;
	}
	return true;
}

enum counter_id sealed_reject_counter(int reason)
{
	if (reason == SEALED_OVERSIZED)
		return COUNTER_OVERSIZED;
	return reason >= 0 && reason < WIRE_VERDICT_COUNT ? wire_verdict_counter((enum wire_verdict)reason)
							  : COUNTER_NONE;
}

static void reject(struct sealed_receiver *r, const struct sealed_receiver_handler *h, int reason,
		   const struct endpoint *from)
{
	r->rejected++;
	if (h->reject)
		h->reject(h->ctx, reason, from);
}

int sealed_receiver_drain(struct sealed_receiver *r, unsigned max, const struct sealed_receiver_handler *h,
			  char *err, size_t err_size)
{
	/* One byte more than the largest message, so oversized ones show. */
	uint8_t buf[WIRE_MAX_MESSAGE + 1];
	int handled = 0;

	while ((unsigned)handled < max) {
		struct sockaddr_storage ss;
		socklen_t ss_len = sizeof(ss);
		struct sealed_message msg;
		enum wire_verdict verdict;
		ssize_t len = recvfrom(r->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC,
				       (struct sockaddr *)&ss, &ss_len);
		if (len < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			snprintf(err, err_size, "recv: %s", strerror(errno));
			return -1;
		}
		handled++;
		r->received++;
		memset(&msg, 0, sizeof(msg));
		if (!endpoint_from_sockaddr(&ss, &msg.from))
			memset(&msg.from, 0, sizeof(msg.from));
		if ((size_t)len > WIRE_MAX_MESSAGE) {
			reject(r, h, SEALED_OVERSIZED, &msg.from);
			continue;
		}
		verdict = wire_open(&r->key, r->replay, buf, (size_t)len, clock_ms(CLOCK_REALTIME),
				    r->max_skew_ms, &msg.hdr, &msg.body);
		if (verdict != WIRE_OK) {
			reject(r, h, (int)verdict, &msg.from);
			continue;
		}
		r->accepted++;
		h->accept(h->ctx, &msg);
	}
	return handled;
}

bool sealed_receiver_attach(struct sealed_receiver *r, int fd, const struct wire_key *key, uint64_t max_skew_ms,
			    char *err, size_t err_size)
{
	return receiver_setup(r, fd, true, key, max_skew_ms, err, err_size);
}

void sealed_receiver_close(struct sealed_receiver *r)
{
	if (r->fd >= 0 && !r->borrowed)
		close(r->fd);
	r->fd = -1;
	free(r->replay);
	r->replay = NULL;
	sodium_memzero(&r->key, sizeof(r->key));
}

void sealed_rejects_init(struct sealed_rejects *r, const char *event)
{
	memset(r, 0, sizeof(*r));
	r->event = event;
	r->log = (struct log_limit)LOG_LIMIT_INIT(event, 5, 10000);
}

void sealed_rejects_add(struct sealed_rejects *r, enum counter_id reason, const struct endpoint *from,
			uint64_t now_ms)
{
	char text[ENDPOINT_STRLEN];
	struct log_event e;

	counter_add(&r->counts, reason, 1);
	r->total++;
	if (from && from->addr.family)
		endpoint_format(from, text, sizeof(text));
	else
		snprintf(text, sizeof(text), "?");
	log_event_begin(&e, r->event);
	log_event_str(&e, "from", text);
	log_event_str(&e, "reason", counter_name(reason));
	log_event_limited(&r->log, now_ms, LOG_WARNING, &e);
}
