/* test_sip_oc.c - unit tests of sip_oc_add: RFC 7339's Via examples,
 * torture forms of the top Via (compact, several values, folds, case,
 * spacing, IPv6), what is left alone and why, and the output bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <osipparser2/osip_parser.h>

#include <stdio.h>
#include <string.h>

#include "dpi/parser_library.h"
#include "dpi/sip.h"
#include "dpi/sip_oc.h"

static uint8_t out[SIP_MAX_MESSAGE + SIP_OC_GROWTH];
static char msg[8192];

/* RFC 7339 section 5.2's values: oc=20, oc-validity=500, oc-seq=1282321615.782. */
static const struct sip_oc_feedback rfc_feedback = { .reduction = 20, .validity_ms = 500,
						     .seq_ms = 1282321615782ull };

/* A 200 OK to an INVITE whose Via header lines are vias (CRLF-separated,
 * without the last CRLF). */
static size_t response(const char *vias)
{
	int n = snprintf(msg, sizeof(msg),
			 "SIP/2.0 200 OK\r\n"
			 "%s\r\n"
			 "From: <sip:alice@example.com>;tag=1928301774\r\n"
			 "To: <sip:bob@example.com>;tag=a6c85cf\r\n"
			 "Call-ID: a84b4c76e66710@pc33.example.com\r\n"
			 "CSeq: 314159 INVITE\r\n"
			 "Content-Length: 0\r\n"
			 "\r\n",
			 vias);
	assert_true(n > 0 && (size_t)n < sizeof(msg));
	return (size_t)n;
}

static enum sip_oc_result add(size_t len, size_t *out_len)
{
	return sip_oc_add((const uint8_t *)msg, len, &rfc_feedback, out, sizeof(out), out_len);
}

/* The rewritten message's first line after the status line, as a string. */
static void expect_top_via(size_t out_len, const char *want)
{
	const char *start = memchr(out, '\n', out_len);
	assert_non_null(start);
	start++;
	const char *end = strstr(start, "\r\nFrom:");
	assert_non_null(end);
	if ((size_t)(end - start) != strlen(want) || memcmp(start, want, strlen(want)) != 0) {
		print_error("top Via:\n%.*s\nwanted:\n%s\n", (int)(end - start), start, want);
		fail();
	}
}

/* The first Via's parameter name as libosip2 reads the rewritten message. */
static const char *osip_via_param(osip_message_t *m, const char *name)
{
	osip_via_t *via = osip_list_get(&m->vias, 0);
	osip_generic_param_t *param = NULL;
	assert_non_null(via);
	osip_via_param_get_byname(via, (char *)name, &param);
	return param ? param->gvalue : NULL;
}

static void test_rfc_example_loss_offer(void **state)
{
	(void)state;
	size_t out_len = 0;
	/* Section 5.1's client Via (with the server's received=), answered as
	 * in section 5.2. */
	size_t len = response("Via: SIP/2.0/TCP ws1.example.com;branch=z9hG4bK87a7;received=192.0.2.111;oc;"
			      "oc-algo=\"loss,A\"");
	assert_int_equal(add(len, &out_len), SIP_OC_ADDED);
	expect_top_via(out_len, "Via: SIP/2.0/TCP ws1.example.com;branch=z9hG4bK87a7;received=192.0.2.111;"
				"oc=20;oc-validity=500;oc-seq=1282321615.782;oc-algo=\"loss\"");
	/* Nothing else moved: the rest of the message is byte for byte the same. */
	const char *rest = strstr(msg, "\r\nFrom:");
	assert_memory_equal(out + out_len - strlen(rest), rest, strlen(rest));

	osip_message_t *m = NULL;
	parser_library_init();
	assert_int_equal(osip_message_init(&m), 0);
	assert_int_equal(osip_message_parse(m, (const char *)out, out_len), 0);
	assert_string_equal(osip_via_param(m, "oc"), "20");
	assert_string_equal(osip_via_param(m, "oc-validity"), "500");
	assert_string_equal(osip_via_param(m, "oc-seq"), "1282321615.782");
	assert_string_equal(osip_via_param(m, "oc-algo"), "\"loss\"");
	assert_string_equal(osip_via_param(m, "branch"), "z9hG4bK87a7");
	osip_message_free(m);
}

static void test_bare_oc_without_offer(void **state)
{
	(void)state;
	size_t out_len = 0;
	size_t len = response("Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKnashds8;oc\r\n"
			      "Via: SIP/2.0/UDP bigbox3.site3.example.com;branch=z9hG4bK77ef4c2312983.1");
	assert_int_equal(add(len, &out_len), SIP_OC_ADDED);
	expect_top_via(out_len, "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKnashds8;oc=20;oc-validity=500;"
				"oc-seq=1282321615.782;oc-algo=\"loss\"\r\n"
				"Via: SIP/2.0/UDP bigbox3.site3.example.com;branch=z9hG4bK77ef4c2312983.1");
	assert_int_equal(out_len, len + strlen("=20;oc-validity=500;oc-seq=1282321615.782;oc-algo=\"loss\""));
}

