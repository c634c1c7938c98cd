/*
 * harness: spawning, watching and cleaning up forknet processes for the
 * integration tests. See harness.h.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define MAX_PROCESSES 32
#define MAX_TRACKED_FDS 1024
/* The whole of one test, as a backstop for a wait that forgot its deadline. */
#define WATCHDOG_SECONDS 120
#define NOBODY 65534

static struct process processes[MAX_PROCESSES];
static int process_count;
static int tracked_fds[MAX_TRACKED_FDS];
static int tracked_count;

static void track(int fd)
{
	if (tracked_count < MAX_TRACKED_FDS)
		tracked_fds[tracked_count++] = fd;
}

static void untrack(int fd)
{
	for (int i = 0; i < tracked_count; i++) {
		if (tracked_fds[i] == fd) {
			tracked_fds[i] = tracked_fds[--tracked_count];
			return;
		}
	}
}

/* The watchdog: async-signal-safe only. Kills what the test started and ends the program. */
static void on_watchdog(int signo)
{
	static const char message[] = "harness: test timed out; killing its processes\n";
	(void)signo;
	ssize_t ignored = write(STDERR_FILENO, message, sizeof message - 1);
	(void)ignored;
	for (int i = 0; i < process_count; i++)
		if (!processes[i].reaped)
			kill(-processes[i].pid, SIGKILL);
	_exit(3);
}

long harness_ms_since(struct timespec start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
}

struct timespec harness_now(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now;
}

/* A short pause inside polling loops that have their own deadline. */
static void tick(void)
{
	struct timespec pause = {.tv_sec = 0, .tv_nsec = 5 * 1000000L};
	nanosleep(&pause, NULL);
}

int harness_setup(void **state)
{
	(void)state;
	/* Orphans of the processes we start come to us, so tests can see and reap them. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	struct sigaction action;
	memset(&action, 0, sizeof action);
	action.sa_handler = on_watchdog;
	if (sigaction(SIGALRM, &action, NULL) != 0)
		return -1;
	alarm(WATCHDOG_SECONDS);
	return 0;
}

int harness_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < process_count; i++) {
		struct process *process = &processes[i];
		if (!process->reaped) {
			kill(-process->pid, SIGKILL); /* the whole group: the server and its children */
			kill(process->pid, SIGKILL);
			while (waitpid(process->pid, &process->status, 0) < 0 && errno == EINTR)
				;
			process->reaped = true;
		}
		if (process->stdin_fd >= 0)
			close(process->stdin_fd);
		if (process->stdout_fd >= 0)
			close(process->stdout_fd);
		close(process->log_fd);
	}
	process_count = 0;
	for (int i = 0; i < tracked_count; i++)
		close(tracked_fds[i]);
	tracked_count = 0;
	harness_reap_orphans();
	alarm(0);
	return 0;
}

/* A copy of the binary in memory, executable by any user wherever the build lives. */
static int binary_copy(const char *path)
{
	int in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	int copy = memfd_create("forknet", MFD_CLOEXEC);
	char buffer[65536];
	ssize_t count;
	while (copy >= 0 && (count = read(in, buffer, sizeof buffer)) > 0)
		if (write(copy, buffer, (size_t)count) != count) {
			close(copy);
			copy = -1;
		}
	close(in);
	return copy;
}

/*
 * FORKNET_TEST_FILTER=PATTERN runs only the tests whose names match it
 * (cmocka's pattern: * and ?), e.g. "restart_under_load (prefork)": for
 * chasing one test. Set before main, in every program linked with this file.
 */
__attribute__((constructor)) static void filter_tests(void)
{
	const char *pattern = getenv("FORKNET_TEST_FILTER");
	if (pattern != NULL && *pattern != '\0')
		cmocka_set_test_filter(pattern);
}

/* The forknet binary to test: $FORKNET_BIN, else build/forknet; fails the test if it is not there. */
static const char *binary_path(void)
{
	const char *path = getenv("FORKNET_BIN");
	if (path == NULL)
		path = "build/forknet";
	if (access(path, X_OK) != 0)
		fail_msg("forknet binary %s: %s (build it with make, or set FORKNET_BIN to its path)",
			 path, strerror(errno));
	return path;
}

