/* engine.c - the decision engine (engine.h): flow lookup, signalling
 * inspection, session bookkeeping, media prediction, expiry and verdicts,
 * ICMP errors after the flow they quote. Pure: packets and announcements
 * in, verdicts and hook calls out. */
#include "engine/engine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/admission.h"
#include "engine/counters.h"
#include "engine/engine_journal.h"
#include "engine/engine_replica.h"
#include "engine/flow_table.h"
#include "engine/hash.h"
#include "dpi/ipfrag.h"
#include "dpi/packet.h"
#include "engine/select.h"
#include "engine/server_slots.h"
#include "engine/session_table.h"
#include "dpi/tcp_stream.h"
#include "engine/tcp_signalling.h"
#include "engine/timer_wheel.h"

/* 4096 slots of 100 ms span 409 s, beyond the longest timer (2 x 60 s plus
 * linger), so no entry waits in a slot for a later revolution. */
#define TIMER_SLOTS 4096
#define TIMER_TICK_MS 100
#define FRAGMENT_TIMEOUT_MS 5000
#define REFUSED_KEYS 4096        /* recent refusals remembered for their ACKs */
#define RTSP_AFFINITY_SLOTS 4096 /* clients whose RTSP session a new connection may continue */
#define REFUSED_MEMORY_MS 32000  /* RFC 3261 Timer H: the 503's ACK comes within 64 * T1 */
#define JOURNAL_DUE_MAX 16       /* sessions one packet changes (a TCP segment carries several messages) */

enum media_side { SIDE_CLIENT = 0, SIDE_SERVER };

struct engine {
	struct sara_config cfg;
	struct engine_hooks hooks;
	struct flow_table flows;
	struct session_table sessions;
	struct timer_wheel *flow_timers;
	struct timer_wheel *session_timers;
	struct tcp_stream_pool *streams;
	struct ipfrag_table *fragments;
	struct selector *selector;
	struct admission admission;
	struct counter_set counters;
	struct engine_stats stats;
	struct hash_key placement_key; /* sessionless flows: stable across restarts */
	uint64_t now_ms;
	uint64_t advanced_tick;  /* timers run once per tick, not per packet */
	uint32_t last_verdict_session; /* makes engine_session_info O(1) after a verdict */
	/* Set while one packet is handled: the session its verdict follows. */
	uint32_t packet_session;
	/* What admission asks of every packet until the next load report,
	 * derived there (engine_update_admission), so the per-packet path tests
	 * one flag instead of the policy, the switch, x and a threshold:
	 * SA2C above T3 tries established media; the random baseline above T1
	 * tries every packet. */
	bool admission_tries_established, admission_tries_every_packet;
	/* Also set while one packet is handled, so that its verdict can say
	 * why no session follows it: a message that would have started one was
	 * refused (REASON_TABLE_FULL, REASON_ADMISSION, REASON_NO_SERVER;
	 * REASON_SESSION = none), or a message did not parse. The two are kept
	 * apart because different policies apply: limits.when_full to a full
	 * table, limits.malformed only to a message that did not parse (a
	 * well-formed one for no session is not malformed). */
	uint8_t packet_refusal;  /* enum verdict_reason */
	bool packet_malformed;
	bool packet_absorbed;    /* a refused request's ACK: dropped, never answered */
	/* Session keys admission refused lately (hashes, and when), so that
	 * the ACK a client sends for our 503 is absorbed here: forwarded, it
	 * would reach a server that never saw the INVITE (and cost it work,
	 * exactly when the cluster is overloaded). Bounded: a newer refusal
	 * overwrites the slot. */
	uint64_t refused_hash[REFUSED_KEYS];
	uint64_t refused_ms[REFUSED_KEYS];
	/* The journal's hooks, and the sessions whose record is due once the
	 * packet (or announcement) being handled is done: one record per
	 * session and packet, however many of its facts changed. */
	struct engine_journal_hooks journal;
	/* The peers' view (engine_replica.h), told with the journal; muted
	 * while a peer's record is applied, so that nothing echoes back. */
	struct engine_replica_hooks replica;
	bool replica_muted;
	uint32_t journal_due[JOURNAL_DUE_MAX];
	unsigned journal_due_count;
	/* The connmark the packet being handled arrived with (0: none): what
	 * the kernel remembers of a connection decided before a restart. */
	uint32_t packet_ct_mark;
	/* The latest RTSP session with a Session id per client address (by
	 * hash; a newer one overwrites the slot). An RTSP client may carry
	 * its session on over a new TCP connection, and the SYN must go to
	 * a server before any Session: header is seen: to the session's. */
	struct { uint64_t serial; uint32_t sid; } rtsp_affinity[RTSP_AFFINITY_SLOTS];
	/* Failed servers whose sessions and flows are still being moved, one
	 * bit each (engine_repin_step), and the sweep's next session and flow
	 * slots. repin_stuck: no server was left to take a session. */
	uint64_t repin_servers;
	uint32_t repin_session_at, repin_flow_at;
	bool repin_stuck;
};

static void session_end(struct engine *engine, uint32_t sid, bool expired);

/* ---- small helpers ---- */

/* A TCP connection that carried no data yet is only a handshake: spoofed SYN
 * floods are made of these, so they hold a flow (and an RTSP connection's
 * session) briefly, and never a reassembly stream. */
#define HANDSHAKE_ONLY_TIMEOUT_MS 10000u

static bool tcp_handshake_only(const struct flow *f)
{
	return f->identity == FLOW_SIGNALLING && f->key.l4 == L4_TCP && !f->tcp.data_seen;
}

/* A session's signalling timeout: its own (an RTSP server's keep-alive
 * window) or the configured one. Its idle limit is twice that. */
static uint32_t session_signalling_ms(const struct engine *engine, const struct session *s)
{
	return (s->signalling_s ? s->signalling_s : engine->cfg.timeouts.signalling_s) * 1000u;
}

static uint32_t timeout_ms_for(const struct engine *engine, const struct flow *f)
{
	if (tcp_handshake_only(f) && engine->cfg.timeouts.signalling_s * 1000u > HANDSHAKE_ONLY_TIMEOUT_MS)
		return HANDSHAKE_ONLY_TIMEOUT_MS;
	/* An RTSP control connection keeps its session's signalling timeout. */
	if (f->identity == FLOW_SIGNALLING && f->session != FLOW_NIL)
		return session_signalling_ms(engine, &engine->sessions.sessions[f->session]);
	if (f->identity == FLOW_SIGNALLING || f->identity == FLOW_ANNOUNCED)
		return engine->cfg.timeouts.signalling_s * 1000u;
	return engine->cfg.timeouts.media_s * 1000u;
}

static bool is_cluster_address(const struct engine *engine, const struct netaddr *addr)
{
	return sara_config_is_vip(&engine->cfg, addr) || sara_config_server_by_address(&engine->cfg, addr) >= 0;
}

static void key_endpoints(const struct flow_key *key, struct endpoint *src, struct endpoint *dst)
{
	flow_key_src(key, src);
	flow_key_dst(key, dst);
}

/* Sessionless traffic (unpredicted flows, orphan messages) is placed by a
 * keyed hash over available servers, so one client's flows stay together. */
static int placement_server(struct engine *engine, const void *data, size_t len)
{
	unsigned available[SARA_MAX_SERVERS], n = 0;
	for (unsigned i = 0; i < engine->cfg.server_count; i++)
		if (selector_is_available(engine->selector, i))
			available[n++] = i;
	if (n == 0)
		return ENGINE_NO_SERVER;
	return (int)available[hash_bytes(&engine->placement_key, data, len) % n];
}

/* ---- session <-> flow links ---- */

static void session_attach_flow(struct engine *engine, uint32_t sid, uint32_t fid)
{
	struct session *s = &engine->sessions.sessions[sid];
	struct flow *f = &engine->flows.flows[fid];
	f->session = sid;
	f->session_prev = FLOW_NIL;
	f->session_next = s->flows_head;
	if (s->flows_head != FLOW_NIL)
		engine->flows.flows[s->flows_head].session_prev = fid;
	s->flows_head = fid;
	s->flow_count++;
	f->session_serial = s->serial;
}

static void session_detach_flow(struct engine *engine, uint32_t fid)
{
	struct flow *f = &engine->flows.flows[fid];
	struct session *s;
	if (f->session == FLOW_NIL)
		return;
	s = &engine->sessions.sessions[f->session];
	if (f->session_prev != FLOW_NIL)
		engine->flows.flows[f->session_prev].session_next = f->session_next;
	else
		s->flows_head = f->session_next;
	if (f->session_next != FLOW_NIL)
		engine->flows.flows[f->session_next].session_prev = f->session_prev;
	s->flow_count--;
	f->session = FLOW_NIL;
	f->session_serial = 0;
	f->session_prev = f->session_next = FLOW_NIL;
}

/* ---- the journal's feed ---- */

static void session_record_fill(const struct session *s, struct session_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->serial = s->serial;
	rec->version = s->journal_version;
	rec->proto = s->proto;
	rec->confirmed = s->confirmed;
	rec->key_is_connection = s->key_is_connection;
	rec->transaction_only = s->transaction_only;
	rec->server_heard = s->server_heard;
	rec->signalling_s = s->signalling_s;
	rec->server = s->server;
	rec->key_len = s->key_len;
	memcpy(rec->key, s->key, s->key_len);
	rec->created_ms = s->created_ms;
	rec->peer = s->peer;
	rec->stream_count = s->stream_count;
	memcpy(rec->streams, s->streams, sizeof(rec->streams));
}

static bool replicating(const struct engine *engine)
{
	return !engine->replica_muted && engine->replica.ctx;
}

/* peers: the change is news to them too (a compaction's walk is not). */
static void journal_tell_session(struct engine *engine, struct session *s, bool peers)
{
	struct session_record rec;
	s->journal_dirty = false;
	s->journal_version++;
	session_record_fill(s, &rec);
	if (engine->journal.session_changed)
		engine->journal.session_changed(engine->journal.ctx, &rec);
	if (peers && replicating(engine) && engine->replica.session_changed)
		engine->replica.session_changed(engine->replica.ctx, &rec);
}

/* Tells the journal about every session changed since the last flush. */
static void journal_flush(struct engine *engine)
{
	for (unsigned i = 0; i < engine->journal_due_count; i++) {
		struct session *s = &engine->sessions.sessions[engine->journal_due[i]];
		if (s->in_use && s->journal_dirty)
			journal_tell_session(engine, s, true);
	}
	engine->journal_due_count = 0;
}

/* A session changed in what a restart needs: its record is due. */
static void journal_touch(struct engine *engine, uint32_t sid)
{
	struct session *s = &engine->sessions.sessions[sid];
	if ((!engine->journal.session_changed && !(replicating(engine) && engine->replica.session_changed)) ||
	    s->journal_dirty)
		return;
	if (engine->journal_due_count == JOURNAL_DUE_MAX)
		journal_flush(engine);
	s->journal_dirty = true;
	engine->journal_due[engine->journal_due_count++] = sid;
}

/* A flow its session decided: a media flow just seen, or the session's
 * own control connection. */
static void journal_flow_to(struct engine *engine, uint32_t fid, bool peers)
{
	const struct flow *f = &engine->flows.flows[fid];
	struct session_flow_record rec;
	bool to_peers = peers && replicating(engine) && engine->replica.flow_decided;
	if ((!engine->journal.flow_decided && !to_peers) || f->session == FLOW_NIL)
		return;
	/* A peer takes a flow only for a session it knows: the session's
	 * pending state goes first (an RTSP connection's flow is decided with
	 * its session, at the SYN or as the Session id arrives). */
	if (to_peers && engine->sessions.sessions[f->session].journal_dirty)
		journal_tell_session(engine, &engine->sessions.sessions[f->session], true);
	memset(&rec, 0, sizeof(rec));
	rec.serial = f->session_serial;
	rec.identity = f->identity;
	rec.key = f->key;
	if (engine->journal.flow_decided)
		engine->journal.flow_decided(engine->journal.ctx, &rec);
	if (to_peers) {
		const struct session *s = &engine->sessions.sessions[f->session];
		engine->replica.flow_decided(engine->replica.ctx, s->proto, s->key, s->key_len, &rec);
	}
}

static void journal_flow(struct engine *engine, uint32_t fid)
{
	journal_flow_to(engine, fid, true);
}

/* Peers know a session by its key: one known under another key before (an
 * RTSP connection's placeholder, which takes its Session id or joins the
 * session it continues) ends there under that key, so that its flows can
 * be told again under the new one rather than staying with a placeholder
 * nobody will end. The journal knows sessions by serial: nothing for it. */
static void replica_key_retired(struct engine *engine, uint8_t proto, const char *key, size_t key_len)
{
	if (replicating(engine) && engine->replica.session_ended)
		engine->replica.session_ended(engine->replica.ctx, proto, key, key_len, false);
}

/* A connection pinned with no session of its own: its calls follow it. */
static bool pinned_connection(const struct flow *f)
{
	return f->in_use && f->identity == FLOW_SIGNALLING && f->key.l4 == L4_TCP && f->session == FLOW_NIL &&
	       f->server >= 0;
}

static void journal_connection_to(struct engine *engine, const struct flow *f, bool peers)
{
	struct connection_record rec;
	bool to_peers = peers && replicating(engine) && engine->replica.connection_pinned;
	if ((!engine->journal.connection_pinned && !to_peers) || !pinned_connection(f))
		return;
	memset(&rec, 0, sizeof(rec));
	rec.key = f->key;
	rec.server = f->server;
	if (engine->journal.connection_pinned)
		engine->journal.connection_pinned(engine->journal.ctx, &rec);
	if (to_peers)
		engine->replica.connection_pinned(engine->replica.ctx, &rec);
}

static void journal_connection(struct engine *engine, const struct flow *f)
{
	journal_connection_to(engine, f, true);
}

