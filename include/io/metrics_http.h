/* metrics_http.h - GET /metrics over HTTP through libmicrohttpd, served
 * by the library's own thread: the owner's loop publishes a snapshot now
 * and then, and each scrape is answered from the latest one, rendered in
 * the server's thread. A scraper never runs code in the owner's loop and
 * the loop never waits on a scraper. */
#ifndef SARA_METRICS_HTTP_H
#define SARA_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpi/netaddr.h"
#include "io/metrics_text.h"

#define METRICS_SNAPSHOT_MS 1000        /* how often owners publish: values are this old at most */
#define METRICS_HTTP_CONNECTIONS 8      /* connections open at once; more wait in the backlog */
#define METRICS_HTTP_PER_CLIENT 4       /* of those, from one address */
#define METRICS_HTTP_TIMEOUT_S 5        /* an idle or stalled connection is closed after this */

/* Writes the page of one snapshot (the owner's layout) into out. */
typedef void (*metrics_render_fn)(const void *snapshot, struct metrics_text *out);

struct metrics_http;

/* Binds listen (a port in use fails here: err is "ADDR:PORT: cannot bind:
 * REASON", for the caller to say which setting named it) and starts
 * the server's thread; prefix names the server's own counters
 * (PREFIX_metrics_scrapes_total...). Scrapes get 503 until the first
 * publish. Call it after the signals are blocked: the thread inherits the
 * mask. NULL with err set on failure. */
struct metrics_http *metrics_http_start(const struct endpoint *listen, const char *prefix, size_t snapshot_size,
					metrics_render_fn render, char *err, size_t err_size);
/* From the owner's thread: copies snapshot (snapshot_size bytes) for the
 * next scrapes. When a scrape is copying the last one at this moment it
 * returns false at once, having copied nothing: publish again later. */
bool metrics_http_publish(struct metrics_http *m, const void *snapshot);
/* Stops the thread, closes every connection and the socket. NULL: nothing. */
void metrics_http_stop(struct metrics_http *m);

struct metrics_http_stats {
	uint64_t scrapes;             /* pages served */
	uint64_t not_found;           /* requests for another path, or another method */
	uint64_t failures;            /* pages that could not be rendered (too large, no memory) */
	uint64_t publishes, skipped;  /* snapshots taken in, and given up because a scrape held the last */
};
void metrics_http_get_stats(const struct metrics_http *m, struct metrics_http_stats *out);

#endif
