/*
 * number: strict decimal parsing. See number.h.
 */
#include "number.h"

#include <errno.h>
#include <stddef.h>

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

int number_parse_seconds(const char *text, unsigned long min_ms, unsigned long max_ms,
			 unsigned long *milliseconds)
{
	char whole[24];
	const char *point = text;
	while (*point != '\0' && *point != '.')
		point++;
	size_t length = (size_t)(point - text);
	if (length == 0 || length >= sizeof whole) {
		errno = length == 0 ? EINVAL : ERANGE;
		return -1;
	}
	for (size_t i = 0; i < length; i++)
		whole[i] = text[i];
	whole[length] = '\0';

	unsigned long seconds;
	if (number_parse(whole, 0, max_ms / 1000, &seconds) != 0)
		return -1;
	unsigned long fraction = 0;
	if (*point == '.') {
		const char *digits = point + 1;
		int count = 0;
		if (*digits == '\0') {
			errno = EINVAL;
			return -1;
		}
		for (; *digits != '\0'; digits++, count++) {
			if (*digits < '0' || *digits > '9') {
				errno = EINVAL;
				return -1;
			}
			if (count == 3) {
				errno = ERANGE; /* finer than a millisecond */
				return -1;
			}
			fraction = fraction * 10 + (unsigned long)(*digits - '0');
		}
		for (; count < 3; count++)
			fraction *= 10;
	}
	unsigned long result = seconds * 1000 + fraction;
	if (result < min_ms || result > max_ms) {
		errno = ERANGE;
		return -1;
	}
	*milliseconds = result;
	return 0;
}
