/*
 * server: what every model of TCP server shares. server_run() opens the
 * listening sockets, catches the signals of the TCP servers' column of the
 * signal table (src/signals.c) as events on a descriptor, and hands over to
 * the configured model, which announces readiness ("listening on
 * ADDR:PORT", server_ready) once it is set up. Nothing here prints: what
 * fails at start comes back as a struct failure for the command to say.
 *
 * The models (models.h) decide how connections are accepted and which
 * process serves them; the service (service.h) decides what is done with
 * each. The helpers below are the models' common ground: signal handling
 * with the model's hooks, accepting, pausing on resource errors, the stop
 * sequence for children, and the log lines every model writes.
 *
 * A server is running, then draining (SIGQUIT: the listeners are closed and
 * connections in progress finish, until --drain-timeout if given), then
 * stopping (SIGTERM, SIGINT, or the drain timeout: connections are ended,
 * children get SIGTERM and after --grace SIGKILL, services see their stop
 * descriptor raised).
 */
#ifndef FORKNET_SERVER_H
#define FORKNET_SERVER_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "../lib/children.h"
#include "../lib/listeners.h"
#include "../lib/throttle.h"
#include "service.h"

enum server_state {
	SERVER_RUNNING,
	SERVER_DRAINING, /* graceful stop: no new connections; the open ones finish */
	SERVER_STOPPING, /* fast stop: the open connections are ended */
};

struct handover;

struct server {
	const struct server_config *config;
	const struct service *service;
	struct listeners listeners;
	int signal_fd;              /* readable when a caught signal is pending */
	int stop_fd;                /* the services' stop descriptor (lib/stop.h) */
	enum server_state state;
	unsigned stop_signals;      /* fast-stop signals so far: a second one hurries the stop */
	struct timespec started;
	struct timespec drain_deadline; /* with --drain-timeout, once draining */
	uint64_t accepted;          /* connections accepted since start */
	uint64_t served;            /* ... that were served and have ended */
	uint64_t refused;           /* ... that were closed unserved (no process or thread for them) */
	bool restart_due;           /* SIGHUP came: the model calls server_restart when it can */
	uint32_t restarts;          /* restarts in place so far */
	const struct handover *handover; /* from the image before a restart, or NULL */
	struct timespec paused_until; /* accepting is paused until then (after resource errors) */
	long pause_ms;              /* the last pause; doubles while errors repeat */
	struct throttle pause_log;  /* how often those errors are logged */
	struct failure *failure;    /* server_run's caller's: where server_ready says what failed */
	bool not_ready;             /* server_ready failed: *failure says why */
};

/*
 * Runs CONFIG's model serving SERVICE until stopped. Returns 0 once stopped
 * as asked, or -1 with FAILURE set: what kept it from starting (nothing
 * printed), or, once serving, what ended it (logged already: FAILURE's
 * logged flag). Prints nothing; the command says FAILURE (cli_failure).
 */
int server_run(const struct server_config *config, const struct service *service,
	       struct failure *failure);

/*
 * Called by a model once it is set up and about to serve (its table, its
 * first workers): logs "listening on ADDR:PORT" for each listener (what
 * tests, scripts and operators wait for), "restarted in place" after a
 * restart, and writes the port for --print-port. Returns 0, or -1 with
 * server_run's failure set: the model then returns -1.
 */
int server_ready(struct server *server);

/* What a model does on the signals whose work depends on it. Either may be NULL. */
struct server_hooks {
	void (*reap)(void *arg);   /* SIGCHLD: reap the children that ended */
	void (*status)(void *arg); /* SIGUSR2: log the status (server_log_status) */
	void *arg;
};

/*
 * Handles the caught signals that are pending, as the signal table says;
 * call when the signal descriptor is readable. Moves server->state on a stop
 * signal and raises the stop descriptor (at once on a fast stop, after
 * --drain-timeout on a graceful one); the rest is logged or given to HOOKS.
 */
void server_handle_signals(struct server *server, const struct server_hooks *hooks);

/* What a model counts beyond the server's books, for the status line. */
struct server_tally {
	uint64_t open;    /* connections open now */
	uint64_t served;  /* ended in workers the server has not reaped yet */
	uint64_t refused; /* ... and closed unserved there */
};

/*
 * Logs the status line for SIGUSR2: the model, the connections open, those
 * served and refused since start (the server's books plus LIVE), the uptime
 * and state; DETAIL (or NULL) is the model's own addition, e.g. "4 workers".
 */
void server_log_status(const struct server *server, const struct server_tally *live,
		       const char *detail);

/*
 * The stop sequence of a model with children in TABLE, once the state is
 * no longer running: close the listeners; when draining, wait for every
 * child (until --drain-timeout, or until a fast stop comes); then SIGTERM
 * and SIGCONT to each child left, up to --grace seconds (a second fast-stop
 * signal cuts it short), SIGKILL, and a last wait. HOOKS->reap must reap
 * into TABLE. Returns false if children remain.
 */
bool server_stop_children(struct server *server, struct children *table,
			  const struct server_hooks *hooks);

/*
 * The restart in place (restart.h), for a model to call when
 * server->restart_due and nothing it holds would be lost by an exec: the
 * children in TABLE (or NULL) go on and are handed over with the listeners.
 * Returns only if the restart did not happen: logged, and the server goes
 * on as before (or, when a stop signal was pending, is now stopping).
 */
void server_restart(struct server *server, const struct children *table,
		    const struct server_hooks *hooks);

/* In a child just forked to serve: closes what belongs to the server (listeners, stop descriptor). */
void server_child_setup(struct server *server);

/*
 * Fills FDS with the signal descriptor and, when WITH_LISTENERS, the listening
 * sockets, all for POLLIN. FDS needs 1 + LISTENERS_MAX entries. Returns the count.
 */
nfds_t server_pollfds(const struct server *server, struct pollfd *fds, bool with_listeners);

enum server_accept_result {
	SERVER_ACCEPTED,      /* *CONN is set */
	SERVER_ACCEPT_EMPTY,  /* nothing (more) to accept now */
	SERVER_ACCEPT_PAUSED, /* out of descriptors or memory: the server is paused */
	SERVER_ACCEPT_FATAL,  /* the listening socket is unusable (logged): stop */
	SERVER_ACCEPT_SHUT,   /* it was shut down (a graceful stop, by the master): stop */
};

/*
 * Accepts one connection from listener INDEX, sorting accept's errors as
 * above. Sets CONN's socket, peer and local address; no byte counter, no
 * cancel descriptor: those are the model's to give.
 */
enum server_accept_result server_accept(struct server *server, size_t index,
				       struct connection *conn);

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
 * Says that -c is reached (the model found it so just now, after it was
 * not): new connections wait in the backlog. At once the first time, then
 * at most once a minute with a count, kept in LOG, so that a server living
 * at its limit does not add a line per connection. A warning: a saturated
 * server is what an operator must see, also with -q. ONE and MANY name what
 * -c counts here ("child", "children").
 */
void server_note_limit(struct server *server, struct throttle *log, const char *one,
		       const char *many);

/*
 * Logs the end of a connection and counts it as served: "client ADDR
 * closed, child PID exited 0, N bytes echoed in T s". PID 0 (iterative)
 * leaves out the child; HOW is the wait-status text or NULL.
 */
void server_log_closed(struct server *server, enum log_level level,
		       const struct address *peer, pid_t pid, const char *how, uint64_t bytes,
		       struct timespec started);

#endif
