/* reject_sender.c - sends sarad's 503s and RSTs (reject_sender.h) from the
 * VIP through header-including raw sockets, under one token bucket. */
#include "io/sockaddr.h"
#include "io/reject_sender.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dpi/flow_key.h"
#include "io/log.h"
#include "dpi/netaddr.h"
#include "dpi/packet.h"
#include "dpi/sip_oc.h"
#include "dpi/sip_reply.h"
#include "dpi/reply_packet.h"
#include "dpi/sip.h"

/*
 * Why raw sockets (IPPROTO_RAW) for the 503s too, not transparent UDP ones.
 * A reply must leave from the VIP's address AND port, and the VIP is not a
 * local address on the dispatcher. A UDP socket with IP_TRANSPARENT may
 * name a non-local source per datagram with IP_PKTINFO (the route lookup
 * gets FLOWI_FLAG_ANYSRC), but its source port is the socket's bound port:
 * that means one bound socket per (VIP, port), a cache with eviction and a
 * lock, and a bind that fails (EADDRINUSE) as soon as anything on the
 * dispatcher listens on the SIP port's wildcard address. A header-including
 * raw socket carries whatever source we write, port included (the kernel
 * routes on the destination only and never checks a hdrincl source), needs
 * no per-VIP state, and is the socket the RSTs need anyway: one socket per
 * family serves both kinds. The cost is building the IP and UDP headers
 * ourselves (udp_reply_build) and no kernel fragmentation: a reply larger
 * than the route's MTU fails with EMSGSIZE and is counted as a send error.
 * The 503 copies only Via, From, To, Call-ID and CSeq of a request that
 * itself crossed the path, so that takes a request near the MTU without a
 * body but with many Vias. Both sockets also see OUTPUT-hook netfilter.
 */

/* The longest 503 datagram: an IPv6 payload length is at most 65535. */
#define REPLY_DATAGRAM_MAX (UDP_REPLY_HEADROOM + 65535)

#define TOKEN 1000u /* thousandths */

struct reject_sender {
	int raw4;                 /* AF_INET, IPPROTO_RAW (implies IP_HDRINCL) */
	int raw6;                 /* AF_INET6, IPPROTO_RAW; -1 without IPv6 */
	pthread_mutex_t lock;     /* guards bucket and counters, never held over I/O */
	struct reply_bucket bucket;
	struct counter_set counters; /* COUNTER_SCOPE_REPLY */
	struct log_limit send_log; /* log_limited() serialises it */
};

void reply_bucket_init(struct reply_bucket *bucket, uint32_t replies_per_s)
{
	memset(bucket, 0, sizeof(*bucket));
	bucket->rate = replies_per_s > 0 ? replies_per_s : 1;
	bucket->capacity = bucket->rate * TOKEN;
}

bool reply_bucket_take(struct reply_bucket *bucket, uint64_t now_ms)
{
	if (!bucket->started) {
		bucket->started = true;
		bucket->level = bucket->capacity;
		bucket->last_ms = now_ms;
	} else if (now_ms > bucket->last_ms) {
		/* rate tokens a second = rate thousandths a millisecond. An
		 * empty bucket is full again after capacity / rate <= capacity
		 * ms, so clamping there keeps the product from overflowing. */
		uint64_t elapsed = now_ms - bucket->last_ms;
		if (elapsed > bucket->capacity)
			elapsed = bucket->capacity;
		uint64_t level = bucket->level + elapsed * bucket->rate;
		bucket->level = level < bucket->capacity ? level : bucket->capacity;
		bucket->last_ms = now_ms;
	}
	if (bucket->level < TOKEN)
		return false;
	bucket->level -= TOKEN;
	return true;
}

static void count(struct reject_sender *rs, enum counter_id counter)
{
	pthread_mutex_lock(&rs->lock);
	counter_add(&rs->counters, counter, 1);
	pthread_mutex_unlock(&rs->lock);
}

