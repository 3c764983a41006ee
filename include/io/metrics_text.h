/* metrics_text.h - the Prometheus text exposition format (version 0.0.4)
 * written into a bounded buffer: families (HELP, TYPE), their samples with
 * escaped label values, and the counter table's scopes as families. */
#ifndef SARA_METRICS_TEXT_H
#define SARA_METRICS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/counters.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_TEXT_MAX (16u << 20)   /* a page never grows past this */
#define METRICS_NAME_MAX 128           /* a metric name, with its prefix and suffix */
#define METRICS_LABELS_MAX 8           /* labels on one sample */

enum metric_type { METRIC_COUNTER, METRIC_GAUGE };

struct metric_label {
	const char *name;    /* [a-zA-Z_][a-zA-Z0-9_]*, the caller's constant */
	const char *value;   /* any bytes; escaped on output */
};

/* A page being written. Zeroed is empty; failed once it would pass
 * METRICS_TEXT_MAX or memory ran out (then it writes nothing more). */
struct metrics_text {
	char *text;          /* NUL-terminated */
	size_t len, cap;
	bool failed;
};

/* Empties t and keeps its buffer. */
void metrics_text_reset(struct metrics_text *t);
void metrics_text_free(struct metrics_text *t);
/* Appends raw bytes (already in the format). */
void metrics_text_raw(struct metrics_text *t, const char *s, size_t n);

/* "# HELP name help" (backslash and line feed escaped) and "# TYPE name
 * counter|gauge". A counter's name ends in _total. */
void metrics_family(struct metrics_text *t, const char *name, enum metric_type type, const char *help);
/* "name{a="x",b="y"} value": label values with backslash, double quote
 * and line feed escaped; no braces without labels. */
void metrics_sample_u64(struct metrics_text *t, const char *name, const struct metric_label *labels,
			unsigned label_count, uint64_t value);
/* A real value: NaN, +Inf and -Inf as the format spells them. */
void metrics_sample_real(struct metrics_text *t, const char *name, const struct metric_label *labels,
			 unsigned label_count, double value);

/* One counter set and the labels its samples carry. */
struct metrics_series {
	const struct counter_set *set;
	const struct metric_label *labels;
	unsigned label_count;
};

/* The metric name a counter gets under prefix: prefix + name, "_ms" read
 * as "_seconds" (the base unit), and "_total" after a counter's. Returns
 * false when it would not fit in size. */
bool metrics_counter_name(const char *prefix, const struct counter_def *def, char *out, size_t size);

/* def's family under prefix, named by metrics_counter_name, with the
 * table's help and one sample per series (milliseconds as seconds). */
void metrics_counter_family(struct metrics_text *t, const char *prefix, const struct counter_def *def,
			    const struct metrics_series *series, unsigned series_count);
/* One family per counter of scope, in table order, named by
 * metrics_counter_name, with the table's help and one sample per series
 * (every counter, zeros too: a series must not come and go). Milliseconds
 * are written as seconds. */
void metrics_counters(struct metrics_text *t, const char *prefix, enum counter_scope scope,
		      const struct metrics_series *series, unsigned series_count);

/* The samples, not the family, of every counter of scope as one labelled
 * family: name{series' labels, label_name="counter's name"} value. The
 * caller writes the family line first (verdicts by action and reason,
 * rejects by reason). */
void metrics_counters_by_label(struct metrics_text *t, const char *name, const char *label_name,
			       enum counter_scope scope, const struct metrics_series *series);

#endif
