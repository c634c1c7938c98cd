/*
 * process: child processes that must not outlive their parent, and ending
 * them. The fork server's children, the clients' second processes and the
 * shell's commands are made this way.
 */
#ifndef FORKNET_PROCESS_H
#define FORKNET_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

/* How process_fork sets up the child; NULL for none of it. */
struct process_setup {
	const int *ignore; /* signals the child ignores */
	int ignore_count;
	bool own_group;    /* the child leads a process group of its own (setpgid) */
};

/*
 * Forks a child that dies with its parent. Signals are blocked across the
 * fork, so that no signal can run the parent's handlers in the child. In the
 * child, the caught signals get their default action back, the signals
 * SETUP says are set to be ignored, the child moves to a process group of
 * its own if asked (so that a terminal's Ctrl-C, sent to the foreground
 * group, reaches only the parent, which then stops its children in order;
 * one that came before the move is thrown away for the same reason),
 * and only then does the child get the caller's signal mask back: a signal that came meanwhile meets the child's
 * own dispositions, never the parent's, nor a default it was to ignore, and
 * one the caller had blocked stays blocked (pending) until the child unblocks
 * it, which is how a child can catch a signal sent before it was ready for it. The kernel is asked for SIGTERM
 * should the parent die (PR_SET_PDEATHSIG; it lasts across exec), and a
 * parent that died before that took effect makes the child exit at once. A
 * child that cannot do all this exits with EX_OSERR. Returns as fork() does:
 * the child's pid, 0 in the child, or -1 with errno set.
 */
pid_t process_fork(const struct process_setup *setup);

/* Waits for PID to end, retrying on EINTR. Returns 0 with its wait *STATUS, or -1. */
int process_wait(pid_t pid, int *status);

/*
 * Waits up to TIMEOUT_MS for PID to end; past that, kills it (SIGKILL) and
 * reaps it. Returns 0 with its wait *STATUS, 1 with the status of the kill,
 * or -1 with errno set.
 */
int process_wait_for(pid_t pid, int timeout_ms, int *status);

/*
 * Ends PID: SIGTERM, and SIGCONT in case it is stopped, then waits for it.
 * Returns 0 with its wait *STATUS, or -1 with errno set.
 */
int process_stop(pid_t pid, int *status);

#endif
