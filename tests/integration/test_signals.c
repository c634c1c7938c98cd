/*
 * Integration tests of the signal table (src/signals.c) as an operator sees
 * it: the real `forknet echo-server` in every model, and `forknet
 * chat-server`, on loopback with port 0, each sent the signals an operator,
 * a terminal or a supervisor may send, and observed through the bytes on
 * their connections, their log, their exit status and the processes left
 * behind (none).
 *
 * The echo-server tests run once per name in `models`: adding a model there
 * is all it takes to hold it to the same table. Where the iterative model
 * must behave otherwise, the test says why at the place (see concurrent()).
 *
 * Signals go to the server process alone (kill(pid), not its group), as an
 * operator's `kill -USR2 PID` does. Nothing sleeps for a guessed time: every
 * wait is for a log line, a byte, an end of stream or an exit, with the
 * harness' timeout T; a wait that times out fails the test.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#define T HARNESS_TIMEOUT_MS


/* The line every meaningless signal gets, once: "SIGALRM received: it means nothing here...". */
#define IGNORED_TEXT " received: it means nothing here"

/*
 * True for a model that serves connections while its main loop goes on
 * handling signals (fork, and every model to come: prefork, threads,
 * hybrid). The iterative model is the one exception: its main loop is inside
 * the service while a connection is open, so signals other than the stops
 * wait, pending, until that connection ends, and its listeners stay open
 * meanwhile (a new client waits in the backlog). -c and --grace are refused
 * for it, since it never has more than one connection to limit or to end.
 */
static bool concurrent(const char *model)
{
	return strcmp(model, "iterative") != 0;
}

/* True while SERVER has not exited (it is not waited for). */
static bool still_running(struct process *server)
{
	return !harness_wait_exit(server, 0);
}

/* Waits for SERVER to exit by itself with status 0 and "stopped", leaving no process behind. */
static void expect_clean_exit(struct process *server)
{
	harness_expect(harness_wait_exit(server, T), server, "the server did not exit");
	harness_expect(WIFEXITED(server->status) && WEXITSTATUS(server->status) == 0, server,
	       "the server ended with wait status 0x%x, not exit status 0", server->status);
	harness_expect_log_count(server, "notice: stopped\n", 1);
	harness_expect(harness_reap_orphans() == 0, server, "the server left orphans");
}

/* Stops SERVER with SIGTERM; it must exit 0 with no process left behind. */
static void stop_server(struct process *server)
{
	assert_int_equal(kill(server->pid, SIGTERM), 0);
	expect_clean_exit(server);
}

/*
 * Sends LENGTH (up to 4096) reproducible bytes, NULs among them, on FD and
 * checks that exactly they come back; adds LENGTH to *ECHOED.
 */
static void expect_echo(int fd, size_t length, uint32_t seed, size_t *echoed,
			const struct process *server)
{
	char sent[4096], back[4096];

	assert_true(length <= sizeof sent);
	harness_random_bytes(sent, length, seed);
	bool ok = harness_send(fd, sent, length, T) && harness_receive(fd, back, length, T) &&
		  memcmp(sent, back, length) == 0;
	harness_expect(ok, server, "%zu bytes were not echoed byte for byte", length);
	*echoed += length;
}

/*
 * Reads FD until its end (end of file, or a reset); returns how many bytes
 * came before it, or -1 if it did not end within TIMEOUT_MS.
 */
static long bytes_until_end(int fd, int timeout_ms)
{
	struct timespec start = harness_now();
	char buffer[4096];
	long total = 0;

	for (;;) {
		long left = timeout_ms - harness_ms_since(start);
		if (left <= 0)
			return -1;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int ready = poll(&pfd, 1, (int)left);
		if (ready < 0 && errno != EINTR)
			return -1;
		if (ready <= 0)
			continue;
		ssize_t count = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
		if (count == 0)
			return total;
		if (count > 0)
			total += count;
		else if (errno == ECONNRESET)
			return total; /* a listener closed with us in its backlog resets us */
		else if (errno != EAGAIN && errno != EINTR)
			return -1;
	}
}

/* The connection FD must be ended by the server (it is cut), with nothing more arriving on it. */
static void expect_cut(int fd, const struct process *server)
{
	long extra = bytes_until_end(fd, T);
	harness_expect(extra == 0, server, "the held connection was not cut (%ld)", extra);
}

