/*
 * Integration tests of `forknet echo-server`: the real binary on loopback,
 * port 0, observed through its sockets, its log and /proc.
 *
 * Most tests run once per name in `models`, each run a cmocka test of its
 * own ("binary_payload_echoed_exactly (prefork)"), cleaned up by
 * harness_teardown and failing alone. They read each model's log in its
 * own words (see struct model_traits); a model added to `models` and not
 * to `traits_table` runs with the words all models share, and the tests
 * that need to know more about it are skipped, saying why. A test that
 * cannot apply to a model is skipped with its reason (skip_reason).
 *
 * The other tests are the fork model's (a child per connection, the
 * child's descriptors, fork() failing, the limit's warning) or the
 * iterative model's own, or about what happens before any model runs (the
 * bind, --print-port): they run once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
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


/*
 * What the tests know about a model: what it has, and the words of its log
 * lines. The line for a connection taken holds `connected` ("client ADDR
 * connected, child PID" in fork); the line for one that ended normally
 * holds ended_who (if not NULL) and ends "<ended_word>, N bytes echoed in S
 * s" ("client ADDR closed, child PID exited 0, N bytes ..."); for one that
 * the fast stop (SIGTERM, SIGINT) ended, stopped_word comes before the
 * count instead.
 */
struct model_traits {
	const char *name;
	bool concurrent;            /* serves several connections at once */
	bool children;              /* serves in child processes, which the server stops and reaps */
	bool child_per_connection;  /* a child for each connection, gone when it ends (fork) */
	bool process_per_connection; /* the process serving a connection serves only it (fork, prefork) */
	bool capped_processes;      /* -c caps its child processes (fork: children, prefork: workers) */
	bool accepts_in_child;      /* a child accepts, not the server (prefork's and thread's workers) */
	const char *connected;
	const char *ended_who;      /* NULL: nothing more to look for */
	const char *ended_word;     /* NULL: none ("worker PID" varies) */
	const char *stopped_word;
};

static const struct model_traits traits_table[] = {
	{.name = "fork", .concurrent = true, .children = true, .child_per_connection = true,
	 .process_per_connection = true, .capped_processes = true,
	 .connected = " connected, child ", .ended_who = " closed, child ", .ended_word = " exited 0",
	 .stopped_word = " killed by SIGTERM"},
	{.name = "iterative", .connected = " connected\n", .ended_word = " closed",
	 .stopped_word = " cut short by the stop"},
	{.name = "prefork", .concurrent = true, .children = true, .process_per_connection = true,
	 .capped_processes = true, .accepts_in_child = true, .connected = " connected, worker ",
	 .ended_who = " closed, worker ", .stopped_word = " killed by SIGTERM"},
	{.name = "thread", .concurrent = true, .children = true, .accepts_in_child = true,
	 .connected = " connected, thread", .ended_word = " closed, thread",
	 .stopped_word = " thread cut short by the stop"},
};

/* A model not in the table: concurrent, like every model to come; the words all models share. */
static const struct model_traits shared_traits = {
	.concurrent = true, .connected = " connected", .ended_who = " closed, "};

static const struct model_traits *traits(const char *model)
{
	for (size_t i = 0; i < sizeof traits_table / sizeof traits_table[0]; i++)
		if (strcmp(traits_table[i].name, model) == 0)
			return &traits_table[i];
	return &shared_traits;
}

/* skip_reason functions: NULL if the test applies to MODEL, else why not. */
static const char *needs_concurrency(const char *model)
{
	return traits(model)->concurrent ? NULL
					 : "serves one connection at a time (and refuses -c and --grace)";
}

static const char *needs_children(const char *model)
{
	if (traits(model)->children)
		return NULL;
	return traits(model)->name != NULL
		       ? "serves in the server process: it has no child to stop"
		       : "is not known to serve in child processes (give it a row in traits_table)";
}

static const char *needs_process_per_connection(const char *model)
{
	if (traits(model)->process_per_connection)
		return NULL;
	if (traits(model)->name == NULL)
		return "is not known to serve each connection in a process of its own (give it a row "
		       "in traits_table)";
	if (strcmp(model, "thread") == 0)
		return "serves every connection in one worker: killing it ends them all, and no line "
		       "per connection is written for them";
	return "has no process that serves one connection alone";
}

static const char *needs_known_acceptor(const char *model)
{
	return traits(model)->name != NULL ? NULL
					   : "is not known to accept in the server or in a child (give "
					     "it a row in traits_table)";
}

/* The arguments most tests start with: loopback, any free port. */
static const char *const loopback[] = {"-b", "127.0.0.1", "-p", "0", NULL};

/*
 * Starts `forknet echo-server ARGS... -m MODEL EXTRA...` (EXTRA may be NULL)
 * and waits until it listens.
 */
static struct process *start_model(const char *model, const char *const *args,
				   const char *const *extra)
{
	const char *all[24];
	size_t count = 0;

	for (size_t i = 0; args[i] != NULL; i++)
		all[count++] = args[i];
	all[count++] = "-m";
	all[count++] = model;
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
		assert_true(count < sizeof all / sizeof all[0] - 1);
		all[count++] = extra[i];
	}
	all[count] = NULL;
	return harness_start_server(all);
}

/* Into BUF: the text just before and at the byte count of a line ending with BYTES bytes after WORD. */
static const char *bytes_needle(const char *word, size_t bytes, char *buf, size_t size)
{
	snprintf(buf, size, "%s, %zu bytes echoed in ", word != NULL ? word : "", bytes);
	return buf;
}

