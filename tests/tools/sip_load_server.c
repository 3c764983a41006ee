/* sip_load_server.c - a SIP UAS (UDP and TCP) with a known capacity for the goodput and
 * slow-start experiments: one worker serves queued messages with fixed service times (in wall time). */
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

/* The model. Every datagram to the SIP port is read at once into a bounded FIFO
 * (the application's backlog; full = dropped, as a full socket buffer would).
 * One worker takes the FIFO's head, stays busy for that message's service time
 * (--invite-us for a new INVITE, --other-us for everything else, including an
 * absorbed retransmission) and sends the answer when the time is up. The
 * worker sleeps in epoll meanwhile, so the capacity is 1 / (invite + 2 other)
 * calls per second whatever the host's CPUs are doing; under overload the
 * FIFO grows, answers come late, the clients retransmit (which costs the
 * worker more) and give up: the classic goodput collapse.
 *
 * 100 Trying goes out as soon as a new INVITE arrives, at no cost (the
 * transaction layer, RFC 3261 17.2.1, with its own thread in a real server):
 * it stops the client's INVITE retransmissions, and a retransmission that
 * arrives while the INVITE still waits in the FIFO gets the 100 again
 * instead of a place in the FIFO. So overload shows as late answers (past
 * the client's patience: the call fails, the work was wasted), a full FIFO
 * (dropped requests the client retransmits) and retransmitted BYEs, not as
 * an INVITE retransmission storm that no admission could stop.
 *
 * SIP over TCP: connections on the same port feed the same FIFO with the
 * messages framed from their streams (by Content-Length); a full FIFO stops
 * reading a connection (TCP's flow control, the client's data waits in the
 * socket buffers) instead of dropping, since nobody retransmits over TCP.
 * Responses go back on the connection a request came in.
 *
 * Media: each call gets its own UDP port from a pool (--media-base +
 * 2 * slot, even ports), put in the 200's SDP answer, so every call's media
 * is a distinct flow the dispatcher must predict from the SDP. Packets are
 * counted per call, in real time, also while the worker is busy. */

#define QUEUE_DEFAULT 128
#define QUEUE_LIMIT 4096
#define MSG_MAX 4096
#define CALLS_MAX 4096
#define MEDIA_DEFAULT 512
#define MEDIA_LIMIT 2048
#define CALL_ID_MAX 160
#define RESPONSE_MAX 1500
#define HEADERS_COPY_MAX 1100    /* Via/From/To/Call-ID/CSeq copied into a response */
#define READS_PER_WAKE 64        /* datagrams read per socket per wake-up */
#define LOAD_TICK_US 100000      /* the load file is rewritten every 100 ms */
#define LOAD_WINDOW_TICKS_MAX 100
#define SWEEP_US 250000
#define ENDED_LINGER_US 2000000  /* a finished call keeps its port for late RTP and BYE retransmissions */
#define CONNS_MAX 256            /* SIP/TCP connections at once */
#define CONN_BUF (2 * MSG_MAX)   /* a connection's bytes not yet framed */
#define EP_SIP_UDP UINT32_MAX    /* epoll tags; media ports are 0 .. media_count - 1 */
#define EP_SIP_LISTEN (UINT32_MAX - 1)
#define EP_CONN 0x80000000u      /* | connection index */

enum call_state { CALL_FREE = 0, CALL_QUEUED, CALL_ANSWERED, CALL_CONFIRMED, CALL_ENDED };

struct call {
	enum call_state state;
	bool completed;           /* BYE seen after the call was answered */
	char call_id[CALL_ID_MAX];
	size_t call_id_len;
	uint32_t invite_cseq;
	unsigned tag;
	int media;                /* slot, -1 none */
	uint64_t rtp;
	uint64_t since_us;        /* last state change */
	size_t last_len;          /* the last final response to the INVITE, for retransmissions */
	char last_response[RESPONSE_MAX];
};

/* Where a request came from and its answer goes: a UDP address, or a TCP
 * connection (index and generation: a closed one's late answers are dropped). */
struct peer {
	struct sockaddr_in addr;
	int conn;                 /* -1: UDP */
	uint32_t conn_gen;
};

struct conn {
	int fd;                   /* -1: free */
	uint32_t gen;
	bool paused;              /* not read while the FIFO is full */
	size_t len;
	char buf[CONN_BUF];
};

struct queued {
	uint64_t at_us;
	struct peer from;
	size_t len;
	char data[MSG_MAX];
};

struct stats {
	uint64_t received, queue_dropped, bad, responses_ignored, invites_arrived;
	uint64_t invites, invite_retrans, reinvites, acks, acks_stray, byes, byes_retrans, byes_unknown;
	uint64_t options, cancels, other_methods;
	uint64_t trying_sent, invite_retrans_trying, answered, completed, refused_full, expired_no_ack, expired_no_bye,
		expired_queued;
	uint64_t sent, send_errors, response_too_big;
	uint64_t rtp_total, rtp_stray, rtp_completed_sum, rtp_completed_min, rtp_completed_max, finalized_completed;
	uint64_t queue_max, queue_wait_max_us, queue_wait_sum_us, served;
	uint64_t tcp_accepted, tcp_closed, tcp_refused, tcp_messages, tcp_pauses, tcp_bad;
};

