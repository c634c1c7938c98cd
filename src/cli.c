/*
 * cli: error reporting shared by the commands. See cli.h.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <sysexits.h>

void cli_error(const char *format, ...)
{
	char line[1024];
	va_list args;

	va_start(args, format);
	vsnprintf(line, sizeof line, format, args);
	va_end(args);
	/* One fprintf for the whole line, so that it is not split among processes. */
	fprintf(stderr, "%s: %s\n", FORKNET_NAME, line);
}

int cli_usage_error(const char *command, const char *message)
{
	cli_error("%s %s (try '%s %s --help')", command, message, FORKNET_NAME, command);
	return EX_USAGE;
}
