/*
 * Integration tests of `forknet echo-server -m prefork` (model_prefork.c and
 * pool.c): the real binary on loopback, port 0, observed from outside
 * through its sockets, its log, its SIGUSR2 status lines (the scoreboard)
 * and /proc, where its workers are the children of the server's pid.
 *
 * What is held to account: the pool is forked once, not per connection;
 * it grows while its spares are short and shrinks after the peak; a worker
 * leaves after --max-requests and is replaced; a killed worker is reaped,
 * logged and replaced, and its client cut; one connection wakes one worker
 * (no thundering herd); a worker keeps nothing of a connection once it has
 * ended; the pool's options are checked; SIGTERM ends everything.
 *
 * Nothing sleeps for a guessed time: every wait is for a log line, a byte,
 * an end of stream, a process count or an exit, with a deadline, and a
 * wait that runs out fails the test. Nothing is asserted about how fast
 * anything happened.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
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
/* More than any pool these tests make (-c 40), and what is left over. */
#define MAX_WORKERS 64

/* How many times NEEDLE is in SERVER's log now. */
static int log_count(const struct process *server, const char *needle)
{
	char *log = harness_log(server);
	int count = harness_count(log, needle);
	free(log);
	return count;
}

/* A short pause inside a polling loop that has its own deadline. */
static void pause_briefly(void)
{
	nanosleep(&(struct timespec){.tv_nsec = 5 * 1000000L}, NULL);
}

/* Sends SIGTERM to SERVER; it must exit 0, leaving no process behind. */
static void stop_server(struct process *server)
{
	assert_int_equal(kill(server->pid, SIGTERM), 0);
	harness_expect(harness_wait_exit(server, T), server, "the server did not exit after SIGTERM");
	harness_expect(WIFEXITED(server->status) && WEXITSTATUS(server->status) == 0, server,
	       "the server ended with wait status 0x%x, not exit status 0", server->status);
	harness_expect(harness_reap_orphans() == 0, server, "the server left orphans");
}

