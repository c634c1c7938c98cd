/*
 * Lab 7 of 10: sigaction_ignore -- ignore a signal for a while, then put back what was there.
 * Course: signalsecond.c.
 *
 * What it shows: sigaction() sets SIGINT's action to SIG_IGN and, through its
 * third argument, hands back the action that was there before. After SECONDS
 * the saved action is put back. "Put back" is not "set to SIG_DFL": a program
 * started with SIGINT already ignored (a background job of a script, say)
 * must keep ignoring it, and restoring the saved action does just that.
 *
 * Run and watch: in help[] below, which `sigaction_ignore --help` prints.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

/* What to run and what to watch: printed by --help (or -h). */
static const char help[] =
	"sigaction_ignore -- ignore a signal for a while, then put back what was there (lab 7 of 10)\n"
	"\n"
	"Run:    build/examples/sigaction_ignore [SECONDS]     (1-3600, default 5)\n"
	"Watch:  Ctrl-C does nothing during the first SECONDS (\"ignoring SIGINT\");\n"
	"        after \"restored\", Ctrl-C ends the program. /proc shows the switch:\n"
	"        in `grep SigIgn /proc/PID/status` the bit for signal 2 (SIGINT,\n"
	"        value 0x2) is set while ignoring. An ignored signal is discarded,\n"
	"        not kept for later. Started from a script with `&`, SIGINT was\n"
	"        ignored to begin with: the program says so and keeps it ignored.\n";

static bool parse_number(const char *text, long min, long max, long *value)
{
	char *end;
	errno = 0;
	*value = strtol(text, &end, 10);
	return errno == 0 && end != text && *end == '\0' && *value >= min && *value <= max;
}

static const char *action_name(const struct sigaction *action)
{
	if (action->sa_handler == SIG_DFL)
		return "SIG_DFL";
	if (action->sa_handler == SIG_IGN)
		return "SIG_IGN";
	return "a handler";
}

/* Counts SECONDS down, one line a second. */
static void count_down(const char *what, long seconds)
{
	for (long left = seconds; left > 0; left--) {
		printf("%s: %ld s left\n", what, left);
		/* sleep returns early only for a caught signal; none is caught here. */
		unsigned rest = 1;
		while (rest > 0)
			rest = sleep(rest);
	}
}

int main(int argc, char **argv)
{
	/* Before anything else: with --help, print the text above and do nothing more. */
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		if (fputs(help, stdout) == EOF || fflush(stdout) != 0) {
			perror("sigaction_ignore: write standard output");
			return EX_IOERR;
		}
		return 0;
	}
	long seconds = 5;
	if (argc > 2 || (argc == 2 && !parse_number(argv[1], 1, 3600, &seconds))) {
		fprintf(stderr, "usage: sigaction_ignore [SECONDS]   (1-3600; try 'sigaction_ignore --help')\n");
		return EX_USAGE;
	}
	if (setvbuf(stdout, NULL, _IOLBF, 0) != 0) { /* a line at a time, even into a pipe */
		fprintf(stderr, "sigaction_ignore: setvbuf: cannot buffer by line\n");
		return EX_OSERR;
	}

	struct sigaction ignore, saved;
	memset(&ignore, 0, sizeof ignore);
	ignore.sa_handler = SIG_IGN;
	if (sigemptyset(&ignore.sa_mask) != 0 || sigaction(SIGINT, &ignore, &saved) != 0) {
		perror("sigaction_ignore: sigaction SIGINT");
		return EX_OSERR;
	}
	printf("sigaction_ignore: pid=%ld; SIGINT was %s, now SIG_IGN: ignoring SIGINT for %ld s, "
	       "try Ctrl-C\n",
	       (long)getpid(), action_name(&saved), seconds);
	count_down("ignoring SIGINT", seconds);

	if (sigaction(SIGINT, &saved, NULL) != 0) {
		perror("sigaction_ignore: sigaction SIGINT (restore)");
		return EX_OSERR;
	}
	printf("sigaction_ignore: restored SIGINT to %s%s\n", action_name(&saved),
	       saved.sa_handler == SIG_DFL ? ": Ctrl-C ends the program now" : "");
	count_down("restored", seconds);
	printf("sigaction_ignore: done\n");
	return 0;
}
