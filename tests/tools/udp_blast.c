/* udp_blast.c - bounded UDP load generator for the live benchmark: N flows
 * (distinct source ports) of RTP-like or SIP OPTIONS datagrams, sent with
 * sendmmsg on a raw socket, rate-limited or flat-out, until COUNT or SECONDS. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 256
#define MAX_FLOWS 65536
#define MAX_SRC_ADDRS 64
#define MAX_SECONDS 600
#define HEADERS_LEN (sizeof(struct iphdr) + sizeof(struct udphdr))
#define MAX_PAYLOAD 1400
#define RTP_HEADER_LEN 12

enum payload_kind { PAYLOAD_RTP, PAYLOAD_SIP_OPTIONS };

struct blast_options {
	struct in_addr dst;
	uint16_t dst_port;
	struct in_addr src[MAX_SRC_ADDRS];
	unsigned src_count;
	uint16_t sport_base;
	unsigned flows;
	unsigned payload_len;     /* RTP only: UDP payload bytes */
	uint64_t rate_pps;        /* 0 = flat-out */
	uint64_t count;
	double seconds;
	unsigned batch;
	enum payload_kind kind;
};

struct flow_state { uint16_t rtp_seq; uint32_t rtp_ts; };

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
		"usage: udp_blast --dst ADDR:PORT [--src ADDR]... [--sport-base P] [--flows N]\n"
		"                 [--size BYTES] [--rate PPS] [--count N] [--seconds S]\n"
		"                 [--batch N] [--payload rtp|sip-options]\n"
		"Sends N flows (source ports P..P+N-1, source addresses round-robin) to\n"
		"ADDR:PORT until COUNT packets or S seconds, whichever first. --rate 0 is\n"
		"flat-out. Only 127.0.0.0/8 and 198.18.0.0/15 destinations are allowed.\n"
		"Prints: sent N packets in S s (R pps), send errors E.\n");
}

/* Refuses destinations outside loopback and the benchmark range. */
static bool destination_allowed(struct in_addr dst)
{
	uint32_t host = ntohl(dst.s_addr);
	return (host >> 24) == 127 || (host >> 17) == (0xc6120000u >> 17);
}

static bool parse_u64(const char *text, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || end == text || *end || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_dst(const char *text, struct blast_options *opt)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	uint64_t port;
	if (!colon || (size_t)(colon - text) >= sizeof(host))
		return false;
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	if (inet_pton(AF_INET, host, &opt->dst) != 1 || !parse_u64(colon + 1, 65535, &port) || !port)
		return false;
	opt->dst_port = (uint16_t)port;
	return true;
}

