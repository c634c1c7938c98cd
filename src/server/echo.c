/*
 * echo: the echo service. See echo.h and service.h.
 *
 * Bytes, not strings: what read() returned is written back by its count, so
 * NUL bytes and binary data pass unchanged, and a message split over several
 * reads (TCP is a stream) comes back whole in the end.
 */
#include "echo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
		connection_count(conn, (size_t)count);
	}
}

/*
 * The event-loop form. An idle connection holds no buffer: what is read
 * goes into one buffer shared by the whole worker and is written back at
 * once; only what the client does not take yet is kept, in a buffer of the
 * connection's own, and reading from that client pauses until it is gone.
 * So a connection holds at most one read (ECHO_BUFFER_SIZE bytes) of
 * output, however long its client refuses to read.
 */
struct echo_state {
	char *pending;     /* output the client has not taken yet, or NULL */
	size_t length;     /* its bytes */
	size_t offset;     /* those written already */
};

static char shared_buffer[ECHO_BUFFER_SIZE]; /* one worker thread uses it at a time */

/* Writes what is pending; returns what to wait for next. */
static enum service_want flush(struct connection *conn, struct echo_state *state,
			       enum service_status *status)
{
	while (state->offset < state->length) {
		ssize_t count = write(conn->fd, state->pending + state->offset,
				      state->length - state->offset);
		if (count < 0 && errno == EINTR)
			continue;
		if (count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return SERVICE_WANT_WRITE; /* and not READ: the cap */
		if (count < 0) {
			*status = stop(conn, "write");
			return SERVICE_WANT_CLOSE;
		}
		state->offset += (size_t)count;
		connection_count(conn, (size_t)count);
	}
	free(state->pending);
	state->pending = NULL;
	state->length = state->offset = 0;
	return SERVICE_WANT_READ;
}

static enum service_want echo_readable(struct connection *conn, void *arg,
				       enum service_status *status)
{
	struct echo_state *state = arg;

	if (state->pending != NULL)
		return flush(conn, state, status); /* not called so, but harmless */
	ssize_t count = read(conn->fd, shared_buffer, sizeof shared_buffer);
	if (count < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return SERVICE_WANT_READ;
	if (count < 0) {
		*status = stop(conn, "read");
		return SERVICE_WANT_CLOSE;
	}
	if (count == 0) {
		*status = SERVICE_DONE; /* the client closed its side: everything is echoed */
		return SERVICE_WANT_CLOSE;
	}
	size_t done = 0;
	while (done < (size_t)count) {
		ssize_t written = write(conn->fd, shared_buffer + done, (size_t)count - done);
		if (written < 0 && errno == EINTR)
			continue;
		if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (written < 0) {
			*status = stop(conn, "write");
			return SERVICE_WANT_CLOSE;
		}
		done += (size_t)written;
		connection_count(conn, (size_t)written);
	}
	if (done == (size_t)count)
		return SERVICE_WANT_READ;
	state->length = (size_t)count - done;
	state->pending = malloc(state->length);
	if (state->pending == NULL) {
		log_warning("echo: memory for %zu bytes of output: %s", state->length,
			    strerror(errno));
		state->length = 0;
		*status = SERVICE_FAILED;
		return SERVICE_WANT_CLOSE;
	}
	memcpy(state->pending, shared_buffer + done, state->length);
	state->offset = 0;
	return SERVICE_WANT_WRITE;
}

static enum service_want echo_writable(struct connection *conn, void *arg,
				       enum service_status *status)
{
	return flush(conn, arg, status);
}

static void echo_closed(struct connection *conn, void *arg)
{
	struct echo_state *state = arg;
	(void)conn;
	free(state->pending);
	state->pending = NULL;
}

static const struct service_events echo_events = {
	.state_size = sizeof(struct echo_state),
	.readable = echo_readable,
	.writable = echo_writable,
	.closed = echo_closed,
};

const struct service echo_service = {
	.name = "echo",
	.bytes_verb = "echoed",
	.serve = echo_serve,
	.arg = NULL,
	.events = &echo_events,
};
