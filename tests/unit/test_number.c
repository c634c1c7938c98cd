/*
 * test_number: unit tests of number_parse and number_parse_seconds
 * (src/lib/number.h), the strict decimal parsers behind every numeric
 * command-line option.
 *
 * What is checked: both bounds are inclusive; a value outside them is ERANGE;
 * anything that is not plain decimal digits (empty, signs, blanks, hex,
 * trailing garbage) is EINVAL; numbers too big for an unsigned long are
 * ERANGE and never wrap around; on failure the output is left untouched.
 *
 * Run: build/tests/unit/test_number
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "lib/number.h"

/* A value number_parse never produces in these tests, to see it untouched. */
#define UNTOUCHED 4242UL

/* Parses TEXT in MIN..MAX and expects success with EXPECTED. */
static void parses_as(const char *text, unsigned long min, unsigned long max,
			 unsigned long expected)
{
	unsigned long value = UNTOUCHED;
	errno = 0;
	int status = number_parse(text, min, max, &value);
	if (status != 0)
		print_error("number_parse(\"%s\", %lu, %lu) failed, errno %d\n", text, min, max,
			    errno);
	assert_int_equal(status, 0);
	assert_true(value == expected);
}

/* Parses TEXT in MIN..MAX and expects -1 with errno ERROR and the value untouched. */
static void fails_with(const char *text, unsigned long min, unsigned long max, int error)
{
	unsigned long value = UNTOUCHED;
	errno = 0;
	int status = number_parse(text, min, max, &value);
	if (status != -1)
		print_error("number_parse(\"%s\", %lu, %lu) = %d, value %lu\n", text, min, max,
			    status, value);
	assert_int_equal(status, -1);
	assert_int_equal(errno, error);
	assert_true(value == UNTOUCHED);
}

static void test_plain_numbers(void **state)
{
	(void)state;
	parses_as("0", 0, 10, 0);
	parses_as("7", 0, 10, 7);
	parses_as("10", 0, 10, 10);
	parses_as("65535", 0, 65535, 65535);
	parses_as("123456789", 0, ULONG_MAX, 123456789UL);
}

static void test_leading_zeros(void **state)
{
	(void)state;
	/* Decimal, not octal: "010" is ten. */
	parses_as("010", 0, 100, 10);
	parses_as("0000", 0, 100, 0);
	/* More digits than an unsigned long holds, but a small value. */
	parses_as("000000000000000000000000000000000000000042", 0, 100, 42);
}

static void test_bounds_are_inclusive(void **state)
{
	(void)state;
	parses_as("1", 1, 5, 1);
	parses_as("5", 1, 5, 5);
	fails_with("0", 1, 5, ERANGE);
	fails_with("6", 1, 5, ERANGE);
	parses_as("3", 3, 3, 3);
	fails_with("2", 3, 3, ERANGE);
	fails_with("4", 3, 3, ERANGE);
	fails_with("65536", 0, 65535, ERANGE);
	fails_with("99999", 0, 65535, ERANGE);
}

static void test_unsigned_long_limits(void **state)
{
	char text[32];
	(void)state;

	snprintf(text, sizeof text, "%lu", ULONG_MAX);
	parses_as(text, 0, ULONG_MAX, ULONG_MAX);
	parses_as(text, ULONG_MAX, ULONG_MAX, ULONG_MAX);
	snprintf(text, sizeof text, "%lu", ULONG_MAX - 1);
	fails_with(text, ULONG_MAX, ULONG_MAX, ERANGE);
}

/*
 * Numbers beyond ULONG_MAX must be ERANGE, not wrap around to a small value
 * that happens to lie in MIN..MAX. With 64-bit longs, ULONG_MAX is
 * 18446744073709551615.
 */
static void test_overflow_of_unsigned_long(void **state)
{
	char text[64];
	(void)state;

	/* ULONG_MAX + 1, built by hand so it is right for any width of long. */
	snprintf(text, sizeof text, "%lu", ULONG_MAX);
	size_t i = 0;
	while (text[i + 1] != '\0')
		i++;
	/* ULONG_MAX is 2^n - 1, ending in 1, 3, 5 or 7: adding one changes the last digit only. */
	assert_true(text[i] != '9');
	text[i]++;
	fails_with(text, 0, ULONG_MAX, ERANGE);

	/* Ten times ULONG_MAX and more. */
	snprintf(text, sizeof text, "%lu0", ULONG_MAX);
	fails_with(text, 0, ULONG_MAX, ERANGE);
	fails_with("99999999999999999999999999999999", 0, ULONG_MAX, ERANGE);
	fails_with("18446744073709551616", 0, ULONG_MAX, ERANGE);
	fails_with("18446744073709551617", 0, ULONG_MAX, ERANGE);
	fails_with("36893488147419103232", 0, ULONG_MAX, ERANGE);
	/* With a smaller maximum the same numbers are out of range too. */
	fails_with("18446744073709551616", 0, 65535, ERANGE);
	fails_with("99999999999999999999999999999999", 0, 65535, ERANGE);
}

