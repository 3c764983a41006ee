/* ha_configs.h - the configurations of the programs several active
 * dispatchers and gateways run beside sarad and sara-gw
 * (docs/high-availability.md): BIRD's (the VIPs announced to the router
 * over BGP with BFD) and conntrackd's (FTFW between the dispatchers, only
 * the VIPs' flows) for one dispatcher, keepalived's (VRRP for the gateways'
 * shared addresses) for one gateway, generated from the cluster's
 * configuration. No I/O but the host's addresses (ha_find_self,
 * ha_find_gateway_self, ha_vrrp_interfaces) and, for keepalived's check of
 * sara-gw, the paths of sara-ctl and the file (ha_configs_run). */
#ifndef SARA_CTL_HA_CONFIGS_H
#define SARA_CTL_HA_CONFIGS_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/config.h"

#define HA_CONFIG_TEXT_MAX 16384

/* BIRD's protocol names, for birdc and the health check. */
#define HA_BIRD_VIPS_PROTOCOL "sara_vips"
#define HA_BIRD_BGP_PROTOCOL "sara_bgp"
/* keepalived's names: the sync group, and the instances' prefix (then
 * _VRID, one instance per shared address). */
#define HA_VRRP_SYNC_GROUP "sara_gateways"
#define HA_VRRP_INSTANCE "sara_vrrp"
#define HA_IFNAME_MAX 16  /* IFNAMSIZ */
/* keepalived's check of sara-gw (sara-ctl gw-check), tracked by the sync
 * group: whole seconds are keepalived's least interval and timeout; two
 * failures in a row so that one slow start of the check moves nothing. */
#define HA_VRRP_SCRIPT "sara_gw_alive"
#define HA_VRRP_CHECK_INTERVAL_S 1
#define HA_VRRP_CHECK_TIMEOUT_S 1
#define HA_VRRP_CHECK_FALL 2
#define HA_VRRP_CHECK_RISE 2
#define HA_VRRP_SCRIPT_WEIGHT 50   /* a failed check lowers the priority by this */

/* Which of ha.dispatchers self is (its index), or -1 with err set. */
int ha_self_index(const struct sara_config *cfg, const struct netaddr *self, char *err, size_t err_size);

/* BIRD 2 configuration of dispatcher self into buf: false with err set when
 * the config lacks what it needs (ha.router, ha.asn...) or buf is short. */
bool ha_bird_config(const struct sara_config *cfg, const struct netaddr *self, char *buf, size_t size,
		    char *err, size_t err_size);

/* conntrackd configuration of dispatcher self: UDP to the one peer when
 * there are two dispatchers, multicast (ha.sync_group) when more. */
bool ha_conntrackd_config(const struct sara_config *cfg, const struct netaddr *self, char *buf, size_t size,
			  char *err, size_t err_size);

/* systemd timer (sara-conntrackd-resync.timer) that starts the shipped
 * sara-conntrackd-resync.service (conntrackd -B) every ha.sync_resync_s:
 * NOTRACK's repair, so false with fewer than 3 dispatchers or a period 0. */
bool ha_conntrackd_timer(const struct sara_config *cfg, char *buf, size_t size, char *err, size_t err_size);

/* keepalived configuration of gateway self (one of ha.gateways, whose
 * order gives the priorities): one VRRP instance per ha.vrrp_addresses
 * entry i on interface names[i], all in one sync group. With
 * gateway.metrics set, the group tracks a vrrp_script running
 * check_command (sara-ctl -c FILE gw-check, absolute paths, no quotes):
 * a gateway whose sara-gw is not alive goes to FAULT. */
bool ha_keepalived_config(const struct sara_config *cfg, const struct netaddr *self,
			  const char names[][HA_IFNAME_MAX], const char *check_command, char *buf, size_t size,
			  char *err, size_t err_size);

/* The ha.dispatchers address configured on this host, if exactly one is. */
bool ha_find_self(const struct sara_config *cfg, struct netaddr *self, char *err, size_t err_size);
/* The ha.gateways address configured on this host, if exactly one is. */
bool ha_find_gateway_self(const struct sara_config *cfg, struct netaddr *self, char *err, size_t err_size);
/* names[i]: the interface of this host holding an address in the subnet of
 * ha.vrrp_addresses[i] (where keepalived puts it). */
bool ha_vrrp_interfaces(const struct sara_config *cfg, char names[][HA_IFNAME_MAX], char *err, size_t err_size);

/* sara-ctl bird|conntrackd|conntrackd-timer|keepalived [--self ADDR]: prints
 * the configuration (conntrackd-timer takes no self). */
int ha_configs_run(const struct sara_config *cfg, const char *command, const char *self_text);

#endif
