/*
 * echo: the echo service. See echo.h and service.h.
 *
 * Bytes, not strings: what read() returned is written back by its count, so
 * NUL bytes and binary data pass unchanged, and a message split over several
 * reads (TCP is a stream) comes back whole in the end.
 */
#include "echo.h"

#include <errno.h>
#include <string.h>

#include "../lib/io.h"
#include "../lib/log.h"

/* Big enough that a bulk transfer takes few system calls, small enough for any stack. */
#define ECHO_BUFFER_SIZE 65536

static enum service_status stop(const struct connection *conn, const char *action)
{
	char peer[ADDRESS_TEXT_MAX];
	int error = errno; /* before addr_format, which may change it */

	if (error == ECANCELED)
		return SERVICE_CANCELED;
	/* A client that resets or vanishes is a normal event on a network, not a server fault. */
	log_info("client %s: %s: %s", addr_format(&conn->peer, peer, sizeof peer), action,
		 strerror(error));
	return SERVICE_FAILED;
}

static enum service_status echo_serve(struct connection *conn, void *arg)
{
	char buffer[ECHO_BUFFER_SIZE];
	(void)arg;

	for (;;) {
		ssize_t count = io_read(conn->fd, buffer, sizeof buffer, conn->cancel_fd);
		if (count == 0)
			return SERVICE_DONE; /* the client closed its side: everything is echoed */
		if (count < 0)
			return stop(conn, "read");
		if (io_write_all(conn->fd, buffer, (size_t)count, conn->cancel_fd) != 0)
			return stop(conn, "write");
		*conn->bytes += (uint64_t)count;
	}
}

const struct service echo_service = {
	.name = "echo",
	.bytes_verb = "echoed",
	.serve = echo_serve,
	.arg = NULL,
};
