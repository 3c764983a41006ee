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

#endif
