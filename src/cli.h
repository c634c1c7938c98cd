/*
 * cli: what the commands share: their entry points and how they report
 * errors. Every message has one shape, "forknet: WHAT: WHY", on standard
 * error; exit statuses follow sysexits.h (see forknet(1)).
 */
#ifndef FORKNET_CLI_H
#define FORKNET_CLI_H

#define FORKNET_NAME "forknet"

/* The commands; each takes its own name as ARGV[0] and returns an exit status. */
int echo_server_main(int argc, char **argv);
int echo_client_main(int argc, char **argv);
int chat_server_main(int argc, char **argv);
int chat_client_main(int argc, char **argv);

/* Prints "forknet: FORMAT..." and a newline on standard error. */
void cli_error(const char *format, ...) __attribute__((format(printf, 1, 2)));

/*
 * Prints "forknet: COMMAND MESSAGE (try 'forknet COMMAND --help')" and returns
 * EX_USAGE, for "return cli_usage_error(...)".
 */
int cli_usage_error(const char *command, const char *message);

#endif
