/*
 * Lab 3 of 10: wait_status -- how a parent learns how its child ended.
 * Course: child_wait.c and wait.c.
 *
 * What it shows: waitpid() fills in a status word, and the W* macros decode
 * it: WIFEXITED and WEXITSTATUS for a child that called exit, WIFSIGNALED
 * and WTERMSIG for a child killed by a signal. The raw word is printed too,
 * to show why dividing it by 256, as the course does, is wrong: the exit code
 * sits in bits 8-15, but a signal sits in bits 0-6 (and the "core dumped"
 * flag in bit 7), so status/256 turns a death by SIGTERM into "exit 0".
 *
 * Run and watch: in help[] below, which `wait_status --help` prints.
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
	"wait_status -- how a parent learns how its child ended (lab 3 of 10)\n"
	"\n"
	"Run:    build/examples/wait_status exit CODE      the child calls exit(CODE), 0-255\n"
	"        build/examples/wait_status signal NAME    the child is killed by SIGNAME\n"
	"            NAME: HUP INT QUIT ABRT KILL SEGV PIPE ALRM TERM USR1 USR2\n"
	"Watch:  \"WIFEXITED WEXITSTATUS=3\" after `exit 3`; \"WIFSIGNALED WTERMSIG=15\n"
	"        (SIGTERM)\" after `signal TERM`, with \"status/256 would say 0\". QUIT,\n"
	"        ABRT and SEGV may add \"(core dumped)\", depending on `ulimit -c`.\n";

/* Signals whose default action ends the process, by the names people type. */
static const struct {
	int number;
	const char *name;
} signals[] = {
	{SIGHUP, "HUP"},   {SIGINT, "INT"},   {SIGQUIT, "QUIT"}, {SIGABRT, "ABRT"},
	{SIGKILL, "KILL"}, {SIGSEGV, "SEGV"}, {SIGPIPE, "PIPE"}, {SIGALRM, "ALRM"},
	{SIGTERM, "TERM"}, {SIGUSR1, "USR1"}, {SIGUSR2, "USR2"},
};
#define SIGNAL_COUNT (sizeof signals / sizeof signals[0])

static const char *signal_name(int number)
{
	for (size_t i = 0; i < SIGNAL_COUNT; i++)
		if (signals[i].number == number)
			return signals[i].name;
	return "?";
}

static bool parse_signal(const char *text, int *number)
{
	if (strncmp(text, "SIG", 3) == 0)
		text += 3;
	for (size_t i = 0; i < SIGNAL_COUNT; i++) {
		if (strcmp(text, signals[i].name) == 0) {
			*number = signals[i].number;
			return true;
		}
	}
	return false;
}

static bool parse_code(const char *text, int *code)
{
	char *end;
	errno = 0;
	long value = strtol(text, &end, 10);
	/* Only the low 8 bits of an exit code reach the parent: exit(256) looks like exit(0). */
	if (errno != 0 || end == text || *end != '\0' || value < 0 || value > 255)
		return false;
	*code = (int)value;
	return true;
}

/* The child's side: end as asked. Never returns. */
static void end_child(bool by_signal, int value)
{
	if (!by_signal) {
		printf("child:  pid=%ld, calling exit(%d)\n", (long)getpid(), value);
		exit(value); /* exit, not _exit: it flushes stdio, and the buffer is the child's own */
	}
	printf("child:  pid=%ld, raising SIG%s\n", (long)getpid(), signal_name(value));

	/* Death by a signal does not flush stdio: do it now. */
	if (fflush(stdout) != 0)
		_exit(EX_IOERR);
	/*
	 * Make sure the signal does its default thing: a shell starts background
	 * jobs with SIGINT and SIGQUIT ignored, and a mask may block it.
	 * (SIGKILL can be neither caught, ignored nor blocked.)
	 */
	if (value != SIGKILL) {
		struct sigaction action;
		memset(&action, 0, sizeof action);
		action.sa_handler = SIG_DFL;
		sigset_t just_this;
		if (sigemptyset(&action.sa_mask) != 0 || sigaction(value, &action, NULL) != 0 ||
		    sigemptyset(&just_this) != 0 || sigaddset(&just_this, value) != 0 ||
		    sigprocmask(SIG_UNBLOCK, &just_this, NULL) != 0) {
			perror("wait_status: child: reset signal");
			_exit(EX_OSERR);
		}
	}
	if (raise(value) != 0)
		perror("wait_status: child: raise");
	_exit(EX_SOFTWARE); /* not reached: the signal has ended us */
}

int main(int argc, char **argv)
{
	/* Before anything else: with --help, print the text above and do nothing more. */
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		if (fputs(help, stdout) == EOF || fflush(stdout) != 0) {
			perror("wait_status: write standard output");
			return EX_IOERR;
		}
		return 0;
	}
	bool by_signal = argc == 3 && strcmp(argv[1], "signal") == 0;
	bool by_exit = argc == 3 && strcmp(argv[1], "exit") == 0;
	int value = 0;
	if (!(by_exit && parse_code(argv[2], &value)) &&
	    !(by_signal && parse_signal(argv[2], &value))) {
		fprintf(stderr, "usage: wait_status exit CODE | signal NAME   (try 'wait_status --help')\n");
		return EX_USAGE;
	}
	/* Line-buffered even into a pipe, so that nothing sits in the buffer when we fork. */
	if (setvbuf(stdout, NULL, _IOLBF, 0) != 0) {
		fprintf(stderr, "wait_status: setvbuf: cannot buffer by line\n");
		return EX_OSERR;
	}

	pid_t child = fork();
	if (child < 0) {
		perror("wait_status: fork");
		return EX_OSERR;
	}
	if (child == 0)
		end_child(by_signal, value);

	printf("parent: pid=%ld, waiting for child %ld\n", (long)getpid(), (long)child);
	int status;
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("wait_status: waitpid");
			return EX_OSERR;
		}
	}
	printf("parent: child %ld ended: raw status=0x%04x\n", (long)child, (unsigned)status);
	if (WIFEXITED(status)) {
		printf("parent: WIFEXITED WEXITSTATUS=%d\n", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		printf("parent: WIFSIGNALED WTERMSIG=%d (SIG%s)%s; status/256 would say %d\n",
		       WTERMSIG(status), signal_name(WTERMSIG(status)),
		       WCOREDUMP(status) ? " (core dumped)" : "", status / 256);
	}
	return 0;
}
