/* test_rtsp_vectors.c - dpi/rtsp.c against the public RTSP corpus under
 * $SARA_CORPUS/rtsp-vectors (real camera replies, RTSP 2.0, Go fuzz inputs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <sys/stat.h>

#include "dpi/rtsp.h"

#define DEFAULT_CORPUS "../shared/corpus"
#define MAX_FILE (1u << 20)

static char vectors_dir[4096];

/* Resolves the corpus; false (after saying so) when it is not there. */
static bool corpus_present(void)
{
	const char *root = getenv("SARA_CORPUS");
	struct stat st;
	if (!root || !*root)
		root = DEFAULT_CORPUS;
	snprintf(vectors_dir, sizeof(vectors_dir), "%s/rtsp-vectors", root);
	if (stat(vectors_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		printf("skipped: corpus not found at %s\n", vectors_dir);
		return false;
	}
	return true;
}

/* Reads a whole file into a buffer of exactly its size, so that ASan sees
 * any read past the end of the "packet". */
static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	uint8_t *data = malloc(MAX_FILE);
	assert_non_null(data);
	*len = fread(data, 1, MAX_FILE, f);
	fclose(f);
	uint8_t *exact = malloc(*len ? *len : 1);
	assert_non_null(exact);
	memcpy(exact, data, *len);
	free(data);
	return exact;
}

/* Names of the regular files of a directory, sorted; NULL-terminated. */
static char **list_dir(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("cannot open directory %s", dir);
	size_t cap = 64, n = 0;
	char **names = calloc(cap + 1, sizeof(*names));
	assert_non_null(names);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap *= 2;
			names = realloc(names, (cap + 1) * sizeof(*names));
			assert_non_null(names);
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	names[n] = NULL;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	*count = n;
	return names;
}

