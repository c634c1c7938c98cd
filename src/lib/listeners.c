/*
 * listeners: opening a server's sockets. See listeners.h.
 */
#include "listeners.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"
#include "sock.h"

/* How often port 0 is tried afresh when a later socket finds the chosen port taken. */
#define PORT_ZERO_ATTEMPTS 8

/* A socket to open: where, of what type, and for IPv6 whether IPv4 peers come in too. */
struct wanted {
	struct address address;
	int type;
	enum sock_v6only v6only;
};

/* What went wrong in open_all: the call that failed and its errno. */
struct socket_failure {
	const char *call;
	int error;
};

/* The kind of failure of a socket call that failed with ERROR. */
static enum failure_kind kind_of(int error)
{
	switch (error) {
	case EADDRINUSE:
	case EADDRNOTAVAIL:
	case EACCES:
	case EAFNOSUPPORT:
		return FAILURE_UNAVAILABLE;
	default:
		return FAILURE_SYSTEM;
	}
}

/*
 * Opens a socket for each of the COUNT entries of WANTED with PORT. With port
 * 0 the system picks the first socket's port and the others take the same
 * one; should that port be taken in another family, everything is closed and
 * tried again with a new pick. Returns 0, or -1 with FAILURE and REPORT set
 * and nothing left open.
 */
static int open_all(struct listeners *listeners, const struct wanted *wanted, size_t count,
		    uint16_t port, struct socket_failure *failure, struct failure *report)
{
	for (int attempt = 1;; attempt++) {
		size_t i;
		for (i = 0; i < count; i++) {
			struct address address = wanted[i].address;
			addr_set_port(&address, i == 0 ? port : addr_port(&listeners->addresses[0]));
			int fd = sock_server(&address, wanted[i].type, wanted[i].v6only, SOMAXCONN,
					     &listeners->addresses[i], &failure->call);
			if (fd < 0) {
				char text[ADDRESS_TEXT_MAX];
				failure->error = errno;
				(void)failure_set(report, kind_of(errno), "%s %s: %s", failure->call,
						  addr_format(&address, text, sizeof text),
						  strerror(failure->error));
				break;
			}
			listeners->fds[i] = fd;
			listeners->count = i + 1;
		}
		if (i == count)
			return 0;
		(void)listeners_close(listeners); /* the open error is the one to report */
		bool retry = port == 0 && i > 0 && failure->error == EADDRINUSE &&
			     attempt < PORT_ZERO_ATTEMPTS;
		if (!retry)
			return -1;
	}
}

/* No address given: one dual-stack socket, or IPv6 and IPv4 sockets, or IPv4 alone. */
static int open_any(struct listeners *listeners, int type, uint16_t port,
		    struct failure *report)
{
	struct wanted both[2] = {{.type = type, .v6only = SOCK_V6ONLY_OFF},
				 {.type = type, .v6only = SOCK_V6ONLY_DEFAULT}};
	struct socket_failure failure;

	addr_any(AF_INET6, 0, &both[0].address);
	addr_any(AF_INET, 0, &both[1].address);
	if (open_all(listeners, both, 1, port, &failure, report) == 0)
		return 0;
	if (failure.error == EAFNOSUPPORT && strcmp(failure.call, "socket") == 0) {
		/* A kernel without IPv6: IPv4 alone is all there is. */
		return open_all(listeners, &both[1], 1, port, &failure, report);
	}
	if (strcmp(failure.call, "setsockopt IPV6_V6ONLY") != 0)
		return -1;
	/* The system refuses dual-stack sockets: one socket per family. */
	both[0].v6only = SOCK_V6ONLY_ON;
	return open_all(listeners, both, 2, port, &failure, report);
}

int listeners_open(struct listeners *listeners, int type, const char *bind, uint16_t port,
		   struct failure *report)
{
	memset(listeners, 0, sizeof *listeners);
	if (bind == NULL)
		return open_any(listeners, type, port, report);

	struct address addresses[LISTENERS_MAX];
	struct wanted wanted[LISTENERS_MAX];
	size_t count;
	int lookup = addr_resolve(bind, 0, type, true, addresses, LISTENERS_MAX, &count);
	if (lookup != 0) {
		return failure_set(report, lookup == EAI_AGAIN ? FAILURE_TRY_AGAIN : FAILURE_NO_HOST,
				   "resolve %s: %s", bind,
				   lookup == EAI_SYSTEM ? strerror(errno) : gai_strerror(lookup));
	}
	for (size_t i = 0; i < count; i++) {
		/* An IPv6 address means IPv6 only: its IPv4 twin, if any, has its own socket. */
		wanted[i] = (struct wanted){.address = addresses[i], .type = type,
					    .v6only = SOCK_V6ONLY_ON};
	}
	struct socket_failure failure;
	return open_all(listeners, wanted, count, port, &failure, report);
}

int listeners_write_port(const struct listeners *listeners, int fd)
{
	char line[16];

	if (listeners->count == 0) {
		errno = EINVAL;
		return -1;
	}
	/* Every socket has the same port (see listeners_open): the first says it. */
	int length = snprintf(line, sizeof line, "%u\n", addr_port(&listeners->addresses[0]));
	if (length <= 0 || (size_t)length >= sizeof line) {
		errno = EOVERFLOW; /* cannot happen: a port has at most five digits */
		return -1;
	}
	return io_write_all(fd, line, (size_t)length, -1);
}

int listeners_close(struct listeners *listeners)
{
	int result = 0;
	for (size_t i = 0; i < listeners->count; i++)
		if (close(listeners->fds[i]) != 0)
			result = -1;
	listeners->count = 0;
	return result;
}