/* Takes a token, or counts the reply as rate-limited. */
static bool take_token(struct reject_sender *rs, uint64_t now_ms)
{
	pthread_mutex_lock(&rs->lock);
	bool allowed = reply_bucket_take(&rs->bucket, now_ms);
	if (!allowed)
		counter_add(&rs->counters, COUNTER_REPLY_RATE_LIMITED, 1);
	pthread_mutex_unlock(&rs->lock);
	return allowed;
}

static int open_raw(int family)
{
	/* Non-blocking: a worker thread must never wait for the send buffer. */
	return socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
}

struct reject_sender *reject_sender_open(uint32_t replies_per_s, char *err, size_t err_size)
{
	struct reject_sender *rs = calloc(1, sizeof(*rs));
	int saved_errno;

	if (!rs) {
		saved_errno = errno;
		snprintf(err, err_size, "reject sender: out of memory");
		goto fail;
	}
	rs->raw4 = -1;
	rs->raw6 = -1;
	rs->raw4 = open_raw(AF_INET);
	if (rs->raw4 < 0) {
		saved_errno = errno;
		snprintf(err, err_size, "reject sender: raw IPv4 socket: %s", strerror(saved_errno));
		goto fail_sockets;
	}
	rs->raw6 = open_raw(AF_INET6);
	/* A kernel without IPv6 still answers IPv4 clients. */
	if (rs->raw6 < 0 && errno != EAFNOSUPPORT) {
		saved_errno = errno;
		snprintf(err, err_size, "reject sender: raw IPv6 socket: %s", strerror(saved_errno));
		goto fail_sockets;
	}
	int rc = pthread_mutex_init(&rs->lock, NULL);
	if (rc != 0) {
		saved_errno = rc; /* pthread calls return the code, errno is stale */
		snprintf(err, err_size, "reject sender: mutex: %s", strerror(rc));
		goto fail_sockets;
	}
	reply_bucket_init(&rs->bucket, replies_per_s);
	rs->send_log = (struct log_limit)LOG_LIMIT_INIT("reply_send_failed", 5, 10000);
	return rs;

fail_sockets:
	if (rs->raw6 >= 0)
		close(rs->raw6);
	if (rs->raw4 >= 0)
		close(rs->raw4);
	free(rs);
fail:
	errno = saved_errno;
	return NULL;
}

void reject_sender_close(struct reject_sender *rs)
{
	if (!rs)
		return;
	if (rs->raw6 >= 0)
		close(rs->raw6);
	if (rs->raw4 >= 0)
		close(rs->raw4);
	pthread_mutex_destroy(&rs->lock);
	free(rs);
}

/* Sends datagram[0..len), the reply to the packet whose flow is key, to
 * key's source; counts and logs a failure. */
static int send_reply(struct reject_sender *rs, const struct flow_key *key,
		      const uint8_t *datagram, size_t len, const char *what,
		      enum counter_id sent_counter, uint64_t now_ms)
{
	struct endpoint client;
	struct sockaddr_storage ss;
	int fd = key->family == AF_INET ? rs->raw4 : rs->raw6;
	int error = EAFNOSUPPORT;

	flow_key_src(key, &client);
	/* Raw sockets take no port: the one in the header is what counts. */
	client.port = 0;
	unsigned ss_len = endpoint_to_sockaddr(&client, &ss);
	if (fd >= 0 && ss_len > 0) {
		ssize_t n = sendto(fd, datagram, len, 0, (const struct sockaddr *)&ss, ss_len);
		if (n >= 0 && (size_t)n == len) {
			count(rs, sent_counter);
			return REJECT_SEND_OK;
		}
		error = n < 0 ? errno : EMSGSIZE;
	}