static int compare_pids(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

/*
 * The workers (children) of SERVER now, sorted, into OUT; returns how many.
 * A zombie among them must be reaped by the server within T: one may be
 * seen in the instant between a worker's exit and the server's waitpid
 * (that is how SIGCHLD works), but none may stay.
 */
static size_t workers(const struct process *server, pid_t *out)
{
	size_t zombies;
	size_t count = harness_children(server->pid, out, MAX_WORKERS, &zombies);

	assert_true(count <= MAX_WORKERS);
	for (size_t i = 0; zombies > 0 && i < count; i++) {
		if (harness_process_state(out[i]) != 'Z')
			continue;
		struct timespec start = harness_now();
		while (harness_process_state(out[i]) == 'Z' && harness_ms_since(start) < T)
			pause_briefly();
		harness_expect(harness_process_state(out[i]) != 'Z', server,
		       "worker %d stayed a zombie for %d ms", (int)out[i], T);
	}
	qsort(out, count, sizeof *out, compare_pids);
	return count;
}

/* Waits until SERVER has exactly WANT workers (none staying a zombie); fills OUT. */
static void expect_workers(const struct process *server, size_t want, pid_t *out)
{
	struct timespec start = harness_now();
	size_t count;

	while ((count = workers(server, out)) != want && harness_ms_since(start) < T)
		pause_briefly();
	harness_expect(count == want, server, "%zu workers, not %zu", count, want);
}

/* True if sorted PID set SET (COUNT pids) holds PID. */
static bool holds(const pid_t *set, size_t count, pid_t pid)
{
	return bsearch(&pid, set, count, sizeof *set, compare_pids) != NULL;
}

/* One worker's line of the SIGUSR2 status: "worker PID: STATE, N open, N connections, N wake-ups, up S s". */
struct worker_status {
	pid_t pid;
	char state[16]; /* idle, busy, starting, leaving */
	unsigned long long connections;
	unsigned long long wakeups;
};

/* Parses one "worker PID: ..." line at LINE into *OUT; false if it is not one. */
static bool parse_worker_line(const char *line, struct worker_status *out)
{
	int pid;
	unsigned long long open;
	if (sscanf(line, "worker %d: %15[a-z], %llu open, %llu connection", &pid, out->state, &open,
		   &out->connections) != 4)
		return false;
	const char *wakeups = strstr(line, " connection");
	wakeups = wakeups != NULL ? strchr(wakeups, ',') : NULL;
	if (wakeups == NULL || sscanf(wakeups, ", %llu wake-up", &out->wakeups) != 1)
		return false;
	out->pid = pid;
	return true;
}

/*
 * Sends SIGUSR2 to SERVER and reads the answer: the status line, which says
 * how many workers there are, and then a line for each (none is leaving in
 * these tests, so there are as many lines as the status line says). Fills
 * OUT (up to MAX); returns how many workers.
 */
static size_t pool_status(const struct process *server, struct worker_status *out, size_t max)
{
	static const char status_marker[] = "notice: status: ";
	static const char worker_marker[] = "notice: worker ";
	int before = log_count(server, status_marker);
	struct timespec start = harness_now();

	assert_int_equal(kill(server->pid, SIGUSR2), 0);
	harness_expect_log(server, status_marker, before + 1);
	for (;;) {
		char *log = harness_log(server);
		const char *status = log, *next;
		while ((next = strstr(status + 1, status_marker)) != NULL)
			status = next;
		status = strstr(status, status_marker);
		const char *model = strstr(status, ", prefork model, ");
		size_t want = 0, count = 0;
		bool parsed = model != NULL && sscanf(model, ", prefork model, %zu worker", &want) == 1;
		for (const char *line = strstr(status, worker_marker); parsed && line != NULL;
		     line = strstr(line + 1, worker_marker)) {
			struct worker_status worker;
			parsed = parse_worker_line(line + strlen(worker_marker) - strlen("worker "),
						   &worker);
			if (parsed && count < max)
				out[count] = worker;
			count++;
		}
		free(log);
		harness_expect(parsed, server, "a status line that cannot be read");
		if (count >= want) {
			harness_expect(count == want && want <= max, server,
			       "%zu worker lines for %zu workers", count, want);
			return want;
		}
		harness_expect(harness_ms_since(start) < T, server, "%zu worker lines for %zu workers", count,
		       want);
		pause_briefly();
	}
}

/* Waits until SERVER's status shows WANT workers, all idle; fills OUT. */
static void expect_all_idle(const struct process *server, size_t want, struct worker_status *out)
{
	struct timespec start = harness_now();
	for (;;) {
		size_t count = pool_status(server, out, MAX_WORKERS), idle = 0;
		for (size_t i = 0; i < count && i < MAX_WORKERS; i++)
			idle += strcmp(out[i].state, "idle") == 0;
		if (count == want && idle == want)
			return;
		harness_expect(harness_ms_since(start) < T, server, "%zu workers, %zu idle, not %zu idle",
		       count, idle, want);
		pause_briefly();
	}
}

/* The worker that logged "client 127.0.0.1:PORT connected, worker PID" for our socket FD. */
static pid_t worker_serving(const struct process *server, int fd)
{
	char needle[64];
	snprintf(needle, sizeof needle, "client 127.0.0.1:%u connected, worker ",
		 harness_local_port(fd));
	harness_expect_log(server, needle, 1);
	char *log = harness_log(server);
	pid_t pid = (pid_t)strtol(strstr(log, needle) + strlen(needle), NULL, 10);
	free(log);
	return pid;
}

/*
 * Waits until worker PID sleeps (state S): in its read, or in epoll_wait.
 * A worker that has just echoed counts the bytes after its write returns,
 * and its client may read the echo and have us signal the worker before
 * that (the woken client can run first): killed then, the worker would be
 * logged with fewer bytes than its client got. Once it sleeps, it is back
 * in its read, the count made.
 */
static void wait_asleep(const struct process *server, pid_t pid)
{
	struct timespec start = harness_now();
	while (harness_process_state(pid) != 'S' && harness_ms_since(start) < T)
		pause_briefly();
	harness_expect(harness_process_state(pid) == 'S', server, "worker %d does not go to sleep (state %c)",
	       (int)pid, harness_process_state(pid));
}

/* A connection that sends LENGTH (up to 64) bytes seeded by SEED, and must get exactly them back. */
static void expect_echoed_connection(const struct process *server, size_t length, uint32_t seed)
{
	char data[64];
	assert_true(length <= sizeof data);
	harness_random_bytes(data, length, seed);
	int fd = harness_connect("127.0.0.1", server->port);
	bool same = harness_echo_exchange(fd, data, length, T);
	harness_close(fd);
	harness_expect(same, server, "connection %u: %zu bytes not echoed byte for byte", seed, length);
}

/*
 * The worker pids of the "client ... closed, worker PID, ..." lines, in
 * order, into OUT (up to MAX); returns how many lines there are.
 */
static size_t closed_lines(const struct process *server, pid_t *out, size_t max)
{
	static const char marker[] = " closed, worker ";
	char *log = harness_log(server);
	size_t count = 0;
	for (const char *line = strstr(log, marker); line != NULL; line = strstr(line + 1, marker)) {
		if (count < max)
			out[count] = (pid_t)strtol(line + strlen(marker), NULL, 10);
		count++;
	}
	free(log);
	return count;
}

/*
 * 1. --workers 4: four workers after the start, and they alone serve 500
 * connections one after another: no fork per connection.
 */
static void test_pool_serves_without_forking(void **state)
{
	(void)state;
	enum { CONNECTIONS = 500 };
	struct process *server =
		harness_start_model("prefork", (const char *[]){"--workers", "4", "--min-spare", "1", "--max-spare", "8", NULL});
	pid_t before[MAX_WORKERS], after[MAX_WORKERS];
	expect_workers(server, 4, before);

	for (uint32_t i = 1; i <= CONNECTIONS; i++)
		expect_echoed_connection(server, 1 + i % 16, i);

	harness_expect_log(server, " closed, worker ", CONNECTIONS);
	size_t count = workers(server, after);
	harness_expect(count == 4 && memcmp(before, after, 4 * sizeof *before) == 0, server,
	       "the workers changed: %zu now", count);
	/* Every connection was served by one of the four. */
	pid_t served[CONNECTIONS];
	assert_int_equal(closed_lines(server, served, CONNECTIONS), CONNECTIONS);
	for (size_t i = 0; i < CONNECTIONS; i++)
		harness_expect(holds(before, 4, served[i]), server, "connection %zu served by %d, not a worker",
		       i + 1, (int)served[i]);
	stop_server(server);
}

/*
 * 2. The pool grows under load and shrinks after it: 20 clients at once
 * for a pool of 2 get served as the master forks (1, 2, 4 ... a second),
 * and once they leave, it retires one idle worker a second down to
 * --max-spare. -c 40 is never passed, and no worker stays a zombie.
 *
 * The longest test by far, and it cannot be shorter: the doubling takes
 * five seconds to reach 20 busy workers and overshoots (2 + 1 + 2 + 4 + 8 +
 * 16 = 33, the last 16 forked while 3 clients still wait), and 29 idle
 * workers over --max-spare take 29 seconds to retire.
 */
static void test_pool_grows_and_shrinks(void **state)
{
	(void)state;
	enum { CLIENTS = 20, CAP = 40, MIN_SPARE = 2, MAX_SPARE = 4 };
	struct process *server = harness_start_model("prefork", (const char *[]){
		"--workers", "2", "--min-spare", "2", "--max-spare", "4", "-c", "40", NULL});
	pid_t pids[MAX_WORKERS];
	expect_workers(server, 2, pids);

	int fds[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		fds[i] = harness_connect("127.0.0.1", server->port);
		assert_true(harness_send(fds[i], "grow", 4, T));
	}
	/*
	 * The backlog holds those that find no idle worker until the pool has
	 * grown: about five seconds of doubling; the bound is generous.
	 */
	struct timespec start = harness_now();
	for (int i = 0; i < CLIENTS; i++) {
		char back[4];
		long left = 3 * T - harness_ms_since(start);
		bool echoed = left > 0 && harness_receive(fds[i], back, 4, (int)left) &&
			      memcmp(back, "grow", 4) == 0;
		harness_expect(echoed, server, "client %d of %d not echoed", i + 1, CLIENTS);
		harness_expect(workers(server, pids) <= CAP, server, "more than -c %d workers", CAP);
	}
	/* Twenty busy: the master tops the spares up at its next look. */
	size_t peak;
	start = harness_now();
	while ((peak = workers(server, pids)) < CLIENTS + MIN_SPARE && harness_ms_since(start) < T)
		pause_briefly();
	harness_expect(peak >= CLIENTS + MIN_SPARE && peak <= CAP, server,
	       "%zu workers for %d clients and %d spares (at most %d)", peak, CLIENTS, MIN_SPARE, CAP);

	for (int i = 0; i < CLIENTS; i++)
		harness_close(fds[i]);
	/*
	 * One retirement a second, from however many the pool has by now (it
	 * may have grown past PEAK, up to -c): CAP - MAX_SPARE seconds, and T to spare.
	 */
	long bound = (long)(CAP - MAX_SPARE) * 1000 + T;
	size_t count;
	start = harness_now();
	while ((count = workers(server, pids)) > MAX_SPARE && harness_ms_since(start) < bound) {
		harness_expect(count <= CAP, server, "more than -c %d workers", CAP);
		pause_briefly();
	}
	harness_expect(count <= MAX_SPARE, server, "%zu workers left after %ld ms, not at most %d", count,
	       bound, MAX_SPARE);
	/* And no further: the retirements stop at --max-spare idle. */
	expect_workers(server, MAX_SPARE, pids);
	harness_expect(log_count(server, " warning: ") == 0, server, "warnings in the log");
	stop_server(server);
}

/*
 * 3. --max-requests 10: a worker leaves after its tenth connection and is
 * replaced, so 35 connections in a row are served by several workers,
 * none of them more than ten times.
 */
static void test_max_requests_replaces_workers(void **state)
{
	(void)state;
	enum { CONNECTIONS = 35, MAX_REQUESTS = 10 };
	struct process *server = harness_start_model("prefork", (const char *[]){
		"--max-requests", "10", "--workers", "1", "--min-spare", "1", "--max-spare", "1", NULL});

	for (uint32_t i = 1; i <= CONNECTIONS; i++)
		expect_echoed_connection(server, 8, i);

	harness_expect_log(server, " closed, worker ", CONNECTIONS);
	pid_t served[CONNECTIONS], distinct[CONNECTIONS];
	size_t distinct_count = 0;
	assert_int_equal(closed_lines(server, served, CONNECTIONS), CONNECTIONS);
	for (size_t i = 0; i < CONNECTIONS; i++) {
		size_t j = 0;
		while (j < distinct_count && distinct[j] != served[i])
			j++;
		if (j == distinct_count)
			distinct[distinct_count++] = served[i];
	}
	for (size_t j = 0; j < distinct_count; j++) {
		char needle[64];
		int times = 0;
		for (size_t i = 0; i < CONNECTIONS; i++)
			times += served[i] == distinct[j];
		harness_expect(times <= MAX_REQUESTS, server, "worker %d served %d connections", (int)distinct[j],
		       times);
		if (times == MAX_REQUESTS) {
			snprintf(needle, sizeof needle, "worker %d exited 0 after 10 connections\n",
				 (int)distinct[j]);
			harness_expect_log(server, needle, 1);
		}
	}
	/* Ten at most each: 35 connections took at least four workers. */
	harness_expect(distinct_count >= 4, server, "only %zu workers served %d connections", distinct_count,
	       CONNECTIONS);
	harness_expect(log_count(server, "exited 0 after 10 connections\n") >= 1, server,
	       "no worker left after 10 connections");
	harness_expect(log_count(server, " warning: ") == 0, server, "warnings in the log");
	stop_server(server);
}

/*
 * 4. A worker killed by SIGKILL, idle and then busy: reaped (no zombie),
 * logged, its busy client cut and logged, the pool back to three idle
 * workers, and new connections served.
 */
static void test_killed_worker_is_replaced(void **state)
{
	(void)state;
	struct process *server =
		harness_start_model("prefork", (const char *[]){"--workers", "3", "--min-spare", "3", "--max-spare", "5", NULL});
	struct worker_status status[MAX_WORKERS];
	pid_t before[MAX_WORKERS], after[MAX_WORKERS];
	char needle[128];

	/* Idle, not starting: a worker dying before it is ready makes the master back off instead. */
	expect_all_idle(server, 3, status);
	expect_workers(server, 3, before);
	pid_t victim = before[1];
	assert_int_equal(kill(victim, SIGKILL), 0);
	snprintf(needle, sizeof needle, "worker %d killed by SIGKILL after 0 connections",
		 (int)victim);
	harness_expect_log(server, needle, 1);
	/* Idle spares were short by one: a new worker takes its place. */
	struct timespec start = harness_now();
	while ((harness_process_exists(victim) || workers(server, after) != 3) &&
	       harness_ms_since(start) < T)
		pause_briefly();
	harness_expect(!harness_process_exists(victim), server, "killed worker %d still there (state %c)",
	       (int)victim, harness_process_state(victim));
	expect_workers(server, 3, after);
	size_t fresh = 0;
	for (size_t i = 0; i < 3; i++)
		fresh += !holds(before, 3, after[i]);
	harness_expect(fresh == 1, server, "%zu new workers after one was killed, not 1", fresh);
	expect_echoed_connection(server, 10, 1);

	/* Now one serving a client. */
	int held = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(held, "held", T));
	victim = worker_serving(server, held);
	harness_expect(holds(after, 3, victim), server, "client served by %d, not a worker", (int)victim);
	wait_asleep(server, victim);
	assert_int_equal(kill(victim, SIGKILL), 0);
	harness_expect(harness_wait_eof(held, T), server, "the killed worker's client was not cut");
	snprintf(needle, sizeof needle, "client 127.0.0.1:%u closed, child %d killed by SIGKILL, 4 bytes echoed",
		 harness_local_port(held), (int)victim);
	harness_expect_log(server, needle, 1);
	snprintf(needle, sizeof needle, "worker %d killed by SIGKILL after ", (int)victim);
	harness_expect_log(server, needle, 1);
	harness_close(held);
	/* Three idle workers again, the victim not among them (nor a zombie). */
	expect_all_idle(server, 3, status);
	expect_workers(server, 3, after);
	harness_expect(!harness_process_exists(victim), server, "killed worker %d still there", (int)victim);
	expect_echoed_connection(server, 10, 2);
	stop_server(server);
}