/*
 * True once a connect to 127.0.0.1:PORT is refused (ECONNREFUSED: nothing
 * listens there any more) within TIMEOUT_MS. The server closes its
 * listeners just after it logs the signal, so an attempt may still get into
 * the backlog first; such a socket is closed at once and the attempt made
 * again.
 */
static bool wait_refused(uint16_t port, int timeout_ms)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct timespec start = harness_now();

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	do {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(fd >= 0);
		int result = connect(fd, (const struct sockaddr *)&to, sizeof to);
		int error = errno;
		close(fd);
		if (result != 0 && error == ECONNREFUSED)
			return true;
		if (result != 0)
			fail_msg("%s: connect to port %u: %s", harness_subject_text(), port, strerror(error));
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000000L}, NULL);
	} while (harness_ms_since(start) < timeout_ms);
	return false;
}

/* The end-of-connection line of a session that ended normally after ECHOED bytes. */
static void expect_session_logged(const struct process *server, size_t echoed)
{
	char needle[64];
	snprintf(needle, sizeof needle, ", %zu bytes echoed in ", echoed);
	harness_expect_log(server, needle, 1);
	harness_expect_log_count(server, "cut short", 0);
	harness_expect_log_count(server, "killed by", 0);
}

/* A new client of SERVER is served: its echo comes back. */
static void expect_new_client_served(const struct process *server)
{
	size_t echoed = 0;
	int fd = harness_connect("127.0.0.1", server->port);
	expect_echo(fd, 100, 7, &echoed, server);
	harness_close(fd);
}

/*
 * SIGUSR2 with a client in the middle of a session: one status line, and the
 * client goes on being served. The fork model writes it at once and counts
 * the open connection; the iterative model can only write it once the
 * connection has ended (see concurrent()), but it must write it then.
 */
static void sigusr2_logs_status(const char *model)
{
	struct process *server = harness_start_model(model, NULL);
	size_t echoed = 0;
	int fd = harness_connect("127.0.0.1", server->port);
	expect_echo(fd, 1000, 1, &echoed, server);

	assert_int_equal(kill(server->pid, SIGUSR2), 0);
	if (concurrent(model)) {
		harness_expect_log(server, "notice: status: ", 1);
		harness_expect_log_count(server, "1 connection open", 1);
	}
	expect_echo(fd, 4096, 2, &echoed, server);
	harness_expect(still_running(server), server, "SIGUSR2 ended the server");
	harness_close(fd);
	expect_session_logged(server, echoed);
	harness_expect_log(server, "notice: status: ", 1);
	expect_new_client_served(server);
	stop_server(server);
	harness_expect_log_count(server, "status: ", 1);
	harness_expect_log_count(server, " warning: ", 0);
}

static void test_sigusr2_logs_status(void **state)
{
	(void)state;
	for (size_t i = 0; i < harness_model_count; i++)
		sigusr2_logs_status(harness_models[i]);
}

/*
 * SIGUSR1: there is no log file to reopen (the log is standard error), and
 * the server says so; nothing else changes: the client is still served,
 * by the same child where there is one, and new clients are too.
 */
static void sigusr1_reopens_nothing(const char *model)
{
	struct process *server = harness_start_model(model, NULL);
	size_t echoed = 0;
	int fd = harness_connect("127.0.0.1", server->port);
	expect_echo(fd, 500, 3, &echoed, server);

	pid_t before[4] = {0}, after[4] = {0};
	size_t children = 0;
	char *log_before = NULL;
	if (concurrent(model)) {
		/* The parent logs the connection after its fork, maybe after the child echoed. */
		harness_expect_log(server, " connected", 1);
		/* A pool's master logs its start after its forks, maybe after a worker served. */
		if (strcmp(model, "fork") != 0)
			harness_expect_log(server, " started", 1);
		children = harness_children(server->pid, before, 4, NULL);
		log_before = harness_log(server);
	}
	assert_int_equal(kill(server->pid, SIGUSR1), 0);
	if (concurrent(model)) {
		harness_expect_log(server, "SIGUSR1 received: no log file to reopen", 1);
		/* Exactly one line more, and the same children. */
		char *log_after = harness_log(server);
		size_t length = strlen(log_before);
		bool one_more = strncmp(log_after, log_before, length) == 0 &&
				harness_count(log_after + length, "\n") == 1;
		free(log_after);
		free(log_before);
		harness_expect(one_more, server, "SIGUSR1 logged more than its one line");
		harness_expect(harness_children(server->pid, after, 4, NULL) == children &&
			       memcmp(before, after, sizeof before) == 0,
		       server, "SIGUSR1 changed the server's children");
	}
	expect_echo(fd, 4096, 4, &echoed, server);
	harness_expect(still_running(server), server, "SIGUSR1 ended the server");
	harness_close(fd);
	expect_session_logged(server, echoed);
	harness_expect_log(server, "SIGUSR1 received: no log file to reopen", 1);
	expect_new_client_served(server);
	stop_server(server);
	harness_expect_log_count(server, "no log file to reopen", 1);
	harness_expect_log_count(server, " warning: ", 0);
	harness_expect_log_count(server, " error: ", 0);
}