/* Lines of LOG that hold NEEDLE, and OTHER too unless it is NULL. */
static int count_lines(const char *log, const char *needle, const char *other)
{
	int count = 0;
	for (const char *line = log; *line != '\0';) {
		const char *end = strchr(line, '\n');
		size_t length = end != NULL ? (size_t)(end - line) : strlen(line);
		if (memmem(line, length, needle, strlen(needle)) != NULL &&
		    (other == NULL || memmem(line, length, other, strlen(other)) != NULL))
			count++;
		line += length + (end != NULL);
	}
	return count;
}

/* Lines of SERVER's log for connections that ended normally after BYTES bytes, in MODEL's words. */
static int count_ended(const struct process *server, const char *model, size_t bytes)
{
	const struct model_traits *tr = traits(model);
	char needle[96];
	char *log = harness_log(server);
	int count = count_lines(log, bytes_needle(tr->ended_word, bytes, needle, sizeof needle),
				tr->ended_who);
	free(log);
	return count;
}

/* Waits until SERVER has logged COUNT normal ends of connections after BYTES bytes. */
static bool wait_ended(const struct process *server, const char *model, size_t bytes, int count)
{
	struct timespec start = harness_now();
	while (count_ended(server, model, bytes) < count) {
		if (harness_ms_since(start) > T)
			return false;
		nanosleep(&(struct timespec){.tv_nsec = 5 * 1000000L}, NULL);
	}
	return true;
}

/*
 * Lines of LOG for connections that the fast stop ended, in MODEL's words
 * (without their byte count: a process stopped or killed just after a write
 * may not have counted the bytes its client has received).
 */
static int count_stopped(const char *log, const char *model)
{
	return count_lines(log, traits(model)->stopped_word, " bytes echoed in ");
}

/* Waits until PARENT has no zombie child (ended, not reaped yet); false on timeout. */
static bool wait_no_zombies(pid_t parent, int timeout_ms)
{
	struct timespec start = harness_now();
	for (;;) {
		size_t zombies;
		harness_children(parent, NULL, 0, &zombies);
		if (zombies == 0)
			return true;
		if (harness_ms_since(start) > timeout_ms)
			return false;
		nanosleep(&(struct timespec){.tv_nsec = 5 * 1000000L}, NULL);
	}
}

/* Waits until PID is gone (reaped: not even a zombie); false on timeout. */
static bool wait_gone(pid_t pid, int timeout_ms)
{
	struct timespec start = harness_now();
	while (harness_process_exists(pid)) {
		if (harness_ms_since(start) > timeout_ms)
			return false;
		nanosleep(&(struct timespec){.tv_nsec = 5 * 1000000L}, NULL);
	}
	return true;
}

/*
 * Waits until PID sleeps; fails the test otherwise. A process that serves
 * a connection counts the bytes it echoed after each write, and sleeps
 * next in read(), waiting for more: once asleep after an echo, it has
 * counted what its client received, so a test that kills it can expect
 * that count in its line.
 */
static void wait_asleep(pid_t pid)
{
	struct timespec start = harness_now();
	while (harness_process_state(pid) != 'S') {
		if (harness_ms_since(start) > T)
			fail_msg("process %d did not go to sleep (state %c)", (int)pid,
				 harness_process_state(pid));
		nanosleep(&(struct timespec){.tv_nsec = 1000000L}, NULL);
	}
}

/* True if PID holds a socket that is not listening (a connection). */
static bool holds_connection(pid_t pid)
{
	unsigned long sockets[16];
	size_t count = harness_socket_inodes(pid, sockets, 16);
	for (size_t i = 0; i < count; i++)
		if (!harness_inode_listening(sockets[i]))
			return true;
	return false;
}

/* The one child of SERVER that holds a connection (a busy worker), waiting for it; fails otherwise. */
static pid_t serving_child(const struct process *server)
{
	struct timespec start = harness_now();
	for (;;) {
		pid_t children[64], found = 0;
		size_t count = harness_children(server->pid, children, 64, NULL), holding = 0;
		for (size_t i = 0; i < count && i < 64; i++)
			if (holds_connection(children[i])) {
				found = children[i];
				holding++;
			}
		if (holding == 1)
			return found;
		if (harness_ms_since(start) > T)
			fail_msg("%zu children of the server hold a connection, not 1", holding);
		nanosleep(&(struct timespec){.tv_nsec = 5 * 1000000L}, NULL);
	}
}

/* True if descriptor FD of PID is a socket. */
static bool socket_at(pid_t pid, int fd)
{
	char path[64], target[128];
	snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
	ssize_t length = readlink(path, target, sizeof target - 1);
	if (length <= 0)
		return false;
	target[length] = '\0';
	return strncmp(target, "socket:", 7) == 0;
}

/* The one child of SERVER, waiting for it to exist; fails the test otherwise. */
static pid_t only_child(const struct process *server)
{
	pid_t child;
	assert_true(harness_wait_children(server->pid, 1, T));
	assert_int_equal(harness_children(server->pid, &child, 1, NULL), 1);
	return child;
}

/*
 * Waits (as its tracer) until the traced CHILD is killed by SIGKILL, and
 * reaps it as tracer, which hands it back to its parent, the server.
 */
static void expect_traced_child_killed(pid_t child)
{
	int status = 0;
	for (int waited = 0; waited < 2 * T; waited += 5) {
		pid_t pid = waitpid(child, &status, WNOHANG | __WALL);
		if (pid == child && (WIFSIGNALED(status) || WIFEXITED(status))) {
			assert_true(WIFSIGNALED(status));
			assert_int_equal(WTERMSIG(status), SIGKILL);
			return;
		}
		usleep(5000); /* stops of the tracee are reported too: it is not dead yet */
	}
	fail_msg("traced child %d was not killed", (int)child);
}

/* Connects one client to SERVER, checks it is echoed, and returns the child serving it. */
static pid_t connect_one(const struct process *server)
{
	int fd = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(fd, "x", T));
	return only_child(server);
}

