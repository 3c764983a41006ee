/* test_reject_sender.c - unit tests of the reply token bucket, and real 503s
 * and RSTs sent over loopback from a non-local source (skipped unless root). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/log.h"
#include "dpi/packet.h"
#include "packet_builder.h"
#include "io/reject_sender.h"

#define CALL_ID "f81d4fae-7dec-11d0-a765-00a0c91e6bf6@198.51.100.7"
#define NOT_LOCAL_VIP6 "2001:db8:77::20" /* documentation prefix: never local */

static const char invite_fmt[] = "INVITE sip:bob@%s SIP/2.0\r\n"
				 "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK74bf9\r\n"
				 "Max-Forwards: 70\r\n"
				 "From: Alice <sip:alice@example.com>;tag=9fxced76sl\r\n"
				 "To: Bob <sip:bob@example.com>\r\n"
				 "Call-ID: " CALL_ID "\r\n"
				 "CSeq: 314159 INVITE\r\n"
				 "Contact: <sip:alice@%s:%u>\r\n"
				 "Content-Length: 0\r\n\r\n";

static void test_bucket_burst_and_refill(void **state)
{
	(void)state;
	struct reply_bucket b;
	reply_bucket_init(&b, 3);
	/* Full at the first call: a burst of 3. */
	assert_true(reply_bucket_take(&b, 1000));
	assert_true(reply_bucket_take(&b, 1000));
	assert_true(reply_bucket_take(&b, 1000));
	assert_false(reply_bucket_take(&b, 1000));
	/* 3/s: one token per 333.3 ms. */
	assert_false(reply_bucket_take(&b, 1333));
	assert_true(reply_bucket_take(&b, 1334));
	assert_false(reply_bucket_take(&b, 1334));
	/* A long pause refills to the burst, never beyond. */
	for (int i = 0; i < 3; i++)
		assert_true(reply_bucket_take(&b, 100000));
	assert_false(reply_bucket_take(&b, 100000));
}

static void test_bucket_rate_over_time(void **state)
{
	(void)state;
	struct reply_bucket b;
	reply_bucket_init(&b, 7);
	/* Asking every millisecond for 10 s lets through burst + rate * 10 s. */
	unsigned allowed = 0;
	for (uint64_t t = 0; t <= 10000; t++)
		allowed += reply_bucket_take(&b, 5000 + t);
	assert_int_equal(allowed, 7 + 70);
}

static void test_bucket_edges(void **state)
{
	(void)state;
	struct reply_bucket b;
	/* 0 is taken as 1 a second, burst 1. */
	reply_bucket_init(&b, 0);
	assert_true(reply_bucket_take(&b, 0));
	assert_false(reply_bucket_take(&b, 999));
	assert_true(reply_bucket_take(&b, 1000));
	/* A clock that steps back refills nothing and keeps the reference. */
	assert_false(reply_bucket_take(&b, 10));
	assert_false(reply_bucket_take(&b, 1999));
	assert_true(reply_bucket_take(&b, 2000));
	/* Huge gaps and rates do not overflow. */
	reply_bucket_init(&b, 1000000);
	assert_true(reply_bucket_take(&b, 0));
	assert_true(reply_bucket_take(&b, UINT64_MAX));
	unsigned allowed = 0;
	for (unsigned i = 0; i < 1000001; i++)
		allowed += reply_bucket_take(&b, UINT64_MAX);
	assert_int_equal(allowed, 1000000 - 1);
}

struct counters {
	uint64_t sent_503, sent_reset, rate_limited, unbuildable, send_errors, with_oc;
	unsigned names;
};

static void collect(void *ctx, const struct counter_def *def, uint64_t value)
{
	const char *name = def->name;
	struct counters *c = ctx;
	c->names++;
	if (strcmp(name, "reply_sent_503") == 0)
		c->sent_503 = value;
	else if (strcmp(name, "reply_sent_reset") == 0)
		c->sent_reset = value;
	else if (strcmp(name, "reply_rate_limited") == 0)
		c->rate_limited = value;
	else if (strcmp(name, "reply_unbuildable") == 0)
		c->unbuildable = value;
	else if (strcmp(name, "reply_send_errors") == 0)
		c->send_errors = value;
	else if (strcmp(name, "reply_503_oc") == 0)
		c->with_oc = value;
	else
		fail_msg("unexpected counter %s", name);
}

static struct counters read_counters(struct reject_sender *rs)
{
	struct counters c = { 0 };
	struct counter_set set;
	reject_sender_get_counters(rs, &set);
	counters_visit(&set, COUNTER_SCOPE_REPLY, COUNTERS_REPORTED, collect, &c);
	assert_int_equal(c.names, 6);
	return c;
}

