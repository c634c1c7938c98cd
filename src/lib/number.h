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

#endif
