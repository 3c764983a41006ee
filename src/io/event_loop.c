/* event_loop.c - epoll dispatch of fds, timerfd timers and one signalfd
 * (event_loop.h), in the shape of Redis's ae and conntrackd's fds/alarm. */
#include "io/event_loop.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define EVENTS_PER_WAIT 32

enum watch_kind { WATCH_FREE = 0, WATCH_FD, WATCH_TIMER, WATCH_SIGNALS };

union watch_fn {
	event_fd_fn on_fd;
	event_timer_fn on_timer;
	event_signal_fn on_signal;
};

struct watch {
	enum watch_kind kind;
	uint32_t generation;   /* bumped on removal: stale events in a batch are skipped */
	int fd;
	void *ctx;
	union watch_fn fn;
};

/* The loop made the timer and signal fds, so it closes them; a caller's fd
 * stays the caller's. */
static bool loop_owns_fd(enum watch_kind kind)
{
	return kind == WATCH_TIMER || kind == WATCH_SIGNALS;
}

struct event_loop {
	int epoll_fd;
	bool stopping;
	struct watch watches[EVENT_LOOP_MAX_WATCHES];
};

struct event_loop *event_loop_create(char *err, size_t err_size)
{
	struct event_loop *loop = calloc(1, sizeof(*loop));
	if (!loop) {
		snprintf(err, err_size, "event loop: out of memory");
		return NULL;
	}
	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epoll_fd < 0) {
		snprintf(err, err_size, "epoll_create1: %s", strerror(errno));
		free(loop);
		return NULL;
	}
	return loop;
}

void event_loop_destroy(struct event_loop *loop)
{
	if (!loop)
		return;
	for (unsigned i = 0; i < EVENT_LOOP_MAX_WATCHES; i++) {
		struct watch *w = &loop->watches[i];
		if (loop_owns_fd(w->kind))
			close(w->fd);
	}
	close(loop->epoll_fd);
	free(loop);
}

/* The watch's id, or -1 with err set (and fd closed when the loop owns it). */
static int watch_add(struct event_loop *loop, enum watch_kind kind, int fd, union watch_fn fn, void *ctx,
		     char *err, size_t err_size)
{
	struct epoll_event ev = { .events = EPOLLIN };
	for (unsigned i = 0; i < EVENT_LOOP_MAX_WATCHES; i++) {
		struct watch *w = &loop->watches[i];
		if (w->kind != WATCH_FREE)
			continue;
		ev.data.u64 = (uint64_t)w->generation << 32 | i;
		if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			snprintf(err, err_size, "epoll_ctl: %s", strerror(errno));
			goto fail;
		}
		w->kind = kind;
		w->fd = fd;
		w->ctx = ctx;
		w->fn = fn;
		return (int)i;
	}
	snprintf(err, err_size, "event loop full (%d watches)", EVENT_LOOP_MAX_WATCHES);
fail:
	if (loop_owns_fd(kind))
		close(fd);
	return -1;
}

static void watch_remove(struct event_loop *loop, struct watch *w)
{
	(void)epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, w->fd, NULL);
	if (loop_owns_fd(w->kind))
		close(w->fd);
	w->kind = WATCH_FREE;
	w->generation++;
	w->fd = -1;
}

int event_loop_add_fd(struct event_loop *loop, int fd, event_fd_fn fn, void *ctx, char *err,
		      size_t err_size)
{
	if (watch_add(loop, WATCH_FD, fd, (union watch_fn){ .on_fd = fn }, ctx, err, err_size) < 0)
		return -1;
	return 0;
}

void event_loop_remove_fd(struct event_loop *loop, int fd)
{
	for (unsigned i = 0; i < EVENT_LOOP_MAX_WATCHES; i++) {
		struct watch *w = &loop->watches[i];
		if (w->kind == WATCH_FD && w->fd == fd) {
			watch_remove(loop, w);
			return;
		}
	}
}

static bool arm(int fd, uint64_t interval_ms)
{
	struct itimerspec spec = {
		.it_interval = { .tv_sec = (time_t)(interval_ms / 1000),
				 .tv_nsec = (long)(interval_ms % 1000) * 1000000L },
	};
	spec.it_value = spec.it_interval;
	return interval_ms > 0 && timerfd_settime(fd, 0, &spec, NULL) == 0;
}