static void test_sigusr1_reopens_nothing(void **state)
{
	(void)state;
	for (size_t i = 0; i < harness_model_count; i++)
		sigusr1_reopens_nothing(harness_models[i]);
}

/*
 * SIGHUP, the restart: the server lives on, the open connection is not cut,
 * and a client that comes after the signal is served. What the log says
 * about it is not checked: restarting is being built, and its words will
 * change.
 */
static void sighup_keeps_serving(const char *model)
{
	struct process *server = harness_start_model(model, NULL);
	size_t echoed = 0;
	int fd = harness_connect("127.0.0.1", server->port);
	expect_echo(fd, 300, 5, &echoed, server);

	assert_int_equal(kill(server->pid, SIGHUP), 0);
	expect_echo(fd, 4096, 6, &echoed, server);
	/*
	 * The new client is served by the process that got the signal: to accept
	 * it, that process must return to user space, where a pending SIGHUP is
	 * delivered first. The iterative model takes it only after the first
	 * client has gone.
	 */
	if (concurrent(model)) {
		expect_new_client_served(server);
		expect_echo(fd, 200, 7, &echoed, server);
		harness_close(fd);
	} else {
		harness_close(fd);
		expect_new_client_served(server);
	}
	expect_session_logged(server, echoed);
	harness_expect(still_running(server), server, "SIGHUP ended the server");
	stop_server(server);
}

static void test_sighup_keeps_serving(void **state)
{
	(void)state;
	for (size_t i = 0; i < harness_model_count; i++)
		sighup_keeps_serving(harness_models[i]);
}

/* A signal that means nothing to a server, with the name forknet logs it by. */
struct meaningless {
	int signo;
	const char *line; /* the start of its log line */
};

/* SIGRTMIN is not a constant, so the table is filled at run time. */
static size_t meaningless_signals(struct meaningless *out)
{
	size_t count = 0;
	out[count++] = (struct meaningless){SIGALRM, "SIGALRM" IGNORED_TEXT};
	out[count++] = (struct meaningless){SIGWINCH, "SIGWINCH" IGNORED_TEXT};
	out[count++] = (struct meaningless){SIGVTALRM, "SIGVTALRM" IGNORED_TEXT};
	out[count++] = (struct meaningless){SIGPROF, "SIGPROF" IGNORED_TEXT};
	out[count++] = (struct meaningless){SIGIO, "SIGIO" IGNORED_TEXT};
	out[count++] = (struct meaningless){SIGPWR, "SIGPWR" IGNORED_TEXT};
	out[count++] = (struct meaningless){SIGURG, "SIGURG" IGNORED_TEXT};
	out[count++] = (struct meaningless){SIGXFSZ, "SIGXFSZ" IGNORED_TEXT};
	/*
	 * Its number past SIGRTMIN is the C library's: glibc (this test) and
	 * musl (a static forknet) reserve different counts of real-time signals.
	 */
	out[count++] = (struct meaningless){SIGRTMIN + 3, "SIGRTMIN+"};
	return count;
}

/*
 * SIGALRM, SIGWINCH, SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGURG, SIGXFSZ and a
 * real-time signal, each sent twice: none ends the server or cuts the open
 * connection, and each is logged once, the first time.
 */
