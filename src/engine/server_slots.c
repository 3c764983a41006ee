/* server_slots.c - a configuration's servers mapped onto the running
 * table's stable slots (server_slots.h). */
#include "engine/server_slots.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int server_slots_find(const struct sara_config *running, const char *id)
{
	for (unsigned s = 0; s < running->server_count; s++)
		if (running->servers[s].id[0] && strcmp(running->servers[s].id, id) == 0)
			return (int)s;
	return -1;
}

bool server_slot_active(const struct sara_config *running, unsigned s)
{
	return s < running->server_count && !running->servers[s].retired && running->servers[s].id[0];
}

__attribute__((format(printf, 4, 5)))
static bool refuse(const struct sara_config *next, char *err, size_t err_size, const char *fmt, ...)
{
	char reason[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (next->path[0])
		snprintf(err, err_size, "%s: %s", next->path, reason);
	else
		snprintf(err, err_size, "%s", reason);
	return false;
}

/* A slot whose server keeps routing: listed, or retired with sessions. */
static bool slot_occupied(const struct slot_plan *plan, const bool taken[], unsigned s)
{
	return taken[s] && plan->running.servers[s].id[0];
}

/* next->servers[i] (new to its slot) against the retired servers that still
 * route: they keep their address, mark and table until they drain. */
static bool clashes_with_retired(const struct slot_plan *plan, const bool taken[], const struct sara_config *next,
				 unsigned i, char *err, size_t err_size)
{
	const struct server_config *n = &next->servers[i];
	for (unsigned s = 0; s < plan->running.server_count; s++) {
		const struct server_config *r = &plan->running.servers[s];
		const char *what = NULL;
		if (!slot_occupied(plan, taken, s) || !r->retired)
			continue;
		if (server_config_has_address(r, &n->address) || server_config_has_address(r, &n->address6))
			what = "address";
		else if (r->mark == n->mark)
			what = "mark";
		else if (r->table == n->table)
			what = "table";
		if (what)
			return refuse(next, err, err_size,
				      "servers[%u] (\"%s\"): its %s is still used by removed server \"%s\", whose "
				      "sessions are draining; add it once that server is gone (sara-ctl servers)",
				      i, n->id, what, r->id);
	}
	return true;
}

bool server_slots_add_retired(struct sara_config *running, const struct server_config *srv, int *slot, char *err,
			      size_t err_size)
{
	unsigned s, free_slot = running->server_count;
	for (s = 0; s < running->server_count; s++) {
		const struct server_config *r = &running->servers[s];
		if (!r->id[0]) {
			if (free_slot == running->server_count)
				free_slot = s;
			continue;
		}
		if (strcmp(r->id, srv->id) == 0 || server_config_has_address(r, &srv->address) ||
		    server_config_has_address(r, &srv->address6) || r->mark == srv->mark ||
		    r->table == srv->table) {
			snprintf(err, err_size, "server \"%s\" clashes with server \"%s\" (id, address, mark or table)",
				 srv->id, r->id);
			return false;
		}
	}
	if (free_slot == SARA_MAX_SERVERS) {
		snprintf(err, err_size, "server \"%s\": no room (%d servers at most)", srv->id, SARA_MAX_SERVERS);
		return false;
	}
	running->servers[free_slot] = *srv;
	running->servers[free_slot].retired = true;
	if (free_slot == running->server_count)
		running->server_count++;
	*slot = (int)free_slot;
	return true;
}

bool server_slots_plan(const struct sara_config *running, const bool in_use[SARA_MAX_SERVERS],
		       const struct sara_config *next, struct slot_plan *plan, char *err, size_t err_size)
{
	bool taken[SARA_MAX_SERVERS] = { false };   /* slot kept for a server of next or a draining one */
	unsigned count = running->server_count;

	memset(plan, 0, sizeof(*plan));
	plan->running = *next;
	memset(plan->running.servers, 0, sizeof(plan->running.servers));
	if (count > SARA_MAX_SERVERS)
		count = SARA_MAX_SERVERS;
	plan->running.server_count = count;
	for (unsigned s = 0; s < count; s++)
		plan->running.servers[s] = running->servers[s];

	/* Servers already on a slot keep it. */
	for (unsigned i = 0; i < next->server_count; i++) {
		int s = server_slots_find(running, next->servers[i].id);
		plan->slot_of[i] = -1;
		if (s < 0)
			continue;
		/* A free slot (retired, nothing left in it) is taken anew below. */
		if (running->servers[s].retired && !in_use[s])
			continue;
		plan->slot_of[i] = s;
		taken[s] = true;
		if (running->servers[s].retired) {
			plan->returned[s] = true;
			plan->returned_count++;
		}
		plan->running.servers[s] = next->servers[i];
	}
	/* Servers the file no longer lists retire while something holds them;
	 * the others (and free retired slots) become blank. */
	for (unsigned s = 0; s < count; s++) {
		struct server_config *r = &plan->running.servers[s];
		if (taken[s])
			continue;
		if (r->id[0] && in_use[s]) {
			taken[s] = true;
			if (!r->retired) {
				plan->retired[s] = true;
				plan->retired_count++;
			}
			r->retired = true;
			continue;
		}
		if (r->id[0]) {
			plan->freed[s] = true;
			plan->freed_count++;
		}
		memset(r, 0, sizeof(*r));
		r->retired = true;
	}
	/* New servers: the lowest free slot, else one at the end. */
	for (unsigned i = 0; i < next->server_count; i++) {
		unsigned s;
		if (plan->slot_of[i] >= 0)
			continue;
		if (!clashes_with_retired(plan, taken, next, i, err, err_size))
			return false;
		for (s = 0; s < plan->running.server_count && taken[s]; s++)
			;
		if (s == SARA_MAX_SERVERS)
			return refuse(next, err, err_size,
				      "servers[%u] (\"%s\"): no room: %d servers at most, removed ones counted "
				      "until their sessions end", i, next->servers[i].id, SARA_MAX_SERVERS);
		if (s == plan->running.server_count)
			plan->running.server_count++;
		taken[s] = true;
		plan->running.servers[s] = next->servers[i];
		plan->slot_of[i] = (int)s;
		plan->added[s] = true;
		plan->added_count++;
		/* a slot freed and taken again by this plan is an addition */
		if (plan->freed[s]) {
			plan->freed[s] = false;
			plan->freed_count--;
		}
	}
	/* Free slots at the end are dropped. */
	while (plan->running.server_count > 0 && !taken[plan->running.server_count - 1])
		plan->running.server_count--;
	return true;
}
