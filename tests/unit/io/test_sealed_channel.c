/* test_sealed_channel.c - unit tests for the sealed UDP channel on loopback:
 * accepted messages reach the owner intact; forged, replayed and oversized
 * datagrams are refused with their reason; draining is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dpi/span.h"
#include "io/sealed_channel.h"
#include "io/sockaddr.h"

#define SKEW_MS 5000u

struct inbox {
	unsigned accepted, rejected;
	int last_reason;
	struct wire_header hdr;
	uint8_t body[WIRE_MAX_BODY];
	struct endpoint from;
};

static void on_accept(void *ctx, const struct sealed_message *msg)
{
	struct inbox *in = ctx;
	in->accepted++;
	in->hdr = msg->hdr;
	in->from = msg->from;
	memcpy(in->body, msg->body, msg->hdr.body_len);
}

static void on_reject(void *ctx, int reason, const struct endpoint *from)
{
	struct inbox *in = ctx;
	(void)from;
	in->rejected++;
	in->last_reason = reason;
}

static struct wire_key key_of(uint8_t seed)
{
	struct wire_key key;
	for (int i = 0; i < WIRE_KEY_SIZE; i++)
		key.bytes[i] = (uint8_t)(seed + i);
	return key;
}

/* A receiver on 127.0.0.1 at a port the kernel picks; returns that endpoint. */
static struct endpoint open_receiver(struct sealed_receiver *r, const struct wire_key *key)
{
	struct endpoint at = { .addr = { .family = NETADDR_IPV4, .bytes = { 127, 0, 0, 1 } }, .port = 0 };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char err[128];
	assert_true(sealed_receiver_open(r, &at, key, SKEW_MS, err, sizeof(err)));
	assert_int_equal(getsockname(r->fd, (struct sockaddr *)&ss, &len), 0);
	assert_true(endpoint_from_sockaddr(&ss, &at));
	assert_true(at.port != 0);
	return at;
}

static int drain(struct sealed_receiver *r, unsigned max, struct inbox *in)
{
	struct sealed_receiver_handler h = { .accept = on_accept, .reject = on_reject, .ctx = in };
	char err[128];
	usleep(2000); /* loopback delivery is immediate; leave room for a busy machine */
	return sealed_receiver_drain(r, max, &h, err, sizeof(err));
}

static void test_message_reaches_the_owner(void **state)
{
	struct wire_key key = key_of(1);
	struct sealed_receiver r;
	struct sealed_sender s;
	struct inbox in = { 0 };
	static const uint8_t body[] = "load report";
	char err[128];
	struct endpoint at;
	(void)state;

	at = open_receiver(&r, &key);
	assert_true(sealed_sender_open(&s, &at, &key, 42, err, sizeof(err)));
	assert_true(sealed_send(&s, WIRE_LOAD, body, sizeof(body)));
	assert_int_equal(drain(&r, 16, &in), 1);
	assert_int_equal(in.accepted, 1);
	assert_int_equal(in.rejected, 0);
	assert_int_equal(in.hdr.type, WIRE_LOAD);
	assert_int_equal(in.hdr.sender, 42);
	assert_int_equal(in.hdr.body_len, sizeof(body));
	assert_memory_equal(in.body, body, sizeof(body));
	assert_int_equal(in.from.addr.family, NETADDR_IPV4);
	assert_int_equal(in.from.addr.bytes[0], 127);
	assert_int_equal(r.accepted, 1);
	assert_int_equal(s.sent, 1);
	/* sequence numbers go up per message */
	assert_true(sealed_send(&s, WIRE_LOAD, body, sizeof(body)));
	assert_int_equal(drain(&r, 16, &in), 1);
	assert_int_equal(in.accepted, 2);
	sealed_sender_close(&s);
	sealed_receiver_close(&r);
}

