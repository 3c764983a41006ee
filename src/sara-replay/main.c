/* sara_replay.c - sara-replay: feeds captures through the engine (inbound)
 * and the gateway (outbound) and reports, per session, which server each
 * flow's packets went to (by the engine's verdict, or where per-server
 * captures observed them), with an integrity check. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/config.h"
#include "io/config_file.h"
#include "engine/engine.h"
#include "engine/gateway.h"
#include "engine/hash.h"
#include "dpi/packet.h"
#include "io/pcap_source.h"

#define MAX_ANNOUNCEMENTS 16
#define DEFAULT_MAX_RECORDS 10000000u

/* Where an inbound packet went: a server index, or one of these. */
#define LOCATION_VERDICT (-2)  /* plain replay: the engine's verdict says */
#define LOCATION_NOWHERE (-1)  /* observed mode: no server captured it */

/* Packets of one inbound flow attributed to one session (0: none yet). */
struct flow_record {
	struct flow_key key;
	uint64_t session;
	uint64_t packets;
	uint64_t servers;        /* bit i: a packet went to server i */
	uint64_t first_us;
	uint8_t identity;        /* enum flow_identity of the first attributed packet */
	bool looks_rtp;          /* first payload has RTP/RTCP version 2 */
	bool unmarked;           /* a packet went to no server */
	bool merged;             /* folded into a session's record */
	uint32_t next_of_session;
};

struct session_record {
	uint64_t serial;
	uint8_t proto;
	char key[SESSION_KEY_MAX];
	int server;
	uint64_t first_us, last_us;
	uint32_t first_flow;     /* chain through flow_record.next_of_session */
	int first_observed;      /* observed mode: server of its first packet seen there */
	bool has_unpredicted;
};

/* One per-server capture given with --observed ID=FILE. */
struct observed_file {
	const char *path;
	int server;
	struct pcap_source *src;
	struct captured_packet cp; /* its next packet, when has_packet */
	bool has_packet;
};

/* Matched mode: how many copies of one inbound packet (fingerprint) one
 * server captured and no sent packet has claimed yet. */
struct observation {
	uint64_t fingerprint;
	uint32_t count;
	int16_t server;
	bool used;
};

struct server_tally {
	uint64_t inbound;        /* packets to a VIP captured at this server */
	uint64_t outbound;       /* packets from the cluster captured at this server */
	uint64_t unmatched;      /* matched mode: captured here, absent from the sent capture */
};

enum replay_mode {
	MODE_PLAIN,              /* FILEs only: placement is the engine's verdict */
	MODE_MERGED,             /* --observed only: the merged captures are replayed */
	MODE_MATCHED,            /* FILEs (sent) + --observed: each sent packet is looked up */
};

struct replay {
	struct sara_config cfg;
	struct engine *engine;
	struct gateway *gateway;
	bool json, check, progress, verbose;
	uint64_t max_records;
	struct flow_record *flows;
	uint32_t flow_count, flow_capacity;
	uint32_t *flow_index;     /* open addressing: flow record index + 1 */
	uint32_t flow_index_mask;
	struct session_record *sessions;
	uint32_t session_count, session_capacity;
	uint32_t *session_index;
	uint32_t session_index_mask;
	struct hash_key hash_key;
	uint64_t inbound, outbound, other, truncated, announcements;
	bool out_of_memory;
	enum replay_mode mode;
	int current_server;       /* merged mode: server of the file being fed */
	struct observed_file *observed;
	unsigned observed_count;
	struct observation *observations;
	uint32_t observation_count, observation_mask;
	struct server_tally tally[SARA_MAX_SERVERS];
};

#define NO_RECORD UINT32_MAX

/* ---- records ---- */

struct record_key {
	struct flow_key flow;
	uint64_t session;
};

static uint64_t record_hash(const struct replay *r, const struct flow_key *key, uint64_t session)
{
	struct record_key k;
	memset(&k, 0, sizeof(k));
	k.flow = *key;
	k.session = session;
	return hash_bytes(&r->hash_key, &k, sizeof(k));
}

static bool grow_index(uint32_t **index, uint32_t *mask, uint32_t count)
{
	uint32_t size = *index ? *mask + 1 : 1024;
	uint32_t *fresh;
	if (*index && (uint64_t)count * 2 < size)
		return true;
	while ((uint64_t)count * 2 >= size)
		size *= 2;
	fresh = calloc(size, sizeof(uint32_t));
	if (!fresh)
		return false;
	free(*index);
	*index = fresh;
	*mask = size - 1;
	return false; /* caller must rehash */
}

static void flow_index_insert(struct replay *r, uint32_t id)
{
	uint32_t slot = (uint32_t)record_hash(r, &r->flows[id].key, r->flows[id].session) & r->flow_index_mask;
	while (r->flow_index[slot])
		slot = (slot + 1) & r->flow_index_mask;
	r->flow_index[slot] = id + 1;
}

