/*
 * Integration tests that hold every server model of `forknet echo-server`
 * to the same contract: bytes come back exactly, clients are served at the
 * same time, -c caps what is served at once, SIGTERM ends everything, a
 * client that resets does no harm, and many connections leak no
 * descriptor. The real binary, on loopback with port 0, observed from
 * outside: through its sockets, its log and /proc.
 *
 * Each test runs once per name in `models`, as a cmocka test of its own
 * ("two_clients_at_once (prefork)"), so a failure names its model, is
 * cleaned up by harness_teardown, and does not hide the other models.
 * Adding a model to `models` is all it takes to hold it to these tests. A
 * test that cannot apply to a model says why in skip_reason, and is
 * reported as skipped.
 *
 * The tests read the words all the models share: "client ADDR connected"
 * when a connection is taken, and "client ADDR closed, ..., N bytes echoed
 * in S s" when it ends (fork adds "child PID exited 0", prefork "worker
 * PID", thread "thread"). Nothing sleeps for a guessed time: every wait is
 * for a byte, an end of stream, a log line or an exit, with the harness'
 * timeout T, and a wait that times out fails the test. The one window
 * (harness_quiet_for) shows that a client waits; it is not a speed limit.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#define T HARNESS_TIMEOUT_MS


/* The observation window in which a client that must wait gets nothing. */
#define QUIET_MS 300

/* ---- What the models have in common, and where they differ ---- */

/* The words of the line for each connection the server takes, in every model. */
#define CONNECTED " connected"

/*
 * The end of the line for a connection that ended after BYTES bytes, in
 * every model: "client ADDR closed, <the model's words>, BYTES bytes echoed
 * in S s". Into BUF (SIZE bytes).
 */
static const char *ended_after(size_t bytes, char *buf, size_t size)
{
	snprintf(buf, size, ", %zu bytes echoed in ", bytes);
	return buf;
}

/*
 * True for a model that serves several connections at once. The iterative
 * model is the one exception: it serves one connection at a time, in the
 * server process, while the next clients wait in the backlog, and it
 * refuses -c and --grace (it has nothing to limit or to give grace to).
 */
static bool concurrent(const char *model)
{
	return strcmp(model, "iterative") != 0;
}

/* skip_reason for the tests that need two connections served at once. */
static const char *needs_concurrency(const char *model)
{
	return concurrent(model) ? NULL
				 : "serves one connection at a time and refuses -c (its own tests are "
				   "in test_echo_server.c)";
}

/* Stops SERVER with SIGTERM: it must exit 0, "stopped", with nothing orphaned. */
static void stop_server(struct process *server)
{
	assert_int_equal(kill(server->pid, SIGTERM), 0);
	harness_expect(harness_wait_exit(server, T), server, "the server did not exit after SIGTERM");
	harness_expect(WIFEXITED(server->status) && WEXITSTATUS(server->status) == 0, server,
	       "the server ended with wait status 0x%x, not exit status 0", server->status);
	harness_expect_log_count(server, " notice: stopped\n", 1);
	harness_expect(harness_reap_orphans() == 0, server, "the server left orphans");
}

/* Sends MESSAGE on FD and expects it back, whole and alone. */
static void expect_echo(int fd, const char *message, const struct process *server)
{
	harness_expect(harness_echo_once(fd, message, T), server, "\"%s\" was not echoed", message);
}

/* A connection that ends with a reset (SO_LINGER 0), not with an orderly close. */
static void reset_connection(int fd)
{
	struct linger linger = {.l_onoff = 1, .l_linger = 0};
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger), 0);
	harness_close(fd);
}

/* ---- The tests ---- */

/*
 * 4 MiB of pseudo-random bytes (NULs among them) sent while the echo is
 * read (harness_echo_exchange interleaves the two, non-blocking, so neither
 * side's full buffers can deadlock it): exactly the same bytes come back,
 * and the line that ends the connection counts 4194304 bytes.
 */
