/*
 * Lab 5 of 10: reaper -- one SIGCHLD can stand for many children.
 * Course: remove_zombie.c.
 *
 * What it shows: a parent learns that children ended through SIGCHLD. But
 * standard signals do not queue: while SIGCHLD is pending, more children
 * ending add nothing, so one signal may stand for several children. A
 * handler that calls waitpid once per signal leaves zombies behind; it must
 * loop on waitpid(-1, ..., WNOHANG) until no ended child is left.
 *
 * Here the merge is made to happen every time: SIGCHLD is blocked while
 * CHILDREN children end, so their signals merge into one; then it is
 * unblocked. On a busy server the same happens by chance, whenever children
 * end close together.
 *
 * Run and watch: in help[] below, which `reaper --help` prints.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

/* What to run and what to watch: printed by --help (or -h). */
static const char help[] =
	"reaper -- one SIGCHLD can stand for many children (lab 5 of 10)\n"
	"\n"
	"Run:    build/examples/reaper [CHILDREN]     (1-64, default 5)\n"
	"Watch:  \"signals=1 reaped=5\": one signal, five children reaped by the\n"
	"        handler's loop, and \"left=0\": no zombie, no child left.\n";

#define MAX_CHILDREN 64

/* Written by the handler, read by main only while SIGCHLD is blocked. */
static volatile sig_atomic_t signals_arrived;
static volatile sig_atomic_t children_reaped;
static pid_t reaped_pid[MAX_CHILDREN];
static int reaped_status[MAX_CHILDREN];

/*
 * The SIGCHLD handler: reap every ended child, not just one. waitpid is
 * async-signal-safe; printf is not (the signal may come while main is inside
 * printf, with its buffer half updated), so the handler only records what it
 * reaped and main prints it. forknet's servers go one step further and reap
 * in their main loop (src/lib/children.c, children_reap).
 */
static void on_sigchld(int signo)
{
	int saved_errno = errno; /* waitpid may change errno under main's feet */
	(void)signo;
	signals_arrived++;
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			break; /* 0: the others are still running; -1 (ECHILD): none left */
		if (children_reaped < MAX_CHILDREN) {
			reaped_pid[children_reaped] = pid;
			reaped_status[children_reaped] = status;
			children_reaped++;
		}
	}
	errno = saved_errno;
}

static bool parse_number(const char *text, long min, long max, long *value)
{
	char *end;
	errno = 0;
	*value = strtol(text, &end, 10);
	return errno == 0 && end != text && *end == '\0' && *value >= min && *value <= max;
}

int main(int argc, char **argv)
{
	/* Before anything else: with --help, print the text above and do nothing more. */
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		if (fputs(help, stdout) == EOF || fflush(stdout) != 0) {
			perror("reaper: write standard output");
			return EX_IOERR;
		}
		return 0;
	}
	long count = 5;
	if (argc > 2 || (argc == 2 && !parse_number(argv[1], 1, MAX_CHILDREN, &count))) {
		fprintf(stderr, "usage: reaper [CHILDREN]   (1-%d; try 'reaper --help')\n", MAX_CHILDREN);
		return EX_USAGE;
	}
	/* Line-buffered even into a pipe, so that nothing sits in the buffer when we fork. */
	if (setvbuf(stdout, NULL, _IOLBF, 0) != 0) {
		fprintf(stderr, "reaper: setvbuf: cannot buffer by line\n");
		return EX_OSERR;
	}

	sigset_t with_sigchld, without_sigchld;
	struct sigaction action;
	memset(&action, 0, sizeof action);
	action.sa_handler = on_sigchld;
	/* SA_NOCLDSTOP: a stopped child has not ended; SA_RESTART: calls it interrupts go on. */
	action.sa_flags = SA_NOCLDSTOP | SA_RESTART;
	if (sigemptyset(&action.sa_mask) != 0 || sigaction(SIGCHLD, &action, NULL) != 0 ||
	    sigemptyset(&with_sigchld) != 0 || sigaddset(&with_sigchld, SIGCHLD) != 0 ||
	    sigprocmask(SIG_BLOCK, &with_sigchld, &without_sigchld) != 0) {
		perror("reaper: SIGCHLD handler");
		return EX_OSERR;
	}
	/* The mask as it was, with SIGCHLD surely unblocked: sigsuspend below must let it in. */
	if (sigdelset(&without_sigchld, SIGCHLD) != 0) {
		perror("reaper: sigdelset");
		return EX_OSERR;
	}

	pid_t children[MAX_CHILDREN];
	for (long i = 0; i < count; i++) {
		children[i] = fork();
		if (children[i] < 0) {
			perror("reaper: fork");
			return EX_OSERR; /* the children already made are reaped by init */
		}
		if (children[i] == 0)
			_exit((int)i + 1); /* _exit: the parent's stdio buffers are not ours to flush */
		printf("parent: started child %ld (it exits with %ld)\n", (long)children[i], i + 1);
	}

	/*
	 * Wait until every child has ended, without reaping (WNOWAIT): they are
	 * all zombies now, and their SIGCHLD signals, blocked, have merged into
	 * one pending signal.
	 */
	for (long i = 0; i < count; i++) {
		siginfo_t info;
		while (waitid(P_PID, (id_t)children[i], &info, WEXITED | WNOWAIT) != 0) {
			if (errno != EINTR) {
				perror("reaper: waitid");
				return EX_OSERR;
			}
		}
	}
	printf("parent: all %ld children have ended; unblocking SIGCHLD\n", count);

	/*
	 * sigsuspend unblocks SIGCHLD and sleeps until a handler has run, in one
	 * step: a signal cannot slip in between a check and the sleep. The loop
	 * ends once the handler has reaped them all.
	 */
	while (children_reaped < count)
		sigsuspend(&without_sigchld); /* always returns -1 with EINTR */

	/* SIGCHLD is blocked again here, so the handler cannot change what we read. */
	int reaped = children_reaped;
	for (int i = 0; i < reaped; i++)
		printf("parent: reaped child %ld: exited %d\n", (long)reaped_pid[i],
		       WEXITSTATUS(reaped_status[i]));
	printf("parent: signals=%d reaped=%d: %s\n", (int)signals_arrived, reaped,
	       signals_arrived < reaped ? "one signal stood for several children"
					: "one signal per child this time");

	/* Any child left, ended or not? ECHILD says none. */
	if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD) {
		printf("parent: left=0 (waitpid: %s)\n", strerror(ECHILD));
		return 0;
	}
	printf("parent: some children are left\n");
	return EX_SOFTWARE;
}
