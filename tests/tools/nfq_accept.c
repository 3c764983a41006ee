/* nfq_accept.c - the minimal NFQUEUE program (libmnl + nfq_nlmsg API): binds
 * one queue with sarad's socket settings and accepts every packet, no mark.
 * The live benchmark's baseline for the cost of crossing user space; with
 * --delay-ms, a verdict latency injector for the lab's experiments. */
/* <arpa/inet.h> before the kernel headers, or <linux/in.h> clashes with it. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RECV_BUFFER_SIZE (0xffff + 4096)
/* Verdict messages are ~40 bytes; flush before this many bytes pile up. */
#define VERDICT_BUFFER_SIZE 16384
#define VERDICT_FLUSH_AT (VERDICT_BUFFER_SIZE - 256)
#define MAX_SECONDS 600
#define MAX_DELAY_MS 5000

struct accept_options {
	uint16_t queue_num;
	uint32_t max_len;
	uint32_t rcvbuf_bytes;
	bool fail_open;
	bool conntrack;
	double seconds;
	unsigned delay_ms;
};

struct accept_state {
	struct mnl_socket *nl;
	unsigned port_id;
	char verdicts[VERDICT_BUFFER_SIZE];
	size_t verdict_len;
	unsigned delay_ms;
	uint64_t accepted, enobufs, verdict_errors;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nfq_accept [--queue N] [--seconds S] [--max-len PACKETS]\n"
		"                  [--rcvbuf BYTES] [--fail-open] [--conntrack] [--delay-ms MS]\n"
		"Accepts every packet of NFQUEUE N (no mark) for at most S seconds\n"
		"(default 10) or until SIGINT/SIGTERM, then prints what it did.\n"
		"--delay-ms holds each batch of verdicts MS ms (a slow verdict).\n"
		"--conntrack asks for each packet's conntrack state (NFQA_CFG_F_CONNTRACK).\n");
}

static int parse_options(int argc, char **argv, struct accept_options *opt)
{
	static const struct option longopts[] = {
		{ "queue", required_argument, NULL, 'q' }, { "seconds", required_argument, NULL, 't' },
		{ "max-len", required_argument, NULL, 'l' }, { "rcvbuf", required_argument, NULL, 'b' },
		{ "fail-open", no_argument, NULL, 'f' }, { "delay-ms", required_argument, NULL, 'd' },
		{ "conntrack", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	unsigned long v;
	int c;

	/* The same queue settings sarad uses (src/sarad, src/io/nfqueue.c): 8192
	 * packets queued and an 8 MiB receive buffer against set-up bursts. */
	*opt = (struct accept_options){ .max_len = 8192, .rcvbuf_bytes = 8u << 20, .seconds = 10 };
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			v = strtoul(optarg, &end, 10);
			if (end == optarg || *end || v > 65535)
				goto bad;
			opt->queue_num = (uint16_t)v;
			break;
		case 't':
			opt->seconds = strtod(optarg, &end);
			if (end == optarg || *end || !(opt->seconds > 0) || opt->seconds > MAX_SECONDS)
				goto bad;
			break;
		case 'l':
			v = strtoul(optarg, &end, 10);
			if (end == optarg || *end || !v || v > 1u << 24)
				goto bad;
			opt->max_len = (uint32_t)v;
			break;
		case 'b':
			v = strtoul(optarg, &end, 10);
			if (end == optarg || *end || v < 65536 || v > 1u << 30)
				goto bad;
			opt->rcvbuf_bytes = (uint32_t)v;
			break;
		case 'f':
			opt->fail_open = true;
			break;
		case 'c':
			opt->conntrack = true;
			break;
		case 'd':
			v = strtoul(optarg, &end, 10);
			if (end == optarg || *end || v > MAX_DELAY_MS)
				goto bad;
			opt->delay_ms = (unsigned)v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	return 0;
bad:
	usage(stderr);
	return -1;
}

static int send_config(struct accept_state *st, struct nlmsghdr *nlh)
{
	if (mnl_socket_sendto(st->nl, nlh, nlh->nlmsg_len) < 0) {
		perror("nfq_accept: mnl_socket_sendto");
		return -1;
	}
	return 0;
}

static int bind_queue(struct accept_state *st, const struct accept_options *opt)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	uint32_t flags = NFQA_CFG_F_GSO | (opt->fail_open ? NFQA_CFG_F_FAIL_OPEN : 0) |
			 (opt->conntrack ? NFQA_CFG_F_CONNTRACK : 0);

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, opt->queue_num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	if (send_config(st, nlh))
		return -1;
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, opt->queue_num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, opt->max_len);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(flags));
	if (send_config(st, nlh))
		return -1;
	int one = 1, size = (int)opt->rcvbuf_bytes;
	int fd = mnl_socket_get_fd(st->nl);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		perror("nfq_accept: SO_RCVBUFFORCE (continuing)");
	mnl_socket_setsockopt(st->nl, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	return 0;
}

