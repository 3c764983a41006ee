/* test_render.c - sarad's replies as sara-ctl shows them: canned replies
 * rendered to known tables, status lines and summaries, raw with --json,
 * and error or malformed replies reported with exit status 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sara-ctl/ctl.h"
#include "sara-ctl/render.h"

static const char servers_reply[] =
	"{\"agents\": true, \"servers\": [{\"id\": \"s1\", \"address\": \"10.0.0.1\", \"mark\": 256, \"table\": 101, "
	"\"weight\": 1.000, \"weight_factor\": 0.500, \"available\": true, \"drained\": false, \"state\": \"up\", "
	"\"cause\": \"none\", \"last_heartbeat_age_ms\": 1234, \"sessions\": 3, \"load_estimate\": 0.250}, "
	"{\"id\": \"s-long-name\\u00e9\", \"address\": \"2001:db8::1\", \"mark\": 257, \"table\": 102, "
	"\"weight\": 2.500, \"weight_factor\": 1.000, \"available\": false, \"drained\": null, \"state\": \"failed\", "
	"\"cause\": \"missed\", \"last_heartbeat_age_ms\": null, \"sessions\": 0, \"load_estimate\": null}]}\n";

static const char sessions_reply[] =
	"{\"sessions\": [{\"serial\": 1, \"proto\": \"sip\", \"key\": \"call-0\\u0001\\u00ff\\\"x\\\\y@host\", "
	"\"server\": null, \"flows\": 0, \"confirmed\": false, \"ending\": false, \"age_ms\": 0, \"idle_ms\": 5}, "
	"{\"serial\": 2, \"proto\": \"sip\", \"key\": \"call-1\\u0001\\u00ff\\\"x\\\\y@host\", \"server\": \"s1\", "
	"\"flows\": 1, \"confirmed\": true, \"ending\": false, \"age_ms\": 1500, \"idle_ms\": 5}], \"total\": 9, "
	"\"matched\": 4, \"listed\": 2, \"limit\": 2, \"server\": \"s1\", \"truncated\": true, "
	"\"truncated_by\": \"limit\"}\n";

/* What one render call wrote on out and err, and what it returned. */
struct rendered {
	char *out, *err;
	size_t out_len, err_len;
	int status;
};

static FILE *out_file, *err_file;
static struct rendered result;

static void begin(void)
{
	memset(&result, 0, sizeof(result));
	out_file = open_memstream(&result.out, &result.out_len);
	err_file = open_memstream(&result.err, &result.err_len);
	assert_non_null(out_file);
	assert_non_null(err_file);
}

static void end(int status)
{
	fclose(out_file);
	fclose(err_file);
	result.status = status;
}

static void done(void)
{
	free(result.out);
	free(result.err);
}

static void test_servers_table(void **state)
{
	(void)state;
	begin();
	end(render_servers(servers_reply, strlen(servers_reply), false, out_file, err_file));
	assert_int_equal(result.status, 0);
	assert_string_equal(result.out,
		"ID            ADDRESS      MARK  TABLE  WEIGHT  FACTOR  AVAILABLE  DRAINED  HEALTH  CAUSE   HEARTBEAT  "
		"SESSIONS  LOAD\n"
		"s1            10.0.0.1     256   101    1.00    0.50    yes        no       up      none    1.2s       "
		"3         0.25\n"
		"s-long-name?  2001:db8::1  257   102    2.50    1.00    no         -        failed  missed  -          "
		"0         -\n");
	assert_string_equal(result.err, "");
	done();
}

static void test_servers_json_is_the_reply(void **state)
{
	(void)state;
	begin();
	end(render_servers(servers_reply, strlen(servers_reply), true, out_file, err_file));
	assert_int_equal(result.status, 0);
	assert_string_equal(result.out, servers_reply);
	done();
	/* A reply without its final newline gets one. */
	begin();
	end(render_servers(servers_reply, strlen(servers_reply) - 1, true, out_file, err_file));
	assert_string_equal(result.out, servers_reply);
	done();
}

static void test_sessions_table_and_summary(void **state)
{
	(void)state;
	begin();
	end(render_sessions(sessions_reply, strlen(sessions_reply), false, "s1", out_file, err_file));
	assert_int_equal(result.status, 0);
	/* Key bytes outside printable ASCII show as '?'; escapes are undone. */
	assert_string_equal(result.out, "SERIAL  PROTO  SERVER  FLOWS  CONFIRMED  ENDING  AGE   IDLE  KEY\n"
					"1       sip    -       0      no         no      0.0s  0.0s  call-0??\"x\\y@host\n"
					"2       sip    s1      1      yes        no      1.5s  0.0s  call-1??\"x\\y@host\n"
					"2 of 4 sessions of server s1 listed (9 in the table)\n");
	assert_string_equal(result.err,
			    "sara-ctl: the listing stopped at --limit 2 (at most 100000; --server ID narrows it)\n");
	done();

	begin();
	end(render_sessions(sessions_reply, strlen(sessions_reply), true, "s1", out_file, err_file));
	assert_int_equal(result.status, 0);
	assert_string_equal(result.out, sessions_reply);
	assert_string_equal(result.err, "");
	done();
}

