/* daemon.h - running in the background: the parent exits only once the
 * child has started (exit 0) or has failed (the child's exit status), so
 * start-up errors still reach whoever started the daemon. */
#ifndef SARA_DAEMON_H
#define SARA_DAEMON_H

/* Forks. The parent waits and never returns: it exits 0 when the child
 * calls daemon_ready, else with the child's exit status (1 if the child was
 * killed). The child starts a new session and gets the fd to hand to
 * daemon_ready once it serves. On a pipe or fork failure prints
 * "PROG: pipe: REASON" (or fork) to stderr and exits 1. */
int daemonize(const char *prog);

/* In the child, once started: stdin, stdout and stderr to /dev/null (log
 * to syslog from here on), then the waiting parent is told to exit 0. */
void daemon_ready(int ready_fd);

#endif
