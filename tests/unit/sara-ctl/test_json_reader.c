/* test_json_reader.c - the bounded JSON walk of sara-ctl: paths and
 * scalars of well-formed replies, and refusal of malformed, truncated and
 * too deeply nested ones; strings with escapes, for the walk and for
 * json_text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sara-ctl/json_reader.h"

#define SEEN_MAX 4096

/* Every scalar as "path=text" (strings quoted), one per line. */
struct seen {
	char text[SEEN_MAX];
	size_t len;
	unsigned count;
};

static void collect(struct json_walk *w, const char *text, size_t len, bool string)
{
	struct seen *s = w->ctx;
	int n = snprintf(s->text + s->len, sizeof(s->text) - s->len, "%s=%s%.*s%s\n", w->path, string ? "\"" : "",
			 (int)len, text, string ? "\"" : "");
	assert_true(n > 0 && (size_t)n < sizeof(s->text) - s->len);
	s->len += (size_t)n;
	s->count++;
}

static bool walk(const char *doc, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	return json_walk_document(doc, strlen(doc), collect, s);
}

static void test_paths_and_scalars(void **state)
{
	struct seen s;
	(void)state;
	assert_true(walk(" {\"cluster\": \"lab\", \"engine\": {\"packets\": 12, \"load\": -0.5e3},\n"
			 " \"queues\": [{\"num\": 0}, {\"num\": 1, \"ok\": true}], \"none\": null,\n"
			 " \"grid\": [[1, 2], [], [false]], \"empty\": {}}\n",
			 &s));
	assert_string_equal(s.text, "cluster=\"lab\"\n"
				    "engine.packets=12\n"
				    "engine.load=-0.5e3\n"
				    "queues[0].num=0\n"
				    "queues[1].num=1\n"
				    "queues[1].ok=true\n"
				    "none=null\n"
				    "grid[0][0]=1\n"
				    "grid[0][1]=2\n"
				    "grid[2][0]=false\n");
	assert_true(walk("{}", &s));
	assert_int_equal(s.count, 0);
	assert_true(walk("\r\n\t{ }\n\n", &s));
}

static void test_only_one_object(void **state)
{
	static const char *const docs[] = { "", "   ", "[1, 2]", "1", "\"text\"", "null", "{} {}", "{}x", "{}}" };
	struct seen s;
	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		if (walk(docs[i], &s))
			fail_msg("accepted \"%s\"", docs[i]);
}

static void test_malformed(void **state)
{
	static const char *const docs[] = {
		"{\"a\" 1}",            /* no colon */
		"{\"a\": 1 \"b\": 2}",  /* no comma */
		"{\"a\": 1,}",          /* trailing comma */
		"{\"a\": [1, 2,]}",
		"{1: 2}",               /* key not a string */
		"{a: 2}",
		"{\"a\": }",            /* no value */
		"{\"a\": ,}",
		"{\"a\": [1 2]}",
		"{\"a\": \"open}",      /* unterminated string */
		"{\"a\": \"ends in a backslash\\\"}",
		"{\"a\": {\"b\": 1}",   /* unclosed */
		"{\"a\": [1, {\"b\": 2]}",
		"{\"a\": 1]",
	};
	struct seen s;
	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		if (walk(docs[i], &s))
			fail_msg("accepted %s", docs[i]);
}

/* Every proper prefix of a document is refused (a reply cut short). */
static void test_truncated(void **state)
{
	static const char doc[] = "{\"a\": {\"b\": [1, \"x\\\"y,}\", null]}, \"c\": -12.5, \"d\": {}}";
	struct seen s;
	(void)state;
	assert_true(walk(doc, &s));
	assert_int_equal(s.count, 4);
	for (size_t len = 0; len < strlen(doc); len++) {
		memset(&s, 0, sizeof(s));
		if (json_walk_document(doc, len, collect, &s))
			fail_msg("accepted the first %zu bytes", len);
	}
}

/* "{"a": " n times, then 1, then n closing braces. */
static char *nested(unsigned n, bool arrays)
{
	char *doc = malloc(8 * (size_t)n + 16), *p = doc;
	assert_non_null(doc);
	p += sprintf(p, "{\"a\": ");
	for (unsigned i = 1; i < n; i++)
		p += sprintf(p, arrays ? "[" : "{\"a\": ");
	p += sprintf(p, "1");
	for (unsigned i = 1; i < n; i++)
		*p++ = arrays ? ']' : '}';
	*p++ = '}';
	*p = '\0';
	return doc;
}

