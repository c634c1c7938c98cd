/*
 * rate: the token bucket. See rate.h.
 */
#include "rate.h"

#include "../lib/clock.h"

bool rate_allow(struct rate_bucket *bucket, double rate, double burst, struct timespec now)
{
	if (!bucket->started) {
		bucket->tokens = burst;
		bucket->started = true;
	} else {
		double elapsed = clock_seconds_between(bucket->updated, now);
		if (elapsed > 0)
			bucket->tokens += elapsed * rate;
		if (bucket->tokens > burst)
			bucket->tokens = burst;
	}
	bucket->updated = now;
	if (bucket->tokens < 1.0)
		return false;
	bucket->tokens -= 1.0;
	return true;
}
