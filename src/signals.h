/*
 * signals: what every signal an operator may send does to a long-running
 * forknet command, in one table (see signals.c and the man page's SIGNALS).
 *
 * A command catches the signals its column gives an action with
 * signals_catch(); its main loop polls the returned descriptor and, when it
 * is readable, takes the pending signals' actions one by one from
 * signals_next() and does the work there, never in a handler. Signals that
 * mean nothing to the command are caught too, so that a stray one cannot
 * kill it: signals_next() logs the first of each kind and skips them.
 */
#ifndef FORKNET_SIGNALS_H
#define FORKNET_SIGNALS_H

#include <stdbool.h>

enum signal_action {
	SIGNAL_DEFAULT,    /* not caught: the system's default action */
	SIGNAL_DISCARD,    /* set to be ignored, silently (SIGPIPE) */
	SIGNAL_IGNORE,     /* means nothing here: logged the first time, then ignored */
	SIGNAL_STOP,       /* fast stop: connections are ended after --grace */
	SIGNAL_DRAIN,      /* graceful stop: no new connections, the open ones finish */
	SIGNAL_RESTART,    /* re-execute the binary in place, keeping the listeners */
	SIGNAL_REOPEN_LOG, /* reopen the log file */
	SIGNAL_STATUS,     /* write the status to the log */
	SIGNAL_CHILD,      /* a child process ended: reap it */
};

/* The commands with a column in the table. */
enum signal_program {
	SIGNAL_TCP_SERVER,  /* echo-server (and every later TCP server), any model */
	SIGNAL_CHAT_SERVER, /* chat-server */
};

/*
 * Sets up PROGRAM's column: catches the signals it gives an action, sets
 * SIGNAL_DISCARD ones to be ignored. WITH_CHILDREN: the program has child
 * processes, so SIGCHLD is caught (else it keeps its default, ignored).
 * Returns the descriptor to poll for POLLIN, or -1 with errno set.
 */
int signals_catch(enum signal_program program, bool with_children);

/*
 * The signals a server's child process ignores: those PROGRAM's column
 * catches that are the server's business, not the child's (all but the
 * fast stops and SIGCHLD), so that a `pkill -HUP forknet` or `-USR2`
 * aimed at the server does not kill the children and cut their
 * connections. Fills SIGNALS (room for NSIG) and returns the count.
 */
int signals_child_ignored(enum signal_program program, int *signals);

/*
 * The action of the next pending signal, its number in *SIGNO; SIGNAL_DEFAULT
 * when none is pending. Call after sig_drain(). SIGNAL_IGNORE signals are
 * handled here (a log line the first time) and not returned.
 */
enum signal_action signals_next(enum signal_program program, int *signo);

/*
 * SIGUSR1's work while the log goes to standard error: a line saying there
 * is no log file to reopen. SIGNAL is its name.
 */
void signals_reopen_log(const char *signal);

#endif
