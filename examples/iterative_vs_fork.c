/*
 * Lab 10 of 10: iterative_vs_fork -- why servers fork.
 * Course: tcpfirstsrv.c (iterative), multiProcessTcpServer.c and echo_mpserv.c
 * (fork per client), tcptestclnt.c (a second client).
 *
 * What it shows: an iterative server serves one client at a time; while it
 * does, the next client waits. Its connect() succeeds (the kernel completes
 * the handshake and queues the connection in the listen backlog), but nobody
 * accepts it, so its data is not answered until the first client leaves. The
 * fork server accepts at once and hands each connection to a child process:
 * the second client is served while the first is still connected.
 *
 * Run, in two terminals:
 *   build/examples/iterative_vs_fork iterative [PORT]     or: ... fork [PORT]
 *       an echo server on 127.0.0.1; it prints "listening on 127.0.0.1:PORT"
 *       (PORT 0, the default, lets the kernel choose). Ctrl-C or SIGTERM stops it.
 *   build/examples/iterative_vs_fork client PORT [HOLD_MS]
 *       two clients in one: the first connects, is echoed, and stays
 *       connected; the second sends a line meanwhile and times its echo. If
 *       none comes within HOLD_MS (default 2000), the first disconnects.
 *       Or use two `nc 127.0.0.1 PORT` by hand.
 * Watch:  against "iterative", the client says waited=yes and about HOLD_MS;
 *         against "fork", waited=no and a few ms, and the server log shows a
 *         child per connection, each reaped when it ends (no zombies). On
 *         SIGTERM the fork server stops its children and reaps them first.
 *
 * Signals: SIGINT, SIGTERM and SIGCHLD are blocked all the time except inside
 * ppoll(), the one place the server waits. A signal thus never lands between
 * a look at the flags and the wait (the race OpenSSH's server_accept_loop
 * closes the same way), and no other call is ever interrupted. forknet's own
 * servers, src/server/model_iterative.c and model_fork.c, get the same from
 * a self-pipe that poll watches with the sockets (src/lib/sig.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHILDREN 16

static volatile sig_atomic_t stop_signal; /* SIGINT or SIGTERM, once one has come */
static volatile sig_atomic_t child_ended;
static sigset_t wait_mask; /* the signal mask while in ppoll: the caught signals let in */
static const char *mode;   /* "iterative" or "fork", for the log lines */

/*
 * The handler only records what came (it touches no errno); the loops do the
 * work, logging included: printf is not async-signal-safe.
 */
static void on_signal(int signo)
{
	if (signo == SIGCHLD)
		child_ended = 1;
	else
		stop_signal = signo;
}

/* One log line: "MODE[PID]: message". (The attribute lets the compiler check the format.) */
static void say(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *format, ...)
{
	va_list args;
	va_start(args, format);
	printf("%s[%ld]: ", mode, (long)getpid());
	vprintf(format, args);
	putchar('\n');
	va_end(args);
}

/* Waits until FD is ready for EVENTS; -1 with errno EINTR if a signal came first. */
static int wait_for(int fd, short events)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	return ppoll(&pfd, 1, NULL, &wait_mask) < 0 ? -1 : 0;
}

/*
 * Echoes what FD sends until it closes: 0, or -1 with errno set (EINTR if
 * stopped). By count, not strlen: network data is bytes, NUL bytes included,
 * and one read is not one message. MSG_DONTWAIT: only ppoll waits. MSG_NOSIGNAL:
 * a vanished client is an EPIPE error, not a SIGPIPE that kills the server.
 */
static int echo(int fd, unsigned long *bytes)
{
	char buffer[4096];
	while (!stop_signal) {
		if (wait_for(fd, POLLIN) < 0)
			continue; /* EINTR: the loop looks at the flag */
		ssize_t count = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
		if (count == 0)
			return 0;
		if (count < 0 && errno == EAGAIN)
			continue; /* nothing after all */
		if (count < 0)
			return -1;
		for (ssize_t sent = 0; sent < count && !stop_signal;) {
			ssize_t n = send(fd, buffer + sent, (size_t)(count - sent),
					 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN)
				return -1;
			if (n < 0)
				wait_for(fd, POLLOUT); /* EINTR or ready: the loop decides */
			else
				sent += n;
		}
		*bytes += (unsigned long)count;
	}
	errno = EINTR;
	return -1;
}

/* Serves one client, closes the connection, and logs how it went; 0 if all went well. */
static int serve(int fd, const char *peer)
{
	unsigned long bytes = 0;
	int result = echo(fd, &bytes);
	if (result == 0)
		say("%s closed, %lu bytes echoed", peer, bytes);
	else if (stop_signal)
		say("%s cut short by the stop, %lu bytes echoed", peer, bytes);
	else
		say("%s: %s, %lu bytes echoed", peer, strerror(errno), bytes);
	if (close(fd) != 0) {
		say("close %s: %s", peer, strerror(errno));
		result = -1;
	}
	return result;
}

