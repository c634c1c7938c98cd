/*
 * number: strict decimal parsing. See number.h.
 */
#include "number.h"

#include <errno.h>

int number_parse(const char *text, unsigned long min, unsigned long max, unsigned long *value)
{
	unsigned long result = 0;
	const char *p = text;

	if (*p == '\0') {
		errno = EINVAL;
		return -1;
	}
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			errno = EINVAL;
			return -1;
		}
	}
	/* All digits: now accumulate, stopping as soon as the value passes MAX. */
	for (p = text; *p != '\0'; p++) {
		result = result * 10 + (unsigned long)(*p - '0');
		if (result > max) {
			errno = ERANGE;
			return -1;
		}
	}
	if (result < min) {
		errno = ERANGE;
		return -1;
	}
	*value = result;
	return 0;
}
