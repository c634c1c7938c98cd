/*
 * pool: a master and its worker processes. See pool.h.
 */
#include "pool.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "../lib/clock.h"
#include "../lib/log.h"
#include "../lib/sig.h"
#include "../lib/text.h"
#include "../signals.h"
#include "restart.h"

#define TICK_MS 1000
/* Workers dying before they are ready: the wait before the next fork doubles up to this. */
#define HOLD_MAX_SECONDS 64

/* ---- In the worker ---- */

bool pool_worker_leaving(void)
{
	bool leave = false;
	sig_drain();
	while (sig_next() != 0)
		leave = true; /* SIGQUIT is the only signal a worker catches */
	return leave;
}

/*
 * The worker's start: what is the master's is closed, SIGQUIT caught, and
 * the model's body runs. process_fork has reset the signals and set the
 * server's ones ignored. Never returns.
 */
static void worker_start(struct pool *pool, struct child_board *board)
{
	static const int caught[] = {SIGQUIT};
	struct server *server = pool->server;

	/* Not the worker's: the services' stop timer and the boards' memfd (mapped already). */
	if (close(server->stop_fd) != 0 || close(pool->children.boards_fd) != 0)
		log_warning("%s: close: %s", pool->model->noun, strerror(errno));
	server->stop_fd = -1;
	int signal_fd = sig_catch(caught, 1);
	if (signal_fd < 0 || sig_unblock(caught, 1) != 0) {
		log_error("%s: catching SIGQUIT: %s", pool->model->noun, strerror(errno));
		_exit(EX_OSERR);
	}
	pool->model->worker(pool, board, signal_fd);
	_exit(EX_SOFTWARE); /* the body never returns */
}

/* ---- In the master ---- */

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

/*
 * The lowest number no live worker (not leaving) has: a replacement takes
 * the number of the worker it replaces. Returns -1 when out of memory.
 */
static long free_number(const struct pool *pool)
{
	size_t alive, idle, starting;
	pool_census(pool, &alive, &idle, &starting);
	bool *used = calloc(alive + 1, sizeof *used); /* the lowest free number is at most ALIVE */
	if (used == NULL)
		return -1;
	for (size_t i = 0; i < pool->children.fresh; i++) {
		const struct child *child = &pool->children.slots[i];
		if (child->pid != 0 && !child->retiring && child->board->number <= alive)
			used[child->board->number] = true;
	}
	size_t number = 0;
	while (used[number])
		number++;
	free(used);
	return (long)number;
}

bool pool_spawn(struct pool *pool)
{
	if (clock_ms_until(pool->hold_until) > 0)
		return false;
	long number = free_number(pool);
	if (number < 0) {
		log_error("memory for a %s's number: %s", pool->model->noun, strerror(errno));
		return false;
	}
	struct child *slot = children_next_slot(&pool->children);
	if (slot == NULL)
		return false;
	slot->board->number = (uint32_t)number; /* before the fork: then the worker's alone */
	/* Taken before the fork: the table is wiped in the child (children.h), the board is shared. */
	struct child_board *board = slot->board;
	/*
	 * SIGQUIT and SIGTERM are blocked across the fork, so that one sent to
	 * a worker still starting waits, pending, until the worker has set what
	 * they do (worker_start): before, its default would kill it.
	 */
	static const int held[] = {SIGQUIT, SIGTERM};
	sigset_t saved;
	if (sig_block(held, 2, &saved) != 0) {
		log_error("sigprocmask: %s", strerror(errno));
		return false;
	}
	pid_t pid = process_fork(&pool->worker_setup);
	if (pid == 0)
		worker_start(pool, board);
	int fork_errno = errno;
	if (sig_restore(&saved) != 0)
		log_error("sigprocmask: %s", strerror(errno));
	errno = fork_errno;
	if (pid < 0) {
		log_error("fork for a %s: %s", pool->model->noun, strerror(errno));
		return false;
	}
	struct address none = {.length = 0};
	struct timespec now = clock_now();
	children_add(&pool->children, slot, pid, &none, &now);
	log_debug("%s %ld started", pool->model->noun, (long)pid);
	return true;
}

void pool_census(const struct pool *pool, size_t *alive, size_t *idle, size_t *starting)
{
	*alive = *idle = *starting = 0;
	for (size_t i = 0; i < pool->children.fresh; i++) {
		const struct child *child = &pool->children.slots[i];
		if (child->pid == 0 || child->retiring)
			continue;
		(*alive)++;
		if (child->board->state == CHILD_IDLE)
			(*idle)++;
		else if (child->board->state == CHILD_STARTING)
			(*starting)++;
	}
}