static void test_nested_too_deep(void **state)
{
	struct seen s;
	(void)state;
	for (unsigned arrays = 0; arrays < 2; arrays++) {
		char *ok = nested(JSON_DEPTH_MAX, arrays), *deep = nested(JSON_DEPTH_MAX + 1, arrays);
		char *far = nested(10000, arrays);
		assert_true(walk(ok, &s));
		assert_int_equal(s.count, 1);
		assert_false(walk(deep, &s));
		assert_int_equal(s.count, 0);
		assert_false(walk(far, &s));
		free(ok);
		free(deep);
		free(far);
	}
}

static void test_strings_with_escapes(void **state)
{
	struct seen s;
	(void)state;
	/* The walk hands strings over still escaped; keys go into the path as written. */
	assert_true(walk("{\"k\\\"ey\": \"a\\\\b\\\"c\\u00e9\", \"x\": \"},\\\"]\"}", &s));
	assert_string_equal(s.text, "k\\\"ey=\"a\\\\b\\\"c\\u00e9\"\n"
				    "x=\"},\\\"]\"\n");
}

static void test_json_text(void **state)
{
	static const char escaped[] = "a\\\\b\\\"c\\/d\\u0041\\u00e9\\n\\t\\q";
	char out[64], tiny[4];
	(void)state;
	json_text(escaped, strlen(escaped), out, sizeof(out));
	/* \u00XX is the byte XX; outside printable ASCII shows as '?'; an
	 * unknown escape keeps its letter. */
	assert_string_equal(out, "a\\b\"c/dA???q");
	json_text("\\u01ff", 6, out, sizeof(out));
	assert_string_equal(out, "?");
	json_text("\x1b[31mred", 8, out, sizeof(out));
	assert_string_equal(out, "?[31mred");
	json_text("abcdef", 6, tiny, sizeof(tiny));
	assert_string_equal(tiny, "abc");
	json_text("\\u00", 4, out, sizeof(out)); /* cut short: the 'u' is kept */
	assert_string_equal(out, "u00");
}

/* A key longer than the path holds is cut, not written past the end. */
static void test_long_key(void **state)
{
	char *doc = malloc(2 * JSON_PATH_MAX + 32);
	struct seen s;
	(void)state;
	assert_non_null(doc);
	strcpy(doc, "{\"");
	memset(doc + 2, 'k', 2 * JSON_PATH_MAX);
	strcpy(doc + 2 + 2 * JSON_PATH_MAX, "\": {\"b\": 7}}");
	assert_true(walk(doc, &s));
	assert_int_equal(s.count, 1);
	assert_int_equal(strlen(s.text), (JSON_PATH_MAX - 1) + strlen("=7\n"));
	free(doc);
}

/* The elements of one top-level list, as written. */
struct elements {
	char text[SEEN_MAX];
	size_t len;
	unsigned count;
};

static void element(void *ctx, const char *elem, size_t len)
{
	struct elements *e = ctx;
	int n = snprintf(e->text + e->len, sizeof(e->text) - e->len, "<%.*s>", (int)len, elem);
	assert_true(n > 0 && (size_t)n < sizeof(e->text) - e->len);
	e->len += (size_t)n;
	e->count++;
}

static bool elements_of(const char *doc, const char *member, struct elements *e)
{
	memset(e, 0, sizeof(*e));
	return json_array_elements(doc, strlen(doc), member, element, e);
}

static void test_array_elements(void **state)
{
	static const char doc[] = "{\"a\": [1, {\"x\": [2, 3]}], \"list\": [ {\"k\": \"v,]}\"} , [4] ,\"s\\\"]\", null ], "
				  "\"z\": {\"list\": [9]}}\n";
	struct elements e;
	(void)state;
	assert_true(elements_of(doc, "list", &e));
	assert_int_equal(e.count, 4);
	assert_string_equal(e.text, "<{\"k\": \"v,]}\"}><[4]><\"s\\\"]\"><null>");
	assert_true(elements_of(doc, "a", &e));
	assert_string_equal(e.text, "<1><{\"x\": [2, 3]}>");
	assert_true(elements_of("{\"list\": []}", "list", &e));
	assert_int_equal(e.count, 0);
	/* Not there, not a list, a prefix of a name, a malformed document. */
	assert_false(elements_of(doc, "missing", &e));
	assert_false(elements_of(doc, "li", &e));
	assert_false(elements_of("{\"list\": 3}", "list", &e));
	assert_false(elements_of("{\"list\": [1, 2}", "list", &e));
	assert_false(elements_of("{\"list\": [1], \"b\": }", "list", &e));
	assert_false(elements_of("{\"list\": [1]} x", "list", &e));
	assert_false(elements_of("[{\"list\": [1]}]", "list", &e));
	assert_false(elements_of("{}", "list", &e));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_and_scalars),
		cmocka_unit_test(test_only_one_object),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_nested_too_deep),
		cmocka_unit_test(test_strings_with_escapes),
		cmocka_unit_test(test_json_text),
		cmocka_unit_test(test_long_key),
		cmocka_unit_test(test_array_elements),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
