/* control_socket.c - sarad's control socket (control.h) served from an
 * event loop: accept, read one command line, write its reply, close,
 * without ever blocking the loop. */
#include "io/control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "io/clock.h"

#define CLIENT_TIMEOUT_MS 1000   /* idle this long: answered (reading) or dropped (writing) */
#define CLIENT_CHECK_MS 100      /* how often idle clients are looked for */
#define ACCEPTS_PER_WAKE 16      /* then the loop serves the others */

enum client_state { CLIENT_FREE = 0, CLIENT_READING, CLIENT_WRITING };

struct control_client {
	struct control *owner;
	enum client_state state;
	int fd;
	bool waiting_for_room;         /* in owner->writers */
	char command[CONTROL_COMMAND_MAX];
	size_t command_len;
	char *reply;                   /* CLIENT_WRITING: what is left to send from reply_sent */
	size_t reply_len, reply_sent;
	uint64_t last_progress_ms;
};

struct control {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct control_view view;
	struct event_loop *loop;       /* NULL until control_attach */
	bool accepting;                /* fd watched by the loop (not while every client slot is taken) */
	/* The loop watches readability only: a client whose reply waits for
	 * room in its socket buffer waits in this epoll set, which the loop
	 * watches. */
	int writers;
	int timer;                     /* the idle-client check; -1 before attach */
	void (*on_fatal)(void *ctx, const char *err);
	void *fatal_ctx;
	struct control_client clients[CONTROL_CLIENTS_MAX];
};

static uint64_t now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

/* ---- opening ---- */

/* A socket file nobody listens on is left over from a crash: remove it. A
 * live one belongs to another sarad: refuse. */
static int clear_stale(const struct sockaddr_un *addr, char *err, size_t err_size)
{
	struct stat st;
	int fd, rc;
	if (lstat(addr->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, err_size, "control socket %s: exists and is not a socket", addr->sun_path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	rc = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	close(fd);
	if (rc == 0) {
		snprintf(err, err_size, "control socket %s: another process is listening on it (sarad already running?)",
			 addr->sun_path);
		return -1;
	}
	unlink(addr->sun_path);
	return 0;
}

/* mkdir of the socket's directory (one level, e.g. /run/sara). */
static void make_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	mkdir(dir, 0755);
}

struct control *control_open(const char *path, const struct control_view *view, char *err, size_t err_size)
{
	struct control *c = calloc(1, sizeof(*c));
	struct sockaddr_un addr;
	mode_t old_mask;
	int rc;

	if (!c) {
		snprintf(err, err_size, "control socket: out of memory");
		return NULL;
	}
	c->fd = -1;
	c->writers = -1;
	c->timer = -1;
	for (unsigned i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		c->clients[i].owner = c;
		c->clients[i].fd = -1;
	}
	c->view = *view;
	if (strlen(path) >= sizeof(addr.sun_path) || path[0] == '\0') {
		snprintf(err, err_size, "control socket %s: path empty or too long", path);
		goto fail;
	}
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, path, strlen(path));
	make_parent(path);
	err[0] = '\0';
	if (clear_stale(&addr, err, err_size) < 0) {
		if (!err[0])
			snprintf(err, err_size, "control socket %s: %s", path, strerror(errno));
		goto fail;
	}
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		snprintf(err, err_size, "control socket: %s", strerror(errno));
		goto fail;
	}
	old_mask = umask(0117); /* owner and group may connect */
	rc = bind(c->fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_mask);
	if (rc < 0) {
		snprintf(err, err_size, "control socket %s: bind: %s", path, strerror(errno));
		goto fail;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	if (listen(c->fd, 16) < 0) {
		snprintf(err, err_size, "control socket %s: listen: %s", path, strerror(errno));
		goto fail;
	}
	return c;
fail:
	control_close(c);
	return NULL;
}


/* ---- clients ---- */

static void on_listen(void *ctx, int fd, uint32_t events);

/* Frees the slot (the listening socket is not resumed: see client_close). */
static void client_release(struct control_client *cl)
{
	struct control *c = cl->owner;
	if (cl->state == CLIENT_READING)
		event_loop_remove_fd(c->loop, cl->fd);
	if (cl->waiting_for_room)
		(void)epoll_ctl(c->writers, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	free(cl->reply);
	cl->reply = NULL;
	cl->fd = -1;
	cl->state = CLIENT_FREE;
	cl->waiting_for_room = false;
}

static void client_close(struct control_client *cl)
{
	struct control *c = cl->owner;
	char err[128];
	client_release(cl);
	if (c->accepting)
		return;
	/* A slot is free again: new clients may come in. */
	if (event_loop_add_fd(c->loop, c->fd, on_listen, c, err, sizeof(err)) == 0)
		c->accepting = true;
	else if (c->on_fatal)
		c->on_fatal(c->fatal_ctx, err);
}

/* Sends what the socket buffer takes; the rest waits for room. */
static void client_write(struct control_client *cl)
{
	struct control *c = cl->owner;
	while (cl->reply_sent < cl->reply_len) {
		ssize_t n = send(cl->fd, cl->reply + cl->reply_sent, cl->reply_len - cl->reply_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			cl->reply_sent += (size_t)n;
			cl->last_progress_ms = now_ms();
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = cl };
			if (cl->waiting_for_room)
				return;
			if (epoll_ctl(c->writers, EPOLL_CTL_ADD, cl->fd, &ev) == 0) {
				cl->waiting_for_room = true;
				return;
			}
		}
		break;   /* the client went away, or cannot be waited for */
	}
	client_close(cl);
}