static void flow_destroy(struct engine *engine, uint32_t fid)
{
	struct flow *f = &engine->flows.flows[fid];
	if (engine->journal.connection_closed && pinned_connection(f))
		engine->journal.connection_closed(engine->journal.ctx, &f->key);
	if (replicating(engine) && engine->replica.connection_closed && pinned_connection(f))
		engine->replica.connection_closed(engine->replica.ctx, &f->key);
	/* Only flows the kernel may forward by connmark: signalling always
	 * crosses into user space, so its connmark never decides anything, and
	 * clearing it would cost a netlink request per expired flow. */
	if (engine->hooks.flow_removed &&
	    (f->identity == FLOW_SECONDARY || f->identity == FLOW_UNPREDICTED))
		engine->hooks.flow_removed(engine->hooks.ctx, &f->key, f->server);
	session_detach_flow(engine, fid);
	tcp_signalling_release(&f->tcp, engine->streams);
	timer_wheel_cancel(engine->flow_timers, fid);
	flow_table_remove(&engine->flows, fid);
}

static uint32_t flow_create(struct engine *engine, const struct flow_key *key, enum flow_match match,
			    enum flow_identity identity, int server)
{
	uint32_t fid = flow_table_alloc(&engine->flows);
	struct flow *f;
	if (fid == FLOW_NIL) {
		counter_add(&engine->counters, COUNTER_FLOW_TABLE_FULL, 1);
		return FLOW_NIL;
	}
	f = &engine->flows.flows[fid];
	f->key = *key;
	f->match = (uint8_t)match;
	f->identity = (uint8_t)identity;
	f->status = FLOW_NEW;
	f->server = (int16_t)server;
	f->last_seen_ms = engine->now_ms;
	flow_table_insert(&engine->flows, fid);
	timer_wheel_schedule(engine->flow_timers, fid, engine->now_ms + timeout_ms_for(engine, f));
	if (identity == FLOW_ANNOUNCED)
		engine->stats.predictions_made++;
	else
		engine->stats.flows_created++;
	return fid;
}

/* ---- media prediction ---- */

static void predictions_clear(struct engine *engine, uint32_t sid)
{
	uint32_t fid = engine->sessions.sessions[sid].flows_head;
	while (fid != FLOW_NIL) {
		uint32_t next = engine->flows.flows[fid].session_next;
		if (engine->flows.flows[fid].identity == FLOW_ANNOUNCED)
			flow_destroy(engine, fid);
		fid = next;
	}
}

static void predict_one(struct engine *engine, uint32_t sid, enum flow_match match,
			const struct netaddr *client, uint16_t client_port,
			const struct netaddr *server_addr, uint16_t server_port)
{
	struct session *s = &engine->sessions.sessions[sid];
	struct flow_key key;
	uint32_t fid;
	memset(&key, 0, sizeof(key));
	key.l4 = L4_UDP;
	key.family = client ? client->family : server_addr->family;
	if (client && server_addr && client->family != server_addr->family)
		return;
	if (client) {
		memcpy(key.src, client->bytes, 16);
		key.sport = match == MATCH_TO_DEST_FROM_ADDR ? 0 : client_port;
	}
	if (server_addr && match != MATCH_FROM_SOURCE) {
		memcpy(key.dst, server_addr->bytes, 16);
		key.dport = server_port;
	}
	if (match == MATCH_EXACT && flow_table_lookup_exact(&engine->flows, &key) != FLOW_NIL)
		return; /* already a live flow (or another session's prediction) */
	fid = flow_create(engine, &key, match, FLOW_ANNOUNCED, s->server);
	if (fid != FLOW_NIL)
		session_attach_flow(engine, sid, fid);
}

/* Rebuilds a session's predictions from what both sides have said: the
 * exact flow when both ends are known, else the known end as a wildcard. */
static void predictions_rebuild(struct engine *engine, uint32_t sid)
{
	struct session *s = &engine->sessions.sessions[sid];
	predictions_clear(engine, sid);
	for (unsigned i = 0; i < s->stream_count; i++) {
		const struct session_stream *st = &s->streams[i];
		uint16_t client_ports[2] = { st->client_rtp, st->client_rtcp };
		uint16_t server_ports[2] = { st->server_rtp, st->server_rtcp };
		const struct netaddr *client_addrs[2] = { &st->client_addr, &st->client_rtcp_addr };
		const struct netaddr *server_addrs[2] = { &st->server_addr, &st->server_rtcp_addr };
		for (unsigned p = 0; p < 2; p++) {
			bool client_known = client_ports[p] != 0;
			bool server_known = server_ports[p] != 0;
			if (p == 1 && client_ports[1] == client_ports[0] && server_ports[1] == server_ports[0] &&
			    netaddr_equal(client_addrs[1], client_addrs[0]) &&
			    netaddr_equal(server_addrs[1], server_addrs[0]))
				break; /* rtcp-mux: one flow */
			if (client_known && server_known)
				predict_one(engine, sid, MATCH_EXACT, client_addrs[p], client_ports[p],
					    server_addrs[p], server_ports[p]);
			if (client_known)
				predict_one(engine, sid, MATCH_FROM_SOURCE, client_addrs[p],
					    client_ports[p], NULL, 0);
			if (server_known) {
				const struct netaddr *from = client_addrs[p]->family ? client_addrs[p] : &s->peer;
				if (from->family)
					predict_one(engine, sid, MATCH_TO_DEST_FROM_ADDR, from, 0,
						    server_addrs[p], server_ports[p]);
				else
					predict_one(engine, sid, MATCH_TO_DEST, NULL, 0,
						    server_addrs[p], server_ports[p]);
			}
		}
	}
}

/* Checks the address a side names for its media: clients must not name the
 * cluster; servers must name a VIP (else media does not cross the
 * dispatcher). Returns false when the stream is to be ignored. */
static bool media_address_ok(struct engine *engine, enum media_side side, const struct netaddr *addr)
{
	if (side == SIDE_CLIENT) {
		if (is_cluster_address(engine, addr)) {
			counter_add(&engine->counters, COUNTER_MEDIA_CLIENT_NAMES_CLUSTER, 1);
			return false;
		}
		return true;
	}
	if (sara_config_is_vip(&engine->cfg, addr))
		return true;
	counter_add(&engine->counters, sara_config_server_by_address(&engine->cfg, addr) >= 0
					       ? COUNTER_MEDIA_SERVER_DIRECT
					       : COUNTER_MEDIA_OUTSIDE_CLUSTER, 1);
	return false;
}

static void stream_set_side(struct session_stream *st, enum media_side side, const struct netaddr *addr,
			    uint16_t rtp, const struct netaddr *rtcp_addr, uint16_t rtcp)
{
	if (side == SIDE_CLIENT) {
		st->client_addr = *addr;
		st->client_rtcp_addr = *rtcp_addr;
		st->client_rtp = rtp;
		st->client_rtcp = rtcp;
	} else {
		st->server_addr = *addr;
		st->server_rtcp_addr = *rtcp_addr;
		st->server_rtp = rtp;
		st->server_rtcp = rtcp;
	}
}

/* Where a usable stream's RTCP goes: a=rtcp's own address when it passes
 * the same check as the RTP address, else the RTP address. */
static struct netaddr stream_rtcp_addr(struct engine *engine, enum media_side side,
				       const struct signal_stream *fs, const struct netaddr *addr)
{
	if (fs->rtcp_addr.family && !netaddr_equal(&fs->rtcp_addr, addr) &&
	    media_address_ok(engine, side, &fs->rtcp_addr))
		return fs->rtcp_addr;
	return *addr;
}

/* Applies the streams one side described. conn is the signalling flow,
 * oriented client -> VIP: its ends stand in for absent addresses. */
static void session_update_media(struct engine *engine, uint32_t sid, const struct signal_facts *facts,
				 enum media_side side, const struct flow_key *conn)
{
	struct session *s = &engine->sessions.sessions[sid];
	struct endpoint client_end, vip_end;
	static const struct netaddr none;
	key_endpoints(conn, &client_end, &vip_end);
	for (unsigned i = 0; i < facts->stream_count; i++) {
		const struct signal_stream *fs = &facts->streams[i];
		struct netaddr addr = fs->addr.family ? fs->addr
						      : (side == SIDE_CLIENT ? client_end.addr : vip_end.addr);
		bool usable = fs->enabled && addr.family && media_address_ok(engine, side, &addr);
		unsigned slot;
		if (facts->media_op == MEDIA_REPLACE) {
			slot = i;
		} else {
			/* RTSP: a stream is named by the client's RTP port. */
			uint16_t client_rtp = side == SIDE_CLIENT ? fs->rtp_port : fs->peer_rtp_port;
			for (slot = 0; slot < s->stream_count; slot++)
				if (client_rtp && s->streams[slot].client_rtp == client_rtp)
					break;
			if (!usable && slot == s->stream_count)
				continue;
		}
		if (slot >= SESSION_MAX_STREAMS) {
			counter_add(&engine->counters, COUNTER_MEDIA_STREAMS_OVER_LIMIT, 1);
			continue;
		}
		if (slot >= s->stream_count) {
			memset(&s->streams[slot], 0, sizeof(s->streams[slot]));
			s->stream_count = (uint8_t)(slot + 1);
		}
		if (usable) {
			struct netaddr rtcp_addr = stream_rtcp_addr(engine, side, fs, &addr);
			stream_set_side(&s->streams[slot], side, &addr, fs->rtp_port, &rtcp_addr, fs->rtcp_port);
			if (side == SIDE_SERVER && fs->peer_rtp_port && !s->streams[slot].client_rtp) {
				const struct netaddr *peer = s->peer.family ? &s->peer : &client_end.addr;
				stream_set_side(&s->streams[slot], SIDE_CLIENT, peer, fs->peer_rtp_port, peer,
						fs->peer_rtcp_port);
			}
		} else {
			stream_set_side(&s->streams[slot], side, &none, 0, &none, 0);
		}
	}
	if (facts->media_op == MEDIA_REPLACE) {
		/* m= lines the new description dropped are gone on this side. */
		for (unsigned slot = facts->stream_count; slot < s->stream_count; slot++)
			stream_set_side(&s->streams[slot], side, &none, 0, &none, 0);
	}
	predictions_rebuild(engine, sid);
}

/* ---- sessions ---- */

static void session_schedule(struct engine *engine, uint32_t sid)
{
	struct session *s = &engine->sessions.sessions[sid];
	uint64_t at = s->ending ? engine->now_ms + engine->cfg.timeouts.linger_s * 1000ull
				: s->last_seen_ms + 2ull * session_signalling_ms(engine, s);
	timer_wheel_schedule(engine->session_timers, sid, at);
}

/* The signalling timeout a server gave the session (RTSP Session:
 * ;timeout=N: it drops the session after N s without a keep-alive), held
 * to timeouts.signalling_s's range; the idle timer is set from it now. */
static void session_set_timeout(struct engine *engine, uint32_t sid, uint32_t timeout_s)
{
	struct session *s = &engine->sessions.sessions[sid];
	uint32_t bounded = timeout_s < SARA_SIGNALLING_S_MIN ? SARA_SIGNALLING_S_MIN
			 : timeout_s > SARA_SIGNALLING_S_MAX ? SARA_SIGNALLING_S_MAX
							     : timeout_s;
	if (s->signalling_s == bounded)
		return;
	s->signalling_s = (uint16_t)bounded;
	journal_touch(engine, sid);
	if (!s->ending)
		session_schedule(engine, sid);
}

/* What the selector knew of server as it was chosen, before the session
 * was counted on it. */
static struct session_pick pick_record(const struct engine *engine, enum session_pick_how how, int server,
				       int from_server)
{
	return (struct session_pick){
		.how = (uint8_t)how,
		.algorithm = (uint8_t)engine->cfg.selection.algorithm,
		.from_server = (int16_t)from_server,
		.load = (float)selector_estimate(engine->selector, (unsigned)server),
		.weight = (float)(engine->cfg.servers[server].weight *
				  selector_weight_factor(engine->selector, (unsigned)server)),
		.sessions = selector_sessions(engine->selector, (unsigned)server),
		.at_ms = engine->now_ms,
	};
}

/* A new session refused by admission: its key remembered (the ACK of the
 * 503 is absorbed), counted, and the packet's verdict told why. */
static uint32_t session_refused(struct engine *engine, const char *key, size_t key_len, enum counter_id counter)
{
	uint64_t h = hash_bytes(&engine->placement_key, key, key_len);
	engine->refused_hash[h % REFUSED_KEYS] = h;
	engine->refused_ms[h % REFUSED_KEYS] = engine->now_ms;
	counter_add(&engine->counters, counter, 1);
	engine->packet_refusal = REASON_ADMISSION;
	return SESSION_NIL;
}

/* A new session admitted now awaits its server's first answer
 * (admission.h, Window estimate); a lone transaction awaits none. */
static void session_await_answer(struct engine *engine, struct session *s, const struct signal_facts *facts)
{
	if (facts->transaction_only)
		return;
	s->answer_awaited = true;
	admission_note_awaited(&engine->admission, engine->now_ms, s->server);
}

/* admit: the session starts with a client's request the adapter can
 * still refuse (a UDP message, or the SYN of an RTSP connection). */
