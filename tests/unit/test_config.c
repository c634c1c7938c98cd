/*
 * test_config: unit tests of the server's command-line options
 * (server_config_parse and server_config_defaults, src/server/config.h).
 *
 * What is checked: the defaults; every option in its long form, its short
 * form and the "--option=value" form; the exact one-line message of each
 * kind of error (bad value, unknown option, missing value, stray argument),
 * whichever spelling the user chose; --help; and that parsing can be
 * repeated, since getopt keeps state between calls.
 *
 * The argument vectors are built in writable memory: getopt_long may
 * reorder them.
 *
 * Run: build/tests/unit/test_config
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "server/config.h"

#define DEFAULT_PORT 7777

/* An argument vector in writable storage: argv[0] is "echo-server". */
struct arguments {
	int argc;
	char *argv[32];
	char storage[2048];
};

/* Fills ARGS with "echo-server" and the NULL-terminated list of words after it. */
static void arguments_set(struct arguments *args, ...)
{
	va_list list;
	size_t used = 0;
	const char *word = "echo-server";

	memset(args, 0, sizeof *args);
	va_start(list, args);
	while (word != NULL) {
		size_t length = strlen(word) + 1;
		assert_true(used + length <= sizeof args->storage);
		assert_true((size_t)args->argc + 1 < sizeof args->argv / sizeof args->argv[0]);
		memcpy(args->storage + used, word, length);
		args->argv[args->argc++] = args->storage + used;
		used += length;
		word = va_arg(list, const char *);
	}
	va_end(list);
	args->argv[args->argc] = NULL;
}

/* Parses ARGS into CONFIG (set to the defaults first); ERROR gets the message. */
static enum config_result parse(struct server_config *config, struct arguments *args,
				char *error, size_t size)
{
	server_config_defaults(config, DEFAULT_PORT);
	memset(error, 0, size);
	return server_config_parse(config, args->argc, args->argv, error, size);
}

/* Words after the command name, then NULL. */
#define ARGS(args, ...) arguments_set((args), __VA_ARGS__, (const char *)NULL)

/* Parses and expects CONFIG_OK, printing the message if not. */
static void parse_ok(struct server_config *config, struct arguments *args)
{
	char error[256];
	enum config_result result = parse(config, args, error, sizeof error);
	if (result != CONFIG_OK)
		print_error("server_config_parse: result %d, \"%s\"\n", (int)result, error);
	assert_int_equal(result, CONFIG_OK);
}

/* Parses and expects CONFIG_ERROR with exactly MESSAGE. */
static void parse_fails(struct arguments *args, const char *message)
{
	struct server_config config;
	char error[256];
	enum config_result result = parse(&config, args, error, sizeof error);
	assert_int_equal(result, CONFIG_ERROR);
	assert_string_equal(error, message);
}

/* ---- defaults ---- */

static void test_defaults(void **state)
{
	struct server_config config;
	(void)state;

	memset(&config, 0xa5, sizeof config);
	server_config_defaults(&config, DEFAULT_PORT);
	assert_null(config.bind);
	assert_int_equal(config.port, DEFAULT_PORT);
	assert_string_equal(config.model->name, "fork");
	assert_int_equal(config.max_children, 256);
	assert_int_equal(config.max_children, SERVER_DEFAULT_MAX_CHILDREN);
	assert_int_equal(config.grace_seconds, 5);
	assert_int_equal(config.grace_seconds, SERVER_DEFAULT_GRACE);
	assert_int_equal(config.log_level, LOG_LEVEL_INFO);

	server_config_defaults(&config, 0);
	assert_int_equal(config.port, 0);
}

/* No options: the defaults stand. */
static void test_no_options(void **state)
{
	struct server_config config;
	struct arguments args;
	char error[64];
	(void)state;

	arguments_set(&args, (const char *)NULL);
	assert_int_equal(args.argc, 1);
	assert_int_equal(parse(&config, &args, error, sizeof error), CONFIG_OK);
	assert_null(config.bind);
	assert_int_equal(config.port, DEFAULT_PORT);
	assert_string_equal(config.model->name, "fork");
	assert_int_equal(config.max_children, 256);
	assert_int_equal(config.grace_seconds, 5);
	assert_int_equal(config.log_level, LOG_LEVEL_INFO);
}

