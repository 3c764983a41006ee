/* gw_reload.c - sara-gw's SIGHUP (gw_reload.h). */
#include "sara-gw/gw_reload.h"

#include <stdio.h>
#include <string.h>

#include "io/config_file.h"
#include "io/program_start.h"

/* Whether a and b send to the same dispatchers, in the same order
 * (sara_config_dispatcher_endpoints of their LISTEN key). */
bool gw_reload_read(const char *path, const struct sara_config *running, const struct wire_key *running_key,
		    bool queue_given, bool metrics_given, struct gw_reload *out, char *err, size_t err_size)
{
	const char *changed = NULL;
	memset(out, 0, sizeof(*out));
	if (!sara_config_load(path, &out->cfg, err, err_size))
		return false;
	if (out->cfg.gateway.listen.addr.family == 0) {
		snprintf(err, err_size, "%s: gateway.listen is not set: sara-gw needs sarad's address", path);
		return false;
	}
	if (out->cfg.limits.tcp_streams != running->limits.tcp_streams)
		changed = "limits.tcp_streams";
	else if (out->cfg.limits.tcp_buffer != running->limits.tcp_buffer)
		changed = "limits.tcp_buffer";
	else if (out->cfg.limits.fragments != running->limits.fragments)
		changed = "limits.fragments";
	else if (!queue_given && (out->cfg.queue.first != running->queue.first ||
				  out->cfg.queue.count != running->queue.count))
		changed = "queue.first/count (sara-gw's queue follows them without --queue)";
	else if (!metrics_given && !endpoint_equal(&out->cfg.gateway.metrics, &running->gateway.metrics))
		/* its endpoint stays bound where it was while keepalived's check
		 * (sara-ctl gw-check) would ask the new one */
		changed = "gateway.metrics (sara-gw serves its metrics there without --metrics)";
	if (changed) {
		snprintf(err, err_size, "%s: %s changed: restart sara-gw to apply", path, changed);
		return false;
	}
	if (!program_reload_channel(path, &out->cfg, &out->cfg.gateway.listen, "announce to", running, &running->gateway.listen,
				    running_key, &out->key, &out->channel_changed, err, err_size))
		return false;
	return true;
}
