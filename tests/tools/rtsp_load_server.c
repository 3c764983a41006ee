/* rtsp_load_server.c - an RTSP server (TCP control, RTP over UDP) with a known capacity for the
 * RTSP goodput experiment: one worker serves queued requests with fixed service times (in wall time). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

/* The model, that of sip_load_server for SIP over TCP. Every connection's
 * complete requests (framed by the blank line and Content-Length) join one
 * bounded FIFO as they arrive; a full FIFO stops reading the connections
 * (TCP's flow control) instead of dropping. One worker takes the FIFO's
 * head, stays busy for that request's service time (--setup-us for SETUP,
 * which creates the session, --other-us for OPTIONS, DESCRIBE, PLAY,
 * TEARDOWN and anything else) and sends the answer when the time is up. The
 * worker sleeps in epoll meanwhile, so the capacity is
 * 1 / (setup + 4 other) sessions per second whatever the host's CPUs do.
 *
 * A request whose connection closed while it waited is still served (the
 * server finds out only when it writes the answer): under overload the
 * FIFO fills with the requests of clients that have given up, and the
 * goodput collapses, as with SIP.
 *
 * Media: SETUP takes a UDP port from a pool (--media-base + 2 * slot) and
 * names it in the Transport reply's server_port; PLAY, once answered,
 * streams --rtp-packets RTP packets every --rtp-interval-ms from that port
 * to the client's client_port (the connection's peer address), in real
 * time, also while the worker is busy. The client counts what it received:
 * media loss = packets sent that never arrived. TEARDOWN, or the control
 * connection's close, ends a session and its stream. */

#define QUEUE_DEFAULT 256
#define QUEUE_LIMIT 4096
#define MSG_MAX 2048
#define SESSIONS_MAX 4096
#define MEDIA_DEFAULT 1024
#define MEDIA_LIMIT 2048
#define RESPONSE_MAX 1500
#define READS_PER_WAKE 64
#define LOAD_TICK_US 100000      /* the load file is rewritten every 100 ms */
#define LOAD_WINDOW_TICKS_MAX 100
#define SWEEP_US 250000
#define SESSION_TIMEOUT_US 60000000ull  /* the Session header's timeout=60 */
#define CONNS_MAX 2048           /* RTSP connections at once */
#define CONN_BUF (2 * MSG_MAX)   /* a connection's bytes not yet framed */
#define RTP_PAYLOAD 160          /* 20 ms of G.711 */
#define STREAM_TICK_US 5000      /* streams are served on this grid */
#define EP_LISTEN UINT32_MAX     /* epoll tags; media ports are 0 .. media_count - 1 */
#define EP_CONN 0x80000000u      /* | connection index */

enum session_state { SESSION_FREE = 0, SESSION_READY, SESSION_PLAYING, SESSION_ENDED };

struct session {
	enum session_state state;
	uint32_t id;
	int conn;                 /* its control connection (index, generation) */
	uint32_t conn_gen;
	struct sockaddr_in client;  /* where its RTP goes */
	int media;                /* slot */
	bool torn_down;           /* TEARDOWN after PLAY: a completed session */
	unsigned rtp_left;
	uint16_t rtp_seq;
	uint32_t ssrc;
	uint64_t next_rtp_us, since_us;
};

struct conn {
	int fd;                   /* -1: free */
	uint32_t gen;
	bool paused;              /* not read while the FIFO is full */
	struct sockaddr_in peer;
	size_t len;
	char buf[CONN_BUF];
};

struct queued {
	uint64_t at_us;
	int conn;
	uint32_t conn_gen;
	size_t len;
	char data[MSG_MAX];
};

struct stats {
	uint64_t received, bad, options, describes, setups, plays, teardowns, other_methods;
	uint64_t refused_full, unknown_session, answered_gone, sent, send_errors;
	uint64_t sessions, played, completed, abandoned, expired;
	uint64_t rtp_sent, rtp_send_errors, rtp_stopped_early;
	uint64_t queue_max, queue_wait_max_us, queue_wait_sum_us, served, queue_dropped;
	uint64_t tcp_accepted, tcp_closed, tcp_refused, tcp_pauses, tcp_bad;
};

