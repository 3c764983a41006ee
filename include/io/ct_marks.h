/* ct_marks.h - the connection marks of flows in the kernel's conntrack
 * table (libnetfilter_conntrack): set or clear the mark of one flow's entry,
 * and ask whether the entry still exists. Thread-safe (one handle, locked). */
#ifndef SARA_CT_MARKS_H
#define SARA_CT_MARKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpi/flow_key.h"

struct ct_marks_stats {
	uint64_t updates;        /* marks written */
	uint64_t missing;        /* the flow had no conntrack entry (ENOENT): not an error */
	uint64_t errors;         /* any other failure */
	uint64_t queries;        /* ct_marks_exists calls */
	int last_errno;
};

struct ct_marks;

struct ct_marks *ct_marks_open(char *err, size_t err_size);
void ct_marks_close(struct ct_marks *ct);

/* Writes mark into the entry whose original tuple is key (the client ->
 * VIP direction). Returns 0, -ENOENT when there is no entry, or -errno. */
int ct_marks_set(struct ct_marks *ct, const struct flow_key *key, uint32_t mark);
/* ct_marks_set(ct, key, 0): later packets of the flow cross to user space again. */
int ct_marks_clear(struct ct_marks *ct, const struct flow_key *key);
/* 1 when the entry exists, 0 when it does not, -errno on failure. When it
 * exists and mark is not NULL, *mark receives its connmark. */
int ct_marks_exists(struct ct_marks *ct, const struct flow_key *key, uint32_t *mark);
/* Every UDP and TCP entry (IPv4 and IPv6) whose connmark is not 0, by its
 * original tuple: fn(ctx, key, mark) for each. One netlink dump, holding
 * this handle for its whole length: give it a handle of its own. Returns
 * the number of entries passed to fn, or -errno. */
typedef void (*ct_marks_entry_fn)(void *ctx, const struct flow_key *key, uint32_t mark);
long ct_marks_dump(struct ct_marks *ct, ct_marks_entry_fn fn, void *ctx);

/* The original tuple of a conntrack entry (a dumped one, an event's) as a
 * flow key, zero padded like the engine's; false for a family or protocol
 * flows never have. */
struct nf_conntrack;
bool ct_marks_key_of(const struct nf_conntrack *entry, struct flow_key *key);

void ct_marks_get_stats(struct ct_marks *ct, struct ct_marks_stats *out);

#endif
