/*
 * shutdown: the stop sequence of every model that serves in child processes
 * (see server_stop_children in server.h). The server keeps handling its
 * signals throughout, so a child that ends is reaped and logged at once, a
 * SIGUSR2 still gets its status line, and a fast-stop signal during the
 * drain or the grace period moves the sequence on.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#include "../lib/clock.h"
#include "../lib/log.h"
#include "../lib/text.h"
#include "server.h"

/* After SIGKILL a child dies at once unless stuck in the kernel; do not wait forever. */
#define KILL_WAIT_MS 5000

enum wait_end { WAIT_NONE_LEFT, WAIT_DEADLINE, WAIT_SIGNALED, WAIT_FAILED };

/*
 * Waits until TABLE is empty or DEADLINE (NULL: none) passes, handling
 * signals meanwhile; also stops waiting once the number of fast-stop signals
 * passes STOP_SIGNALS (when STOP_SIGNALS is not negative).
 */
static enum wait_end wait_for(struct server *server, const struct children *table,
			      const struct timespec *deadline, long stop_signals,
			      const struct server_hooks *hooks)
{
	while (table->count > 0) {
		int left = deadline != NULL ? clock_ms_until(*deadline) : -1;
		if (left == 0)
			return WAIT_DEADLINE;
		struct pollfd pfd = {.fd = server->signal_fd, .events = POLLIN};
		int ready = poll(&pfd, 1, left);
		if (ready < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			return WAIT_FAILED;
		}
		if (ready <= 0)
			continue;
		server_handle_signals(server, hooks);
		if (stop_signals >= 0 && (long)server->stop_signals > stop_signals)
			return WAIT_SIGNALED;
	}
	return WAIT_NONE_LEFT;
}

static const char *children_noun(size_t count)
{
	return text_noun(count, "child", "children");
}

bool server_stop_children(struct server *server, struct children *table,
			  const struct server_hooks *hooks)
{
	const struct server_config *config = server->config;
	enum wait_end end;

	if (server->state == SERVER_DRAINING) {
		/*
		 * Workers (prefork) hold the listening sockets too: shut down, not
		 * just closed here, they stop listening in every process at once,
		 * and SIGQUIT tells each worker to finish and exit. The fork
		 * model's children hold no listener and ignore SIGQUIT.
		 */
		children_signal_all(table, SIGQUIT);
		for (size_t i = 0; i < server->listeners.count; i++)
			if (shutdown(server->listeners.fds[i], SHUT_RD) != 0)
				log_warning("shutdown listening socket: %s", strerror(errno));
	}
	server_close_listeners(server);
	hooks->reap(hooks->arg); /* some may have ended already */
	if (table->count == 0)
		return true;

	if (server->state == SERVER_DRAINING) {
		log_notice("waiting for %zu %s to finish", table->count, children_noun(table->count));
		end = wait_for(server, table, config->drain_limited ? &server->drain_deadline : NULL,
			       (long)server->stop_signals, hooks);
		if (end == WAIT_NONE_LEFT)
			return true;
		if (end == WAIT_DEADLINE)
			log_notice("drain timeout of %lu s passed: stopping the %zu %s left",
				   config->drain_seconds, table->count, children_noun(table->count));
		server->state = SERVER_STOPPING;
	}

	log_notice("asking %zu %s to stop (grace period %lu s)", table->count,
		   children_noun(table->count), config->grace_seconds);
	children_signal_all(table, SIGTERM);
	children_signal_all(table, SIGCONT); /* a stopped child must run to see SIGTERM */
	struct timespec deadline = clock_after(clock_now(), (long)config->grace_seconds * 1000);
	end = wait_for(server, table, &deadline, (long)server->stop_signals, hooks);
	if (end == WAIT_NONE_LEFT)
		return true;
	if (end == WAIT_SIGNALED)
		log_notice("second stop signal: not waiting for the grace period");

	log_warning("killing %zu %s still running", table->count, children_noun(table->count));
	children_signal_all(table, SIGKILL);
	deadline = clock_after(clock_now(), KILL_WAIT_MS);
	if (wait_for(server, table, &deadline, -1, hooks) == WAIT_NONE_LEFT)
		return true;
	log_error("%zu %s did not die after SIGKILL; leaving %s", table->count,
		  children_noun(table->count), table->count == 1 ? "it" : "them");
	return false;
}
