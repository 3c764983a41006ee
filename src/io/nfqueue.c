/* nfqueue.c - one NFQUEUE queue (nfqueue.h) on libmnl and
 * libnetfilter_queue's nfq_nlmsg_* helpers: configuration with acks,
 * batched receive (one recvmmsg per batch), and verdicts batched into one
 * send per receive batch. */
#include "io/nfqueue.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink_queue.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Largest packet copied to user space (signalling can be a full datagram). */
#define COPY_RANGE 0xffff
/* One received message: the copied packet plus netlink and queue headers. */
#define RECV_BUFFER_SIZE (COPY_RANGE + 8192)
/* Messages taken per receive batch before the verdicts are flushed. */
#define RECEIVE_BATCH 64
/* A verdict message is about 64 bytes; the batch's verdicts fit with margin. */
#define VERDICT_MESSAGE_MAX 128
#define SEND_BUFFER_SIZE (RECEIVE_BATCH * VERDICT_MESSAGE_MAX)
#define CONFIG_BUFFER_SIZE 512

struct nfqueue {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	uint16_t queue_num;
	bool conntrack;
	bool in_batch;            /* verdicts go to send_buf until the batch ends */
	bool configuring;         /* packets before the set-up is done are accepted unmarked */
	uint8_t *recv_buf;       /* RECEIVE_BATCH buffers: a batch's packets stay valid together */
	struct iovec recv_iov[RECEIVE_BATCH];
	struct mmsghdr recv_msgs[RECEIVE_BATCH];
	uint8_t *send_buf;
	size_t send_used;
	unsigned send_count;
	struct nfqueue_stats stats;
	/* The current receive call's consumer. */
	void (*fn)(void *ctx, const struct nfqueue_packet *pkt);
	void *fn_ctx;
};

#define STAT_ADD(q, field, n) __atomic_fetch_add(&(q)->stats.field, (uint64_t)(n), __ATOMIC_RELAXED)
#define STAT_GET(q, field) __atomic_load_n(&(q)->stats.field, __ATOMIC_RELAXED)

/* ---- verdicts ---- */

static int flush_verdicts(struct nfqueue *q)
{
	size_t used = q->send_used;
	unsigned count = q->send_count;
	if (used == 0)
		return 0;
	q->send_used = 0;
	q->send_count = 0;
	if (mnl_socket_sendto(q->nl, q->send_buf, used) < 0) {
		STAT_ADD(q, verdict_errors, count);
		return -1;
	}
	STAT_ADD(q, verdicts, count);
	return 0;
}

/* Builds one verdict message at buf (VERDICT_MESSAGE_MAX bytes of room). */
static size_t build_verdict(uint8_t *buf, uint16_t queue_num, uint32_t id, bool accept, uint32_t mark,
			    bool set_connmark)
{
	struct nlmsghdr *nlh = nfq_nlmsg_put((char *)buf, NFQNL_MSG_VERDICT, queue_num);
	nfq_nlmsg_verdict_put(nlh, (int)id, accept ? NF_ACCEPT : NF_DROP);
	if (accept && mark)
		nfq_nlmsg_verdict_put_mark(nlh, mark);
	if (accept && set_connmark) {
		/* The kernel applies CTA_MARK from the verdict's NFQA_CT nest to the
		 * packet's (possibly still unconfirmed) conntrack entry. */
		struct nlattr *nest = mnl_attr_nest_start(nlh, NFQA_CT);
		mnl_attr_put_u32(nlh, CTA_MARK, htonl(mark));
		mnl_attr_nest_end(nlh, nest);
	}
	return nlh->nlmsg_len;
}

int nfqueue_verdict(struct nfqueue *q, uint32_t id, bool accept, uint32_t mark, bool set_connmark)
{
	if (set_connmark && !q->conntrack)
		set_connmark = false;
	if (q->in_batch) {
		if (q->send_used + VERDICT_MESSAGE_MAX > SEND_BUFFER_SIZE && flush_verdicts(q) < 0)
			return -1;
		q->send_used += build_verdict(q->send_buf + q->send_used, q->queue_num, id, accept, mark,
					      set_connmark);
		q->send_count++;
		return 0;
	} else {
		uint8_t buf[VERDICT_MESSAGE_MAX] __attribute__((aligned(4)));
		size_t len = build_verdict(buf, q->queue_num, id, accept, mark, set_connmark);
		if (mnl_socket_sendto(q->nl, buf, len) < 0) {
			STAT_ADD(q, verdict_errors, 1);
			return -1;
		}
		STAT_ADD(q, verdicts, 1);
		return 0;
	}
}