/* The voluntary_ctxt_switches of PID from /proc/PID/status, or -1 if it is gone. */
static long voluntary_switches(pid_t pid)
{
	char path[64], line[256];
	long count = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *status = fopen(path, "re");
	if (status == NULL)
		return -1;
	while (fgets(line, sizeof line, status) != NULL)
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &count) == 1)
			break;
	fclose(status);
	return count;
}

/*
 * 5. No thundering herd: with eight idle workers, one connection wakes
 * exactly one of them. The scoreboard's wake-up counts say so, and so does
 * the kernel: the seven others were not scheduled at all (their voluntary
 * context switches did not change). The second check is the one that
 * catches a herd: without EPOLLEXCLUSIVE every worker is woken, but all
 * but the first find the listener no longer ready (the first has accepted)
 * and sleep again inside epoll_wait, never counting a wake-up (seen with a
 * deliberately broken copy). It is not at the mercy of unrelated events:
 * nothing else wakes an idle worker asleep in epoll_wait (no timer, no
 * signal; SIGUSR2 goes to the master).
 */
static void test_one_connection_wakes_one_worker(void **state)
{
	(void)state;
	enum { WORKERS = 8 };
	struct process *server =
		harness_start_model("prefork", (const char *[]){"--workers", "8", "--min-spare", "1", "--max-spare", "8", NULL});
	struct worker_status status[MAX_WORKERS];
	pid_t pids[MAX_WORKERS];
	long switches[WORKERS];

	expect_all_idle(server, WORKERS, status);
	expect_workers(server, WORKERS, pids);
	for (size_t i = 0; i < WORKERS; i++) {
		/* Idle on the board a moment before it sleeps in epoll_wait: that sleep counts once. */
		wait_asleep(server, status[i].pid);
		harness_expect(holds(pids, WORKERS, status[i].pid) && status[i].wakeups == 0, server,
		       "worker %d: not a child, or woken already", (int)status[i].pid);
		switches[i] = voluntary_switches(status[i].pid);
		assert_true(switches[i] >= 0);
	}

	expect_echoed_connection(server, 5, 1);
	harness_expect_log(server, " closed, worker ", 1);
	pid_t server_worker;
	assert_int_equal(closed_lines(server, &server_worker, 1), 1);

	assert_int_equal(pool_status(server, status, MAX_WORKERS), WORKERS);
	unsigned long long wakeups = 0;
	for (size_t i = 0; i < WORKERS; i++) {
		wakeups += status[i].wakeups;
		if (status[i].pid == server_worker) {
			harness_expect(status[i].connections == 1, server, "the serving worker counts %llu connections",
			       status[i].connections);
			continue;
		}
		harness_expect(status[i].wakeups == 0 && status[i].connections == 0, server,
		       "worker %d woke %llu times for another's connection", (int)status[i].pid,
		       status[i].wakeups);
		long now = voluntary_switches(status[i].pid);
		harness_expect(now == switches[i], server,
		       "idle worker %d was scheduled (%ld voluntary context switches, then %ld)",
		       (int)status[i].pid, switches[i], now);
	}
	harness_expect(wakeups == 1, server, "%llu wake-ups for one connection", wakeups);
	stop_server(server);
}

