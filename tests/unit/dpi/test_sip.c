/* test_sip.c - unit tests of sip_parse and sip_frame: the fields of good
 * messages, one crafted message per error status, and TCP framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpi/sip.h"

static enum sip_status parse_text(const char *text, struct sip_msg *msg)
{
	return sip_parse((const uint8_t *)text, strlen(text), msg);
}

static enum frame_result frame_text(const char *text, size_t len, size_t *msg_len)
{
	return sip_frame((const uint8_t *)text, len, SIP_MAX_MESSAGE, msg_len);
}

#define INVITE_SDP_BODY                                                                    \
	"v=0\r\n"                                                                          \
	"o=alice 2890844526 2890844526 IN IP4 198.51.100.1\r\n"                            \
	"s=-\r\n"                                                                          \
	"c=IN IP4 198.51.100.1\r\n"                                                        \
	"t=0 0\r\n"                                                                        \
	"m=audio 49170 RTP/AVP 0\r\n"                                                      \
	"a=rtpmap:0 PCMU/8000\r\n"                                                         \
	"m=video 51372 RTP/AVP 31\r\n"                                                     \
	"a=rtcp:51400\r\n" /* 151 bytes in all */

static const char invite_sdp[] =
	"INVITE sip:bob@example.com SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK776asdhds\r\n"
	"Max-Forwards: 70\r\n"
	"To: Bob <sip:bob@example.com>\r\n"
	"From: Alice <sip:alice@example.org>;tag=1928301774\r\n"
	"Call-ID: a84b4c76e66710@pc33.example.org\r\n"
	"CSeq: 314159 INVITE\r\n"
	"Contact: <sip:alice@198.51.100.1>\r\n"
	"Content-Type: application/sdp\r\n"
	"Content-Length: 178\r\n"
	"\r\n" INVITE_SDP_BODY;

static void test_invite_with_sdp(void **state)
{
	(void)state;
	struct sip_msg msg;
	assert_int_equal(strlen(INVITE_SDP_BODY), 178);
	assert_int_equal(parse_text(invite_sdp, &msg), SIP_PARSE_OK);
	assert_true(msg.is_request);
	assert_int_equal(msg.method, SIP_INVITE);
	assert_int_equal(msg.status, 0);
	assert_int_equal(msg.cseq, 314159);
	assert_string_equal(msg.call_id, "a84b4c76e66710@pc33.example.org");
	assert_int_equal(msg.call_id_len, strlen("a84b4c76e66710@pc33.example.org"));
	assert_int_equal(msg.message_len, strlen(invite_sdp));
	assert_true(msg.has_sdp);
	assert_int_equal(msg.sdp_status, SDP_OK);
	assert_int_equal(msg.sdp.media_count, 2);
	assert_int_equal(msg.sdp.media[0].rtp_port, 49170);
	assert_int_equal(msg.sdp.media[0].rtcp_port, 49171);
	assert_int_equal(msg.sdp.media[1].rtp_port, 51372);
	assert_int_equal(msg.sdp.media[1].rtcp_port, 51400);
	char buf[NETADDR_STRLEN];
	assert_string_equal(netaddr_format(&msg.sdp.media[1].addr, buf, sizeof(buf)),
			    "198.51.100.1");
}

static void test_response_200_with_sdp(void **state)
{
	(void)state;
	struct sip_msg msg;
	const char *text = "SIP/2.0 200 OK\r\n"
			   "Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK776asdhds\r\n"
			   "To: Bob <sip:bob@example.com>;tag=a6c85cf\r\n"
			   "From: Alice <sip:alice@example.org>;tag=1928301774\r\n"
			   "Call-ID: a84b4c76e66710@pc33.example.org\r\n"
			   "CSeq: 314159 INVITE\r\n"
			   "Content-Type: Application/SDP; charset=utf-8\r\n"
			   "Content-Length: 178\r\n"
			   "\r\n" INVITE_SDP_BODY;
	assert_int_equal(parse_text(text, &msg), SIP_PARSE_OK);
	assert_false(msg.is_request);
	assert_int_equal(msg.status, 200);
	assert_int_equal(msg.method, SIP_INVITE);
	assert_true(msg.has_sdp);
	assert_int_equal(msg.sdp.media_count, 2);
}

