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
	struct log_event e;
	char err[512];

	if (!next) {
		log_reload_refused_event("out of memory");
		return false;
	}
	if (!sara_config_load(d->cfg->path, next, err, sizeof(err)))
		goto refused;
	if (!dispatcher_reconfigure(d, next, err, sizeof(err)))
		goto refused;
	refusal_replies_configure(replies, next);
	daemon_count(d->counters, COUNTER_CONFIG_RELOADS, 1);
	log_event_begin(&e, "reload");
	log_event_str(&e, "result", "applied");
	log_event_str(&e, "config", next->path);
	log_event_u64(&e, "servers", next->server_count);
	log_event_u64(&e, "draining", draining(d));   /* removed servers whose sessions remain */
	log_event_str(&e, "selection", selection_algorithm_name(next->selection.algorithm));
	log_event_bool(&e, "admission", next->admission.enabled);
	log_event_real(&e, "t1", next->admission.t1, 2);
	log_event_real(&e, "t2", next->admission.t2, 2);
	log_event_real(&e, "t3", next->admission.t3, 2);
	log_event_real(&e, "c", next->admission.c, 2);
	log_event_u64(&e, "signalling_s", next->timeouts.signalling_s);
	log_event_u64(&e, "media_s", next->timeouts.media_s);
	log_event_u64(&e, "linger_s", next->timeouts.linger_s);
	log_event_emit(&e, LOG_NOTICE);
	free(next);
	return true;

refused:
	daemon_count(d->counters, COUNTER_CONFIG_RELOADS_REFUSED, 1);
	log_reload_refused_event(err);
	free(next);
	return false;
}
