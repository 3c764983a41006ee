/* sockaddr.h - endpoints to and from the socket API's address structures. */
#ifndef SARA_SOCKADDR_H
#define SARA_SOCKADDR_H

#include <stdbool.h>

#include "dpi/netaddr.h"

struct sockaddr_storage;
/* For the socket calls: fills ss and returns its length, 0 for a family
 * other than IPv4/IPv6. */
unsigned endpoint_to_sockaddr(const struct endpoint *e, struct sockaddr_storage *ss);
/* The reverse, for a received datagram's source; false for other families. */
bool endpoint_from_sockaddr(const struct sockaddr_storage *ss, struct endpoint *out);

/* The step of endpoint_bind that failed. */
enum bind_failure { BIND_NO_ADDRESS, BIND_SOCKET, BIND_BIND };
/* A close-on-exec socket of type (SOCK_DGRAM, SOCK_STREAM, with flags such as
 * SOCK_NONBLOCK) bound to at with SO_REUSEADDR, IPv6-only when v6only and at
 * is IPv6; or -1 with *failed and errno telling why. */
int endpoint_bind(const struct endpoint *at, int type, bool v6only, enum bind_failure *failed);

#endif
