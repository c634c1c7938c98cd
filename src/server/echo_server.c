/*
 * echo_server: the `forknet echo-server` command. It parses the options into
 * a server configuration and runs the echo service under the chosen model.
 */
#include <stdio.h>
#include <sysexits.h>

#include "../cli.h"
#include "config.h"
#include "echo.h"
#include "server.h"

#define ECHO_DEFAULT_PORT 9000

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: forknet echo-server [OPTION]...\n"
		"Echo every byte each TCP client sends back to it. By default a child\n"
		"process serves each connection (the fork model).\n"
		"\n"
		"%s"
		"\n"
		"The default port is %d. Once listening, the server logs\n"
		"'listening on ADDR:PORT'. SIGTERM or SIGINT stops it, SIGQUIT lets the\n"
		"connections in progress finish first, SIGHUP restarts it in place,\n"
		"SIGUSR2 logs its status (see forknet(1), SIGNALS).\n",
		server_config_options_help, ECHO_DEFAULT_PORT);
}

int echo_server_main(int argc, char **argv)
{
	struct server_config config;
	char error[256];

	server_config_defaults(&config, ECHO_DEFAULT_PORT);
	switch (server_config_parse(&config, argc, argv, error, sizeof error)) {
	case CONFIG_HELP:
		usage(stdout);
		return EX_OK;

	case CONFIG_ERROR:
		return cli_usage_error("echo-server", error);
	case CONFIG_OK:
		break;
	}
	if (config.list_models) {
		for (size_t i = 0; i < server_model_count; i++)
			printf("%-10s %s\n", server_models[i]->name, server_models[i]->summary);
		return EX_OK;
	}
	struct failure failure;
	if (server_run(&config, &echo_service, &failure) != 0)
		return cli_failure(&failure);
	return EX_OK;
}
