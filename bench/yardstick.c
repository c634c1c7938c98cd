/*
 * yardstick: the fastest echo service this machine can run, for make bench to
 * take its ratios against.
 *
 *   yardstick [-b ADDR] [-p PORT] [-w WORKERS]
 *
 * The parent opens WORKERS listening sockets on one port (SO_REUSEPORT, so the
 * kernel spreads new connections over them), forks one worker per socket and
 * says `listening on ADDR:PORT` on standard error. Each worker is a single
 * level-triggered epoll loop over its listener and its connections: it reads
 * what came and writes it straight back; only what the peer could not take at
 * once is kept (at most one read's worth per connection), and the connection
 * is not read again until that is written. No fork per connection, no thread,
 * no copy but the kernel's: what it reaches is the limit of the loopback and
 * the CPUs, not of a server design.
 *
 * SIGTERM or SIGINT to the parent stops the workers and it exits 0; a worker
 * that dies makes the parent stop the others and exit 1. A worker dies with
 * the parent (PR_SET_PDEATHSIG). Deliberately nothing of forknet's library:
 * this file stands alone.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKERS_MAX 64
#define CHUNK 65536     /* one read; also the most a connection may hold back */
#define EVENTS 256      /* epoll events taken per wait */
#define LISTENER_KEY NULL /* epoll data of the listener; connections carry their struct */

struct connection {
	int fd;
	size_t held;   /* bytes read but not yet written back */
	size_t offset; /* how many of them are written */
	char *pending; /* CHUNK bytes, only while held > 0 */
};

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "yardstick: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The bound port of FD. */
static int bound_port(int fd)
{
	struct sockaddr_storage address = {0};
	socklen_t length = sizeof address;
	if (getsockname(fd, (struct sockaddr *)&address, &length) != 0)
		die("getsockname");
	if (address.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&address)->sin6_port);
	return ntohs(((struct sockaddr_in *)&address)->sin_port);
}

/* A listening socket on HOST:PORT with SO_REUSEPORT; PORT "0" picks one. */
static int open_listener(const char *host, const char *port)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
	struct addrinfo *found;
	int failed = getaddrinfo(host, port, &hints, &found);
	if (failed != 0) {
		fprintf(stderr, "yardstick: %s port %s: %s\n", host, port, gai_strerror(failed));
		exit(64);
	}
	int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	int on = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0)
		die("setsockopt");
	if (bind(fd, found->ai_addr, found->ai_addrlen) != 0)
		die("bind");
	if (listen(fd, 4096) != 0)
		die("listen");
	freeaddrinfo(found);
	return fd;
}

static void watch(int epoll_fd, int op, int fd, uint32_t events, void *key)
{
	struct epoll_event event = {.events = events, .data.ptr = key};
	if (epoll_ctl(epoll_fd, op, fd, &event) != 0)
		die("epoll_ctl");
}

static void drop(struct connection *c)
{
	close(c->fd); /* also takes it out of the epoll set */
	free(c->pending);
	free(c);
}

/* Takes every connection waiting; false when descriptors ran out (stop listening for now). */
static bool accept_all(int epoll_fd, int listener)
{
	for (;;) {
		int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				return false;
			die("accept4");
		}
		struct connection *c = calloc(1, sizeof *c);
		if (c == NULL) {
			close(fd);
			return false;
		}
		c->fd = fd;
		int on = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on); /* a speed-up only */
		watch(epoll_fd, EPOLL_CTL_ADD, fd, EPOLLIN, c);
	}
}

/* Writes back what C holds; returns -1 when the connection is over. */
static int flush(int epoll_fd, struct connection *c)
{
	while (c->offset < c->held) {
		ssize_t n = send(c->fd, c->pending + c->offset, c->held - c->offset, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0; /* still waiting for EPOLLOUT */
			return -1;
		}
		c->offset += (size_t)n;
	}
	free(c->pending);
	c->pending = NULL;
	c->held = c->offset = 0;
	watch(epoll_fd, EPOLL_CTL_MOD, c->fd, EPOLLIN, c);
	return 0;
}