static void echoes_4_mib_byte_for_byte(const char *model)
{
	enum { SIZE = 4 << 20 };
	char needle[64];
	struct process *server = harness_start_model(model, NULL);
	char *data = malloc(SIZE);

	assert_non_null(data);
	harness_random_bytes(data, SIZE, 4242);
	assert_non_null(memchr(data, 0, SIZE));
	int fd = harness_connect("127.0.0.1", server->port);
	bool same = harness_echo_exchange(fd, data, SIZE, T);
	free(data);
	harness_expect(same, server, "4 MiB did not come back byte for byte");
	harness_close(fd);

	harness_expect_log(server, ended_after(SIZE, needle, sizeof needle), 1);
	char *log = harness_log(server);
	const char *at = strstr(log, needle);
	const char *line = at;
	while (line > log && line[-1] != '\n')
		line--;
	size_t length = strcspn(line, "\n");
	bool closed = memmem(line, length, " closed, ", 9) != NULL ||
		      memmem(line, length, " closed ", 8) != NULL;
	bool cut = memmem(line, length, "cut short", 9) != NULL ||
		   memmem(line, length, "killed", 6) != NULL;
	free(log);
	harness_expect(closed && !cut, server, "the 4 MiB connection did not end with a normal \"closed\" line");
	stop_server(server);
}

/*
 * Two clients at once: A sends, B sends, and B's echo comes while A's is
 * still unread and A still connected; then A's. A second round the other
 * way round. Both get all their echoes before either closes.
 */
static void serves_two_clients_at_once(const char *model)
{
	char needle[64], back[8];
	struct process *server = harness_start_model(model, NULL);
	int a = harness_connect("127.0.0.1", server->port);
	int b = harness_connect("127.0.0.1", server->port);

	harness_expect(harness_send(a, "from A\n", 7, T), server, "A could not send");
	harness_expect(harness_send(b, "from B\n", 7, T), server, "B could not send");
	harness_expect(harness_receive(b, back, 7, T) && memcmp(back, "from B\n", 7) == 0, server,
	       "B was not echoed while A was connected");
	harness_expect(harness_receive(a, back, 7, T) && memcmp(back, "from A\n", 7) == 0, server,
	       "A was not echoed");
	harness_expect(harness_send(b, "more B\n", 7, T) && harness_send(a, "more A\n", 7, T), server,
	       "the second round could not be sent");
	harness_expect(harness_receive(a, back, 7, T) && memcmp(back, "more A\n", 7) == 0, server,
	       "A's second message was not echoed");
	harness_expect(harness_receive(b, back, 7, T) && memcmp(back, "more B\n", 7) == 0, server,
	       "B's second message was not echoed");
	/* The thread model writes "connected" after starting the thread, which may echo first. */
	harness_expect_log(server, CONNECTED, 2);
	harness_expect_log_count(server, CONNECTED, 2);

	harness_close(a);
	harness_close(b);
	harness_expect_log(server, ended_after(14, needle, sizeof needle), 2);
	stop_server(server);
}

/*
 * -c 5: five held connections are served; a sixth connects (the kernel's
 * backlog takes it) but is not taken, so it gets no echo while the five are
 * held; once one of them closes, the sixth gets its echo. What -c counts
 * is the model's: children (fork), workers (prefork), threads (thread). The
 * server warns that its limit is reached.
 */
static void caps_at_five(const char *model)
{
	enum { CAP = 5 };
	char back[6];
	struct process *server = harness_start_model(model, (const char *[]){"-c", "5", NULL});
	int held[CAP];

	for (int i = 0; i < CAP; i++) {
		held[i] = harness_connect("127.0.0.1", server->port);
		expect_echo(held[i], "held", server);
	}
	harness_expect_log(server, CONNECTED, CAP);
	int sixth = harness_connect("127.0.0.1", server->port);
	harness_expect(harness_send(sixth, "sixth", 5, T), server, "the sixth client could not send");
	/* An observation window, not a speed limit: the sixth must get nothing while the five are held. */
	harness_expect(harness_quiet_for(sixth, QUIET_MS), server,
	       "the sixth client was echoed while %d connections were held under -c %d", CAP, CAP);
	/* Left in the backlog: not accepted and parked. */
	harness_expect_log_count(server, CONNECTED, CAP);
	/* And said: a saturated server is what an operator must see (pools look once a second). */
	harness_expect_log(server, " warning: limit of 5 ", 1);
	for (int i = 0; i < CAP; i++)
		expect_echo(held[i], "still", server);

	harness_close(held[0]);
	harness_expect(harness_receive(sixth, back, 5, T) && memcmp(back, "sixth", 5) == 0, server,
	       "the sixth client was not echoed once one of the five had closed");
	harness_expect_log(server, CONNECTED, CAP + 1);
	for (int i = 1; i < CAP; i++)
		expect_echo(held[i], "after", server);
	stop_server(server);
}