static void test_sessions_size_cap(void **state)
{
	static const char reply[] = "{\"sessions\": [], \"total\": 200000, \"matched\": 200000, \"listed\": 0, "
				    "\"limit\": 100000, \"truncated\": true, \"truncated_by\": \"size\"}";
	(void)state;
	begin();
	end(render_sessions(reply, strlen(reply), false, NULL, out_file, err_file));
	assert_int_equal(result.status, 0);
	assert_string_equal(result.out, "SERIAL  PROTO  SERVER  FLOWS  CONFIRMED  ENDING  AGE  IDLE  KEY\n"
					"0 of 200000 sessions listed (200000 in the table)\n");
	assert_string_equal(result.err, "sara-ctl: the listing stopped at sarad's size cap; narrow it with --server ID\n");
	done();
}

static void test_error_reply(void **state)
{
	static const char reply[] = "{\"ok\": false, \"error\": \"no server \\\"nope\\\"; servers: s1, s2\"}\n";
	(void)state;
	begin();
	end(render_sessions(reply, strlen(reply), false, "nope", out_file, err_file));
	assert_int_equal(result.status, EXIT_FAILED);
	assert_string_equal(result.out, "");
	assert_string_equal(result.err, "sara-ctl: sarad: no server \"nope\"; servers: s1, s2\n");
	done();
	/* With --json the reply is printed too, and still an error. */
	begin();
	end(render_drain(reply, strlen(reply), true, "nope", out_file, err_file));
	assert_int_equal(result.status, EXIT_FAILED);
	assert_string_equal(result.out, reply);
	assert_string_equal(result.err, "sara-ctl: sarad: no server \"nope\"; servers: s1, s2\n");
	done();
}

static void test_drain_summary(void **state)
{
	static const char drained[] = "{\"ok\": true, \"server\": \"s1\", \"drained\": true, \"sessions\": 7}\n";
	static const char undrained[] = "{\"ok\": true, \"server\": \"s2\", \"drained\": false, \"sessions\": 2}";
	(void)state;
	begin();
	end(render_drain(drained, strlen(drained), false, "s1", out_file, err_file));
	assert_int_equal(result.status, 0);
	assert_string_equal(result.out, "server s1 drained: no new sessions; its 7 current sessions stay\n");
	done();
	begin();
	end(render_drain(undrained, strlen(undrained), false, "s2", out_file, err_file));
	assert_string_equal(result.out, "server s2 undrained: takes new sessions (2 current)\n");
	done();
}

static void test_status_lines(void **state)
{
	static const char reply[] = "{\"cluster\": \"lab \\\"x\\\" \\\\ y\\n\\u00e9\", \"uptime_s\": 12, "
				    "\"engine\": {\"packets\": 2}, \"queues\": [{\"num\": 0, \"received\": 4}], "
				    "\"announcements\": {\"enabled\": false}, \"admission\": {\"lead_s\": null}}\n";
	(void)state;
	begin();
	end(render_status(reply, strlen(reply), false, out_file, err_file));
	assert_int_equal(result.status, 0);
	/* The common escapes are undone; \uXXXX is left as written. */
	assert_string_equal(result.out, "cluster: lab \"x\" \\ y\n\\u00e9\n"
					"uptime_s: 12\n"
					"engine.packets: 2\n"
					"queues[0].num: 0\n"
					"queues[0].received: 4\n"
					"announcements.enabled: false\n"
					"admission.lead_s: null\n");
	done();
	begin();
	end(render_status(reply, strlen(reply), true, out_file, err_file));
	assert_string_equal(result.out, reply);
	done();
}

static void test_malformed_replies(void **state)
{
	static const char cut[] = "{\"ok\": true, \"server\": \"broken\", \"drained\": tru";
	static const char status[] = "{\"cluster\": \"lab\", \"engine\": {\"packets\": 2";
	(void)state;
	begin();
	end(render_drain(cut, strlen(cut), false, "broken", out_file, err_file));
	assert_int_equal(result.status, EXIT_FAILED);
	assert_string_equal(result.out, "{\"ok\": true, \"server\": \"broken\", \"drained\": tru\n");
	assert_string_equal(result.err, "sara-ctl: sarad's answer is not the JSON object expected; as received:\n");
	done();
	/* Status lines already printed stay; the reply follows as received. */
	begin();
	end(render_status(status, strlen(status), false, out_file, err_file));
	assert_int_equal(result.status, EXIT_FAILED);
	assert_string_equal(result.out, "cluster: lab\nengine.packets: 2\n"
					"{\"cluster\": \"lab\", \"engine\": {\"packets\": 2\n");
	assert_string_equal(result.err, "sara-ctl: sarad's status is not the JSON object expected; as received:\n");
	done();
	begin();
	end(render_servers("[1, 2]\n", 7, false, out_file, err_file));
	assert_int_equal(result.status, EXIT_FAILED);
	done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_servers_table),
		cmocka_unit_test(test_servers_json_is_the_reply),
		cmocka_unit_test(test_sessions_table_and_summary),
		cmocka_unit_test(test_sessions_size_cap),
		cmocka_unit_test(test_error_reply),
		cmocka_unit_test(test_drain_summary),
		cmocka_unit_test(test_status_lines),
		cmocka_unit_test(test_malformed_replies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
