/* replay.c - feeds captured packets through the engine and the gateway and
 * records, per flow and session, where each inbound packet went. */
#include <string.h>

#include "sara-replay/attribution.h"
#include "sara-replay/replay.h"

#define MAX_ANNOUNCEMENTS 16   /* the gateway's per outbound packet */

bool replay_init(struct replay *r, const struct sara_config *cfg, enum replay_mode mode,
		 const struct hash_key *key, uint64_t max_records, char *err, size_t err_size)
{
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->mode = mode;
	records_init(&r->records, key, max_records);
	observations_init(&r->observations, key, max_records);
	r->engine = engine_create(cfg, NULL, 0, err, err_size);
	if (!r->engine)
		return false;
	r->gateway = gateway_create(cfg, 0, err, err_size);
	if (!r->gateway) {
		engine_destroy(r->engine);
		r->engine = NULL;
		return false;
	}
	return true;
}

void replay_free(struct replay *r)
{
	gateway_destroy(r->gateway);
	engine_destroy(r->engine);
	records_free(&r->records);
	observations_free(&r->observations);
	r->gateway = NULL;
	r->engine = NULL;
}

bool replay_add_observed(struct replay *r, int server)
{
	if (r->observed_count == SARA_MAX_SERVERS || server < 0 || (unsigned)server >= r->cfg->server_count)
		return false;
	r->observed[r->observed_count++] = server;
	return true;
}

bool replay_server_observed(const struct replay *r, unsigned server)
{
	for (unsigned i = 0; i < r->observed_count; i++)
		if (r->observed[i] == (int)server)
			return true;
	return false;
}

static struct netaddr address_of(const uint8_t *bytes, uint8_t family)
{
	struct netaddr a;
	memset(&a, 0, sizeof(a));
	a.family = family;
	memcpy(a.bytes, bytes, 16);
	return a;
}

enum packet_direction replay_direction(const struct sara_config *cfg, const uint8_t *l3, size_t len,
				       struct packet *pkt)
{
	enum packet_status status = packet_decode(l3, len, pkt);
	struct netaddr src, dst;
	bool to_vip, from_cluster;
	if (status != PACKET_OK && status != PACKET_FRAGMENT)
		return DIRECTION_UNDECODED;
	src = address_of(pkt->key.src, pkt->key.family);
	dst = address_of(pkt->key.dst, pkt->key.family);
	to_vip = sara_config_is_vip(cfg, &dst);
	from_cluster = sara_config_is_vip(cfg, &src) || sara_config_server_by_address(cfg, &src) >= 0;
	if (to_vip && !from_cluster)
		return DIRECTION_INBOUND;
	if (from_cluster && !to_vip)
		return DIRECTION_OUTBOUND;
	return DIRECTION_OTHER;
}

/* Counts one packet of v's flow and where it went; false when the flow has
 * no record (the table is full). */
static bool record_flow_packet(struct replay *r, const struct verdict *v, const struct packet *pkt,
			       uint64_t ts_us, int location)
{
	uint32_t fid = records_flow(&r->records, &v->key, v->session, true);
	struct flow_record *f;
	if (fid == RECORD_NONE)
		return false;
	f = &r->records.flows[fid];
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
	return true;
}

/* Notes one packet of v's session: its time span, the first server that
 * observed it, and the engine's latest view of it. */
static void record_session_packet(struct replay *r, const struct verdict *v, uint64_t ts_us, int location)
{
	uint32_t sid = records_session(&r->records, v->session, true);
	struct session_record *s;
	struct session_info info;
	if (sid == RECORD_NONE)
		return;
	s = &r->records.sessions[sid];
	if (s->first_us == 0)
		s->first_us = ts_us;
	if (s->first_observed < 0 && location >= 0)
		s->first_observed = location;
	s->last_us = ts_us;
	/* Keys change (RTSP learns its Session id): keep the latest. */
	if (engine_session_info(r->engine, v->session, &info)) {
		s->proto = info.proto;
		s->server = info.server;
		memcpy(s->key, info.key, sizeof(info.key));
	}
}

static void record_verdict(struct replay *r, const struct verdict *v, const struct packet *pkt,
			   uint64_t ts_us, int location)
{
	if (v->reason == REASON_FRAGMENT_HELD || v->reason == REASON_NOT_IP || v->reason == REASON_NOT_VIP)
		return;
	if (record_flow_packet(r, v, pkt, ts_us, location) && v->session)
		record_session_packet(r, v, ts_us, location);
}

static void replay_inbound(struct replay *r, const struct captured_packet *cp, const struct packet *pkt)
{
	struct verdict v;
	int location = LOCATION_VERDICT;
	r->inbound++;
	if (r->mode == REPLAY_MERGED) {
		location = r->current_server;
		r->tally[location].inbound++;
	} else if (r->mode == REPLAY_MATCHED) {
		location = observations_take(&r->observations, cp->l3, cp->l3_len, r->observed, r->observed_count);
		if (location >= 0)
			r->tally[location].inbound++;
	}
	engine_packet(r->engine, cp->l3, cp->l3_len, captured_packet_ms(cp), &v);
	record_verdict(r, &v, pkt, cp->ts_us, location);
}

static void replay_outbound(struct replay *r, const struct captured_packet *cp)
{
	struct announcement ann[MAX_ANNOUNCEMENTS];
	uint64_t now_ms = captured_packet_ms(cp);
	size_t n = gateway_packet(r->gateway, cp->l3, cp->l3_len, now_ms, ann, MAX_ANNOUNCEMENTS);
	r->outbound++;
	if (r->mode == REPLAY_MERGED)
		r->tally[r->current_server].outbound++;
	for (size_t i = 0; i < n; i++)
		engine_announce(r->engine, &ann[i], now_ms);
	r->announcements += n;
}

void replay_packet(struct replay *r, const struct captured_packet *cp)
{
	struct packet pkt;
	if (cp->truncated)
		r->truncated++;
	switch (replay_direction(r->cfg, cp->l3, cp->l3_len, &pkt)) {
	case DIRECTION_INBOUND:
		replay_inbound(r, cp, &pkt);
		break;
	case DIRECTION_OUTBOUND:
		replay_outbound(r, cp);
		break;
	case DIRECTION_UNDECODED:
	case DIRECTION_OTHER:
		r->other++;
		break;
	}
}

void replay_observe(struct replay *r, int server, const struct captured_packet *cp)
{
	struct packet pkt;
	switch (replay_direction(r->cfg, cp->l3, cp->l3_len, &pkt)) {
	case DIRECTION_INBOUND:
		observations_add(&r->observations, cp->l3, cp->l3_len, server);
		break;
	case DIRECTION_OUTBOUND:
		r->tally[server].outbound++;
		break;
	case DIRECTION_UNDECODED:
	case DIRECTION_OTHER:
		break;
	}
}

void replay_finish(struct replay *r)
{
	if (r->mode == REPLAY_MATCHED) {
		uint64_t unclaimed[SARA_MAX_SERVERS] = { 0 };
		observations_unclaimed(&r->observations, unclaimed);
		for (unsigned b = 0; b < SARA_MAX_SERVERS; b++)
			r->tally[b].unmatched += unclaimed[b];
	}
	attribute_flows(&r->records);
}

bool replay_incomplete(const struct replay *r)
{
	return r->records.out_of_memory || r->observations.out_of_memory;
}
