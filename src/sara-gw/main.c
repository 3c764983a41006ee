/* sara_gw.c - sara-gw, the gateway companion: takes the servers' outbound
 * signalling from an NFQUEUE, announces the media flows it learns to sarad
 * (sealed UDP), then accepts the packet. --decode prints received announcements. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "io/sockaddr.h"
#include "engine/announce_codec.h"
#include "io/clock.h"
#include "engine/config.h"
#include "io/config_file.h"
#include "io/log.h"
#include "io/udp_listen.h"
#include "engine/gateway.h"
#include "io/nfqueue.h"
#include <signal.h>
#include "dpi/sip.h"
#include "dpi/rtsp.h"
#include "engine/wire.h"
#include "io/key_file.h"

#define GW_MAX_ANNOUNCEMENTS 16     /* per packet: a TCP segment may end several messages */
#define GW_QUEUE_MAX_LEN 4096       /* kernel queue length (packets) */
#define GW_RCVBUF_BYTES (4u << 20)  /* bursts of replies must not overflow the socket */
#define GW_RECEIVE_TIMEOUT_MS 500   /* how late a signal flag is noticed at most */
#define DECODE_MAX_SKEW_MS 10000

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t dump_requested;
static volatile sig_atomic_t hup_received; /* SIGHUP: no reload here; said, not fatal */

struct gw_stats {
	uint64_t packets, announcements, sent, send_errors, encode_errors, verdict_errors;
};

struct gw {
	struct sara_config cfg;
	struct gateway *gateway;
	struct nfqueue *queue;
	struct wire_key key;
	uint32_t sender;
	uint64_t seq;
	int sock;
	struct sockaddr_storage dispatcher;
	socklen_t dispatcher_len;
	struct gw_stats stats;
};

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		dump_requested = 1;
	else if (sig == SIGHUP)
		hup_received = 1;
	else
		stop_requested = 1;
}

/* No SA_RESTART: a blocking wait returns EINTR and the loop looks at the flags. */
static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ---- gateway mode ---- */