static uint32_t flow_record_find(struct replay *r, const struct flow_key *key, uint64_t session, bool create)
{
	uint32_t slot, id;
	if (r->flow_index) {
		slot = (uint32_t)record_hash(r, key, session) & r->flow_index_mask;
		for (; r->flow_index[slot]; slot = (slot + 1) & r->flow_index_mask) {
			id = r->flow_index[slot] - 1;
			if (r->flows[id].session == session && memcmp(&r->flows[id].key, key, sizeof(*key)) == 0)
				return id;
		}
	}
	if (!create)
		return NO_RECORD;
	if (r->flow_count >= r->max_records) {
		r->out_of_memory = true;
		return NO_RECORD;
	}
	if (r->flow_count == r->flow_capacity) {
		uint32_t cap = r->flow_capacity ? r->flow_capacity * 2 : 1024;
		struct flow_record *fresh = realloc(r->flows, sizeof(*fresh) * cap);
		if (!fresh) {
			r->out_of_memory = true;
			return NO_RECORD;
		}
		r->flows = fresh;
		r->flow_capacity = cap;
	}
	id = r->flow_count++;
	memset(&r->flows[id], 0, sizeof(r->flows[id]));
	r->flows[id].key = *key;
	r->flows[id].session = session;
	r->flows[id].next_of_session = NO_RECORD;
	if (!grow_index(&r->flow_index, &r->flow_index_mask, r->flow_count)) {
		if (!r->flow_index) {
			r->out_of_memory = true;
			r->flow_count--;
			return NO_RECORD;
		}
		for (uint32_t i = 0; i < r->flow_count; i++)
			flow_index_insert(r, i);
	} else {
		flow_index_insert(r, id);
	}
	return id;
}

static void session_index_insert(struct replay *r, uint32_t id)
{
	uint64_t serial = r->sessions[id].serial;
	uint32_t slot = (uint32_t)hash_bytes(&r->hash_key, &serial, sizeof(serial)) & r->session_index_mask;
	while (r->session_index[slot])
		slot = (slot + 1) & r->session_index_mask;
	r->session_index[slot] = id + 1;
}

static uint32_t session_record_find(struct replay *r, uint64_t serial, bool create)
{
	uint32_t slot, id;
	if (r->session_index) {
		slot = (uint32_t)hash_bytes(&r->hash_key, &serial, sizeof(serial)) & r->session_index_mask;
		for (; r->session_index[slot]; slot = (slot + 1) & r->session_index_mask) {
			id = r->session_index[slot] - 1;
			if (r->sessions[id].serial == serial)
				return id;
		}
	}
	if (!create)
		return NO_RECORD;
	if (r->session_count >= r->max_records) {
		r->out_of_memory = true;
		return NO_RECORD;
	}
	if (r->session_count == r->session_capacity) {
		uint32_t cap = r->session_capacity ? r->session_capacity * 2 : 256;
		struct session_record *fresh = realloc(r->sessions, sizeof(*fresh) * cap);
		if (!fresh) {
			r->out_of_memory = true;
			return NO_RECORD;
		}
		r->sessions = fresh;
		r->session_capacity = cap;
	}
	id = r->session_count++;
	memset(&r->sessions[id], 0, sizeof(r->sessions[id]));
	r->sessions[id].serial = serial;
	r->sessions[id].server = ENGINE_NO_SERVER;
	r->sessions[id].first_observed = LOCATION_NOWHERE;
	r->sessions[id].first_flow = NO_RECORD;
	if (!grow_index(&r->session_index, &r->session_index_mask, r->session_count)) {
		if (!r->session_index) {
			r->out_of_memory = true;
			r->session_count--;
			return NO_RECORD;
		}
		for (uint32_t i = 0; i < r->session_count; i++)
			session_index_insert(r, i);
	} else {
		session_index_insert(r, id);
	}
	return id;
}

/* ---- feeding ---- */

static void record_verdict(struct replay *r, const struct verdict *v, const struct packet *pkt,
			   uint64_t ts_us, int location)
{
	uint32_t fid;
	struct flow_record *f;
	if (v->reason == REASON_FRAGMENT_HELD || v->reason == REASON_NOT_IP || v->reason == REASON_NOT_VIP)
		return;
	fid = flow_record_find(r, &v->key, v->session, true);
	if (fid == NO_RECORD)
		return;
	f = &r->flows[fid];
	if (f->packets == 0) {
		f->identity = v->identity;
		f->first_us = ts_us;
		f->looks_rtp = pkt->payload_len >= 4 && (pkt->payload[0] & 0xc0) == 0x80;
	}
	f->packets++;
	if (location == LOCATION_VERDICT) {
		if (v->action == VERDICT_DROP || v->server < 0 || v->server >= 64)
			f->unmarked = true;
		else
			f->servers |= 1ull << v->server;
	} else if (location < 0) {
		f->unmarked = true;
	} else {
		f->servers |= 1ull << location;
	}
	if (v->session) {
		uint32_t sid = session_record_find(r, v->session, true);
		struct session_info info;
		if (sid == NO_RECORD)
			return;
		if (r->sessions[sid].first_us == 0)
			r->sessions[sid].first_us = ts_us;
		if (r->sessions[sid].first_observed < 0 && location >= 0)
			r->sessions[sid].first_observed = location;
		r->sessions[sid].last_us = ts_us;
		/* Keys change (RTSP learns its Session id): keep the latest. */
		if (engine_session_info(r->engine, v->session, &info)) {
			r->sessions[sid].proto = info.proto;
			r->sessions[sid].server = info.server;
			memcpy(r->sessions[sid].key, info.key, sizeof(info.key));
		}
	}
}