/* Sends SIGTERM to SERVER and checks it exits 0 with no child left behind. */
static void stop_server(struct process *server)
{
	assert_int_equal(kill(server->pid, SIGTERM), 0);
	if (!harness_wait_exit(server, T)) {
		harness_dump_log(server, "server that did not stop");
		fail_msg("server did not exit after SIGTERM");
	}
	assert_true(WIFEXITED(server->status));
	assert_int_equal(WEXITSTATUS(server->status), 0);
	assert_int_equal(harness_reap_orphans(), 0);
}

/* ---- Tests for each model ---- */

/* 1a. A second client is served while the first is connected and idle. */
static void serves_clients_concurrently(const char *model)
{
	struct process *server = start_model(model, loopback, NULL);
	int idle = harness_connect("127.0.0.1", server->port);
	assert_true(harness_wait_log(server, traits(model)->connected, 1, T));
	int second = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(second, "hello\n", T));
	assert_true(harness_echo_once(idle, "still here\n", T));
	stop_server(server);
}

/* 2. Binary data of 4 MiB with NUL bytes comes back byte for byte, and its line counts them. */
static void binary_payload_echoed_exactly(const char *model)
{
	enum { SIZE = 4 << 20 };
	struct process *server = start_model(model, loopback, NULL);
	char *data = malloc(SIZE);
	assert_non_null(data);
	harness_random_bytes(data, SIZE, 42);
	assert_non_null(memchr(data, 0, SIZE));
	int fd = harness_connect("127.0.0.1", server->port);
	bool same = harness_echo_exchange(fd, data, SIZE, 60000);
	free(data);
	assert_true(same);
	/* fork: "exited 0, 4194304 bytes echoed"; the others in their words (traits_table). */
	assert_true(wait_ended(server, model, SIZE, 1));
	stop_server(server);
}

/*
 * 3. 300 short connections, 50 at a time: no zombie stays, and in the fork
 * model the children go back to 0 (the other models keep their workers).
 */
static void many_connections_leave_no_zombies(const char *model)
{
	enum { BATCH = 50, ROUNDS = 6 };
	struct process *server = start_model(model, loopback, (const char *[]){"-q", NULL});
	for (int round = 0; round < ROUNDS; round++) {
		int fds[BATCH];
		for (int i = 0; i < BATCH; i++)
			fds[i] = harness_connect("127.0.0.1", server->port);
		for (int i = 0; i < BATCH; i++)
			assert_true(harness_echo_once(fds[i], "ping", T));
		for (int i = 0; i < BATCH; i++)
			harness_close(fds[i]);
		/* Reaping must follow SIGCHLD, not the next connection: with no new client, all go. */
		bool reaped = traits(model)->child_per_connection ? harness_wait_children(server->pid, 0, T)
								  : wait_no_zombies(server->pid, T);
		if (!reaped) {
			size_t zombies;
			size_t left = harness_children(server->pid, NULL, 0, &zombies);
			fail_msg("round %d: %zu children left, %zu of them zombies", round, left, zombies);
		}
	}
	stop_server(server);
}

/* 3b. With the default log level, every connection has its two lines, all ended normally. */
static void each_connection_is_logged(const char *model)
{
	struct process *server = start_model(model, loopback, NULL);
	for (int i = 0; i < 20; i++) {
		int fd = harness_connect("127.0.0.1", server->port);
		assert_true(harness_echo_once(fd, "hi", T));
		harness_close(fd);
	}
	/* fork: "exited 0, 2 bytes echoed in" */
	assert_true(wait_ended(server, model, 2, 20));
	/* The thread model writes "connected" after starting the thread, which may be done first. */
	assert_true(harness_wait_log(server, traits(model)->connected, 20, T));
	char *log = harness_log(server);
	assert_int_equal(harness_count(log, traits(model)->connected), 20);
	assert_int_equal(harness_count(log, "client 127.0.0.1:"), 40);
	free(log);
	stop_server(server);
}

/*
 * 5. -c 5 with 50 simultaneous clients: never more than 5 served at once,
 * all 50 served. What -c caps is the model's: in fork and prefork the
 * children (a child per connection, a worker each) never pass 5 and reach
 * it; in every model, the clients that answer at one look (all of them
 * still connected) are never more than 5.
 */
static void max_children_is_a_hard_cap(const char *model)
{
	enum { CLIENTS = 50, CAP = 5 };
	const struct model_traits *tr = traits(model);
	struct process *server = start_model(model, loopback, (const char *[]){"-c", "5", NULL});
	int fds[CLIENTS];
	bool served[CLIENTS] = {false};
	for (int i = 0; i < CLIENTS; i++) {
		fds[i] = harness_connect("127.0.0.1", server->port);
		assert_true(harness_send(fds[i], "x", 1, T));
	}
	int done = 0;
	size_t most = 0;
	while (done < CLIENTS) {
		/* Those being served answer; take their echoes, then let them go. */
		int answered = 0;
		for (int i = 0; i < CLIENTS; i++) {
			char back;
			if (served[i] || harness_quiet_for(fds[i], 0))
				continue;
			assert_true(harness_receive(fds[i], &back, 1, T));
			served[i] = true;
			answered++;
		}
		/* Each of them still connected: the server holds them all at once. */
		assert_true(answered <= CAP);
		if (tr->capped_processes) {
			size_t alive = harness_children(server->pid, NULL, 0, NULL);
			if (alive > most)
				most = alive;
			assert_true(alive <= CAP);
		}
		if (answered == 0) {
			assert_true(harness_wait_log(server, tr->connected, done + 1, T));
			continue;
		}
		for (int i = 0; i < CLIENTS; i++)
			if (served[i] && fds[i] >= 0) {
				harness_close(fds[i]);
				fds[i] = -1;
				done++;
			}
	}
	if (tr->capped_processes)
		assert_int_equal(most, CAP);
	assert_true(harness_wait_log(server, tr->connected, CLIENTS, T)); /* see each_connection_is_logged */
	char *log = harness_log(server);
	assert_int_equal(harness_count(log, tr->connected), CLIENTS);
	/* Only the fork model warns at its limit (prefork and thread say nothing: reported). */
	if (tr->child_per_connection)
		assert_true(harness_count(log, "limit of 5 children reached") >= 1);
	free(log);
	stop_server(server);
}