static void send_announcement(struct gw *g, const struct announcement *ann)
{
	uint8_t body[WIRE_MAX_BODY];
	uint8_t msg[WIRE_MAX_MESSAGE];
	struct wire_header hdr;
	size_t body_len = announce_encode(ann, body, sizeof(body)), len;
	g->stats.announcements++;
	if (body_len == 0) {
		g->stats.encode_errors++;
		return;
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = WIRE_ANNOUNCE;
	hdr.body_len = (uint16_t)body_len;
	hdr.sender = g->sender;
	hdr.seq = g->seq++;
	hdr.time_ms = clock_ms(CLOCK_REALTIME);
	len = wire_seal(&g->key, &hdr, body, msg, sizeof(msg));
	if (len == 0) {
		g->stats.encode_errors++;
		return;
	}
	/* Never block the queue on a full socket buffer: count and go on. */
	if (sendto(g->sock, msg, len, MSG_DONTWAIT, (const struct sockaddr *)&g->dispatcher,
		   g->dispatcher_len) != (ssize_t)len)
		g->stats.send_errors++;
	else
		g->stats.sent++;
}

/* Announce first, accept after: the dispatcher learns the server-side media
 * ports before the reply that carries them can reach the client. */
static void on_packet(void *ctx, const struct nfqueue_packet *pkt)
{
	struct gw *g = ctx;
	struct announcement anns[GW_MAX_ANNOUNCEMENTS];
	size_t n;
	if (!pkt)
		return; /* end of a batch: each packet was answered already */
	g->stats.packets++;
	n = gateway_packet(g->gateway, pkt->payload, pkt->len, clock_ms(CLOCK_MONOTONIC), anns,
			   GW_MAX_ANNOUNCEMENTS);
	for (size_t i = 0; i < n; i++)
		send_announcement(g, &anns[i]);
	/* Fail-open: whatever happened above, the server's packet goes on. */
	if (nfqueue_verdict(g->queue, pkt->id, true, 0, false) < 0)
		g->stats.verdict_errors++;
}

static void print_counter(void *ctx, const struct counter_def *def, uint64_t value)
{
	(void)ctx;
	log_msg(LOG_INFO, "counter gateway.%s %llu", def->name, (unsigned long long)value);
}

static void print_counters(const struct gw *g)
{
	struct nfqueue_stats qs;
	log_msg(LOG_INFO, "counter packets %llu", (unsigned long long)g->stats.packets);
	log_msg(LOG_INFO, "counter announcements %llu", (unsigned long long)g->stats.announcements);
	log_msg(LOG_INFO, "counter sent %llu", (unsigned long long)g->stats.sent);
	log_msg(LOG_INFO, "counter send_errors %llu", (unsigned long long)g->stats.send_errors);
	log_msg(LOG_INFO, "counter encode_errors %llu", (unsigned long long)g->stats.encode_errors);
	log_msg(LOG_INFO, "counter verdict_errors %llu", (unsigned long long)g->stats.verdict_errors);
	if (g->queue) {
		nfqueue_get_stats(g->queue, &qs);
		log_msg(LOG_INFO, "counter queue.received %llu", (unsigned long long)qs.received);
		log_msg(LOG_INFO, "counter queue.enobufs %llu", (unsigned long long)qs.enobufs);
		log_msg(LOG_INFO, "counter queue.verdict_errors %llu",
			(unsigned long long)qs.verdict_errors);
	}
	if (g->gateway)
		counters_visit(gateway_counters(g->gateway), COUNTER_SCOPE_GATEWAY, COUNTERS_REPORTED, print_counter,
			       NULL);
}

static int run_gateway(struct gw *g, uint16_t queue_num, bool foreground)
{
	struct nfqueue_options opt = {
		.queue_num = queue_num,
		.max_len = GW_QUEUE_MAX_LEN,
		.rcvbuf_bytes = GW_RCVBUF_BYTES,
		.fail_open = true,
		.conntrack = false,
	};
	char err[512];
	char where[ENDPOINT_STRLEN];
	int status = 0;
	g->sock = socket(g->dispatcher.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (g->sock < 0) {
		log_msg(LOG_ERR, "socket: %s", strerror(errno));
		return 1;
	}
	g->gateway = gateway_create(&g->cfg, clock_ms(CLOCK_MONOTONIC), err, sizeof(err));
	if (!g->gateway) {
		log_msg(LOG_ERR, "%s", err);
		status = 1;
		goto out;
	}
	g->queue = nfqueue_open(&opt, err, sizeof(err));
	if (!g->queue) {
		log_msg(LOG_ERR, "queue %u: %s", queue_num, err);
		status = 1;
		goto out;
	}
	if (!foreground) {
		if (daemon(0, 0) != 0) {
			log_msg(LOG_ERR, "daemon: %s", strerror(errno));
			status = 1;
			goto out;
		}
		log_open("sara-gw", false, true);
	}
	install_signals();
	log_msg(LOG_INFO, "queue %u, announcing to %s as sender %u", queue_num,
		endpoint_format(&g->cfg.gateway.listen, where, sizeof(where)), g->sender);
	while (!stop_requested) {
		int n = nfqueue_receive(g->queue, GW_RECEIVE_TIMEOUT_MS, on_packet, g, err, sizeof(err));
		if (dump_requested) {
			dump_requested = 0;
			print_counters(g);
		}
		if (hup_received) {
			hup_received = 0;
			log_msg(LOG_WARNING, "SIGHUP: sara-gw has no configuration reload; restart it to apply "
				"changes");
		}
		if (n < 0 && !stop_requested && errno != EINTR) {
			log_msg(LOG_ERR, "queue %u: %s", queue_num, err);
			status = 1;
			break;
		}
	}
	print_counters(g);
out:
	if (g->queue)
		nfqueue_close(g->queue);
	gateway_destroy(g->gateway);
	close(g->sock);
	return status;
}

/* ---- decode mode: a receiver for tests and for debugging a deployment ---- */

static const char *method_name(const struct signal_facts *f)
{
	if (f->proto == PROTO_SIP)
		return sip_method_name((enum sip_method)f->method);
	if (f->proto == PROTO_RTSP)
		return rtsp_method_name((enum rtsp_method)f->method);
	return "?";
}

static void print_announcement(const struct wire_header *hdr, const struct announcement *ann,
			       enum counter_id cluster_reason, uint64_t now_ms)
{
	const struct signal_facts *f = &ann->facts;
	struct endpoint src, dst;
	char s[ENDPOINT_STRLEN], d[ENDPOINT_STRLEN], a[NETADDR_STRLEN];
	flow_key_src(&ann->conn, &src);
	flow_key_dst(&ann->conn, &dst);
	printf("announce sender %u seq %llu age_ms %lld %s %s -> %s %s %s %s %u key \"%.*s\" flags%s%s%s%s%s%s media %s streams %u",
	       hdr->sender, (unsigned long long)hdr->seq, (long long)(now_ms - hdr->time_ms),
	       ann->conn.l4 == L4_TCP ? "tcp" : "udp", endpoint_format(&src, s, sizeof(s)),
	       endpoint_format(&dst, d, sizeof(d)), proto_name((enum proto_id)f->proto),
	       f->is_request ? "request" : "response", method_name(f), f->status, (int)f->key_len, f->key,
	       f->creates_session ? " creates" : "", f->confirms_session ? " confirms" : "",
	       f->ends_session ? " ends" : "", f->ends_if_unconfirmed ? " ends_if_unconfirmed" : "",
	       f->transaction_only ? " transaction_only" : "",
	       f->creates_session || f->confirms_session || f->ends_session || f->ends_if_unconfirmed ||
			       f->transaction_only
		       ? ""
		       : " none",
	       f->media_op == MEDIA_REPLACE ? "replace" : f->media_op == MEDIA_MERGE ? "merge" : "none",
	       f->stream_count);
	for (unsigned i = 0; i < f->stream_count; i++) {
		const struct signal_stream *st = &f->streams[i];
		printf(" [%s%s %s rtp %u rtcp %u peer %u/%u]", st->enabled ? "on" : "off",
		       st->multicast ? " multicast" : "",
		       st->addr.family ? netaddr_format(&st->addr, a, sizeof(a)) : "peer", st->rtp_port,
		       st->rtcp_port, st->peer_rtp_port, st->peer_rtcp_port);
	}
	printf(" cluster %s\n", cluster_reason != COUNTER_NONE ? counter_name(cluster_reason) : "ok");
}

static int run_decode(struct gw *g, const struct endpoint *listen_on, unsigned long count)
{
	static struct wire_replay replay;  /* 256 senders: keep it off the stack */
	char where[ENDPOINT_STRLEN], why[128];
	unsigned long seen = 0;
	int status = 0;
	g->sock = udp_listen(listen_on, why, sizeof(why));
	if (g->sock < 0) {
		log_msg(LOG_ERR, "%s", why);
		status = 1;
		goto out;
	}
	install_signals();
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("listening %s\n", endpoint_format(listen_on, where, sizeof(where)));
	while (!stop_requested && (count == 0 || seen < count)) {
		uint8_t msg[WIRE_MAX_MESSAGE + 1];
		struct wire_header hdr;
		const uint8_t *body;
		struct announcement ann;
		enum counter_id reason;
		uint64_t now_ms;
		enum wire_verdict verdict;
		ssize_t r = recv(g->sock, msg, sizeof(msg), 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			log_msg(LOG_ERR, "recv: %s", strerror(errno));
			status = 1;
			break;
		}
		seen++;
		now_ms = clock_ms(CLOCK_REALTIME);
		verdict = wire_open(&g->key, &replay, msg, (size_t)r, now_ms, DECODE_MAX_SKEW_MS, &hdr, &body);
		if (verdict != WIRE_OK) {
			printf("rejected %s len %zd\n", counter_name(wire_verdict_counter(verdict)), r);
			continue;
		}
		if (hdr.type != WIRE_ANNOUNCE) {
			printf("message type %u sender %u seq %llu len %u\n", hdr.type, hdr.sender,
			       (unsigned long long)hdr.seq, hdr.body_len);
			continue;
		}
		reason = announce_decode(body, hdr.body_len, &ann);
		if (reason != COUNTER_NONE) {
			printf("rejected %s sender %u seq %llu\n", counter_name(reason), hdr.sender,
			       (unsigned long long)hdr.seq);
			continue;
		}
		print_announcement(&hdr, &ann, announce_check_cluster(&g->cfg, &ann), now_ms);
	}
out:
	if (g->sock >= 0)
		close(g->sock);
	return status;
}

/* ---- main ---- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sara-gw -c CLUSTER.cfg [--id N] [--queue N] [--foreground] [--check-config]\n"
		"       sara-gw -c CLUSTER.cfg --decode [--listen ADDR:PORT] [--count N]\n"
		"The gateway companion: inspects the servers' outbound signalling taken from\n"
		"an NFQUEUE, announces the media flows it learns to sarad (gateway.listen,\n"
		"authenticated with key_file), then accepts the packet.\n"
		"  -c, --config FILE   the cluster's configuration\n"
		"      --id N          sender id in announcements (default 1; one per gateway)\n"
		"      --queue N       NFQUEUE number (default queue.first + queue.count: the\n"
		"                      first number after sarad's queues, so both can share a host)\n"
		"      --foreground    stay in the foreground and log to stderr (else daemon, syslog)\n"
		"      --check-config  validate the configuration and the key file and exit\n"
		"      --decode        receive announcements instead and print them, one a line\n"
		"      --listen EP     address for --decode (default gateway.listen)\n"
		"      --count N       with --decode: exit after N datagrams\n"
		"SIGUSR1 prints the counters; SIGTERM/SIGINT print them and exit.\n");
}

static bool parse_number(const char *text, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || end == text || *end != '\0' || text[0] == '-' || v > max)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "id", required_argument, NULL, 'i' },
		{ "queue", required_argument, NULL, 'q' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "decode", no_argument, NULL, 'D' },
		{ "listen", required_argument, NULL, 'l' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct gw g;  /* large (config): not on the stack */
	const char *config_path = NULL, *listen_text = NULL;
	bool foreground = false, check_config = false, decode = false, queue_given = false;
	unsigned long id = 1, queue_num = 0, count = 0;
	struct endpoint listen_on;
	char err[512], where[ENDPOINT_STRLEN];
	int opt;

	g.sock = -1;
	log_open("sara-gw", true, false);
	while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'i':
			if (!parse_number(optarg, UINT32_MAX, &id)) {
				fprintf(stderr, "sara-gw: --id %s: want a number 0..4294967295\n", optarg);
				return 2;
			}
			break;
		case 'q':
			if (!parse_number(optarg, UINT16_MAX, &queue_num)) {
				fprintf(stderr, "sara-gw: --queue %s: want a number 0..65535\n", optarg);
				return 2;
			}
			queue_given = true;
			break;
		case 'f': foreground = true; break;
		case 'C': check_config = true; break;
		case 'D': decode = true; break;
		case 'l': listen_text = optarg; break;
		case 'n':
			if (!parse_number(optarg, ULONG_MAX, &count)) {
				fprintf(stderr, "sara-gw: --count %s: want a number\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!config_path || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!sara_config_load(config_path, &g.cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (!key_file_load(g.cfg.key_file, &g.key, err, sizeof(err))) {
		fprintf(stderr, "sara-gw: key_file %s\n", err);
		return 2;
	}
	if (decode) {
		listen_on = g.cfg.gateway.listen;
		if (listen_text && !endpoint_parse(span_make(listen_text, strlen(listen_text)), &listen_on)) {
			fprintf(stderr, "sara-gw: --listen %s: want ADDR:PORT or [ADDR]:PORT\n", listen_text);
			return 2;
		}
		if (listen_on.addr.family == 0) {
			fprintf(stderr, "sara-gw: %s: gateway.listen is not set and no --listen given\n",
				config_path);
			return 2;
		}
		return run_decode(&g, &listen_on, count);
	}
	if ((g.dispatcher_len = endpoint_to_sockaddr(&g.cfg.gateway.listen, &g.dispatcher)) == 0) {
		fprintf(stderr, "sara-gw: %s: gateway.listen is not set: sara-gw needs sarad's address\n",
			config_path);
		return 2;
	}
	if (!queue_given) {
		queue_num = (unsigned long)g.cfg.queue.first + g.cfg.queue.count;
		if (queue_num > UINT16_MAX) {
			fprintf(stderr, "sara-gw: %s: no queue number after queue.first + queue.count; use --queue\n",
				config_path);
			return 2;
		}
	}
	if (check_config) {
		printf("%s: ok (queue %lu, announcing to %s as sender %lu)\n", config_path, queue_num,
		       endpoint_format(&g.cfg.gateway.listen, where, sizeof(where)), id);
		return 0;
	}
	g.sender = (uint32_t)id;
	/* A restarted gateway continues above every sequence it used before. */
	g.seq = clock_us(CLOCK_REALTIME);
	return run_gateway(&g, (uint16_t)queue_num, foreground);
}
