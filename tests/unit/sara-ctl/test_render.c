/* test_render.c - sarad's replies as sara-ctl shows them: canned replies
 * rendered to known tables, status lines and summaries (a session's
 * detail, the refusals), raw with --json, a list element a line with
 * --json-lines, and error or malformed replies reported with exit status 1. */
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
	"{\"serial\": 2, \"proto\": \"sip\", \"key\": \"call-1\\u0001\\u00ff\\\"x\\\\y@host\", \"client\": \"192.0.2.10\", \"server\": \"s1\", "
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
	end(render_servers(servers_reply, strlen(servers_reply), RENDER_TEXT, out_file, err_file));
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
	end(render_servers(servers_reply, strlen(servers_reply), RENDER_JSON, out_file, err_file));
	assert_int_equal(result.status, 0);
	assert_string_equal(result.out, servers_reply);
	done();
	/* A reply without its final newline gets one. */
	begin();
	end(render_servers(servers_reply, strlen(servers_reply) - 1, RENDER_JSON, out_file, err_file));
	assert_string_equal(result.out, servers_reply);
	done();
}

static void test_sessions_table_and_summary(void **state)
{
	(void)state;
	begin();
	end(render_sessions(sessions_reply, strlen(sessions_reply), RENDER_TEXT, "s1", NULL, out_file, err_file));
	assert_int_equal(result.status, 0);
	/* Key bytes outside printable ASCII show as '?'; escapes are undone. */
	assert_string_equal(result.out, "SERIAL  PROTO  CLIENT      SERVER  FLOWS  CONFIRMED  ENDING  AGE   IDLE  KEY\n"
					"1       sip    -           -       0      no         no      0.0s  0.0s  call-0??\"x\\y@host\n"
					"2       sip    192.0.2.10  s1      1      yes        no      1.5s  0.0s  call-1??\"x\\y@host\n"
					"2 of 4 sessions of server s1 listed (9 in the table)\n");
	assert_string_equal(result.err,
			    "sara-ctl: the listing stopped at --limit 2 (at most 100000; --server ID narrows it)\n");
	done();

	begin();
	end(render_sessions(sessions_reply, strlen(sessions_reply), RENDER_JSON, "s1", NULL, out_file, err_file));
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
	end(render_sessions(reply, strlen(reply), RENDER_TEXT, NULL, NULL, out_file, err_file));
	assert_int_equal(result.status, 0);
	assert_string_equal(result.out, "SERIAL  PROTO  CLIENT  SERVER  FLOWS  CONFIRMED  ENDING  AGE  IDLE  KEY\n"
					"0 of 200000 sessions listed (200000 in the table)\n");
	assert_string_equal(result.err, "sara-ctl: the listing stopped at sarad's size cap; narrow it with --server ID\n");
	done();
}

static void test_error_reply(void **state)
{
	static const char reply[] = "{\"ok\": false, \"error\": \"no server \\\"nope\\\"; servers: s1, s2\"}\n";
	(void)state;
	begin();
	end(render_sessions(reply, strlen(reply), RENDER_TEXT, "nope", NULL, out_file, err_file));
	assert_int_equal(result.status, EXIT_FAILED);
	assert_string_equal(result.out, "");
	assert_string_equal(result.err, "sara-ctl: sarad: no server \"nope\"; servers: s1, s2\n");
	done();
	/* With --json the reply is printed too, and still an error. */
	begin();
	end(render_drain(reply, strlen(reply), RENDER_JSON, "nope", out_file, err_file));
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
	end(render_drain(drained, strlen(drained), RENDER_TEXT, "s1", out_file, err_file));
	assert_int_equal(result.status, 0);
	assert_string_equal(result.out, "server s1 drained: no new sessions; its 7 current sessions stay\n");
	done();
	begin();
	end(render_drain(undrained, strlen(undrained), RENDER_TEXT, "s2", out_file, err_file));
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
	end(render_status(reply, strlen(reply), RENDER_TEXT, out_file, err_file));
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
	end(render_status(reply, strlen(reply), RENDER_JSON, out_file, err_file));
	assert_string_equal(result.out, reply);
	done();
}

