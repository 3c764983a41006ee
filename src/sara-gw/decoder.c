/* decoder.c - sara-gw --decode: announcements received and printed
 * (decoder.h). */
#include "sara-gw/decoder.h"

#include <signal.h>
#include <time.h>

#include "dpi/rtsp.h"
#include "dpi/sip.h"
#include "engine/announce_codec.h"
#include "io/clock.h"
#include "io/event_loop.h"
#include "io/log.h"

#define DRAIN_BATCH 64  /* datagrams read per wake-up at most */

static const char *method_name(const struct signal_facts *f)
{
	if (f->proto == PROTO_SIP)
		return sip_method_name((enum sip_method)f->method);
	if (f->proto == PROTO_RTSP)
		return rtsp_method_name((enum rtsp_method)f->method);
	return "?";
}

static void print_flags(FILE *out, const struct signal_facts *f)
{
	bool any = f->creates_session || f->confirms_session || f->ends_session || f->ends_if_unconfirmed ||
		   f->transaction_only;
	fprintf(out, " flags%s%s%s%s%s%s", f->creates_session ? " creates" : "", f->confirms_session ? " confirms" : "",
		f->ends_session ? " ends" : "", f->ends_if_unconfirmed ? " ends_if_unconfirmed" : "",
		f->transaction_only ? " transaction_only" : "", any ? "" : " none");
}

void gw_decoder_print_announcement(FILE *out, const struct wire_header *hdr, const struct announcement *ann,
				   enum counter_id cluster_reason, uint64_t now_ms)
{
	const struct signal_facts *f = &ann->facts;
	struct endpoint src, dst;
	char s[ENDPOINT_STRLEN], d[ENDPOINT_STRLEN], a[NETADDR_STRLEN];
	flow_key_src(&ann->conn, &src);
	flow_key_dst(&ann->conn, &dst);
	fprintf(out, "announce sender %u seq %llu age_ms %lld %s %s -> %s %s %s %s %u key \"%.*s\"", hdr->sender,
		(unsigned long long)hdr->seq, (long long)(now_ms - hdr->time_ms), ann->conn.l4 == L4_TCP ? "tcp" : "udp",
		endpoint_format(&src, s, sizeof(s)), endpoint_format(&dst, d, sizeof(d)),
		proto_name((enum proto_id)f->proto), f->is_request ? "request" : "response", method_name(f), f->status,
		(int)f->key_len, f->key);
	print_flags(out, f);
	fprintf(out, " media %s streams %u",
		f->media_op == MEDIA_REPLACE ? "replace" : f->media_op == MEDIA_MERGE ? "merge" : "none",
		f->stream_count);
	for (unsigned i = 0; i < f->stream_count; i++) {
		const struct signal_stream *st = &f->streams[i];
		fprintf(out, " [%s%s %s rtp %u rtcp %u peer %u/%u", st->enabled ? "on" : "off",
			st->multicast ? " multicast" : "", st->addr.family ? netaddr_format(&st->addr, a, sizeof(a)) : "peer",
			st->rtp_port, st->rtcp_port, st->peer_rtp_port, st->peer_rtcp_port);
		if (st->rtcp_addr.family)
			fprintf(out, " rtcp_at %s", netaddr_format(&st->rtcp_addr, a, sizeof(a)));
		fputc(']', out);
	}
	if (f->session_timeout_s)
		fprintf(out, " session_timeout_s %u", (unsigned)f->session_timeout_s);
	fprintf(out, " cluster %s\n", cluster_reason != COUNTER_NONE ? counter_name(cluster_reason) : "ok");
}

void gw_decoder_message(FILE *out, const struct sara_config *cfg, const struct sealed_message *msg)
{
	const struct wire_header *hdr = &msg->hdr;
	struct announcement ann;
	enum counter_id reason;
	if (hdr->type != WIRE_ANNOUNCE) {
		fprintf(out, "message type %u sender %u seq %llu len %u\n", hdr->type, hdr->sender,
			(unsigned long long)hdr->seq, hdr->body_len);
		return;
	}
	reason = announce_decode(msg->body, hdr->body_len, &ann);
	if (reason != COUNTER_NONE) {
		fprintf(out, "rejected %s sender %u seq %llu\n", counter_name(reason), hdr->sender, (unsigned long long)hdr->seq);
		return;
	}
	gw_decoder_print_announcement(out, hdr, &ann, announce_check_cluster(cfg, &ann), clock_ms(CLOCK_REALTIME));
}

/* ---- the receiver on its event loop ---- */

struct decode_run {
	const struct sara_config *cfg;
	struct sealed_receiver receiver;
	struct event_loop *loop;
	unsigned long count;
	int status;
};

static void on_accept(void *ctx, const struct sealed_message *msg)
{
	const struct decode_run *run = ctx;
	gw_decoder_message(stdout, run->cfg, msg);
}

static void on_refuse(void *ctx, int reason, const struct endpoint *from)
{
	char where[ENDPOINT_STRLEN];
	(void)ctx;
	printf("rejected %s from %s\n", counter_name(sealed_reject_counter(reason)),
	       endpoint_format(from, where, sizeof(where)));
}

static void on_datagrams(void *ctx, int fd, uint32_t events)
{
	struct decode_run *run = ctx;
	struct sealed_receiver_handler handler = { on_accept, on_refuse, run };
	unsigned long left = run->count ? run->count - run->receiver.received : DRAIN_BATCH;
	char err[256];
	(void)fd;
	(void)events;
	if (sealed_receiver_drain(&run->receiver, left < DRAIN_BATCH ? (unsigned)left : DRAIN_BATCH, &handler, err,
				  sizeof(err)) < 0) {
		log_msg(LOG_ERR, "%s", err);
		run->status = 1;
		event_loop_stop(run->loop);
	}
	if (run->count && run->receiver.received >= run->count)
		event_loop_stop(run->loop);
}

/* SIGUSR1 and SIGHUP are taken and ignored, as in the gateway. */
static void on_signal(void *ctx, int signo)
{
	struct decode_run *run = ctx;
	if (signo == SIGTERM || signo == SIGINT)
		event_loop_stop(run->loop);
}

int gw_decode_run(const struct sara_config *cfg, const struct wire_key *key, const struct endpoint *at,
		  unsigned long count)
{
	static const int signals[] = { SIGTERM, SIGINT, SIGUSR1, SIGHUP };
	struct decode_run run = { .cfg = cfg, .count = count, .receiver = { .fd = -1 } };
	char where[ENDPOINT_STRLEN], err[256];

	if (!sealed_receiver_open(&run.receiver, at, key, GW_DECODE_MAX_SKEW_MS, err, sizeof(err)) ||
	    !(run.loop = event_loop_create(err, sizeof(err))) ||
	    event_loop_add_fd(run.loop, run.receiver.fd, on_datagrams, &run, err, sizeof(err)) < 0 ||
	    event_loop_add_signals(run.loop, signals, sizeof(signals) / sizeof(signals[0]), on_signal, &run, err,
				   sizeof(err)) < 0) {
		log_msg(LOG_ERR, "%s", err);
		run.status = 1;
		goto out;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("listening %s\n", endpoint_format(at, where, sizeof(where)));
	if (event_loop_run(run.loop, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "%s", err);
		run.status = 1;
	}
out:
	event_loop_destroy(run.loop);
	sealed_receiver_close(&run.receiver);
	return run.status;
}
