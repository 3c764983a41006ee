/* ct_fill.c - inserts COUNT UDP conntrack entries carrying MARK and a long
 * timeout into the current network namespace through ctnetlink, many
 * create requests per datagram (what tests/bench/ct_idle.sh needs for a
 * million kernel-kept flows in seconds). Tuples: 198.18.S.0 + i port
 * 1024 + i % 60000 -> 198.19.255.1:40000, S from FIRST / 60000 on.
 *   ct_fill COUNT MARK [FIRST [TIMEOUT_S]]   prints "created N failed N". */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#define PORTS_PER_ADDRESS 60000u
#define BATCH_BYTES (128u * 1024u)   /* under the socket's default send buffer */

/* The entry number i: its original tuple and the reply one, reversed. */
static void fill_entry(struct nf_conntrack *ct, unsigned long i, uint32_t mark, uint32_t timeout_s)
{
	uint32_t src = htonl((198u << 24) | (18u << 16) | (uint32_t)(i / PORTS_PER_ADDRESS) << 8);
	uint32_t dst = htonl((198u << 24) | (19u << 16) | (255u << 8) | 1u);
	uint16_t sport = htons((uint16_t)(1024u + i % PORTS_PER_ADDRESS)), dport = htons(40000);
	nfct_set_attr_u8(ct, ATTR_L3PROTO, AF_INET);
	nfct_set_attr_u8(ct, ATTR_L4PROTO, IPPROTO_UDP);
	nfct_set_attr_u32(ct, ATTR_IPV4_SRC, src);
	nfct_set_attr_u32(ct, ATTR_IPV4_DST, dst);
	nfct_set_attr_u16(ct, ATTR_PORT_SRC, sport);
	nfct_set_attr_u16(ct, ATTR_PORT_DST, dport);
	nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, AF_INET);
	nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, IPPROTO_UDP);
	nfct_set_attr_u32(ct, ATTR_REPL_IPV4_SRC, dst);
	nfct_set_attr_u32(ct, ATTR_REPL_IPV4_DST, src);
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, dport);
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, sport);
	nfct_set_attr_u32(ct, ATTR_TIMEOUT, timeout_s);
	nfct_set_attr_u32(ct, ATTR_MARK, mark);
}

/* Counts the errors the kernel sent back so far (a create without
 * NLM_F_ACK answers only when it fails). */
static unsigned long read_errors(struct mnl_socket *nl)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned long errors = 0;
	ssize_t n;
	while ((n = recv(mnl_socket_get_fd(nl), buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int len = (int)n;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
			if (nlh->nlmsg_type == NLMSG_ERROR && e->error != 0)
				errors++;
		}
	}
	return errors;
}

static int send_batch(struct mnl_socket *nl, struct mnl_nlmsg_batch *batch)
{
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(batch), mnl_nlmsg_batch_size(batch)) < 0) {
		perror("ct_fill: send");
		return -1;
	}
	mnl_nlmsg_batch_reset(batch);
	return 0;
}

int main(int argc, char **argv)
{
	static char buf[2 * BATCH_BYTES];   /* the batch and one message past it */
	unsigned long count, first = 0, failed = 0;
	uint32_t mark, timeout_s = 3600;
	struct mnl_nlmsg_batch *batch;
	struct nf_conntrack *ct;
	struct mnl_socket *nl;
	int rc = 1;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: ct_fill COUNT MARK [FIRST [TIMEOUT_S]]\n");
		return 2;
	}
	count = strtoul(argv[1], NULL, 10);
	mark = (uint32_t)strtoul(argv[2], NULL, 10);
	if (argc > 3)
		first = strtoul(argv[3], NULL, 10);
	if (argc > 4)
		timeout_s = (uint32_t)strtoul(argv[4], NULL, 10);
	if ((first + count) / PORTS_PER_ADDRESS > 255) {
		fprintf(stderr, "ct_fill: at most %u entries\n", 256u * PORTS_PER_ADDRESS);
		return 2;
	}
	nl = mnl_socket_open(NETLINK_NETFILTER);
	ct = nfct_new();
	if (!nl || !ct || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("ct_fill: netlink");
		goto out;
	}
	batch = mnl_nlmsg_batch_start(buf, BATCH_BYTES);
	for (unsigned long i = first; i < first + count; i++) {
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(batch));
		struct nfgenmsg *nfh;
		nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
		nlh->nlmsg_seq = (uint32_t)i;
		nfh = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfh));
		nfh->nfgen_family = AF_INET;
		nfh->version = NFNETLINK_V0;
		nfh->res_id = 0;
		fill_entry(ct, i, mark, timeout_s);
		nfct_nlmsg_build(nlh, ct);
		if (!mnl_nlmsg_batch_next(batch)) {
			/* Full: the one that did not fit moves to the front. */
			if (send_batch(nl, batch) < 0)
				goto out;
			failed += read_errors(nl);
		}
	}
	if (!mnl_nlmsg_batch_is_empty(batch) && send_batch(nl, batch) < 0)
		goto out;
	failed += read_errors(nl);
	printf("created %lu failed %lu\n", count - failed, failed);
	rc = failed ? 1 : 0;
out:
	if (ct)
		nfct_destroy(ct);
	if (nl)
		mnl_socket_close(nl);
	return rc;
}