static void meaningless_signals_ignored(const char *model)
{
	struct meaningless signals[16];
	size_t count = meaningless_signals(signals);
	struct process *server = harness_start_model(model, NULL);
	size_t echoed = 0;
	int fd = harness_connect("127.0.0.1", server->port);
	expect_echo(fd, 100, 8, &echoed, server);

	for (size_t i = 0; i < count; i++)
		assert_int_equal(kill(server->pid, signals[i].signo), 0);
	/*
	 * An echo by the iterative server also shows it survived the signals:
	 * to answer, it returns to user space, where they are delivered first.
	 * In the fork model the child answers, so the parent's log is waited for.
	 */
	if (concurrent(model))
		for (size_t i = 0; i < count; i++)
			harness_expect_log(server, signals[i].line, 1);
	expect_echo(fd, 4096, 9, &echoed, server);
	harness_close(fd);
	expect_session_logged(server, echoed);
	for (size_t i = 0; i < count; i++)
		harness_expect_log(server, signals[i].line, 1);

	/* The second time: handled before the SIGUSR2 sent after them, and not logged. */
	for (size_t i = 0; i < count; i++)
		assert_int_equal(kill(server->pid, signals[i].signo), 0);
	assert_int_equal(kill(server->pid, SIGUSR2), 0);
	harness_expect_log(server, "notice: status: ", 1);
	harness_expect(still_running(server), server, "a meaningless signal ended the server");
	expect_new_client_served(server);
	stop_server(server);
	for (size_t i = 0; i < count; i++)
		harness_expect_log_count(server, signals[i].line, 1);
	harness_expect_log_count(server, IGNORED_TEXT, (int)count);
}

static void test_meaningless_signals_ignored(void **state)
{
	(void)state;
	for (size_t i = 0; i < harness_model_count; i++)
		meaningless_signals_ignored(harness_models[i]);
}

/*
 * SIGQUIT, the graceful stop, with a client in the middle of its session:
 * no new client is served, the one there goes on being served as long as it
 * likes, and only when it has gone does the server exit, with status 0.
 */
static void sigquit_lets_the_client_finish(const char *model)
{
	struct process *server = harness_start_model(model, NULL);
	size_t echoed = 0;
	int fd = harness_connect("127.0.0.1", server->port);
	expect_echo(fd, 1000, 10, &echoed, server);

	assert_int_equal(kill(server->pid, SIGQUIT), 0);
	int late = -1;
	if (concurrent(model)) {
		/* The listeners are closed: a new client is refused outright. */
		harness_expect_log(server, "SIGQUIT received: stopping gracefully", 1);
		harness_expect(wait_refused(server->port, T), server, "connections still accepted after SIGQUIT");
	} else {
		/*
		 * The iterative server is inside its one connection, so its listener
		 * is still open: a new client gets into the backlog, and must never be
		 * answered (an observation window, not a speed limit; the check that
		 * counts is at the end).
		 */
		late = harness_connect("127.0.0.1", server->port);
		assert_true(harness_send(late, "late", 4, T));
		harness_expect(harness_quiet_for(late, 200), server, "a client was served after SIGQUIT");
	}
	for (uint32_t seed = 11; seed < 14; seed++)
		expect_echo(fd, 4096, seed, &echoed, server);
	harness_expect(still_running(server), server, "the server left before its client");

	harness_close(fd);
	expect_clean_exit(server);
	expect_session_logged(server, echoed);
	harness_expect_log_count(server, "SIGQUIT received: stopping gracefully", 1);
	if (late >= 0)
		harness_expect(bytes_until_end(late, T) == 0, server, "the late client got an answer");
}

static void test_sigquit_lets_the_client_finish(void **state)
{
	(void)state;
	for (size_t i = 0; i < harness_model_count; i++)
		sigquit_lets_the_client_finish(harness_models[i]);
}

/*
 * SIGQUIT with --drain-timeout 1 and a client that stays connected and
 * silent: the server does not wait for it past the timeout; it cuts the
 * connection and exits 0.
 */