static uint32_t session_create(struct engine *engine, const struct signal_facts *facts,
			       const char *key, size_t key_len, int pinned_server,
			       const struct flow_key *conn, bool admit)
{
	uint32_t sid;
	struct session *s;
	int server = pinned_server;
	bool call_limit = engine->cfg.admission.enabled &&
			  engine->cfg.admission.policy == ADMISSION_POLICY_CALL_LIMIT;
	if (admit && engine->cfg.admission.policy == ADMISSION_POLICY_SA2C) {
		admission_advance(&engine->admission, engine->now_ms);
		/* the window per server decides on the server the session would get */
		if (server < 0 && engine->admission.window_per_server)
			server = selector_pick(engine->selector, key, key_len);
		if (!admission_decide_on(&engine->admission, ADMIT_NEW_SESSION, server))
			return session_refused(engine, key, key_len, COUNTER_ADMISSION_REFUSED);
	}
	if (server < 0 && admit && call_limit) {
		server = selector_pick_below_limit(engine->selector, engine->cfg.admission.call_limit);
		if (server == SELECT_ALL_FULL)
			return session_refused(engine, key, key_len, COUNTER_CALL_LIMIT_REFUSED);
	}
	if (server < 0)
		server = selector_pick(engine->selector, key, key_len);
	if (server < 0) {
		counter_add(&engine->counters, COUNTER_NO_SERVER_AVAILABLE, 1);
		engine->packet_refusal = REASON_NO_SERVER;
		return SESSION_NIL;
	}
	sid = session_table_add(&engine->sessions, (enum proto_id)facts->proto, key, key_len);
	if (sid == SESSION_NIL) {
		counter_add(&engine->counters, COUNTER_SESSION_TABLE_FULL, 1);
		engine->packet_refusal = REASON_TABLE_FULL;
		return SESSION_NIL;
	}
	s = &engine->sessions.sessions[sid];
	s->server = (int16_t)server;
	s->pick = pick_record(engine, pinned_server >= 0 ? PICK_CONNECTION : PICK_SELECTED, server, -1);
	s->created_ms = s->last_seen_ms = engine->now_ms;
	s->transaction_only = facts->transaction_only;
	if (conn) {
		struct endpoint client_end, vip_end;
		key_endpoints(conn, &client_end, &vip_end);
		s->peer = client_end.addr;
	}
	selector_session_added(engine->selector, (unsigned)server);
	selector_call_added(engine->selector, (unsigned)server);
	if (admit && engine->cfg.admission.policy == ADMISSION_POLICY_SA2C)
		session_await_answer(engine, s, facts);
	engine->stats.sessions_created++;
	session_schedule(engine, sid);
	journal_touch(engine, sid);
	return sid;
}

static void session_info_fill(const struct session_table *table, uint32_t sid, struct session_info *out)
{
	const struct session *s = &table->sessions[sid];
	memset(out, 0, sizeof(*out));
	out->slot = sid;
	out->client = s->peer;
	out->pick = s->pick;
	out->serial = s->serial;
	out->proto = s->proto;
	memcpy(out->key, s->key, s->key_len);
	out->server = s->server;
	out->confirmed = s->confirmed;
	out->ending = s->ending;
	out->flow_count = s->flow_count;
	out->created_ms = s->created_ms;
	out->last_seen_ms = s->last_seen_ms;
}

/* The wait admission's window counts (admission.h, Window estimate) is
 * over: the server answered, refused, or the session ended. */
static void session_answer_arrived(struct engine *engine, struct session *s)
{
	if (!s->answer_awaited)
		return;
	s->answer_awaited = false;
	admission_note_first_answer(&engine->admission, s->server);
}

static void session_end(struct engine *engine, uint32_t sid, bool expired)
{
	struct session *s = &engine->sessions.sessions[sid];
	session_answer_arrived(engine, s);
	s->journal_dirty = false;
	if (engine->journal.session_ended)
		engine->journal.session_ended(engine->journal.ctx, s->serial);
	if (replicating(engine) && engine->replica.session_ended)
		engine->replica.session_ended(engine->replica.ctx, s->proto, s->key, s->key_len, expired);
	if (engine->hooks.session_removed) {
		struct session_info info;
		session_info_fill(&engine->sessions, sid, &info);
		engine->hooks.session_removed(engine->hooks.ctx, &info);
	}
	while (s->flows_head != FLOW_NIL)
		flow_destroy(engine, s->flows_head);
	if (s->server >= 0) {
		selector_session_removed(engine->selector, (unsigned)s->server);
		if (!s->ending)
			selector_call_removed(engine->selector, (unsigned)s->server);
	}
	timer_wheel_cancel(engine->session_timers, sid);
	session_table_remove(&engine->sessions, sid);
	if (expired)
		engine->stats.sessions_expired++;
	else
		engine->stats.sessions_ended++;
}

/* The placeholder key of an RTSP control connection before its Session id. */
static size_t connection_key(const struct flow_key *conn, char *buf, size_t size)
{
	struct endpoint src, dst;
	char a[ENDPOINT_STRLEN], b[ENDPOINT_STRLEN];
	key_endpoints(conn, &src, &dst);
	int n = snprintf(buf, size, "conn:%s>%s", endpoint_format(&src, a, sizeof(a)),
			 endpoint_format(&dst, b, sizeof(b)));
	return n < 0 ? 0 : ((size_t)n < size ? (size_t)n : size - 1);
}

/* An unanswered BYE (or CANCEL) is retransmitted until its final response
 * or Timer F, each copy needing the session's server (another answers
 * 481 and the call never ends there): an ending session waits for the
 * final response to its ending request, seen from either side (a client's
 * request answered through the gateway, a server's answered by the client),
 * and lingers only from then; without one it ends when Timer F passes. A
 * request after the response (a retransmission whose answer was lost, an
 * authenticated retry) waits again. A session the gateway never spoke of
 * (no gateway, or it missed the call) lingers as soon as it ends: its
 * answer would never be seen, and waiting would hold its media flows'
 * connmarks for Timer F after every call. */
static void session_ending_transaction(struct engine *engine, uint32_t sid, const struct signal_facts *facts)
{
	const struct proto_handler *handler = proto_by_id((enum proto_id)facts->proto);
	struct session *s = &engine->sessions.sessions[sid];
	uint64_t wait_ms;
	if (!handler || handler->ending_request_timeout_ms == 0 || !s->server_heard)
		return;
	if (facts->is_request && facts->ends_session) {
		if (s->end_awaited)
			return; /* a retransmission: Timer F runs from the first */
		s->end_awaited = facts->method;
		wait_ms = handler->ending_request_timeout_ms;
		if (wait_ms < engine->cfg.timeouts.linger_s * 1000ull)
			wait_ms = engine->cfg.timeouts.linger_s * 1000ull;
		counter_add(&engine->counters, COUNTER_ENDING_REQUESTS_AWAITED, 1);
		timer_wheel_schedule(engine->session_timers, sid, engine->now_ms + wait_ms);
	} else if (!facts->is_request && facts->status >= 200 && s->end_awaited &&
		   facts->method == s->end_awaited) {
		s->end_awaited = 0;
		counter_add(&engine->counters, COUNTER_ENDING_REQUESTS_ANSWERED, 1);
		session_schedule(engine, sid);
	}
}

/* ---- RTSP sessions over several connections ---- */

static unsigned rtsp_affinity_slot(const struct engine *engine, const struct netaddr *client)
{
	return (unsigned)(hash_bytes(&engine->placement_key, client->bytes, sizeof(client->bytes)) %
			  RTSP_AFFINITY_SLOTS);
}

/* sid has its Session id: its client's next connections go to its server. */
static void rtsp_affinity_note(struct engine *engine, uint32_t sid)
{
	const struct session *s = &engine->sessions.sessions[sid];
	unsigned slot;
	if (!s->peer.family)
		return;
	slot = rtsp_affinity_slot(engine, &s->peer);
	engine->rtsp_affinity[slot].serial = s->serial;
	engine->rtsp_affinity[slot].sid = sid;
}

/* Whether a session still has a control connection in use: one that
 * neither closed (FIN, RST) nor went idle past its timeout. A connection
 * known from the journal or a peer's records counts once a packet of it
 * comes here: it may have closed where its FIN went (the peer, or before
 * the restart). */
static bool session_connection_open(const struct engine *engine, const struct session *s)
{
	for (uint32_t fid = s->flows_head; fid != FLOW_NIL; fid = engine->flows.flows[fid].session_next) {
		const struct flow *f = &engine->flows.flows[fid];
		if (f->identity == FLOW_SIGNALLING && !f->tcp.closed && f->status != FLOW_INACTIVE && f->packets > 0)
			return true;
	}
	return false;
}

/* The server of this client's latest RTSP session, for its new connection,
 * when that session lives on without a control connection: the client
 * carries it on over a new one (RTSP sessions outlive connections; clients
 * reconnect to send PLAY or TEARDOWN), which cannot be moved once its SYN
 * is answered. -1: no such session, or its server takes no new
 * connections. A client's parallel sessions, each on its own open
 * connection, are still spread. */
static int rtsp_affinity_server(struct engine *engine, const struct netaddr *client)
{
	unsigned slot = rtsp_affinity_slot(engine, client);
	uint32_t sid = engine->rtsp_affinity[slot].sid;
	const struct session *s;
	if (engine->rtsp_affinity[slot].serial == 0 || sid >= engine->sessions.capacity)
		return -1;
	s = &engine->sessions.sessions[sid];
	if (!s->in_use || s->serial != engine->rtsp_affinity[slot].serial || s->ending || s->server < 0 ||
	    !netaddr_equal(&s->peer, client) || !selector_is_available(engine->selector, (unsigned)s->server) ||
	    session_connection_open(engine, s))
		return -1;
	counter_add(&engine->counters, COUNTER_RTSP_CONNECTION_AFFINITY, 1);
	return s->server;
}

static void flow_move(struct engine *engine, struct flow *f, int server);

/* A connection's first Session id names sid, a session its client holds
 * through an earlier connection: the connection (and whatever its own
 * session conn_sid had) joins sid when it reached sid's server, and
 * conn_sid ends. False when sid is another client's (two servers may hand
 * out one id) or on another server: the connection then stays apart. */
static bool rtsp_connection_join(struct engine *engine, uint32_t sid, uint32_t conn_sid, uint32_t fid,
				 const struct flow_key *conn)
{
	struct session *s = &engine->sessions.sessions[sid];
	struct flow *f = &engine->flows.flows[fid];
	struct endpoint client_end, vip_end;
	if (sid == conn_sid || s->proto != PROTO_RTSP || s->key_is_connection || s->ending)
		return false;
	key_endpoints(conn, &client_end, &vip_end);
	if (!netaddr_equal(&s->peer, &client_end.addr))
		return false;
	if (s->server != f->server) {
		/* A connection met mid-stream had its server derived from its
		 * key, which is where its SYN went unless it was sent to its
		 * session's server (a reconnection, rtsp_affinity_server) by the
		 * dispatcher that met the SYN. While this segment is the first
		 * it has had here, nothing of it has reached the guess: it goes
		 * to the session it names. */
		if (!f->server_guessed || f->packets > 1 || s->server < 0) {
			counter_add(&engine->counters, COUNTER_RTSP_CONNECTION_NOT_JOINED, 1);
			return false;
		}
		flow_move(engine, f, s->server);
		counter_add(&engine->counters, COUNTER_RTSP_CONNECTION_MOVED_TO_SESSION, 1);
	}
	f->server_guessed = false;
	/* Peers forget the placeholder before they take its flows under sid;
	 * its end below is then the journal's only. */
	const struct session *cs = &engine->sessions.sessions[conn_sid];
	replica_key_retired(engine, cs->proto, cs->key, cs->key_len);
	while (engine->sessions.sessions[conn_sid].flows_head != FLOW_NIL) {
		uint32_t moved = engine->sessions.sessions[conn_sid].flows_head;
		session_detach_flow(engine, moved);
		session_attach_flow(engine, sid, moved);
		journal_flow(engine, moved);   /* its connection now continues sid */
	}
	bool muted = engine->replica_muted;
	engine->replica_muted = true;
	session_end(engine, conn_sid, false);
	engine->replica_muted = muted;
	counter_add(&engine->counters, COUNTER_RTSP_CONNECTION_JOINED, 1);
	rtsp_affinity_note(engine, sid);
	return true;
}

/* Finds or makes the session a message belongs to. flow is the signalling
 * flow it came on (FLOW_NIL for announcements of unseen flows). */
static uint32_t session_for_message(struct engine *engine, const struct signal_facts *facts,
				    uint32_t fid, const struct flow_key *conn, enum media_side side,
				    int pinned_server)
{
	struct flow *f = fid != FLOW_NIL ? &engine->flows.flows[fid] : NULL;
	const struct proto_handler *handler = proto_by_id((enum proto_id)facts->proto);
	uint32_t sid = SESSION_NIL;
	if (facts->key_len)
		sid = session_table_lookup(&engine->sessions, (enum proto_id)facts->proto, facts->key,
					   facts->key_len);
	if (handler && handler->tcp_only && f && f->session != FLOW_NIL) {
		uint32_t conn_sid = f->session;
		struct session *cs = &engine->sessions.sessions[conn_sid];
		/* The connection's own session wins over the table lookup: two
		 * servers may hand out the same Session id (counters, not random
		 * ids), and the lookup would find another client's session, which
		 * this client's TEARDOWN would then end. */
		if (facts->key_len && cs->key_is_connection) {
			/* The Session id arrives: the connection's session takes it,
			 * unless the connection continues one its client holds. */
			if (sid == SESSION_NIL || !rtsp_connection_join(engine, sid, conn_sid, fid, conn)) {
				char old_key[SESSION_KEY_MAX];
				size_t old_len = cs->key_len;
				memcpy(old_key, cs->key, old_len);
				if (session_table_rekey(&engine->sessions, conn_sid, facts->key, facts->key_len)) {
					cs->key_is_connection = false;
					rtsp_affinity_note(engine, conn_sid);
					replica_key_retired(engine, cs->proto, old_key, old_len);
					journal_touch(engine, conn_sid);
					/* its connection, under the Session id (after the
					 * session's new state: journal_flow_to) */
					for (uint32_t cf = cs->flows_head; cf != FLOW_NIL;
					     cf = engine->flows.flows[cf].session_next)
						if (engine->flows.flows[cf].identity == FLOW_SIGNALLING)
							journal_flow(engine, cf);
				}
				sid = conn_sid;
			}
		} else if (!facts->key_len ||
			   (cs->key_len == facts->key_len &&
			    memcmp(cs->key, facts->key, facts->key_len) == 0)) {
			sid = conn_sid;
		}
	}
	/* Admission applies to a client's message that can be refused: not
	 * to the server's side (the gateway's announcements: the server has
	 * taken the session), and not inside a TCP connection, whose bytes
	 * reassembly has already taken (dropping the segment would not take
	 * them back, and the connection, pinned at its SYN, stays). */
	if (sid == SESSION_NIL && facts->creates_session) {
		bool in_tcp = conn && conn->l4 == L4_TCP;
		sid = session_create(engine, facts, facts->key, facts->key_len, pinned_server, conn,
				     side == SIDE_CLIENT && !in_tcp);
		/* One it could not refuse still takes its share of the pace: the
		 * sessions that can be refused make room for it. */
		if (sid != SESSION_NIL && side == SIDE_CLIENT && in_tcp && engine->cfg.admission.enabled &&
		    engine->cfg.admission.policy == ADMISSION_POLICY_SA2C) {
			admission_advance(&engine->admission, engine->now_ms);
			admission_charge(&engine->admission);
			session_await_answer(engine, &engine->sessions.sessions[sid], facts);
		}
	}
	return sid;
}

