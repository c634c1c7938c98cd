/*
 * test_endline: unit tests of the END-line detector (src/client/endline.h).
 *
 * What is checked: "END\n" and "END\r\n" end the stream, at its start or
 * after other lines, and are not passed through, nor is anything after them;
 * "END" inside a line, or a line that only starts like it, passes unchanged;
 * bytes held back at a line start are released once the pattern breaks; at
 * the end of input a final "END" or "END\r" without its newline is dropped,
 * anything shorter ("EN") is released; NUL bytes are ordinary bytes.
 *
 * The output must not depend on how the input is cut into pieces, so every
 * case is also fed one byte at a time and in every split into two and three
 * pieces, and a long pseudo-random stream is compared, in random pieces,
 * with a line-by-line reference. Each call's output is checked against its
 * bound (piece length + ENDLINE_HELD_MAX) with guard bytes after it.
 *
 * Run: build/tests/unit/test_endline
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/endline.h"

/* Guard bytes after each output buffer: endline must never write there. */
#define GUARD 32
#define GUARD_BYTE 0x5a

/* What a whole run over one input produced. */
struct run {
	char *output; /* malloc'd */
	size_t length;
	bool found;
};

/* Calls endline_feed on one piece, checking the bound and the guard bytes. */
static size_t feed_checked(struct endline *state, const char *piece, size_t length, char *out,
			   bool *found)
{
	size_t room = length + ENDLINE_HELD_MAX;
	char *buffer = malloc(room + GUARD);
	assert_non_null(buffer);
	memset(buffer, GUARD_BYTE, room + GUARD);

	size_t written = endline_feed(state, piece, length, buffer, found);
	assert_true(written <= room);
	for (size_t i = room; i < room + GUARD; i++)
		assert_int_equal((unsigned char)buffer[i], GUARD_BYTE);
	memcpy(out, buffer, written);
	free(buffer);
	return written;
}

/* Calls endline_finish, checking it stays within ENDLINE_HELD_MAX. */
static size_t finish_checked(struct endline *state, char *out)
{
	char buffer[ENDLINE_HELD_MAX + GUARD];
	memset(buffer, GUARD_BYTE, sizeof buffer);

	size_t written = endline_finish(state, buffer);
	assert_true(written <= ENDLINE_HELD_MAX);
	for (size_t i = ENDLINE_HELD_MAX; i < sizeof buffer; i++)
		assert_int_equal((unsigned char)buffer[i], GUARD_BYTE);
	memcpy(out, buffer, written);
	return written;
}

/*
 * Feeds INPUT cut at CUTS (COUNT ascending offsets), as a client would: it
 * stops feeding once the END line is found, and calls endline_finish at the
 * end of the input otherwise.
 */
static struct run run_pieces(const char *input, size_t length, const size_t *cuts, size_t count)
{
	struct run run = {.output = malloc(length + ENDLINE_HELD_MAX + 1)};
	struct endline state;
	size_t start = 0;

	assert_non_null(run.output);
	endline_init(&state);
	for (size_t i = 0; i <= count && !run.found; i++) {
		size_t end = i < count ? cuts[i] : length;
		assert_true(end >= start && end <= length);
		bool found = true; /* must be set by every call */
		run.length += feed_checked(&state, input + start, end - start,
					   run.output + run.length, &found);
		run.found = found;
		start = end;
	}
	if (!run.found)
		run.length += finish_checked(&state, run.output + run.length);
	assert_true(run.length <= length);
	return run;
}

/* Prints a byte string readably, for failure messages. */
static void print_bytes(const char *label, const char *bytes, size_t length)
{
	char text[512];
	size_t used = 0;
	for (size_t i = 0; i < length && used + 5 < sizeof text; i++) {
		unsigned char c = (unsigned char)bytes[i];
		if (c == '\n')
			used += (size_t)snprintf(text + used, sizeof text - used, "\\n");
		else if (c == '\r')
			used += (size_t)snprintf(text + used, sizeof text - used, "\\r");
		else if (c < 32 || c > 126)
			used += (size_t)snprintf(text + used, sizeof text - used, "\\x%02x", c);
		else
			text[used++] = (char)c;
	}
	text[used] = '\0';
	print_error("%s: \"%s\" (%zu bytes)\n", label, text, length);
}

