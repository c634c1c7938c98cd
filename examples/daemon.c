/*
 * Lab 9 of 10: daemon -- a process that leaves its terminal and session behind.
 * Course: daemonOSNW.c.
 *
 * What it shows: the steps that turn a program started from a shell into a
 * daemon, each for a reason:
 *   1. fork; the parent returns to the shell. The child is not a process
 *      group leader, which setsid requires.
 *   2. setsid: a new session and process group, without a controlling
 *      terminal, so Ctrl-C and a closing terminal (SIGHUP) no longer reach it.
 *   3. fork again; the session leader exits. The daemon is not a session
 *      leader, so opening a terminal can never make it its controlling one.
 *   4. chdir("/"): it keeps no directory busy (one on a disk to unmount, say).
 *   5. umask(022): the modes of the files it creates do not depend on who
 *      started it.
 *   6. standard input, output and error on /dev/null. Not closed, as the
 *      course does: the next file or socket opened would then take descriptor
 *      0, 1 or 2, and any stray printf or library message would go into it.
 * Before all this it closes every other descriptor it inherited: one could
 * be the end of a pipe that someone waits to see closed.
 * Then it writes its pid to PIDFILE and counts in LOGFILE until SIGTERM,
 * when it logs, removes PIDFILE and exits. The parent waits until the daemon
 * is ready (its pid written), so that `cat PIDFILE` right after works.
 *
 * Run and watch: in help[] below, which `daemon --help` prints.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

/* What to run and what to watch: printed by --help (or -h). */
static const char help[] =
	"daemon -- a process that leaves its terminal and session behind (lab 9 of 10)\n"
	"\n"
	"Run:    build/examples/daemon /tmp/lab.pid /tmp/lab.log [MILLISECONDS]\n"
	"        tail -f /tmp/lab.log\n"
	"        ps -o pid,ppid,pgid,sid,tty,stat,comm -p $(cat /tmp/lab.pid)\n"
	"        kill $(cat /tmp/lab.pid)\n"
	"Watch:  the prompt comes back at once; ps shows parent 1 (or your session's\n"
	"        subreaper, such as systemd --user), TTY \"?\", a session of its own\n"
	"        that it does not lead; the log gains a line every MILLISECONDS\n"
	"        (default 1000); after kill, \"stopping\" and no pidfile.\n"
	"        Both paths must be absolute: the daemon works from /.\n";

static bool parse_number(const char *text, long min, long max, long *value)
{
	char *end;
	errno = 0;
	*value = strtol(text, &end, 10);
	return errno == 0 && end != text && *end == '\0' && *value >= min && *value <= max;
}

/* One line in the log: time, pid, message. (The attribute lets the compiler check the format.) */
static void log_line(int log_fd, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void log_line(int log_fd, const char *format, ...)
{
	char stamp[32], message[256];
	time_t now = time(NULL);
	struct tm local;
	if (localtime_r(&now, &local) == NULL ||
	    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &local) == 0)
		strcpy(stamp, "?");
	va_list args;
	va_start(args, format);
	vsnprintf(message, sizeof message, format, args); /* cut to fit, if need be */
	va_end(args);
	char line[sizeof stamp + sizeof message + 32]; /* room for all of it */
	int length = snprintf(line, sizeof line, "%s pid=%ld %s\n", stamp, (long)getpid(), message);
	/* One write per line, and O_APPEND: lines never mix, even from several processes. */
	ssize_t written = write(log_fd, line, (size_t)length);
	(void)written; /* if the log fails, there is nowhere left to say so: stderr is /dev/null */
}

/*
 * The original process: reap the first child (it exits right after the
 * second fork) and wait for the daemon's pid on the pipe. End of file
 * instead means the daemon failed; it has said why on standard error.
 */
static int wait_until_ready(pid_t child, int ready_fd, const char *pid_path)
{
	int status;
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("daemon: waitpid");
			return EX_OSERR;
		}
	}
	pid_t daemon_pid;
	ssize_t count;
	while ((count = read(ready_fd, &daemon_pid, sizeof daemon_pid)) < 0 && errno == EINTR)
		;
	if (close(ready_fd) != 0)
		perror("daemon: close");
	if (count != (ssize_t)sizeof daemon_pid) {
		fprintf(stderr, "daemon: the daemon did not start\n");
		if (unlink(pid_path) != 0 && errno != ENOENT)
			fprintf(stderr, "daemon: remove %s: %s\n", pid_path, strerror(errno));
		return EX_OSERR;
	}
	printf("daemon: started, pid=%ld, pidfile %s\n", (long)daemon_pid, pid_path);
	return 0;
}

/* Descriptors 0, 1 and 2 onto /dev/null. */
static int streams_to_null(void)
{
	int null = open("/dev/null", O_RDWR);
	if (null < 0)
		return -1;
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(null, fd) < 0)
			return -1;
	return null > 2 ? close(null) : 0;
}