/* ---- each option, each spelling ---- */

static void test_bind(void **state)
{
	struct server_config config;
	struct arguments args;
	(void)state;

	ARGS(&args, "--bind", "127.0.0.1");
	parse_ok(&config, &args);
	assert_string_equal(config.bind, "127.0.0.1");

	ARGS(&args, "-b", "::1");
	parse_ok(&config, &args);
	assert_string_equal(config.bind, "::1");

	ARGS(&args, "--bind=[::1]");
	parse_ok(&config, &args);
	assert_string_equal(config.bind, "[::1]");

	ARGS(&args, "-blocalhost");
	parse_ok(&config, &args);
	assert_string_equal(config.bind, "localhost");

	ARGS(&args, "--bind", "fe80::1%lo");
	parse_ok(&config, &args);
	assert_string_equal(config.bind, "fe80::1%lo");

	/* Nothing else changes. */
	assert_int_equal(config.port, DEFAULT_PORT);
	assert_string_equal(config.model->name, "fork");
}

static void test_port(void **state)
{
	struct server_config config;
	struct arguments args;
	(void)state;

	ARGS(&args, "--port", "9000");
	parse_ok(&config, &args);
	assert_int_equal(config.port, 9000);

	ARGS(&args, "-p", "65535");
	parse_ok(&config, &args);
	assert_int_equal(config.port, 65535);

	ARGS(&args, "--port=0");
	parse_ok(&config, &args);
	assert_int_equal(config.port, 0);

	ARGS(&args, "-p0");
	parse_ok(&config, &args);
	assert_int_equal(config.port, 0);

	ARGS(&args, "-p", "1");
	parse_ok(&config, &args);
	assert_int_equal(config.port, 1);
	assert_null(config.bind);
}

static void test_model(void **state)
{
	struct server_config config;
	struct arguments args;
	(void)state;

	ARGS(&args, "--model", "iterative");
	parse_ok(&config, &args);
	assert_string_equal(config.model->name, "iterative");

	ARGS(&args, "-m", "iterative");
	parse_ok(&config, &args);
	assert_string_equal(config.model->name, "iterative");

	ARGS(&args, "--model=fork");
	parse_ok(&config, &args);
	assert_string_equal(config.model->name, "fork");

	/* The last one given wins. */
	ARGS(&args, "-m", "iterative", "-m", "fork");
	parse_ok(&config, &args);
	assert_string_equal(config.model->name, "fork");
	ARGS(&args, "-mfork", "--model", "iterative");
	parse_ok(&config, &args);
	assert_string_equal(config.model->name, "iterative");
}

static void test_max_children(void **state)
{
	struct server_config config;
	struct arguments args;
	(void)state;

	ARGS(&args, "--max-children", "10");
	parse_ok(&config, &args);
	assert_int_equal(config.max_children, 10);

	ARGS(&args, "-c", "1");
	parse_ok(&config, &args);
	assert_int_equal(config.max_children, 1);

	ARGS(&args, "--max-children=65536");
	parse_ok(&config, &args);
	assert_int_equal(config.max_children, SERVER_MAX_CHILDREN_LIMIT);

	ARGS(&args, "-c3");
	parse_ok(&config, &args);
	assert_int_equal(config.max_children, 3);
}

static void test_grace(void **state)
{
	struct server_config config;
	struct arguments args;
	(void)state;

	ARGS(&args, "--grace", "0");
	parse_ok(&config, &args);
	assert_int_equal(config.grace_seconds, 0);

	ARGS(&args, "--grace=3600");
	parse_ok(&config, &args);
	assert_int_equal(config.grace_seconds, SERVER_GRACE_LIMIT);

	ARGS(&args, "--grace", "12");
	parse_ok(&config, &args);
	assert_int_equal(config.grace_seconds, 12);
}

