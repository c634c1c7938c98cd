/*
 * restart: SIGHUP's restart in place. The server runs its binary again,
 * from the path it was started from, with the same arguments and the same
 * pid (a supervisor or pid file keeps tracking it), handing the new image
 * its listening sockets and the books of the connections in progress
 * through a memfd, so that no connection is refused (the sockets never
 * close: clients wait in the backlog for the few milliseconds the exec
 * takes) and none is cut (the children serving them go on, under the old
 * code, and the new image reaps and logs them).
 *
 * Before the exec, a trial: the new binary is run with the same arguments
 * and FORKNET_RESTART_CHECK set, and must check them and exit 0 without
 * serving. A binary that is missing, broken, or refuses the arguments or
 * the handover's version fails the trial, and the old image goes on serving
 * and logs why. The same holds when the exec itself fails.
 *
 * Why not nginx's way (a new master beside the old one, USR2 + WINCH +
 * QUIT): the pid would change under the supervisor, and an operator would
 * have to drive three signals. The cost of the exec in place is that the
 * new image must take over the old one's children: the handover below.
 */
#ifndef FORKNET_RESTART_H
#define FORKNET_RESTART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "../lib/addr.h"
#include "../lib/listeners.h"

/* One child of the old image: its slot (and so its board) in the children table. */
struct handover_child {
	pid_t pid;
	uint32_t slot;
	struct address peer;
	struct timespec started; /* CLOCK_MONOTONIC, which an exec does not reset */
};

/* What an image hands the next one. */
struct handover {
	struct listeners listeners;
	int boards_fd;     /* the children's boards (children.h), or -1 */
	uint64_t capacity;   /* ... for this many slots */
	uint64_t accepted, served, refused;
	struct timespec started; /* when the first image started */
	uint32_t restarts;       /* restarts so far, this one included */
	size_t child_count;
	struct handover_child *children;
};

/* Notes the binary's path (/proc/self/exe) for later. Returns 0 or -1 with errno set. */
int restart_init(void);

/*
 * True when this process is a restart's trial run: the command checks its
 * arguments, then ends with what restart_check says, without serving.
 */
bool restart_checking(void);

/*
 * The end of a trial run that got this far: 0 (its exit status is 0), or
 * -1 with FAILURE (FAILURE_CONFIG) when the running server hands over a
 * version this binary does not take.
 */
int restart_check(struct failure *failure);

/*
 * The trial (see the top). Returns 0 if the new binary passed, or -1 with
 * WHY (SIZE bytes) saying what failed.
 */
int restart_trial(char *why, size_t size);

/*
 * Executes the binary again with HANDOVER. Returns only on failure: -1
 * with WHY, everything as it was before the call (the sockets close-on-exec
 * again). The caller blocks all signals first: they stay pending across
 * the exec, for the new image.
 */
int restart_exec(const struct handover *handover, char *why, size_t size);

/*
 * In a new image: takes what the image before handed over. Returns 1 with
 * HANDOVER filled (free it with restart_release), 0 when this process was
 * not restarted, or -1 with ERROR (SIZE bytes) saying what was wrong.
 */
int restart_receive(struct handover *handover, char *error, size_t size);
void restart_release(struct handover *handover);

#endif