static void log_child_status(pid_t pid, int status)
{
	if (WIFEXITED(status))
		say("child %ld exited %d", (long)pid, WEXITSTATUS(status));
	else
		say("child %ld killed by signal %d", (long)pid, WTERMSIG(status));
}

/* Reaps every ended child (one SIGCHLD may stand for several; see lab 5). */
static void reap(pid_t *children, size_t *count)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		log_child_status(pid, status);
		for (size_t i = 0; i < *count; i++) {
			if (children[i] == pid) {
				children[i] = children[--*count];
				break;
			}
		}
	}
}

/* Installs the handler, sets wait_mask, and blocks SIGINT, SIGTERM and SIGCHLD. */
static int catch_signals(void)
{
	static const int caught[] = {SIGINT, SIGTERM, SIGCHLD};
	sigset_t blocked;
	if (sigemptyset(&blocked) != 0 || sigprocmask(SIG_BLOCK, NULL, &wait_mask) != 0)
		return -1;
	for (size_t i = 0; i < sizeof caught / sizeof caught[0]; i++) {
		struct sigaction action = {.sa_handler = on_signal,
					   .sa_flags = caught[i] == SIGCHLD ? SA_NOCLDSTOP : 0};
		if (sigemptyset(&action.sa_mask) != 0 || sigaction(caught[i], &action, NULL) != 0 ||
		    sigaddset(&blocked, caught[i]) != 0 || sigdelset(&wait_mask, caught[i]) != 0)
			return -1;
	}
	return sigprocmask(SIG_BLOCK, &blocked, NULL);
}

static int run_server(bool forking, unsigned port)
{
	mode = forking ? "fork" : "iterative";
	struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				      .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t length = sizeof address;
	int on = 1;
	int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* SO_REUSEADDR: a restarted server may bind again at once, despite old connections in TIME_WAIT. */
	if (listener < 0 || setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
	    bind(listener, (struct sockaddr *)&address, sizeof address) != 0 ||
	    listen(listener, 8) != 0 ||
	    getsockname(listener, (struct sockaddr *)&address, &length) != 0) {
		fprintf(stderr, "iterative_vs_fork: listen on 127.0.0.1:%u: %s\n", port, strerror(errno));
		return EX_UNAVAILABLE;
	}
	if (catch_signals() != 0) {
		perror("iterative_vs_fork: signals");
		return EX_OSERR;
	}
	say("listening on 127.0.0.1:%u (%s server)", ntohs(address.sin_port), mode);

	pid_t children[MAX_CHILDREN];
	size_t count = 0;
	while (!stop_signal) {
		if (child_ended) {
			child_ended = 0;
			reap(children, &count);
		}
		if (count == MAX_CHILDREN) { /* full: new clients wait in the backlog */
			sigsuspend(&wait_mask);
			continue;
		}
		if (wait_for(listener, POLLIN) < 0)
			continue; /* EINTR: look at the flags */
		struct sockaddr_in peer;
		socklen_t peer_length = sizeof peer;
		int fd = accept4(listener, (struct sockaddr *)&peer, &peer_length, SOCK_CLOEXEC);
		if (fd < 0) { /* a problem with one connection (ECONNABORTED...), not the server's */
			say("accept: %s", strerror(errno));
			continue;
		}
		char peer_text[INET_ADDRSTRLEN + 8], host[INET_ADDRSTRLEN];
		snprintf(peer_text, sizeof peer_text, "%s:%u",
			 inet_ntop(AF_INET, &peer.sin_addr, host, sizeof host) ? host : "?",
			 ntohs(peer.sin_port));
		say("connection from %s", peer_text);
		if (!forking) {
			serve(fd, peer_text); /* meanwhile nobody accepts: the next client waits */
			continue;
		}
		pid_t pid = fork();
		if (pid == 0) {
			/* The child: it serves this one client. The listener is the parent's. */
			if (close(listener) != 0)
				say("close listener: %s", strerror(errno));
			int result = serve(fd, peer_text);
			/* _exit: stdio and atexit handlers are the parent's business. */
			_exit(result == 0 || stop_signal ? 0 : 1);
		}
		if (pid < 0)
			say("fork: %s; closing %s", strerror(errno), peer_text);
		else
			children[count++] = pid;
		/* The child has its own copy; ours would keep the connection open after the child closes it. */
		if (close(fd) != 0)
			say("close %s: %s", peer_text, strerror(errno));
	}

	say("stopping on %s", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
	if (close(listener) != 0)
		say("close listener: %s", strerror(errno));
	for (size_t i = 0; i < count; i++)
		if (kill(children[i], SIGTERM) != 0)
			say("kill %ld: %s", (long)children[i], strerror(errno));
	for (size_t i = 0; i < count; i++) {
		int status;
		pid_t pid;
		while ((pid = waitpid(children[i], &status, 0)) < 0 && errno == EINTR)
			;
		if (pid < 0)
			say("waitpid %ld: %s", (long)children[i], strerror(errno));
		else
			log_child_status(pid, status);
	}
	say("stopped");
	return 0;
}

/* ---- the client ---- */

static long ms_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now); /* cannot fail with this clock */
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

