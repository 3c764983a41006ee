/* decode_loop.h - the receive loop behind sara-agent --decode and sara-gw
 * --decode: a sealed receiver drained from an event loop until a signal or
 * the datagram count stops it. */
#ifndef SARA_DECODE_LOOP_H
#define SARA_DECODE_LOOP_H

#include "io/event_loop.h"
#include "io/sealed_channel.h"

struct decode_loop {
	struct sealed_receiver receiver;
	struct event_loop *loop;
	unsigned long count;  /* stop after this many datagrams; 0: never */
	int status;           /* the exit status: 1 after an error */
};

/* Hands what is waiting to h (a batch at most, and no more than count
 * allows); stops the loop after an error or once count datagrams came. */
void decode_loop_drain(struct decode_loop *d, const struct sealed_receiver_handler *h);
/* An event_signal_fn, ctx the decode_loop: SIGTERM and SIGINT stop it; the
 * other signals taken are ignored, so a stray one does not kill a decoder. */
void decode_loop_on_signal(void *ctx, int signo);
/* Prints "listening AT" (stdout line-buffered) and runs until stopped. */
void decode_loop_run(struct decode_loop *d, const struct endpoint *at);

#endif