static bool addr_in_cluster(const struct sara_config *cfg, const uint8_t *bytes, uint8_t family)
{
	struct netaddr a;
	memset(&a, 0, sizeof(a));
	a.family = family;
	memcpy(a.bytes, bytes, 16);
	return sara_config_is_vip(cfg, &a) || sara_config_server_by_address(cfg, &a) >= 0;
}

static bool addr_is_vip(const struct sara_config *cfg, const uint8_t *bytes, uint8_t family)
{
	struct netaddr a;
	memset(&a, 0, sizeof(a));
	a.family = family;
	memcpy(a.bytes, bytes, 16);
	return sara_config_is_vip(cfg, &a);
}

/* ---- observed placement ---- */

/* A packet's identity on its way from the client to a server: its IP bytes
 * (link padding excluded) with the fields the path rewrites zeroed: IPv4 TTL
 * and header checksum, IPv6 hop limit, and the UDP/TCP checksum (a capture
 * at the sender holds a partial checksum that NFQUEUE completes). 0 when it
 * is not IPv4/IPv6. */
static uint64_t packet_fingerprint(const struct replay *r, const uint8_t *l3, size_t len)
{
	uint8_t head[60 + 20];
	size_t ip_len, ip_head, head_len, l4_len;
	uint8_t l4;
	bool first_fragment;
	if (len >= 20 && (l3[0] >> 4) == 4) {
		ip_len = (size_t)l3[2] << 8 | l3[3];
		ip_head = (size_t)(l3[0] & 0x0f) * 4;
		l4 = l3[9];
		first_fragment = ((l3[6] & 0x1f) | l3[7]) == 0;
		if (ip_head < 20 || ip_head > len)
			ip_head = 20;
	} else if (len >= 40 && (l3[0] >> 4) == 6) {
		ip_len = 40 + ((size_t)l3[4] << 8 | l3[5]);
		ip_head = 40;
		l4 = l3[6]; /* extension headers: their L4 checksum stays in */
		first_fragment = true;
	} else {
		return 0;
	}
	if (ip_len < ip_head || ip_len > len)
		ip_len = len; /* truncated capture or bogus length: what we have */
	l4_len = !first_fragment ? 0 : l4 == 17 ? 8 : l4 == 6 ? 20 : 0;
	if (ip_head + l4_len > ip_len)
		l4_len = 0;
	head_len = ip_head + l4_len;
	memcpy(head, l3, head_len);
	if (ip_head == 40) {
		head[7] = 0;
	} else {
		head[8] = 0;
		head[10] = head[11] = 0;
	}
	if (l4_len == 8)
		head[ip_head + 6] = head[ip_head + 7] = 0;
	else if (l4_len == 20)
		head[ip_head + 16] = head[ip_head + 17] = 0;
	return hash_bytes(&r->hash_key, head, head_len) * 0x9e3779b97f4a7c15ull ^
	       hash_bytes(&r->hash_key, l3 + head_len, ip_len - head_len) ^ ip_len;
}

static uint32_t observation_slot(const struct replay *r, uint64_t fingerprint, int server)
{
	uint32_t slot = (uint32_t)(fingerprint ^ (uint64_t)server * 0x9e3779b97f4a7c15ull) & r->observation_mask;
	while (r->observations[slot].used &&
	       (r->observations[slot].fingerprint != fingerprint || r->observations[slot].server != server))
		slot = (slot + 1) & r->observation_mask;
	return slot;
}

static bool observation_grow(struct replay *r)
{
	uint32_t size = r->observations ? (r->observation_mask + 1) * 2 : 4096;
	struct observation *old = r->observations;
	uint32_t old_size = old ? r->observation_mask + 1 : 0;
	struct observation *fresh = calloc(size, sizeof(*fresh));
	if (!fresh)
		return false;
	r->observations = fresh;
	r->observation_mask = size - 1;
	for (uint32_t i = 0; i < old_size; i++)
		if (old[i].used)
			fresh[observation_slot(r, old[i].fingerprint, old[i].server)] = old[i];
	free(old);
	return true;
}

static void observation_add(struct replay *r, uint64_t fingerprint, int server)
{
	uint32_t slot;
	if ((!r->observations || (uint64_t)(r->observation_count + 1) * 2 > r->observation_mask + 1) &&
	    (r->observation_count >= r->max_records || !observation_grow(r))) {
		r->out_of_memory = true;
		return;
	}
	slot = observation_slot(r, fingerprint, server);
	if (!r->observations[slot].used) {
		r->observations[slot].used = true;
		r->observations[slot].fingerprint = fingerprint;
		r->observations[slot].server = (int16_t)server;
		r->observation_count++;
	}
	r->observations[slot].count++;
}

/* Claims one captured copy of a sent packet: the server that captured it,
 * LOCATION_NOWHERE when none did (or every copy is claimed already). */
static int observation_take(struct replay *r, const struct captured_packet *cp)
{
	uint64_t fingerprint = packet_fingerprint(r, cp->l3, cp->l3_len);
	if (!r->observations)
		return LOCATION_NOWHERE;
	for (unsigned i = 0; i < r->observed_count; i++) {
		int server = r->observed[i].server;
		uint32_t slot = observation_slot(r, fingerprint, server);
		if (r->observations[slot].used && r->observations[slot].count > 0) {
			r->observations[slot].count--;
			r->tally[server].inbound++;
			return server;
		}
	}
	return LOCATION_NOWHERE;
}

