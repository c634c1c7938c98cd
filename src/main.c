/*
 * forknet: the command. Dispatch only: find the subcommand, hand it the rest
 * of the arguments. Each subcommand lives in a file of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"

#ifndef FORKNET_VERSION
#define FORKNET_VERSION "unknown"
#endif

struct command {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"echo-server", echo_server_main, "TCP echo server, a child process per connection"},
	{"echo-client", echo_client_main, "echo client with input and output in two processes"},
	{"chat-server", chat_server_main, "UDP chat server that relays each message to the others"},
	{"chat", chat_client_main, "chat client: typing and receiving in two processes"},
	{"bench", bench_main, "load generator for echo servers on this machine, with a checked echo"},
	{"shell", shell_main, "a small shell: fork, exec, wait, and signals done right"},
};

#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
	fprintf(out, "Usage: forknet COMMAND [OPTION]... [ARGUMENT]...\n"
		     "       forknet help COMMAND\n"
		     "Multi-process network servers and clients.\n\nCommands:\n");
	for (size_t i = 0; i < COMMAND_COUNT; i++)
		fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'forknet COMMAND --help' describes a command's options. See forknet(1).\n");
}

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < COMMAND_COUNT; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int unknown(const char *name)
{
	cli_error("%s: unknown command (try 'forknet --help')", name);
	return EX_USAGE;
}

/*
 * Makes sure descriptors 0, 1 and 2 are open. Were one closed at start, the
 * next socket or pipe would take its number, and the echo client would write
 * its output into the connection, or a server its log into a client.
 */
static int standard_descriptors_open(void)
{
	for (;;) {
		int fd = open("/dev/null", O_RDWR);
		if (fd < 0)
			return -1;
		if (fd > STDERR_FILENO)
			return close(fd);
	}
}

int main(int argc, char **argv)
{
	if (standard_descriptors_open() != 0)
		return EX_OSERR; /* nowhere safe to say so: standard error may be what is missing */
	/*
	 * The commands' option parsing reorders the argv array (getopt), so a
	 * copy of the pointers is kept for a restart in place to run again.
	 */
	char **arguments = calloc((size_t)argc + 1, sizeof *arguments);
	if (arguments == NULL) {
		cli_error("memory: %s", strerror(errno));
		return EX_OSERR;
	}
	memcpy(arguments, argv, (size_t)argc * sizeof *arguments);
	cli_save_arguments(arguments);
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		usage(stdout);
		return EX_OK;
	}
	if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
		printf("forknet %s\n", FORKNET_VERSION);
		return EX_OK;
	}
	if (strcmp(name, "help") == 0) {
		if (argc == 2) {
			usage(stdout);
			return EX_OK;
		}
		const struct command *command = find(argv[2]);
		if (command == NULL)
			return unknown(argv[2]);
		if (argc > 3) {
			cli_error("help: '%s': unexpected argument (try 'forknet help %s')", argv[3],
				  argv[2]);
			return EX_USAGE;
		}
		char help[] = "--help";
		char *help_argv[] = {argv[2], help, NULL};
		return command->main(2, help_argv);
	}
	if (name[0] == '-') {
		cli_error("%s: unknown option (try 'forknet --help')", name);
		return EX_USAGE;
	}
	const struct command *command = find(name);
	if (command == NULL)
		return unknown(name);
	return command->main(argc - 1, argv + 1);
}
