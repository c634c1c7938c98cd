/*
 * Integration tests of `forknet echo-client`: the real client against the
 * real server on loopback, checked by its standard output, its exit status,
 * its one-line errors, and the processes it leaves (none).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#define T HARNESS_TIMEOUT_MS

static const struct spawn_options piped = {.stdin_pipe = true, .stdout_pipe = true, .nproc_limit = -1};

static struct process *start_server(void)
{
	return harness_start_server((const char *[]){"-b", "127.0.0.1", "-p", "0", NULL});
}

static struct process *start_client(const char *host, uint16_t port)
{
	char text[16];
	snprintf(text, sizeof text, "%u", port);
	return harness_spawn((const char *[]){"echo-client", host, text, NULL}, &piped);
}

/* Waits for CLIENT to exit with STATUS and checks that it left no process behind. */
static void expect_exit(struct process *client, int status)
{
	if (!harness_wait_exit(client, T)) {
		harness_dump_log(client, "client");
		fail_msg("the client did not exit");
	}
	assert_true(WIFEXITED(client->status));
	assert_int_equal(WEXITSTATUS(client->status), status);
	/* Its writer process, had it been left, would have been orphaned to us. */
	assert_int_equal(harness_reap_orphans(), 0);
}

static void expect_log(const struct process *process, const char *expected)
{
	char *log = harness_log(process);
	assert_string_equal(log, expected);
	free(log);
}

/* The client's one line, and nothing else, about SERVER hanging up early. */
static void expect_hang_up_reported(const struct process *client, const struct process *server)
{
	char expected[96];
	snprintf(expected, sizeof expected,
		 "forknet: connection to 127.0.0.1:%u: closed by the server before the end of input\n",
		 server->port);
	expect_log(client, expected);
}

/* The example: two lines in, the same two lines out, status 0, nothing on stderr. */
static void test_pipe_prints_every_echo(void **state)
{
	(void)state;
	struct process *server = start_server();
	struct process *client = start_client("127.0.0.1", server->port);
	size_t length;
	char *output = harness_pipe_through(client, "a\nb\n", 4, false, &length, T);
	assert_non_null(output);
	assert_string_equal(output, "a\nb\n");
	free(output);
	expect_exit(client, 0);
	expect_log(client, "");
	assert_true(harness_wait_log(server, "exited 0, 4 bytes echoed", 1, T));
}

/* A line END ends the session even though input stays open; what follows is not sent. */
static void test_end_line_ends_session(void **state)
{
	(void)state;
	struct process *server = start_server();
	struct process *client = start_client("127.0.0.1", server->port);
	const char input[] = "first\nEND\nnever sent\n";
	char *output = harness_pipe_through(client, input, sizeof input - 1, true, NULL, T);
	assert_non_null(output);
	assert_string_equal(output, "first\n");
	free(output);
	expect_exit(client, 0);
	assert_true(harness_wait_log(server, "exited 0, 6 bytes echoed", 1, T));
}

/* 1 MiB of binary data with NUL bytes, and no final newline, passes through unchanged. */
static void test_binary_input_round_trip(void **state)
{
	(void)state;
	enum { SIZE = 1 << 20 };
	struct process *server = start_server();
	struct process *client = start_client("127.0.0.1", server->port);
	char *input = malloc(SIZE);
	assert_non_null(input);
	harness_random_bytes(input, SIZE, 7);
	size_t length;
	char *output = harness_pipe_through(client, input, SIZE, false, &length, 60000);
	assert_non_null(output);
	assert_int_equal(length, SIZE);
	assert_memory_equal(output, input, SIZE);
	free(output);
	free(input);
	expect_exit(client, 0);
}

/* Input and output run in two processes: while input is still open, the echo arrives. */
static void test_input_and_output_run_in_two_processes(void **state)
{
	(void)state;
	struct process *server = start_server();
	struct process *client = start_client("127.0.0.1", server->port);
	assert_true(harness_wait_log(server, "connected, child", 1, T));
	assert_true(harness_wait_children(client->pid, 1, T)); /* the writer */
	assert_int_equal(write(client->stdin_fd, "ping\n", 5), 5);
	char back[5];
	assert_true(harness_receive(client->stdout_fd, back, 5, T));
	assert_memory_equal(back, "ping\n", 5);
	close(client->stdin_fd);
	client->stdin_fd = -1;
	expect_exit(client, 0);
}

/* A refused connection: one error line, status 69, no process left. */
static void test_refused_connection(void **state)
{
	(void)state;
	uint16_t port = harness_unused_port();
	struct process *client = start_client("127.0.0.1", port);
	char *output = harness_pipe_through(client, "x\n", 2, false, NULL, T);
	assert_non_null(output);
	assert_string_equal(output, "");
	free(output);
	expect_exit(client, 69);
	char expected[96];
	snprintf(expected, sizeof expected, "forknet: connect 127.0.0.1:%u: Connection refused\n", port);
	expect_log(client, expected);
}

