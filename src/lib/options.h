/*
 * options: wording for getopt_long's complaints, so that every command says
 * "--port: needs a value" and "-x: unknown option" the same way.
 */
#ifndef FORKNET_OPTIONS_H
#define FORKNET_OPTIONS_H

#include <stddef.h>

/*
 * After getopt_long (with opterr = 0 and an option string starting with ':')
 * returned RESULT ':' or '?', writes into ERROR what was wrong with ARGV.
 */
void options_problem(int result, char **argv, char *error, size_t size);

#endif
