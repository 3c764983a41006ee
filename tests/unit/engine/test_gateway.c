/* test_gateway.c - the gateway role on its own: outbound IP datagrams from
 * the cluster in, announcements oriented client -> VIP out, and what its
 * TCP reassembly holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dpi/packet.h"
#include "engine/gateway.h"
#include "packet_builder.h"

#define VIP4 "198.18.10.1"
#define CLIENT4 "192.0.2.10"
#define SIP_PORT 5060
#define CLIENT_PORT 50000
#define SERVER_ISN 90000u
#define MAX_ANNOUNCEMENTS 4

struct gw_fixture {
	struct sara_config cfg;
	struct gateway *gateway;
	uint64_t now;
	struct announcement out[MAX_ANNOUNCEMENTS];
};

static uint8_t packet_buffer[4096];

/* sara_config_defaults() + one VIP and one server; small TCP buffers. */
static void gateway_config(struct sara_config *cfg, size_t tcp_buffer)
{
	sara_config_defaults(cfg);
	cfg->vip_count = 1;
	assert_true(netaddr_parse(span_make(VIP4, strlen(VIP4)), &cfg->vips[0]));
	cfg->server_count = 1;
	snprintf(cfg->servers[0].id, sizeof(cfg->servers[0].id), "media1");
	assert_true(netaddr_parse(span_make("10.0.0.1", 8), &cfg->servers[0].address));
	cfg->servers[0].mark = 0x100;
	cfg->servers[0].weight = 1.0;
	cfg->limits.tcp_streams = 8;
	cfg->limits.tcp_buffer = tcp_buffer;
	cfg->limits.fragments = 4;
}

static int setup_with_buffer(void **state, size_t tcp_buffer)
{
	static struct gw_fixture fx;
	char err[256];
	memset(&fx, 0, sizeof(fx));
	fx.now = 1000000;
	gateway_config(&fx.cfg, tcp_buffer);
	fx.gateway = gateway_create(&fx.cfg, fx.now, err, sizeof(err));
	if (!fx.gateway) {
		print_error("gateway_create: %s\n", err);
		return -1;
	}
	*state = &fx;
	return 0;
}

static int setup(void **state)
{
	return setup_with_buffer(state, 16384);
}

static int setup_small_buffer(void **state)
{
	return setup_with_buffer(state, 512);
}

static int teardown(void **state)
{
	struct gw_fixture *fx = *state;
	gateway_destroy(fx->gateway);
	return 0;
}

/* A TCP segment from VIP:5060 to the client; offset counts from the first
 * data byte after the SYN-ACK. Returns how many announcements it made. */
static size_t server_segment(struct gw_fixture *fx, uint32_t offset, uint8_t flags,
			     const char *data, size_t len)
{
	uint32_t seq = flags & TCP_FLAG_SYN ? SERVER_ISN : SERVER_ISN + 1 + offset;
	size_t n = packet_build_tcp(NETADDR_IPV4, VIP4, SIP_PORT, CLIENT4, CLIENT_PORT, seq, flags,
				    data, len, packet_buffer, sizeof(packet_buffer));
	assert_true(n > 0);
	return gateway_packet(fx->gateway, packet_buffer, n, fx->now, fx->out, MAX_ANNOUNCEMENTS);
}

static void syn_ack(struct gw_fixture *fx)
{
	assert_int_equal(server_segment(fx, 0, TCP_FLAG_SYN | TCP_FLAG_ACK, NULL, 0), 0);
}

/* A 200 OK to INVITE, without a body. */
static size_t sip_ok(char *buf, size_t size, const char *call_id)
{
	int n = snprintf(buf, size,
			 "SIP/2.0 200 OK\r\n"
			 "Via: SIP/2.0/TCP client.example:5060;branch=z9hG4bK-1\r\n"
			 "From: <sip:alice@client.example>;tag=1928301774\r\n"
			 "To: <sip:bob@sara.example>;tag=a6c85cf\r\n"
			 "Call-ID: %s\r\n"
			 "CSeq: 1 INVITE\r\n"
			 "Contact: <sip:bob@sara.example;transport=tcp>\r\n"
			 "Content-Length: 0\r\n\r\n",
			 call_id);
	assert_true(n > 0 && (size_t)n < size);
	return (size_t)n;
}

