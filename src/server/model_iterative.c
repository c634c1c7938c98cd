/*
 * model_iterative: the server process itself serves one connection at a
 * time, like the course's tcpfirstsrv. It exists to show the limit the fork
 * model removes: while one client is being served, the next one waits in the
 * backlog, connected but unanswered.
 *
 * Processes: one, no children. Signals: while a connection is served, the
 * main loop is inside the service, so the signals wait, pending, until the
 * connection ends; then the loop acts on them (a SIGUSR2 status line comes
 * late, a SIGHUP restart waits its turn). Two cannot wait: a fast stop
 * (SIGTERM, SIGINT) must cut the connection short, and a graceful stop
 * (SIGQUIT) with --drain-timeout must cut it once the timeout passes. For
 * those the signal handler itself raises the stop descriptor, now or after
 * the timeout (sig_raise_stop); the service, given it as its cancel
 * descriptor on a non-blocking connection, gives up when it is raised, so a
 * client that neither sends nor reads cannot hold the server.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "../lib/clock.h"
#include "../lib/io.h"
#include "../lib/log.h"
#include "../lib/sig.h"
#include "server.h"

/* Serves one accepted connection CONN here, in the server process, then closes it. */
static void serve_here(struct server *server, struct connection *conn)
{
	char address[ADDRESS_TEXT_MAX];
	uint64_t bytes = 0;
	int fd = conn->fd;
	struct timespec started = clock_now();

	conn->bytes = &bytes;
	conn->cancel_fd = server->stop_fd;
	log_info("client %s connected", addr_format(&conn->peer, address, sizeof address));
	enum service_status status = SERVICE_FAILED;
	if (io_set_nonblocking(fd, 1) != 0)
		log_warning("client %s: fcntl O_NONBLOCK: %s", address, strerror(errno));
	else
		status = server->service->serve(conn, server->service->arg);
	if (close(fd) != 0)
		log_warning("client %s: close: %s", address, strerror(errno));
	server_log_closed(server, LOG_LEVEL_INFO, &conn->peer, 0,
			  status == SERVICE_CANCELED ? "cut short by the stop" : NULL, bytes, started);
}

/* Makes the stop signals raise the stop descriptor from their handler; see the top. */
static int arm_stop_signals(struct server *server)
{
	const struct server_config *config = server->config;

	if (sig_raise_stop(SIGTERM, server->stop_fd, 0) != 0 ||
	    sig_raise_stop(SIGINT, server->stop_fd, 0) != 0)
		return -1;
	if (config->drain_limited &&
	    sig_raise_stop(SIGQUIT, server->stop_fd, (long)config->drain_seconds * 1000) != 0)
		return -1;
	return 0;
}

static int run(struct server *server)
{
	if (arm_stop_signals(server) != 0) {
		log_error("stop signals: %s", strerror(errno));
		return -1;
	}
	if (server_ready(server) != 0)
		return -1;
	while (server->state == SERVER_RUNNING) {
		int pause_ms;
		bool paused = server_paused(server, &pause_ms);
		struct pollfd fds[1 + LISTENERS_MAX];
		nfds_t count = server_pollfds(server, fds, !paused);

		if (poll(fds, count, pause_ms) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			return -1;
		}
		if (fds[0].revents != 0) {
			server_handle_signals(server, NULL);
			if (server->restart_due)
				server_restart(server, NULL, NULL); /* between connections: nothing to hand over */
			if (server->state != SERVER_RUNNING)
				break;
		}
		/* One connection per turn, then look at the signals again. */
		for (nfds_t i = 1; i < count; i++) {
			struct connection conn;
			if (fds[i].revents == 0)
				continue;
			enum server_accept_result result = server_accept(server, i - 1, &conn);
			if (result == SERVER_ACCEPT_SHUT)
				log_error("the listening socket was shut down");
			if (result == SERVER_ACCEPT_FATAL || result == SERVER_ACCEPT_SHUT)
				return -1;
			if (result == SERVER_ACCEPTED) {
				server_unpause(server);
				serve_here(server, &conn);
				break;
			}
		}
	}
	/* Nothing is in progress here once the loop ends: a graceful stop is done at once. */
	return 0;
}

const struct server_model model_iterative = {
	.name = "iterative",
	.summary = "the server serves one connection at a time",
	.run = run,
	.flags = 0,
};
