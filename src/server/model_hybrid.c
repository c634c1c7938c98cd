/*
 * model_hybrid: a master and --workers event-loop workers, nginx's design:
 * each worker serves many connections at once in one thread, with
 * non-blocking I/O and one epoll set, through the service's event-loop
 * form (service.h). With --workers 1 it is the course's multiplexing
 * server, one process serving everyone (plus a master that only watches).
 *
 * Processes: pool.c's master and workers; the master replaces a worker that
 * dies, hands the workers over on a restart (the old ones finish their
 * connections and leave), and stops them.
 *
 * A worker: the listening sockets are in its epoll set with EPOLLEXCLUSIVE
 * (a new connection wakes one worker, see model_prefork.c for why), beside
 * the pipe of its SIGQUIT and SIGTERM and each connection it serves. Each
 * connection is registered for what its service waits for: readable, or
 * writable only while it holds output the client has not taken (the cap on
 * what a slow reader can make a worker hold; echo's is one read, 64 KiB).
 * -c caps the connections of all workers together: each worker takes its
 * share (-c / --workers, one more for the first -c % --workers, by the
 * worker's number), and at its share stops watching the listeners.
 *
 * Signals: SIGQUIT (graceful stop, or a restart draining the old workers):
 * stop listening, serve the open connections to their end, exit. SIGTERM
 * (fast stop): end every connection now, logging each, and exit.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include "../lib/clock.h"
#include "../lib/io.h"
#include "../lib/log.h"
#include "../lib/sig.h"
#include "pool.h"
#include "server.h"

/* Events taken per epoll_wait. */
#define EVENT_BATCH 64
/* Connections accepted per wake-up of a listener: one, so that they go round (accept_from). */
#define ACCEPT_BATCH 1

/* epoll's data for what is not a connection: the listeners by index, and the signal pipe. */
#define TAG_SIGNALS ((uint64_t)LISTENERS_MAX)

/* One connection a worker serves; its service state follows it in the same block. */
struct hybrid_connection {
	struct hybrid_connection *prev, *next; /* the worker's list, for SIGTERM */
	struct connection conn;
	struct timespec started;
	uint64_t bytes;
	enum service_want want; /* what it is registered for */
	_Alignas(max_align_t) unsigned char state[];
};

struct hybrid_worker {
	struct server *server;
	const struct service_events *events;
	struct child_board *board;
	int epoll_fd;
	unsigned long share; /* connections this worker serves at most */
	unsigned long open;
	bool listening;      /* the listeners are in the epoll set */
	struct hybrid_connection *connections;
};

static uint32_t epoll_events(enum service_want want)
{
	return want == SERVICE_WANT_WRITE ? EPOLLOUT : EPOLLIN;
}

/* Adds or removes the listeners from the epoll set. Returns 0 or -1 (logged). */
static int watch_listeners(struct hybrid_worker *hw, bool on)
{
	const struct listeners *listeners = &hw->server->listeners;

	if (hw->listening == on)
		return 0;
	for (size_t i = 0; i < listeners->count; i++) {
		struct epoll_event event = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.u64 = i};
		/* EPOLLEXCLUSIVE cannot be modified, only added and deleted: hence no MOD here. */
		if (epoll_ctl(hw->epoll_fd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, listeners->fds[i],
			      &event) != 0) {
			log_error("worker: epoll_ctl listener: %s", strerror(errno));
			return -1;
		}
	}
	hw->listening = on;
	return 0;
}

/* Ends HC: the service's closed callback, the close, the log line, the books. */
static void finish(struct hybrid_worker *hw, struct hybrid_connection *hc, const char *how)
{
	char address[ADDRESS_TEXT_MAX];

	hw->events->closed(&hc->conn, hc->state);
	if (close(hc->conn.fd) != 0) /* also takes it out of the epoll set */
		log_warning("client %s: close: %s",
			    addr_format(&hc->conn.peer, address, sizeof address), strerror(errno));
	log_info("client %s closed, worker %ld%s%s, %llu bytes %s in %.3f s",
		 addr_format(&hc->conn.peer, address, sizeof address), (long)getpid(),
		 how != NULL ? ", " : "", how != NULL ? how : "", (unsigned long long)hc->bytes,
		 hw->server->service->bytes_verb, clock_seconds_between(hc->started, clock_now()));
	if (hc->prev != NULL)
		hc->prev->next = hc->next;
	else
		hw->connections = hc->next;
	if (hc->next != NULL)
		hc->next->prev = hc->prev;
	free(hc);
	hw->open--;
	hw->board->open = hw->open;
	hw->board->connections++;
	hw->board->state = hw->open > 0 ? CHILD_BUSY : CHILD_IDLE;
}

