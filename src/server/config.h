/*
 * config: everything an operator sets for a TCP server, in one structure that
 * every model honours, and the parsing of the command-line options that fill
 * it. Parsing is pure: it prints nothing and exits nothing, so it can be unit
 * tested; the command reports what it returns.
 */
#ifndef FORKNET_CONFIG_H
#define FORKNET_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/log.h"
#include "../lib/options.h"
#include "models.h"

struct server_config {
	const char *bind;   /* host or address to listen on; NULL: all, IPv6 and IPv4 */
	uint16_t port;      /* 0: the system picks a free one */
	const struct server_model *model;
	unsigned long max_children;  /* hard cap on connections served at once */
	unsigned long grace_seconds; /* on stop, how long children get before SIGKILL */
	bool drain_limited;          /* --drain-timeout given: */
	unsigned long drain_seconds; /* how long a graceful stop waits before the fast stop */
	unsigned long workers;       /* processes to start with (prefork, hybrid); 0: the model's default */
	unsigned long min_spare;     /* prefork: idle workers kept at least... */
	unsigned long max_spare;     /* ... and at most */
	unsigned long max_requests;  /* prefork: a worker's connections before it is replaced; 0: no limit */
	enum log_level log_level;
	bool print_port;             /* once listening, write the port on standard output */
	bool list_models;            /* -m help: print the models instead of serving */
};

#define SERVER_DEFAULT_MAX_CHILDREN 256
#define SERVER_MAX_CHILDREN_LIMIT 65536
#define SERVER_DEFAULT_GRACE 5
#define SERVER_GRACE_LIMIT 3600
#define SERVER_DRAIN_LIMIT 2592000 /* 30 days */
/* Apache prefork's defaults: StartServers 5, MinSpareServers 5, MaxSpareServers 10. */
#define SERVER_DEFAULT_WORKERS 5
#define SERVER_DEFAULT_MIN_SPARE 5
#define SERVER_DEFAULT_MAX_SPARE 10

/* Fills CONFIG with the defaults (DEFAULT_PORT for the port). */
void server_config_defaults(struct server_config *config, uint16_t default_port);

/*
 * Parses the options in ARGV[1..ARGC-1] (ARGV[0] is the command name) into
 * CONFIG. On CONFIG_ERROR, ERROR (SIZE bytes) holds what was wrong, e.g.
 * "--port '70000': out of range 0-65535". Options that contradict each other
 * or that the chosen model would ignore (-q with -v; -c or --grace with the
 * iterative model) are errors too. ARGV may be reordered.
 */
enum config_result server_config_parse(struct server_config *config, int argc, char **argv,
				       char *error, size_t size);

/* The option summary for --help, one option a line. */
extern const char server_config_options_help[];

#endif
