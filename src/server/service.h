/*
 * service: what is done with one connection, independent of how connections
 * are accepted and which process serves them (that is the model's job).
 *
 * A service's serve function runs in a child of its own (fork model), in a
 * worker process serving one connection at a time (prefork), in a thread
 * (thread model) or in the server process itself (iterative model). It reads and writes
 * CONN->fd, counts the bytes it moves with connection_count (for the
 * end-of-connection log; the model may not want them), and returns one of the statuses below, which becomes the child's exit
 * status. It must not close CONN->fd (the model does) and must give up with
 * SERVICE_CANCELED when CONN->cancel_fd becomes readable.
 */
#ifndef FORKNET_SERVICE_H
#define FORKNET_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/addr.h"

struct connection {
	int fd;               /* the connected socket */
	struct address peer;  /* the client's address */
	struct address local; /* the server's address it reached (the real one, not a wildcard) */
	uint64_t *bytes;      /* bytes served so far, or NULL: not counted; may be shared memory */
	int cancel_fd;        /* readable when the service must stop; -1 when never */
};

/* Adds COUNT bytes moved on CONN to its counter, if it has one. */
static inline void connection_count(struct connection *conn, size_t count)
{
	if (conn->bytes != NULL)
		*conn->bytes += (uint64_t)count;
}

enum service_status {
	SERVICE_DONE = 0,     /* the client finished */
	SERVICE_FAILED = 1,   /* an I/O error, already logged by the service */
	SERVICE_CANCELED = 2, /* the server is stopping */
};

/*
 * The event-loop form, for a model that serves many connections in one
 * thread (hybrid): CONN->fd is non-blocking, and the model calls back when
 * it is readable or writable; each callback does what it can without
 * blocking and returns what it waits for next. STATE is the connection's
 * own, STATE_SIZE bytes the model allocates zeroed (and frees after
 * CLOSED). A service that holds output must cap it and stop reading until
 * it drains (return SERVICE_WANT_WRITE only), so that a client that sends
 * and never reads cannot make the worker buffer without bound.
 */
enum service_want {
	SERVICE_WANT_CLOSE = 0, /* done (*STATUS set): the model closes the connection */
	SERVICE_WANT_READ = 1,
	SERVICE_WANT_WRITE = 2,
};

struct service_events {
	size_t state_size;
	enum service_want (*readable)(struct connection *conn, void *state,
				      enum service_status *status);
	enum service_want (*writable)(struct connection *conn, void *state,
				      enum service_status *status);
	/* The connection ends (done, failed, or cut by a stop): free what STATE holds. */
	void (*closed)(struct connection *conn, void *state);
};

struct service {
	const char *name;       /* "echo" */
	const char *bytes_verb; /* how the log names the bytes: "echoed" */
	enum service_status (*serve)(struct connection *conn, void *arg);
	void *arg;
	const struct service_events *events; /* the event-loop form, or NULL: none */
};

#endif
