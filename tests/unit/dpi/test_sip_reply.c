/* test_sip_reply.c - unit tests of sip_reply_503: the copied headers read
 * back through libosip2, tricky (RFC 4475 style) requests, and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <osipparser2/osip_parser.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpi/parser_library.h"
#include "dpi/sip.h"
#include "dpi/sip_reply.h"

#define OUT_MAX (SIP_MAX_MESSAGE + SIP_REPLY_OVERHEAD)

static uint8_t out[OUT_MAX];

static size_t reply_text(const char *request, uint32_t retry_after_s, size_t cap)
{
	return sip_reply_503((const uint8_t *)request, strlen(request), retry_after_s, out, cap);
}

/* The reply parsed by libosip2 itself; fails the test when it does not. */
static osip_message_t *parse_reply(size_t len)
{
	osip_message_t *msg = NULL;
	parser_library_init();
	assert_int_equal(osip_message_init(&msg), 0);
	if (osip_message_parse(msg, (const char *)out, len) != 0) {
		print_error("libosip2 refused:\n%.*s\n", (int)len, (const char *)out);
		fail();
	}
	assert_true(MSG_IS_RESPONSE(msg));
	assert_int_equal(osip_message_get_status_code(msg), 503);
	return msg;
}

static const char *via_branch(osip_message_t *msg, int index)
{
	osip_via_t *via = osip_list_get(&msg->vias, index);
	osip_generic_param_t *branch = NULL;
	assert_non_null(via);
	osip_via_param_get_byname(via, "branch", &branch);
	assert_non_null(branch);
	return branch->gvalue;
}

static const char *header_value(osip_message_t *msg, const char *name)
{
	osip_header_t *header = NULL;
	if (osip_message_header_get_byname(msg, name, 0, &header) < 0 || !header)
		return NULL;
	return header->hvalue;
}

static bool reply_contains(size_t len, const char *text)
{
	return memmem(out, len, text, strlen(text)) != NULL;
}

#define SDP_BODY                                                                           \
	"v=0\r\n"                                                                          \
	"o=alice 1 1 IN IP4 198.18.0.1\r\n"                                                \
	"s=-\r\n"                                                                          \
	"c=IN IP4 198.18.0.1\r\n"                                                          \
	"t=0 0\r\n"                                                                        \
	"m=audio 49170 RTP/AVP 0\r\n"

#define INVITE_HEAD                                                                        \
	"INVITE sip:bob@198.18.0.10 SIP/2.0\r\n"                                           \
	"Via: SIP/2.0/UDP 198.18.0.3:5060;branch=z9hG4bKproxy2\r\n"                        \
	"Via: SIP/2.0/UDP 198.18.0.2:5060;branch=z9hG4bKproxy1,"                           \
	" SIP/2.0/UDP 198.18.0.1:5060;branch=z9hG4bKalice;rport\r\n"                       \
	"Max-Forwards: 68\r\n"                                                             \
	"From: \"Alice\" <sip:alice@198.18.0.1>;tag=1928301774\r\n"                        \
	"To: <sip:bob@198.18.0.10>\r\n"                                                    \
	"Call-ID: a84b4c76e66710@198.18.0.1\r\n"                                           \
	"CSeq: 314159 INVITE\r\n"                                                          \
	"Contact: <sip:alice@198.18.0.1>\r\n"                                              \
	"Content-Type: application/sdp\r\n"

static const char invite[] = INVITE_HEAD "Content-Length: 94\r\n\r\n" SDP_BODY;

