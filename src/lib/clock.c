/*
 * clock: monotonic time arithmetic. See clock.h.
 */
#include "clock.h"

#include <limits.h>
#include <stdlib.h>

struct timespec clock_now(void)
{
	struct timespec now;
	/*
	 * CLOCK_MONOTONIC with a valid pointer cannot fail on Linux; if it ever
	 * did, every timeout would be wrong, so stopping loudly is the safe choice.
	 */
	if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
		abort();
	return now;
}

struct timespec clock_after(struct timespec start, long milliseconds)
{
	start.tv_sec += milliseconds / 1000;
	start.tv_nsec += (milliseconds % 1000) * 1000000L;
	if (start.tv_nsec >= 1000000000L) {
		start.tv_sec++;
		start.tv_nsec -= 1000000000L;
	}
	return start;
}

int clock_ms_until(struct timespec deadline)
{
	struct timespec now = clock_now();
	long long ns = (long long)(deadline.tv_sec - now.tv_sec) * 1000000000LL +
		       (deadline.tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return 0;
	long long ms = (ns + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

double clock_seconds_between(struct timespec start, struct timespec end)
{
	return (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
}
