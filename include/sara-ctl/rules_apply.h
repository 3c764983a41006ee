/* rules_apply.h - sara-ctl rules: prints a cluster's rule set (rules.h), or
 * runs it (--apply, --remove) one command at a time, no shell, each bounded
 * in time, reporting the first that fails. */
#ifndef SARA_CTL_RULES_APPLY_H
#define SARA_CTL_RULES_APPLY_H

#include "engine/config.h"
#include "sara-ctl/rules.h"

#define RULES_COMMAND_TIMEOUT_MS 30000   /* one iptables/ip/nft run */
#define RULES_COMMAND_STDERR_MAX 2048    /* what is kept of a failing command's stderr */

/* Prints or runs the rule set opt asks for. Returns 0, EXIT_FAILED,
 * EXIT_USAGE (the set cannot be built) or EXIT_NO_NFT_QUEUE (--apply --nft
 * on a kernel without the nftables queue expression). */
int rules_apply(const struct sara_config *cfg, const struct rules_options *opt);

/* Runs argv with stdin_text (or nothing) on its standard input, standard
 * output discarded, standard error kept (cut to err_size, last newline
 * dropped) in err_out. Returns the exit status, 126 on a signal or after
 * RULES_COMMAND_TIMEOUT_MS, 127 when it could not be executed, -1 when it
 * could not start. */
int rules_run_command(char *const argv[], const char *stdin_text, char *err_out, size_t err_size);

#endif
