/*
 * Lab 10 of 10: iterative_vs_fork -- why servers fork.
 * Course: tcpfirstsrv.c (iterative), multiProcessTcpServer.c and echo_mpserv.c
 * (fork per client), tcptestclnt.c (a second client).
 *
 * What it shows: an iterative server serves one client at a time; while it
 * does, the next client waits. Its connect() succeeds (the kernel completes
 * the handshake and queues the connection in the listen backlog), but nobody
 * accepts it, so its data is not answered until the first client leaves. The
 * fork server accepts at once and hands each connection to a child process,
 * so the second client is served while the first is still connected.
 *
 * Run and watch: in help[] below, which `iterative_vs_fork --help` prints.
 *
 * This lab keeps to the mechanism. Stopping gracefully without races (the
 * signal arriving just before the server waits) takes more: see how
 * forknet's own server does it in src/server/model_fork.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

/* What to run and what to watch: printed by --help (or -h). */
static const char help[] =
	"iterative_vs_fork -- why servers fork (lab 10 of 10)\n"
	"\n"
	"Run:    build/examples/iterative_vs_fork iterative [PORT]   (or: fork [PORT])\n"
	"        It prints \"listening on 127.0.0.1:PORT\" (PORT 0, the default, lets\n"
	"        the kernel choose). Then, in two more terminals, the same client:\n"
	"            build/forknet echo-client 127.0.0.1 PORT\n"
	"        Type a line in the first, then in the second.\n"
	"Watch:  against \"iterative\", the second client's lines come back only\n"
	"        once the first has typed END (or Ctrl-D); against \"fork\", at once.\n"
	"        With `ps -o pid,ppid,stat,cmd --ppid SERVER_PID` you see one child\n"
	"        per client under \"fork\", and no zombie after a client leaves.\n"
	"        Ctrl-C ends the server, and with it its children\n"
	"        (see serve_forked() in examples/iterative_vs_fork.c).\n";

static const char *mode; /* "iterative" or "fork", for the log lines */

static bool parse_number(const char *text, long min, long max, long *value)
{
	char *end;
	errno = 0;
	*value = strtol(text, &end, 10);
	return errno == 0 && end != text && *end == '\0' && *value >= min && *value <= max;
}

/* Echoes what FD sends until it closes, by byte count (never strlen: bytes are bytes). */
static long echo(int fd)
{
	char buffer[4096];
	long total = 0;
	for (;;) {
		ssize_t count = read(fd, buffer, sizeof buffer);
		if (count == 0)
			return total;
		if (count < 0) {
			if (errno == EINTR)
				continue;
			return total; /* a reset client: nothing more to echo */
		}
		for (ssize_t sent = 0; sent < count;) { /* write may take less than asked */
			ssize_t n = write(fd, buffer + sent, (size_t)(count - sent));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return total;
			sent += n;
		}
		total += count;
	}
}

/*
 * SIGCHLD: reap every child that has ended, in the handler. waitpid is
 * async-signal-safe; the loop matters because signals merge (lab 5). errno
 * is saved: the handler may interrupt code that is about to read it.
 */
static void reap(int signo)
{
	int saved_errno = errno;
	(void)signo;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved_errno;
}

/* close(), and a word should it fail: the descriptor is released all the same on Linux. */
static void close_or_say(int fd)
{
	if (close(fd) != 0)
		perror("iterative_vs_fork: close");
}

/* The fork server's part for one client: a child serves it, the parent goes back to accept. */
static void serve_forked(int listener, int fd, const char *peer)
{
	pid_t pid = fork();
	if (pid < 0) {
		perror("iterative_vs_fork: fork"); /* no child: this client is dropped */
		close_or_say(fd);
		return;
	}
	if (pid == 0) {
		/* End with the server: should it die, the kernel sends us SIGTERM. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
			_exit(EX_OSERR);
		close_or_say(listener); /* the child serves; accepting is the parent's job */
		long bytes = echo(fd);
		printf("%s: child %ld: %s closed, %ld bytes echoed\n", mode, (long)getpid(), peer, bytes);
		_exit(0);
	}
	printf("%s: child %ld serves %s\n", mode, (long)pid, peer);
	close_or_say(fd); /* the parent's copy: without this, the client never sees the end */
}

int main(int argc, char **argv)
{
	/* Before anything else: with --help, print the text above and do nothing more. */
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		if (fputs(help, stdout) == EOF || fflush(stdout) != 0) {
			perror("iterative_vs_fork: write standard output");
			return EX_IOERR;
		}
		return 0;
	}
	long port = 0;
	if (argc < 2 || argc > 3 ||
	    (strcmp(argv[1], "iterative") != 0 && strcmp(argv[1], "fork") != 0) ||
	    (argc == 3 && !parse_number(argv[2], 0, 65535, &port))) {
		fprintf(stderr, "usage: iterative_vs_fork iterative|fork [PORT]   "
				"(0-65535; try 'iterative_vs_fork --help')\n");
		return EX_USAGE;
	}
	/* Line by line, so that the logs of the parent and its children do not mix. */
	if (setvbuf(stdout, NULL, _IOLBF, 0) != 0) {
		fprintf(stderr, "iterative_vs_fork: setvbuf: cannot buffer by line\n");
		return EX_OSERR;
	}
	mode = argv[1];
	bool forking = strcmp(mode, "fork") == 0;

	if (forking) {
		struct sigaction action;
		memset(&action, 0, sizeof action);
		action.sa_handler = reap;
		/* SA_RESTART: accept() goes on after the handler instead of failing with EINTR. */
		action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
		if (sigaction(SIGCHLD, &action, NULL) != 0) {
			perror("iterative_vs_fork: sigaction");
			return EX_OSERR;
		}
	}

	int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				      .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t length = sizeof address; /* socklen_t, not int: what the socket calls take */
	if (listener < 0 || setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(listener, (struct sockaddr *)&address, sizeof address) != 0 ||
	    listen(listener, 16) != 0 ||
	    getsockname(listener, (struct sockaddr *)&address, &length) != 0) {
		perror("iterative_vs_fork: listen");
		return EX_UNAVAILABLE;
	}
	printf("%s: listening on 127.0.0.1:%u\n", mode, ntohs(address.sin_port));

	for (;;) {
		struct sockaddr_in client;
		socklen_t client_length = sizeof client;
		int fd = accept4(listener, (struct sockaddr *)&client, &client_length, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("iterative_vs_fork: accept");
			return EX_OSERR;
		}
		char peer[INET_ADDRSTRLEN + 8];
		char host[INET_ADDRSTRLEN];
		if (inet_ntop(AF_INET, &client.sin_addr, host, sizeof host) == NULL)
			strcpy(host, "?");
		snprintf(peer, sizeof peer, "%s:%u", host, ntohs(client.sin_port));
		printf("%s: connection from %s\n", mode, peer);
		if (forking) {
			serve_forked(listener, fd, peer);
		} else {
			/* Iterative: this client has the server to itself until it leaves. */
			long bytes = echo(fd);
			close_or_say(fd);
			printf("%s: %s closed, %ld bytes echoed\n", mode, peer, bytes);
		}
	}
}
