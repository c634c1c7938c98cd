/*
 * server: start-up, readiness and the helpers every model shares. See server.h.
 */
#include "server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include "../cli.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../lib/sig.h"
#include "../lib/text.h"

#define PAUSE_FIRST_MS 50
#define PAUSE_MAX_MS 1000
/* While resource errors repeat, at most one line about them per this many seconds. */
#define PAUSE_LOG_SECONDS 60

int server_run(const struct server_config *config, const struct service *service)
{
	/*
	 * A model without children (iterative) leaves SIGCHLD alone: it
	 * cancels the connection it serves when the signal descriptor wakes, and
	 * only a stop signal may do that.
	 */
	static const int caught[] = {SIGTERM, SIGINT, SIGCHLD};
	int caught_count = config->model->has_children ? 3 : 2;
	struct server server = {.config = config, .service = service};
	char error[256];
	int status;

	log_set_level(config->log_level);
	if (sig_set(SIGPIPE, SIG_IGN) != 0) {
		cli_error("sigaction SIGPIPE: %s", strerror(errno));
		return EX_OSERR;
	}
	server.signal_fd = sig_catch(caught, caught_count);
	if (server.signal_fd < 0) {
		cli_error("catching signals: %s", strerror(errno));
		return EX_OSERR;
	}
	status = listeners_open(&server.listeners, SOCK_STREAM, config->bind, config->port, error,
				sizeof error);
	if (status != 0) {
		cli_error("%s", error);
		(void)sig_reset(); /* exiting: only tidiness is at stake */
		return status;
	}
	char limits[64] = "";
	if (config->model->has_children)
		snprintf(limits, sizeof limits, ", at most %lu %s", config->max_children,
			 text_noun(config->max_children, "child", "children"));
	for (size_t i = 0; i < server.listeners.count; i++) {
		char address[ADDRESS_TEXT_MAX];
		log_notice("listening on %s (%s service, %s model%s)",
			   addr_format(&server.listeners.addresses[i], address, sizeof address),
			   service->name, config->model->name, limits);
	}

	if (config->print_port && listeners_write_port(&server.listeners, STDOUT_FILENO) != 0) {
		cli_error("write the port to standard output: %s", strerror(errno));
		server_close_listeners(&server);
		(void)sig_reset();
		return EX_IOERR;
	}

	status = config->model->run(&server);
	server_close_listeners(&server);
	if (sig_reset() != 0)
		log_warning("resetting signals: %s", strerror(errno));
	log_notice("stopped");
	return status;
}

bool server_handle_signals(struct server *server, void (*on_child)(void *arg), void *arg)
{
	bool stop = false;
	int signo;
	char name[32];

	sig_drain();
	while ((signo = sig_next()) != 0) {
		if (signo == SIGCHLD) {
			if (on_child != NULL)
				on_child(arg);
			continue;
		}
		log_notice("%s received: %s", sig_name(signo, name, sizeof name),
			   server->stopping ? "already stopping" : "stopping");
		server->stopping = true;
		stop = true;
	}
	return stop;
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

enum server_accept_result server_accept(struct server *server, size_t index, int *fd,
				       struct address *peer)
{
	char address[ADDRESS_TEXT_MAX];
	char why[ADDRESS_TEXT_MAX + 64];

	for (;;) {
		peer->length = sizeof peer->storage;
		/* The listener is non-blocking; the accepted socket is blocking, close-on-exec. */
		int accepted = accept4(server->listeners.fds[index], (struct sockaddr *)&peer->storage,
				       &peer->length, SOCK_CLOEXEC);
		if (accepted >= 0) {
			*fd = accepted;
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
		default:
			/* EBADF, EINVAL, ENOTSOCK...: the listening socket itself is broken. */
			log_error("accept on %s: %s", address, strerror(error));
			return SERVER_ACCEPT_FATAL;
		}
	}
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

void server_log_closed(const struct server *server, enum log_level level,
		       const struct address *peer, pid_t pid, const char *how, uint64_t bytes,
		       struct timespec started)
{
	char address[ADDRESS_TEXT_MAX];
	char child[96] = "";
	double seconds = clock_seconds_between(started, clock_now());

	if (pid > 0)
		snprintf(child, sizeof child, ", child %ld %s", (long)pid, how);
	else if (how != NULL)
		snprintf(child, sizeof child, ", %s", how);
	log_write(level, "client %s closed%s, %llu bytes %s in %.3f s",
		  addr_format(peer, address, sizeof address), child, (unsigned long long)bytes,
		  server->service->bytes_verb, seconds);
}
