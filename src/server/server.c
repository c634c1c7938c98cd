/*
 * server: start-up, readiness and the helpers every model shares. See server.h.
 */
#include "server.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include "../signals.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../lib/sig.h"
#include "../lib/stop.h"
#include "../lib/text.h"
#include "restart.h"

#define PAUSE_FIRST_MS 50
#define PAUSE_MAX_MS 1000
/* While resource errors repeat, at most one line about them per this many seconds. */
#define PAUSE_LOG_SECONDS 60
/* At -c, at most one line about it per this many seconds. */
#define LIMIT_LOG_SECONDS 60

/* Undoes what server_run set up. */
static void finish(struct server *server)
{
	server_close_listeners(server);
	if (sig_reset() != 0)
		log_warning("resetting signals: %s", strerror(errno));
	if (close(server->stop_fd) != 0)
		log_warning("close the stop descriptor: %s", strerror(errno));
}

/*
 * Takes the listeners and counts an image before this one handed over
 * (restart.h), or opens the listeners. Returns 0, or -1 with FAILURE set.
 */
static int open_or_adopt(struct server *server, struct handover *handover,
			 struct failure *failure)
{
	const struct server_config *config = server->config;
	char error[256];

	int received = restart_receive(handover, error, sizeof error);
	if (received < 0)
		return failure_set(failure, FAILURE_SOFTWARE, "restart: %s", error);
	if (received == 0)
		return listeners_open(&server->listeners, SOCK_STREAM, config->bind, config->port,
				      failure);
	server->listeners = handover->listeners;
	server->accepted = handover->accepted;
	server->served = handover->served;
	server->refused = handover->refused;
	server->started = handover->started;
	server->restarts = handover->restarts;
	server->handover = handover;
	return 0;
}

int server_run(const struct server_config *config, const struct service *service,
	       struct failure *failure)
{
	struct server server = {.config = config, .service = service, .stop_fd = -1,
				.failure = failure};
	struct handover handover;

	if ((config->model->flags & MODEL_EVENT_LOOP) && service->events == NULL)
		return failure_set(failure, FAILURE_USAGE,
				   "the %s model needs a service with an event-loop form, and %s "
				   "has none", config->model->name, service->name);
	if (restart_checking())
		return restart_check(failure); /* a trial run: the options are good */
	log_set_level(config->log_level);
	server.started = clock_now();
	server.stop_fd = stop_open();
	if (server.stop_fd < 0)
		return failure_set(failure, FAILURE_SYSTEM, "timerfd_create: %s", strerror(errno));
	server.signal_fd = signals_catch(SIGNAL_TCP_SERVER, config->model->flags & MODEL_CHILDREN);
	if (server.signal_fd < 0) {
		(void)failure_set(failure, FAILURE_SYSTEM, "catching signals: %s", strerror(errno));
		(void)close(server.stop_fd);
		return -1;
	}
	if (restart_init() != 0)
		log_warning("readlink /proc/self/exe: %s; SIGHUP will not be able to restart",
			    strerror(errno));
	if (open_or_adopt(&server, &handover, failure) != 0) {
		(void)sig_reset(); /* giving up: only tidiness is at stake */
		(void)close(server.stop_fd);
		return -1;
	}
	/* The image before blocked every signal for the exec; those that came wait, pending. */
	if (server.handover != NULL && sig_unblock_all() != 0) {
		(void)failure_set(failure, FAILURE_SYSTEM, "sigprocmask: %s", strerror(errno));
		finish(&server);
		restart_release(&handover);
		return -1;
	}

	int status = config->model->run(&server);
	finish(&server);
	restart_release(&handover);
	log_notice("stopped");
	if (status == 0)
		return 0;
	return server.not_ready ? -1 : failure_logged(failure, FAILURE_SYSTEM);
}

