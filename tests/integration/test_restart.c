/*
 * Integration tests of SIGHUP, the restart in place (src/server/restart.h),
 * in every model: the same pid runs the binary found at its path again, on
 * the same listening socket, without refusing or cutting a connection; and
 * a binary that cannot take over leaves the old image serving.
 *
 * Each test runs a copy of the binary from a directory of its own, so that
 * it can replace or remove "the installed binary" as an upgrade would.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#define T HARNESS_TIMEOUT_MS


static char directory[64]; /* the test's own copy of the binary lives here */
static char installed[PATH_MAX]; /* DIRECTORY/forknet */

/* Copies FROM to TO (a new file, mode 0755). Fails the test on error. */
static void copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	assert_true(in >= 0);
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	assert_true(out >= 0);
	char buffer[65536];
	ssize_t count;
	while ((count = read(in, buffer, sizeof buffer)) > 0)
		assert_int_equal(write(out, buffer, (size_t)count), count);
	assert_int_equal(count, 0);
	assert_int_equal(close(in), 0);
	assert_int_equal(close(out), 0);
}

static const char *built_binary(void)
{
	const char *path = getenv("FORKNET_BIN");
	return path != NULL ? path : "build/forknet";
}

/* Installs a fresh copy of the built binary at INSTALLED, as a new file (a new inode). */
static void install_binary(void)
{
	char next[PATH_MAX + 8];
	snprintf(next, sizeof next, "%s.new", installed);
	(void)unlink(next);
	copy_file(built_binary(), next);
	assert_int_equal(rename(next, installed), 0);
}

static int setup(void **state)
{
	snprintf(directory, sizeof directory, "/tmp/forknet-restart-XXXXXX");
	if (mkdtemp(directory) == NULL)
		return -1;
	snprintf(installed, sizeof installed, "%s/forknet", directory);
	return harness_setup(state);
}

static int teardown(void **state)
{
	int status = harness_teardown(state);
	char path[PATH_MAX + 8];
	(void)unlink(installed);
	snprintf(path, sizeof path, "%s.new", installed);
	(void)unlink(path);
	(void)rmdir(directory);
	return status;
}

/* Starts the installed copy as an echo server under MODEL, with EXTRA arguments (or NULL). */
static struct process *start(const char *model, const char *extra)
{
	const char *args[] = {"echo-server", "-b", "127.0.0.1", "-p", "0", "-m", model,
			      extra, NULL};
	struct process *server = harness_spawn_program(installed, args, NULL);
	if (!harness_wait_listening(server, T)) {
		harness_dump_log(server, "server");
		fail_msg("the server did not listen");
	}
	return server;
}

/* The inode of the one listening socket of PID. */
static unsigned long listener_of(pid_t pid)
{
	unsigned long inodes[16];
	unsigned long listener = 0;
	size_t count = harness_socket_inodes(pid, inodes, 16);
	for (size_t i = 0; i < count; i++)
		if (harness_inode_listening(inodes[i])) {
			assert_int_equal(listener, 0);
			listener = inodes[i];
		}
	assert_int_not_equal(listener, 0);
	return listener;
}

/* The inode /proc/PID/exe runs. */
static ino_t exe_inode(pid_t pid)
{
	char path[64];
	struct stat info;
	snprintf(path, sizeof path, "/proc/%ld/exe", (long)pid);
	assert_int_equal(stat(path, &info), 0);
	return info.st_ino;
}

/* Sends SIGHUP and waits for the COUNT-th "restarted in place". */
static void restart(struct process *server, int count)
{
	assert_int_equal(kill(server->pid, SIGHUP), 0);
	if (!harness_wait_log(server, "restarted in place", count, T)) {
		harness_dump_log(server, "server");
		fail_msg("no restart");
	}
}

/*
 * After an upgrade of the binary, SIGHUP makes the same pid run the new
 * one, on the same listening socket; a connection held across it (fork:
 * served by a child all along) goes on and is logged, bytes counted, by the
 * new image; and the counts go on from the old image's.
 */
