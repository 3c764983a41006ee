/* render.h - sarad's replies for a person or a script: raw JSON with
 * --json, one JSON object a line with --json-lines (each server, session
 * or refusal), else the status as "path: value" lines, servers, sessions,
 * a session's flows and refusals as aligned tables, with a summary after.
 * An error reply or a reply that is not the JSON object expected is
 * reported on err. */
#ifndef SARA_CTL_RENDER_H
#define SARA_CTL_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum render_format {
	RENDER_TEXT = 0,
	RENDER_JSON,          /* the reply as sarad wrote it */
	RENDER_JSON_LINES,    /* each element of the reply's list on a line of its own */
};

/* Each returns 0, or EXIT_FAILED when the reply is an error or malformed
 * (render_session_detail also when no session has the key). doc[0..len)
 * is one reply (len > 0). */
int render_status(const char *doc, size_t len, enum render_format format, FILE *out, FILE *err);
int render_servers(const char *doc, size_t len, enum render_format format, FILE *out, FILE *err);
/* server, client: the --server and --client asked for, or NULL. */
int render_sessions(const char *doc, size_t len, enum render_format format, const char *server, const char *client,
		    FILE *out, FILE *err);
/* sessions --key: each session with that key, its server and why, its flows. */
int render_session_detail(const char *doc, size_t len, enum render_format format, FILE *out, FILE *err);
int render_refused(const char *doc, size_t len, enum render_format format, FILE *out, FILE *err);
int render_drain(const char *doc, size_t len, enum render_format format, const char *server, FILE *out, FILE *err);

#endif