int server_ready(struct server *server)
{
	const struct server_config *config = server->config;
	char limits[64] = "";

	if (config->model->flags & MODEL_CONCURRENT)
		snprintf(limits, sizeof limits, ", at most %lu at once", config->max_children);
	for (size_t i = 0; i < server->listeners.count; i++) {
		char address[ADDRESS_TEXT_MAX];
		log_notice("listening on %s (%s service, %s model%s)",
			   addr_format(&server->listeners.addresses[i], address, sizeof address),
			   server->service->name, config->model->name, limits);
	}
	const struct handover *handover = server->handover;
	if (handover != NULL)
		log_notice("restarted in place (restart %lu): carrying on %zu connection%s in progress",
			   (unsigned long)server->restarts, handover->child_count,
			   text_plural(handover->child_count));

	/* After a restart, the port was written already, and the reader may be gone. */
	if (config->print_port && handover == NULL &&
	    listeners_write_port(&server->listeners, STDOUT_FILENO) != 0) {
		server->not_ready = true;
		return failure_set(server->failure, FAILURE_IO,
				   "write the port to standard output: %s", strerror(errno));
	}
	return 0;
}

/* SIGTERM, SIGINT: the fast stop, or with one under way, its hurry. */
static void fast_stop(struct server *server, const char *signal)
{
	server->stop_signals++;
	if (server->state == SERVER_STOPPING) {
		log_notice("%s received: already stopping", signal);
		return;
	}
	log_notice("%s received: stopping", signal);
	server->state = SERVER_STOPPING;
	if (stop_raise(server->stop_fd, 0) != 0)
		log_error("raising the stop descriptor: %s", strerror(errno));
}

/* SIGQUIT: the graceful stop. */
static void drain(struct server *server, const char *signal)
{
	const struct server_config *config = server->config;

	if (server->state != SERVER_RUNNING) {
		log_notice("%s received: already stopping", signal);
		return;
	}
	server->state = SERVER_DRAINING;
	if (!config->drain_limited) {
		log_notice("%s received: stopping gracefully: no new connections, the open ones "
			   "finish", signal);
		return;
	}
	log_notice("%s received: stopping gracefully: no new connections, the open ones get "
		   "%lu s to finish", signal, config->drain_seconds);
	long ms = (long)config->drain_seconds * 1000;
	server->drain_deadline = clock_after(clock_now(), ms);
	if (stop_raise(server->stop_fd, ms) != 0)
		log_error("arming the stop descriptor: %s", strerror(errno));
}

void server_handle_signals(struct server *server, const struct server_hooks *hooks)
{
	enum signal_action action;
	int signo;
	char name[32];

	sig_drain();
	while ((action = signals_next(SIGNAL_TCP_SERVER, &signo)) != SIGNAL_DEFAULT) {
		sig_name(signo, name, sizeof name);
		switch (action) {
		case SIGNAL_STOP:
			fast_stop(server, name);
			break;
		case SIGNAL_DRAIN:
			drain(server, name);
			break;
		case SIGNAL_RESTART:
			if (server->state != SERVER_RUNNING) {
				log_notice("%s received: stopping, so not restarting", name);
				break;
			}
			log_notice("%s received: restarting in place", name);
			server->restart_due = true;
			break;
		case SIGNAL_REOPEN_LOG:
			signals_reopen_log(name);
			break;
		case SIGNAL_STATUS:
			if (hooks != NULL && hooks->status != NULL)
				hooks->status(hooks->arg);
			else
				server_log_status(server, &(struct server_tally){0}, NULL);
			break;
		case SIGNAL_CHILD:
			if (hooks != NULL && hooks->reap != NULL)
				hooks->reap(hooks->arg);
			break;
		case SIGNAL_DEFAULT:
		case SIGNAL_DISCARD:
		case SIGNAL_IGNORE:
			break; /* not returned by signals_next */
		}
	}
}

void server_log_status(const struct server *server, const struct server_tally *live,
		       const char *detail)
{
	static const char *const states[] = {
		[SERVER_RUNNING] = "running",
		[SERVER_DRAINING] = "stopping gracefully",
		[SERVER_STOPPING] = "stopping",
	};
	double up = clock_seconds_between(server->started, clock_now());

	log_notice("status: %s, %s model%s%s, %llu connection%s open, %llu served and %llu "
		   "refused in %.0f s",
		   states[server->state], server->config->model->name, detail != NULL ? ", " : "",
		   detail != NULL ? detail : "", (unsigned long long)live->open,
		   live->open == 1 ? "" : "s", (unsigned long long)(server->served + live->served),
		   (unsigned long long)(server->refused + live->refused), up);
}