/* Opens a sender, or skips the test when raw sockets need a privilege we
 * do not have. */
static struct reject_sender *open_or_skip(uint32_t replies_per_s)
{
	char err[256];
	struct reject_sender *rs = reject_sender_open(replies_per_s, err, sizeof(err));
	if (!rs && (errno == EPERM || errno == EACCES)) {
		print_message("skipped: %s (raw sockets need CAP_NET_RAW)\n", err);
		skip();
	}
	if (!rs)
		fail_msg("%s", err);
	return rs;
}

/* A UDP socket bound to address:0 (an ephemeral port), or -1 and a skip
 * message when the family or address is missing here. */
static int udp_receiver(int family, const char *address, uint16_t *port)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t ss_len;
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, address, &sin->sin_addr), 1);
		ss_len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, address, &sin6->sin6_addr), 1);
		ss_len = sizeof(*sin6);
	}
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, ss_len) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &ss_len) != 0) {
		print_message("no UDP socket on %s: %s\n", address, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

/* Waits up to 2 s for one datagram; returns its length (or -1). */
static ssize_t receive(int fd, uint8_t *buf, size_t cap, struct sockaddr_storage *from)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, 2000) != 1)
		return -1;
	socklen_t from_len = sizeof(*from);
	return recvfrom(fd, buf, cap, 0, (struct sockaddr *)from, &from_len);
}

/* The INVITE the client at client:port sent to vip:5060, as NFQUEUE would
 * hand it to sarad. */
static size_t refused_invite(int family, const char *client, uint16_t port, const char *vip,
			     uint8_t *buf, size_t cap)
{
	/* SIP writes IPv6 addresses in brackets (RFC 3261 25.1). */
	char vip_host[64], client_host[64], invite[1024];
	snprintf(vip_host, sizeof(vip_host), family == AF_INET6 ? "[%s]" : "%s", vip);
	snprintf(client_host, sizeof(client_host), family == AF_INET6 ? "[%s]" : "%s", client);
	int n = snprintf(invite, sizeof(invite), invite_fmt, vip_host, client_host, port,
			 client_host, port);
	assert_true(n > 0 && (size_t)n < sizeof(invite));
	size_t len = packet_build_udp(family, client, port, vip, 5060, invite, (size_t)n, buf, cap);
	assert_true(len > 0);
	return len;
}

static void assert_503(const uint8_t *reply, ssize_t len)
{
	assert_true(len > 0);
	const char *text = (const char *)reply;
	assert_true((size_t)len > strlen("SIP/2.0 503 "));
	assert_memory_equal(text, "SIP/2.0 503 ", strlen("SIP/2.0 503 "));
	assert_non_null(memmem(text, (size_t)len, "Call-ID: " CALL_ID "\r\n",
			       strlen("Call-ID: " CALL_ID "\r\n")));
	assert_non_null(memmem(text, (size_t)len, "Retry-After: 30\r\n", strlen("Retry-After: 30\r\n")));
	assert_non_null(memmem(text, (size_t)len, "CSeq: 314159 INVITE\r\n",
			       strlen("CSeq: 314159 INVITE\r\n")));
}

/* The 503 reaches the client from 127.0.0.2:5060, an address the client
 * never talked to, with the refused request's Call-ID. */
static void test_send_503_ipv4_loopback(void **state)
{
	(void)state;
	struct reject_sender *rs = open_or_skip(100);
	uint16_t port = 0;
	int fd = udp_receiver(AF_INET, "127.0.0.1", &port);
	assert_true(fd >= 0);

	uint8_t refused[2048];
	size_t len = refused_invite(AF_INET, "127.0.0.1", port, "127.0.0.2", refused,
				    sizeof(refused));
	assert_int_equal(reject_sender_sip_503(rs, refused, len, 30, NULL, 1000), REJECT_SEND_OK);

	uint8_t reply[4096];
	struct sockaddr_storage from;
	ssize_t n = receive(fd, reply, sizeof(reply), &from);
	assert_503(reply, n);
	assert_int_equal(from.ss_family, AF_INET);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&from;
	char from_text[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &sin->sin_addr, from_text, sizeof(from_text));
	assert_string_equal(from_text, "127.0.0.2");
	assert_int_equal(ntohs(sin->sin_port), 5060);

	struct counters c = read_counters(rs);
	assert_int_equal(c.sent_503, 1);
	assert_int_equal(c.send_errors + c.unbuildable + c.rate_limited + c.sent_reset, 0);
	close(fd);
	reject_sender_close(rs);
}

