/* ha_configs.h - the configurations of the programs several active
 * dispatchers run beside sarad (docs/high-availability.md): BIRD's (the
 * VIPs announced to the router over BGP with BFD) and conntrackd's (FTFW
 * between the dispatchers, only the VIPs' flows), generated from the
 * cluster's configuration for one dispatcher. No I/O but ha_find_self. */
#ifndef SARA_CTL_HA_CONFIGS_H
#define SARA_CTL_HA_CONFIGS_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/config.h"

#define HA_CONFIG_TEXT_MAX 16384

/* BIRD's protocol names, for birdc and the health check. */
#define HA_BIRD_VIPS_PROTOCOL "sara_vips"
#define HA_BIRD_BGP_PROTOCOL "sara_bgp"

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

/* The ha.dispatchers address configured on this host, if exactly one is. */
bool ha_find_self(const struct sara_config *cfg, struct netaddr *self, char *err, size_t err_size);

/* sara-ctl bird|conntrackd [--self ADDR]: prints the configuration. */
int ha_configs_run(const struct sara_config *cfg, const char *command, const char *self_text);

#endif
