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
 * replaced at once if the spares are short. Workers that die before they
 * are ready, one after another, make the master wait 1, 2, 4 ... 64 s
 * before it forks again, and say why: a broken setup cannot become a fork
 * loop.
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
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "../lib/children.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../lib/process.h"
#include "../lib/sig.h"
#include "../lib/text.h"
#include "../signals.h"
#include "restart.h"
#include "server.h"

#define TICK_MS 1000
#define SPAWN_RATE_MAX 32
/* Workers dying before they are ready: the wait before the next fork doubles up to this. */
#define HOLD_MAX_SECONDS 64

struct prefork {
	struct server *server;
	struct children children;
	struct server_hooks hooks;
	int worker_ignored[NSIG];
	struct process_setup worker_setup;
	unsigned long spawn_rate;   /* workers to fork at the next second of shortage */
	struct timespec next_tick;
	unsigned failures;          /* workers in a row that died before they were ready */
	struct timespec hold_until; /* no forks before then, after such failures */
};

/* ---- The worker's side ---- */

/* Serves one accepted connection FD from PEER, keeping the board up to date. */
static void worker_serve(struct server *server, struct child_board *board, int fd,
			 const struct address *peer)
{
	char address[ADDRESS_TEXT_MAX], worker[32];
	struct connection conn = {.fd = fd, .peer = *peer, .bytes = &board->bytes, .cancel_fd = -1};

	board->bytes = 0;
	board->peer = *peer;
	board->since = clock_now();
	board->state = CHILD_BUSY;
	log_info("client %s connected, worker %ld", addr_format(peer, address, sizeof address),
		 (long)getpid());
	(void)server->service->serve(&conn, server->service->arg); /* failures are logged there */
	if (close(fd) != 0)
		log_warning("client %s: close: %s", address, strerror(errno));
	snprintf(worker, sizeof worker, "worker %ld", (long)getpid());
	server_log_closed(server, LOG_LEVEL_INFO, peer, 0, worker, board->bytes, board->since);
	board->connections++;
	board->state = CHILD_IDLE;
}

/* True when a SIGQUIT is pending for the worker. */
static bool worker_asked_to_leave(void)
{
	bool leave = false;
	sig_drain();
	while (sig_next() != 0)
		leave = true; /* SIGQUIT is the only signal a worker catches */
	return leave;
}

/*
 * The worker: waits for connections and serves them until asked to leave
 * or done with --max-requests. Never returns. process_fork has reset the
 * signals and set the server's ones ignored.
 */