static void drain_timeout_cuts_the_client(const char *model)
{
	struct process *server = harness_start_model(model, (const char *[]){"--drain-timeout", "1", NULL});
	size_t echoed = 0;
	int fd = harness_connect("127.0.0.1", server->port);
	expect_echo(fd, 10, 14, &echoed, server);

	assert_int_equal(kill(server->pid, SIGQUIT), 0);
	expect_cut(fd, server);
	expect_clean_exit(server);
	harness_expect_log_count(server, "SIGQUIT received: stopping gracefully", 1);
	/* The models that serve elsewhere end the connection; the iterative one gives it up itself. */
	if (concurrent(model))
		harness_expect_log_count(server, "drain timeout of 1 s passed", 1);
	else
		harness_expect_log_count(server, "cut short by the stop, 10 bytes echoed", 1);
}

static void test_drain_timeout_cuts_the_client(void **state)
{
	(void)state;
	for (size_t i = 0; i < harness_model_count; i++)
		drain_timeout_cuts_the_client(harness_models[i]);
}

/*
 * SIGQUIT and then SIGTERM while the graceful stop waits for a client: the
 * fast stop takes over, the client is cut and the server exits 0 (without
 * SIGTERM it would wait for the client as long as the client likes).
 */
static void sigterm_hurries_the_drain(const char *model)
{
	struct process *server = harness_start_model(model, NULL);
	size_t echoed = 0;
	int fd = harness_connect("127.0.0.1", server->port);
	expect_echo(fd, 100, 15, &echoed, server);

	assert_int_equal(kill(server->pid, SIGQUIT), 0);
	if (concurrent(model))
		harness_expect_log(server, "SIGQUIT received: stopping gracefully", 1);
	expect_echo(fd, 100, 16, &echoed, server); /* still being served: the drain is on */
	assert_int_equal(kill(server->pid, SIGTERM), 0);
	expect_cut(fd, server);
	expect_clean_exit(server);
	harness_expect_log_count(server, "SIGTERM received: stopping", 1);
	if (!concurrent(model))
		harness_expect_log_count(server, "cut short by the stop, 200 bytes echoed", 1);
}

static void test_sigterm_hurries_the_drain(void **state)
{
	(void)state;
	for (size_t i = 0; i < harness_model_count; i++)
		sigterm_hurries_the_drain(harness_models[i]);
}

/*
 * SIGTERM with a client that holds its connection, silent: the server never
 * waits for the client; it exits 0 and the connection is cut. The concurrent
 * models get --grace 1 (the grace period itself is tested in
 * test_echo_server.c); the iterative model refuses --grace (see
 * test_stop_option_errors) and cuts its one connection at once.
 */
static void sigterm_cuts_a_held_connection(const char *model)
{
	static const char *const grace[] = {"--grace", "1", NULL};
	struct process *server = harness_start_model(model, concurrent(model) ? grace : NULL);
	size_t echoed = 0;
	int fd = harness_connect("127.0.0.1", server->port);
	expect_echo(fd, 20, 17, &echoed, server);

	assert_int_equal(kill(server->pid, SIGTERM), 0);
	expect_cut(fd, server);
	expect_clean_exit(server);
	harness_expect_log_count(server, "SIGTERM received: stopping", 1);
	if (!concurrent(model))
		harness_expect_log_count(server, "cut short by the stop, 20 bytes echoed", 1);
}

static void test_sigterm_cuts_a_held_connection(void **state)
{
	(void)state;
	for (size_t i = 0; i < harness_model_count; i++)
		sigterm_cuts_a_held_connection(harness_models[i]);
}

/* ARGS (NULL-terminated) joined by blanks into BUF, for messages. */
static const char *command_line(const char *const *args, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; args[i] != NULL && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s'%s'", i > 0 ? " " : "", args[i]);
	return buf;
}

/*
 * Runs forknet ARGS to the end: status 64, nothing on standard output,
 * exactly the line EXPECTED on standard error. ARGS hold -p 0, so that
 * options wrongly accepted start a server on loopback's port 0 (and fail
 * the test) rather than on a fixed port.
 */
static void expect_usage_error(const char *const *args, const char *expected)
{
	static const struct spawn_options options = {.stdout_pipe = true, .nproc_limit = -1};
	char line[256];
	struct process *process = harness_spawn(args, &options);
	char *output = harness_pipe_through(process, "", 0, false, NULL, T);
	if (output == NULL)
		fail_msg("forknet %s: accepted (still running after %d ms)",
			 command_line(args, line, sizeof line), T);
	assert_true(harness_wait_exit(process, T));
	char *errors = harness_log(process);
	bool right = WIFEXITED(process->status) && WEXITSTATUS(process->status) == 64 &&
		     strcmp(errors, expected) == 0 && output[0] == '\0';
	if (!right)
		fail_msg("forknet %s: wait status 0x%x, stderr \"%s\", stdout \"%s\"; wanted 64 and \"%s\"",
			 command_line(args, line, sizeof line), process->status, errors, output, expected);
	free(output);
	free(errors);
}