/* Checks one run against the expected output and flag. */
static void check_run(const struct run *run, const char *input, size_t input_length,
		      const char *expected, size_t expected_length, bool found, const char *how)
{
	if (run->length != expected_length || memcmp(run->output, expected, expected_length) != 0 ||
	    run->found != found) {
		print_error("fed %s:\n", how);
		print_bytes("  input   ", input, input_length);
		print_bytes("  expected", expected, expected_length);
		print_bytes("  got     ", run->output, run->length);
		print_error("  found: expected %d, got %d\n", found, run->found);
	}
	assert_int_equal(run->found, found);
	assert_int_equal(run->length, expected_length);
	assert_memory_equal(run->output, expected, expected_length);
}

/*
 * Checks INPUT gives EXPECTED (and FOUND) fed whole, one byte at a time, and
 * in every split into two and into three pieces.
 */
static void check_all_splits(const char *input, size_t length, const char *expected,
			     size_t expected_length, bool found)
{
	struct run run = run_pieces(input, length, NULL, 0);
	check_run(&run, input, length, expected, expected_length, found, "whole");
	free(run.output);

	size_t *cuts = malloc((length + 1) * sizeof *cuts);
	assert_non_null(cuts);
	for (size_t i = 0; i < length; i++)
		cuts[i] = i + 1;
	run = run_pieces(input, length, cuts, length > 0 ? length - 1 : 0);
	check_run(&run, input, length, expected, expected_length, found, "one byte at a time");
	free(run.output);

	for (size_t a = 0; a <= length; a++) {
		size_t two[1] = {a};
		run = run_pieces(input, length, two, 1);
		check_run(&run, input, length, expected, expected_length, found, "in two pieces");
		free(run.output);
		for (size_t b = a; b <= length; b++) {
			size_t three[2] = {a, b};
			run = run_pieces(input, length, three, 2);
			check_run(&run, input, length, expected, expected_length, found,
				  "in three pieces");
			free(run.output);
		}
	}
	free(cuts);
}

/* The same for C strings (no NUL bytes inside). */
static void check_text(const char *input, const char *expected, bool found)
{
	check_all_splits(input, strlen(input), expected, strlen(expected), found);
}

/* INPUT passes through unchanged and does not end the stream. */
static void check_unchanged(const char *input)
{
	check_text(input, input, false);
}

/* ---- the END line ---- */

static void test_end_at_start(void **state)
{
	(void)state;
	check_text("END\n", "", true);
	check_text("END\r\n", "", true);
}

static void test_end_after_lines(void **state)
{
	(void)state;
	check_text("hello\nEND\n", "hello\n", true);
	check_text("hello\r\nEND\r\n", "hello\r\n", true);
	check_text("a\nb\nc\nEND\n", "a\nb\nc\n", true);
	check_text("\nEND\n", "\n", true);
	check_text("a\n\nEND\r\n", "a\n\n", true);
	check_text("EN\nEND\n", "EN\n", true);
	check_text("ENDX\nEND\n", "ENDX\n", true);
	check_text("xEND\nEND\n", "xEND\n", true);
}

/* Nothing after the END line is passed, not even within the same piece. */
static void test_after_end_dropped(void **state)
{
	(void)state;
	check_text("a\nEND\nb\n", "a\n", true);
	check_text("END\nEND\n", "", true);
	check_text("END\r\nmore\nEND\nmore", "", true);
	check_text("one\nEND\ntwo\nthree\n", "one\n", true);
}

/* ---- lines that are not the END line ---- */

