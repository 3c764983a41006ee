/* sara_ctl.c - sara-ctl: prints, applies and removes a cluster's rule set,
 * writes the cluster key, and asks a running sarad (control socket) for its
 * status, servers and sessions, or to drain and undrain a server. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/clock.h"
#include "engine/config.h"
#include "io/config_file.h"
#include "io/control_commands.h"
#include <signal.h>
#include "sara-ctl/rules.h"
#include "engine/wire.h"
#include "io/key_file.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_NO_NFT_QUEUE 3
#define COMMAND_TIMEOUT_MS 30000     /* one iptables/ip/nft run */
#define COMMAND_STDERR_MAX 2048      /* what we keep of a failing command's stderr */
#define REPLY_TIMEOUT_MS 10000       /* sarad's whole answer to one command */
#define STATUS_MAX (4 * 1024 * 1024) /* largest status document read (sarad caps at 4 MiB) */
#define SESSIONS_MAX (32 * 1024 * 1024) /* largest session listing read (sarad caps at 32 MiB) */
#define REQUEST_MAX 256              /* one command line (sarad reads up to 255 bytes) */
#define SESSIONS_LIMIT_MAX_TEXT CONTROL_TEXT(CONTROL_SESSIONS_LIMIT_MAX)
#define JSON_DEPTH_MAX 32
#define JSON_PATH_MAX 512
#define FORMAT_MAX (RULES_POOL_SIZE * 2)

static const char *program = "sara-ctl";

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sara-ctl -c CLUSTER.cfg rules [--iptables|--nft] [--apply|--remove] [--dispatcher|--gateway]\n"
		"                                     [--queue N]\n"
		"       sara-ctl -c CLUSTER.cfg keygen\n");
	control_commands_print_synopsis(out, "       sara-ctl -c CLUSTER.cfg ", " [--json]");
	fprintf(out,
		"       sara-ctl -c CLUSTER.cfg --check-config\n"
		"  rules         print the netfilter and policy-routing commands (default: the\n"
		"                dispatcher's, iptables); --apply runs them idempotently,\n"
		"                --remove removes what --apply added\n"
		"    --nft         an nft script instead (table inet sara); --apply --nft refuses\n"
		"                  on kernels without the nftables queue expression\n"
		"    --gateway     the gateway's rule (sara-gw's queue) instead of the dispatcher's\n"
		"    --queue N     the gateway's queue (default queue.first + queue.count)\n"
		"  keygen        write a new random key to key_file (never overwrites)\n");
	control_commands_print_help(out);
	fprintf(out,
		"  -c, --config FILE   the cluster's configuration\n"
		"      --check-config  validate the configuration and exit\n"
		"Exit status: 0 done, 1 failed, 2 usage or configuration error, 3 no nft queue support.\n");
}

/* ---- running one command (no shell) ------------------------------------------ */

/* Runs argv with stdin_text (or /dev/null) on its standard input, standard
 * output discarded, standard error kept (truncated) in err_out. Returns the
 * exit status, 126 on a signal or timeout, -1 when it could not start. */