static void restart_in_place(const char *model)
{
	install_binary();
	struct process *server = start(model, NULL);
	unsigned long listener = listener_of(server->pid);
	bool concurrent = strcmp(model, "iterative") != 0;

	int held = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(held, "before", T));
	if (!concurrent) {
		/* The iterative server restarts between connections: it waits for this one. */
		harness_close(held);
		assert_true(harness_wait_log(server, "closed", 1, T));
	}
	install_binary(); /* the upgrade: a new file at the same path */
	struct stat info;
	assert_int_equal(stat(installed, &info), 0);
	assert_int_not_equal(exe_inode(server->pid), info.st_ino);

	restart(server, 1);
	assert_int_equal(exe_inode(server->pid), info.st_ino);
	assert_int_equal(listener_of(server->pid), listener);
	if (concurrent) {
		assert_true(harness_echo_once(held, "after", T));
		harness_close(held);
		/* The old image's child, reaped by the new one: 6 + 5 bytes. */
		assert_true(harness_wait_log(server, "bytes echoed", 1, T));
		char *log = harness_log(server);
		assert_int_equal(harness_count(log, " 11 bytes echoed"), 1);
		free(log);
	}
	int fd = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(fd, "new", T));
	harness_close(fd);
	assert_true(harness_wait_log(server, "bytes echoed", 2, T));

	assert_int_equal(kill(server->pid, SIGUSR2), 0);
	assert_true(harness_wait_log(server, "status: ", 1, T));
	char *log = harness_log(server);
	assert_int_equal(harness_count(log, "2 served"), 1);
	free(log);

	assert_int_equal(kill(server->pid, SIGTERM), 0);
	assert_true(harness_wait_exit(server, T));
	assert_true(WIFEXITED(server->status));
	assert_int_equal(WEXITSTATUS(server->status), 0);
	assert_int_equal(harness_reap_orphans(), 0);
}

struct load {
	uint16_t port;
	int stop_fd;  /* readable (its other end closed by the test) when the client is to stop */
	int other_fd; /* that other end, which the client closes at once */
};

/*
 * A client that connects, echoes and closes in a loop until told to stop,
 * 5 ms apart: a few hundred connections a second overlap every restart,
 * and the server's log (two lines each, read whole by every wait) stays
 * small. Unpaced, a fast server logged a million lines in a minute, and
 * the test's own reading of them, slow under the sanitizers, timed it out.
 * 0 if all went well.
 */
static int load_client(void *arg)
{
	const struct load *load = arg;
	unsigned long done = 0;

	close(load->other_fd);
	for (;;) {
		struct pollfd stop = {.fd = load->stop_fd, .events = POLLIN};
		if (poll(&stop, 1, done > 0 ? 5 : 0) != 0)
			break;
		int fd = harness_connect("127.0.0.1", load->port);
		if (fd < 0) {
			printf("client: connection %lu refused: %s\n", done + 1, strerror(errno));
			return 1;
		}
		if (!harness_echo_once(fd, "0123456789abcdef", T)) {
			printf("client: connection %lu cut or unanswered\n", done + 1);
			return 1;
		}
		harness_close(fd);
		done++;
	}
	printf("client: %lu connections\n", done);
	return done > 0 ? 0 : 1;
}

/*
 * Four clients connect in a loop while the server restarts twice: not
 * one connection is refused or cut.
 */
static void restart_under_load(const char *model)
{
	enum { CLIENTS = 4, RESTARTS = 2 };
	install_binary();
	struct process *server = start(model, NULL);
	int stop[2];
	assert_int_equal(pipe(stop), 0);
	struct load load = {.port = server->port, .stop_fd = stop[0], .other_fd = stop[1]};
	struct process *clients[CLIENTS];
	for (int i = 0; i < CLIENTS; i++)
		clients[i] = harness_fork(load_client, &load);
	close(stop[0]);

	/* Restart only once connections flow. */
	assert_true(harness_wait_log(server, "bytes echoed", 8, T));
	for (int r = 1; r <= RESTARTS; r++) {
		int served;
		char *log = harness_log(server);
		served = harness_count(log, "bytes echoed");
		free(log);
		restart(server, r);
		assert_true(harness_wait_log(server, "bytes echoed", served + 8, T));
	}
	close(stop[1]);
	for (int i = 0; i < CLIENTS; i++) {
		assert_true(harness_wait_exit(clients[i], T));
		if (!WIFEXITED(clients[i]->status) || WEXITSTATUS(clients[i]->status) != 0) {
			harness_dump_log(clients[i], "client");
			harness_dump_log(server, "server");
			fail_msg("client %d failed (%s model)", i, model);
		}
	}
	char *log = harness_log(server);
	assert_int_equal(harness_count(log, " warning: "), 0);
	assert_int_equal(harness_count(log, " error: "), 0);
	free(log);
	assert_int_equal(kill(server->pid, SIGTERM), 0);
	assert_true(harness_wait_exit(server, T));
	assert_int_equal(WEXITSTATUS(server->status), 0);
	assert_int_equal(harness_reap_orphans(), 0);
}

