/* counter_log.c - sarad's counters as log lines (counter_log.h). */
#include "sarad/counter_log.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "io/log.h"

#define SUMMARY_LINE 900   /* a line is flushed once it passes this length */

/* Counters gathered into lines of "PREFIX: name value, name value...". */
struct summary {
	char line[SUMMARY_LINE + 128];
	size_t len;
	const char *prefix;
};

static void summary_flush(struct summary *s)
{
	if (s->len)
		log_msg(LOG_INFO, "%s: %s", s->prefix, s->line);
	s->len = 0;
	s->line[0] = '\0';
}

static void summary_add(void *ctx, const char *name, uint64_t value)
{
	struct summary *s = ctx;
	int n;
	if (s->len > SUMMARY_LINE)
		summary_flush(s);
	n = snprintf(s->line + s->len, sizeof(s->line) - s->len, "%s%s %llu", s->len ? ", " : "", name,
		     (unsigned long long)value);
	if (n > 0)
		s->len += (size_t)n < sizeof(s->line) - s->len ? (size_t)n : sizeof(s->line) - s->len - 1;
}

static void log_engine(struct summary *s, const struct control_view *v)
{
	struct engine_stats st;
	s->prefix = "engine";
	if (v->engine_lock)
		pthread_mutex_lock(v->engine_lock);
	engine_get_stats(v->engine, &st);
	summary_add(s, "packets", st.packets);
	summary_add(s, "flows_created", st.flows_created);
	summary_add(s, "flows_in_use", st.flows_in_use);
	summary_add(s, "sessions_created", st.sessions_created);
	summary_add(s, "sessions_in_use", st.sessions_in_use);
	summary_add(s, "sessions_ended", st.sessions_ended);
	summary_add(s, "sessions_expired", st.sessions_expired);
	summary_add(s, "predictions_made", st.predictions_made);
	summary_add(s, "predictions_hit", st.predictions_hit);
	engine_foreach_counter(v->engine, summary_add, s);
	if (v->engine_lock)
		pthread_mutex_unlock(v->engine_lock);
	summary_flush(s);
}

static void log_verdicts(struct summary *s, const struct verdict_counts *vc)
{
	for (unsigned a = 0; a < 2; a++) {
		s->prefix = a == VERDICT_ACCEPT ? "verdicts accept" : "verdicts drop";
		for (unsigned r = 0; r < VERDICT_REASONS; r++) {
			uint64_t n = __atomic_load_n(&vc->by_action_reason[a][r], __ATOMIC_RELAXED);
			if (n)
				summary_add(s, verdict_reason_name((enum verdict_reason)r), n);
		}
		if (a == VERDICT_ACCEPT) {
			summary_add(s, "unmarked", __atomic_load_n(&vc->accepted_unmarked, __ATOMIC_RELAXED));
			summary_add(s, "connmarks_set", __atomic_load_n(&vc->connmarks_set, __ATOMIC_RELAXED));
		}
		summary_flush(s);
	}
}

static void log_queues(struct summary *s, const struct control_view *v)
{
	char prefix[64];
	for (unsigned i = 0; i < v->queue_count; i++) {
		struct nfqueue_stats q;
		struct kernel_queue_stats k;
		nfqueue_get_stats(v->queues[i], &q);
		control_kernel_queue_stats(v->queue_nums[i], &k);
		snprintf(prefix, sizeof(prefix), "queue %u", v->queue_nums[i]);
		s->prefix = prefix;
		summary_add(s, "received", q.received);
		summary_add(s, "batches", q.batches);
		summary_add(s, "verdicts", q.verdicts);
		summary_add(s, "verdict_errors", q.verdict_errors);
		summary_add(s, "enobufs", q.enobufs);
		if (k.found) {
			summary_add(s, "kernel_dropped", k.dropped);
			summary_add(s, "kernel_user_dropped", k.user_dropped);
		}
		summary_flush(s);
	}
}

static void log_listeners(struct summary *s, const struct control_view *v)
{
	if (v->announcements) {
		struct announce_listener_stats a;
		announce_listener_get_stats(v->announcements, &a);
		s->prefix = "announcements";
		summary_add(s, "received", a.received);
		summary_add(s, "accepted", a.accepted);
		summary_add(s, "rejected", a.rejected);
		announce_listener_foreach_reject(v->announcements, summary_add, s);
		summary_flush(s);
	}
	if (v->agents) {
		struct agent_listener_stats a;
		agent_listener_get_stats(v->agents, &a);
		s->prefix = "agents";
		summary_add(s, "received", a.received);
		summary_add(s, "heartbeats", a.heartbeats);
		summary_add(s, "loads", a.loads);
		summary_add(s, "rejected", a.rejected);
		agent_listener_foreach_reject(v->agents, summary_add, s);
		summary_flush(s);
		s->prefix = "server health";
		if (v->health)
			server_health_foreach_counter(v->health, summary_add, s);
		summary_flush(s);
	}
}

void counter_log_write(const struct control_view *v, const char *when)
{
	struct summary s = { .prefix = "engine" };
	uint64_t now = v->now_ms ? v->now_ms() : v->started_ms;

	log_msg(LOG_INFO, "counters (%s), uptime %llu s", when, (unsigned long long)((now - v->started_ms) / 1000u));
	log_engine(&s, v);
	if (v->verdicts)
		log_verdicts(&s, v->verdicts);
	log_queues(&s, v);
	log_listeners(&s, v);
	if (v->ct) {
		struct ct_marks_stats c;
		ct_marks_get_stats(v->ct, &c);
		s.prefix = "conntrack";
		summary_add(&s, "updates", c.updates);
		summary_add(&s, "missing", c.missing);
		summary_add(&s, "errors", c.errors);
		summary_add(&s, "queries", c.queries);
		summary_flush(&s);
	}
	s.prefix = "daemon";
	if (v->foreach_daemon_counter)
		v->foreach_daemon_counter(v->daemon_ctx, summary_add, &s);
	summary_flush(&s);
}
