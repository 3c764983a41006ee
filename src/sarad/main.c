/* main.c - sarad, the dispatcher daemon: options, the configuration, and
 * the daemon's start, run and stop (the parts and their wiring are in
 * daemon.c; what the dispatcher does, in the modules beside it). */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "io/clock.h"
#include "io/config_file.h"
#include "io/log.h"
#include "io/program_options.h"
#include "io/service_notify.h"
#include "sarad/daemon.h"
#include "io/daemon.h"
#include "io/version.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sarad -c CLUSTER.cfg [--foreground] [--check-config]\n"
		"       sarad --version\n"
		"  -c, --config FILE   the cluster configuration\n"
		"  -f, --foreground    stay in the foreground and log to stderr (else syslog)\n"
		"      --check-config  validate the configuration and exit (0 ok, 2 errors)\n"
		"      --version       print the version and exit\n"
		"sarad serves queue.first..first+count-1; with count > 1 each queue has a thread\n"
		"and the rules spread packets over them (iptables --queue-balance).\n");
}

/* --foreground, sarad's one option of its own. */
static bool take_option(void *ctx, int opt, const char *arg)
{
	bool *foreground = ctx;
	(void)arg;
	if (opt != 'f')
		return false;
	*foreground = true;
	return true;
}

/* From start-up to exit, once the configuration is loaded. */
static int serve(struct daemon *d, bool foreground)
{
	char err[512], status[160];
	struct log_event e;
	int rc, ready_fd = -1;

	if (!foreground)
		ready_fd = daemonize("sarad");
	/* Until start-up is done, errors also go to the terminal. */
	log_open("sarad", true, !foreground);
	signal(SIGPIPE, SIG_IGN);
	rc = daemon_start(d, err, sizeof(err));
	if (rc != 0) {
		log_error_event("start_failed", err);
		daemon_stop(d);
		daemon_free(d);
		log_close();
		return rc;
	}
	log_event_begin(&e, "start");
	log_event_str(&e, "prog", "sarad");
	log_event_str(&e, "version", sara_version());
	log_event_i64(&e, "pid", (int64_t)getpid());
	log_event_str(&e, "cluster", d->cfg.name);
	log_event_emit(&e, LOG_INFO);
	daemon_log_config(d);
	if (!foreground) {
		log_open("sarad", false, true);
		daemon_ready(ready_fd);
	}
	/* The same point as daemon_ready: queues, listeners and the control
	 * socket are up. A start-up that failed never gets here, so systemd
	 * sees the exit instead. */
	snprintf(status, sizeof(status), "cluster %s: serving queues %u..%u", d->cfg.name, d->cfg.queue.first,
		 d->cfg.queue.first + d->cfg.queue.count - 1);
	service_notify_ready(status);
	daemon_run(d);
	service_notify_stopping();
	daemon_stop(d);
	daemon_log_final(d);
	rc = daemon_exit_code(d);
	daemon_free(d);
	log_event_begin(&e, "stop");
	log_event_u64(&e, "status", (uint64_t)rc);
	if (rc)
		log_event_str(&e, "msg", "after an error");
	log_event_emit(&e, rc ? LOG_ERR : LOG_INFO);
	log_close();
	return rc;
}

int main(int argc, char **argv)
{
	static struct daemon daemon_state; /* large: keep it off the stack */
	struct daemon *d = &daemon_state;
	static const struct option own_options[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	bool foreground = false;
	const struct program_command_line command_line = { "sarad", "f", own_options, usage, take_option, &foreground,
							   false };
	struct program_options o;
	char err[512];
	int operands;
	int rc = program_options_parse(argc, argv, &command_line, &o, &operands);

	if (rc >= 0)
		return rc;
	if (!sara_config_load(o.config_path, &d->cfg, err, sizeof(err))) {
		log_early_error("sarad", "%s", err);
		return 2;
	}
	if (o.check_config) {
		printf("%s: ok (cluster %s, %u VIPs, %u servers, queues %u..%u)\n", o.config_path, d->cfg.name,
		       d->cfg.vip_count, d->cfg.server_count, d->cfg.queue.first,
		       d->cfg.queue.first + d->cfg.queue.count - 1);
		return 0;
	}
	return serve(d, foreground);
}