/*
 * A restart that cannot happen leaves the old image serving, and says why:
 * the binary removed, then replaced by one that refuses to start.
 */
static void restart_fails(const char *model)
{
	install_binary();
	struct process *server = start(model, NULL);
	ino_t running = exe_inode(server->pid);
	unsigned long listener = listener_of(server->pid);

	assert_int_equal(unlink(installed), 0);
	assert_int_equal(kill(server->pid, SIGHUP), 0);
	assert_true(harness_wait_log(server, "restart failed", 1, T));
	int fd = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(fd, "still here", T));
	harness_close(fd);

	/* A "new version" that fails: its trial run exits 3 before any exec. */
	FILE *script = fopen(installed, "w");
	assert_non_null(script);
	fputs("#!/bin/sh\necho 'broken upgrade' >&2\nexit 3\n", script);
	assert_int_equal(fclose(script), 0);
	assert_int_equal(chmod(installed, 0755), 0);
	assert_int_equal(kill(server->pid, SIGHUP), 0);
	assert_true(harness_wait_log(server, "restart failed", 2, T));
	fd = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(fd, "and here", T));
	harness_close(fd);

	assert_int_equal(exe_inode(server->pid), running);
	assert_int_equal(listener_of(server->pid), listener);
	char *log = harness_log(server);
	assert_int_equal(harness_count(log, "No such file or directory"), 1);
	assert_int_equal(harness_count(log, "broken upgrade"), 1);
	assert_int_equal(harness_count(log, "exited 3; serving on"), 1);
	assert_int_equal(harness_count(log, "restarted in place"), 0);
	free(log);
	assert_int_equal(kill(server->pid, SIGTERM), 0);
	assert_true(harness_wait_exit(server, T));
	assert_int_equal(WEXITSTATUS(server->status), 0);
	assert_int_equal(harness_reap_orphans(), 0);
}

/* A SIGHUP during a graceful stop does not restart: the stop goes on. */
static void test_no_restart_while_stopping(void **state)
{
	(void)state;
	install_binary();
	struct process *server = start("fork", NULL);
	int held = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(held, "x", T));
	assert_int_equal(kill(server->pid, SIGQUIT), 0);
	assert_true(harness_wait_log(server, "stopping gracefully", 1, T));
	assert_int_equal(kill(server->pid, SIGHUP), 0);
	assert_true(harness_wait_log(server, "so not restarting", 1, T));
	assert_true(harness_echo_once(held, "y", T));
	harness_close(held);
	assert_true(harness_wait_exit(server, T));
	assert_true(WIFEXITED(server->status));
	assert_int_equal(WEXITSTATUS(server->status), 0);
	char *log = harness_log(server);
	assert_int_equal(harness_count(log, "restarted in place"), 0);
	free(log);
}

/* Each for each model, as a test of its own (each with its own watchdog: restarts are slow under the sanitizers). */
static const struct harness_model_test model_tests[] = {
	{"restart_in_place", restart_in_place, NULL},
	{"restart_under_load", restart_under_load, NULL},
	{"restart_fails", restart_fails, NULL},
};

int main(void)
{
	static const struct CMUnitTest singles[] = {
		cmocka_unit_test_setup_teardown(test_no_restart_while_stopping, setup, teardown),
	};
	size_t count;
	struct CMUnitTest *tests = harness_model_tests(singles, 1, model_tests,
						      sizeof model_tests / sizeof model_tests[0], &count);
	/* This file's own setup and teardown: a directory for the copy of the binary. */
	for (size_t i = 0; i < count; i++) {
		tests[i].setup_func = setup;
		tests[i].teardown_func = teardown;
	}
	return _cmocka_run_group_tests("restart", tests, count, NULL, NULL);
}
