/*
 * listeners: opening a server's listening sockets. See listeners.h.
 */
#include "listeners.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include "../lib/sock.h"

/* The sysexits status for a socket call that failed with ERROR. */
static int status_for(int error)
{
	switch (error) {
	case EADDRINUSE:
	case EADDRNOTAVAIL:
	case EACCES:
	case EAFNOSUPPORT:
		return EX_UNAVAILABLE;
	default:
		return EX_OSERR;
	}
}

/*
 * Opens one socket on ADDRESS. Returns 0, or -1 with errno set, ERROR filled
 * and *FAILED_CALL naming the call that failed.
 */
static int open_one(struct listeners *listeners, struct address address, enum sock_v6only v6only,
		    const char **failed_call, char *error, size_t size)
{
	char text[ADDRESS_TEXT_MAX];

	if (listeners->count >= LISTENERS_MAX) {
		errno = ENOBUFS;
		*failed_call = "listen";
		snprintf(error, size, "listen %s: more than %d addresses",
			 addr_format(&address, text, sizeof text), LISTENERS_MAX);
		return -1;
	}
	/* Port 0: every socket after the first takes the port the system gave the first. */
	if (addr_port(&address) == 0 && listeners->count > 0)
		addr_set_port(&address, addr_port(&listeners->addresses[0]));

	int fd = sock_listen(&address, v6only, SOMAXCONN, failed_call);
	if (fd < 0) {
		snprintf(error, size, "%s %s: %s", *failed_call, addr_format(&address, text, sizeof text),
			 strerror(errno));
		return -1;
	}
	if (sock_local_address(fd, &listeners->addresses[listeners->count]) != 0) {
		*failed_call = "getsockname";
		snprintf(error, size, "getsockname %s: %s", addr_format(&address, text, sizeof text),
			 strerror(errno));
		int saved_errno = errno;
		(void)close(fd); /* the getsockname error is the one worth reporting */
		errno = saved_errno;
		return -1;
	}
	listeners->fds[listeners->count++] = fd;
	return 0;
}

/* No address given: one dual-stack socket, or IPv6 and IPv4 sockets, or IPv4 alone. */
static int open_any(struct listeners *listeners, uint16_t port, char *error, size_t size)
{
	struct address any6, any4;
	const char *failed_call;

	addr_any(AF_INET6, port, &any6);
	addr_any(AF_INET, port, &any4);
	if (open_one(listeners, any6, SOCK_V6ONLY_OFF, &failed_call, error, size) == 0)
		return 0;
	if (errno == EAFNOSUPPORT && strcmp(failed_call, "socket") == 0) {
		/* A kernel without IPv6: IPv4 alone is all there is. */
		return open_one(listeners, any4, SOCK_V6ONLY_DEFAULT, &failed_call, error, size) == 0
			       ? 0
			       : status_for(errno);
	}
	if (strcmp(failed_call, "setsockopt IPV6_V6ONLY") != 0)
		return status_for(errno);
	/* The system refuses dual-stack sockets: one socket per family. */
	if (open_one(listeners, any6, SOCK_V6ONLY_ON, &failed_call, error, size) != 0 ||
	    open_one(listeners, any4, SOCK_V6ONLY_DEFAULT, &failed_call, error, size) != 0)
		return status_for(errno);
	return 0;
}

int listeners_open(struct listeners *listeners, const char *bind, uint16_t port, char *error,
		   size_t size)
{
	int status = 0;

	memset(listeners, 0, sizeof *listeners);
	if (bind == NULL) {
		status = open_any(listeners, port, error, size);
	} else {
		struct address addresses[LISTENERS_MAX];
		size_t count;
		int lookup = addr_resolve(bind, port, SOCK_STREAM, true, addresses, LISTENERS_MAX, &count);
		if (lookup != 0) {
			snprintf(error, size, "resolve %s: %s", bind,
				 lookup == EAI_SYSTEM ? strerror(errno) : gai_strerror(lookup));
			return lookup == EAI_AGAIN ? EX_TEMPFAIL : EX_NOHOST;
		}
		const char *failed_call;
		for (size_t i = 0; i < count && status == 0; i++) {
			/* An IPv6 address means IPv6 only: its IPv4 twin, if any, has its own socket. */
			if (open_one(listeners, addresses[i], SOCK_V6ONLY_ON, &failed_call, error, size) != 0)
				status = status_for(errno);
		}
	}
	if (status != 0)
		(void)listeners_close(listeners); /* the open error is the one to report */
	return status;
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