static void test_responses_take_method_from_cseq(void **state)
{
	(void)state;
	struct sip_msg msg;
	assert_int_equal(parse_text("SIP/2.0 180 Ringing\r\n"
				    "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
				    "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\n"
				    "Call-ID: ring@h\r\nCSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n",
				    &msg),
			 SIP_PARSE_OK);
	assert_int_equal(msg.status, 180);
	assert_int_equal(msg.method, SIP_INVITE);
	assert_false(msg.has_sdp);

	assert_int_equal(parse_text("SIP/2.0 487 Request Terminated\r\n"
				    "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
				    "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\n"
				    "Call-ID: bye@h\r\nCSeq: 8 BYE\r\nContent-Length: 0\r\n\r\n",
				    &msg),
			 SIP_PARSE_OK);
	assert_int_equal(msg.status, 487);
	assert_int_equal(msg.method, SIP_BYE);
	assert_int_equal(msg.cseq, 8);

	/* an empty reason phrase is valid (RFC 4475 3.1.1.13) */
	assert_int_equal(parse_text("SIP/2.0 100 \r\n"
				    "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
				    "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n"
				    "Call-ID: x@h\r\nCSeq: 9 NEWMETHOD\r\nContent-Length: 0\r\n\r\n",
				    &msg),
			 SIP_PARSE_OK);
	assert_int_equal(msg.status, 100);
	assert_int_equal(msg.method, SIP_METHOD_UNKNOWN);

	/* method tokens are case-sensitive (RFC 3261 7.1): "bye" is no BYE */
	assert_int_equal(parse_text("SIP/2.0 200 OK\r\n"
				    "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
				    "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n"
				    "Call-ID: x@h\r\nCSeq: 9 bye\r\nContent-Length: 0\r\n\r\n",
				    &msg),
			 SIP_PARSE_OK);
	assert_int_equal(msg.method, SIP_METHOD_UNKNOWN);
}

static void test_reinvite_hold(void **state)
{
	(void)state;
	struct sip_msg msg;
	const char *text = "INVITE sip:bob@198.51.100.2 SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bK2\r\n"
			   "From: <sip:alice@example.org>;tag=1928301774\r\n"
			   "To: <sip:bob@example.com>;tag=a6c85cf\r\n"
			   "Call-ID: a84b4c76e66710@pc33.example.org\r\n"
			   "CSeq: 314160 INVITE\r\n"
			   "Content-Type: application/sdp\r\n"
			   "Content-Length: 105\r\n"
			   "\r\n"
			   "v=0\r\n"
			   "o=alice 1 2 IN IP4 198.51.100.1\r\n"
			   "s=-\r\n"
			   "c=IN IP4 0.0.0.0\r\n"
			   "t=0 0\r\n"
			   "m=audio 49170 RTP/AVP 0\r\n"
			   "a=sendonly\r\n";
	assert_int_equal(parse_text(text, &msg), SIP_PARSE_OK);
	assert_int_equal(msg.cseq, 314160);
	assert_true(msg.has_sdp);
	assert_true(netaddr_is_unspecified(&msg.sdp.media[0].addr));
	assert_int_equal(msg.sdp.media[0].direction, SDP_SENDONLY);
}

static void test_compact_headers(void **state)
{
	(void)state;
	struct sip_msg msg;
	const char *text = "INVITE sip:bob@example.com SIP/2.0\r\n"
			   "v: SIP/2.0/UDP 1.1.1.1;branch=z9hG4bK3\r\n"
			   "f: <sip:alice@example.org>;tag=9\r\n"
			   "t: <sip:bob@example.com>\r\n"
			   "i: compact-call@1.1.1.1\r\n"
			   "CSeq: 1 INVITE\r\n"
			   "m: <sip:alice@1.1.1.1>\r\n"
			   "c: application/sdp\r\n"
			   "l: 178\r\n"
			   "\r\n" INVITE_SDP_BODY;
	assert_int_equal(parse_text(text, &msg), SIP_PARSE_OK);
	assert_string_equal(msg.call_id, "compact-call@1.1.1.1");
	assert_true(msg.has_sdp);
	assert_int_equal(msg.sdp.media_count, 2);
}

static void test_lf_only(void **state)
{
	(void)state;
	struct sip_msg msg;
	const char *text = "BYE sip:bob@example.com SIP/2.0\n"
			   "Via: SIP/2.0/UDP 1.1.1.1;branch=z9hG4bK4\n"
			   "From: <sip:alice@example.org>;tag=9\n"
			   "To: <sip:bob@example.com>;tag=8\n"
			   "Call-ID: lf-only@1.1.1.1\n"
			   "CSeq: 2 BYE\n"
			   "Content-Length: 0\n"
			   "\n";
	assert_int_equal(parse_text(text, &msg), SIP_PARSE_OK);
	assert_int_equal(msg.method, SIP_BYE);
	assert_string_equal(msg.call_id, "lf-only@1.1.1.1");
	assert_int_equal(msg.message_len, strlen(text));
}

