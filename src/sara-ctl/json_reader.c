/* json_reader.c - the bounded JSON walk over sarad's replies
 * (json_reader.h). */
#include "sara-ctl/json_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *json_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* The position after the closing quote of the string starting at p. */
static const char *json_string_end(const char *p, const char *end)
{
	if (p >= end || *p != '"')
		return NULL;
	for (p++; p < end; p++) {
		if (*p == '\\') {
			p++;
			continue;
		}
		if (*p == '"')
			return p + 1;
	}
	return NULL;
}

static const char *json_value(struct json_walk *w, const char *p, unsigned depth);

/* An object's key: appended to the path; returns the position of its value. */
static const char *json_key(struct json_walk *w, const char *p, size_t base)
{
	const char *key_end = json_string_end(p, w->end);
	if (!key_end)
		return NULL;
	snprintf(w->path + base, sizeof(w->path) - base, "%s%.*s", base ? "." : "", (int)(key_end - p - 2), p + 1);
	p = json_space(key_end, w->end);
	if (p >= w->end || *p != ':')
		return NULL;
	return json_space(p + 1, w->end);
}

static const char *json_members(struct json_walk *w, const char *p, unsigned depth, bool array)
{
	size_t base = strlen(w->path);
	unsigned index = 0;
	p = json_space(p + 1, w->end);
	if (p < w->end && *p == (array ? ']' : '}'))
		return p + 1;
	while (p < w->end) {
		if (array)
			snprintf(w->path + base, sizeof(w->path) - base, "[%u]", index++);
		else if (!(p = json_key(w, p, base)))
			return NULL;
		p = json_value(w, p, depth + 1);
		w->path[base] = '\0';
		if (!p)
			return NULL;
		p = json_space(p, w->end);
		if (p < w->end && *p == ',') {
			p = json_space(p + 1, w->end);
			continue;
		}
		if (p < w->end && *p == (array ? ']' : '}'))
			return p + 1;
		return NULL;
	}
	return NULL;
}

/* The position after the value at p, or NULL when malformed. */
static const char *json_value(struct json_walk *w, const char *p, unsigned depth)
{
	const char *start = p, *q;
	if (depth > JSON_DEPTH_MAX || p >= w->end)
		return NULL;
	if (*p == '{' || *p == '[')
		return json_members(w, p, depth, *p == '[');
	if (*p == '"') {
		q = json_string_end(p, w->end);
		if (q)
			w->scalar(w, start + 1, (size_t)(q - 1 - (start + 1)), true);
		return q;
	}
	for (q = p; q < w->end && !strchr(",]} \t\r\n", *q); q++)
		;
	if (q == p)
		return NULL;
	w->scalar(w, start, (size_t)(q - start), false);
	return q;
}

bool json_walk_document(const char *doc, size_t len, json_scalar_fn scalar, void *ctx)
{
	struct json_walk w;
	const char *p;
	memset(&w, 0, sizeof(w));
	w.end = doc + len;
	w.scalar = scalar;
	w.ctx = ctx;
	p = json_space(doc, w.end);
	if (p >= w.end || *p != '{')
		return false;
	p = json_value(&w, p, 0);
	return p && json_space(p, w.end) == w.end;
}

void json_text(const char *p, size_t len, char *out, size_t size)
{
	static const char escapes[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	size_t used = 0;
	if (size == 0)
		return;
	for (size_t i = 0; i < len && used + 1 < size; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\\' && i + 1 < len) {
			const char *e;
			i++;
			if (p[i] == 'u' && i + 4 < len) {
				char hex[5] = { p[i + 1], p[i + 2], p[i + 3], p[i + 4], '\0' };
				unsigned long code = strtoul(hex, NULL, 16);
				c = code < 0x100 ? (unsigned char)code : '?';
				i += 4;
			} else {
				for (e = escapes; *e && *e != p[i]; e += 2)
					;
				c = *e ? (unsigned char)e[1] : (unsigned char)p[i];
			}
		}
		out[used++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[used] = '\0';
}
