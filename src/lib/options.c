/*
 * options: messages for getopt_long's errors. See options.h.
 */
#include "options.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

void options_problem(int result, char **argv, char *error, size_t size)
{
	/* The word getopt looked at last; for a long option, without any "=value". */
	const char *word = argv[optind - 1];
	int word_length = (int)strcspn(word, "=");

	if (result == ':') {
		if (word[1] != '-' && optopt != 0)
			snprintf(error, size, "-%c: needs a value", optopt);
		else
			snprintf(error, size, "%.*s: needs a value", word_length, word);
	} else if (optopt != 0) {
		snprintf(error, size, "-%c: unknown option", optopt);
	} else {
		snprintf(error, size, "%.*s: unknown option", word_length, word);
	}
}
