/* counter_log.c - sarad's counters as log lines (counter_log.h), one group
 * of the status document after another, through status_counters_walk. */
#include "sarad/counter_log.h"

#include <stdio.h>

#include "io/log.h"
#include "io/status_counters.h"

#define SUMMARY_LINE 900   /* a line is flushed once it passes this length */

/* Counters gathered into lines of "event=counters when=W group=G name=value ...". */
struct summary {
	struct log_event line;
	bool has_counters;        /* line holds a counter to say */
	const char *when;
	char group[64];
};

static void summary_start(struct summary *s)
{
	log_event_begin(&s->line, "counters");
	log_event_str(&s->line, "when", s->when);
	log_event_str(&s->line, "group", s->group);
	s->has_counters = false;
}

static void summary_flush(struct summary *s)
{
	if (s->has_counters)
		log_event_emit(&s->line, LOG_INFO);
	summary_start(s);
}

/* The status document's group label as one word: "verdicts accept" is
 * group=verdicts_accept, "queue 0" group=queue_0. */
static void summary_group(void *ctx, const char *label)
{
	struct summary *s = ctx;
	if (s->has_counters)
		log_event_emit(&s->line, LOG_INFO);
	snprintf(s->group, sizeof(s->group), "%s", label);
	for (char *c = s->group; *c; c++)
		if (*c == ' ')
			*c = '_';
	summary_start(s);
}

static void summary_add(void *ctx, const struct counter_def *def, uint64_t value)
{
	struct summary *s = ctx;
	if (s->line.len > SUMMARY_LINE)
		summary_flush(s);
	log_event_u64(&s->line, def->name, value);
	s->has_counters = true;
}

void counter_log_write(const struct control_view *v, const char *when)
{
	struct summary s = { .when = when };
	struct status_visitor visitor = { summary_group, summary_add, COUNTERS_REPORTED, &s };
	uint64_t now = v->now_ms ? v->now_ms() : v->started_ms;
	struct log_event e;

	log_event_begin(&e, "counters");
	log_event_str(&e, "when", when);
	log_event_u64(&e, "uptime_s", (now - v->started_ms) / 1000u);
	log_event_emit(&e, LOG_INFO);
	summary_start(&s);
	status_counters_walk(v, &visitor);
	if (s.has_counters)
		log_event_emit(&s.line, LOG_INFO);
}
