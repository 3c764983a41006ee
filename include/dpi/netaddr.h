/* netaddr.h - IPv4/IPv6 addresses and transport endpoints, in a fixed-size,
 * memcmp-comparable form shared by the decoder, the parsers and the engine. */
#ifndef SARA_NETADDR_H
#define SARA_NETADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "dpi/span.h"

/* The family values: Linux's NETADDR_IPV4 and NETADDR_IPV6, named here so that the
 * parsers and the engine need no socket header (netaddr.c checks they agree). */
#define NETADDR_IPV4 2
#define NETADDR_IPV6 10

/* IPv4 lives in bytes[0..3] with bytes[4..15] zero, so memcmp works. */
struct netaddr {
	uint8_t family; /* NETADDR_IPV4 or NETADDR_IPV6; 0 = unset */
	uint8_t bytes[16];
};

struct endpoint {
	struct netaddr addr;
	uint16_t port;
};

/* "a.b.c.d" length needs INET6_ADDRSTRLEN; endpoints add "[]:65535". */
#define NETADDR_STRLEN 46
#define ENDPOINT_STRLEN 56

/* Parses dotted IPv4 or IPv6 text (brackets allowed); bounded by s.len. */
bool netaddr_parse(struct span s, struct netaddr *out);
bool netaddr_equal(const struct netaddr *a, const struct netaddr *b);
bool netaddr_is_unspecified(const struct netaddr *a); /* 0.0.0.0 or :: */
/* Both unset (family 0), or the same address and port. */
bool endpoint_equal(const struct endpoint *a, const struct endpoint *b);
bool netaddr_is_multicast(const struct netaddr *a);
/* Writes text into buf (always NUL-terminated when size > 0); returns buf. */
const char *netaddr_format(const struct netaddr *a, char *buf, size_t size);
/* "198.18.0.1:5060" or "[fd00::1]:5060". */
const char *endpoint_format(const struct endpoint *e, char *buf, size_t size);
/* Parses "addr:port", "[v6]:port"; false on anything else. */
bool endpoint_parse(struct span s, struct endpoint *out);

#endif
