/* sockaddr.c - endpoints to and from the socket API's address structures. */
#include "io/sockaddr.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

int endpoint_bind(const struct endpoint *at, int type, bool v6only, enum bind_failure *failed)
{
	struct sockaddr_storage ss;
	socklen_t len = endpoint_to_sockaddr(at, &ss);
	int fd, one = 1, saved;

	if (len == 0) {
		*failed = BIND_NO_ADDRESS;
		errno = EAFNOSUPPORT;
		return -1;
	}
	fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*failed = BIND_SOCKET;
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6only && ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&ss, len) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		*failed = BIND_BIND;
		return -1;
	}
	return fd;
}