static void test_multipart_sdp_part(void **state)
{
	(void)state;
	struct sip_msg msg;
	char text[2048];
	const char *body = "--boundary42\r\n"
			   "Content-Type: application/sdp\r\n"
			   "\r\n" INVITE_SDP_BODY "\r\n"
			   "--boundary42\r\n"
			   "Content-Type: application/isup;version=itu-t92+\r\n"
			   "\r\n"
			   "0123456789\r\n"
			   "--boundary42--\r\n";
	snprintf(text, sizeof(text),
		 "INVITE sip:bob@example.com SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 1.1.1.1;branch=z9hG4bK5\r\n"
		 "From: <sip:alice@example.org>;tag=9\r\nTo: <sip:bob@example.com>\r\n"
		 "Call-ID: multipart@1.1.1.1\r\nCSeq: 1 INVITE\r\n"
		 "Content-Type: multipart/mixed;boundary=boundary42\r\n"
		 "Content-Length: %zu\r\n\r\n%s",
		 strlen(body), body);
	assert_int_equal(parse_text(text, &msg), SIP_PARSE_OK);
	assert_true(msg.has_sdp);
	assert_int_equal(msg.sdp.media_count, 2);
	assert_int_equal(msg.sdp.media[0].rtp_port, 49170);
}

/* libosip2 leaks on a part that repeats its Content-Type (found by
 * fuzzing), so sara walks multipart bodies itself: the first Content-Type
 * of a part counts. */
static void test_multipart_quoted_boundary_repeated_type(void **state)
{
	(void)state;
	struct sip_msg msg;
	char text[2048];
	const char *body = "preamble\n"
			   "--b 1\n"
			   "Content-Type: text/plain\n"
			   "Content-Type: application/sdp\n"
			   "\n"
			   "not sdp\n"
			   "--b 1\n"
			   "content-type: APPLICATION/SDP ; x=y\n"
			   "\n" INVITE_SDP_BODY
			   "--b 1--\n";
	snprintf(text, sizeof(text),
		 "INVITE sip:bob@example.com SIP/2.0\n"
		 "Via: SIP/2.0/UDP 1.1.1.1;branch=z9hG4bK5\n"
		 "From: <sip:alice@example.org>;tag=9\nTo: <sip:bob@example.com>\n"
		 "Call-ID: multipart2@1.1.1.1\nCSeq: 1 INVITE\n"
		 "c: Multipart/Mixed ; boundary=\"b 1\"\n"
		 "l: %zu\n\n%s",
		 strlen(body), body);
	assert_int_equal(parse_text(text, &msg), SIP_PARSE_OK);
	assert_true(msg.has_sdp);
	assert_int_equal(msg.sdp.media_count, 2);
	assert_int_equal(msg.sdp.media[1].rtcp_port, 51400);

	/* Content-Type twice at message level: which body parser applies is
	 * ambiguous, so it counts as a duplicate even when identical */
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n"
				    "Content-Type: text/plain\r\nc: text/plain\r\n\r\n", &msg),
			 SIP_ERR_DUPLICATE_HEADER);
}

static void test_other_body_is_not_sdp(void **state)
{
	(void)state;
	struct sip_msg msg;
	assert_int_equal(parse_text("MESSAGE sip:bob@example.com SIP/2.0\r\n"
				    "Via: SIP/2.0/UDP 1.1.1.1;branch=z9hG4bK6\r\n"
				    "From: <sip:alice@example.org>;tag=9\r\nTo: <sip:bob@example.com>\r\n"
				    "Call-ID: msg@1.1.1.1\r\nCSeq: 1 MESSAGE\r\n"
				    "Content-Type: text/plain\r\nContent-Length: 21\r\n\r\n"
				    "m=audio 4000 RTP/AVP\n",
				    &msg),
			 SIP_PARSE_OK);
	assert_int_equal(msg.method, SIP_MESSAGE);
	assert_false(msg.has_sdp);
	assert_int_equal(msg.sdp_status, SDP_OK);
}

static void test_bad_sdp_keeps_sip_ok(void **state)
{
	(void)state;
	struct sip_msg msg;
	assert_int_equal(parse_text("INVITE sip:bob@example.com SIP/2.0\r\n"
				    "Via: SIP/2.0/UDP 1.1.1.1;branch=z9hG4bK7\r\n"
				    "From: <sip:alice@example.org>;tag=9\r\nTo: <sip:bob@example.com>\r\n"
				    "Call-ID: badsdp@1.1.1.1\r\nCSeq: 1 INVITE\r\n"
				    "Content-Type: application/sdp\r\nContent-Length: 65\r\n\r\n"
				    "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\n"
				    "m=audio 4000 RTP/AVP 0\r\n",
				    &msg),
			 SIP_PARSE_OK);
	assert_false(msg.has_sdp);
	assert_int_equal(msg.sdp_status, SDP_ERR_NO_ADDRESS);
	assert_string_equal(msg.call_id, "badsdp@1.1.1.1");
}