static int run_command(char *const argv[], const char *stdin_text, char *err_out, size_t err_size)
{
	int in_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
	size_t in_len = stdin_text ? strlen(stdin_text) : 0, in_done = 0, err_used = 0;
	uint64_t deadline = clock_ms(CLOCK_MONOTONIC) + COMMAND_TIMEOUT_MS;
	int status = -1, wstatus;
	bool timed_out = false;
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
	if (pid == 0) {
		int null_fd = open("/dev/null", O_WRONLY);
		dup2(in_pipe[0], STDIN_FILENO);
		dup2(err_pipe[1], STDERR_FILENO);
		if (null_fd >= 0)
			dup2(null_fd, STDOUT_FILENO);
		execvp(argv[0], argv);
		dprintf(STDERR_FILENO, "%s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(in_pipe[0]);
	close(err_pipe[1]);
	in_pipe[0] = err_pipe[1] = -1;
	if (in_len == 0) {
		close(in_pipe[1]);
		in_pipe[1] = -1;
	}
	/* Feed stdin and drain stderr together, so neither side blocks. */
	while (err_pipe[0] >= 0) {
		struct pollfd fds[2] = { { err_pipe[0], POLLIN, 0 }, { in_pipe[1], POLLOUT, 0 } };
		uint64_t t = clock_ms(CLOCK_MONOTONIC);
		int n;
		if (t >= deadline) {
			timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		n = poll(fds, in_pipe[1] >= 0 ? 2 : 1, (int)(deadline - t));
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (in_pipe[1] >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = write(in_pipe[1], stdin_text + in_done, in_len - in_done);
			if (w > 0)
				in_done += (size_t)w;
			if (w < 0 || in_done == in_len) {
				close(in_pipe[1]);
				in_pipe[1] = -1;
			}
		}
		if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
			char chunk[512];
			ssize_t r = read(err_pipe[0], chunk, sizeof(chunk));
			if (r <= 0) {
				close(err_pipe[0]);
				err_pipe[0] = -1;
				break;
			}
			if (err_size > 1 && err_used < err_size - 1) {
				size_t keep = (size_t)r < err_size - 1 - err_used ? (size_t)r : err_size - 1 - err_used;
				memcpy(err_out + err_used, chunk, keep);
				err_used += keep;
				err_out[err_used] = '\0';
			}
		}
	}
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		status = 126;
	else if (WIFEXITED(wstatus))
		status = WEXITSTATUS(wstatus);
	else
		status = 126;
	/* One line is enough in a report: drop the trailing newline. */
	while (err_used > 0 && (err_out[err_used - 1] == '\n' || err_out[err_used - 1] == '\r'))
		err_out[--err_used] = '\0';
out_close:
	for (int i = 0; i < 2; i++) {
		if (in_pipe[i] >= 0)
			close(in_pipe[i]);
		if (err_pipe[i] >= 0)
			close(err_pipe[i]);
	}
	return status;
}

static int run_rules_command(const struct rules_command *cmd, char *err_out, size_t err_size)
{
	return run_command((char *const *)cmd->argv, cmd->stdin_text, err_out, err_size);
}

static void report_failure(const struct rules_command *cmd, int status, const char *stderr_text)
{
	char line[8192];
	if (!rules_format_command(cmd, line, sizeof(line)))
		snprintf(line, sizeof(line), "%s ...", cmd->argv[0]);
	fprintf(stderr, "%s: `%s` failed (exit %d)%s%s\n", program, line, status, stderr_text[0] ? ": " : "",
		stderr_text);
}

/* Runs an APPLY or REMOVE set. Returns 0 or EXIT_FAILED. */
static int run_set(const struct rules_set *set, unsigned *ran, unsigned *present)
{
	char err[COMMAND_STDERR_MAX];
	*ran = *present = 0;
	for (unsigned i = 0; i < set->count; i++) {
		const struct rules_command *cmd = &set->commands[i];
		int status;
		switch (cmd->step) {
		case RULES_COMMENT:
		case RULES_TEXT:
			break;
		case RULES_MUST:
			status = run_rules_command(cmd, err, sizeof(err));
			(*ran)++;
			if (status != 0) {
				report_failure(cmd, status, err);
				return EXIT_FAILED;
			}
			break;
		case RULES_MAY_FAIL:
			run_rules_command(cmd, err, sizeof(err));
			(*ran)++;
			break;
		case RULES_SKIP_NEXT_IF_OK:
			status = run_rules_command(cmd, err, sizeof(err));
			if (status == 0 && i + 1 < set->count) {
				(*present)++;
				i++;
			} else if (status == 127 || status < 0) {
				report_failure(cmd, status, err);
				return EXIT_FAILED;
			}
			break;
		case RULES_REPEAT_UNTIL_FAIL: {
			unsigned n = 0;
			while (n < RULES_DELETE_REPEAT_MAX && run_rules_command(cmd, err, sizeof(err)) == 0)
				n++;
			*ran += n;
			if (n == RULES_DELETE_REPEAT_MAX) {
				report_failure(cmd, 0, "still succeeding after the maximum number of deletions");
				return EXIT_FAILED;
			}
			break;
		}
		}
	}
	return 0;
}

/* ---- rules --------------------------------------------------------------------- */

/* Refuses nft when it cannot load a queue rule here (exit EXIT_NO_NFT_QUEUE). */
static int check_nft_queue(void)
{
	char *const check[] = { "nft", "-c", "-f", "-", NULL };
	char err[COMMAND_STDERR_MAX];
	int status = run_command(check, rules_nft_baseline_script(), err, sizeof(err));
	if (status == 127 || status < 0) {
		fprintf(stderr, "%s: cannot run nft (%s); install nftables or use --iptables\n", program,
			err[0] ? err : "not found");
		return EXIT_NO_NFT_QUEUE;
	}
	if (status != 0) {
		fprintf(stderr, "%s: nft cannot load a ruleset here (%s); use --iptables\n", program, err);
		return EXIT_NO_NFT_QUEUE;
	}
	status = run_command(check, rules_nft_probe_script(), err, sizeof(err));
	if (status != 0) {
		fprintf(stderr, "%s: this kernel has no nftables queue expression (CONFIG_NFT_QUEUE); use --iptables\n",
			program);
		return EXIT_NO_NFT_QUEUE;
	}
	return 0;
}

static int cmd_rules(const struct sara_config *cfg, const struct rules_options *opt)
{
	struct rules_set *set = calloc(1, sizeof(*set));
	char err[512], *text = NULL;
	unsigned ran = 0, present = 0;
	int status = EXIT_FAILED;

	if (!set) {
		fprintf(stderr, "%s: out of memory\n", program);
		return EXIT_FAILED;
	}
	if (!rules_build(cfg, opt, set, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", program, err);
		status = EXIT_USAGE;
		goto out_free_set;
	}
	if (opt->operation == RULES_PRINT) {
		size_t len;
		text = malloc(FORMAT_MAX);
		if (!text) {
			fprintf(stderr, "%s: out of memory\n", program);
			goto out_free_set;
		}
		len = rules_format(set, text, FORMAT_MAX);
		if (len == 0) {
			fprintf(stderr, "%s: the rule set does not fit the output buffer\n", program);
			goto out_free_text;
		}
		fwrite(text, 1, len, stdout);
		status = fflush(stdout) == 0 ? 0 : EXIT_FAILED;
		goto out_free_text;
	}
	if (opt->operation == RULES_APPLY && opt->backend == RULES_NFT) {
		status = check_nft_queue();
		if (status != 0)
			goto out_free_set;
		status = EXIT_FAILED;
	}
	status = run_set(set, &ran, &present);
	if (status == 0 && opt->operation == RULES_APPLY)
		printf("%s: applied %s rules of cluster %s (%s): %u commands run, %u rules already present\n", program,
		       opt->role == RULES_GATEWAY ? "gateway" : "dispatcher", cfg->name,
		       opt->backend == RULES_NFT ? "nft" : "iptables", ran, present);
	else if (status == 0)
		printf("%s: removed %s rules of cluster %s (%s): %u commands run\n", program,
		       opt->role == RULES_GATEWAY ? "gateway" : "dispatcher", cfg->name,
		       opt->backend == RULES_NFT ? "nft" : "iptables", ran);
out_free_text:
	free(text);
out_free_set:
	free(set);
	return status;
}

/* ---- keygen --------------------------------------------------------------------- */

static int cmd_keygen(const struct sara_config *cfg)
{
	char err[512], dir[SARA_PATH_MAX];
	char *slash;
	struct stat st;

	if (lstat(cfg->key_file, &st) == 0) {
		fprintf(stderr, "%s: %s exists; refusing to overwrite a key (delete it first to rotate)\n", program,
			cfg->key_file);
		return EXIT_FAILED;
	}
	/* Create the key's directory (one level, e.g. /etc/sara) when missing. */
	snprintf(dir, sizeof(dir), "%s", cfg->key_file);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (stat(dir, &st) != 0 && mkdir(dir, 0700) != 0) {
			fprintf(stderr, "%s: cannot create %s: %s\n", program, dir, strerror(errno));
			return EXIT_FAILED;
		}
	}
	if (!key_file_generate(cfg->key_file, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", program, err);
		return EXIT_FAILED;
	}
	printf("%s: wrote a new key to %s (mode 0600); copy it to every sara-gw and sara-agent host\n", program,
	       cfg->key_file);
	return 0;
}

/* ---- talking to sarad ------------------------------------------------------------ */

/* A minimal JSON walk: calls scalar for every string, number and literal
 * with its path (objects as dotted paths, arrays as [i]). Bounded by end
 * and JSON_DEPTH_MAX; returns the position after the value, or NULL on
 * malformed input. */
struct json_walk {
	const char *end;
	char path[JSON_PATH_MAX];
	/* text is a string's inside (still escaped) when string is true. */
	void (*scalar)(struct json_walk *w, const char *text, size_t len, bool string);
	void *ctx;
};

static const char *json_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* Returns the position after the closing quote of the string starting at p. */
static const char *json_string_end(const char *p, const char *end)
{
	if (p >= end || *p != '"')
		return NULL;
	for (p++; p < end; p++) {
		if (*p == '\\') {
			p++;
			continue;
		}
		if (*p == '"')
			return p + 1;
	}
	return NULL;
}

static const char *json_value(struct json_walk *w, const char *p, unsigned depth);

static const char *json_members(struct json_walk *w, const char *p, unsigned depth, bool array)
{
	size_t base = strlen(w->path);
	unsigned index = 0;
	p = json_space(p + 1, w->end);
	if (p < w->end && *p == (array ? ']' : '}'))
		return p + 1;
	while (p < w->end) {
		if (array) {
			snprintf(w->path + base, sizeof(w->path) - base, "[%u]", index++);
		} else {
			const char *key_end = json_string_end(p, w->end);
			if (!key_end)
				return NULL;
			snprintf(w->path + base, sizeof(w->path) - base, "%s%.*s", base ? "." : "",
				 (int)(key_end - p - 2), p + 1);
			p = json_space(key_end, w->end);
			if (p >= w->end || *p != ':')
				return NULL;
			p = json_space(p + 1, w->end);
		}
		p = json_value(w, p, depth + 1);
		w->path[base] = '\0';
		if (!p)
			return NULL;
		p = json_space(p, w->end);
		if (p < w->end && *p == ',') {
			p = json_space(p + 1, w->end);
			continue;
		}
		if (p < w->end && *p == (array ? ']' : '}'))
			return p + 1;
		return NULL;
	}
	return NULL;
}

static const char *json_value(struct json_walk *w, const char *p, unsigned depth)
{
	const char *start = p, *q;
	if (depth > JSON_DEPTH_MAX || p >= w->end)
		return NULL;
	if (*p == '{' || *p == '[')
		return json_members(w, p, depth, *p == '[');
	if (*p == '"') {
		q = json_string_end(p, w->end);
		if (q)
			w->scalar(w, start + 1, (size_t)(q - 1 - (start + 1)), true);
		return q;
	}
	for (q = p; q < w->end && !strchr(",]} \t\r\n", *q); q++)
		;
	if (q == p)
		return NULL;
	w->scalar(w, start, (size_t)(q - start), false);
	return q;
}

/* Walks a whole document, which must be one object; false when malformed. */
static bool json_walk_document(const char *doc, size_t len,
			       void (*scalar)(struct json_walk *w, const char *text, size_t len, bool string), void *ctx)
{
	struct json_walk w;
	const char *p;
	memset(&w, 0, sizeof(w));
	w.end = doc + len;
	w.scalar = scalar;
	w.ctx = ctx;
	p = json_space(doc, w.end);
	if (p >= w.end || *p != '{')
		return false;
	p = json_value(&w, p, 0);
	return p && json_space(p, w.end) == w.end;
}

/* For a terminal: a string value with its escapes undone (\u00XX is the
 * byte XX, as sarad writes bytes outside printable ASCII), then every byte
 * outside printable ASCII (controls, escape sequences) shown as '?'. */
static void json_text(const char *p, size_t len, char *out, size_t size)
{
	static const char escapes[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	size_t used = 0;
	if (size == 0)
		return;
	for (size_t i = 0; i < len && used + 1 < size; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\\' && i + 1 < len) {
			const char *e;
			i++;
			if (p[i] == 'u' && i + 4 < len) {
				char hex[5] = { p[i + 1], p[i + 2], p[i + 3], p[i + 4], '\0' };
				unsigned long code = strtoul(hex, NULL, 16);
				c = code < 0x100 ? (unsigned char)code : '?';
				i += 4;
			} else {
				for (e = escapes; *e && *e != p[i]; e += 2)
					;
				c = *e ? (unsigned char)e[1] : (unsigned char)p[i];
			}
		}
		out[used++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[used] = '\0';
}

/* Connects to sarad's control socket, sends request (one line), reads the
 * answer to EOF (at most max bytes) into *doc_out (malloc'd, NUL-terminated). */
static int ask_sarad(const struct sara_config *cfg, const char *request, size_t max, char **doc_out,
		     size_t *len_out)
{
	struct sockaddr_un addr;
	uint64_t deadline;
	size_t len = 0, cap = 0, request_len = strlen(request);
	char *doc = NULL;
	int fd, status = EXIT_FAILED;

	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	if (strlen(cfg->control.socket) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "%s: control socket path too long: %s\n", program, cfg->control.socket);
		return EXIT_USAGE;
	}
	memcpy(addr.sun_path, cfg->control.socket, strlen(cfg->control.socket) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "%s: socket: %s\n", program, strerror(errno));
		return EXIT_FAILED;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			fprintf(stderr, "%s: sarad is not running for cluster %s (nothing listens on %s: %s)\n", program,
				cfg->name, cfg->control.socket, strerror(errno));
		else
			fprintf(stderr, "%s: cannot connect to %s: %s\n", program, cfg->control.socket, strerror(errno));
		goto out_close;
	}
	if (send(fd, request, request_len, MSG_NOSIGNAL) != (ssize_t)request_len) {
		fprintf(stderr, "%s: sending to %s: %s\n", program, cfg->control.socket, strerror(errno));
		goto out_close;
	}
	deadline = clock_ms(CLOCK_MONOTONIC) + REPLY_TIMEOUT_MS;
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		uint64_t t = clock_ms(CLOCK_MONOTONIC);
		ssize_t r;
		if (t >= deadline || poll(&pfd, 1, (int)(deadline - t)) == 0) {
			fprintf(stderr, "%s: sarad did not finish its answer within %d ms\n", program,
				REPLY_TIMEOUT_MS);
			goto out_free_doc;
		}
		if (len == max) {
			fprintf(stderr, "%s: sarad's answer is larger than %zu bytes\n", program, max);
			goto out_free_doc;
		}
		if (len == cap) {
			/* Grow as the answer comes: most are a few KiB. */
			size_t fresh_cap = cap ? cap * 2 : 64 * 1024;
			char *fresh;
			if (fresh_cap > max)
				fresh_cap = max;
			fresh = realloc(doc, fresh_cap + 1);
			if (!fresh) {
				fprintf(stderr, "%s: out of memory\n", program);
				goto out_free_doc;
			}
			doc = fresh;
			cap = fresh_cap;
		}
		r = read(fd, doc + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "%s: reading from %s: %s\n", program, cfg->control.socket, strerror(errno));
			goto out_free_doc;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len == 0) {
		fprintf(stderr, "%s: sarad closed the control connection without an answer\n", program);
		goto out_free_doc;
	}
	doc[len] = '\0';
	*doc_out = doc;
	*len_out = len;
	doc = NULL;
	status = 0;
out_free_doc:
	free(doc);
out_close:
	close(fd);
	return status;
}

static void print_raw(const char *doc, size_t len)
{
	fwrite(doc, 1, len, stdout);
	if (doc[len - 1] != '\n')
		putchar('\n');
}

/* ---- status --------------------------------------------------------------------- */

/* "path: text" with the common escapes undone (\uXXXX is left as written). */
static void status_scalar(struct json_walk *w, const char *p, size_t len, bool string)
{
	static const char escapes[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	const char *end = p + len;
	if (!string) {
		printf("%s: %.*s\n", w->path, (int)len, p);
		return;
	}
	printf("%s: ", w->path);
	for (; p < end; p++) {
		const char *e;
		if (*p != '\\' || p + 1 == end) {
			putchar(*p);
			continue;
		}
		for (e = escapes; *e && *e != p[1]; e += 2)
			;
		if (*e) {
			putchar(e[1]);
			p++;
		} else {
			putchar(*p);
		}
	}
	putchar('\n');
}

static int cmd_status(const struct sara_config *cfg, bool json)
{
	char *doc = NULL;
	size_t len = 0;
	int status = ask_sarad(cfg, "status\n", STATUS_MAX, &doc, &len);

	if (status != 0)
		return status;
	if (json) {
		print_raw(doc, len);
		goto out;
	}
	if (!json_walk_document(doc, len, status_scalar, NULL)) {
		fflush(stdout);
		fprintf(stderr, "%s: sarad's status is not the JSON object expected; as received:\n", program);
		print_raw(doc, len);
		status = EXIT_FAILED;
	}
out:
	free(doc);
	return status;
}

/* ---- servers, sessions, drain, undrain ------------------------------------------ */

#define TABLE_COLUMNS_MAX 16
#define CELL_MAX 192            /* a session key (127 bytes) and then some */
#define TOP_FIELDS_MAX 16
#define TOP_VALUE_MAX 4608      /* an error message listing every server id */

/* One column of a text table: the JSON member it shows and how. */
enum cell_format { CELL_TEXT, CELL_YES_NO, CELL_SECONDS, CELL_FIXED2 };
struct table_column {
	const char *member, *header;
	enum cell_format format;
};

static const struct table_column server_columns[] = {
	{ "id", "ID", CELL_TEXT },
	{ "address", "ADDRESS", CELL_TEXT },
	{ "mark", "MARK", CELL_TEXT },
	{ "table", "TABLE", CELL_TEXT },
	{ "weight", "WEIGHT", CELL_FIXED2 },
	{ "weight_factor", "FACTOR", CELL_FIXED2 },
	{ "available", "AVAILABLE", CELL_YES_NO },
	{ "drained", "DRAINED", CELL_YES_NO },
	{ "state", "HEALTH", CELL_TEXT },
	{ "cause", "CAUSE", CELL_TEXT },
	{ "last_heartbeat_age_ms", "HEARTBEAT", CELL_SECONDS },
	{ "sessions", "SESSIONS", CELL_TEXT },
	{ "load_estimate", "LOAD", CELL_FIXED2 },
};

static const struct table_column session_columns[] = {
	{ "serial", "SERIAL", CELL_TEXT },
	{ "proto", "PROTO", CELL_TEXT },
	{ "server", "SERVER", CELL_TEXT },
	{ "flows", "FLOWS", CELL_TEXT },
	{ "confirmed", "CONFIRMED", CELL_YES_NO },
	{ "ending", "ENDING", CELL_YES_NO },
	{ "age_ms", "AGE", CELL_SECONDS },
	{ "idle_ms", "IDLE", CELL_SECONDS },
	{ "key", "KEY", CELL_TEXT },
};

/* A reply read twice: once to measure the columns, once to print. Top-level
 * scalars (error, counts...) are kept by name. */
struct reply_table {
	const char *array;                 /* "servers", "sessions" */
	const struct table_column *columns;
	unsigned column_count;
	bool printing;
	long row;                          /* index of the row being gathered, -1: none */
	unsigned rows;
	char cells[TABLE_COLUMNS_MAX][CELL_MAX];
	size_t widths[TABLE_COLUMNS_MAX];
	unsigned top_count;
	struct { char name[32]; char value[TOP_VALUE_MAX]; bool string; } top[TOP_FIELDS_MAX];
};

static void cell_format(const struct table_column *col, const char *p, size_t len, bool string, char *out,
			size_t size)
{
	char text[CELL_MAX];
	json_text(p, len, text, sizeof(text));
	if (!string && strcmp(text, "null") == 0) {
		snprintf(out, size, "-");
		return;
	}
	switch (col->format) {
	case CELL_YES_NO:
		snprintf(out, size, "%s", strcmp(text, "true") == 0 ? "yes" : strcmp(text, "false") == 0 ? "no" : text);
		return;
	case CELL_SECONDS:
		snprintf(out, size, "%.1fs", strtod(text, NULL) / 1000.0);
		return;
	case CELL_FIXED2:
		snprintf(out, size, "%.2f", strtod(text, NULL));
		return;
	case CELL_TEXT:
		break;
	}
	snprintf(out, size, "%s", text);
}

static void table_line(struct reply_table *t, const char *const *cells)
{
	for (unsigned c = 0; c < t->column_count; c++) {
		bool last = c + 1 == t->column_count;
		if (!t->printing) {
			size_t n = strlen(cells[c]);
			if (n > t->widths[c])
				t->widths[c] = n;
		} else if (last) {
			printf("%s\n", cells[c]);
		} else {
			printf("%-*s  ", (int)t->widths[c], cells[c]);
		}
	}
}

static void table_flush_row(struct reply_table *t)
{
	const char *cells[TABLE_COLUMNS_MAX];
	if (t->row < 0)
		return;
	for (unsigned c = 0; c < t->column_count; c++)
		cells[c] = t->cells[c][0] ? t->cells[c] : "-";
	table_line(t, cells);
	memset(t->cells, 0, sizeof(t->cells));
	t->row = -1;
	t->rows++;
}

static void table_scalar(struct json_walk *w, const char *p, size_t len, bool string)
{
	struct reply_table *t = w->ctx;
	size_t array_len = strlen(t->array);
	const char *member;
	char *after;
	unsigned long index;

	if (!strchr(w->path, '.') && !strchr(w->path, '[')) {
		/* A top-level member: kept (first pass) for the summary and errors. */
		size_t name_len = strlen(w->path);
		if (t->printing || t->top_count == TOP_FIELDS_MAX || name_len >= sizeof(t->top[0].name))
			return;
		memcpy(t->top[t->top_count].name, w->path, name_len + 1);
		json_text(p, len, t->top[t->top_count].value, sizeof(t->top[0].value));
		t->top[t->top_count++].string = string;
		return;
	}
	if (strncmp(w->path, t->array, array_len) != 0 || w->path[array_len] != '[')
		return;
	index = strtoul(w->path + array_len + 1, &after, 10);
	if (after[0] != ']' || after[1] != '.')
		return;
	member = after + 2;
	if ((long)index != t->row) {
		table_flush_row(t);
		t->row = (long)index;
	}
	for (unsigned c = 0; c < t->column_count; c++)
		if (strcmp(t->columns[c].member, member) == 0)
			cell_format(&t->columns[c], p, len, string, t->cells[c], sizeof(t->cells[c]));
}

/* A top-level member's text, or NULL. */
static const char *reply_member(const struct reply_table *t, const char *name)
{
	for (unsigned i = 0; i < t->top_count; i++)
		if (strcmp(t->top[i].name, name) == 0)
			return t->top[i].value;
	return NULL;
}

static const char *member_or(const struct reply_table *t, const char *name)
{
	const char *value = reply_member(t, name);
	return value ? value : "?";
}

/* Asks sarad, prints the reply (raw with --json, else a table of array's
 * rows, when there is an array), and reports an error reply on stderr. The
 * caller prints what follows the table from *table_out (freed by it). */
static int ask_table(const struct sara_config *cfg, const char *request, size_t max, bool json, const char *array,
		     const struct table_column *columns, unsigned column_count, struct reply_table **table_out)
{
	struct reply_table *t = calloc(1, sizeof(*t));
	const char *error;
	char *doc = NULL;
	size_t len = 0;
	int status;

	*table_out = NULL;
	if (!t) {
		fprintf(stderr, "%s: out of memory\n", program);
		return EXIT_FAILED;
	}
	status = ask_sarad(cfg, request, max, &doc, &len);
	if (status != 0)
		goto out;
	t->array = array;
	t->columns = columns;
	t->column_count = column_count;
	t->row = -1;
	if (!json_walk_document(doc, len, table_scalar, t)) {
		fprintf(stderr, "%s: sarad's answer is not the JSON object expected; as received:\n", program);
		print_raw(doc, len);
		status = EXIT_FAILED;
		goto out;
	}
	table_flush_row(t);
	error = reply_member(t, "error");
	if (json)
		print_raw(doc, len);
	if (error) {
		fflush(stdout);
		fprintf(stderr, "%s: sarad: %s\n", program, error);
		status = EXIT_FAILED;
		goto out;
	}
	if (!json && column_count) {
		const char *headers[TABLE_COLUMNS_MAX];
		for (unsigned c = 0; c < column_count; c++)
			headers[c] = columns[c].header;
		t->printing = false;
		table_line(t, headers);
		t->printing = true;
		t->rows = 0;
		table_line(t, headers);
		if (!json_walk_document(doc, len, table_scalar, t))
			status = EXIT_FAILED;
		table_flush_row(t);
	}
	*table_out = t;
	t = NULL;
out:
	free(t);
	free(doc);
	return status;
}

static int cmd_servers(const struct sara_config *cfg, bool json)
{
	struct reply_table *t;
	int status = ask_table(cfg, "servers\n", STATUS_MAX, json, "servers", server_columns,
			       sizeof(server_columns) / sizeof(server_columns[0]), &t);
	free(t);
	return status;
}

static int cmd_sessions(const struct sara_config *cfg, const char *server, const char *limit, bool json)
{
	char request[REQUEST_MAX];
	const char *matched, *truncated_by;
	struct reply_table *t;
	int status;

	snprintf(request, sizeof(request), "sessions%s%s%s%s\n", server ? " --server " : "", server ? server : "",
		 limit ? " --limit " : "", limit ? limit : "");
	status = ask_table(cfg, request, SESSIONS_MAX, json, "sessions", session_columns,
			   sizeof(session_columns) / sizeof(session_columns[0]), &t);
	if (status != 0 || json)
		goto out;
	matched = reply_member(t, "matched");
	truncated_by = reply_member(t, "truncated_by");
	printf("%s of %s sessions%s%s listed (%s in the table)\n", member_or(t, "listed"), matched ? matched : "?",
	       server ? " of server " : "", server ? server : "", member_or(t, "total"));
	fflush(stdout);
	if (truncated_by && strcmp(truncated_by, "size") == 0)
		fprintf(stderr, "%s: the listing stopped at sarad's size cap; narrow it with --server ID\n", program);
	else if (truncated_by)
		fprintf(stderr, "%s: the listing stopped at --limit %s (at most %s; --server ID narrows it)\n", program,
			member_or(t, "limit"), SESSIONS_LIMIT_MAX_TEXT);
out:
	free(t);
	return status;
}

static int cmd_drain(const struct sara_config *cfg, const char *server, bool drain, bool json)
{
	char request[REQUEST_MAX];
	struct reply_table *t;
	int status;

	snprintf(request, sizeof(request), "%s %s\n", drain ? "drain" : "undrain", server);
	status = ask_table(cfg, request, STATUS_MAX, json, "", NULL, 0, &t);
	if (status != 0 || json)
		goto out;
	if (reply_member(t, "drained") && strcmp(reply_member(t, "drained"), "true") == 0)
		printf("server %s drained: no new sessions; its %s current sessions stay\n", server,
		       member_or(t, "sessions"));
	else
		printf("server %s undrained: takes new sessions (%s current)\n", server, member_or(t, "sessions"));
out:
	free(t);
	return status;
}

/* A server id or number on sarad's command line: one word, printable. */
static bool plain_word(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 0x7f)
			return false;
	return true;
}

/* ---- main ------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	enum { OPT_IPTABLES = 256, OPT_NFT, OPT_APPLY, OPT_REMOVE, OPT_DISPATCHER, OPT_GATEWAY, OPT_QUEUE,
	       OPT_JSON, OPT_CHECK_CONFIG, OPT_SERVER, OPT_LIMIT };
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "iptables", no_argument, NULL, OPT_IPTABLES },
		{ "nft", no_argument, NULL, OPT_NFT },
		{ "apply", no_argument, NULL, OPT_APPLY },
		{ "remove", no_argument, NULL, OPT_REMOVE },
		{ "dispatcher", no_argument, NULL, OPT_DISPATCHER },
		{ "gateway", no_argument, NULL, OPT_GATEWAY },
		{ "queue", required_argument, NULL, OPT_QUEUE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rules_options ropt = { RULES_IPTABLES, RULES_DISPATCHER, RULES_PRINT, -1 };
	struct sara_config *cfg = NULL;
	const char *config_path = NULL, *command = NULL, *server = NULL, *limit = NULL, *operand = NULL;
	const struct control_command *ask = NULL;
	bool check_config = false, json = false, rules_flags = false, backend_set = false, role_set = false,
	     operation_set = false;
	char err[512];
	int opt, status = EXIT_USAGE;

	/* A command that exits before reading its stdin must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case OPT_IPTABLES:
		case OPT_NFT:
			if (backend_set)
				goto usage_error;
			backend_set = rules_flags = true;
			ropt.backend = opt == OPT_NFT ? RULES_NFT : RULES_IPTABLES;
			break;
		case OPT_APPLY:
		case OPT_REMOVE:
			if (operation_set)
				goto usage_error;
			operation_set = rules_flags = true;
			ropt.operation = opt == OPT_APPLY ? RULES_APPLY : RULES_REMOVE;
			break;
		case OPT_DISPATCHER:
		case OPT_GATEWAY:
			if (role_set)
				goto usage_error;
			role_set = rules_flags = true;
			ropt.role = opt == OPT_GATEWAY ? RULES_GATEWAY : RULES_DISPATCHER;
			break;
		case OPT_QUEUE: {
			char *end;
			long q;
			errno = 0;
			q = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || q < 0 || q > 65535) {
				fprintf(stderr, "%s: --queue %s: not a queue number (0-65535)\n", program, optarg);
				return EXIT_USAGE;
			}
			ropt.gateway_queue = (int)q;
			rules_flags = true;
			break;
		}
		case OPT_JSON: json = true; break;
		case OPT_SERVER:
			if (!plain_word(optarg, SARA_ID_MAX - 1)) {
				fprintf(stderr, "%s: --server %s: not a server id\n", program, optarg);
				return EXIT_USAGE;
			}
			server = optarg;
			break;
		case OPT_LIMIT:
			if (!plain_word(optarg, strlen(SESSIONS_LIMIT_MAX_TEXT)) ||
			    strspn(optarg, "0123456789") != strlen(optarg) || atol(optarg) > atol(SESSIONS_LIMIT_MAX_TEXT)) {
				fprintf(stderr, "%s: --limit %s: not a number 0-%s\n", program, optarg,
					SESSIONS_LIMIT_MAX_TEXT);
				return EXIT_USAGE;
			}
			limit = optarg;
			break;
		case OPT_CHECK_CONFIG: check_config = true; break;
		case 'h': usage(stdout); return 0;
		default: goto usage_error;
		}
	}
	if (optind < argc)
		command = argv[optind++];
	ask = command ? control_command_find(command) : NULL;
	if (ask && !ask->in_sara_ctl)
		ask = NULL;
	/* drain and undrain take the server's id. */
	if (ask && ask->operand) {
		if (optind == argc)
			goto usage_error;
		operand = argv[optind++];
		if (!plain_word(operand, SARA_ID_MAX - 1)) {
			fprintf(stderr, "%s: %s %s: not a server id\n", program, command, operand);
			return EXIT_USAGE;
		}
	}
	if (optind < argc || !config_path || (!command && !check_config))
		goto usage_error;
	if (command && strcmp(command, "rules") != 0 && strcmp(command, "keygen") != 0 && !ask) {
		fprintf(stderr, "%s: unknown command '%s'\n", program, command);
		goto usage_error;
	}
	if ((rules_flags && (!command || strcmp(command, "rules") != 0)) || (json && !ask) ||
	    (server && (!ask || control_command_option(ask, "--server") < 0)) ||
	    (limit && (!ask || control_command_option(ask, "--limit") < 0)) ||
	    (ropt.gateway_queue >= 0 && ropt.role != RULES_GATEWAY))
		goto usage_error;

	cfg = malloc(sizeof(*cfg));
	if (!cfg) {
		fprintf(stderr, "%s: out of memory\n", program);
		return EXIT_FAILED;
	}
	if (!sara_config_load(config_path, cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (check_config) {
		printf("%s: ok (%u VIPs, %u servers, selection %s)\n", config_path, cfg->vip_count, cfg->server_count,
		       selection_algorithm_name(cfg->selection.algorithm));
		if (!command) {
			status = 0;
			goto out;
		}
	}
	if (strcmp(command, "rules") == 0)
		status = cmd_rules(cfg, &ropt);
	else if (strcmp(command, "keygen") == 0)
		status = cmd_keygen(cfg);
	else if (ask->id == CONTROL_SERVERS)
		status = cmd_servers(cfg, json);
	else if (ask->id == CONTROL_SESSIONS)
		status = cmd_sessions(cfg, server, limit, json);
	else if (ask->id == CONTROL_DRAIN || ask->id == CONTROL_UNDRAIN)
		status = cmd_drain(cfg, operand, ask->id == CONTROL_DRAIN, json);
	else
		status = cmd_status(cfg, json);
out:
	free(cfg);
	return status;

usage_error:
	usage(stderr);
	return EXIT_USAGE;
}
