/* decode_loop.c - the --decode receive loop sara-agent and sara-gw share
 * (decode_loop.h). */
#include "io/decode_loop.h"

#include <signal.h>
#include <stdio.h>

#include "io/log.h"

#define DRAIN_BATCH 64  /* datagrams read per wake-up at most */

void decode_loop_drain(struct decode_loop *d, const struct sealed_receiver_handler *h)
{
	unsigned long left = d->count ? d->count - d->receiver.received : DRAIN_BATCH;
	char err[256];
	if (sealed_receiver_drain(&d->receiver, left < DRAIN_BATCH ? (unsigned)left : DRAIN_BATCH, h, err,
				  sizeof(err)) < 0) {
		log_msg(LOG_ERR, "%s", err);
		d->status = 1;
		event_loop_stop(d->loop);
	}
	if (d->count && d->receiver.received >= d->count)
		event_loop_stop(d->loop);
}

void decode_loop_on_signal(void *ctx, int signo)
{
	struct decode_loop *d = ctx;
	if (signo == SIGTERM || signo == SIGINT)
		event_loop_stop(d->loop);
}

void decode_loop_run(struct decode_loop *d, const struct endpoint *at)
{
	char where[ENDPOINT_STRLEN], err[256];
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("listening %s\n", endpoint_format(at, where, sizeof(where)));
	if (event_loop_run(d->loop, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "%s", err);
		d->status = 1;
	}
}