/*
 * Starts PATH as NAME with ARGS in a process group of its own: standard
 * output and error into a log (or pipes), the signal state a shell would
 * give, descriptors 0-2 only (and 3 if asked).
 */
static struct process *spawn(const char *path, const char *name, const char *const *args,
			     const struct spawn_options *options)
{
	static const struct spawn_options defaults = {.nproc_limit = -1};
	const char *argv[32];
	int argc = 0;
	int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1};

	if (options == NULL)
		options = &defaults;
	assert_true(process_count < MAX_PROCESSES);
	assert_false(options->extra_fd && options->unprivileged);
	argv[argc++] = name;
	for (int i = 0; args[i] != NULL && argc < 31; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;

	int log_fd = memfd_create("forknet-log", MFD_CLOEXEC);
	assert_true(log_fd >= 0);
	/* O_APPEND: a server and its children share this file; no line may overwrite another. */
	assert_int_equal(fcntl(log_fd, F_SETFL, O_APPEND), 0);
	if (options->stdin_pipe)
		assert_int_equal(pipe2(in_pipe, O_CLOEXEC), 0);
	if (options->stdout_pipe)
		assert_int_equal(pipe2(out_pipe, O_CLOEXEC), 0);
	int program = -1;
	if (options->unprivileged) {
		program = binary_copy(path);
		assert_true(program >= 0);
	}

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		int null = open("/dev/null", O_RDWR);
		if (null < 0 || dup2(options->stdin_pipe ? in_pipe[0] : null, STDIN_FILENO) < 0 ||
		    dup2(options->stdout_pipe ? out_pipe[1] : log_fd, STDOUT_FILENO) < 0 ||
		    dup2(log_fd, STDERR_FILENO) < 0)
			_exit(126);
		if (options->stdout_file != NULL) {
			int out = open(options->stdout_file, O_WRONLY);
			if (out < 0 || dup2(out, STDOUT_FILENO) < 0)
				_exit(126);
		}
		for (int fd = 0; fd <= 2; fd++)
			if (options->closed & (1u << fd))
				close(fd);
		/* Dispositions and mask as a shell would give them: defaults, nothing blocked. */
		signal(SIGPIPE, SIG_DFL); /* ignored here; exec would keep it ignored */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (options->nproc_limit >= 0) {
			struct rlimit limit;
			if (getrlimit(RLIMIT_NPROC, &limit) != 0)
				_exit(126);
			limit.rlim_cur = (rlim_t)options->nproc_limit;
			if (setrlimit(RLIMIT_NPROC, &limit) != 0)
				_exit(126);
		}
		/* Root ignores RLIMIT_NPROC; nobody does not. A non-root tester is limited already. */
		if (options->unprivileged && getuid() == 0 &&
		    (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0))
			_exit(126);
		/* Only 0, 1 and 2 reach the program (and the binary copy, closed by exec). */
		for (int fd = 3; fd < 1024; fd++)
			if (fd != program)
				close(fd);
		if (options->extra_fd && open("/dev/zero", O_RDONLY) != 3)
			_exit(126);
		if (program >= 0)
			fexecve(program, (char *const *)argv, environ);
		else
			execv(path, (char *const *)argv);
		_exit(127);
	}
	setpgid(pid, pid); /* also here, so that it holds before the child gets to it */
	if (program >= 0)
		close(program);
	if (options->stdin_pipe)
		close(in_pipe[0]);
	if (options->stdout_pipe)
		close(out_pipe[1]);

	struct process *process = &processes[process_count++];
	*process = (struct process){.pid = pid, .log_fd = log_fd, .stdin_fd = in_pipe[1],
				    .stdout_fd = out_pipe[0]};
	return process;
}