bool pool_retire_one(struct pool *pool)
{
	for (size_t i = pool->children.fresh; i-- > 0;) {
		struct child *child = &pool->children.slots[i];
		if (child->pid == 0 || child->retiring || child->board->state != CHILD_IDLE)
			continue;
		/* Were it to take a client meanwhile, it serves it to the end, then leaves. */
		if (kill(child->pid, SIGQUIT) != 0) {
			log_warning("kill %s %ld: %s", pool->model->noun, (long)child->pid,
				    strerror(errno));
			return false;
		}
		child->retiring = true;
		log_debug("%s %ld asked to leave", pool->model->noun, (long)child->pid);
		return true;
	}
	return false;
}

/* children_reap's callback: one worker has ended. */
static void worker_ended(const struct child *child, pid_t pid, int status, void *arg)
{
	struct pool *pool = arg;
	struct server *server = pool->server;
	const char *noun = pool->model->noun;
	char how[64];

	children_status_text(status, how, sizeof how);
	if (child == NULL) {
		log_warning("reaped process %ld that is not in the children table (%s)", (long)pid, how);
		return;
	}
	const struct child_board *board = child->board;
	server->served += board->connections;
	server->refused += board->refused;
	bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	bool expected = clean || server->state == SERVER_STOPPING;
	if (board->state == CHILD_BUSY && board->peer.length > 0) {
		/* It died serving one client (prefork): that client's line, as the fork model writes it. */
		server_log_closed(server, expected ? LOG_LEVEL_INFO : LOG_LEVEL_WARNING, &board->peer,
				  pid, how, board->bytes, board->since);
	}
	unsigned long long served = board->connections;
	if (expected) {
		log_info("%s %ld %s after %llu connection%s", noun, (long)pid, how, served,
			 served == 1 ? "" : "s");
		return;
	}
	if (board->state != CHILD_STARTING) {
		/* The policy (maintain, called after this) decides whether it is replaced. */
		log_warning("%s %ld %s after %llu connection%s", noun, (long)pid, how, served,
			    served == 1 ? "" : "s");
		pool->failures = 0;
		return;
	}
	pool->failures++;
	unsigned shift = pool->failures - 1 < 6 ? pool->failures - 1 : 6;
	long hold = 1L << shift;
	if (hold > HOLD_MAX_SECONDS)
		hold = HOLD_MAX_SECONDS;
	pool->hold_until = clock_after(clock_now(), hold * 1000);
	log_warning("%s %ld %s before it was ready (%u in a row); no new %s for %ld s", noun,
		    (long)pid, how, pool->failures, noun, hold);
}

static void reap(struct pool *pool)
{
	if (children_reap(&pool->children, worker_ended, pool) < 0)
		log_error("waitpid: %s", strerror(errno));
}

static void reap_hook(void *arg)
{
	struct pool *pool = arg;
	reap(pool);
	if (pool->server->state == SERVER_RUNNING)
		pool->model->maintain(pool, false);
}

/* SIGUSR2: the status line, then one line per worker. */
static void status_hook(void *arg)
{
	struct pool *pool = arg;
	struct timespec now = clock_now();
	size_t alive, idle, starting;
	struct server_tally live = {0};
	char detail[96];
	const char *noun = pool->model->noun;

	pool_census(pool, &alive, &idle, &starting);
	for (size_t i = 0; i < pool->children.fresh; i++) {
		const struct child *child = &pool->children.slots[i];
		if (child->pid == 0)
			continue;
		live.served += child->board->connections;
		live.refused += child->board->refused;
		live.open += child->board->open;
	}
	snprintf(detail, sizeof detail, "%zu %s%s (%zu idle)", alive, noun, alive == 1 ? "" : "s",
		 idle);
	/* The live workers' counts join the server's books only when they are reaped. */
	server_log_status(pool->server, &live, detail);
	for (size_t i = 0; i < pool->children.fresh; i++) {
		const struct child *child = &pool->children.slots[i];
		if (child->pid == 0)
			continue;
		const struct child_board *board = child->board;
		log_notice("%s %ld: %s, %llu open, %llu connection%s, %llu wake-up%s, up %.0f s", noun,
			   (long)child->pid, state_text(child), (unsigned long long)board->open,
			   (unsigned long long)board->connections, board->connections == 1 ? "" : "s",
			   (unsigned long long)board->wakeups, board->wakeups == 1 ? "" : "s",
			   clock_seconds_between(child->started, now));
	}
}

/*
 * After a restart in place: the old image's workers run the old code. They
 * are taken over to be reaped, and asked to leave: idle ones go at once,
 * busy ones after their connections. The new workers start beside them.
 */
