/* server_slots.h - the running server table: a configuration's servers on
 * stable indexes (slots) that sessions, flows, selection and health hold.
 * A reload maps the new file's servers onto the slots by id: a kept server
 * keeps its slot, a new one takes a free slot or one at the end, a removed
 * one retires (no new sessions; its sessions keep it, and its mark, until
 * they end) and its slot is freed once nothing holds it. */
#ifndef SARA_SERVER_SLOTS_H
#define SARA_SERVER_SLOTS_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/config.h"

struct slot_plan {
	/* next's keys, its servers on their slots; retired slots flagged,
	 * free slots in the middle left blank (no id, no mark) */
	struct sara_config running;
	int slot_of[SARA_MAX_SERVERS];     /* next->servers[i] is running.servers[slot_of[i]] */
	bool added[SARA_MAX_SERVERS];      /* a server new to its slot: fresh state, slow start */
	bool retired[SARA_MAX_SERVERS];    /* retired by this plan (was serving) */
	bool freed[SARA_MAX_SERVERS];      /* emptied by this plan */
	bool returned[SARA_MAX_SERVERS];   /* a retired server listed again, sessions and all */
	unsigned added_count, retired_count, freed_count, returned_count;
};

/* Plans next onto running (the running table; a first plan takes a plain
 * configuration). in_use[s]: slot s still holds sessions or flows (a
 * retired slot that does not is free). False with err ("path: reason") when
 * next cannot be applied: no slot left, or a new server's address, mark or
 * table is still used by a retired server with sessions. */
bool server_slots_plan(const struct sara_config *running, const bool in_use[SARA_MAX_SERVERS],
		       const struct sara_config *next, struct slot_plan *plan, char *err, size_t err_size);

/* A server of the running table's past (a journal names it) back on a
 * slot as retired: its sessions drain there. False with err when its id,
 * address, mark or table is in use or no slot is left. */
bool server_slots_add_retired(struct sara_config *running, const struct server_config *srv, int *slot, char *err,
			      size_t err_size);

/* A running table's slot of server id (retired included), or -1. */
int server_slots_find(const struct sara_config *running, const char *id);
/* Whether slot s serves: listed in the file (neither retired nor free). */
bool server_slot_active(const struct sara_config *running, unsigned s);

#endif