struct process *harness_fork(int (*body)(void *arg), void *arg)
{
	assert_true(process_count < MAX_PROCESSES);
	int log_fd = memfd_create("forknet-log", MFD_CLOEXEC);
	assert_true(log_fd >= 0);
	assert_int_equal(fcntl(log_fd, F_SETFL, O_APPEND), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		if (dup2(log_fd, STDOUT_FILENO) < 0 || dup2(log_fd, STDERR_FILENO) < 0)
			_exit(126);
		setvbuf(stdout, NULL, _IOLBF, 0);
		alarm(0);
		_exit(body(arg));
	}
	setpgid(pid, pid);
	struct process *process = &processes[process_count++];
	*process = (struct process){.pid = pid, .log_fd = log_fd, .stdin_fd = -1, .stdout_fd = -1};
	return process;
}

struct process *harness_spawn(const char *const *args, const struct spawn_options *options)
{
	return spawn(binary_path(), "forknet", args, options);
}

struct process *harness_start_server(const char *const *args)
{
	return harness_start_command("echo-server", args);
}

struct process *harness_start_command(const char *command, const char *const *args)
{
	const char *argv[32] = {command};
	int argc = 1;
	for (int i = 0; args[i] != NULL && argc < 31; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	struct process *server = harness_spawn(argv, NULL);
	if (!harness_wait_log(server, "listening on ", 1, HARNESS_TIMEOUT_MS)) {
		harness_dump_log(server, "server that never got ready");
		fail_msg("no 'listening on' line from the server (forknet %s)", command);
	}
	char *log = harness_log(server);
	const char *line = strstr(log, "listening on ");
	/* "listening on 127.0.0.1:4321 (..." or "listening on [::1]:4321 (...": the port follows the last ':' */
	const char *address = line + strlen("listening on ");
	size_t length = strcspn(address, " \n");
	const char *colon = NULL;
	for (const char *p = address; p < address + length; p++)
		if (*p == ':')
			colon = p;
	assert_non_null(colon);
	server->port = (uint16_t)strtoul(colon + 1, NULL, 10);
	free(log);
	assert_true(server->port != 0);
	return server;
}

char *harness_log(const struct process *process)
{
	struct stat info;
	assert_int_equal(fstat(process->log_fd, &info), 0);
	char *text = malloc((size_t)info.st_size + 1);
	assert_non_null(text);
	ssize_t count = pread(process->log_fd, text, (size_t)info.st_size, 0);
	assert_true(count >= 0);
	text[count] = '\0';
	return text;
}

int harness_count(const char *haystack, const char *needle)
{
	int count = 0;
	for (const char *p = strstr(haystack, needle); p != NULL; p = strstr(p + 1, needle))
		count++;
	return count;
}

bool harness_wait_log(const struct process *process, const char *needle, int count,
		      int timeout_ms)
{
	struct timespec start = harness_now();
	for (;;) {
		char *log = harness_log(process);
		int found = harness_count(log, needle);
		free(log);
		if (found >= count)
			return true;
		if (harness_ms_since(start) > timeout_ms)
			return false;
		tick();
	}
}

bool harness_wait_exit(struct process *process, int timeout_ms)
{
	struct timespec start = harness_now();
	while (!process->reaped) {
		pid_t pid = waitpid(process->pid, &process->status, WNOHANG);
		if (pid == process->pid) {
			process->reaped = true;
			break;
		}
		if (pid < 0 && errno != EINTR)
			fail_msg("waitpid %d: %s", (int)process->pid, strerror(errno));
		if (harness_ms_since(start) > timeout_ms)
			return false;
		tick();
	}
	return true;
}

char *harness_pipe_through(struct process *process, const void *input, size_t length,
			   bool keep_open, size_t *output_length, int timeout_ms)
{
	struct timespec start = harness_now();
	size_t capacity = 65536, got = 0, sent = 0;
	char *output = malloc(capacity);
	assert_non_null(output);
	assert_true(process->stdout_fd >= 0);

	for (;;) {
		if (sent == length && !keep_open && process->stdin_fd >= 0) {
			close(process->stdin_fd);
			process->stdin_fd = -1;
		}
		bool writing = sent < length && process->stdin_fd >= 0;
		struct pollfd fds[2] = {
			{.fd = process->stdout_fd, .events = POLLIN},
			{.fd = writing ? process->stdin_fd : -1, .events = POLLOUT},
		};
		long left = timeout_ms - harness_ms_since(start);
		if (left <= 0 || (poll(fds, 2, (int)left) < 0 && errno != EINTR)) {
			free(output);
			return NULL;
		}
		if (fds[1].revents & (POLLOUT | POLLERR)) {
			ssize_t count = write(process->stdin_fd, (const char *)input + sent,
					      length - sent > 65536 ? 65536 : length - sent);
			if (count > 0)
				sent += (size_t)count;
			else if (count < 0 && errno == EPIPE)
				sent = length; /* it stopped reading: the rest is not wanted */
		}
		if (fds[0].revents & (POLLIN | POLLHUP)) {
			if (got + 65536 > capacity) {
				capacity *= 2;
				char *bigger = realloc(output, capacity);
				assert_non_null(bigger); /* a failed test ends here; its memory with it */
				output = bigger;
			}
			ssize_t count = read(process->stdout_fd, output + got, capacity - got - 1);
			if (count == 0)
				break;
			if (count > 0)
				got += (size_t)count;
		}
	}
	output[got] = '\0';
	if (output_length != NULL)
		*output_length = got;
	return output;
}

bool harness_read_line(int fd, char *buf, size_t size, int timeout_ms)
{
	struct timespec start = harness_now();
	size_t length = 0;

	while (length + 1 < size) {
		long left = timeout_ms - harness_ms_since(start);
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return false;
		ssize_t count = read(fd, buf + length, 1); /* a byte at a time: nothing past the line */
		if (count <= 0)
			return false;
		if (buf[length] == '\n') {
			buf[length] = '\0';
			return true;
		}
		length++;
	}
	return false;
}

void harness_dump_log(const struct process *process, const char *title)
{
	char *log = harness_log(process);
	fprintf(stderr, "---- log of %s (pid %d) ----\n%s---- end of log ----\n", title,
		(int)process->pid, log);
	free(log);
}

int harness_connect(const char *host, uint16_t port)
{
	struct sockaddr_storage storage;
	socklen_t length;
	memset(&storage, 0, sizeof storage);
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&storage;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, host, &in6->sin6_addr), 1);
		length = sizeof *in6;
	} else {
		struct sockaddr_in *in4 = (struct sockaddr_in *)&storage;
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, host, &in4->sin_addr), 1);
		length = sizeof *in4;
	}
	int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	track(fd);
	if (connect(fd, (struct sockaddr *)&storage, length) != 0)
		fail_msg("connect %s port %u: %s", host, port, strerror(errno));
	return fd;
}