static void test_log_levels(void **state)
{
	struct server_config config;
	struct arguments args;
	(void)state;

	ARGS(&args, "--quiet");
	parse_ok(&config, &args);
	assert_int_equal(config.log_level, LOG_LEVEL_NOTICE);

	ARGS(&args, "-q");
	parse_ok(&config, &args);
	assert_int_equal(config.log_level, LOG_LEVEL_NOTICE);

	ARGS(&args, "--verbose");
	parse_ok(&config, &args);
	assert_int_equal(config.log_level, LOG_LEVEL_DEBUG);

	ARGS(&args, "-v");
	parse_ok(&config, &args);
	assert_int_equal(config.log_level, LOG_LEVEL_DEBUG);

	/* Twice is once; both contradict each other, in any order or spelling. */
	ARGS(&args, "-q", "--quiet");
	parse_ok(&config, &args);
	assert_int_equal(config.log_level, LOG_LEVEL_NOTICE);
	ARGS(&args, "-q", "-v");
	parse_fails(&args, "--quiet and --verbose: choose one");
	ARGS(&args, "-vq");
	parse_fails(&args, "--quiet and --verbose: choose one");
	ARGS(&args, "--verbose", "-p", "0", "--quiet");
	parse_fails(&args, "--quiet and --verbose: choose one");
}

/* Options the iterative model would ignore are refused with it, in either order. */
static void test_options_the_model_ignores(void **state)
{
	struct server_config config;
	struct arguments args;
	(void)state;

	ARGS(&args, "-m", "iterative", "-c", "5");
	parse_fails(&args, "--max-children: the iterative model serves one connection at a time (it is for the other models)");
	ARGS(&args, "--max-children=5", "--model=iterative");
	parse_fails(&args, "--max-children: the iterative model serves one connection at a time (it is for the other models)");
	ARGS(&args, "--grace", "1", "-m", "iterative");
	parse_fails(&args, "--grace: the iterative model serves one connection at a time (it is for the other models)");
	/* With the fork model, stated or not, they stand. */
	ARGS(&args, "-m", "fork", "-c", "5", "--grace", "0");
	parse_ok(&config, &args);
	assert_int_equal(config.max_children, 5);
	assert_int_equal(config.grace_seconds, 0);
	ARGS(&args, "-m", "iterative");
	parse_ok(&config, &args);
	assert_string_equal(config.model->name, "iterative");
}

/* --print-port: off by default, on when asked. */
static void test_print_port(void **state)
{
	struct server_config config;
	struct arguments args;
	(void)state;

	ARGS(&args, "-p", "0");
	parse_ok(&config, &args);
	assert_false(config.print_port);
	ARGS(&args, "--print-port", "-p", "0");
	parse_ok(&config, &args);
	assert_true(config.print_port);
	ARGS(&args, "--print-port=yes");
	parse_fails(&args, "--print-port: takes no value");
}

/* All of them together, short options bundled, options after other options' values. */
static void test_everything_at_once(void **state)
{
	struct server_config config;
	struct arguments args;
	(void)state;

	ARGS(&args, "-vb", "127.0.0.1", "--port=0", "-m", "fork", "-c", "9", "--grace",
	     "1");
	parse_ok(&config, &args);
	assert_string_equal(config.bind, "127.0.0.1");
	assert_int_equal(config.port, 0);
	assert_string_equal(config.model->name, "fork");
	assert_int_equal(config.max_children, 9);
	assert_int_equal(config.grace_seconds, 1);
	assert_int_equal(config.log_level, LOG_LEVEL_DEBUG);
}