	count(rs, COUNTER_REPLY_SEND_ERRORS);
	char to[ENDPOINT_STRLEN], reason[128];
	struct log_event e;
	flow_key_src(key, &client);
	endpoint_format(&client, to, sizeof(to));
	log_event_begin(&e, "reply_send_failed");
	log_event_str(&e, "reply", what);
	log_event_str(&e, "to", to);
	log_event_u64(&e, "bytes", len);
	log_event_str(&e, "error", strerror_r(error, reason, sizeof(reason)));
	log_event_limited(&rs->send_log, now_ms, LOG_WARNING, &e);
	return REJECT_SEND_FAILED;
}

int reject_sender_sip_503(struct reject_sender *rs, const uint8_t *ip, size_t len,
			  uint32_t retry_after_s, const struct sip_oc_feedback *oc, uint64_t now_ms)
{
	struct packet request;
	if (packet_decode(ip, len, &request) != PACKET_OK || request.key.l4 != L4_UDP) {
		count(rs, COUNTER_REPLY_UNBUILDABLE);
		return REJECT_SEND_UNBUILDABLE;
	}
	/* The token before the build: under a flood the 503 (a full SIP
	 * parse) is the costly part, so refused replies cost no parse. */
	if (!take_token(rs, now_ms))
		return REJECT_SEND_RATE_LIMITED;

	/* 64 KiB on the worker's stack: the 503 is built right behind the
	 * room its headers need, so nothing is copied twice. */
	uint8_t datagram[REPLY_DATAGRAM_MAX];
	uint8_t *body = datagram + UDP_REPLY_HEADROOM;
	size_t body_len = sip_reply_503(request.payload, request.payload_len, retry_after_s, body,
					sizeof(datagram) - UDP_REPLY_HEADROOM);
	bool with_oc = false;
	if (body_len > 0 && oc && body_len <= SIP_MAX_MESSAGE) {
		/* The 503 echoes the client's Via: overload control goes into
		 * that copy, or the 503 goes out as built. */
		uint8_t plain[SIP_MAX_MESSAGE];
		size_t oc_len = 0;
		memcpy(plain, body, body_len);
		if (sip_oc_add(plain, body_len, oc, body, sizeof(datagram) - UDP_REPLY_HEADROOM, &oc_len) == SIP_OC_ADDED) {
			body_len = oc_len;
			with_oc = true;
		} else {
			memcpy(body, plain, body_len);
		}
	}
	size_t total = body_len > 0 ? udp_reply_build(&request, body, body_len, datagram,
						      sizeof(datagram))
				    : 0;
	if (total == 0) {
		count(rs, COUNTER_REPLY_UNBUILDABLE);
		return REJECT_SEND_UNBUILDABLE;
	}
	int rc = send_reply(rs, &request.key, datagram, total, "SIP 503", COUNTER_REPLY_SENT_503, now_ms);
	if (rc == REJECT_SEND_OK && with_oc)
		count(rs, COUNTER_REPLY_503_OC);
	return rc;
}

int reject_sender_tcp_reset(struct reject_sender *rs, const uint8_t *ip, size_t len,
			    uint64_t now_ms)
{
	struct packet seg;
	uint8_t datagram[TCP_RESET_MAX_LEN];
	size_t total = 0;
	if (packet_decode(ip, len, &seg) == PACKET_OK)
		total = tcp_reset_build(&seg, datagram, sizeof(datagram));
	if (total == 0) {
		count(rs, COUNTER_REPLY_UNBUILDABLE);
		return REJECT_SEND_UNBUILDABLE;
	}
	if (!take_token(rs, now_ms))
		return REJECT_SEND_RATE_LIMITED;
	return send_reply(rs, &seg.key, datagram, total, "TCP RST", COUNTER_REPLY_SENT_RESET, now_ms);
}

void reject_sender_get_counters(struct reject_sender *rs, struct counter_set *out)
{
	pthread_mutex_lock(&rs->lock);
	*out = rs->counters;
	pthread_mutex_unlock(&rs->lock);
}
