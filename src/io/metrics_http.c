/* metrics_http.c - GET /metrics on libmicrohttpd's own thread
 * (metrics_http.h). The owner's snapshot is copied in under a lock the
 * owner only tries; the server's thread copies it out, renders it once,
 * and answers every scrape from that page until the next snapshot. */
#include "io/metrics_http.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "io/clock.h"
#include "io/log.h"
#include "io/sockaddr.h"

#define LISTEN_BACKLOG 16
#define PREFIX_MAX 32

struct metrics_http {
	struct MHD_Daemon *daemon;
	metrics_render_fn render;
	size_t size;
	char prefix[PREFIX_MAX];

	pthread_mutex_t lock;         /* published, generation, published_ms */
	void *published;
	uint64_t generation;          /* 0: nothing published yet */
	uint64_t published_ms;

	/* The server's thread only (MHD runs every callback on it). */
	void *copy;
	uint64_t rendered;            /* the generation page was rendered from */
	uint64_t copied_ms;
	struct metrics_text page, own;

	uint64_t scrapes, not_found, failures, publishes, skipped; /* __atomic */
};

static uint64_t now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

static void count(uint64_t *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static uint64_t read_count(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

bool metrics_http_publish(struct metrics_http *m, const void *snapshot)
{
	if (pthread_mutex_trylock(&m->lock) != 0) {
		count(&m->skipped);
		return false;
	}
	memcpy(m->published, snapshot, m->size);
	m->generation++;
	m->published_ms = now_ms();
	pthread_mutex_unlock(&m->lock);
	count(&m->publishes);
	return true;
}

/* The page of the latest snapshot, rendered again only when a newer one
 * was published; false before the first. */
static bool refresh_page(struct metrics_http *m)
{
	uint64_t generation;
	pthread_mutex_lock(&m->lock);
	generation = m->generation;
	if (generation != m->rendered) {
		memcpy(m->copy, m->published, m->size);
		m->copied_ms = m->published_ms;
	}
	pthread_mutex_unlock(&m->lock);
	if (generation == 0)
		return false;
	if (generation != m->rendered) {
		metrics_text_reset(&m->page);
		m->render(m->copy, &m->page);
		m->rendered = generation;
	}
	return true;
}

/* The server's own counters, after the page: they change with each scrape. */
static void own_counters(struct metrics_http *m)
{
	char name[METRICS_NAME_MAX];
	metrics_text_reset(&m->own);
	snprintf(name, sizeof(name), "%s_metrics_scrapes_total", m->prefix);
	metrics_family(&m->own, name, METRIC_COUNTER, "metrics pages served");
	metrics_sample_u64(&m->own, name, NULL, 0, read_count(&m->scrapes));
	snprintf(name, sizeof(name), "%s_metrics_snapshots_skipped_total", m->prefix);
	metrics_family(&m->own, name, METRIC_COUNTER,
		       "snapshots the loop did not hand over because a scrape was copying the last one");
	metrics_sample_u64(&m->own, name, NULL, 0, read_count(&m->skipped));
	snprintf(name, sizeof(name), "%s_metrics_snapshot_age_seconds", m->prefix);
	metrics_family(&m->own, name, METRIC_GAUGE, "how old the values on this page are");
	metrics_sample_real(&m->own, name, NULL, 0, (double)(now_ms() - m->copied_ms) / 1000.0);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, char *body,
			     size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result rc;
	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	return reply(c, status, "text/plain; charset=utf-8", (char *)text, strlen(text), MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result serve_page(struct metrics_http *m, struct MHD_Connection *c)
{
	char *body;
	if (!refresh_page(m))
		return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no snapshot yet\n");
	count(&m->scrapes);
	own_counters(m);
	if (m->page.failed || m->own.failed || !(body = malloc(m->page.len + m->own.len + 1))) {
		count(&m->failures);
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics page unavailable\n");
	}
	memcpy(body, m->page.text, m->page.len);
	memcpy(body + m->page.len, m->own.text, m->own.len);
	return reply(c, MHD_HTTP_OK, METRICS_CONTENT_TYPE, body, m->page.len + m->own.len, MHD_RESPMEM_MUST_FREE);
}

/* Called once with the headers (answered then for GET and HEAD, which
 * carry no body), and again per piece of a body another method sends. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **req_cls)
{
	struct metrics_http *m = cls;
	static int seen;
	(void)version;
	(void)upload_data;
	if (*req_cls == NULL) {
		*req_cls = &seen;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* a body is read and dropped */
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		count(&m->not_found);
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or HEAD /metrics\n");
	}
	if (strcmp(url, "/metrics") != 0) {
		count(&m->not_found);
		return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n");
	}
	return serve_page(m, c);
}

static void on_library_message(void *cls, const char *fmt, va_list ap)
{
	char line[256];
	size_t n;
	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_msg(LOG_WARNING, "metrics: %s", line);
}

/* The listening socket is ours, so that a port in use is told by name. */
static int bind_listener(const struct endpoint *at, char *err, size_t err_size)
{
	struct sockaddr_storage ss;
	unsigned len = endpoint_to_sockaddr(at, &ss);
	char where[ENDPOINT_STRLEN];
	int fd, one = 1;

	endpoint_format(at, where, sizeof(where));
	if (len == 0) {
		snprintf(err, err_size, "%s: not an IPv4 or IPv6 endpoint", where);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, err_size, "%s: socket: %s", where, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&ss, len) < 0) {
		snprintf(err, err_size, "%s: cannot bind: %s", where, strerror(errno));
		close(fd);
		return -1;
	}
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		snprintf(err, err_size, "%s: listen: %s", where, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct metrics_http *metrics_http_start(const struct endpoint *listen_at, const char *prefix, size_t snapshot_size,
					metrics_render_fn render, char *err, size_t err_size)
{
	struct metrics_http *m = calloc(1, sizeof(*m));
	int fd = -1;

	if (!m || !(m->published = calloc(1, snapshot_size)) || !(m->copy = calloc(1, snapshot_size))) {
		snprintf(err, err_size, "metrics: out of memory");
		goto fail;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->render = render;
	m->size = snapshot_size;
	snprintf(m->prefix, sizeof(m->prefix), "%s", prefix);
	fd = bind_listener(listen_at, err, err_size);
	if (fd < 0)
		goto fail_lock;
	m->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL,
				     NULL, on_request, m, MHD_OPTION_EXTERNAL_LOGGER, on_library_message, NULL,
				     MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_HTTP_CONNECTIONS,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)METRICS_HTTP_PER_CLIENT,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_HTTP_TIMEOUT_S, MHD_OPTION_END);
	if (!m->daemon) {
		snprintf(err, err_size, "metrics: the HTTP server (libmicrohttpd) did not start");
		close(fd);
		goto fail_lock;
	}
	return m;
fail_lock:
	pthread_mutex_destroy(&m->lock);
fail:
	if (m) {
		free(m->published);
		free(m->copy);
		free(m);
	}
	return NULL;
}

void metrics_http_stop(struct metrics_http *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->daemon); /* joins the thread; closes the connections and the socket */
	pthread_mutex_destroy(&m->lock);
	metrics_text_free(&m->page);
	metrics_text_free(&m->own);
	free(m->published);
	free(m->copy);
	free(m);
}

void metrics_http_get_stats(const struct metrics_http *m, struct metrics_http_stats *out)
{
	out->scrapes = read_count(&m->scrapes);
	out->not_found = read_count(&m->not_found);
	out->failures = read_count(&m->failures);
	out->publishes = read_count(&m->publishes);
	out->skipped = read_count(&m->skipped);
}