void harness_close(int fd)
{
	untrack(fd);
	close(fd);
}

/* Waits for EVENTS on FD until the deadline; true if they came. */
static bool wait_for(int fd, short events, struct timespec start, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	for (;;) {
		long left = timeout_ms - harness_ms_since(start);
		if (left <= 0)
			return false;
		int ready = poll(&pfd, 1, (int)left);
		if (ready > 0)
			return true;
		if (ready < 0 && errno != EINTR)
			return false;
	}
}

bool harness_send(int fd, const void *buf, size_t length, int timeout_ms)
{
	struct timespec start = harness_now();
	const char *next = buf;
	while (length > 0) {
		if (!wait_for(fd, POLLOUT, start, timeout_ms))
			return false;
		ssize_t count = send(fd, next, length, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (count < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (count < 0)
			return false;
		next += count;
		length -= (size_t)count;
	}
	return true;
}

bool harness_receive(int fd, void *buf, size_t length, int timeout_ms)
{
	struct timespec start = harness_now();
	char *next = buf;
	while (length > 0) {
		if (!wait_for(fd, POLLIN, start, timeout_ms))
			return false;
		/* read, not recv: FD may be a pipe (a client's standard output). Poll said it won't block. */
		ssize_t count = read(fd, next, length);
		if (count < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (count <= 0)
			return false;
		next += count;
		length -= (size_t)count;
	}
	return true;
}

bool harness_quiet_for(int fd, int window_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	struct timespec start = harness_now();
	for (;;) {
		long left = window_ms - harness_ms_since(start);
		int ready = poll(&pfd, 1, left > 0 ? (int)left : 0); /* look at least once */
		if (ready > 0)
			return false;
		if (ready < 0 && errno != EINTR)
			return false;
		if (left <= 0)
			return true;
	}
}

bool harness_wait_eof(int fd, int timeout_ms)
{
	struct timespec start = harness_now();
	char buffer[4096];
	for (;;) {
		if (!wait_for(fd, POLLIN, start, timeout_ms))
			return false;
		ssize_t count = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
		if (count == 0)
			return true;
		if (count < 0 && errno != EAGAIN && errno != EINTR)
			return errno == ECONNRESET; /* a reset also ends the stream */
	}
}

bool harness_echo_exchange(int fd, const void *buf, size_t length, int timeout_ms)
{
	struct timespec start = harness_now();
	char *received = malloc(length + 1);
	size_t sent = 0, got = 0;
	bool ok = false, shut = false;

	assert_non_null(received);
	for (;;) {
		if (sent == length && !shut) {
			if (shutdown(fd, SHUT_WR) != 0)
				break;
			shut = true;
		}
		struct pollfd pfd = {.fd = fd, .events = (short)(POLLIN | (sent < length ? POLLOUT : 0))};
		long left = timeout_ms - harness_ms_since(start);
		if (left <= 0 || poll(&pfd, 1, (int)left) < 0)
			break;
		if (pfd.revents & POLLOUT) {
			ssize_t count = send(fd, (const char *)buf + sent, length - sent,
					     MSG_DONTWAIT | MSG_NOSIGNAL);
			if (count > 0)
				sent += (size_t)count;
			else if (count < 0 && errno != EAGAIN && errno != EINTR)
				break;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			/* One byte of room past LENGTH, to notice an echo that is too long. */
			ssize_t count = recv(fd, received + got, length + 1 - got, MSG_DONTWAIT);
			if (count == 0) {
				ok = shut && got == length && memcmp(received, buf, length) == 0;
				break;
			}
			if (count > 0) {
				got += (size_t)count;
				if (got > length)
					break;
			} else if (errno != EAGAIN && errno != EINTR) {
				break;
			}
		}
	}
	free(received);
	return ok;
}

bool harness_echo_once(int fd, const char *message, int timeout_ms)
{
	size_t length = strlen(message);
	char *back = malloc(length + 1);
	assert_non_null(back);
	bool ok = harness_send(fd, message, length, timeout_ms) &&
		  harness_receive(fd, back, length, timeout_ms) && memcmp(back, message, length) == 0;
	free(back);
	return ok;
}

void harness_random_bytes(void *buf, size_t length, uint32_t seed)
{
	unsigned char *bytes = buf;
	uint32_t x = seed != 0 ? seed : 1;
	for (size_t i = 0; i < length; i++) {
		/* xorshift32: reproducible, fast, and zero bytes come up about 1 in 256 */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		bytes[i] = (unsigned char)(x >> 24);
	}
}

bool harness_process_stat(pid_t pid, struct process_stat *out)
{
	char path[64], text[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t count = read(fd, text, sizeof text - 1);
	close(fd);
	if (count <= 0)
		return false;
	text[count] = '\0';
	/* The command name is in parentheses and may itself contain ") ": skip to the last one. */
	char *after = strrchr(text, ')');
	int parent, group, session, tty;
	unsigned long utime, stime;
	if (after == NULL ||
	    sscanf(after + 2, "%c %d %d %d %d %*d %*u %*u %*u %*u %*u %lu %lu", &out->state, &parent,
		   &group, &session, &tty, &utime, &stime) != 7)
		return false;
	out->parent = parent;
	out->group = group;
	out->session = session;
	out->tty = tty;
	out->ticks = utime + stime;
	return true;
}

size_t harness_children(pid_t parent, pid_t *out, size_t max, size_t *zombies)
{
	size_t count = 0;
	size_t dead = 0;
	DIR *proc = opendir("/proc");
	assert_non_null(proc);
	for (struct dirent *entry; (entry = readdir(proc)) != NULL;) {
		char *end;
		long pid = strtol(entry->d_name, &end, 10);
		struct process_stat stat;
		if (*end != '\0' || pid <= 0 || !harness_process_stat((pid_t)pid, &stat) ||
		    stat.parent != parent)
			continue;
		if (out != NULL && count < max)
			out[count] = (pid_t)pid;
		count++;
		if (stat.state == 'Z')
			dead++;
	}
	closedir(proc);
	if (zombies != NULL)
		*zombies = dead;
	return count;
}

bool harness_wait_children(pid_t parent, size_t want, int timeout_ms)
{
	struct timespec start = harness_now();
	while (harness_children(parent, NULL, 0, NULL) != want) {
		if (harness_ms_since(start) > timeout_ms)
			return false;
		tick();
	}
	return true;
}

bool harness_process_exists(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

char harness_process_state(pid_t pid)
{
	struct process_stat stat;
	return harness_process_stat(pid, &stat) ? stat.state : 0;
}

size_t harness_socket_inodes(pid_t pid, unsigned long *out, size_t max)
{
	char path[64];
	size_t count = 0;
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *fds = opendir(path);
	if (fds == NULL)
		return 0;
	for (struct dirent *entry; (entry = readdir(fds)) != NULL;) {
		char target[128];
		ssize_t length = readlinkat(dirfd(fds), entry->d_name, target, sizeof target - 1);
		if (length <= 0)
			continue;
		target[length] = '\0';
		unsigned long inode;
		if (sscanf(target, "socket:[%lu]", &inode) == 1 && count < max)
			out[count++] = inode;
	}
	closedir(fds);
	return count;
}

size_t harness_fd_count(pid_t pid)
{
	char path[64];
	size_t count = 0;
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *fds = opendir(path);
	if (fds == NULL)
		return 0;
	for (struct dirent *entry; (entry = readdir(fds)) != NULL;)
		if (entry->d_name[0] != '.')
			count++;
	closedir(fds);
	return count;
}

bool harness_inode_listening(unsigned long inode)
{
	static const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	for (size_t t = 0; t < 2; t++) {
		FILE *table = fopen(tables[t], "re");
		if (table == NULL)
			continue;
		char line[512];
		bool found = false;
		if (fgets(line, sizeof line, table) != NULL) { /* the header */
			while (!found && fgets(line, sizeof line, table) != NULL) {
				unsigned state;
				unsigned long line_inode;
				if (sscanf(line, "%*s %*s %*s %x %*s %*s %*s %*u %*u %lu", &state,
					   &line_inode) == 2 &&
				    line_inode == inode)
					found = state == 0x0A; /* TCP_LISTEN */
			}
		}
		fclose(table);
		if (found)
			return true;
	}
	return false;
}

unsigned long harness_cpu_ticks(pid_t pid)
{
	struct process_stat stat;
	return harness_process_stat(pid, &stat) ? stat.ticks : 0;
}

/* True if PID is a process this test started and has not reaped yet. */
static bool started_and_running(pid_t pid)
{
	for (int i = 0; i < process_count; i++)
		if (processes[i].pid == pid && !processes[i].reaped)
			return true;
	return false;
}

int harness_reap_orphans(void)
{
	int reaped = 0;
	struct timespec start = harness_now();
	for (;;) {
		pid_t children[64];
		size_t count = harness_children(getpid(), children, 64, NULL);
		size_t orphans = 0;
		for (size_t i = 0; i < count && i < 64; i++) {
			if (started_and_running(children[i]))
				continue;
			orphans++;
			int status;
			if (waitpid(children[i], &status, WNOHANG) == children[i])
				reaped++;
			else if (harness_ms_since(start) > HARNESS_TIMEOUT_MS)
				kill(children[i], SIGKILL); /* so that the next test starts clean */
		}
		if (orphans == 0)
			return reaped;
		tick();
	}
}

bool harness_lift_nproc_limit(const struct process *process)
{
	pid_t helper = fork();
	assert_true(helper >= 0);
	if (helper == 0) {
		struct rlimit limit;
		if (getuid() == 0 && (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0))
			_exit(1);
		if (prlimit(process->pid, RLIMIT_NPROC, NULL, &limit) != 0)
			_exit(2);
		limit.rlim_cur = limit.rlim_max;
		_exit(prlimit(process->pid, RLIMIT_NPROC, &limit, NULL) == 0 ? 0 : 3);
	}
	int status;
	while (waitpid(helper, &status, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

uint16_t harness_unused_port(void)
{
	struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t length = sizeof address;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&address, sizeof address), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&address, &length), 0);
	close(fd);
	return ntohs(address.sin_port);
}

/* Fills STORAGE with numeric HOST (IPv4 or IPv6) and PORT; returns its length. Fails the test on a bad HOST. */
static socklen_t numeric_address(const char *host, uint16_t port, struct sockaddr_storage *storage)
{
	memset(storage, 0, sizeof *storage);
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)storage;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, host, &in6->sin6_addr), 1);
		return sizeof *in6;
	}
	struct sockaddr_in *in4 = (struct sockaddr_in *)storage;
	in4->sin_family = AF_INET;
	in4->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, host, &in4->sin_addr), 1);
	return sizeof *in4;
}