static uint64_t gateway_counter(const struct gw_fixture *fx, enum counter_id id)
{
	return counter_get(gateway_counters(fx->gateway), id);
}

/* The announcement names the client -> VIP connection and the call. */
static void assert_announces(const struct announcement *a, const char *call_id)
{
	struct endpoint src, dst;
	assert_int_equal(a->facts.proto, PROTO_SIP);
	assert_false(a->facts.is_request);
	assert_int_equal(a->facts.status, 200);
	assert_int_equal(a->facts.key_len, strlen(call_id));
	assert_memory_equal(a->facts.key, call_id, strlen(call_id));
	flow_key_src(&a->conn, &src);
	flow_key_dst(&a->conn, &dst);
	assert_int_equal(src.port, CLIENT_PORT);
	assert_int_equal(dst.port, SIP_PORT);
	assert_int_equal(a->conn.l4, L4_TCP);
}

/* After the SYN-ACK (which takes no stream), a message split over two
 * segments that arrive in reverse order: the SYN's sequence number places
 * the first one to arrive, and the message is announced once complete. */
static void test_split_message_after_syn_announced(void **state)
{
	struct gw_fixture *fx = *state;
	char text[1024];
	size_t len = sip_ok(text, sizeof(text), "split@c"), cut = len / 2;

	syn_ack(fx);
	assert_int_equal(gateway_tcp_streams_in_use(fx->gateway), 0);
	assert_int_equal(server_segment(fx, (uint32_t)cut, TCP_FLAG_ACK | TCP_FLAG_PSH, text + cut,
					len - cut), 0);
	assert_int_equal(gateway_tcp_streams_in_use(fx->gateway), 1);
	assert_int_equal(server_segment(fx, 0, TCP_FLAG_ACK | TCP_FLAG_PSH, text, cut), 1);
	assert_announces(&fx->out[0], "split@c");
	assert_int_equal(gateway_counter(fx, COUNTER_ANNOUNCEMENTS), 1);
	assert_int_equal(gateway_counter(fx, COUNTER_TCP_STREAM_UNFRAMEABLE), 0);
}

/* A FIN releases the connection's stream once the message it carries is
 * announced; an RST releases it with a message half assembled. */
static void test_fin_and_rst_release_stream(void **state)
{
	struct gw_fixture *fx = *state;
	char text[1024];
	size_t first = sip_ok(text, sizeof(text), "fin@c"), len;

	syn_ack(fx);
	assert_int_equal(server_segment(fx, 0, TCP_FLAG_ACK | TCP_FLAG_PSH, text, first), 1);
	assert_int_equal(gateway_tcp_streams_in_use(fx->gateway), 1);
	len = sip_ok(text, sizeof(text), "fin2@c");
	assert_int_equal(server_segment(fx, (uint32_t)first, TCP_FLAG_ACK | TCP_FLAG_FIN, text, len), 1);
	assert_announces(&fx->out[0], "fin2@c");
	assert_int_equal(gateway_tcp_streams_in_use(fx->gateway), 0);
	/* The ACK of the client's FIN takes no stream again. */
	assert_int_equal(server_segment(fx, (uint32_t)(first + len + 1), TCP_FLAG_ACK, NULL, 0), 0);
	assert_int_equal(gateway_tcp_streams_in_use(fx->gateway), 0);

	/* Another connection (the client's next port), reset mid-message. */
	{
		size_t n;
		n = packet_build_tcp(NETADDR_IPV4, VIP4, SIP_PORT, CLIENT4, CLIENT_PORT + 1, 5000,
				     TCP_FLAG_ACK | TCP_FLAG_PSH, text, len / 2, packet_buffer,
				     sizeof(packet_buffer));
		assert_int_equal(gateway_packet(fx->gateway, packet_buffer, n, fx->now, fx->out,
						MAX_ANNOUNCEMENTS), 0);
		assert_int_equal(gateway_tcp_streams_in_use(fx->gateway), 1);
		n = packet_build_tcp(NETADDR_IPV4, VIP4, SIP_PORT, CLIENT4, CLIENT_PORT + 1,
				     5000 + (uint32_t)(len / 2), TCP_FLAG_RST, NULL, 0, packet_buffer,
				     sizeof(packet_buffer));
		assert_int_equal(gateway_packet(fx->gateway, packet_buffer, n, fx->now, fx->out,
						MAX_ANNOUNCEMENTS), 0);
		assert_int_equal(gateway_tcp_streams_in_use(fx->gateway), 0);
	}
}