static void test_offer_before_oc(void **state)
{
	(void)state;
	size_t out_len = 0;
	size_t len = response("Via: SIP/2.0/UDP 192.0.2.4:5060;oc-algo=\"loss\";oc;rport;branch=z9hG4bK9");
	assert_int_equal(add(len, &out_len), SIP_OC_ADDED);
	expect_top_via(out_len, "Via: SIP/2.0/UDP 192.0.2.4:5060;oc=20;oc-validity=500;oc-seq=1282321615.782;"
				"oc-algo=\"loss\";rport;branch=z9hG4bK9");
}

static void test_compact_and_case(void **state)
{
	(void)state;
	size_t out_len = 0;
	size_t len = response("v: SIP/2.0/UDP pc33.example.com;BRANCH=z9hG4bK1;OC;OC-ALGO=\"A,LOSS\"");
	assert_int_equal(add(len, &out_len), SIP_OC_ADDED);
	expect_top_via(out_len, "v: SIP/2.0/UDP pc33.example.com;BRANCH=z9hG4bK1;oc=20;oc-validity=500;"
				"oc-seq=1282321615.782;oc-algo=\"loss\"");
	len = response("VIA: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1;Oc");
	assert_int_equal(add(len, &out_len), SIP_OC_ADDED);
}

static void test_several_values_in_one_line(void **state)
{
	(void)state;
	size_t out_len = 0;
	/* Only the first value is the client's. */
	size_t len = response("Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1;oc , SIP/2.0/UDP "
			      "b.example.com;branch=z9hG4bK2;oc-algo=\"x,y\"");
	assert_int_equal(add(len, &out_len), SIP_OC_ADDED);
	expect_top_via(out_len, "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1;oc=20;oc-validity=500;"
				"oc-seq=1282321615.782;oc-algo=\"loss\" , SIP/2.0/UDP "
				"b.example.com;branch=z9hG4bK2;oc-algo=\"x,y\"");
	len = response("Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1,SIP/2.0/UDP b.example.com;branch=z9hG4bK2;oc");
	assert_int_equal(add(len, &out_len), SIP_OC_NOT_ADVERTISED);
	/* A later Via line advertising oc is a proxy's, not the client's. */
	len = response("Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n"
		       "Via: SIP/2.0/UDP b.example.com;branch=z9hG4bK2;oc");
	assert_int_equal(add(len, &out_len), SIP_OC_NOT_ADVERTISED);
}

static void test_folded_and_spaced(void **state)
{
	(void)state;
	size_t out_len = 0;
	size_t len = response("Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n  ;oc\r\n\t;oc-algo=\"loss,A\"");
	assert_int_equal(add(len, &out_len), SIP_OC_ADDED);
	expect_top_via(out_len, "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n  ;oc=20;oc-validity=500;"
				"oc-seq=1282321615.782;oc-algo=\"loss\"\r\n\t");
	/* RFC 3261's SLASH, SEMI and EQUAL allow white space around them. */
	len = response("Via: SIP / 2.0 / UDP host.example.com : 5060 ; branch = z9hG4bK1 ; oc ; rport");
	assert_int_equal(add(len, &out_len), SIP_OC_ADDED);
	expect_top_via(out_len, "Via: SIP / 2.0 / UDP host.example.com : 5060 ; branch = z9hG4bK1 ; "
				"oc=20;oc-validity=500;oc-seq=1282321615.782;oc-algo=\"loss\" ; rport");
	len = response("Via: SIP/2.0/UDP [2001:db8::9]:5060;received=2001:db8::9;branch=z9hG4bK1;oc");
	assert_int_equal(add(len, &out_len), SIP_OC_ADDED);
}

static void test_left_alone(void **state)
{
	(void)state;
	size_t out_len = 7;
	size_t len = response("Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1;rport=5060;received=192.0.2.1");
	assert_int_equal(add(len, &out_len), SIP_OC_NOT_ADVERTISED);
	assert_int_equal(out_len, 7);
	/* A server on the path already answered (section 5.2's oc with a value). */
	len = response("Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1;oc=10;oc-algo=\"loss\"");
	assert_int_equal(add(len, &out_len), SIP_OC_ALREADY_SET);
	len = response("Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1;oc;oc-validity=0");
	assert_int_equal(add(len, &out_len), SIP_OC_ALREADY_SET);
	len = response("Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1;oc;oc-seq=1.5");
	assert_int_equal(add(len, &out_len), SIP_OC_ALREADY_SET);
	/* The client offers only other algorithms. */
	len = response("Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1;oc;oc-algo=\"rate,lossy\"");
	assert_int_equal(add(len, &out_len), SIP_OC_NO_LOSS);
	assert_int_equal(out_len, 7);
}