/* The server a signalling TCP connection gets at its SYN: RTSP's by its
 * connection session's key, other protocols' by the flow key. */
static int connection_server(struct engine *engine, const struct signal_facts *facts,
			     const struct flow_key *conn)
{
	const struct proto_handler *handler = proto_by_id((enum proto_id)facts->proto);
	if (handler && handler->tcp_only) {
		char key[SESSION_KEY_MAX];
		size_t key_len = connection_key(conn, key, sizeof(key));
		return selector_pick(engine->selector, key, key_len);
	}
	return selector_pick(engine->selector, conn, sizeof(*conn));
}

/* Applies one message's facts. side: whose message it is. */
static uint32_t apply_facts(struct engine *engine, const struct signal_facts *facts, uint32_t fid,
			    const struct flow_key *conn, enum media_side side, int pinned_server)
{
	uint32_t sid = session_for_message(engine, facts, fid, conn, side, pinned_server);
	struct session *s;
	if (sid == SESSION_NIL && side == SIDE_CLIENT && facts->acknowledges && facts->key_len) {
		uint64_t h = hash_bytes(&engine->placement_key, facts->key, facts->key_len);
		if (engine->refused_hash[h % REFUSED_KEYS] == h &&
		    engine->now_ms - engine->refused_ms[h % REFUSED_KEYS] <= REFUSED_MEMORY_MS) {
			counter_add(&engine->counters, COUNTER_ADMISSION_ACK_ABSORBED, 1);
			engine->packet_refusal = REASON_ADMISSION;
			engine->packet_absorbed = true;
			return SESSION_NIL;
		}
	}
	/* Under the hash selection every dispatcher derives a session's server
	 * from its key alone, so a message of a session begun on another
	 * dispatcher (an in-dialog BYE after an ECMP change) or before a
	 * restart, or the server's answer the gateway announces to every
	 * dispatcher, takes the session up where its first request went. It
	 * is established: admission does not apply. */
	if (sid == SESSION_NIL && facts->key_len && engine->cfg.selection.algorithm == SELECT_HASH) {
		/* A session on a TCP connection is at the connection's server,
		 * which is derived from the connection, as at its SYN. */
		if (pinned_server < 0 && conn && conn->l4 == L4_TCP)
			pinned_server = connection_server(engine, facts, conn);
		sid = session_create(engine, facts, facts->key, facts->key_len, pinned_server, conn, false);
		if (sid != SESSION_NIL) {
			counter_add(&engine->counters, COUNTER_SESSIONS_ADOPTED, 1);
			/* An RTSP session known here by its server's answer only (its
			 * client's connection meets another dispatcher): the client's
			 * new connection, should it come here (its dispatcher failed),
			 * continues it, as on the dispatcher that met its first. */
			if (facts->proto == PROTO_RTSP && side == SIDE_SERVER)
				rtsp_affinity_note(engine, sid);
		}
	}
	if (sid == SESSION_NIL) {
		counter_add(&engine->counters,
			    facts->proto == PROTO_SIP ? COUNTER_SIP_NO_SESSION : COUNTER_RTSP_NO_SESSION, 1);
		return SESSION_NIL;
	}
	s = &engine->sessions.sessions[sid];
	s->last_seen_ms = engine->now_ms;
	if (side == SIDE_SERVER && !s->server_heard) {
		s->server_heard = true;
		journal_touch(engine, sid);
	}
	if (!s->peer.family && side == SIDE_CLIENT && conn) {
		struct endpoint client_end, vip_end;
		key_endpoints(conn, &client_end, &vip_end);
		s->peer = client_end.addr;
		journal_touch(engine, sid);
	}
	/* A SIP server has done an INVITE's work at its first answer above
	 * 100; an RTSP server at the PLAY's answer (its SETUPs come before). */
	if (facts->confirms_session || (side == SIDE_SERVER && facts->shows_server_work))
		session_answer_arrived(engine, s);
	if (facts->confirms_session && !s->confirmed) {
		s->confirmed = true;
		admission_note_answered(&engine->admission);
		journal_touch(engine, sid);
	}
	if (facts->session_timeout_s)
		session_set_timeout(engine, sid, facts->session_timeout_s);
	if (facts->media_op != MEDIA_NONE) {
		session_update_media(engine, sid, facts, side, conn);
		journal_touch(engine, sid);
	}
	if (facts->streams_ignored)
		counter_add(&engine->counters, COUNTER_MEDIA_STREAMS_OVER_LIMIT, facts->streams_ignored);
	if (!s->ending && (facts->ends_session || (facts->ends_if_unconfirmed && !s->confirmed) ||
			   (s->transaction_only && !facts->is_request && facts->status >= 200))) {
		s->ending = true;
		if (s->server >= 0)
			selector_call_removed(engine->selector, (unsigned)s->server);
		session_schedule(engine, sid);
	}
	if (s->ending)
		session_ending_transaction(engine, sid, facts);
	return sid;
}

/* ---- timers ---- */

/* A decided media flow whose packets the kernel forwards by connmark: the
 * engine has not seen them, so the adapter says whether it still flows. */
static bool media_kept_in_kernel(struct engine *engine, const struct flow *f)
{
	if (!engine->hooks.flow_active || f->server < 0)
		return false;
	if (f->identity != FLOW_SECONDARY && f->identity != FLOW_UNPREDICTED)
		return false;
	return engine->hooks.flow_active(engine->hooks.ctx, &f->key, f->server);
}

static void flow_timer_expired(void *ctx, uint32_t fid)
{
	struct engine *engine = ctx;
	struct flow *f = &engine->flows.flows[fid];
	uint64_t timeout = timeout_ms_for(engine, f);
	if (!f->in_use)
		return;
	if (engine->now_ms >= f->last_seen_ms + timeout && media_kept_in_kernel(engine, f)) {
		counter_add(&engine->counters, COUNTER_FLOWS_KEPT_BY_KERNEL, 1);
		f->last_seen_ms = engine->now_ms;
		if (f->session != FLOW_NIL)
			engine->sessions.sessions[f->session].last_seen_ms = engine->now_ms;
	}
	if (engine->now_ms < f->last_seen_ms + timeout) {
		timer_wheel_schedule(engine->flow_timers, fid, f->last_seen_ms + timeout);
	} else if (engine->now_ms < f->last_seen_ms + 2 * timeout) {
		f->status = FLOW_INACTIVE;
		timer_wheel_schedule(engine->flow_timers, fid, f->last_seen_ms + 2 * timeout);
	} else {
		uint32_t sid = f->session;
		bool handshake_only = tcp_handshake_only(f);
		engine->stats.flows_expired++;
		flow_destroy(engine, fid);
		/* An RTSP connection that never spoke takes its session along. */
		if (handshake_only && sid != FLOW_NIL && engine->sessions.sessions[sid].in_use &&
		    engine->sessions.sessions[sid].key_is_connection &&
		    engine->sessions.sessions[sid].flow_count == 0) {
			counter_add(&engine->counters, COUNTER_TCP_HANDSHAKE_ONLY_EXPIRED, 1);
			session_end(engine, sid, true);
		}
	}
}

/* Media packets refresh only their flows; the session's last activity is
 * the latest of its own and its flows'. */
static uint64_t session_latest_activity(const struct engine *engine, uint32_t sid)
{
	const struct session *s = &engine->sessions.sessions[sid];
	uint64_t latest = s->last_seen_ms;
	for (uint32_t fid = s->flows_head; fid != FLOW_NIL; fid = engine->flows.flows[fid].session_next) {
		const struct flow *f = &engine->flows.flows[fid];
		bool media = f->identity == FLOW_SECONDARY || f->identity == FLOW_UNPREDICTED;
		if (media && f->last_seen_ms > latest)
			latest = f->last_seen_ms;
	}
	return latest;
}

static void session_timer_expired(void *ctx, uint32_t sid)
{
	struct engine *engine = ctx;
	struct session *s = &engine->sessions.sessions[sid];
	uint64_t idle_limit;
	if (!s->in_use)
		return;
	idle_limit = 2ull * session_signalling_ms(engine, s);
	if (!s->ending)
		s->last_seen_ms = session_latest_activity(engine, sid);
	if (s->ending) {
		if (s->end_awaited)
			counter_add(&engine->counters, COUNTER_ENDING_REQUESTS_UNANSWERED, 1);
		session_end(engine, sid, false);
	} else if (engine->now_ms < s->last_seen_ms + idle_limit) {
		timer_wheel_schedule(engine->session_timers, sid, s->last_seen_ms + idle_limit);
	} else {
		session_end(engine, sid, true);
	}
}

void engine_advance(struct engine *engine, uint64_t now_ms)
{
	if (now_ms < engine->now_ms)
		now_ms = engine->now_ms; /* the adapter's clock went back: hold time */
	engine->now_ms = now_ms;
	if (now_ms / TIMER_TICK_MS == engine->advanced_tick)
		return;
	engine->advanced_tick = now_ms / TIMER_TICK_MS;
	timer_wheel_advance(engine->flow_timers, now_ms, flow_timer_expired, engine);
	timer_wheel_advance(engine->session_timers, now_ms, session_timer_expired, engine);
}

/* ---- the packet path ---- */

static void repin_before_verdict(struct engine *engine, uint32_t sid, struct flow *f);

static void verdict_from_session(struct engine *engine, uint32_t sid, struct verdict *out)
{
	const struct session *s = &engine->sessions.sessions[sid];
	if (engine->repin_servers)
		repin_before_verdict(engine, sid, NULL);
	out->session = s->serial;
	out->server = s->server;
	engine->last_verdict_session = sid;
}

/* A message that failed to parse is counted; when its session key could
 * still be read (a Call-ID before a bad header), it follows its session, so
 * one bad message does not tear a call apart. */
static void malformed_message(struct engine *engine, const struct signal_facts *facts,
			      enum counter_id reason)
{
	uint32_t sid;
	counter_add(&engine->counters, reason, 1);
	engine->packet_malformed = true;
	if (!facts->key_len || facts->proto == PROTO_NONE)
		return;
	sid = session_table_lookup(&engine->sessions, (enum proto_id)facts->proto, facts->key,
				   facts->key_len);
	if (sid != SESSION_NIL) {
		engine->sessions.sessions[sid].last_seen_ms = engine->now_ms;
		engine->packet_session = sid;
	}
}

/* A signalling TCP packet, while its messages are taken from the stream. */
struct tcp_message_ctx {
	struct engine *engine;
	uint32_t fid;
	const struct packet *pkt;
	const struct proto_handler *handler;
};

/* One complete message from a signalling TCP connection. */
static bool tcp_message(void *ctx, const uint8_t *msg, size_t len)
{
	struct tcp_message_ctx *m = ctx;
	struct engine *engine = m->engine;
	struct signal_facts facts;
	enum counter_id reason = m->handler->inspect(msg, len, &facts);
	uint32_t sid;
	if (reason != COUNTER_NONE) {
		malformed_message(engine, &facts, reason);
		return true;
	}
	/* A TCP connection reaches one server: its sessions follow it. */
	sid = apply_facts(engine, &facts, m->fid, &m->pkt->key, SIDE_CLIENT,
			  engine->flows.flows[m->fid].server);
	if (sid != SESSION_NIL)
		engine->packet_session = sid;
	return true;
}

/* Inspects every complete message carried by a signalling packet. */
static void signalling_messages(struct engine *engine, uint32_t fid, const struct packet *pkt,
				const struct proto_handler *handler)
{
	struct flow *f = &engine->flows.flows[fid];
	struct tcp_message_ctx message_ctx = { engine, fid, pkt, handler };
	struct tcp_framing framing = { handler->frame, handler->max_message };
	struct tcp_segment segment;
	struct signal_facts facts;
	enum counter_id reason;
	uint32_t sid;
	if (pkt->key.l4 == L4_UDP) {
		if (pkt->payload_len == 0)
			return;
		reason = handler->inspect(pkt->payload, pkt->payload_len, &facts);
		if (reason != COUNTER_NONE) {
			malformed_message(engine, &facts, reason);
			return;
		}
		sid = apply_facts(engine, &facts, fid, &pkt->key, SIDE_CLIENT, -1);
		if (sid != SESSION_NIL)
			engine->packet_session = sid;
		return;
	}
	segment.seq = pkt->tcp_seq;
	segment.flags = pkt->tcp_flags;
	segment.payload = pkt->payload;
	segment.len = pkt->payload_len;
	tcp_signalling_segment(&f->tcp, engine->streams, &segment, &framing, &engine->counters,
			       tcp_message, &message_ctx);
}

/* The server of a TCP connection already decided before this engine
 * started (sarad restarted): a segment other than the opening SYN whose
 * connmark names a server of the running table (retired ones included: the
 * connection still runs there). ENGINE_NO_SERVER otherwise. */
static int adopted_server(struct engine *engine, const struct packet *pkt)
{
	if (!engine->packet_ct_mark || (pkt->tcp_flags & TCP_FLAG_SYN))
		return ENGINE_NO_SERVER;
	for (unsigned i = 0; i < engine->cfg.server_count; i++)
		if (engine->cfg.servers[i].id[0] && engine->cfg.servers[i].mark == engine->packet_ct_mark)
			return (int)i;
	return ENGINE_NO_SERVER;
}

/* A SIP connection carries many calls and sarad cannot answer inside its
 * stream, so SA2C refuses SIP over TCP only at the SYN and only where every
 * new session is refused (x above T2): a connection opened in the
 * shedding zone is let in with all its calls. */