static void test_help(void **state)
{
	struct server_config config;
	struct arguments args;
	char error[64];
	(void)state;

	ARGS(&args, "--help");
	assert_int_equal(parse(&config, &args, error, sizeof error), CONFIG_HELP);
	ARGS(&args, "-h");
	assert_int_equal(parse(&config, &args, error, sizeof error), CONFIG_HELP);
	ARGS(&args, "-p", "80", "-h");
	assert_int_equal(parse(&config, &args, error, sizeof error), CONFIG_HELP);
	ARGS(&args, "-vh");
	assert_int_equal(parse(&config, &args, error, sizeof error), CONFIG_HELP);
}

/* The help text names every long option. */
static void test_help_text(void **state)
{
	static const char *const options[] = {"--bind",         "--port",  "--model",
					       "--max-children", "--grace", "--quiet",
					       "--verbose",      "--help"};
	(void)state;

	for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
		assert_non_null(strstr(server_config_options_help, options[i]));
	size_t length = strlen(server_config_options_help);
	assert_true(length > 0);
	assert_int_equal(server_config_options_help[length - 1], '\n');
}

/* ---- errors: bad values ---- */

static void test_port_errors(void **state)
{
	struct arguments args;
	(void)state;

	ARGS(&args, "--port", "70000");
	parse_fails(&args, "--port '70000': out of range 0-65535");
	ARGS(&args, "-p", "70000");
	parse_fails(&args, "--port '70000': out of range 0-65535");
	ARGS(&args, "--port=65536");
	parse_fails(&args, "--port '65536': out of range 0-65535");
	ARGS(&args, "--port", "no-such-service");
	parse_fails(&args, "--port 'no-such-service': not a port number, nor a tcp service in /etc/services");
	ARGS(&args, "-p", "-1");
	parse_fails(&args, "--port '-1': not a port number, nor a tcp service in /etc/services");
	ARGS(&args, "--port=");
	parse_fails(&args, "--port '': not a port number, nor a tcp service in /etc/services");
	ARGS(&args, "-p", " 80");
	parse_fails(&args, "--port ' 80': not a port number, nor a tcp service in /etc/services");
	ARGS(&args, "-p", "80x");
	parse_fails(&args, "--port '80x': not a port number, nor a tcp service in /etc/services");
}

/* A service name from /etc/services stands for its port, as every peer takes it. */
static void test_port_service_names(void **state)
{
	struct server_config config;
	struct arguments args;
	(void)state;

	ARGS(&args, "-p", "echo");
	parse_ok(&config, &args);
	assert_int_equal(config.port, 7);
	ARGS(&args, "--port=http");
	parse_ok(&config, &args);
	assert_int_equal(config.port, 80);
	ARGS(&args, "--port", "ssh");
	parse_ok(&config, &args);
	assert_int_equal(config.port, 22);
	/* A UDP-only service is no TCP port. */
	ARGS(&args, "-p", "bootps");
	parse_fails(&args, "--port 'bootps': not a port number, nor a tcp service in /etc/services");
}

static void test_max_children_errors(void **state)
{
	struct arguments args;
	(void)state;

	ARGS(&args, "--max-children", "x");
	parse_fails(&args, "--max-children 'x': not a number");
	ARGS(&args, "-c", "x");
	parse_fails(&args, "--max-children 'x': not a number");
	ARGS(&args, "-c", "0");
	parse_fails(&args, "--max-children '0': out of range 1-65536");
	ARGS(&args, "--max-children=65537");
	parse_fails(&args, "--max-children '65537': out of range 1-65536");
	ARGS(&args, "-c", "+5");
	parse_fails(&args, "--max-children '+5': not a number");
}

static void test_grace_errors(void **state)
{
	struct arguments args;
	(void)state;

	ARGS(&args, "--grace", "3601");
	parse_fails(&args, "--grace '3601': out of range 0-3600");
	ARGS(&args, "--grace=-1");
	parse_fails(&args, "--grace '-1': not a number");
	ARGS(&args, "--grace", "1.5");
	parse_fails(&args, "--grace '1.5': not a number");
}

