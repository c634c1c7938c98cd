/*
 * words: splitting a shell line into words, the way the forknet shell reads
 * it. Pure: no I/O, so it can be unit-tested and fuzzed.
 *
 *   - Blanks (spaces and tabs) separate words.
 *   - 'single quotes' keep everything inside as it is.
 *   - "double quotes" keep blanks; inside them \" \\ and \$ stand for the
 *     character, and $? still expands.
 *   - Outside quotes a backslash keeps the next character as it is.
 *   - $? (outside single quotes) expands to the last command's status.
 *   - An unquoted & as the last word runs the command in the background.
 *   - '' or "" is an empty word, not nothing.
 */
#ifndef FORKNET_SHELL_WORDS_H
#define FORKNET_SHELL_WORDS_H

#include <stdbool.h>
#include <stddef.h>

struct words {
	char **argv;     /* count words, then NULL: ready for execvp */
	size_t count;
	bool background; /* the line ended with an unquoted & */
	char *storage;   /* where the words' bytes live */
};

enum words_result {
	WORDS_OK,
	WORDS_EMPTY,      /* nothing but blanks */
	WORDS_LONE_AMPERSAND, /* "&" with no command before it */
	WORDS_UNBALANCED, /* a quote was opened and not closed */
	WORDS_NUL,        /* a NUL byte: it cannot be passed to a program */
	WORDS_TRAILING_BACKSLASH,
	WORDS_NO_MEMORY,
};

/*
 * Splits LINE (LENGTH bytes, no line end) into OUT, with $? standing for
 * LAST_STATUS. On WORDS_OK, OUT must be released with words_free.
 */
enum words_result words_split(const char *line, size_t length, int last_status,
			      struct words *out);

void words_free(struct words *words);

/* What a result other than WORDS_OK means, in a few words ("unbalanced quote"). */
const char *words_problem(enum words_result result);

#endif