static void test_malformed_replies(void **state)
{
	static const char cut[] = "{\"ok\": true, \"server\": \"broken\", \"drained\": tru";
	static const char status[] = "{\"cluster\": \"lab\", \"engine\": {\"packets\": 2";
	(void)state;
	begin();
	end(render_drain(cut, strlen(cut), RENDER_TEXT, "broken", out_file, err_file));
	assert_int_equal(result.status, EXIT_FAILED);
	assert_string_equal(result.out, "{\"ok\": true, \"server\": \"broken\", \"drained\": tru\n");
	assert_string_equal(result.err, "sara-ctl: sarad's answer is not the JSON object expected; as received:\n");
	done();
	/* Status lines already printed stay; the reply follows as received. */
	begin();
	end(render_status(status, strlen(status), RENDER_TEXT, out_file, err_file));
	assert_int_equal(result.status, EXIT_FAILED);
	assert_string_equal(result.out, "cluster: lab\nengine.packets: 2\n"
					"{\"cluster\": \"lab\", \"engine\": {\"packets\": 2\n");
	assert_string_equal(result.err, "sara-ctl: sarad's status is not the JSON object expected; as received:\n");
	done();
	begin();
	end(render_servers("[1, 2]\n", 7, RENDER_TEXT, out_file, err_file));
	assert_int_equal(result.status, EXIT_FAILED);
	done();
}

/* --json-lines: one element of the reply's list a line, as sarad wrote it;
 * the summary still says on stderr where a listing stopped. */
static void test_json_lines(void **state)
{
	(void)state;
	begin();
	end(render_servers(servers_reply, strlen(servers_reply), RENDER_JSON_LINES, out_file, err_file));
	assert_int_equal(result.status, 0);
	assert_string_equal(result.out,
		"{\"id\": \"s1\", \"address\": \"10.0.0.1\", \"mark\": 256, \"table\": 101, \"weight\": 1.000, "
		"\"weight_factor\": 0.500, \"available\": true, \"drained\": false, \"state\": \"up\", \"cause\": \"none\", "
		"\"last_heartbeat_age_ms\": 1234, \"sessions\": 3, \"load_estimate\": 0.250}\n"
		"{\"id\": \"s-long-name\\u00e9\", \"address\": \"2001:db8::1\", \"mark\": 257, \"table\": 102, "
		"\"weight\": 2.500, \"weight_factor\": 1.000, \"available\": false, \"drained\": null, \"state\": \"failed\", "
		"\"cause\": \"missed\", \"last_heartbeat_age_ms\": null, \"sessions\": 0, \"load_estimate\": null}\n");
	done();

	begin();
	end(render_sessions(sessions_reply, strlen(sessions_reply), RENDER_JSON_LINES, "s1", NULL, out_file, err_file));
	assert_int_equal(result.status, 0);
	assert_int_equal(strncmp(result.out, "{\"serial\": 1, ", 14), 0);
	assert_non_null(strstr(result.out, "}\n{\"serial\": 2, "));
	assert_int_equal(result.out[result.out_len - 2], '}');
	assert_string_equal(result.err,
			    "sara-ctl: the listing stopped at --limit 2 (at most 100000; --server ID narrows it)\n");
	done();

	/* A document without a list is one line as it is; an error is reported. */
	begin();
	end(render_status("{\"cluster\": \"c\"}", 16, RENDER_JSON_LINES, out_file, err_file));
	assert_string_equal(result.out, "{\"cluster\": \"c\"}\n");
	done();
	begin();
	end(render_servers("{\"error\": \"x\"}\n", 15, RENDER_JSON_LINES, out_file, err_file));
	assert_int_equal(result.status, EXIT_FAILED);
	assert_string_equal(result.out, "{\"error\": \"x\"}\n");
	assert_string_equal(result.err, "sara-ctl: sarad: x\n");
	done();
	begin();
	end(render_servers("{\"servers\": 3}\n", 15, RENDER_JSON_LINES, out_file, err_file));
	assert_int_equal(result.status, EXIT_FAILED);
	assert_string_equal(result.err, "sara-ctl: sarad's answer has no \"servers\" list\n");
	done();
}