static void test_end_inside_lines(void **state)
{
	(void)state;
	check_unchanged("xEND\n");
	check_unchanged("END x\n");
	check_unchanged("ENDX\n");
	check_unchanged(" END\n");
	check_unchanged("ENDEND\n");
	check_unchanged("END END\n");
	check_unchanged("hello END\n");
	check_unchanged("a\nxEND\nb\n");
}

/* Starts of the pattern, broken at every place: the held bytes come out, in order. */
static void test_broken_patterns(void **state)
{
	(void)state;
	check_unchanged("EN\n");
	check_unchanged("E\n");
	check_unchanged("\n");
	check_unchanged("\n\n\n");
	check_unchanged("EX\n");
	check_unchanged("ENX\n");
	check_unchanged("EEND\n");
	check_unchanged("ENEND\n");
	check_unchanged("END\rX\n");
	check_unchanged("END\r\r\n");
	check_unchanged("END\rEND\n");
	check_unchanged("end\n"); /* the END line is upper case */
	check_unchanged("End\n");
	check_unchanged("\rEND\n");
	check_unchanged("a\nEN\nb\nE\n");
}

static void test_plain_text(void **state)
{
	(void)state;
	check_unchanged("");
	check_unchanged("hello");
	check_unchanged("hello\n");
	check_unchanged("one\ntwo\r\nthree");
	check_unchanged("a line without its newline, then nothing");
}

/* ---- the end of the input ---- */

static void test_finish_drops_final_end(void **state)
{
	(void)state;
	/* found stays false: the input ended, the END line did not complete. */
	check_text("END", "", false);
	check_text("END\r", "", false);
	check_text("abc\nEND", "abc\n", false);
	check_text("abc\r\nEND\r", "abc\r\n", false);
}

static void test_finish_releases_partial(void **state)
{
	(void)state;
	check_unchanged("EN");
	check_unchanged("E");
	check_unchanged("abc\nEN");
	check_unchanged("abc\nE");
	check_unchanged("xEND");
	check_unchanged("ENDX");
	check_unchanged("END\rX");
}

/* endline_finish on its own: what is held, and nothing when nothing is. */
static void test_finish_direct(void **state)
{
	struct endline line;
	char out[ENDLINE_HELD_MAX + GUARD];
	bool found;
	(void)state;

	endline_init(&line);
	assert_int_equal(finish_checked(&line, out), 0);

	endline_init(&line);
	assert_int_equal(feed_checked(&line, "EN", 2, out, &found), 0); /* held back */
	assert_false(found);
	assert_int_equal(finish_checked(&line, out), 2);
	assert_memory_equal(out, "EN", 2);

	endline_init(&line);
	assert_int_equal(feed_checked(&line, "END\r", 4, out, &found), 0);
	assert_false(found);
	assert_int_equal(finish_checked(&line, out), 0);

	endline_init(&line);
	assert_int_equal(feed_checked(&line, "abc", 3, out, &found), 3);
	assert_int_equal(finish_checked(&line, out), 0);
}

/* The most a call writes: everything held (a whole "END\r") plus its own bytes. */
static void test_output_bound(void **state)
{
	struct endline line;
	char out[64];
	bool found;
	(void)state;

	endline_init(&line);
	assert_int_equal(feed_checked(&line, "END\r", 4, out, &found), 0);
	size_t written = feed_checked(&line, "X", 1, out, &found);
	assert_int_equal(written, 1 + ENDLINE_HELD_MAX);
	assert_memory_equal(out, "END\rX", 5);
	assert_false(found);

	/* An empty piece writes nothing and finds nothing. */
	endline_init(&line);
	found = true;
	assert_int_equal(feed_checked(&line, "", 0, out, &found), 0);
	assert_false(found);
}

/* ---- binary input ---- */

