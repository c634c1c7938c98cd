/*
 * service: what is done with one connection, independent of how connections
 * are accepted and which process serves them (that is the model's job).
 *
 * A service's serve function runs either in a child of its own (fork model)
 * or in the server process itself (iterative model). It reads and writes
 * CONN->fd, adds the bytes it moves to *CONN->bytes for the end-of-connection
 * log, and returns one of the statuses below, which becomes the child's exit
 * status. It must not close CONN->fd (the model does) and must give up with
 * SERVICE_CANCELED when CONN->cancel_fd becomes readable.
 */
#ifndef FORKNET_SERVICE_H
#define FORKNET_SERVICE_H

#include <stdint.h>

#include "../lib/addr.h"

struct connection {
	int fd;              /* the connected socket */
	struct address peer; /* the client's address */
	uint64_t *bytes;     /* bytes served so far; may live in memory shared with the parent */
	int cancel_fd;       /* readable when the service must stop; -1 when never */
};

enum service_status {
	SERVICE_DONE = 0,     /* the client finished */
	SERVICE_FAILED = 1,   /* an I/O error, already logged by the service */
	SERVICE_CANCELED = 2, /* the server is stopping */
};

struct service {
	const char *name;       /* "echo" */
	const char *bytes_verb; /* how the log names the bytes: "echoed" */
	enum service_status (*serve)(struct connection *conn, void *arg);
	void *arg;
};

#endif