static void test_invite_reply(void **state)
{
	(void)state;
	size_t len = reply_text(invite, 5, OUT_MAX);
	assert_true(len > 0);
	assert_memory_equal(out, "SIP/2.0 503 Service Unavailable\r\n", 33);
	osip_message_t *msg = parse_reply(len);

	/* three Vias, two of them on one line, in order */
	assert_int_equal(osip_list_size(&msg->vias), 3);
	assert_string_equal(via_branch(msg, 0), "z9hG4bKproxy2");
	assert_string_equal(via_branch(msg, 1), "z9hG4bKproxy1");
	assert_string_equal(via_branch(msg, 2), "z9hG4bKalice");
	assert_string_equal(osip_call_id_get_number(msg->call_id), "a84b4c76e66710");
	assert_string_equal(osip_call_id_get_host(msg->call_id), "198.18.0.1");
	assert_string_equal(osip_cseq_get_number(msg->cseq), "314159");
	assert_string_equal(osip_cseq_get_method(msg->cseq), "INVITE");
	osip_generic_param_t *tag = NULL;
	assert_int_equal(osip_from_get_tag(msg->from, &tag), 0);
	assert_string_equal(tag->gvalue, "1928301774");
	assert_string_equal(osip_uri_get_username(osip_from_get_url(msg->from)), "alice");
	tag = NULL;
	assert_int_equal(osip_to_get_tag(msg->to, &tag), 0); /* added */
	assert_true(strncmp(tag->gvalue, "sara", 4) == 0);
	assert_string_equal(osip_uri_get_username(osip_to_get_url(msg->to)), "bob");
	assert_string_equal(header_value(msg, "retry-after"), "5");
	assert_non_null(msg->content_length);
	assert_string_equal(msg->content_length->value, "0");
	/* nothing else of the request comes back */
	assert_null(header_value(msg, "max-forwards"));
	assert_false(reply_contains(len, "Contact"));
	assert_false(reply_contains(len, "v=0"));
	assert_memory_equal(out + len - 4, "\r\n\r\n", 4);
	osip_message_free(msg);

	/* Our own parser agrees. */
	struct sip_msg parsed;
	assert_int_equal(sip_parse(out, len, &parsed), SIP_PARSE_OK);
	assert_false(parsed.is_request);
	assert_int_equal(parsed.status, 503);
	assert_string_equal(parsed.call_id, "a84b4c76e66710@198.18.0.1");
	assert_int_equal(parsed.cseq, 314159);
	assert_int_equal(parsed.method, SIP_INVITE);
}

/* RFC 3261 8.2.7: a retransmission gets the same To tag; another call not. */
static void test_to_tag_stable(void **state)
{
	(void)state;
	char first[OUT_MAX], other[sizeof(invite)];
	size_t len = reply_text(invite, 5, OUT_MAX);
	assert_true(len > 0);
	memcpy(first, out, len);
	assert_int_equal(reply_text(invite, 5, OUT_MAX), len);
	assert_memory_equal(first, out, len);

	memcpy(other, invite, sizeof(invite));
	char *call_id = strstr(other, "a84b4c76e66710");
	call_id[0] = 'b';
	assert_int_equal(reply_text(other, 5, OUT_MAX), len);
	assert_memory_not_equal(first, out, len);
}

/* A To that has a tag keeps it; one "tag" in a URI parameter or a quoted
 * display name is not a tag. */
static void test_existing_to_tag(void **state)
{
	(void)state;
	static const char reinvite[] =
		"INVITE sip:bob@198.18.0.10 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 198.18.0.1;branch=z9hG4bKre\r\n"
		"From: <sip:alice@198.18.0.1>;tag=a1\r\n"
		"To: <sip:bob@198.18.0.10> ; TAG = b2\r\n"
		"Call-ID: re@198.18.0.1\r\n"
		"CSeq: 2 INVITE\r\n"
		"Content-Length: 0\r\n\r\n";
	size_t len = reply_text(reinvite, 5, OUT_MAX);
	assert_true(len > 0);
	assert_true(reply_contains(len, "To: <sip:bob@198.18.0.10> ; TAG = b2\r\n"));
	assert_false(reply_contains(len, "sara"));
	osip_message_t *msg = parse_reply(len);
	osip_generic_param_t *tag = NULL;
	assert_int_equal(osip_to_get_tag(msg->to, &tag), 0);
	assert_string_equal(tag->gvalue, "b2");
	osip_message_free(msg);

	static const char fake_tags[] =
		"OPTIONS sip:bob@198.18.0.10 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 198.18.0.1;branch=z9hG4bKft\r\n"
		"From: <sip:alice@198.18.0.1>;tag=a1\r\n"
		"To: \"x;tag=y\" <sip:bob@198.18.0.10;tag=uri>\r\n"
		"Call-ID: ft@198.18.0.1\r\n"
		"CSeq: 1 OPTIONS\r\n"
		"Content-Length: 0\r\n\r\n";
	len = reply_text(fake_tags, 5, OUT_MAX);
	assert_true(len > 0);
	assert_true(reply_contains(len, "<sip:bob@198.18.0.10;tag=uri>;tag=sara"));
	msg = parse_reply(len);
	tag = NULL;
	assert_int_equal(osip_to_get_tag(msg->to, &tag), 0);
	assert_true(strncmp(tag->gvalue, "sara", 4) == 0);
	assert_string_equal(osip_cseq_get_method(msg->cseq), "OPTIONS");
	osip_message_free(msg);
}

