/*
 * number: strict parsing of decimal numbers from the command line.
 */
#ifndef FORKNET_NUMBER_H
#define FORKNET_NUMBER_H

/*
 * Parses TEXT, which must be decimal digits only (no sign, no blanks), as a
 * number in MIN..MAX. Returns 0, or -1 with errno EINVAL (not a number) or
 * ERANGE (outside MIN..MAX).
 */
int number_parse(const char *text, unsigned long min, unsigned long max, unsigned long *value);

/*
 * Parses TEXT, a decimal number of seconds with at most three decimals
 * ("5", "0.25", "1.5"; no sign, no exponent), into whole milliseconds in
 * MIN_MS..MAX_MS. Returns 0, or -1 with errno EINVAL (not such a number) or
 * ERANGE (outside the range, or more than three decimals).
 */
int number_parse_seconds(const char *text, unsigned long min_ms, unsigned long max_ms,
			 unsigned long *milliseconds);
#endif
