/*
 * check: what every fuzz target does with a broken invariant: say which one
 * and where, and abort(), which libFuzzer reports as a crash and keeps the input.
 */
#ifndef FORKNET_FUZZ_CHECK_H
#define FORKNET_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(condition)                                                                  \
	do {                                                                              \
		if (!(condition)) {                                                       \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, \
				#condition);                                              \
			abort();                                                          \
		}                                                                         \
	} while (0)

#endif
