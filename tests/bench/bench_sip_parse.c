/* bench_sip_parse.c - sip_parse throughput on a typical INVITE with SDP,
 * against bare libosip2 (osip_message_parse + sdp_message_parse) as baseline. */

#include <osipparser2/osip_parser.h>
#include <osipparser2/sdp_message.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dpi/parser_library.h"
#include "dpi/sip.h"

#include "bench_common.h"

#define DEFAULT_ITERATIONS 200000

static const char invite_sdp[] =
	"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK776asdhds;rport\r\n"
	"Max-Forwards: 70\r\n"
	"To: Bob <sip:bob@biloxi.example.com>\r\n"
	"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
	"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
	"CSeq: 314159 INVITE\r\n"
	"Contact: <sip:alice@198.51.100.1:5060>\r\n"
	"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, PRACK\r\n"
	"Supported: replaces, timer\r\n"
	"User-Agent: bench/1.0\r\n"
	"Content-Type: application/sdp\r\n"
	"Content-Length: 268\r\n"
	"\r\n"
	"v=0\r\n"
	"o=alice 2890844526 2890844526 IN IP4 198.51.100.1\r\n"
	"s=-\r\n"
	"c=IN IP4 198.51.100.1\r\n"
	"t=0 0\r\n"
	"m=audio 49170 RTP/AVP 0 8 101\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-15\r\n"
	"a=ptime:20\r\n"
	"a=sendrecv\r\n"
	"m=video 51372 RTP/AVP 31\r\n";

/* Keeps the compiler from discarding work whose result we do not use. */
static volatile size_t sink;

static double bench_sip_parse(const uint8_t *msg, size_t len, long iterations)
{
	struct sip_msg out;
	double start = now_seconds();
	for (long i = 0; i < iterations; i++) {
		if (sip_parse(msg, len, &out) != SIP_PARSE_OK || !out.has_sdp) {
			fprintf(stderr, "bench message does not parse\n");
			exit(1);
		}
		sink += out.sdp.media[0].rtp_port;
	}
	return now_seconds() - start;
}

/* What sip_parse would cost with no pre-checks and no mapping: libosip2 on
 * the NUL-terminated message, then on its body. */
static double bench_libosip2(const char *text, size_t len, long iterations)
{
	double start = now_seconds();
	for (long i = 0; i < iterations; i++) {
		osip_message_t *msg = NULL;
		sdp_message_t *sdp = NULL;
		osip_body_t *body = NULL;
		if (osip_message_init(&msg) != 0 || osip_message_parse(msg, text, len) != 0 ||
		    osip_message_get_body(msg, 0, &body) < 0 || !body || sdp_message_init(&sdp) != 0 ||
		    sdp_message_parse(sdp, body->body) != 0) {
			fprintf(stderr, "libosip2 refuses the bench message\n");
			exit(1);
		}
		sink += strlen(sdp_message_m_port_get(sdp, 0));
		sdp_message_free(sdp);
		osip_message_free(msg);
	}
	return now_seconds() - start;
}

int main(int argc, char **argv)
{
	long iterations = argc > 1 ? strtol(argv[1], NULL, 10) : DEFAULT_ITERATIONS;
	if (iterations <= 0)
		iterations = DEFAULT_ITERATIONS;
	const uint8_t *msg = (const uint8_t *)invite_sdp;
	size_t len = strlen(invite_sdp);

	parser_library_init();
	bench_sip_parse(msg, len, iterations / 10); /* warm caches and allocator */
	bench_libosip2(invite_sdp, len, iterations / 10);
	double ours = bench_sip_parse(msg, len, iterations);
	double base = bench_libosip2(invite_sdp, len, iterations);
	printf("sip_parse invite+sdp: %.0f msg/s (%zu bytes, %.0f ns/msg; %.2fx libosip2 baseline: %.0f msg/s)\n",
	       iterations / ours, len, ours * 1e9 / iterations, base / ours, iterations / base);
	return 0;
}
