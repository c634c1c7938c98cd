/*
 * Integration tests of the forknet command line: help and version go to
 * standard output with status 0; every kind of bad input gives exactly one
 * line on standard error naming the problem, and status 64 (EX_USAGE).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#define T HARNESS_TIMEOUT_MS

/* Runs forknet ARGS to the end; returns its standard output and sets *STATUS and *ERRORS. */
static char *run(const char *const *args, int *status, char **errors)
{
	static const struct spawn_options options = {.stdout_pipe = true, .nproc_limit = -1};
	struct process *process = harness_spawn(args, &options);
	/* A long bound: resolving a name can wait for an unreachable DNS server. */
	char *output = harness_pipe_through(process, "", 0, false, NULL, 60000);
	assert_non_null(output);
	assert_true(harness_wait_exit(process, T));
	assert_true(WIFEXITED(process->status));
	*status = WEXITSTATUS(process->status);
	*errors = harness_log(process);
	return output;
}

static void expect_help(const char *const *args, const char *expected)
{
	int status;
	char *errors;
	char *output = run(args, &status, &errors);
	assert_int_equal(status, 0);
	assert_string_equal(errors, "");
	assert_non_null(strstr(output, expected));
	free(output);
	free(errors);
}

static void test_help_and_version(void **state)
{
	(void)state;
	expect_help((const char *[]){"--help", NULL}, "Usage: forknet COMMAND");
	expect_help((const char *[]){"help", NULL}, "echo-server");
	expect_help((const char *[]){"--version", NULL}, "forknet 0.1.0\n");
	expect_help((const char *[]){"help", "echo-server", NULL}, "Usage: forknet echo-server");
	expect_help((const char *[]){"echo-server", "--help", NULL}, "--max-children N");
	expect_help((const char *[]){"echo-client", "-h", NULL}, "Usage: forknet echo-client");
}

static void test_no_command_shows_usage_on_stderr(void **state)
{
	(void)state;
	int status;
	char *errors;
	char *output = run((const char *[]){NULL}, &status, &errors);
	assert_int_equal(status, 64);
	assert_string_equal(output, "");
	assert_non_null(strstr(errors, "Usage: forknet COMMAND"));
	free(output);
	free(errors);
}

/* ARGS must fail with status 64 and exactly the one line EXPECTED on standard error. */
static void expect_usage_error(const char *const *args, const char *expected)
{
	int status;
	char *errors;
	char *output = run(args, &status, &errors);
	if (status != 64 || strcmp(errors, expected) != 0)
		fail_msg("for %s %s: status %d, stderr \"%s\", wanted 64 and \"%s\"", args[0],
			 args[1] != NULL ? args[1] : "", status, errors, expected);
	assert_string_equal(output, "");
	free(output);
	free(errors);
}