/*
 * The options of the stop: --drain-timeout must be a whole number of seconds
 * from 0 to 30 days, --grace one up to an hour, -c at least 1; and the
 * iterative model, which never has more than one connection, refuses -c and
 * --grace. Each mistake is one line and status 64. The limits themselves are
 * accepted, by every model.
 */
static void test_stop_option_errors(void **state)
{
	(void)state;
	static const char hint[] = " (try 'forknet echo-server --help')\n";
	static const struct {
		const char *options[5]; /* after echo-server -b 127.0.0.1 -p 0 */
		const char *problem;
	} cases[] = {
		{{"--drain-timeout", "soon"}, "--drain-timeout 'soon': not a number"},
		{{"--drain-timeout", "-1"}, "--drain-timeout '-1': not a number"},
		{{"--drain-timeout", "1.5"}, "--drain-timeout '1.5': not a number"},
		{{"--drain-timeout", ""}, "--drain-timeout '': not a number"},
		{{"--drain-timeout", "2592001"}, "--drain-timeout '2592001': out of range 0-2592000"},
		{{"--drain-timeout", "99999999999999999999999"}, "--drain-timeout '99999999999999999999999': out of range 0-2592000"},
		{{"--drain-timeout", NULL}, "--drain-timeout: needs a value"},
		{{"--grace", "-1"}, "--grace '-1': not a number"},
		{{"--grace", "3601"}, "--grace '3601': out of range 0-3600"},
		{{"-c", "-1"}, "--max-children '-1': not a number"},
		{{"-c", "65537"}, "--max-children '65537': out of range 1-65536"},
		{{"-m", "iterative", "--grace", "1"}, "--grace: the iterative model serves one connection at a time (it is for the other models)"},
		{{"-m", "iterative", "-c", "2"}, "--max-children: the iterative model serves one connection at a time (it is for the other models)"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char expected[256];
		snprintf(expected, sizeof expected, "forknet: echo-server %s%s", cases[i].problem, hint);
		const char *args[16] = {"echo-server", "-b", "127.0.0.1", "-p", "0"};
		for (size_t j = 0; cases[i].options[j] != NULL; j++)
			args[5 + j] = cases[i].options[j];
		expect_usage_error(args, expected);
	}

	for (size_t i = 0; i < harness_model_count; i++) {
		struct process *server =
			harness_start_model(harness_models[i], (const char *[]){"--drain-timeout", "2592000", NULL});
		stop_server(server);
		server = harness_start_model(harness_models[i], (const char *[]){"--drain-timeout", "0", NULL});
		stop_server(server);
	}
	for (size_t i = 0; i < harness_model_count; i++) {
		if (!concurrent(harness_models[i]))
			continue; /* it refuses -c and --grace, as above */
		struct process *server = harness_start_model(
			harness_models[i], (const char *[]){"--grace", "3600", "-c", "65536", NULL});
		stop_server(server);
	}
}

/*
 * chat-server
 */

/* A UDP member socket for SERVER, and its address as the server shows it. */
static int chat_member(const struct process *server, char *address, size_t size)
{
	int fd = harness_udp_socket("127.0.0.1", server->port);
	snprintf(address, size, "127.0.0.1:%u", harness_local_port(fd));
	return fd;
}

/* The next datagram on FD must begin with EXPECTED, and be all of it if WHOLE. */
static void expect_datagram(int fd, const char *expected, bool whole, const struct process *server)
{
	char datagram[2048];
	long length = harness_udp_receive(fd, datagram, sizeof datagram - 1, T);
	harness_expect(length >= 0 && (size_t)length < sizeof datagram, server, "no datagram \"%s\"",
	       expected);
	datagram[length] = '\0';
	bool right = whole ? strcmp(datagram, expected) == 0
			   : strncmp(datagram, expected, strlen(expected)) == 0;
	harness_expect(right, server, "got \"%s\", not \"%s\"", datagram, expected);
}

/* FROM's FROM_ADDRESS sends TEXT; TO must get it relayed. */
static void expect_relayed(int from, const char *from_address, int to, const char *text,
			   const struct process *server)
{
	char line[256];
	assert_true(harness_udp_send(from, text, strlen(text)));
	snprintf(line, sizeof line, "%s>> %s", from_address, text);
	expect_datagram(to, line, true, server);
}

/*
 * chat-server, two members joined (--open: no token to answer): SIGHUP,
 * SIGUSR1, SIGUSR2, SIGALRM and SIGWINCH do not end it; SIGUSR2 writes its
 * status, with the two members; SIGHUP (a restart would lose the members)
 * and SIGALRM mean nothing and are logged once though sent twice; the
 * members can still talk; and SIGQUIT stops it, telling them, with status 0.
 */
static void test_chat_server_signals(void **state)
{
	(void)state;
	char first_address[64], second_address[64], line[256];
	harness_subject("chat-server");
	struct process *server = harness_start_command(
		"chat-server", (const char *[]){"-b", "127.0.0.1", "-p", "0", "--open", NULL});
	int first = chat_member(server, first_address, sizeof first_address);
	int second = chat_member(server, second_address, sizeof second_address);
	assert_true(harness_udp_send(first, "/join\n", 6));
	snprintf(line, sizeof line, "* welcome, you are %s (1 member;", first_address);
	expect_datagram(first, line, false, server);
	assert_true(harness_udp_send(second, "/join\n", 6));
	snprintf(line, sizeof line, "* welcome, you are %s (2 members;", second_address);
	expect_datagram(second, line, false, server);
	snprintf(line, sizeof line, "* %s joined\n", second_address);
	expect_datagram(first, line, true, server);

	static const int sent[] = {SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH};
	for (size_t i = 0; i < sizeof sent / sizeof sent[0]; i++)
		assert_int_equal(kill(server->pid, sent[i]), 0);
	harness_expect_log(server, "SIGHUP" IGNORED_TEXT, 1);
	harness_expect_log(server, "SIGUSR1 received: no log file to reopen", 1);
	harness_expect_log(server, "notice: status: 2 members", 1);
	harness_expect_log(server, "SIGALRM" IGNORED_TEXT, 1);
	harness_expect_log(server, "SIGWINCH" IGNORED_TEXT, 1);
	harness_expect(still_running(server), server, "a signal ended the chat server");
	expect_relayed(first, first_address, second, "after the signals\n", server);
	expect_relayed(second, second_address, first, "heard you\n", server);

	/* Again: handled before the SIGUSR2 sent after them, and not logged again. */
	assert_int_equal(kill(server->pid, SIGHUP), 0);
	assert_int_equal(kill(server->pid, SIGALRM), 0);
	assert_int_equal(kill(server->pid, SIGUSR2), 0);
	harness_expect_log(server, "notice: status: 2 members", 2);
	expect_relayed(first, first_address, second, "still here\n", server);

	assert_int_equal(kill(server->pid, SIGQUIT), 0);
	expect_datagram(first, "* server shutting down\n", true, server);
	expect_datagram(second, "* server shutting down\n", true, server);
	expect_clean_exit(server);
	harness_expect_log_count(server, "SIGQUIT received: stopping", 1);
	harness_expect_log_count(server, "SIGHUP" IGNORED_TEXT, 1);
	harness_expect_log_count(server, "SIGALRM" IGNORED_TEXT, 1);
	harness_expect_log_count(server, "SIGWINCH" IGNORED_TEXT, 1);
	harness_expect_log_count(server, "no log file to reopen", 1);
	harness_expect_log_count(server, "status: ", 2);
	harness_expect_log_count(server, " warning: ", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sigusr2_logs_status, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_sigusr1_reopens_nothing, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_sighup_keeps_serving, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_meaningless_signals_ignored, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_sigquit_lets_the_client_finish, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_drain_timeout_cuts_the_client, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_hurries_the_drain, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_cuts_a_held_connection, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_stop_option_errors, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_chat_server_signals, harness_setup, harness_teardown),
	};
	return cmocka_run_group_tests_name("signals", tests, NULL, NULL);
}
