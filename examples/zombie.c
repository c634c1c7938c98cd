/*
 * Lab 4 of 10: zombie -- a child that has ended but has not been waited for.
 * Course: zombie.c.
 *
 * What it shows: when a process ends, the kernel keeps a small record of it
 * (its pid and exit status) until its parent collects it with wait. Until
 * then it is a zombie: state Z in /proc/PID/stat, "<defunct>" in ps. A server
 * that never waits fills the process table with them. Here the parent lets
 * its child become a zombie, shows it, then reaps it and shows it gone.
 *
 * Run and watch: in help[] below, which `zombie --help` prints.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

/* What to run and what to watch: printed by --help (or -h). */
static const char help[] =
	"zombie -- a child that has ended but has not been waited for (lab 4 of 10)\n"
	"\n"
	"Run:    build/examples/zombie [SECONDS]     (default 30, 0-3600)\n"
	"        and meanwhile, as it suggests: ps -o pid,ppid,stat,comm --ppid PARENT\n"
	"Watch:  \"state=Z\" for the child, read from /proc; ps shows Z and\n"
	"        <defunct>. Press Enter (or wait SECONDS) and the parent reaps it:\n"
	"        \"exited 7\", then \"state=gone\". Standard input at its end (< /dev/null)\n"
	"        counts as Enter.\n";

/*
 * Reads the start of /proc/PID/stat ("PID (NAME) STATE PPID ...") into LINE
 * and returns the state letter, or 0 with errno set if there is no such
 * process.
 */
static char process_state(pid_t pid, char *line, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	FILE *file = fopen(path, "re");
	if (file == NULL)
		return 0;
	char *got = fgets(line, (int)size, file);
	int saved_errno = errno;
	fclose(file);
	errno = saved_errno;
	if (got == NULL)
		return 0;
	/* The name may contain spaces and parentheses: the state follows the last ')'. */
	char *name_end = strrchr(line, ')');
	if (name_end == NULL || name_end[1] == '\0' || name_end[2] == '\0') {
		errno = EINVAL;
		return 0;
	}
	char state = name_end[2];
	/* Keep "PID (NAME) STATE PPID" for printing: cut after the fourth field. */
	char *ppid_end = strchr(name_end + 4, ' ');
	if (ppid_end != NULL)
		*ppid_end = '\0';
	return state;
}

static bool parse_number(const char *text, long min, long max, long *value)
{
	char *end;
	errno = 0;
	*value = strtol(text, &end, 10);
	return errno == 0 && end != text && *end == '\0' && *value >= min && *value <= max;
}

/* Waits for a line on standard input, its end, or SECONDS, whichever comes first. */
static void wait_for_enter(long seconds)
{
	struct pollfd input = {.fd = STDIN_FILENO, .events = POLLIN};
	int ready;
	/* No handlers here, so EINTR is unlikely (a stop and continue can cause it); retry then. */
	while ((ready = poll(&input, 1, (int)(seconds * 1000))) < 0 && errno == EINTR)
		;
	if (ready < 0) {
		perror("zombie: poll standard input");
	} else if (ready > 0) {
		char line[256];
		if (read(STDIN_FILENO, line, sizeof line) < 0)
			perror("zombie: read standard input");
	}
}

int main(int argc, char **argv)
{
	/* Before anything else: with --help, print the text above and do nothing more. */
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		if (fputs(help, stdout) == EOF || fflush(stdout) != 0) {
			perror("zombie: write standard output");
			return EX_IOERR;
		}
		return 0;
	}
	long seconds = 30;
	if (argc > 2 || (argc == 2 && !parse_number(argv[1], 0, 3600, &seconds))) {
		fprintf(stderr, "usage: zombie [SECONDS]   (0-3600; try 'zombie --help')\n");
		return EX_USAGE;
	}
	/* Line-buffered even into a pipe, so that nothing sits in the buffer when we fork. */
	if (setvbuf(stdout, NULL, _IOLBF, 0) != 0) {
		fprintf(stderr, "zombie: setvbuf: cannot buffer by line\n");
		return EX_OSERR;
	}

	pid_t child = fork();
	if (child < 0) {
		perror("zombie: fork");
		return EX_OSERR;
	}
	if (child == 0) {
		printf("child:  pid=%ld, exiting with status 7\n", (long)getpid());
		exit(7);
	}
	printf("parent: pid=%ld, child=%ld; not calling wait yet\n", (long)getpid(), (long)child);

	/*
	 * Wait until the child has ended, but leave it unreaped: WNOWAIT makes
	 * waitid report the death without collecting the status, so the child
	 * stays a zombie. (Sleeping "long enough" instead would be a guess.)
	 */
	siginfo_t info;
	while (waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT) != 0) {
		if (errno != EINTR) {
			perror("zombie: waitid");
			return EX_OSERR;
		}
	}
	char line[512];
	char state = process_state(child, line, sizeof line);
	if (state == 0) {
		fprintf(stderr, "zombie: /proc/%ld/stat: %s\n", (long)child, strerror(errno));
		return EX_OSERR;
	}
	printf("parent: /proc/%ld/stat begins \"%s\"\n", (long)child, line);
	printf("parent: child %ld state=%c%s\n", (long)child, state,
	       state == 'Z' ? " (a zombie: ended, not yet waited for)" : "");
	printf("parent: try: ps -o pid,ppid,stat,comm --ppid %ld\n", (long)getpid());
	printf("parent: press Enter to reap it (or wait %ld s)\n", seconds);
	wait_for_enter(seconds);

	int status;
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("zombie: waitpid");
			return EX_OSERR;
		}
	}
	printf("parent: reaped child %ld: exited %d\n", (long)child, WEXITSTATUS(status));

	/* The kernel forgot it when waitpid returned: /proc has no entry for it any more. */
	state = process_state(child, line, sizeof line);
	if (state != 0) {
		printf("parent: child %ld still there? state=%c\n", (long)child, state);
		return EX_SOFTWARE;
	}
	printf("parent: child %ld state=gone (/proc/%ld: %s)\n", (long)child, (long)child,
	       strerror(errno));
	return 0;
}
