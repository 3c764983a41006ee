/* udp_listen.h - a UDP socket bound to a configured endpoint, for the
 * receivers of the cluster's authenticated messages (agents, announcements). */
#ifndef SARA_UDP_LISTEN_H
#define SARA_UDP_LISTEN_H

#include <stddef.h>

#include "dpi/netaddr.h"

/* A close-on-exec UDP socket bound to at (SO_REUSEADDR), or -1 with err
 * set to "socket: REASON" or "bind ADDR: REASON". */
int udp_listen(const struct endpoint *at, char *err, size_t err_size);

#endif
