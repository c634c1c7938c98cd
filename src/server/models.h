/*
 * models: the table of server models. A model decides how connections are
 * accepted and which process serves them; each is one file (model_fork.c,
 * model_iterative.c) and one row here, and nothing else in the server core
 * knows a model by name. `forknet echo-server -m help` prints this table.
 */
#ifndef FORKNET_MODELS_H
#define FORKNET_MODELS_H

#include <stdbool.h>
#include <stddef.h>

struct server;

struct server_model {
	const char *name;
	const char *summary;		   /* a few words, for -m help */
	int (*run)(struct server *server); /* serves until stopped; returns a sysexits status */
	bool has_children;		   /* serves in child processes: -c and --grace apply */
};

extern const struct server_model server_models[];
extern const size_t server_model_count;
/* The first model of the table, for when -m is not given. */
#define SERVER_DEFAULT_MODEL (&server_models[0])

/* The model called NAME, or NULL. */
const struct server_model *server_model_find(const char *name);

#endif
