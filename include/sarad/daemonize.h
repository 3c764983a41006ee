/* daemonize.h - sarad into the background without losing its start-up
 * errors: the parent waits on a readiness pipe until the child serves (exit
 * 0) or fails (the child's exit status). */
#ifndef SARA_SARAD_DAEMONIZE_H
#define SARA_SARAD_DAEMONIZE_H

/* Forks; returns in the child (a new session) with the pipe's write end.
 * The parent never returns. */
int daemonize(void);
/* The child serves: stdio to /dev/null, and the parent told to exit 0. */
void daemonize_ready(int ready_fd);

#endif