/* Several dispatchers: one sealed message, the same at every destination. */
static void test_message_reaches_every_destination(void **state)
{
	struct wire_key key = key_of(1);
	struct sealed_receiver r1, r2;
	struct sealed_sender s;
	struct inbox in1 = { 0 }, in2 = { 0 };
	static const uint8_t body[] = "announcement";
	struct endpoint to[2], mixed[2];
	char err[128];
	(void)state;

	to[0] = open_receiver(&r1, &key);
	to[1] = open_receiver(&r2, &key);
	assert_true(sealed_sender_open_many(&s, to, 2, &key, 7, err, sizeof(err)));
	assert_true(sealed_send(&s, WIRE_LOAD, body, sizeof(body)));
	assert_int_equal(drain(&r1, 16, &in1), 1);
	assert_int_equal(drain(&r2, 16, &in2), 1);
	assert_int_equal(in1.accepted, 1);
	assert_int_equal(in2.accepted, 1);
	assert_int_equal(in1.hdr.seq, in2.hdr.seq);
	assert_memory_equal(in2.body, body, sizeof(body));
	assert_int_equal(s.sent, 2);
	assert_int_equal(s.send_errors, 0);
	sealed_sender_close(&s);

	/* one family per sender; a bounded list */
	mixed[0] = to[0];
	assert_true(endpoint_parse(span_make("[::1]:9", 7), &mixed[1]));
	assert_false(sealed_sender_open_many(&s, mixed, 2, &key, 7, err, sizeof(err)));
	assert_string_equal(err, "destinations mix IPv4 and IPv6");
	assert_false(sealed_sender_open_many(&s, to, SEALED_MAX_DESTINATIONS + 1, &key, 7, err, sizeof(err)));
	assert_false(sealed_sender_open_many(&s, to, 0, &key, 7, err, sizeof(err)));
	assert_string_equal(err, "no address to send to");
	sealed_receiver_close(&r1);
	sealed_receiver_close(&r2);
}

static void test_other_key_is_forged(void **state)
{
	struct wire_key key = key_of(1), other = key_of(9);
	struct sealed_receiver r;
	struct sealed_sender s;
	struct inbox in = { 0 };
	char err[128];
	struct endpoint at;
	(void)state;

	at = open_receiver(&r, &key);
	assert_true(sealed_sender_open(&s, &at, &other, 7, err, sizeof(err)));
	assert_true(sealed_send(&s, WIRE_ANNOUNCE, (const uint8_t *)"x", 1));
	assert_int_equal(drain(&r, 16, &in), 1);
	assert_int_equal(in.accepted, 0);
	assert_int_equal(in.rejected, 1);
	assert_int_equal(in.last_reason, WIRE_FORGED);
	assert_int_equal(r.rejected, 1);
	sealed_sender_close(&s);
	sealed_receiver_close(&r);
}

/* The same sealed datagram sent twice: the second is a replay. */
static void test_replayed_datagram_refused(void **state)
{
	struct wire_key key = key_of(1);
	struct sealed_receiver r;
	struct inbox in = { 0 };
	struct wire_header hdr = { .type = WIRE_HEARTBEAT, .body_len = 3, .sender = 5, .seq = 100 };
	uint8_t msg[WIRE_MAX_MESSAGE];
	struct sockaddr_storage ss;
	socklen_t ss_len;
	struct endpoint at;
	size_t len;
	int fd;
	(void)state;

	at = open_receiver(&r, &key);
	ss_len = endpoint_to_sockaddr(&at, &ss);
	hdr.time_ms = (uint64_t)time(NULL) * 1000u;
	len = wire_seal(&key, &hdr, (const uint8_t *)"abc", msg, sizeof(msg));
	assert_true(len > 0);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(sendto(fd, msg, len, 0, (struct sockaddr *)&ss, ss_len), (ssize_t)len);
	assert_int_equal(sendto(fd, msg, len, 0, (struct sockaddr *)&ss, ss_len), (ssize_t)len);
	assert_int_equal(drain(&r, 16, &in), 2);
	assert_int_equal(in.accepted, 1);
	assert_int_equal(in.rejected, 1);
	assert_int_equal(in.last_reason, WIRE_REPLAYED);
	close(fd);
	sealed_receiver_close(&r);
}

static void test_oversized_datagram_refused(void **state)
{
	struct wire_key key = key_of(1);
	struct sealed_receiver r;
	struct inbox in = { 0 };
	uint8_t big[WIRE_MAX_MESSAGE + 100];
	struct sockaddr_storage ss;
	socklen_t ss_len;
	struct endpoint at;
	int fd;
	(void)state;

	at = open_receiver(&r, &key);
	ss_len = endpoint_to_sockaddr(&at, &ss);
	memset(big, 0xab, sizeof(big));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(sendto(fd, big, sizeof(big), 0, (struct sockaddr *)&ss, ss_len), (ssize_t)sizeof(big));
	assert_int_equal(drain(&r, 16, &in), 1);
	assert_int_equal(in.rejected, 1);
	assert_int_equal(in.last_reason, SEALED_OVERSIZED);
	close(fd);
	sealed_receiver_close(&r);
}

