/* test_report.c - unit tests for src/sara-replay/report.c: the exact text
 * of known records, and the JSON: well-formed, with the expected keys and values. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sara-replay/report.h"
#include "sara-replay/summary.h"
#include "replay_fixture.h"

#define CLIENT_A "192.0.2.10"
#define CLIENT_B "192.0.2.20"
#define MAX_RECORDS 1000
#define MAX_KEYS 16

static struct sara_config cfg;

/* ---- a JSON syntax check (RFC 8259), keeping the top-level keys ---- */

struct json_cursor {
	const char *p;
	int depth;
	char keys[MAX_KEYS][32];
	unsigned key_count;
};

static bool json_value(struct json_cursor *c);

static void json_space(struct json_cursor *c)
{
	while (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t')
		c->p++;
}

static bool json_string_token(struct json_cursor *c, char *copy, size_t size)
{
	size_t n = 0;
	if (*c->p++ != '"')
		return false;
	for (; *c->p != '"'; c->p++) {
		if ((unsigned char)*c->p < 0x20)
			return false;
		if (*c->p == '\\') {
			c->p++;
			if (*c->p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)c->p[i]))
						return false;
				c->p += 4;
			} else if (!strchr("\"\\/bfnrt", *c->p) || !*c->p) {
				return false;
			}
		}
		if (copy && n + 1 < size)
			copy[n++] = *c->p;
	}
	if (copy)
		copy[n] = '\0';
	c->p++;
	return true;
}

static bool json_members(struct json_cursor *c, char open, char close)
{
	bool top = open == '{' && c->depth == 1;
	c->p++;
	json_space(c);
	if (*c->p == close) {
		c->p++;
		return true;
	}
	for (;;) {
		json_space(c);
		if (open == '{') {
			char key[32];
			if (!json_string_token(c, key, sizeof(key)))
				return false;
			if (top && c->key_count < MAX_KEYS)
				snprintf(c->keys[c->key_count++], sizeof(c->keys[0]), "%s", key);
			json_space(c);
			if (*c->p++ != ':')
				return false;
		}
		if (!json_value(c))
			return false;
		json_space(c);
		if (*c->p == close) {
			c->p++;
			return true;
		}
		if (*c->p++ != ',')
			return false;
	}
}

static bool json_value(struct json_cursor *c)
{
	bool ok;
	json_space(c);
	if (*c->p == '{' || *c->p == '[') {
		c->depth++;
		ok = json_members(c, *c->p, *c->p == '{' ? '}' : ']');
		c->depth--;
		return ok;
	}
	if (*c->p == '"')
		return json_string_token(c, NULL, 0);
	for (const char *const *word = (const char *const[]){ "true", "false", "null", NULL }; *word; word++)
		if (strncmp(c->p, *word, strlen(*word)) == 0) {
			c->p += strlen(*word);
			return true;
		}
	if (*c->p == '-')
		c->p++;
	if (!isdigit((unsigned char)*c->p))
		return false;
	while (isdigit((unsigned char)*c->p))
		c->p++;
	return true;
}

/* One JSON document and nothing but a newline after it. */
static void assert_json(const char *text, struct json_cursor *c)
{
	memset(c, 0, sizeof(*c));
	c->p = text;
	if (!json_value(c))
		fail_msg("not JSON at offset %td: %.40s", c->p - text, c->p);
	assert_string_equal(c->p, "\n");
}

static bool json_has_key(const struct json_cursor *c, const char *key)
{
	for (unsigned i = 0; i < c->key_count; i++)
		if (strcmp(c->keys[i], key) == 0)
			return true;
	return false;
}

static void test_json_check_catches_errors(void **state)
{
	static const char *const bad[] = {
		"{\"a\": 1,}", "{\"a\" 1}", "[1, 2", "{\"a\": \"x\ny\"}", "{\"a\": tru}", "{a: 1}", "[\"\\q\"]",
	};
	struct json_cursor c;
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&c, 0, sizeof(c));
		c.p = bad[i];
		assert_false(json_value(&c) && *c.p == '\0');
	}
	assert_json("{\"a\": [1, -2, \"\\u0001\", null, {\"b\": true}], \"c\": {}}\n", &c);
	assert_int_equal(c.key_count, 2);
	assert_true(json_has_key(&c, "a") && json_has_key(&c, "c"));
	assert_false(json_has_key(&c, "b"));
}

/* ---- reports of known records ---- */