static void test_malformed(void **state)
{
	(void)state;
	size_t out_len = 7;
	static const char *const bad_vias[] = {
		"Via: junk",
		"Via: SIP/2.0/UDP",
		"Via: SIP/2.0/UDP a.example.com;;oc",
		"Via: SIP/2.0/UDP a.example.com;branch=;oc",
		"Via: SIP/2.0/UDP a.example.com;oc;oc",
		"Via: SIP/2.0/UDP a.example.com;oc;oc-algo=loss",
		"Via: SIP/2.0/UDP a.example.com;oc;oc-algo=\"loss",
		"Via: SIP/2.0/UDP a.example.com;oc;oc-algo=\"\"",
		"Via: SIP/2.0/UDP a.example.com;oc;oc-algo=\"loss\";oc-algo=\"loss\"",
		"Via: SIP/2.0/UDP \"a\";oc",
	};
	for (size_t i = 0; i < sizeof(bad_vias) / sizeof(bad_vias[0]); i++) {
		size_t len = response(bad_vias[i]);
		if (add(len, &out_len) != SIP_OC_MALFORMED) {
			print_error("not refused: %s\n", bad_vias[i]);
			fail();
		}
	}
	assert_int_equal(out_len, 7);
}

static void test_not_a_response(void **state)
{
	(void)state;
	size_t out_len = 0;
	int n = snprintf(msg, sizeof(msg),
			 "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP a.example.com;branch=z9hG4bK1;oc\r\n"
			 "Content-Length: 0\r\n\r\n");
	assert_int_equal(add((size_t)n, &out_len), SIP_OC_NOT_RESPONSE);
	n = snprintf(msg, sizeof(msg), "SIP/2.0 200 OK\r\nCall-ID: x@y\r\nCSeq: 1 INVITE\r\n\r\n");
	assert_int_equal(add((size_t)n, &out_len), SIP_OC_NO_VIA);
	/* Headers cut before their end: the top Via scans, the message does not. */
	n = snprintf(msg, sizeof(msg), "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a.example.com;branch=z9hG4bK1;oc\r\n");
	assert_int_equal(add((size_t)n, &out_len), SIP_OC_MALFORMED);
	n = snprintf(msg, sizeof(msg), "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a.example.com;branch=z9hG4bK1;oc");
	assert_int_equal(add((size_t)n, &out_len), SIP_OC_MALFORMED);
	assert_int_equal(sip_oc_add(NULL, 0, &rfc_feedback, out, sizeof(out), &out_len), SIP_OC_MALFORMED);
}

static void test_body_and_content_length_kept(void **state)
{
	(void)state;
	static const char body[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n"
				   "m=audio 40000 RTP/AVP 0\r\n";
	size_t out_len = 0;
	struct sip_msg parsed;
	int n = snprintf(msg, sizeof(msg),
			 "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a.example.com;branch=z9hG4bK1;oc\r\n"
			 "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\nCall-ID: c@d\r\n"
			 "CSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
			 strlen(body), body);
	assert_int_equal(add((size_t)n, &out_len), SIP_OC_ADDED);
	assert_memory_equal(out + out_len - strlen(body), body, strlen(body));
	assert_int_equal(sip_parse(out, out_len, &parsed), SIP_PARSE_OK);
	assert_int_equal(parsed.status, 200);
}

static void test_output_bound_and_feedback(void **state)
{
	(void)state;
	size_t out_len = 0;
	size_t len = response("Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1;oc");
	size_t want = len + strlen("=20;oc-validity=500;oc-seq=1282321615.782;oc-algo=\"loss\"");
	assert_int_equal(sip_oc_add((const uint8_t *)msg, len, &rfc_feedback, out, want - 1, &out_len),
			 SIP_OC_TOO_LONG);
	assert_int_equal(sip_oc_add((const uint8_t *)msg, len, &rfc_feedback, out, want, &out_len), SIP_OC_ADDED);
	assert_int_equal(out_len, want);

	struct sip_oc_feedback fb = rfc_feedback;
	fb.reduction = 101;
	assert_int_equal(sip_oc_add((const uint8_t *)msg, len, &fb, out, sizeof(out), &out_len), SIP_OC_BAD_FEEDBACK);
	fb.reduction = 100;
	fb.seq_ms = 1000000000000000ull; /* 13 digits of seconds */
	assert_int_equal(sip_oc_add((const uint8_t *)msg, len, &fb, out, sizeof(out), &out_len), SIP_OC_BAD_FEEDBACK);
	/* Milliseconds keep their leading zeros: 5.007 s, not 5.7. */
	fb.seq_ms = 5007;
	fb.reduction = 0;
	assert_int_equal(sip_oc_add((const uint8_t *)msg, len, &fb, out, sizeof(out), &out_len), SIP_OC_ADDED);
	assert_non_null(memmem(out, out_len, ";oc=0;oc-validity=500;oc-seq=5.007;", 35));
	assert_string_equal(sip_oc_result_name(SIP_OC_NO_LOSS), "no_loss");
	assert_string_equal(sip_oc_result_name(SIP_OC_RESULT_COUNT), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_example_loss_offer),
		cmocka_unit_test(test_bare_oc_without_offer),
		cmocka_unit_test(test_offer_before_oc),
		cmocka_unit_test(test_compact_and_case),
		cmocka_unit_test(test_several_values_in_one_line),
		cmocka_unit_test(test_folded_and_spaced),
		cmocka_unit_test(test_left_alone),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_not_a_response),
		cmocka_unit_test(test_body_and_content_length_kept),
		cmocka_unit_test(test_output_bound_and_feedback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
