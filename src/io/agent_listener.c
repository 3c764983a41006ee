/* agent_listener.c - node-agent reports checked (agent_listener.h): sealed
 * message -> agent_{heartbeat,load}_decode -> agent_msg_check_sender -> the
 * sinks, with one reject counter per reason and rate-limited log lines. */
#include "io/agent_listener.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/counters.h"
#include "io/log.h"

struct agent_listener {
	const struct sara_config *cfg;
	uint64_t (*now_ms)(void);
	struct agent_listener_sink sink;
	struct agent_listener_stats stats;
	struct sealed_rejects rejects;
};

struct agent_listener *agent_listener_create(const struct sara_config *cfg, uint64_t (*now_ms)(void),
					     const struct agent_listener_sink *sink)
{
	struct agent_listener *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->cfg = cfg;
	l->now_ms = now_ms;
	if (sink)
		l->sink = *sink;
	sealed_rejects_init(&l->rejects, "agent_report_rejected");
	return l;
}

void agent_listener_destroy(struct agent_listener *l)
{
	free(l);
}

static void reject(struct agent_listener *l, enum counter_id reason, const struct endpoint *from)
{
	sealed_rejects_add(&l->rejects, reason, from, l->now_ms());
}

/* The receiver refused the datagram: forged, replayed, stale, oversized... */
static void on_reject(void *ctx, int reason, const struct endpoint *from)
{
	struct agent_listener *l = ctx;
	l->stats.received++;
	reject(l, sealed_reject_counter(reason), from);
}

static void handle_heartbeat(struct agent_listener *l, const struct sealed_message *msg)
{
	struct agent_heartbeat hb;
	unsigned server = 0;
	enum counter_id reason = agent_heartbeat_decode(msg->body, msg->hdr.body_len, &hb);
	if (reason == COUNTER_NONE)
		reason = agent_msg_check_sender(l->cfg, msg->hdr.sender, hb.host_id, &server);
	if (reason != COUNTER_NONE) {
		reject(l, reason, &msg->from);
		return;
	}
	if (l->sink.heartbeat)
		l->sink.heartbeat(l->sink.ctx, server, &hb);
	l->stats.heartbeats++;
}

static void handle_load(struct agent_listener *l, const struct sealed_message *msg)
{
	struct agent_load load;
	unsigned server = 0;
	enum counter_id reason = agent_load_decode(msg->body, msg->hdr.body_len, &load);
	if (reason == COUNTER_NONE)
		reason = agent_msg_check_sender(l->cfg, msg->hdr.sender, load.host_id, &server);
	if (reason != COUNTER_NONE) {
		reject(l, reason, &msg->from);
		return;
	}
	if (l->sink.load)
		l->sink.load(l->sink.ctx, server, &load);
	l->stats.loads++;
}

static void on_accept(void *ctx, const struct sealed_message *msg)
{
	struct agent_listener *l = ctx;
	l->stats.received++;
	switch (msg->hdr.type) {
	case WIRE_HEARTBEAT:
		handle_heartbeat(l, msg);
		break;
	case WIRE_LOAD:
		handle_load(l, msg);
		break;
	default:
		/* Authentic but not for us (an announcement sent to the wrong port). */
		reject(l, COUNTER_NOT_AN_AGENT_MESSAGE, &msg->from);
		break;
	}
}

struct sealed_receiver_handler agent_listener_handler(struct agent_listener *l)
{
	return (struct sealed_receiver_handler){ .accept = on_accept, .reject = on_reject, .ctx = l };
}

void agent_listener_get_stats(const struct agent_listener *l, struct agent_listener_stats *out)
{
	*out = l->stats;
	out->rejected = l->rejects.total;
}

void agent_listener_get_counters(const struct agent_listener *l, struct counter_set *out)
{
	*out = l->rejects.counts;
	out->values[COUNTER_AGENTS_RECEIVED] = l->stats.received;
	out->values[COUNTER_AGENTS_HEARTBEATS] = l->stats.heartbeats;
	out->values[COUNTER_AGENTS_LOADS] = l->stats.loads;
	out->values[COUNTER_AGENTS_REJECTED] = l->rejects.total;
}

unsigned agent_listener_server_count(const struct agent_listener *l)
{
	return l->cfg->server_count;
}

const char *agent_listener_server_id(const struct agent_listener *l, unsigned server)
{
	return server < l->cfg->server_count ? l->cfg->servers[server].id : "?";
}