static const char detail_reply[] =
	"{\"key\": \"media-1@c\", \"matched\": 1, \"sessions\": [{\"serial\": 2, \"proto\": \"sip\", "
	"\"key\": \"media-1@c\", \"client\": \"192.0.2.20\", \"server\": \"s2\", \"flows\": 3, \"confirmed\": true, "
	"\"ending\": false, \"age_ms\": 1500, \"idle_ms\": 500, \"pick\": {\"how\": \"selected\", \"algorithm\": "
	"\"shell\", \"load\": 0.250, \"weight\": 2.000, \"sessions\": 7, \"from_server\": null, \"age_ms\": 1500}, "
	"\"flow_list\": [{\"kind\": \"secondary\", \"transport\": \"udp\", \"src\": \"192.0.2.20:40000\", "
	"\"dst\": \"198.18.10.1:20000\", \"match\": \"exact\", \"server\": \"s2\", \"state\": \"established\", "
	"\"packets\": 3, \"idle_ms\": 500, \"shared\": false}, {\"kind\": \"announced\", \"transport\": \"udp\", "
	"\"src\": \"192.0.2.20:40001\", \"dst\": \"*\", \"match\": \"from-source\", \"server\": \"s2\", \"state\": "
	"\"new\", \"packets\": 0, \"idle_ms\": 1500, \"shared\": false}, {\"kind\": \"signalling\", \"transport\": "
	"\"udp\", \"src\": \"192.0.2.20:5060\", \"dst\": \"198.18.10.1:5060\", \"match\": \"exact\", \"server\": "
	"\"s2\", \"state\": \"established\", \"packets\": 2, \"idle_ms\": 700, \"shared\": true}], "
	"\"flows_listed\": 3, \"flows_total\": 3}]}\n";

static void test_session_detail(void **state)
{
	static const char moved[] =
		"{\"key\": \"k\", \"matched\": 1, \"sessions\": [{\"serial\": 9, \"proto\": \"rtsp\", \"key\": \"k\", "
		"\"client\": null, \"server\": \"s3\", \"flows\": 0, \"confirmed\": false, \"ending\": true, "
		"\"age_ms\": 61000, \"idle_ms\": 0, \"pick\": {\"how\": \"moved\", \"algorithm\": \"even\", \"load\": null, "
		"\"weight\": 1.000, \"sessions\": 0, \"from_server\": \"s1\", \"age_ms\": 2000}, \"flow_list\": [], "
		"\"flows_listed\": 0, \"flows_total\": 0}]}\n";
	(void)state;
	begin();
	end(render_session_detail(detail_reply, strlen(detail_reply), RENDER_TEXT, out_file, err_file));
	assert_int_equal(result.status, 0);
	print_message("%s", result.out);
	assert_string_equal(result.out,
		"session:  sip media-1@c (serial 2)\n"
		"client:   192.0.2.20\n"
		"server:   s2\n"
		"why:      chosen by shell: s2 load estimate 0.25, weight 2.00, 7 sessions, 1.5s ago\n"
		"state:    confirmed, age 1.5s, idle 0.5s\n"
		"flows:    3 (packets: those sarad decided; a media flow's later packets stay in the kernel)\n"
		"KIND        PROTO  SOURCE            DESTINATION        SERVER  STATE        PACKETS  IDLE  OWNED\n"
		"secondary   udp    192.0.2.20:40000  198.18.10.1:20000  s2      established  3        0.5s  own\n"
		"announced   udp    192.0.2.20:40001  *                  s2      new          0        1.5s  own\n"
		"signalling  udp    192.0.2.20:5060   198.18.10.1:5060   s2      established  2        0.7s  shared\n");
	assert_string_equal(result.err, "");
	done();

	begin();
	end(render_session_detail(moved, strlen(moved), RENDER_TEXT, out_file, err_file));
	assert_int_equal(result.status, 0);
	assert_non_null(strstr(result.out, "client:   unknown\n"));
	assert_non_null(strstr(result.out, "why:      moved from s1 when it failed, to the server with the fewest "
					   "sessions per weight: s3 no load report yet, weight 1.00, 0 sessions, 2.0s ago\n"));
	assert_non_null(strstr(result.out, "state:    not confirmed, ending, age 61.0s, idle 0.0s\n"));
	done();

	/* --json-lines: the session, flows inside, on one line. */
	begin();
	end(render_session_detail(detail_reply, strlen(detail_reply), RENDER_JSON_LINES, out_file, err_file));
	assert_int_equal(result.status, 0);
	assert_int_equal(strncmp(result.out, "{\"serial\": 2, \"proto\": \"sip\"", 28), 0);
	assert_int_equal(strchr(result.out, '\n') - result.out, (long)result.out_len - 1);
	done();

	/* No session with that key: exit status 1, said on stderr. */
	begin();
	end(render_session_detail("{\"key\": \"x@y\", \"matched\": 0, \"sessions\": []}\n", 45, RENDER_TEXT, out_file,
				  err_file));
	assert_int_equal(result.status, EXIT_FAILED);
	assert_string_equal(result.out, "");
	assert_string_equal(result.err, "sara-ctl: no session with key \"x@y\"\n");
	done();
}

