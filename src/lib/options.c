/*
 * options: messages for getopt_long's errors. See options.h.
 */
#include "options.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "number.h"

/*
 * True if WORD ("--name" or "--name=value") names, in full or as an
 * abbreviation getopt_long accepts, the long option whose value is VALUE.
 */
static bool names_option(const char *word, int value, const struct option *long_options)
{
	size_t length = strcspn(word + 2, "=");

	for (const struct option *o = long_options; o->name != NULL; o++)
		if (o->val == value && strncmp(o->name, word + 2, length) == 0)
			return true;
	return false;
}

void options_problem(int result, char **argv, const struct option *long_options, char *error,
		     size_t size)
{
	/*
	 * getopt_long does not say which word it was reading. The last word it
	 * passed is the culprit when that word is a long option; otherwise the
	 * culprit is the short option in optopt (which may sit in a cluster
	 * such as "-qz" that optind has not passed yet).
	 */
	const char *word = argv[optind - 1];
	/* musl steps optind past the end for a value missing at the end: the word is the last. */
	if (word == NULL && optind >= 2)
		word = argv[optind - 2];
	bool long_form = strncmp(word, "--", 2) == 0 &&
			 (optopt == 0 || names_option(word, optopt, long_options));
	int name_length = (int)strcspn(word, "=");

	if (!long_form)
		snprintf(error, size, "-%c: %s", optopt,
			 result == ':' ? "needs a value" : "unknown option");
	else if (result == ':')
		snprintf(error, size, "%.*s: needs a value", name_length, word);
	else if (optopt != 0)
		snprintf(error, size, "%.*s: takes no value", name_length, word);
	else
		snprintf(error, size, "%.*s: unknown option", name_length, word);
}

int options_number(const char *name, const char *text, unsigned long min, unsigned long max,
		   unsigned long *value, char *error, size_t size)
{
	if (number_parse(text, min, max, value) == 0)
		return 0;
	if (errno == ERANGE)
		snprintf(error, size, "--%s '%s': out of range %lu-%lu", name, text, min, max);
	else
		snprintf(error, size, "--%s '%s': not a number", name, text);
	return -1;
}

int options_seconds(const char *name, const char *text, unsigned long min_ms,
		    unsigned long max_ms, unsigned long *milliseconds, char *error, size_t size)
{
	if (number_parse_seconds(text, min_ms, max_ms, milliseconds) == 0)
		return 0;
	if (errno == ERANGE)
		snprintf(error, size, "--%s '%s': out of range %g-%g seconds, in steps of 0.001", name,
			 text, (double)min_ms / 1000, (double)max_ms / 1000);
	else
		snprintf(error, size, "--%s '%s': not a number of seconds", name, text);
	return -1;
}

const char *options_name(const struct option *long_options, int value)
{
	for (const struct option *o = long_options; o->name != NULL; o++)
		if (o->val == value)
			return o->name;
	return "?";
}

int options_host(const char *name, const char *text, char *error, size_t size)
{
	const char *problem = addr_host_problem(text);

	if (problem == NULL)
		return 0;
	snprintf(error, size, "--%s '%s': %s", name, text, problem);
	return -1;
}

int options_port(const char *name, const char *text, const char *protocol, uint16_t *port,
		 char *error, size_t size)
{
	if (addr_parse_service(text, protocol, port) == 0)
		return 0;
	if (errno == ERANGE)
		snprintf(error, size, "--%s '%s': out of range 0-65535", name, text);
	else
		snprintf(error, size, "--%s '%s': not a port number, nor a %s service in /etc/services",
			 name, text, protocol);
	return -1;
}

int options_log_level(bool quiet, bool verbose, enum log_level *level, char *error, size_t size)
{
	if (quiet && verbose) {
		snprintf(error, size, "--quiet and --verbose: choose one");
		return -1;
	}
	if (quiet)
		*level = LOG_LEVEL_NOTICE;
	else if (verbose)
		*level = LOG_LEVEL_DEBUG;
	return 0;
}
