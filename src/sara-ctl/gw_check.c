/* gw_check.c - sara-ctl gw-check: one GET /metrics to this gateway's
 * sara-gw, judged on the page's age (gw_check.h). */
#include "sara-ctl/gw_check.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dpi/span.h"
#include "io/clock.h"
#include "io/fd_io.h"
#include "io/sockaddr.h"
#include "sara-ctl/ctl.h"

#define GW_CHECK_PAGE_MAX (1024 * 1024)  /* sara-gw's page is a few KB */

/* The value of the sample line "NAME VALUE" in body; false when absent or
 * not a number. */
static bool sample_value(struct span body, const char *name, double *value)
{
	size_t pos = 0, name_len = strlen(name);
	struct span line;
	while (span_next_line((const uint8_t *)body.ptr, body.len, &pos, &line)) {
		char number[48], *end;
		if (line.len <= name_len || memcmp(line.ptr, name, name_len) != 0 || line.ptr[name_len] != ' ')
			continue;
		line = span_trim(span_make(line.ptr + name_len + 1, line.len - name_len - 1));
		if (line.len == 0 || line.len >= sizeof(number))
			return false;
		memcpy(number, line.ptr, line.len);
		number[line.len] = '\0';
		*value = strtod(number, &end);
		return *end == '\0' && isfinite(*value);
	}
	return false;
}

bool gw_check_answer(const char *text, size_t len, unsigned max_age_ms, char *why, size_t why_size)
{
	static const char head_end[] = "\r\n\r\n";
	const char *body = memmem(text, len, head_end, sizeof(head_end) - 1);
	uint32_t status = 0;
	double age_s;

	/* "HTTP/1.x NNN ..." */
	if (len < 12 || memcmp(text, "HTTP/1.", 7) != 0 || text[8] != ' ' ||
	    !span_to_u32(span_make(text + 9, 3), 999, &status)) {
		snprintf(why, why_size, "not an HTTP answer");
		return false;
	}
	if (status != 200) {
		snprintf(why, why_size, "HTTP status %u", (unsigned)status);
		return false;
	}
	if (!body) {
		snprintf(why, why_size, "an HTTP answer without its end of header");
		return false;
	}
	body += sizeof(head_end) - 1;
	if (!sample_value(span_make(body, (size_t)(text + len - body)), GW_CHECK_AGE_METRIC, &age_s)) {
		snprintf(why, why_size, "no %s on the page: not sara-gw's", GW_CHECK_AGE_METRIC);
		return false;
	}
	if (age_s * 1000.0 > (double)max_age_ms) {
		snprintf(why, why_size, "its event loop published no snapshot for %.1f s", age_s);
		return false;
	}
	snprintf(why, why_size, "snapshot %.1f s old", age_s);
	return true;
}

/* One HTTP/1.0 GET /metrics at at: the whole answer into buf, its length
 * into *len (the server closes after it). False with why set. */
static bool fetch_page(const struct endpoint *at, char *buf, size_t size, size_t *len, char *why, size_t why_size)
{
	static const char request[] = "GET /metrics HTTP/1.0\r\nHost: sara-gw\r\n\r\n";
	uint64_t deadline = clock_ms(CLOCK_MONOTONIC) + GW_CHECK_TIMEOUT_MS;
	struct sockaddr_storage ss;
	socklen_t ss_len = (socklen_t)endpoint_to_sockaddr(at, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	bool ok = false;

	*len = 0;
	if (fd < 0) {
		snprintf(why, why_size, "socket: %s", strerror(errno));
		return false;
	}
	if (!fd_connect_until(fd, (struct sockaddr *)&ss, ss_len, deadline)) {
		if (errno == ETIMEDOUT)
			snprintf(why, why_size, "no connection within %d ms", GW_CHECK_TIMEOUT_MS);
		else
			snprintf(why, why_size, "connect: %s", strerror(errno));
		goto out;
	}
	/* a few dozen bytes: the fresh socket's buffer takes them at once */
	if (send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(request) - 1)) {
		snprintf(why, why_size, "send: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t n;
		if (*len == size) {
			snprintf(why, why_size, "an answer longer than %zu bytes", size);
			goto out;
		}
		n = recv(fd, buf + *len, size - *len, 0);
		if (n > 0) {
			*len += (size_t)n;
		} else if (n == 0) {
			break;
		} else if (errno == EAGAIN || errno == EINTR) {
			if (!fd_wait_until(fd, POLLIN, deadline)) {
				snprintf(why, why_size, "no whole answer within %d ms", GW_CHECK_TIMEOUT_MS);
				goto out;
			}
		} else {
			snprintf(why, why_size, "recv: %s", strerror(errno));
			goto out;
		}
	}
	ok = true;
out:
	close(fd);
	return ok;
}

int gw_check_run(const struct sara_config *cfg)
{
	static char page[GW_CHECK_PAGE_MAX];
	struct endpoint at = cfg->gateway.metrics;
	char where[ENDPOINT_STRLEN], why[160];
	size_t len;

	if (!at.addr.family) {
		fprintf(stderr, "%s: %s: gateway.metrics is not set: no sara-gw endpoint to check\n", CTL_PROGRAM,
			cfg->path);
		return EXIT_USAGE;
	}
	/* a wildcard binds every address of this host: ask its loopback */
	if (netaddr_is_unspecified(&at.addr)) {
		if (at.addr.family == NETADDR_IPV4)
			at.addr.bytes[0] = 127, at.addr.bytes[3] = 1;
		else
			at.addr.bytes[15] = 1;
	}
	endpoint_format(&at, where, sizeof(where));
	if (!fetch_page(&at, page, sizeof(page), &len, why, sizeof(why)) ||
	    !gw_check_answer(page, len, GW_CHECK_STALE_MS, why, sizeof(why))) {
		fprintf(stderr, "%s: sara-gw at %s is not alive: %s\n", CTL_PROGRAM, where, why);
		return EXIT_FAILED;
	}
	printf("sara-gw at %s is alive: %s\n", where, why);
	return fflush(stdout) == 0 ? 0 : EXIT_FAILED;
}
