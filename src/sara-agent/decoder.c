/* decoder.c - sara-agent --decode: agent messages and health events printed
 * (decoder.h). */
#include "sara-agent/decoder.h"

#include <signal.h>
#include <time.h>

#include "engine/agent_msg.h"
#include "io/clock.h"
#include "io/decode_loop.h"
#include "io/log.h"

static void print_event(void *ctx, const struct server_event *event)
{
	const struct agent_decoder *d = ctx;
	const char *id = d->cfg->servers[event->server].id;
	switch (event->kind) {
	case SERVER_EVENT_FAILED:
		fprintf(d->out, "event failed server %s cause %s\n", id, server_cause_name(event->cause));
		break;
	case SERVER_EVENT_DRAINING:
		fprintf(d->out, "event draining server %s planned_in_ms %lld\n", id,
			(long long)(event->planned_ms - clock_ms(CLOCK_MONOTONIC)));
		break;
	case SERVER_EVENT_RECOVERED:
		fprintf(d->out, "event recovered server %s\n", id);
		break;
	case SERVER_EVENT_LOAD:
		break;  /* printed with the report */
	}
}

bool agent_decoder_init(struct agent_decoder *d, const struct sara_config *cfg, FILE *out)
{
	d->cfg = cfg;
	d->out = out;
	d->health = server_health_create(cfg, clock_ms(CLOCK_MONOTONIC), print_event, d);
	return d->health != NULL;
}

void agent_decoder_destroy(struct agent_decoder *d)
{
	server_health_destroy(d->health);
	d->health = NULL;
}

static void print_heartbeat(struct agent_decoder *d, const struct wire_header *hdr, unsigned server,
			    const struct agent_heartbeat *hb)
{
	uint64_t now_wall = clock_ms(CLOCK_REALTIME);
	fprintf(d->out, "heartbeat sender %u server %s seq %u flag %s timestamp %u age_ms %lld\n", hdr->sender,
		d->cfg->servers[server].id, hb->seq, agent_flag_name(hb->flag), hb->timestamp,
		(long long)(now_wall - hdr->time_ms));
	server_health_heartbeat(d->health, server, hb, clock_ms(CLOCK_MONOTONIC), now_wall);
}

static void print_load(struct agent_decoder *d, const struct wire_header *hdr, unsigned server,
		       const struct agent_load *load)
{
	uint64_t now = clock_ms(CLOCK_MONOTONIC);
	struct server_health_info info;
	fprintf(d->out, "load sender %u server %s", hdr->sender, d->cfg->servers[server].id);
	for (unsigned i = 0; i < AGENT_LOAD_COMPONENTS; i++) {
		if (load->fixed[i] == AGENT_LOAD_NOT_REPORTED)
			fprintf(d->out, " %s -", agent_load_component_name(i));
		else
			fprintf(d->out, " %s %.4f", agent_load_component_name(i), agent_load_from_fixed(load->fixed[i]));
	}
	server_health_load_report(d->health, server, load, now);
	server_health_get(d->health, server, now, &info);
	fprintf(d->out, " combined %.4f\n", info.load);
}

void agent_decoder_message(struct agent_decoder *d, const struct sealed_message *msg)
{
	const struct wire_header *hdr = &msg->hdr;
	struct agent_heartbeat hb;
	struct agent_load load;
	enum counter_id reason;
	uint32_t host_id;
	unsigned server;

	if (hdr->type == WIRE_HEARTBEAT) {
		reason = agent_heartbeat_decode(msg->body, hdr->body_len, &hb);
		host_id = hb.host_id;
	} else if (hdr->type == WIRE_LOAD) {
		reason = agent_load_decode(msg->body, hdr->body_len, &load);
		host_id = load.host_id;
	} else {
		fprintf(d->out, "rejected %s type %u sender %u\n", counter_name(COUNTER_NOT_AN_AGENT_MESSAGE),
			hdr->type, hdr->sender);
		return;
	}
	if (reason == COUNTER_NONE)
		reason = agent_msg_check_sender(d->cfg, hdr->sender, host_id, &server);
	if (reason != COUNTER_NONE)
		fprintf(d->out, "rejected %s sender %u\n", counter_name(reason), hdr->sender);
	else if (hdr->type == WIRE_HEARTBEAT)
		print_heartbeat(d, hdr, server, &hb);
	else
		print_load(d, hdr, server, &load);
}

