/* ct_query.c - asks conntrack about UDP or TCP flows, in order and for
 * several rounds, on one handle through ct_marks_exists (what sarad's
 * flow_active hook does): one line per query, "present MARK" or "absent".
 * "ct_query --dump": the marked entries ct_marks_dump lists (sarad's
 * conntrack scan), one "PROTO SRC SPORT DST DPORT MARK" line each, then
 * "dumped N" ("--dump-count": only that; the dump's time on stderr).
 * For tests/netns. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/ct_marks.h"
#include "dpi/flow_key.h"

static int parse_flow(char **argv, struct flow_key *key)
{
	memset(key, 0, sizeof(*key));
	if (strcmp(argv[0], "udp") == 0)
		key->l4 = L4_UDP;
	else if (strcmp(argv[0], "tcp") == 0)
		key->l4 = L4_TCP;
	else
		return -1;
	key->family = strchr(argv[1], ':') ? AF_INET6 : AF_INET;
	if (inet_pton(key->family, argv[1], key->src) != 1 || inet_pton(key->family, argv[3], key->dst) != 1)
		return -1;
	key->sport = (uint16_t)atoi(argv[2]);
	key->dport = (uint16_t)atoi(argv[4]);
	return 0;
}

static void print_entry(void *ctx, const struct flow_key *key, uint32_t mark)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	(void)ctx;
	inet_ntop(key->family, key->src, src, sizeof(src));
	inet_ntop(key->family, key->dst, dst, sizeof(dst));
	printf("%s %s %u %s %u %u\n", key->l4 == L4_UDP ? "udp" : "tcp", src, key->sport, dst,
	       key->dport, mark);
}

static void count_entry(void *ctx, const struct flow_key *key, uint32_t mark)
{
	(void)ctx;
	(void)key;
	(void)mark;
}

/* quiet: count only (the dump's own cost, on stderr). */
static int dump(bool quiet)
{
	char err[256];
	long n;
	struct ct_marks *ct = ct_marks_open(err, sizeof(err));
	if (!ct) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = ct_marks_dump(ct, quiet ? count_entry : print_entry, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ct_marks_close(ct);
	fprintf(stderr, "dump: %.3f ms\n", (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	if (n < 0) {
		printf("error %ld\n", n);
		return 1;
	}
	printf("dumped %ld\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	struct flow_key keys[16];
	struct ct_marks *ct;
	char err[256];
	int rounds = 1, first = 1, count, status = 0;
	if (argc == 2 && strcmp(argv[1], "--dump") == 0)
		return dump(false);
	if (argc == 2 && strcmp(argv[1], "--dump-count") == 0)
		return dump(true);
	if (argc > 2 && strcmp(argv[1], "-n") == 0) {
		rounds = atoi(argv[2]);
		first = 3;
	}
	count = (argc - first) / 5;
	if (count < 1 || count > 16 || (argc - first) % 5 != 0) {
		fprintf(stderr, "usage: ct_query [-n ROUNDS] udp|tcp SRC SPORT DST DPORT [udp|tcp ...]\n"
				"       ct_query --dump | --dump-count\n");
		return 2;
	}
	for (int i = 0; i < count; i++) {
		if (parse_flow(argv + first + 5 * i, &keys[i]) < 0) {
			fprintf(stderr, "ct_query: bad flow %d\n", i + 1);
			return 2;
		}
	}
	ct = ct_marks_open(err, sizeof(err));
	if (!ct) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < count; i++) {
			uint32_t mark = 0;
			int rc = ct_marks_exists(ct, &keys[i], &mark);
			if (rc < 0) {
				printf("error %d\n", rc);
				status = 1;
			} else if (rc == 1) {
				printf("present %u\n", mark);
			} else {
				printf("absent\n");
			}
		}
	}
	ct_marks_close(ct);
	return status;
}