static void test_bind_errors(void **state)
{
	struct arguments args;
	(void)state;

	static const char dotted_quad[] =
		"an IPv4 address must be a dotted quad of numbers 0-255, such as 127.0.0.1";
	char expected[256];
	static const char *const ipv4_spellings[] = {"300.1.2.3", "127.1", "0x7f000001", "127.0.0.01",
						     "2130706433", "1.2.3.4.5"};
	for (size_t i = 0; i < sizeof ipv4_spellings / sizeof ipv4_spellings[0]; i++) {
		ARGS(&args, "--bind", ipv4_spellings[i]);
		snprintf(expected, sizeof expected, "--bind '%s': %s", ipv4_spellings[i], dotted_quad);
		parse_fails(&args, expected);
	}
	ARGS(&args, "-b", "a b");
	parse_fails(&args, "--bind 'a b': not an IP address or host name (a name is letters, digits, '-' and '.')");
	ARGS(&args, "--bind=");
	parse_fails(&args, "--bind '': empty: an IP address or host name is needed");
	ARGS(&args, "-b", "[::1");
	parse_fails(&args, "--bind '[::1': not an IPv6 address");
}

static void test_model_errors(void **state)
{
	struct arguments args;
	(void)state;

	ARGS(&args, "--model", "nosuch");
	parse_fails(&args, "--model 'nosuch': not a model (fork, iterative, prefork, thread, hybrid)");
	ARGS(&args, "-m", "Fork");
	parse_fails(&args, "--model 'Fork': not a model (fork, iterative, prefork, thread, hybrid)");
	ARGS(&args, "--model=");
	parse_fails(&args, "--model '': not a model (fork, iterative, prefork, thread, hybrid)");
}

/* ---- errors: the options themselves ---- */

static void test_unknown_options(void **state)
{
	struct arguments args;
	(void)state;

	ARGS(&args, "--frob");
	parse_fails(&args, "--frob: unknown option");
	ARGS(&args, "--frob=3");
	parse_fails(&args, "--frob: unknown option");
	ARGS(&args, "-x");
	parse_fails(&args, "-x: unknown option");
	ARGS(&args, "-p", "80", "-x");
	parse_fails(&args, "-x: unknown option");
	/* In a bundle, first or last. */
	ARGS(&args, "-vx");
	parse_fails(&args, "-x: unknown option");
	ARGS(&args, "-xv");
	parse_fails(&args, "-x: unknown option");
}

static void test_missing_values(void **state)
{
	struct arguments args;
	(void)state;

	ARGS(&args, "-c");
	parse_fails(&args, "-c: needs a value");
	ARGS(&args, "--max-children");
	parse_fails(&args, "--max-children: needs a value");
	ARGS(&args, "-p");
	parse_fails(&args, "-p: needs a value");
	ARGS(&args, "--port");
	parse_fails(&args, "--port: needs a value");
	ARGS(&args, "--grace");
	parse_fails(&args, "--grace: needs a value");
	ARGS(&args, "-v", "--bind");
	parse_fails(&args, "--bind: needs a value");
	ARGS(&args, "-vm");
	parse_fails(&args, "-m: needs a value");
}

/*
 * An option that takes no value, given one: the message names the option as
 * the user wrote it, like every other message about a long option, not as a
 * short option the user never typed.
 */
static void test_value_for_flag(void **state)
{
	struct server_config config;
	struct arguments args;
	char error[256];
	(void)state;

	static const char *const words[] = {"--quiet=1", "--verbose=yes", "--help=me"};
	static const char *const names[] = {"--quiet", "--verbose", "--help"};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		ARGS(&args, words[i]);
		assert_int_equal(parse(&config, &args, error, sizeof error), CONFIG_ERROR);
		if (strncmp(error, names[i], strlen(names[i])) != 0 ||
		    error[strlen(names[i])] != ':')
			print_error("%s gave \"%s\"\n", words[i], error);
		assert_int_equal(strncmp(error, names[i], strlen(names[i])), 0);
		assert_int_equal(error[strlen(names[i])], ':');
	}
}

