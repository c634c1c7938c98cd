/*
 * number: strict decimal parsing. See number.h.
 */
#include "number.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

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
	/* The spelling first, DIGITS[.DIGITS], so that a malformed number is EINVAL whatever its size. */
	size_t whole_length = 0, decimals = 0;
	while (text[whole_length] >= '0' && text[whole_length] <= '9')
		whole_length++;
	const char *rest = text + whole_length;
	if (*rest == '.') {
		while (rest[1 + decimals] >= '0' && rest[1 + decimals] <= '9')
			decimals++;
		if (decimals == 0) {
			errno = EINVAL;
			return -1;
		}
		rest += 1 + decimals;
	}
	if (whole_length == 0 || *rest != '\0') {
		errno = EINVAL;
		return -1;
	}

	/* Leading zeros say nothing ("0005" is 5), so they do not count against the length. */
	size_t zeros = 0;
	while (zeros + 1 < whole_length && text[zeros] == '0')
		zeros++;
	char whole[24];
	if (whole_length - zeros >= sizeof whole || decimals > 3) {
		errno = ERANGE; /* too big, or finer than a millisecond */
		return -1;
	}
	memcpy(whole, text + zeros, whole_length - zeros);
	whole[whole_length - zeros] = '\0';
	unsigned long seconds;
	if (number_parse(whole, 0, max_ms / 1000, &seconds) != 0)
		return -1;
	unsigned long fraction = 0;
	for (size_t i = 0; i < 3; i++)
		fraction = fraction * 10 +
			   (i < decimals ? (unsigned long)(text[whole_length + 1 + i] - '0') : 0);
	unsigned long result;
	/* seconds * 1000 fits (seconds <= max_ms / 1000); adding the fraction may not. */
	if (__builtin_add_overflow(seconds * 1000, fraction, &result) || result < min_ms ||
	    result > max_ms) {
		errno = ERANGE;
		return -1;
	}
	*milliseconds = result;
	return 0;
}