static void test_drain_is_bounded(void **state)
{
	struct wire_key key = key_of(1);
	struct sealed_receiver r;
	struct sealed_sender s;
	struct inbox in = { 0 };
	char err[128];
	struct endpoint at;
	(void)state;

	at = open_receiver(&r, &key);
	assert_true(sealed_sender_open(&s, &at, &key, 3, err, sizeof(err)));
	for (int i = 0; i < 5; i++)
		assert_true(sealed_send(&s, WIRE_LOAD, (const uint8_t *)"l", 1));
	assert_int_equal(drain(&r, 3, &in), 3);
	assert_int_equal(drain(&r, 3, &in), 2);
	assert_int_equal(drain(&r, 3, &in), 0);
	assert_int_equal(in.accepted, 5);
	sealed_sender_close(&s);
	sealed_receiver_close(&r);
}

static void test_sender_refuses_oversized_body(void **state)
{
	struct wire_key key = key_of(1);
	struct endpoint to = { .addr = { .family = NETADDR_IPV4, .bytes = { 127, 0, 0, 1 } }, .port = 9 };
	static uint8_t body[WIRE_MAX_BODY + 1];
	struct sealed_sender s;
	char err[128];
	(void)state;

	assert_true(sealed_sender_open(&s, &to, &key, 1, err, sizeof(err)));
	assert_false(sealed_send(&s, WIRE_LOAD, body, sizeof(body)));
	assert_int_equal(s.send_errors, 1);
	assert_int_equal(s.sent, 0);
	sealed_sender_close(&s);
}

static void test_bind_error_names_the_address(void **state)
{
	struct wire_key key = key_of(1);
	/* TEST-NET-2 is not on this host: bind fails with EADDRNOTAVAIL */
	struct endpoint at = { .addr = { .family = NETADDR_IPV4, .bytes = { 198, 51, 100, 1 } }, .port = 7400 };
	struct sealed_receiver r;
	char err[128] = "";
	(void)state;
	assert_false(sealed_receiver_open(&r, &at, &key, SKEW_MS, err, sizeof(err)));
	assert_non_null(strstr(err, "bind 198.51.100.1:7400"));
}

/* The socket under both ends: no address is refused before any system
 * call; an address this host lacks names the address and the reason. */
/* A refusal's counter: what the listeners count and the decoders print. */
static void test_reject_counters(void **state)
{
	(void)state;
	assert_int_equal(sealed_reject_counter(SEALED_OVERSIZED), COUNTER_OVERSIZED);
	assert_string_equal(counter_name(sealed_reject_counter(SEALED_OVERSIZED)), "oversized");
	assert_int_equal(sealed_reject_counter(WIRE_FORGED), COUNTER_WIRE_FORGED);
	assert_int_equal(sealed_reject_counter(WIRE_REPLAYED), COUNTER_WIRE_REPLAYED);
	assert_int_equal(sealed_reject_counter(WIRE_OK), COUNTER_NONE);
	assert_int_equal(sealed_reject_counter(-1), COUNTER_NONE);
	assert_int_equal(sealed_reject_counter(SEALED_OVERSIZED + 1), COUNTER_NONE);
	for (int reason = WIRE_OK + 1; reason <= SEALED_OVERSIZED; reason++)
		assert_true(counter_def(sealed_reject_counter(reason))->scopes & COUNTER_IN_REJECTS);
}

static void test_udp_bind_errors(void **state)
{
	struct endpoint at;
	char err[128];
	int fd;
	(void)state;
	memset(&at, 0, sizeof(at));
	assert_int_equal(udp_bind(&at, err, sizeof(err)), -1);
	assert_string_equal(err, "no address to listen on");
	assert_true(endpoint_parse(span_make("192.0.2.77:7410", 15), &at));
	assert_int_equal(udp_bind(&at, err, sizeof(err)), -1);
	assert_true(strncmp(err, "bind 192.0.2.77:7410: ", 22) == 0);
	assert_true(endpoint_parse(span_make("127.0.0.1:0", 11), &at));
	fd = udp_bind(&at, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_reaches_the_owner),
		cmocka_unit_test(test_other_key_is_forged),
		cmocka_unit_test(test_replayed_datagram_refused),
		cmocka_unit_test(test_oversized_datagram_refused),
		cmocka_unit_test(test_drain_is_bounded),
		cmocka_unit_test(test_sender_refuses_oversized_body),
		cmocka_unit_test(test_bind_error_names_the_address),
		cmocka_unit_test(test_udp_bind_errors),
		cmocka_unit_test(test_message_reaches_every_destination),
		cmocka_unit_test(test_reject_counters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
