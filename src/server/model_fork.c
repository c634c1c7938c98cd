/*
 * model_fork: the concurrent server with one child process per connection,
 * the design of the course's multiProcessTcpServer / echo_mpserv, made safe.
 *
 * Processes: the parent only accepts, forks, closes its copy of the connected
 * socket and keeps the books; each child closes the listening sockets, serves
 * its one connection and exits with the service's status.
 *
 * Signals arrive as events on the signal descriptor (src/signals.c), so
 * reaping, stopping and the status line happen here in the main loop, never
 * in a handler. One SIGCHLD may stand for many ended children;
 * children_reap() collects them all. Each child leads a process group of
 * its own, so that Ctrl-C (sent to the terminal's foreground group) stops
 * them through the parent, and ignores the server's own signals.
 *
 * Limits: the children table is sized for -c at start. While it is full the
 * parent stops polling the listening sockets, so new connections wait in the
 * kernel's backlog instead of being accepted and dropped.
 *
 * Stopping: server_stop_children (shutdown.c). On SIGQUIT the children
 * finish their connections; on SIGTERM or SIGINT they get SIGTERM, and
 * SIGKILL after --grace.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "../lib/children.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../lib/process.h"
#include "../lib/sig.h"
#include "../lib/text.h"
#include "../lib/throttle.h"
#include "../signals.h"
#include "restart.h"
#include "server.h"

/* Connections taken per wake-up of a listener before looking at signals again. */
#define ACCEPT_BATCH 32

struct fork_server {
	struct server *server;
	struct children children;
	bool at_limit;              /* the table was full when last looked at */
	struct throttle limit_log;  /* how often reaching it is logged (server_note_limit) */
	struct server_hooks hooks;
	int child_ignored[NSIG];          /* see signals_child_ignored */
	struct process_setup child_setup; /* for process_fork */
};

/* children_reap's callback: one log line per ended connection. */
static void child_ended(const struct child *child, pid_t pid, int status, void *arg)
{
	struct fork_server *fs = arg;
	char how[64];

	children_status_text(status, how, sizeof how);
	if (child == NULL) {
		log_warning("reaped process %ld that is not in the children table (%s)", (long)pid, how);
		return;
	}
	/* A child killed by a signal is worth a warning, unless we sent it while stopping. */
	enum log_level level =
		WIFSIGNALED(status) && fs->server->state != SERVER_STOPPING ? LOG_LEVEL_WARNING
									     : LOG_LEVEL_INFO;
	server_log_closed(fs->server, level, &child->peer, pid, how, *child->bytes, child->started);
}

static void reap(struct fork_server *fs)
{
	if (children_reap(&fs->children, child_ended, fs) < 0)
		log_error("waitpid: %s", strerror(errno));
	if (fs->at_limit && !children_full(&fs->children)) {
		fs->at_limit = false;
		log_debug("below the limit of %lu %s again: accepting",
			  fs->server->config->max_children,
			  text_noun(fs->server->config->max_children, "child", "children"));
	}
}

/* The hooks for server_handle_signals. */
static void reap_hook(void *arg)
{
	reap(arg);
}

static void status_hook(void *arg)
{
	struct fork_server *fs = arg;
	server_log_status(fs->server, &(struct server_tally){.open = fs->children.count}, NULL);
}

/*
 * The child's side of fork(): serve the connection and exit. Never returns.
 * process_fork has reset the signals, set the server's ones ignored, put
 * the child in a process group of its own (see run) and tied it to the
 * server's life (PR_SET_PDEATHSIG: a server killed with
 * SIGKILL leaves no orphan). SIGPIPE stays ignored, as in the parent: a
 * vanished client then shows up as EPIPE, which the service logs.
 */
static void run_child(struct fork_server *fs, struct connection *conn)
{
	struct server *server = fs->server;

	/* The listening sockets are the parent's business, and so is the boards' memfd. */
	server_child_setup(server);
	if (close(fs->children.boards_fd) != 0)
		log_warning("child: close the boards' memfd: %s", strerror(errno));

	enum service_status status = server->service->serve(conn, server->service->arg);
	/* _exit, not exit: the parent's stdio buffers and atexit handlers are not ours to run. */
	_exit((int)status);
}