static void test_trailing_bytes_and_no_content_length(void **state)
{
	(void)state;
	struct sip_msg msg;
	const char *two = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK8\r\n"
			  "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: first@h\r\n"
			  "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
			  "\r\nOPTIONS sip:a@b SIP/2.0\r\n";
	assert_int_equal(parse_text(two, &msg), SIP_PARSE_OK);
	assert_string_equal(msg.call_id, "first@h");
	assert_int_equal(msg.message_len, strlen(two) - strlen("\r\nOPTIONS sip:a@b SIP/2.0\r\n"));

	/* over UDP, no Content-Length means the body is the rest of the datagram */
	const char *no_cl = "INVITE sip:bob@example.com SIP/2.0\r\n"
			    "Via: SIP/2.0/UDP 1.1.1.1;branch=z9hG4bK9\r\n"
			    "From: <sip:alice@example.org>;tag=9\r\nTo: <sip:bob@example.com>\r\n"
			    "Call-ID: nocl@1.1.1.1\r\nCSeq: 1 INVITE\r\n"
			    "Content-Type: application/sdp\r\n\r\n" INVITE_SDP_BODY;
	assert_int_equal(parse_text(no_cl, &msg), SIP_PARSE_OK);
	assert_int_equal(msg.message_len, strlen(no_cl));
	assert_true(msg.has_sdp);
}

static void test_call_id_shapes(void **state)
{
	(void)state;
	struct sip_msg msg;
	char text[1024];
	char call_id[SIP_CALL_ID_MAX + 2];

	memset(call_id, 'x', SIP_CALL_ID_MAX);
	call_id[SIP_CALL_ID_MAX] = '\0';
	snprintf(text, sizeof(text),
		 "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		 "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: %s\r\n"
		 "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		 call_id);
	assert_int_equal(parse_text(text, &msg), SIP_PARSE_OK);
	assert_int_equal(msg.call_id_len, SIP_CALL_ID_MAX);

	memset(call_id, 'x', SIP_CALL_ID_MAX + 1);
	call_id[SIP_CALL_ID_MAX + 1] = '\0';
	snprintf(text, sizeof(text),
		 "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		 "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: %s\r\n"
		 "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		 call_id);
	assert_int_equal(parse_text(text, &msg), SIP_ERR_CALL_ID_TOO_LONG);

	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
				    "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: one@two@three\r\n"
				    "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
				    &msg),
			 SIP_PARSE_OK);
	assert_string_equal(msg.call_id, "one@two@three");

	/* the same Call-ID twice passes our pre-check, but libosip2 refuses any
	 * repeated Call-ID, CSeq or Content-Length, even an identical one */
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
				    "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: same@h\r\n"
				    "i: same@h\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
				    &msg),
			 SIP_ERR_PARSE);
}

/* One crafted message per error status. */
#define GOOD_HEADERS                                                                       \
	"Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\n"

