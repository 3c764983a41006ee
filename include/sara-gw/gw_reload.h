/* gw_reload.h - sara-gw's SIGHUP: the configuration and key file read
 * again. What the gateway inspects (VIPs, signalling ports, the servers'
 * addresses, the signalling timeout) and where and how it announces
 * (gateway.listen, the key) follow; the table sizes (limits.tcp_streams,
 * tcp_buffer, fragments) and, without --queue, the queue it reads and,
 * without --metrics, gateway.metrics need a restart. A refused file leaves the running configuration. */
#ifndef SARA_GW_RELOAD_H
#define SARA_GW_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/config.h"
#include "engine/wire.h"

struct gw_reload {
	struct sara_config cfg;       /* the file as read */
	struct wire_key key;
	bool channel_changed;         /* gateway.listen, ha.dispatchers or the key: the channel opened again */
};

/* Reads path against the running cfg and key. queue_given: the queue came
 * from --queue (else from queue.first + count, which must not change);
 * metrics_given: the metrics endpoint came from --metrics (else from
 * gateway.metrics, which must not change). False with err when refused. */
bool gw_reload_read(const char *path, const struct sara_config *running, const struct wire_key *running_key,
		    bool queue_given, bool metrics_given, struct gw_reload *out, char *err, size_t err_size);

#endif
