/*
 * model_iterative: the server process itself serves one connection at a
 * time, like the course's tcpfirstsrv. It exists to show the limit the fork
 * model removes: while one client is being served, the next one waits in the
 * backlog, connected but unanswered.
 *
 * Processes: one, no children. Signals: SIGTERM and SIGINT stop it, even in
 * the middle of a connection: the connection is made non-blocking and the
 * service is given the signal descriptor as its cancel descriptor, so a
 * client that neither sends nor reads cannot hold the server. Only the stop
 * signals are caught here (see server_run), so nothing else cancels.
 */
#include <errno.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "../lib/clock.h"
#include "../lib/io.h"
#include "../lib/log.h"
#include "server.h"

/* Serves one connection here, in the server process, then closes it. */
static void serve_here(struct server *server, int fd, const struct address *peer)
{
	char address[ADDRESS_TEXT_MAX];
	uint64_t bytes = 0;
	struct connection conn = {.fd = fd, .peer = *peer, .bytes = &bytes,
				  .cancel_fd = server->signal_fd};
	struct timespec started = clock_now();

	log_info("client %s connected", addr_format(peer, address, sizeof address));
	enum service_status status = SERVICE_FAILED;
	if (io_set_nonblocking(fd, 1) != 0)
		log_warning("client %s: fcntl O_NONBLOCK: %s", address, strerror(errno));
	else
		status = server->service->serve(&conn, server->service->arg);
	if (close(fd) != 0)
		log_warning("client %s: close: %s", address, strerror(errno));
	server_log_closed(server, LOG_LEVEL_INFO, peer, 0,
			  status == SERVICE_CANCELED ? "cut short by the stop" : NULL, bytes, started);
}

int model_iterative_run(struct server *server)
{
	while (!server->stopping) {
		int pause_ms;
		bool paused = server_paused(server, &pause_ms);
		struct pollfd fds[1 + LISTENERS_MAX];
		nfds_t count = server_pollfds(server, fds, !paused);

		if (poll(fds, count, pause_ms) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			return EX_OSERR;
		}
		if (fds[0].revents != 0 && server_handle_signals(server, NULL, NULL))
			break;
		/* One connection per turn, then look at the signals again. */
		for (nfds_t i = 1; i < count; i++) {
			int fd;
			struct address peer;
			if (fds[i].revents == 0)
				continue;
			enum server_accept_result result = server_accept(server, i - 1, &fd, &peer);
			if (result == SERVER_ACCEPT_FATAL)
				return EX_OSERR;
			if (result == SERVER_ACCEPTED) {
				server_unpause(server);
				serve_here(server, fd, &peer);
				break;
			}
		}
	}
	return EX_OK;
}
