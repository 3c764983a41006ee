/* metrics_text.c - the Prometheus text format into a bounded buffer
 * (metrics_text.h). */
#include "io/metrics_text.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void metrics_text_reset(struct metrics_text *t)
{
	t->len = 0;
	t->failed = false;
	if (t->text)
		t->text[0] = '\0';
}

void metrics_text_free(struct metrics_text *t)
{
	free(t->text);
	memset(t, 0, sizeof(*t));
}

void metrics_text_raw(struct metrics_text *t, const char *s, size_t n)
{
	if (t->failed)
		return;
	if (t->cap - t->len <= n) {
		size_t cap = t->cap ? t->cap : 16384;
		char *fresh;
		while (cap - t->len <= n)
			cap *= 2;
		if (cap > METRICS_TEXT_MAX || !(fresh = realloc(t->text, cap))) {
			t->failed = true;
			return;
		}
		t->text = fresh;
		t->cap = cap;
	}
	memcpy(t->text + t->len, s, n);
	t->len += n;
	t->text[t->len] = '\0';
}

static void text_str(struct metrics_text *t, const char *s)
{
	metrics_text_raw(t, s, strlen(s));
}

/* s with backslash and line feed escaped, and double quote too in a label
 * value (quote true); runs of plain bytes are copied at once. */
static void text_escaped(struct metrics_text *t, const char *s, bool quote)
{
	const char *run = s;
	for (; *s; s++) {
		const char *esc = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : quote && *s == '"' ? "\\\"" : NULL;
		if (!esc)
			continue;
		metrics_text_raw(t, run, (size_t)(s - run));
		metrics_text_raw(t, esc, 2);
		run = s + 1;
	}
	metrics_text_raw(t, run, (size_t)(s - run));
}

void metrics_family(struct metrics_text *t, const char *name, enum metric_type type, const char *help)
{
	text_str(t, "# HELP ");
	text_str(t, name);
	text_str(t, " ");
	text_escaped(t, help ? help : "", false);
	text_str(t, "\n# TYPE ");
	text_str(t, name);
	text_str(t, type == METRIC_COUNTER ? " counter\n" : " gauge\n");
}

static void sample_head(struct metrics_text *t, const char *name, const struct metric_label *labels,
			unsigned label_count)
{
	text_str(t, name);
	if (label_count == 0) {
		text_str(t, " ");
		return;
	}
	text_str(t, "{");
	for (unsigned i = 0; i < label_count; i++) {
		if (i)
			text_str(t, ",");
		text_str(t, labels[i].name);
		text_str(t, "=\"");
		text_escaped(t, labels[i].value ? labels[i].value : "", true);
		text_str(t, "\"");
	}
	text_str(t, "} ");
}

void metrics_sample_u64(struct metrics_text *t, const char *name, const struct metric_label *labels,
			unsigned label_count, uint64_t value)
{
	char number[32];
	sample_head(t, name, labels, label_count);
	snprintf(number, sizeof(number), "%" PRIu64 "\n", value);
	text_str(t, number);
}

void metrics_sample_real(struct metrics_text *t, const char *name, const struct metric_label *labels,
			 unsigned label_count, double value)
{
	char number[48];
	sample_head(t, name, labels, label_count);
	if (isnan(value))
		snprintf(number, sizeof(number), "NaN\n");
	else if (isinf(value))
		snprintf(number, sizeof(number), "%cInf\n", value > 0 ? '+' : '-');
	else if (value == floor(value) && fabs(value) < 9007199254740992.0) /* 2^53: integers exactly */
		snprintf(number, sizeof(number), "%.0f\n", value);
	else
		snprintf(number, sizeof(number), "%.9g\n", value);
	text_str(t, number);
}

/* Milliseconds as seconds with their three decimals, exactly. */
static void sample_ms_as_seconds(struct metrics_text *t, const char *name, const struct metric_label *labels,
				 unsigned label_count, uint64_t ms)
{
	char number[40];
	sample_head(t, name, labels, label_count);
	snprintf(number, sizeof(number), "%" PRIu64 ".%03u\n", ms / 1000u, (unsigned)(ms % 1000u));
	text_str(t, number);
}

static bool in_milliseconds(const struct counter_def *def)
{
	size_t n = strlen(def->name);
	return n > 3 && strcmp(def->name + n - 3, "_ms") == 0;
}

bool metrics_counter_name(const char *prefix, const struct counter_def *def, char *out, size_t size)
{
	size_t base = strlen(def->name) - (in_milliseconds(def) ? 3 : 0);
	int n = snprintf(out, size, "%s%.*s%s%s", prefix, (int)base, def->name, in_milliseconds(def) ? "_seconds" : "",
			 def->kind == COUNTER_KIND_GAUGE ? "" : "_total");
	return n > 0 && (size_t)n < size;
}

void metrics_counter_family(struct metrics_text *t, const char *prefix, const struct counter_def *def,
			    const struct metrics_series *series, unsigned series_count)
{
	enum counter_id id = counter_id_of(def);
	char name[METRICS_NAME_MAX];
	if (!metrics_counter_name(prefix, def, name, sizeof(name))) {
		t->failed = true;
		return;
	}
	metrics_family(t, name, def->kind == COUNTER_KIND_GAUGE ? METRIC_GAUGE : METRIC_COUNTER, def->help);
	for (unsigned i = 0; i < series_count; i++) {
		const struct metrics_series *s = &series[i];
		uint64_t n = counter_get(s->set, id);
		if (in_milliseconds(def))
			sample_ms_as_seconds(t, name, s->labels, s->label_count, n);
		else
			metrics_sample_u64(t, name, s->labels, s->label_count, n);
	}
}

struct family_visit {
	struct metrics_text *t;
	const char *prefix;
	const struct metrics_series *series;
	unsigned series_count;
};

static void family_of_counter(void *ctx, const struct counter_def *def, uint64_t value)
{
	struct family_visit *v = ctx;
	(void)value;
	metrics_counter_family(v->t, v->prefix, def, v->series, v->series_count);
}

void metrics_counters(struct metrics_text *t, const char *prefix, enum counter_scope scope,
		      const struct metrics_series *series, unsigned series_count)
{
	static const struct counter_set empty;
	struct family_visit v = { t, prefix, series, series_count };
	/* The table, not a series, decides which counters there are. */
	counters_visit(&empty, scope, COUNTERS_ALL, family_of_counter, &v);
}

struct label_visit {
	struct metrics_text *t;
	const char *name, *label_name;
	const struct metrics_series *series;
};

static void sample_of_counter(void *ctx, const struct counter_def *def, uint64_t value)
{
	struct label_visit *v = ctx;
	struct metric_label labels[METRICS_LABELS_MAX];
	unsigned n = v->series->label_count;
	if (n >= METRICS_LABELS_MAX) {
		v->t->failed = true;
		return;
	}
	if (n)
		memcpy(labels, v->series->labels, n * sizeof(labels[0]));
	labels[n].name = v->label_name;
	labels[n].value = def->name;
	metrics_sample_u64(v->t, v->name, labels, n + 1, value);
}

void metrics_counters_by_label(struct metrics_text *t, const char *name, const char *label_name,
			       enum counter_scope scope, const struct metrics_series *series)
{
	struct label_visit v = { t, name, label_name, series };
	counters_visit(series->set, scope, COUNTERS_ALL, sample_of_counter, &v);
}