/*
 * 6. The process serving a connection (fork's child, prefork's worker),
 * killed by SIGKILL, is reaped and the connection's line written, and the
 * server goes on.
 */
static void killed_child_is_reaped_and_logged(const char *model)
{
	bool fork_like = traits(model)->child_per_connection;
	struct process *server = start_model(model, loopback, NULL);
	int victim = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(victim, "abc", T));
	pid_t child = fork_like ? only_child(server) : serving_child(server);
	wait_asleep(child); /* it has counted the 3 bytes (a kill just after its write would lose them) */
	assert_int_equal(kill(child, SIGKILL), 0);
	assert_true(harness_wait_log(server, "killed by SIGKILL, 3 bytes echoed", 1, T));
	assert_true(harness_wait_eof(victim, T));
	/* fork: no child left; prefork: that worker reaped (the pool replaces it). */
	if (fork_like)
		assert_true(harness_wait_children(server->pid, 0, T));
	else
		assert_true(wait_gone(child, T));
	int next = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(next, "next", T));
	stop_server(server);
}

/*
 * 7. SIGTERM with 10 clients connected: server and children gone, exit
 * status 0, each connection's end logged, the port closed.
 */
static void sigterm_stops_server_and_children(const char *model)
{
	enum { CLIENTS = 10 };
	const struct model_traits *tr = traits(model);
	struct process *server = start_model(model, loopback, (const char *[]){"--grace", "3", NULL});
	int fds[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		fds[i] = harness_connect("127.0.0.1", server->port);
		assert_true(harness_echo_once(fds[i], "x", T));
	}
	pid_t children[64];
	size_t count = harness_children(server->pid, children, 64, NULL);
	assert_true(count <= 64);
	if (tr->child_per_connection)
		assert_int_equal(count, CLIENTS);
	assert_int_equal(kill(server->pid, SIGTERM), 0);
	/* Echo children and workers end on SIGTERM at once, well inside the 3 s grace period. */
	assert_true(harness_wait_exit(server, 3000 + T));
	assert_true(WIFEXITED(server->status));
	assert_int_equal(WEXITSTATUS(server->status), 0);
	for (size_t i = 0; i < count; i++)
		assert_false(harness_process_exists(children[i]));
	for (int i = 0; i < CLIENTS; i++)
		assert_true(harness_wait_eof(fds[i], T));
	assert_int_equal(harness_reap_orphans(), 0);
	char *log = harness_log(server);
	if (tr->child_per_connection)
		assert_int_equal(harness_count(log, "killed by SIGTERM"), CLIENTS);
	/* One line for each connection: "killed by SIGTERM" (fork, prefork), "thread cut short by the stop" */
	if (tr->stopped_word != NULL)
		assert_int_equal(count_stopped(log, model), CLIENTS);
	assert_int_equal(harness_count(log, "killing"), 0);
	assert_int_equal(harness_count(log, "stopped"), 1);
	free(log);
	/* The port is closed: a new client is refused. */
	int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(server->port),
				      .sin_addr.s_addr = htonl(0x7f000001)};
	assert_int_not_equal(connect(probe, (struct sockaddr *)&address, sizeof address), 0);
	close(probe);
}

/* 7b. Stopped children are continued so that they see SIGTERM; nothing waits for the grace period. */
static void sigterm_reaches_stopped_children(const char *model)
{
	struct process *server = start_model(model, loopback, (const char *[]){"--grace", "60", NULL});
	int fd = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(fd, "x", T));
	pid_t children[64];
	size_t count = harness_children(server->pid, children, 64, NULL);
	assert_true(count >= 1 && count <= 64);
	if (traits(model)->child_per_connection)
		assert_int_equal(count, 1);
	/* All of them: the one serving the client, and prefork's idle workers. */
	for (size_t i = 0; i < count; i++)
		assert_int_equal(kill(children[i], SIGSTOP), 0);
	assert_int_equal(kill(server->pid, SIGTERM), 0);
	if (!harness_wait_exit(server, T)) { /* far less than the 60 s grace */
		harness_dump_log(server, "server that did not stop");
		fail_msg("server did not exit after SIGTERM");
	}
	assert_int_equal(WEXITSTATUS(server->status), 0);
	/* fork and prefork: "killed by SIGTERM"; thread: "thread cut short by the stop" */
	const char *stopped = traits(model)->stopped_word;
	if (stopped != NULL && !harness_wait_log(server, stopped, 1, T)) {
		harness_dump_log(server, "server");
		fail_msg("no \"%s\" in the log", stopped);
	}
	for (size_t i = 0; i < count; i++)
		assert_false(harness_process_exists(children[i]));
}

/*
 * 7c. A child that survives SIGTERM is killed when the grace period ends.
 * -c 1: one child serves in every model (prefork would otherwise grow its
 * pool beside the traced worker while that one is busy).
 */