static void test_error_statuses(void **state)
{
	(void)state;
	struct sip_msg msg;

	assert_int_equal(sip_parse(NULL, 0, &msg), SIP_ERR_EMPTY);
	assert_int_equal(parse_text("", &msg), SIP_ERR_EMPTY);

	/* an HTTP request on 5060 (nDPI http_on_sip_port) */
	assert_int_equal(parse_text("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", &msg),
			 SIP_ERR_NOT_SIP);
	assert_int_equal(parse_text("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &msg),
			 SIP_ERR_NOT_SIP);
	assert_int_equal(parse_text("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", &msg),
			 SIP_ERR_NOT_SIP);
	assert_int_equal(parse_text("hello", &msg), SIP_ERR_NOT_SIP);
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/3.0\r\n" GOOD_HEADERS "\r\n", &msg),
			 SIP_ERR_NOT_SIP);
	assert_int_equal(parse_text("OPTIONS  sip:a@b SIP/2.0\r\n" GOOD_HEADERS "\r\n", &msg),
			 SIP_ERR_NOT_SIP);
	assert_int_equal(parse_text("OPTIONS <sip:a@b> SIP/2.0\r\n" GOOD_HEADERS "\r\n", &msg),
			 SIP_ERR_NOT_SIP);
	assert_int_equal(parse_text("SIP/2.0 700 Weird\r\n" GOOD_HEADERS
				    "Call-ID: x\r\nCSeq: 1 INVITE\r\n\r\n", &msg),
			 SIP_ERR_NOT_SIP);
	assert_int_equal(parse_text("SIP/2.0 099 Weird\r\n" GOOD_HEADERS
				    "Call-ID: x\r\nCSeq: 1 INVITE\r\n\r\n", &msg),
			 SIP_ERR_NOT_SIP);
	assert_int_equal(parse_text("SIP/2.0 4294967301 Better Not Break The Receiver\r\n"
				    GOOD_HEADERS "Call-ID: x\r\nCSeq: 1 INVITE\r\n\r\n", &msg),
			 SIP_ERR_NOT_SIP);

	/* no end of headers; a body shorter than Content-Length */
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\n" GOOD_HEADERS "Call-ID: x", &msg),
			 SIP_ERR_TRUNCATED);
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP", &msg), SIP_ERR_TRUNCATED);
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\n" GOOD_HEADERS
				    "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 9999\r\n\r\n"
				    "v=0\r\n", &msg),
			 SIP_ERR_TRUNCATED);

	/* oversized datagram, oversized Content-Length */
	size_t big_len = SIP_MAX_MESSAGE + 100;
	char *big = malloc(big_len);
	assert_non_null(big);
	const char *head = "OPTIONS sip:a@b SIP/2.0\r\nX-Pad: ";
	memcpy(big, head, strlen(head));
	memset(big + strlen(head), 'p', big_len - strlen(head));
	assert_int_equal(sip_parse((const uint8_t *)big, big_len, &msg), SIP_ERR_OVERSIZED);
	free(big);
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\n" GOOD_HEADERS
				    "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 70000\r\n\r\n",
				    &msg),
			 SIP_ERR_OVERSIZED);

	/* NUL and other control bytes in the header section */
	static const uint8_t with_nul[] = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\0x\r\n"
					  "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n";
	assert_int_equal(sip_parse(with_nul, sizeof(with_nul) - 1, &msg), SIP_ERR_BINARY);
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\n" GOOD_HEADERS
				    "Call-ID: x\x1b[31m\r\nCSeq: 1 OPTIONS\r\n\r\n", &msg),
			 SIP_ERR_BINARY);
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\n" GOOD_HEADERS
				    "Call-ID: x\r\r\nCSeq: 1 OPTIONS\r\n\r\n", &msg),
			 SIP_ERR_BINARY);

	/* Content-Length: not a number, negative */
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\n" GOOD_HEADERS
				    "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: ten\r\n\r\n",
				    &msg),
			 SIP_ERR_BAD_CONTENT_LENGTH);
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\n" GOOD_HEADERS
				    "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nl: -999\r\n\r\n",
				    &msg),
			 SIP_ERR_BAD_CONTENT_LENGTH);
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\n" GOOD_HEADERS
				    "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length:\r\n\r\n",
				    &msg),
			 SIP_ERR_BAD_CONTENT_LENGTH);

	/* the same header twice, with different values */
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\n" GOOD_HEADERS
				    "Call-ID: one@h\r\nCSeq: 1 OPTIONS\r\nCall-ID: two@h\r\n\r\n",
				    &msg),
			 SIP_ERR_DUPLICATE_HEADER);
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\n" GOOD_HEADERS
				    "Call-ID: one@h\r\ni: two@h\r\nCSeq: 1 OPTIONS\r\n\r\n",
				    &msg),
			 SIP_ERR_DUPLICATE_HEADER);
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\n" GOOD_HEADERS
				    "Call-ID: one@h\r\nCSeq: 1 OPTIONS\r\nCSeq: 2 OPTIONS\r\n\r\n",
				    &msg),
			 SIP_ERR_DUPLICATE_HEADER);
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\n" GOOD_HEADERS
				    "Call-ID: one@h\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n"
				    "l: 4\r\n\r\nabcd", &msg),
			 SIP_ERR_DUPLICATE_HEADER);

	/* no Call-ID, empty Call-ID */
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\n" GOOD_HEADERS
				    "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", &msg),
			 SIP_ERR_NO_CALL_ID);
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\n" GOOD_HEADERS
				    "Call-ID:   \r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", &msg),
			 SIP_ERR_NO_CALL_ID);

	/* CSeq: missing, 2**31, no method, method differing from the request's */
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\n" GOOD_HEADERS
				    "Call-ID: x\r\nContent-Length: 0\r\n\r\n", &msg),
			 SIP_ERR_BAD_CSEQ);
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\n" GOOD_HEADERS
				    "Call-ID: x\r\nCSeq: 2147483648 OPTIONS\r\n\r\n", &msg),
			 SIP_ERR_BAD_CSEQ);
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\n" GOOD_HEADERS
				    "Call-ID: x\r\nCSeq: 2147483647 OPTIONS\r\n\r\n", &msg),
			 SIP_PARSE_OK);
	assert_int_equal(msg.cseq, 2147483647u);
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\n" GOOD_HEADERS
				    "Call-ID: x\r\nCSeq: 12\r\n\r\n", &msg),
			 SIP_ERR_BAD_CSEQ);
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\n" GOOD_HEADERS
				    "Call-ID: x\r\nCSeq: 8 INVITE\r\n\r\n", &msg),
			 SIP_ERR_BAD_CSEQ);

	/* libosip2 refuses it: a From header that is no address */
	assert_int_equal(parse_text("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
				    "From: \"unterminated <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\n"
				    "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n", &msg),
			 SIP_ERR_PARSE);
	/* nothing half-filled is left behind on failure, but the Call-ID our
	 * own scan read is kept so the message can follow its session */
	assert_int_equal(msg.call_id_len, 1);
	assert_string_equal(msg.call_id, "x");
	assert_int_equal(msg.message_len, 0);
	assert_false(msg.has_sdp);
}

