/* config.h - one cluster's configuration (DESIGN.md section 9): the model,
 * its defaults and cross-key rules. io/config_file.h reads it from a file. */
#ifndef SARA_CONFIG_H
#define SARA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpi/netaddr.h"

#define SARA_MAX_VIPS 16
#define SARA_MAX_PORTS 8
#define SARA_MAX_SERVERS 64
#define SARA_ID_MAX 32
#define SARA_PATH_MAX 256
#define SARA_MAX_DISPATCHERS 8
#define SARA_MAX_GATEWAYS 8
#define SARA_MAX_VRRP_ADDRESSES 8
#define HA_SYNC_RESYNC_S_DEFAULT 30  /* ha.sync_resync_s: docs/high-availability.md */
#define SARA_IFNAME_MAX 16
/* timeouts.signalling_s's range; a session's own signalling timeout (an
 * RTSP server's Session: ;timeout=) is held to it too. */
#define SARA_SIGNALLING_S_MIN 10
#define SARA_SIGNALLING_S_MAX 60

enum selection_algorithm {
	SELECT_SHELL = 0,      /* short-term forecasted least loaded (DESIGN 7) */
	SELECT_ROUND_ROBIN,
	SELECT_LEAST_SESSIONS,
	SELECT_HASH,           /* consistent hash of the session key */
};

enum full_policy { FULL_PASS = 0, FULL_DROP };       /* limits.when_full */
enum session_store_kind { SESSION_STORE_OFF = 0, SESSION_STORE_REDIS };  /* ha.session_store */
enum malformed_policy { MALFORMED_PASS = 0, MALFORMED_DROP };
enum reject_mode { REJECT_DROP = 0, REJECT_503 };             /* admission.reject (SIP) */
enum rtsp_reject_mode { RTSP_REJECT_DROP = 0, RTSP_REJECT_RESET }; /* admission.rtsp_reject */
/* admission.policy: SA2C, or a baseline of the goodput experiment: random
 * (session-unaware: every packet sarad sees dropped with the new-session p)
 * or call-limit (the model of OpenSIPS load_balancer: at most
 * admission.call_limit calls in progress per server at weight 1, a new call
 * to the server with the most room, refused when none has any). */
enum admission_policy { ADMISSION_POLICY_SA2C = 0, ADMISSION_POLICY_RANDOM, ADMISSION_POLICY_CALL_LIMIT };
/* admission.estimate: what SA2C's new-session refusal reads (admission.h). */
enum admission_estimate { ADMISSION_ESTIMATE_LEAD = 0, ADMISSION_ESTIMATE_RATE, ADMISSION_ESTIMATE_WINDOW };

struct server_config {
	char id[SARA_ID_MAX];
	struct netaddr address;
	/* address6: the IPv6 address of a dual-stack server whose address is
	 * IPv4; family 0 when it has none. */
	struct netaddr address6;
	uint32_t mark;   /* fwmark, unique, > 0 */
	uint32_t table;  /* policy-routing table */
	double weight;   /* > 0 */
	/* Never read from a file: set in sarad's running table (server_slots.h)
	 * for a server removed by a reload whose sessions still drain, and for
	 * a free slot (id empty). */
	bool retired;
};

