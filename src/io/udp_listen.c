/* udp_listen.c - UDP sockets bound to configured endpoints (udp_listen.h). */
#include "io/sockaddr.h"
#include "io/udp_listen.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int udp_listen(const struct endpoint *at, char *err, size_t err_size)
{
	struct sockaddr_storage ss;
	socklen_t ss_len = endpoint_to_sockaddr(at, &ss);
	char where[ENDPOINT_STRLEN];
	int fd, one = 1;

	endpoint_format(at, where, sizeof(where));
	if (ss_len == 0) {
		snprintf(err, err_size, "no address to listen on");
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, err_size, "socket: %s", strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, ss_len) < 0) {
		snprintf(err, err_size, "bind %s: %s", where, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
