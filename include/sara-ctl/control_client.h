/* control_client.h - sara-ctl's side of sarad's control socket: one
 * request line out, the whole answer back, bounded in size and time. */
#ifndef SARA_CTL_CONTROL_CLIENT_H
#define SARA_CTL_CONTROL_CLIENT_H

#include <stddef.h>

#include "engine/config.h"

#define CONTROL_CLIENT_TIMEOUT_MS 10000       /* sarad's whole answer to one request */
#define CONTROL_CLIENT_REPLY_MAX (4u << 20)   /* a reply but a listing (sarad caps at 4 MiB) */
#define CONTROL_CLIENT_LISTING_MAX (32u << 20) /* a session listing (sarad caps at 32 MiB) */
#define CONTROL_CLIENT_REQUEST_MAX 256        /* one line (sarad reads up to 255 bytes) */

/* Connects to cfg's control socket, sends request (one line ending in
 * '\n'), reads the answer to EOF (at most max bytes) into *doc_out
 * (malloc'd, NUL-terminated, *len_out > 0). Returns 0, or EXIT_FAILED /
 * EXIT_USAGE after saying why on stderr. */
int control_client_ask(const struct sara_config *cfg, const char *request, size_t max, char **doc_out,
		       size_t *len_out);

#endif