/* Registers HC for WANT, or ends it when the service is done. */
static void follow(struct hybrid_worker *hw, struct hybrid_connection *hc, enum service_want want,
		   enum service_status status)
{
	if (want == SERVICE_WANT_CLOSE) {
		finish(hw, hc, status == SERVICE_FAILED ? "failed" : NULL);
		return;
	}
	if (want == hc->want)
		return;
	struct epoll_event event = {.events = epoll_events(want), .data.ptr = hc};
	if (epoll_ctl(hw->epoll_fd, EPOLL_CTL_MOD, hc->conn.fd, &event) != 0) {
		log_warning("worker: epoll_ctl: %s", strerror(errno));
		finish(hw, hc, "failed");
		return;
	}
	hc->want = want;
}

/* Takes the accepted CONN into the loop. */
static void take(struct hybrid_worker *hw, const struct connection *conn)
{
	char address[ADDRESS_TEXT_MAX];
	struct hybrid_connection *hc = calloc(1, sizeof *hc + hw->events->state_size);
	int fd = conn->fd;

	addr_format(&conn->peer, address, sizeof address);
	if (hc == NULL || io_set_nonblocking(fd, 1) != 0) {
		log_warning("client %s: %s: %s; connection closed", address,
			    hc == NULL ? "memory" : "fcntl O_NONBLOCK", strerror(errno));
		free(hc);
		hw->board->refused++;
		if (close(fd) != 0)
			log_warning("client %s: close: %s", address, strerror(errno));
		return;
	}
	hc->conn = *conn;
	hc->conn.bytes = &hc->bytes;
	hc->started = clock_now();
	hc->want = SERVICE_WANT_READ;
	struct epoll_event event = {.events = EPOLLIN, .data.ptr = hc};
	if (epoll_ctl(hw->epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
		log_warning("client %s: epoll_ctl: %s; connection closed", address, strerror(errno));
		free(hc);
		hw->board->refused++;
		if (close(fd) != 0)
			log_warning("client %s: close: %s", address, strerror(errno));
		return;
	}
	hc->next = hw->connections;
	if (hc->next != NULL)
		hc->next->prev = hc;
	hw->connections = hc;
	hw->open++;
	hw->board->open = hw->open;
	hw->board->state = CHILD_BUSY;
	log_info("client %s connected, worker %ld", address, (long)getpid());
}

/*
 * Accepts from listener INDEX while it has connections and the share allows.
 * Then the listeners go to the back of the line: the kernel wakes the first
 * worker waiting on them in the order they were registered, so without
 * this one worker would take every connection while the others idle (with
 * 50 clients connecting at once, measured 50 to 0). Registered anew, this
 * worker is the last in line, and the connections go round the workers.
 */
static void accept_from(struct hybrid_worker *hw, size_t index)
{
	unsigned long before = hw->open;

	hw->board->wakeups++;
	for (int taken = 0; taken < ACCEPT_BATCH && hw->open < hw->share; taken++) {
		int left_ms;
		if (server_paused(hw->server, &left_ms))
			return;
		struct connection conn;
		switch (server_accept(hw->server, index, &conn)) {
		case SERVER_ACCEPTED:
			server_unpause(hw->server);
			take(hw, &conn);
			break;
		case SERVER_ACCEPT_SHUT:
			return; /* the master's graceful stop: its SIGQUIT is on the way */
		case SERVER_ACCEPT_FATAL:
			_exit(EX_OSERR);
		case SERVER_ACCEPT_EMPTY:
		case SERVER_ACCEPT_PAUSED:
			taken = ACCEPT_BATCH; /* done: on to the rotation */
			break;
		}
	}
	if (hw->open > before && hw->listening &&
	    (watch_listeners(hw, false) != 0 || watch_listeners(hw, true) != 0))
		_exit(EX_OSERR);
}

/* Reads the worker's signals: true for SIGTERM in *FAST, and any of them means leave. */
static bool signals_say_leave(bool *fast)
{
	bool leave = false;
	int signo;

	sig_drain();
	while ((signo = sig_next()) != 0) {
		leave = true;
		if (signo == SIGTERM)
			*fast = true;
	}
	return leave;
}

static void worker(struct pool *pool, struct child_board *board, int signal_fd)
{
	static const int stops[] = {SIGTERM};
	struct server *server = pool->server;
	const struct server_config *config = server->config;
	struct hybrid_worker hw = {.server = server, .events = server->service->events,
				   .board = board};
	struct epoll_event events[EVENT_BATCH];
	bool leaving = false, fast = false;

	/* -c shared out: the first -c % --workers workers take one more, so that all add up to -c. */
	hw.share = config->max_children / config->workers +
		   (board->number < config->max_children % config->workers ? 1 : 0);
	hw.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event event = {.events = EPOLLIN, .data.u64 = TAG_SIGNALS};
	/* SIGTERM is caught too, so that each connection cut short is logged. */
	if (hw.epoll_fd < 0 || sig_catch(stops, 1) < 0 || sig_unblock(stops, 1) != 0 ||
	    epoll_ctl(hw.epoll_fd, EPOLL_CTL_ADD, signal_fd, &event) != 0) {
		log_error("worker: setting up: %s", strerror(errno));
		_exit(EX_OSERR);
	}
	if (watch_listeners(&hw, true) != 0)
		_exit(EX_OSERR);
	board->state = CHILD_IDLE;

	for (;;) {
		if (leaving && hw.open == 0)
			_exit(EX_OK);
		int left_ms;
		bool paused = server_paused(server, &left_ms);
		bool want_listeners = !leaving && !paused && hw.open < hw.share;
		if (watch_listeners(&hw, want_listeners) != 0)
			_exit(EX_OSERR);
		int ready = epoll_wait(hw.epoll_fd, events, EVENT_BATCH, paused ? left_ms : -1);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			log_error("worker: epoll_wait: %s", strerror(errno));
			_exit(EX_OSERR);
		}
		for (int i = 0; i < ready; i++) {
			if (events[i].data.u64 != TAG_SIGNALS || !signals_say_leave(&fast))
				continue;
			leaving = true;
			/* Not listening any more: new clients are for the other workers, or refused. */
			if (watch_listeners(&hw, false) != 0 || listeners_close(&server->listeners) != 0)
				log_warning("worker: close listening socket: %s", strerror(errno));
		}
		if (fast) {
			while (hw.connections != NULL)
				finish(&hw, hw.connections, "cut short by the stop");
			_exit(EX_OK);
		}
		for (int i = 0; i < ready; i++) {
			uint64_t tag = events[i].data.u64;
			if (tag == TAG_SIGNALS)
				continue;
			if (tag < LISTENERS_MAX) {
				if (hw.listening)
					accept_from(&hw, (size_t)tag);
				continue;
			}
			struct hybrid_connection *hc = events[i].data.ptr;
			enum service_status status = SERVICE_DONE;
			enum service_want want;
			if (hc->want == SERVICE_WANT_WRITE)
				want = hw.events->writable(&hc->conn, hc->state, &status);
			else
				want = hw.events->readable(&hc->conn, hc->state, &status);
			follow(&hw, hc, want, status);
		}
	}
}

/* The policy: --workers workers, each replaced when it ends. */
static void maintain(struct pool *pool, bool tick)
{
	size_t alive, idle, starting;
	(void)tick;

	pool_census(pool, &alive, &idle, &starting);
	for (size_t i = alive; i < pool->server->config->workers; i++)
		if (!pool_spawn(pool))
			break;
}

static int run(struct server *server)
{
	static const struct pool_model hybrid_pool = {
		.worker = worker, .maintain = maintain, .noun = "worker"};

	return pool_run(server, &hybrid_pool, NULL, server->config->workers);
}

const struct server_model model_hybrid = {
	.name = "hybrid",
	.summary = "a master and event-loop workers (epoll), as nginx",
	.run = run,
	.flags = MODEL_CONCURRENT | MODEL_CHILDREN | MODEL_WORKERS | MODEL_EVENT_LOOP,
};