struct server {
	/* options */
	struct in_addr bind_addr, media_addr;
	uint16_t port, media_base;
	unsigned media_count, queue_cap, window_ticks;
	uint64_t invite_us, other_us, ack_timeout_us, call_timeout_us, lifetime_us;
	const char *load_path, *stats_path, *name;
	FILE *stats;               /* --stats-file: one line per second */
	uint64_t next_stats_us;
	/* state */
	int sip_fd, listen_fd, ep_fd;
	struct conn *conns;        /* CONNS_MAX */
	unsigned conns_paused;
	int media_fd[MEDIA_LIMIT];
	int media_call[MEDIA_LIMIT];  /* call index, -1 free */
	unsigned media_cursor;
	struct call *calls;
	unsigned tag_next;
	struct queued *queue;
	unsigned q_head, q_count;
	bool busy;
	uint64_t busy_start_us, busy_until_us, busy_done_us;
	size_t pending_len;
	struct peer pending_to;
	char pending[RESPONSE_MAX];
	uint64_t window[LOAD_WINDOW_TICKS_MAX + 1];  /* cumulative busy us at each tick */
	unsigned queue_at[LOAD_WINDOW_TICKS_MAX + 1]; /* queue length at each tick */
	unsigned queue_ref;        /* --queue-ref: the backlog that counts as fully loaded */
	unsigned window_at, window_filled;
	uint64_t start_us;
	double util;               /* over the load window, as last written */
	double load;               /* the load file's first number, as last written */
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

/* ---- message parsing: bounded, never past len ---- */

struct sip_view {
	bool request;
	char method[16];
	const char *call_id;
	size_t call_id_len;
	uint32_t cseq;
	char cseq_method[16];
	bool to_has_tag;
	char copy[HEADERS_COPY_MAX];  /* the header lines a response repeats */
	size_t copy_len;
	bool copy_overflow;
};

static bool line_is(const char *line, size_t len, const char *full, const char *compact, const char **value,
		    size_t *value_len)
{
	size_t n = strlen(full), c = compact ? strlen(compact) : 0, name_len = 0;
	if (len > n && strncasecmp(line, full, n) == 0 && (line[n] == ':' || line[n] == ' ' || line[n] == '\t'))
		name_len = n;
	else if (c && len > c && strncasecmp(line, compact, c) == 0 && (line[c] == ':' || line[c] == ' ' || line[c] == '\t'))
		name_len = c;
	if (!name_len)
		return false;
	size_t at = name_len;
	while (at < len && (line[at] == ' ' || line[at] == '\t'))
		at++;
	if (at >= len || line[at] != ':')
		return false;
	at++;
	while (at < len && (line[at] == ' ' || line[at] == '\t'))
		at++;
	*value = line + at;
	*value_len = len - at;
	return true;
}

static void copy_line(struct sip_view *v, const char *line, size_t len)
{
	if (v->copy_len + len + 2 > sizeof(v->copy)) {
		v->copy_overflow = true;
		return;
	}
	memcpy(v->copy + v->copy_len, line, len);
	v->copy_len += len;
	memcpy(v->copy + v->copy_len, "\r\n", 2);
	v->copy_len += 2;
}

static bool has_tag(const char *value, size_t len)
{
	for (size_t i = 0; i + 4 <= len; i++)
		if (value[i] == ';' && strncasecmp(value + i + 1, "tag", 3) == 0)
			return true;
	return false;
}

/* The first line and the headers we need; false when it is not SIP. */
static bool parse_sip(const char *msg, size_t len, struct sip_view *v)
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
			first = false;
			if (line_len >= 8 && memcmp(line, "SIP/2.0 ", 8) == 0) {
				v->request = false;
			} else {
				const char *sp = memchr(line, ' ', line_len);
				size_t m = sp ? (size_t)(sp - line) : 0;
				if (!sp || m == 0 || m >= sizeof(v->method) || line_len < 8 ||
				    memcmp(line + line_len - 8, " SIP/2.0", 8) != 0)
					return false;
				memcpy(v->method, line, m);
				v->method[m] = '\0';
				v->request = true;
			}
		} else if (line_len == 0) {
			break;  /* end of headers; the body is not needed */
		} else if (line_is(line, line_len, "Via", "v", &value, &value_len) ||
			   line_is(line, line_len, "From", "f", &value, &value_len)) {
			copy_line(v, line, line_len);
		} else if (line_is(line, line_len, "To", "t", &value, &value_len)) {
			v->to_has_tag = has_tag(value, value_len);
			copy_line(v, line, line_len);
		} else if (line_is(line, line_len, "Call-ID", "i", &value, &value_len)) {
			while (value_len && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t'))
				value_len--;
			if (value_len == 0 || value_len >= CALL_ID_MAX)
				return false;
			v->call_id = value;
			v->call_id_len = value_len;
			copy_line(v, line, line_len);
		} else if (line_is(line, line_len, "CSeq", NULL, &value, &value_len)) {
			char text[64];
			unsigned long n;
			size_t k = value_len < sizeof(text) - 1 ? value_len : sizeof(text) - 1;
			memcpy(text, value, k);
			text[k] = '\0';
			if (sscanf(text, "%lu %15s", &n, v->cseq_method) != 2 || n > UINT32_MAX)
				return false;
			v->cseq = (uint32_t)n;
			have_cseq = true;
			copy_line(v, line, line_len);
		}
		line = eol < end ? eol + 1 : end;
	}
	return !first && v->call_id && have_cseq && !v->copy_overflow;
}

