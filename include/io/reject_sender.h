/* reject_sender.h - sarad's answers to packets admission control refused: a
 * SIP 503 for a UDP request, a TCP RST for a segment, sent from the VIP. */
#ifndef SARA_REJECT_SENDER_H
#define SARA_REJECT_SENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/counters.h"

/* What one send call did. */
enum reject_send_result {
	REJECT_SEND_OK = 0,
	REJECT_SEND_RATE_LIMITED = -1, /* no token left: nothing built or sent */
	REJECT_SEND_UNBUILDABLE = -2,  /* not a datagram we can answer (see below) */
	REJECT_SEND_FAILED = -3,       /* the kernel refused the datagram (logged) */
};

struct reject_sender;

/* Opens one raw socket per family (IPPROTO_RAW, header-including), so it
 * needs CAP_NET_RAW (sarad runs as root). IPv6 may be missing from the
 * kernel: IPv6 replies then fail as REJECT_SEND_FAILED. replies_per_s is
 * the rate of the token bucket shared by every reply, also its burst; 0
 * is taken as 1. Returns NULL with a reason in err and errno kept from the
 * failing call (EPERM / EACCES without the capability). */
struct reject_sender *reject_sender_open(uint32_t replies_per_s, char *err, size_t err_size);
void reject_sender_close(struct reject_sender *rs);

/* The datagram ip[0..len) (a whole IPv4/IPv6 UDP datagram holding a SIP
 * request, as NFQUEUE handed it) is answered with sip_reply_503(), Retry-
 * After retry_after_s (0: none), sent from the datagram's destination
 * address and port (the VIP, not local here) to its source. With oc (may
 * be NULL), a request whose top Via advertised RFC 7339's "oc" gets it
 * back with oc, oc-validity and oc-seq (sip_oc_add; counted as
 * reply_503_oc); any other request gets the 503 as it was built.
 * Unbuildable: not a whole UDP datagram, not a request sip_reply_503()
 * answers (an ACK, a reply, junk), or addresses no reply can use. */
struct sip_oc_feedback;
int reject_sender_sip_503(struct reject_sender *rs, const uint8_t *ip, size_t len,
			  uint32_t retry_after_s, const struct sip_oc_feedback *oc, uint64_t now_ms);

/* The segment ip[0..len) (a whole IPv4/IPv6 TCP segment, usually a SYN) is
 * answered with tcp_reset_build()'s RST, from its destination to its
 * source. Unbuildable: not TCP, itself a RST, unusable addresses. */
int reject_sender_tcp_reset(struct reject_sender *rs, const uint8_t *ip, size_t len,
			    uint64_t now_ms);

/* Both calls are thread-safe and never block (the sockets are
 * non-blocking: a full send buffer is a send error); now_ms is any
 * monotonic clock in milliseconds, used for the bucket and the log limit.
 * Return an enum reject_send_result. */

/* The token bucket both kinds of reply share, pure so tests can drive it:
 * rate tokens a second, at most burst = rate (at least 1) in store, full at
 * the first call. Counted in thousandths of a token so that rates that do
 * not divide 1000 ms still refill exactly. A now_ms earlier than the last
 * one (threads read the clock before taking the lock) refills nothing. */
struct reply_bucket {
	uint64_t rate;         /* tokens per second, >= 1 */
	uint64_t capacity;     /* thousandths of a token */
	uint64_t level;        /* thousandths of a token */
	uint64_t last_ms;
	bool started;
};

void reply_bucket_init(struct reply_bucket *bucket, uint32_t replies_per_s);
/* True (and one token spent) when a reply may go out at now_ms. */
bool reply_bucket_take(struct reply_bucket *bucket, uint64_t now_ms);

/* The counters (COUNTER_SCOPE_REPLY: reply_sent_503, reply_rate_limited...),
 * copied under the sender's lock. */
void reject_sender_get_counters(struct reject_sender *rs, struct counter_set *out);

#endif
