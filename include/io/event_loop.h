/* event_loop.h - one small loop per daemon: file descriptors, periodic
 * timers (timerfd) and signals (signalfd) dispatched from one epoll set. */
#ifndef SARA_EVENT_LOOP_H
#define SARA_EVENT_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Watches (fds, timers and the signal set) one loop holds at most. */
#define EVENT_LOOP_MAX_WATCHES 64

struct event_loop;

/* Called when fd is readable (or hung up / in error: events says which,
 * as epoll's EPOLLIN, EPOLLHUP, EPOLLERR bits). */
typedef void (*event_fd_fn)(void *ctx, int fd, uint32_t events);
/* Called once per expiry of a periodic timer; missed expiries coalesce. */
typedef void (*event_timer_fn)(void *ctx);
typedef void (*event_signal_fn)(void *ctx, int signo);

struct event_loop *event_loop_create(char *err, size_t err_size);
/* Closes the loop's timer and signal descriptors; fds added with
 * event_loop_add_fd stay open (their owners close them). */
void event_loop_destroy(struct event_loop *loop);

/* 0, or -1 with err set ("event loop full", "epoll_ctl: REASON"). */
int event_loop_add_fd(struct event_loop *loop, int fd, event_fd_fn fn, void *ctx, char *err,
		      size_t err_size);
/* Safe from inside any callback, including fd's own. */
void event_loop_remove_fd(struct event_loop *loop, int fd);

/* A periodic timer firing every interval_ms (> 0) from now. Returns its id
 * (>= 0) for event_loop_set_interval / event_loop_remove_timer, or -1. */
int event_loop_add_timer(struct event_loop *loop, uint64_t interval_ms, event_timer_fn fn, void *ctx,
			 char *err, size_t err_size);
/* Re-arms timer id to fire every interval_ms from now. */
bool event_loop_set_interval(struct event_loop *loop, int id, uint64_t interval_ms);
void event_loop_remove_timer(struct event_loop *loop, int id);

/* Delivers signals through the loop instead of asynchronous handlers. The
 * signals are blocked in the calling thread: call it before creating other
 * threads so that they inherit the mask. At most one signal set per loop. */
int event_loop_add_signals(struct event_loop *loop, const int *signals, unsigned count,
			   event_signal_fn fn, void *ctx, char *err, size_t err_size);

/* Dispatches until event_loop_stop is called (from a callback or a signal
 * callback). Returns 0, or -1 with err set when epoll_wait fails. */
int event_loop_run(struct event_loop *loop, char *err, size_t err_size);
/* One round: waits at most timeout_ms (-1: no limit) and dispatches what is
 * ready. Returns the number of callbacks run, or -1 with err set. */
int event_loop_run_once(struct event_loop *loop, int timeout_ms, char *err, size_t err_size);
void event_loop_stop(struct event_loop *loop);

#endif
