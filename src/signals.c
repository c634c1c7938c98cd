/*
 * signals: the signal table of forknet's long-running commands. See signals.h.
 *
 * One row per signal an operator, a terminal or a supervisor may send, one
 * column per command. Signals left out keep the system's default: the faults
 * (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS), which must
 * end a broken process; job control (SIGTSTP, SIGTTIN, SIGTTOU, SIGCONT,
 * SIGSTOP), which works as in any program; SIGXCPU, the operator's CPU limit;
 * and SIGKILL, which cannot be caught.
 */
#include "signals.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>

#include "lib/log.h"
#include "lib/sig.h"

struct signal_row {
	int signo;
	enum signal_action action[2]; /* by enum signal_program */
};

static const struct signal_row table[] = {
	/*             TCP servers        chat-server */
	{SIGTERM,   {SIGNAL_STOP,       SIGNAL_STOP}},
	{SIGINT,    {SIGNAL_STOP,       SIGNAL_STOP}},
	/* chat-server holds no connection to wait for: its graceful stop is its stop. */
	{SIGQUIT,   {SIGNAL_DRAIN,      SIGNAL_STOP}},
	/* A restart would lose chat-server's members, which live in its memory only. */
	{SIGHUP,    {SIGNAL_RESTART,    SIGNAL_IGNORE}},
	{SIGUSR1,   {SIGNAL_REOPEN_LOG, SIGNAL_REOPEN_LOG}},
	{SIGUSR2,   {SIGNAL_STATUS,     SIGNAL_STATUS}},
	{SIGCHLD,   {SIGNAL_CHILD,      SIGNAL_DEFAULT}},
	/* A write to a peer that has gone fails with EPIPE instead, which is handled there. */
	{SIGPIPE,   {SIGNAL_DISCARD,    SIGNAL_DISCARD}},
	{SIGALRM,   {SIGNAL_IGNORE,     SIGNAL_IGNORE}},
	{SIGWINCH,  {SIGNAL_IGNORE,     SIGNAL_IGNORE}},
	{SIGVTALRM, {SIGNAL_IGNORE,     SIGNAL_IGNORE}},
	{SIGPROF,   {SIGNAL_IGNORE,     SIGNAL_IGNORE}},
	{SIGIO,     {SIGNAL_IGNORE,     SIGNAL_IGNORE}},
	{SIGURG,    {SIGNAL_IGNORE,     SIGNAL_IGNORE}},
	{SIGPWR,    {SIGNAL_IGNORE,     SIGNAL_IGNORE}},
	{SIGSTKFLT, {SIGNAL_IGNORE,     SIGNAL_IGNORE}},
	/* Past the file size limit a write fails with EFBIG, and the log says so. */
	{SIGXFSZ,   {SIGNAL_IGNORE,     SIGNAL_IGNORE}},
	/* SIGRTMIN..SIGRTMAX: SIGNAL_IGNORE for both; see action_of. */
};

#define TABLE_SIZE (sizeof table / sizeof table[0])

/* Signals already logged as ignored: each is logged once. */
static bool logged[NSIG];

static enum signal_action action_of(enum signal_program program, int signo)
{
	for (size_t i = 0; i < TABLE_SIZE; i++)
		if (table[i].signo == signo)
			return table[i].action[program];
	/* The real-time signals have no meaning anywhere in forknet and would kill it. */
	if (signo >= SIGRTMIN && signo <= SIGRTMAX)
		return SIGNAL_IGNORE;
	return SIGNAL_DEFAULT;
}

int signals_catch(enum signal_program program, bool with_children)
{
	int caught[NSIG];
	int count = 0;

	for (size_t i = 0; i < TABLE_SIZE; i++) {
		enum signal_action action = table[i].action[program];
		if (action == SIGNAL_DISCARD) {
			if (sig_set(table[i].signo, SIG_IGN) != 0)
				return -1;
		} else if (action != SIGNAL_DEFAULT && (action != SIGNAL_CHILD || with_children)) {
			caught[count++] = table[i].signo;
		}
	}
	int fd = sig_catch(caught, count);
	if (fd < 0)
		return -1;
	/*
	 * The real-time signals one by one: a runtime may keep some for itself
	 * (valgrind does), and sigaction refuses those with EINVAL; they cannot
	 * reach us as an operator's signal anyway.
	 */
	for (int signo = SIGRTMIN; signo <= SIGRTMAX; signo++)
		if (sig_catch(&signo, 1) < 0 && errno != EINVAL)
			return -1;
	return fd;
}

int signals_child_ignored(enum signal_program program, int *signals)
{
	int count = 0;

	for (size_t i = 0; i < TABLE_SIZE; i++) {
		enum signal_action action = table[i].action[program];
		if (action != SIGNAL_DEFAULT && action != SIGNAL_DISCARD && action != SIGNAL_STOP &&
		    action != SIGNAL_CHILD)
			signals[count++] = table[i].signo;
	}
	for (int signo = SIGRTMIN; signo <= SIGRTMAX && count < NSIG; signo++)
		signals[count++] = signo;
	return count;
}

enum signal_action signals_next(enum signal_program program, int *signo)
{
	char name[32];

	while ((*signo = sig_next()) != 0) {
		enum signal_action action = action_of(program, *signo);
		if (action != SIGNAL_IGNORE)
			return action;
		if (!logged[*signo]) {
			logged[*signo] = true;
			log_notice("%s received: it means nothing here, so it is ignored (and not "
				   "logged again)",
				   sig_name(*signo, name, sizeof name));
		}
	}
	return SIGNAL_DEFAULT;
}

void signals_reopen_log(const char *signal)
{
	log_notice("%s received: no log file to reopen (the log goes to standard error)", signal);
}