static void replay_packet(struct replay *r, const struct captured_packet *cp)
{
	struct packet pkt;
	enum packet_status status = packet_decode(cp->l3, cp->l3_len, &pkt);
	uint64_t now_ms = captured_packet_ms(cp);
	bool to_vip, from_cluster;
	if (cp->truncated)
		r->truncated++;
	if (status != PACKET_OK && status != PACKET_FRAGMENT) {
		r->other++;
		return;
	}
	to_vip = addr_is_vip(&r->cfg, pkt.key.dst, pkt.key.family);
	from_cluster = addr_in_cluster(&r->cfg, pkt.key.src, pkt.key.family);
	if (to_vip && !from_cluster) {
		struct verdict v;
		int location = LOCATION_VERDICT;
		r->inbound++;
		if (r->mode == MODE_MERGED) {
			location = r->current_server;
			r->tally[location].inbound++;
		} else if (r->mode == MODE_MATCHED) {
			location = observation_take(r, cp);
		}
		engine_packet(r->engine, cp->l3, cp->l3_len, now_ms, &v);
		record_verdict(r, &v, &pkt, cp->ts_us, location);
	} else if (from_cluster && !to_vip) {
		struct announcement ann[MAX_ANNOUNCEMENTS];
		size_t n = gateway_packet(r->gateway, cp->l3, cp->l3_len, now_ms, ann, MAX_ANNOUNCEMENTS);
		r->outbound++;
		if (r->mode == MODE_MERGED)
			r->tally[r->current_server].outbound++;
		for (size_t i = 0; i < n; i++)
			engine_announce(r->engine, &ann[i], now_ms);
		r->announcements += n;
	} else {
		r->other++; /* unrelated, or inside the cluster (proxy to server) */
	}
}

static void show_progress(const struct pcap_source *src, const char *path, time_t *last)
{
	time_t now = time(NULL);
	uint64_t size = pcap_source_file_size(src);
	int64_t offset = pcap_source_offset(src);
	if (now == *last || size == 0 || offset < 0)
		return;
	*last = now;
	fprintf(stderr, "\r%s: %3u%%", path, (unsigned)((uint64_t)offset * 100 / size));
}

static int replay_file(struct replay *r, const char *path)
{
	char err[PCAP_SOURCE_ERR_MAX];
	struct captured_packet cp;
	struct pcap_source *src = pcap_source_open(path, err, sizeof(err));
	time_t last = 0;
	uint64_t count = 0;
	int rc;
	if (!src) {
		fprintf(stderr, "sara-replay: %s\n", err);
		return -1;
	}
	while ((rc = pcap_source_next(src, &cp)) == 1) {
		replay_packet(r, &cp);
		if (r->progress && (++count & 0xfff) == 0)
			show_progress(src, path, &last);
	}
	if (r->progress && last)
		fprintf(stderr, "\r%s: 100%%\n", path);
	if (rc < 0)
		fprintf(stderr, "sara-replay: %s: %s\n", path, pcap_source_error(src));
	pcap_source_close(src);
	return rc < 0 ? -1 : 0;
}

/* Advances one observed capture; false (and the source closed) at its end
 * or on a read error, which is reported and makes *failed true. */
static bool observed_advance(struct observed_file *o, bool *failed)
{
	int rc = pcap_source_next(o->src, &o->cp);
	o->has_packet = rc == 1;
	if (rc < 0) {
		fprintf(stderr, "sara-replay: %s: %s\n", o->path, pcap_source_error(o->src));
		*failed = true;
	}
	return o->has_packet;
}

static bool observed_open_all(struct replay *r)
{
	char err[PCAP_SOURCE_ERR_MAX];
	for (unsigned i = 0; i < r->observed_count; i++) {
		r->observed[i].src = pcap_source_open(r->observed[i].path, err, sizeof(err));
		if (!r->observed[i].src) {
			fprintf(stderr, "sara-replay: %s\n", err);
			return false;
		}
	}
	return true;
}

/* Merged mode: every server's capture shares one kernel clock, so their
 * packets are replayed in timestamp order (ties: the earlier --observed). */
static int replay_observed_merged(struct replay *r)
{
	bool failed = false;
	if (!observed_open_all(r))
		return -1;
	for (unsigned i = 0; i < r->observed_count; i++)
		observed_advance(&r->observed[i], &failed);
	for (;;) {
		struct observed_file *next = NULL;
		for (unsigned i = 0; i < r->observed_count; i++) {
			struct observed_file *o = &r->observed[i];
			if (o->has_packet && (!next || o->cp.ts_us < next->cp.ts_us))
				next = o;
		}
		if (!next)
			break;
		r->current_server = next->server;
		replay_packet(r, &next->cp);
		observed_advance(next, &failed);
	}
	return failed ? -1 : 0;
}

/* Matched mode: records which server captured each inbound packet, before
 * the sent capture is replayed. */
static int load_observations(struct replay *r)
{
	bool failed = false;
	if (!observed_open_all(r))
		return -1;
	for (unsigned i = 0; i < r->observed_count; i++) {
		struct observed_file *o = &r->observed[i];
		while (observed_advance(o, &failed)) {
			struct packet pkt;
			enum packet_status status = packet_decode(o->cp.l3, o->cp.l3_len, &pkt);
			bool to_vip, from_cluster;
			if (status != PACKET_OK && status != PACKET_FRAGMENT)
				continue;
			to_vip = addr_is_vip(&r->cfg, pkt.key.dst, pkt.key.family);
			from_cluster = addr_in_cluster(&r->cfg, pkt.key.src, pkt.key.family);
			if (to_vip && !from_cluster)
				observation_add(r, packet_fingerprint(r, o->cp.l3, o->cp.l3_len), o->server);
			else if (from_cluster && !to_vip)
				r->tally[o->server].outbound++;
		}
	}
	return failed ? -1 : 0;
}

