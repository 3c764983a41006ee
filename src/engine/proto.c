/* proto.c - the registry of signalling protocol descriptors (signal.h). */
#include "engine/signal_facts.h"

#include <stddef.h>

static const struct proto_handler *const protocols[] = { &proto_sip, &proto_rtsp };

const struct proto_handler *proto_for_port(const struct sara_config *cfg, uint8_t l4, uint16_t port)
{
	for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++) {
		const struct proto_handler *h = protocols[i];
		if (h->tcp_only && l4 != L4_TCP)
			continue;
		if (h->is_port(cfg, port))
			return h;
	}
	return NULL;
}

const struct proto_handler *proto_by_id(enum proto_id id)
{
	for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++)
		if (protocols[i]->id == id)
			return protocols[i];
	return NULL;
}

const char *proto_name(enum proto_id id)
{
	const struct proto_handler *h = proto_by_id(id);
	return h ? h->name : "none";
}
