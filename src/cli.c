/*
 * cli: error reporting shared by the commands. See cli.h.
 */
#include "cli.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "lib/addr.h"
#include "lib/text.h"

static char **saved_arguments;

void cli_save_arguments(char **argv)
{
	saved_arguments = argv;
}

char *const *cli_arguments(void)
{
	return saved_arguments;
}

void cli_error(const char *format, ...)
{
	char line[1024], shown[TEXT_ESCAPE_SIZE(sizeof line)];
	va_list args;

	va_start(args, format);
	int length = vsnprintf(line, sizeof line, format, args);
	va_end(args);
	if (length < 0)
		return;
	/*
	 * Messages quote what the user gave (an argument, a command name), which
	 * may hold control bytes: shown escaped, they cannot drive the terminal
	 * nor split the line.
	 */
	text_escape_line(line, (size_t)length < sizeof line ? (size_t)length : sizeof line - 1,
			 shown);
	/* One fprintf for the whole line, so that it is not split among processes. */
	fprintf(stderr, "%s: %s\n", FORKNET_NAME, shown);
}

int cli_usage_error(const char *command, const char *message)
{
	cli_error("%s %s (try '%s %s --help')", command, message, FORKNET_NAME, command);
	return EX_USAGE;
}

int cli_failure(const struct failure *failure)
{
	if (!failure->logged)
		cli_error("%s", failure->text);
	switch (failure->kind) {
	case FAILURE_USAGE:
		return EX_USAGE;
	case FAILURE_NO_HOST:
		return EX_NOHOST;
	case FAILURE_TRY_AGAIN:
		return EX_TEMPFAIL;
	case FAILURE_UNAVAILABLE:
		return EX_UNAVAILABLE;
	case FAILURE_SYSTEM:
		return EX_OSERR;
	case FAILURE_IO:
		return EX_IOERR;
	case FAILURE_CONFIG:
		return EX_CONFIG;
	case FAILURE_SOFTWARE:
		return EX_SOFTWARE;
	}
	return EX_SOFTWARE; /* not reached: every kind is above */
}

int cli_host_port(const char *command, const char *protocol, int count, char **args,
		  const char **host, uint16_t *port)
{
	char message[256];
	const char *problem = count == 2 ? addr_host_problem(args[0]) : NULL;

	if (count != 2) {
		snprintf(message, sizeof message, "HOST PORT: got %d argument%s, needs 2", count,
			 text_plural((unsigned)count));
		return cli_usage_error(command, message);
	}
	if (problem != NULL) {
		snprintf(message, sizeof message, "'%s': %s", args[0], problem);
		return cli_usage_error(command, message);
	}
	if (addr_parse_service(args[1], protocol, port) != 0 || *port == 0) {
		snprintf(message, sizeof message,
			 "port '%s': not a port (1-65535), nor a %s service in /etc/services", args[1],
			 protocol);
		return cli_usage_error(command, message);
	}
	*host = args[0];
	return 0;
}

int cli_resolve_failed(const char *host, int code)
{
	cli_error("resolve %s: %s", host, code == EAI_SYSTEM ? strerror(errno) : gai_strerror(code));
	return code == EAI_AGAIN ? EX_TEMPFAIL : EX_NOHOST;
}
