/* live_set.h - a fixed-capacity set of flow keys (keyed 64-bit
 * fingerprints): the marked connections conntrack holds (a scan, kept
 * current by conntrack events), asked by sarad's flow_active hook instead
 * of one netlink query per idle flow. */
#ifndef SARA_LIVE_SET_H
#define SARA_LIVE_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpi/flow_key.h"
#include "engine/hash.h"

struct live_set;

/* Room for capacity keys (twice as many slots); NULL when out of memory. */
struct live_set *live_set_create(uint32_t capacity, const struct hash_key *key);
void live_set_destroy(struct live_set *set);
/* False once the set is full: the key is not added and live_set_full()
 * says so from then on (a full set cannot say "absent" for sure). */
bool live_set_add(struct live_set *set, const struct flow_key *key);
/* Takes key out; false when it was not in. A full set stays full (it may
 * have refused keys still alive). */
bool live_set_remove(struct live_set *set, const struct flow_key *key);
/* A key added (or, with odds of 2^-64 per key held, one whose fingerprint
 * matches one added: the cost is a flow kept one timeout longer). */
bool live_set_contains(const struct live_set *set, const struct flow_key *key);
bool live_set_full(const struct live_set *set);
uint32_t live_set_count(const struct live_set *set);
size_t live_set_memory(const struct live_set *set);

#endif