static void adopt(struct pool *pool, const struct handover *handover)
{
	for (size_t i = 0; i < handover->child_count; i++) {
		const struct handover_child *child = &handover->children[i];
		if (children_adopt(&pool->children, child->slot, child->pid, &child->peer,
				   &child->started) != 0) {
			log_warning("restart: %s %ld in slot %lu: not taken over (%s)",
				    pool->model->noun, (long)child->pid, (unsigned long)child->slot,
				    strerror(errno));
			continue;
		}
		pool->children.slots[child->slot].retiring = true;
		if (kill(child->pid, SIGQUIT) != 0)
			log_warning("restart: kill %s %ld: %s", pool->model->noun, (long)child->pid,
				    strerror(errno));
	}
	children_adopted(&pool->children);
	reap(pool);
}

/*
 * The once-a-second look at -c: the connections open in all workers (a
 * worker's board says how many it has), and a warning when they reach it.
 * Only a saturation that lasts to a look is seen; one that lasts less is
 * no operator's worry.
 */
static void watch_limit(struct pool *pool)
{
	uint64_t open = 0;

	for (size_t i = 0; i < pool->children.fresh; i++) {
		const struct child *child = &pool->children.slots[i];
		if (child->pid != 0)
			open += __atomic_load_n(&child->board->open, __ATOMIC_RELAXED);
	}
	bool full = open >= pool->server->config->max_children;
	if (full && !pool->at_limit)
		server_note_limit(pool->server, &pool->limit_log, "connection", "connections");
	pool->at_limit = full;
}

int pool_run(struct server *server, const struct pool_model *model, void *arg,
	     unsigned long start)
{
	const struct server_config *config = server->config;
	struct pool pool = {.server = server, .model = model, .arg = arg};
	int status = 0;

	pool.hooks = (struct server_hooks){.reap = reap_hook, .status = status_hook, .arg = &pool};
	/*
	 * SIGQUIT is the worker's own (it catches it); the rest of the
	 * server's signals it ignores, and it leads a process group of its own,
	 * as the fork model's children do.
	 */
	int count = signals_child_ignored(SIGNAL_TCP_SERVER, pool.worker_ignored);
	int kept = 0;
	for (int i = 0; i < count; i++)
		if (pool.worker_ignored[i] != SIGQUIT)
			pool.worker_ignored[kept++] = pool.worker_ignored[i];
	pool.worker_setup = (struct process_setup){
		.ignore = pool.worker_ignored, .ignore_count = kept, .own_group = true};

	/*
	 * Room for twice the most workers there may be: after a restart, the
	 * old image's workers keep their slots while they leave, beside a full
	 * set of new ones. Unused slots cost nothing (children.h).
	 */
	const struct handover *handover = server->handover;
	size_t capacity = 2 * (start > config->max_children ? start : config->max_children);
	if (handover != NULL && handover->capacity > capacity)
		capacity = (size_t)handover->capacity;
	if (children_init(&pool.children, capacity, handover != NULL ? handover->boards_fd : -1) != 0) {
		log_error("children table for %zu: %s", capacity, strerror(errno));
		return -1;
	}
	if (handover != NULL)
		adopt(&pool, handover);
	if (server_ready(server) != 0) {
		status = -1;
		server->state = SERVER_STOPPING;
	} else {
		unsigned long started = 0;
		while (started < start && pool_spawn(&pool))
			started++;
		log_info("%lu %s%s started", started, model->noun, started == 1 ? "" : "s");
	}
	struct timespec next_tick = clock_after(clock_now(), TICK_MS);

	while (server->state == SERVER_RUNNING) {
		struct pollfd pfd = {.fd = server->signal_fd, .events = POLLIN};
		int ready = poll(&pfd, 1, clock_ms_until(next_tick));
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			status = -1;
			break;
		}
		if (ready > 0) {
			server_handle_signals(server, &pool.hooks);
			if (server->restart_due)
				server_restart(server, &pool.children, &pool.hooks); /* returns if it failed */
			if (server->state != SERVER_RUNNING)
				break;
		}
		if (clock_ms_until(next_tick) == 0) {
			size_t alive, idle, starting;
			pool_census(&pool, &alive, &idle, &starting);
			if (alive > starting)
				pool.failures = 0; /* workers get ready again */
			model->maintain(&pool, true);
			watch_limit(&pool);
			next_tick = clock_after(clock_now(), TICK_MS);
		}
	}
	if (status != 0)
		server->state = SERVER_STOPPING;
	if (!server_stop_children(server, &pool.children, &pool.hooks))
		status = -1;
	children_destroy(&pool.children);
	return status;
}