/* "To: <uri>;" (an empty parameter libosip2 lets through in a request):
 * the tag goes after the dangling ";" rather than making ";;". */
static void test_to_dangling_semicolon(void **state)
{
	(void)state;
	static const char dangling[] =
		"INVITE sip:bob@198.18.0.10 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 198.18.0.1;branch=z9hG4bKds\r\n"
		"From: <sip:alice@198.18.0.1>;tag=a1\r\n"
		"To: <sip:bob@198.18.0.10>; \r\n"
		"Call-ID: ds@198.18.0.1\r\n"
		"CSeq: 1 INVITE\r\n"
		"Content-Length: 0\r\n\r\n";
	size_t len = reply_text(dangling, 5, OUT_MAX);
	assert_true(len > 0);
	assert_true(reply_contains(len, "To: <sip:bob@198.18.0.10>;tag=sara"));
	osip_message_t *msg = parse_reply(len);
	osip_generic_param_t *tag = NULL;
	assert_int_equal(osip_to_get_tag(msg->to, &tag), 0);
	osip_message_free(msg);
}

/* Compact names, odd case, white space before the colon, folded values
 * (CR LF of a fold become spaces, as libosip2 reads them),
 * an addr-spec To without <>, bare LF line ends. */
static void test_compact_and_folded(void **state)
{
	(void)state;
	static const char compact[] =
		"INVITE sip:bob@198.18.0.10 SIP/2.0\r\n"
		"v: SIP/2.0/UDP 198.18.0.2;branch=z9hG4bKc2\r\n"
		"VIA  : SIP/2.0/UDP 198.18.0.1\r\n"
		"   ;branch=z9hG4bKc1\r\n"
		"f: sip:alice@198.18.0.1;tag=fa\r\n"
		"t:\r\n"
		"\tsip:bob@198.18.0.10\r\n"
		"i: compact@198.18.0.1\r\n"
		"cseq: 7\r\n"
		"  INVITE\r\n"
		"l: 0\r\n\r\n";
	size_t len = reply_text(compact, 30, OUT_MAX);
	assert_true(len > 0);
	assert_true(reply_contains(len, "Via: SIP/2.0/UDP 198.18.0.2;branch=z9hG4bKc2\r\n"
					"Via: SIP/2.0/UDP 198.18.0.1     ;branch=z9hG4bKc1\r\n"
					"From: sip:alice@198.18.0.1;tag=fa\r\n"
					"To: sip:bob@198.18.0.10;tag=sara"));
	assert_true(reply_contains(len, "Call-ID: compact@198.18.0.1\r\nCSeq: 7    INVITE\r\n"
					"Retry-After: 30\r\nContent-Length: 0\r\n\r\n"));
	osip_message_t *msg = parse_reply(len);
	assert_int_equal(osip_list_size(&msg->vias), 2);
	assert_string_equal(via_branch(msg, 1), "z9hG4bKc1");
	assert_string_equal(osip_cseq_get_number(msg->cseq), "7");
	osip_message_free(msg);

	/* the same with bare LF line ends */
	char lf[sizeof(compact)];
	size_t n = 0;
	for (size_t i = 0; compact[i]; i++)
		if (compact[i] != '\r')
			lf[n++] = compact[i];
	lf[n] = '\0';
	size_t lf_len = reply_text(lf, 30, OUT_MAX);
	assert_true(lf_len > 0);
	assert_true(reply_contains(lf_len, "Via: SIP/2.0/UDP 198.18.0.1    ;branch=z9hG4bKc1\r\n"));
	msg = parse_reply(lf_len);
	assert_string_equal(via_branch(msg, 1), "z9hG4bKc1");
	osip_message_free(msg);
}

/* Retry-After 0 leaves the header out. */
static void test_no_retry_after(void **state)
{
	(void)state;
	size_t len = reply_text(invite, 0, OUT_MAX);
	assert_true(len > 0);
	assert_false(reply_contains(len, "Retry-After"));
	osip_message_t *msg = parse_reply(len);
	assert_null(header_value(msg, "retry-after"));
	osip_message_free(msg);
}