int harness_udp_socket(const char *host, uint16_t port)
{
	struct sockaddr_storage storage;
	socklen_t length = numeric_address(host, 0, &storage);
	int fd = socket(storage.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	track(fd);
	if (bind(fd, (struct sockaddr *)&storage, length) != 0)
		fail_msg("bind UDP %s: %s", host, strerror(errno));
	if (port != 0) {
		length = numeric_address(host, port, &storage);
		if (connect(fd, (struct sockaddr *)&storage, length) != 0)
			fail_msg("connect UDP %s port %u: %s", host, port, strerror(errno));
	}
	return fd;
}

uint16_t harness_local_port(int fd)
{
	struct sockaddr_storage storage;
	socklen_t length = sizeof storage;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&storage, &length), 0);
	if (storage.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&storage)->sin6_port);
	return ntohs(((struct sockaddr_in *)&storage)->sin_port);
}

bool harness_udp_send(int fd, const void *buf, size_t length)
{
	ssize_t sent;
	do
		sent = send(fd, buf, length, MSG_NOSIGNAL);
	while (sent < 0 && errno == EINTR);
	return sent >= 0 && (size_t)sent == length;
}

long harness_udp_receive(int fd, void *buf, size_t size, int timeout_ms)
{
	struct timespec start = harness_now();
	for (;;) {
		/* Look before waiting, so that a timeout of 0 still takes what is there. */
		/* MSG_TRUNC: the datagram's real length, so a caller sees one that did not fit. */
		ssize_t count = recv(fd, buf, size, MSG_DONTWAIT | MSG_TRUNC);
		if (count >= 0)
			return (long)count;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (!wait_for(fd, POLLIN, start, timeout_ms)) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
}

int harness_udp_drain(int fd, int quiet_ms, int timeout_ms)
{
	struct timespec start = harness_now();
	char buffer[65536];
	int count = 0;
	for (;;) {
		long left = timeout_ms - harness_ms_since(start);
		if (left <= 0)
			return count;
		long received = harness_udp_receive(fd, buffer, sizeof buffer,
						    quiet_ms < left ? quiet_ms : (int)left);
		if (received < 0 && errno == ETIMEDOUT)
			return count;
		if (received >= 0)
			count++;
		/* Another error (a pending ICMP report) is not a datagram: keep listening. */
	}
}

uint16_t harness_unused_udp_port(void)
{
	struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t length = sizeof address;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&address, sizeof address), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&address, &length), 0);
	close(fd);
	return ntohs(address.sin_port);
}

