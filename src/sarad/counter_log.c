/* counter_log.c - sarad's counters as log lines (counter_log.h), one group
 * of the status document after another, through status_counters_walk. */
#include "sarad/counter_log.h"

#include <stdio.h>

#include "io/log.h"
#include "io/status_counters.h"

#define SUMMARY_LINE 900   /* a line is flushed once it passes this length */

/* Counters gathered into lines of "PREFIX: name value, name value...". */
struct summary {
	char line[SUMMARY_LINE + 128];
	size_t len;
	char prefix[64];
};

static void summary_flush(struct summary *s)
{
	if (s->len)
		log_msg(LOG_INFO, "%s: %s", s->prefix, s->line);
	s->len = 0;
	s->line[0] = '\0';
}

static void summary_group(void *ctx, const char *label)
{
	struct summary *s = ctx;
	summary_flush(s);
	snprintf(s->prefix, sizeof(s->prefix), "%s", label);
}

static void summary_add(void *ctx, const struct counter_def *def, uint64_t value)
{
	struct summary *s = ctx;
	int n;
	if (s->len > SUMMARY_LINE)
		summary_flush(s);
	n = snprintf(s->line + s->len, sizeof(s->line) - s->len, "%s%s %llu", s->len ? ", " : "", def->name,
		     (unsigned long long)value);
	if (n > 0)
		s->len += (size_t)n < sizeof(s->line) - s->len ? (size_t)n : sizeof(s->line) - s->len - 1;
}

void counter_log_write(const struct control_view *v, const char *when)
{
	struct summary s = { .len = 0 };
	struct status_visitor visitor = { summary_group, summary_add, COUNTERS_REPORTED, &s };
	uint64_t now = v->now_ms ? v->now_ms() : v->started_ms;

	log_msg(LOG_INFO, "counters (%s), uptime %llu s", when, (unsigned long long)((now - v->started_ms) / 1000u));
	status_counters_walk(v, &visitor);
	summary_flush(&s);
}