static void count_unmatched(struct replay *r)
{
	for (uint32_t i = 0; r->observations && i <= r->observation_mask; i++)
		if (r->observations[i].used)
			r->tally[r->observations[i].server].unmatched += r->observations[i].count;
}

/* ---- attribution after the run ---- */

static bool is_media_kind(uint8_t identity)
{
	return identity == FLOW_SECONDARY || identity == FLOW_UNPREDICTED || identity == FLOW_ANNOUNCED;
}

/* Packets a TCP flow carried before its session was known (its handshake)
 * belong to the first session that claims the flow; sessionless UDP from a
 * session's client while it ran is that session's unpredicted media. */
static void attribute_flows(struct replay *r)
{
	/* Records are in first-packet order, so the first claimant comes first. */
	for (uint32_t i = 0; i < r->flow_count; i++) {
		struct flow_record *owner = &r->flows[i];
		uint32_t early;
		if (owner->session == 0 || owner->key.l4 != L4_TCP)
			continue; /* a UDP flow's sessionless datagrams stay unassigned */
		early = flow_record_find(r, &owner->key, 0, false);
		if (early == NO_RECORD || r->flows[early].merged)
			continue;
		owner->packets += r->flows[early].packets;
		owner->servers |= r->flows[early].servers;
		owner->unmarked |= r->flows[early].unmarked;
		r->flows[early].merged = true;
	}
	for (uint32_t i = 0; i < r->flow_count; i++) {
		struct flow_record *f = &r->flows[i];
		if (f->session != 0 || f->merged)
			continue;
		/* Only what looks like RTP/RTCP counts as a session's lost media. */
		if (f->key.l4 != L4_UDP || f->identity != FLOW_UNPREDICTED || !f->looks_rtp)
			continue;
		/* The latest session from the same client address that had begun. */
		uint32_t best = NO_RECORD;
		for (uint32_t j = 0; j < r->flow_count; j++) {
			const struct flow_record *g = &r->flows[j];
			uint32_t sid;
			if (g->session == 0 || g->identity != FLOW_SIGNALLING || g->key.family != f->key.family ||
			    memcmp(g->key.src, f->key.src, 16) != 0)
				continue;
			sid = session_record_find(r, g->session, false);
			if (sid == NO_RECORD || r->sessions[sid].first_us > f->first_us)
				continue;
			if (best == NO_RECORD || r->sessions[sid].first_us > r->sessions[best].first_us)
				best = sid;
		}
		if (best != NO_RECORD) {
			f->session = r->sessions[best].serial;
			r->sessions[best].has_unpredicted = true;
		}
	}
	for (uint32_t i = r->flow_count; i-- > 0;) {
		struct flow_record *f = &r->flows[i];
		uint32_t sid;
		if (f->merged || f->session == 0)
			continue;
		sid = session_record_find(r, f->session, false);
		if (sid == NO_RECORD)
			continue;
		f->next_of_session = r->sessions[sid].first_flow;
		r->sessions[sid].first_flow = i;
	}
}

/* ---- output ---- */

static const char *server_name(const struct replay *r, int server)
{
	return server >= 0 && (unsigned)server < r->cfg.server_count ? r->cfg.servers[server].id : "-";
}

/* The servers a session's packets went to (bit i: server i). */
static uint64_t session_servers(const struct replay *r, const struct session_record *s, bool *unmarked)
{
	uint64_t servers = 0;
	*unmarked = false;
	for (uint32_t i = s->first_flow; i != NO_RECORD; i = r->flows[i].next_of_session) {
		servers |= r->flows[i].servers;
		*unmarked |= r->flows[i].unmarked;
	}
	return servers;
}

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void print_servers(const struct replay *r, FILE *out, const struct flow_record *f, bool json)
{
	bool first = true;
	for (unsigned i = 0; i < 64 && i < r->cfg.server_count; i++) {
		if (!(f->servers & (1ull << i)))
			continue;
		if (json) {
			fputs(first ? "" : ", ", out);
			json_string(out, r->cfg.servers[i].id);
		} else {
			fprintf(out, "%s%s", first ? "" : ",", r->cfg.servers[i].id);
		}
		first = false;
	}
	if (f->unmarked) {
		if (json)
			fprintf(out, "%snull", first ? "" : ", ");
		else
			fprintf(out, "%sunmarked", first ? "" : ",");
	}
}

static const char *flow_kind(const struct flow_record *f)
{
	return flow_identity_name((enum flow_identity)f->identity);
}

struct summary {
	uint64_t sessions, intact, split, unreached, media, predicted, unpredicted;
};

