/*
 * Lab 6 of 10: sigint_lives -- a SIGINT handler, and giving the default back.
 * Course: signalbasic.c.
 *
 * What it shows: sigaction installs a handler for SIGINT (Ctrl-C), so Ctrl-C
 * no longer ends the program: each one costs a life. After the last life the
 * handler puts back the default action (SIG_DFL), and the next Ctrl-C ends
 * the program the usual way.
 *
 * Run and watch: in help[] below, which `sigint_lives --help` prints.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

/* What to run and what to watch: printed by --help (or -h). */
static const char help[] =
	"sigint_lives -- a SIGINT handler, and giving the default back (lab 6 of 10)\n"
	"\n"
	"Run:    build/examples/sigint_lives      then press Ctrl-C, eleven times\n"
	"        (or from another terminal: kill -INT PID)\n"
	"Watch:  \"SIGINT caught, lives=9\" ... \"lives=0\", then the shell's prompt\n"
	"        after the eleventh. Press Ctrl-C fast, or send several kill -INT at\n"
	"        once, and you may lose fewer lives than you pressed: signals\n"
	"        arriving while one is pending merge into one (lab 5 shows the same\n"
	"        with SIGCHLD). kill -TERM PID ends it at any time.\n";

#define LIVES 10 /* the messages below assume a single digit is left after the first catch */

static volatile sig_atomic_t lives = LIVES;

/* write() until done or failed; async-signal-safe, unlike printf. */
static void write_all(const char *text, size_t length)
{
	while (length > 0) {
		ssize_t count = write(STDOUT_FILENO, text, length);
		if (count < 0 && errno == EINTR)
			continue;
		if (count <= 0)
			return; /* nothing sensible can be done about it inside a handler */
		text += count;
		length -= (size_t)count;
	}
}

/*
 * The handler may only call async-signal-safe functions: write and sigaction
 * are; printf is not. The course's version prints with printf here: if the
 * signal comes while the program is inside printf (or malloc, or anything
 * holding a lock or half-updated data), the handler's printf works on that
 * half-updated state. That class of bug is what made OpenSSH's regreSSHion
 * (CVE-2024-6387) exploitable. So the line is built by hand and written.
 */
static void on_sigint(int signo)
{
	int saved_errno = errno; /* write may change errno under the interrupted code's feet */
	(void)signo;
	lives--;
	char line[] = "SIGINT caught, lives=N\n";
	line[sizeof line - 3] = (char)('0' + lives);
	if (lives == 0) {
		/* The default back first, so that the line below is only seen once it holds. */
		struct sigaction action;
		memset(&action, 0, sizeof action);
		action.sa_handler = SIG_DFL;
		if (sigemptyset(&action.sa_mask) != 0 || sigaction(SIGINT, &action, NULL) != 0) {
			static const char failed[] = "sigint_lives: sigaction failed\n";
			write_all(failed, sizeof failed - 1);
			_exit(EX_OSERR);
		}
	}
	write_all(line, sizeof line - 1);
	if (lives == 0) {
		static const char last[] = "no lives left: SIGINT has its default action again; "
					   "the next one ends the program\n";
		write_all(last, sizeof last - 1);
	}
	errno = saved_errno;
}

int main(int argc, char **argv)
{
	/* Before anything else: with --help, print the text above and do nothing more. */
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		if (fputs(help, stdout) == EOF || fflush(stdout) != 0) {
			perror("sigint_lives: write standard output");
			return EX_IOERR;
		}
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: sigint_lives   (no arguments; try 'sigint_lives --help')\n");
		return EX_USAGE;
	}
	struct sigaction action;
	memset(&action, 0, sizeof action);
	action.sa_handler = on_sigint;
	/* sa_mask empty: SIGINT itself stays blocked while its handler runs, by default. */
	if (sigemptyset(&action.sa_mask) != 0 || sigaction(SIGINT, &action, NULL) != 0) {
		perror("sigint_lives: sigaction SIGINT");
		return EX_OSERR;
	}
	printf("sigint_lives: pid=%ld lives=%d: press Ctrl-C (kill -INT %ld)\n", (long)getpid(),
	       LIVES, (long)getpid());
	/* Before the first handler's write: what printf holds must come out first. */
	if (fflush(stdout) != 0) {
		perror("sigint_lives: write standard output");
		return EX_IOERR;
	}
	/* Nothing to do but wait for signals; pause returns (-1, EINTR) after each handler. */
	for (;;)
		pause();
}