struct server {
	/* options */
	struct in_addr bind_addr;
	uint16_t port, media_base;
	unsigned media_count, queue_cap, window_ticks, queue_ref, rtp_packets;
	uint64_t setup_us, other_us, rtp_interval_us, lifetime_us;
	const char *load_path, *stats_path, *name;
	FILE *stats;               /* --stats-file: one line per second */
	uint64_t next_stats_us;
	/* state */
	int listen_fd, ep_fd;
	struct conn *conns;        /* CONNS_MAX */
	unsigned conns_paused;
	int media_fd[MEDIA_LIMIT];
	int media_session[MEDIA_LIMIT];  /* session index, -1 free */
	unsigned media_cursor;
	struct session *sessions;  /* SESSIONS_MAX */
	unsigned playing;          /* sessions in SESSION_PLAYING */
	uint32_t next_id;
	struct queued *queue;
	unsigned q_head, q_count;
	bool busy;
	uint64_t busy_start_us, busy_until_us, busy_done_us;
	size_t pending_len;
	int pending_conn, pending_play;  /* the answer's connection; the session PLAY starts, -1 none */
	uint32_t pending_gen;
	char pending[RESPONSE_MAX];
	uint64_t window[LOAD_WINDOW_TICKS_MAX + 1];  /* cumulative busy us at each tick */
	unsigned queue_at[LOAD_WINDOW_TICKS_MAX + 1]; /* queue length at each tick */
	unsigned window_at, window_filled;
	uint64_t start_us;
	double util, load;         /* as last written to the load file */
	struct stats st;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- requests: bounded, never past len ---- */

struct rtsp_view {
	char method[16];
	char uri[256];
	char cseq[16];
	bool have_session;
	uint32_t session;
	bool have_client_port;
	uint16_t client_port;
};

/* The value of header NAME in LINE (LEN bytes), or NULL. */
static const char *header_value(const char *line, size_t len, const char *name, size_t *value_len)
{
	size_t n = strlen(name), at;
	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	at = n + 1;
	while (at < len && (line[at] == ' ' || line[at] == '\t'))
		at++;
	*value_len = len - at;
	return line + at;
}

/* client_port=A[-B] in a Transport value: A. */
static bool transport_client_port(const char *value, size_t len, uint16_t *port)
{
	static const char key[] = "client_port=";
	for (size_t i = 0; i + sizeof(key) - 1 < len; i++) {
		if (strncasecmp(value + i, key, sizeof(key) - 1) != 0)
			continue;
		unsigned long p = 0;
		size_t k = i + sizeof(key) - 1, digits = 0;
		while (k < len && value[k] >= '0' && value[k] <= '9' && digits < 6) {
			p = p * 10 + (unsigned long)(value[k] - '0');
			k++;
			digits++;
		}
		if (digits == 0 || p == 0 || p > 65535)
			return false;
		*port = (uint16_t)p;
		return true;
	}
	return false;
}

/* The request line and the headers we need; false when it is not an RTSP request. */
static bool parse_rtsp(const char *msg, size_t len, struct rtsp_view *v)
{
	const char *end = msg + len, *line = msg, *eol;
	bool first = true, have_cseq = false;
	memset(v, 0, sizeof(*v));
	while (line < end) {
		const char *value;
		size_t value_len, line_len;
		eol = memchr(line, '\n', (size_t)(end - line));
		if (!eol)
			eol = end;
		line_len = (size_t)(eol - line);
		if (line_len && line[line_len - 1] == '\r')
			line_len--;
		if (first) {
			const char *sp1 = memchr(line, ' ', line_len), *sp2;
			first = false;
			if (!sp1 || line_len < 9 || memcmp(line + line_len - 9, " RTSP/1.0", 9) != 0)
				return false;
			size_t m = (size_t)(sp1 - line), u;
			sp2 = line + line_len - 9;
			if (m == 0 || m >= sizeof(v->method) || sp2 <= sp1)
				return false;
			u = (size_t)(sp2 - sp1 - 1);
			if (u == 0 || u >= sizeof(v->uri))
				return false;
			memcpy(v->method, line, m);
			memcpy(v->uri, sp1 + 1, u);
		} else if (line_len == 0) {
			break;
		} else if ((value = header_value(line, line_len, "CSeq", &value_len))) {
			if (value_len == 0 || value_len >= sizeof(v->cseq))
				return false;
			memcpy(v->cseq, value, value_len);
			have_cseq = true;
		} else if ((value = header_value(line, line_len, "Session", &value_len))) {
			char text[16];
			size_t k = 0;
			while (k < value_len && k < sizeof(text) - 1 && value[k] >= '0' && value[k] <= '9') {
				text[k] = value[k];
				k++;
			}
			text[k] = '\0';
			if (k == 0)
				return false;
			v->session = (uint32_t)strtoul(text, NULL, 10);
			v->have_session = true;
		} else if ((value = header_value(line, line_len, "Transport", &value_len))) {
			v->have_client_port = transport_client_port(value, value_len, &v->client_port);
		}
		line = eol < end ? eol + 1 : end;
	}
	return !first && have_cseq;
}

/* ---- responses ---- */

/* "RTSP/1.0 CODE REASON", CSeq, EXTRA header lines (each ending CRLF), and BODY. */
static size_t build_response(const struct rtsp_view *v, int code, const char *reason, const char *extra,
			     const char *content_type, const char *body, char *out, size_t cap)
{
	size_t body_len = body ? strlen(body) : 0;
	int n;
	if (body_len)
		n = snprintf(out, cap,
			     "RTSP/1.0 %d %s\r\nCSeq: %s\r\nServer: rtsp_load_server\r\n%sContent-Type: %s\r\n"
			     "Content-Length: %zu\r\n\r\n%s",
			     code, reason, v->cseq, extra, content_type, body_len, body);
	else
		n = snprintf(out, cap, "RTSP/1.0 %d %s\r\nCSeq: %s\r\nServer: rtsp_load_server\r\n%s\r\n", code,
			     reason, v->cseq, extra);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

static void send_conn(struct server *s, int conn, uint32_t gen, const char *msg, size_t len)
{
	const struct conn *c = &s->conns[conn];
	ssize_t r;
	if (c->fd < 0 || c->gen != gen) {
		s->st.answered_gone++;
		return;
	}
	r = send(c->fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (r == (ssize_t)len)
		s->st.sent++;
	else
		s->st.send_errors++;
}

/* The answer the worker sends when its service time is up. */
static void set_pending(struct server *s, const struct queued *q, const char *msg, size_t len)
{
	if (len == 0 || len > sizeof(s->pending))
		return;
	memcpy(s->pending, msg, len);
	s->pending_len = len;
	s->pending_conn = q->conn;
	s->pending_gen = q->conn_gen;
}

/* ---- sessions and media ---- */

static int find_session(const struct server *s, uint32_t id)
{
	for (int i = 0; i < SESSIONS_MAX; i++)
		if (s->sessions[i].state != SESSION_FREE && s->sessions[i].state != SESSION_ENDED && s->sessions[i].id == id)
			return i;
	return -1;
}

static int free_session(const struct server *s)
{
	for (int i = 0; i < SESSIONS_MAX; i++)
		if (s->sessions[i].state == SESSION_FREE)
			return i;
	return -1;
}

/* Round-robin from the last one handed out: a port comes back as late as possible. */
static int take_media(struct server *s, int session)
{
	for (unsigned k = 0; k < s->media_count; k++) {
		unsigned i = (s->media_cursor + k) % s->media_count;
		if (s->media_session[i] < 0) {
			s->media_session[i] = session;
			s->media_cursor = (i + 1) % s->media_count;
			return (int)i;
		}
	}
	return -1;
}

/* A session stops streaming and gives its port back; its entry lingers as ENDED. */
static void end_session(struct server *s, int i, uint64_t now)
{
	struct session *x = &s->sessions[i];
	if (x->state == SESSION_PLAYING) {
		s->playing--;
		if (x->rtp_left)
			s->st.rtp_stopped_early++;
	}
	if (x->media >= 0)
		s->media_session[x->media] = -1;
	x->media = -1;
	x->rtp_left = 0;
	x->state = SESSION_ENDED;
	x->since_us = now;
}

static void sweep_sessions(struct server *s, uint64_t now, bool all)
{
	for (int i = 0; i < SESSIONS_MAX; i++) {
		struct session *x = &s->sessions[i];
		uint64_t age = now > x->since_us ? now - x->since_us : 0;
		if (x->state == SESSION_READY || x->state == SESSION_PLAYING) {
			if (all || age > SESSION_TIMEOUT_US) {
				if (!all)
					s->st.expired++;
				end_session(s, i, now);
			}
		}
		if (x->state == SESSION_ENDED && (all || age > 2000000)) {
			memset(x, 0, sizeof(*x));
			x->media = -1;
		}
	}
}

/* Every playing session's packets that are due. */
static void stream_media(struct server *s, uint64_t now)
{
	unsigned char pkt[12 + RTP_PAYLOAD];
	memset(pkt + 12, 0xd5, RTP_PAYLOAD);  /* A-law silence */
	for (int i = 0; i < SESSIONS_MAX && s->playing; i++) {
		struct session *x = &s->sessions[i];
		if (x->state != SESSION_PLAYING)
			continue;
		while (x->rtp_left && x->next_rtp_us <= now) {
			uint32_t ts = (uint32_t)x->rtp_seq * 160u;
			pkt[0] = 0x80;
			pkt[1] = 8;
			pkt[2] = (unsigned char)(x->rtp_seq >> 8);
			pkt[3] = (unsigned char)x->rtp_seq;
			pkt[4] = (unsigned char)(ts >> 24);
			pkt[5] = (unsigned char)(ts >> 16);
			pkt[6] = (unsigned char)(ts >> 8);
			pkt[7] = (unsigned char)ts;
			pkt[8] = (unsigned char)(x->ssrc >> 24);
			pkt[9] = (unsigned char)(x->ssrc >> 16);
			pkt[10] = (unsigned char)(x->ssrc >> 8);
			pkt[11] = (unsigned char)x->ssrc;
			if (sendto(s->media_fd[x->media], pkt, sizeof(pkt), MSG_DONTWAIT, (const struct sockaddr *)&x->client,
				   sizeof(x->client)) == (ssize_t)sizeof(pkt))
				s->st.rtp_sent++;
			else
				s->st.rtp_send_errors++;
			x->rtp_seq++;
			x->rtp_left--;
			x->next_rtp_us += s->rtp_interval_us;
		}
	}
}

static uint64_t next_stream_us(const struct server *s, uint64_t now)
{
	return s->playing ? now + STREAM_TICK_US : UINT64_MAX;
}

/* A connection closed: the sessions it controlled end (the server's choice;
 * RTSP lets a session outlive its connection, this client never needs it). */
static void conn_sessions_end(struct server *s, unsigned conn, uint32_t gen, uint64_t now)
{
	for (int i = 0; i < SESSIONS_MAX; i++) {
		struct session *x = &s->sessions[i];
		if ((x->state == SESSION_READY || x->state == SESSION_PLAYING) && x->conn == (int)conn &&
		    x->conn_gen == gen) {
			s->st.abandoned++;
			end_session(s, i, now);
		}
	}
}

/* ---- the worker ---- */

/* Handles one request; returns its service time. */
static uint64_t serve(struct server *s, const struct queued *q, uint64_t now)
{
	struct rtsp_view v;
	char out[RESPONSE_MAX], extra[384];
	size_t len;
	int i;
	if (!parse_rtsp(q->data, q->len, &v)) {
		s->st.bad++;
		return 0;
	}
	i = v.have_session ? find_session(s, v.session) : -1;
	if (strcmp(v.method, "OPTIONS") == 0) {
		s->st.options++;
		len = build_response(&v, 200, "OK", "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n", NULL, NULL,
				     out, sizeof(out));
	} else if (strcmp(v.method, "DESCRIBE") == 0) {
		char sdp[384], base[300];
		s->st.describes++;
		snprintf(sdp, sizeof(sdp),
			 "v=0\r\no=- %u 1 IN IP4 0.0.0.0\r\ns=rtsp_load_server\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
			 "a=control:*\r\nm=audio 0 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=control:track1\r\n",
			 s->next_id);
		snprintf(base, sizeof(base), "Content-Base: %.256s/\r\n", v.uri);
		len = build_response(&v, 200, "OK", base, "application/sdp", sdp, out, sizeof(out));
	} else if (strcmp(v.method, "SETUP") == 0) {
		int slot = -1;
		s->st.setups++;
		if (!v.have_client_port) {
			len = build_response(&v, 461, "Unsupported Transport", "", NULL, NULL, out, sizeof(out));
			set_pending(s, q, out, len);
			return s->other_us;
		}
		if (i < 0)
			i = free_session(s);
		if (i >= 0 && s->sessions[i].state == SESSION_FREE)
			slot = take_media(s, i);
		else if (i >= 0)
			slot = s->sessions[i].media;   /* SETUP again in a session: its port stays */
		if (i < 0 || slot < 0 || s->conns[q->conn].gen != q->conn_gen || s->conns[q->conn].fd < 0) {
			/* No room, or the client has gone: nothing to set up. */
			if (i < 0 || slot < 0)
				s->st.refused_full++;
			len = build_response(&v, 453, "Not Enough Bandwidth", "", NULL, NULL, out, sizeof(out));
			set_pending(s, q, out, len);
			return s->setup_us;
		}
		struct session *x = &s->sessions[i];
		if (x->state == SESSION_FREE) {
			memset(x, 0, sizeof(*x));
			x->id = ++s->next_id;
			x->ssrc = (uint32_t)(x->id * 2654435761u);
			x->state = SESSION_READY;
			x->media = slot;
			x->conn = q->conn;
			x->conn_gen = q->conn_gen;
			s->st.sessions++;
		}
		x->client = s->conns[q->conn].peer;
		x->client.sin_port = htons(v.client_port);
		x->since_us = now;
		snprintf(extra, sizeof(extra),
			 "Transport: RTP/AVP;unicast;client_port=%u-%u;server_port=%u-%u;ssrc=%08X\r\n"
			 "Session: %u;timeout=60\r\n",
			 v.client_port, v.client_port + 1u, s->media_base + 2u * (unsigned)slot,
			 s->media_base + 2u * (unsigned)slot + 1u, x->ssrc, x->id);
		len = build_response(&v, 200, "OK", extra, NULL, NULL, out, sizeof(out));
		set_pending(s, q, out, len);
		return s->setup_us;
	} else if (strcmp(v.method, "PLAY") == 0) {
		s->st.plays++;
		if (i < 0) {
			s->st.unknown_session++;
			len = build_response(&v, 454, "Session Not Found", "", NULL, NULL, out, sizeof(out));
		} else {
			snprintf(extra, sizeof(extra), "Session: %u;timeout=60\r\nRange: npt=0.000-\r\n", s->sessions[i].id);
			len = build_response(&v, 200, "OK", extra, NULL, NULL, out, sizeof(out));
			if (s->sessions[i].state == SESSION_READY)
				s->pending_play = i;   /* streams once the answer is out */
		}
	} else if (strcmp(v.method, "TEARDOWN") == 0) {
		s->st.teardowns++;
		if (i < 0) {
			s->st.unknown_session++;
			len = build_response(&v, 454, "Session Not Found", "", NULL, NULL, out, sizeof(out));
		} else {
			if (s->sessions[i].state == SESSION_PLAYING) {
				s->sessions[i].torn_down = true;
				s->st.completed++;
			}
			snprintf(extra, sizeof(extra), "Session: %u\r\n", s->sessions[i].id);
			end_session(s, i, now);
			len = build_response(&v, 200, "OK", extra, NULL, NULL, out, sizeof(out));
		}
	} else {
		s->st.other_methods++;
		len = build_response(&v, 501, "Not Implemented", "", NULL, NULL, out, sizeof(out));
	}
	set_pending(s, q, out, len);
	return s->other_us;
}

/* The answer is out: PLAY's session starts streaming (if its client is still there). */
static void start_play(struct server *s, uint64_t now)
{
	struct session *x = &s->sessions[s->pending_play];
	s->pending_play = -1;
	if (x->state != SESSION_READY)
		return;
	x->state = SESSION_PLAYING;
	x->rtp_left = s->rtp_packets;
	x->next_rtp_us = now;
	x->since_us = now;
	s->playing++;
	s->st.played++;
}

/* Takes the next queued request when idle; finishes the current one when its time is up. */
static void run_worker(struct server *s, uint64_t now)
{
	for (;;) {
		if (s->busy) {
			if (now < s->busy_until_us)
				return;
			if (s->pending_len) {
				send_conn(s, s->pending_conn, s->pending_gen, s->pending, s->pending_len);
				s->pending_len = 0;
			}
			if (s->pending_play >= 0)
				start_play(s, now);
			s->busy_done_us += s->busy_until_us - s->busy_start_us;
			s->busy = false;
		}
		if (s->q_count == 0)
			return;
		struct queued *q = &s->queue[s->q_head];
		uint64_t wait = now > q->at_us ? now - q->at_us : 0, service;
		s->st.served++;
		s->st.queue_wait_sum_us += wait;
		if (wait > s->st.queue_wait_max_us)
			s->st.queue_wait_max_us = wait;
		service = serve(s, q, now);
		s->q_head = (s->q_head + 1) % s->queue_cap;
		s->q_count--;
		s->busy = true;
		s->busy_start_us = now;
		s->busy_until_us = now + service;
	}
}

/* ---- connections ---- */

static void conn_close(struct server *s, unsigned i, uint64_t now)
{
	struct conn *c = &s->conns[i];
	if (c->paused)
		s->conns_paused--;
	epoll_ctl(s->ep_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	conn_sessions_end(s, i, c->gen, now);
	c->fd = -1;
	c->gen++;
	c->len = 0;
	c->paused = false;
	s->st.tcp_closed++;
}

static void accept_conns(struct server *s)
{
	for (int k = 0; k < READS_PER_WAKE; k++) {
		struct sockaddr_in peer;
		socklen_t peer_len = sizeof(peer);
		int fd = accept4(s->listen_fd, (struct sockaddr *)&peer, &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		unsigned i;
		if (fd < 0)
			return;
		for (i = 0; i < CONNS_MAX && s->conns[i].fd >= 0; i++)
			;
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = EP_CONN | i };
		if (i == CONNS_MAX || epoll_ctl(s->ep_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			s->st.tcp_refused++;
			close(fd);
			continue;
		}
		s->conns[i].fd = fd;
		s->conns[i].len = 0;
		s->conns[i].peer = peer;
		s->st.tcp_accepted++;
	}
}

/* The length of the first message in BUF (headers, blank line, Content-Length
 * bytes of body); 0 while incomplete; -1 when it cannot be framed. */
static long frame_length(const char *buf, size_t len)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	size_t head, body = 0;
	if (!end)
		return len >= MSG_MAX ? -1 : 0;
	head = (size_t)(end - buf) + 4;
	for (const char *line = buf; line < end;) {
		const char *eol = memmem(line, (size_t)(end - line), "\r\n", 2), *value;
		size_t line_len = eol ? (size_t)(eol - line) : (size_t)(end - line), value_len;
		if ((value = header_value(line, line_len, "Content-Length", &value_len))) {
			char text[16];
			if (value_len == 0 || value_len >= sizeof(text))
				return -1;
			memcpy(text, value, value_len);
			text[value_len] = '\0';
			body = strtoul(text, NULL, 10);
		}
		line += line_len + 2;
	}
	if (head + body > MSG_MAX)
		return -1;
	return head + body <= len ? (long)(head + body) : 0;
}

/* Moves a connection's complete requests into the FIFO while it has room. */
static void conn_frame(struct server *s, unsigned i, uint64_t now)
{
	struct conn *c = &s->conns[i];
	size_t at = 0;
	while (s->q_count < s->queue_cap) {
		long n = frame_length(c->buf + at, c->len - at);
		if (n < 0) {
			s->st.tcp_bad++;
			conn_close(s, i, now);
			return;
		}
		if (n == 0)
			break;
		struct queued *q = &s->queue[(s->q_head + s->q_count) % s->queue_cap];
		memcpy(q->data, c->buf + at, (size_t)n);
		q->len = (size_t)n;
		q->conn = (int)i;
		q->conn_gen = c->gen;
		q->at_us = now;
		s->st.received++;
		at += (size_t)n;
		s->q_count++;
		if (s->q_count > s->st.queue_max)
			s->st.queue_max = s->q_count;
	}
	memmove(c->buf, c->buf + at, c->len - at);
	c->len -= at;
}

/* Reads while the buffer has room; a connection with bytes left when the
 * FIFO is full is paused (not polled) until the FIFO has room again. */
static void conn_read(struct server *s, unsigned i, uint64_t now)
{
	struct conn *c = &s->conns[i];
	while (c->fd >= 0 && c->len < sizeof(c->buf)) {
		ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			conn_close(s, i, now);
			return;
		}
		if (r < 0)
			break;
		c->len += (size_t)r;
		conn_frame(s, i, now);
	}
	if (c->fd >= 0 && c->len > 0 && s->q_count >= s->queue_cap && !c->paused) {
		struct epoll_event ev = { .events = 0, .data.u32 = EP_CONN | i };
		epoll_ctl(s->ep_fd, EPOLL_CTL_MOD, c->fd, &ev);
		c->paused = true;
		s->conns_paused++;
		s->st.tcp_pauses++;
	}
}

static void conns_resume(struct server *s, uint64_t now)
{
	for (unsigned i = 0; i < CONNS_MAX && s->conns_paused && s->q_count < s->queue_cap; i++) {
		struct conn *c = &s->conns[i];
		if (c->fd < 0 || !c->paused)
			continue;
		conn_frame(s, i, now);
		if (c->fd >= 0 && s->q_count < s->queue_cap) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = EP_CONN | i };
			epoll_ctl(s->ep_fd, EPOLL_CTL_MOD, c->fd, &ev);
			c->paused = false;
			s->conns_paused--;
		}
	}
}

static void read_media(struct server *s, unsigned slot)
{
	char buf[2048];
	for (int k = 0; k < READS_PER_WAKE; k++)
		if (recv(s->media_fd[slot], buf, sizeof(buf), MSG_DONTWAIT) < 0)
			break;
}

/* ---- load and stats files ---- */

static uint64_t busy_cumulative(const struct server *s, uint64_t now)
{
	uint64_t b = s->busy_done_us;
	if (s->busy)
		b += (now < s->busy_until_us ? now : s->busy_until_us) - s->busy_start_us;
	return b;
}

/* "LOAD UTILISATION QUEUE\n", replaced atomically every 100 ms, as
 * sip_load_server writes it: LOAD = (UTILISATION + min(1, mean queue over
 * the window / --queue-ref)) / 2, since a single busy worker reads 1 both at
 * capacity and far beyond it; the backlog tells them apart. */
static void write_load(struct server *s, uint64_t now)
{
	char tmp[4096 + 8], text[64];
	unsigned oldest, span, queue;
	uint64_t cum = busy_cumulative(s, now);
	double util, queue_sum = 0.0, backlog;
	int fd, n;
	s->window_at = (s->window_at + 1) % (s->window_ticks + 1);
	s->window[s->window_at] = cum;
	if (s->window_filled < s->window_ticks)
		s->window_filled++;
	span = s->window_filled;
	oldest = (s->window_at + s->window_ticks + 1 - span) % (s->window_ticks + 1);
	util = span ? (double)(cum - s->window[oldest]) / ((double)span * LOAD_TICK_US) : 0.0;
	if (util > 1.0)
		util = 1.0;
	s->util = util;
	queue = s->q_count + (s->busy ? 1u : 0u);
	s->queue_at[s->window_at] = queue;
	for (unsigned k = 0; k < span; k++)
		queue_sum += s->queue_at[(s->window_at + s->window_ticks + 1 - k) % (s->window_ticks + 1)];
	backlog = span ? queue_sum / span / s->queue_ref : 0.0;
	s->load = (util + (backlog > 1.0 ? 1.0 : backlog)) / 2.0;
	if (!s->load_path)
		return;
	n = snprintf(text, sizeof(text), "%.4f %.4f %u\n", s->load, util, queue);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", s->load_path) >= sizeof(tmp))
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, text, (size_t)n) == n) {
		close(fd);
		rename(tmp, s->load_path);
	} else {
		close(fd);
	}
}

