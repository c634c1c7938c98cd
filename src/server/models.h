/*
 * models: the table of server models. A model decides how connections are
 * accepted and which process or thread serves them. Each is one file
 * (model_fork.c, ...) that defines its struct server_model, and one row in
 * models.c; nothing else in the server core knows a model by name.
 * `forknet echo-server -m help` prints the table.
 */
#ifndef FORKNET_MODELS_H
#define FORKNET_MODELS_H

#include <stddef.h>

struct server;

/* What a model does, for the options and the server core to follow. */
enum model_flags {
	MODEL_CONCURRENT = 1 << 0, /* serves many connections at once: -c and --grace apply */
	MODEL_CHILDREN = 1 << 1,   /* serves in child processes: SIGCHLD is caught */
	MODEL_WORKERS = 1 << 2,    /* a master and worker processes: --workers applies */
	MODEL_POOL = 1 << 3,       /* a self-sizing pool: --min-spare, --max-spare, --max-requests */
	MODEL_EVENT_LOOP = 1 << 4, /* needs the service's event-loop form (service.h) */
};

struct server_model {
	const char *name;
	const char *summary;		   /* a few words, for -m help */
	/*
	 * Sets the model up, calls server_ready, serves until stopped; returns 0,
	 * or -1 when it could not go on (logged, or server_ready's failure).
	 */
	int (*run)(struct server *server);
	unsigned flags;			   /* enum model_flags */
};

extern const struct server_model model_fork;
extern const struct server_model model_iterative;
extern const struct server_model model_prefork;
extern const struct server_model model_thread;
extern const struct server_model model_hybrid;

extern const struct server_model *const server_models[];
extern const size_t server_model_count;
/* The first model of the table, for when -m is not given. */
#define SERVER_DEFAULT_MODEL (server_models[0])

/* The model called NAME, or NULL. */
const struct server_model *server_model_find(const char *name);

#endif