static void grace_period_ends_with_sigkill(const char *model)
{
	struct process *server =
		start_model(model, loopback, (const char *[]){"--grace", "1", "-c", "1", NULL});
	pid_t child = connect_one(server);
	/*
	 * Trace the child: a traced process stops at each signal and waits for its
	 * tracer, which here never lets SIGTERM through. Only SIGKILL ends it,
	 * which is exactly the child the grace period exists for. (The thread
	 * model's worker takes signals in its main thread, the one traced: its
	 * other threads block them all.)
	 */
	assert_int_equal(ptrace(PTRACE_SEIZE, child, NULL, NULL), 0);
	assert_int_equal(kill(server->pid, SIGTERM), 0);
	expect_traced_child_killed(child);
	assert_true(harness_wait_exit(server, T));
	assert_int_equal(WEXITSTATUS(server->status), 0);
	assert_true(harness_wait_log(server, "killing 1 child still running", 1, 0));
	assert_true(harness_wait_log(server, "killed by SIGKILL", 1, 0));
}

/* 7d. A second SIGTERM during the grace period cuts it short (-c 1: see 7c). */
static void second_signal_skips_grace(const char *model)
{
	struct process *server =
		start_model(model, loopback, (const char *[]){"--grace", "600", "-c", "1", NULL});
	pid_t child = connect_one(server);
	assert_int_equal(ptrace(PTRACE_SEIZE, child, NULL, NULL), 0);
	assert_int_equal(kill(server->pid, SIGTERM), 0);
	assert_true(harness_wait_log(server, "asking 1 child to stop", 1, T));
	assert_int_equal(kill(server->pid, SIGINT), 0);
	expect_traced_child_killed(child);
	assert_true(harness_wait_exit(server, T));
	assert_int_equal(WEXITSTATUS(server->status), 0);
	assert_true(harness_wait_log(server, "second stop signal", 1, 0));
}

/*
 * A server killed outright (kill -9) leaves no child behind: they get
 * SIGTERM from the kernel. -c 3 with 3 clients: prefork has its 3 workers
 * busy and no room to start one more meanwhile.
 */
static void server_death_takes_children_along(const char *model)
{
	struct process *server = start_model(model, loopback, (const char *[]){"-c", "3", NULL});
	int fds[3];
	for (int i = 0; i < 3; i++) {
		fds[i] = harness_connect("127.0.0.1", server->port);
		assert_true(harness_echo_once(fds[i], "x", T));
	}
	int children = (int)harness_children(server->pid, NULL, 0, NULL);
	assert_true(children >= 1);
	if (traits(model)->capped_processes)
		assert_int_equal(children, 3);
	assert_int_equal(kill(server->pid, SIGKILL), 0); /* only the server, not its group */
	assert_true(harness_wait_exit(server, T));
	for (int i = 0; i < 3; i++)
		assert_true(harness_wait_eof(fds[i], T));
	/* They were orphaned to us (the subreaper) and are gone: all reaped, none left. */
	assert_int_equal(harness_reap_orphans(), children);
	assert_int_equal(harness_children(getpid(), NULL, 0, NULL), 0);
}

/* 9. IPv6: the readiness line shows [::1]:PORT and the echo works over ::1. */
static void ipv6_loopback(const char *model)
{
	struct process *server = start_model(model, (const char *[]){"-b", "::1", "-p", "0", NULL}, NULL);
	char expected[64];
	snprintf(expected, sizeof expected, "listening on [::1]:%u ", server->port);
	assert_true(harness_wait_log(server, expected, 1, 0));
	int fd = harness_connect("::1", server->port);
	assert_true(harness_echo_once(fd, "over IPv6\n", T));
	assert_true(harness_wait_log(server, "client [::1]:", 1, T));
	stop_server(server);
}

/* With no -b, one server answers on IPv6 and IPv4 alike (two listeners, in every model). */
static void default_bind_is_dual_stack(const char *model)
{
	struct process *server = start_model(model, (const char *[]){"-p", "0", NULL}, NULL);
	int v6 = harness_connect("::1", server->port);
	assert_true(harness_echo_once(v6, "six", T));
	/* The iterative model serves one at a time: the IPv6 client leaves first. */
	if (!traits(model)->concurrent)
		harness_close(v6);
	int v4 = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(v4, "four", T));
	/* IPv4 peers are logged as IPv4, not as ::ffff:127.0.0.1. */
	assert_true(harness_wait_log(server, "client 127.0.0.1:", 1, T));
	assert_true(harness_wait_log(server, "client [::1]:", 1, T));
	stop_server(server);
}

/*
 * EMFILE on accept: logged once (not once a second while it lasts), the
 * accepting process pauses instead of spinning, serves once it can, and
 * then says how many more errors there were. The accepting process is the
 * server (fork, iterative) or its worker (prefork, thread: -c 1 keeps
 * prefork to one worker, and a first connection shows it ready).
 */
static void accept_out_of_descriptors(const char *model)
{
	const struct model_traits *tr = traits(model);
	struct process *server =
		start_model(model, loopback, tr->accepts_in_child ? (const char *[]){"-c", "1", NULL} : NULL);
	/*
	 * A first connection, so that the descriptors counted are all there: a
	 * model sets up after its "listening on" line (fork's children table is
	 * a memfd made then), and prefork's worker must be ready.
	 */
	int first = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(first, "first", T));
	harness_close(first);
	assert_true(wait_ended(server, model, 5, 1)); /* its descriptor closed, its child reaped */
	pid_t acceptor = tr->accepts_in_child ? only_child(server) : server->pid;
	/* Leave the acceptor no room for one more descriptor. */
	struct rlimit old, tight;
	assert_int_equal(prlimit(acceptor, RLIMIT_NOFILE, NULL, &old), 0);
	tight = old;
	tight.rlim_cur = harness_fd_count(acceptor);
	assert_int_equal(prlimit(acceptor, RLIMIT_NOFILE, &tight, NULL), 0);

	int fd = harness_connect("127.0.0.1", server->port);
	assert_true(harness_send(fd, "wait", 4, T));
	/* strerror's wording is the C library's (glibc and musl differ): match forknet's own words. */
	assert_true(harness_wait_log(server, "; not accepting for", 1, T));
	/* Paused, not spinning: over two seconds it must use well under a second of CPU. */
	unsigned long before = harness_cpu_ticks(acceptor);
	assert_true(harness_quiet_for(fd, 2000));
	unsigned long used = harness_cpu_ticks(acceptor) - before;
	assert_true(used < (unsigned long)sysconf(_SC_CLK_TCK) / 2);
	/* Retried all the while (50 ms, doubling to 1 s), but said once. */
	char *log = harness_log(server);
	assert_int_equal(harness_count(log, "; not accepting for"), 1);
	free(log);

	assert_int_equal(prlimit(acceptor, RLIMIT_NOFILE, &old, NULL), 0);
	char back[4];
	assert_true(harness_receive(fd, back, 4, T));
	assert_memory_equal(back, "wait", 4);
	assert_true(harness_wait_log(server, "warning: accepting again, after ", 1, T));
	log = harness_log(server);
	assert_int_equal(harness_count(log, "; not accepting for"), 1);
	free(log);
	stop_server(server);
}

