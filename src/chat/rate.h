/*
 * rate: a token bucket. Tokens flow in at RATE a second up to BURST; each
 * event takes one, and an event that finds none is over the rate. Pure: the
 * caller says what time it is.
 */
#ifndef FORKNET_CHAT_RATE_H
#define FORKNET_CHAT_RATE_H

#include <stdbool.h>
#include <time.h>

struct rate_bucket {
	double tokens;
	struct timespec updated;
	bool started; /* a new bucket starts full */
};

/* Takes one token at NOW if there is one; returns false when over the rate. */
bool rate_allow(struct rate_bucket *bucket, double rate, double burst, struct timespec now);

#endif