static char *report_of(const struct replay *r, bool json, bool verbose)
{
	struct replay_summary sum;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	assert_non_null(out);
	summary_compute(r, &sum);
	if (json)
		report_json(r, &sum, out);
	else
		report_text(r, &sum, verbose, out);
	assert_int_equal(fclose(out), 0);
	return text;
}

/* Two calls, the second's media at two servers, and a flow of no session;
 * the caller adds what it needs, then calls replay_finish. */
static void known_records(struct replay *r, enum replay_mode mode)
{
	fixture_replay(r, &cfg, mode, MAX_RECORDS);
	fixture_session(r, 11, "call-1@c", 0, 0);
	fixture_flow(r, CLIENT_A, 5060, 5060, 11, FLOW_SIGNALLING, 3, 1u << 0, false);
	fixture_flow(r, CLIENT_A, 40000, 20000, 11, FLOW_SECONDARY, 120, 1u << 0, false);
	fixture_session(r, 22, "call-2@c", 1, 1);
	fixture_flow(r, CLIENT_B, 5060, 5060, 22, FLOW_SIGNALLING, 3, 1u << 1, false);
	fixture_flow(r, CLIENT_B, 40000, 20002, 22, FLOW_SECONDARY, 120, 1u << 1 | 1u << 2, false);
	fixture_flow(r, "192.0.2.99", 7000, 9000, 0, FLOW_UNPREDICTED, 4, 0, true);
}

static const char known_sessions_text[] =
	"session sip call-1@c server s1 intact\n"
	"  udp 192.0.2.10:5060 -> 198.18.10.1:5060 signalling packets 3 server s1\n"
	"  udp 192.0.2.10:40000 -> 198.18.10.1:20000 secondary packets 120 server s1\n"
	"session sip call-2@c server s2 SPLIT\n"
	"  udp 192.0.2.20:5060 -> 198.18.10.1:5060 signalling packets 3 server s2\n"
	"  udp 192.0.2.20:40000 -> 198.18.10.1:20002 secondary packets 120 server s2,s3\n"
	"unassigned\n"
	"  udp 192.0.2.99:7000 -> 198.18.10.1:9000 packets 4 server unmarked\n";

static void test_text_plain(void **state)
{
	struct replay r;
	char *text;
	(void)state;
	known_records(&r, REPLAY_PLAIN);
	replay_finish(&r);
	text = report_of(&r, false, false);
	assert_int_equal(strncmp(text, known_sessions_text, strlen(known_sessions_text)), 0);
	assert_string_equal(text + strlen(known_sessions_text),
			    "sessions 2 intact 1 split 1; media flows 2 predicted 2 unpredicted 0\n");
	free(text);
	replay_free(&r);
}

static void test_text_verbose_adds_totals(void **state)
{
	struct replay r;
	char *text, *totals;
	(void)state;
	known_records(&r, REPLAY_PLAIN);
	replay_finish(&r);
	r.inbound = 250, r.outbound = 7, r.other = 2, r.announcements = 3;
	text = report_of(&r, false, true);
	totals = strstr(text, "unpredicted 0\n");
	assert_non_null(totals);
	totals += strlen("unpredicted 0\n");
	/* The counters that are not zero follow "counters:" as " name=value". */
	assert_int_equal(strncmp(totals, "packets inbound 250 outbound 7 other 2; announcements 3\ncounters:",
				 strlen("packets inbound 250 outbound 7 other 2; announcements 3\ncounters:")),
			 0);
	assert_non_null(strstr(totals, "\ngateway counters:"));
	assert_int_equal(text[strlen(text) - 1], '\n');
	free(text);
	replay_free(&r);
}

/* Observed modes: the session shows where its first packet arrived, a
 * session no server saw is unreached, and each observed server has a line. */
static void test_text_observed(void **state)
{
	struct replay r;
	char *text;
	(void)state;
	known_records(&r, REPLAY_MATCHED);
	fixture_session(&r, 33, "call-3@c", 2, -1);
	fixture_flow(&r, "192.0.2.30", 5060, 5060, 33, FLOW_SIGNALLING, 2, 0, true);
	replay_finish(&r);
	replay_add_observed(&r, 0);
	replay_add_observed(&r, 2);
	r.tally[0].inbound = 123, r.tally[2].inbound = 60, r.tally[2].unmatched = 5;
	text = report_of(&r, false, false);
	assert_non_null(strstr(text, "session sip call-3@c server - UNREACHED\n"
				     "  udp 192.0.2.30:5060 -> 198.18.10.1:5060 signalling packets 2 server unmarked\n"));
	assert_non_null(strstr(text, "\nserver s1: sessions 1 packets 123\n"
				     "server s3: sessions 1 packets 60 unmatched 5\n"
				     "sessions 3 intact 1 split 1 unreached 1; media flows 2 predicted 2 unpredicted 0\n"));
	assert_null(strstr(text, "server s2:"));
	free(text);
	replay_free(&r);
}

