/*
 * sock: server sockets (TCP and UDP) and TCP connections. Every descriptor
 * made here is close-on-exec, so a later exec() never leaks it.
 */
#ifndef FORKNET_SOCK_H
#define FORKNET_SOCK_H

#include "addr.h"

enum sock_v6only {
	SOCK_V6ONLY_DEFAULT = -1, /* leave the system's setting */
	SOCK_V6ONLY_OFF = 0,      /* dual-stack: IPv4 peers too, as ::ffff:a.b.c.d */
	SOCK_V6ONLY_ON = 1,       /* IPv6 peers only */
};

/*
 * Opens a non-blocking server socket of TYPE (SOCK_STREAM: listening with
 * BACKLOG; SOCK_DGRAM) bound to ADDRESS with SO_REUSEADDR (and for IPv6 the
 * given V6ONLY), and stores in *BOUND the address it got (with the real port
 * when ADDRESS asked for port 0). Returns it, or -1 with errno set and
 * *FAILED_CALL naming the call that failed ("socket", "bind", ...).
 */
int sock_server(const struct address *address, int type, enum sock_v6only v6only, int backlog,
		struct address *bound, const char **failed_call);

/* The address FD is bound to; returns 0 or -1. */
int sock_local_address(int fd, struct address *out);

/*
 * Connects a blocking TCP socket to ADDRESS, giving up after TIMEOUT_MS
 * (ETIMEDOUT). Returns the socket or -1 with errno set.
 */
int sock_connect(const struct address *address, int timeout_ms);

#endif