/* The command is complete (or will not grow): reply, then close. */
static void client_answer(struct control_client *cl)
{
	struct control *c = cl->owner;
	event_loop_remove_fd(c->loop, cl->fd);
	cl->command[cl->command_len] = '\0';
	cl->reply = control_handle_command(&c->view, cl->command, cl->command_len);
	cl->state = CLIENT_WRITING;
	if (!cl->reply) {
		client_close(cl);
		return;
	}
	cl->reply_len = strlen(cl->reply);
	cl->reply_sent = 0;
	cl->last_progress_ms = now_ms();
	client_write(cl);
}

/* One line (up to CONTROL_COMMAND_MAX - 1 bytes); its end of input or an
 * error ends it too. */
static void on_client(void *ctx, int fd, uint32_t events)
{
	struct control_client *cl = ctx;
	ssize_t n = read(fd, cl->command + cl->command_len, sizeof(cl->command) - 1 - cl->command_len);
	(void)events;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n > 0) {
		cl->command_len += (size_t)n;
		cl->last_progress_ms = now_ms();
		if (!memchr(cl->command, '\n', cl->command_len) && cl->command_len + 1 < sizeof(cl->command))
			return;
	}
	client_answer(cl);
}

static struct control_client *free_client(struct control *c)
{
	for (unsigned i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (c->clients[i].state == CLIENT_FREE)
			return &c->clients[i];
	return NULL;
}

static void stop_accepting(struct control *c)
{
	event_loop_remove_fd(c->loop, c->fd);
	c->accepting = false;
}

static void on_listen(void *ctx, int fd, uint32_t events)
{
	struct control *c = ctx;
	char err[128];
	(void)events;
	for (unsigned i = 0; i < ACCEPTS_PER_WAKE; i++) {
		struct control_client *cl = free_client(c);
		int client;
		if (!cl) {
			stop_accepting(c);   /* until a client is done */
			return;
		}
		client = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (client < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
				return;
			snprintf(err, sizeof(err), "control socket: accept: %s", strerror(errno));
			stop_accepting(c);
			if (c->on_fatal)
				c->on_fatal(c->fatal_ctx, err);
			return;
		}
		if (event_loop_add_fd(c->loop, client, on_client, cl, err, sizeof(err)) < 0) {
			close(client);   /* the loop is full: this client gets no answer */
			continue;
		}
		cl->fd = client;
		cl->state = CLIENT_READING;
		cl->command_len = 0;
		cl->last_progress_ms = now_ms();
	}
}

/* Clients whose reply waited for room. */
static void on_writers(void *ctx, int fd, uint32_t events)
{
	struct epoll_event ready[CONTROL_CLIENTS_MAX];
	int n = epoll_wait(fd, ready, CONTROL_CLIENTS_MAX, 0);
	(void)ctx;
	(void)events;
	for (int i = 0; i < n; i++)
		client_write(ready[i].data.ptr);
}

static void on_check(void *ctx)
{
	struct control *c = ctx;
	uint64_t now = now_ms();
	for (unsigned i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		struct control_client *cl = &c->clients[i];
		if (cl->state == CLIENT_FREE || now - cl->last_progress_ms < CLIENT_TIMEOUT_MS)
			continue;
		if (cl->state == CLIENT_READING)
			client_answer(cl);   /* what came so far is the command */
		else
			client_close(cl);
	}
}

int control_attach(struct control *c, struct event_loop *loop, void (*on_fatal)(void *ctx, const char *err),
		   void *fatal_ctx, char *err, size_t err_size)
{
	c->loop = loop;
	c->on_fatal = on_fatal;
	c->fatal_ctx = fatal_ctx;
	c->writers = epoll_create1(EPOLL_CLOEXEC);
	if (c->writers < 0) {
		snprintf(err, err_size, "control socket: epoll_create1: %s", strerror(errno));
		return -1;
	}
	if (event_loop_add_fd(loop, c->writers, on_writers, c, err, err_size) < 0)
		return -1;
	c->timer = event_loop_add_timer(loop, CLIENT_CHECK_MS, on_check, c, err, err_size);
	if (c->timer < 0)
		return -1;
	if (event_loop_add_fd(loop, c->fd, on_listen, c, err, err_size) < 0)
		return -1;
	c->accepting = true;
	return 0;
}

void control_close(struct control *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (c->clients[i].state != CLIENT_FREE)
			client_release(&c->clients[i]);
	if (c->loop) {
		if (c->accepting)
			event_loop_remove_fd(c->loop, c->fd);
		if (c->writers >= 0)
			event_loop_remove_fd(c->loop, c->writers);
		event_loop_remove_timer(c->loop, c->timer);
	}
	if (c->writers >= 0)
		close(c->writers);
	if (c->fd >= 0)
		close(c->fd);
	if (c->path[0])
		unlink(c->path);
	free(c);
}
