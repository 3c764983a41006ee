/* gw_reload.c - sara-gw's SIGHUP (gw_reload.h). */
#include "sara-gw/gw_reload.h"

#include <stdio.h>
#include <string.h>

#include "io/config_file.h"
#include "io/key_file.h"

/* Whether a and b send to the same dispatchers, in the same order
 * (sara_config_dispatcher_endpoints of their LISTEN key). */
static bool same_destinations(const struct sara_config *a, const struct endpoint *a_listen,
			      const struct sara_config *b, const struct endpoint *b_listen)
{
	struct endpoint to_a[SARA_MAX_DISPATCHERS], to_b[SARA_MAX_DISPATCHERS];
	unsigned n_a = sara_config_dispatcher_endpoints(a, a_listen, to_a, SARA_MAX_DISPATCHERS);
	unsigned n_b = sara_config_dispatcher_endpoints(b, b_listen, to_b, SARA_MAX_DISPATCHERS);
	if (n_a != n_b)
		return false;
	for (unsigned i = 0; i < n_a; i++)
		if (to_a[i].port != to_b[i].port || !netaddr_equal(&to_a[i].addr, &to_b[i].addr))
			return false;
	return true;
}

bool gw_reload_read(const char *path, const struct sara_config *running, const struct wire_key *running_key,
		    bool queue_given, struct gw_reload *out, char *err, size_t err_size)
{
	char why[512];
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
	if (changed) {
		snprintf(err, err_size, "%s: %s changed: restart sara-gw to apply", path, changed);
		return false;
	}
	if (sara_config_dispatcher_endpoints(&out->cfg, &out->cfg.gateway.listen, (struct endpoint[SARA_MAX_DISPATCHERS]){ 0 },
					     SARA_MAX_DISPATCHERS) == 0) {
		snprintf(err, err_size, "%s: nowhere to announce to (gateway.listen a wildcard, no ha.dispatchers)", path);
		return false;
	}
	if (!key_file_load(out->cfg.key_file, &out->key, why, sizeof(why))) {
		snprintf(err, err_size, "key_file %s", why);
		return false;
	}
	out->channel_changed = !same_destinations(&out->cfg, &out->cfg.gateway.listen, running, &running->gateway.listen) ||
			       memcmp(&out->key, running_key, sizeof(out->key)) != 0;
	return true;
}