static void test_json_plain(void **state)
{
	struct replay r;
	struct json_cursor c;
	char *text;
	(void)state;
	known_records(&r, REPLAY_PLAIN);
	replay_finish(&r);
	text = report_of(&r, true, false);
	assert_json(text, &c);
	assert_int_equal(c.key_count, 5);
	assert_true(json_has_key(&c, "sessions") && json_has_key(&c, "unassigned_flows") &&
		    json_has_key(&c, "summary") && json_has_key(&c, "packets") && json_has_key(&c, "counters"));
	assert_non_null(strstr(text, "{\"proto\": \"sip\", \"key\": \"call-1@c\", \"server\": \"s1\", "
				     "\"intact\": true, \"flows\": [{\"l4\": \"udp\", \"src\": \"192.0.2.10:5060\", "
				     "\"dst\": \"198.18.10.1:5060\", \"kind\": \"signalling\", \"packets\": 3, "
				     "\"servers\": [\"s1\"]}, "));
	assert_non_null(strstr(text, "\"intact\": false, \"flows\": ["));
	assert_non_null(strstr(text, "\"servers\": [\"s2\", \"s3\"]}]}],\n"));
	assert_non_null(strstr(text, "\"unassigned_flows\": [{\"l4\": \"udp\", \"src\": \"192.0.2.99:7000\", "
				     "\"dst\": \"198.18.10.1:9000\", \"packets\": 4, \"servers\": [null]}],\n"));
	assert_non_null(strstr(text, "\"summary\": {\"sessions\": 2, \"intact\": 1, \"split\": 1, "
				     "\"media_flows\": 2, \"predicted\": 2, \"unpredicted\": 0},\n"));
	assert_non_null(strstr(text, "\"counters\": {\"engine\": {"));
	assert_null(strstr(text, "\"reached\""));
	assert_null(strstr(text, "\"per_server\""));
	free(text);
	replay_free(&r);
}

static void test_json_observed(void **state)
{
	struct replay r;
	struct json_cursor c;
	char *text;
	(void)state;
	known_records(&r, REPLAY_MATCHED);
	replay_finish(&r);
	replay_add_observed(&r, 1);
	r.tally[1].inbound = 9, r.tally[1].outbound = 4;
	r.inbound = 9;
	text = report_of(&r, true, false);
	assert_json(text, &c);
	assert_true(json_has_key(&c, "observed") && json_has_key(&c, "per_server"));
	assert_non_null(strstr(text, "\"intact\": true, \"reached\": true, "));
	assert_non_null(strstr(text, ", \"unreached\": 0},\n \"observed\": true, \"per_server\": "
				     "{\"s2\": {\"sessions\": 1, \"packets\": 9, \"outbound\": 4, \"unmatched\": 0}},\n"));
	assert_non_null(strstr(text, "\"packets\": {\"inbound\": 9, "));
	free(text);
	replay_free(&r);
}

/* Session keys are the peer's text: quoted, escaped and still JSON. */
static void test_json_escapes_keys(void **state)
{
	struct replay r;
	struct json_cursor c;
	char *text;
	(void)state;
	fixture_replay(&r, &cfg, REPLAY_PLAIN, MAX_RECORDS);
	fixture_session(&r, 5, "a\"b\\c\x01\xc3\xa9", 0, 0);
	fixture_flow(&r, CLIENT_A, 5060, 5060, 5, FLOW_SIGNALLING, 1, 1u << 0, false);
	replay_finish(&r);
	text = report_of(&r, true, false);
	assert_json(text, &c);
	assert_non_null(strstr(text, "\"key\": \"a\\\"b\\\\c\\u0001\\u00c3\\u00a9\""));
	free(text);
	replay_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_check_catches_errors),
		cmocka_unit_test(test_text_plain),
		cmocka_unit_test(test_text_verbose_adds_totals),
		cmocka_unit_test(test_text_observed),
		cmocka_unit_test(test_json_plain),
		cmocka_unit_test(test_json_observed),
		cmocka_unit_test(test_json_escapes_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