/* A message larger than the reassembly buffer: the segment is lost
 * (tcp_stream_error, the gateway's counter for it) and the next message on
 * the connection is announced. */
static void test_oversized_message_counted(void **state)
{
	struct gw_fixture *fx = *state;
	char big[700], text[1024];
	size_t len = sip_ok(text, sizeof(text), "after@c");

	memset(big, 'x', sizeof(big));
	memcpy(big, "SIP/2.0 200 OK\r\nVia: ", 21);
	syn_ack(fx);
	assert_int_equal(server_segment(fx, 0, TCP_FLAG_ACK, big, 300), 0);
	assert_int_equal(server_segment(fx, 300, TCP_FLAG_ACK, big + 300, 400), 0);
	assert_int_equal(gateway_counter(fx, COUNTER_TCP_STREAM_ERROR), 1);
	assert_int_equal(server_segment(fx, 700, TCP_FLAG_ACK | TCP_FLAG_PSH, text, len), 1);
	assert_announces(&fx->out[0], "after@c");
}

/* A dual-stack server's signalling is recognised from either of its
 * addresses (a server not behind direct server return sends from its own),
 * and nothing from an address of no server. */
static void test_dual_stack_server_addresses(void **state)
{
	static const char *const sources[] = { "10.0.0.1", "fd00:2::1", "fd00:2::99" };
	static const size_t announced[] = { 1, 1, 0 };
	struct sara_config cfg;
	struct gateway *gw;
	struct announcement out[MAX_ANNOUNCEMENTS];
	char text[1024], err[256];
	size_t len = sip_ok(text, sizeof(text), "dual@c");
	(void)state;
	gateway_config(&cfg, 16384);
	cfg.vip_count = 2;
	assert_true(netaddr_parse(span_make("fd00:10::1", 10), &cfg.vips[1]));
	assert_true(netaddr_parse(span_make("fd00:2::1", 9), &cfg.servers[0].address6));
	gw = gateway_create(&cfg, 1000000, err, sizeof(err));
	if (!gw)
		print_error("gateway_create: %s\n", err);
	assert_non_null(gw);
	for (unsigned i = 0; i < 3; i++) {
		int family = strchr(sources[i], ':') ? NETADDR_IPV6 : NETADDR_IPV4;
		size_t n = packet_build_udp(family, sources[i], SIP_PORT, family == NETADDR_IPV6 ? "fd00::10" : CLIENT4,
					    CLIENT_PORT, text, len, packet_buffer, sizeof(packet_buffer));
		assert_true(n > 0);
		assert_int_equal(gateway_packet(gw, packet_buffer, n, 1000000 + i, out, MAX_ANNOUNCEMENTS),
				 announced[i]);
		if (announced[i])
			assert_memory_equal(out[0].facts.key, "dual@c", 6);
	}
	gateway_destroy(gw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_split_message_after_syn_announced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fin_and_rst_release_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_message_counted, setup_small_buffer,
						teardown),
		cmocka_unit_test(test_dual_stack_server_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
