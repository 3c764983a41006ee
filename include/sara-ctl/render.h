/* render.h - sarad's replies for a person or a script: raw JSON with
 * --json, else the status as "path: value" lines and servers and sessions
 * as aligned tables, with a summary after. An error reply or a reply that
 * is not the JSON object expected is reported on err. */
#ifndef SARA_CTL_RENDER_H
#define SARA_CTL_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Each returns 0, or EXIT_FAILED when the reply is an error or malformed.
 * doc[0..len) is one reply (len > 0). */
int render_status(const char *doc, size_t len, bool json, FILE *out, FILE *err);
int render_servers(const char *doc, size_t len, bool json, FILE *out, FILE *err);
/* server: the --server asked for, or NULL. */
int render_sessions(const char *doc, size_t len, bool json, const char *server, FILE *out, FILE *err);
int render_drain(const char *doc, size_t len, bool json, const char *server, FILE *out, FILE *err);

#endif
