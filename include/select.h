/* select.h - server selection for new sessions: round-robin, least
 * sessions, consistent hash of the session key, and "shell" (short-term
 * forecasted least loaded, DESIGN.md section 7). All weighted. */
#ifndef SARA_SELECT_H
#define SARA_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct selector;

/* Takes servers, weights, algorithm and window from cfg (copied). */
struct selector *selector_create(const struct sara_config *cfg);
void selector_destroy(struct selector *sel);

/* Availability (heartbeats, drain); all servers start available. */
void selector_set_available(struct selector *sel, unsigned server, bool available);
bool selector_is_available(const struct selector *sel, unsigned server);
/* Sessions currently pinned to each server (least-sessions and the shell
 * fallback read it); the engine keeps it up to date. */
void selector_session_added(struct selector *sel, unsigned server);
void selector_session_removed(struct selector *sel, unsigned server);
uint32_t selector_sessions(const struct selector *sel, unsigned server);
/* A load sample in 0..1 for the shell forecast (from node agents). */
void selector_report_load(struct selector *sel, unsigned server, double load);
/* The shell estimate for a server: (1-err)*forecast + err*measured, or -1
 * when it has no samples yet. */
double selector_estimate(const struct selector *sel, unsigned server);

/* Picks an available server for a new session with this key; -1 when none
 * is available. Hash is stable for a key and moves only the keys of a
 * server that leaves or joins (weighted rendezvous hashing). Shell falls back
 * to least sessions per weight for servers that have no load samples. */
int selector_pick(struct selector *sel, const void *key, size_t key_len);

#endif