/* "EPOCH SECONDS SETUPS PLAYED COMPLETED QUEUE_DROPPED UTILISATION QUEUE
 * REQUESTS LOAD" once per second, the columns of sip_load_server's stats
 * file (SETUP for INVITE, PLAY answered for answered, TEARDOWN of a played
 * session for completed; nothing is dropped over TCP), so that the
 * experiments read both alike. */
static void write_stats(struct server *s, uint64_t now)
{
	struct timespec wall;
	if (!s->stats)
		return;
	clock_gettime(CLOCK_REALTIME, &wall);
	fprintf(s->stats, "%.3f %.3f %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %.3f %u %" PRIu64 " %.3f\n",
		(double)wall.tv_sec + (double)wall.tv_nsec / 1e9, (double)(now - s->start_us) / 1e6, s->st.setups,
		s->st.played, s->st.completed, s->st.queue_dropped, s->util, s->q_count + (s->busy ? 1u : 0u),
		s->st.received, s->load);
	fflush(s->stats);
}

static void print_summary(struct server *s, uint64_t now)
{
	const struct stats *t = &s->st;
	double wall = (double)(now - s->start_us) / 1e6;
	unsigned open_sessions = 0;
	for (int i = 0; i < SESSIONS_MAX; i++)
		if (s->sessions[i].state == SESSION_READY || s->sessions[i].state == SESSION_PLAYING)
			open_sessions++;
	sweep_sessions(s, now, true);
	printf("{\"server\": \"%s\", \"wall_s\": %.3f, \"busy_s\": %.3f, \"capacity_sessions_per_s\": %.3f, "
	       "\"sessions\": {\"set_up\": %" PRIu64 ", \"played\": %" PRIu64 ", \"completed\": %" PRIu64
	       ", \"abandoned\": %" PRIu64 ", \"expired\": %" PRIu64 ", \"open_at_exit\": %u, \"refused_full\": %" PRIu64 "}, "
	       "\"rtp\": {\"sent\": %" PRIu64 ", \"send_errors\": %" PRIu64 ", \"per_session\": %u, \"stopped_early\": %" PRIu64 "}, "
	       "\"requests\": {\"received\": %" PRIu64 ", \"bad\": %" PRIu64 ", \"options\": %" PRIu64
	       ", \"describe\": %" PRIu64 ", \"setup\": %" PRIu64 ", \"play\": %" PRIu64 ", \"teardown\": %" PRIu64
	       ", \"other\": %" PRIu64 ", \"unknown_session\": %" PRIu64 "}, "
	       "\"sent\": {\"messages\": %" PRIu64 ", \"errors\": %" PRIu64 ", \"client_gone\": %" PRIu64 "}, "
	       "\"queue\": {\"capacity\": %u, \"max\": %" PRIu64 ", \"wait_mean_ms\": %.1f, \"wait_max_ms\": %.1f}, "
	       "\"tcp\": {\"accepted\": %" PRIu64 ", \"closed\": %" PRIu64 ", \"refused\": %" PRIu64
	       ", \"pauses\": %" PRIu64 ", \"bad\": %" PRIu64 "}}\n",
	       s->name, wall, (double)busy_cumulative(s, now) / 1e6, 1e6 / (double)(s->setup_us + 4 * s->other_us),
	       t->sessions, t->played, t->completed, t->abandoned, t->expired, open_sessions, t->refused_full,
	       t->rtp_sent, t->rtp_send_errors, s->rtp_packets, t->rtp_stopped_early, t->received, t->bad, t->options,
	       t->describes, t->setups, t->plays, t->teardowns, t->other_methods, t->unknown_session, t->sent,
	       t->send_errors, t->answered_gone, s->queue_cap, t->queue_max,
	       t->served ? (double)t->queue_wait_sum_us / (double)t->served / 1000.0 : 0.0,
	       (double)t->queue_wait_max_us / 1000.0, t->tcp_accepted, t->tcp_closed, t->tcp_refused, t->tcp_pauses,
	       t->tcp_bad);
	fflush(stdout);
}