/* ---- responses ---- */

static size_t build_response(const struct server *s, const struct sip_view *v, int code, const char *reason,
			     unsigned tag, int media_port, char *out, size_t cap)
{
	char sdp[512], to_tag[32] = "";
	int n, body_len = 0;
	if (media_port >= 0) {
		body_len = snprintf(sdp, sizeof(sdp),
				    "v=0\r\no=load %u 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
				    "m=audio %d RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=recvonly\r\n",
				    tag, inet_ntoa(s->media_addr), inet_ntoa(s->media_addr), media_port);
		if (body_len < 0 || (size_t)body_len >= sizeof(sdp))
			return 0;
	}
	/* The To tag goes on the To line: the copied block ends with it only when
	 * it was the last header we copied, so rebuild the block line by line. */
	if (code > 100 && !v->to_has_tag)
		snprintf(to_tag, sizeof(to_tag), ";tag=sls%x", tag);
	size_t used = 0;
	n = snprintf(out, cap, "SIP/2.0 %d %s\r\n", code, reason);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	used = (size_t)n;
	for (const char *line = v->copy, *end = v->copy + v->copy_len; line < end;) {
		const char *eol = memchr(line, '\r', (size_t)(end - line));
		const char *value;
		size_t len = eol ? (size_t)(eol - line) : (size_t)(end - line), value_len;
		bool is_to = line_is(line, len, "To", "t", &value, &value_len);
		n = snprintf(out + used, cap - used, "%.*s%s\r\n", (int)len, line, is_to ? to_tag : "");
		if (n < 0 || (size_t)n >= cap - used)
			return 0;
		used += (size_t)n;
		line += len + 2;
	}
	if (media_port >= 0)
		n = snprintf(out + used, cap - used,
			     "Contact: <sip:load@%s:%u>\r\nServer: sip_load_server\r\n"
			     "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
			     inet_ntoa(s->media_addr), s->port, body_len, sdp);
	else
		n = snprintf(out + used, cap - used, "Server: sip_load_server\r\nContent-Length: 0\r\n\r\n");
	if (n < 0 || (size_t)n >= cap - used)
		return 0;
	return used + (size_t)n;
}

static void send_now(struct server *s, const struct peer *to, const char *msg, size_t len)
{
	ssize_t r;
	if (to->conn < 0) {
		r = sendto(s->sip_fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)&to->addr, sizeof(to->addr));
	} else {
		const struct conn *c = &s->conns[to->conn];
		r = c->fd >= 0 && c->gen == to->conn_gen ? send(c->fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) : -1;
	}
	if (r == (ssize_t)len)
		s->st.sent++;
	else
		s->st.send_errors++;
}

/* The answer the worker sends when its service time is up. */
static void set_pending(struct server *s, const struct peer *to, const char *msg, size_t len)
{
	if (len == 0 || len > sizeof(s->pending)) {
		s->st.response_too_big++;
		return;
	}
	memcpy(s->pending, msg, len);
	s->pending_len = len;
	s->pending_to = *to;
}

/* ---- calls and media ---- */

static int find_call(const struct server *s, const char *id, size_t len)
{
	for (int i = 0; i < CALLS_MAX; i++)
		if (s->calls[i].state != CALL_FREE && s->calls[i].call_id_len == len &&
		    memcmp(s->calls[i].call_id, id, len) == 0)
			return i;
	return -1;
}

static int free_call(const struct server *s)
{
	for (int i = 0; i < CALLS_MAX; i++)
		if (s->calls[i].state == CALL_FREE)
			return i;
	return -1;
}

/* Round-robin from the last one handed out: a port comes back as late as
 * possible, so a new call rarely meets the previous call's flow. */
static int take_media(struct server *s, int call)
{
	for (unsigned k = 0; k < s->media_count; k++) {
		unsigned i = (s->media_cursor + k) % s->media_count;
		if (s->media_call[i] < 0) {
			s->media_call[i] = call;
			s->media_cursor = (i + 1) % s->media_count;
			return (int)i;
		}
	}
	return -1;
}

/* A call leaves the table: its media count goes into the totals. */
static void finalize_call(struct server *s, int i)
{
	struct call *c = &s->calls[i];
	if (c->completed) {
		s->st.finalized_completed++;
		s->st.rtp_completed_sum += c->rtp;
		if (s->st.finalized_completed == 1 || c->rtp < s->st.rtp_completed_min)
			s->st.rtp_completed_min = c->rtp;
		if (c->rtp > s->st.rtp_completed_max)
			s->st.rtp_completed_max = c->rtp;
	}
	if (c->media >= 0)
		s->media_call[c->media] = -1;
	memset(c, 0, sizeof(*c));
	c->media = -1;
}

