/*
 * fuzz_number: a libFuzzer target for the strict decimal parser
 * (src/lib/number.h) that reads every number an operator types, and for
 * options_number (src/lib/options.h), which wraps it with the message.
 *
 * An input is the bounds, then the texts. Its first byte gives the widths of
 * MIN (low four bits) and MAX (high four bits): a width of 0 to 8 takes that
 * many bytes, little-endian, from what follows (0 bytes: the value 0); a
 * width of 9 to 15 means ULONG_MAX. The rest is split at NUL bytes, and each
 * of the first TEXTS_MAX pieces is parsed as a C string with those bounds.
 * Checked for each:
 *   - number_parse agrees with an oracle written here: the text must be
 *     non-empty and decimal digits only (no sign, no blanks; leading zeros
 *     are fine), else EINVAL, whatever its length; a value past MAX or below
 *     MIN, including one that does not fit an unsigned long, is ERANGE
 *     (MIN > MAX is an empty range); the value is computed with overflow
 *     checks, not by the parser's method;
 *   - it returns 0 or -1, sets errno only to EINVAL or ERANGE on failure,
 *     and leaves the value untouched on failure;
 *   - options_number gives the same answer and, on failure, the message
 *     "--NAME 'TEXT': out of range MIN-MAX" or "--NAME 'TEXT': not a
 *     number", NUL-terminated in its buffer, also in a buffer too small for
 *     it (where it is the message's beginning).
 *   - number_parse_seconds agrees with its own oracle: DIGITS or
 *     DIGITS.DIGITS, else EINVAL; more than three decimals, or a number of
 *     milliseconds outside MIN..MAX or past an unsigned long, ERANGE; and it
 *     too leaves the value untouched on failure.
 * A broken invariant prints which one and calls abort(), which libFuzzer
 * reports as a crash and keeps the input.
 *
 * Run: make fuzz [FUZZ_SECONDS=60], or by hand
 *   build-fuzz/fuzz_number -max_total_time=60 DIR tests/fuzz/corpus/number
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/number.h"
#include "lib/options.h"
#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* What number_parse leaves in place when it fails; any value the parser never makes up. */
#define UNTOUCHED 0x5a5a5a5aUL

/* An errno value that neither parser sets, to see that they set one. */
#define NO_ERROR_YET 12345

/* At most this many texts are taken from one input, so that each run stays short. */
#define TEXTS_MAX 16

/*
 * The oracle: 0 and *VALUE for a number in MIN..MAX, else the errno the
 * parser must give. Digits are checked to the end even once the value no
 * longer fits, because a letter anywhere makes it not a number.
 */
static int expected_parse(const char *text, unsigned long min, unsigned long max,
			  unsigned long *value)
{
	unsigned long result = 0;
	bool too_big = false;

	if (text[0] == '\0')
		return EINVAL;
	for (const char *c = text; *c != '\0'; c++) {
		if (!(*c >= '0' && *c <= '9'))
			return EINVAL;
		if (too_big)
			continue;
		unsigned long digit = (unsigned long)(*c - '0');
		if (__builtin_mul_overflow(result, 10UL, &result) ||
		    __builtin_add_overflow(result, digit, &result))
			too_big = true;
	}
	if (too_big || result < min || result > max)
		return ERANGE;
	*value = result;
	return 0;
}

/* The oracle for number_parse_seconds, as expected_parse is for number_parse. */
static int expected_seconds(const char *text, unsigned long min_ms, unsigned long max_ms,
			    unsigned long *milliseconds)
{
	unsigned long result = 0;
	bool too_big = false;
	size_t digits = 0, decimals = 0;
	const char *c = text;

	for (; *c >= '0' && *c <= '9'; c++, digits++)
		too_big |= __builtin_mul_overflow(result, 10UL, &result) ||
			   __builtin_add_overflow(result, (unsigned long)(*c - '0'), &result);
	too_big |= __builtin_mul_overflow(result, 1000UL, &result);
	unsigned long scale = 100;
	if (*c == '.') {
		for (c++; *c >= '0' && *c <= '9'; c++, decimals++) {
			if (decimals < 3)
				too_big |= __builtin_add_overflow(
					result, (unsigned long)(*c - '0') * scale, &result);
			scale /= 10;
		}
		if (decimals == 0)
			return EINVAL;
	}
	if (digits == 0 || *c != '\0')
		return EINVAL;
	if (decimals > 3 || too_big || result < min_ms || result > max_ms)
		return ERANGE;
	*milliseconds = result;
	return 0;
}