/* ---- set-up ---- */

static int tcp_listener(struct in_addr addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = addr };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1024) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int udp_socket(struct in_addr addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = addr };
	int one = 1, fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: rtsp_load_server [--bind ADDR] [--port N] [--media-base N] [--media-ports N]\n"
		"                        [--setup-us N] [--other-us N] [--queue N] [--rtp-packets N]\n"
		"                        [--rtp-interval-ms N] [--load-file PATH] [--load-window-ms N]\n"
		"                        [--queue-ref N] [--stats-file PATH] [--lifetime-s N] [--name NAME]\n"
		"An RTSP server (TCP, default port 8554) with a known capacity: one worker, a fixed\n"
		"service time per request (SETUP --setup-us, default 60000; OPTIONS, DESCRIBE, PLAY,\n"
		"TEARDOWN and others --other-us, default 10000), spent sleeping, so capacity =\n"
		"1e6 / (setup + 4 * other) sessions/s. Requests wait in a FIFO of --queue entries\n"
		"(default %d; full = connections not read). SETUP (Transport client_port) -> 200 with\n"
		"server_port = --media-base + 2 * slot (default 40000, --media-ports %d slots) and a\n"
		"Session; PLAY -> 200, then --rtp-packets (default 50) RTP packets every\n"
		"--rtp-interval-ms (default 40) to the client's client_port; TEARDOWN or the\n"
		"connection's close ends the session. --load-file and --stats-file as\n"
		"sip_load_server's (stats columns: EPOCH SECONDS SETUPS PLAYED COMPLETED 0 UTIL QUEUE\n"
		"REQUESTS LOAD). SIGTERM/SIGINT or --lifetime-s: a JSON summary on stdout, then exit 0.\n",
		QUEUE_DEFAULT, MEDIA_DEFAULT);
}