void server_restart(struct server *server, const struct children *table,
		    const struct server_hooks *hooks)
{
	char why[PATH_MAX + 128];
	sigset_t saved;

	server->restart_due = false;
	if (restart_trial(why, sizeof why) != 0) {
		log_error("restart failed: %s; serving on", why);
		return;
	}
	/*
	 * From here to the exec every signal waits, pending, for the new image.
	 * Those already caught are acted on first: their flags would not survive
	 * the exec, and a stop among them cancels the restart.
	 */
	if (sig_block_all(&saved) != 0) {
		log_error("restart failed: sigprocmask: %s; serving on", strerror(errno));
		return;
	}
	server_handle_signals(server, hooks);
	if (server->state != SERVER_RUNNING) {
		log_notice("not restarting: stopping");
		goto restore;
	}

	struct handover handover = {
		.listeners = server->listeners,
		.boards_fd = table != NULL ? table->boards_fd : -1,
		.capacity = table != NULL ? table->capacity : 0,
		.accepted = server->accepted,
		.served = server->served,
		.refused = server->refused,
		.started = server->started,
		.restarts = server->restarts + 1,
	};
	if (table != NULL && table->count > 0) {
		handover.children = calloc(table->count, sizeof *handover.children);
		if (handover.children == NULL) {
			log_error("restart failed: memory for %zu children: %s; serving on",
				  table->count, strerror(errno));
			goto restore;
		}
		for (size_t i = 0; i < table->fresh; i++) {
			const struct child *child = &table->slots[i];
			if (child->pid > 0)
				handover.children[handover.child_count++] = (struct handover_child){
					.pid = child->pid, .slot = (uint32_t)i, .peer = child->peer,
					.started = child->started};
		}
	}
	log_info("restart: the trial run passed; executing the binary again");
	(void)restart_exec(&handover, why, sizeof why); /* returns only if it failed */
	log_error("restart failed: %s; serving on", why);
	free(handover.children);
restore:
	if (sig_restore(&saved) != 0)
		log_error("sigprocmask: %s", strerror(errno));
}

void server_child_setup(struct server *server)
{
	if (listeners_close(&server->listeners) != 0)
		log_warning("child: close listening socket: %s", strerror(errno));
	if (close(server->stop_fd) != 0)
		log_warning("child: close the stop descriptor: %s", strerror(errno));
	server->stop_fd = -1;
}

nfds_t server_pollfds(const struct server *server, struct pollfd *fds, bool with_listeners)
{
	nfds_t count = 0;

	fds[count++] = (struct pollfd){.fd = server->signal_fd, .events = POLLIN};
	if (with_listeners)
		for (size_t i = 0; i < server->listeners.count; i++)
			fds[count++] = (struct pollfd){.fd = server->listeners.fds[i], .events = POLLIN};
	return count;
}

/* True if FD is a socket in the listening state. */
static bool listening(int fd)
{
	int value = 0;
	socklen_t length = sizeof value;
	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &length) == 0 && value == 1;
}

/*
 * The address of the server that connection FD reached, from listener
 * INDEX: the listener's own, unless it listens on a wildcard (0.0.0.0, ::),
 * when only the socket knows (one getsockname). Should that fail (it cannot
 * on a connected socket but for ENOBUFS), the wildcard stands in.
 */
static void local_address(const struct server *server, size_t index, int fd,
			  struct address *local)
{
	const struct address *listener = &server->listeners.addresses[index];

	if (addr_is_any(listener)) {
		local->length = sizeof local->storage;
		if (getsockname(fd, (struct sockaddr *)&local->storage, &local->length) == 0) {
			addr_unmap(local);
			return;
		}
		log_debug("getsockname: %s", strerror(errno));
	}
	*local = *listener;
}

enum server_accept_result server_accept(struct server *server, size_t index,
				       struct connection *conn)
{
	char address[ADDRESS_TEXT_MAX];
	char why[ADDRESS_TEXT_MAX + 64];
	struct address *peer = &conn->peer;