static void worker_run(struct prefork *pf, struct child_board *board)
{
	struct server *server = pf->server;
	static const int caught[] = {SIGQUIT};
	unsigned long max_requests = server->config->max_requests;
	struct epoll_event events[LISTENERS_MAX + 1];

	/* Not the worker's: the services' stop timer and the boards' memfd (mapped already). */
	if (close(server->stop_fd) != 0 || close(pf->children.boards_fd) != 0)
		log_warning("worker: close: %s", strerror(errno));
	int signal_fd = sig_catch(caught, 1);
	int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (signal_fd < 0 || epoll_fd < 0) {
		log_error("worker: %s: %s", signal_fd < 0 ? "catching SIGQUIT" : "epoll_create1",
			  strerror(errno));
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
			if (poll(&pfd, 1, pause_ms) > 0 && worker_asked_to_leave())
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
			if (events[i].data.u32 == LISTENERS_MAX && worker_asked_to_leave())
				_exit(EX_OK);
		for (int i = 0; i < ready; i++) {
			uint32_t index = events[i].data.u32;
			if (index == LISTENERS_MAX)
				continue;
			board->wakeups++;
			int fd;
			struct address peer;
			switch (server_accept(server, index, &fd, &peer)) {
			case SERVER_ACCEPTED:
				server_unpause(server);
				worker_serve(server, board, fd, &peer);
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

/* ---- The master's side ---- */

static const char *state_text(const struct child *child)
{
	if (child->retiring)
		return "leaving";
	switch (child->board->state) {
	case CHILD_IDLE:
		return "idle";
	case CHILD_BUSY:
		return "busy";
	default:
		return "starting";
	}
}

/* Forks one worker; false if there is no slot or the fork failed (logged). */
static bool spawn_worker(struct prefork *pf)
{
	struct child *slot = children_next_slot(&pf->children);
	if (slot == NULL)
		return false;
	/* Taken before the fork: the table is wiped in the child (children.h), the board is shared. */
	struct child_board *board = slot->board;
	pid_t pid = process_fork(&pf->worker_setup);
	if (pid == 0)
		worker_run(pf, board);
	if (pid < 0) {
		log_error("fork for a worker: %s", strerror(errno));
		return false;
	}
	struct address none = {.length = 0};
	struct timespec now = clock_now();
	children_add(&pf->children, slot, pid, &none, &now);
	log_debug("worker %ld started", (long)pid);
	return true;
}

/* children_reap's callback: one worker has ended. */
static void worker_ended(const struct child *child, pid_t pid, int status, void *arg)
{
	struct prefork *pf = arg;
	struct server *server = pf->server;
	char how[64];

	children_status_text(status, how, sizeof how);
	if (child == NULL) {
		log_warning("reaped process %ld that is not in the children table (%s)", (long)pid, how);
		return;
	}
	const struct child_board *board = child->board;
	server->served += board->connections;
	bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	bool expected = clean || server->state == SERVER_STOPPING;
	if (board->state == CHILD_BUSY) {
		/* It died serving: its client's line, as the fork model writes it. */
		server_log_closed(server, expected ? LOG_LEVEL_INFO : LOG_LEVEL_WARNING, &board->peer,
				  pid, how, board->bytes, board->since);
	}
	if (expected) {
		log_info("worker %ld %s after %llu connection%s", (long)pid, how,
			 (unsigned long long)board->connections,
			 board->connections == 1 ? "" : "s");
		return;
	}
	if (board->state != CHILD_STARTING) {
		log_warning("worker %ld %s after %llu connection%s; replacing it", (long)pid, how,
			    (unsigned long long)board->connections,
			    board->connections == 1 ? "" : "s");
		pf->failures = 0;
		return;
	}
	pf->failures++;
	unsigned shift = pf->failures - 1 < 6 ? pf->failures - 1 : 6;
	long hold = 1L << shift;
	if (hold > HOLD_MAX_SECONDS)
		hold = HOLD_MAX_SECONDS;
	pf->hold_until = clock_after(clock_now(), hold * 1000);
	log_warning("worker %ld %s before it was ready (%u in a row); no new worker for %ld s",
		    (long)pid, how, pf->failures, hold);
}

/* Counts the workers that are not leaving: all of them, those IDLE, those STARTING. */
static void census(const struct prefork *pf, size_t *alive, size_t *idle, size_t *starting)
{
	*alive = *idle = *starting = 0;
	for (size_t i = 0; i < pf->children.fresh; i++) {
		const struct child *child = &pf->children.slots[i];
		if (child->pid == 0 || child->retiring)
			continue;
		(*alive)++;
		if (child->board->state == CHILD_IDLE)
			(*idle)++;
		else if (child->board->state == CHILD_STARTING)
			(*starting)++;
	}
}

/* Asks one idle worker to leave. */
static void retire_one(struct prefork *pf)
{
	for (size_t i = pf->children.fresh; i-- > 0;) {
		struct child *child = &pf->children.slots[i];
		if (child->pid == 0 || child->retiring || child->board->state != CHILD_IDLE)
			continue;
		/* Were it to take a client meanwhile, it serves it to the end, then leaves. */
		if (kill(child->pid, SIGQUIT) != 0) {
			log_warning("kill worker %ld: %s", (long)child->pid, strerror(errno));
			return;
		}
		child->retiring = true;
		log_debug("worker %ld asked to leave: more than %lu idle", (long)child->pid,
			  pf->server->config->max_spare);
		return;
	}
}

/*
 * Keeps the pool's size (see the top). TICK: the once-a-second look, which
 * may fork at the growing rate and retire; else (after a worker ended)
 * only one fork, to replace it, when the spares are short.
 */
static void maintain(struct prefork *pf, bool tick)
{
	const struct server_config *config = pf->server->config;
	size_t alive, idle, starting;

	if (pf->server->state != SERVER_RUNNING)
		return;
	census(pf, &alive, &idle, &starting);
	if (idle > 0)
		pf->failures = 0; /* workers get ready again */
	if (idle + starting < config->min_spare && alive < config->max_children) {
		if (clock_ms_until(pf->hold_until) > 0)
			return;
		unsigned long room = config->max_children - alive;
		/* After workers died at start, one at a time until one gets ready. */
		unsigned long count = tick && pf->failures == 0 ? pf->spawn_rate : 1;
		if (count > room)
			count = room;
		for (unsigned long i = 0; i < count; i++)
			if (!spawn_worker(pf))
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
		retire_one(pf);
}

static void reap(struct prefork *pf)
{
	if (children_reap(&pf->children, worker_ended, pf) < 0)
		log_error("waitpid: %s", strerror(errno));
}

static void reap_hook(void *arg)
{
	struct prefork *pf = arg;
	reap(pf);
	maintain(pf, false);
}

/* SIGUSR2: the status line, then one line per worker. */
static void status_hook(void *arg)
{
	struct prefork *pf = arg;
	struct timespec now = clock_now();
	size_t alive, idle, starting, busy = 0;
	uint64_t served = 0;
	char detail[96];

	census(pf, &alive, &idle, &starting);
	for (size_t i = 0; i < pf->children.fresh; i++) {
		const struct child *child = &pf->children.slots[i];
		if (child->pid == 0)
			continue;
		served += child->board->connections;
		busy += child->board->state == CHILD_BUSY;
	}
	snprintf(detail, sizeof detail, "%zu worker%s (%zu idle, at most %lu)", alive,
		 text_plural(alive), idle, pf->server->config->max_children);
	server_log_status(pf->server, busy, served, detail);
	for (size_t i = 0; i < pf->children.fresh; i++) {
		const struct child *child = &pf->children.slots[i];
		if (child->pid == 0)
			continue;
		const struct child_board *board = child->board;
		log_notice("worker %ld: %s, %llu connection%s, %llu wake-up%s, up %.0f s",
			   (long)child->pid, state_text(child),
			   (unsigned long long)board->connections, board->connections == 1 ? "" : "s",
			   (unsigned long long)board->wakeups, board->wakeups == 1 ? "" : "s",
			   clock_seconds_between(child->started, now));
	}
}

/*
 * After a restart in place: the old image's workers run the old code. They
 * are taken over to be reaped, and asked to leave: idle ones go at once,
 * busy ones after their connection. The new workers start beside them.
 */
static void adopt(struct prefork *pf, const struct handover *handover)
{
	for (size_t i = 0; i < handover->child_count; i++) {
		const struct handover_child *child = &handover->children[i];
		if (children_adopt(&pf->children, child->slot, child->pid, &child->peer,
				   &child->started) != 0) {
			log_warning("restart: worker %ld in slot %lu: not taken over (%s)",
				    (long)child->pid, (unsigned long)child->slot, strerror(errno));
			continue;
		}
		pf->children.slots[child->slot].retiring = true;
		if (kill(child->pid, SIGQUIT) != 0)
			log_warning("restart: kill worker %ld: %s", (long)child->pid, strerror(errno));
	}
	children_adopted(&pf->children);
	reap(pf);
}

static int run(struct server *server)
{
	const struct server_config *config = server->config;
	struct prefork pf = {.server = server, .spawn_rate = 1};
	int status = EX_OK;

	pf.hooks = (struct server_hooks){.reap = reap_hook, .status = status_hook, .arg = &pf};
	/*
	 * SIGQUIT is the worker's own (it catches it); the rest of the
	 * server's signals it ignores, and it leads a process group of its own,
	 * as the fork model's children do.
	 */
	int count = signals_child_ignored(SIGNAL_TCP_SERVER, pf.worker_ignored);
	int kept = 0;
	for (int i = 0; i < count; i++)
		if (pf.worker_ignored[i] != SIGQUIT)
			pf.worker_ignored[kept++] = pf.worker_ignored[i];
	pf.worker_setup = (struct process_setup){
		.ignore = pf.worker_ignored, .ignore_count = kept, .own_group = true};

	/*
	 * Twice -c slots: after a restart, the old image's workers keep theirs
	 * while they leave, beside a full pool of new ones. Unused slots cost
	 * nothing (children.h).
	 */
	const struct handover *handover = server->handover;
	size_t capacity = 2 * config->max_children;
	if (handover != NULL && handover->capacity > capacity)
		capacity = (size_t)handover->capacity;
	if (children_init(&pf.children, capacity, handover != NULL ? handover->boards_fd : -1) != 0) {
		log_error("children table for %zu: %s", capacity, strerror(errno));
		return EX_OSERR;
	}
	if (handover != NULL)
		adopt(&pf, handover);
	for (unsigned long i = 0; i < config->workers; i++)
		if (!spawn_worker(&pf))
			break;
	log_info("%zu worker%s started (%lu to %lu kept idle, at most %lu)", pf.children.count,
		 text_plural(pf.children.count), config->min_spare, config->max_spare,
		 config->max_children);
	pf.next_tick = clock_after(clock_now(), TICK_MS);

	while (server->state == SERVER_RUNNING) {
		struct pollfd pfd = {.fd = server->signal_fd, .events = POLLIN};
		int ready = poll(&pfd, 1, clock_ms_until(pf.next_tick));
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			status = EX_OSERR;
			break;
		}
		if (ready > 0) {
			server_handle_signals(server, &pf.hooks);
			if (server->restart_due)
				server_restart(server, &pf.children, &pf.hooks); /* returns if it failed */
			if (server->state != SERVER_RUNNING)
				break;
		}
		if (clock_ms_until(pf.next_tick) == 0) {
			maintain(&pf, true);
			pf.next_tick = clock_after(clock_now(), TICK_MS);
		}
	}
	if (status != EX_OK)
		server->state = SERVER_STOPPING;
	if (!server_stop_children(server, &pf.children, &pf.hooks))
		status = EX_OSERR;
	children_destroy(&pf.children);
	return status;
}

const struct server_model model_prefork = {
	.name = "prefork",
	.summary = "a pool of worker processes that sizes itself, as Apache's prefork",
	.run = run,
	.flags = MODEL_CONCURRENT | MODEL_CHILDREN | MODEL_WORKERS | MODEL_POOL,
};