/* ---- Programs other than forknet, and processes the test did not start ---- */

struct process *harness_spawn_program(const char *path, const char *const *args,
				      const struct spawn_options *options)
{
	const char *slash = strrchr(path, '/');
	return spawn(path, slash != NULL ? slash + 1 : path, args, options);
}

bool harness_wait_listening(struct process *process, int timeout_ms)
{
	static const char marker[] = "listening on ";
	if (!harness_wait_log(process, marker, 1, timeout_ms))
		return false;
	char *log = harness_log(process);
	/* "listening on 127.0.0.1:4321 ..." or "listening on [::1]:4321 ...": the port follows the last ':' */
	const char *address = strstr(log, marker) + strlen(marker);
	size_t length = strcspn(address, " \n");
	const char *colon = NULL;
	for (const char *p = address; p < address + length; p++)
		if (*p == ':')
			colon = p;
	process->port = colon != NULL ? (uint16_t)strtoul(colon + 1, NULL, 10) : 0;
	free(log);
	return process->port != 0;
}

struct process *harness_adopt(pid_t pid)
{
	assert_true(process_count < MAX_PROCESSES);
	struct process *process = &processes[process_count++];
	*process = (struct process){.pid = pid, .log_fd = -1, .stdin_fd = -1, .stdout_fd = -1};
	return process;
}

