/* ct_marks.c - conntrack marks of single flows (ct_marks.h) through
 * libnetfilter_conntrack's query API on one locked handle. */
#include "io/ct_marks.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

struct ct_marks {
	pthread_mutex_t lock;
	struct nfct_handle *handle;
	struct ct_marks_stats stats;
	/* Set by the GET callback while the lock is held. */
	bool found;
	uint32_t found_mark;
	/* The dump's receiver while ct_marks_dump holds the lock (NULL: the
	 * callback answers a GET). */
	ct_marks_entry_fn dump_fn;
	void *dump_ctx;
	long dumped;
};

bool ct_marks_key_of(const struct nf_conntrack *entry, struct flow_key *key)
{
	memset(key, 0, sizeof(*key));
	key->family = nfct_get_attr_u8(entry, ATTR_L3PROTO);
	key->l4 = nfct_get_attr_u8(entry, ATTR_L4PROTO);
	if (key->l4 != L4_UDP && key->l4 != L4_TCP)
		return false;
	if (key->family == AF_INET) {
		uint32_t src = nfct_get_attr_u32(entry, ATTR_IPV4_SRC);
		uint32_t dst = nfct_get_attr_u32(entry, ATTR_IPV4_DST);
		memcpy(key->src, &src, 4);
		memcpy(key->dst, &dst, 4);
	} else if (key->family == AF_INET6) {
		memcpy(key->src, nfct_get_attr(entry, ATTR_IPV6_SRC), 16);
		memcpy(key->dst, nfct_get_attr(entry, ATTR_IPV6_DST), 16);
	} else {
		return false;
	}
	key->sport = ntohs(nfct_get_attr_u16(entry, ATTR_PORT_SRC));
	key->dport = ntohs(nfct_get_attr_u16(entry, ATTR_PORT_DST));
	return true;
}

/* Answers a GET (found, its mark) or, while ct_marks_dump runs, passes
 * each marked UDP/TCP entry on. Returns CONTINUE, not STOP: STOP leaves
 * the kernel's ACK for a GET unread on the socket, and the next query
 * would read that ACK as its own answer ("no such entry"), so every second
 * query of an existing entry would say it is gone
 * (tests/netns/ct_marks_query.sh). */
static int entry_callback(enum nf_conntrack_msg_type type, struct nf_conntrack *entry, void *data)
{
	struct ct_marks *ct = data;
	uint32_t mark = nfct_attr_is_set(entry, ATTR_MARK) > 0 ? nfct_get_attr_u32(entry, ATTR_MARK) : 0;
	struct flow_key key;
	(void)type;
	if (!ct->dump_fn) {
		ct->found = true;
		ct->found_mark = mark;
	} else if (mark != 0 && ct_marks_key_of(entry, &key)) {
		ct->dump_fn(ct->dump_ctx, &key, mark);
		ct->dumped++;
	}
	return NFCT_CB_CONTINUE;
}

struct ct_marks *ct_marks_open(char *err, size_t err_size)
{
	struct ct_marks *ct = calloc(1, sizeof(*ct));
	if (!ct) {
		snprintf(err, err_size, "conntrack: out of memory");
		return NULL;
	}
	ct->handle = nfct_open(CONNTRACK, 0);
	if (!ct->handle) {
		snprintf(err, err_size, "conntrack: nfct_open: %s (is nf_conntrack_netlink loaded?)",
			 strerror(errno));
		free(ct);
		return NULL;
	}
	if (nfct_callback_register(ct->handle, NFCT_T_ALL, entry_callback, ct) < 0) {
		snprintf(err, err_size, "conntrack: nfct_callback_register: %s", strerror(errno));
		nfct_close(ct->handle);
		free(ct);
		return NULL;
	}
	pthread_mutex_init(&ct->lock, NULL);
	return ct;
}

void ct_marks_close(struct ct_marks *ct)
{
	if (!ct)
		return;
	nfct_close(ct->handle);
	pthread_mutex_destroy(&ct->lock);
	free(ct);
}