static void test_names(void **state)
{
	(void)state;
	for (int a = 0; a < SIP_STATUS_COUNT; a++) {
		const char *name = sip_status_name((enum sip_status)a);
		assert_non_null(name);
		for (int b = 0; b < a; b++)
			assert_string_not_equal(name, sip_status_name((enum sip_status)b));
	}
	for (int a = 0; a < SIP_METHOD_COUNT; a++) {
		const char *name = sip_method_name((enum sip_method)a);
		assert_non_null(name);
		for (int b = 0; b < a; b++)
			assert_string_not_equal(name, sip_method_name((enum sip_method)b));
	}
	assert_string_equal(sip_status_name(SIP_PARSE_OK), "ok");
	assert_string_equal(sip_status_name(SIP_ERR_DUPLICATE_HEADER), "duplicate_header");
	assert_string_equal(sip_method_name(SIP_INVITE), "invite");
	assert_string_equal(sip_method_name(SIP_METHOD_UNKNOWN), "unknown");
	assert_string_equal(sip_method_name(SIP_METHOD_COUNT), "invalid");
}

/* ---- sip_frame ---- */

static void test_frame_every_prefix(void **state)
{
	(void)state;
	size_t full = strlen(invite_sdp);
	size_t msg_len = 0;
	for (size_t n = 0; n < full; n++)
		assert_int_equal(frame_text(invite_sdp, n, &msg_len), FRAME_NEED_MORE);
	assert_int_equal(frame_text(invite_sdp, full, &msg_len), FRAME_MESSAGE);
	assert_int_equal(msg_len, full);
}

static void test_frame_back_to_back(void **state)
{
	(void)state;
	char stream[4096];
	const char *bye = "BYE sip:bob@example.com SIP/2.0\r\nCall-ID: x\r\nCSeq: 2 BYE\r\n"
			  "l: 0\r\n\r\n";
	int n = snprintf(stream, sizeof(stream), "%s%s", invite_sdp, bye);
	size_t msg_len = 0;
	assert_int_equal(frame_text(stream, (size_t)n, &msg_len), FRAME_MESSAGE);
	assert_int_equal(msg_len, strlen(invite_sdp));
	assert_int_equal(frame_text(stream + msg_len, (size_t)n - msg_len, &msg_len), FRAME_MESSAGE);
	assert_int_equal(msg_len, strlen(bye));
}

static void test_frame_keepalives(void **state)
{
	(void)state;
	char stream[4096];
	int n = snprintf(stream, sizeof(stream), "\r\n\r\n%s", invite_sdp);
	size_t msg_len = 0;
	assert_int_equal(frame_text(stream, (size_t)n, &msg_len), FRAME_SKIP);
	assert_int_equal(msg_len, 4);
	assert_int_equal(frame_text(stream, 2, &msg_len), FRAME_SKIP);
	assert_int_equal(msg_len, 2);
	assert_int_equal(frame_text(stream + 4, (size_t)n - 4, &msg_len), FRAME_MESSAGE);
	assert_int_equal(frame_text("", 0, &msg_len), FRAME_NEED_MORE);
}

static void test_frame_content_length_forms(void **state)
{
	(void)state;
	size_t msg_len = 0;
	const char *compact = "OPTIONS sip:a@b SIP/2.0\nCall-ID: x\nCSeq: 1 OPTIONS\nL : 3\n\nabcXYZ";
	assert_int_equal(frame_text(compact, strlen(compact), &msg_len), FRAME_MESSAGE);
	assert_int_equal(msg_len, strlen(compact) - 3);

	const char *none = "SIP/2.0 200 OK\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\nnext";
	assert_int_equal(frame_text(none, strlen(none), &msg_len), FRAME_MESSAGE);
	assert_int_equal(msg_len, strlen(none) - 4);

	const char *junk = "SIP/2.0 200 OK\r\nContent-Length: 12a\r\n\r\n";
	assert_int_equal(frame_text(junk, strlen(junk), &msg_len), FRAME_INVALID);
	const char *twice = "SIP/2.0 200 OK\r\nContent-Length: 1\r\nl: 2\r\n\r\nab";
	assert_int_equal(frame_text(twice, strlen(twice), &msg_len), FRAME_INVALID);
}