int nfqueue_verdict_packet(struct nfqueue *q, uint32_t id, const uint8_t *packet, size_t len)
{
	/* The verdict, the packet attribute and its padding. */
	static __thread uint8_t buf[VERDICT_MESSAGE_MAX + COPY_RANGE + 8] __attribute__((aligned(4)));
	struct nlmsghdr *nlh;
	if (len > COPY_RANGE) {
		STAT_ADD(q, verdict_errors, 1);
		return -1;
	}
	nlh = nfq_nlmsg_put((char *)buf, NFQNL_MSG_VERDICT, q->queue_num);
	nfq_nlmsg_verdict_put(nlh, (int)id, NF_ACCEPT);
	nfq_nlmsg_verdict_put_pkt(nlh, packet, (uint32_t)len);
	if (mnl_socket_sendto(q->nl, buf, nlh->nlmsg_len) < 0) {
		STAT_ADD(q, verdict_errors, 1);
		return -1;
	}
	STAT_ADD(q, verdicts, 1);
	return 0;
}

/* ---- receiving ---- */

static int ct_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);
	if (mnl_attr_type_valid(attr, CTA_MAX) < 0)
		return MNL_CB_OK;
	if ((type == CTA_MARK || type == CTA_STATUS) && mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return MNL_CB_OK;
	tb[type] = attr;
	return MNL_CB_OK;
}

static int packet_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nfqueue *q = data;
	struct nlattr *attr[NFQA_MAX + 1];
	struct nfqueue_packet pkt;
	const struct nfqnl_msg_packet_hdr *ph;

	memset(attr, 0, sizeof(attr));
	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR] ||
	    mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph))
		return MNL_CB_OK; /* no packet id: nothing to answer */
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	memset(&pkt, 0, sizeof(pkt));
	pkt.id = ntohl(ph->packet_id);
	if (attr[NFQA_PAYLOAD]) {
		pkt.payload = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
		pkt.len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	}
	if (attr[NFQA_MARK] && mnl_attr_get_payload_len(attr[NFQA_MARK]) >= 4)
		pkt.mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
	if (attr[NFQA_CT]) {
		const struct nlattr *ct[CTA_MAX + 1];
		memset(ct, 0, sizeof(ct));
		if (mnl_attr_parse_nested(attr[NFQA_CT], ct_attr_cb, ct) >= 0) {
			pkt.has_ct = true;
			if (ct[CTA_MARK])
				pkt.ct_mark = ntohl(mnl_attr_get_u32(ct[CTA_MARK]));
			if (ct[CTA_STATUS])
				pkt.ct_confirmed = (ntohl(mnl_attr_get_u32(ct[CTA_STATUS])) & IPS_CONFIRMED) != 0;
		}
	}
	STAT_ADD(q, received, 1);
	if (q->configuring || !q->fn)
		nfqueue_verdict(q, pkt.id, true, 0, false);
	else
		q->fn(q->fn_ctx, &pkt);
	return MNL_CB_OK;
}

/* Takes up to RECEIVE_BATCH queued messages in one recvmmsg (each netlink
 * message is its own datagram: one recv per packet would be one system
 * call per packet). Returns how many, 0 when none is waiting, -1 on a fatal
 * error (err filled). ENOBUFS (the kernel dropped messages) is counted. */
static int receive_messages(struct nfqueue *q, int fd, char *err, size_t err_size)
{
	for (unsigned tries = 0; tries < 2; tries++) {
		for (unsigned i = 0; i < RECEIVE_BATCH; i++) {
			q->recv_msgs[i].msg_hdr.msg_flags = 0;
			q->recv_msgs[i].msg_len = 0;
		}
		int n = recvmmsg(fd, q->recv_msgs, RECEIVE_BATCH, MSG_DONTWAIT, NULL);
		if (n >= 0)
			return n;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		if (errno != ENOBUFS)
			break;
		STAT_ADD(q, enobufs, 1);   /* reported once; the queue holds more */
	}
	if (errno == ENOBUFS)
		return 0;
	snprintf(err, err_size, "queue %u: recvmmsg: %s", q->queue_num, strerror(errno));
	return -1;
}