static int parse_options(int argc, char **argv, struct blast_options *opt)
{
	static const struct option longopts[] = {
		{ "dst", required_argument, NULL, 'd' }, { "src", required_argument, NULL, 's' },
		{ "sport-base", required_argument, NULL, 'p' }, { "flows", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 'z' }, { "rate", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'n' }, { "seconds", required_argument, NULL, 't' },
		{ "batch", required_argument, NULL, 'b' }, { "payload", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;
	bool have_dst = false;
	char *end;

	*opt = (struct blast_options){ .sport_base = 10000, .flows = 1024, .payload_len = 172,
				       .count = 1000000, .seconds = 10, .batch = 64 };
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (!parse_dst(optarg, opt))
				goto bad;
			have_dst = true;
			break;
		case 's':
			if (opt->src_count == MAX_SRC_ADDRS ||
			    inet_pton(AF_INET, optarg, &opt->src[opt->src_count]) != 1)
				goto bad;
			opt->src_count++;
			break;
		case 'p':
			if (!parse_u64(optarg, 65535, &v) || !v)
				goto bad;
			opt->sport_base = (uint16_t)v;
			break;
		case 'f':
			if (!parse_u64(optarg, MAX_FLOWS, &v) || !v)
				goto bad;
			opt->flows = (unsigned)v;
			break;
		case 'z':
			if (!parse_u64(optarg, MAX_PAYLOAD, &v) || v < RTP_HEADER_LEN)
				goto bad;
			opt->payload_len = (unsigned)v;
			break;
		case 'r':
			if (!parse_u64(optarg, 100000000, &opt->rate_pps))
				goto bad;
			break;
		case 'n':
			if (!parse_u64(optarg, UINT64_C(1) << 40, &opt->count) || !opt->count)
				goto bad;
			break;
		case 't':
			opt->seconds = strtod(optarg, &end);
			if (end == optarg || *end || !(opt->seconds > 0) || opt->seconds > MAX_SECONDS)
				goto bad;
			break;
		case 'b':
			if (!parse_u64(optarg, MAX_BATCH, &v) || !v)
				goto bad;
			opt->batch = (unsigned)v;
			break;
		case 'k':
			if (!strcmp(optarg, "rtp"))
				opt->kind = PAYLOAD_RTP;
			else if (!strcmp(optarg, "sip-options"))
				opt->kind = PAYLOAD_SIP_OPTIONS;
			else
				goto bad;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	if (optind != argc || !have_dst)
		goto bad;
	if (!destination_allowed(opt->dst)) {
		fprintf(stderr, "udp_blast: destination outside 127.0.0.0/8 and 198.18.0.0/15 refused\n");
		return -1;
	}
	if ((uint32_t)opt->sport_base + opt->flows / (opt->src_count ? opt->src_count : 1) > 65536) {
		fprintf(stderr, "udp_blast: source ports run past 65535\n");
		return -1;
	}
	if (!opt->src_count) {
		inet_pton(AF_INET, "198.18.0.10", &opt->src[0]);
		opt->src_count = 1;
	}
	return 0;
bad:
	usage(stderr);
	return -1;
}

/* Flow i: source address i % src_count, source port base + i / src_count,
 * so every (address, port) pair is distinct. */
static void flow_endpoint(const struct blast_options *opt, unsigned flow,
			  struct in_addr *addr, uint16_t *port)
{
	*addr = opt->src[flow % opt->src_count];
	*port = (uint16_t)(opt->sport_base + flow / opt->src_count);
}

/* RTP: version 2, PT 8 (PCMA), per-flow sequence and timestamp, SSRC = flow. */
static unsigned fill_rtp(uint8_t *payload, unsigned len, unsigned flow, struct flow_state *st)
{
	payload[0] = 0x80;
	payload[1] = 8;
	payload[2] = (uint8_t)(st->rtp_seq >> 8);
	payload[3] = (uint8_t)st->rtp_seq;
	payload[4] = (uint8_t)(st->rtp_ts >> 24);
	payload[5] = (uint8_t)(st->rtp_ts >> 16);
	payload[6] = (uint8_t)(st->rtp_ts >> 8);
	payload[7] = (uint8_t)st->rtp_ts;
	payload[8] = (uint8_t)(flow >> 24);
	payload[9] = (uint8_t)(flow >> 16);
	payload[10] = (uint8_t)(flow >> 8);
	payload[11] = (uint8_t)flow;
	st->rtp_seq++;
	st->rtp_ts += 160;
	return len;
}

/* A complete OPTIONS request with a Call-ID and branch unique per packet
 * (every message is a new transaction, as keep-alives from many UAs are). */
static unsigned fill_sip_options(uint8_t *payload, const struct blast_options *opt,
				 struct in_addr src, uint16_t sport, uint64_t serial)
{
	char from[INET_ADDRSTRLEN], to[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &src, from, sizeof(from));
	inet_ntop(AF_INET, &opt->dst, to, sizeof(to));
	int n = snprintf((char *)payload, MAX_PAYLOAD,
			 "OPTIONS sip:%s:%u SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK-%012llu\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:bench@%s>;tag=%u\r\n"
			 "To: <sip:%s>\r\n"
			 "Call-ID: %012llu-bench@%s\r\n"
			 "CSeq: 1 OPTIONS\r\n"
			 "Contact: <sip:bench@%s:%u>\r\n"
			 "Accept: application/sdp\r\n"
			 "Content-Length: 0\r\n\r\n",
			 to, opt->dst_port, from, sport, (unsigned long long)serial, from, sport,
			 to, (unsigned long long)serial, from, from, sport);
	return n < 0 ? 0 : (unsigned)n;
}

int main(int argc, char **argv)
{
	struct blast_options opt;
	static uint8_t buffers[MAX_BATCH][HEADERS_LEN + MAX_PAYLOAD];
	struct mmsghdr msgs[MAX_BATCH];
	struct iovec iovs[MAX_BATCH];
	struct flow_state *flows = NULL;
	struct sockaddr_in to = { .sin_family = AF_INET };
	uint64_t sent = 0, send_errors = 0, serial = 0;
	unsigned next_flow = 0;
	int fd = -1, rc = 1;

	if (parse_options(argc, argv, &opt))
		return 2;
	flows = calloc(opt.flows, sizeof(*flows));
	if (!flows) {
		fprintf(stderr, "udp_blast: out of memory\n");
		goto out;
	}
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW); /* implies IP_HDRINCL */
	if (fd < 0) {
		perror("udp_blast: raw socket (needs root)");
		goto out;
	}
	int sndbuf = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
	to.sin_addr = opt.dst;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	memset(msgs, 0, sizeof(msgs));
	for (unsigned i = 0; i < opt.batch; i++) {
		iovs[i].iov_base = buffers[i];
		msgs[i].msg_hdr.msg_iov = &iovs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &to;
		msgs[i].msg_hdr.msg_namelen = sizeof(to);
	}

	double started = now_seconds(), deadline = started + opt.seconds, now = started;
	while (!stop_requested && sent < opt.count && now < deadline) {
		uint64_t want = opt.count - sent;
		if (want > opt.batch)
			want = opt.batch;
		if (opt.rate_pps) {
			uint64_t allowed = (uint64_t)((now - started) * (double)opt.rate_pps);
			if (allowed <= sent) {
				struct timespec pause = { 0, 20000 };
				nanosleep(&pause, NULL);
				now = now_seconds();
				continue;
			}
			if (allowed - sent < want)
				want = allowed - sent;
		}
		for (unsigned i = 0; i < want; i++) {
			uint8_t *pkt = buffers[i];
			struct iphdr *ip = (struct iphdr *)pkt;
			struct udphdr *udp = (struct udphdr *)(pkt + sizeof(*ip));
			uint8_t *payload = pkt + HEADERS_LEN;
			struct in_addr src;
			uint16_t sport;
			unsigned len;

			flow_endpoint(&opt, next_flow, &src, &sport);
			if (opt.kind == PAYLOAD_RTP)
				len = fill_rtp(payload, opt.payload_len, next_flow, &flows[next_flow]);
			else
				len = fill_sip_options(payload, &opt, src, sport, serial);
			serial++;
			next_flow = (next_flow + 1) % opt.flows;
			*ip = (struct iphdr){ .version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP,
					      .tot_len = htons((uint16_t)(HEADERS_LEN + len)),
					      .saddr = src.s_addr, .daddr = opt.dst.s_addr };
			/* UDP checksum 0 = none (IPv4); the kernel fills the IP checksum. */
			*udp = (struct udphdr){ .source = htons(sport), .dest = htons(opt.dst_port),
						.len = htons((uint16_t)(sizeof(*udp) + len)) };
			iovs[i].iov_len = HEADERS_LEN + len;
		}
		int n = sendmmsg(fd, msgs, (unsigned)want, 0);
		if (n < 0) {
			if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR) {
				perror("udp_blast: sendmmsg");
				goto out;
			}
			send_errors++;
		} else {
			sent += (uint64_t)n;
			/* Datagrams not sent are regenerated next round: rewind the flows. */
			for (uint64_t i = (uint64_t)n; i < want; i++)
				next_flow = (next_flow + opt.flows - 1) % opt.flows;
		}
		now = now_seconds();
	}
	double elapsed = now_seconds() - started;
	printf("udp_blast: sent %llu packets in %.3f s (%.0f pps), send errors %llu\n",
	       (unsigned long long)sent, elapsed, elapsed > 0 ? (double)sent / elapsed : 0.0,
	       (unsigned long long)send_errors);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(flows);
	return rc;
}