static void sweep_calls(struct server *s, uint64_t now, bool all)
{
	for (int i = 0; i < CALLS_MAX; i++) {
		struct call *c = &s->calls[i];
		uint64_t age = now > c->since_us ? now - c->since_us : 0;  /* since may lie ahead: answered at service end */
		if (c->state == CALL_FREE)
			continue;
		if (c->state == CALL_QUEUED && (all || age > s->call_timeout_us)) {
			if (!all)
				s->st.expired_queued++;
			finalize_call(s, i);
		} else if (c->state == CALL_ANSWERED && (all || age > s->ack_timeout_us)) {
			if (!all)
				s->st.expired_no_ack++;
			finalize_call(s, i);
		} else if (c->state == CALL_CONFIRMED && (all || age > s->call_timeout_us)) {
			if (!all)
				s->st.expired_no_bye++;
			finalize_call(s, i);
		} else if (c->state == CALL_ENDED && (all || age > ENDED_LINGER_US)) {
			finalize_call(s, i);
		}
	}
}

static void read_media(struct server *s, unsigned slot)
{
	char buf[2048];
	for (int k = 0; k < READS_PER_WAKE; k++) {
		ssize_t r = recv(s->media_fd[slot], buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0)
			break;
		s->st.rtp_total++;
		if (s->media_call[slot] >= 0)
			s->calls[s->media_call[slot]].rtp++;
		else
			s->st.rtp_stray++;
	}
}

/* ---- the worker ---- */

/* Handles one message; returns its service time. */
static uint64_t serve(struct server *s, const struct queued *q, uint64_t now)
{
	struct sip_view v;
	char out[RESPONSE_MAX];
	size_t len;
	int i;
	if (!parse_sip(q->data, q->len, &v)) {
		s->st.bad++;
		return 0;
	}
	if (!v.request) {
		s->st.responses_ignored++;
		return 0;
	}
	i = find_call(s, v.call_id, v.call_id_len);
	if (strcmp(v.method, "INVITE") == 0) {
		struct call *c;
		if (i >= 0 && s->calls[i].state != CALL_QUEUED) {
			c = &s->calls[i];
			if (v.cseq == c->invite_cseq) {
				/* RFC 3261 17.2.1: a retransmission gets the last response again. */
				s->st.invite_retrans++;
				if (c->last_len)
					set_pending(s, &q->from, c->last_response, c->last_len);
				return s->other_us;
			}
			s->st.reinvites++;
			c->invite_cseq = v.cseq;
			len = build_response(s, &v, 200, "OK", c->tag, c->media >= 0 ? s->media_base + 2 * c->media : -1,
					     out, sizeof(out));
			set_pending(s, &q->from, out, len);
			return s->other_us;
		}
		s->st.invites++;
		if (i < 0)
			i = free_call(s);  /* no entry from the transaction layer (table was full) */
		int slot = i >= 0 ? take_media(s, i) : -1;
		if (i < 0 || slot < 0) {
			s->st.refused_full++;
			if (i >= 0)
				finalize_call(s, i);
			len = build_response(s, &v, 503, "Service Unavailable", s->tag_next++, -1, out, sizeof(out));
			set_pending(s, &q->from, out, len);
			return s->other_us;
		}
		c = &s->calls[i];
		if (c->state != CALL_QUEUED) {
			memset(c, 0, sizeof(*c));
			memcpy(c->call_id, v.call_id, v.call_id_len);
			c->call_id_len = v.call_id_len;
			c->tag = s->tag_next++;
		}
		c->invite_cseq = v.cseq;
		c->media = slot;
		c->state = CALL_ANSWERED;  /* once the service time is up */
		c->since_us = now + s->invite_us;
		len = build_response(s, &v, 200, "OK", c->tag, s->media_base + 2 * slot, out, sizeof(out));
		if (len && len <= sizeof(c->last_response)) {
			memcpy(c->last_response, out, len);
			c->last_len = len;
		}
		set_pending(s, &q->from, out, len);
		s->st.answered++;
		return s->invite_us;
	}
	if (strcmp(v.method, "ACK") == 0) {
		if (i >= 0 && s->calls[i].state == CALL_ANSWERED) {
			s->calls[i].state = CALL_CONFIRMED;
			s->calls[i].since_us = now;
			s->st.acks++;
		} else {
			s->st.acks_stray++;
		}
		return s->other_us;
	}
	if (strcmp(v.method, "BYE") == 0) {
		if (i < 0) {
			s->st.byes_unknown++;
			len = build_response(s, &v, 481, "Call/Transaction Does Not Exist", s->tag_next++, -1, out, sizeof(out));
		} else {
			struct call *c = &s->calls[i];
			if (c->state == CALL_ENDED) {
				s->st.byes_retrans++;
			} else {
				s->st.byes++;
				c->completed = true;
				s->st.completed++;
				c->state = CALL_ENDED;
				c->since_us = now;
			}
			len = build_response(s, &v, 200, "OK", c->tag, -1, out, sizeof(out));
		}
		set_pending(s, &q->from, out, len);
		return s->other_us;
	}
	if (strcmp(v.method, "OPTIONS") == 0)
		s->st.options++;
	else if (strcmp(v.method, "CANCEL") == 0)
		s->st.cancels++;
	else
		s->st.other_methods++;
	if (strcmp(v.method, "OPTIONS") == 0 || strcmp(v.method, "CANCEL") == 0)
		len = build_response(s, &v, 200, "OK", s->tag_next++, -1, out, sizeof(out));
	else
		len = build_response(s, &v, 501, "Not Implemented", s->tag_next++, -1, out, sizeof(out));
	set_pending(s, &q->from, out, len);
	return s->other_us;
}