int nfqueue_receive(struct nfqueue *q, int timeout_ms,
		    void (*fn)(void *ctx, const struct nfqueue_packet *pkt), void *ctx,
		    char *err, size_t err_size)
{
	int fd = mnl_socket_get_fd(q->nl);
	int packets_before, received;
	if (timeout_ms != 0) {
		/* A caller woken by its own poll (timeout 0) reads at once. */
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n = poll(&pfd, 1, timeout_ms);
		if (n < 0) {
			if (errno == EINTR)
				return 0;
			snprintf(err, err_size, "queue %u: poll: %s", q->queue_num, strerror(errno));
			return -1;
		}
		if (n == 0)
			return 0;
	}
	received = receive_messages(q, fd, err, err_size);
	if (received < 0)
		return -1;
	packets_before = (int)STAT_GET(q, received);
	q->fn = fn;
	q->fn_ctx = ctx;
	q->in_batch = true;
	/* Every buffer of the batch is parsed before the end-of-batch call, so
	 * the caller may decide the whole batch at once (engine_packet_batch). */
	for (int i = 0; i < received; i++) {
		/* An NLMSG_ERROR here is the kernel refusing an earlier verdict
		 * (for instance an id it no longer holds): count it, keep going. */
		if (mnl_cb_run(q->recv_buf + (size_t)i * RECV_BUFFER_SIZE, q->recv_msgs[i].msg_len, 0, q->portid,
			       packet_cb, q) < 0)
			STAT_ADD(q, verdict_errors, 1);
	}
	if (received > 0 && fn)
		fn(ctx, NULL);
	q->in_batch = false;
	flush_verdicts(q);
	q->fn = NULL;
	q->fn_ctx = NULL;
	STAT_ADD(q, batches, 1);
	return (int)STAT_GET(q, received) - packets_before;
}

/* ---- configuration ---- */

/* Sends one configuration message with NLM_F_ACK and waits for its ack.
 * Packets that arrive meanwhile are accepted unmarked. Returns 0 or -errno. */
static int config_request(struct nfqueue *q, struct nlmsghdr *nlh)
{
	uint32_t seq = ++q->seq;
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(q->nl, q->recv_buf, RECV_BUFFER_SIZE);
		int rc;
		if (len < 0) {
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			return -errno;
		}
		rc = mnl_cb_run(q->recv_buf, (size_t)len, seq, q->portid, packet_cb, q);
		if (rc == MNL_CB_ERROR)
			return errno ? -errno : -EIO;
		if (rc == MNL_CB_STOP)
			return 0;
	}
}

/* The netlink port bound to queue num in this network namespace, -1 when
 * none (/proc/net/netfilter/nfnetlink_queue), to explain a refused bind. */
static long queue_owner(uint16_t num)
{
	FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "r");
	unsigned long q, portid;
	long owner = -1;
	char rest[128];
	if (!f)
		return -1;
	while (fscanf(f, "%lu %lu", &q, &portid) == 2) {
		if (q == num) {
			owner = (long)portid;
			break;
		}
		if (!fgets(rest, sizeof(rest), f))
			break;
	}
	fclose(f);
	return owner;
}

static struct nlmsghdr *config_message(uint8_t *buf, uint16_t queue_num)
{
	return nfq_nlmsg_put((char *)buf, NFQNL_MSG_CONFIG, queue_num);
}

/* On failure errno says why (EBUSY: another process owns the queue;
 * EOPNOTSUPP: a flag the kernel lacks, such as conntrack). */
struct nfqueue *nfqueue_open(const struct nfqueue_options *opt, char *err, size_t err_size)
{
	uint8_t buf[CONFIG_BUFFER_SIZE] __attribute__((aligned(4)));
	struct nfqueue *q = calloc(1, sizeof(*q));
	struct nlmsghdr *nlh;
	uint32_t flags, mask;
	int one = 1, rcvbuf, rc;

