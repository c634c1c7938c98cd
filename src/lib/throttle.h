/*
 * throttle: how often a condition that repeats may be logged. The first
 * occurrence is logged at once; while it goes on, at most one line per
 * interval, which gives the count of the occurrences it stands for, so that a
 * server living at a limit (or short of descriptors) says so without writing
 * a line per event. Pure: the caller says what time it is.
 */
#ifndef FORKNET_THROTTLE_H
#define FORKNET_THROTTLE_H

#include <stdbool.h>
#include <time.h>

struct throttle {
	bool said;               /* a line has been written */
	struct timespec said_at; /* when the last line was written */
	unsigned long held;      /* occurrences since then, this one included once counted */
};

/*
 * Counts one occurrence at NOW. Returns true when a line is due: the first
 * occurrence, or the first one INTERVAL seconds or more after the last line.
 * Then *COUNT gets the occurrences that line stands for (1 the first time)
 * and *SECONDS the time they took (0 the first time), and the count restarts.
 */
bool throttle_due(struct throttle *throttle, struct timespec now, double interval,
		  unsigned long *count, double *seconds);

/*
 * Ends a run of occurrences: returns how many were not reported yet (0 if
 * none), with *SECONDS since the last line, and forgets the run, so that the
 * next occurrence is logged at once again.
 */
unsigned long throttle_end(struct throttle *throttle, struct timespec now, double *seconds);

#endif
