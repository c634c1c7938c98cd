/*
 * sig: signals as events on a descriptor (the self-pipe technique).
 *
 * The handler installed for each caught signal does two async-signal-safe
 * things: it marks the signal pending in a volatile sig_atomic_t flag and
 * writes one byte to a non-blocking pipe. A main loop polls the pipe's read end
 * next to its sockets; when it is readable, it calls sig_drain() and then
 * sig_next() until it returns 0, and does the real work (reaping, stopping)
 * outside any handler. The flags, not the bytes, say which signals came, so a
 * full pipe or merged signals lose nothing.
 *
 * One set of caught signals per process.
 */
#ifndef FORKNET_SIG_H
#define FORKNET_SIG_H

#include <signal.h>

/*
 * Catches each signal in SIGNALS (COUNT of them) as described above, with
 * SA_RESTART, and for SIGCHLD SA_NOCLDSTOP. Returns the descriptor to poll
 * for POLLIN, or -1 with errno set; then nothing was changed (the signals
 * already set in this call get their old actions back).
 */
int sig_catch(const int *signals, int count);

/*
 * Makes the handler of caught signal SIGNO also raise stop descriptor FD in
 * MS milliseconds (lib/stop.h; two system calls, both async-signal-safe).
 * For a process whose main loop is inside a service when the signal comes
 * (the iterative server), which could not raise it in time itself. Returns 0
 * or -1 (EINVAL). sig_forget() undoes it.
 */
int sig_raise_stop(int signo, int fd, long ms);

/* Empties the pipe; call before sig_next() once the descriptor is readable. */
void sig_drain(void);

/* Returns a pending caught signal and clears it, or 0 when none is pending. */
int sig_next(void);

/* Sets DISPOSITION (SIG_IGN or SIG_DFL) for SIGNO; returns 0 or -1. */
int sig_set(int signo, void (*disposition)(int));

/*
 * Blocks every signal, saving the old mask in OLD. Used around fork() so that
 * a signal cannot run the parent's handler in the child before the child
 * resets it (see sig_reset).
 */
int sig_block_all(sigset_t *old);

/*
 * Blocks the COUNT signals in SIGNALS, saving the old mask in OLD (or not,
 * when OLD is NULL), and unblocks them again. A signal blocked before a fork
 * stays blocked in the child (see process_fork) and waits there, pending,
 * until the child has caught it and unblocks it: nothing sent meanwhile is lost.
 */
int sig_block(const int *signals, int count, sigset_t *old);
int sig_unblock(const int *signals, int count);

/* Restores the mask saved by sig_block_all or sig_block. */
int sig_restore(const sigset_t *old);

/*
 * Undoes sig_catch: restores the default action of every caught signal,
 * forgets pending ones, closes the pipe, and unblocks all signals. A program
 * that caught signals calls it when it is done with them. Returns 0 or -1.
 */
int sig_reset(void);

/*
 * The first half of sig_reset, for a child just forked with signals blocked:
 * everything but the unblocking, so that the child can set its own
 * dispositions first (see process_fork). Returns 0 or -1.
 */
int sig_forget(void);

/* Unblocks all signals. Returns 0 or -1. */
int sig_unblock_all(void);

/* Writes the signal's name ("SIGKILL") into BUF and returns BUF. */
const char *sig_name(int signo, char *buf, unsigned size);

#endif
