/* sockaddr.c - endpoints to and from the socket API's address structures. */
#include "io/sockaddr.h"

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Where each family keeps its port and address in its sockaddr. */
struct sockaddr_layout {
	uint8_t family;       /* AF_INET or AF_INET6, as struct netaddr names it */
	size_t addr_len;
	size_t port_at, addr_at;
	unsigned size;
};

static const struct sockaddr_layout layouts[] = {
	{ AF_INET, 4, offsetof(struct sockaddr_in, sin_port), offsetof(struct sockaddr_in, sin_addr),
	  sizeof(struct sockaddr_in) },
	{ AF_INET6, 16, offsetof(struct sockaddr_in6, sin6_port), offsetof(struct sockaddr_in6, sin6_addr),
	  sizeof(struct sockaddr_in6) },
};

static const struct sockaddr_layout *layout_of(unsigned family)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].family == family)
			return &layouts[i];
	return NULL;
}

unsigned endpoint_to_sockaddr(const struct endpoint *e, struct sockaddr_storage *ss)
{
	const struct sockaddr_layout *l = layout_of(e->addr.family);
	uint16_t port = htons(e->port);
	memset(ss, 0, sizeof(*ss));
	if (!l)
		return 0;
	ss->ss_family = l->family;
	memcpy((uint8_t *)ss + l->port_at, &port, sizeof(port));
	memcpy((uint8_t *)ss + l->addr_at, e->addr.bytes, l->addr_len);
	return l->size;
}

bool endpoint_from_sockaddr(const struct sockaddr_storage *ss, struct endpoint *out)
{
	const struct sockaddr_layout *l = layout_of(ss->ss_family);
	uint16_t port;
	memset(out, 0, sizeof(*out));
	if (!l)
		return false;
	out->addr.family = l->family;
	memcpy(out->addr.bytes, (const uint8_t *)ss + l->addr_at, l->addr_len);
	memcpy(&port, (const uint8_t *)ss + l->port_at, sizeof(port));
	out->port = ntohs(port);
	return true;
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