/* Drops the line of the request starting with prefix (first match). */
static void without_line(const char *request, const char *prefix, char *buf, size_t size)
{
	const char *at = strstr(request, prefix);
	assert_non_null(at);
	const char *end = strstr(at, "\r\n") + 2;
	snprintf(buf, size, "%.*s%s", (int)(at - request), request, end);
}

static void test_missing_headers(void **state)
{
	(void)state;
	static const char *const required[] = { "Via: SIP/2.0/UDP 198.18.0.3", "Via: SIP/2.0/UDP 198.18.0.2",
						"From:", "To:", "Call-ID:", "CSeq:" };
	char buf[sizeof(invite)];
	/* the second Via line alone may go, not both */
	without_line(invite, required[0], buf, sizeof(buf));
	assert_true(reply_text(buf, 5, OUT_MAX) > 0);
	for (size_t i = 2; i < sizeof(required) / sizeof(required[0]); i++) {
		without_line(invite, required[i], buf, sizeof(buf));
		assert_int_equal(reply_text(buf, 5, OUT_MAX), 0);
	}
	char no_via[sizeof(invite)];
	without_line(invite, required[0], no_via, sizeof(no_via));
	without_line(no_via, required[1], buf, sizeof(buf));
	assert_int_equal(reply_text(buf, 5, OUT_MAX), 0);
}

