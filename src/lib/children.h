/*
 * children: the table of a server's child processes and their reaping.
 *
 * The table is sized once, at start, for the most children the server may
 * have (-c); it never grows. Each slot holds the child's pid, its peer and its
 * start time, and owns one board (struct child_board: a byte counter, and a
 * worker's state and counts) in memory shared with the child (a memfd
 * mapped MAP_SHARED), so the parent can log how many bytes a connection
 * moved even when the child was killed, and a pool can see which workers
 * are idle. Slots given back are reused before a
 * never-used one is touched, so the memory in
 * use and the length of every scan follow the most children the server has
 * really had at once, not the -c it was allowed.
 *
 * The table itself (not the boards) is the parent's alone: it is in memory
 * wiped in every child (MADV_WIPEONFORK), so that a fork does not leave each
 * child sharing pages the parent then writes. A child must not read it; a
 * child that needs its own counter takes the pointer before it is forked.
 *
 * Reaping follows the rule for SIGCHLD: signals merge, so one SIGCHLD may
 * stand for many ended children; children_reap() calls waitpid(-1, WNOHANG)
 * until nothing is left to collect.
 */
#ifndef FORKNET_CHILDREN_H
#define FORKNET_CHILDREN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "addr.h"

/* What a child may say about itself (prefork workers do). */
enum child_state {
	CHILD_STARTING = 0, /* forked, not ready yet (a new board is all zeros) */
	CHILD_IDLE,         /* waiting for a connection */
	CHILD_BUSY,         /* serving one */
};

/*
 * A slot's board: the scoreboard entry in the memory shared with the child.
 * Zeroed by the parent before the fork, then written by that child only.
 */
struct child_board {
	uint64_t bytes;       /* bytes moved on the current connection */
	uint64_t connections; /* connections served to the end */
	/*
	 * Times epoll_wait returned with a listener ready (prefork, hybrid). A
	 * worker the kernel wakes but that finds the connection taken before
	 * epoll_wait returns is not counted: /proc's context switches show that.
	 */
	uint64_t wakeups;
	uint64_t open;        /* connections open now (a worker's; 0 or 1 in prefork) */
	uint64_t refused;     /* connections closed unserved (no thread for them) */
	uint32_t state;       /* enum child_state */
	uint32_t number;      /* a worker's number among its pool's, 0..N-1 (set before the fork) */
	struct address peer;  /* a worker's current client, while busy */
	struct timespec since; /* ... and since when */
};

struct child {
	pid_t pid; /* 0 while the slot is free */
	struct address peer;
	struct timespec started; /* CLOCK_MONOTONIC */
	struct child_board *board; /* this slot's board in the shared mapping */
	uint64_t *bytes;         /* &board->bytes */
	bool retiring;           /* asked to finish and exit; not counted in a pool */
};

struct children {
	struct child *slots;  /* capacity slots; only slots[0..fresh) were ever used */
	struct child_board *boards; /* capacity boards, shared with the children */
	int boards_fd;        /* the memfd they live in (see children_init) */
	size_t capacity;
	size_t count;         /* slots in use */
	size_t fresh;         /* slots[fresh..capacity) have never been used */
	size_t *freed;        /* indexes of slots given back, reused first (a stack) */
	size_t freed_count;
};

/*
 * Sizes the table for CAPACITY children. The boards live in a memfd, so
 * that a server re-executed in place (SIGHUP) can map them again:
 * BOARDS_FD is the one handed over, or -1 for a new one. Returns 0 or -1
 * with errno set.
 */
int children_init(struct children *table, size_t capacity, int boards_fd);

/*
 * After a restart in place: takes back child PID, which had slot INDEX
 * (and so its board) in the table of the image before. Call
 * children_adopted() once all are in. Returns 0, or -1 (EINVAL: a bad or
 * taken slot).
 */
int children_adopt(struct children *table, size_t index, pid_t pid, const struct address *peer,
		   const struct timespec *started);
void children_adopted(struct children *table);

/* Frees the table; the children themselves are not touched. */
void children_destroy(struct children *table);

bool children_full(const struct children *table);

/*
 * The slot the next child will take, its board zeroed; NULL when full. The
 * slot is only taken by children_add, so a failed fork needs no undoing.
 */
struct child *children_next_slot(struct children *table);

/* Records PID, forked for PEER, in the slot children_next_slot returned. */
void children_add(struct children *table, struct child *slot, pid_t pid,
		  const struct address *peer, const struct timespec *started);

/* The slot of PID, or NULL. */
struct child *children_find(struct children *table, pid_t pid);

/* Sends SIGNO to every child; returns how many were signalled. */
size_t children_signal_all(const struct children *table, int signo);

/*
 * Called for each reaped child: CHILD is its slot (NULL for a pid not in
 * the table), STATUS the wait status. The slot is freed after the call.
 */
typedef void children_ended_fn(const struct child *child, pid_t pid, int status, void *arg);

/*
 * Reaps every child that has ended, without blocking, calling ENDED for each.
 * Returns the number reaped, or -1 if waitpid failed other than with ECHILD.
 */
int children_reap(struct children *table, children_ended_fn *ended, void *arg);

/*
 * Describes a wait status in words: "exited 0", "killed by SIGKILL",
 * "killed by SIGSEGV (core dumped)". Returns BUF.
 */
char *children_status_text(int status, char *buf, size_t size);

#endif