static void test_server_option_errors(void **state)
{
	(void)state;
	static const char hint[] = " (try 'forknet echo-server --help')\n";
	struct {
		const char *args[6];
		const char *problem;
	} cases[] = {
		{{"echo-server", "--frob", NULL}, "--frob: unknown option"},
		{{"echo-server", "-z", NULL}, "-z: unknown option"},
		{{"echo-server", "-p", "70000"}, "--port '70000': out of range 0-65535"},
		{{"echo-server", "--port=-1", NULL}, "--port '-1': not a port number, nor a tcp service in /etc/services"},
		{{"echo-server", "-p", "no-such-service"}, "--port 'no-such-service': not a port number, nor a tcp service in /etc/services"},
		{{"echo-server", "-c", "many"}, "--max-children 'many': not a number"},
		{{"echo-server", "-c", "0"}, "--max-children '0': out of range 1-65536"},
		{{"echo-server", "--grace", "1.5"}, "--grace '1.5': not a number"},
		{{"echo-server", "-b", "300.1.2.3"}, "--bind '300.1.2.3': an IPv4 address must be a dotted quad of numbers 0-255, such as 127.0.0.1"},
		{{"echo-server", "-b", "no such host"}, "--bind 'no such host': not an IP address or host name (a name is letters, digits, '-' and '.')"},
		{{"echo-server", "-b", "::1::2"}, "--bind '::1::2': not an IPv6 address"},
		{{"echo-server", "-m", "threads"}, "--model 'threads': not a model (fork, iterative, prefork, thread, hybrid)"},
		{{"echo-server", "-p", NULL}, "-p: needs a value"},
		{{"echo-server", "--port", NULL}, "--port: needs a value"},
		{{"echo-server", "stray", NULL}, "'stray': unexpected argument"},
		{{"echo-server", "--quiet=1", NULL}, "--quiet: takes no value"},
		{{"echo-server", "--quiet", "-vz"}, "-z: unknown option"},
		{{"echo-server", "-b", "127.1"}, "--bind '127.1': an IPv4 address must be a dotted quad of numbers 0-255, such as 127.0.0.1"},
		{{"echo-server", "-b", "0x7f000001"}, "--bind '0x7f000001': an IPv4 address must be a dotted quad of numbers 0-255, such as 127.0.0.1"},
		{{"echo-server", "-v", "-q"}, "--quiet and --verbose: choose one"},
		{{"echo-server", "-m", "iterative", "-c"}, "-c: needs a value"},
		{{"echo-server", "-mfork", "--print-port=1"}, "--print-port: takes no value"},
		/* Control bytes in what is quoted are shown escaped: the line stays one line. */
		{{"echo-server", "-b", "a\x1b[2Jb\nc"}, "--bind 'a\\x1b[2Jb\\x0ac': not an IP address or host name (a name is letters, digits, '-' and '.')"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char expected[256];
		snprintf(expected, sizeof expected, "forknet: echo-server %s%s", cases[i].problem, hint);
		expect_usage_error(cases[i].args, expected);
	}
}

static void test_client_and_command_errors(void **state)
{
	(void)state;
	expect_usage_error((const char *[]){"frobnicate", NULL},
			   "forknet: frobnicate: unknown command (try 'forknet --help')\n");
	expect_usage_error((const char *[]){"--frob", NULL},
			   "forknet: --frob: unknown option (try 'forknet --help')\n");
	expect_usage_error((const char *[]){"help", "frobnicate", NULL},
			   "forknet: frobnicate: unknown command (try 'forknet --help')\n");
	expect_usage_error((const char *[]){"echo-client", NULL},
			   "forknet: echo-client HOST PORT: got 0 arguments, needs 2 "
			   "(try 'forknet echo-client --help')\n");
	expect_usage_error((const char *[]){"echo-client", "127.0.0.1", NULL},
			   "forknet: echo-client HOST PORT: got 1 argument, needs 2 "
			   "(try 'forknet echo-client --help')\n");
	expect_usage_error((const char *[]){"echo-client", "127.0.0.1", "no-such-service", NULL},
			   "forknet: echo-client port 'no-such-service': not a port (1-65535), nor a tcp "
			   "service in /etc/services (try 'forknet echo-client --help')\n");
	expect_usage_error((const char *[]){"echo-client", "127.0.0.1", "0", NULL},
			   "forknet: echo-client port '0': not a port (1-65535), nor a tcp "
			   "service in /etc/services (try 'forknet echo-client --help')\n");
	expect_usage_error((const char *[]){"echo-client", "1.2.3", "7", NULL},
			   "forknet: echo-client '1.2.3': an IPv4 address must be a dotted quad of numbers 0-255, such as 127.0.0.1 "
			   "(try 'forknet echo-client --help')\n");
	expect_usage_error((const char *[]){"chat", "127.1", "9001", NULL},
			   "forknet: chat '127.1': an IPv4 address must be a dotted quad of numbers 0-255, such as 127.0.0.1 "
			   "(try 'forknet chat --help')\n");
	expect_usage_error((const char *[]){"help", "echo-server", "extra", NULL},
			   "forknet: help: 'extra': unexpected argument (try 'forknet help echo-server')\n");
	expect_usage_error((const char *[]){"echo-client", "-t", "0", "127.0.0.1", "7", NULL},
			   "forknet: echo-client --connect-timeout '0': out of range 1-3600 "
			   "(try 'forknet echo-client --help')\n");
}

/* A host name that does not resolve is not a usage error: status 68 (EX_NOHOST), one line. */
static void test_unknown_host(void **state)
{
	(void)state;
	int status;
	char *errors;
	char *output = run((const char *[]){"echo-server", "-b", "no-such-host.invalid", "-p", "0", NULL},
			   &status, &errors);
	assert_int_equal(status, 68);
	assert_non_null(strstr(errors, "forknet: resolve no-such-host.invalid: "));
	assert_int_equal(harness_count(errors, "\n"), 1);
	free(output);
	free(errors);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_help_and_version, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_no_command_shows_usage_on_stderr, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_server_option_errors, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_client_and_command_errors, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_host, harness_setup, harness_teardown),
	};
	return cmocka_run_group_tests_name("command line", tests, NULL, NULL);
}
