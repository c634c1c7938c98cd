/*
 * listeners: the sockets a server receives on, TCP (listening) or UDP. With no bind address the
 * server listens on every address, IPv6 and IPv4 alike: one dual-stack socket
 * where the system allows it, two sockets otherwise. A host name listens on
 * each address it resolves to (up to LISTENERS_MAX). With port 0 the system picks a free port for
 * the first socket and the others take the same one.
 */
#ifndef FORKNET_LISTENERS_H
#define FORKNET_LISTENERS_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "failure.h"

#define LISTENERS_MAX 8

struct listeners {
	int fds[LISTENERS_MAX];                  /* non-blocking, close-on-exec */
	struct address addresses[LISTENERS_MAX]; /* as bound, with the real port */
	size_t count;
};

/*
 * Opens the sockets of TYPE (SOCK_STREAM or SOCK_DGRAM) for BIND (NULL: all
 * addresses) and PORT. Returns 0, or -1 with FAILURE saying what failed,
 * e.g. "bind 127.0.0.1:80: Permission denied" (FAILURE_UNAVAILABLE); nothing
 * is left open then.
 */
int listeners_open(struct listeners *listeners, int type, const char *bind, uint16_t port,
		   struct failure *failure);

/*
 * Writes the port the sockets listen on, in decimal and a newline, to FD (for
 * --print-port: a script reads it there without racing the log). Returns 0,
 * or -1 with errno set.
 */
int listeners_write_port(const struct listeners *listeners, int fd);

/* Closes every socket; safe to call twice. Returns 0, or -1 if a close failed. */
int listeners_close(struct listeners *listeners);

#endif
