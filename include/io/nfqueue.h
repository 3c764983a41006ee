/* nfqueue.h - one NFQUEUE queue on libnetfilter_queue's libmnl API
 * (nfq_nlmsg_*): bind, receive packets in batches, answer verdicts that
 * set the packet mark and, optionally, the connection mark. */
#ifndef SARA_NFQUEUE_H
#define SARA_NFQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nfqueue_options {
	uint16_t queue_num;
	uint32_t max_len;        /* kernel queue length (packets) */
	uint32_t rcvbuf_bytes;   /* socket receive buffer (SO_RCVBUFFORCE) */
	bool fail_open;          /* NFQA_CFG_F_FAIL_OPEN: accept when the queue is full */
	bool conntrack;          /* NFQA_CFG_F_CONNTRACK: report ct state and mark */
};

struct nfqueue_packet {
	uint32_t id;
	const uint8_t *payload;  /* the IP datagram */
	size_t len;
	uint32_t mark;           /* packet mark on arrival */
	bool has_ct;             /* conntrack attributes present */
	bool ct_confirmed;       /* the entry is in conntrack's table already */
	uint32_t ct_mark;
};

struct nfqueue_stats { uint64_t received, batches, enobufs, verdicts, verdict_errors; };

struct nfqueue;

/* NULL on failure, with errno set (EPERM: another process owns the queue;
 * EOPNOTSUPP: a flag this kernel lacks). */
struct nfqueue *nfqueue_open(const struct nfqueue_options *opt, char *err, size_t err_size);
void nfqueue_close(struct nfqueue *q);
int nfqueue_fd(const struct nfqueue *q);
/* Waits up to timeout_ms for one batch and calls fn per packet, then once
 * with pkt NULL: the batch is complete, and its packets' payloads stay valid
 * until then, so fn may collect them and decide them together. Returns the
 * number of packets, 0 on timeout, -1 on a fatal error (err filled).
 * ENOBUFS (the kernel dropped packets) is counted, not fatal. */
int nfqueue_receive(struct nfqueue *q, int timeout_ms,
		    void (*fn)(void *ctx, const struct nfqueue_packet *pkt), void *ctx,
		    char *err, size_t err_size);
/* accept=false drops. mark 0 leaves the packet mark; set_connmark also
 * writes mark into the packet's conntrack entry (needs opt.conntrack). */
int nfqueue_verdict(struct nfqueue *q, uint32_t id, bool accept, uint32_t mark, bool set_connmark);
/* Accepts packet id with its bytes replaced by packet[0..len) (a whole IP
 * datagram whose lengths and checksums the caller fixed); sent at once,
 * outside the batch. */
int nfqueue_verdict_packet(struct nfqueue *q, uint32_t id, const uint8_t *packet, size_t len);
void nfqueue_get_stats(const struct nfqueue *q, struct nfqueue_stats *out);

#endif
