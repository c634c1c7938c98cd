/*
 * sock: server sockets and TCP connections. See sock.h.
 */
#include "sock.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"

/* Closes FD without letting close() change errno: the first error is the one to report. */
static void close_keep_errno(int fd)
{
	int saved_errno = errno;
	(void)close(fd); /* a close error here would hide the real one */
	errno = saved_errno;
}

int sock_server(const struct address *address, int type, enum sock_v6only v6only, int backlog,
		struct address *bound, const char **failed_call)
{
	int one = 1;
	int fd = socket(addr_family(address), type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*failed_call = "socket";
		return -1;
	}
	/* Restarting while old connections sit in TIME_WAIT must not fail with EADDRINUSE. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
		*failed_call = "setsockopt SO_REUSEADDR";
		goto fail;
	}
	if (addr_family(address) == AF_INET6 && v6only != SOCK_V6ONLY_DEFAULT) {
		int value = v6only == SOCK_V6ONLY_ON;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &value, sizeof value) != 0) {
			*failed_call = "setsockopt IPV6_V6ONLY";
			goto fail;
		}
	}
	if (bind(fd, (const struct sockaddr *)&address->storage, address->length) != 0) {
		*failed_call = "bind";
		goto fail;
	}
	if (type == SOCK_STREAM && listen(fd, backlog) != 0) {
		*failed_call = "listen";
		goto fail;
	}
	if (sock_local_address(fd, bound) != 0) {
		*failed_call = "getsockname";
		goto fail;
	}
	return fd;

fail:
	close_keep_errno(fd);
	return -1;
}

int sock_local_address(int fd, struct address *out)
{
	out->length = sizeof out->storage;
	return getsockname(fd, (struct sockaddr *)&out->storage, &out->length);
}

int sock_connect(const struct address *address, int timeout_ms)
{
	int fd = socket(addr_family(address), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;

	/* Non-blocking connect, so that an unanswered SYN cannot hold us for minutes. */
	if (connect(fd, (const struct sockaddr *)&address->storage, address->length) != 0) {
		if (errno != EINPROGRESS)
			goto fail;
		struct timespec deadline = clock_after(clock_now(), timeout_ms);
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		for (;;) {
			int ready = poll(&pfd, 1, clock_ms_until(deadline));
			if (ready > 0)
				break;
			if (ready == 0) {
				errno = ETIMEDOUT;
				goto fail;
			}
			if (errno != EINTR)
				goto fail;
		}
		int error = 0;
		socklen_t length = sizeof error;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
			goto fail;
		if (error != 0) {
			errno = error;
			goto fail;
		}
	}
	if (io_set_nonblocking(fd, 0) != 0)
		goto fail;
	return fd;

fail:
	close_keep_errno(fd);
	return -1;
}