/*
 * Started with standard input and output closed, the server still keeps its
 * sockets apart from them: no socket lands on descriptors 0-2, in the
 * server or its children, and the server holds only its listener.
 */
static void closed_standard_descriptors(const char *model)
{
	struct spawn_options options = {.nproc_limit = -1, .closed = 1u << 0 | 1u << 1};
	struct process *server = harness_spawn(
		(const char *[]){"echo-server", "-b", "127.0.0.1", "-p", "0", "-m", model, NULL}, &options);
	assert_true(harness_wait_log(server, "listening on 127.0.0.1:", 1, T));
	char *log = harness_log(server);
	server->port = (uint16_t)strtoul(strstr(log, "127.0.0.1:") + 10, NULL, 10);
	free(log);
	int fd = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(fd, "hello", T));
	unsigned long sockets[4];
	if (traits(model)->child_per_connection) {
		/* The child may echo before the parent, back from fork(), has closed its copy of the connection. */
		struct timespec start;
		clock_gettime(CLOCK_MONOTONIC, &start);
		while (harness_socket_inodes(server->pid, sockets, 4) != 1 && harness_ms_since(start) < T)
			nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
		assert_int_equal(harness_socket_inodes(server->pid, sockets, 4), 1);
		assert_true(harness_inode_listening(sockets[0]));
		pid_t child = only_child(server);
		assert_int_equal(harness_socket_inodes(child, sockets, 4), 1);
		assert_int_equal(harness_fd_count(child), 4);
	}
	pid_t children[16];
	size_t count = harness_children(server->pid, children, 16, NULL);
	assert_true(count <= 16);
	for (int std = 0; std <= 2; std++) {
		assert_false(socket_at(server->pid, std));
		for (size_t i = 0; i < count; i++)
			assert_false(socket_at(children[i], std));
	}
	/* Once the connection has ended (the iterative model serves it itself), only the listener is left. */
	harness_close(fd);
	assert_true(wait_ended(server, model, 5, 1));
	assert_int_equal(harness_socket_inodes(server->pid, sockets, 4), 1);
	assert_true(harness_inode_listening(sockets[0]));
	stop_server(server);
}

/*
 * Ctrl-C in a terminal (SIGINT to the whole group): children are stopped by
 * the parent, in order. Workers started ahead of the clients (prefork,
 * thread) get -c 3: with 3 clients each worker is then busy serving, so
 * settled in a process group of its own; a spare one could still be
 * starting, in the server's group, and die of the SIGINT (reported).
 */
static void ctrl_c_to_the_process_group(const char *model)
{
	const struct model_traits *tr = traits(model);
	struct process *server = start_model(
		model, loopback, tr->accepts_in_child ? (const char *[]){"-c", "3", NULL} : NULL);
	int fds[3];
	for (int i = 0; i < 3; i++) {
		fds[i] = harness_connect("127.0.0.1", server->port);
		assert_true(harness_echo_once(fds[i], "x", T));
	}
	assert_int_equal(kill(-server->pid, SIGINT), 0);
	assert_true(harness_wait_exit(server, T));
	assert_true(WIFEXITED(server->status));
	assert_int_equal(WEXITSTATUS(server->status), 0);
	assert_int_equal(harness_reap_orphans(), 0);
	char *log = harness_log(server);
	assert_int_equal(harness_count(log, "SIGINT received: stopping"), 1);
	if (tr->child_per_connection)
		assert_int_equal(harness_count(log, "killed by SIGTERM"), 3);
	/* Each connection ended by the server's stop, in the model's words. */
	if (tr->stopped_word != NULL)
		assert_int_equal(count_stopped(log, model), 3);
	assert_int_equal(harness_count(log, "killed by SIGINT"), 0);
	assert_int_equal(harness_count(log, " warning: "), 0);
	free(log);
}

/*
 * ---- Tests that run once ----
 *
 * The iterative model's own; the fork model's (a child per connection and
 * its descriptors, fork() failing, the limit's warning); and what happens
 * before any model runs (the bind, --print-port), the same in all. Those
 * that name no model use the default, fork.
 */

/* 1b. iterative model: the second client waits until the first one leaves. */
static void test_iterative_serves_one_at_a_time(void **state)
{
	(void)state;
	struct process *server = harness_start_server(
		(const char *[]){"-b", "127.0.0.1", "-p", "0", "-m", "iterative", NULL});
	int first = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(first, "first\n", T));
	int second = harness_connect("127.0.0.1", server->port);
	assert_true(harness_send(second, "second\n", 7, T));
	/* An observation window, not a speed limit: the server must stay silent while busy. */
	assert_true(harness_quiet_for(second, 300));
	assert_int_equal(harness_children(server->pid, NULL, 0, NULL), 0);
	harness_close(first);
	char back[7];
	assert_true(harness_receive(second, back, sizeof back, T));
	assert_memory_equal(back, "second\n", 7);
	stop_server(server);
}

