/*
 * words: the shell's word splitting. See words.h.
 *
 * Two passes over the line: the first counts words and bytes (with $?
 * expanded), the second writes them into one block, so there is a single
 * allocation for all the words and one for the argument vector.
 */
#include "words.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The split in progress: either counting (OUT NULL) or writing. */
struct splitter {
	const char *line;
	size_t length;
	const char *status; /* $? as text */
	char *out;          /* where bytes go, or NULL to only count */
	size_t bytes;       /* bytes of words so far, each with its NUL */
	char **argv;        /* where word starts go, or NULL */
	size_t count;       /* words so far */
	bool background;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void put(struct splitter *s, char c)
{
	if (s->out != NULL)
		s->out[s->bytes] = c;
	s->bytes++;
}

static void put_status(struct splitter *s)
{
	for (const char *p = s->status; *p != '\0'; p++)
		put(s, *p);
}

/* True if "$?" starts at I. */
static bool is_status_at(const struct splitter *s, size_t i)
{
	return i + 1 < s->length && s->line[i] == '$' && s->line[i + 1] == '?';
}

/* One pass over the line. */
static enum words_result pass(struct splitter *s)
{
	size_t i = 0;

	s->bytes = 0;
	s->count = 0;
	s->background = false;
	for (;;) {
		while (i < s->length && is_blank(s->line[i]))
			i++;
		if (i == s->length)
			return WORDS_OK;
		/* An unquoted & alone at the end of the line: a background job. */
		if (s->line[i] == '&') {
			size_t j = i + 1;
			while (j < s->length && is_blank(s->line[j]))
				j++;
			if (j == s->length) {
				s->background = true;
				return WORDS_OK;
			}
		}
		if (s->argv != NULL)
			s->argv[s->count] = s->out + s->bytes;
		while (i < s->length && !is_blank(s->line[i])) {
			char c = s->line[i];
			if (c == '\0')
				return WORDS_NUL;
			if (c == '\'') {
				const char *close = memchr(s->line + i + 1, '\'', s->length - i - 1);
				if (close == NULL)
					return WORDS_UNBALANCED;
				for (const char *p = s->line + i + 1; p < close; p++) {
					if (*p == '\0')
						return WORDS_NUL;
					put(s, *p);
				}
				i = (size_t)(close - s->line) + 1;
			} else if (c == '"') {
				for (i++;; i++) {
					if (i == s->length)
						return WORDS_UNBALANCED;
					char d = s->line[i];
					if (d == '"')
						break;
					if (d == '\0')
						return WORDS_NUL;
					if (is_status_at(s, i)) {
						put_status(s);
						i++;
					} else if (d == '\\' && i + 1 < s->length && s->line[i + 1] != '\0' &&
						   strchr("\"\\$", s->line[i + 1]) != NULL) {
						/* (strchr finds a NUL too, as the string's end: hence the test before.) */
						put(s, s->line[++i]);
					} else {
						put(s, d);
					}
				}
				i++;
			} else if (c == '\\') {
				if (i + 1 == s->length)
					return WORDS_TRAILING_BACKSLASH;
				if (s->line[i + 1] == '\0')
					return WORDS_NUL;
				put(s, s->line[i + 1]);
				i += 2;
			} else if (is_status_at(s, i)) {
				put_status(s);
				i += 2;
			} else {
				put(s, c);
				i++;
			}
		}
		put(s, '\0');
		s->count++;
	}
}

enum words_result words_split(const char *line, size_t length, int last_status,
			      struct words *out)
{
	char status[16];
	snprintf(status, sizeof status, "%d", last_status);
	struct splitter s = {.line = line, .length = length, .status = status};

	memset(out, 0, sizeof *out);
	enum words_result result = pass(&s); /* counting */
	if (result != WORDS_OK)
		return result;
	if (s.count == 0)
		return s.background ? WORDS_LONE_AMPERSAND : WORDS_EMPTY;

	out->storage = malloc(s.bytes);
	out->argv = calloc(s.count + 1, sizeof *out->argv);
	if (out->storage == NULL || out->argv == NULL) {
		words_free(out);
		return WORDS_NO_MEMORY;
	}
	s.out = out->storage;
	s.argv = out->argv;
	(void)pass(&s); /* writing: the same line, so the same result */
	out->count = s.count;
	out->background = s.background;
	out->argv[s.count] = NULL;
	return WORDS_OK;
}

void words_free(struct words *words)
{
	free(words->argv);
	free(words->storage);
	memset(words, 0, sizeof *words);
}

const char *words_problem(enum words_result result)
{
	switch (result) {
	case WORDS_OK:
		return "no problem";
	case WORDS_EMPTY:
		return "nothing to run";
	case WORDS_LONE_AMPERSAND:
		return "& with no command before it";
	case WORDS_UNBALANCED:
		return "unbalanced quote";
	case WORDS_NUL:
		return "NUL byte in the line";
	case WORDS_TRAILING_BACKSLASH:
		return "backslash at the end of the line";
	case WORDS_NO_MEMORY:
		return "out of memory";
	}
	return "unknown problem";
}