void agent_decoder_refused(struct agent_decoder *d, int reason, const struct endpoint *from)
{
	char where[ENDPOINT_STRLEN];
	fprintf(d->out, "rejected %s from %s\n", counter_name(sealed_reject_counter(reason)),
		endpoint_format(from, where, sizeof(where)));
}

static void print_counter(void *ctx, const struct counter_def *def, uint64_t value)
{
	fprintf(ctx, "counter health.%s %llu\n", def->name, (unsigned long long)value);
}

void agent_decoder_summary(struct agent_decoder *d)
{
	for (unsigned i = 0; i < d->cfg->server_count; i++) {
		struct server_health_info info;
		server_health_get(d->health, i, clock_ms(CLOCK_MONOTONIC), &info);
		fprintf(d->out, "server %s state %s heartbeats %llu lost %llu loads %llu\n", d->cfg->servers[i].id,
			server_state_name(info.state), (unsigned long long)info.heartbeats,
			(unsigned long long)info.lost, (unsigned long long)info.loads);
	}
	counters_visit(server_health_counters(d->health), COUNTER_SCOPE_HEALTH, COUNTERS_REPORTED, print_counter,
		       d->out);
}

/* ---- the receiver on its event loop ---- */

struct decode_run {
	struct agent_decoder decoder;
	struct decode_loop io;
};

static void on_accept(void *ctx, const struct sealed_message *msg)
{
	agent_decoder_message(ctx, msg);
}

static void on_refuse(void *ctx, int reason, const struct endpoint *from)
{
	agent_decoder_refused(ctx, reason, from);
}

static void on_datagrams(void *ctx, int fd, uint32_t events)
{
	struct decode_run *run = ctx;
	struct sealed_receiver_handler handler = { on_accept, on_refuse, &run->decoder };
	(void)fd;
	(void)events;
	server_health_tick(run->decoder.health, clock_ms(CLOCK_MONOTONIC));
	decode_loop_drain(&run->io, &handler);
}

static void on_tick(void *ctx)
{
	struct decode_run *run = ctx;
	server_health_tick(run->decoder.health, clock_ms(CLOCK_MONOTONIC));
}

/* SIGUSR1, SIGUSR2 and SIGHUP are taken (and ignored by
 * decode_loop_on_signal): a stray drain signal must not kill the decoder. */
static bool start(struct decode_run *run, char *err, size_t err_size)
{
	static const int signals[] = { SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP };
	run->io.loop = event_loop_create(err, err_size);
	return run->io.loop &&
	       event_loop_add_fd(run->io.loop, run->io.receiver.fd, on_datagrams, run, err, err_size) == 0 &&
	       event_loop_add_timer(run->io.loop, AGENT_DECODE_TICK_MS, on_tick, run, err, err_size) >= 0 &&
	       event_loop_add_signals(run->io.loop, signals, sizeof(signals) / sizeof(signals[0]),
				      decode_loop_on_signal, &run->io, err, err_size) == 0;
}

int agent_decode_run(const struct sara_config *cfg, const struct wire_key *key, const struct endpoint *at,
		     unsigned long count)
{
	struct decode_run run = { .io = { .count = count, .receiver = { .fd = -1 } } };
	char err[256];

	if (!agent_decoder_init(&run.decoder, cfg, stdout)) {
		log_msg(LOG_ERR, "out of memory");
		return 1;
	}
	if (!sealed_receiver_open(&run.io.receiver, at, key, AGENT_DECODE_MAX_SKEW_MS, err, sizeof(err)) ||
	    !start(&run, err, sizeof(err))) {
		log_msg(LOG_ERR, "%s", err);
		run.io.status = 1;
		goto out;
	}
	decode_loop_run(&run.io, at);
	agent_decoder_summary(&run.decoder);
out:
	event_loop_destroy(run.io.loop);
	sealed_receiver_close(&run.io.receiver);
	agent_decoder_destroy(&run.decoder);
	return run.io.status;
}
