/*
 * Integration tests of `forknet echo-server`: the real binary on loopback,
 * port 0, observed through its sockets, its log and /proc.
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

/* 1a. fork model: a second client is served while the first is connected and idle. */
static void test_fork_serves_clients_concurrently(void **state)
{
	(void)state;
	struct process *server = harness_start_server((const char *[]){"-b", "127.0.0.1", "-p", "0", NULL});
	int idle = harness_connect("127.0.0.1", server->port);
	assert_true(harness_wait_log(server, "connected, child", 1, T));
	int second = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(second, "hello\n", T));
	assert_true(harness_echo_once(idle, "still here\n", T));
	stop_server(server);
}

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

/* 2. Binary data of 4 MiB with NUL bytes comes back byte for byte. */
static void test_binary_payload_echoed_exactly(void **state)
{
	(void)state;
	enum { SIZE = 4 << 20 };
	struct process *server = harness_start_server((const char *[]){"-b", "127.0.0.1", "-p", "0", NULL});
	char *data = malloc(SIZE);
	assert_non_null(data);
	harness_random_bytes(data, SIZE, 42);
	assert_non_null(memchr(data, 0, SIZE));
	int fd = harness_connect("127.0.0.1", server->port);
	bool same = harness_echo_exchange(fd, data, SIZE, 60000);
	free(data);
	assert_true(same);
	assert_true(harness_wait_log(server, "exited 0, 4194304 bytes echoed", 1, T));
	stop_server(server);
}

/* 3. 300 short connections, 50 at a time: no zombie stays, and the children go back to 0. */
static void test_many_connections_leave_no_zombies(void **state)
{
	(void)state;
	enum { BATCH = 50, ROUNDS = 6 };
	struct process *server = harness_start_server((const char *[]){"-b", "127.0.0.1", "-p", "0", "-q", NULL});
	for (int round = 0; round < ROUNDS; round++) {
		int fds[BATCH];
		for (int i = 0; i < BATCH; i++)
			fds[i] = harness_connect("127.0.0.1", server->port);
		for (int i = 0; i < BATCH; i++)
			assert_true(harness_echo_once(fds[i], "ping", T));
		for (int i = 0; i < BATCH; i++)
			harness_close(fds[i]);
		/* Reaping must follow SIGCHLD, not the next connection: with no new client, all go. */
		if (!harness_wait_children(server->pid, 0, T)) {
			size_t zombies;
			size_t left = harness_children(server->pid, NULL, 0, &zombies);
			fail_msg("round %d: %zu children left, %zu of them zombies", round, left, zombies);
		}
	}
	stop_server(server);
}

/* 3b. With the default log level, every connection has its two lines, all exited 0. */
static void test_each_connection_is_logged(void **state)
{
	(void)state;
	struct process *server = harness_start_server((const char *[]){"-b", "127.0.0.1", "-p", "0", NULL});
	for (int i = 0; i < 20; i++) {
		int fd = harness_connect("127.0.0.1", server->port);
		assert_true(harness_echo_once(fd, "hi", T));
		harness_close(fd);
	}
	assert_true(harness_wait_log(server, "exited 0, 2 bytes echoed in", 20, T));
	char *log = harness_log(server);
	assert_int_equal(harness_count(log, "connected, child "), 20);
	assert_int_equal(harness_count(log, "client 127.0.0.1:"), 40);
	free(log);
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

/* 5. -c 5 with 50 simultaneous clients: never more than 5 children, all 50 served. */
static void test_max_children_is_a_hard_cap(void **state)
{
	(void)state;
	enum { CLIENTS = 50, CAP = 5 };
	struct process *server =
		harness_start_server((const char *[]){"-b", "127.0.0.1", "-p", "0", "-c", "5", NULL});
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
		size_t alive = harness_children(server->pid, NULL, 0, NULL);
		if (alive > most)
			most = alive;
		assert_true(alive <= CAP);
		if (answered == 0) {
			assert_true(harness_wait_log(server, "connected, child", done + 1, T));
			continue;
		}
		for (int i = 0; i < CLIENTS; i++)
			if (served[i] && fds[i] >= 0) {
				harness_close(fds[i]);
				fds[i] = -1;
				done++;
			}
	}
	assert_int_equal(most, CAP);
	char *log = harness_log(server);
	assert_int_equal(harness_count(log, "connected, child"), CLIENTS);
	assert_true(harness_count(log, "limit of 5 children reached") >= 1);
	free(log);
	stop_server(server);
}

/* 6. A child killed by SIGKILL is reaped and logged, and the server goes on. */
static void test_killed_child_is_reaped_and_logged(void **state)
{
	(void)state;
	struct process *server = harness_start_server((const char *[]){"-b", "127.0.0.1", "-p", "0", NULL});
	int victim = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(victim, "abc", T));
	pid_t child = only_child(server);
	assert_int_equal(kill(child, SIGKILL), 0);
	assert_true(harness_wait_log(server, "killed by SIGKILL, 3 bytes echoed", 1, T));
	assert_true(harness_wait_eof(victim, T));
	assert_true(harness_wait_children(server->pid, 0, T));
	int next = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(next, "next", T));
	stop_server(server);
}

