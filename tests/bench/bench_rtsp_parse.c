/* bench_rtsp_parse.c - rtsp_parse throughput on a typical SETUP request and
 * reply, against the floor cost of a memchr scan for CRLFCRLF. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dpi/rtsp.h"

#include "bench_common.h"

#define DEFAULT_ITERATIONS 500000

static const char setup_request[] =
	"SETUP rtsp://192.0.2.10:554/Streaming/Channels/101/trackID=1 RTSP/1.0\r\n"
	"CSeq: 3\r\n"
	"Authorization: Digest username=\"admin\", realm=\"IP Camera\", nonce=\"4a9b3c\", "
	"uri=\"rtsp://192.0.2.10:554/Streaming/Channels/101\", response=\"5f1e0c2d\"\r\n"
	"User-Agent: LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)\r\n"
	"Transport: RTP/AVP;unicast;client_port=51372-51373\r\n"
	"\r\n";

static const char setup_reply[] =
	"RTSP/1.0 200 OK\r\n"
	"CSeq: 3\r\n"
	"Session: 708345999;timeout=60\r\n"
	"Transport: RTP/AVP;unicast;client_port=51372-51373;server_port=8206-8207;"
	"source=192.0.2.10;ssrc=4cacc3d1;mode=\"play\"\r\n"
	"Date: Wed, May 05 2021 21:51:17 GMT\r\n"
	"\r\n";

/* The floor: find the end of the header section with memchr, touching the
 * same bytes the parser must touch, and nothing else. */
static size_t scan_head_end(const uint8_t *p, size_t len)
{
	const uint8_t *cursor = p, *end = p + len, *newline;
	while ((newline = memchr(cursor, '\n', (size_t)(end - cursor)))) {
		if (end - newline >= 3 && newline[1] == '\r' && newline[2] == '\n')
			return (size_t)(newline + 3 - p);
		cursor = newline + 1;
	}
	return 0;
}

/* Keeps the compiler from discarding work whose result we do not use. */
static volatile size_t sink;

static double bench_parse(const uint8_t *msg, size_t len, long iterations)
{
	struct rtsp_msg out;
	double start = now_seconds();
	for (long i = 0; i < iterations; i++) {
		if (rtsp_parse(msg, len, &out) != RTSP_OK) {
			fprintf(stderr, "bench message does not parse\n");
			exit(1);
		}
		sink += out.message_len;
	}
	return now_seconds() - start;
}

static double bench_scan(const uint8_t *msg, size_t len, long iterations)
{
	double start = now_seconds();
	for (long i = 0; i < iterations; i++) {
		/* Defeat hoisting: the compiler cannot know msg is unchanged. */
		__asm__ volatile("" : : "r"(msg) : "memory");
		sink += scan_head_end(msg, len);
	}
	return now_seconds() - start;
}

static void report(const char *name, const char *text, long iterations)
{
	const uint8_t *msg = (const uint8_t *)text;
	size_t len = strlen(text);
	bench_parse(msg, len, iterations / 10); /* warm caches and branch predictors */
	double parse_s = bench_parse(msg, len, iterations);
	double scan_s = bench_scan(msg, len, iterations);
	printf("rtsp_parse %s: %.0f msg/s (%zu bytes, %.1f ns/msg)\n", name, iterations / parse_s, len,
	       parse_s * 1e9 / iterations);
	printf("memchr CRLFCRLF %s: %.0f msg/s (%.1f ns/msg), parse/scan ratio %.1fx\n", name,
	       iterations / scan_s, scan_s * 1e9 / iterations, parse_s / scan_s);
}

int main(int argc, char **argv)
{
	long iterations = argc > 1 ? strtol(argv[1], NULL, 10) : DEFAULT_ITERATIONS;
	if (iterations <= 0)
		iterations = DEFAULT_ITERATIONS;
	report("setup", setup_request, iterations);
	report("setup reply", setup_reply, iterations);
	return 0;
}