static bool parse_u64(const char *text, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || v > max)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "bind", required_argument, NULL, 'b' },        { "port", required_argument, NULL, 'p' },
		{ "media-base", required_argument, NULL, 'B' },  { "media-ports", required_argument, NULL, 'M' },
		{ "setup-us", required_argument, NULL, 'U' },    { "other-us", required_argument, NULL, 'O' },
		{ "queue", required_argument, NULL, 'q' },       { "rtp-packets", required_argument, NULL, 'P' },
		{ "rtp-interval-ms", required_argument, NULL, 'i' }, { "load-file", required_argument, NULL, 'L' },
		{ "load-window-ms", required_argument, NULL, 'W' }, { "queue-ref", required_argument, NULL, 'R' },
		{ "stats-file", required_argument, NULL, 'S' },  { "lifetime-s", required_argument, NULL, 'T' },
		{ "name", required_argument, NULL, 'n' },        { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct server s;  /* large: not on the stack */
	uint64_t v, next_load, next_sweep, deadline = 0;
	int opt, status = 1;
	struct sigaction sa;

	s.port = 8554;
	s.media_base = 40000;
	s.media_count = MEDIA_DEFAULT;
	s.queue_cap = QUEUE_DEFAULT;
	s.setup_us = 60000;
	s.other_us = 10000;
	s.rtp_packets = 50;
	s.rtp_interval_us = 40000;
	s.window_ticks = 10;
	s.queue_ref = 16;
	s.name = "rtsp_load_server";
	s.listen_fd = s.ep_fd = -1;
	s.pending_play = -1;
	s.bind_addr.s_addr = htonl(INADDR_ANY);
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'b':
			if (inet_pton(AF_INET, optarg, &s.bind_addr) != 1)
				goto bad;
			break;
		case 'p':
			if (!parse_u64(optarg, 65535, &v) || v == 0)
				goto bad;
			s.port = (uint16_t)v;
			break;
		case 'B':
			if (!parse_u64(optarg, 65534, &v) || v == 0)
				goto bad;
			s.media_base = (uint16_t)(v & ~1ull);
			break;
		case 'M':
			if (!parse_u64(optarg, MEDIA_LIMIT, &v) || v == 0)
				goto bad;
			s.media_count = (unsigned)v;
			break;
		case 'U':
			if (!parse_u64(optarg, 10000000, &s.setup_us))
				goto bad;
			break;
		case 'O':
			if (!parse_u64(optarg, 10000000, &s.other_us))
				goto bad;
			break;
		case 'q':
			if (!parse_u64(optarg, QUEUE_LIMIT, &v) || v == 0)
				goto bad;
			s.queue_cap = (unsigned)v;
			break;
		case 'P':
			if (!parse_u64(optarg, 100000, &v))
				goto bad;
			s.rtp_packets = (unsigned)v;
			break;
		case 'i':
			if (!parse_u64(optarg, 10000, &v) || v == 0)
				goto bad;
			s.rtp_interval_us = v * 1000;
			break;
		case 'L': s.load_path = optarg; break;
		case 'W':
			if (!parse_u64(optarg, LOAD_WINDOW_TICKS_MAX * LOAD_TICK_US / 1000, &v) || v < LOAD_TICK_US / 1000)
				goto bad;
			s.window_ticks = (unsigned)(v * 1000 / LOAD_TICK_US);
			break;
		case 'R':
			if (!parse_u64(optarg, QUEUE_LIMIT, &v) || v == 0)
				goto bad;
			s.queue_ref = (unsigned)v;
			break;
		case 'S': s.stats_path = optarg; break;
		case 'T':
			if (!parse_u64(optarg, 86400, &v))
				goto bad;
			s.lifetime_us = v * 1000000;
			break;
		case 'n': s.name = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (unsigned)s.media_base + 2u * s.media_count > 65536u) {
		usage(stderr);
		return 2;
	}

	/* One descriptor per media port and connection, plus a few. */
	struct rlimit rl;
	rlim_t want = s.media_count + CONNS_MAX + 32u;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (unsigned i = 0; i < MEDIA_LIMIT; i++) {
		s.media_fd[i] = -1;
		s.media_session[i] = -1;
	}
	s.sessions = calloc(SESSIONS_MAX, sizeof(*s.sessions));
	s.queue = calloc(s.queue_cap, sizeof(*s.queue));
	s.conns = calloc(CONNS_MAX, sizeof(*s.conns));
	if (!s.sessions || !s.queue || !s.conns) {
		fprintf(stderr, "rtsp_load_server: out of memory\n");
		goto out;
	}
	for (int i = 0; i < SESSIONS_MAX; i++)
		s.sessions[i].media = -1;
	for (int i = 0; i < CONNS_MAX; i++)
		s.conns[i].fd = -1;
	if (s.stats_path && !(s.stats = fopen(s.stats_path, "we"))) {
		fprintf(stderr, "rtsp_load_server: %s: %s\n", s.stats_path, strerror(errno));
		goto out;
	}
	s.ep_fd = epoll_create1(EPOLL_CLOEXEC);
	s.listen_fd = tcp_listener(s.bind_addr, s.port);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = EP_LISTEN };
	if (s.ep_fd < 0 || s.listen_fd < 0 || epoll_ctl(s.ep_fd, EPOLL_CTL_ADD, s.listen_fd, &ev) != 0) {
		fprintf(stderr, "rtsp_load_server: tcp port %u: %s\n", s.port, strerror(errno));
		goto out;
	}
	for (unsigned i = 0; i < s.media_count; i++) {
		s.media_fd[i] = udp_socket(s.bind_addr, (uint16_t)(s.media_base + 2 * i));
		ev.data.u32 = i;
		if (s.media_fd[i] < 0 || epoll_ctl(s.ep_fd, EPOLL_CTL_ADD, s.media_fd[i], &ev) != 0) {
			fprintf(stderr, "rtsp_load_server: media port %u: %s\n", s.media_base + 2 * i, strerror(errno));
			goto out;
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	s.start_us = now_us();
	if (s.lifetime_us)
		deadline = s.start_us + s.lifetime_us;
	next_load = s.start_us;
	next_sweep = s.start_us + SWEEP_US;
	s.next_stats_us = s.start_us + 1000000;
	fprintf(stderr, "rtsp_load_server %s: tcp %s:%u, media %u ports from %u, setup %" PRIu64 " us, other %" PRIu64
		" us, %u RTP packets every %" PRIu64 " ms: capacity %.2f sessions/s\n", s.name, inet_ntoa(s.bind_addr),
		s.port, s.media_count, s.media_base, s.setup_us, s.other_us, s.rtp_packets, s.rtp_interval_us / 1000,
		1e6 / (double)(s.setup_us + 4 * s.other_us));

	while (!stop_requested) {
		struct epoll_event events[64];
		uint64_t now = now_us(), wake = next_load, stream_at;
		int timeout_ms, n;
		if (deadline && now >= deadline)
			break;
		run_worker(&s, now);
		if (s.conns_paused)
			conns_resume(&s, now);
		stream_media(&s, now);
		if (now >= next_load) {
			write_load(&s, now);
			next_load += LOAD_TICK_US;
			if (next_load <= now)
				next_load = now + LOAD_TICK_US;
		}
		if (now >= s.next_stats_us) {
			write_stats(&s, now);
			s.next_stats_us += 1000000;
		}
		if (now >= next_sweep) {
			sweep_sessions(&s, now, false);
			next_sweep = now + SWEEP_US;
		}
		if (s.busy && s.busy_until_us < wake)
			wake = s.busy_until_us;
		stream_at = next_stream_us(&s, now);
		if (stream_at < wake)
			wake = stream_at;
		now = now_us();
		timeout_ms = wake > now ? (int)((wake - now + 999) / 1000) : 0;
		n = epoll_wait(s.ep_fd, events, 64, timeout_ms);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "rtsp_load_server: epoll_wait: %s\n", strerror(errno));
			goto out;
		}
		now = now_us();
		for (int k = 0; k < n; k++) {
			uint32_t tag = events[k].data.u32;
			if (tag == EP_LISTEN)
				accept_conns(&s);
			else if (tag & EP_CONN)
				conn_read(&s, tag & ~EP_CONN, now);
			else if (tag < s.media_count)
				read_media(&s, tag);
		}
	}
	print_summary(&s, now_us());
	status = 0;
out:
	for (unsigned i = 0; i < MEDIA_LIMIT; i++)
		if (s.media_fd[i] >= 0)
			close(s.media_fd[i]);
	if (s.listen_fd >= 0)
		close(s.listen_fd);
	for (unsigned i = 0; s.conns && i < CONNS_MAX; i++)
		if (s.conns[i].fd >= 0)
			close(s.conns[i].fd);
	free(s.conns);
	if (s.ep_fd >= 0)
		close(s.ep_fd);
	if (s.stats)
		fclose(s.stats);
	free(s.sessions);
	free(s.queue);
	return status;
bad:
	fprintf(stderr, "rtsp_load_server: bad value for an option: %s\n", optarg ? optarg : "?");
	usage(stderr);
	return 2;
}
