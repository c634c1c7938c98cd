/*
 * process: dependent children. See process.h.
 */
#include "process.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "sig.h"

/*
 * Throws away the terminal's signals (^C, ^\\, ^Z, a hang-up) that reached
 * a new child while it was still in its parent's process group: they were
 * meant for the parent, and a ^Z kept would stop a child that the shell's
 * SIGCONT to the parent's group no longer reaches. Setting a pending signal
 * ignored discards it; the disposition is put back after. Signals blocked.
 */
static int discard_terminal_signals(void)
{
	static const int from_terminal[] = {SIGINT, SIGQUIT, SIGTSTP, SIGHUP};
	sigset_t pending;

	if (sigpending(&pending) != 0)
		return -1;
	for (size_t i = 0; i < sizeof from_terminal / sizeof from_terminal[0]; i++) {
		int signo = from_terminal[i];
		struct sigaction ignore, kept;
		if (sigismember(&pending, signo) != 1)
			continue;
		memset(&ignore, 0, sizeof ignore);
		ignore.sa_handler = SIG_IGN;
		sigemptyset(&ignore.sa_mask);
		if (sigaction(signo, &ignore, &kept) != 0 || sigaction(signo, &kept, NULL) != 0)
			return -1;
	}
	return 0;
}

pid_t process_fork(const struct process_setup *setup)
{
	sigset_t saved;
	pid_t parent = getpid();

	if (sig_block_all(&saved) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		/*
		 * Still blocked: put back the default actions, set the ignored ones,
		 * and only then give back the caller's mask. A signal that came in
		 * between is delivered now with the child's own disposition, instead
		 * of running a handler meant for the parent, or killing a child that
		 * was to ignore it.
		 */
		if (sig_forget() != 0)
			_exit(EX_OSERR);
		for (int i = 0; setup != NULL && i < setup->ignore_count; i++)
			if (sig_set(setup->ignore[i], SIG_IGN) != 0)
				_exit(EX_OSERR);
		if (setup != NULL && setup->own_group &&
		    (setpgid(0, 0) != 0 || discard_terminal_signals() != 0))
			_exit(EX_OSERR);
		/*
		 * PR_SET_PDEATHSIG comes last: a change of credentials (set-user-ID,
		 * setuid) clears it, so none may come after it.
		 */
		if (sig_restore(&saved) != 0 || prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
			_exit(EX_OSERR);
		if (getppid() != parent)
			_exit(EX_OSERR); /* the parent died before PR_SET_PDEATHSIG took effect */
		return 0;
	}
	int fork_errno = errno;
	/*
	 * Restoring a mask sigprocmask itself returned cannot fail; were it to,
	 * the child exists all the same, so its pid is what the caller needs.
	 */
	if (sig_restore(&saved) != 0 && pid < 0)
		fork_errno = errno;
	errno = fork_errno;
	return pid;
}

int process_wait(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/*
 * process_wait_for without pidfd_open (Linux before 5.3, or valgrind): a
 * look every 10 ms, bounded by the timeout. Returns as process_wait_for.
 */
static int wait_by_polling(pid_t pid, int timeout_ms, int *status)
{
	struct timespec deadline = clock_after(clock_now(), timeout_ms);
	for (;;) {
		pid_t ended = waitpid(pid, status, WNOHANG);
		if (ended == pid)
			return 0;
		if (ended < 0 && errno != EINTR)
			return -1;
		if (clock_ms_until(deadline) == 0)
			break;
		struct timespec pause = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
		(void)nanosleep(&pause, NULL); /* EINTR only shortens the pause */
	}
	if (kill(pid, SIGKILL) != 0 || process_wait(pid, status) != 0)
		return -1;
	return 1;
}

int process_wait_for(pid_t pid, int timeout_ms, int *status)
{
	/* A pidfd becomes readable when the process ends: a poll with a timeout, no busy loop. */
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0 && errno == ENOSYS)
		return wait_by_polling(pid, timeout_ms, status);
	if (pidfd < 0)
		return -1;
	struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
	struct timespec deadline = clock_after(clock_now(), timeout_ms);
	int ready;
	do
		ready = poll(&pfd, 1, clock_ms_until(deadline));
	while (ready < 0 && errno == EINTR);
	int error = errno;
	(void)close(pidfd); /* only ours to close: cannot fail in a way that matters here */
	if (ready < 0) {
		errno = error;
		return -1;
	}
	if (ready == 0) {
		/* Out of time: it is killed, and reaped all the same. */
		if (kill(pid, SIGKILL) != 0 || process_wait(pid, status) != 0)
			return -1;
		return 1;
	}
	return process_wait(pid, status);
}

int process_stop(pid_t pid, int *status)
{
	/* A zombie still has its pid, so these succeed until the child is reaped. */
	if (kill(pid, SIGTERM) != 0 || kill(pid, SIGCONT) != 0)
		return -1;
	return process_wait(pid, status);
}