static void free_list(char **names)
{
	for (size_t i = 0; names[i]; i++)
		free(names[i]);
	free(names);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void assert_addr(const struct netaddr *addr, const char *expected)
{
	char text[NETADDR_STRLEN];
	assert_string_equal(netaddr_format(addr, text, sizeof(text)), expected);
}

/* A message that parses must also frame to the same length, and every
 * strict prefix of it must be EMPTY or TRUNCATED, never a wrong OK. */
static void check_complete_message(const char *name, const uint8_t *data, size_t len,
				   const struct rtsp_msg *msg)
{
	struct rtsp_msg partial;
	size_t frame_len = 0;
	assert_int_equal(rtsp_frame(data, len, RTSP_MAX_MESSAGE, &frame_len), FRAME_MESSAGE);
	assert_int_equal(frame_len, msg->message_len);
	for (size_t cut = 0; cut < msg->message_len; cut++) {
		enum rtsp_status status = rtsp_parse(data, cut, &partial);
		if (status != (cut == 0 ? RTSP_ERR_EMPTY : RTSP_ERR_TRUNCATED))
			fail_msg("%s cut at %zu -> %s", name, cut, rtsp_status_name(status));
		enum frame_result fr = rtsp_frame(data, cut, RTSP_MAX_MESSAGE, &frame_len);
		if (fr != FRAME_NEED_MORE)
			fail_msg("%s cut at %zu framed as %d", name, cut, fr);
	}
}

/* ------------------------------------------------------ retina (RTSP/1.0) */

struct transport_expect {
	bool lower_tcp, interleaved;
	uint8_t channel[2];
	uint16_t client_port[2], server_port[2]; /* 0 = absent */
	const char *destination, *source;        /* "-" = absent */
};

struct file_expect {
	const char *name;
	enum rtsp_status status;
	unsigned code;          /* response status; 0 for a request */
	uint32_t cseq;
	const char *session;    /* NULL = no Session: */
	uint32_t timeout;
	bool has_transport;
	struct transport_expect transport;
	int sdp;                /* 1 body is SDP, 0 no body, -1 body but no Content-Type */
	bool seen;
};

#define TCP_CH(a, b) { true, true, { a, b }, { 0, 0 }, { 0, 0 }, "-", "-" }

/* Every retina file is measured to be complete: headers end with CRLFCRLF
 * and each body is exactly its Content-Length (describe replies). So each
 * RTSP file must parse as exactly one message of the file's size. The
 * *_sdp.txt files are bare SDP bodies that retina feeds its SDP parser: they
 * start "v=0", which no RTSP start line can, hence NOT_RTSP. */
static struct file_expect retina_expect[] = {
	{ "bunny_setup.txt", RTSP_OK, 200, 2, "1642021126", 60, true, TCP_CH(0, 1), 0, false },
	{ "dahua_setup.txt", RTSP_OK, 200, 4, "634214675641", 60, true, TCP_CH(0, 1), 0, false },
	{ "gw_main_setup_audio.txt", RTSP_OK, 200, 3, "9a90de54", 60, true,
	  { true, true, { 2, 3 }, { 0, 0 }, { 0, 0 }, "192.168.1.210", "192.168.1.110" }, 0, false },
	{ "gw_main_setup_video.txt", RTSP_OK, 200, 2, "9a90de54", 60, true,
	  { true, true, { 0, 1 }, { 0, 0 }, { 0, 0 }, "192.168.1.210", "192.168.1.110" }, 0, false },
	{ "gw_sub_setup.txt", RTSP_OK, 200, 2, "9b0d0e54", 60, true,
	  { true, true, { 0, 1 }, { 0, 0 }, { 0, 0 }, "192.168.1.210", "192.168.1.110" }, 0, false },
	{ "h264dvr_setup_audio.txt", RTSP_OK, 200, 5, "231980", 60, true,
	  { false, false, { 0, 0 }, { 18716, 18717 }, { 40006, 40007 }, "-", "127.0.0.1" }, 0, false },
	{ "h264dvr_setup_video.txt", RTSP_OK, 200, 4, "231970", 60, true,
	  { false, false, { 0, 0 }, { 18714, 18715 }, { 40004, 40005 }, "-", "127.0.0.1" }, 0, false },
	{ "hikvision_setup.txt", RTSP_OK, 200, 2, "708345999", 60, true, TCP_CH(0, 1), 0, false },
	{ "hikvision_setup_ssrc_space.txt", RTSP_OK, 200, 3, "708886412", 60, true, TCP_CH(0, 1), 0, false },
	{ "luckfox_rkipc_setup_tcp.txt", RTSP_OK, 200, 2, "12345678", 0, true, TCP_CH(0, 1), 0, false },
	{ "luckfox_rkipc_setup_udp.txt", RTSP_OK, 200, 2, "12345678", 0, true,
	  { false, false, { 0, 0 }, { 54060, 54061 }, { 49152, 49153 }, "-", "-" }, 0, false },
	{ "reolink_setup.txt", RTSP_OK, 200, 4, "F8F8E425", 0, true,
	  { true, true, { 0, 1 }, { 0, 0 }, { 0, 0 }, "192.168.1.210", "192.168.5.206" }, 0, false },
	{ "bunny_play.txt", RTSP_OK, 200, 3, "551045787", 60, false, { 0 }, 0, false },
	{ "dahua_play.txt", RTSP_OK, 200, 7, "634214684047", 0, false, { 0 }, 0, false },
	{ "gw_main_play.txt", RTSP_OK, 200, 4, "9a90de54", 120, false, { 0 }, 0, false },
	{ "h264dvr_play.txt", RTSP_OK, 200, 6, "231970", 0, false, { 0 }, 0, false },
	{ "hikvision_play.txt", RTSP_OK, 200, 3, "708345999", 0, false, { 0 }, 0, false },
	{ "reolink_play.txt", RTSP_OK, 200, 6, "F8F8E425", 0, false, { 0 }, 0, false },
	{ "longse_unauthorized.txt", RTSP_OK, 401, 1, NULL, 0, false, { 0 }, 0, false },
	{ "reolink_teardown.txt", RTSP_OK, 200, 7, NULL, 0, false, { 0 }, 0, false },
	{ "dahua_options.txt", RTSP_OK, 200, 5, "136527041864", 0, false, { 0 }, 0, false },
	{ "missing_content_type_describe.txt", RTSP_OK, 200, 1, "l0TtlUFSR", 0, false, { 0 }, -1, false },
	{ "hikvision_describe.txt", RTSP_OK, 200, 1, NULL, 0, false, { 0 }, 1, false },
	{ "anpviz_sdp.txt", RTSP_ERR_NOT_RTSP, 0, 0, NULL, 0, false, { 0 }, 0, false },
	{ "tplink_sdp.txt", RTSP_ERR_NOT_RTSP, 0, 0, NULL, 0, false, { 0 }, 0, false },
};

static struct file_expect *find_expect(struct file_expect *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

/* One readable line per transport, so a mismatch names the file and both
 * sides instead of one field. */
static void format_transport(bool lower_tcp, bool interleaved, const uint8_t channel[2],
			     const uint16_t client[2], const uint16_t server[2], const char *destination,
			     const char *source, char *buf, size_t size)
{
	snprintf(buf, size, "tcp=%d interleaved=%d ch=%u-%u client=%u-%u server=%u-%u dst=%s src=%s",
		 lower_tcp, interleaved, interleaved ? channel[0] : 0, interleaved ? channel[1] : 0,
		 client[0], client[1], server[0], server[1], destination, source);
}

static void check_transport(const char *name, const struct rtsp_transport *t,
			    const struct transport_expect *want)
{
	char got[256], expected[256], dst[NETADDR_STRLEN], src[NETADDR_STRLEN];
	uint16_t client[2] = { t->has_client_port ? t->client_port[0] : 0,
			       t->has_client_port ? t->client_port[1] : 0 };
	uint16_t server[2] = { t->has_server_port ? t->server_port[0] : 0,
			       t->has_server_port ? t->server_port[1] : 0 };
	format_transport(t->lower_tcp, t->interleaved, t->interleaved_channel, client, server,
			 netaddr_format(&t->destination, dst, sizeof(dst)),
			 netaddr_format(&t->source, src, sizeof(src)), got, sizeof(got));
	format_transport(want->lower_tcp, want->interleaved, want->channel, want->client_port,
			 want->server_port, want->destination, want->source, expected, sizeof(expected));
	if (strcmp(got, expected) != 0)
		fail_msg("%s: transport\n  got      %s\n  expected %s", name, got, expected);
	/* Ports that are present are never 0; every camera here plays unicast. */
	assert_false(t->has_client_port && t->client_port[0] == 0);
	assert_false(t->multicast);
	assert_false(t->record);
}

static void check_expect(const char *name, const struct rtsp_msg *msg, const struct file_expect *want)
{
	assert_int_equal(msg->is_request, want->code == 0);
	if (want->code)
		assert_int_equal(msg->status, want->code);
	assert_true(msg->has_cseq);
	assert_int_equal(msg->cseq, want->cseq);
	if (want->session) {
		assert_string_equal(msg->session_id, want->session);
		assert_int_equal(msg->session_timeout_s, want->timeout);
	} else {
		assert_int_equal(msg->session_id_len, 0);
	}
	if (want->has_transport) {
		assert_int_equal(msg->transport_count, 1);
		check_transport(name, &msg->transports[0], &want->transport);
	} else {
		assert_int_equal(msg->transport_count, 0);
	}
	if (want->sdp == 1)
		assert_true(msg->body_is_sdp && msg->body_len > 0);
	if (want->sdp == -1)
		assert_true(!msg->body_is_sdp && msg->body_len > 0);
}

static void test_retina_client(void **state)
{
	(void)state;
	if (!corpus_present())
		skip();
	char dir[4200], path[8400];
	snprintf(dir, sizeof(dir), "%s/retina-client-testdata", vectors_dir);
	size_t count, n_expect = sizeof(retina_expect) / sizeof(retina_expect[0]);
	char **names = list_dir(dir, &count);
	unsigned ok = 0, not_rtsp = 0;

	for (size_t i = 0; names[i]; i++) {
		size_t len;
		struct rtsp_msg msg;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		uint8_t *data = read_file(path, &len);
		enum rtsp_status status = rtsp_parse(data, len, &msg);
		struct file_expect *want = find_expect(retina_expect, n_expect, names[i]);
		enum rtsp_status expected = ends_with(names[i], "_sdp.txt") ? RTSP_ERR_NOT_RTSP : RTSP_OK;
		if (want)
			expected = want->status;
		if (status != expected)
			fail_msg("%s -> %s, expected %s", names[i], rtsp_status_name(status),
				 rtsp_status_name(expected));
		if (status == RTSP_OK) {
			ok++;
			assert_false(msg.is_request);
			assert_int_equal(msg.message_len, len);
			assert_int_equal(msg.version, 10);
			/* Every describe reply carries its SDP (missing type aside). */
			if (strstr(names[i], "describe") && strcmp(names[i], "missing_content_type_describe.txt"))
				assert_true(msg.body_is_sdp);
			check_complete_message(names[i], data, len, &msg);
		} else {
			not_rtsp++;
		}
		if (want) {
			want->seen = true;
			if (status == RTSP_OK)
				check_expect(names[i], &msg, want);
		}
		free(data);
	}
	for (size_t i = 0; i < n_expect; i++)
		if (!retina_expect[i].seen)
			fail_msg("corpus file %s missing", retina_expect[i].name);
	printf("retina-client-testdata: %zu files, %u ok, %u bare SDP (not_rtsp)\n", count, ok, not_rtsp);
	free_list(names);
}

static void test_retina_rtsp(void **state)
{
	(void)state;
	if (!corpus_present())
		skip();
	char path[4200];
	size_t len;
	struct rtsp_msg msg;

	snprintf(path, sizeof(path), "%s/retina-rtsp-testdata/request.txt", vectors_dir);
	uint8_t *data = read_file(path, &len);
	assert_int_equal(rtsp_parse(data, len, &msg), RTSP_OK);
	assert_true(msg.is_request);
	assert_int_equal(msg.method, RTSP_DESCRIBE);
	assert_int_equal(msg.cseq, 1);
	assert_int_equal(msg.message_len, len);
	check_complete_message("request.txt", data, len, &msg);
	free(data);

	snprintf(path, sizeof(path), "%s/retina-rtsp-testdata/response.txt", vectors_dir);
	data = read_file(path, &len);
	assert_int_equal(rtsp_parse(data, len, &msg), RTSP_OK);
	assert_int_equal(msg.status, 200);
	assert_true(msg.body_is_sdp);
	assert_int_equal(msg.body_len, 589);
	assert_int_equal(msg.message_len, len);
	check_complete_message("response.txt", data, len, &msg);
	free(data);
}

/* ------------------------------------------------- rtsp-types (RTSP/2.0) */

static uint8_t *read_vector(const char *sub, const char *name, size_t *len)
{
	char path[8400];
	snprintf(path, sizeof(path), "%s/%s/%s", vectors_dir, sub, name);
	return read_file(path, len);
}

/* SOURCES.md: CRLFs restored and the DESCRIBE body equals its
 * Content-Length (345), so all five are complete messages. */
static void test_rtsp_types(void **state)
{
	(void)state;
	if (!corpus_present())
		skip();
	static const char sub[] = "rtsp-types-fuzz-corpus";
	size_t len;
	struct rtsp_msg msg;
	uint8_t *data;

	data = read_vector(sub, "options_req", &len);
	assert_int_equal(rtsp_parse(data, len, &msg), RTSP_OK);
	assert_true(msg.is_request);
	assert_int_equal(msg.method, RTSP_OPTIONS);
	assert_int_equal(msg.version, 20);
	assert_int_equal(msg.cseq, 1);
	check_complete_message("options_req", data, len, &msg);
	free(data);

	data = read_vector(sub, "setup_req", &len);
	assert_int_equal(rtsp_parse(data, len, &msg), RTSP_OK);
	assert_int_equal(msg.method, RTSP_SETUP);
	assert_int_equal(msg.version, 20);
	assert_int_equal(msg.cseq, 302);
	assert_int_equal(msg.transport_count, 2);
	/* dest_addr=:4588/:4589: ports only, the address is the sender's. */
	assert_false(msg.transports[0].lower_tcp);
	assert_true(msg.transports[0].has_client_port);
	assert_int_equal(msg.transports[0].client_port[0], 4588);
	assert_int_equal(msg.transports[0].client_port[1], 4589);
	assert_int_equal(msg.transports[0].destination.family, 0);
	assert_true(msg.transports[1].lower_tcp);
	assert_true(msg.transports[1].interleaved);
	assert_int_equal(msg.transports[1].interleaved_channel[0], 0);
	assert_int_equal(msg.transports[1].interleaved_channel[1], 1);
	check_complete_message("setup_req", data, len, &msg);
	free(data);

	data = read_vector(sub, "setup_resp", &len);
	assert_int_equal(rtsp_parse(data, len, &msg), RTSP_OK);
	assert_int_equal(msg.status, 200);
	assert_int_equal(msg.version, 20);
	assert_string_equal(msg.session_id, "QKyjN8nt2WqbWw4tIYof52");
	assert_int_equal(msg.session_timeout_s, 60);
	assert_int_equal(msg.transport_count, 1);
	const struct rtsp_transport *t = &msg.transports[0];
	assert_addr(&t->destination, "192.0.2.53");
	assert_int_equal(t->client_port[0], 4588);
	assert_int_equal(t->client_port[1], 4589);
	assert_addr(&t->source, "198.51.100.241");
	assert_int_equal(t->server_port[0], 6256);
	assert_int_equal(t->server_port[1], 6257);
	assert_false(t->multicast);
	check_complete_message("setup_resp", data, len, &msg);
	free(data);

	data = read_vector(sub, "play_resp", &len);
	assert_int_equal(rtsp_parse(data, len, &msg), RTSP_OK);
	assert_string_equal(msg.session_id, "ULExwZCXh2pd0xuFgkgZJW");
	assert_int_equal(msg.cseq, 836);
	check_complete_message("play_resp", data, len, &msg);
	free(data);

	data = read_vector(sub, "describe_res", &len);
	assert_int_equal(rtsp_parse(data, len, &msg), RTSP_OK);
	assert_true(msg.body_is_sdp);
	assert_int_equal(msg.body_len, 345);
	assert_int_equal(msg.message_len, len);
	check_complete_message("describe_res", data, len, &msg);
	free(data);
}

/* ------------------------------------------------------- gortsplib (Go) */

static int hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static size_t put_utf8(uint32_t cp, uint8_t *out)
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes one Go literal at *p ("..." with escapes, or `raw`) into out;
 * returns the decoded length, or -1 when malformed. */
static long decode_go_literal(const uint8_t **cursor, const uint8_t *end, uint8_t *out, size_t cap)
{
	const uint8_t *p = *cursor;
	size_t n = 0;
	if (p >= end)
		return -1;
	if (*p == '`') {
		const uint8_t *close = memchr(p + 1, '`', (size_t)(end - p - 1));
		if (!close || (size_t)(close - p - 1) > cap)
			return -1;
		memcpy(out, p + 1, (size_t)(close - p - 1));
		*cursor = close + 1;
		return close - p - 1;
	}
	if (*p++ != '"')
		return -1;
	while (p < end && *p != '"') {
		if (n + 4 > cap)
			return -1;
		if (*p != '\\') {
			out[n++] = *p++;
			continue;
		}
		if (++p >= end)
			return -1;
		uint8_t e = *p++;
		switch (e) {
		case 'a': out[n++] = '\a'; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'v': out[n++] = '\v'; break;
		case '\\': case '\'': case '"': out[n++] = e; break;
		case 'x': {
			if (end - p < 2 || hex_value(p[0]) < 0 || hex_value(p[1]) < 0)
				return -1;
			out[n++] = (uint8_t)(hex_value(p[0]) << 4 | hex_value(p[1]));
			p += 2;
			break;
		}
		case 'u': case 'U': {
			int digits = e == 'u' ? 4 : 8;
			uint32_t cp = 0;
			if (end - p < digits)
				return -1;
			for (int i = 0; i < digits; i++) {
				if (hex_value(p[i]) < 0)
					return -1;
				cp = cp << 4 | (uint32_t)hex_value(p[i]);
			}
			if (cp > 0x10ffff)
				return -1;
			p += digits;
			n += put_utf8(cp, out + n);
			break;
		}
		default:
			/* \NNN: three octal digits, a byte. */
			if (e < '0' || e > '7' || end - p < 2 || p[0] < '0' || p[0] > '7' || p[1] < '0' ||
			    p[1] > '7')
				return -1;
			out[n++] = (uint8_t)((e - '0') << 6 | (p[0] - '0') << 3 | (p[1] - '0'));
			p += 2;
			break;
		}
	}
	if (p >= end)
		return -1;
	*cursor = p + 1;
	return (long)n;
}

static void test_go_decoder(void **state)
{
	(void)state;
	static const char literal[] = "\"a\\r\\n\\t\\\"\\\\\\x00\\xff\\101\\u00e9\"";
	const uint8_t *p = (const uint8_t *)literal;
	uint8_t out[64];
	long n = decode_go_literal(&p, p + sizeof(literal) - 1, out, sizeof(out));
	assert_int_equal(n, 11);
	assert_memory_equal(out, "a\r\n\t\"\\\x00\xff" "A\xc3\xa9", 11);
	p = (const uint8_t *)"`raw\\n`";
	assert_int_equal(decode_go_literal(&p, p + 7, out, sizeof(out)), 5);
	assert_memory_equal(out, "raw\\n", 5);
	p = (const uint8_t *)"\"unterminated";
	assert_int_equal(decode_go_literal(&p, p + 13, out, sizeof(out)), -1);
}

/* Wraps a header-level fuzz input as a value of `header` in a SETUP. */
static enum rtsp_status parse_wrapped(const char *header, const uint8_t *value, size_t value_len)
{
	static uint8_t message[8192];
	struct rtsp_msg msg;
	int head = snprintf((char *)message, sizeof(message),
			    "SETUP rtsp://a/b RTSP/1.0\r\nCSeq: 1\r\n%s: ", header);
	assert_true(head > 0 && (size_t)head + value_len + 4 <= sizeof(message));
	memcpy(message + head, value, value_len);
	memcpy(message + head + value_len, "\r\n\r\n", 4);
	return rtsp_parse(message, (size_t)head + value_len + 4, &msg);
}

static unsigned gortsplib_outcomes[RTSP_STATUS_COUNT];

/* One decoded input: never a crash (ASan/UBSan runs check that), always a
 * status in range, and an OK consistent with the framer. */
static void feed_input(const char *folder, const uint8_t *input, size_t len)
{
	struct rtsp_msg msg;
	size_t frame_len = 0;
	/* An exact-size heap copy so that overreads are caught. */
	uint8_t *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, input, len);

	enum rtsp_status status = rtsp_parse(copy, len, &msg);
	assert_true((unsigned)status < RTSP_STATUS_COUNT);
	gortsplib_outcomes[status]++;
	enum frame_result fr = rtsp_frame(copy, len, RTSP_MAX_MESSAGE, &frame_len);
	assert_true(fr <= FRAME_INVALID);
	if (fr == FRAME_MESSAGE || fr == FRAME_SKIP)
		assert_true(frame_len > 0 && frame_len <= len);
	if (status == RTSP_OK) {
		assert_true(msg.message_len <= len);
		assert_int_equal(fr, FRAME_MESSAGE);
		assert_int_equal(frame_len, msg.message_len);
	}
	/* These folders hold request/response regressions: all of them are
	 * malformed or incomplete messages, none may pass as OK. */
	if (strstr(folder, "RequestUnmarshal") || strstr(folder, "ResponseUnmarshal"))
		assert_int_not_equal(status, RTSP_OK);

	/* Header-value fuzz inputs also go where our parser meets them. */
	if (strstr(folder, "Transports"))
		assert_true((unsigned)parse_wrapped("Transport", copy, len) < RTSP_STATUS_COUNT);
	if (strstr(folder, "SessionUnmarshal"))
		assert_true((unsigned)parse_wrapped("Session", copy, len) < RTSP_STATUS_COUNT);
	if (strstr(folder, "headers__"))
		assert_true((unsigned)parse_wrapped("Content-Length", copy, len) < RTSP_STATUS_COUNT);
	free(copy);
}

static void test_gortsplib_fuzz(void **state)
{
	(void)state;
	if (!corpus_present())
		skip();
	char dir[4200], sub[8400], path[12800];
	static uint8_t decoded[MAX_FILE];
	size_t n_folders, inputs = 0, files = 0;
	snprintf(dir, sizeof(dir), "%s/gortsplib-fuzz", vectors_dir);
	char **folders = list_dir(dir, &n_folders);
	memset(gortsplib_outcomes, 0, sizeof(gortsplib_outcomes));

	for (size_t f = 0; folders[f]; f++) {
		size_t n_files, len;
		snprintf(sub, sizeof(sub), "%s/%s", dir, folders[f]);
		char **names = list_dir(sub, &n_files);
		for (size_t i = 0; names[i]; i++) {
			snprintf(path, sizeof(path), "%s/%s", sub, names[i]);
			uint8_t *data = read_file(path, &len);
			const uint8_t *p = data, *end = data + len;
			static const char header[] = "go test fuzz v1\n";
			if (len < sizeof(header) - 1 || memcmp(data, header, sizeof(header) - 1) != 0)
				fail_msg("%s: not a Go fuzz corpus file", path);
			p += sizeof(header) - 1;
			files++;
			/* One value per line: []byte("..."), string("..."), int(3)... */
			while (p < end) {
				const uint8_t *eol = memchr(p, '\n', (size_t)(end - p));
				const uint8_t *line_end = eol ? eol : end;
				const uint8_t *open = memchr(p, '(', (size_t)(line_end - p));
				if (open && open + 1 < line_end && (open[1] == '"' || open[1] == '`')) {
					const uint8_t *lit = open + 1;
					long n = decode_go_literal(&lit, line_end, decoded, sizeof(decoded));
					if (n < 0)
						fail_msg("%s: bad Go literal", path);
					feed_input(folders[f], decoded, (size_t)n);
					inputs++;
				}
				p = eol ? eol + 1 : end;
			}
			free(data);
		}
		free_list(names);
	}
	free_list(folders);
	assert_true(files > 0 && inputs >= files);
	printf("gortsplib-fuzz: %zu files, %zu inputs:", files, inputs);
	for (unsigned s = 0; s < RTSP_STATUS_COUNT; s++)
		if (gortsplib_outcomes[s])
			printf(" %s=%u", rtsp_status_name((enum rtsp_status)s), gortsplib_outcomes[s]);
	printf("\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_go_decoder),
		cmocka_unit_test(test_retina_client),
		cmocka_unit_test(test_retina_rtsp),
		cmocka_unit_test(test_rtsp_types),
		cmocka_unit_test(test_gortsplib_fuzz),
	};
	return cmocka_run_group_tests_name("rtsp_vectors", tests, NULL, NULL);
}
