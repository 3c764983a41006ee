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
#include "sara-ctl/ctl.h"

#define FORMAT_MAX (RULES_POOL_SIZE * 2)
#define REPORT_LINE_MAX 8192

/* ---- one command, no shell ---- */

/* The child: stdin from in_fd, stderr to err_fd, stdout to /dev/null. */
static void child_exec(char *const argv[], int in_fd, int err_fd)
{
	int null_fd = open("/dev/null", O_WRONLY);
	dup2(in_fd, STDIN_FILENO);
	dup2(err_fd, STDERR_FILENO);
	if (null_fd >= 0)
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

int rules_run_command(char *const argv[], const char *stdin_text, char *err_out, size_t err_size)
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
		child_exec(argv, in_pipe[0], err_pipe[1]);
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

/* ---- a rule set ---- */

static int run_rules_command(const struct rules_command *cmd, char *err_out, size_t err_size)
{
	return rules_run_command((char *const *)cmd->argv, cmd->stdin_text, err_out, err_size);
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
static int run_step(const struct rules_set *set, unsigned *i, unsigned *ran, unsigned *present)
{
	const struct rules_command *cmd = &set->commands[*i];
	char err[RULES_COMMAND_STDERR_MAX];
	unsigned n = 0;
	int status;
	switch (cmd->step) {
	case RULES_COMMENT:
	case RULES_TEXT:
		return 0;
	case RULES_MUST:
		status = run_rules_command(cmd, err, sizeof(err));
		(*ran)++;
		if (status != 0) {
			report_failure(cmd, status, err);
			return EXIT_FAILED;
		}
		return 0;
	case RULES_MAY_FAIL:
		run_rules_command(cmd, err, sizeof(err));
		(*ran)++;
		return 0;
	case RULES_SKIP_NEXT_IF_OK:
		status = run_rules_command(cmd, err, sizeof(err));
		if (status == 0 && *i + 1 < set->count) {
			(*present)++;
			(*i)++;
		} else if (status == 127 || status < 0) {
			report_failure(cmd, status, err);
			return EXIT_FAILED;
		}
		return 0;
	case RULES_REPEAT_UNTIL_FAIL:
		while (n < RULES_DELETE_REPEAT_MAX && run_rules_command(cmd, err, sizeof(err)) == 0)
			n++;
		*ran += n;
		if (n == RULES_DELETE_REPEAT_MAX) {
			report_failure(cmd, 0, "still succeeding after the maximum number of deletions");
			return EXIT_FAILED;
		}
		return 0;
	}
	return 0;
}

/* Runs an APPLY or REMOVE set. Returns 0 or EXIT_FAILED. */
static int run_set(const struct rules_set *set, unsigned *ran, unsigned *present)
{
	*ran = *present = 0;
	for (unsigned i = 0; i < set->count; i++)
		if (run_step(set, &i, ran, present) != 0)
			return EXIT_FAILED;
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
	unsigned ran = 0, present = 0;
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
	status = run_set(set, &ran, &present);
	if (status == 0 && opt->operation == RULES_APPLY)
		printf("%s: applied %s rules of cluster %s (%s): %u commands run, %u rules already present\n",
		       CTL_PROGRAM, role, cfg->name, backend, ran, present);
	else if (status == 0)
		printf("%s: removed %s rules of cluster %s (%s): %u commands run\n", CTL_PROGRAM, role, cfg->name,
		       backend, ran);
out_free_set:
	free(set);
	return status;
}
