/* select.h - server selection for new sessions: round-robin, least
 * sessions, consistent hash of the session key, and "shell" (short-term
 * forecasted least loaded, DESIGN.md section 7). All weighted. */
#ifndef SARA_SELECT_H
#define SARA_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"

struct selector;

/* Takes servers, weights, algorithm and window from cfg (copied). */
struct selector *selector_create(const struct sara_config *cfg);
void selector_destroy(struct selector *sel);
/* A reload: the algorithm and the weights from cfg, which has the same
 * servers in the same order (config_reload_check). Sessions counts,
 * availability, slow start and load history are kept. False (and nothing
 * changed) when the server count differs or a weight is not > 0. */
bool selector_reconfigure(struct selector *sel, const struct sara_config *cfg);
/* The running server table changed (server_slots.h): the count, the ids
 * and weights taken again; a slot in fresh[] starts anew (no sessions, no
 * load history, full factor, available), a retired slot is unavailable,
 * the others keep their state. False (nothing changed) for a weight not
 * > 0 on a listed slot. */
bool selector_set_servers(struct selector *sel, const struct sara_config *running, const bool fresh[SARA_MAX_SERVERS]);

/* Availability (heartbeats, drain); all servers start available. */
void selector_set_available(struct selector *sel, unsigned server, bool available);
bool selector_is_available(const struct selector *sel, unsigned server);
/* Sessions currently pinned to each server (least-sessions and the shell
 * fallback read it); the engine keeps it up to date. */
void selector_session_added(struct selector *sel, unsigned server);
void selector_session_removed(struct selector *sel, unsigned server);
uint32_t selector_sessions(const struct selector *sel, unsigned server);
/* Calls in progress per server (sessions not yet ending), for the
 * call-limit policy; the engine keeps it up to date. */
void selector_call_added(struct selector *sel, unsigned server);
void selector_call_removed(struct selector *sel, unsigned server);
uint32_t selector_calls(const struct selector *sel, unsigned server);
/* call-limit: the available server with the most room under limit * its
 * weight (times its slow-start factor) calls in progress; ties to the
 * lower index. -1 when no server is available, SELECT_ALL_FULL when every
 * available one is at its limit. */
#define SELECT_ALL_FULL (-2)
int selector_pick_below_limit(const struct selector *sel, uint32_t limit);
/* Slow start (DESIGN.md section 7): the share of its weight a server that
 * is joining may use, 0..1 (sarad passes server_health_weight_factor).
 * Round-robin, least sessions and hash use weight * factor. Shell, whose
 * forecast would send every new session to a joining, idle-looking server,
 * lets a ramping server take a pick it wins only factor of the times (a
 * deterministic credit), and gives the others to the next best. */
void selector_set_weight_factor(struct selector *sel, unsigned server, double factor);
double selector_weight_factor(const struct selector *sel, unsigned server);
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
/* Shell's guard against a lying agent: a server already holding more than
 * SELECT_SHELL_SHARE_CAP times its weighted share of the sessions (plus
 * SELECT_SHELL_SHARE_SLACK) is not picked while another server is below
 * its cap, whatever load it reports. */
#define SELECT_SHELL_SHARE_CAP 2.0
#define SELECT_SHELL_SHARE_SLACK 8.0
/* For re-pinning a failed server's sessions one by one: the available
 * server with the fewest sessions per weight (with the callers' counts
 * updated between calls this spreads them evenly, where a load forecast,
 * unchanged during the burst, would put them all on one neighbour). */
int selector_pick_even(struct selector *sel);

#endif
