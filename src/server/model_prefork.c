/*
 * model_prefork: a pool of worker processes forked ahead of the clients,
 * each serving one connection at a time, sized by the master as Apache's
 * prefork MPM sizes its pool. It answers the fork model's cost, a fork per
 * connection: here a fork serves many connections.
 *
 * Processes: the master binds (server_run), forks --workers workers and
 * then only keeps the pool's size and the books; it never accepts. Each
 * worker accepts on the shared listening sockets, serves, and goes back to
 * waiting.
 *
 * The scoreboard: each worker's slot in the children table has a board in
 * shared memory (children.h) that only that worker writes: its state
 * (starting, idle, busy), its current client and the bytes moved, its
 * connections and its wake-ups. The master reads it once a second and:
 *   - when fewer than --min-spare workers are idle (or about to be), forks
 *     1, then 2, 4 ... up to 32 at the following seconds while the shortage
 *     lasts (Apache's idle spawn rate), never more than -c workers in all;
 *   - when more than --max-spare are idle, asks one idle worker a second to
 *     leave (SIGQUIT), so that the pool shrinks gently after a peak.
 * A worker that ends for any reason is reaped, its slot cleared, and
 * replaced at once if the spares are short. The master's side (reaping,
 * status, restart, stop, backing off from workers that die at start) is
 * pool.c's.
 *
 * No thundering herd: each worker waits in an epoll set of its own in
 * which the listening sockets are registered with EPOLLEXCLUSIVE (Linux
 * 4.5), so a new connection wakes one waiting worker, not the whole pool.
 * Not SO_REUSEPORT: it gives every worker a queue of its own, and a
 * connection hashed to a busy worker's queue would wait behind that
 * worker's client while others sit idle. Not an accept lock (Apache's
 * mutex): EPOLLEXCLUSIVE gives the same one wake-up with no lock to hold,
 * and works across several listening sockets (IPv6 and IPv4).
 *
 * Signals: the master follows the signal table like any model. A worker
 * dies on SIGTERM (its default: the fast stop), finishes its connection and
 * exits on SIGQUIT (the graceful stop, a retirement, or the new image after
 * a restart draining the old workers), and ignores the server's other
 * signals. --max-requests N: a worker exits after N connections, and the
 * master replaces it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sysexits.h>
#include <unistd.h>

#include "../lib/clock.h"
#include "../lib/log.h"
#include "../lib/sig.h"
#include "pool.h"
#include "server.h"

#define SPAWN_RATE_MAX 32

struct prefork {
	unsigned long spawn_rate; /* workers to fork at the next second of shortage */
};

/* ---- The worker's side ---- */

/* Serves one accepted connection CONN, keeping the board up to date. */
static void worker_serve(struct server *server, struct child_board *board, struct connection *conn)
{
	char address[ADDRESS_TEXT_MAX], worker[32];
	const struct address *peer = &conn->peer;
	int fd = conn->fd;

	conn->bytes = &board->bytes;
	board->bytes = 0;
	board->peer = *peer;
	board->since = clock_now();
	board->state = CHILD_BUSY;
	board->open = 1;
	log_info("client %s connected, worker %ld", addr_format(peer, address, sizeof address),
		 (long)getpid());
	(void)server->service->serve(conn, server->service->arg); /* failures are logged there */
	if (close(fd) != 0)
		log_warning("client %s: close: %s", address, strerror(errno));
	snprintf(worker, sizeof worker, "worker %ld", (long)getpid());
	server_log_closed(server, LOG_LEVEL_INFO, peer, 0, worker, board->bytes, board->since);
	board->connections++;
	board->open = 0;
	board->state = CHILD_IDLE;
}

/*
 * The worker: waits for connections and serves them until asked to leave
 * or done with --max-requests. Never returns.
 */