/* The same over IPv6: to ::1 from a documentation address no host owns. */
static void test_send_503_ipv6_loopback(void **state)
{
	(void)state;
	struct reject_sender *rs = open_or_skip(100);
	uint16_t port = 0;
	int fd = udp_receiver(AF_INET6, "::1", &port);
	if (fd < 0) {
		reject_sender_close(rs);
		skip();
	}
	uint8_t refused[2048];
	size_t len = refused_invite(AF_INET6, "::1", port, NOT_LOCAL_VIP6, refused,
				    sizeof(refused));
	int rc = reject_sender_sip_503(rs, refused, len, 30, NULL, 1000);
	struct counters c = read_counters(rs);
	if (rc == REJECT_SEND_FAILED && c.send_errors == 1) {
		/* No IPv6 raw socket in this kernel. */
		print_message("skipped: IPv6 raw send failed here\n");
		close(fd);
		reject_sender_close(rs);
		skip();
	}
	assert_int_equal(rc, REJECT_SEND_OK);

	uint8_t reply[4096];
	struct sockaddr_storage from;
	ssize_t n = receive(fd, reply, sizeof(reply), &from);
	assert_503(reply, n);
	assert_int_equal(from.ss_family, AF_INET6);
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&from;
	char from_text[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, &sin6->sin6_addr, from_text, sizeof(from_text));
	assert_string_equal(from_text, NOT_LOCAL_VIP6);
	assert_int_equal(ntohs(sin6->sin6_port), 5060);
	assert_int_equal(read_counters(rs).sent_503, 1);
	close(fd);
	reject_sender_close(rs);
}

/* The RST leaves for 127.0.0.1 from 127.0.0.2:554; a raw TCP socket (which
 * sees every TCP segment the host receives) catches it. */
static void test_send_reset_ipv4_loopback(void **state)
{
	(void)state;
	struct reject_sender *rs = open_or_skip(100);
	int sniffer = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
	assert_true(sniffer >= 0);
	/* A client port nothing else uses: the one of a bound UDP socket
	 * serves, the RST is matched on ports and addresses. */
	uint16_t port = 0;
	int holder = udp_receiver(AF_INET, "127.0.0.1", &port);
	assert_true(holder >= 0);

	uint8_t syn[128];
	size_t len = packet_build_tcp(AF_INET, "127.0.0.1", port, "127.0.0.2", 554, 123456,
				      TCP_FLAG_SYN, NULL, 0, syn, sizeof(syn));
	assert_int_equal(reject_sender_tcp_reset(rs, syn, len, 1000), REJECT_SEND_OK);

	bool seen = false;
	for (int tries = 0; tries < 1000 && !seen; tries++) {
		uint8_t seg[2048];
		struct sockaddr_storage from;
		ssize_t n = receive(sniffer, seg, sizeof(seg), &from);
		if (n < 0)
			break;
		struct packet p;
		if (packet_decode(seg, (size_t)n, &p) != PACKET_OK || p.key.sport != 554 ||
		    p.key.dport != port)
			continue;
		const uint8_t want_src[4] = { 127, 0, 0, 2 }, want_dst[4] = { 127, 0, 0, 1 };
		assert_memory_equal(p.key.src, want_src, 4);
		assert_memory_equal(p.key.dst, want_dst, 4);
		assert_int_equal(p.tcp_flags, TCP_FLAG_RST | TCP_FLAG_ACK);
		assert_int_equal(p.tcp_seq, 0);
		assert_int_equal(p.tcp_ack, 123457);
		seen = true;
	}
	assert_true(seen);
	assert_int_equal(read_counters(rs).sent_reset, 1);
	close(holder);
	close(sniffer);
	reject_sender_close(rs);
}

