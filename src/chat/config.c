/*
 * config: the chat server's options. See config.h.
 */
#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../lib/options.h"

enum {
	OPTION_MAX_CLIENTS = 256,
	OPTION_IDLE_TIMEOUT,
	OPTION_MAX_MESSAGE,
	OPTION_RATE,
	OPTION_OPEN,
	OPTION_PRINT_PORT,
};

static const struct option long_options[] = {
	{"bind", required_argument, NULL, 'b'},
	{"port", required_argument, NULL, 'p'},
	{"max-clients", required_argument, NULL, OPTION_MAX_CLIENTS},
	{"idle-timeout", required_argument, NULL, OPTION_IDLE_TIMEOUT},
	{"max-message", required_argument, NULL, OPTION_MAX_MESSAGE},
	{"rate", required_argument, NULL, OPTION_RATE},
	{"open", no_argument, NULL, OPTION_OPEN},
	{"print-port", no_argument, NULL, OPTION_PRINT_PORT},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

const char chat_config_options_help[] =
	"  -b, --bind ADDR          listen on ADDR (IPv4, IPv6 or host name);\n"
	"                           default: all addresses, IPv6 and IPv4\n"
	"  -p, --port PORT          listen on PORT, a number or a name from\n"
	"                           /etc/services (default 9001; 0: any free port)\n"
	"      --max-clients N      at most N members (default 64)\n"
	"      --idle-timeout SECS  forget members silent this long (default 300)\n"
	"      --max-message BYTES  refuse longer messages (default 4096)\n"
	"      --rate N             messages a second per member, bursts of twice\n"
	"                           that (default 20; 0: no limit)\n"
	"      --open               no address check: any datagram joins\n"
	"                           (the course's behaviour; open to spoofing)\n"
	"      --print-port         once listening, write the port on standard output\n"
	"  -q, --quiet              log only start, stop and problems\n"
	"  -v, --verbose            log details too\n"
	"  -h, --help               show this help\n";

void chat_config_defaults(struct chat_config *config)
{
	memset(config, 0, sizeof *config);
	config->port = CHAT_DEFAULT_PORT;
	config->max_clients = CHAT_DEFAULT_MAX_CLIENTS;
	config->idle_timeout = CHAT_DEFAULT_IDLE_TIMEOUT;
	config->max_message = CHAT_DEFAULT_MAX_MESSAGE;
	config->rate = CHAT_DEFAULT_RATE;
	config->log_level = LOG_LEVEL_INFO;
}

enum config_result chat_config_parse(struct chat_config *config, int argc, char **argv,
				     char *error, size_t size)
{
	bool quiet = false, verbose = false;

	optind = 0; /* glibc: start afresh */
	opterr = 0;
	for (int value; (value = getopt_long(argc, argv, ":b:p:qvh", long_options, NULL)) != -1;) {
		const char *name = options_name(long_options, value); /* for messages */
		switch (value) {
		case 'b':
			if (options_host(name, optarg, error, size) != 0)
				return CONFIG_ERROR;
			config->bind = optarg;
			break;
		case 'p':
			if (options_port(name, optarg, "udp", &config->port, error, size) != 0)
				return CONFIG_ERROR;
			break;
		case OPTION_MAX_CLIENTS:
			if (options_number(name, optarg, 1, CHAT_MAX_CLIENTS_LIMIT,
					   &config->max_clients, error, size) != 0)
				return CONFIG_ERROR;
			break;
		case OPTION_IDLE_TIMEOUT:
			if (options_number(name, optarg, 1, CHAT_IDLE_TIMEOUT_LIMIT,
					   &config->idle_timeout, error, size) != 0)
				return CONFIG_ERROR;
			break;
		case OPTION_MAX_MESSAGE:
			if (options_number(name, optarg, 1, CHAT_MAX_MESSAGE_LIMIT,
					   &config->max_message, error, size) != 0)
				return CONFIG_ERROR;
			break;
		case OPTION_RATE:
			if (options_number(name, optarg, 0, CHAT_RATE_LIMIT, &config->rate, error,
					   size) != 0)
				return CONFIG_ERROR;
			break;
		case OPTION_OPEN:
			config->open = true;
			break;
		case OPTION_PRINT_PORT:
			config->print_port = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			return CONFIG_HELP;
		default:
			options_problem(value, argv, long_options, error, size);
			return CONFIG_ERROR;
		}
	}
	if (optind < argc) {
		snprintf(error, size, "'%s': unexpected argument", argv[optind]);
		return CONFIG_ERROR;
	}
	if (options_log_level(quiet, verbose, &config->log_level, error, size) != 0)
		return CONFIG_ERROR;
	return CONFIG_OK;
}