/* The original tuple of key: addresses and ports as the kernel stores them. */
static struct nf_conntrack *tuple_for(const struct flow_key *key)
{
	struct nf_conntrack *entry = nfct_new();
	if (!entry)
		return NULL;
	nfct_set_attr_u8(entry, ATTR_L3PROTO, key->family);
	if (key->family == AF_INET) {
		uint32_t src, dst;
		memcpy(&src, key->src, 4);
		memcpy(&dst, key->dst, 4);
		nfct_set_attr_u32(entry, ATTR_IPV4_SRC, src);
		nfct_set_attr_u32(entry, ATTR_IPV4_DST, dst);
	} else {
		nfct_set_attr(entry, ATTR_IPV6_SRC, key->src);
		nfct_set_attr(entry, ATTR_IPV6_DST, key->dst);
	}
	nfct_set_attr_u8(entry, ATTR_L4PROTO, key->l4);
	nfct_set_attr_u16(entry, ATTR_PORT_SRC, htons(key->sport));
	nfct_set_attr_u16(entry, ATTR_PORT_DST, htons(key->dport));
	return entry;
}

static bool key_usable(const struct flow_key *key)
{
	return (key->family == AF_INET || key->family == AF_INET6) &&
	       (key->l4 == L4_UDP || key->l4 == L4_TCP);
}

int ct_marks_set(struct ct_marks *ct, const struct flow_key *key, uint32_t mark)
{
	struct nf_conntrack *entry;
	int rc = 0;
	if (!key_usable(key))
		return -EINVAL;
	entry = tuple_for(key);
	if (!entry)
		return -ENOMEM;
	nfct_set_attr_u32(entry, ATTR_MARK, mark);
	pthread_mutex_lock(&ct->lock);
	if (nfct_query(ct->handle, NFCT_Q_UPDATE, entry) < 0) {
		rc = -errno;
		if (rc == -ENOENT) {
			ct->stats.missing++;
		} else {
			ct->stats.errors++;
			ct->stats.last_errno = errno;
		}
	} else {
		ct->stats.updates++;
	}
	pthread_mutex_unlock(&ct->lock);
	nfct_destroy(entry);
	return rc;
}

int ct_marks_clear(struct ct_marks *ct, const struct flow_key *key)
{
	return ct_marks_set(ct, key, 0);
}

int ct_marks_exists(struct ct_marks *ct, const struct flow_key *key, uint32_t *mark)
{
	struct nf_conntrack *entry;
	int rc;
	if (!key_usable(key))
		return -EINVAL;
	entry = tuple_for(key);
	if (!entry)
		return -ENOMEM;
	pthread_mutex_lock(&ct->lock);
	ct->stats.queries++;
	ct->found = false;
	ct->found_mark = 0;
	if (nfct_query(ct->handle, NFCT_Q_GET, entry) < 0) {
		rc = -errno;
		if (rc == -ENOENT) {
			rc = 0;
		} else {
			ct->stats.errors++;
			ct->stats.last_errno = errno;
		}
	} else {
		rc = ct->found ? 1 : 0;
		if (rc && mark)
			*mark = ct->found_mark;
	}
	pthread_mutex_unlock(&ct->lock);
	nfct_destroy(entry);
	return rc;
}

long ct_marks_dump(struct ct_marks *ct, ct_marks_entry_fn fn, void *ctx)
{
	uint32_t family = AF_UNSPEC; /* both address families */
	long rc;
	pthread_mutex_lock(&ct->lock);
	ct->dump_fn = fn;
	ct->dump_ctx = ctx;
	ct->dumped = 0;
	rc = nfct_query(ct->handle, NFCT_Q_DUMP, &family) < 0 ? -errno : ct->dumped;
	ct->dump_fn = NULL; /* back to answering GETs */
	if (rc < 0) {
		ct->stats.errors++;
		ct->stats.last_errno = (int)-rc;
	}
	pthread_mutex_unlock(&ct->lock);
	return rc;
}

void ct_marks_get_stats(struct ct_marks *ct, struct ct_marks_stats *out)
{
	pthread_mutex_lock(&ct->lock);
	*out = ct->stats;
	pthread_mutex_unlock(&ct->lock);
}
