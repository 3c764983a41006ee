/* test_sip_torture.c - every message of the public SIP torture corpora
 * (RFC 4475, RFC 5118, kamailio test/misc/sip) through sip_parse and
 * sip_frame, against an expected outcome per file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpi/sip.h"

#define FILE_MAX 8192 /* the largest corpus file is 3.6 KB */

/* Content-Length fix-up: some samples had their line ends rewritten after
 * Content-Length was computed (kamailio's CRLF->LF copies; ersip's RFC 5118
 * transcription, SOURCES.md). Raw, they are rejected as a lying
 * Content-Length must be (RFC 4475 3.1.2.2); with Content-Length set to the
 * bytes present, the message itself is checked. */
enum fixup { RAW_ONLY = 0, FIX_CONTENT_LENGTH };

struct torture_case {
	const char *path;        /* under $SARA_CORPUS/sip-torture */
	enum sip_status raw;     /* outcome on the file as it is */
	const char *call_id;     /* checked when raw (or fixed) is SIP_PARSE_OK */
	enum fixup fixup;
	enum sip_status fixed;   /* outcome after the Content-Length fix-up */
};

/*
 * RFC 4475 "invalid" (3.1.2.x) messages a dispatcher tolerates, and why:
 *   baddate   3.1.2.12 bad Date time zone: Date plays no part in dispatching.
 *   escruri   3.1.2.11 escaped headers in the Request-URI: the next hop's
 *             problem; the dialog is still identified by Call-ID.
 *   regbadct  3.1.2.13 Contact URI with parameters not in <>: libosip2 reads
 *             it as URI parameters; REGISTER never starts a media session.
 * Every other invalid one is rejected (first line, Content-Length larger than
 * the message or negative, duplicates, CSeq bounds or mismatch, or libosip2).
 * baddn (3.1.2.15) ends without its empty line in the archive: rejected as
 * truncated before its display name is looked at.
 * Application-class (3.3.x) messages parse, except:
 *   insuf     3.3.1 no Call-ID: nothing to key a session on.
 *   multi01   3.3.8 two different Call-IDs and CSeqs: rejected as ambiguous.
 *   mcl01     3.3.9 two different Content-Lengths: framing is ambiguous.
 *   novelsc   3.3.3 libosip2 refuses the "soap.beep" URI scheme (its URI
 *             parser rejects '.' in a scheme); an OPTIONS starts no session.
 * RFC 5118 ipv6-bad (4.2, IPv6 without brackets in the Request-URI) is
 * tolerated: libosip2 takes it, and the Request-URI host is not used.
 * kamailio samples: invalid on purpose (no Call-ID, broken Via / To, double
 * SP in the request line, CR CR LF line ends, no end of headers) are rejected.
 */