static void test_frame_oversized(void **state)
{
	(void)state;
	size_t msg_len = 0;
	const char *huge = "INVITE sip:a@b SIP/2.0\r\nContent-Length: 65536\r\n\r\n";
	assert_int_equal(frame_text(huge, strlen(huge), &msg_len), FRAME_INVALID);
	assert_int_equal(sip_frame((const uint8_t *)invite_sdp, strlen(invite_sdp), 100, &msg_len),
			 FRAME_INVALID);
	/* the header section alone outgrows max_message before it ends */
	assert_int_equal(sip_frame((const uint8_t *)invite_sdp, 64, 64, &msg_len), FRAME_INVALID);
	assert_int_equal(sip_frame((const uint8_t *)invite_sdp, 63, 64, &msg_len), FRAME_NEED_MORE);
}

/* ---- sip_parse_fast: body-less requests other than INVITE skip libosip2 ---- */

static enum sip_status parse_fast_text(const char *text, struct sip_msg *msg)
{
	return sip_parse_fast((const uint8_t *)text, strlen(text), msg);
}

#define BODYLESS_HEADERS(method, cseq_method, from)                                       \
	method " sip:100@198.18.77.20 SIP/2.0\r\n"                                         \
	"Via: SIP/2.0/UDP 198.18.0.10:5060;branch=z9hG4bK-1\r\n"                          \
	"From: " from "\r\n"                                                                \
	"To: <sip:100@198.18.77.20>;tag=b\r\n"                                              \
	"i: fast-1@198.18.0.10\r\n"                                                         \
	"CSeq: 7 " cseq_method "\r\n"                                                       \
	"Max-Forwards: 70\r\n"                                                              \
	"Content-Length: 0\r\n\r\n"

static void test_fast_bodyless_request_matches_full_parse(void **state)
{
	static const char *const methods[] = { "BYE", "ACK", "CANCEL", "OPTIONS", "REGISTER", "INFO" };
	(void)state;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		char text[1024];
		struct sip_msg full, fast;
		snprintf(text, sizeof(text),
			 "%s sip:100@198.18.77.20 SIP/2.0\r\nVia: SIP/2.0/UDP 198.18.0.10;branch=z9hG4bK-1\r\n"
			 "From: <sip:a@198.18.0.10>;tag=a\r\nTo: <sip:100@198.18.77.20>\r\n"
			 "i: fast-1@198.18.0.10\r\nCSeq: 7 %s\r\nContent-Length: 0\r\n\r\n",
			 methods[i], methods[i]);
		assert_int_equal(parse_text(text, &full), SIP_PARSE_OK);
		assert_int_equal(parse_fast_text(text, &fast), SIP_PARSE_OK);
		assert_true(fast.is_request);
		assert_int_equal(fast.method, full.method);
		assert_int_equal(fast.cseq, 7);
		assert_int_equal(fast.cseq, full.cseq);
		assert_string_equal(fast.call_id, full.call_id);
		assert_int_equal(fast.call_id_len, full.call_id_len);
		assert_int_equal(fast.message_len, full.message_len);
		assert_false(fast.has_sdp);
	}
}

static void test_fast_path_limits(void **state)
{
	struct sip_msg msg;
	(void)state;
	/* A bad From: libosip2 refuses, the fast path routes it by Call-ID. */
	assert_int_equal(parse_text(BODYLESS_HEADERS("BYE", "BYE", "<sip:a@[::1"), &msg), SIP_ERR_PARSE);
	assert_int_equal(parse_fast_text(BODYLESS_HEADERS("BYE", "BYE", "<sip:a@[::1"), &msg), SIP_PARSE_OK);
	assert_string_equal(msg.call_id, "fast-1@198.18.0.10");
	assert_int_equal(msg.method, SIP_BYE);
	/* INVITE always takes the full parse, body or not. */
	assert_int_equal(parse_fast_text(BODYLESS_HEADERS("INVITE", "INVITE", "<sip:a@[::1"), &msg),
			 SIP_ERR_PARSE);
	/* A CSeq naming another method goes to the full parse, which refuses it. */
	assert_int_equal(parse_fast_text(BODYLESS_HEADERS("BYE", "INVITE", "<sip:a@198.18.0.10>;tag=a"), &msg),
			 SIP_ERR_BAD_CSEQ);
	assert_int_equal(parse_fast_text(BODYLESS_HEADERS("BYE", "bye", "<sip:a@198.18.0.10>;tag=a"), &msg),
			 SIP_ERR_BAD_CSEQ);
	/* Responses and requests with a body are parsed in full (SDP). */
	assert_int_equal(parse_fast_text("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 198.18.0.10;branch=z9hG4bK-1\r\n"
					 "From: <sip:a@x>;tag=a\r\nTo: <sip:b@y>;tag=b\r\nCall-ID: r@x\r\n"
					 "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", &msg), SIP_PARSE_OK);
	assert_false(msg.is_request);
	assert_int_equal(msg.status, 200);
}

