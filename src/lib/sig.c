/*
 * sig: the self-pipe signal technique. See sig.h for how it is used.
 */
#include "sig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stop.h"

static volatile sig_atomic_t pending[NSIG];
static int caught[NSIG];
static int caught_count;
static int pipe_fds[2] = {-1, -1};
/* sig_raise_stop: the stop descriptor plus one (0: none) and its delay, by signal. */
static volatile sig_atomic_t stop_fd_plus_one[NSIG];
static volatile long stop_delay_ms[NSIG];

/*
 * The handler: async-signal-safe only. It saves errno because write() may
 * change it under the feet of the code it interrupted. A full pipe (EAGAIN)
 * is fine: a wake-up is already waiting, and the flag records the signal.
 */
static void on_signal(int signo)
{
	int saved_errno = errno;
	pending[signo] = 1;
	ssize_t ignored = write(pipe_fds[1], "", 1);
	(void)ignored;
	if (stop_fd_plus_one[signo] != 0)
		(void)stop_raise(stop_fd_plus_one[signo] - 1, stop_delay_ms[signo]); /* see sig.h */
	errno = saved_errno;
}

int sig_catch(const int *signals, int count)
{
	struct sigaction previous[NSIG];
	bool made_pipe = false;
	int installed = 0;

	if (count < 0 || count > NSIG || caught_count + count > NSIG) {
		errno = EINVAL;
		return -1;
	}
	if (pipe_fds[0] < 0) {
		if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0)
			return -1;
		made_pipe = true;
	}
	for (; installed < count; installed++) {
		int signo = signals[installed];
		struct sigaction action;
		memset(&action, 0, sizeof action);
		action.sa_handler = on_signal;
		action.sa_flags = SA_RESTART | (signo == SIGCHLD ? SA_NOCLDSTOP : 0);
		sigfillset(&action.sa_mask); /* one handler at a time keeps reasoning simple */
		if (sigaction(signo, &action, &previous[installed]) != 0)
			goto undo;
	}
	for (int i = 0; i < count; i++)
		caught[caught_count++] = signals[i];
	return pipe_fds[0];

undo:
	/* Leave things as they were: the signals set so far get their old actions back. */
	{
		int saved_errno = errno;
		while (installed-- > 0) {
			(void)sigaction(signals[installed], &previous[installed], NULL); /* it worked a moment ago */
			pending[signals[installed]] = 0; /* one that came meanwhile is not ours to report */
		}
		if (made_pipe) {
			(void)close(pipe_fds[0]);
			(void)close(pipe_fds[1]);
			pipe_fds[0] = pipe_fds[1] = -1;
		}
		errno = saved_errno;
	}
	return -1;
}

void sig_drain(void)
{
	char bytes[64];
	ssize_t count;

	do
		count = read(pipe_fds[0], bytes, sizeof bytes);
	while (count > 0 || (count < 0 && errno == EINTR));
	/* Anything else (EAGAIN: empty) ends the drain; the flags are what count. */
}

int sig_raise_stop(int signo, int fd, long ms)
{
	if (signo <= 0 || signo >= NSIG || fd < 0 || ms < 0) {
		errno = EINVAL;
		return -1;
	}
	stop_delay_ms[signo] = ms;
	stop_fd_plus_one[signo] = fd + 1;
	return 0;
}

int sig_next(void)
{
	for (int i = 0; i < caught_count; i++) {
		int signo = caught[i];
		if (pending[signo]) {
			pending[signo] = 0;
			return signo;
		}
	}
	return 0;
}

int sig_set(int signo, void (*disposition)(int))
{
	struct sigaction action;
	memset(&action, 0, sizeof action);
	action.sa_handler = disposition;
	sigemptyset(&action.sa_mask);
	return sigaction(signo, &action, NULL);
}

int sig_block_all(sigset_t *old)
{
	sigset_t all;
	sigfillset(&all);
	return sigprocmask(SIG_BLOCK, &all, old);
}

/* SET holds the COUNT signals in SIGNALS. */
static void sig_fill(sigset_t *set, const int *signals, int count)
{
	sigemptyset(set);
	for (int i = 0; i < count; i++)
		sigaddset(set, signals[i]);
}

int sig_block(const int *signals, int count, sigset_t *old)
{
	sigset_t set;
	sig_fill(&set, signals, count);
	return sigprocmask(SIG_BLOCK, &set, old);
}

int sig_unblock(const int *signals, int count)
{
	sigset_t set;
	sig_fill(&set, signals, count);
	return sigprocmask(SIG_UNBLOCK, &set, NULL);
}

int sig_restore(const sigset_t *old)
{
	return sigprocmask(SIG_SETMASK, old, NULL);
}

int sig_reset(void)
{
	int status = sig_forget();

	if (sig_unblock_all() != 0)
		status = -1;
	return status;
}

int sig_unblock_all(void)
{
	sigset_t none;
	sigemptyset(&none);
	return sigprocmask(SIG_SETMASK, &none, NULL);
}

int sig_forget(void)
{
	int status = 0;

	for (int i = 0; i < caught_count; i++) {
		if (sig_set(caught[i], SIG_DFL) != 0)
			status = -1;
		pending[caught[i]] = 0;
	}
	caught_count = 0;
	for (int signo = 0; signo < NSIG; signo++)
		stop_fd_plus_one[signo] = 0;
	for (int i = 0; i < 2; i++) {
		if (pipe_fds[i] >= 0 && close(pipe_fds[i]) != 0)
			status = -1;
		pipe_fds[i] = -1;
	}
	return status;
}

/* Linux's signal names, by number (the same on x86, ARM and most others; not on MIPS, SPARC, Alpha). */
static const char *const signal_names[] = {
	[SIGHUP] = "HUP",     [SIGINT] = "INT",	    [SIGQUIT] = "QUIT",	    [SIGILL] = "ILL",
	[SIGTRAP] = "TRAP",   [SIGABRT] = "ABRT",   [SIGBUS] = "BUS",	    [SIGFPE] = "FPE",
	[SIGKILL] = "KILL",   [SIGUSR1] = "USR1",   [SIGSEGV] = "SEGV",	    [SIGUSR2] = "USR2",
	[SIGPIPE] = "PIPE",   [SIGALRM] = "ALRM",   [SIGTERM] = "TERM",	    [SIGSTKFLT] = "STKFLT",
	[SIGCHLD] = "CHLD",   [SIGCONT] = "CONT",   [SIGSTOP] = "STOP",	    [SIGTSTP] = "TSTP",
	[SIGTTIN] = "TTIN",   [SIGTTOU] = "TTOU",   [SIGURG] = "URG",	    [SIGXCPU] = "XCPU",
	[SIGXFSZ] = "XFSZ",   [SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF",   [SIGWINCH] = "WINCH",
	[SIGIO] = "IO",	      [SIGPWR] = "PWR",	    [SIGSYS] = "SYS",
};

/*
 * A table of its own rather than glibc's sigabbrev_np, which musl (the
 * static build) does not have.
 */
const char *sig_name(int signo, char *buf, unsigned size)
{
	size_t count = sizeof signal_names / sizeof signal_names[0];
	if (signo > 0 && (size_t)signo < count && signal_names[signo] != NULL)
		snprintf(buf, size, "SIG%s", signal_names[signo]);
	else if (signo >= SIGRTMIN && signo <= SIGRTMAX)
		snprintf(buf, size, "SIGRTMIN+%d", signo - SIGRTMIN);
	else
		snprintf(buf, size, "signal %d", signo);
	return buf;
}
