/* agent_listener.c - node-agent reports checked (agent_listener.h): sealed
 * message -> agent_{heartbeat,load}_decode -> agent_msg_check_sender -> the
 * sinks, with one reject counter per reason and rate-limited log lines. */
#include "io/agent_listener.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/counters.h"
#include "io/sealed_listener.h"

struct agent_listener {
	struct sealed_listener base;   /* first: what the handler's ctx points to */
	struct agent_listener_sink sink;
	struct agent_listener_stats stats;
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
		reason = agent_msg_check_sender(l->base.cfg, msg->hdr.sender, host_id, &server);
	if (reason != COUNTER_NONE) {
		sealed_listener_reject(&l->base, reason, &msg->from);
	} else if (msg->hdr.type == WIRE_HEARTBEAT) {
		if (l->sink.heartbeat)
			l->sink.heartbeat(l->sink.ctx, server, &hb);
		l->stats.heartbeats++;
	} else {
		if (l->sink.load)
			l->sink.load(l->sink.ctx, server, &load);
		l->stats.loads++;
	}
}

struct agent_listener *agent_listener_create(const struct sara_config *cfg, uint64_t (*now_ms)(void),
					     const struct agent_listener_sink *sink)
{
	struct agent_listener *l = sealed_listener_create(sizeof(*l), cfg, now_ms, "agent_report_rejected",
							  check_report);
	if (l && sink)
		l->sink = *sink;
	return l;
}

void agent_listener_destroy(struct agent_listener *l)
{
	free(l);
}

struct sealed_receiver_handler agent_listener_handler(struct agent_listener *l)
{
	return sealed_listener_handler(&l->base);
}

void agent_listener_get_stats(const struct agent_listener *l, struct agent_listener_stats *out)
{
	*out = l->stats;
	out->received = l->base.received;
	out->rejected = l->base.rejects.total;
}

void agent_listener_get_counters(const struct agent_listener *l, struct counter_set *out)
{
	*out = l->base.rejects.counts;
	out->values[COUNTER_AGENTS_RECEIVED] = l->base.received;
	out->values[COUNTER_AGENTS_HEARTBEATS] = l->stats.heartbeats;
	out->values[COUNTER_AGENTS_LOADS] = l->stats.loads;
	out->values[COUNTER_AGENTS_REJECTED] = l->base.rejects.total;
}

unsigned agent_listener_server_count(const struct agent_listener *l)
{
	return l->base.cfg->server_count;
}

const char *agent_listener_server_id(const struct agent_listener *l, unsigned server)
{
	return server < l->base.cfg->server_count ? l->base.cfg->servers[server].id : "?";
}
