/*
 * clock: the monotonic clock, for deadlines and durations (never the wall
 * clock, which can jump).
 */
#ifndef FORKNET_CLOCK_H
#define FORKNET_CLOCK_H

#include <time.h>

/* Now, on CLOCK_MONOTONIC. */
struct timespec clock_now(void);

/* A point MILLISECONDS after START. */
struct timespec clock_after(struct timespec start, long milliseconds);

/* Whole milliseconds from now until DEADLINE, rounded up; 0 once it has passed. */
int clock_ms_until(struct timespec deadline);

/* Seconds from START to END, as a fraction. */
double clock_seconds_between(struct timespec start, struct timespec end);

#endif