static const char refused_reply[] =
	"{\"since_s\": 60, \"counts\": {\"malformed\": 1, \"table_full\": 0, \"no_server\": 0, \"admission\": 5}, "
	"\"total\": 6, \"refusals\": [{\"time\": \"2023-11-14T22:14:49.000Z\", \"age_ms\": 1000, \"transport\": \"udp\", "
	"\"client\": \"192.0.2.32:5080\", \"vip\": \"198.18.10.1:5060\", \"reason\": \"malformed\", \"action\": "
	"\"dropped\", \"reply\": null}, {\"time\": \"2023-11-14T22:14:48.123Z\", \"age_ms\": 2000, \"transport\": "
	"\"udp\", \"client\": \"192.0.2.31:5070\", \"vip\": \"198.18.10.1:5060\", \"reason\": \"admission\", "
	"\"action\": \"dropped\", \"reply\": \"sip_503\"}], \"listed\": 2, \"not_listed\": 4}\n";

static void test_refused(void **state)
{
	(void)state;
	begin();
	end(render_refused(refused_reply, strlen(refused_reply), RENDER_TEXT, out_file, err_file));
	assert_int_equal(result.status, 0);
	assert_string_equal(result.out,
		"TIME                      PROTO  CLIENT           VIP               REASON     ACTION   REPLY\n"
		"2023-11-14T22:14:49.000Z  udp    192.0.2.32:5080  198.18.10.1:5060  malformed  dropped  -\n"
		"2023-11-14T22:14:48.123Z  udp    192.0.2.31:5070  198.18.10.1:5060  admission  dropped  sip_503\n"
		"6 refused in the last 60 s: malformed 1, table_full 0, no_server 0, admission 5\n"
		"(the 2 listed are the latest; 4 older ones are only counted)\n");
	done();

	begin();
	end(render_refused(refused_reply, strlen(refused_reply), RENDER_JSON_LINES, out_file, err_file));
	assert_int_equal(result.status, 0);
	assert_string_equal(result.out,
		"{\"time\": \"2023-11-14T22:14:49.000Z\", \"age_ms\": 1000, \"transport\": \"udp\", \"client\": "
		"\"192.0.2.32:5080\", \"vip\": \"198.18.10.1:5060\", \"reason\": \"malformed\", \"action\": \"dropped\", "
		"\"reply\": null}\n"
		"{\"time\": \"2023-11-14T22:14:48.123Z\", \"age_ms\": 2000, \"transport\": \"udp\", \"client\": "
		"\"192.0.2.31:5070\", \"vip\": \"198.18.10.1:5060\", \"reason\": \"admission\", \"action\": \"dropped\", "
		"\"reply\": \"sip_503\"}\n");
	done();

	begin();
	end(render_refused(refused_reply, strlen(refused_reply), RENDER_JSON, out_file, err_file));
	assert_string_equal(result.out, refused_reply);
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
		cmocka_unit_test(test_json_lines),
		cmocka_unit_test(test_session_detail),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