/* Takes the next queued message when idle; finishes the current one when its time is up. */
static void run_worker(struct server *s, uint64_t now)
{
	for (;;) {
		if (s->busy) {
			if (now < s->busy_until_us)
				return;
			if (s->pending_len) {
				send_now(s, &s->pending_to, s->pending, s->pending_len);
				s->pending_len = 0;
			}
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

/* The transaction layer, for an INVITE as it arrives: a new one gets a call
 * entry (QUEUED) and 100 Trying at once; a retransmission of one still
 * waiting in the FIFO gets the 100 again and is not queued (false). */
static bool invite_arrived(struct server *s, const struct queued *q, uint64_t now)
{
	struct sip_view v;
	char out[RESPONSE_MAX];
	size_t len;
	int i;
	s->st.invites_arrived++;  /* retransmissions included: what the dispatcher sent */
	if (!parse_sip(q->data, q->len, &v) || !v.request)
		return true;  /* the worker counts it as bad */
	i = find_call(s, v.call_id, v.call_id_len);
	if (i >= 0 && s->calls[i].state == CALL_QUEUED && s->calls[i].invite_cseq == v.cseq) {
		len = build_response(s, &v, 100, "Trying", s->calls[i].tag, -1, out, sizeof(out));
		if (len)
			send_now(s, &q->from, out, len);
		s->st.invite_retrans_trying++;
		return false;
	}
	if (i >= 0)
		return true;  /* an answered call's retransmission or re-INVITE: the worker's */
	i = free_call(s);
	if (i >= 0) {
		struct call *c = &s->calls[i];
		memset(c, 0, sizeof(*c));
		memcpy(c->call_id, v.call_id, v.call_id_len);
		c->call_id_len = v.call_id_len;
		c->invite_cseq = v.cseq;
		c->tag = s->tag_next++;
		c->media = -1;
		c->state = CALL_QUEUED;
		c->since_us = now;
	}
	len = build_response(s, &v, 100, "Trying", i >= 0 ? s->calls[i].tag : s->tag_next++, -1, out, sizeof(out));
	if (len) {
		send_now(s, &q->from, out, len);
		s->st.trying_sent++;
	}
	return true;
}

/* Q (the FIFO's next free entry, filled) joins the FIFO unless it is an
 * INVITE's retransmission the transaction layer answered. */
static void enqueue(struct server *s, struct queued *q, uint64_t now)
{
	q->at_us = now;
	if (q->len > 7 && memcmp(q->data, "INVITE ", 7) == 0 && !invite_arrived(s, q, now))
		return;
	s->q_count++;
	if (s->q_count > s->st.queue_max)
		s->st.queue_max = s->q_count;
}

static void read_sip(struct server *s, uint64_t now)
{
	for (int k = 0; k < READS_PER_WAKE; k++) {
		struct queued scratch, *q;
		socklen_t from_len = sizeof(scratch.from.addr);
		bool full = s->q_count >= s->queue_cap;
		q = full ? &scratch : &s->queue[(s->q_head + s->q_count) % s->queue_cap];
		ssize_t r = recvfrom(s->sip_fd, q->data, sizeof(q->data), MSG_DONTWAIT | MSG_TRUNC,
				     (struct sockaddr *)&q->from.addr, &from_len);
		if (r < 0)
			break;
		s->st.received++;
		if (full) {
			s->st.queue_dropped++;
			continue;
		}
		if ((size_t)r > sizeof(q->data) || r == 0) {
			s->st.bad++;
			continue;
		}
		q->len = (size_t)r;
		q->from.conn = -1;
		enqueue(s, q, now);
	}
}

/* ---- SIP over TCP ---- */

static void conn_close(struct server *s, unsigned i)
{
	struct conn *c = &s->conns[i];
	if (c->paused)
		s->conns_paused--;
	epoll_ctl(s->ep_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->gen++;
	c->len = 0;
	c->paused = false;
	s->st.tcp_closed++;
}

static void accept_conns(struct server *s)
{
	for (int k = 0; k < READS_PER_WAKE; k++) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
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
		if (line_is(line, line_len, "Content-Length", "l", &value, &value_len)) {
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

/* Moves a connection's complete messages into the FIFO while it has room. */
static void conn_frame(struct server *s, unsigned i, uint64_t now)
{
	struct conn *c = &s->conns[i];
	size_t at = 0;
	while (s->q_count < s->queue_cap) {
		while (at + 2 <= c->len && c->buf[at] == '\r' && c->buf[at + 1] == '\n')
			at += 2;  /* keep-alive CRLFs (RFC 5626 4.4.1) */
		long n = frame_length(c->buf + at, c->len - at);
		if (n < 0) {
			s->st.tcp_bad++;
			conn_close(s, i);
			return;
		}
		if (n == 0)
			break;
		struct queued *q = &s->queue[(s->q_head + s->q_count) % s->queue_cap];
		memcpy(q->data, c->buf + at, (size_t)n);
		q->len = (size_t)n;
		q->from.conn = (int)i;
		q->from.conn_gen = c->gen;
		s->st.received++;
		s->st.tcp_messages++;
		at += (size_t)n;
		enqueue(s, q, now);
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
			conn_close(s, i);
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

/* ---- load file ---- */

static uint64_t busy_cumulative(const struct server *s, uint64_t now)
{
	uint64_t b = s->busy_done_us;
	if (s->busy)
		b += (now < s->busy_until_us ? now : s->busy_until_us) - s->busy_start_us;
	return b;
}

/* "LOAD UTILISATION QUEUE\n", replaced atomically every 100 ms: UTILISATION is
 * the busy share over the last window (0..1), QUEUE the messages waiting (the
 * one in service included), LOAD = (UTILISATION + min(1, mean queue over the
 * window / --queue-ref)) / 2. Why both: a single worker that keeps up with
 * its load is busy all the time too, so utilisation alone reads 1 both at
 * capacity and far beyond it; the backlog tells them apart (the paper's
 * "application server's backlog queue length"). LOAD is what the agent
 * reports: about 0.5 at capacity with an empty queue, 1 with a backlog of
 * --queue-ref messages (default 16: about 1 s of INVITE work). */
static void write_load(struct server *s, uint64_t now)
{
	char tmp[4096 + 8], text[64];
	unsigned oldest, span;
	uint64_t cum = busy_cumulative(s, now);
	double util;
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
	unsigned queue = s->q_count + (s->busy ? 1u : 0u);
	s->queue_at[s->window_at] = queue;
	double queue_sum = 0.0;
	for (unsigned k = 0; k < span; k++)
		queue_sum += s->queue_at[(s->window_at + s->window_ticks + 1 - k) % (s->window_ticks + 1)];
	double backlog = span ? queue_sum / span / s->queue_ref : 0.0;
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

/* "EPOCH SECONDS INVITES ANSWERED COMPLETED QUEUE_DROPPED UTILISATION QUEUE
 * INVITES_ARRIVED LOAD" (wall clock, time since start, cumulative counts, the
 * load file's utilisation and load), once per second: the experiments take
 * rates over a window of the client's time from it. */
static void write_stats(struct server *s, uint64_t now)
{
	struct timespec wall;
	if (!s->stats)
		return;
	clock_gettime(CLOCK_REALTIME, &wall);
	fprintf(s->stats, "%.3f %.3f %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %.3f %u %" PRIu64 " %.3f\n",
		(double)wall.tv_sec + (double)wall.tv_nsec / 1e9, (double)(now - s->start_us) / 1e6, s->st.invites, s->st.answered, s->st.completed,
		s->st.queue_dropped, s->util, s->q_count + (s->busy ? 1u : 0u), s->st.invites_arrived, s->load);
	fflush(s->stats);
}

/* ---- summary ---- */

static void print_summary(struct server *s, uint64_t now)
{
	struct stats *t = &s->st;
	double wall = (double)(now - s->start_us) / 1e6;
	unsigned open_calls = 0;
	for (int i = 0; i < CALLS_MAX; i++)
		if (s->calls[i].state == CALL_QUEUED || s->calls[i].state == CALL_ANSWERED ||
		    s->calls[i].state == CALL_CONFIRMED)
			open_calls++;
	sweep_calls(s, now, true);
	printf("{\"server\": \"%s\", \"wall_s\": %.3f, \"busy_s\": %.3f, "
	       "\"capacity_calls_per_s\": %.3f, "
	       "\"calls\": {\"answered\": %" PRIu64 ", \"completed\": %" PRIu64 ", \"open_at_exit\": %u, "
	       "\"refused_full\": %" PRIu64 ", \"expired_no_ack\": %" PRIu64 ", \"expired_no_bye\": %" PRIu64
	       ", \"expired_queued\": %" PRIu64 "}, "
	       "\"rtp\": {\"total\": %" PRIu64 ", \"stray\": %" PRIu64 ", \"completed_calls\": %" PRIu64
	       ", \"per_completed_call\": %.2f, \"min\": %" PRIu64 ", \"max\": %" PRIu64 "}, "
	       "\"messages\": {\"received\": %" PRIu64 ", \"queue_dropped\": %" PRIu64 ", \"bad\": %" PRIu64
	       ", \"responses_ignored\": %" PRIu64 ", \"invite_arrived\": %" PRIu64 ", \"invite\": %" PRIu64 ", \"invite_retrans_absorbed\": %" PRIu64
	       ", \"reinvite\": %" PRIu64 ", \"ack\": %" PRIu64 ", \"ack_stray\": %" PRIu64 ", \"bye\": %" PRIu64
	       ", \"bye_retrans\": %" PRIu64 ", \"bye_unknown\": %" PRIu64 ", \"options\": %" PRIu64
	       ", \"cancel\": %" PRIu64 ", \"other\": %" PRIu64 "}, "
	       "\"sent\": {\"messages\": %" PRIu64 ", \"trying\": %" PRIu64 ", \"trying_again\": %" PRIu64
	       ", \"errors\": %" PRIu64
	       ", \"too_big\": %" PRIu64 "}, "
	       "\"queue\": {\"capacity\": %u, \"max\": %" PRIu64 ", \"wait_mean_ms\": %.1f, \"wait_max_ms\": %.1f}, "
	       "\"tcp\": {\"accepted\": %" PRIu64 ", \"closed\": %" PRIu64 ", \"refused\": %" PRIu64
	       ", \"messages\": %" PRIu64 ", \"pauses\": %" PRIu64 ", \"bad\": %" PRIu64 "}}\n",
	       s->name, wall, (double)busy_cumulative(s, now) / 1e6,
	       1e6 / (double)(s->invite_us + 2 * s->other_us), t->answered, t->completed, open_calls,
	       t->refused_full, t->expired_no_ack, t->expired_no_bye, t->expired_queued, t->rtp_total, t->rtp_stray,
	       t->finalized_completed,
	       t->finalized_completed ? (double)t->rtp_completed_sum / (double)t->finalized_completed : 0.0,
	       t->rtp_completed_min, t->rtp_completed_max, t->received, t->queue_dropped, t->bad,
	       t->responses_ignored, t->invites_arrived, t->invites, t->invite_retrans, t->reinvites, t->acks, t->acks_stray, t->byes,
	       t->byes_retrans, t->byes_unknown, t->options, t->cancels, t->other_methods, t->sent, t->trying_sent,
	       t->invite_retrans_trying, t->send_errors, t->response_too_big, s->queue_cap, t->queue_max,
	       t->served ? (double)t->queue_wait_sum_us / (double)t->served / 1000.0 : 0.0,
	       (double)t->queue_wait_max_us / 1000.0, t->tcp_accepted, t->tcp_closed, t->tcp_refused, t->tcp_messages,
	       t->tcp_pauses, t->tcp_bad);
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
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 128) != 0) {
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
		"usage: sip_load_server --media-ip ADDR [--bind ADDR] [--port N] [--media-base N]\n"
		"                       [--media-ports N] [--invite-us N] [--other-us N] [--queue N]\n"
		"                       [--load-file PATH] [--load-window-ms N] [--ack-timeout-ms N]\n"
		"                       [--call-timeout-s N] [--lifetime-s N] [--name NAME]\n"
		"                       [--stats-file PATH] [--queue-ref N]\n"
		"A SIP UAS (UDP and TCP) with a known capacity: one worker, a fixed service time per\n"
		"message (INVITE --invite-us, default 70000; others --other-us, default 15000),\n"
		"spent sleeping, so capacity = 1e6 / (invite + 2 * other) calls/s. Messages wait\n"
		"in a FIFO of --queue entries (default %d; full = dropped). INVITE -> 100 (when\n"
		"the worker takes it) + 200 with an SDP answer on the call's own RTP port\n"
		"(--media-base + 2 * slot, --media-ports slots, default 20000 and %d); a\n"
		"retransmitted INVITE gets the last response again; ACK; BYE -> 200; OPTIONS and\n"
		"CANCEL -> 200; others -> 501. RTP is counted per call. --load-file gets\n"
		"\"LOAD UTILISATION QUEUE\" every 100 ms: UTILISATION = busy share over\n"
		"--load-window-ms (default 1000), LOAD = (UTILISATION + min(1, mean queue /\n"
		"--queue-ref (default 16))) / 2;\n"
		"--stats-file gets \"EPOCH SECONDS INVITES ANSWERED COMPLETED QUEUE_DROPPED UTIL\n"
		"QUEUE INVITES_ARRIVED LOAD\" (wall clock, uptime, cumulative counts, UTIL and LOAD\n"
		"as in the load file) every second.\n"
		"SIGTERM/SIGINT or --lifetime-s: a JSON summary on stdout, then exit 0.\n",
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
		{ "bind", required_argument, NULL, 'b' },       { "port", required_argument, NULL, 'p' },
		{ "media-ip", required_argument, NULL, 'm' },   { "media-base", required_argument, NULL, 'B' },
		{ "media-ports", required_argument, NULL, 'M' }, { "invite-us", required_argument, NULL, 'I' },
		{ "other-us", required_argument, NULL, 'O' },   { "queue", required_argument, NULL, 'q' },
		{ "load-file", required_argument, NULL, 'L' },  { "load-window-ms", required_argument, NULL, 'W' },
		{ "ack-timeout-ms", required_argument, NULL, 'A' }, { "call-timeout-s", required_argument, NULL, 'C' },
		{ "lifetime-s", required_argument, NULL, 'T' }, { "name", required_argument, NULL, 'n' },
		{ "stats-file", required_argument, NULL, 'S' }, { "queue-ref", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },             { NULL, 0, NULL, 0 },
	};
	static struct server s;  /* large: not on the stack */
	uint64_t v, next_load, next_sweep, deadline = 0;
	bool have_media = false;
	int opt, status = 1;
	struct sigaction sa;

	s.port = 5060;
	s.media_base = 20000;
	s.media_count = MEDIA_DEFAULT;
	s.queue_cap = QUEUE_DEFAULT;
	s.invite_us = 70000;
	s.other_us = 15000;
	s.window_ticks = 10;
	s.queue_ref = 16;
	s.ack_timeout_us = 5000000;
	s.call_timeout_us = 60000000;
	s.name = "sip_load_server";
	s.sip_fd = s.listen_fd = s.ep_fd = -1;
	s.bind_addr.s_addr = htonl(INADDR_ANY);
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'b':
			if (inet_pton(AF_INET, optarg, &s.bind_addr) != 1)
				goto bad;
			break;
		case 'm':
			if (inet_pton(AF_INET, optarg, &s.media_addr) != 1)
				goto bad;
			have_media = true;
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
		case 'I':
			if (!parse_u64(optarg, 10000000, &s.invite_us))
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
		case 'L': s.load_path = optarg; break;
		case 'W':
			if (!parse_u64(optarg, LOAD_WINDOW_TICKS_MAX * LOAD_TICK_US / 1000, &v) || v < LOAD_TICK_US / 1000)
				goto bad;
			s.window_ticks = (unsigned)(v * 1000 / LOAD_TICK_US);
			break;
		case 'A':
			if (!parse_u64(optarg, 600000, &v) || v == 0)
				goto bad;
			s.ack_timeout_us = v * 1000;
			break;
		case 'C':
			if (!parse_u64(optarg, 86400, &v) || v == 0)
				goto bad;
			s.call_timeout_us = v * 1000000;
			break;
		case 'T':
			if (!parse_u64(optarg, 86400, &v))
				goto bad;
			s.lifetime_us = v * 1000000;
			break;
		case 'n': s.name = optarg; break;
		case 'S': s.stats_path = optarg; break;
		case 'R':
			if (!parse_u64(optarg, QUEUE_LIMIT, &v) || v == 0)
				goto bad;
			s.queue_ref = (unsigned)v;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!have_media || optind != argc || (unsigned)s.media_base + 2u * s.media_count > 65536u) {
		usage(stderr);
		return 2;
	}

	/* One descriptor per media port and TCP connection, plus a few. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < s.media_count + CONNS_MAX + 32u) {
		rl.rlim_cur = rl.rlim_max < s.media_count + CONNS_MAX + 32u ? rl.rlim_max : s.media_count + CONNS_MAX + 32u;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (unsigned i = 0; i < MEDIA_LIMIT; i++) {
		s.media_fd[i] = -1;
		s.media_call[i] = -1;
	}
	s.calls = calloc(CALLS_MAX, sizeof(*s.calls));
	s.queue = calloc(s.queue_cap, sizeof(*s.queue));
	s.conns = calloc(CONNS_MAX, sizeof(*s.conns));
	if (!s.calls || !s.queue || !s.conns) {
		fprintf(stderr, "sip_load_server: out of memory\n");
		goto out;
	}
	for (int i = 0; i < CALLS_MAX; i++)
		s.calls[i].media = -1;
	for (int i = 0; i < CONNS_MAX; i++)
		s.conns[i].fd = -1;
	if (s.stats_path && !(s.stats = fopen(s.stats_path, "we"))) {
		fprintf(stderr, "sip_load_server: %s: %s\n", s.stats_path, strerror(errno));
		goto out;
	}
	s.ep_fd = epoll_create1(EPOLL_CLOEXEC);
	s.sip_fd = udp_socket(s.bind_addr, s.port);
	if (s.ep_fd < 0 || s.sip_fd < 0) {
		fprintf(stderr, "sip_load_server: udp port %u: %s\n", s.port, strerror(errno));
		goto out;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = EP_SIP_UDP };
	if (epoll_ctl(s.ep_fd, EPOLL_CTL_ADD, s.sip_fd, &ev) != 0)
		goto out;
	s.listen_fd = tcp_listener(s.bind_addr, s.port);
	ev.data.u32 = EP_SIP_LISTEN;
	if (s.listen_fd < 0 || epoll_ctl(s.ep_fd, EPOLL_CTL_ADD, s.listen_fd, &ev) != 0) {
		fprintf(stderr, "sip_load_server: tcp port %u: %s\n", s.port, strerror(errno));
		goto out;
	}
	for (unsigned i = 0; i < s.media_count; i++) {
		s.media_fd[i] = udp_socket(s.bind_addr, (uint16_t)(s.media_base + 2 * i));
		ev.data.u32 = i;
		if (s.media_fd[i] < 0 || epoll_ctl(s.ep_fd, EPOLL_CTL_ADD, s.media_fd[i], &ev) != 0) {
			fprintf(stderr, "sip_load_server: media port %u: %s\n", s.media_base + 2 * i, strerror(errno));
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
	fprintf(stderr, "sip_load_server %s: udp and tcp %s:%u, media %u ports from %u, invite %" PRIu64 " us, other %" PRIu64
		" us: capacity %.2f calls/s\n", s.name, inet_ntoa(s.bind_addr), s.port, s.media_count, s.media_base,
		s.invite_us, s.other_us, 1e6 / (double)(s.invite_us + 2 * s.other_us));

	while (!stop_requested) {
		struct epoll_event events[64];
		uint64_t now = now_us(), wake = next_load;
		int timeout_ms, n;
		if (deadline && now >= deadline)
			break;
		run_worker(&s, now);
		if (s.conns_paused)
			conns_resume(&s, now);
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
			sweep_calls(&s, now, false);
			next_sweep = now + SWEEP_US;
		}
		if (s.busy && s.busy_until_us < wake)
			wake = s.busy_until_us;
		now = now_us();
		timeout_ms = wake > now ? (int)((wake - now + 999) / 1000) : 0;
		n = epoll_wait(s.ep_fd, events, 64, timeout_ms);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "sip_load_server: epoll_wait: %s\n", strerror(errno));
			goto out;
		}
		now = now_us();
		for (int k = 0; k < n; k++) {
			uint32_t tag = events[k].data.u32;
			if (tag == EP_SIP_UDP)
				read_sip(&s, now);
			else if (tag == EP_SIP_LISTEN)
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
	if (s.sip_fd >= 0)
		close(s.sip_fd);
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
	free(s.calls);
	free(s.queue);
	return status;
bad:
	fprintf(stderr, "sip_load_server: bad value for an option: %s\n", optarg ? optarg : "?");
	usage(stderr);
	return 2;
}
