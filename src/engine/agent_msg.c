/* agent_msg.c - heartbeat and load-report bodies (agent_msg.h): explicit
 * big-endian encoding, decoders that check length, flag, host and range. */
#include "engine/agent_msg.h"

#include "dpi/byte_order.h"

#include <string.h>

size_t agent_heartbeat_encode(const struct agent_heartbeat *hb, uint8_t *out, size_t cap)
{
	if (cap < AGENT_HEARTBEAT_SIZE)
		return 0;
	put_be32(out, hb->host_id);
	put_be16(out + 4, hb->seq);
	out[6] = hb->flag;
	put_be32(out + 7, hb->timestamp);
	return AGENT_HEARTBEAT_SIZE;
}

size_t agent_load_encode(const struct agent_load *load, uint8_t *out, size_t cap)
{
	if (cap < AGENT_LOAD_SIZE)
		return 0;
	put_be32(out, load->host_id);
	for (unsigned i = 0; i < AGENT_LOAD_COMPONENTS; i++)
		put_be16(out + 4 + 2 * i, load->fixed[i]);
	return AGENT_LOAD_SIZE;
}

/* What both bodies start with: a fixed size (anything else is refused, not
 * guessed at) and a non-zero host id. Clears out (out_size bytes) first, so
 * a refused message leaves nothing behind. */
static enum counter_id body_host(const uint8_t *buf, size_t len, size_t want, void *out, size_t out_size,
				 uint32_t *host_id)
{
	memset(out, 0, out_size);
	if (len < want)
		return COUNTER_AGENT_TRUNCATED;
	if (len > want)
		return COUNTER_AGENT_TRAILING_BYTES;
	*host_id = get_be32(buf);
	return *host_id ? COUNTER_NONE : COUNTER_AGENT_BAD_HOST;
}

enum counter_id agent_heartbeat_decode(const uint8_t *buf, size_t len, struct agent_heartbeat *out)
{
	struct agent_heartbeat hb = { 0 };
	enum counter_id reason = body_host(buf, len, AGENT_HEARTBEAT_SIZE, out, sizeof(*out), &hb.host_id);
	if (reason != COUNTER_NONE)
		return reason;
	hb.seq = get_be16(buf + 4);
	hb.flag = buf[6];
	hb.timestamp = get_be32(buf + 7);
	if (hb.flag >= AGENT_FLAG_COUNT)
		return COUNTER_AGENT_BAD_FLAG;
	*out = hb;
	return COUNTER_NONE;
}

enum counter_id agent_load_decode(const uint8_t *buf, size_t len, struct agent_load *out)
{
	struct agent_load load = { 0 };
	enum counter_id reason = body_host(buf, len, AGENT_LOAD_SIZE, out, sizeof(*out), &load.host_id);
	if (reason != COUNTER_NONE)
		return reason;
	for (unsigned i = 0; i < AGENT_LOAD_COMPONENTS; i++) {
		load.fixed[i] = get_be16(buf + 4 + 2 * i);
		/* Our encoder clamps, so a larger value is a broken or hostile
		 * agent, except the one that says "not counted". */
		if (load.fixed[i] > AGENT_LOAD_SCALE && load.fixed[i] != AGENT_LOAD_NOT_REPORTED)
			return COUNTER_AGENT_LOAD_OUT_OF_RANGE;
	}
	*out = load;
	return COUNTER_NONE;
}

uint16_t agent_load_to_fixed(double fraction)
{
	return (uint16_t)fraction_to_fixed(fraction, AGENT_LOAD_SCALE);
}

double agent_load_from_fixed(uint16_t fixed)
{
	if (fixed == AGENT_LOAD_NOT_REPORTED)
		return NAN;
	return (double)fixed / AGENT_LOAD_SCALE;
}

enum counter_id agent_msg_check_sender(const struct sara_config *cfg, uint32_t wire_sender, uint32_t host_id,
				   unsigned *server)
{
	if (wire_sender == 0)
		return COUNTER_AGENT_UNKNOWN_HOST;
	/* A key holder may only speak for the host it signs as. */
	if (host_id != wire_sender)
		return COUNTER_AGENT_HOST_MISMATCH;
	if (wire_sender & AGENT_SENDER_BY_ID) {
		for (unsigned i = 0; i < cfg->server_count; i++)
			if (cfg->servers[i].id[0] && agent_sender_id(cfg->servers[i].id) == wire_sender) {
				*server = i;
				return COUNTER_NONE;
			}
		return COUNTER_AGENT_UNKNOWN_HOST;
	}
	if (wire_sender > cfg->server_count || !cfg->servers[wire_sender - 1].id[0])
		return COUNTER_AGENT_UNKNOWN_HOST;
	*server = wire_sender - 1;
	return COUNTER_NONE;
}

uint32_t agent_sender_id(const char *server_id)
{
	/* FNV-1a: fixed, so that every agent and dispatcher agree. */
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < SARA_ID_MAX && server_id[i]; i++) {
		h ^= (uint8_t)server_id[i];
		h *= 16777619u;
	}
	return h | AGENT_SENDER_BY_ID;
}

const char *agent_flag_name(uint8_t flag)
{
	static const char *const names[AGENT_FLAG_COUNT] = {
		[AGENT_UP] = "up",
		[AGENT_APP_DOWN] = "app_down",
		[AGENT_DRAIN] = "drain",
	};
	return flag < AGENT_FLAG_COUNT ? names[flag] : "?";
}

const char *agent_load_component_name(unsigned component)
{
	static const char *const names[AGENT_LOAD_COMPONENTS] = { AGENT_LOAD_COMPONENT_LIST(ENUM_LIST_ENTRY) };
	return component < AGENT_LOAD_COMPONENTS ? names[component] : "?";
}