/* What the descriptors of a worker are, by kind. */
struct descriptors {
	size_t total;
	size_t listening; /* TCP sockets in LISTEN */
	size_t connected; /* any other socket */
	size_t epoll;
	size_t pipes;
	size_t other;     /* beyond standard input, output and error */
};

/* Sorts the descriptors of PID by kind into *OUT. */
static void describe_descriptors(pid_t pid, struct descriptors *out)
{
	char path[64];
	*out = (struct descriptors){0};
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *fds = opendir(path);
	assert_non_null(fds);
	for (struct dirent *entry; (entry = readdir(fds)) != NULL;) {
		char target[128];
		unsigned long inode;
		if (entry->d_name[0] == '.')
			continue;
		out->total++;
		if (atoi(entry->d_name) <= 2)
			continue; /* standard input, output and error: whatever the harness made them */
		ssize_t length = readlinkat(dirfd(fds), entry->d_name, target, sizeof target - 1);
		assert_true(length > 0);
		target[length] = '\0';
		if (sscanf(target, "socket:[%lu]", &inode) == 1) {
			if (harness_inode_listening(inode))
				out->listening++;
			else
				out->connected++;
		} else if (strcmp(target, "anon_inode:[eventpoll]") == 0) {
			out->epoll++;
		} else if (strncmp(target, "pipe:", 5) == 0) {
			out->pipes++;
		} else {
			out->other++;
		}
	}
	closedir(fds);
}