static bool signalling_syn_refused(struct engine *engine)
{
	if (!engine->cfg.admission.enabled || engine->cfg.admission.policy != ADMISSION_POLICY_SA2C ||
	    admission_zone(&engine->admission) < ADMISSION_ZONE_CLOSED)
		return false;
	counter_add(&engine->counters, COUNTER_TCP_SYN_REFUSED, 1);
	engine->packet_refusal = REASON_ADMISSION;
	return true;
}

/* A new signalling flow. TCP connections are pinned to a server at once
 * (the SYN must go somewhere; a connection met in its middle stays where
 * its connmark says); RTSP sessions begin with their connection. */
static uint32_t signalling_flow_create(struct engine *engine, const struct packet *pkt,
				       const struct proto_handler *handler)
{
	uint32_t fid = flow_create(engine, &pkt->key, MATCH_EXACT, FLOW_SIGNALLING, -1);
	struct flow *f;
	int adopted;
	if (fid == FLOW_NIL)
		return FLOW_NIL;
	f = &engine->flows.flows[fid];
	f->proto = (uint8_t)handler->id;
	if (pkt->key.l4 != L4_TCP)
		return fid;
	adopted = adopted_server(engine, pkt);
	if (adopted >= 0) {
		counter_add(&engine->counters, COUNTER_TCP_CONNECTIONS_ADOPTED, 1);
		f->tcp.data_seen = true;   /* not a handshake: its data went before */
	}
	if (handler->tcp_only) {
		char key[SESSION_KEY_MAX];
		struct signal_facts facts;
		size_t key_len = connection_key(&pkt->key, key, sizeof(key));
		struct endpoint client_end, vip_end;
		uint32_t sid;
		memset(&facts, 0, offsetof(struct signal_facts, streams));
		facts.proto = (uint8_t)handler->id;
		key_endpoints(&pkt->key, &client_end, &vip_end);
		/* Only a SYN can be refused: a connection met mid-stream (begun on
		 * another dispatcher, or before a restart) is established. One
		 * whose connmark names a server stays there. */
		bool syn = (pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
		int server = adopted;
		/* A SYN from a client whose session lives on without a
		 * connection continues it; a connection met mid-stream was
		 * placed at its SYN, by its key unless it was such a one. */
		if (server < 0 && syn)
			server = rtsp_affinity_server(engine, &client_end.addr);
		f->server_guessed = adopted < 0 && !syn;
		sid = session_create(engine, &facts, key, key_len, server, &pkt->key, adopted < 0 && syn);
		if (sid != SESSION_NIL) {
			engine->sessions.sessions[sid].key_is_connection = true;
			session_attach_flow(engine, sid, fid);
			f->server = engine->sessions.sessions[sid].server;
			journal_flow(engine, fid);
		} else if (engine->packet_refusal == REASON_TABLE_FULL &&
			   engine->cfg.limits.when_full == FULL_PASS) {
			/* Pinned without a session, so that the connection and the
			 * sessions of its messages stay on one server rather than
			 * going unmarked (mark 0). */
			f->server = (int16_t)placement_server(engine, pkt->key.src, 16);
		} else {
			/* Refused: the flow is forgotten, so that the retried SYN
			 * is decided afresh. */
			timer_wheel_cancel(engine->flow_timers, fid);
			flow_table_remove(&engine->flows, fid);
			return FLOW_NIL;
		}
	} else {
		if (adopted < 0 && (pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN &&
		    signalling_syn_refused(engine)) {
			timer_wheel_cancel(engine->flow_timers, fid);
			flow_table_remove(&engine->flows, fid);
			return FLOW_NIL;
		}
		f->server = (int16_t)(adopted >= 0 ? adopted
						   : selector_pick(engine->selector, &pkt->key, sizeof(pkt->key)));
		journal_connection(engine, f);
	}
	return fid;
}

static void verdict_set_server(struct engine *engine, struct verdict *out, int server)
{
	out->server = server;
	out->mark = server >= 0 && (unsigned)server < engine->cfg.server_count
			    ? engine->cfg.servers[server].mark
			    : 0;
}

static void packet_decided(struct engine *engine, uint32_t fid, const struct packet *pkt,
			   struct verdict *out)
{
	struct flow *f = &engine->flows.flows[fid];
	const struct proto_handler *handler;
	out->identity = f->identity;
	f->last_seen_ms = engine->now_ms;
	f->status = FLOW_ESTABLISHED;
	if (engine->repin_servers)
		repin_before_verdict(engine, f->session, f);
	/* The flow's second cache line: engine_packet_batch prefetches it with
	 * the first. */
	f->packets++;
	if (f->identity != FLOW_SIGNALLING) {
		/* A known media packet reads no session: the session's serial is
		 * copied into the flow, and the session's idle timer asks its
		 * flows (session_latest_activity) instead of being refreshed here. */
		if (f->session != FLOW_NIL) {
			out->session = f->session_serial;
			engine->last_verdict_session = f->session;
			if (f->server < 0)
				f->server = engine->sessions.sessions[f->session].server;
			/* Established sessions are degraded only above T3. */
			if (engine->admission_tries_established &&
			    !admission_decide(&engine->admission, ADMIT_ESTABLISHED)) {
				out->action = VERDICT_DROP;
				out->reason = REASON_ADMISSION;
				return;
			}
		} else {
			out->reason = REASON_UNPREDICTED;
		}
		verdict_set_server(engine, out, f->server);
		return;
	}
	handler = proto_by_id((enum proto_id)f->proto);
	engine->packet_session = SESSION_NIL;
	if (handler)
		signalling_messages(engine, fid, pkt, handler);
	f = &engine->flows.flows[fid]; /* unchanged, but re-read after callbacks */
	if (engine->packet_session != SESSION_NIL) {
		struct session *s = &engine->sessions.sessions[engine->packet_session];
		s->signalling = f->key;
		verdict_from_session(engine, engine->packet_session, out);
		f->hint_session = engine->packet_session;
		f->hint_serial = s->serial;
		if (f->key.l4 == L4_UDP)
			f->server = s->server;
		verdict_set_server(engine, out, pkt->key.l4 == L4_TCP && f->server >= 0 ? f->server
										      : s->server);
		return;
	}
	/* No complete message (TCP segment, handshake) or an orphan message. */
	if (f->session != FLOW_NIL) {
		verdict_from_session(engine, f->session, out);
	} else if (f->key.l4 == L4_TCP && f->hint_session != FLOW_NIL &&
		   engine->sessions.sessions[f->hint_session].in_use &&
		   engine->sessions.sessions[f->hint_session].serial == f->hint_serial) {
		out->session = f->hint_serial;
	}
	if (f->key.l4 == L4_TCP) {
		out->reason = out->session ? REASON_SESSION : REASON_CONNECTION;
		/* A message that got no session says why. The connection keeps
		 * its server whatever the policy: reassembly has taken the bytes,
		 * so dropping the segment would not replay them. */
		if (!out->session && engine->packet_refusal != REASON_SESSION)
			out->reason = engine->packet_refusal;
		verdict_set_server(engine, out, f->server);
	} else if (engine->packet_refusal != REASON_SESSION) {
		/* A message that would start a session was refused. A full
		 * table follows limits.when_full; admission and "no server"
		 * refusals drop (the client retries). */
		out->reason = engine->packet_refusal;
		if (out->reason == REASON_TABLE_FULL && engine->cfg.limits.when_full == FULL_PASS)
			verdict_set_server(engine, out, placement_server(engine, pkt->key.src, 16));
		else
			out->action = VERDICT_DROP;
		/* A dropped INVITE over UDP is retransmitted (RFC 3261 17.1.1.2),
		 * which feeds the overload; a 503 with Retry-After stops it. */
		if (out->reason == REASON_ADMISSION && f->proto == PROTO_SIP && !engine->packet_absorbed &&
		    engine->cfg.admission.reject == REJECT_503)
			out->reply = REPLY_SIP_503;
	} else {
		/* A UDP message tied to no session: keep one client together.
		 * Only a message that did not parse is malformed (and follows
		 * limits.malformed); a well-formed one for no known session (a BYE
		 * after a restart) is sessionless traffic. */
		out->reason = engine->packet_malformed ? REASON_MALFORMED : REASON_UNPREDICTED;
		if (engine->packet_malformed && engine->cfg.limits.malformed == MALFORMED_DROP &&
		    pkt->payload_len > 0) {
			out->action = VERDICT_DROP;
			return;
		}
		verdict_set_server(engine, out, placement_server(engine, pkt->key.src, 16));
	}
}

/* bucket: the packet key's exact-index bucket, or NO_BUCKET. */
#define NO_BUCKET UINT64_MAX

static void engine_decide(struct engine *engine, const struct packet *pkt, uint64_t bucket,
			  struct verdict *out)
{
	struct endpoint dst_end;
	uint32_t fid;
	out->key = pkt->key;
	engine->packet_refusal = REASON_SESSION;
	engine->packet_malformed = false;
	engine->packet_absorbed = false;
	flow_key_dst(&pkt->key, &dst_end);
	if (!sara_config_is_vip(&engine->cfg, &dst_end.addr)) {
		out->reason = REASON_NOT_VIP;
		return;
	}
	/* The goodput experiment's baseline: blind to sessions, every packet
	 * is refused with the new-session probability (counted as "new"). */
	if (engine->admission_tries_every_packet && !admission_decide(&engine->admission, ADMIT_NEW_SESSION)) {
		out->action = VERDICT_DROP;
		out->reason = REASON_ADMISSION;
		return;
	}
	fid = bucket == NO_BUCKET ? flow_table_lookup_exact(&engine->flows, &pkt->key)
				  : flow_table_lookup_exact_in(&engine->flows, bucket, &pkt->key);
	if (fid != FLOW_NIL && engine->flows.flows[fid].identity == FLOW_ANNOUNCED) {
		engine->flows.flows[fid].identity = FLOW_SECONDARY;
		engine->stats.predictions_hit++;
		engine->stats.flows_created++;
		out->new_flow = true;
		journal_flow(engine, fid);
	}
	if (fid == FLOW_NIL) {
		/* To a signalling port, or the peer's replies on a connection a
		 * server opened towards a client's signalling port. */
		const struct proto_handler *handler = proto_for_port(&engine->cfg, pkt->key.l4, pkt->key.dport);
		if (!handler)
			handler = proto_for_port(&engine->cfg, pkt->key.l4, pkt->key.sport);
		out->new_flow = true;
		if (handler) {
			fid = signalling_flow_create(engine, pkt, handler);
		} else {
			uint32_t pid = flow_table_lookup_wildcard(&engine->flows, &pkt->key);
			if (pid != FLOW_NIL) {
				uint32_t sid = engine->flows.flows[pid].session;
				engine->stats.predictions_hit++;
				fid = flow_create(engine, &pkt->key, MATCH_EXACT, FLOW_SECONDARY,
						  engine->flows.flows[pid].server);
				if (fid != FLOW_NIL && sid != FLOW_NIL) {
					session_attach_flow(engine, sid, fid);
					journal_flow(engine, fid);
				}
			} else {
				counter_add(&engine->counters, COUNTER_FLOW_UNPREDICTED, 1);
				fid = flow_create(engine, &pkt->key, MATCH_EXACT, FLOW_UNPREDICTED,
						  placement_server(engine, pkt->key.src, 16));
			}
		}
		if (fid == FLOW_NIL) {
			/* An RTSP connection whose session was refused says why
			 * (and is dropped unless the table is merely full under
			 * when_full = pass). */
			out->reason = engine->packet_refusal != REASON_SESSION ? engine->packet_refusal
									    : REASON_TABLE_FULL;
			/* No stateless answer exists before a connection is up: a
			 * refused SYN can only be reset (or dropped): RTSP's as
			 * rtsp_reject says, SIP's as reject does (a 503 there). */
			if (out->reason == REASON_ADMISSION && pkt->key.l4 == L4_TCP &&
			    (pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN &&
			    (handler && !handler->tcp_only ? engine->cfg.admission.reject == REJECT_503
							   : engine->cfg.admission.rtsp_reject == RTSP_REJECT_RESET))
				out->reply = REPLY_TCP_RESET;
			if (engine->cfg.limits.when_full == FULL_DROP || out->reason != REASON_TABLE_FULL)
				out->action = VERDICT_DROP;
			else
				verdict_set_server(engine, out, placement_server(engine, pkt->key.src, 16));
			return;
		}
	}
	packet_decided(engine, fid, pkt, out);
}

/* ---- ICMP errors ---- */

/* The flow an ICMP error quotes, as the engine knows it: the quoted
 * datagram left a VIP for a client, so the flow that reaches the VIP is its
 * reverse (a media flow, a signalling flow, or a prediction of either). */
static uint32_t icmp_quoted_flow(struct engine *engine, const struct flow_key *quoted,
				 struct flow_key *inbound)
{
	struct endpoint sender;
	uint32_t fid;
	flow_key_src(quoted, &sender);
	*inbound = *quoted;
	memcpy(inbound->src, quoted->dst, 16);
	memcpy(inbound->dst, quoted->src, 16);
	inbound->sport = quoted->dport;
	inbound->dport = quoted->sport;
	if (!sara_config_is_vip(&engine->cfg, &sender.addr))
		return FLOW_NIL;
	fid = flow_table_lookup_exact(&engine->flows, inbound);
	if (fid == FLOW_NIL)
		fid = flow_table_lookup_wildcard(&engine->flows, inbound);
	return fid;
}

/* An ICMP error to a VIP goes where the packet it quotes came from, as in
 * IPVS (ip_vs_in_icmp): fragmentation needed and packet too big must reach
 * the server whose TCP segment was too large (path MTU discovery), port
 * unreachable the server still streaming to a closed port. Returns false
 * for anything else (not an error, not to a VIP), left to the caller. The
 * error neither refreshes nor creates the flow: it says nothing of the
 * flow being alive. */
static bool icmp_error_decided(struct engine *engine, const uint8_t *ip, size_t len, struct verdict *out)
{
	struct icmp_error error;
	enum icmp_error_status status = packet_decode_icmp_error(ip, len, &error);
	const struct flow *f;
	struct flow_key inbound;
	uint32_t fid;
	int server;
	if (status == ICMP_NOT_AN_ERROR || !sara_config_is_vip(&engine->cfg, &error.dst))
		return false;
	if (status != ICMP_ERROR_OK) {
		/* Passed unmarked, as before sara read ICMP errors at all. */
		counter_add(&engine->counters, status == ICMP_ERROR_QUOTE_UNSUPPORTED
						       ? COUNTER_ICMP_ERROR_QUOTE_UNSUPPORTED
						       : COUNTER_ICMP_ERROR_MALFORMED, 1);
		out->reason = REASON_NOT_IP;
		return true;
	}
	fid = icmp_quoted_flow(engine, &error.quoted, &inbound);
	out->key = inbound;
	if (fid == FLOW_NIL) {
		/* Where an unknown flow from that client would be placed. */
		counter_add(&engine->counters, COUNTER_ICMP_ERROR_NO_FLOW, 1);
		out->identity = FLOW_UNPREDICTED;
		out->reason = REASON_UNPREDICTED;
		verdict_set_server(engine, out, placement_server(engine, inbound.src, 16));
		return true;
	}
	f = &engine->flows.flows[fid];
	out->identity = f->identity;
	server = f->server;
	if (f->session != FLOW_NIL) {
		verdict_from_session(engine, f->session, out);
		server = out->server;
		out->reason = REASON_SESSION;
	} else if (f->identity == FLOW_SIGNALLING && f->hint_session != FLOW_NIL &&
		   engine->sessions.sessions[f->hint_session].in_use &&
		   engine->sessions.sessions[f->hint_session].serial == f->hint_serial) {
		/* A shared signalling flow: its server is its latest session's. */
		out->session = f->hint_serial;
		out->reason = REASON_SESSION;
	} else {
		out->reason = f->key.l4 == L4_TCP && f->identity == FLOW_SIGNALLING ? REASON_CONNECTION
										    : REASON_UNPREDICTED;
	}
	if (server < 0)
		server = placement_server(engine, inbound.src, 16);
	counter_add(&engine->counters, COUNTER_ICMP_ERROR_FOLLOWED, 1);
	verdict_set_server(engine, out, server);
	return true;
}

/* The counter of a datagram packet_decode refused. */
static enum counter_id packet_status_counter(enum packet_status status)
{
	static const enum counter_id counters[PACKET_STATUS_COUNT] = {
		[PACKET_FRAGMENT] = COUNTER_PACKET_FRAGMENT,
		[PACKET_TRUNCATED] = COUNTER_PACKET_TRUNCATED,
		[PACKET_MALFORMED] = COUNTER_PACKET_MALFORMED,
		[PACKET_UNSUPPORTED] = COUNTER_PACKET_UNSUPPORTED,
	};
	return (unsigned)status < PACKET_STATUS_COUNT ? counters[status] : COUNTER_PACKET_MALFORMED;
}

/* One datagram already decoded into pkt with status (bucket as in
 * engine_decide: fragments and undecodable packets have none). */
static void engine_packet_decoded(struct engine *engine, const uint8_t *ip, size_t len, uint32_t ct_mark,
				  const struct packet *pkt_in, enum packet_status status, uint64_t bucket,
				  uint64_t now_ms, struct verdict *out)
{
	struct packet pkt = *pkt_in;
	memset(out, 0, sizeof(*out));
	out->server = ENGINE_NO_SERVER;
	engine_advance(engine, now_ms);
	engine->stats.packets++;
	engine->stats.bytes += len;
	if (status == PACKET_FRAGMENT) {
		bucket = NO_BUCKET;
		const uint8_t *whole;
		size_t whole_len;
		switch (ipfrag_submit(engine->fragments, ip, len, &pkt, engine->now_ms, &whole, &whole_len)) {
		case IPFRAG_PENDING:
			out->reason = REASON_FRAGMENT_HELD;
			return;
		case IPFRAG_DROPPED:
			counter_add(&engine->counters, COUNTER_FRAGMENT_DROPPED, 1);
			out->reason = REASON_NOT_IP;
			return;
		case IPFRAG_COMPLETE:
			status = packet_decode(whole, whole_len, &pkt);
			break;
		}
	}
	if (status == PACKET_UNSUPPORTED && icmp_error_decided(engine, ip, len, out))
		return;
	if (status != PACKET_OK) {
		counter_add(&engine->counters, packet_status_counter(status), 1);
		out->reason = REASON_NOT_IP;
		if (engine->cfg.limits.malformed == MALFORMED_DROP && status != PACKET_UNSUPPORTED)
			out->action = VERDICT_DROP;
		return;
	}
	engine->packet_ct_mark = ct_mark;
	engine_decide(engine, &pkt, bucket, out);
	journal_flush(engine);
}

void engine_packet(struct engine *engine, const uint8_t *ip, size_t len, uint64_t now_ms,
		   struct verdict *out)
{
	struct packet pkt;
	enum packet_status status = packet_decode(ip, len, &pkt);
	engine_packet_decoded(engine, ip, len, 0, &pkt, status, NO_BUCKET, now_ms, out);
}

void engine_packet_batch(struct engine *engine, const struct engine_input *in, size_t count,
			 uint64_t now_ms, struct verdict *out)
{
	while (count > 0) {
		size_t n = count < ENGINE_BATCH_MAX ? count : ENGINE_BATCH_MAX;
		struct packet pkt[ENGINE_BATCH_MAX];
		enum packet_status status[ENGINE_BATCH_MAX];
		uint64_t bucket[ENGINE_BATCH_MAX];
		/* Two passes of prefetches (bucket, then the flow it names) before
		 * the real work: each packet's misses overlap the others'. */
		for (size_t i = 0; i < n; i++) {
			status[i] = packet_decode(in[i].ip, in[i].len, &pkt[i]);
			bucket[i] = NO_BUCKET;
			if (status[i] == PACKET_OK) {
				bucket[i] = flow_table_exact_bucket(&engine->flows, &pkt[i].key);
				flow_table_prefetch_bucket(&engine->flows, bucket[i]);
			}
		}
		for (size_t i = 0; i < n; i++)
			if (bucket[i] != NO_BUCKET)
				flow_table_prefetch_chain(&engine->flows, bucket[i]);
		for (size_t i = 0; i < n; i++)
			engine_packet_decoded(engine, in[i].ip, in[i].len, in[i].ct_mark, &pkt[i], status[i],
					      bucket[i], now_ms, &out[i]);
		in += n;
		out += n;
		count -= n;
	}
}

void engine_announce(struct engine *engine, const struct announcement *ann, uint64_t now_ms)
{
	uint32_t fid;
	int pinned = -1;
	engine_advance(engine, now_ms);
	if (ann->facts.proto == PROTO_NONE || ann->facts.proto >= PROTO_COUNT ||
	    ann->facts.stream_count > SIGNAL_MAX_STREAMS || ann->facts.key_len >= SESSION_KEY_MAX) {
		counter_add(&engine->counters, COUNTER_ANNOUNCEMENT_INVALID, 1);
		return;
	}
	fid = flow_table_lookup_exact(&engine->flows, &ann->conn);
	if (fid != FLOW_NIL && engine->flows.flows[fid].identity != FLOW_SIGNALLING)
		fid = FLOW_NIL;
	if (fid != FLOW_NIL && ann->conn.l4 == L4_TCP)
		pinned = engine->flows.flows[fid].server;
	counter_add(&engine->counters, COUNTER_ANNOUNCEMENTS, 1);
	apply_facts(engine, &ann->facts, fid, &ann->conn, SIDE_SERVER, pinned);
	journal_flush(engine);
}

/* ---- life cycle and introspection ---- */

struct engine *engine_create(const struct sara_config *cfg, const struct engine_hooks *hooks,
			     uint64_t now_ms, char *err, size_t err_size)
{
	struct engine *engine = calloc(1, sizeof(*engine));
	struct hash_key key;
	if (!engine) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	if (!sara_config_validate(cfg, err, err_size))
		goto fail_free_engine;
	engine->cfg = *cfg;
	if (hooks)
		engine->hooks = *hooks;
	engine->now_ms = now_ms;
	engine->advanced_tick = now_ms / TIMER_TICK_MS;
	hash_key_random(&key);
	memset(&engine->placement_key, 0x37, sizeof(engine->placement_key));
	if (!flow_table_init(&engine->flows, cfg->limits.flows, &key))
		goto fail_no_memory;
	if (!session_table_init(&engine->sessions, cfg->limits.sessions, &key))
		goto fail_no_memory;
	engine->flow_timers = timer_wheel_create(cfg->limits.flows, TIMER_SLOTS, TIMER_TICK_MS, now_ms);
	engine->session_timers = timer_wheel_create(cfg->limits.sessions, TIMER_SLOTS, TIMER_TICK_MS, now_ms);
	engine->streams = tcp_stream_pool_create(cfg->limits.tcp_streams, cfg->limits.tcp_buffer);
	engine->fragments = ipfrag_table_create(cfg->limits.fragments, 65535, FRAGMENT_TIMEOUT_MS);
	engine->selector = selector_create(cfg);
	if (!engine->flow_timers || !engine->session_timers || !engine->streams ||
	    !engine->fragments || !engine->selector)
		goto fail_no_memory;
	admission_init(&engine->admission, cfg);
	return engine;

fail_no_memory:
	snprintf(err, err_size, "cannot reserve tables for %u flows and %u sessions",
		 cfg->limits.flows, cfg->limits.sessions);
fail_free_engine:
	engine_destroy(engine);
	return NULL;
}

void engine_destroy(struct engine *engine)
{
	if (!engine)
		return;
	flow_table_release_streams(&engine->flows, engine->streams);
	flow_table_fini(&engine->flows);
	session_table_fini(&engine->sessions);
	timer_wheel_destroy(engine->flow_timers);
	timer_wheel_destroy(engine->session_timers);
	tcp_stream_pool_destroy(engine->streams);
	ipfrag_table_destroy(engine->fragments);
	selector_destroy(engine->selector);
	free(engine);
}

bool engine_session_info(const struct engine *engine, uint64_t serial, struct session_info *out)
{
	uint32_t hint = engine->last_verdict_session;
	if (hint < engine->sessions.capacity && engine->sessions.sessions[hint].in_use &&
	    engine->sessions.sessions[hint].serial == serial) {
		session_info_fill(&engine->sessions, hint, out);
		return true;
	}
	/* Otherwise linear in capacity: for reports and the control socket. */
	for (uint32_t i = 0; i < engine->sessions.capacity; i++) {
		const struct session *s = &engine->sessions.sessions[i];
		if (s->in_use && s->serial == serial) {
			session_info_fill(&engine->sessions, i, out);
			return true;
		}
	}
	return false;
}

unsigned engine_find_sessions(const struct engine *engine, const char *key, size_t key_len,
			      struct session_info *out, unsigned max)
{
	unsigned found = 0;
	for (unsigned proto = PROTO_NONE + 1; proto < PROTO_COUNT && found < max; proto++) {
		uint32_t sid = session_table_lookup(&engine->sessions, (enum proto_id)proto, key, key_len);
		if (sid != SESSION_NIL)
			session_info_fill(&engine->sessions, sid, &out[found++]);
	}
	return found;
}

uint32_t engine_session_flows(const struct engine *engine, const struct session_info *session,
			      struct flow_info *out, uint32_t max)
{
	const struct session *s;
	uint32_t count = 0;
	if (session->slot >= engine->sessions.capacity)
		return 0;
	s = &engine->sessions.sessions[session->slot];
	if (!s->in_use || s->serial != session->serial)
		return 0;
	for (uint32_t fid = s->flows_head; fid != FLOW_NIL; fid = engine->flows.flows[fid].session_next) {
		const struct flow *f = &engine->flows.flows[fid];
		if (count < max)
			out[count] = (struct flow_info){ .key = f->key, .identity = f->identity, .status = f->status,
							 .match = f->match, .server = f->server,
							 .packets = f->packets, .last_seen_ms = f->last_seen_ms };
		count++;
	}
	if (s->signalling.family) {
		uint32_t fid = flow_table_lookup_exact(&engine->flows, &s->signalling);
		const struct flow *f = fid != FLOW_NIL ? &engine->flows.flows[fid] : NULL;
		if (f && f->session != session->slot) {
			if (count < max)
				out[count] = (struct flow_info){ .key = f->key, .identity = f->identity,
								 .status = f->status, .match = f->match,
								 .server = f->server, .packets = f->packets,
								 .last_seen_ms = f->last_seen_ms, .shared = true };
			count++;
		}
	}
	return count;
}

void engine_foreach_session(const struct engine *engine,
			    bool (*fn)(void *ctx, const struct session_info *session), void *ctx)
{
	for (uint32_t i = 0; i < engine->sessions.capacity; i++) {
		struct session_info info;
		if (!engine->sessions.sessions[i].in_use)
			continue;
		session_info_fill(&engine->sessions, i, &info);
		if (!fn(ctx, &info))
			return;
	}
}

bool engine_server_info(const struct engine *engine, unsigned server, struct engine_server_info *out)
{
	memset(out, 0, sizeof(*out));
	if (server >= engine->cfg.server_count)
		return false;
	out->available = selector_is_available(engine->selector, server);
	out->sessions = selector_sessions(engine->selector, server);
	out->weight = engine->cfg.servers[server].weight;
	out->weight_factor = selector_weight_factor(engine->selector, server);
	out->load_estimate = selector_estimate(engine->selector, server);
	return true;
}

void engine_get_stats(const struct engine *engine, struct engine_stats *out)
{
	*out = engine->stats;
	out->flows_in_use = engine->flows.in_use;
	out->flows_capacity = engine->flows.capacity;
	out->sessions_in_use = engine->sessions.in_use;
	out->sessions_capacity = engine->sessions.capacity;
	out->tcp_streams_in_use = tcp_stream_pool_in_use(engine->streams);
	out->memory_bytes = sizeof(*engine) + flow_table_memory(&engine->flows) +
			    session_table_memory(&engine->sessions) +
			    timer_wheel_memory(engine->flow_timers) +
			    timer_wheel_memory(engine->session_timers) +
			    tcp_stream_pool_bytes(engine->streams);
}

const struct counter_set *engine_counters(const struct engine *engine)
{
	return &engine->counters;
}

void engine_set_server_available(struct engine *engine, unsigned server, bool available)
{
	if (server < engine->cfg.server_count)
		selector_set_available(engine->selector, server, available && !engine->cfg.servers[server].retired);
}

static void flow_move(struct engine *engine, struct flow *f, int server)
{
	f->server = (int16_t)server;
	/* An announced flow has no conntrack entry yet; a seen one may. */
	if (f->identity != FLOW_ANNOUNCED && engine->hooks.flow_moved)
		engine->hooks.flow_moved(engine->hooks.ctx, &f->key, server,
					 engine->cfg.servers[server].mark);
}

static bool repin_pending(const struct engine *engine, int server)
{
	return server >= 0 && server < 64 && (engine->repin_servers >> server & 1u);
}

/* One session of a failed server moves, with its flows, to the server with
 * the fewest sessions per weight. Returns the flows moved, or -1 when no
 * server is left (the session stays: fail open). */
static int repin_session(struct engine *engine, uint32_t sid)
{
	struct session *s = &engine->sessions.sessions[sid];
	int from = s->server, target = selector_pick_even(engine->selector), flows = 0;
	if (target < 0)
		return -1;
	selector_session_removed(engine->selector, (unsigned)from);
	s->pick = pick_record(engine, PICK_MOVED, target, from);
	selector_session_added(engine->selector, (unsigned)target);
	if (!s->ending) {
		selector_call_removed(engine->selector, (unsigned)from);
		selector_call_added(engine->selector, (unsigned)target);
	}
	s->server = (int16_t)target;
	for (uint32_t fid = s->flows_head; fid != FLOW_NIL; fid = engine->flows.flows[fid].session_next, flows++)
		flow_move(engine, &engine->flows.flows[fid], target);
	journal_touch(engine, sid);
	counter_add(&engine->counters, COUNTER_SESSIONS_REPINNED, 1);
	return flows;
}

/* A flow still on a failed server once its session moved (or could not),
 * or one without a session: a session's flow follows its session, a
 * sessionless one is placed again by its source. True when it moved. */
static bool repin_flow(struct engine *engine, struct flow *f)
{
	int target = f->session != FLOW_NIL ? engine->sessions.sessions[f->session].server
					    : placement_server(engine, f->key.src, 16);
	if (target < 0 || repin_pending(engine, target))
		return false;
	flow_move(engine, f, target);
	return true;
}

/* A packet of a failed server's session or flow the sweep has not reached
 * yet: it moves now, so that no verdict names the failed server. */
static void repin_before_verdict(struct engine *engine, uint32_t sid, struct flow *f)
{
	if (sid != SESSION_NIL && engine->sessions.sessions[sid].in_use &&
	    repin_pending(engine, engine->sessions.sessions[sid].server) && !engine->repin_stuck &&
	    repin_session(engine, sid) < 0)
		engine->repin_stuck = true;
	if (f && repin_pending(engine, f->server))
		repin_flow(engine, f);
}

void engine_server_failing(struct engine *engine, unsigned server)
{
	if (server >= engine->cfg.server_count || server >= 64)
		return;
	selector_set_available(engine->selector, server, false);
	/* A sweep under way starts over: sessions it moved may have gone to
	 * this server. */
	engine->repin_servers |= 1ull << server;
	engine->repin_session_at = 0;
	engine->repin_flow_at = 0;
	engine->repin_stuck = false;
}

bool engine_repin_pending(const struct engine *engine)
{
	return engine->repin_servers != 0;
}

uint32_t engine_repin_step(struct engine *engine, uint32_t slots, uint32_t moves, bool *done)
{
	uint32_t sessions_moved = 0, flows_moved = 0;
	/* Sessions first, so that a session's flows left behind find their
	 * session's new server. */
	while (engine->repin_servers && slots > 0 && flows_moved < moves &&
	       engine->repin_session_at < engine->sessions.capacity) {
		uint32_t sid = engine->repin_session_at++;
		const struct session *s = &engine->sessions.sessions[sid];
		int flows;
		slots--;
		if (!s->in_use || !repin_pending(engine, s->server) || engine->repin_stuck)
			continue;
		flows = repin_session(engine, sid);
		if (flows < 0) {
			engine->repin_stuck = true;
			continue;
		}
		flows_moved += (uint32_t)flows;
		sessions_moved++;
	}
	while (engine->repin_servers && slots > 0 && flows_moved < moves &&
	       engine->repin_session_at >= engine->sessions.capacity &&
	       engine->repin_flow_at < engine->flows.capacity) {
		struct flow *f = &engine->flows.flows[engine->repin_flow_at++];
		slots--;
		if (f->in_use && repin_pending(engine, f->server) && repin_flow(engine, f))
			flows_moved++;
	}
	if (engine->repin_session_at >= engine->sessions.capacity && engine->repin_flow_at >= engine->flows.capacity)
		engine->repin_servers = 0;
	journal_flush(engine);
	*done = engine->repin_servers == 0;
	return sessions_moved;
}

uint32_t engine_server_failed(struct engine *engine, unsigned server)
{
	uint32_t moved = 0;
	bool done = false;
	if (server >= engine->cfg.server_count)
		return 0;
	engine_server_failing(engine, server);
	while (!done)
		moved += engine_repin_step(engine, UINT32_MAX, UINT32_MAX, &done);
	return moved;
}

void engine_set_server_weight_factor(struct engine *engine, unsigned server, double factor)
{
	selector_set_weight_factor(engine->selector, server, factor);
}

void engine_report_server_load(struct engine *engine, unsigned server, double load)
{
	selector_report_load(engine->selector, server, load);
}

/* The packet path's shortcuts: whether established packets, or (the
 * random baseline) every packet, must ask admission control at all. */
static void admission_flags_refresh(struct engine *engine)
{
	const struct admission *adm = &engine->admission;
	bool sa2c = engine->cfg.admission.policy == ADMISSION_POLICY_SA2C;
	bool random = engine->cfg.admission.policy == ADMISSION_POLICY_RANDOM;
	engine->admission_tries_established = sa2c && admission_refusal_probability(adm, ADMIT_ESTABLISHED) > 0;
	engine->admission_tries_every_packet = random && admission_refusal_probability(adm, ADMIT_NEW_SESSION) > 0;
}

void engine_update_admission(struct engine *engine, uint64_t now_ms, double dispatcher_load)
{
	double loads[SARA_MAX_SERVERS], weights[SARA_MAX_SERVERS];
	unsigned n = 0;
	for (unsigned i = 0; i < engine->cfg.server_count; i++) {
		double estimate = selector_estimate(engine->selector, i);
		/* A server without reports yet says nothing about the cluster. */
		if (!selector_is_available(engine->selector, i) || estimate < 0)
			continue;
		loads[n] = estimate;
		weights[n] = engine->cfg.servers[i].weight *
			     fmax(selector_weight_factor(engine->selector, i), 0.001);
		n++;
	}
	admission_report_dispatcher_load(&engine->admission, dispatcher_load);
	admission_advance(&engine->admission, now_ms);
	if (n > 0)
		admission_report_load(&engine->admission, now_ms, loads, weights, n);
	admission_flags_refresh(engine);
}

static bool listed(const struct sara_config *cfg, const char *id)
{
	for (unsigned i = 0; i < cfg->server_count; i++)
		if (strcmp(cfg->servers[i].id, id) == 0)
			return true;
	return false;
}

/* Which slots something still holds: sessions (the selector counts them),
 * or flows pinned without a session. Flows are looked for only when a slot
 * with no session might be freed (a pass over the pool, on a reload). */
static void servers_in_use(const struct engine *engine, const struct sara_config *next,
			   bool in_use[SARA_MAX_SERVERS])
{
	bool look[SARA_MAX_SERVERS] = { false }, any = false;
	for (unsigned s = 0; s < SARA_MAX_SERVERS; s++) {
		const struct server_config *r = &engine->cfg.servers[s];
		in_use[s] = s < engine->cfg.server_count && selector_sessions(engine->selector, s) > 0;
		if (s >= engine->cfg.server_count || in_use[s] || !r->id[0])
			continue;
		look[s] = r->retired || !listed(next, r->id);
		any |= look[s];
	}
	/* A UDP signalling flow's server is only its last message's: each
	 * message follows its own session, so it holds nothing. */
	for (uint32_t fid = 0; any && fid < engine->flows.capacity; fid++) {
		const struct flow *f = &engine->flows.flows[fid];
		if (f->in_use && f->server >= 0 && f->server < SARA_MAX_SERVERS && look[f->server] &&
		    !(f->identity == FLOW_SIGNALLING && f->key.l4 == L4_UDP))
			in_use[f->server] = true;
	}
}

bool engine_apply_config(struct engine *engine, const struct sara_config *cfg, struct slot_plan *plan, char *err,
			 size_t err_size)
{
	bool in_use[SARA_MAX_SERVERS];
	if (!sara_config_reload_check(&engine->cfg, cfg, err, err_size))
		return false;
	servers_in_use(engine, cfg, in_use);
	if (!server_slots_plan(&engine->cfg, in_use, cfg, plan, err, err_size))
		return false;
	if (!selector_set_servers(engine->selector, &plan->running, plan->added)) {
		snprintf(err, err_size, "%s: servers' weights not usable", cfg->path);
		return false;
	}
	/* A retired server listed again serves again (health and drain, the
	 * adapter's, still apply). */
	for (unsigned s = 0; s < plan->running.server_count; s++)
		if (plan->returned[s])
			selector_set_available(engine->selector, s, true);
	engine->cfg = plan->running;
	admission_reconfigure(&engine->admission, cfg);
	admission_flags_refresh(engine);
	return true;
}

bool engine_reconfigure(struct engine *engine, const struct sara_config *cfg, char *err, size_t err_size)
{
	struct slot_plan *plan = malloc(sizeof(*plan));
	bool ok;
	if (!plan) {
		snprintf(err, err_size, "out of memory");
		return false;
	}
	ok = engine_apply_config(engine, cfg, plan, err, err_size);
	free(plan);
	return ok;
}

const struct admission *engine_admission(const struct engine *engine)
{
	return &engine->admission;
}

const struct sara_config *engine_config(const struct engine *engine)
{
	return &engine->cfg;
}

/* ---- the journal: hooks, compaction walk, restore ---- */

void engine_set_journal(struct engine *engine, const struct engine_journal_hooks *hooks)
{
	journal_flush(engine);
	memset(&engine->journal, 0, sizeof(engine->journal));
	if (hooks)
		engine->journal = *hooks;
}

bool engine_journal_walk(struct engine *engine, uint32_t *cursor, uint32_t max_slots)
{
	uint64_t total = (uint64_t)engine->sessions.capacity + engine->flows.capacity;
	uint64_t end = (uint64_t)*cursor + max_slots;
	if (end > total)
		end = total;
	journal_flush(engine);
	for (uint64_t slot = *cursor; slot < end; slot++) {
		uint32_t sid = (uint32_t)slot;
		if (slot >= engine->sessions.capacity) {
			journal_connection_to(engine, &engine->flows.flows[slot - engine->sessions.capacity], false);
			continue;
		}
		struct session *s = &engine->sessions.sessions[sid];
		if (!s->in_use)
			continue;
		if (engine->journal.session_changed)
			journal_tell_session(engine, s, false);
		for (uint32_t fid = s->flows_head; fid != FLOW_NIL; fid = engine->flows.flows[fid].session_next) {
			uint8_t identity = engine->flows.flows[fid].identity;
			if (identity == FLOW_SECONDARY || identity == FLOW_SIGNALLING)
				journal_flow_to(engine, fid, false);
		}
	}
	*cursor = (uint32_t)end;
	return end >= total;
}

int engine_add_retired_server(struct engine *engine, const struct server_config *srv, char *err, size_t err_size)
{
	struct sara_config *running = malloc(sizeof(*running));
	bool fresh[SARA_MAX_SERVERS] = { false };
	int slot = -1;
	if (!running) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	*running = engine->cfg;
	if (server_slots_add_retired(running, srv, &slot, err, err_size)) {
		fresh[slot] = true;
		if (selector_set_servers(engine->selector, running, fresh))
			engine->cfg = *running;
		else
			slot = -1;
	}
	free(running);
	return slot;
}

uint64_t engine_next_serial(const struct engine *engine)
{
	return engine->sessions.next_serial;
}

void engine_raise_next_serial(struct engine *engine, uint64_t serial)
{
	if (serial > engine->sessions.next_serial)
		engine->sessions.next_serial = serial;
}

/* One decided flow of a restored session; false when the table is full. */
static bool restore_flow(struct engine *engine, uint32_t sid, const struct session_flow_record *rec)
{
	struct session *s = &engine->sessions.sessions[sid];
	uint32_t fid;
	struct flow *f;
	if (rec->identity != FLOW_SECONDARY && !(rec->identity == FLOW_SIGNALLING && rec->key.l4 == L4_TCP))
		return true;   /* nothing else is journaled */
	if (flow_table_lookup_exact(&engine->flows, &rec->key) != FLOW_NIL)
		return true;   /* another session's already */
	fid = flow_create(engine, &rec->key, MATCH_EXACT, (enum flow_identity)rec->identity, s->server);
	if (fid == FLOW_NIL)
		return false;
	f = &engine->flows.flows[fid];
	f->status = FLOW_ESTABLISHED;
	if (rec->identity == FLOW_SIGNALLING) {
		/* Its next segment resynchronises reassembly; it carried data. */
		f->proto = s->proto;
		f->tcp.data_seen = true;
	}
	session_attach_flow(engine, sid, fid);
	return true;
}

enum engine_restore engine_restore_connection(struct engine *engine, const struct connection_record *rec)
{
	const struct proto_handler *handler;
	uint32_t fid;
	struct flow *f;
	if (rec->server < 0 || (unsigned)rec->server >= engine->cfg.server_count ||
	    !engine->cfg.servers[rec->server].id[0])
		return ENGINE_RESTORE_NO_SERVER;
	handler = proto_for_port(&engine->cfg, L4_TCP, rec->key.dport);
	if (!handler)
		handler = proto_for_port(&engine->cfg, L4_TCP, rec->key.sport);
	if (rec->key.l4 != L4_TCP || !handler)
		return ENGINE_RESTORE_INVALID;
	if (flow_table_lookup_exact(&engine->flows, &rec->key) != FLOW_NIL)
		return ENGINE_RESTORE_DUPLICATE;
	fid = flow_create(engine, &rec->key, MATCH_EXACT, FLOW_SIGNALLING, rec->server);
	if (fid == FLOW_NIL)
		return ENGINE_RESTORE_TABLE_FULL;
	f = &engine->flows.flows[fid];
	f->proto = (uint8_t)handler->id;
	f->status = FLOW_ESTABLISHED;
	f->tcp.data_seen = true;   /* its next segment resynchronises reassembly */
	return ENGINE_RESTORED;
}

enum engine_restore engine_restore_session(struct engine *engine, const struct session_record *rec,
					   const struct session_flow_record *flows, size_t flow_count)
{
	struct session *s;
	uint32_t sid;
	if (rec->server < 0 || (unsigned)rec->server >= engine->cfg.server_count ||
	    !engine->cfg.servers[rec->server].id[0])
		return ENGINE_RESTORE_NO_SERVER;
	if (rec->proto == PROTO_NONE || rec->proto >= PROTO_COUNT || rec->key_len == 0 ||
	    rec->key_len >= SESSION_KEY_MAX || rec->stream_count > SESSION_MAX_STREAMS || rec->serial == 0)
		return ENGINE_RESTORE_INVALID;
	if (session_table_lookup(&engine->sessions, (enum proto_id)rec->proto, rec->key, rec->key_len) != SESSION_NIL)
		return ENGINE_RESTORE_DUPLICATE;
	sid = session_table_add(&engine->sessions, (enum proto_id)rec->proto, rec->key, rec->key_len);
	if (sid == SESSION_NIL) {
		counter_add(&engine->counters, COUNTER_SESSION_TABLE_FULL, 1);
		return ENGINE_RESTORE_TABLE_FULL;
	}
	s = &engine->sessions.sessions[sid];
	/* The serial it had: the control socket and the logs keep naming the
	 * same session, and new sessions get higher ones. */
	s->serial = rec->serial;
	if (engine->sessions.next_serial <= rec->serial)
		engine->sessions.next_serial = rec->serial + 1;
	s->server = (int16_t)rec->server;
	s->confirmed = rec->confirmed;
	s->key_is_connection = rec->key_is_connection;
	s->transaction_only = rec->transaction_only;
	s->server_heard = rec->server_heard;
	s->signalling_s = rec->signalling_s;
	s->journal_version = rec->version;
	s->created_ms = rec->created_ms < engine->now_ms ? rec->created_ms : engine->now_ms;
	s->last_seen_ms = engine->now_ms;
	s->peer = rec->peer;
	s->stream_count = rec->stream_count;
	memcpy(s->streams, rec->streams, sizeof(s->streams));
	selector_session_added(engine->selector, (unsigned)rec->server);
	if (!s->ending)
		selector_call_added(engine->selector, (unsigned)rec->server);
	session_schedule(engine, sid);
	if (s->proto == PROTO_RTSP && !s->key_is_connection)
		rtsp_affinity_note(engine, sid);   /* its client's next connection continues it */
	for (size_t i = 0; i < flow_count; i++)
		if (!restore_flow(engine, sid, &flows[i]))
			break;
	predictions_rebuild(engine, sid);
	return ENGINE_RESTORED;
}

/* ---- the peers' decisions ---- */

void engine_set_replica(struct engine *engine, const struct engine_replica_hooks *hooks)
{
	journal_flush(engine);
	memset(&engine->replica, 0, sizeof(engine->replica));
	if (hooks)
		engine->replica = *hooks;
}

static bool replica_server_ok(const struct engine *engine, int server)
{
	return server >= 0 && (unsigned)server < engine->cfg.server_count && engine->cfg.servers[server].id[0];
}

/* A newer state of a session known here: what a peer's packets changed. */
static void replica_update(struct engine *engine, uint32_t sid, const struct session_record *rec)
{
	struct session *s = &engine->sessions.sessions[sid];
	if (rec->server != s->server) {
		if (s->server >= 0) {
			selector_session_removed(engine->selector, (unsigned)s->server);
			if (!s->ending)
				selector_call_removed(engine->selector, (unsigned)s->server);
		}
		selector_session_added(engine->selector, (unsigned)rec->server);
		if (!s->ending)
			selector_call_added(engine->selector, (unsigned)rec->server);
		s->server = (int16_t)rec->server;
		for (uint32_t fid = s->flows_head; fid != FLOW_NIL; fid = engine->flows.flows[fid].session_next)
			flow_move(engine, &engine->flows.flows[fid], rec->server);
	}
	s->confirmed = rec->confirmed;
	s->transaction_only = rec->transaction_only;
	s->server_heard = s->server_heard || rec->server_heard;
	s->signalling_s = rec->signalling_s;
	s->journal_version = rec->version;
	s->last_seen_ms = engine->now_ms;
	if (rec->peer.family)
		s->peer = rec->peer;
	s->stream_count = rec->stream_count;
	memcpy(s->streams, rec->streams, sizeof(s->streams));
	predictions_rebuild(engine, sid);
	if (!s->ending)
		session_schedule(engine, sid);
}

static enum engine_replica_result replica_from_restore(enum engine_restore r)
{
	switch (r) {
	case ENGINE_RESTORED: return ENGINE_REPLICA_ADOPTED;
	case ENGINE_RESTORE_NO_SERVER: return ENGINE_REPLICA_NO_SERVER;
	case ENGINE_RESTORE_DUPLICATE: return ENGINE_REPLICA_STALE;
	case ENGINE_RESTORE_TABLE_FULL: return ENGINE_REPLICA_TABLE_FULL;
	case ENGINE_RESTORE_INVALID: return ENGINE_REPLICA_INVALID;
	}
	return ENGINE_REPLICA_INVALID;
}

enum engine_replica_result engine_replica_session(struct engine *engine, const struct session_record *rec)
{
	enum engine_replica_result result;
	uint32_t sid;
	if (!replica_server_ok(engine, rec->server))
		return ENGINE_REPLICA_NO_SERVER;
	if (rec->proto == PROTO_NONE || rec->proto >= PROTO_COUNT || rec->key_len == 0 ||
	    rec->key_len >= SESSION_KEY_MAX || rec->stream_count > SESSION_MAX_STREAMS)
		return ENGINE_REPLICA_INVALID;
	engine->replica_muted = true;
	sid = session_table_lookup(&engine->sessions, (enum proto_id)rec->proto, rec->key, rec->key_len);
	if (sid == SESSION_NIL) {
		/* This engine's next serial: serials name sessions only here. */
		struct session_record local = *rec;
		local.serial = engine->sessions.next_serial ? engine->sessions.next_serial : 1;
		result = replica_from_restore(engine_restore_session(engine, &local, NULL, 0));
	} else if (rec->version <= engine->sessions.sessions[sid].journal_version) {
		result = ENGINE_REPLICA_STALE;
	} else {
		replica_update(engine, sid, rec);
		result = ENGINE_REPLICA_UPDATED;
	}
	engine->replica_muted = false;
	return result;
}

enum engine_replica_result engine_replica_flow(struct engine *engine, uint8_t proto, const char *key,
					       size_t key_len, const struct session_flow_record *rec)
{
	uint32_t sid, fid;
	bool ok;
	if (proto == PROTO_NONE || proto >= PROTO_COUNT || key_len == 0 || key_len >= SESSION_KEY_MAX)
		return ENGINE_REPLICA_INVALID;
	sid = session_table_lookup(&engine->sessions, (enum proto_id)proto, key, key_len);
	if (sid == SESSION_NIL)
		return ENGINE_REPLICA_UNKNOWN;
	fid = flow_table_lookup_exact(&engine->flows, &rec->key);
	if (fid != FLOW_NIL) {
		const struct flow *f = &engine->flows.flows[fid];
		/* Its own prediction gives way to the flow seen: a seen flow is
		 * kept alive while the kernel carries it (conntrackd's copy of
		 * its connmark), so a long call outlives its signalling timeout
		 * here too. */
		if (f->identity != FLOW_ANNOUNCED || f->session != sid)
			return ENGINE_REPLICA_STALE;
		flow_destroy(engine, fid);
	}
	engine->replica_muted = true;
	ok = restore_flow(engine, sid, rec);
	engine->replica_muted = false;
	return ok ? ENGINE_REPLICA_ADOPTED : ENGINE_REPLICA_TABLE_FULL;
}

enum engine_replica_result engine_replica_end(struct engine *engine, uint8_t proto, const char *key, size_t key_len)
{
	uint32_t sid;
	if (proto == PROTO_NONE || proto >= PROTO_COUNT || key_len == 0 || key_len >= SESSION_KEY_MAX)
		return ENGINE_REPLICA_INVALID;
	sid = session_table_lookup(&engine->sessions, (enum proto_id)proto, key, key_len);
	if (sid == SESSION_NIL)
		return ENGINE_REPLICA_UNKNOWN;
	engine->replica_muted = true;
	session_end(engine, sid, false);
	engine->replica_muted = false;
	return ENGINE_REPLICA_ENDED;
}

enum engine_replica_result engine_replica_connection(struct engine *engine, const struct connection_record *rec)
{
	enum engine_replica_result result;
	engine->replica_muted = true;
	result = replica_from_restore(engine_restore_connection(engine, rec));
	engine->replica_muted = false;
	return result;
}

const char *engine_replica_result_name(enum engine_replica_result result)
{
	static const char *const names[ENGINE_REPLICA_RESULT_COUNT] = {
		[ENGINE_REPLICA_ADOPTED] = "adopted", [ENGINE_REPLICA_UPDATED] = "updated",
		[ENGINE_REPLICA_ENDED] = "ended", [ENGINE_REPLICA_STALE] = "stale",
		[ENGINE_REPLICA_UNKNOWN] = "unknown", [ENGINE_REPLICA_NO_SERVER] = "no_server",
		[ENGINE_REPLICA_TABLE_FULL] = "table_full", [ENGINE_REPLICA_INVALID] = "invalid",
	};
	return (unsigned)result < ENGINE_REPLICA_RESULT_COUNT ? names[result] : "unknown";
}

/* Names by value, for the operator's answers; "unknown" past the end. */
static const char *name_of(const char *const *names, size_t count, unsigned value)
{
	return value < count && names[value] ? names[value] : "unknown";
}

const char *flow_status_name(enum flow_status status)
{
	static const char *const names[] = {
		[FLOW_NEW] = "new", [FLOW_ESTABLISHED] = "established", [FLOW_INACTIVE] = "inactive",
	};
	return name_of(names, sizeof(names) / sizeof(names[0]), (unsigned)status);
}

const char *flow_match_name(unsigned match)
{
	static const char *const names[] = {
		[MATCH_EXACT] = "exact", [MATCH_FROM_SOURCE] = "from-source",
		[MATCH_TO_DEST_FROM_ADDR] = "to-dest-from-addr", [MATCH_TO_DEST] = "to-dest",
	};
	return name_of(names, sizeof(names) / sizeof(names[0]), match);
}

const char *session_pick_how_name(unsigned how)
{
	static const char *const names[] = {
		[PICK_SELECTED] = "selected", [PICK_CONNECTION] = "connection", [PICK_MOVED] = "moved",
	};
	return name_of(names, sizeof(names) / sizeof(names[0]), how);
}

const char *flow_identity_name(enum flow_identity identity)
{
	switch (identity) {
	case FLOW_SIGNALLING: return "signalling";
	case FLOW_ANNOUNCED: return "announced";
	case FLOW_SECONDARY: return "secondary";
	case FLOW_UNPREDICTED: return "unpredicted";
	}
	return "unknown";
}

enum counter_id verdict_counter(enum verdict_action action, enum verdict_reason reason)
{
	static const enum counter_id counters[2][VERDICT_REASON_COUNT] = {
		[VERDICT_ACCEPT] = {
			[REASON_SESSION] = COUNTER_ACCEPT_SESSION,
			[REASON_CONNECTION] = COUNTER_ACCEPT_CONNECTION,
			[REASON_UNPREDICTED] = COUNTER_ACCEPT_UNPREDICTED,
			[REASON_NOT_VIP] = COUNTER_ACCEPT_NOT_VIP,
			[REASON_NOT_IP] = COUNTER_ACCEPT_NOT_IP,
			[REASON_FRAGMENT_HELD] = COUNTER_ACCEPT_FRAGMENT_HELD,
			[REASON_MALFORMED] = COUNTER_ACCEPT_MALFORMED,
			[REASON_TABLE_FULL] = COUNTER_ACCEPT_TABLE_FULL,
			[REASON_NO_SERVER] = COUNTER_ACCEPT_NO_SERVER,
			[REASON_ADMISSION] = COUNTER_ACCEPT_ADMISSION,
		},
		[VERDICT_DROP] = {
			[REASON_SESSION] = COUNTER_DROP_SESSION,
			[REASON_CONNECTION] = COUNTER_DROP_CONNECTION,
			[REASON_UNPREDICTED] = COUNTER_DROP_UNPREDICTED,
			[REASON_NOT_VIP] = COUNTER_DROP_NOT_VIP,
			[REASON_NOT_IP] = COUNTER_DROP_NOT_IP,
			[REASON_FRAGMENT_HELD] = COUNTER_DROP_FRAGMENT_HELD,
			[REASON_MALFORMED] = COUNTER_DROP_MALFORMED,
			[REASON_TABLE_FULL] = COUNTER_DROP_TABLE_FULL,
			[REASON_NO_SERVER] = COUNTER_DROP_NO_SERVER,
			[REASON_ADMISSION] = COUNTER_DROP_ADMISSION,
		},
	};
	if ((unsigned)action > VERDICT_DROP || (unsigned)reason >= VERDICT_REASON_COUNT)
		return COUNTER_NONE;
	return counters[action][reason];
}