static void test_not_a_number(void **state)
{
	(void)state;
	fails_with("", 0, 100, EINVAL);
	fails_with("+1", 0, 100, EINVAL);
	fails_with("-1", 0, 100, EINVAL);
	fails_with("-0", 0, 100, EINVAL);
	fails_with(" 1", 0, 100, EINVAL);
	fails_with("1 ", 0, 100, EINVAL);
	fails_with("\t1", 0, 100, EINVAL);
	fails_with("1\n", 0, 100, EINVAL);
	fails_with("1 2", 0, 100, EINVAL);
	fails_with(" ", 0, 100, EINVAL);
	fails_with("12a", 0, 100, EINVAL);
	fails_with("a12", 0, 100, EINVAL);
	fails_with("0x10", 0, 100, EINVAL);
	fails_with("1.0", 0, 100, EINVAL);
	fails_with("1e2", 0, 100, EINVAL);
	fails_with("1,000", 0, 10000, EINVAL);
	fails_with("\xd9\xa1", 0, 100, EINVAL); /* ARABIC-INDIC DIGIT ONE, in UTF-8 */
}

/* A malformed number is EINVAL even when its digits alone would be out of range. */
static void test_not_a_number_wins_over_range(void **state)
{
	(void)state;
	fails_with("99999999999999999999999x", 0, 100, EINVAL);
	fails_with("-99999999999999999999999", 0, 100, EINVAL);
	fails_with("500x", 0, 100, EINVAL);
}

static unsigned long seconds_ok(const char *text, unsigned long min_ms, unsigned long max_ms)
{
	unsigned long ms = 12345;
	assert_int_equal(number_parse_seconds(text, min_ms, max_ms, &ms), 0);
	return ms;
}

static void seconds_fail(const char *text, unsigned long min_ms, unsigned long max_ms, int error)
{
	unsigned long ms = 12345;
	errno = 0;
	assert_int_equal(number_parse_seconds(text, min_ms, max_ms, &ms), -1);
	assert_int_equal(errno, error);
	assert_int_equal(ms, 12345); /* untouched */
}

/* Seconds with up to three decimals, as bench's -t, --warmup and --timeout take them. */
static void test_seconds(void **state)
{
	(void)state;
	assert_int_equal(seconds_ok("5", 0, 86400000), 5000);
	assert_int_equal(seconds_ok("0", 0, 86400000), 0);
	assert_int_equal(seconds_ok("0.25", 0, 86400000), 250);
	assert_int_equal(seconds_ok("1.5", 0, 86400000), 1500);
	assert_int_equal(seconds_ok("0.001", 1, 86400000), 1);
	assert_int_equal(seconds_ok("86400", 0, 86400000), 86400000);
	assert_int_equal(seconds_ok("007.100", 0, 86400000), 7100);
	seconds_fail("86400.001", 0, 86400000, ERANGE);
	seconds_fail("0.0001", 0, 86400000, ERANGE); /* finer than a millisecond */
	seconds_fail("0", 1, 1000, ERANGE);
	seconds_fail("99999999999999999999999999", 0, 1000, ERANGE);
	seconds_fail("", 0, 1000, EINVAL);
	seconds_fail(".5", 0, 1000, EINVAL);
	seconds_fail("5.", 0, 1000, EINVAL);
	seconds_fail("1.2.3", 0, 10000, EINVAL);
	seconds_fail("-1", 0, 1000, EINVAL);
	seconds_fail("1e3", 0, 10000000, EINVAL);
	seconds_fail(" 1", 0, 10000, EINVAL);
	seconds_fail("1s", 0, 10000, EINVAL);
	/* Leading zeros, however many, as number_parse takes them. */
	assert_int_equal(seconds_ok("0000000000000000000000000000001.5", 0, 86400000), 1500);
	/* The largest value an unsigned long holds, and one past it. */
	assert_int_equal(seconds_ok("18446744073709551.615", 0, ULONG_MAX), ULONG_MAX);
	seconds_fail("18446744073709551.616", 0, ULONG_MAX, ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_numbers),
		cmocka_unit_test(test_leading_zeros),
		cmocka_unit_test(test_bounds_are_inclusive),
		cmocka_unit_test(test_unsigned_long_limits),
		cmocka_unit_test(test_overflow_of_unsigned_long),
		cmocka_unit_test(test_not_a_number),
		cmocka_unit_test(test_not_a_number_wins_over_range),
		cmocka_unit_test(test_seconds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
