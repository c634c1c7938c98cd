/*
 * io: complete reads and writes over blocking or non-blocking descriptors.
 * See io.h.
 */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

/*
 * Waits until FD is ready for EVENTS or CANCEL_FD is readable. Returns 0 when
 * FD is ready (or in error, which the next read or write reports), -1 with
 * ECANCELED when cancelled, or -1 if poll itself fails.
 */
static int wait_ready(int fd, short events, int cancel_fd)
{
	struct pollfd fds[2] = {
		{.fd = fd, .events = events},
		{.fd = cancel_fd, .events = POLLIN}, /* a negative fd is ignored by poll */
	};

	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (fds[1].revents != 0) {
			errno = ECANCELED;
			return -1;
		}
		if (fds[0].revents != 0)
			return 0;
	}
}

/*
 * A blocking call cannot see the cancel descriptor, so it is looked at
 * first. Returns -1 with ECANCELED if it is readable, else 0.
 */
static int check_cancel(int cancel_fd)
{
	struct pollfd cancel = {.fd = cancel_fd, .events = POLLIN};

	if (cancel_fd >= 0 && poll(&cancel, 1, 0) > 0) {
		errno = ECANCELED;
		return -1;
	}
	return 0;
}

ssize_t io_read(int fd, void *buf, size_t length, int cancel_fd)
{
	if (check_cancel(cancel_fd) != 0)
		return -1;
	for (;;) {
		ssize_t count = read(fd, buf, length);
		if (count >= 0)
			return count;
		if (errno == EINTR)
			continue;
		if ((errno != EAGAIN && errno != EWOULDBLOCK) || wait_ready(fd, POLLIN, cancel_fd) != 0)
			return -1;
	}
}

int io_write_all(int fd, const void *buf, size_t length, int cancel_fd)
{
	const char *next = buf;

	if (check_cancel(cancel_fd) != 0)
		return -1;
	while (length > 0) {
		ssize_t count = write(fd, next, length);
		if (count > 0) {
			next += count;
			length -= (size_t)count;
			continue;
		}
		if (count < 0 && errno == EINTR)
			continue;
		if (count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_ready(fd, POLLOUT, cancel_fd) != 0)
				return -1;
			continue;
		}
		if (count == 0)
			errno = EIO; /* write(2) never returns 0 for a non-zero length; be safe */
		return -1;
	}
	return 0;
}

int io_set_nonblocking(int fd, int on)
{
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0)
		return -1;
	int wanted = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
	if (wanted == flags)
		return 0;
	return fcntl(fd, F_SETFL, wanted);
}