static const struct torture_case cases[] = {
	/* RFC 4475 3.1.1 valid */
	{ "rfc4475/wsinv.dat", SIP_PARSE_OK, "wsinv.ndaksdj@192.0.2.1", RAW_ONLY, 0 },
	{ "rfc4475/intmeth.dat", SIP_PARSE_OK, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{", RAW_ONLY, 0 },
	{ "rfc4475/esc01.dat", SIP_PARSE_OK, "esc01.239409asdfakjkn23onasd0-3234", RAW_ONLY, 0 },
	{ "rfc4475/escnull.dat", SIP_PARSE_OK, "escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd", RAW_ONLY, 0 },
	{ "rfc4475/esc02.dat", SIP_PARSE_OK, "esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf", RAW_ONLY, 0 },
	{ "rfc4475/lwsdisp.dat", SIP_PARSE_OK, "lwsdisp.1234abcd@funky.example.com", RAW_ONLY, 0 },
	{ "rfc4475/longreq.dat", SIP_PARSE_OK, NULL, RAW_ONLY, 0 },
	{ "rfc4475/dblreq.dat", SIP_PARSE_OK, "dblreq.0ha0isndaksdj99sdfafnl3lk233412", RAW_ONLY, 0 },
	{ "rfc4475/semiuri.dat", SIP_PARSE_OK, "semiuri.0ha0isndaksdj", RAW_ONLY, 0 },
	{ "rfc4475/transports.dat", SIP_PARSE_OK, "transports.kijh4akdnaqjkwendsasfdj", RAW_ONLY, 0 },
	{ "rfc4475/mpart01.dat", SIP_PARSE_OK, "3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..", RAW_ONLY, 0 },
	{ "rfc4475/unreason.dat", SIP_PARSE_OK, "unreason.1234ksdfak3j2erwedfsASdf", RAW_ONLY, 0 },
	{ "rfc4475/noreason.dat", SIP_PARSE_OK, "noreason.asndj203insdf99223ndf", RAW_ONLY, 0 },
	/* RFC 4475 3.1.2 invalid */
	{ "rfc4475/badinv01.dat", SIP_ERR_PARSE, NULL, RAW_ONLY, 0 },
	{ "rfc4475/clerr.dat", SIP_ERR_TRUNCATED, NULL, RAW_ONLY, 0 },
	{ "rfc4475/ncl.dat", SIP_ERR_BAD_CONTENT_LENGTH, NULL, RAW_ONLY, 0 },
	{ "rfc4475/scalar02.dat", SIP_ERR_BAD_CSEQ, NULL, RAW_ONLY, 0 },
	{ "rfc4475/scalarlg.dat", SIP_ERR_BAD_CSEQ, NULL, RAW_ONLY, 0 },
	{ "rfc4475/quotbal.dat", SIP_ERR_PARSE, NULL, RAW_ONLY, 0 },
	{ "rfc4475/ltgtruri.dat", SIP_ERR_NOT_SIP, NULL, RAW_ONLY, 0 },
	{ "rfc4475/lwsruri.dat", SIP_ERR_NOT_SIP, NULL, RAW_ONLY, 0 },
	{ "rfc4475/lwsstart.dat", SIP_ERR_NOT_SIP, NULL, RAW_ONLY, 0 },
	{ "rfc4475/trws.dat", SIP_ERR_NOT_SIP, NULL, RAW_ONLY, 0 },
	{ "rfc4475/escruri.dat", SIP_PARSE_OK, "escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5", RAW_ONLY, 0 },
	{ "rfc4475/baddate.dat", SIP_PARSE_OK, "baddate.239423mnsadf3j23lj42--sedfnm234", RAW_ONLY, 0 },
	{ "rfc4475/regbadct.dat", SIP_PARSE_OK, "regbadct.k345asrl3fdbv@10.0.0.1", RAW_ONLY, 0 },
	{ "rfc4475/badaspec.dat", SIP_ERR_PARSE, NULL, RAW_ONLY, 0 },
	{ "rfc4475/baddn.dat", SIP_ERR_TRUNCATED, NULL, RAW_ONLY, 0 },
	{ "rfc4475/badvers.dat", SIP_ERR_NOT_SIP, NULL, RAW_ONLY, 0 },
	{ "rfc4475/mismatch01.dat", SIP_ERR_BAD_CSEQ, NULL, RAW_ONLY, 0 },
	{ "rfc4475/mismatch02.dat", SIP_ERR_BAD_CSEQ, NULL, RAW_ONLY, 0 },
	{ "rfc4475/bigcode.dat", SIP_ERR_NOT_SIP, NULL, RAW_ONLY, 0 },
	/* RFC 4475 3.2-3.4 transaction, application, backward-compatibility */
	{ "rfc4475/badbranch.dat", SIP_PARSE_OK, "badbranch.sadonfo23i420jv0as0derf3j3n", RAW_ONLY, 0 },
	{ "rfc4475/insuf.dat", SIP_ERR_NO_CALL_ID, NULL, RAW_ONLY, 0 },
	{ "rfc4475/unkscm.dat", SIP_PARSE_OK, "unkscm.nasdfasser0q239nwsdfasdkl34", RAW_ONLY, 0 },
	{ "rfc4475/novelsc.dat", SIP_ERR_PARSE, NULL, RAW_ONLY, 0 },
	{ "rfc4475/unksm2.dat", SIP_PARSE_OK, "unksm2.daksdj@hyphenated-host.example.com", RAW_ONLY, 0 },
	{ "rfc4475/bext01.dat", SIP_PARSE_OK, "bext01.0ha0isndaksdj", RAW_ONLY, 0 },
	{ "rfc4475/invut.dat", SIP_PARSE_OK, "invut.0ha0isndaksdjadsfij34n23d", RAW_ONLY, 0 },
	{ "rfc4475/regaut01.dat", SIP_PARSE_OK, "regaut01.0ha0isndaksdj", RAW_ONLY, 0 },
	{ "rfc4475/multi01.dat", SIP_ERR_DUPLICATE_HEADER, NULL, RAW_ONLY, 0 },
	{ "rfc4475/mcl01.dat", SIP_ERR_DUPLICATE_HEADER, NULL, RAW_ONLY, 0 },
	{ "rfc4475/bcast.dat", SIP_PARSE_OK, "bcast.0384840201234ksdfak3j2erwedfsASdf", RAW_ONLY, 0 },
	{ "rfc4475/zeromf.dat", SIP_PARSE_OK, "zeromf.jfasdlfnm2o2l43r5u0asdfas", RAW_ONLY, 0 },
	{ "rfc4475/cparam01.dat", SIP_PARSE_OK, "cparam01.70710@saturn.example.com", RAW_ONLY, 0 },
	{ "rfc4475/cparam02.dat", SIP_PARSE_OK, "cparam02.70710@saturn.example.com", RAW_ONLY, 0 },
	{ "rfc4475/regescrt.dat", SIP_PARSE_OK, "regescrt.k345asrl3fdbv@192.0.2.1", RAW_ONLY, 0 },
	{ "rfc4475/sdp01.dat", SIP_PARSE_OK, "sdp01.ndaksdj9342dasdd", RAW_ONLY, 0 },
	{ "rfc4475/inv2543.dat", SIP_PARSE_OK, "inv2543.1717@ift.client.example.com", RAW_ONLY, 0 },
	/* the archive's extra file: no SIP-Version in the request line */
	{ "rfc4475/test.dat", SIP_ERR_NOT_SIP, NULL, RAW_ONLY, 0 },

	/* RFC 5118 */
	{ "rfc5118/ipv6-good", SIP_PARSE_OK, "SSG9559905523997077@hlau_4100", RAW_ONLY, 0 },
	{ "rfc5118/ipv6-bad", SIP_PARSE_OK, "SSG9559905523997077@hlau_4100", RAW_ONLY, 0 },
	{ "rfc5118/port-ambiguous", SIP_PARSE_OK, "SSG9559905523997077@hlau_4100", RAW_ONLY, 0 },
	{ "rfc5118/port-unambiguous", SIP_PARSE_OK, "SSG9559905523997077@hlau_4100", RAW_ONLY, 0 },
	{ "rfc5118/via-received-param-with-delim", SIP_PARSE_OK, "SSG9559905523997077@hlau_4100", RAW_ONLY, 0 },
	{ "rfc5118/via-received-param-no-delim", SIP_PARSE_OK, "SSG95523997077@hlau_4100", RAW_ONLY, 0 },
	/* Content-Length 268 for 251 bytes of body (wrong in the RFC itself) */
	{ "rfc5118/ipv6-in-sdp", SIP_ERR_TRUNCATED, "SSG9559905523997077@hlau_4100", FIX_CONTENT_LENGTH, SIP_PARSE_OK },
	{ "rfc5118/mult-ip-in-header", SIP_PARSE_OK, "997077@lau_4100", RAW_ONLY, 0 },
	/* Content-Length smaller than the body: the SDP is cut, SIP stays valid */
	{ "rfc5118/mult-ip-in-sdp", SIP_PARSE_OK, "SSG9559905523997077@hlau_4100", FIX_CONTENT_LENGTH, SIP_PARSE_OK },
	{ "rfc5118/ipv4-mapped-ipv6", SIP_PARSE_OK, "SSG9559905523997077@hlau_4100", FIX_CONTENT_LENGTH, SIP_PARSE_OK },
	{ "rfc5118/ipv6-bug-abnf-3-colons", SIP_PARSE_OK, "G9559905523997077@hlau_4100", RAW_ONLY, 0 },
	{ "rfc5118/ipv6-correct-abnf-2-colons", SIP_PARSE_OK, "G9559905523997077@hlau_4100", RAW_ONLY, 0 },

	/* kamailio test/misc/sip (mostly bare LF line ends) */
	{ "kamailio-test-misc-sip/bad_uri.sip", SIP_ERR_TRUNCATED, "d10815e0-bf17-4afa-8412-d9130a793d96@213.20.128.35", FIX_CONTENT_LENGTH, SIP_PARSE_OK },
	{ "kamailio-test-misc-sip/bad_via1.sip", SIP_ERR_NO_CALL_ID, NULL, RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/bad_via2.sip", SIP_ERR_NOT_SIP, NULL, RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/bad_via3.sip", SIP_ERR_NOT_SIP, NULL, RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/bc2.sip", SIP_PARSE_OK, "axxxxxef5cec10dd5f4dca871b764cb83ee73c@192.168.1.100", RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/bye00.sip", SIP_PARSE_OK, "bcd1134d-a36f-4647-ae9f-124c157d2db1@213.20.228.21", RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/bye_chris.sip", SIP_PARSE_OK, "xxxef5cec10dd5f4dca871b764cb83ee73c@192.168.1.100", RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/dns.sip", SIP_ERR_TRUNCATED, NULL, FIX_CONTENT_LENGTH, SIP_PARSE_OK },
	{ "kamailio-test-misc-sip/inv_srv.sip", SIP_ERR_TRUNCATED, NULL, FIX_CONTENT_LENGTH, SIP_PARSE_OK },
	{ "kamailio-test-misc-sip/invite00.sip", SIP_ERR_TRUNCATED, "d10815e0-bf17-4afa-8412-d9130a793d96@213.20.128.35", FIX_CONTENT_LENGTH, SIP_PARSE_OK },
	{ "kamailio-test-misc-sip/invite01.sip", SIP_PARSE_OK, "d10815e0-bf17-4afa-8412-d9130a793d96@213.20.128.35", RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/invite02.sip", SIP_PARSE_OK, "r10815e0-bf17-4afa-8412-d9130a793d96@213.20.128.35", RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/invite03.sip", SIP_PARSE_OK, "r10815e0-bf17-4afa-8412-d9130a793d96@213.20.128.35", RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/invite04.sip", SIP_PARSE_OK, "r10815e0-bf17-4afa-8412-d9130a793d96@213.20.128.35", RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/invite05.sip", SIP_PARSE_OK, "r10815e0-bf17-4afa-8412-d9130a793d96@213.20.128.35", RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/invite1.sip", SIP_PARSE_OK, "b96b0300-88d30f-66da-63aa@195.37.78.190", RAW_ONLY, 0 },
	/* invite3..6: on purpose " Call-ID:" (a continuation line), "CSeq:101",
	 * "Call-ID;", an empty branch (harmless to us) */
	{ "kamailio-test-misc-sip/invite3-callid.sip", SIP_ERR_TRUNCATED, NULL, FIX_CONTENT_LENGTH, SIP_ERR_NO_CALL_ID },
	{ "kamailio-test-misc-sip/invite4-cseq.sip", SIP_ERR_TRUNCATED, NULL, FIX_CONTENT_LENGTH, SIP_ERR_BAD_CSEQ },
	{ "kamailio-test-misc-sip/invite5-callid.sip", SIP_ERR_TRUNCATED, NULL, FIX_CONTENT_LENGTH, SIP_ERR_NO_CALL_ID },
	{ "kamailio-test-misc-sip/invite6-badbranch-via.sip", SIP_ERR_TRUNCATED, NULL, FIX_CONTENT_LENGTH, SIP_PARSE_OK },
	{ "kamailio-test-misc-sip/long.sip", SIP_ERR_TRUNCATED, NULL, FIX_CONTENT_LENGTH, SIP_PARSE_OK },
	{ "kamailio-test-misc-sip/message.sip", SIP_ERR_TRUNCATED, NULL, FIX_CONTENT_LENGTH, SIP_PARSE_OK },
	/* message02, rport: "xCall-ID:" on purpose */
	{ "kamailio-test-misc-sip/message02.sip", SIP_ERR_TRUNCATED, NULL, FIX_CONTENT_LENGTH, SIP_ERR_NO_CALL_ID },
	{ "kamailio-test-misc-sip/message03.sip", SIP_PARSE_OK, "02b1191c-447e-4bd0-b771-c039fc0d9d84@195.37.78.169", RAW_ONLY, 0 },
	/* ends inside a header line, no empty line */
	{ "kamailio-test-misc-sip/ms-invite-00-rpl.sip", SIP_ERR_TRUNCATED, NULL, RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/ms-invite-00.sip", SIP_ERR_TRUNCATED, NULL, FIX_CONTENT_LENGTH, SIP_PARSE_OK },
	{ "kamailio-test-misc-sip/ms-invite-01-rpl.sip", SIP_PARSE_OK, "83cd6524-386b-4e78-8975-ab96a0f78590@212.202.173.36", RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/msbye.sip", SIP_PARSE_OK, "ef4832152f944621847e3bf729fd4c27@131.107.155.12", RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/nmr.sip", SIP_ERR_TRUNCATED, NULL, FIX_CONTENT_LENGTH, SIP_PARSE_OK },
	{ "kamailio-test-misc-sip/no_eom_reply.sip", SIP_ERR_TRUNCATED, NULL, RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/pingtel.sip", SIP_PARSE_OK, "1023638012-reg@24.114.138.250", RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/register.sip", SIP_PARSE_OK, "aa@195.37.78.208", RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/register02.sip", SIP_PARSE_OK, "aa@195.37.78.208", RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/register03.sip", SIP_PARSE_OK, "7138115741688223740@195.37.78.226", RAW_ONLY, 0 },
	/* "To:poo <bear@iptel.org>": a URI without scheme, libosip2 refuses */
	{ "kamailio-test-misc-sip/register04.sip", SIP_ERR_PARSE, NULL, RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/repl1.sip", SIP_PARSE_OK, "9437892232b@foo.bar", RAW_ONLY, 0 },
	/* "INVITE sip:foo@127.0.0.1:5061  SIP/2.0": two SP, as RFC 4475 lwsstart */
	{ "kamailio-test-misc-sip/req-test1.sip", SIP_ERR_NOT_SIP, NULL, RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/req-tm1.sip", SIP_ERR_NOT_SIP, NULL, RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/req1.sip", SIP_ERR_NO_CALL_ID, NULL, RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/req2.sip", SIP_ERR_NO_CALL_ID, NULL, RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/route.sip", SIP_ERR_TRUNCATED, NULL, FIX_CONTENT_LENGTH, SIP_PARSE_OK },
	{ "kamailio-test-misc-sip/rport.sip", SIP_ERR_TRUNCATED, NULL, FIX_CONTENT_LENGTH, SIP_ERR_NO_CALL_ID },
	/* CR CR LF line ends: a bare CR is a line end to libosip2 only */
	{ "kamailio-test-misc-sip/sg.sip", SIP_ERR_BINARY, NULL, RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/short_nonce.sip", SIP_ERR_TRUNCATED, NULL, RAW_ONLY, 0 },
	{ "kamailio-test-misc-sip/short_reply.sip", SIP_ERR_NO_CALL_ID, NULL, RAW_ONLY, 0 },
};

#define CASE_COUNT (sizeof(cases) / sizeof(cases[0]))

static char corpus_dir[1024];

static const char *corpus_root(void)
{
	const char *root = getenv("SARA_CORPUS");
	return root && root[0] ? root : "../shared/corpus";
}

static bool corpus_present(void)
{
	snprintf(corpus_dir, sizeof(corpus_dir), "%s/sip-torture", corpus_root());
	DIR *dir = opendir(corpus_dir);
	if (!dir) {
		printf("skipped: corpus not found at %s (set SARA_CORPUS)\n", corpus_dir);
		return false;
	}
	closedir(dir);
	return true;
}

static size_t read_case(const char *path, uint8_t *buf, size_t size)
{
	char full[2048];
	snprintf(full, sizeof(full), "%s/%s", corpus_dir, path);
	FILE *f = fopen(full, "rb");
	if (!f)
		fail_msg("cannot open %s", full);
	size_t n = fread(buf, 1, size, f);
	assert_true(feof(f));
	fclose(f);
	return n;
}

/* Rewrites the Content-Length value to the bytes after the empty line. */
static size_t fix_content_length(const uint8_t *in, size_t len, uint8_t *out, size_t size)
{
	size_t header_end = 0, cl_start = 0, cl_end = 0;
	for (size_t i = 0; i + 1 < len; i++) {
		if (in[i] != '\n')
			continue;
		size_t next = i + 1;
		if (!cl_start && len - next > 16 &&
		    (strncasecmp((const char *)in + next, "Content-Length:", 15) == 0 ||
		     strncasecmp((const char *)in + next, "l:", 2) == 0)) {
			cl_start = next + ((in[next] == 'l' || in[next] == 'L') ? 2 : 15);
			cl_end = cl_start;
			while (cl_end < len && in[cl_end] != '\r' && in[cl_end] != '\n')
				cl_end++;
		}
		if (in[next] == '\n') {
			header_end = next + 1;
			break;
		}
		if (in[next] == '\r' && next + 1 < len && in[next + 1] == '\n') {
			header_end = next + 2;
			break;
		}
	}
	assert_true(header_end > 0 && cl_start > 0);
	int n = snprintf((char *)out, size, "%.*s %zu%.*s", (int)cl_start, (const char *)in,
			 len - header_end, (int)(len - cl_end), (const char *)in + cl_end);
	assert_true(n > 0 && (size_t)n < size);
	return (size_t)n;
}

/* Robustness on the side: every prefix through the framer and the parser
 * (ASan/UBSan builds check the reads), and the whole file framed. */
static void exercise_prefixes(const uint8_t *buf, size_t len)
{
	struct sip_msg msg;
	size_t msg_len;
	for (size_t n = 0; n <= len; n++) {
		enum frame_result fr = sip_frame(buf, n, SIP_MAX_MESSAGE, &msg_len);
		if (fr == FRAME_MESSAGE || fr == FRAME_SKIP)
			assert_true(msg_len > 0 && msg_len <= n);
		(void)sip_parse(buf, n, &msg);
	}
}

/* Prints every mismatch (so one run shows them all); true when as expected. */
static bool check_case(const struct torture_case *c, const uint8_t *buf, size_t len,
		       enum sip_status expected, const char *variant)
{
	struct sip_msg msg;
	enum sip_status got = sip_parse(buf, len, &msg);
	if (got != expected) {
		print_error("%s (%s): expected %s, got %s\n", c->path, variant,
			    sip_status_name(expected), sip_status_name(got));
		return false;
	}
	if (got == SIP_PARSE_OK) {
		assert_true(msg.message_len > 0 && msg.message_len <= len);
		assert_int_equal(msg.call_id_len, strlen(msg.call_id));
		if (c->call_id && strcmp(c->call_id, msg.call_id) != 0) {
			print_error("%s: Call-ID %s, expected %s\n", c->path, msg.call_id, c->call_id);
			return false;
		}
	}
	return true;
}

static void test_every_file_has_an_expectation(void **state)
{
	(void)state;
	static const char *const subdirs[] = { "rfc4475", "rfc5118", "kamailio-test-misc-sip" };
	if (!corpus_present())
		skip();
	size_t seen = 0;
	for (size_t d = 0; d < sizeof(subdirs) / sizeof(subdirs[0]); d++) {
		char path[1280];
		snprintf(path, sizeof(path), "%s/%s", corpus_dir, subdirs[d]);
		DIR *dir = opendir(path);
		if (!dir)
			fail_msg("missing %s", path);
		struct dirent *entry;
		while ((entry = readdir(dir)) != NULL) {
			if (entry->d_name[0] == '.')
				continue;
			char rel[512];
			snprintf(rel, sizeof(rel), "%s/%s", subdirs[d], entry->d_name);
			bool found = false;
			for (size_t i = 0; i < CASE_COUNT && !found; i++)
				found = strcmp(cases[i].path, rel) == 0;
			if (!found)
				fail_msg("%s has no expected outcome in the table", rel);
			seen++;
		}
		closedir(dir);
	}
	assert_int_equal(seen, CASE_COUNT);
}

static void test_expected_outcomes(void **state)
{
	(void)state;
	static uint8_t buf[FILE_MAX], fixed[FILE_MAX + 32];
	if (!corpus_present())
		skip();
	unsigned mismatches = 0;
	for (size_t i = 0; i < CASE_COUNT; i++) {
		const struct torture_case *c = &cases[i];
		size_t len = read_case(c->path, buf, sizeof(buf));
		mismatches += !check_case(c, buf, len, c->raw, "raw");
		if (c->fixup == FIX_CONTENT_LENGTH) {
			size_t fixed_len = fix_content_length(buf, len, fixed, sizeof(fixed));
			mismatches += !check_case(c, fixed, fixed_len, c->fixed, "fixed Content-Length");
		}
		exercise_prefixes(buf, len);
	}
	assert_int_equal(mismatches, 0);
}

static const struct sdp_stream *parse_fixed_media(const char *path, struct sip_msg *msg)
{
	static uint8_t buf[FILE_MAX], fixed[FILE_MAX + 32];
	size_t len = read_case(path, buf, sizeof(buf));
	size_t fixed_len = fix_content_length(buf, len, fixed, sizeof(fixed));
	assert_int_equal(sip_parse(fixed, fixed_len, msg), SIP_PARSE_OK);
	if (!msg->has_sdp)
		fail_msg("%s: no SDP (%s)", path, sdp_status_name(msg->sdp_status));
	return msg->sdp.media;
}

static void assert_addr(const struct netaddr *addr, const char *expected)
{
	char text[NETADDR_STRLEN];
	assert_string_equal(netaddr_format(addr, text, sizeof(text)), expected);
}

static void test_sdp_media_of_rfc5118(void **state)
{
	(void)state;
	struct sip_msg msg;
	if (!corpus_present())
		skip();

	const struct sdp_stream *m = parse_fixed_media("rfc5118/ipv6-in-sdp", &msg);
	assert_int_equal(msg.sdp.media_count, 2);
	assert_string_equal(m[0].type, "audio");
	assert_int_equal(m[0].rtp_port, 6000);
	assert_int_equal(m[0].rtcp_port, 6001);
	assert_int_equal(m[0].addr.family, NETADDR_IPV6);
	assert_addr(&m[0].addr, "2001:db8::20");
	assert_string_equal(m[1].type, "video");
	assert_int_equal(m[1].rtp_port, 6024);
	assert_addr(&m[1].addr, "2001:db8::20");

	m = parse_fixed_media("rfc5118/mult-ip-in-sdp", &msg);
	assert_int_equal(msg.sdp.media_count, 2);
	assert_int_equal(msg.sdp.session_addr.family, 0);
	assert_int_equal(m[0].rtp_port, 22334);
	assert_addr(&m[0].addr, "192.0.2.1");
	assert_int_equal(m[1].rtp_port, 6024);
	assert_addr(&m[1].addr, "2001:db8::1");

	m = parse_fixed_media("rfc5118/ipv4-mapped-ipv6", &msg);
	assert_int_equal(msg.sdp.media_count, 2);
	assert_int_equal(m[0].addr.family, NETADDR_IPV6);
	assert_addr(&m[0].addr, "::ffff:192.0.2.2");

	/* raw, the short Content-Length cuts the last a=rtpmap line: the body
	 * is what Content-Length says, and its m= and c= lines are all there */
	static uint8_t buf[FILE_MAX];
	size_t len = read_case("rfc5118/mult-ip-in-sdp", buf, sizeof(buf));
	assert_int_equal(sip_parse(buf, len, &msg), SIP_PARSE_OK);
	assert_true(msg.message_len < len);
	assert_true(msg.has_sdp);
	assert_int_equal(msg.sdp.media_count, 2);
	assert_addr(&msg.sdp.media[1].addr, "2001:db8::1");
}

static void test_sdp_media_of_rfc4475(void **state)
{
	(void)state;
	static uint8_t buf[FILE_MAX];
	struct sip_msg msg;
	if (!corpus_present())
		skip();

	/* mpart01: multipart/mixed of text/plain and application/octet-stream:
	 * no SDP part, so no media */
	size_t len = read_case("rfc4475/mpart01.dat", buf, sizeof(buf));
	assert_int_equal(sip_parse(buf, len, &msg), SIP_PARSE_OK);
	assert_int_equal(msg.method, SIP_MESSAGE);
	assert_false(msg.has_sdp);
	assert_int_equal(msg.sdp_status, SDP_OK);

	/* dblreq: only the first message (REGISTER, no body) counts */
	len = read_case("rfc4475/dblreq.dat", buf, sizeof(buf));
	assert_int_equal(sip_parse(buf, len, &msg), SIP_PARSE_OK);
	assert_int_equal(msg.method, SIP_REGISTER);
	assert_false(msg.has_sdp);
	assert_true(msg.message_len < len);

	/* wsinv: folded headers everywhere, SDP media still found */
	len = read_case("rfc4475/wsinv.dat", buf, sizeof(buf));
	assert_int_equal(sip_parse(buf, len, &msg), SIP_PARSE_OK);
	assert_int_equal(msg.cseq, 9);
	assert_true(msg.has_sdp);
	assert_int_equal(msg.sdp.media_count, 2);
	assert_int_equal(msg.sdp.media[0].rtp_port, 49217);
	assert_addr(&msg.sdp.media[0].addr, "192.0.2.4");

	/* noreason: a response; its method comes from CSeq */
	len = read_case("rfc4475/noreason.dat", buf, sizeof(buf));
	assert_int_equal(sip_parse(buf, len, &msg), SIP_PARSE_OK);
	assert_false(msg.is_request);
	assert_int_equal(msg.status, 100);
	assert_int_equal(msg.method, SIP_INVITE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_file_has_an_expectation),
		cmocka_unit_test(test_expected_outcomes),
		cmocka_unit_test(test_sdp_media_of_rfc5118),
		cmocka_unit_test(test_sdp_media_of_rfc4475),
	};
	return cmocka_run_group_tests_name("sip_torture", tests, NULL, NULL);
}
