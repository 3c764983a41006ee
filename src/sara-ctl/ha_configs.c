/* ha_configs.c - BIRD's and conntrackd's configurations for one dispatcher
 * of a cluster, keepalived's for one gateway (ha_configs.h). */
#include "sara-ctl/ha_configs.h"

#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpi/span.h"
#include "io/sockaddr.h"
#include "sara-ctl/ctl.h"
#include "sara-ctl/text_buf.h"

#define HA_DEFAULT_SYNC_GROUP "225.0.0.50"  /* conntrackd's documented group */
/* conntrackd's example for its best-effort modes (set with SO_RCVBUFFORCE) */
#define HA_SYNC_SOCKET_BUFFER 1249280u
#define HA_VRRP_TOP_PRIORITY 200               /* the first gateway's; 255 is an address owner's */
#define HA_VRRP_PRIORITY_STEP 10

static bool finish(struct text_buf *t, char *err, size_t err_size)
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

/* An interface address (or netmask) as an endpoint; false for other families. */
static bool ifaddr_address(const struct sockaddr *sa, struct endpoint *ep)
{
	struct sockaddr_storage ss;
	if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return false;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, sa, sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	return endpoint_from_sockaddr(&ss, ep);
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
	struct text_buf t = { buf, size, 0, false };
	char a[NETADDR_STRLEN], r[NETADDR_STRLEN];
	const char *family = cfg->ha.router.family == NETADDR_IPV6 ? "ipv6" : "ipv4";
	unsigned announced = 0;

	if (ha_self_index(cfg, self, err, err_size) < 0)
		return false;
	if (!cfg->ha.router.family) {
		snprintf(err, err_size, "%s: ha.router is not set (the BGP neighbour)", cfg->path);
		return false;
	}
	text_buf_printf(&t, "# BIRD 2 configuration of dispatcher %s in cluster %s, made by sara-ctl bird.\n",
	    addr_text(self, a), cfg->name);
	text_buf_printf(&t, "# The VIPs go to the router %s over BGP while sarad is healthy: sara-ha-check\n"
		"# enables protocol %s when sarad answers and disables it when it stops.\n",
	    addr_text(&cfg->ha.router, r), HA_BIRD_VIPS_PROTOCOL);
	if (self->family == NETADDR_IPV4)
		text_buf_printf(&t, "router id %s;\n", a);
	text_buf_printf(&t, "\nprotocol device {\n}\n");
	if (cfg->ha.bfd)
		text_buf_printf(&t, "\nprotocol bfd sara_bfd {\n"
			"\tinterface \"*\" {\n"
			"\t\tmin rx interval %u ms;\n"
			"\t\tmin tx interval %u ms;\n"
			"\t\tmultiplier %u;\n"
			"\t};\n}\n",
		    cfg->ha.bfd_interval_ms, cfg->ha.bfd_interval_ms, cfg->ha.bfd_multiplier);
	/* Disabled until the health check has seen sarad answer: a dispatcher
	 * whose daemon is not up yet draws no traffic. */
	text_buf_printf(&t, "\nprotocol static %s {\n\t%s;\n\tdisabled;\n", HA_BIRD_VIPS_PROTOCOL, family);
	for (unsigned i = 0; i < cfg->vip_count; i++) {
		if (cfg->vips[i].family != cfg->ha.router.family)
			continue;
		text_buf_printf(&t, "\troute %s/%u blackhole;\n", addr_text(&cfg->vips[i], a),
		    cfg->vips[i].family == NETADDR_IPV6 ? 128 : 32);
		announced++;
	}
	text_buf_printf(&t, "}\n");
	if (announced == 0) {
		snprintf(err, err_size, "%s: no VIP of ha.router's address family to announce", cfg->path);
		return false;
	}
	text_buf_printf(&t, "\nprotocol bgp %s {\n"
		"\tlocal as %u;\n"
		"\tneighbor %s as %u;\n",
	    HA_BIRD_BGP_PROTOCOL, cfg->ha.asn, r, cfg->ha.router_asn);
	if (cfg->ha.bfd)
		text_buf_printf(&t, "\tbfd on;\n");
	text_buf_printf(&t, "\t%s {\n\t\timport none;\n\t\texport where proto = \"%s\";\n\t};\n}\n", family,
	    HA_BIRD_VIPS_PROTOCOL);
	return finish(&t, err, err_size);
}