static void test_refused_requests(void **state)
{
	(void)state;
	static const char ack[] =
		"ACK sip:bob@198.18.0.10 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 198.18.0.1;branch=z9hG4bKack\r\n"
		"From: <sip:alice@198.18.0.1>;tag=a1\r\n"
		"To: <sip:bob@198.18.0.10>;tag=b1\r\n"
		"Call-ID: ack@198.18.0.1\r\n"
		"CSeq: 1 ACK\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char response[] =
		"SIP/2.0 180 Ringing\r\n"
		"Via: SIP/2.0/UDP 198.18.0.1;branch=z9hG4bKr\r\n"
		"From: <sip:alice@198.18.0.1>;tag=a1\r\n"
		"To: <sip:bob@198.18.0.10>;tag=b1\r\n"
		"Call-ID: r@198.18.0.1\r\n"
		"CSeq: 1 INVITE\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char two_froms[] =
		"INVITE sip:bob@198.18.0.10 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 198.18.0.1;branch=z9hG4bKtf\r\n"
		"From: <sip:alice@198.18.0.1>;tag=a1\r\n"
		"f: <sip:mallory@198.18.0.66>;tag=m1\r\n"
		"To: <sip:bob@198.18.0.10>\r\n"
		"Call-ID: tf@198.18.0.1\r\n"
		"CSeq: 1 INVITE\r\n"
		"Content-Length: 0\r\n\r\n";
	/* an escaped NUL in a quoted display name passes sip_parse (RFC 4475
	 * 3.1.1.2) but is not echoed */
	static const char escaped_nul[] =
		"INVITE sip:bob@198.18.0.10 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 198.18.0.1;branch=z9hG4bKen\r\n"
		"From: \"a\\\0b\" <sip:alice@198.18.0.1>;tag=a1\r\n"
		"To: <sip:bob@198.18.0.10>\r\n"
		"Call-ID: en@198.18.0.1\r\n"
		"CSeq: 1 INVITE\r\n"
		"Content-Length: 0\r\n\r\n";
	/* libosip2 takes a To with a quote left open in a parameter; a tag
	 * appended there would be inside the quotes */
	static const char open_quote[] =
		"OPTIONS sip:bob@198.18.0.10 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 198.18.0.1;branch=z9hG4bKoq\r\n"
		"From: <sip:alice@198.18.0.1>;tag=a1\r\n"
		"To: <sip:bob@198.18.0.10>;x=\"y\r\n"
		"Call-ID: oq@198.18.0.1\r\n"
		"CSeq: 1 OPTIONS\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char truncated[] = INVITE_HEAD "Content-Length: 0\r\n";

	assert_int_equal(reply_text(ack, 5, OUT_MAX), 0);
	assert_int_equal(reply_text(response, 5, OUT_MAX), 0);
	assert_int_equal(reply_text(two_froms, 5, OUT_MAX), 0);
	assert_int_equal(reply_text(truncated, 5, OUT_MAX), 0);
	struct sip_msg parsed;
	assert_int_equal(sip_parse((const uint8_t *)open_quote, strlen(open_quote), &parsed), SIP_PARSE_OK);
	assert_int_equal(reply_text(open_quote, 5, OUT_MAX), 0);
	assert_int_equal(sip_reply_503((const uint8_t *)escaped_nul, sizeof(escaped_nul) - 1, 5, out, OUT_MAX), 0);
	assert_int_equal(reply_text("", 5, OUT_MAX), 0);
	assert_int_equal(reply_text("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 5, OUT_MAX), 0);
	assert_int_equal(sip_reply_503(NULL, 10, 5, out, OUT_MAX), 0);
	assert_int_equal(sip_reply_503((const uint8_t *)invite, strlen(invite), 5, NULL, OUT_MAX), 0);
	/* the request cut anywhere is never answered (truncated body or headers) */
	for (size_t cut = 0; cut < strlen(invite); cut++)
		assert_int_equal(sip_reply_503((const uint8_t *)invite, cut, 5, out, OUT_MAX), 0);
}

/* Every cap below the reply's length gives 0 and never writes past cap. */
static void test_small_cap(void **state)
{
	(void)state;
	size_t full = reply_text(invite, 5, OUT_MAX);
	assert_true(full > 0);
	for (size_t cap = 0; cap < full; cap++) {
		memset(out, 0xAA, OUT_MAX);
		assert_int_equal(reply_text(invite, 5, cap), 0);
		for (size_t i = cap; i < OUT_MAX; i++)
			if (out[i] != 0xAA)
				fail_msg("cap %zu: byte %zu written", cap, i);
	}
	assert_int_equal(reply_text(invite, 5, full), full);
	assert_true(full <= strlen(invite) + SIP_REPLY_OVERHEAD);
}

/* The RFC 4475 / 5118 torture corpus (when present): any reply produced
 * parses as a 503 carrying the request's Call-ID; wsinv (folds, compact
 * forms, odd white space everywhere) must get one. */
static void test_torture_corpus(void **state)
{
	(void)state;
	static const char *const dirs[] = { "rfc4475", "rfc5118" };
	const char *root = getenv("SARA_CORPUS");
	char path[1024];
	static uint8_t request[16384];
	unsigned files = 0, replies = 0;
	bool wsinv_replied = false;

	if (!root || !root[0])
		root = "../shared/corpus";
	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		snprintf(path, sizeof(path), "%s/sip-torture/%s", root, dirs[d]);
		DIR *dir = opendir(path);
		if (!dir) {
			printf("skipped: corpus not found at %s (set SARA_CORPUS)\n", path);
			return;
		}
		struct dirent *entry;
		while ((entry = readdir(dir))) {
			if (entry->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/sip-torture/%s/%s", root, dirs[d], entry->d_name);
			FILE *f = fopen(path, "rb");
			if (!f)
				continue;
			size_t n = fread(request, 1, sizeof(request), f);
			fclose(f);
			files++;
			size_t len = sip_reply_503(request, n, 5, out, OUT_MAX);
			struct sip_msg req;
			if (len == 0)
				continue;
			replies++;
			assert_int_equal(sip_parse(request, n, &req), SIP_PARSE_OK);
			assert_true(req.is_request);
			osip_message_t *msg = parse_reply(len);
			struct sip_msg rep;
			assert_int_equal(sip_parse(out, len, &rep), SIP_PARSE_OK);
			assert_string_equal(rep.call_id, req.call_id);
			assert_int_equal(rep.cseq, req.cseq);
			assert_true(osip_list_size(&msg->vias) >= 1);
			osip_message_free(msg);
			if (strcmp(entry->d_name, "wsinv.dat") == 0)
				wsinv_replied = true;
		}
		closedir(dir);
	}
	printf("torture corpus: %u files, %u replies\n", files, replies);
	assert_true(wsinv_replied);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invite_reply),
		cmocka_unit_test(test_to_tag_stable),
		cmocka_unit_test(test_existing_to_tag),
		cmocka_unit_test(test_to_dangling_semicolon),
		cmocka_unit_test(test_compact_and_folded),
		cmocka_unit_test(test_no_retry_after),
		cmocka_unit_test(test_missing_headers),
		cmocka_unit_test(test_refused_requests),
		cmocka_unit_test(test_small_cap),
		cmocka_unit_test(test_torture_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
