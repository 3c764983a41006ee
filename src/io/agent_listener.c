/* agent_listener.c - node-agent reports checked (agent_listener.h): sealed
 * message -> agent_{heartbeat,load}_decode -> agent_msg_check_sender -> the
 * sinks, with one reject counter per reason and rate-limited log lines. */
#include "io/agent_listener.h"

#include "engine/counters.h"

struct agent_listener {
	struct sealed_listener base;   /* first: the listener is freed through it */
	struct agent_listener_sink sink;
};

static void check_report(struct sealed_listener *base, const struct sealed_message *msg)
{
	struct agent_listener *l = (struct agent_listener *)base;
	struct agent_heartbeat hb;
	struct agent_load load;
	enum counter_id reason;
	uint32_t host_id = 0;
	unsigned server = 0;

	switch (msg->hdr.type) {
	case WIRE_HEARTBEAT:
		reason = agent_heartbeat_decode(msg->body, msg->hdr.body_len, &hb);
		host_id = hb.host_id;
		break;
	case WIRE_LOAD:
		reason = agent_load_decode(msg->body, msg->hdr.body_len, &load);
		host_id = load.host_id;
		break;
	default:
		/* Authentic but not for us (an announcement sent to the wrong port). */
		reason = COUNTER_NOT_AN_AGENT_MESSAGE;
		break;
	}
	if (reason == COUNTER_NONE)
		reason = agent_msg_check_sender(base->cfg, msg->hdr.sender, host_id, &server);
	if (reason != COUNTER_NONE) {
		sealed_listener_reject(base, reason, &msg->from);
	} else if (msg->hdr.type == WIRE_HEARTBEAT) {
		if (l->sink.heartbeat)
			l->sink.heartbeat(l->sink.ctx, server, &hb);
		counter_add(&base->counts, COUNTER_AGENTS_HEARTBEATS, 1);
	} else {
		if (l->sink.load)
			l->sink.load(l->sink.ctx, server, &load);
		counter_add(&base->counts, COUNTER_AGENTS_LOADS, 1);
	}
}

struct sealed_listener *agent_listener_create(const struct sara_config *cfg, uint64_t (*now_ms)(void),
					      const struct agent_listener_sink *sink)
{
	struct sealed_listener *base = sealed_listener_create(
		sizeof(struct agent_listener), cfg, now_ms, check_report, "agent_report_rejected",
		(struct sealed_listener_tally){ COUNTER_AGENTS_RECEIVED, COUNTER_AGENTS_REJECTED });
	if (base && sink)
		((struct agent_listener *)base)->sink = *sink;
	return base;
}

unsigned agent_listener_server_count(const struct sealed_listener *l)
{
	return l->cfg->server_count;
}

const char *agent_listener_server_id(const struct sealed_listener *l, unsigned server)
{
	return server < l->cfg->server_count ? l->cfg->servers[server].id : "?";
}
