/*
 * Lab 1 of 10: fork_counter -- after fork(), parent and child have separate memories.
 * Course: fork_test, and the gval/lval example.
 *
 * What it shows: fork() copies the whole process. Parent and child then
 * change "the same" two variables, a global and a local, and each sees only
 * its own changes, although both print the same addresses: each process has
 * an address space of its own, and those are virtual addresses in it.
 *
 * Run and watch: in help[] below, which `fork_counter --help` prints.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

/* What to run and what to watch: printed by --help (or -h). */
static const char help[] =
	"fork_counter -- after fork(), parent and child have separate memories (lab 1 of 10)\n"
	"\n"
	"Run:    build/examples/fork_counter [ROUNDS]       (ROUNDS 1-1000, default 5)\n"
	"        and meanwhile, in another terminal: ps -o pid,ppid,comm -C fork_counter\n"
	"Watch:  the child counts global up, the parent counts local up, 100 ms a\n"
	"        round, their lines interleaved. At the end each process still holds\n"
	"        the other variable's value from before the fork. The parent waits\n"
	"        for the child, so no zombie is left. The key=value fields are for\n"
	"        scripts and tests.\n";

/* A global lives in the data segment, a local on the stack: fork copies both. */
static int global = 10;

/* Reads a whole decimal number between MIN and MAX from TEXT; false if it is not one. */
static bool parse_number(const char *text, long min, long max, long *value)
{
	char *end;
	errno = 0;
	*value = strtol(text, &end, 10);
	return errno == 0 && end != text && *end == '\0' && *value >= min && *value <= max;
}

/* 100 ms, so that the two processes take turns visibly. */
static void pause_a_little(void)
{
	struct timespec delay = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
	/* No handlers here, so nothing interrupts it; a failure would be a bug worth seeing. */
	if (nanosleep(&delay, NULL) != 0)
		perror("fork_counter: nanosleep");
}

int main(int argc, char **argv)
{
	/* Before anything else: with --help, print the text above and do nothing more. */
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		if (fputs(help, stdout) == EOF || fflush(stdout) != 0) {
			perror("fork_counter: write standard output");
			return EX_IOERR;
		}
		return 0;
	}
	long rounds = 5;
	if (argc > 2 || (argc == 2 && !parse_number(argv[1], 1, 1000, &rounds))) {
		fprintf(stderr, "usage: fork_counter [ROUNDS]   (1-1000; try 'fork_counter --help')\n");
		return EX_USAGE;
	}
	/*
	 * Line-buffered even into a pipe. Otherwise the "before fork" line could
	 * still sit in stdio's buffer when we fork; the child would get a copy of
	 * the buffer and the line would come out twice (try `fork_counter | cat`
	 * without this call).
	 */
	if (setvbuf(stdout, NULL, _IOLBF, 0) != 0) {
		fprintf(stderr, "fork_counter: setvbuf: cannot buffer by line\n");
		return EX_OSERR;
	}

	int local = 20;
	global += 1;
	local += 5;
	printf("before fork: pid=%ld global=%d local=%d\n", (long)getpid(), global, local);

	pid_t child = fork();
	if (child < 0) {
		perror("fork_counter: fork");
		return EX_OSERR;
	}
	if (child == 0) {
		/* fork returned 0: this is the child, with copies of global and local. */
		printf("child:  pid=%ld parent=%ld\n", (long)getpid(), (long)getppid());
		for (long round = 1; round <= rounds; round++) {
			global++;
			printf("child:  round=%ld global=%d local=%d\n", round, global, local);
			pause_a_little();
		}
		printf("child:  done global=%d local=%d &global=%p &local=%p\n", global, local,
		       (void *)&global, (void *)&local);
		return 0;
	}

	/* fork returned the child's pid: this is the parent. */
	printf("parent: pid=%ld child=%ld\n", (long)getpid(), (long)child);
	for (long round = 1; round <= rounds; round++) {
		local++;
		printf("parent: round=%ld global=%d local=%d\n", round, global, local);
		pause_a_little();
	}
	int status;
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("fork_counter: waitpid");
			return EX_OSERR;
		}
	}
	if (WIFEXITED(status))
		printf("parent: child %ld exited %d\n", (long)child, WEXITSTATUS(status));
	else
		printf("parent: child %ld killed by signal %d\n", (long)child, WTERMSIG(status));
	printf("parent: done global=%d local=%d &global=%p &local=%p\n", global, local,
	       (void *)&global, (void *)&local);
	return 0;
}