/*
 * 6. A worker keeps nothing of a connection that has ended: one worker
 * serves 20 connections, and between them holds only what it started with
 * (standard descriptors, the listening socket, its epoll set and its
 * signal pipe), never a connected socket.
 */
static void test_worker_keeps_nothing_between_connections(void **state)
{
	(void)state;
	enum { CONNECTIONS = 20 };
	struct process *server =
		harness_start_model("prefork", (const char *[]){"--workers", "1", "--min-spare", "1", "--max-spare", "1", NULL});
	struct worker_status status[MAX_WORKERS];
	pid_t pids[MAX_WORKERS];

	/* Idle: its epoll set and signal pipe are made. */
	expect_all_idle(server, 1, status);
	expect_workers(server, 1, pids);
	pid_t worker = pids[0];
	size_t fd_count = harness_fd_count(worker);
	struct descriptors before;
	describe_descriptors(worker, &before);
	harness_expect(before.listening == 1 && before.connected == 0 && before.epoll == 1 &&
		       before.pipes >= 1 && before.pipes <= 2 && before.other == 0,
	       server,
	       "worker %d holds %zu listening, %zu other sockets, %zu epoll sets, %zu pipe ends, %zu more",
	       (int)worker, before.listening, before.connected, before.epoll, before.pipes, before.other);

	for (int i = 1; i <= CONNECTIONS; i++) {
		expect_echoed_connection(server, 16, (uint32_t)i);
		/* The worker closes the connection before it logs its end. */
		harness_expect_log(server, " closed, worker ", i);
		unsigned long sockets[16];
		size_t count = harness_socket_inodes(worker, sockets, 16);
		for (size_t s = 0; s < count; s++)
			harness_expect(harness_inode_listening(sockets[s]), server,
			       "after connection %d, worker %d holds a connected socket", i, (int)worker);
		harness_expect(count == 1, server, "after connection %d, worker %d holds %zu sockets", i,
		       (int)worker, count);
	}

	struct descriptors after;
	describe_descriptors(worker, &after);
	harness_expect(harness_fd_count(worker) == fd_count && memcmp(&before, &after, sizeof before) == 0,
	       server, "worker %d had %zu descriptors before %d connections and %zu after",
	       (int)worker, fd_count, CONNECTIONS, harness_fd_count(worker));
	expect_workers(server, 1, pids);
	harness_expect(pids[0] == worker, server, "the worker changed");
	stop_server(server);
}