struct sara_config {
	char path[SARA_PATH_MAX];
	char name[SARA_ID_MAX * 2];
	unsigned vip_count;
	struct netaddr vips[SARA_MAX_VIPS];
	unsigned sip_port_count, rtsp_port_count;
	uint16_t sip_ports[SARA_MAX_PORTS];   /* default 5060 */
	uint16_t rtsp_ports[SARA_MAX_PORTS];  /* default 554, 8554 */
	unsigned server_count;
	struct server_config servers[SARA_MAX_SERVERS];
	struct { uint16_t first, count; bool fail_open, notrack_udp_signalling; } queue;
	/* family 0 = unset; metrics: sara-gw's metrics endpoint when it is
	 * given no --metrics, which sara-ctl gw-check (keepalived) asks */
	struct { struct endpoint listen, metrics; } gateway;
	struct { struct endpoint listen; uint32_t interval_ms, misses; } agents;
	char key_file[SARA_PATH_MAX];
	struct { uint32_t signalling_s, media_s, linger_s; } timeouts;
	struct { enum selection_algorithm algorithm; uint32_t window, slow_start_s; } selection;
	struct {
		bool enabled;
		enum admission_policy policy;
		double t1, t2, t3, c, alpha;
		double reopen_s;           /* new-session refusal falls from 1 to 0 over this at the fastest */
		double lead_s;             /* how late a new session's load shows in reports; 0: not predicted */
		enum reject_mode reject;
		enum rtsp_reject_mode rtsp_reject;
		uint32_t retry_after_s;
		uint32_t replies_per_s;    /* 503s and RSTs sent per second at most */
		uint32_t call_limit;       /* call-limit: calls in progress per server at weight 1 */
		enum admission_estimate estimate;
		double answer_delay_s;     /* window estimate: the answer delay the servers' backlog may reach */
		bool degrade;              /* eq (2)'s refusal of established sessions above T3 */
		bool window_per_server;    /* window estimate: each server's share of W too */
		uint32_t oc_validity_ms;   /* RFC 7339 oc-validity of the overload control sent; 0: none */
	} admission;
	struct {
		uint32_t flows, sessions;
		enum full_policy when_full;
		uint32_t tcp_streams;      /* signalling TCP flows reassembled at once */
		uint32_t tcp_buffer;       /* bytes buffered per TCP signalling flow */
		uint32_t fragments;        /* IP datagrams reassembled at once */
		enum malformed_policy malformed;
	} limits;
	struct { char socket[108]; } control;
	/* state.journal: where sarad journals its sessions so that a restart
	 * keeps them ("/var/lib/sara/NAME.journal" by default), or "off". */
	struct { char journal[SARA_PATH_MAX]; } state;
	struct { struct endpoint listen; } metrics;               /* family 0 = off */
	/* Several active dispatchers (docs/high-availability.md): where the
	 * gateway and the agents send, and what sara-ctl bird / conntrackd /
	 * keepalived generate. dispatcher_count 0: one dispatcher, at
	 * gateway.listen and agents.listen. */
	struct {
		unsigned dispatcher_count;
		struct netaddr dispatchers[SARA_MAX_DISPATCHERS];
		struct netaddr router;        /* BGP neighbour; family 0 = unset */
		uint32_t asn, router_asn;     /* 0 = unset */
		bool bfd;
		uint32_t bfd_interval_ms, bfd_multiplier;
		char sync_interface[SARA_IFNAME_MAX];  /* conntrackd's link; "" = any */
		uint16_t sync_port;
		struct netaddr sync_group;    /* conntrackd multicast, 3 or more dispatchers */
		/* conntrackd's bulk resend among 3 or more (NOTRACK resends
		 * nothing): its systemd timer's period; 0 = none */
		uint32_t sync_resync_s;
		/* the gateways under VRRP (keepalived): their own addresses, the
		 * first the preferred master, and the addresses they share */
		unsigned gateway_count;
		struct netaddr gateways[SARA_MAX_GATEWAYS];
		unsigned vrrp_address_count;
		struct netaddr vrrp_addresses[SARA_MAX_VRRP_ADDRESSES];
		uint32_t vrrp_id;             /* virtual_router_id of the first address */
		uint32_t vrrp_advert_ms;      /* VRRPv3 advertisement interval */
		/* Session replication between the dispatchers: each writes its
		 * sessions to its own Redis and reads every peer's. */
		enum session_store_kind session_store;
		uint16_t redis_port;          /* every dispatcher's Redis, on its ha.dispatchers address */
		uint32_t replication_queue;   /* records waiting for the replication thread */
		/* the password of every dispatcher's Redis (requirepass), in a
		 * file only sarad's user may read; empty: no AUTH */
		char redis_password_file[SARA_PATH_MAX];
	} ha;
};

#define SARA_JOURNAL_OFF "off"
/* Whether cfg journals sessions (state.journal is a path). */
bool sara_config_journal_on(const struct sara_config *cfg);

/* Fills every documented default (no VIPs, no servers). */
void sara_config_defaults(struct sara_config *cfg);

#define CONFIG_PROBLEM_SITES 2
/* Where a broken cross-key rule points, as libconfig setting paths: the
 * deepest setting of path the file has, if it has anchor at all. */
struct config_site {
	char anchor[32];     /* "servers", "ports.rtsp", "admission" */
	char path[96];       /* "servers.[2].mark", "ports.rtsp.[1]" */
};
struct config_problem {
	unsigned site_count;
	struct config_site sites[CONFIG_PROBLEM_SITES]; /* first usable one wins */
	char reason[200];
};
/* Cross-key rules on a filled config; false with the first broken rule. */
bool sara_config_check(const struct sara_config *cfg, struct config_problem *problem);
/* The same, written as "path: reason" (just the reason when cfg->path is
 * empty, after programmatic set-up in tests). */
bool sara_config_validate(const struct sara_config *cfg, char *err, size_t err_size);
const char *selection_algorithm_name(enum selection_algorithm algorithm);
const char *admission_policy_name(enum admission_policy policy);

/* Whether next may replace running in a live daemon (SIGHUP). Live keys:
 * timeouts.*, selection.algorithm, the servers (added, removed, their
 * weight: server_slots.h maps them onto the running table by id),
 * admission.* except replies_per_s, limits.when_full and limits.malformed.
 * A server still running keeps its address, address6, mark and table. Any other key
 * differing makes it false, with "KEY changed: ..." in err (the first one
 * found): the kernel rules, sockets and table sizes were set up from it. */
bool sara_config_reload_check(const struct sara_config *running, const struct sara_config *next,
			 char *err, size_t err_size);

/* Where a sender (sara-gw, sara-agent) sends what a dispatcher listens
 * for at listen (gateway.listen, agents.listen): every ha.dispatchers
 * address at listen's port, or listen itself when none is listed. Returns
 * the count written (at most cap), 0 when there is nowhere to send. */
unsigned sara_config_dispatcher_endpoints(const struct sara_config *cfg, const struct endpoint *listen,
					  struct endpoint *out, unsigned cap);

/* The server's address of family (NETADDR_IPV4 or NETADDR_IPV6): address
 * or address6; NULL when it has none of that family. */
const struct netaddr *server_config_address(const struct server_config *srv, int family);
/* Whether addr is one of the server's addresses. */
bool server_config_has_address(const struct server_config *srv, const struct netaddr *addr);

/* Lookups used on the packet path. */
bool sara_config_is_vip(const struct sara_config *cfg, const struct netaddr *addr);
int sara_config_server_by_address(const struct sara_config *cfg, const struct netaddr *addr);
bool sara_config_is_sip_port(const struct sara_config *cfg, uint16_t port);
bool sara_config_is_rtsp_port(const struct sara_config *cfg, uint16_t port);

#endif