static void test_unexpected_arguments(void **state)
{
	struct arguments args;
	(void)state;

	ARGS(&args, "extra");
	parse_fails(&args, "'extra': unexpected argument");
	/* getopt moves operands last: the stray word is found wherever it was. */
	ARGS(&args, "-p", "80", "extra", "-v");
	parse_fails(&args, "'extra': unexpected argument");
	ARGS(&args, "extra", "--port=80");
	parse_fails(&args, "'extra': unexpected argument");
	/* After "--" everything is an operand, even what looks like an option. */
	ARGS(&args, "--", "-p");
	parse_fails(&args, "'-p': unexpected argument");
	ARGS(&args, "-");
	parse_fails(&args, "'-': unexpected argument");
}

/* A short buffer gets a truncated, terminated message. */
static void test_error_truncated(void **state)
{
	struct server_config config;
	struct arguments args;
	char error[12];
	(void)state;

	ARGS(&args, "--port", "70000");
	memset(error, 'x', sizeof error);
	server_config_defaults(&config, DEFAULT_PORT);
	assert_int_equal(server_config_parse(&config, args.argc, args.argv, error, sizeof error),
			 CONFIG_ERROR);
	assert_string_equal(error, "--port '700");
}

/* ---- repeated parsing ---- */

/*
 * getopt keeps its position (optind, and inside a bundle of short options a
 * pointer into it) between calls: each parse must start afresh, even after
 * one that stopped early in the middle of a bundle.
 */
static void test_parse_twice(void **state)
{
	struct server_config config;
	struct arguments args;
	(void)state;

	ARGS(&args, "-p", "1", "-c", "2");
	parse_ok(&config, &args);
	ARGS(&args, "-p", "3", "-c", "4");
	parse_ok(&config, &args);
	assert_int_equal(config.port, 3);
	assert_int_equal(config.max_children, 4);

	/* Stopped by an error inside the bundle "-xq" ... */
	ARGS(&args, "-v", "-xq", "-p", "5");
	parse_fails(&args, "-x: unknown option");
	/* ... the next parse still sees all of its own arguments. */
	ARGS(&args, "-m", "iterative");
	parse_ok(&config, &args);
	assert_string_equal(config.model->name, "iterative");
	assert_int_equal(config.log_level, LOG_LEVEL_INFO);

	/* Stopped by --help with arguments left over. */
	ARGS(&args, "-h", "-p", "9");
	struct server_config other;
	char error[64];
	assert_int_equal(parse(&other, &args, error, sizeof error), CONFIG_HELP);
	ARGS(&args, "--grace", "7");
	parse_ok(&config, &args);
	assert_int_equal(config.grace_seconds, 7);
	assert_int_equal(config.port, DEFAULT_PORT);

	/* The same vector parsed twice gives the same result. */
	ARGS(&args, "-q", "extra", "-p", "6");
	parse_fails(&args, "'extra': unexpected argument");
	parse_fails(&args, "'extra': unexpected argument");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_no_options),
		cmocka_unit_test(test_bind),
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_max_children),
		cmocka_unit_test(test_grace),
		cmocka_unit_test(test_log_levels),
		cmocka_unit_test(test_options_the_model_ignores),
		cmocka_unit_test(test_print_port),
		cmocka_unit_test(test_port_service_names),
		cmocka_unit_test(test_everything_at_once),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_help_text),
		cmocka_unit_test(test_port_errors),
		cmocka_unit_test(test_max_children_errors),
		cmocka_unit_test(test_grace_errors),
		cmocka_unit_test(test_bind_errors),
		cmocka_unit_test(test_model_errors),
		cmocka_unit_test(test_unknown_options),
		cmocka_unit_test(test_missing_values),
		cmocka_unit_test(test_value_for_flag),
		cmocka_unit_test(test_unexpected_arguments),
		cmocka_unit_test(test_error_truncated),
		cmocka_unit_test(test_parse_twice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
