/*
 * options: wording for getopt_long's complaints, so that every command says
 * "--port: needs a value" and "-x: unknown option" the same way.
 */
#ifndef FORKNET_OPTIONS_H
#define FORKNET_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* What parsing a command's options came to (server/config.h, chat/config.h). */
enum config_result {
	CONFIG_OK,
	CONFIG_HELP,  /* --help was asked for */
	CONFIG_ERROR, /* ERROR holds one line saying what is wrong */
};

/*
 * After getopt_long (with opterr = 0 and an option string starting with ':')
 * returned RESULT ':' or '?' for ARGV and LONG_OPTIONS, writes into ERROR
 * what was wrong: "--port: needs a value", "-x: unknown option",
 * "--quiet: takes no value".
 */
void options_problem(int result, char **argv, const struct option *long_options, char *error,
		     size_t size);

/* The long name ("port") of the option whose val is VALUE in LONG_OPTIONS, or "?". */
const char *options_name(const struct option *long_options, int value);

/*
 * Parses TEXT, the value of the long option NAME ("port"), as a number in
 * MIN..MAX. Returns 0, or -1 with ERROR saying why: "--port '70000': out of
 * range 0-65535" or "--port 'x': not a number".
 */
int options_number(const char *name, const char *text, unsigned long min, unsigned long max,
		   unsigned long *value, char *error, size_t size);

/*
 * Parses TEXT, the value of --NAME, as seconds with up to three decimals
 * into milliseconds in MIN_MS..MAX_MS (number_parse_seconds). Returns 0, or
 * -1 with ERROR saying why: "--time '1.5x': not a number of seconds".
 */
int options_seconds(const char *name, const char *text, unsigned long min_ms,
		    unsigned long max_ms, unsigned long *milliseconds, char *error, size_t size);
/*
 * Checks TEXT, the value of --NAME, as a host argument. Returns 0, or -1 with
 * ERROR saying why: "--bind '127.1': an IPv4 address must be a dotted quad ...".
 */
int options_host(const char *name, const char *text, char *error, size_t size);

/*
 * Parses TEXT, the value of --NAME, as a port 0..65535 or a service name of
 * PROTOCOL ("tcp", "udp"; "echo" is 7). Returns 0, or -1 with ERROR saying why.
 */
int options_port(const char *name, const char *text, const char *protocol, uint16_t *port,
		 char *error, size_t size);

/*
 * The log level that -q (QUIET) or -v (VERBOSE) ask for, into *LEVEL (left
 * alone if neither). Both at once contradict each other: -1 with ERROR.
 */
int options_log_level(bool quiet, bool verbose, enum log_level *level, char *error, size_t size);

#endif