/* The header byte check reads 16 bytes at a time where it can: a byte it
 * must refuse or act on is found at every offset of a long header line,
 * across the chunk boundaries, and plain bytes (space, tab, UTF-8) pass. */
static void test_header_bytes_at_every_offset(void **state)
{
	(void)state;
	static const char head[] = "OPTIONS sip:a@b SIP/2.0\r\n" GOOD_HEADERS "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nX-Pad: ";
	static const char tail[] = "\r\n\r\n";
	enum { PAD = 70 };
	uint8_t text[sizeof(head) + PAD + 8 + sizeof(tail)];
	struct sip_msg msg;
	size_t head_len = sizeof(head) - 1;

	for (size_t at = 0; at < PAD; at++) {
		static const struct {
			uint8_t byte;
			enum sip_status want;
		} cases[] = {
			{ 0x00, SIP_ERR_BINARY }, { 0x01, SIP_ERR_BINARY }, { 0x1b, SIP_ERR_BINARY },
			{ 0x1f, SIP_ERR_BINARY }, { 0x7f, SIP_ERR_BINARY }, { '\r', SIP_ERR_BINARY },
			{ ' ', SIP_PARSE_OK }, { '\t', SIP_PARSE_OK }, { 0xc3, SIP_PARSE_OK }, { '~', SIP_PARSE_OK },
		};
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			memcpy(text, head, head_len);
			memset(text + head_len, 'p', PAD);
			text[head_len + at] = cases[c].byte;
			memcpy(text + head_len + PAD, tail, sizeof(tail) - 1);
			size_t len = head_len + PAD + sizeof(tail) - 1;
			enum sip_status got = sip_parse(text, len, &msg);
			if (got != cases[c].want)
				fail_msg("byte 0x%02x at offset %zu of the pad: %s, want %s", cases[c].byte, at,
					 sip_status_name(got), sip_status_name(cases[c].want));
		}
		/* a control byte escaped inside a quoted string is allowed (and
		 * hidden from libosip2); unescaped in quotes it is refused */
		memcpy(text, head, head_len);
		memset(text + head_len, 'p', PAD);
		text[head_len + at] = '"';
		memcpy(text + head_len + PAD, "\\\x07\"", 3);
		memcpy(text + head_len + PAD + 3, tail, sizeof(tail) - 1);
		assert_int_equal(sip_parse(text, head_len + PAD + 3 + sizeof(tail) - 1, &msg), SIP_PARSE_OK);
		text[head_len + PAD] = 'q';
		assert_int_equal(sip_parse(text, head_len + PAD + 3 + sizeof(tail) - 1, &msg), SIP_ERR_BINARY);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invite_with_sdp),
		cmocka_unit_test(test_header_bytes_at_every_offset),
		cmocka_unit_test(test_fast_bodyless_request_matches_full_parse),
		cmocka_unit_test(test_fast_path_limits),
		cmocka_unit_test(test_response_200_with_sdp),
		cmocka_unit_test(test_responses_take_method_from_cseq),
		cmocka_unit_test(test_reinvite_hold),
		cmocka_unit_test(test_compact_headers),
		cmocka_unit_test(test_lf_only),
		cmocka_unit_test(test_multipart_sdp_part),
		cmocka_unit_test(test_multipart_quoted_boundary_repeated_type),
		cmocka_unit_test(test_other_body_is_not_sdp),
		cmocka_unit_test(test_bad_sdp_keeps_sip_ok),
		cmocka_unit_test(test_trailing_bytes_and_no_content_length),
		cmocka_unit_test(test_call_id_shapes),
		cmocka_unit_test(test_error_statuses),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_frame_every_prefix),
		cmocka_unit_test(test_frame_back_to_back),
		cmocka_unit_test(test_frame_keepalives),
		cmocka_unit_test(test_frame_content_length_forms),
		cmocka_unit_test(test_frame_oversized),
	};
	return cmocka_run_group_tests_name("sip", tests, NULL, NULL);
}