/* Runs forknet ARGS to the end: status 64, nothing on standard output, the one line EXPECTED on standard error. */
static void expect_usage_error(const char *const *args, const char *expected)
{
	static const struct spawn_options options = {.stdout_pipe = true, .nproc_limit = -1};
	struct process *process = harness_spawn(args, &options);
	char *output = harness_pipe_through(process, "", 0, false, NULL, T);
	if (output == NULL)
		fail_msg("accepted (still running after %d ms), wanted status 64 and \"%s\"", T, expected);
	assert_true(harness_wait_exit(process, T));
	char *errors = harness_log(process);
	bool right = WIFEXITED(process->status) && WEXITSTATUS(process->status) == 64 &&
		     strcmp(errors, expected) == 0 && output[0] == '\0';
	if (!right)
		fail_msg("wait status 0x%x, stderr \"%s\", stdout \"%s\"; wanted 64 and \"%s\"",
			 process->status, errors, output, expected);
	free(output);
	free(errors);
}

/*
 * 7. The pool's options: sizes that contradict each other or -c, pool
 * options given to a model without a pool, a negative --max-requests. Each
 * is one line and status 64. The commands hold -p 0, so that one wrongly
 * accepted starts a server on a free port (and fails the test by running).
 */
static void test_pool_option_errors(void **state)
{
	(void)state;
	static const char hint[] = " (try 'forknet echo-server --help')\n";
	static const struct {
		const char *options[6]; /* after echo-server -b 127.0.0.1 -p 0 */
		const char *problem;
	} cases[] = {
		{{"-m", "prefork", "--min-spare", "5", "--max-spare", "2"}, "--min-spare 5 is more than --max-spare 2"},
		{{"-m", "prefork", "--workers", "300", "-c", "10"}, "--workers: more than the 10 workers of -c"},
		{{"-m", "fork", "--max-spare", "3"}, "--max-spare: the fork model has no pool of workers (it is for prefork)"},
		{{"-m", "iterative", "--workers", "2"}, "--workers: the iterative model has no workers"},
		{{"-m", "prefork", "--max-requests", "-1"}, "--max-requests '-1': not a number"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char expected[256];
		snprintf(expected, sizeof expected, "forknet: echo-server %s%s", cases[i].problem, hint);
		const char *args[16] = {"echo-server", "-b", "127.0.0.1", "-p", "0"};
		for (size_t j = 0; j < 6 && cases[i].options[j] != NULL; j++)
			args[5 + j] = cases[i].options[j];
		expect_usage_error(args, expected);
	}
	assert_int_equal(harness_reap_orphans(), 0);
}

/*
 * 8. SIGTERM with three clients holding their connections: the server
 * exits 0, every worker (busy or idle) is gone, nothing is orphaned, and
 * every client sees its connection end.
 */
static void test_sigterm_ends_workers_and_clients(void **state)
{
	(void)state;
	enum { CLIENTS = 3 };
	struct process *server =
		harness_start_model("prefork", (const char *[]){"--workers", "4", "--min-spare", "1", "--max-spare", "8", NULL});
	pid_t pids[MAX_WORKERS], serving[CLIENTS];
	int fds[CLIENTS];

	for (int i = 0; i < CLIENTS; i++) {
		fds[i] = harness_connect("127.0.0.1", server->port);
		assert_true(harness_echo_once(fds[i], "held", T));
		serving[i] = worker_serving(server, fds[i]);
		wait_asleep(server, serving[i]);
	}
	/* The master forks its 4 workers one by one: the first may serve before the last exists. */
	struct timespec start = harness_now();
	size_t count;
	while ((count = workers(server, pids)) < 4 && harness_ms_since(start) < T)
		pause_briefly();
	harness_expect(count >= 4, server, "%zu workers, not at least 4", count);
	for (int i = 0; i < CLIENTS; i++)
		harness_expect(holds(pids, count, serving[i]), server, "client served by %d, not a worker",
		       (int)serving[i]);

	assert_int_equal(kill(server->pid, SIGTERM), 0);
	harness_expect(harness_wait_exit(server, T), server, "the server did not exit after SIGTERM");
	harness_expect(WIFEXITED(server->status) && WEXITSTATUS(server->status) == 0, server,
	       "the server ended with wait status 0x%x, not exit status 0", server->status);
	for (size_t i = 0; i < count; i++)
		harness_expect(!harness_process_exists(pids[i]), server, "worker %d outlived the server",
		       (int)pids[i]);
	harness_expect(harness_reap_orphans() == 0, server, "the server left orphans");
	for (int i = 0; i < CLIENTS; i++)
		harness_expect(harness_wait_eof(fds[i], T), server, "client %d's connection was not closed", i + 1);
	for (int i = 0; i < CLIENTS; i++) {
		char needle[96];
		snprintf(needle, sizeof needle, "closed, child %d killed by SIGTERM, 4 bytes echoed",
			 (int)serving[i]);
		harness_expect(log_count(server, needle) == 1, server, "no \"%s\" in the log", needle);
	}
	harness_expect(log_count(server, "notice: stopped\n") == 1, server, "no \"stopped\" in the log");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pool_serves_without_forking, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_pool_grows_and_shrinks, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_max_requests_replaces_workers, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_killed_worker_is_replaced, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_one_connection_wakes_one_worker, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_worker_keeps_nothing_between_connections, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_pool_option_errors, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_ends_workers_and_clients, harness_setup, harness_teardown),
	};
	return cmocka_run_group_tests_name("prefork", tests, NULL, NULL);
}