/* conntrackd's configuration lexer takes a word that starts with a digit,
 * or is 1 to 4 hex digits, for a number, and then refuses the whole file
 * ("symbol 'd1': syntax error"); it cannot be quoted. */
static bool conntrackd_takes_interface_name(const char *name)
{
	size_t len = strlen(name), hex = strspn(name, "0123456789abcdefABCDEF");
	if (!isalpha((unsigned char)name[0]))
		return false;
	return !(hex == len && len <= 4);
}

bool ha_conntrackd_config(const struct sara_config *cfg, const struct netaddr *self, char *buf, size_t size,
			  char *err, size_t err_size)
{
	struct text_buf t = { buf, size, 0, false };
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
	text_buf_printf(&t, "# conntrackd configuration of dispatcher %s in cluster %s, made by sara-ctl conntrackd.\n"
		"# %s replication of the VIPs' conntrack entries and their marks between the\n"
		"# dispatchers, written straight into the kernel's table (no external cache):\n"
		"# every dispatcher's connmark fast path knows every decided flow.\n",
	    addr_text(self, a), cfg->name, cfg->ha.dispatcher_count == 2 ? "FTFW" : "NOTRACK");
	if (cfg->ha.dispatcher_count == 2) {
		text_buf_printf(&t, "Sync {\n\tMode FTFW {\n\t\tDisableExternalCache yes\n\t}\n");
		text_buf_printf(&t, "\tUDP {\n\t\t%s_address %s\n\t\t%s_Destination_Address %s\n\t\tPort %u\n", v, a, v,
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
		/* Not FTFW: conntrackd 1.4.7 tracks one sequence number for all
		 * its peers, and among three it drops one sender's message
		 * whenever the other's has used that number (docs/high-
		 * availability.md). NOTRACK takes every message; it resends
		 * nothing by itself, hence the large socket buffers, a
		 * restarted conntrackd asking its peers for their tables, and
		 * the periodic bulk resend (ha_conntrackd_timer). */
		text_buf_printf(&t, "# Among more than two: over multicast, every message taken from every peer,\n"
			"# none resent (FTFW's single sequence tracking drops one peer's messages);\n");
		if (cfg->ha.sync_resync_s)
			text_buf_printf(&t, "# the whole table sent again every %u s (ha.sync_resync_s) by\n"
				"# sara-conntrackd-resync.timer (sara-ctl conntrackd-timer).\n", cfg->ha.sync_resync_s);
		else
			text_buf_printf(&t, "# never sent again in bulk (ha.sync_resync_s = 0): a lost update stays lost.\n");
		text_buf_printf(&t, "Sync {\n\tMode NOTRACK {\n\t\tDisableExternalCache yes\n\t\tStartupResync on\n\t}\n");
		text_buf_printf(&t, "\tMulticast {\n\t\t%s_address %s\n\t\tGroup %u\n\t\t%s_interface %s\n", v,
		    addr_text(&group, p), cfg->ha.sync_port, v, a);
		text_buf_printf(&t, "\t\tSndSocketBuffer %u\n\t\tRcvSocketBuffer %u\n", HA_SYNC_SOCKET_BUFFER,
		    HA_SYNC_SOCKET_BUFFER);
	}
	if (cfg->ha.sync_interface[0] && !conntrackd_takes_interface_name(cfg->ha.sync_interface)) {
		snprintf(err, err_size, "%s: ha.sync_interface \"%s\": conntrackd reads a name that starts with a digit "
			 "or is 1 to 4 hex digits as a number and refuses its configuration; rename the interface "
			 "(ip link set %s name sync0) or leave ha.sync_interface out with two dispatchers",
			 cfg->path, cfg->ha.sync_interface, cfg->ha.sync_interface);
		return false;
	}
	if (cfg->ha.sync_interface[0])
		text_buf_printf(&t, "\t\tInterface %s\n", cfg->ha.sync_interface);
	text_buf_printf(&t, "\t\tChecksum on\n\t}\n}\n");
	text_buf_printf(&t, "General {\n"
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
	text_buf_printf(&t, "\tFilter From Userspace {\n\t\tProtocol Accept {\n\t\t\tUDP\n\t\t\tTCP\n\t\t}\n"
		"\t\tAddress Accept {\n");
	for (unsigned i = 0; i < cfg->vip_count; i++)
		text_buf_printf(&t, "\t\t\t%s_address %s\n", cfg->vips[i].family == NETADDR_IPV6 ? "IPv6" : "IPv4",
		    addr_text(&cfg->vips[i], a));
	text_buf_printf(&t, "\t\t}\n\t}\n}\n");
	return finish(&t, err, err_size);
}

bool ha_conntrackd_timer(const struct sara_config *cfg, char *buf, size_t size, char *err, size_t err_size)
{
	struct text_buf t = { buf, size, 0, false };

	if (cfg->ha.dispatcher_count < 3) {
		snprintf(err, err_size, "%s: conntrackd's timer is for 3 or more ha.dispatchers (NOTRACK); "
			 "between %u FTFW resends what is lost", cfg->path, cfg->ha.dispatcher_count);
		return false;
	}
	if (!cfg->ha.sync_resync_s) {
		snprintf(err, err_size, "%s: ha.sync_resync_s is 0: no periodic resend", cfg->path);
		return false;
	}
	text_buf_printf(&t, "# sara-conntrackd-resync.timer of cluster %s, made by sara-ctl conntrackd-timer.\n"
		"# NOTRACK resends nothing by itself: every %u s (ha.sync_resync_s) this\n"
		"# dispatcher's conntrackd sends its whole table of the VIPs' flows to the\n"
		"# others (sara-conntrackd-resync.service: conntrackd -B). An update lost on\n"
		"# the sync link is repaired, and the others' copies of long flows, which no\n"
		"# packet refreshes there, get their timeouts again. Install it as\n"
		"# /etc/systemd/system/sara-conntrackd-resync.timer, then\n"
		"# systemctl enable --now sara-conntrackd-resync.timer\n", cfg->name, cfg->ha.sync_resync_s);
	/* each dispatcher's timer runs from its own start: the bulks of the
	 * dispatchers do not meet on the link by design */
	text_buf_printf(&t, "[Unit]\nDescription=conntrackd bulk resend to the dispatchers of cluster %s\n"
		"Documentation=man:sara-ctl(8) man:conntrackd(8)\nAfter=conntrackd.service\n\n"
		"[Timer]\nOnActiveSec=%us\nOnUnitActiveSec=%us\nAccuracySec=1s\n\n"
		"[Install]\nWantedBy=timers.target\n", cfg->name, cfg->ha.sync_resync_s, cfg->ha.sync_resync_s);
	return finish(&t, err, err_size);
}

/* The vrrp_script that watches sara-gw, and what it means for the group. */
static void keepalived_script(struct text_buf *t, const struct sara_config *cfg, const char *check_command)
{
	char where[ENDPOINT_STRLEN];
	text_buf_printf(t, "\n# sara-gw is alive while its metrics endpoint (gateway.metrics,\n"
		"# %s) answers with a page its event loop published lately\n"
		"# (sara-ctl gw-check). %u failed checks in a row, %u s apart, lower this\n"
		"# gateway's priority by %u; %u good checks restore it. Every gateway has the\n"
		"# same priority and preempts only a lower one: a master whose sara-gw is\n"
		"# dead hands the addresses to a gateway whose sara-gw lives, so replies are\n"
		"# forwarded where they are announced; equal priorities move nothing (a\n"
		"# gateway or sara-gw that comes back stays backup); and with every sara-gw\n"
		"# dead the master keeps forwarding, unannounced, rather than nobody.\n",
	    endpoint_format(&cfg->gateway.metrics, where, sizeof(where)), HA_VRRP_CHECK_FALL,
	    HA_VRRP_CHECK_INTERVAL_S, HA_VRRP_SCRIPT_WEIGHT, HA_VRRP_CHECK_RISE);
	text_buf_printf(t, "vrrp_script %s {\n"
		"\tscript \"%s\"\n"
		"\tinterval %u\n"
		"\ttimeout %u\n"
		"\tfall %u\n"
		"\trise %u\n"
		"\tweight -%u\n"
		"}\n",
	    HA_VRRP_SCRIPT, check_command, HA_VRRP_CHECK_INTERVAL_S, HA_VRRP_CHECK_TIMEOUT_S, HA_VRRP_CHECK_FALL,
	    HA_VRRP_CHECK_RISE, HA_VRRP_SCRIPT_WEIGHT);
}

bool ha_keepalived_config(const struct sara_config *cfg, const struct netaddr *self,
			  const char names[][HA_IFNAME_MAX], const char *check_command, char *buf, size_t size,
			  char *err, size_t err_size)
{
	struct text_buf t = { buf, size, 0, false };
	char a[NETADDR_STRLEN], v[NETADDR_STRLEN];
	bool watched = cfg->gateway.metrics.addr.family != 0;
	int me = -1;

	if (cfg->ha.gateway_count < 2) {
		snprintf(err, err_size, "%s: ha.gateways must list at least 2 gateways", cfg->path);
		return false;
	}
	if (cfg->ha.vrrp_address_count == 0) {
		snprintf(err, err_size, "%s: ha.vrrp_addresses is empty: no address for the gateways to share",
			 cfg->path);
		return false;
	}
	for (unsigned i = 0; i < cfg->ha.gateway_count; i++)
		if (netaddr_equal(&cfg->ha.gateways[i], self))
			me = (int)i;
	if (me < 0) {
		snprintf(err, err_size, "%s: %s is not in ha.gateways", cfg->path, addr_text(self, a));
		return false;
	}
	if (watched && (!check_command || !check_command[0] || strpbrk(check_command, "\"'\\\n"))) {
		snprintf(err, err_size, "no check command keepalived can run: %s",
			 check_command && check_command[0] ? "quotes or backslashes in it" : "none given");
		return false;
	}
	text_buf_printf(&t, "# keepalived configuration of gateway %s in cluster %s, made by sara-ctl keepalived.\n"
		"# VRRP holds the gateways' shared addresses (the servers' default route, the\n"
		"# router's next hop) on one gateway at a time, all of them together (one sync\n"
		"# group): replies are forwarded, and announced by sara-gw, where they are.\n"
		"# A gateway that comes back stays backup, so a return moves no traffic.\n",
	    addr_text(self, a), cfg->name);
	if (!watched)
		text_buf_printf(&t, "# No preemption. gateway.metrics is not set: keepalived does not watch\n"
			"# sara-gw, and a master whose sara-gw is dead forwards replies nobody\n"
			"# announces.\n");
	text_buf_printf(&t, "global_defs {\n\trouter_id %s-gw%d\n\tvrrp_version 3\n", cfg->name, me + 1);
	/* the check needs no privilege, but reads the cluster's file: root,
	 * and keepalived refuses a script others could rewrite */
	if (watched)
		text_buf_printf(&t, "\tscript_user root\n\tenable_script_security\n");
	text_buf_printf(&t, "}\n");
	if (watched)
		keepalived_script(&t, cfg, check_command);
	text_buf_printf(&t, "\nvrrp_sync_group %s {\n\tgroup {\n", HA_VRRP_SYNC_GROUP);
	for (unsigned i = 0; i < cfg->ha.vrrp_address_count; i++)
		text_buf_printf(&t, "\t\t%s_%u\n", HA_VRRP_INSTANCE, cfg->ha.vrrp_id + i);
	text_buf_printf(&t, "\t}\n");
	/* Weighed, not a FAULT: a FAULT on every gateway (one cause killing
	 * every sara-gw) would leave the replies no gateway at all. The same
	 * weight on every member, so the group's members move together. */
	if (watched)
		text_buf_printf(&t, "\tsync_group_tracking_weight\n");
	text_buf_printf(&t, "}\n");
	for (unsigned i = 0; i < cfg->ha.vrrp_address_count; i++) {
		const struct netaddr *shared = &cfg->ha.vrrp_addresses[i];
		/* Watched, equal priorities with preemption (see the script's
		 * comment); unwatched, the first gateway preferred and no
		 * preemption. Either way a gateway's return moves nothing. */
		text_buf_printf(&t, "\nvrrp_instance %s_%u {\n"
			"\tstate BACKUP\n"
			"%s"
			"\tinterface %s\n"
			"\tvirtual_router_id %u\n"
			"\tpriority %u\n"
			"\tadvert_int %u.%02u\n"
			"\tvirtual_ipaddress {\n\t\t%s/%u dev %s\n\t}\n",
		    HA_VRRP_INSTANCE, cfg->ha.vrrp_id + i, watched ? "" : "\tnopreempt\n", names[i],
		    cfg->ha.vrrp_id + i,
		    watched ? HA_VRRP_TOP_PRIORITY : HA_VRRP_TOP_PRIORITY - HA_VRRP_PRIORITY_STEP * (unsigned)me,
		    cfg->ha.vrrp_advert_ms / 1000, cfg->ha.vrrp_advert_ms % 1000 / 10, addr_text(shared, v),
		    shared->family == NETADDR_IPV6 ? 128 : 32, names[i]);
		if (watched)
			text_buf_printf(&t, "\ttrack_script {\n\t\t%s\n\t}\n", HA_VRRP_SCRIPT);
		text_buf_printf(&t, "}\n");
	}
	return finish(&t, err, err_size);
}

/* The one address of list[0..count) configured on this host. */
static bool find_own_address(const struct netaddr *list, unsigned count, const char *key, const char *path,
			     struct netaddr *self, char *err, size_t err_size)
{
	struct ifaddrs *ifs = NULL;
	unsigned found = 0;

	if (getifaddrs(&ifs) < 0) {
		snprintf(err, err_size, "getifaddrs: %s", strerror(errno));
		return false;
	}
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		struct endpoint ep;
		if (!ifaddr_address(i->ifa_addr, &ep))
			continue;
		for (unsigned d = 0; d < count; d++)
			if (netaddr_equal(&list[d], &ep.addr) && (found == 0 || !netaddr_equal(self, &ep.addr))) {
				*self = ep.addr;
				found++;
			}
	}
	freeifaddrs(ifs);
	if (found == 1)
		return true;
	snprintf(err, err_size, "%s: %s of %s is configured on this host: name it with --self", path,
		 found ? "more than one" : "none", key);
	return false;
}

bool ha_find_self(const struct sara_config *cfg, struct netaddr *self, char *err, size_t err_size)
{
	return find_own_address(cfg->ha.dispatchers, cfg->ha.dispatcher_count, "ha.dispatchers", cfg->path, self,
				err, err_size);
}

bool ha_find_gateway_self(const struct sara_config *cfg, struct netaddr *self, char *err, size_t err_size)
{
	return find_own_address(cfg->ha.gateways, cfg->ha.gateway_count, "ha.gateways", cfg->path, self, err,
				err_size);
}

/* Whether a and b agree on their first bits bits. */
static bool same_prefix(const struct netaddr *a, const struct netaddr *b, unsigned bits)
{
	unsigned len = a->family == NETADDR_IPV6 ? 16 : 4;
	if (a->family != b->family)
		return false;
	for (unsigned i = 0; i < len && bits > 0; i++, bits = bits > 8 ? bits - 8 : 0) {
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		if ((a->bytes[i] & mask) != (b->bytes[i] & mask))
			return false;
	}
	return true;
}

static unsigned mask_bits(const struct sockaddr *mask)
{
	struct endpoint ep;
	unsigned bits = 0;
	if (!ifaddr_address(mask, &ep))
		return 0;
	for (unsigned i = 0; i < (ep.addr.family == NETADDR_IPV6 ? 16u : 4u); i++)
		for (uint8_t b = ep.addr.bytes[i]; b & 0x80; b = (uint8_t)(b << 1))
			bits++;
	return bits;
}

bool ha_vrrp_interfaces(const struct sara_config *cfg, char names[][HA_IFNAME_MAX], char *err, size_t err_size)
{
	struct ifaddrs *ifs = NULL;
	char text[NETADDR_STRLEN];

	if (getifaddrs(&ifs) < 0) {
		snprintf(err, err_size, "getifaddrs: %s", strerror(errno));
		return false;
	}
	for (unsigned v = 0; v < cfg->ha.vrrp_address_count; v++) {
		const struct netaddr *want = &cfg->ha.vrrp_addresses[v];
		names[v][0] = '\0';
		/* the interface of an address of the host's own in the same
		 * subnet; never the shared address itself (keepalived's /32) */
		for (struct ifaddrs *i = ifs; i && !names[v][0]; i = i->ifa_next) {
			struct endpoint ep;
			unsigned bits;
			if (!ifaddr_address(i->ifa_addr, &ep) || netaddr_equal(&ep.addr, want))
				continue;
			bits = mask_bits(i->ifa_netmask);
			if (bits > 0 && bits < (want->family == NETADDR_IPV6 ? 128u : 32u) &&
			    same_prefix(&ep.addr, want, bits))
				snprintf(names[v], HA_IFNAME_MAX, "%s", i->ifa_name);
		}
		if (!names[v][0]) {
			snprintf(err, err_size, "%s: no interface of this host has an address in the subnet of "
				 "ha.vrrp_addresses[%u] %s", cfg->path, v, addr_text(want, text));
			freeifaddrs(ifs);
			return false;
		}
	}
	freeifaddrs(ifs);
	return true;
}

/* "SARA_CTL -c CONFIG gw-check" with both paths absolute (keepalived runs
 * the script from /), SARA_CTL being this very program. */
static bool check_command_text(const struct sara_config *cfg, char *out, size_t size, char *err, size_t err_size)
{
	char ctl[PATH_MAX], config[PATH_MAX];
	if (!realpath("/proc/self/exe", ctl) || !realpath(cfg->path, config)) {
		snprintf(err, err_size, "%s: cannot name sara-ctl or the configuration for keepalived's check: %s",
			 cfg->path, strerror(errno));
		return false;
	}
	if (strpbrk(ctl, " \t\"'\\") || strpbrk(config, " \t\"'\\")) {
		snprintf(err, err_size, "%.200s: keepalived's check would run %.100s -c %.100s: a path with blanks "
			 "or quotes", cfg->path, ctl, config);
		return false;
	}
	if (snprintf(out, size, "%s -c %s gw-check", ctl, config) >= (int)size) {
		snprintf(err, err_size, "%s: keepalived's check command is too long", cfg->path);
		return false;
	}
	return true;
}

int ha_configs_run(const struct sara_config *cfg, const char *command, const char *self_text)
{
	static char text[HA_CONFIG_TEXT_MAX];
	char check[2 * PATH_MAX + 32];
	char names[SARA_MAX_VRRP_ADDRESSES][HA_IFNAME_MAX];
	bool gateway = strcmp(command, "keepalived") == 0;
	struct netaddr self;
	char err[512];
	bool ok;

	if (strcmp(command, "conntrackd-timer") == 0) {
		/* the same on every dispatcher: no self */
		ok = ha_conntrackd_timer(cfg, text, sizeof(text), err, sizeof(err));
		goto print;
	}
	if (self_text) {
		if (!netaddr_parse(span_make(self_text, strlen(self_text)), &self)) {
			fprintf(stderr, "%s: --self %s: not an address\n", CTL_PROGRAM, self_text);
			return EXIT_USAGE;
		}
	} else if (!(gateway ? ha_find_gateway_self : ha_find_self)(cfg, &self, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", CTL_PROGRAM, err);
		return EXIT_USAGE;
	}
	if (gateway)
		ok = ha_vrrp_interfaces(cfg, names, err, sizeof(err)) &&
		     (!cfg->gateway.metrics.addr.family || check_command_text(cfg, check, sizeof(check), err, sizeof(err))) &&
		     ha_keepalived_config(cfg, &self, names, cfg->gateway.metrics.addr.family ? check : NULL, text,
					  sizeof(text), err, sizeof(err));
	else if (strcmp(command, "bird") == 0)
		ok = ha_bird_config(cfg, &self, text, sizeof(text), err, sizeof(err));
	else
		ok = ha_conntrackd_config(cfg, &self, text, sizeof(text), err, sizeof(err));
print:
	if (!ok) {
		fprintf(stderr, "%s: %s\n", CTL_PROGRAM, err);
		return EXIT_USAGE;
	}
	if (gateway && !cfg->gateway.metrics.addr.family)
		fprintf(stderr, "%s: %s: gateway.metrics is not set: keepalived will not watch sara-gw\n", CTL_PROGRAM,
			cfg->path);
	fputs(text, stdout);
	return fflush(stdout) == 0 ? 0 : EXIT_FAILED;
}