/*
 * SIGTERM with --grace 2 and three held, silent connections: the server
 * exits 0 within a bounded wait, every held client sees its connection end
 * (end of file, or a reset), each connection the server took has its line,
 * and no process is left: no orphan (they would have come to us, the
 * subreaper), no zombie, none of the server's children alive. The iterative model refuses --grace (it has nothing to give grace
 * to): it runs without it, serving the first connection while the other two
 * wait in its backlog, and must end them all the same.
 */
static void sigterm_ends_held_connections(const char *model)
{
	enum { HELD = 3 };
	struct process *server =
		harness_start_model(model, concurrent(model) ? (const char *[]){"--grace", "2", NULL} : NULL);
	int fds[HELD];

	for (int i = 0; i < HELD; i++)
		fds[i] = harness_connect("127.0.0.1", server->port);
	/* Taken, and silent: the server waits for them to say something. */
	int taken = concurrent(model) ? HELD : 1;
	harness_expect_log(server, CONNECTED, taken);
	pid_t children[64];
	size_t count = harness_children(server->pid, children, 64, NULL);
	harness_expect(count <= 64, server, "%zu children: more than this test looks at", count);

	assert_int_equal(kill(server->pid, SIGTERM), 0);
	/* Bounded: the grace period, and the harness' timeout on top. No assertion on the time taken. */
	harness_expect(harness_wait_exit(server, 2000 + T), server, "the server did not exit after SIGTERM");
	harness_expect(WIFEXITED(server->status) && WEXITSTATUS(server->status) == 0, server,
	       "the server ended with wait status 0x%x, not exit status 0", server->status);
	for (int i = 0; i < HELD; i++)
		harness_expect(harness_wait_eof(fds[i], T), server, "held client %d did not see its connection end",
		       i);
	harness_expect(harness_reap_orphans() == 0, server, "the server left orphans");
	for (size_t i = 0; i < count; i++)
		harness_expect(!harness_process_exists(children[i]), server, "child %d of the server is still there",
		       (int)children[i]);
	size_t zombies;
	harness_children(getpid(), NULL, 0, &zombies);
	harness_expect(zombies == 0, server, "%zu zombies left", zombies);
	/* However each one ended (cut by the stop, or killed after the grace period), it has its line. */
	char needle[64];
	harness_expect_log_count(server, ended_after(0, needle, sizeof needle), taken);
	harness_expect_log_count(server, " notice: stopped\n", 1);
}

/*
 * Clients that connect and reset at once (SO_LINGER 0) do not disturb the
 * server: each is ended as a connection that moved nothing, the next client
 * is served, and the log has no error or warning (a reset is a normal
 * event on a network).
 */
static void reset_client_does_no_harm(const char *model)
{
	enum { RESETS = 3 };
	char needle[64];
	struct process *server = harness_start_model(model, NULL);

	for (int i = 0; i < RESETS; i++)
		reset_connection(harness_connect("127.0.0.1", server->port));
	/* Linux hands a reset connection to accept() all the same: each gets its two lines. */
	harness_expect_log(server, ended_after(0, needle, sizeof needle), RESETS);
	int fd = harness_connect("127.0.0.1", server->port);
	expect_echo(fd, "next", server);
	harness_close(fd);
	harness_expect_log(server, ended_after(4, needle, sizeof needle), 1);
	harness_expect_log(server, CONNECTED, RESETS + 1); /* may come after its end: see serves_two_clients_at_once */
	harness_expect_log_count(server, CONNECTED, RESETS + 1);
	harness_expect_log_count(server, " error: ", 0);
	harness_expect_log_count(server, " warning: ", 0);
	stop_server(server);
}