/* A parser and its oracle share one signature (the oracle returns the errno it expects). */
typedef int parse_function(const char *text, unsigned long min, unsigned long max,
			   unsigned long *value);

/*
 * PARSE must agree with ORACLE on TEXT: the same value, within MIN..MAX, or
 * -1 with the oracle's errno and the value untouched. Returns the oracle's
 * answer, and its value in *EXPECTED_VALUE.
 */
static int check_parser(parse_function *parse, parse_function *oracle, const char *text,
			unsigned long min, unsigned long max, unsigned long *expected_value)
{
	*expected_value = UNTOUCHED;
	int expected = oracle(text, min, max, expected_value);
	unsigned long value = UNTOUCHED;
	errno = NO_ERROR_YET;
	int result = parse(text, min, max, &value);
	if (expected == 0) {
		CHECK(result == 0 && value == *expected_value);
		CHECK(value >= min && value <= max);
	} else {
		CHECK(result == -1 && errno == expected);
		CHECK(value == UNTOUCHED);
	}
	return expected;
}

/* Reads a bound of WIDTH (see the header) from DATA, moving past what it used. */
static unsigned long read_bound(unsigned width, const uint8_t **data, size_t *size)
{
	if (width > 8)
		return ULONG_MAX;
	unsigned long bound = 0;
	for (unsigned i = 0; i < width && *size > 0; i++) {
		bound |= (unsigned long)**data << (8 * i);
		(*data)++;
		(*size)--;
	}
	return bound;
}

static void check_options_number(const char *text, unsigned long min, unsigned long max,
				 int expected, unsigned long expected_value)
{
	/* Room enough for any message, on the heap so that AddressSanitizer sees its end. */
	size_t text_length = strlen(text);
	size_t room = text_length + 128;
	char *error = malloc(room);
	CHECK(error != NULL);
	memset(error, 'X', room);
	unsigned long value = UNTOUCHED;

	int result = options_number("port", text, min, max, &value, error, room);
	if (expected == 0) {
		CHECK(result == 0 && value == expected_value);
		free(error);
		return;
	}
	CHECK(result == -1 && value == UNTOUCHED);

	char *wanted = malloc(room);
	CHECK(wanted != NULL);
	if (expected == ERANGE)
		snprintf(wanted, room, "--port '%s': out of range %lu-%lu", text, min, max);
	else
		snprintf(wanted, room, "--port '%s': not a number", text);
	CHECK(memchr(error, '\0', room) != NULL);
	CHECK(strcmp(error, wanted) == 0);

	/* In a buffer too small, the message is cut, never overrun. */
	size_t small_room = 1 + text_length % 16;
	char *small = malloc(small_room);
	CHECK(small != NULL);
	memset(small, 'X', small_room);
	value = UNTOUCHED;
	CHECK(options_number("port", text, min, max, &value, small, small_room) == -1);
	CHECK(value == UNTOUCHED);
	CHECK(small[small_room - 1] == '\0' && strlen(small) == small_room - 1);
	CHECK(memcmp(small, wanted, small_room - 1) == 0);

	free(small);
	free(wanted);
	free(error);
}

static void check_text(const char *text, unsigned long min, unsigned long max)
{
	unsigned long expected_value;
	int expected = check_parser(number_parse, expected_parse, text, min, max, &expected_value);
	check_options_number(text, min, max, expected, expected_value);
	(void)check_parser(number_parse_seconds, expected_seconds, text, min, max, &expected_value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned widths = data[0];
	data++;
	size--;
	unsigned long min = read_bound(widths & 0x0f, &data, &size);
	unsigned long max = read_bound(widths >> 4, &data, &size);

	/* The texts: an exact-size copy, so that reading past a string's NUL is seen. */
	char *texts = malloc(size + 1);
	CHECK(texts != NULL);
	memcpy(texts, data, size);
	texts[size] = '\0';
	for (size_t at = 0, count = 0; at <= size && count < TEXTS_MAX; count++) {
		const char *text = texts + at;
		check_text(text, min, max);
		at += strlen(text) + 1;
	}
	free(texts);
	return 0;
}