static int flush_verdicts(struct accept_state *st)
{
	if (!st->verdict_len)
		return 0;
	ssize_t n = mnl_socket_sendto(st->nl, st->verdicts, st->verdict_len);
	st->verdict_len = 0;
	if (n < 0) {
		st->verdict_errors++;
		return -1;
	}
	return 0;
}

/* One NF_ACCEPT verdict per packet, appended to the pending batch. */
static int on_packet(const struct nlmsghdr *nlh, void *data)
{
	struct accept_state *st = data;
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	const struct nfqnl_msg_packet_hdr *ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	uint16_t queue_num = ntohs(((const struct nfgenmsg *)mnl_nlmsg_get_payload(nlh))->res_id);
	struct nlmsghdr *v = nfq_nlmsg_put(st->verdicts + st->verdict_len, NFQNL_MSG_VERDICT, queue_num);
	nfq_nlmsg_verdict_put(v, (int)ntohl(ph->packet_id), NF_ACCEPT);
	st->verdict_len += v->nlmsg_len;
	st->accepted++;
	if (st->verdict_len >= VERDICT_FLUSH_AT)
		flush_verdicts(st);
	return MNL_CB_OK;
}

static void hold_verdicts(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Reads every queued message without blocking, then answers them at once. */
static int drain(struct accept_state *st)
{
	static char buf[RECV_BUFFER_SIZE];
	bool got_packets = false;

	for (;;) {
		ssize_t n = recv(mnl_socket_get_fd(st->nl), buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			if (errno == ENOBUFS) {
				st->enobufs++;
				continue;
			}
			perror("nfq_accept: recv");
			return -1;
		}
		if (mnl_cb_run(buf, (size_t)n, 0, st->port_id, on_packet, st) < 0) {
			perror("nfq_accept: mnl_cb_run");
			return -1;
		}
		got_packets = true;
	}
	if (got_packets && st->delay_ms)
		hold_verdicts(st->delay_ms);
	flush_verdicts(st);
	return 0;
}

int main(int argc, char **argv)
{
	struct accept_options opt;
	static struct accept_state st;
	double started = now_seconds();
	int rc = 1;

	if (parse_options(argc, argv, &opt))
		return 2;
	st.nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!st.nl) {
		perror("nfq_accept: mnl_socket_open");
		return 1;
	}
	if (mnl_socket_bind(st.nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("nfq_accept: mnl_socket_bind");
		goto out;
	}
	st.port_id = mnl_socket_get_portid(st.nl);
	st.delay_ms = opt.delay_ms;
	if (bind_queue(&st, &opt))
		goto out;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("nfq_accept: queue %u bound\n", opt.queue_num);
	fflush(stdout);

	started = now_seconds();
	double deadline = started + opt.seconds;
	struct pollfd pfd = { .fd = mnl_socket_get_fd(st.nl), .events = POLLIN };
	while (!stop_requested) {
		double left = deadline - now_seconds();
		if (left <= 0)
			break;
		int ready = poll(&pfd, 1, left > 0.1 ? 100 : (int)(left * 1000) + 1);
		if (ready < 0 && errno != EINTR) {
			perror("nfq_accept: poll");
			goto out;
		}
		if (ready > 0 && drain(&st))
			goto out;
	}
	rc = 0;
out:
	printf("nfq_accept: queue %u accepted %llu packets in %.1f s, enobufs %llu, verdict errors %llu\n",
	       opt.queue_num, (unsigned long long)st.accepted, now_seconds() - started,
	       (unsigned long long)st.enobufs, (unsigned long long)st.verdict_errors);
	mnl_socket_close(st.nl);
	return rc;
}
