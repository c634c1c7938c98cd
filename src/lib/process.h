/*
 * process: child processes that must not outlive their parent, and ending
 * them. The fork server's children and the clients' second processes are
 * made this way.
 */
#ifndef FORKNET_PROCESS_H
#define FORKNET_PROCESS_H

#include <sys/types.h>

/*
 * Forks a child that dies with its parent. Signals are blocked across the
 * fork, so that no signal can run the parent's handlers in the child; in the
 * child the caught signals are reset (sig_reset) and unblocked, the kernel is
 * asked for SIGTERM should the parent die (PR_SET_PDEATHSIG), and a parent
 * that died before that took effect makes the child exit at once. A child
 * that cannot do all this exits with EX_OSERR. Returns as fork() does: the
 * child's pid, 0 in the child, or -1 with errno set.
 */
pid_t process_fork(void);

/* Waits for PID to end, retrying on EINTR. Returns 0 with its wait *STATUS, or -1. */
int process_wait(pid_t pid, int *status);

/*
 * Ends PID: SIGTERM, and SIGCONT in case it is stopped, then waits for it.
 * Returns 0 with its wait *STATUS, or -1 with errno set.
 */
int process_stop(pid_t pid, int *status);

#endif