/* One bucket for both kinds; refusals and junk counted, nothing sent. */
static void test_rate_limit_and_unbuildable(void **state)
{
	(void)state;
	struct reject_sender *rs = open_or_skip(1);
	uint16_t port = 0;
	int fd = udp_receiver(AF_INET, "127.0.0.1", &port);
	assert_true(fd >= 0);

	uint8_t refused[2048];
	size_t len = refused_invite(AF_INET, "127.0.0.1", port, "127.0.0.2", refused,
				    sizeof(refused));
	uint8_t syn[128];
	size_t syn_len = packet_build_tcp(AF_INET, "127.0.0.1", port, "127.0.0.2", 554, 1,
					  TCP_FLAG_SYN, NULL, 0, syn, sizeof(syn));
	assert_int_equal(reject_sender_sip_503(rs, refused, len, 30, NULL, 5000), REJECT_SEND_OK);
	assert_int_equal(reject_sender_sip_503(rs, refused, len, 30, NULL, 5000), REJECT_SEND_RATE_LIMITED);
	assert_int_equal(reject_sender_tcp_reset(rs, syn, syn_len, 5999), REJECT_SEND_RATE_LIMITED);
	assert_int_equal(reject_sender_tcp_reset(rs, syn, syn_len, 6000), REJECT_SEND_OK);

	/* Unbuildable: TCP for a 503, UDP for a RST, a RST for a RST, an ACK
	 * request, a truncated datagram, nothing at all. */
	assert_int_equal(reject_sender_sip_503(rs, syn, syn_len, 30, NULL, 9000), REJECT_SEND_UNBUILDABLE);
	assert_int_equal(reject_sender_tcp_reset(rs, refused, len, 9000), REJECT_SEND_UNBUILDABLE);
	uint8_t rst[128];
	size_t rst_len = packet_build_tcp(AF_INET, "127.0.0.1", port, "127.0.0.2", 554, 1,
					  TCP_FLAG_RST, NULL, 0, rst, sizeof(rst));
	assert_int_equal(reject_sender_tcp_reset(rs, rst, rst_len, 9000), REJECT_SEND_UNBUILDABLE);
	static const char ack[] = "ACK sip:bob@127.0.0.2 SIP/2.0\r\n"
				  "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK74bf9\r\n"
				  "From: <sip:alice@example.com>;tag=1\r\n"
				  "To: <sip:bob@example.com>;tag=2\r\n"
				  "Call-ID: ack-1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n";
	uint8_t ack_dgram[1024];
	size_t ack_len = packet_build_udp(AF_INET, "127.0.0.1", port, "127.0.0.2", 5060, ack,
					  strlen(ack), ack_dgram, sizeof(ack_dgram));
	/* A token is there (the bucket refilled): the ACK still gets nothing. */
	assert_int_equal(reject_sender_sip_503(rs, ack_dgram, ack_len, 30, NULL, 20000),
			 REJECT_SEND_UNBUILDABLE);
	assert_int_equal(reject_sender_sip_503(rs, refused, len - 1, 30, NULL, 30000),
			 REJECT_SEND_UNBUILDABLE);
	assert_int_equal(reject_sender_sip_503(rs, NULL, 0, 30, NULL, 30000), REJECT_SEND_UNBUILDABLE);

	struct counters c = read_counters(rs);
	assert_int_equal(c.sent_503, 1);
	assert_int_equal(c.sent_reset, 1);
	assert_int_equal(c.rate_limited, 2);
	assert_int_equal(c.unbuildable, 6);
	assert_int_equal(c.send_errors, 0);

	/* Exactly one 503 arrived. */
	uint8_t reply[4096];
	struct sockaddr_storage from;
	assert_503(reply, receive(fd, reply, sizeof(reply), &from));
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 100), 0);
	close(fd);
	reject_sender_close(rs);
}

struct log_capture {
	unsigned lines;
	char last[512];
};

static void capture_line(void *ctx, int priority, const char *line)
{
	struct log_capture *cap = ctx;
	(void)priority;
	cap->lines++;
	snprintf(cap->last, sizeof(cap->last), "%s", line);
}

/* A reply the kernel refuses is counted and logged, at most 5 lines per
 * 10 s. The "client" is the limited broadcast address: a raw socket without
 * SO_BROADCAST gets EACCES and nothing leaves the host. */
static void test_send_error_counted_and_logged(void **state)
{
	(void)state;
	struct reject_sender *rs = open_or_skip(1000);
	struct log_capture cap = { 0 };
	log_open("test", false, false);
	log_set_sink(capture_line, &cap);

	uint8_t syn[128];
	size_t len = packet_build_tcp(AF_INET, "255.255.255.255", 40000, "127.0.0.2", 554, 1,
				      TCP_FLAG_SYN, NULL, 0, syn, sizeof(syn));
	for (int i = 0; i < 20; i++)
		assert_int_equal(reject_sender_tcp_reset(rs, syn, len, 1000), REJECT_SEND_FAILED);
	log_set_sink(NULL, NULL);
	log_open("test", true, false);

	struct counters c = read_counters(rs);
	assert_int_equal(c.send_errors, 20);
	assert_int_equal(c.sent_reset, 0);
	assert_int_equal(cap.lines, 5);
	assert_non_null(strstr(cap.last, "event=reply_send_failed reply=\"TCP RST\" to=255.255.255.255:40000 bytes="));
	reject_sender_close(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_burst_and_refill),
		cmocka_unit_test(test_bucket_rate_over_time),
		cmocka_unit_test(test_bucket_edges),
		cmocka_unit_test(test_send_503_ipv4_loopback),
		cmocka_unit_test(test_send_503_ipv6_loopback),
		cmocka_unit_test(test_send_reset_ipv4_loopback),
		cmocka_unit_test(test_rate_limit_and_unbuildable),
		cmocka_unit_test(test_send_error_counted_and_logged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