static void test_binary(void **state)
{
	(void)state;
	static const char input[] = "a\0b\nEN\0D\n\0END\nEND\0\n\0\n\xff\xfe\n";
	size_t length = sizeof input - 1;
	check_all_splits(input, length, input, length, false);

	static const char ended[] = "\0\n\x80\x00\x01\nEND\n\0after";
	size_t before = 6; /* "\0\n\x80\x00\x01\n" */
	check_all_splits(ended, sizeof ended - 1, ended, before, true);
	check_all_splits("\0", 1, "\0", 1, false);
	check_all_splits("END\0", 4, "END\0", 4, false);
}

/* ---- random streams against a reference ---- */

/* A small deterministic generator (xorshift32), so a failure can be replayed. */
static uint32_t next_random(uint32_t *seed)
{
	uint32_t x = *seed;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*seed = x;
	return x;
}

/*
 * The reference: cut the whole input into lines and stop at the first
 * complete line that is "END" or "END\r"; at the end, a last incomplete line
 * that is "END" or "END\r" is dropped. Returns the output length.
 */
static size_t reference(const char *input, size_t length, bool *found)
{
	size_t start = 0;

	*found = false;
	while (start < length) {
		const char *newline = memchr(input + start, '\n', length - start);
		size_t end = newline != NULL ? (size_t)(newline - input) : length;
		size_t line = end - start;
		bool is_end = (line == 3 && memcmp(input + start, "END", 3) == 0) ||
			      (line == 4 && memcmp(input + start, "END\r", 4) == 0);
		if (is_end) {
			*found = newline != NULL;
			return start;
		}
		start = newline != NULL ? end + 1 : length;
	}
	return length;
}

static void test_random_streams(void **state)
{
	/* Bytes that make END lines and near misses common. */
	static const char alphabet[] = {'E', 'N', 'D', '\r', '\n', '\n', '\0', 'x', 'E', 'N', 'D'};
	uint32_t seed = 0x2545f491;
	(void)state;

	for (int round = 0; round < 2000; round++) {
		char input[96];
		size_t length = next_random(&seed) % sizeof input;
		for (size_t i = 0; i < length; i++)
			input[i] = alphabet[next_random(&seed) % sizeof alphabet];

		bool found;
		size_t expected = reference(input, length, &found);

		size_t cuts[sizeof input];
		size_t count = 0;
		for (size_t at = 0; at < length; at++)
			if (next_random(&seed) % 4 == 0)
				cuts[count++] = at;
		struct run run = run_pieces(input, length, cuts, count);
		check_run(&run, input, length, input, expected, found, "in random pieces");
		free(run.output);
	}
}

/* A long stream without an END line passes byte for byte, in pieces of any size. */
static void test_long_stream(void **state)
{
	enum { LENGTH = 1 << 16 };
	uint32_t seed = 12345;
	(void)state;

	char *input = malloc(LENGTH);
	assert_non_null(input);
	for (size_t i = 0; i < LENGTH; i++) {
		input[i] = (char)(next_random(&seed) & 0xff);
		/* Keep lines from being "END": no line may start with 'E'. */
		if (input[i] == 'E' && (i == 0 || input[i - 1] == '\n'))
			input[i] = 'e';
	}
	size_t cuts[64];
	size_t count = 0;
	for (size_t at = 1; count < 64; at += at / 2 + 1)
		cuts[count++] = at < LENGTH ? at : LENGTH;
	struct run run = run_pieces(input, LENGTH, cuts, count);
	check_run(&run, input, LENGTH, input, LENGTH, false, "in growing pieces");
	free(run.output);
	free(input);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_end_at_start),
		cmocka_unit_test(test_end_after_lines),
		cmocka_unit_test(test_after_end_dropped),
		cmocka_unit_test(test_end_inside_lines),
		cmocka_unit_test(test_broken_patterns),
		cmocka_unit_test(test_plain_text),
		cmocka_unit_test(test_finish_drops_final_end),
		cmocka_unit_test(test_finish_releases_partial),
		cmocka_unit_test(test_finish_direct),
		cmocka_unit_test(test_output_bound),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_random_streams),
		cmocka_unit_test(test_long_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