/* 4. No child holds the listening socket; the parent holds no connected socket. */
static void test_descriptors_split_between_parent_and_children(void **state)
{
	(void)state;
	enum { CLIENTS = 3 };
	struct process *server = harness_start_server((const char *[]){"-b", "127.0.0.1", "-p", "0", NULL});
	int fds[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		fds[i] = harness_connect("127.0.0.1", server->port);
		assert_true(harness_echo_once(fds[i], "x", T));
	}
	/* The parent logs "connected" after closing its copy of the socket. */
	assert_true(harness_wait_log(server, "connected, child", CLIENTS, T));

	unsigned long parent_sockets[16];
	size_t parent_count = harness_socket_inodes(server->pid, parent_sockets, 16);
	assert_int_equal(parent_count, 1);
	for (size_t i = 0; i < parent_count; i++)
		assert_true(harness_inode_listening(parent_sockets[i]));

	pid_t children[CLIENTS];
	assert_int_equal(harness_children(server->pid, children, CLIENTS, NULL), CLIENTS);
	for (int c = 0; c < CLIENTS; c++) {
		unsigned long sockets[16];
		size_t count = harness_socket_inodes(children[c], sockets, 16);
		assert_int_equal(count, 1);
		assert_false(harness_inode_listening(sockets[0]));
		assert_int_not_equal(sockets[0], parent_sockets[0]);
		/* Standard input, output, error and the connection: nothing else leaked in. */
		assert_int_equal(harness_fd_count(children[c]), 4);
	}
	stop_server(server);
}

/* An IPv4-mapped address given to -b listens as the IPv4 address it carries. */
static void test_bind_ipv4_mapped(void **state)
{
	(void)state;
	struct process *server =
		harness_start_server((const char *[]){"-b", "::ffff:127.0.0.1", "-p", "0", NULL});
	char expected[64];
	snprintf(expected, sizeof expected, "listening on 127.0.0.1:%u ", server->port);
	assert_true(harness_wait_log(server, expected, 1, 0));
	int fd = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(fd, "mapped", T));
	stop_server(server);
}

/* 10b. A port in use: non-zero exit and "Address already in use" in one line. */
static void test_port_in_use(void **state)
{
	(void)state;
	struct process *first = harness_start_server((const char *[]){"-b", "127.0.0.1", "-p", "0", NULL});
	char port[16];
	snprintf(port, sizeof port, "%u", first->port);
	struct process *second =
		harness_spawn((const char *[]){"echo-server", "-b", "127.0.0.1", "-p", port, NULL}, NULL);
	assert_true(harness_wait_exit(second, T));
	assert_true(WIFEXITED(second->status));
	assert_int_equal(WEXITSTATUS(second->status), 69);
	char *log = harness_log(second);
	/* One line; the reason in the C library's words (glibc and musl word EADDRINUSE differently). */
	char expected[96];
	snprintf(expected, sizeof expected, "forknet: bind 127.0.0.1:%s: Address ", port);
	assert_true(strncmp(log, expected, strlen(expected)) == 0);
	assert_true(strstr(log, "in use\n") != NULL);
	assert_int_equal(harness_count(log, "\n"), 1);
	free(log);
	stop_server(first);
}

/* fork() failing (EAGAIN): logged, that connection closed, the server goes on. */
static void test_fork_failure_is_survived(void **state)
{
	(void)state;
	/* RLIMIT_NPROC 0 for a non-root user: every fork fails with EAGAIN. */
	struct spawn_options options = {.unprivileged = true, .nproc_limit = 0};
	struct process *server = harness_spawn(
		(const char *[]){"echo-server", "-b", "127.0.0.1", "-p", "0", NULL}, &options);
	assert_true(harness_wait_log(server, "listening on 127.0.0.1:", 1, T));
	char *log = harness_log(server);
	server->port = (uint16_t)strtoul(strstr(log, "127.0.0.1:") + 10, NULL, 10);
	free(log);

	int refused = harness_connect("127.0.0.1", server->port);
	assert_true(harness_wait_log(server, "Resource temporarily unavailable; connection closed", 1, T));
	assert_true(harness_wait_eof(refused, T));
	assert_int_equal(harness_children(server->pid, NULL, 0, NULL), 0);

	assert_true(harness_lift_nproc_limit(server));
	int fd = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(fd, "after", T));
	stop_server(server);
}

/* The iterative server stops at once on SIGTERM, even in the middle of a connection. */
static void test_iterative_stops_while_serving(void **state)
{
	(void)state;
	struct process *server = harness_start_server(
		(const char *[]){"-b", "127.0.0.1", "-p", "0", "-m", "iterative", NULL});
	int fd = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(fd, "busy", T));
	stop_server(server);
	assert_true(harness_wait_eof(fd, T));
	assert_true(harness_wait_log(server, "cut short by the stop, 4 bytes echoed", 1, 0));
}

/* In the iterative model only a stop signal cuts the connection short; SIGCHLD does not. */
static void test_iterative_ignores_other_signals(void **state)
{
	(void)state;
	struct process *server = harness_start_server(
		(const char *[]){"-b", "127.0.0.1", "-p", "0", "-m", "iterative", NULL});
	int fd = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(fd, "before", T));
	assert_int_equal(kill(server->pid, SIGCHLD), 0);
	assert_true(harness_echo_once(fd, "after", T));
	harness_close(fd);
	assert_true(harness_wait_log(server, "closed, 11 bytes echoed", 1, T));
	stop_server(server);
}

