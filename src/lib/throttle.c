/*
 * throttle: at most one log line per interval for a repeating condition.
 * See throttle.h.
 */
#include "throttle.h"

#include "clock.h"

bool throttle_due(struct throttle *throttle, struct timespec now, double interval,
		  unsigned long *count, double *seconds)
{
	throttle->held++;
	if (throttle->said) {
		double since = clock_seconds_between(throttle->said_at, now);
		if (since < interval)
			return false;
		*seconds = since;
	} else {
		*seconds = 0;
	}
	*count = throttle->held;
	throttle->said = true;
	throttle->said_at = now;
	throttle->held = 0;
	return true;
}

unsigned long throttle_end(struct throttle *throttle, struct timespec now, double *seconds)
{
	unsigned long held = throttle->held;

	*seconds = throttle->said ? clock_seconds_between(throttle->said_at, now) : 0;
	*throttle = (struct throttle){.said = false};
	return held;
}
