/* reload.h - SIGHUP: the configuration file read again and its live keys
 * applied (dispatcher_reconfigure: servers added, removed, re-weighted
 * among them); an invalid file, or one that changes a key only a restart
 * can apply, is refused, logged and counted, and the running configuration
 * stays. */
#ifndef SARA_SARAD_RELOAD_H
#define SARA_SARAD_RELOAD_H

#include <stdbool.h>

#include "sarad/dispatcher.h"
#include "sarad/refusal_replies.h"

/* Reloads d->cfg->path into d's engine; replies follow the new admission
 * keys (Retry-After; opened when they turn on). True when applied. */
bool reload_config(struct dispatcher *d, struct refusal_replies *replies);

#endif
