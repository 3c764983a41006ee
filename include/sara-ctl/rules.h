/* rules.h - the netfilter and policy-routing rule set of a cluster (the
 * dispatcher's or the gateway's), generated from its configuration as
 * command lines and nft scripts. No I/O: sara-ctl prints or runs them. */
#ifndef SARA_RULES_H
#define SARA_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/config.h"

#define RULES_MAX_COMMANDS 4096    /* 16 VIPs x 64 servers routes fit */
#define RULES_MAX_WORDS 32768      /* argv words of all commands, NULLs included */
#define RULES_POOL_SIZE (256 * 1024)
#define RULES_DELETE_REPEAT_MAX 64 /* bound on "delete while it succeeds" */

/* Names used on the host: our own chains and nft tables. */
#define RULES_CHAIN "SARA"
#define RULES_GW_CHAIN "SARA-GW"
#define RULES_NFT_TABLE "sara"
#define RULES_NFT_GW_TABLE "sara_gw"
/* The routing protocol number sara's policy rules and routes carry (ip
 * rule ... protocol, ip route ... proto; unassigned in rt_protos), so that
 * --apply can tell its own rules of removed servers from anyone else's. */
#define RULES_RT_PROTO 83

enum rules_backend { RULES_IPTABLES = 0, RULES_NFT };
enum rules_role { RULES_DISPATCHER = 0, RULES_GATEWAY };
enum rules_operation {
	RULES_PRINT = 0, /* what an operator reads: the state-changing commands, with comments */
	RULES_APPLY,     /* idempotent: checks, duplicate removal, then the commands */
	RULES_REMOVE,    /* undoes APPLY, tolerating absence */
};

/* How a runner treats one entry of the list. */
enum rules_step {
	RULES_COMMENT = 0,  /* text only (argv[0]), printed as "# text" */
	RULES_TEXT,         /* argv[0] printed verbatim (an nft script); never run */
	RULES_MUST,         /* fails the operation when it fails */
	RULES_MAY_FAIL,     /* failure ignored (chain exists, route absent, ...) */
	RULES_SKIP_NEXT_IF_OK, /* a check (-C): when it succeeds the next command is skipped */
	RULES_REPEAT_UNTIL_FAIL, /* a delete run until it fails (at most RULES_DELETE_REPEAT_MAX) */
	RULES_ADD_RULE,     /* "ip [-6] rule add fwmark M lookup T ...": run (must) unless the rule is there */
};

struct rules_options {
	enum rules_backend backend;
	enum rules_role role;
	enum rules_operation operation;
	int gateway_queue;  /* < 0: queue.first + queue.count (sara-gw's default) */
};

struct rules_command {
	enum rules_step step;
	unsigned argc;
	const char **argv;      /* NULL-terminated, in the set's words; strings in its pool */
	const char *stdin_text;               /* fed to the command's standard input, or NULL */
};

struct rules_set {
	unsigned count, word_count;
	bool overflow;      /* a capacity was exceeded: the set is incomplete, do not use it */
	size_t pool_used;
	struct rules_command commands[RULES_MAX_COMMANDS];
	const char *words[RULES_MAX_WORDS];
	char pool[RULES_POOL_SIZE];
};

/* Fills set (large: allocate it on the heap) with the commands of one
 * operation. Returns false (err filled) on a capacity overflow or an
 * unusable configuration (no VIPs, no servers). */
bool rules_build(const struct sara_config *cfg, const struct rules_options *opt, struct rules_set *set,
		 char *err, size_t err_size);

/* The queue sara-gw reads by default: queue.first + queue.count. */
unsigned rules_default_gateway_queue(const struct sara_config *cfg);

/* Writes the set as text: one shell-quoted command per line, comments as
 * "# ...", and a command's stdin_text as a here-document. Returns the length
 * written, or 0 when buf is too small. */
size_t rules_format(const struct rules_set *set, char *buf, size_t size);
/* One command as a shell-quoted line (no newline); for error messages. */
size_t rules_format_command(const struct rules_command *cmd, char *buf, size_t size);

/* An nft script that loads a throw-away table with a queue rule: `nft -c -f -`
 * fails on it when the kernel has no nftables queue expression. The second
 * script is the same without the queue rule, to tell "no nft at all" apart. */
const char *rules_nft_probe_script(void);
const char *rules_nft_baseline_script(void);

#endif
