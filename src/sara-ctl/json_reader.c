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

static void json_ignore(struct json_walk *w, const char *text, size_t len, bool string)
{
	(void)w;
	(void)text;
	(void)len;
	(void)string;
}

/* member's array at p (after its key): each element to fn; the position
 * after the array, or NULL. */
static const char *json_elements(struct json_walk *w, const char *p, json_element_fn fn, void *ctx)
{
	if (p >= w->end || *p != '[')
		return NULL;
	p = json_space(p + 1, w->end);
	if (p < w->end && *p == ']')
		return p + 1;
	while (p < w->end) {
		const char *after = json_value(w, p, 2);
		if (!after)
			return NULL;
		fn(ctx, p, (size_t)(after - p));
		p = json_space(after, w->end);
		if (p < w->end && *p == ',') {
			p = json_space(p + 1, w->end);
			continue;
		}
		return p < w->end && *p == ']' ? p + 1 : NULL;
	}
	return NULL;
}

bool json_array_elements(const char *doc, size_t len, const char *member, json_element_fn fn, void *ctx)
{
	struct json_walk w;
	size_t member_len = strlen(member);
	bool found = false;
	const char *p;
	memset(&w, 0, sizeof(w));
	w.end = doc + len;
	w.scalar = json_ignore;
	p = json_space(doc, w.end);
	if (p >= w.end || *p != '{')
		return false;
	p = json_space(p + 1, w.end);
	if (p < w.end && *p == '}')
		return false;
	while (p < w.end) {
		const char *key = p + 1, *value = json_key(&w, p, 0);
		if (!value)
			return false;
		if (!found && (size_t)(w.end - key) > member_len && memcmp(key, member, member_len) == 0 &&
		    key[member_len] == '"') {
			found = true;
			p = json_elements(&w, value, fn, ctx);
		} else {
			p = json_value(&w, value, 1);
		}
		if (!p)
			return false;
		p = json_space(p, w.end);
		if (p < w.end && *p == ',') {
			p = json_space(p + 1, w.end);
			continue;
		}
		return found && p < w.end && *p == '}' && json_space(p + 1, w.end) == w.end;
	}
	return false;
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