	for (;;) {
		peer->length = sizeof peer->storage;
		/* The listener is non-blocking; the accepted socket is blocking, close-on-exec. */
		int accepted = accept4(server->listeners.fds[index], (struct sockaddr *)&peer->storage,
				       &peer->length, SOCK_CLOEXEC);
		if (accepted >= 0) {
			server->accepted++;
			conn->fd = accepted;
			local_address(server, index, accepted, &conn->local);
			conn->bytes = NULL;
			conn->cancel_fd = -1;
			return SERVER_ACCEPTED;
		}
		int error = errno;
		addr_format(&server->listeners.addresses[index], address, sizeof address);
		switch (error) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
			return SERVER_ACCEPT_EMPTY; /* taken already, or the client gave up first */
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
		case EPERM: /* refused by a firewall rule */
		case ENETDOWN:
		case ENETUNREACH:
		case EHOSTDOWN:
		case EHOSTUNREACH:
		case ENONET:
		case ENOPROTOOPT:
		case EOPNOTSUPP:
			/* accept(2): errors of that one pending connection, which is gone. Go on. */
			log_debug("accept on %s: %s", address, strerror(error));
			continue;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* Out of a resource that comes back: the connection waits in the backlog. */
			snprintf(why, sizeof why, "accept on %s: %s", address, strerror(error));
			server_pause(server, why);
			return SERVER_ACCEPT_PAUSED;
		case EINVAL:
			/* No longer listening: a prefork master shut it down to stop. */
			if (!listening(server->listeners.fds[index]))
				return SERVER_ACCEPT_SHUT;
			log_error("accept on %s: %s", address, strerror(error));
			return SERVER_ACCEPT_FATAL;
		default:
			/* EBADF, ENOTSOCK...: the listening socket itself is broken. */
			log_error("accept on %s: %s", address, strerror(error));
			return SERVER_ACCEPT_FATAL;
		}
	}
}

void server_note_limit(struct server *server, struct throttle *log, const char *one,
		       const char *many)
{
	unsigned long limit = server->config->max_children, count;
	const char *noun = limit == 1 ? one : many;
	double seconds;

	if (!throttle_due(log, clock_now(), LIMIT_LOG_SECONDS, &count, &seconds))
		return;
	if (seconds == 0)
		log_warning("limit of %lu %s reached: new connections wait", limit, noun);
	else
		log_warning("limit of %lu %s reached %lu time%s in the last %.0f s: new connections wait",
			    limit, noun, count, text_plural(count), seconds);
}

void server_pause(struct server *server, const char *why)
{
	struct timespec now = clock_now();
	unsigned long count;
	double seconds;

	server->pause_ms = server->pause_ms == 0 ? PAUSE_FIRST_MS : server->pause_ms * 2;
	if (server->pause_ms > PAUSE_MAX_MS)
		server->pause_ms = PAUSE_MAX_MS;
	server->paused_until = clock_after(now, server->pause_ms);
	/* A shortage that lasts would otherwise write a line a second for as long as it lasts. */
	if (!throttle_due(&server->pause_log, now, PAUSE_LOG_SECONDS, &count, &seconds))
		return;
	if (seconds == 0)
		log_warning("%s; not accepting for %ld ms", why, server->pause_ms);
	else
		log_warning("%s (%lu time%s in the last %.0f s); not accepting for %ld ms", why, count,
			    text_plural(count), seconds, server->pause_ms);
}

bool server_paused(struct server *server, int *left_ms)
{
	*left_ms = -1;
	if (server->pause_ms == 0)
		return false;
	int left = clock_ms_until(server->paused_until);
	if (left == 0)
		return false;
	*left_ms = left;
	return true;
}

void server_unpause(struct server *server)
{
	double seconds;

	if (server->pause_ms == 0)
		return; /* the usual case: no shortage to end */
	server->pause_ms = 0;
	unsigned long held = throttle_end(&server->pause_log, clock_now(), &seconds);
	if (held > 0)
		log_warning("accepting again, after %lu more resource error%s in %.0f s", held,
			    text_plural(held), seconds);
}

void server_close_listeners(struct server *server)
{
	if (listeners_close(&server->listeners) != 0)
		log_warning("close listening socket: %s", strerror(errno));
}

void server_log_closed(struct server *server, enum log_level level,
		       const struct address *peer, pid_t pid, const char *how, uint64_t bytes,
		       struct timespec started)
{
	char address[ADDRESS_TEXT_MAX];
	char child[96] = "";
	double seconds = clock_seconds_between(started, clock_now());

	server->served++;
	if (pid > 0)
		snprintf(child, sizeof child, ", child %ld %s", (long)pid, how);
	else if (how != NULL)
		snprintf(child, sizeof child, ", %s", how);
	log_write(level, "client %s closed%s, %llu bytes %s in %.3f s",
		  addr_format(peer, address, sizeof address), child, (unsigned long long)bytes,
		  server->service->bytes_verb, seconds);
}