/* Forks a child to serve the accepted CONN; the parent keeps no copy of its socket. */
static void spawn(struct fork_server *fs, struct connection *conn)
{
	struct child *slot = children_next_slot(&fs->children); /* not NULL: the caller checked */
	const struct address *peer = &conn->peer;
	int fd = conn->fd;
	char address[ADDRESS_TEXT_MAX];
	struct timespec started = clock_now();

	conn->bytes = slot->bytes;
	pid_t pid = process_fork(&fs->child_setup);
	if (pid == 0)
		run_child(fs, conn);
	if (pid < 0) {
		char why[ADDRESS_TEXT_MAX + 96];
		const char *reason = strerror(errno); /* before addr_format, which may change errno */
		snprintf(why, sizeof why, "fork for client %s: %s; connection closed",
			 addr_format(peer, address, sizeof address), reason);
		if (close(fd) != 0)
			log_warning("close: %s", strerror(errno));
		fs->server->refused++;
		server_pause(fs->server, why);
		return;
	}
	children_add(&fs->children, slot, pid, peer, &started);
	server_unpause(fs->server);
	if (close(fd) != 0)
		log_warning("close connection to child %ld: %s", (long)pid, strerror(errno));
	log_info("client %s connected, child %ld", addr_format(peer, address, sizeof address),
		 (long)pid);
}

/*
 * Accepts and spawns from listener INDEX until it is empty, the table full,
 * or accepting paused. Returns false if the listener is unusable.
 */
static bool accept_from(struct fork_server *fs, size_t index)
{
	for (int taken = 0; taken < ACCEPT_BATCH; taken++) {
		int left_ms;
		if (children_full(&fs->children) || server_paused(fs->server, &left_ms))
			return true;
		struct connection conn;
		enum server_accept_result result = server_accept(fs->server, index, &conn);
		if (result == SERVER_ACCEPT_SHUT)
			log_error("the listening socket was shut down");
		if (result != SERVER_ACCEPTED)
			return result != SERVER_ACCEPT_FATAL && result != SERVER_ACCEPT_SHUT;
		spawn(fs, &conn);
	}
	return true;
}

/*
 * After a restart in place: the children the image before left serving are
 * ours to reap and log, in the slots they had (so their boards).
 */
static void adopt(struct fork_server *fs, const struct handover *handover)
{
	for (size_t i = 0; i < handover->child_count; i++) {
		const struct handover_child *child = &handover->children[i];
		if (children_adopt(&fs->children, child->slot, child->pid, &child->peer,
				   &child->started) != 0)
			log_warning("restart: child %ld in slot %lu: not taken over (%s)",
				    (long)child->pid, (unsigned long)child->slot, strerror(errno));
	}
	children_adopted(&fs->children);
	reap(fs); /* those that ended during the exec */
}

static int run(struct server *server)
{
	struct fork_server fs = {.server = server};
	int status = 0;

	fs.hooks = (struct server_hooks){.reap = reap_hook, .status = status_hook, .arg = &fs};
	/*
	 * A child leads a process group of its own: Ctrl-C in a terminal, sent
	 * to the foreground group, reaches only the server, which then stops
	 * the children in order (SIGTERM, grace period) instead of every child
	 * dying on the spot. And it ignores the server's signals (SIGHUP,
	 * SIGUSR2...), which a pkill would send it too.
	 */
	fs.child_setup = (struct process_setup){
		.ignore = fs.child_ignored,
		.ignore_count = signals_child_ignored(SIGNAL_TCP_SERVER, fs.child_ignored),
		.own_group = true,
	};
	const struct handover *handover = server->handover;
	if (children_init(&fs.children, server->config->max_children,
			  handover != NULL ? handover->boards_fd : -1) != 0) {
		log_error("children table for %lu: %s", server->config->max_children,
			  strerror(errno));
		return -1;
	}
	if (handover != NULL)
		adopt(&fs, handover);
	if (server_ready(server) != 0) {
		status = -1;
		server->state = SERVER_STOPPING;
	}
	while (server->state == SERVER_RUNNING) {
		int pause_ms;
		bool paused = server_paused(server, &pause_ms);
		bool full = children_full(&fs.children);
		if (full && !fs.at_limit) {
			fs.at_limit = true;
			server_note_limit(server, &fs.limit_log, "child", "children");
		}

		struct pollfd fds[1 + LISTENERS_MAX];
		nfds_t count = server_pollfds(server, fds, !full && !paused);
		if (poll(fds, count, pause_ms) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			status = -1;
			break;
		}
		if (fds[0].revents != 0) {
			server_handle_signals(server, &fs.hooks);
			if (server->restart_due)
				server_restart(server, &fs.children, &fs.hooks); /* returns if it failed */
			if (server->state != SERVER_RUNNING)
				break;
		}
		for (nfds_t i = 1; i < count && status == 0; i++)
			if (fds[i].revents != 0 && !accept_from(&fs, i - 1))
				status = -1;
		if (status != 0)
			break;
	}
	if (status != 0)
		server->state = SERVER_STOPPING; /* no waiting for connections on a broken server */
	if (!server_stop_children(server, &fs.children, &fs.hooks))
		status = -1;
	children_destroy(&fs.children);
	return status;
}

const struct server_model model_fork = {
	.name = "fork",
	.summary = "a child process per connection (the default)",
	.run = run,
	.flags = MODEL_CONCURRENT | MODEL_CHILDREN,
};
