/*
 * Lab 8 of 10: alarm_timeout -- alarm() and SIGALRM cut a blocking read short.
 * Course: signal.c (alarm, and sleep cut short by SIGALRM).
 *
 * What it shows: read() on a terminal blocks until a line comes. alarm(N)
 * asks the kernel for SIGALRM in N seconds; the handler runs, and because it
 * was installed without SA_RESTART, the interrupted read() returns -1 with
 * errno EINTR instead of carrying on: the wait is over. With SA_RESTART (or
 * with glibc's signal(), which sets it) read() would simply resume and the
 * alarm would cut nothing short. alarm(0) cancels the alarm once the line is
 * in, and tells how many seconds were left.
 *
 * Run and watch: in help[] below, which `alarm_timeout --help` prints.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

/* What to run and what to watch: printed by --help (or -h). */
static const char help[] =
	"alarm_timeout -- alarm() and SIGALRM cut a blocking read short (lab 8 of 10)\n"
	"\n"
	"Run:    build/examples/alarm_timeout [SECONDS]     (1-3600, default 5)\n"
	"Watch:  type a line in time: \"result=line\"; wait: \"result=timeout\" after\n"
	"        SECONDS, exit status 1; Ctrl-D: \"result=eof\".\n";

static volatile sig_atomic_t timed_out;

/*
 * The handler sets a flag; main does the rest, the message included (the
 * course's handler prints; printf is not async-signal-safe, and the signal
 * may come while main is inside printf). alarm() is async-signal-safe:
 * asking again for one more second covers the one race here. Had SIGALRM
 * come after main looked at the flag but before read() started to block, that
 * read() would wait for a line forever; the second alarm interrupts it.
 */
static void on_sigalrm(int signo)
{
	(void)signo;
	timed_out = 1;
	alarm(1); /* alarm sets no errno: nothing to save */
}

static bool parse_number(const char *text, long min, long max, long *value)
{
	char *end;
	errno = 0;
	*value = strtol(text, &end, 10);
	return errno == 0 && end != text && *end == '\0' && *value >= min && *value <= max;
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now); /* cannot fail with this clock and a valid pointer */
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
	/* Before anything else: with --help, print the text above and do nothing more. */
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		if (fputs(help, stdout) == EOF || fflush(stdout) != 0) {
			perror("alarm_timeout: write standard output");
			return EX_IOERR;
		}
		return 0;
	}
	long seconds = 5;
	if (argc > 2 || (argc == 2 && !parse_number(argv[1], 1, 3600, &seconds))) {
		fprintf(stderr, "usage: alarm_timeout [SECONDS]   (1-3600; try 'alarm_timeout --help')\n");
		return EX_USAGE;
	}
	struct sigaction action;
	memset(&action, 0, sizeof action);
	action.sa_handler = on_sigalrm;
	action.sa_flags = 0; /* no SA_RESTART: that is the whole point */
	if (sigemptyset(&action.sa_mask) != 0 || sigaction(SIGALRM, &action, NULL) != 0) {
		perror("alarm_timeout: sigaction SIGALRM");
		return EX_OSERR;
	}
	printf("alarm_timeout: type a line within %ld s\n", seconds);
	if (fflush(stdout) != 0) {
		perror("alarm_timeout: write standard output");
		return EX_IOERR;
	}

	struct timespec start;
	if (clock_gettime(CLOCK_MONOTONIC, &start) != 0) {
		perror("alarm_timeout: clock_gettime");
		return EX_OSERR;
	}
	char line[256] = "";
	size_t length = 0;
	bool eof = false;
	alarm((unsigned)seconds);
	/* Read up to a newline: on a pipe a line may come in pieces. */
	while (!timed_out && length < sizeof line - 1 && memchr(line, '\n', length) == NULL) {
		ssize_t count = read(STDIN_FILENO, line + length, sizeof line - 1 - length);
		if (count < 0 && errno == EINTR)
			continue; /* the alarm, most likely: the loop looks at the flag */
		if (count < 0) {
			perror("alarm_timeout: read standard input");
			return EX_IOERR;
		}
		if (count == 0) {
			eof = true;
			break;
		}
		length += (size_t)count;
	}
	unsigned left = alarm(0); /* cancel it; what was left comes back */
	line[length] = '\0';

	if (memchr(line, '\n', length) != NULL || (length > 0 && !timed_out)) {
		line[strcspn(line, "\n")] = '\0';
		printf("alarm_timeout: result=line \"%s\" after %.2f s, alarm cancelled with %u s left\n",
		       line, seconds_since(&start), left);
		return 0;
	}
	if (eof) {
		printf("alarm_timeout: result=eof after %.2f s, alarm cancelled with %u s left\n",
		       seconds_since(&start), left);
		return 0;
	}
	printf("alarm_timeout: result=timeout after %.2f s: SIGALRM interrupted read() (EINTR)\n",
	       seconds_since(&start));
	return 1;
}