/* ---- Failing with a reason ---- */

static char subject[96];

void harness_subject(const char *format, ...)
{
	va_list args;
	va_start(args, format);
	vsnprintf(subject, sizeof subject, format, args);
	va_end(args);
}

const char *harness_subject_text(void)
{
	return subject;
}

void harness_explain(const struct process *server, const char *format, ...)
{
	char what[512];
	va_list args;

	va_start(args, format);
	vsnprintf(what, sizeof what, format, args);
	va_end(args);
	const char *state = "";
	if (server != NULL) {
		harness_dump_log(server, "server");
		if (server->reaped || harness_process_state(server->pid) == 'Z')
			state = " (and the server has exited)";
	}
	print_error("%s: %s%s\n", subject, what, state);
}

void harness_expect_log(const struct process *server, const char *needle, int count)
{
	harness_expect(harness_wait_log(server, needle, count, HARNESS_TIMEOUT_MS), server,
		       "no \"%s\" (x%d) in the log", needle, count);
}

void harness_expect_log_count(const struct process *server, const char *needle, int count)
{
	char *log = harness_log(server);
	int found = harness_count(log, needle);
	free(log);
	harness_expect(found == count, server, "\"%s\" is in the log %d times, not %d", needle,
		       found, count);
}

struct process *harness_start_model(const char *model, const char *const *extra)
{
	const char *args[32] = {"-b", "127.0.0.1", "-p", "0", "-m", model};
	size_t count = 6;

