/* reporter.c - heartbeats and load reports, built and sealed (reporter.h). */
#include "sara-agent/reporter.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

#include "io/clock.h"

void reporter_init(struct reporter *r, struct sealed_sender *channel, uint32_t host_id, unsigned counted,
		   unsigned probe_failures_needed)
{
	*r = (struct reporter){
		.channel = channel,
		.host_id = host_id,
		.beat_seq = (uint16_t)(clock_us(CLOCK_REALTIME) / 1000u),
		.counted = counted,
		.probe_failures_needed = probe_failures_needed,
	};
}

struct agent_heartbeat reporter_heartbeat(struct reporter *r, bool app_up, uint32_t now_s)
{
	struct agent_heartbeat hb = { .host_id = r->host_id, .seq = r->beat_seq++ };
	r->probe_failures = app_up ? 0 : r->probe_failures + 1;
	if (r->draining) {
		hb.flag = AGENT_DRAIN;
		hb.timestamp = r->drain_at_s;
	} else {
		hb.flag = r->probe_failures >= r->probe_failures_needed ? AGENT_APP_DOWN : AGENT_UP;
		hb.timestamp = now_s;
	}
	return hb;
}

struct agent_load reporter_load(const struct reporter *r, const double components[AGENT_LOAD_COMPONENTS])
{
	struct agent_load load = { .host_id = r->host_id };
	for (unsigned i = 0; i < AGENT_LOAD_COMPONENTS; i++)
		load.fixed[i] = r->counted & (1u << i) ? agent_load_to_fixed(components[i]) : AGENT_LOAD_NOT_REPORTED;
	return load;
}

bool reporter_send_heartbeat(struct reporter *r, const struct agent_heartbeat *hb)
{
	uint8_t body[AGENT_HEARTBEAT_SIZE];
	size_t len = agent_heartbeat_encode(hb, body, sizeof(body));
	return len > 0 && sealed_send(r->channel, WIRE_HEARTBEAT, body, len);
}

bool reporter_send_load(struct reporter *r, const struct agent_load *load)
{
	uint8_t body[AGENT_LOAD_SIZE];
	size_t len = agent_load_encode(load, body, sizeof(body));
	return len > 0 && sealed_send(r->channel, WIRE_LOAD, body, len);
}

static const char *fraction_text(double v, bool counted, char *buf, size_t size)
{
	if (!counted)
		snprintf(buf, size, "-");
	else if (isnan(v))
		snprintf(buf, size, "unreadable");
	else
		snprintf(buf, size, "%.4f", v);
	return buf;
}

void reporter_format(const struct reporter *r, const struct agent_heartbeat *hb, const char *probe,
		     const double components[AGENT_LOAD_COMPONENTS], bool sent, char *buf, size_t size)
{
	char v[AGENT_LOAD_COMPONENTS][16];
	for (unsigned i = 0; i < AGENT_LOAD_COMPONENTS; i++)
		fraction_text(components[i], r->counted & (1u << i), v[i], sizeof(v[i]));
	snprintf(buf, size,
		 "heartbeat host %u seq %u flag %s timestamp %u probe %s; load cpu %s memory %s network %s io %s backlog %s%s",
		 hb->host_id, hb->seq, agent_flag_name(hb->flag), hb->timestamp, probe, v[AGENT_LOAD_CPU],
		 v[AGENT_LOAD_MEMORY], v[AGENT_LOAD_NETWORK], v[AGENT_LOAD_IO], v[AGENT_LOAD_BACKLOG],
		 sent ? "" : " (send failed)");
}