static int connect_to(unsigned port)
{
	struct sockaddr_in server = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&server, sizeof server) != 0) {
		fprintf(stderr, "iterative_vs_fork: connect 127.0.0.1:%u: %s\n", port, strerror(errno));
		exit(EX_UNAVAILABLE);
	}
	return fd;
}

static void send_text(int fd, const char *text)
{
	size_t length = strlen(text); /* our own text: strlen is right for it */
	if (send(fd, text, length, MSG_NOSIGNAL) != (ssize_t)length) {
		perror("iterative_vs_fork: send");
		exit(EX_IOERR);
	}
}

/* Reads the echo of TEXT, in as many pieces as it comes, within 10 s; exits on failure. */
static void receive_echo(int fd, const char *text)
{
	size_t length = strlen(text), got = 0;
	char back[16];
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (got < length) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		long left = 10000 - ms_since(&start);
		int ready = left > 0 ? poll(&pfd, 1, (int)left) : 0;
		ssize_t count = ready > 0 ? recv(fd, back + got, length - got, 0) : -1;
		if (count <= 0) {
			fprintf(stderr, "iterative_vs_fork: echo: %s\n",
				ready == 0 ? "none within 10 s"
				: count == 0 ? "connection closed" : strerror(errno));
			exit(EX_IOERR);
		}
		got += (size_t)count;
	}
	if (memcmp(back, text, length) != 0) {
		fprintf(stderr, "iterative_vs_fork: the echo differs from what was sent\n");
		exit(EX_PROTOCOL);
	}
}

static int run_client(unsigned port, long hold_ms)
{
	mode = "client";
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int first = connect_to(port);
	send_text(first, "first\n");
	receive_echo(first, "first\n");
	say("first connection echoed after %ld ms; it stays open", ms_since(&start));

	clock_gettime(CLOCK_MONOTONIC, &start);
	int second = connect_to(port);
	say("second connection made after %ld ms (connect does not wait for accept)", ms_since(&start));
	send_text(second, "second\n");
	/* Is an echo coming? Look for up to HOLD_MS, then let the first connection go. */
	struct pollfd pfd = {.fd = second, .events = POLLIN};
	int ready = poll(&pfd, 1, (int)hold_ms);
	if (ready < 0) {
		perror("iterative_vs_fork: poll");
		return EX_OSERR;
	}
	if (ready == 0) {
		say("second connection: no echo after %ld ms; closing the first", ms_since(&start));
		if (close(first) != 0)
			perror("iterative_vs_fork: close");
		first = -1;
	}
	receive_echo(second, "second\n");
	say("second connection echoed after %ld ms: waited=%s", ms_since(&start),
	    ready == 0 ? "yes" : "no");
	if ((first >= 0 && close(first) != 0) || close(second) != 0)
		perror("iterative_vs_fork: close");
	return 0;
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
	long port = 0, hold_ms = 2000;
	bool server = argc >= 2 && argc <= 3 &&
		      (strcmp(argv[1], "iterative") == 0 || strcmp(argv[1], "fork") == 0) &&
		      (argc == 2 || parse_number(argv[2], 0, 65535, &port));
	bool client = argc >= 3 && argc <= 4 && strcmp(argv[1], "client") == 0 &&
		      parse_number(argv[2], 1, 65535, &port) &&
		      (argc == 3 || parse_number(argv[3], 1, 60000, &hold_ms));
	if (!server && !client) {
		fprintf(stderr, "usage: iterative_vs_fork iterative|fork [PORT]\n"
				"       iterative_vs_fork client PORT [HOLD_MS]\n");
		return EX_USAGE;
	}
	/* Line-buffered even into a pipe: log lines come out whole, and none waits in a buffer when we fork. */
	if (setvbuf(stdout, NULL, _IOLBF, 0) != 0) {
		fprintf(stderr, "iterative_vs_fork: setvbuf: cannot buffer by line\n");
		return EX_OSERR;
	}
	if (client)
		return run_client((unsigned)port, hold_ms);
	return run_server(strcmp(argv[1], "fork") == 0, (unsigned)port);
}