/*
 * --print-port: the port, and only the port, on standard output as soon as
 * the server listens, for scripts that would otherwise race the log; the
 * same port as the "listening on" line; and a standard output that cannot
 * take it is an error, not a silent start.
 */
static void test_print_port(void **state)
{
	(void)state;
	static const struct spawn_options piped = {.stdout_pipe = true, .nproc_limit = -1};
	struct process *server = harness_spawn(
		(const char *[]){"echo-server", "-b", "127.0.0.1", "-p", "0", "--print-port", NULL},
		&piped);
	char line[32];
	assert_true(harness_read_line(server->stdout_fd, line, sizeof line, T));
	char *end;
	unsigned long port = strtoul(line, &end, 10);
	assert_true(*end == '\0' && port > 0 && port < 65536);
	assert_true(harness_wait_listening(server, T));
	assert_int_equal(server->port, port);
	int fd = harness_connect("127.0.0.1", (uint16_t)port);
	assert_true(harness_echo_once(fd, "found it", T));
	assert_true(harness_quiet_for(server->stdout_fd, 100)); /* nothing more on standard output */
	stop_server(server);

	static const struct spawn_options full = {.stdout_file = "/dev/full", .nproc_limit = -1};
	struct process *failing = harness_spawn(
		(const char *[]){"echo-server", "-b", "127.0.0.1", "-p", "0", "--print-port", NULL},
		&full);
	assert_true(harness_wait_exit(failing, T));
	assert_true(WIFEXITED(failing->status));
	assert_int_equal(WEXITSTATUS(failing->status), 74);
	assert_true(harness_wait_log(failing,
				     "forknet: write the port to standard output: No space left on device\n",
				     1, 0));
	assert_int_equal(harness_reap_orphans(), 0);
}

/* A saturated server says so at -q too: the limit is a warning (at most once a minute). */
static void test_limit_shown_when_quiet(void **state)
{
	(void)state;
	struct process *server =
		harness_start_server((const char *[]){"-b", "127.0.0.1", "-p", "0", "-q", "-c", "1", NULL});
	int first = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(first, "one", T));
	int second = harness_connect("127.0.0.1", server->port);
	assert_true(harness_send(second, "two", 3, T));
	assert_true(harness_wait_log(server, " warning: limit of 1 child reached: new connections wait", 1, T));
	harness_close(first);
	char back[3];
	assert_true(harness_receive(second, back, 3, T));
	assert_memory_equal(back, "two", 3);
	char *log = harness_log(server);
	assert_int_equal(harness_count(log, " info: "), 0); /* -q: nothing at info */
	assert_int_equal(harness_count(log, "limit of 1 child"), 1);
	free(log);
	stop_server(server);
}

/* ---- Each test for each model ---- */

static const struct harness_model_test model_tests[] = {
	{"serves_clients_concurrently", serves_clients_concurrently, needs_concurrency},
	{"binary_payload_echoed_exactly", binary_payload_echoed_exactly, NULL},
	{"many_connections_leave_no_zombies", many_connections_leave_no_zombies, needs_concurrency},
	{"each_connection_is_logged", each_connection_is_logged, NULL},
	{"max_children_is_a_hard_cap", max_children_is_a_hard_cap, needs_concurrency},
	{"killed_child_is_reaped_and_logged", killed_child_is_reaped_and_logged, needs_process_per_connection},
	{"sigterm_stops_server_and_children", sigterm_stops_server_and_children, needs_concurrency},
	{"sigterm_reaches_stopped_children", sigterm_reaches_stopped_children, needs_children},
	{"grace_period_ends_with_sigkill", grace_period_ends_with_sigkill, needs_children},
	{"second_signal_skips_grace", second_signal_skips_grace, needs_children},
	{"server_death_takes_children_along", server_death_takes_children_along, needs_children},
	{"ipv6_loopback", ipv6_loopback, NULL},
	{"default_bind_is_dual_stack", default_bind_is_dual_stack, NULL},
	{"accept_out_of_descriptors", accept_out_of_descriptors, needs_known_acceptor},
	{"closed_standard_descriptors", closed_standard_descriptors, NULL},
	{"ctrl_c_to_the_process_group", ctrl_c_to_the_process_group, needs_children},
};
#define MODEL_TEST_COUNT (sizeof model_tests / sizeof model_tests[0])

/* One test for one model: what each generated cmocka test's state points to. */
static const struct CMUnitTest single_tests[] = {
	cmocka_unit_test_setup_teardown(test_iterative_serves_one_at_a_time, harness_setup, harness_teardown),
	cmocka_unit_test_setup_teardown(test_descriptors_split_between_parent_and_children, harness_setup, harness_teardown),
	cmocka_unit_test_setup_teardown(test_bind_ipv4_mapped, harness_setup, harness_teardown),
	cmocka_unit_test_setup_teardown(test_port_in_use, harness_setup, harness_teardown),
	cmocka_unit_test_setup_teardown(test_fork_failure_is_survived, harness_setup, harness_teardown),
	cmocka_unit_test_setup_teardown(test_iterative_stops_while_serving, harness_setup, harness_teardown),
	cmocka_unit_test_setup_teardown(test_iterative_ignores_other_signals, harness_setup, harness_teardown),
	cmocka_unit_test_setup_teardown(test_print_port, harness_setup, harness_teardown),
	cmocka_unit_test_setup_teardown(test_limit_shown_when_quiet, harness_setup, harness_teardown),
};
#define SINGLE_TEST_COUNT (sizeof single_tests / sizeof single_tests[0])

int main(void)
{
	size_t count;
	struct CMUnitTest *tests = harness_model_tests(single_tests, SINGLE_TEST_COUNT, model_tests,
						      MODEL_TEST_COUNT, &count);
	return _cmocka_run_group_tests("echo-server", tests, count, NULL, NULL);
}
