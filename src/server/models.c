/*
 * models: the table of server models. See models.h.
 */
#include "models.h"

#include <string.h>

/* The first row is the default. */
const struct server_model *const server_models[] = {
	&model_fork,
	&model_iterative,
	&model_prefork,
	&model_thread,
	&model_hybrid,
};

const size_t server_model_count = sizeof server_models / sizeof server_models[0];

const struct server_model *server_model_find(const char *name)
{
	for (size_t i = 0; i < server_model_count; i++)
		if (strcmp(server_models[i]->name, name) == 0)
			return server_models[i];
	return NULL;
}
