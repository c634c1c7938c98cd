/*
 * fuzz_words: libFuzzer target for the shell's word splitting
 * (src/shell/words.c), which reads whatever is typed or piped in.
 *
 * Invariants: it never reads or writes out of bounds (the sanitizers see to
 * that); on WORDS_OK the words are NUL-free strings, argv ends with NULL, and
 * together they are never longer than the line with $? expanded; splitting
 * the same line twice gives the same words; a line that holds a NUL byte
 * never splits (no word may hide one, as a program would see it cut there).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shell/words.h"
#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	int status = size > 0 ? data[0] : 0;
	struct words first, second;

	enum words_result result = words_split(line, size, status, &first);
	CHECK(words_split(line, size, status, &second) == result);
	if (size > 0 && memchr(line, '\0', size) != NULL)
		CHECK(result != WORDS_OK && result != WORDS_EMPTY);
	if (result != WORDS_OK)
		return 0;
	CHECK(first.count > 0 && first.count == second.count);
	CHECK(first.argv[first.count] == NULL);
	size_t total = 0;
	for (size_t i = 0; i < first.count; i++) {
		size_t length = strlen(first.argv[i]);
		CHECK(strcmp(first.argv[i], second.argv[i]) == 0);
		total += length + 1;
	}
	/* Each "$?" (2 bytes) grows to at most 3 digits; nothing else grows. */
	CHECK(total <= 2 * size + 1);
	CHECK(first.background == second.background);
	words_free(&first);
	words_free(&second);
	return 0;
}
