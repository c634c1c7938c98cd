/*
 * server: what every model of TCP server shares. server_run() opens the
 * listening sockets, turns SIGTERM, SIGINT and SIGCHLD into events on a
 * descriptor (lib/sig.h), ignores SIGPIPE (a write to a vanished client
 * fails with EPIPE instead of killing the process), announces readiness with
 * "listening on ADDR:PORT", and hands over to the configured model.
 *
 * The models (model_fork.c, model_iterative.c) decide how connections are
 * accepted and which process serves them; the service (service.h) decides
 * what is done with each. The helpers below are the models' common ground.
 */
#ifndef FORKNET_SERVER_H
#define FORKNET_SERVER_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "../lib/listeners.h"
#include "../lib/throttle.h"
#include "service.h"

struct server {
	const struct server_config *config;
	const struct service *service;
	struct listeners listeners;
	int signal_fd;              /* readable when a caught signal is pending */
	bool stopping;              /* SIGTERM or SIGINT arrived */
	struct timespec paused_until; /* accepting is paused until then (after resource errors) */
	long pause_ms;              /* the last pause; doubles while errors repeat */
	struct throttle pause_log;  /* how often those errors are logged */
};

/* Runs CONFIG's model serving SERVICE until stopped. Returns a sysexits status. */
int server_run(const struct server_config *config, const struct service *service);

/* The models: each returns a sysexits status once the server has stopped. */
int model_fork_run(struct server *server);
int model_iterative_run(struct server *server);

/*
 * Handles the caught signals that are pending; call when the signal
 * descriptor is readable. SIGCHLD calls ON_CHILD(ARG) (the fork model reaps
 * there); SIGTERM and SIGINT set server->stopping. Returns true if a stop
 * signal was among them.
 */
bool server_handle_signals(struct server *server, void (*on_child)(void *arg), void *arg);

/*
 * Fills FDS with the signal descriptor and, when WITH_LISTENERS, the listening
 * sockets, all for POLLIN. FDS needs 1 + LISTENERS_MAX entries. Returns the count.
 */
nfds_t server_pollfds(const struct server *server, struct pollfd *fds, bool with_listeners);

enum server_accept_result {
	SERVER_ACCEPTED,      /* *FD and *PEER are set */
	SERVER_ACCEPT_EMPTY,  /* nothing (more) to accept now */
	SERVER_ACCEPT_PAUSED, /* out of descriptors or memory: the server is paused */
	SERVER_ACCEPT_FATAL,  /* the listening socket is unusable (logged): stop */
};

/* Accepts one connection from listener INDEX, sorting accept's errors as above. */
enum server_accept_result server_accept(struct server *server, size_t index, int *fd,
				       struct address *peer);

/*
 * Pauses accepting after a resource error described by WHY: 50 ms, doubling
 * while errors repeat, up to 1 s. Nothing is accepted until it ends, so the
 * failure cannot become a busy loop. The first error of a run is logged, then
 * at most one line a minute with a count.
 */
void server_pause(struct server *server, const char *why);

/* True while paused; *LEFT_MS gets the milliseconds left (or -1 when not paused). */
bool server_paused(struct server *server, int *left_ms);

/*
 * Called after a connection was handed out successfully: the next error
 * pauses briefly again, and a run of errors not yet reported is logged as ended.
 */
void server_unpause(struct server *server);

/* Closes the listening sockets (stop: new clients are refused from here on). */
void server_close_listeners(struct server *server);

/*
 * Logs the end of a connection: "client ADDR closed, child PID exited 0,
 * N bytes echoed in T s". PID 0 (iterative) leaves out the child; HOW is
 * the wait-status text or NULL.
 */
void server_log_closed(const struct server *server, enum log_level level,
		       const struct address *peer, pid_t pid, const char *how, uint64_t bytes,
		       struct timespec started);

#endif
