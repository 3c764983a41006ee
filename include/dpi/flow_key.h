/* flow_key.h - the 5-tuple that names a transport flow (IPv4 and IPv6).
 * Fixed layout with explicit padding so keys hash and compare as bytes. */
#ifndef SARA_FLOW_KEY_H
#define SARA_FLOW_KEY_H

#include <stdint.h>
#include <string.h>

#include "dpi/netaddr.h"

#define L4_TCP 6
#define L4_UDP 17

struct flow_key {
	uint8_t family; /* NETADDR_IPV4 or NETADDR_IPV6 */
	uint8_t l4;     /* L4_TCP or L4_UDP */
	uint16_t sport; /* host byte order */
	uint16_t dport;
	uint16_t pad;   /* always zero */
	uint8_t src[16];
	uint8_t dst[16];
};

static inline void flow_key_src(const struct flow_key *k, struct endpoint *e)
{
	memset(e, 0, sizeof(*e));
	e->addr.family = k->family;
	memcpy(e->addr.bytes, k->src, 16);
	e->port = k->sport;
}

static inline void flow_key_dst(const struct flow_key *k, struct endpoint *e)
{
	memset(e, 0, sizeof(*e));
	e->addr.family = k->family;
	memcpy(e->addr.bytes, k->dst, 16);
	e->port = k->dport;
}

#endif
