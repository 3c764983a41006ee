/* json_reader.h - a minimal, bounded JSON walk for sarad's replies: every
 * string, number and literal is handed over with its path (objects as
 * dotted paths, arrays as [i]); nothing is allocated. */
#ifndef SARA_CTL_JSON_READER_H
#define SARA_CTL_JSON_READER_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_DEPTH_MAX 32
#define JSON_PATH_MAX 512   /* longer paths are cut */

struct json_walk;
/* text is a string's inside, still escaped, when string is true; a
 * number or literal (true, false, null) as written otherwise. */
typedef void (*json_scalar_fn)(struct json_walk *w, const char *text, size_t len, bool string);

struct json_walk {
	const char *end;
	char path[JSON_PATH_MAX];   /* "agents.servers[0].id" */
	json_scalar_fn scalar;
	void *ctx;
};

/* Walks doc[0..len), which must be one object and nothing after it but
 * blanks, nested at most JSON_DEPTH_MAX deep. false when malformed
 * (scalar may have been called for what came before). */
bool json_walk_document(const char *doc, size_t len, json_scalar_fn scalar, void *ctx);

/* The elements of the array that is member's value in the document's
 * top-level object, each handed over as the text it was written as
 * (elem[0..len): an object, array or scalar, blanks around it left out).
 * false when doc is malformed, as json_walk_document, or member is not an
 * array (fn may have been called for the elements before the fault). */
typedef void (*json_element_fn)(void *ctx, const char *elem, size_t len);
bool json_array_elements(const char *doc, size_t len, const char *member, json_element_fn fn, void *ctx);

/* For a terminal: a string's inside with its escapes undone (\u00XX is the
 * byte XX, as sarad writes bytes outside printable ASCII), then every byte
 * outside printable ASCII shown as '?'. Cut to fit size (NUL included). */
void json_text(const char *p, size_t len, char *out, size_t size);

#endif