int event_loop_add_timer(struct event_loop *loop, uint64_t interval_ms, event_timer_fn fn, void *ctx,
			 char *err, size_t err_size)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0) {
		snprintf(err, err_size, "timerfd_create: %s", strerror(errno));
		return -1;
	}
	if (!arm(fd, interval_ms)) {
		snprintf(err, err_size, "timer: interval %llu ms: %s", (unsigned long long)interval_ms,
			 interval_ms ? strerror(errno) : "must be above 0");
		close(fd);
		return -1;
	}
	return watch_add(loop, WATCH_TIMER, fd, (union watch_fn){ .on_timer = fn }, ctx, err, err_size);
}

static struct watch *timer_watch(struct event_loop *loop, int id)
{
	if (id < 0 || id >= EVENT_LOOP_MAX_WATCHES || loop->watches[id].kind != WATCH_TIMER)
		return NULL;
	return &loop->watches[id];
}

bool event_loop_set_interval(struct event_loop *loop, int id, uint64_t interval_ms)
{
	struct watch *w = timer_watch(loop, id);
	return w && arm(w->fd, interval_ms);
}

void event_loop_remove_timer(struct event_loop *loop, int id)
{
	struct watch *w = timer_watch(loop, id);
	if (w)
		watch_remove(loop, w);
}

int event_loop_add_signals(struct event_loop *loop, const int *signals, unsigned count,
			   event_signal_fn fn, void *ctx, char *err, size_t err_size)
{
	sigset_t set;
	int fd;

	for (unsigned i = 0; i < EVENT_LOOP_MAX_WATCHES; i++)
		if (loop->watches[i].kind == WATCH_SIGNALS) {
			snprintf(err, err_size, "event loop: signals already watched");
			return -1;
		}
	sigemptyset(&set);
	for (unsigned i = 0; i < count; i++)
		sigaddset(&set, signals[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
		snprintf(err, err_size, "sigprocmask: %s", strerror(errno));
		return -1;
	}
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0) {
		snprintf(err, err_size, "signalfd: %s", strerror(errno));
		return -1;
	}
	if (watch_add(loop, WATCH_SIGNALS, fd, (union watch_fn){ .on_signal = fn }, ctx, err, err_size) < 0)
		return -1;
	return 0;
}

static void dispatch(struct event_loop *loop, struct watch *w, uint32_t events)
{
	switch (w->kind) {
	case WATCH_FD:
		w->fn.on_fd(w->ctx, w->fd, events);
		break;
	case WATCH_TIMER: {
		uint64_t expiries;
		/* Reading re-arms the fd; a timer that fired several times while
		 * the loop was busy runs once. */
		if (read(w->fd, &expiries, sizeof(expiries)) == (ssize_t)sizeof(expiries))
			w->fn.on_timer(w->ctx);
		break;
	}
	case WATCH_SIGNALS: {
		struct signalfd_siginfo info;
		while (w->kind == WATCH_SIGNALS &&
		       read(w->fd, &info, sizeof(info)) == (ssize_t)sizeof(info))
			w->fn.on_signal(w->ctx, (int)info.ssi_signo);
		break;
	}
	case WATCH_FREE:
		break;
	}
	(void)loop;
}

int event_loop_run_once(struct event_loop *loop, int timeout_ms, char *err, size_t err_size)
{
	struct epoll_event events[EVENTS_PER_WAIT];
	int ran = 0, n = epoll_wait(loop->epoll_fd, events, EVENTS_PER_WAIT, timeout_ms);

	if (n < 0) {
		if (errno == EINTR)
			return 0;
		snprintf(err, err_size, "epoll_wait: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		uint32_t index = (uint32_t)events[i].data.u64;
		uint32_t generation = (uint32_t)(events[i].data.u64 >> 32);
		struct watch *w;
		if (index >= EVENT_LOOP_MAX_WATCHES)
			continue;
		w = &loop->watches[index];
		/* removed (or replaced) by an earlier callback of this batch */
		if (w->kind == WATCH_FREE || w->generation != generation)
			continue;
		dispatch(loop, w, events[i].events);
		ran++;
	}
	return ran;
}

int event_loop_run(struct event_loop *loop, char *err, size_t err_size)
{
	loop->stopping = false;
	while (!loop->stopping)
		if (event_loop_run_once(loop, -1, err, err_size) < 0)
			return -1;
	return 0;
}

void event_loop_stop(struct event_loop *loop)
{
	loop->stopping = true;
}
