/* config.h - one cluster's configuration (DESIGN.md section 9), loaded from
 * a libconfig file and validated with "file:line: reason" errors. */
#ifndef SARA_CONFIG_H
#define SARA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netaddr.h"

#define CONFIG_MAX_VIPS 16
#define CONFIG_MAX_PORTS 8
#define CONFIG_MAX_SERVERS 64
#define CONFIG_ID_MAX 32
#define CONFIG_PATH_MAX 256

enum selection_algorithm {
	SELECT_SHELL = 0,      /* short-term forecasted least loaded (DESIGN 7) */
	SELECT_ROUND_ROBIN,
	SELECT_LEAST_SESSIONS,
	SELECT_HASH,           /* consistent hash of the session key */
};

enum full_policy { FULL_PASS = 0, FULL_DROP };       /* limits.when_full */
enum malformed_policy { MALFORMED_PASS = 0, MALFORMED_DROP };
enum reject_mode { REJECT_DROP = 0, REJECT_503 };             /* admission.reject (SIP) */
enum rtsp_reject_mode { RTSP_REJECT_DROP = 0, RTSP_REJECT_RESET }; /* admission.rtsp_reject */
/* admission.policy: SA2C, or the session-unaware baseline of the goodput
 * experiment (every packet sarad sees dropped with the new-session p). */
enum admission_policy { ADMISSION_POLICY_SA2C = 0, ADMISSION_POLICY_RANDOM };

struct config_server {
	char id[CONFIG_ID_MAX];
	struct netaddr address;
	uint32_t mark;   /* fwmark, unique, > 0 */
	uint32_t table;  /* policy-routing table */
	double weight;   /* > 0 */
};

struct sara_config {
	char path[CONFIG_PATH_MAX];
	char name[CONFIG_ID_MAX * 2];
	unsigned vip_count;
	struct netaddr vips[CONFIG_MAX_VIPS];
	unsigned sip_port_count, rtsp_port_count;
	uint16_t sip_ports[CONFIG_MAX_PORTS];   /* default 5060 */
	uint16_t rtsp_ports[CONFIG_MAX_PORTS];  /* default 554, 8554 */
	unsigned server_count;
	struct config_server servers[CONFIG_MAX_SERVERS];
	struct { uint16_t first, count; bool fail_open; } queue;
	struct { struct endpoint listen; } gateway;               /* family 0 = unset */
	struct { struct endpoint listen; uint32_t interval_ms, misses; } agents;
	char key_file[CONFIG_PATH_MAX];
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
};

/* Fills every documented default (no VIPs, no servers). */
void config_defaults(struct sara_config *cfg);
/* Loads and validates path. On failure returns false and writes
 * "path:line: reason" (or "path: reason") into err. */
bool config_load(const char *path, struct sara_config *cfg, char *err, size_t err_size);
/* Cross-key validation, also used after programmatic set-up in tests. */
bool config_validate(const struct sara_config *cfg, char *err, size_t err_size);
const char *selection_algorithm_name(enum selection_algorithm algorithm);

/* Whether next may replace running in a live daemon (SIGHUP). Live keys:
 * timeouts.*, selection.algorithm, servers' weight, admission.* except
 * replies_per_s, limits.when_full and limits.malformed. Any other key
 * differing makes it false, with "KEY changed: restart to apply" in err
 * (the first one found): the kernel rules, sockets, table sizes and the
 * servers' indexes that sessions hold were all set up from it. */
bool config_reload_check(const struct sara_config *running, const struct sara_config *next,
			 char *err, size_t err_size);

/* Lookups used on the packet path. */
bool config_is_vip(const struct sara_config *cfg, const struct netaddr *addr);
int config_server_by_address(const struct sara_config *cfg, const struct netaddr *addr);
bool config_is_sip_port(const struct sara_config *cfg, uint16_t port);
bool config_is_rtsp_port(const struct sara_config *cfg, uint16_t port);

#endif
