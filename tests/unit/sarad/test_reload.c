/* test_reload.c - SIGHUP's reload: live keys (a weight, a timeout) are
 * applied and counted; servers are added (slow start), removed (their
 * calls drain on them, new ones avoid them, their slot goes once empty);
 * a change of a restart-only key (the queues, a server's mark) or a broken
 * file is refused, counted and logged, and the running configuration
 * stays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/config_file.h"
#include "packet_builder.h"
#include "sarad/reload.h"
#include "sarad_fixture.h"

struct fixture {
	char dir[64], path[128];
	struct sara_config cfg;
	struct daemon_counters counters;
	struct log_kinds logs;
	struct refusal_replies replies;
	struct dispatcher d;
};

/* The cluster file with a few keys a test changes. */
static void write_config(struct fixture *f, unsigned queue_first, double weight, unsigned signalling_s,
			 unsigned mark2)
{
	FILE *out = fopen(f->path, "w");
	assert_non_null(out);
	fprintf(out,
		"name = \"reload-test\";\n"
		"vips = [ \"198.18.77.20\" ];\n"
		"ports = { sip = [ 5060 ]; };\n"
		"servers = ( { id = \"s1\"; address = \"198.18.2.11\"; mark = 1; table = 101; weight = %.1f; },\n"
		"            { id = \"s2\"; address = \"198.18.2.12\"; mark = %u; table = 102; weight = 1.0; } );\n"
		"queue = { first = %u; count = 1; };\n"
		"timeouts = { signalling_s = %u; media_s = 30; linger_s = 1; };\n"
		"control = { socket = \"%s/sarad.sock\"; };\n"
		"state = { journal = \"off\"; };\n"
		/* no answers here: the window would count every INVITE as a backlog */
		"admission = { estimate = \"rate\"; };\n",
		weight, mark2, queue_first, signalling_s, f->dir);
	fclose(out);
}

/* The cluster file with these servers (of s1..s4). */
static void write_servers(struct fixture *f, const char *const *ids, unsigned count)
{
	FILE *out = fopen(f->path, "w");
	assert_non_null(out);
	fprintf(out,
		"name = \"reload-test\";\n"
		"vips = [ \"198.18.77.20\" ];\n"
		"ports = { sip = [ 5060 ]; };\n"
		"servers = (\n");
	for (unsigned i = 0; i < count; i++)
		fprintf(out, "  { id = \"%s\"; address = \"198.18.2.1%c\"; mark = %c; table = 10%c; }%s\n", ids[i],
			ids[i][1], ids[i][1], ids[i][1], i + 1 < count ? "," : "");
	fprintf(out,
		");\n"
		"queue = { first = 0; count = 1; };\n"
		"timeouts = { signalling_s = 30; media_s = 30; linger_s = 1; };\n"
		"selection = { algorithm = \"round-robin\"; slow_start_s = 10; };\n"
		"control = { socket = \"%s/sarad.sock\"; };\n"
		"state = { journal = \"off\"; };\n"
		/* no answers here: the window would count every INVITE as a backlog */
		"admission = { estimate = \"rate\"; };\n",
		f->dir);
	fclose(out);
}

