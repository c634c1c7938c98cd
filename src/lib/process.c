/*
 * process: dependent children. See process.h.
 */
#include "process.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "sig.h"

pid_t process_fork(const int *ignore, int count)
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
		for (int i = 0; i < count; i++)
			if (sig_set(ignore[i], SIG_IGN) != 0)
				_exit(EX_OSERR);
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

int process_stop(pid_t pid, int *status)
{
	/* A zombie still has its pid, so these succeed until the child is reaped. */
	if (kill(pid, SIGTERM) != 0 || kill(pid, SIGCONT) != 0)
		return -1;
	return process_wait(pid, status);
}
