/*
 * cli: what the commands share: their entry points and how they report
 * errors. Every message has one shape, "forknet: WHAT: WHY", on standard
 * error; exit statuses follow sysexits.h (see forknet(1)).
 */
#ifndef FORKNET_CLI_H
#define FORKNET_CLI_H

#include <stdint.h>

#include "lib/failure.h"

#define FORKNET_NAME "forknet"

/* The commands; each takes its own name as ARGV[0] and returns an exit status. */
int echo_server_main(int argc, char **argv);
int echo_client_main(int argc, char **argv);
int chat_server_main(int argc, char **argv);
int chat_client_main(int argc, char **argv);
int shell_main(int argc, char **argv);
int bench_main(int argc, char **argv);

/*
 * The command line as main() received it, before any option parsing
 * reordered it (a restart in place runs it again): main saves it, a server
 * reads it. NULL until saved.
 */
void cli_save_arguments(char **argv);
char *const *cli_arguments(void);

/* Prints "forknet: FORMAT..." and a newline on standard error. */
void cli_error(const char *format, ...) __attribute__((format(printf, 1, 2)));

/*
 * Prints "forknet: COMMAND MESSAGE (try 'forknet COMMAND --help')" and returns
 * EX_USAGE, for "return cli_usage_error(...)".
 */
int cli_usage_error(const char *command, const char *message);

/*
 * For the clients: checks that the COUNT arguments left in ARGS are HOST
 * and PORT (1-65535, or a service name of PROTOCOL, "tcp" or "udp"), and sets
 * *HOST and *PORT. Returns 0, or EX_USAGE after the usage error is printed.
 */
int cli_host_port(const char *command, const char *protocol, int count, char **args,
		  const char **host, uint16_t *port);

/*
 * Says FAILURE as "forknet: TEXT" (unless it was logged already) and
 * returns the sysexits status for its kind, for "return cli_failure(...)".
 */
int cli_failure(const struct failure *failure);

/* Reports that HOST did not resolve (getaddrinfo's CODE); returns the exit status for it. */
int cli_resolve_failed(const char *host, int code);

#endif
