/* ct_events.c - conntrack events through libnetfilter_conntrack on a
 * non-blocking ctnetlink socket (ct_events.h). */
#include "io/ct_events.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnfnetlink/libnfnetlink.h>

#include "io/ct_marks.h"

struct ct_events {
	struct nfct_handle *handle;
	unsigned rcvbuf;
	/* The reader of the read under way: each message calls back once. */
	ct_event_fn fn;          /* NULL: discarding */
	void *ctx;
	unsigned budget, seen;
};

static int event_callback(enum nf_conntrack_msg_type type, struct nf_conntrack *entry, void *data)
{
	struct ct_events *ev = data;
	struct flow_key key;
	enum ct_event_kind kind;
	ev->seen++;
	if (ev->fn && ct_marks_key_of(entry, &key)) {
		kind = type == NFCT_T_DESTROY ? CT_EVENT_DESTROY : CT_EVENT_NEW;
		ev->fn(ev->ctx, kind, &key, nfct_attr_is_set(entry, ATTR_MARK) > 0 ? nfct_get_attr_u32(entry, ATTR_MARK) : 0);
	}
	/* STOP ends nfct_catch's loop of receives: the budget bounds one call. */
	return ev->seen >= ev->budget ? NFCT_CB_STOP : NFCT_CB_CONTINUE;
}

/* net.netfilter.nf_conntrack_events of this namespace: 0 sends none. */
static int events_sysctl(void)
{
	FILE *f = fopen("/proc/sys/net/netfilter/nf_conntrack_events", "r");
	int value = -1;
	if (!f)
		return -1;
	if (fscanf(f, "%d", &value) != 1)
		value = -1;
	fclose(f);
	return value;
}

struct ct_events *ct_events_open(char *err, size_t err_size)
{
	/* Without a listener in a group the kernel does not even build its
	 * events: no UPDATE group, no per-message cost on signalling. */
	unsigned groups = NF_NETLINK_CONNTRACK_NEW | NF_NETLINK_CONNTRACK_DESTROY;
	struct ct_events *ev = calloc(1, sizeof(*ev));
	int fd, flags;
	if (!ev) {
		snprintf(err, err_size, "conntrack events: out of memory");
		return NULL;
	}
	if (events_sysctl() == 0) {
		snprintf(err, err_size, "conntrack events: net.netfilter.nf_conntrack_events is 0");
		goto fail_free;
	}
	ev->handle = nfct_open(CONNTRACK, groups);
	if (!ev->handle) {
		snprintf(err, err_size, "conntrack events: nfct_open: %s", strerror(errno));
		goto fail_free;
	}
	if (nfct_callback_register(ev->handle, NFCT_T_NEW | NFCT_T_DESTROY, event_callback, ev) < 0) {
		snprintf(err, err_size, "conntrack events: nfct_callback_register: %s", strerror(errno));
		goto fail_close;
	}
	fd = nfct_fd(ev->handle);
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		snprintf(err, err_size, "conntrack events: fcntl: %s", strerror(errno));
		goto fail_close;
	}
	ev->rcvbuf = nfnl_rcvbufsiz(nfct_nfnlh(ev->handle), CT_EVENTS_RCVBUF);
	return ev;

fail_close:
	nfct_close(ev->handle);
fail_free:
	free(ev);
	return NULL;
}

void ct_events_close(struct ct_events *ev)
{
	if (!ev)
		return;
	nfct_close(ev->handle);
	free(ev);
}

int ct_events_fd(const struct ct_events *ev)
{
	return nfct_fd(ev->handle);
}

unsigned ct_events_rcvbuf(const struct ct_events *ev)
{
	return ev->rcvbuf;
}

/* nfct_catch until nothing waits (EAGAIN), the budget is spent or an error. */
static long catch_events(struct ct_events *ev, unsigned budget)
{
	int rc;
	ev->budget = budget;
	ev->seen = 0;
	rc = nfct_catch(ev->handle);
	if (rc < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		return -errno;
	return ev->seen;
}

long ct_events_read(struct ct_events *ev, unsigned max_events, ct_event_fn fn, void *ctx)
{
	long rc;
	if (max_events == 0)
		return 0;
	ev->fn = fn;
	ev->ctx = ctx;
	rc = catch_events(ev, max_events);
	ev->fn = NULL;
	return rc;
}

long ct_events_discard(struct ct_events *ev)
{
	long dropped = 0, rc;
	ev->fn = NULL;
	for (;;) {
		rc = catch_events(ev, 1u << 20);
		if (rc == -ENOBUFS)
			continue;   /* more were lost while discarding: keep going */
		if (rc < 0)
			return rc;
		dropped += rc;
		if ((unsigned long)rc < (1u << 20))
			return dropped;
	}
}