/* The descriptors of PROCESSES (COUNT pids) into FDS. */
static void count_descriptors(const pid_t *processes, size_t count, size_t *fds)
{
	for (size_t i = 0; i < count; i++)
		fds[i] = harness_fd_count(processes[i]);
}

/*
 * 200 short connections in a row, each echoed: afterwards the server holds
 * as many descriptors as before them (no leak in the master), and so does
 * each of its children that was there before (prefork's worker, thread's
 * worker). With -c 1 prefork keeps a single worker, so every connection
 * passes through the one that is counted, and that worker is ready (it
 * served the first connection) when it is counted.
 */
static void many_connections_leak_no_descriptor(const char *model)
{
	enum { CONNECTIONS = 200, MAX_CHILDREN = 8 };
	char needle[64];
	struct process *server =
		harness_start_model(model, concurrent(model) ? (const char *[]){"-c", "1", NULL} : NULL);

	/* A first connection, so that whatever the server sets up once is there before counting. */
	int fd = harness_connect("127.0.0.1", server->port);
	expect_echo(fd, "warm-up", server);
	harness_close(fd);
	harness_expect_log(server, ended_after(7, needle, sizeof needle), 1);

	size_t server_before = harness_fd_count(server->pid);
	pid_t children[MAX_CHILDREN], children_after[MAX_CHILDREN];
	size_t fds_before[MAX_CHILDREN], fds_after[MAX_CHILDREN];
	size_t count = harness_children(server->pid, children, MAX_CHILDREN, NULL);
	harness_expect(count <= MAX_CHILDREN, server, "%zu children: more than expected", count);
	count_descriptors(children, count, fds_before);

	for (int i = 0; i < CONNECTIONS; i++) {
		fd = harness_connect("127.0.0.1", server->port);
		harness_expect(harness_echo_once(fd, "ping", T), server, "connection %d was not echoed", i);
		harness_close(fd);
	}
	/* Every connection ended on the server's side too: each line is written after its close. */
	harness_expect_log(server, ended_after(4, needle, sizeof needle), CONNECTIONS);
	/* The fork model's last child ends after its line is written: wait for the same children. */
	struct timespec start = harness_now();
	while (harness_children(server->pid, NULL, 0, NULL) != count && harness_ms_since(start) < T)
		nanosleep(&(struct timespec){.tv_nsec = 5 * 1000000L}, NULL);
	size_t count_after = harness_children(server->pid, children_after, MAX_CHILDREN, NULL);
	harness_expect(count_after == count, server, "%zu children before, %zu after", count, count_after);

	size_t server_after = harness_fd_count(server->pid);
	harness_expect(server_after == server_before, server,
	       "the server held %zu descriptors before %d connections, %zu after", server_before,
	       CONNECTIONS, server_after);
	count_descriptors(children, count, fds_after);
	for (size_t i = 0; i < count; i++) {
		harness_expect(harness_process_exists(children[i]), server, "child %d has gone",
		       (int)children[i]);
		harness_expect(fds_after[i] == fds_before[i], server,
		       "child %d held %zu descriptors before %d connections, %zu after",
		       (int)children[i], fds_before[i], CONNECTIONS, fds_after[i]);
	}
	stop_server(server);
}

/* ---- Each test for each model ---- */

static const struct harness_model_test model_tests[] = {
	{"echoes_4_mib_byte_for_byte", echoes_4_mib_byte_for_byte, NULL},
	{"serves_two_clients_at_once", serves_two_clients_at_once, needs_concurrency},
	{"caps_at_five", caps_at_five, needs_concurrency},
	{"sigterm_ends_held_connections", sigterm_ends_held_connections, NULL},
	{"reset_client_does_no_harm", reset_client_does_no_harm, NULL},
	{"many_connections_leak_no_descriptor", many_connections_leak_no_descriptor, NULL},
};
#define TEST_COUNT (sizeof model_tests / sizeof model_tests[0])

/* One test for one model: what each cmocka test's state points to. */
int main(void)
{
	size_t count;
	struct CMUnitTest *tests = harness_model_tests(NULL, 0, model_tests, TEST_COUNT, &count);
	return _cmocka_run_group_tests("models", tests, count, NULL, NULL);
}
