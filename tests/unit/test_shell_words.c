/*
 * Unit tests of src/shell/words.c: how the shell splits a line into words.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "shell/words.h"

/* Splits LINE (LENGTH bytes) with $? = STATUS and expects the words in EXPECTED (NULL-ended). */
static void check(const char *line, size_t length, int status, bool background,
		  const char *const *expected)
{
	struct words words;
	char *copy = malloc(length + 1); /* exactly the line: the sanitizers see any overread */
	assert_non_null(copy);
	memcpy(copy, line, length);
	assert_int_equal(words_split(copy, length, status, &words), WORDS_OK);
	size_t count = 0;
	while (expected[count] != NULL)
		count++;
	if (words.count != count)
		fail_msg("\"%s\": %zu words, want %zu", line, words.count, count);
	for (size_t i = 0; i < count; i++)
		assert_string_equal(words.argv[i], expected[i]);
	assert_null(words.argv[count]);
	assert_int_equal(words.background, background);
	words_free(&words);
	free(copy);
}

#define CHECK(line, ...) check(line, sizeof(line) - 1, 0, false, (const char *[]){__VA_ARGS__, NULL})

static void expect_result(const char *line, size_t length, enum words_result result)
{
	struct words words;
	assert_int_equal(words_split(line, length, 0, &words), result);
}

static void test_blanks_and_quotes(void **state)
{
	(void)state;
	CHECK("ls", "ls");
	CHECK("  ls\t -l  /tmp ", "ls", "-l", "/tmp");
	CHECK("echo 'a  b' \"c  d\"", "echo", "a  b", "c  d");
	CHECK("echo a'b'\"c\"d", "echo", "abcd");
	CHECK("echo '' \"\"", "echo", "", "");
	CHECK("echo 'it''s'", "echo", "its");
	CHECK("echo '\"' \"'\"", "echo", "\"", "'");
	CHECK("echo 'a\\b' \"a\\b\"", "echo", "a\\b", "a\\b"); /* \b is not special in quotes */
	CHECK("echo \"\\\"\\\\\\$\"", "echo", "\"\\$");
	CHECK("echo a\\ b \\'", "echo", "a b", "'");
}

static void test_dollar_question(void **state)
{
	(void)state;
	static const char line[] = "echo $? \"$?\" '$?' x$?y \\$?";
	check(line, sizeof line - 1, 127, false,
	      (const char *[]){"echo", "127", "127", "$?", "x127y", "$?", NULL});
	check("echo $", 6, 3, false, (const char *[]){"echo", "$", NULL});
	check("echo $$?", 8, 3, false, (const char *[]){"echo", "$3", NULL});
}

static void test_background(void **state)
{
	(void)state;
	check("sleep 1 &", 9, 0, true, (const char *[]){"sleep", "1", NULL});
	check("sleep 1 &  ", 11, 0, true, (const char *[]){"sleep", "1", NULL});
	check("sleep 1&", 8, 0, false, (const char *[]){"sleep", "1&", NULL});
	check("echo & x", 8, 0, false, (const char *[]){"echo", "&", "x", NULL});
	check("echo '&'", 8, 0, false, (const char *[]){"echo", "&", NULL});
}

static void test_problems(void **state)
{
	(void)state;
	expect_result("", 0, WORDS_EMPTY);
	expect_result(" \t ", 3, WORDS_EMPTY);
	expect_result("&", 1, WORDS_LONE_AMPERSAND);
	expect_result("  &  ", 5, WORDS_LONE_AMPERSAND);
	expect_result("echo 'open", 10, WORDS_UNBALANCED);
	expect_result("echo \"open", 10, WORDS_UNBALANCED);
	expect_result("echo \"open\\\"", 12, WORDS_UNBALANCED);
	expect_result("echo a\\", 7, WORDS_TRAILING_BACKSLASH);
	expect_result("echo a\0b", 8, WORDS_NUL);
	expect_result("echo 'a\0b'", 10, WORDS_NUL);
	expect_result("echo \"a\0b\"", 10, WORDS_NUL);
	expect_result("echo \\\0", 7, WORDS_NUL);
	/* A NUL after a backslash in double quotes: refused, not taken as an escaped character. */
	static const char escaped_nul[] = "echo \"a\\\0b\" x";
	expect_result(escaped_nul, sizeof escaped_nul - 1, WORDS_NUL);
	assert_string_equal(words_problem(WORDS_UNBALANCED), "unbalanced quote");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blanks_and_quotes),
		cmocka_unit_test(test_dollar_question),
		cmocka_unit_test(test_background),
		cmocka_unit_test(test_problems),
	};
	return cmocka_run_group_tests_name("shell words", tests, NULL, NULL);
}
