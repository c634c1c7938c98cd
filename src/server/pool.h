/*
 * pool: a master and its worker processes, what the prefork and thread
 * models share (and the event-loop model will). The master binds, forks
 * the workers, and from then on only keeps the books: it reaps, logs and
 * replaces workers that end, answers SIGUSR2 with a line per worker, hands
 * the workers over on a restart in place and drains the old ones, and
 * stops them with the shared stop sequence (shutdown.c). Workers accept on
 * the shared listening sockets themselves.
 *
 * How many workers there should be is the model's policy, a callback run
 * once a second (TICK) and after a worker ended; the pool gives it
 * pool_census() and pool_spawn().
 *
 * Each worker's slot in the children table has a board in shared memory
 * (children.h) that only that worker writes: the scoreboard.
 *
 * A worker that dies before it is ready (its board still says starting),
 * one after another, makes pool_spawn refuse for 1, 2, 4 ... 64 s, and the
 * log says why: a broken setup cannot become a fork loop.
 */
#ifndef FORKNET_POOL_H
#define FORKNET_POOL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "../lib/children.h"
#include "../lib/process.h"
#include "server.h"

struct pool;

struct pool_model {
	/*
	 * The worker's body: serve until asked to leave, then _exit. Never
	 * returns. SIGNAL_FD is readable when SIGQUIT came (pool_worker_leaving).
	 * SIGTERM is still blocked: the body unblocks it once it has set what
	 * SIGTERM does for it (its default, or caught), so that none is lost.
	 */
	void (*worker)(struct pool *pool, struct child_board *board, int signal_fd);
	/* The policy: fork or retire workers; TICK is the once-a-second call. */
	void (*maintain)(struct pool *pool, bool tick);
	const char *noun; /* "worker", for the log */
};

struct pool {
	struct server *server;
	const struct pool_model *model;
	void *arg;                   /* the model's own state */
	struct children children;
	struct server_hooks hooks;
	int worker_ignored[NSIG];
	struct process_setup worker_setup;
	unsigned failures;           /* workers in a row that died before they were ready */
	struct timespec hold_until;  /* no forks before then, after such failures */
	bool at_limit;               /* -c connections were open at the last look */
	struct throttle limit_log;   /* how often that is logged (server_note_limit) */
};

/*
 * Runs MODEL's pool on SERVER until it stops, with ARG for the model,
 * starting with START workers (server_ready is called before the first is
 * forked). Returns 0, or -1 as a model's run does (models.h).
 */
int pool_run(struct server *server, const struct pool_model *model, void *arg,
	     unsigned long start);

/* Forks one worker; false if there is no room, the pool is holding back, or the fork failed. */
bool pool_spawn(struct pool *pool);

/* The workers that are not leaving: all of them, those idle, those starting. */
void pool_census(const struct pool *pool, size_t *alive, size_t *idle, size_t *starting);

/* Asks one idle worker to leave (SIGQUIT); false if none is idle. */
bool pool_retire_one(struct pool *pool);

/* In a worker: true once SIGQUIT came (call when SIGNAL_FD is readable). */
bool pool_worker_leaving(void);

#endif