static int setup_config(void **state, bool round_robin)
{
	static const char *const two[] = { "s1", "s2" };
	struct fixture *f = calloc(1, sizeof(*f));
	char err[512];
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/sara-reload-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/cluster.cfg", f->dir);
	if (round_robin)
		write_servers(f, two, 2);
	else
		write_config(f, 0, 1.0, 30, 2);
	assert_true(sara_config_load(f->path, &f->cfg, err, sizeof(err)));
	fixture_log_start();
	daemon_counters_init(&f->counters);
	log_kinds_init(&f->logs);
	refusal_replies_configure(&f->replies, &f->cfg);
	assert_int_equal(dispatcher_init(&f->d, &f->cfg, NULL, &f->counters, &f->logs, fixture_now_ms, err,
					 sizeof(err)), 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_config(state, false);
}

static int setup_servers(void **state)
{
	return setup_config(state, true);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	dispatcher_fini(&f->d);
	refusal_replies_close(&f->replies);
	daemon_counters_destroy(&f->counters);
	log_set_sink(NULL, NULL);
	log_close();
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static double weight_of(struct fixture *f, unsigned server)
{
	struct engine_server_info info;
	assert_true(engine_server_info(f->d.engine, server, &info));
	return info.weight;
}

static void test_live_keys_applied(void **state)
{
	struct fixture *f = *state;
	char expected[256];
	write_config(f, 0, 2.5, 40, 2);
	assert_true(reload_config(&f->d, &f->replies));
	assert_true(weight_of(f, 0) > 2.4 && weight_of(f, 0) < 2.6);
	assert_int_equal(engine_config(f->d.engine)->timeouts.signalling_s, 40);
	assert_int_equal(daemon_counter_get(&f->counters, COUNTER_CONFIG_RELOADS), 1);
	assert_int_equal(daemon_counter_get(&f->counters, COUNTER_CONFIG_RELOADS_REFUSED), 0);
	snprintf(expected, sizeof(expected), "event=reload result=applied config=%s servers=2 draining=0 selection=", f->path);
	assert_true(fixture_logged(expected));
	assert_true(fixture_logged(" signalling_s=40 media_s=30 linger_s=1"));
}

static void test_restart_only_keys_refused(void **state)
{
	struct fixture *f = *state;
	write_config(f, 1, 2.5, 40, 2);   /* the live keys change too: nothing is applied */
	assert_false(reload_config(&f->d, &f->replies));
	assert_true(fixture_logged("event=reload result=refused error="));
	assert_true(fixture_logged(": queue.first/count changed: restart to apply\" "
				   "msg=\"keeping the running configuration\""));
	assert_int_equal(engine_config(f->d.engine)->queue.first, 0);
	assert_true(weight_of(f, 0) > 0.9 && weight_of(f, 0) < 1.1);
	assert_int_equal(engine_config(f->d.engine)->timeouts.signalling_s, 30);

	write_config(f, 0, 1.0, 30, 7);   /* a server's mark */
	assert_false(reload_config(&f->d, &f->replies));
	assert_int_equal(engine_config(f->d.engine)->servers[1].mark, 2);
	assert_int_equal(daemon_counter_get(&f->counters, COUNTER_CONFIG_RELOADS_REFUSED), 2);
	assert_int_equal(daemon_counter_get(&f->counters, COUNTER_CONFIG_RELOADS), 0);
}

static void test_broken_file_refused(void **state)
{
	struct fixture *f = *state;
	char expected[256];
	FILE *out = fopen(f->path, "w");
	assert_non_null(out);
	fputs("name = \"broken\"\nvips = [ ;\n", out);
	fclose(out);
	assert_false(reload_config(&f->d, &f->replies));
	snprintf(expected, sizeof(expected), "event=reload result=refused error=\"%s:", f->path);
	assert_true(fixture_logged(expected));
	assert_true(fixture_logged(" msg=\"keeping the running configuration\""));
	assert_int_equal(daemon_counter_get(&f->counters, COUNTER_CONFIG_RELOADS_REFUSED), 1);
	assert_string_equal(engine_config(f->d.engine)->name, "reload-test");
}

/* A client's SIP request to the VIP through the dispatcher. */
static struct verdict sip(struct fixture *f, const char *client, const char *method, const char *call_id,
			  unsigned cseq)
{
	char text[1024];
	uint8_t packet[2048];
	struct engine_input in;
	struct verdict v;
	int n = snprintf(text, sizeof(text),
			 "%s sip:bob@sara.example SIP/2.0\r\nVia: SIP/2.0/UDP %s:5060;branch=z9hG4bK-%u\r\n"
			 "Max-Forwards: 70\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\nCall-ID: %s\r\n"
			 "CSeq: %u %s\r\nContent-Length: 0\r\n\r\n",
			 method, client, cseq, call_id, cseq, method);
	size_t len = packet_build_udp(NETADDR_IPV4, client, 5060, "198.18.77.20", 5060, text, (size_t)n, packet,
				      sizeof(packet));
	assert_true(len > 0);
	in = (struct engine_input){ packet, len, 0 };
	dispatcher_decide(&f->d, &in, 1, fixture_clock_ms, &v);
	return v;
}

static double factor_of(struct fixture *f, unsigned server)
{
	struct engine_server_info info;
	assert_true(engine_server_info(f->d.engine, server, &info));
	return info.weight_factor;
}

static void test_servers_added_and_removed(void **state)
{
	static const char *const next[] = { "s3", "s1" };
	struct fixture *f = *state;
	struct verdict a, b, v;
	unsigned on[4] = { 0 };

	a = sip(f, "192.0.2.1", "INVITE", "a@x", 1);
	b = sip(f, "192.0.2.2", "INVITE", "b@x", 1);
	assert_int_equal(a.server, 0);
	assert_int_equal(b.server, 1);

	/* s2 removed, s3 added, listed first */
	write_servers(f, next, 2);
	assert_true(reload_config(&f->d, &f->replies));
	assert_true(fixture_logged("server s3 added (address 198.18.2.13 mark 3 table 103 weight 1.00): slow start over 10 s"));
	assert_true(fixture_logged("server s2 removed: no new sessions; its sessions stay on it (mark 2) until they end"));
	assert_true(fixture_logged(" servers=2 draining=1 selection="));
	assert_int_equal(daemon_counter_get(&f->counters, COUNTER_SERVERS_ADDED), 1);
	assert_int_equal(daemon_counter_get(&f->counters, COUNTER_SERVERS_RETIRED), 1);
	assert_int_equal(f->d.cfg->server_count, 3);
	assert_string_equal(f->d.cfg->servers[2].id, "s3");
	assert_true(f->d.cfg->servers[1].retired);
	assert_true(factor_of(f, 2) < 0.1);

	/* b's call stays on s2 with its mark; new calls go to s1 and s3 */
	v = sip(f, "192.0.2.2", "INVITE", "b@x", 2);
	assert_int_equal(v.session, b.session);
	assert_int_equal(v.server, 1);
	assert_int_equal(v.mark, 2);
	for (int i = 0; i < 20; i++) {
		char id[16];
		snprintf(id, sizeof(id), "n%d@x", i);
		v = sip(f, "192.0.2.3", "INVITE", id, 1);
		assert_true(v.server >= 0 && v.server < 4);
		on[v.server]++;
	}
	assert_int_equal(on[1], 0);
	assert_true(on[2] >= 1 && on[2] < on[0]);   /* s3 ramps up */

	/* half the slow start later, s3's factor is about half */
	fixture_clock_ms += 5000;
	dispatcher_tick(&f->d, fixture_clock_ms);
	assert_true(factor_of(f, 2) > 0.4 && factor_of(f, 2) < 0.6);

	/* b's call ends; a little later s2's slot is free */
	v = sip(f, "192.0.2.2", "BYE", "b@x", 3);
	assert_int_equal(v.mark, 2);
	fixture_clock_ms += 2000;
	dispatcher_tick(&f->d, fixture_clock_ms);
	fixture_clock_ms += 11000;
	dispatcher_tick(&f->d, fixture_clock_ms);
	assert_true(fixture_logged("server s2 gone: nothing holds it any more"));
	assert_int_equal(daemon_counter_get(&f->counters, COUNTER_SERVERS_FREED), 1);
	assert_int_equal(factor_of(f, 2), 1.0);
	/* and s4 takes it */
	{
		static const char *const later[] = { "s3", "s1", "s4" };
		write_servers(f, later, 3);
	}
	assert_true(reload_config(&f->d, &f->replies));
	assert_string_equal(f->d.cfg->servers[1].id, "s4");
	assert_int_equal(f->d.cfg->servers[1].mark, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_live_keys_applied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_only_keys_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_servers_added_and_removed, setup_servers, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
