/* agent_metrics.c - sara-agent's metrics page (agent_metrics.h). */
#include "sara-agent/agent_metrics.h"

static void counter(struct metrics_text *t, const char *name, const char *help, uint64_t value)
{
	metrics_family(t, name, METRIC_COUNTER, help);
	metrics_sample_u64(t, name, NULL, 0, value);
}

static void gauge(struct metrics_text *t, const char *name, const char *help, double value)
{
	metrics_family(t, name, METRIC_GAUGE, help);
	metrics_sample_real(t, name, NULL, 0, value);
}

void agent_metrics_render(const void *snapshot, struct metrics_text *t)
{
	const struct agent_snapshot *s = snapshot;
	struct metric_label server = { "server", s->server };

	metrics_family(t, "sara_agent_info", METRIC_GAUGE, "the server this agent reports for (value 1)");
	metrics_sample_u64(t, "sara_agent_info", &server, 1, 1);
	gauge(t, "sara_agent_uptime_seconds", "time since sara-agent started", (double)s->uptime_ms / 1000.0);
	counter(t, "sara_agent_reports_total", "report rounds: one heartbeat and one load report each", s->reports);
	counter(t, "sara_agent_datagrams_sent_total", "heartbeats and load reports sent to sarad", s->sent);
	counter(t, "sara_agent_send_errors_total", "heartbeats and load reports the socket refused",
		s->send_errors);
	if (s->probing) {
		gauge(t, "sara_agent_probe_up", "1 when the application answered the last probe", s->probe_up);
		counter(t, "sara_agent_probe_failures_total", "application probes that failed", s->probe_failures);
	}
	gauge(t, "sara_agent_draining", "1 while a drain (SIGUSR1) is announced", s->draining);
	if (!s->have_load || !s->counted)
		return;
	metrics_family(t, "sara_agent_load", METRIC_GAUGE,
		       "the load last read per counted component (0..1; NaN when unreadable, reported as 1)");
	for (unsigned i = 0; i < AGENT_LOAD_COMPONENTS; i++) {
		struct metric_label component = { "component", agent_load_component_name(i) };
		if (s->counted & (1u << i))
			metrics_sample_real(t, "sara_agent_load", &component, 1, s->load[i]);
	}
}
