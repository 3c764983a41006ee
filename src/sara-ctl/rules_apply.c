/* rules_apply.c - prints or runs a cluster's rule set (rules_apply.h). */
#include "sara-ctl/rules_apply.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/clock.h"
#include "sara-ctl/control_client.h"
#include "sara-ctl/ctl.h"
#include "sara-ctl/json_reader.h"
#include "sara-ctl/rule_listing.h"

#define FORMAT_MAX (RULES_POOL_SIZE * 2)
#define REPORT_LINE_MAX 8192

/* ---- one command, no shell ---- */

/* The child: stdin from in_fd, stderr to err_fd, stdout to /dev/null (or
 * to err_fd too: a listing read back). */
static void child_exec(char *const argv[], int in_fd, int err_fd, bool stdout_too)
{
	int null_fd = stdout_too ? -1 : open("/dev/null", O_WRONLY);
	dup2(in_fd, STDIN_FILENO);
	dup2(err_fd, STDERR_FILENO);
	if (stdout_too)
		dup2(err_fd, STDOUT_FILENO);
	else if (null_fd >= 0)
		dup2(null_fd, STDOUT_FILENO);
	execvp(argv[0], argv);
	dprintf(STDERR_FILENO, "%s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* The parent's ends of the child's stdin and stderr, and what went through. */
struct pump {
	int in_fd, err_fd;           /* -1 once closed */
	const char *in;
	size_t in_len, in_done;
	char *err;
	size_t err_size, err_used;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void keep_stderr(struct pump *p, const char *chunk, size_t n)
{
	size_t room;
	if (p->err_size <= 1 || p->err_used >= p->err_size - 1)
		return;
	room = p->err_size - 1 - p->err_used;
	if (n > room)
		n = room;
	memcpy(p->err + p->err_used, chunk, n);
	p->err_used += n;
	p->err[p->err_used] = '\0';
}

/* Feeds stdin and drains stderr together, so neither side blocks, until
 * stderr closes. Returns true when the deadline passed (the child killed). */
static bool pump_until_eof(struct pump *p, pid_t pid, uint64_t deadline)
{
	while (p->err_fd >= 0) {
		struct pollfd fds[2] = { { p->err_fd, POLLIN, 0 }, { p->in_fd, POLLOUT, 0 } };
		uint64_t t = clock_ms(CLOCK_MONOTONIC);
		int n;
		if (t >= deadline) {
			kill(pid, SIGKILL);
			return true;
		}
		n = poll(fds, p->in_fd >= 0 ? 2 : 1, (int)(deadline - t));
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (p->in_fd >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = write(p->in_fd, p->in + p->in_done, p->in_len - p->in_done);
			if (w > 0)
				p->in_done += (size_t)w;
			if (w < 0 || p->in_done == p->in_len)
				close_fd(&p->in_fd);
		}
		if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
			char chunk[512];
			ssize_t r = read(p->err_fd, chunk, sizeof(chunk));
			if (r <= 0) {
				close_fd(&p->err_fd);
				break;
			}
			keep_stderr(p, chunk, (size_t)r);
		}
	}
	return false;
}

static int run_command(char *const argv[], const char *stdin_text, bool stdout_too, char *err_out, size_t err_size)
{
	int in_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
	struct pump p = { -1, -1, stdin_text, stdin_text ? strlen(stdin_text) : 0, 0, err_out, err_size, 0 };
	uint64_t deadline = clock_ms(CLOCK_MONOTONIC) + RULES_COMMAND_TIMEOUT_MS;
	int status = -1, wstatus;
	bool timed_out;
	pid_t pid;

	err_out[0] = '\0';
	if (pipe2(in_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0) {
		snprintf(err_out, err_size, "pipe: %s", strerror(errno));
		goto out_close;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err_out, err_size, "fork: %s", strerror(errno));
		goto out_close;
	}
	if (pid == 0)
		child_exec(argv, in_pipe[0], err_pipe[1], stdout_too);
	close_fd(&in_pipe[0]);
	close_fd(&err_pipe[1]);
	p.in_fd = in_pipe[1];
	p.err_fd = err_pipe[0];
	in_pipe[1] = err_pipe[0] = -1;
	if (p.in_len == 0)
		close_fd(&p.in_fd);
	timed_out = pump_until_eof(&p, pid, deadline);
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	status = !timed_out && WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 126;
	/* One line is enough in a report: drop the trailing newline. */
	while (p.err_used > 0 && (err_out[p.err_used - 1] == '\n' || err_out[p.err_used - 1] == '\r'))
		err_out[--p.err_used] = '\0';
out_close:
	close_fd(&p.in_fd);
	close_fd(&p.err_fd);
	for (int i = 0; i < 2; i++) {
		close_fd(&in_pipe[i]);
		close_fd(&err_pipe[i]);
	}
	return status;
}

int rules_run_command(char *const argv[], const char *stdin_text, char *err_out, size_t err_size)
{
	return run_command(argv, stdin_text, false, err_out, err_size);
}

/* ---- a rule set ---- */

/* What a run knows of the host: its policy rules per family (APPLY). */
struct run_state {
	bool have_listing;
	struct rule_listing *v4, *v6;
	unsigned ran, present;
};

static int run_rules_command(const struct rules_command *cmd, char *err_out, size_t err_size)
{
	return rules_run_command((char *const *)cmd->argv, cmd->stdin_text, err_out, err_size);
}

/* An "ip rule add" whose rule the host already has is not run again. */
static bool rule_present(const struct run_state *st, const struct rules_command *cmd)
{
	uint32_t mark, table;
	bool ipv6;
	if (!st->have_listing || !rule_listing_argv(cmd->argv, &ipv6, &mark, &table))
		return false;
	return rule_listing_has(ipv6 ? st->v6 : st->v4, mark, table);
}

static void report_failure(const struct rules_command *cmd, int status, const char *stderr_text)
{
	char line[REPORT_LINE_MAX];
	if (!rules_format_command(cmd, line, sizeof(line)))
		snprintf(line, sizeof(line), "%s ...", cmd->argv[0]);
	fprintf(stderr, "%s: `%s` failed (exit %d)%s%s\n", CTL_PROGRAM, line, status, stderr_text[0] ? ": " : "",
		stderr_text);
}

/* Runs one command of an APPLY or REMOVE set by its step; *i may skip the
 * next. Returns 0 or EXIT_FAILED. */
static int run_step(const struct rules_set *set, unsigned *i, struct run_state *st)
{
	const struct rules_command *cmd = &set->commands[*i];
	char err[RULES_COMMAND_STDERR_MAX];
	unsigned n = 0;
	int status;
	switch (cmd->step) {
	case RULES_COMMENT:
	case RULES_TEXT:
		return 0;
	case RULES_ADD_RULE:
		if (rule_present(st, cmd)) {
			st->present++;
			return 0;
		}
		/* missing: it must be added */
		__attribute__((fallthrough));
	case RULES_MUST:
		status = run_rules_command(cmd, err, sizeof(err));
		st->ran++;
		if (status != 0) {
			report_failure(cmd, status, err);
			return EXIT_FAILED;
		}
		return 0;
	case RULES_MAY_FAIL:
		run_rules_command(cmd, err, sizeof(err));
		st->ran++;
		return 0;
	case RULES_SKIP_NEXT_IF_OK:
		status = run_rules_command(cmd, err, sizeof(err));
		if (status == 0 && *i + 1 < set->count) {
			st->present++;
			(*i)++;
		} else if (status == 127 || status < 0) {
			report_failure(cmd, status, err);
			return EXIT_FAILED;
		}
		return 0;
	case RULES_REPEAT_UNTIL_FAIL:
		while (n < RULES_DELETE_REPEAT_MAX && run_rules_command(cmd, err, sizeof(err)) == 0)
			n++;
		st->ran += n;
		if (n == RULES_DELETE_REPEAT_MAX) {
			report_failure(cmd, 0, "still succeeding after the maximum number of deletions");
			return EXIT_FAILED;
		}
		return 0;
	}
	return 0;
}

/* Runs an APPLY or REMOVE set. Returns 0 or EXIT_FAILED. */
static int run_set(const struct rules_set *set, struct run_state *st)
{
	for (unsigned i = 0; i < set->count; i++)
		if (run_step(set, &i, st) != 0)
			return EXIT_FAILED;
	return 0;
}

/* ---- the host's policy rules read back ---- */

#define LISTING_TEXT_MAX (64u * 1024)

/* `ip [-6] -N rule show` into l; false when ip cannot list them. */
static bool read_listing(bool ipv6, struct rule_listing *l)
{
	char *const v4[] = { "ip", "-N", "rule", "show", NULL };
	char *const v6[] = { "ip", "-N", "-6", "rule", "show", NULL };
	char *text = malloc(LISTING_TEXT_MAX);
	bool ok;
	if (!text)
		return false;
	ok = run_command(ipv6 ? v6 : v4, NULL, true, text, LISTING_TEXT_MAX) == 0;
	if (ok)
		rule_listing_parse(text, strlen(text), l);
	free(text);
	return ok;
}

struct mark_walk {
	uint32_t marks[SARA_MAX_SERVERS];
	unsigned count;
};

static void collect_mark(struct json_walk *w, const char *text, size_t len, bool string)
{
	struct mark_walk *m = w->ctx;
	const char *leaf = strrchr(w->path, '.');
	char digits[16];
	if (string || !leaf || strcmp(leaf, ".mark") != 0 || strncmp(w->path, "servers[", 8) != 0 ||
	    len >= sizeof(digits) || m->count == SARA_MAX_SERVERS)
		return;
	memcpy(digits, text, len);
	digits[len] = '\0';
	m->marks[m->count++] = (uint32_t)strtoul(digits, NULL, 10);
}

/* The marks a running sarad routes with, its removed servers' included:
 * their rules stay while their sessions drain. No sarad: none. */
static void marks_in_use(const struct sara_config *cfg, struct mark_walk *m)
{
	char *doc = NULL;
	size_t len = 0;
	memset(m, 0, sizeof(*m));
	if (access(cfg->control.socket, F_OK) != 0)
		return;
	if (control_client_ask(cfg, "servers\n", CONTROL_CLIENT_REPLY_MAX, &doc, &len) == 0)
		json_walk_document(doc, len, collect_mark, m);
	free(doc);
}

/* sara's rules (RULES_RT_PROTO) of servers the configuration no longer
 * lists go, with their tables' routes, unless sarad still routes with their
 * mark. Returns 0 or EXIT_FAILED. */
static int prune(const struct sara_config *cfg, struct run_state *st)
{
	static const int families[2] = { NETADDR_IPV4, NETADDR_IPV6 };
	struct stale_rule stale[RULE_LISTING_MAX];
	struct mark_walk in_use;
	bool asked = false;
	for (unsigned f = 0; f < 2; f++) {
		const struct rule_listing *l = f ? st->v6 : st->v4;
		unsigned n = rule_listing_stale(l, cfg, families[f], RULES_RT_PROTO, NULL, 0, stale, RULE_LISTING_MAX);
		char mark_text[16], table_text[16], proto_text[16], err[RULES_COMMAND_STDERR_MAX];
		if (n == 0)
			continue;
		if (!asked) {
			marks_in_use(cfg, &in_use);
			asked = true;
		}
		n = rule_listing_stale(l, cfg, families[f], RULES_RT_PROTO, in_use.marks, in_use.count, stale,
				       RULE_LISTING_MAX);
		snprintf(proto_text, sizeof(proto_text), "%d", RULES_RT_PROTO);
		for (unsigned i = 0; i < n; i++) {
			char *del[] = { "ip", f ? "-6" : "-4", "rule", "del", "fwmark", mark_text, "lookup", table_text,
					"protocol", proto_text, NULL };
			char *flush[] = { "ip", f ? "-6" : "-4", "route", "flush", "table", table_text, "proto",
					  proto_text, NULL };
			unsigned deleted = 0;
			snprintf(mark_text, sizeof(mark_text), "%u", stale[i].mark);
			snprintf(table_text, sizeof(table_text), "%u", stale[i].table);
			while (deleted < RULES_DELETE_REPEAT_MAX && rules_run_command(del, NULL, err, sizeof(err)) == 0)
				deleted++;
			if (deleted == 0) {
				fprintf(stderr, "%s: `ip rule del fwmark %s lookup %s` failed: %s\n", CTL_PROGRAM,
					mark_text, table_text, err);
				return EXIT_FAILED;
			}
			st->ran += deleted;
			if (stale[i].table_unused) {
				rules_run_command(flush, NULL, err, sizeof(err));
				st->ran++;
			}
			printf("%s: removed the %s rule of mark %s (table %s): no server of cluster %s has it%s\n",
			       CTL_PROGRAM, f ? "IPv6" : "IPv4", mark_text, table_text, cfg->name,
			       stale[i].table_unused ? ", nor its table (its routes went too)" : "");
		}
	}
	return 0;
}

/* Refuses nft when it cannot load a queue rule here (EXIT_NO_NFT_QUEUE). */
static int check_nft_queue(void)
{
	char *const check[] = { "nft", "-c", "-f", "-", NULL };
	char err[RULES_COMMAND_STDERR_MAX];
	int status = rules_run_command(check, rules_nft_baseline_script(), err, sizeof(err));
	if (status == 127 || status < 0) {
		fprintf(stderr, "%s: cannot run nft (%s); install nftables or use --iptables\n", CTL_PROGRAM,
			err[0] ? err : "not found");
		return EXIT_NO_NFT_QUEUE;
	}
	if (status != 0) {
		fprintf(stderr, "%s: nft cannot load a ruleset here (%s); use --iptables\n", CTL_PROGRAM, err);
		return EXIT_NO_NFT_QUEUE;
	}
	status = rules_run_command(check, rules_nft_probe_script(), err, sizeof(err));
	if (status != 0) {
		fprintf(stderr, "%s: this kernel has no nftables queue expression (CONFIG_NFT_QUEUE); use --iptables\n",
			CTL_PROGRAM);
		return EXIT_NO_NFT_QUEUE;
	}
	return 0;
}

/* The set as text on stdout. */
static int print_set(const struct rules_set *set)
{
	char *text = malloc(FORMAT_MAX);
	int status = EXIT_FAILED;
	size_t len;
	if (!text) {
		fprintf(stderr, "%s: out of memory\n", CTL_PROGRAM);
		return EXIT_FAILED;
	}
	len = rules_format(set, text, FORMAT_MAX);
	if (len == 0) {
		fprintf(stderr, "%s: the rule set does not fit the output buffer\n", CTL_PROGRAM);
	} else {
		fwrite(text, 1, len, stdout);
		status = fflush(stdout) == 0 ? 0 : EXIT_FAILED;
	}
	free(text);
	return status;
}

int rules_apply(const struct sara_config *cfg, const struct rules_options *opt)
{
	struct rules_set *set = calloc(1, sizeof(*set));
	const char *role = opt->role == RULES_GATEWAY ? "gateway" : "dispatcher";
	const char *backend = opt->backend == RULES_NFT ? "nft" : "iptables";
	struct run_state st = { 0 };
	char err[512];
	int status;

	if (!set) {
		fprintf(stderr, "%s: out of memory\n", CTL_PROGRAM);
		return EXIT_FAILED;
	}
	if (!rules_build(cfg, opt, set, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", CTL_PROGRAM, err);
		status = EXIT_USAGE;
		goto out_free_set;
	}
	if (opt->operation == RULES_PRINT) {
		status = print_set(set);
		goto out_free_set;
	}
	if (opt->operation == RULES_APPLY && opt->backend == RULES_NFT && (status = check_nft_queue()) != 0)
		goto out_free_set;
	if (opt->operation == RULES_APPLY && opt->role == RULES_DISPATCHER) {
		st.v4 = calloc(1, sizeof(*st.v4));
		st.v6 = calloc(1, sizeof(*st.v6));
		st.have_listing = st.v4 && st.v6 && read_listing(false, st.v4) && read_listing(true, st.v6);
	}
	status = run_set(set, &st);
	if (status == 0 && st.have_listing)
		status = prune(cfg, &st);
	if (status == 0 && opt->operation == RULES_APPLY)
		printf("%s: applied %s rules of cluster %s (%s): %u commands run, %u rules already present\n",
		       CTL_PROGRAM, role, cfg->name, backend, st.ran, st.present);
	else if (status == 0)
		printf("%s: removed %s rules of cluster %s (%s): %u commands run\n", CTL_PROGRAM, role, cfg->name,
		       backend, st.ran);
out_free_set:
	free(st.v4);
	free(st.v6);
	free(set);
	return status;
}
