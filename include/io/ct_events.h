/* ct_events.h - conntrack's NEW and DESTROY events (ctnetlink multicast),
 * read without blocking, each as the flow key of the entry's original tuple
 * and its connmark; events the kernel dropped are reported. */
#ifndef SARA_CT_EVENTS_H
#define SARA_CT_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "dpi/flow_key.h"

/* Asked of the kernel for the socket's receive buffer (SO_RCVBUFFORCE,
 * else SO_RCVBUF up to rmem_max): room for a burst of events while a dump
 * holds the reader back. */
#define CT_EVENTS_RCVBUF (64u << 20)

/* No UPDATE: the rules save every marked packet's mark in its connmark,
 * and a signalling connection's changes with each new session's server,
 * so UPDATE events would cost one event per signalling message. An entry
 * marked after its NEW event is marked by sarad's own verdict, which says
 * so itself (dispatcher_connmark_set). */
enum ct_event_kind { CT_EVENT_NEW, CT_EVENT_DESTROY };

/* One UDP or TCP entry's event: its original tuple and connmark (0: none). */
typedef void (*ct_event_fn)(void *ctx, enum ct_event_kind kind, const struct flow_key *key, uint32_t mark);

struct ct_events;

/* Subscribes to the NEW and DESTROY groups; the fd is non-blocking. NULL with
 * err set when ctnetlink cannot be opened or the namespace's
 * net.netfilter.nf_conntrack_events is 0 (the kernel sends none). */
struct ct_events *ct_events_open(char *err, size_t err_size);
void ct_events_close(struct ct_events *ev);
int ct_events_fd(const struct ct_events *ev);
/* The receive buffer the kernel granted, in bytes. */
unsigned ct_events_rcvbuf(const struct ct_events *ev);
/* Reads the events waiting, at most max_events of them: fn for each UDP
 * and TCP one. Returns the number read (0: none waiting), -ENOBUFS when the
 * kernel dropped events since the last read (the ones still queued are
 * older than the loss: discard them), or -errno. */
long ct_events_read(struct ct_events *ev, unsigned max_events, ct_event_fn fn, void *ctx);
/* Reads and drops every event queued, losses included: what follows is
 * newer than anything lost. Returns the number dropped, or -errno. */
long ct_events_discard(struct ct_events *ev);

#endif