static void print_flow(const struct replay *r, FILE *out, const struct flow_record *f, bool json,
		       bool with_kind, bool first)
{
	struct endpoint src, dst;
	char a[ENDPOINT_STRLEN], b[ENDPOINT_STRLEN];
	flow_key_src(&f->key, &src);
	flow_key_dst(&f->key, &dst);
	endpoint_format(&src, a, sizeof(a));
	endpoint_format(&dst, b, sizeof(b));
	if (json) {
		fprintf(out, "%s{\"l4\": \"%s\", \"src\": \"%s\", \"dst\": \"%s\"", first ? "" : ", ",
			f->key.l4 == L4_TCP ? "tcp" : "udp", a, b);
		if (with_kind)
			fprintf(out, ", \"kind\": \"%s\"", flow_kind(f));
		fprintf(out, ", \"packets\": %llu, \"servers\": [", (unsigned long long)f->packets);
		print_servers(r, out, f, true);
		fputs("]}", out);
	} else {
		fprintf(out, "  %s %s -> %s", f->key.l4 == L4_TCP ? "tcp" : "udp", a, b);
		if (with_kind)
			fprintf(out, " %s", flow_kind(f));
		fprintf(out, " packets %llu server ", (unsigned long long)f->packets);
		print_servers(r, out, f, false);
		fputc('\n', out);
	}
}

static void counter_json(void *ctx, const struct counter_def *def, uint64_t value)
{
	bool *first = ((void **)ctx)[1];
	FILE *out = ((void **)ctx)[0];
	fprintf(out, "%s\"%s\": %llu", *first ? "" : ", ", def->name, (unsigned long long)value);
	*first = false;
}

static void counter_text(void *ctx, const struct counter_def *def, uint64_t value)
{
	fprintf((FILE *)ctx, " %s=%llu", def->name, (unsigned long long)value);
}

/* Observed mode: whether a capture was given for server b. */
static bool server_observed(const struct replay *r, unsigned b)
{
	for (unsigned i = 0; i < r->observed_count; i++)
		if (r->observed[i].server == (int)b)
			return true;
	return false;
}

static struct summary report(struct replay *r, FILE *out)
{
	struct summary sum = { 0 };
	bool first_session = true, first_unassigned = true;
	bool observed = r->mode != MODE_PLAIN;
	uint64_t per_server_sessions[SARA_MAX_SERVERS] = { 0 };
	if (r->json)
		fputs("{\"sessions\": [", out);
	for (uint32_t i = 0; i < r->session_count; i++) {
		const struct session_record *s = &r->sessions[i];
		bool unmarked, first_flow = true;
		uint64_t servers = session_servers(r, s, &unmarked);
		bool intact = !unmarked && servers != 0 && (servers & (servers - 1)) == 0;
		/* Observed: no packet of it reached a server (all lost on the way). */
		bool unreached = observed && servers == 0;
		int shown_server = observed ? s->first_observed : s->server;
		const char *state = intact ? "intact" : unreached ? "UNREACHED" : "SPLIT";
		if (s->first_flow == NO_RECORD)
			continue;
		sum.sessions++;
		if (intact)
			sum.intact++;
		else if (unreached)
			sum.unreached++;
		else
			sum.split++;
		for (unsigned b = 0; b < r->cfg.server_count; b++)
			if (servers & (1ull << b))
				per_server_sessions[b]++;
		for (uint32_t f = s->first_flow; f != NO_RECORD; f = r->flows[f].next_of_session) {
			if (!is_media_kind(r->flows[f].identity))
				continue;
			sum.media++;
			if (r->flows[f].identity == FLOW_UNPREDICTED)
				sum.unpredicted++;
			else
				sum.predicted++;
		}
		if (r->json) {
			fprintf(out, "%s\n  {\"proto\": \"%s\", \"key\": ", first_session ? "" : ",",
				proto_name((enum proto_id)s->proto));
			json_string(out, s->key);
			fprintf(out, ", \"server\": ");
			json_string(out, server_name(r, shown_server));
			fprintf(out, ", \"intact\": %s", intact ? "true" : "false");
			if (observed)
				fprintf(out, ", \"reached\": %s", unreached ? "false" : "true");
			fputs(", \"flows\": [", out);
		} else {
			fprintf(out, "session %s %s server %s %s\n", proto_name((enum proto_id)s->proto),
				s->key, server_name(r, shown_server), state);
		}
		first_session = false;
		for (uint32_t f = s->first_flow; f != NO_RECORD; f = r->flows[f].next_of_session) {
			print_flow(r, out, &r->flows[f], r->json, true, first_flow);
			first_flow = false;
		}
		if (r->json)
			fputs("]}", out);
	}
	if (r->json)
		fputs("],\n \"unassigned_flows\": [", out);
	for (uint32_t i = 0; i < r->flow_count; i++) {
		const struct flow_record *f = &r->flows[i];
		if (f->merged || f->session != 0)
			continue;
		if (!r->json)
			fputs("unassigned\n", out);
		print_flow(r, out, f, r->json, false, first_unassigned);
		first_unassigned = false;
	}
	if (r->json) {
		bool first = true;
		void *ctx[2] = { out, &first };
		fprintf(out, "],\n \"summary\": {\"sessions\": %llu, \"intact\": %llu, \"split\": %llu, "
			     "\"media_flows\": %llu, \"predicted\": %llu, \"unpredicted\": %llu",
			(unsigned long long)sum.sessions, (unsigned long long)sum.intact,
			(unsigned long long)sum.split, (unsigned long long)sum.media,
			(unsigned long long)sum.predicted, (unsigned long long)sum.unpredicted);
		if (observed) {
			bool first_server = true;
			fprintf(out, ", \"unreached\": %llu},\n \"observed\": true, \"per_server\": {",
				(unsigned long long)sum.unreached);
			for (unsigned b = 0; b < r->cfg.server_count; b++) {
				if (!server_observed(r, b))
					continue;
				fputs(first_server ? "" : ", ", out);
				json_string(out, r->cfg.servers[b].id);
				fprintf(out, ": {\"sessions\": %llu, \"packets\": %llu, \"outbound\": %llu",
					(unsigned long long)per_server_sessions[b],
					(unsigned long long)r->tally[b].inbound,
					(unsigned long long)r->tally[b].outbound);
				if (r->mode == MODE_MATCHED)
					fprintf(out, ", \"unmatched\": %llu", (unsigned long long)r->tally[b].unmatched);
				fputc('}', out);
				first_server = false;
			}
			fputs("},\n", out);
		} else {
			fputs("},\n", out);
		}
		fprintf(out, " \"packets\": {\"inbound\": %llu, \"outbound\": %llu, \"other\": %llu, "
			     "\"announcements\": %llu},\n \"counters\": {",
			(unsigned long long)r->inbound, (unsigned long long)r->outbound,
			(unsigned long long)r->other, (unsigned long long)r->announcements);
		fputs("\"engine\": {", out);
		counters_visit(engine_counters(r->engine), COUNTER_SCOPE_ENGINE, COUNTERS_REPORTED, counter_json,
			       ctx);
		fputs("}, \"gateway\": {", out);
		first = true;
		counters_visit(gateway_counters(r->gateway), COUNTER_SCOPE_GATEWAY, COUNTERS_REPORTED, counter_json,
			       ctx);
		fputs("}}}\n", out);
	} else {
		for (unsigned b = 0; observed && b < r->cfg.server_count; b++) {
			if (!server_observed(r, b))
				continue;
			fprintf(out, "server %s: sessions %llu packets %llu", r->cfg.servers[b].id,
				(unsigned long long)per_server_sessions[b], (unsigned long long)r->tally[b].inbound);
			if (r->mode == MODE_MATCHED && r->tally[b].unmatched)
				fprintf(out, " unmatched %llu", (unsigned long long)r->tally[b].unmatched);
			fputc('\n', out);
		}
		fprintf(out, "sessions %llu intact %llu split %llu", (unsigned long long)sum.sessions,
			(unsigned long long)sum.intact, (unsigned long long)sum.split);
		if (observed)
			fprintf(out, " unreached %llu", (unsigned long long)sum.unreached);
		fprintf(out, "; media flows %llu predicted %llu unpredicted %llu\n",
			(unsigned long long)sum.media, (unsigned long long)sum.predicted,
			(unsigned long long)sum.unpredicted);
		if (r->verbose) {
			fprintf(out, "packets inbound %llu outbound %llu other %llu; announcements %llu\ncounters:",
				(unsigned long long)r->inbound, (unsigned long long)r->outbound,
				(unsigned long long)r->other, (unsigned long long)r->announcements);
			counters_visit(engine_counters(r->engine), COUNTER_SCOPE_ENGINE, COUNTERS_REPORTED,
				       counter_text, out);
			fputs("\ngateway counters:", out);
			counters_visit(gateway_counters(r->gateway), COUNTER_SCOPE_GATEWAY, COUNTERS_REPORTED,
				       counter_text, out);
			fputc('\n', out);
		}
	}
	return sum;
}

