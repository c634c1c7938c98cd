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
	/* All digits: now accumulate, stopping before the value would pass MAX (or wrap). */
	for (p = text; *p != '\0'; p++) {
		unsigned long digit = (unsigned long)(*p - '0');
		if (digit > max || result > (max - digit) / 10) {
			errno = ERANGE;
			return -1;
		}
		result = result * 10 + digit;
	}
	if (result < min) {
		errno = ERANGE;
		return -1;
	}
	*value = result;
	return 0;
}