	harness_subject("%s model", model);
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
		assert_true(count < sizeof args / sizeof args[0] - 1);
		args[count++] = extra[i];
	}
	args[count] = NULL;
	return harness_start_server(args);
}

/* ---- Tests for every model ---- */

const char *const harness_models[] = {"fork", "iterative", "prefork", "thread", "hybrid"};
const size_t harness_model_count = sizeof harness_models / sizeof harness_models[0];

struct model_case {
	const struct harness_model_test *test;
	const char *model;
	char name[96];
};

static void run_model_case(void **state)
{
	const struct model_case *c = *state;
	const char *why = c->test->skip_reason != NULL ? c->test->skip_reason(c->model) : NULL;

	harness_subject("%s model", c->model);
	if (why != NULL) {
		print_message("%s (%s): skipped: the %s model %s\n", c->test->name, c->model, c->model,
			      why);
		skip();
	}
	c->test->run(c->model);
}

struct CMUnitTest *harness_model_tests(const struct CMUnitTest *singles, size_t single_count,
				       const struct harness_model_test *tests, size_t test_count,
				       size_t *count)
{
	size_t cases_count = test_count * harness_model_count;
	struct model_case *cases = calloc(cases_count, sizeof *cases);
	struct CMUnitTest *all = calloc(single_count + cases_count, sizeof *all);
	assert_non_null(cases);
	assert_non_null(all);
	size_t n = 0;
	for (size_t i = 0; i < single_count; i++)
		all[n++] = singles[i];
	for (size_t t = 0; t < test_count; t++)
		for (size_t m = 0; m < harness_model_count; m++) {
			struct model_case *c = &cases[t * harness_model_count + m];
			c->test = &tests[t];
			c->model = harness_models[m];
			snprintf(c->name, sizeof c->name, "%s (%s)", tests[t].name, harness_models[m]);
			all[n++] = (struct CMUnitTest){.name = c->name, .test_func = run_model_case,
						       .setup_func = harness_setup,
						       .teardown_func = harness_teardown,
						       .initial_state = c};
		}
	*count = n;
	return all;
}
