/*
 * config: the server configuration and its command-line options. See config.h.
 */
#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/options.h"

enum {
	OPTION_GRACE = 256,
	OPTION_DRAIN_TIMEOUT,
	OPTION_WORKERS,
	OPTION_MIN_SPARE,
	OPTION_MAX_SPARE,
	OPTION_MAX_REQUESTS,
	OPTION_PRINT_PORT,
};

static const struct option long_options[] = {
	{"bind", required_argument, NULL, 'b'},
	{"port", required_argument, NULL, 'p'},
	{"model", required_argument, NULL, 'm'},
	{"max-children", required_argument, NULL, 'c'},
	{"grace", required_argument, NULL, OPTION_GRACE},
	{"drain-timeout", required_argument, NULL, OPTION_DRAIN_TIMEOUT},
	{"workers", required_argument, NULL, OPTION_WORKERS},
	{"min-spare", required_argument, NULL, OPTION_MIN_SPARE},
	{"max-spare", required_argument, NULL, OPTION_MAX_SPARE},
	{"max-requests", required_argument, NULL, OPTION_MAX_REQUESTS},
	{"print-port", no_argument, NULL, OPTION_PRINT_PORT},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

const char server_config_options_help[] =
	"  -b, --bind ADDR          listen on ADDR (IPv4, IPv6 or host name);\n"
	"                           default: all addresses, IPv6 and IPv4\n"
	"  -p, --port PORT          listen on PORT, a number or a name from\n"
	"                           /etc/services (0: any free port)\n"
	"  -m, --model MODEL        how connections are served (default fork);\n"
	"                           -m help lists the models\n"
	"  -c, --max-children N     serve at most N connections at once (default 256)\n"
	"      --grace SECS         on a fast stop, give connections SECS to end\n"
	"                           before they are killed (default 5)\n"
	"      --drain-timeout SECS on a graceful stop (SIGQUIT), wait at most SECS\n"
	"                           for open connections, then stop fast\n"
	"                           (default: wait as long as they last)\n"
	"      --workers N          prefork: start N workers (default 5);\n"
	"                           hybrid: run N workers (default: one per CPU)\n"
	"      --min-spare N        prefork: keep at least N idle workers (default 5)\n"
	"      --max-spare N        prefork: keep at most N idle workers (default 10)\n"
	"      --max-requests N     prefork: replace a worker after N connections\n"
	"                           (default 0: never)\n"
	"      --print-port         once listening, write the port on standard output\n"
	"  -q, --quiet              log only start, stop and problems\n"
	"  -v, --verbose            log details too\n"
	"  -h, --help               show this help\n";

/* "--model 'NAME': not a model (fork, iterative)", the list from the model table. */
static void model_not_found(const char *name, char *error, size_t size)
{
	char names[256] = "";
	size_t used = 0;
	for (size_t i = 0; i < server_model_count && used < sizeof names; i++) {
		int count = snprintf(names + used, sizeof names - used, "%s%s", i > 0 ? ", " : "",
				     server_models[i]->name);
		if (count < 0)
			break;
		used += (size_t)count; /* may pass the end: the loop then stops, the text cut short */
	}
	snprintf(error, size, "--model '%s': not a model (%s)", name, names);
}

void server_config_defaults(struct server_config *config, uint16_t default_port)
{
	memset(config, 0, sizeof *config);
	config->bind = NULL;
	config->port = default_port;
	config->model = SERVER_DEFAULT_MODEL;
	config->max_children = SERVER_DEFAULT_MAX_CHILDREN;
	config->grace_seconds = SERVER_DEFAULT_GRACE;
	config->min_spare = SERVER_DEFAULT_MIN_SPARE;
	config->max_spare = SERVER_DEFAULT_MAX_SPARE;
	config->log_level = LOG_LEVEL_INFO;
}

/*
 * The pool's sizes against each other and -c: what was given must agree,
 * and the defaults yield to what was given (a -c 2 pool keeps at most 2).
 */
static enum config_result pool_limits(struct server_config *config, bool min_given,
				      bool max_given, char *error, size_t size)
{
	unsigned long cap = config->max_children;

	if ((config->model->flags & MODEL_WORKERS) && !(config->model->flags & MODEL_POOL)) {
		/* A fixed set of workers (hybrid): one per CPU unless told, each a share of -c. */
		if (config->workers > cap) {
			snprintf(error, size, "--workers: more than the %lu connections of -c", cap);
			return CONFIG_ERROR;
		}
		if (config->workers == 0) {
			long cpus = sysconf(_SC_NPROCESSORS_ONLN);
			config->workers = cpus > 0 ? (unsigned long)cpus : 1;
			if (config->workers > cap)
				config->workers = cap;
		}
		return CONFIG_OK;
	}
	if (!(config->model->flags & MODEL_POOL))
		return CONFIG_OK;
	if (min_given && max_given && config->min_spare > config->max_spare) {
		snprintf(error, size, "--min-spare %lu is more than --max-spare %lu", config->min_spare,
			 config->max_spare);
		return CONFIG_ERROR;
	}
	if (config->workers > cap || (min_given && config->min_spare > cap)) {
		snprintf(error, size, "%s: more than the %lu workers of -c",
			 config->workers > cap ? "--workers" : "--min-spare", cap);
		return CONFIG_ERROR;
	}
	if (!min_given && config->min_spare > cap)
		config->min_spare = cap;
	if (!min_given && config->min_spare > config->max_spare)
		config->min_spare = config->max_spare;
	if (!max_given && config->max_spare < config->min_spare)
		config->max_spare = config->min_spare;
	if (config->workers == 0)
		config->workers = SERVER_DEFAULT_WORKERS < cap ? SERVER_DEFAULT_WORKERS : cap;
	return CONFIG_OK;
}

enum config_result server_config_parse(struct server_config *config, int argc, char **argv,
				       char *error, size_t size)
{
	unsigned long number;
	bool quiet = false, verbose = false, children_given = false, grace_given = false;
	const char *pool_option = NULL, *workers_option = NULL; /* given, for the checks at the end */
	bool min_given = false, max_given = false;

	/* optind = 0 makes glibc's getopt start afresh, so parsing can be repeated (tests). */
	optind = 0;
	opterr = 0;
	for (;;) {
		int value = getopt_long(argc, argv, ":b:p:m:c:qvh", long_options, NULL);
		if (value == -1)
			break;
		const char *name = options_name(long_options, value); /* for messages */
		switch (value) {
		case 'b':
			if (options_host(name, optarg, error, size) != 0)
				return CONFIG_ERROR;
			config->bind = optarg;
			break;
		case 'p':
			if (options_port(name, optarg, "tcp", &config->port, error, size) != 0)
				return CONFIG_ERROR;
			break;
		case 'm':
			if (strcmp(optarg, "help") == 0) {
				config->list_models = true;
				break;
			}
			config->model = server_model_find(optarg);
			if (config->model == NULL) {
				model_not_found(optarg, error, size);
				return CONFIG_ERROR;
			}
			break;
		case 'c':
			if (options_number(name, optarg, 1, SERVER_MAX_CHILDREN_LIMIT,
					  &config->max_children, error, size) != 0)
				return CONFIG_ERROR;
			children_given = true;
			break;
		case OPTION_GRACE:
			if (options_number(name, optarg, 0, SERVER_GRACE_LIMIT, &number, error,
					   size) != 0)
				return CONFIG_ERROR;
			config->grace_seconds = number;
			grace_given = true;
			break;
		case OPTION_DRAIN_TIMEOUT:
			if (options_number(name, optarg, 0, SERVER_DRAIN_LIMIT, &config->drain_seconds,
					   error, size) != 0)
				return CONFIG_ERROR;
			config->drain_limited = true;
			break;
		case OPTION_WORKERS:
			if (options_number(name, optarg, 1, SERVER_MAX_CHILDREN_LIMIT, &config->workers,
					   error, size) != 0)
				return CONFIG_ERROR;
			workers_option = "--workers";
			break;
		case OPTION_MIN_SPARE:
			if (options_number(name, optarg, 1, SERVER_MAX_CHILDREN_LIMIT,
					   &config->min_spare, error, size) != 0)
				return CONFIG_ERROR;
			pool_option = "--min-spare";
			min_given = true;
			break;
		case OPTION_MAX_SPARE:
			if (options_number(name, optarg, 1, SERVER_MAX_CHILDREN_LIMIT,
					   &config->max_spare, error, size) != 0)
				return CONFIG_ERROR;
			pool_option = "--max-spare";
			max_given = true;
			break;
		case OPTION_MAX_REQUESTS:
			if (options_number(name, optarg, 0, UINT32_MAX, &config->max_requests, error,
					   size) != 0)
				return CONFIG_ERROR;
			pool_option = "--max-requests";
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
	/* A model that serves one connection at a time would ignore a limit, or a grace period. */
	if (!(config->model->flags & MODEL_CONCURRENT) && (children_given || grace_given)) {
		snprintf(error, size,
			 "%s: the %s model serves one connection at a time (it is for the other models)",
			 children_given ? "--max-children" : "--grace", config->model->name);
		return CONFIG_ERROR;
	}
	if (pool_option != NULL && !(config->model->flags & MODEL_POOL)) {
		snprintf(error, size, "%s: the %s model has no pool of workers (it is for prefork)",
			 pool_option, config->model->name);
		return CONFIG_ERROR;
	}
	if (workers_option != NULL && !(config->model->flags & MODEL_WORKERS)) {
		snprintf(error, size, "--workers: the %s model has no workers", config->model->name);
		return CONFIG_ERROR;
	}
	return pool_limits(config, min_given, max_given, error, size);
}