	if (!q)
		goto oom;
	q->queue_num = opt->queue_num;
	q->conntrack = opt->conntrack;
	q->configuring = true;
	q->recv_buf = malloc((size_t)RECEIVE_BATCH * RECV_BUFFER_SIZE);
	q->send_buf = malloc(SEND_BUFFER_SIZE);
	if (!q->recv_buf || !q->send_buf)
		goto oom;
	for (unsigned i = 0; i < RECEIVE_BATCH; i++) {
		q->recv_iov[i] = (struct iovec){ q->recv_buf + (size_t)i * RECV_BUFFER_SIZE, RECV_BUFFER_SIZE };
		q->recv_msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &q->recv_iov[i], .msg_iovlen = 1 };
	}
	q->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!q->nl) {
		snprintf(err, err_size, "queue %u: netlink socket: %s", opt->queue_num, strerror(errno));
		goto fail;
	}
	if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, err_size, "queue %u: netlink bind: %s", opt->queue_num, strerror(errno));
		goto fail;
	}
	q->portid = mnl_socket_get_portid(q->nl);
	q->seq = (uint32_t)opt->queue_num << 16;
	/* Overflow shows up in the kernel's per-queue counters; an ENOBUFS
	 * error on our socket would only interrupt the receive loop. */
	setsockopt(mnl_socket_get_fd(q->nl), SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	if (opt->rcvbuf_bytes) {
		rcvbuf = opt->rcvbuf_bytes > (uint32_t)INT32_MAX ? INT32_MAX : (int)opt->rcvbuf_bytes;
		if (setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
			setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	}

	nlh = config_message(buf, opt->queue_num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	rc = config_request(q, nlh);
	if (rc < 0) {
		long owner = queue_owner(opt->queue_num);
		if (owner >= 0)
			snprintf(err, err_size, "queue %u: bind failed: %s (another process owns this queue: "
				 "netlink port %ld)", opt->queue_num, strerror(-rc), owner);
		else
			snprintf(err, err_size, "queue %u: bind failed: %s%s", opt->queue_num, strerror(-rc),
				 rc == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
		nfqueue_close(q);
		errno = -rc;
		return NULL;
	}

	nlh = config_message(buf, opt->queue_num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, COPY_RANGE);
	if (opt->max_len)
		nfq_nlmsg_cfg_put_qmaxlen(nlh, opt->max_len);
	flags = NFQA_CFG_F_GSO;
	if (opt->fail_open)
		flags |= NFQA_CFG_F_FAIL_OPEN;
	if (opt->conntrack)
		flags |= NFQA_CFG_F_CONNTRACK;
	mask = NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_CONNTRACK;
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
	rc = config_request(q, nlh);
	if (rc < 0) {
		/* EOPNOTSUPP for NFQA_CFG_F_CONNTRACK: the kernel was built without
		 * CONFIG_NETFILTER_NETLINK_GLUE_CT; the caller may retry without it. */
		snprintf(err, err_size, "queue %u: configuration (copy range, length %u, flags 0x%x) refused: %s%s",
			 opt->queue_num, opt->max_len, flags, strerror(-rc),
			 rc == -EOPNOTSUPP && opt->conntrack ?
			 " (no conntrack support in NFQUEUE: kernel without NETFILTER_NETLINK_GLUE_CT)" : "");
		nfqueue_close(q);
		errno = -rc;
		return NULL;
	}
	q->configuring = false;
	return q;

oom:
	snprintf(err, err_size, "queue %u: out of memory", opt->queue_num);
fail:
	nfqueue_close(q);
	return NULL;
}

void nfqueue_close(struct nfqueue *q)
{
	if (!q)
		return;
	if (q->nl) {
		if (q->portid) {
			uint8_t buf[CONFIG_BUFFER_SIZE] __attribute__((aligned(4)));
			struct nlmsghdr *nlh = config_message(buf, q->queue_num);
			nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_UNBIND);
			mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len);
		}
		mnl_socket_close(q->nl);
	}
	free(q->recv_buf);
	free(q->send_buf);
	free(q);
}

int nfqueue_fd(const struct nfqueue *q)
{
	return mnl_socket_get_fd(q->nl);
}

void nfqueue_get_stats(const struct nfqueue *q, struct nfqueue_stats *out)
{
	out->received = STAT_GET(q, received);
	out->batches = STAT_GET(q, batches);
	out->enobufs = STAT_GET(q, enobufs);
	out->verdicts = STAT_GET(q, verdicts);
	out->verdict_errors = STAT_GET(q, verdict_errors);
}