/* ---- main ---- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sara-replay -c CLUSTER.cfg [--vip ADDR]... [--json] [--check] [--verbose] FILE...\n"
		"       sara-replay -c CLUSTER.cfg [options] --observed ID=FILE... [SENT-FILE...]\n"
		"       sara-replay -c CLUSTER.cfg --check-config\n"
		"Replays pcap/pcapng captures through sara's engine: packets to a VIP are\n"
		"inbound (dispatcher), packets from a VIP or server are outbound (gateway).\n"
		"  -c, --config FILE   the cluster's configuration\n"
		"      --vip ADDR      treat ADDR as a VIP too (e.g. the real server of a capture)\n"
		"      --observed ID=FILE\n"
		"                      FILE was captured at server ID (repeatable): a flow's\n"
		"                      servers are where its packets were captured, not the\n"
		"                      engine's verdict. Without SENT-FILEs the captures are\n"
		"                      merged in timestamp order and replayed; with them the\n"
		"                      SENT-FILEs (captured before the dispatcher) are replayed\n"
		"                      and each inbound packet is looked up in the captures, so\n"
		"                      packets no server received show as lost (null/unmarked)\n"
		"      --json          print one JSON document\n"
		"      --check         exit 1 if a session is split or unreached, or media went\n"
		"                      unpredicted\n"
		"      --check-config  validate the configuration and exit\n"
		"  -v, --verbose       also print packet and counter totals\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "vip", required_argument, NULL, 'V' },
		{ "observed", required_argument, NULL, 'O' },
		{ "json", no_argument, NULL, 'j' },
		{ "check", no_argument, NULL, 'k' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct replay r;
	const char *config_path = NULL;
	const char *extra_vips[SARA_MAX_VIPS];
	unsigned extra_vip_count = 0;
	const char *observed_args[SARA_MAX_SERVERS];
	unsigned observed_arg_count = 0;
	bool check_config = false;
	char err[512];
	int opt, status = 0;
	struct summary sum;

	memset(&r, 0, sizeof(r));
	r.max_records = DEFAULT_MAX_RECORDS;
	while ((opt = getopt_long(argc, argv, "c:vh", options, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'V':
			if (extra_vip_count == SARA_MAX_VIPS) {
				fprintf(stderr, "sara-replay: at most %d --vip\n", SARA_MAX_VIPS);
				return 2;
			}
			extra_vips[extra_vip_count++] = optarg;
			break;
		case 'O':
			if (observed_arg_count == SARA_MAX_SERVERS) {
				fprintf(stderr, "sara-replay: at most %d --observed\n", SARA_MAX_SERVERS);
				return 2;
			}
			observed_args[observed_arg_count++] = optarg;
			break;
		case 'j': r.json = true; break;
		case 'k': r.check = true; break;
		case 'C': check_config = true; break;
		case 'v': r.verbose = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!config_path) {
		usage(stderr);
		return 2;
	}
	if (!sara_config_load(config_path, &r.cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	for (unsigned i = 0; i < extra_vip_count; i++) {
		struct netaddr vip;
		if (!netaddr_parse(span_make(extra_vips[i], strlen(extra_vips[i])), &vip)) {
			fprintf(stderr, "sara-replay: --vip %s: not an IPv4 or IPv6 address\n", extra_vips[i]);
			return 2;
		}
		if (sara_config_is_vip(&r.cfg, &vip))
			continue;
		if (r.cfg.vip_count == SARA_MAX_VIPS) {
			fprintf(stderr, "sara-replay: too many VIPs (at most %d)\n", SARA_MAX_VIPS);
			return 2;
		}
		r.cfg.vips[r.cfg.vip_count++] = vip;
	}
	if (!sara_config_validate(&r.cfg, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", config_path, err);
		return 2;
	}
	if (check_config) {
		printf("%s: ok (%u VIPs, %u servers, selection %s)\n", config_path, r.cfg.vip_count,
		       r.cfg.server_count, selection_algorithm_name(r.cfg.selection.algorithm));
		return 0;
	}
	if (optind >= argc && observed_arg_count == 0) {
		usage(stderr);
		return 2;
	}
	if (observed_arg_count > 0) {
		r.observed = calloc(observed_arg_count, sizeof(*r.observed));
		if (!r.observed) {
			fprintf(stderr, "sara-replay: out of memory\n");
			return 2;
		}
		for (unsigned i = 0; i < observed_arg_count; i++) {
			const char *eq = strchr(observed_args[i], '=');
			int server = -1;
			for (unsigned b = 0; eq && b < r.cfg.server_count; b++)
				if (strlen(r.cfg.servers[b].id) == (size_t)(eq - observed_args[i]) &&
				    memcmp(r.cfg.servers[b].id, observed_args[i], (size_t)(eq - observed_args[i])) == 0)
					server = (int)b;
			if (!eq || eq[1] == '\0' || server < 0) {
				fprintf(stderr, "sara-replay: --observed %s: expected ID=FILE with ID a server of %s\n",
					observed_args[i], config_path);
				free(r.observed);
				return 2;
			}
			r.observed[r.observed_count].path = eq + 1;
			r.observed[r.observed_count].server = server;
			r.observed_count++;
		}
		r.mode = optind < argc ? MODE_MATCHED : MODE_MERGED;
	}
	r.progress = isatty(STDERR_FILENO) && !r.json;
	hash_key_random(&r.hash_key);
	r.engine = engine_create(&r.cfg, NULL, 0, err, sizeof(err));
	if (!r.engine) {
		fprintf(stderr, "sara-replay: %s\n", err);
		return 2;
	}
	r.gateway = gateway_create(&r.cfg, 0, err, sizeof(err));
	if (!r.gateway) {
		fprintf(stderr, "sara-replay: %s\n", err);
		status = 2;
		goto out_free_engine;
	}
	if (r.mode == MODE_MERGED && replay_observed_merged(&r) < 0)
		status = 2;
	if (r.mode == MODE_MATCHED && load_observations(&r) < 0)
		status = 2;
	for (int i = optind; i < argc && status == 0; i++)
		if (replay_file(&r, argv[i]) < 0)
			status = 2;
	if (r.mode == MODE_MATCHED)
		count_unmatched(&r);
	if (r.out_of_memory)
		fprintf(stderr, "sara-replay: record limit reached; the report is incomplete\n");
	attribute_flows(&r);
	sum = report(&r, stdout);
	if (status == 0 && r.check && (sum.split > 0 || sum.unreached > 0 || sum.unpredicted > 0)) {
		if (r.mode == MODE_PLAIN)
			fprintf(stderr, "sara-replay: check failed: %llu split sessions, %llu unpredicted media flows\n",
				(unsigned long long)sum.split, (unsigned long long)sum.unpredicted);
		else
			fprintf(stderr, "sara-replay: check failed: %llu split sessions, %llu unreached sessions, "
					"%llu unpredicted media flows\n",
				(unsigned long long)sum.split, (unsigned long long)sum.unreached,
				(unsigned long long)sum.unpredicted);
		status = 1;
	}
	gateway_destroy(r.gateway);
out_free_engine:
	engine_destroy(r.engine);
	free(r.flows);
	free(r.flow_index);
	free(r.sessions);
	free(r.session_index);
	for (unsigned i = 0; i < r.observed_count; i++)
		pcap_source_close(r.observed[i].src);
	free(r.observed);
	free(r.observations);
	return status;
}
