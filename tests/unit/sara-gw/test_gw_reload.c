/* test_gw_reload.c - sara-gw's SIGHUP: new servers, VIPs, ports, a new
 * destination or key are taken (the gateway inspects the new servers'
 * signalling at once); a table size, or the queue or metrics endpoint
 * when it follows the file, needs a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/gateway.h"
#include "io/config_file.h"
#include "io/key_file.h"
#include "packet_builder.h"
#include "sara-gw/gw_reload.h"

struct fixture {
	char dir[64], path[128], key[128];
	struct sara_config running;
	struct wire_key running_key;
};

static void write_config(struct fixture *f, const char *servers, const char *listen, unsigned tcp_streams,
			 unsigned queue_first)
{
	FILE *out = fopen(f->path, "w");
	assert_non_null(out);
	fprintf(out,
		"name = \"gw-reload\";\nvips = [ \"198.18.77.20\" ];\n"
		"servers = ( %s );\ngateway = { listen = \"%s\"; };\n"
		"limits = { tcp_streams = %u; };\nqueue = { first = %u; };\nkey_file = \"%s\";\n",
		servers, listen, tcp_streams, queue_first, f->key);
	fclose(out);
}

#define ONE "{ id = \"s1\"; address = \"198.18.2.11\"; mark = 1; table = 101; }"
#define TWO ONE ", { id = \"s4\"; address = \"198.18.2.14\"; mark = 4; table = 104; }"

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[512];
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/sara-gw-reload-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/cluster.cfg", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/k.key", f->dir);
	assert_true(key_file_generate(f->key, err, sizeof(err)));
	write_config(f, ONE, "198.18.2.1:7401", 64, 0);
	assert_true(sara_config_load(f->path, &f->running, err, sizeof(err)));
	assert_true(key_file_load(f->key, &f->running_key, err, sizeof(err)));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unlink(f->path);
	unlink(f->key);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A 200 OK from server address src (not the VIP: a server that answers
 * from its own address) to a client: announced only for known servers. */
static size_t answer_from(struct gateway *gw, const char *src)
{
	static const char ok[] = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 198.18.0.10:5060;branch=z9hG4bK-1\r\n"
				 "From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: gw@x\r\n"
				 "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
	uint8_t packet[2048];
	struct announcement out[4];
	size_t n = packet_build_udp(NETADDR_IPV4, src, 5060, "198.18.0.10", 5060, ok, strlen(ok), packet,
				    sizeof(packet));
	assert_true(n > 0);
	return gateway_packet(gw, packet, n, 1000, out, 4);
}

static void test_servers_and_channel(void **state)
{
	struct fixture *f = *state;
	static struct gw_reload r;
	struct gateway *gw;
	char err[512];

	gw = gateway_create(&f->running, 1000, err, sizeof(err));
	assert_non_null(gw);
	assert_int_equal(answer_from(gw, "198.18.2.14"), 0);   /* not a server yet */

	write_config(f, TWO, "198.18.2.1:7401", 64, 0);
	assert_true(gw_reload_read(f->path, &f->running, &f->running_key, false, false, &r, err, sizeof(err)));
	assert_false(r.channel_changed);
	assert_int_equal(r.cfg.server_count, 2);
	assert_true(gateway_reconfigure(gw, &r.cfg, err, sizeof(err)));
	assert_int_equal(answer_from(gw, "198.18.2.14"), 1);

	write_config(f, TWO, "198.18.2.2:7401", 64, 0);
	assert_true(gw_reload_read(f->path, &f->running, &f->running_key, false, false, &r, err, sizeof(err)));
	assert_true(r.channel_changed);
	gateway_destroy(gw);
}

static void test_restart_only(void **state)
{
	struct fixture *f = *state;
	static struct gw_reload r;
	struct gateway *gw;
	struct sara_config bigger;
	char err[512];

	write_config(f, ONE, "198.18.2.1:7401", 128, 0);
	assert_false(gw_reload_read(f->path, &f->running, &f->running_key, false, false, &r, err, sizeof(err)));
	assert_non_null(strstr(err, "limits.tcp_streams changed: restart sara-gw to apply"));

	write_config(f, ONE, "198.18.2.1:7401", 64, 5);
	assert_false(gw_reload_read(f->path, &f->running, &f->running_key, false, false, &r, err, sizeof(err)));
	assert_non_null(strstr(err, "queue.first/count"));
	/* with --queue, the file's queue does not matter */
	assert_true(gw_reload_read(f->path, &f->running, &f->running_key, true, false, &r, err, sizeof(err)));

	gw = gateway_create(&f->running, 1000, err, sizeof(err));
	assert_non_null(gw);
	bigger = f->running;
	bigger.limits.tcp_streams *= 2;
	assert_false(gateway_reconfigure(gw, &bigger, err, sizeof(err)));
	gateway_destroy(gw);
}

/* gateway.metrics is where sara-gw serves its metrics unless --metrics
 * named another endpoint: bound at start, it cannot follow the file. */
static void test_metrics_endpoint(void **state)
{
	struct fixture *f = *state;
	static struct gw_reload r;
	char err[512];
	FILE *out = fopen(f->path, "w");
	assert_non_null(out);
	fprintf(out,
		"name = \"gw-reload\";\nvips = [ \"198.18.77.20\" ];\nservers = ( %s );\n"
		"gateway = { listen = \"198.18.2.1:7401\"; metrics = \"127.0.0.1:9101\"; };\n"
		"limits = { tcp_streams = 64; };\nkey_file = \"%s\";\n", ONE, f->key);
	fclose(out);
	assert_false(gw_reload_read(f->path, &f->running, &f->running_key, false, false, &r, err, sizeof(err)));
	assert_non_null(strstr(err, "gateway.metrics (sara-gw serves its metrics there without --metrics) changed"));
	assert_true(gw_reload_read(f->path, &f->running, &f->running_key, false, true, &r, err, sizeof(err)));
	assert_int_equal(r.cfg.gateway.metrics.port, 9101);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_servers_and_channel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_endpoint, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
