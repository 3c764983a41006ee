/* reload.c - SIGHUP's configuration reload (reload.h). */
#include "sarad/reload.h"

#include <stdlib.h>

#include "io/config_file.h"
#include "io/log.h"

static unsigned draining(const struct dispatcher *d)
{
	unsigned n = 0;
	for (unsigned s = 0; s < d->cfg->server_count; s++)
		n += d->cfg->servers[s].retired && d->cfg->servers[s].id[0];
	return n;
}

bool reload_config(struct dispatcher *d, struct refusal_replies *replies)
{
	struct sara_config *next = malloc(sizeof(*next));
	char err[512];

	if (!next) {
		log_msg(LOG_ERR, "SIGHUP: out of memory; keeping the running configuration");
		return false;
	}
	if (!sara_config_load(d->cfg->path, next, err, sizeof(err)))
		goto refused;
	if (!dispatcher_reconfigure(d, next, err, sizeof(err)))
		goto refused;
	refusal_replies_configure(replies, next);
	daemon_count(d->counters, COUNTER_CONFIG_RELOADS, 1);
	log_msg(LOG_NOTICE,
		"SIGHUP: %s reloaded: %u servers (%u removed ones draining); selection %s; admission %s "
		"(T1 %.2f T2 %.2f T3 %.2f C %.2f); timeouts signalling %us media %us linger %us",
		next->path, next->server_count, draining(d), selection_algorithm_name(next->selection.algorithm),
		next->admission.enabled ? "on" : "off", next->admission.t1, next->admission.t2,
		next->admission.t3, next->admission.c, next->timeouts.signalling_s, next->timeouts.media_s,
		next->timeouts.linger_s);
	free(next);
	return true;

refused:
	daemon_count(d->counters, COUNTER_CONFIG_RELOADS_REFUSED, 1);
	log_msg(LOG_ERR, "SIGHUP: %s; keeping the running configuration", err);
	free(next);
	return false;
}