/* 7. SIGTERM with 10 clients connected: server and children gone, exit status 0. */
static void test_sigterm_stops_server_and_children(void **state)
{
	(void)state;
	enum { CLIENTS = 10 };
	struct process *server = harness_start_server((const char *[]){"-b", "127.0.0.1", "-p", "0", "--grace", "3", NULL});
	int fds[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		fds[i] = harness_connect("127.0.0.1", server->port);
		assert_true(harness_echo_once(fds[i], "x", T));
	}
	pid_t children[CLIENTS];
	assert_int_equal(harness_children(server->pid, children, CLIENTS, NULL), CLIENTS);
	assert_int_equal(kill(server->pid, SIGTERM), 0);
	/* Echo children end on SIGTERM at once, well inside the 3 s grace period. */
	assert_true(harness_wait_exit(server, 3000 + T));
	assert_true(WIFEXITED(server->status));
	assert_int_equal(WEXITSTATUS(server->status), 0);
	for (int i = 0; i < CLIENTS; i++) {
		assert_false(harness_process_exists(children[i]));
		assert_true(harness_wait_eof(fds[i], T));
	}
	assert_int_equal(harness_reap_orphans(), 0);
	char *log = harness_log(server);
	assert_int_equal(harness_count(log, "killed by SIGTERM"), CLIENTS);
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

/* 7b. A stopped child is continued so that it sees SIGTERM; nothing waits for the grace period. */
static void test_sigterm_reaches_stopped_children(void **state)
{
	(void)state;
	struct process *server = harness_start_server(
		(const char *[]){"-b", "127.0.0.1", "-p", "0", "--grace", "60", NULL});
	pid_t child = connect_one(server);
	assert_int_equal(kill(child, SIGSTOP), 0);
	assert_int_equal(kill(server->pid, SIGTERM), 0);
	assert_true(harness_wait_exit(server, T)); /* far less than the 60 s grace */
	assert_int_equal(WEXITSTATUS(server->status), 0);
	assert_true(harness_wait_log(server, "killed by SIGTERM", 1, T));
	assert_false(harness_process_exists(child));
}

/* 7c. A child that survives SIGTERM is killed when the grace period ends. */
static void test_grace_period_ends_with_sigkill(void **state)
{
	(void)state;
	struct process *server = harness_start_server(
		(const char *[]){"-b", "127.0.0.1", "-p", "0", "--grace", "1", NULL});
	pid_t child = connect_one(server);
	/*
	 * Trace the child: a traced process stops at each signal and waits for its
	 * tracer, which here never lets SIGTERM through. Only SIGKILL ends it,
	 * which is exactly the child the grace period exists for.
	 */
	assert_int_equal(ptrace(PTRACE_SEIZE, child, NULL, NULL), 0);
	assert_int_equal(kill(server->pid, SIGTERM), 0);
	expect_traced_child_killed(child);
	assert_true(harness_wait_exit(server, T));
	assert_int_equal(WEXITSTATUS(server->status), 0);
	assert_true(harness_wait_log(server, "killing 1 child still running", 1, 0));
	assert_true(harness_wait_log(server, "killed by SIGKILL", 1, 0));
}

/* 7d. A second SIGTERM during the grace period cuts it short. */
static void test_second_signal_skips_grace(void **state)
{
	(void)state;
	struct process *server = harness_start_server(
		(const char *[]){"-b", "127.0.0.1", "-p", "0", "--grace", "600", NULL});
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

/* A server killed outright (kill -9) leaves no child behind: they get SIGTERM from the kernel. */
static void test_server_death_takes_children_along(void **state)
{
	(void)state;
	struct process *server = harness_start_server((const char *[]){"-b", "127.0.0.1", "-p", "0", NULL});
	int fds[3];
	for (int i = 0; i < 3; i++) {
		fds[i] = harness_connect("127.0.0.1", server->port);
		assert_true(harness_echo_once(fds[i], "x", T));
	}
	assert_int_equal(harness_children(server->pid, NULL, 0, NULL), 3);
	assert_int_equal(kill(server->pid, SIGKILL), 0); /* only the server, not its group */
	assert_true(harness_wait_exit(server, T));
	for (int i = 0; i < 3; i++)
		assert_true(harness_wait_eof(fds[i], T));
	/* They were orphaned to us (the subreaper) and are gone: three reaped, none left. */
	assert_int_equal(harness_reap_orphans(), 3);
	assert_int_equal(harness_children(getpid(), NULL, 0, NULL), 0);
}

/* 9. IPv6: the readiness line shows [::1]:PORT and the echo works over ::1. */
static void test_ipv6_loopback(void **state)
{
	(void)state;
	struct process *server = harness_start_server((const char *[]){"-b", "::1", "-p", "0", NULL});
	char expected[64];
	snprintf(expected, sizeof expected, "listening on [::1]:%u ", server->port);
	assert_true(harness_wait_log(server, expected, 1, 0));
	int fd = harness_connect("::1", server->port);
	assert_true(harness_echo_once(fd, "over IPv6\n", T));
	assert_true(harness_wait_log(server, "client [::1]:", 1, T));
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

/* With no -b, one server answers on IPv6 and IPv4 alike. */
static void test_default_bind_is_dual_stack(void **state)
{
	(void)state;
	struct process *server = harness_start_server((const char *[]){"-p", "0", NULL});
	int v6 = harness_connect("::1", server->port);
	assert_true(harness_echo_once(v6, "six", T));
	int v4 = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(v4, "four", T));
	/* IPv4 peers are logged as IPv4, not as ::ffff:127.0.0.1. */
	assert_true(harness_wait_log(server, "client 127.0.0.1:", 1, T));
	assert_true(harness_wait_log(server, "client [::1]:", 1, T));
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

/*
 * EMFILE on accept: logged once (not once a second while it lasts), the
 * server pauses instead of spinning, serves once it can, and then says how
 * many more errors there were.
 */
static void test_accept_out_of_descriptors(void **state)
{
	(void)state;
	struct process *server = harness_start_server((const char *[]){"-b", "127.0.0.1", "-p", "0", NULL});
	/* Leave the server no room for one more descriptor. */
	struct rlimit old, tight;
	assert_int_equal(prlimit(server->pid, RLIMIT_NOFILE, NULL, &old), 0);
	tight = old;
	tight.rlim_cur = harness_fd_count(server->pid);
	assert_int_equal(prlimit(server->pid, RLIMIT_NOFILE, &tight, NULL), 0);

	int fd = harness_connect("127.0.0.1", server->port);
	assert_true(harness_send(fd, "wait", 4, T));
	/* strerror's wording is the C library's (glibc and musl differ): match forknet's own words. */
	assert_true(harness_wait_log(server, "; not accepting for", 1, T));
	/* Paused, not spinning: over two seconds it must use well under a second of CPU. */
	unsigned long before = harness_cpu_ticks(server->pid);
	assert_true(harness_quiet_for(fd, 2000));
	unsigned long used = harness_cpu_ticks(server->pid) - before;
	assert_true(used < (unsigned long)sysconf(_SC_CLK_TCK) / 2);
	/* Retried all the while (50 ms, doubling to 1 s), but said once. */
	char *log = harness_log(server);
	assert_int_equal(harness_count(log, "; not accepting for"), 1);
	free(log);

	assert_int_equal(prlimit(server->pid, RLIMIT_NOFILE, &old, NULL), 0);
	char back[4];
	assert_true(harness_receive(fd, back, 4, T));
	assert_memory_equal(back, "wait", 4);
	assert_true(harness_wait_log(server, "warning: accepting again, after ", 1, T));
	log = harness_log(server);
	assert_int_equal(harness_count(log, "; not accepting for"), 1);
	free(log);
	stop_server(server);
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

/* Ctrl-C in a terminal (SIGINT to the whole group): children are stopped by the parent, in order. */
static void test_ctrl_c_to_the_process_group(void **state)
{
	(void)state;
	struct process *server = harness_start_server((const char *[]){"-b", "127.0.0.1", "-p", "0", NULL});
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
	assert_int_equal(harness_count(log, "killed by SIGTERM"), 3);
	assert_int_equal(harness_count(log, "killed by SIGINT"), 0);
	assert_int_equal(harness_count(log, " warning: "), 0);
	free(log);
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

/* Started with standard input and output closed, the server still keeps its sockets apart from them. */
static void test_closed_standard_descriptors(void **state)
{
	(void)state;
	struct spawn_options options = {.nproc_limit = -1, .closed = 1u << 0 | 1u << 1};
	struct process *server = harness_spawn(
		(const char *[]){"echo-server", "-b", "127.0.0.1", "-p", "0", NULL}, &options);
	assert_true(harness_wait_log(server, "listening on 127.0.0.1:", 1, T));
	char *log = harness_log(server);
	server->port = (uint16_t)strtoul(strstr(log, "127.0.0.1:") + 10, NULL, 10);
	free(log);
	int fd = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(fd, "hello", T));
	unsigned long sockets[4];
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fork_serves_clients_concurrently, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_iterative_serves_one_at_a_time, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_binary_payload_echoed_exactly, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_many_connections_leave_no_zombies, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_each_connection_is_logged, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_descriptors_split_between_parent_and_children, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_max_children_is_a_hard_cap, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_killed_child_is_reaped_and_logged, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_stops_server_and_children, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_reaches_stopped_children, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_grace_period_ends_with_sigkill, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_second_signal_skips_grace, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_server_death_takes_children_along, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_loopback, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_default_bind_is_dual_stack, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_bind_ipv4_mapped, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_port_in_use, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_accept_out_of_descriptors, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_fork_failure_is_survived, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_iterative_stops_while_serving, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_closed_standard_descriptors, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_c_to_the_process_group, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_iterative_ignores_other_signals, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_print_port, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_limit_shown_when_quiet, harness_setup, harness_teardown),
	};
	return cmocka_run_group_tests_name("echo-server", tests, NULL, NULL);
}
