/* ha_configs.c - BIRD's and conntrackd's configurations for one dispatcher
 * of a cluster (ha_configs.h). */
#include "sara-ctl/ha_configs.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dpi/span.h"
#include "io/sockaddr.h"
#include "sara-ctl/ctl.h"

#define HA_DEFAULT_SYNC_GROUP "225.0.0.50"  /* conntrackd's documented group */

/* An append-only text buffer: the first overflow sticks. */
struct text {
	char *buf;
	size_t size, len;
	bool overflow;
};

__attribute__((format(printf, 2, 3)))
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (t->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->size - t->len) {
		t->overflow = true;
		return;
	}
	t->len += (size_t)n;
}

static bool finish(struct text *t, char *err, size_t err_size)
{
	if (!t->overflow)
		return true;
	snprintf(err, err_size, "configuration text longer than %zu bytes", t->size);
	return false;
}

static const char *addr_text(const struct netaddr *a, char *buf)
{
	return netaddr_format(a, buf, NETADDR_STRLEN);
}

int ha_self_index(const struct sara_config *cfg, const struct netaddr *self, char *err, size_t err_size)
{
	char text[NETADDR_STRLEN];
	if (cfg->ha.dispatcher_count < 2) {
		snprintf(err, err_size, "%s: ha.dispatchers must list at least 2 dispatchers", cfg->path);
		return -1;
	}
	for (unsigned i = 0; i < cfg->ha.dispatcher_count; i++)
		if (netaddr_equal(&cfg->ha.dispatchers[i], self))
			return (int)i;
	snprintf(err, err_size, "%s: %s is not in ha.dispatchers", cfg->path, addr_text(self, text));
	return -1;
}

bool ha_bird_config(const struct sara_config *cfg, const struct netaddr *self, char *buf, size_t size,
		    char *err, size_t err_size)
{
	struct text t = { buf, size, 0, false };
	char a[NETADDR_STRLEN], r[NETADDR_STRLEN];
	const char *family = cfg->ha.router.family == NETADDR_IPV6 ? "ipv6" : "ipv4";
	unsigned announced = 0;

	if (ha_self_index(cfg, self, err, err_size) < 0)
		return false;
	if (!cfg->ha.router.family) {
		snprintf(err, err_size, "%s: ha.router is not set (the BGP neighbour)", cfg->path);
		return false;
	}
	put(&t, "# BIRD 2 configuration of dispatcher %s in cluster %s, made by sara-ctl bird.\n",
	    addr_text(self, a), cfg->name);
	put(&t, "# The VIPs go to the router %s over BGP while sarad is healthy: sara-ha-check\n"
		"# enables protocol %s when sarad answers and disables it when it stops.\n",
	    addr_text(&cfg->ha.router, r), HA_BIRD_VIPS_PROTOCOL);
	if (self->family == NETADDR_IPV4)
		put(&t, "router id %s;\n", a);
	put(&t, "\nprotocol device {\n}\n");
	if (cfg->ha.bfd)
		put(&t, "\nprotocol bfd sara_bfd {\n"
			"\tinterface \"*\" {\n"
			"\t\tmin rx interval %u ms;\n"
			"\t\tmin tx interval %u ms;\n"
			"\t\tmultiplier %u;\n"
			"\t};\n}\n",
		    cfg->ha.bfd_interval_ms, cfg->ha.bfd_interval_ms, cfg->ha.bfd_multiplier);
	/* Disabled until the health check has seen sarad answer: a dispatcher
	 * whose daemon is not up yet draws no traffic. */
	put(&t, "\nprotocol static %s {\n\t%s;\n\tdisabled;\n", HA_BIRD_VIPS_PROTOCOL, family);
	for (unsigned i = 0; i < cfg->vip_count; i++) {
		if (cfg->vips[i].family != cfg->ha.router.family)
			continue;
		put(&t, "\troute %s/%u blackhole;\n", addr_text(&cfg->vips[i], a),
		    cfg->vips[i].family == NETADDR_IPV6 ? 128 : 32);
		announced++;
	}
	put(&t, "}\n");
	if (announced == 0) {
		snprintf(err, err_size, "%s: no VIP of ha.router's address family to announce", cfg->path);
		return false;
	}
	put(&t, "\nprotocol bgp %s {\n"
		"\tlocal as %u;\n"
		"\tneighbor %s as %u;\n",
	    HA_BIRD_BGP_PROTOCOL, cfg->ha.asn, r, cfg->ha.router_asn);
	if (cfg->ha.bfd)
		put(&t, "\tbfd on;\n");
	put(&t, "\t%s {\n\t\timport none;\n\t\texport where proto = \"%s\";\n\t};\n}\n", family,
	    HA_BIRD_VIPS_PROTOCOL);
	return finish(&t, err, err_size);
}

