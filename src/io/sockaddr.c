/* sockaddr.c - endpoints to and from the socket API's address structures. */
#include "io/sockaddr.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

unsigned endpoint_to_sockaddr(const struct endpoint *e, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (e->addr.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(e->port);
		memcpy(&sin->sin_addr, e->addr.bytes, 4);
		return sizeof(*sin);
	}
	if (e->addr.family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(e->port);
		memcpy(&sin6->sin6_addr, e->addr.bytes, 16);
		return sizeof(*sin6);
	}
	return 0;
}

bool endpoint_from_sockaddr(const struct sockaddr_storage *ss, struct endpoint *out)
{
	memset(out, 0, sizeof(*out));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		out->addr.family = AF_INET;
		memcpy(out->addr.bytes, &sin->sin_addr, 4);
		out->port = ntohs(sin->sin_port);
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		out->addr.family = AF_INET6;
		memcpy(out->addr.bytes, &sin6->sin6_addr, 16);
		out->port = ntohs(sin6->sin6_port);
		return true;
	}
	return false;
}
