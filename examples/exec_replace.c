/*
 * Lab 2 of 10: exec_replace -- exec replaces the program, not the process.
 * Course: command.c and exec_test.c.
 *
 * What it shows: execvp() loads another program into this process. The pid,
 * the parent and the open descriptors stay; the code, the data and the stack
 * are replaced. So the lines after a successful exec never run: there is no
 * "after" left in this program. They run only when exec fails.
 *
 * Run and watch: in help[] below, which `exec_replace --help` prints.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

/* What to run and what to watch: printed by --help (or -h). */
static const char help[] =
	"exec_replace -- exec replaces the program, not the process (lab 2 of 10)\n"
	"\n"
	"Run:    build/examples/exec_replace                 runs sh, which prints its own pid ($$)\n"
	"        build/examples/exec_replace sleep 30        then: ps -o pid,comm -p PID\n"
	"        build/examples/exec_replace no-such-command exec fails: status 127\n"
	"Watch:  \"before exec: pid=N\" and sh's \"after exec: pid=N\" show the same N,\n"
	"        and ps shows the same pid now running \"sleep\". A shell forks first\n"
	"        and execs in the child, so that it is still there afterwards; this\n"
	"        program does not fork, so it is gone once exec succeeds.\n";

int main(int argc, char **argv)
{
	/* Before anything else: with --help, print the text above and do nothing more. */
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		if (fputs(help, stdout) == EOF || fflush(stdout) != 0) {
			perror("exec_replace: write standard output");
			return EX_IOERR;
		}
		return 0;
	}
	/* Arrays, not string literals: exec takes char *, and literals must not be written to. */
	static char shell[] = "sh", option[] = "-c",
		    script[] = "echo \"after exec: pid=$$ program=sh\"";
	char *default_command[] = {shell, option, script, NULL};
	char **command = argc > 1 ? argv + 1 : default_command;

	printf("before exec: pid=%ld program=exec_replace, now running %s\n", (long)getpid(),
	       command[0]);
	/*
	 * exec discards this process's memory, stdio's buffer with it. Into a pipe
	 * or a file, stdout is fully buffered: without this fflush the line above
	 * would be lost (try `exec_replace | cat` without it).
	 */
	if (fflush(stdout) != 0) {
		perror("exec_replace: write standard output");
		return EX_IOERR;
	}

	execvp(command[0], command);

	/* Reached only if execvp failed: on success this code no longer exists. */
	fprintf(stderr, "exec_replace: execvp %s: %s\n", command[0], strerror(errno));
	return 127; /* what shells return for a command they cannot run */
}