bool ha_conntrackd_config(const struct sara_config *cfg, const struct netaddr *self, char *buf, size_t size,
			  char *err, size_t err_size)
{
	struct text t = { buf, size, 0, false };
	char a[NETADDR_STRLEN], p[NETADDR_STRLEN], dir[SARA_PATH_MAX];
	const char *v = self->family == NETADDR_IPV6 ? "IPv6" : "IPv4";
	const char *slash = strrchr(cfg->control.socket, '/');
	int me = ha_self_index(cfg, self, err, err_size);

	if (me < 0)
		return false;
	/* its socket and lock beside sarad's control socket: one pair per
	 * dispatcher even when several share a file system (the lab) */
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - cfg->control.socket) : 1,
		 slash ? cfg->control.socket : ".");
	put(&t, "# conntrackd configuration of dispatcher %s in cluster %s, made by sara-ctl conntrackd.\n"
		"# FTFW replication of the VIPs' conntrack entries and their marks between the\n"
		"# dispatchers, written straight into the kernel's table (no external cache):\n"
		"# every dispatcher's connmark fast path knows every decided flow.\n",
	    addr_text(self, a), cfg->name);
	put(&t, "Sync {\n\tMode FTFW {\n\t\tDisableExternalCache yes\n\t}\n");
	if (cfg->ha.dispatcher_count == 2) {
		put(&t, "\tUDP {\n\t\t%s_address %s\n\t\t%s_Destination_Address %s\n\t\tPort %u\n", v, a, v,
		    addr_text(&cfg->ha.dispatchers[1 - me], p), cfg->ha.sync_port);
	} else {
		struct netaddr group = cfg->ha.sync_group;
		if (!cfg->ha.sync_interface[0]) {
			snprintf(err, err_size, "%s: ha.sync_interface is needed with more than 2 dispatchers "
				 "(conntrackd multicast)", cfg->path);
			return false;
		}
		if (!group.family)
			netaddr_parse(span_make(HA_DEFAULT_SYNC_GROUP, strlen(HA_DEFAULT_SYNC_GROUP)), &group);
		put(&t, "\tMulticast {\n\t\t%s_address %s\n\t\tGroup %u\n\t\t%s_interface %s\n", v,
		    addr_text(&group, p), cfg->ha.sync_port, v, a);
	}
	if (cfg->ha.sync_interface[0])
		put(&t, "\t\tInterface %s\n", cfg->ha.sync_interface);
	put(&t, "\t\tChecksum on\n\t}\n}\n");
	put(&t, "General {\n"
		"\tHashSize 32768\n"
		"\tHashLimit %u\n"
		"\tSyslog on\n"
		"\tLockFile %s/conntrackd-%s.lock\n"
		"\tUNIX {\n\t\tPath %s/conntrackd-%s.ctl\n\t}\n"
		"\tNetlinkBufferSize 2097152\n"
		"\tNetlinkBufferSizeMaxGrowth 8388608\n",
	    cfg->limits.flows < 1048576u ? 2 * cfg->limits.flows : 2097152u, dir, cfg->name, dir, cfg->name);
	/* conntrackd filters by address, not by mark: the VIPs' flows are
	 * exactly the ones sara decides. In user space: conntrackd 1.4.7's
	 * kernel-space filter let no flow to an accepted address through. */
	put(&t, "\tFilter From Userspace {\n\t\tProtocol Accept {\n\t\t\tUDP\n\t\t\tTCP\n\t\t}\n"
		"\t\tAddress Accept {\n");
	for (unsigned i = 0; i < cfg->vip_count; i++)
		put(&t, "\t\t\t%s_address %s\n", cfg->vips[i].family == NETADDR_IPV6 ? "IPv6" : "IPv4",
		    addr_text(&cfg->vips[i], a));
	put(&t, "\t\t}\n\t}\n}\n");
	return finish(&t, err, err_size);
}

bool ha_find_self(const struct sara_config *cfg, struct netaddr *self, char *err, size_t err_size)
{
	struct ifaddrs *list = NULL;
	unsigned found = 0;

	if (getifaddrs(&list) < 0) {
		snprintf(err, err_size, "getifaddrs: %s", strerror(errno));
		return false;
	}
	for (struct ifaddrs *i = list; i; i = i->ifa_next) {
		struct sockaddr_storage ss;
		struct endpoint ep;
		if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
			continue;
		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, i->ifa_addr, i->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
									    : sizeof(struct sockaddr_in6));
		if (!endpoint_from_sockaddr(&ss, &ep))
			continue;
		for (unsigned d = 0; d < cfg->ha.dispatcher_count; d++)
			if (netaddr_equal(&cfg->ha.dispatchers[d], &ep.addr) &&
			    (found == 0 || !netaddr_equal(self, &ep.addr))) {
				*self = ep.addr;
				found++;
			}
	}
	freeifaddrs(list);
	if (found == 1)
		return true;
	snprintf(err, err_size, "%s: %s of ha.dispatchers is configured on this host: name it with --self",
		 cfg->path, found ? "more than one" : "none");
	return false;
}

int ha_configs_run(const struct sara_config *cfg, const char *command, const char *self_text)
{
	static char text[HA_CONFIG_TEXT_MAX];
	struct netaddr self;
	char err[512];
	bool ok;

	if (self_text) {
		if (!netaddr_parse(span_make(self_text, strlen(self_text)), &self)) {
			fprintf(stderr, "%s: --self %s: not an address\n", CTL_PROGRAM, self_text);
			return EXIT_USAGE;
		}
	} else if (!ha_find_self(cfg, &self, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", CTL_PROGRAM, err);
		return EXIT_USAGE;
	}
	if (strcmp(command, "bird") == 0)
		ok = ha_bird_config(cfg, &self, text, sizeof(text), err, sizeof(err));
	else
		ok = ha_conntrackd_config(cfg, &self, text, sizeof(text), err, sizeof(err));
	if (!ok) {
		fprintf(stderr, "%s: %s\n", CTL_PROGRAM, err);
		return EXIT_USAGE;
	}
	fputs(text, stdout);
	return fflush(stdout) == 0 ? 0 : EXIT_FAILED;
}