/* The daemon itself, after the second fork. Returns its exit status. */
static int run(int log_fd, int pid_fd, int ready_fd, const char *pid_path, long interval_ms)
{
	if (chdir("/") != 0) {
		perror("daemon: chdir /"); /* standard error is still the terminal here */
		return EX_OSERR;
	}
	umask(022); /* umask cannot fail; it returns the old mask */
	if (dprintf(pid_fd, "%ld\n", (long)getpid()) < 0 || close(pid_fd) != 0) {
		perror("daemon: write pidfile");
		return EX_IOERR;
	}
	/*
	 * SIGTERM blocked and taken with sigtimedwait, rather than by a handler:
	 * it is only ever seen at one point of the loop, so it cannot slip in
	 * between a check of a flag and a sleep.
	 */
	sigset_t term;
	if (sigemptyset(&term) != 0 || sigaddset(&term, SIGTERM) != 0 ||
	    sigprocmask(SIG_BLOCK, &term, NULL) != 0) {
		perror("daemon: block SIGTERM");
		return EX_OSERR;
	}
	if (streams_to_null() != 0) {
		perror("daemon: standard streams to /dev/null");
		return EX_OSERR;
	}
	/* Ready: the parent may go. From here on, errors can only go to the log. */
	pid_t me = getpid();
	if (write(ready_fd, &me, sizeof me) != (ssize_t)sizeof me || close(ready_fd) != 0) {
		log_line(log_fd, "telling the parent we are ready: %s", strerror(errno));
		return EX_OSERR;
	}
	log_line(log_fd, "started, session=%ld group=%ld", (long)getsid(0), (long)getpgrp());

	struct timespec interval = {.tv_sec = interval_ms / 1000,
				    .tv_nsec = (interval_ms % 1000) * 1000000L};
	unsigned long count = 0;
	for (;;) {
		int signo = sigtimedwait(&term, NULL, &interval);
		if (signo == SIGTERM)
			break;
		if (signo < 0 && errno == EAGAIN) /* the interval passed without SIGTERM */
			log_line(log_fd, "count=%lu", ++count);
		else if (signo < 0 && errno != EINTR) {
			log_line(log_fd, "sigtimedwait: %s", strerror(errno));
			return EX_OSERR;
		}
	}
	log_line(log_fd, "stopping on SIGTERM after count=%lu; removing %s", count, pid_path);
	if (unlink(pid_path) != 0)
		log_line(log_fd, "remove %s: %s", pid_path, strerror(errno));
	return close(log_fd) == 0 ? 0 : EX_IOERR;
}

int main(int argc, char **argv)
{
	/* Before anything else: with --help, print the text above and do nothing more. */
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		if (fputs(help, stdout) == EOF || fflush(stdout) != 0) {
			perror("daemon: write standard output");
			return EX_IOERR;
		}
		return 0;
	}
	long interval_ms = 1000;
	if (argc < 3 || argc > 4 || argv[1][0] != '/' || argv[2][0] != '/' ||
	    (argc == 4 && !parse_number(argv[3], 1, 60000, &interval_ms))) {
		fprintf(stderr, "usage: daemon /ABSOLUTE/PIDFILE /ABSOLUTE/LOGFILE [MILLISECONDS]"
				"   (1-60000; try 'daemon --help')\n");
		return EX_USAGE;
	}
	const char *pid_path = argv[1], *log_path = argv[2];

	/* Descriptors from 3 up are not ours: whoever started us may have left some open. */
	if (close_range(3, ~0U, 0) != 0) {
		perror("daemon: close_range");
		return EX_OSERR;
	}

	/* Open both files now, while errors still reach the terminal. */
	int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log_fd < 0) {
		fprintf(stderr, "daemon: open %s: %s\n", log_path, strerror(errno));
		return EX_CANTCREAT;
	}
	/* O_EXCL: a pidfile already there means a daemon may be running. */
	int pid_fd = open(pid_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (pid_fd < 0) {
		fprintf(stderr, "daemon: create %s: %s%s\n", pid_path, strerror(errno),
			errno == EEXIST ? " (running already? if not, remove it)" : "");
		return EX_CANTCREAT;
	}
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) != 0) {
		perror("daemon: pipe");
		return EX_OSERR;
	}
	if (fflush(stdout) != 0) { /* nothing buffered may be copied by fork */
		perror("daemon: write standard output");
		return EX_IOERR;
	}

	pid_t child = fork(); /* step 1 */
	if (child < 0) {
		perror("daemon: fork");
		return EX_OSERR;
	}
	if (child > 0) {
		if (close(ready[1]) != 0 || close(pid_fd) != 0 || close(log_fd) != 0)
			perror("daemon: close");
		return wait_until_ready(child, ready[0], pid_path);
	}

	if (close(ready[0]) != 0)
		perror("daemon: close");
	if (setsid() < 0) { /* step 2 */
		perror("daemon: setsid");
		_exit(EX_OSERR);
	}
	pid_t grandchild = fork(); /* step 3 */
	if (grandchild < 0) {
		perror("daemon: second fork");
		_exit(EX_OSERR);
	}
	if (grandchild > 0)
		_exit(0); /* _exit: stdio and atexit belong to the process that goes on */
	/* Steps 4 to 6, and the work. exit, not _exit: this is now the process that goes on. */
	exit(run(log_fd, pid_fd, ready[1], pid_path, interval_ms));
}