static void worker(struct pool *pool, struct child_board *board, int signal_fd)
{
	struct server *server = pool->server;
	unsigned long max_requests = server->config->max_requests;
	struct epoll_event events[LISTENERS_MAX + 1];

	static const int term[] = {SIGTERM};
	/* SIGTERM keeps its default here: the fast stop ends the worker and its connection. */
	int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (epoll_fd < 0 || sig_unblock(term, 1) != 0) {
		log_error("worker: setting up: %s", strerror(errno));
		_exit(EX_OSERR);
	}
	struct epoll_event event = {.events = EPOLLIN, .data.u32 = LISTENERS_MAX};
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, signal_fd, &event) != 0)
		goto failed;
	for (size_t i = 0; i < server->listeners.count; i++) {
		event = (struct epoll_event){.events = EPOLLIN | EPOLLEXCLUSIVE, .data.u32 = (uint32_t)i};
		if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, server->listeners.fds[i], &event) != 0)
			goto failed;
	}

	board->state = CHILD_IDLE;
	for (;;) {
		int pause_ms;
		if (server_paused(server, &pause_ms)) {
			/* Out of descriptors or memory: wait for it to pass, listening only for SIGQUIT. */
			struct pollfd pfd = {.fd = signal_fd, .events = POLLIN};
			if (poll(&pfd, 1, pause_ms) > 0 && pool_worker_leaving())
				_exit(EX_OK);
			continue;
		}
		int ready = epoll_wait(epoll_fd, events, LISTENERS_MAX + 1, -1);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			log_error("worker: epoll_wait: %s", strerror(errno));
			_exit(EX_OSERR);
		}
		for (int i = 0; i < ready; i++)
			if (events[i].data.u32 == LISTENERS_MAX && pool_worker_leaving())
				_exit(EX_OK);
		for (int i = 0; i < ready; i++) {
			uint32_t index = events[i].data.u32;
			if (index == LISTENERS_MAX)
				continue;
			board->wakeups++;
			struct connection conn;
			switch (server_accept(server, index, &conn)) {
			case SERVER_ACCEPTED:
				server_unpause(server);
				worker_serve(server, board, &conn);
				if (max_requests > 0 && board->connections >= max_requests)
					_exit(EX_OK);
				break;
			case SERVER_ACCEPT_SHUT:
				_exit(EX_OK); /* the master's graceful stop: its SIGQUIT is on the way */
			case SERVER_ACCEPT_FATAL:
				_exit(EX_OSERR);
			case SERVER_ACCEPT_EMPTY:
			case SERVER_ACCEPT_PAUSED:
				break;
			}
		}
	}

failed:
	log_error("worker: epoll_ctl: %s", strerror(errno));
	_exit(EX_OSERR);
}

/* ---- The master's policy ---- */

/*
 * Keeps the pool's size (see the top). TICK: the once-a-second look, which
 * may fork at the growing rate and retire; else (after a worker ended)
 * only one fork, to replace it, when the spares are short.
 */
static void maintain(struct pool *pool, bool tick)
{
	const struct server_config *config = pool->server->config;
	struct prefork *pf = pool->arg;
	size_t alive, idle, starting;

	pool_census(pool, &alive, &idle, &starting);
	if (idle + starting < config->min_spare && alive < config->max_children) {
		unsigned long room = config->max_children - alive;
		/* After workers died at start, one at a time until one gets ready. */
		unsigned long count = tick && pool->failures == 0 ? pf->spawn_rate : 1;
		if (count > room)
			count = room;
		for (unsigned long i = 0; i < count; i++)
			if (!pool_spawn(pool))
				break;
		if (tick && pf->spawn_rate < SPAWN_RATE_MAX)
			pf->spawn_rate *= 2;
		if (tick && count > 1)
			log_info("%zu of %zu workers idle (at least %lu wanted): started %lu more",
				 idle, alive, config->min_spare, count);
		return;
	}
	if (tick)
		pf->spawn_rate = 1;
	if (tick && idle > config->max_spare)
		(void)pool_retire_one(pool);
}

static int run(struct server *server)
{
	static const struct pool_model prefork_pool = {
		.worker = worker, .maintain = maintain, .noun = "worker"};
	const struct server_config *config = server->config;
	struct prefork pf = {.spawn_rate = 1};

	log_info("keeping %lu to %lu workers idle, at most %lu in all", config->min_spare,
		 config->max_spare, config->max_children);
	return pool_run(server, &prefork_pool, &pf, config->workers);
}

const struct server_model model_prefork = {
	.name = "prefork",
	.summary = "a pool of worker processes that sizes itself, as Apache's prefork",
	.run = run,
	.flags = MODEL_CONCURRENT | MODEL_CHILDREN | MODEL_WORKERS | MODEL_POOL,
};