/* Echoes what C has to read; returns -1 when the connection is over. */
static int echo(int epoll_fd, struct connection *c)
{
	static char buffer[CHUNK];
	ssize_t got = recv(c->fd, buffer, sizeof buffer, 0);
	if (got <= 0)
		return got < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	size_t sent = 0;
	while (sent < (size_t)got) {
		ssize_t n = send(c->fd, buffer + sent, (size_t)got - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (n < 0) {
			/* The peer is slow: keep the rest and stop reading until it is written. */
			c->held = (size_t)got - sent;
			c->offset = 0;
			c->pending = malloc(c->held);
			if (c->pending == NULL)
				return -1;
			memcpy(c->pending, buffer + sent, c->held);
			watch(epoll_fd, EPOLL_CTL_MOD, c->fd, EPOLLOUT, c);
			return 0;
		}
		sent += (size_t)n;
	}
	return 0;
}

static void work(int listener)
{
	int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (epoll_fd < 0)
		die("epoll_create1");
	watch(epoll_fd, EPOLL_CTL_ADD, listener, EPOLLIN, LISTENER_KEY);
	bool listening = true;
	struct epoll_event events[EVENTS];
	for (;;) {
		int ready = epoll_wait(epoll_fd, events, EVENTS, -1);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < ready; i++) {
			struct connection *c = events[i].data.ptr;
			if (c == LISTENER_KEY) {
				if (!accept_all(epoll_fd, listener)) {
					watch(epoll_fd, EPOLL_CTL_DEL, listener, 0, NULL);
					listening = false;
				}
				continue;
			}
			int over = c->held > 0 ? flush(epoll_fd, c) : echo(epoll_fd, c);
			if (over != 0) {
				drop(c);
				if (!listening) { /* a descriptor is free again */
					watch(epoll_fd, EPOLL_CTL_ADD, listener, EPOLLIN, LISTENER_KEY);
					listening = true;
				}
			}
		}
	}
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: yardstick [-b ADDR] [-p PORT] [-w WORKERS]\n");
	exit(64);
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1";
	const char *port = "0";
	long workers = sysconf(_SC_NPROCESSORS_ONLN);
	int option;
	while ((option = getopt(argc, argv, "b:p:w:")) != -1) {
		char *end;
		switch (option) {
		case 'b':
			host = optarg;
			break;
		case 'p':
			port = optarg;
			break;
		case 'w':
			errno = 0;
			workers = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg || workers < 1 ||
			    workers > WORKERS_MAX) {
				fprintf(stderr, "yardstick: -w %s: from 1 to %d workers\n", optarg,
					WORKERS_MAX);
				exit(64);
			}
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (workers < 1)
		workers = 1;
	if (workers > WORKERS_MAX)
		workers = WORKERS_MAX;

	struct rlimit limit;
	if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
		limit.rlim_cur = limit.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &limit); /* more connections if it works; fine if not */
	}

	int listeners[WORKERS_MAX];
	listeners[0] = open_listener(host, port);
	char chosen[16];
	snprintf(chosen, sizeof chosen, "%d", bound_port(listeners[0]));
	for (long i = 1; i < workers; i++)
		listeners[i] = open_listener(host, chosen);

	/* The stop signals and SIGCHLD wait, blocked, for sigwait below; workers unblock them. */
	sigset_t waited, old;
	sigemptyset(&waited);
	sigaddset(&waited, SIGTERM);
	sigaddset(&waited, SIGINT);
	sigaddset(&waited, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &waited, &old) != 0)
		die("sigprocmask");

	pid_t parent = getpid();
	pid_t pids[WORKERS_MAX];
	for (long i = 0; i < workers; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			int saved = errno;
			for (long j = 0; j < i; j++)
				kill(pids[j], SIGTERM);
			while (wait(NULL) > 0)
				;
			errno = saved;
			die("fork");
		}
		if (pids[i] == 0) {
			if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || sigprocmask(SIG_SETMASK, &old, NULL) != 0)
				die("worker setup");
			if (getppid() != parent)
				_exit(1);
			for (long j = 0; j < workers; j++)
				if (j != i)
					close(listeners[j]);
			work(listeners[i]);
		}
	}
	for (long i = 0; i < workers; i++)
		close(listeners[i]);
	fprintf(stderr, "yardstick: %ld workers listening on %s%s%s:%s\n", workers,
		strchr(host, ':') != NULL ? "[" : "", host, strchr(host, ':') != NULL ? "]" : "",
		chosen);

	int status = 0;
	int signo;
	do {
		if (sigwait(&waited, &signo) != 0)
			die("sigwait");
	} while (signo == SIGCHLD && waitpid(-1, NULL, WNOHANG) == 0); /* a stopped child, say */
	if (signo == SIGCHLD) {
		fprintf(stderr, "yardstick: a worker died; stopping\n");
		status = 1;
	}
	for (long i = 0; i < workers; i++)
		kill(pids[i], SIGTERM); /* ESRCH for one reaped already is fine */
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return status;
}