/* The server hangs up mid-session: the client says so in one line and leaves nothing behind. */
static void test_server_hangs_up_first(void **state)
{
	(void)state;
	struct process *server = start_server();
	struct process *client = start_client("::ffff:127.0.0.1", server->port);
	assert_int_equal(write(client->stdin_fd, "hello\n", 6), 6);
	char back[6];
	assert_true(harness_receive(client->stdout_fd, back, 6, T));
	pid_t child;
	assert_int_equal(harness_children(server->pid, &child, 1, NULL), 1);
	assert_int_equal(kill(child, SIGTERM), 0);
	expect_exit(client, 69);
	expect_hang_up_reported(client, server);
}

/* The server hangs up while input keeps coming: still one line and status 69, whichever side notices first. */
static void test_server_hangs_up_during_input(void **state)
{
	(void)state;
	enum { SIZE = 4 << 20 };
	struct process *server = start_server();
	struct process *client = start_client("127.0.0.1", server->port);
	assert_true(harness_wait_log(server, "connected, child", 1, T));
	pid_t child;
	assert_int_equal(harness_children(server->pid, &child, 1, NULL), 1);
	assert_int_equal(kill(child, SIGKILL), 0);
	char *input = malloc(SIZE);
	assert_non_null(input);
	memset(input, 'x', SIZE);
	char *output = harness_pipe_through(client, input, SIZE, true, NULL, T);
	free(input);
	free(output);
	expect_exit(client, 69);
	expect_hang_up_reported(client, server);
}

/* If the client is killed, its writer does not linger as an orphan. */
static void test_killed_client_leaves_no_writer(void **state)
{
	(void)state;
	struct process *server = start_server();
	struct process *client = start_client("127.0.0.1", server->port);
	assert_true(harness_wait_children(client->pid, 1, T));
	pid_t writer;
	assert_int_equal(harness_children(client->pid, &writer, 1, NULL), 1);
	assert_int_equal(kill(client->pid, SIGKILL), 0); /* the reader only */
	assert_true(harness_wait_exit(client, T));
	/* The writer got SIGTERM from the kernel (PR_SET_PDEATHSIG) and came to us to be reaped. */
	assert_int_equal(harness_reap_orphans(), 1);
	assert_false(harness_process_exists(writer));
	assert_true(harness_wait_log(server, "exited 0", 1, T));
}

/* The client works over IPv6 too. */
static void test_ipv6(void **state)
{
	(void)state;
	struct process *server = harness_start_server((const char *[]){"-b", "::1", "-p", "0", NULL});
	struct process *client = start_client("::1", server->port);
	char *output = harness_pipe_through(client, "six\n", 4, false, NULL, T);
	assert_non_null(output);
	assert_string_equal(output, "six\n");
	free(output);
	expect_exit(client, 0);
}

/* With standard output closed, the echoes are dropped: never written back into the connection. */
static void test_closed_standard_output(void **state)
{
	(void)state;
	struct process *server = start_server();
	struct spawn_options options = {.stdin_pipe = true, .nproc_limit = -1, .closed = 1u << 1};
	char port[16];
	snprintf(port, sizeof port, "%u", server->port);
	struct process *client =
		harness_spawn((const char *[]){"echo-client", "127.0.0.1", port, NULL}, &options);
	assert_int_equal(write(client->stdin_fd, "ping\n", 5), 5);
	close(client->stdin_fd);
	client->stdin_fd = -1;
	expect_exit(client, 0);
	assert_true(harness_wait_log(server, "closed, child", 1, T));
	char *log = harness_log(server);
	assert_int_equal(harness_count(log, "exited 0, 5 bytes echoed"), 1);
	free(log);
}

/* Standard output that fails (a full disk): one error line, status 74, the writer reaped. */
static void test_failing_standard_output(void **state)
{
	(void)state;
	struct process *server = start_server();
	struct spawn_options options = {.stdin_pipe = true, .nproc_limit = -1,
					.stdout_file = "/dev/full"};
	char port[16];
	snprintf(port, sizeof port, "%u", server->port);
	struct process *client =
		harness_spawn((const char *[]){"echo-client", "127.0.0.1", port, NULL}, &options);
	assert_int_equal(write(client->stdin_fd, "ping\n", 5), 5);
	expect_exit(client, 74);
	expect_log(client, "forknet: write standard output: No space left on device\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pipe_prints_every_echo, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_end_line_ends_session, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_binary_input_round_trip, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_input_and_output_run_in_two_processes, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_refused_connection, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_server_hangs_up_first, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_server_hangs_up_during_input, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_killed_client_leaves_no_writer, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_ipv6, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_closed_standard_output, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_failing_standard_output, harness_setup, harness_teardown),
	};
	return cmocka_run_group_tests_name("echo-client", tests, NULL, NULL);
}
