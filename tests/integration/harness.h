/*
 * harness: what every integration test needs to run the real forknet binary
 * and look at it from outside, in one place so tests do not repeat it.
 *
 * - Processes are started in a process group of their own, with standard
 *   error (and standard output unless piped) captured in an in-memory file,
 *   so their log can be read at any time and never blocks them.
 * - The test process is a child subreaper: anything a server orphans is
 *   reparented to it, so tests can prove that nothing was orphaned, and
 *   teardown can reap it.
 * - harness_teardown kills every process group started, reaps everything,
 *   and closes every descriptor the test opened, also after a failed
 *   assertion; a watchdog alarm does the same if a test hangs.
 * - Every wait has a deadline; nothing sleeps for a guessed time.
 */
#ifndef FORKNET_HARNESS_H
#define FORKNET_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* A generous bound for things that normally take milliseconds. */
#define HARNESS_TIMEOUT_MS 10000

struct process {
	pid_t pid;
	int log_fd;    /* what the process wrote to standard error (and output, unless piped) */
	int stdin_fd;  /* our end of its standard input, or -1 */
	int stdout_fd; /* our end of its standard output, or -1 */
	bool reaped;
	int status;    /* wait status, once reaped */
	uint16_t port; /* for servers: the port from "listening on ADDR:PORT" */
};

struct spawn_options {
	bool stdin_pipe;  /* give the process a pipe as standard input (else /dev/null) */
	bool stdout_pipe; /* capture standard output in a pipe (else into the log) */
	bool unprivileged; /* run as user nobody (for limits that root ignores) */
	long nproc_limit; /* RLIMIT_NPROC soft limit for the process, or -1 */
	const char *stdout_file; /* open this file as standard output (e.g. /dev/full) */
	unsigned closed; /* bit N set: start the program with descriptor N (0-2) closed */
	bool extra_fd; /* start the program with descriptor 3 open too (on /dev/zero) */
};

/* Now, on CLOCK_MONOTONIC, and the milliseconds since START: for the tests' own deadlines. */
struct timespec harness_now(void);
long harness_ms_since(struct timespec start);

/* cmocka group setup/teardown for every test: subreaper, watchdog, cleanup. */
int harness_setup(void **state);
int harness_teardown(void **state);

/* Starts forknet with ARGS (NULL-terminated, not including the program name). */
struct process *harness_spawn(const char *const *args, const struct spawn_options *options);

/*
 * Runs BODY(ARG) in a child process, in a process group of its own, its
 * standard output and error captured in its log; the child exits with what
 * BODY returns. It is waited for and cleaned up like a started program. For
 * load the test makes itself (a flood of datagrams), which must not slow the
 * test process; BODY must not use cmocka's assertions (report by the exit
 * status and the log instead).
 */
struct process *harness_fork(int (*body)(void *arg), void *arg);

/*
 * Starts forknet echo-server with ARGS (add "-p", "0" yourself) and waits for
 * its "listening on" line; fails the test if it does not come. Sets ->port.
 */
struct process *harness_start_server(const char *const *args);

/*
 * Starts `forknet COMMAND ARGS...` (a server: echo-server, chat-server; add
 * "-p", "0" yourself) and waits for its "listening on" line; fails the test if
 * it does not come. Sets ->port from the first such line.
 */
struct process *harness_start_command(const char *command, const char *const *args);

/* Everything the process has logged so far, NUL-terminated; free() it. */
char *harness_log(const struct process *process);

/* Number of times NEEDLE occurs in HAYSTACK. */
int harness_count(const char *haystack, const char *needle);

/* Waits until the log holds NEEDLE at least COUNT times; false on timeout. */
bool harness_wait_log(const struct process *process, const char *needle, int count,
		      int timeout_ms);

/* Waits for the process to end and reaps it; false on timeout. */
bool harness_wait_exit(struct process *process, int timeout_ms);

/*
 * Feeds INPUT (LENGTH bytes) to the process's standard input pipe, closing it
 * at the end unless KEEP_OPEN, while reading its standard output pipe to the
 * end. Returns the output, NUL-terminated, with its length in *OUTPUT_LENGTH
 * (free() it); NULL on timeout.
 */
char *harness_pipe_through(struct process *process, const void *input, size_t length,
			   bool keep_open, size_t *output_length, int timeout_ms);

/*
 * Reads one line (up to and without its newline) from FD into BUF (SIZE
 * bytes, NUL-terminated) within the timeout; false on timeout, end of file
 * or a line too long for BUF.
 */
bool harness_read_line(int fd, char *buf, size_t size, int timeout_ms);

/* Prints the process's log to standard error (for a failing test's report). */
void harness_dump_log(const struct process *process, const char *title);

/* Connects to HOST:PORT (numeric); fails the test on error. Close-on-exec, blocking. */
int harness_connect(const char *host, uint16_t port);

/* Closes FD (and forgets it for teardown). */
void harness_close(int fd);

/* Sends all of BUF within the timeout. */
bool harness_send(int fd, const void *buf, size_t length, int timeout_ms);

/* Receives exactly LENGTH bytes within the timeout. */
bool harness_receive(int fd, void *buf, size_t length, int timeout_ms);

/* True if nothing arrives on FD for WINDOW_MS (used to show that a client waits). */
bool harness_quiet_for(int fd, int window_ms);

/* Waits for end of stream on FD (after any data, which is discarded); false on timeout. */
bool harness_wait_eof(int fd, int timeout_ms);

/*
 * Sends BUF to an echo server over FD while reading what comes back, then
 * half-closes and reads to the end. True if exactly BUF came back.
 */
bool harness_echo_exchange(int fd, const void *buf, size_t length, int timeout_ms);

/* Sends a short message and checks it is echoed. */
bool harness_echo_once(int fd, const char *message, int timeout_ms);

/* Fills BUF with reproducible pseudo-random bytes (including NULs). */
void harness_random_bytes(void *buf, size_t length, uint32_t seed);

/* The children of PARENT per /proc (pids into OUT, up to MAX); *ZOMBIES gets how many are zombies. */
size_t harness_children(pid_t parent, pid_t *out, size_t max, size_t *zombies);

/* Waits until PARENT has exactly WANT children (zombies included); false on timeout. */
bool harness_wait_children(pid_t parent, size_t want, int timeout_ms);

/* True if PID exists (as anything, zombie included). */
bool harness_process_exists(pid_t pid);

/* The state letter of PID from /proc ('R', 'S', 'Z', ...), or 0 if gone. */
char harness_process_state(pid_t pid);

/* Socket inodes held open by PID, into OUT (up to MAX); returns the count. */
size_t harness_socket_inodes(pid_t pid, unsigned long *out, size_t max);

/* Number of open descriptors of PID. */
size_t harness_fd_count(pid_t pid);

/* True if socket INODE is a TCP socket in the LISTEN state. */
bool harness_inode_listening(unsigned long inode);

/* User plus system CPU time of PID so far, in clock ticks. */
unsigned long harness_cpu_ticks(pid_t pid);

/* Reaps processes orphaned to us (we are a subreaper); returns how many there were. */
int harness_reap_orphans(void);

/*
 * Sets the RLIMIT_NPROC soft limit of PROCESS (started unprivileged) to its
 * hard limit. Done from a helper with the process's own user id, which needs
 * no capability (root may lack CAP_SYS_RESOURCE in a container).
 */
bool harness_lift_nproc_limit(const struct process *process);

/* A TCP port on 127.0.0.1 with nothing listening (bound, then closed). */
uint16_t harness_unused_port(void);

/*
 * UDP. Hosts are numeric ("127.0.0.1", "::1"); sockets are close-on-exec,
 * blocking, and closed in teardown (or by harness_close).
 */

/*
 * A UDP socket bound to a free port on HOST; if PORT is not 0, connected to
 * HOST:PORT, so that it hears only from there and an ICMP "port unreachable"
 * shows as ECONNREFUSED. Fails the test on error.
 */
int harness_udp_socket(const char *host, uint16_t port);

/* The local port of socket FD. */
uint16_t harness_local_port(int fd);

/* Sends BUF as one datagram on the connected socket FD; true if all of it went. */
bool harness_udp_send(int fd, const void *buf, size_t length);

/*
 * Receives one datagram on FD into BUF (SIZE bytes) within the timeout.
 * Returns its full length (more than SIZE if it was cut), or -1 on timeout or
 * error (errno set; ETIMEDOUT for the timeout).
 */
long harness_udp_receive(int fd, void *buf, size_t size, int timeout_ms);

/*
 * Receives and throws away every datagram that arrives on FD until none has
 * come for QUIET_MS (or TIMEOUT_MS have passed); returns how many there were.
 */
int harness_udp_drain(int fd, int quiet_ms, int timeout_ms);

/* A UDP port on 127.0.0.1 with nothing bound to it (bound, then closed). */
uint16_t harness_unused_udp_port(void);

/*
 * Every server model, for the tests that run for each (`echo-server -m
 * help` lists the same): a model added to the server is added here.
 */
extern const char *const harness_models[];
extern const size_t harness_model_count;

/* A test run once for each model in harness_models. */
struct harness_model_test {
	const char *name;
	void (*run)(const char *model);
	/* NULL, or a function saying why MODEL is left out (NULL if it is not). */
	const char *(*skip_reason)(const char *model);
};

struct CMUnitTest;

/*
 * The cmocka tests of a file: SINGLES (SINGLE_COUNT of them) as they are,
 * then each of TESTS for each model, named "TEST (MODEL)", with the model
 * as subject, reported skipped with its reason where skip_reason gives one.
 * *COUNT gets their number; the array lives as long as the program.
 */
struct CMUnitTest *harness_model_tests(const struct CMUnitTest *singles, size_t single_count,
				       const struct harness_model_test *tests, size_t test_count,
				       size_t *count);

/*
 * Failing with a reason: what the test is about (its subject, e.g.
 * "prefork model"), the server's log, and a message.
 */

/* Sets the subject named by harness_explain ("fork model"), printf-style. */
void harness_subject(const char *format, ...) __attribute__((format(printf, 1, 2)));
const char *harness_subject_text(void);

/*
 * Shows SERVER's log (if not NULL) and prints "SUBJECT: MESSAGE", noting a
 * server that has exited. For harness_expect.
 */
void harness_explain(const struct process *server, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

/* Fails the test, at the line that calls it, unless OK; see harness_explain. */
#define harness_expect(ok, server, ...)                       \
	do {                                                  \
		if (!(ok)) {                                  \
			harness_explain(server, __VA_ARGS__); \
			fail();                               \
		}                                             \
	} while (0)

/* Waits until SERVER's log holds NEEDLE COUNT times; fails the test otherwise. */
void harness_expect_log(const struct process *server, const char *needle, int count);

/* SERVER's whole log must hold NEEDLE exactly COUNT times now. */
void harness_expect_log_count(const struct process *server, const char *needle, int count);

/*
 * Starts `forknet echo-server -b 127.0.0.1 -p 0 -m MODEL EXTRA...` (EXTRA
 * NULL-terminated, or NULL), waits until it listens, and makes "MODEL
 * model" the subject.
 */
struct process *harness_start_model(const char *model, const char *const *extra);

/*
 * Programs other than forknet (the labs in examples/), and processes the
 * test did not start itself.
 */

/*
 * Starts the program at PATH with ARGS (NULL-terminated, not including the
 * program name, which is PATH's last component), as harness_spawn starts
 * forknet: in a process group of its own, its output captured, killed and
 * reaped in teardown. OPTIONS as for harness_spawn, except that unprivileged
 * and nproc_limit are not supported.
 */
struct process *harness_spawn_program(const char *path, const char *const *args,
				      const struct spawn_options *options);

/*
 * Waits for the first "listening on ADDR:PORT" line in the process's log and
 * sets ->port from it; false on timeout.
 */
bool harness_wait_listening(struct process *process, int timeout_ms);

/* What /proc/PID/stat says about a process. */
struct process_stat {
	char state;      /* 'R', 'S', 'Z', ... */
	pid_t parent;
	pid_t group;     /* process group */
	pid_t session;
	int tty;         /* tty_nr: the controlling terminal's device number, 0 for none */
	unsigned long ticks; /* CPU time used, user and system, in clock ticks */
};

/* Fills *OUT from /proc/PID/stat; false if PID is gone. */
bool harness_process_stat(pid_t pid, struct process_stat *out);

/*
 * Takes on PID, a child of the test process that the test did not start (a
 * daemon reparented to it as subreaper), so that harness_wait_exit works on it
 * and teardown kills and reaps it. It has no log and no pipes.
 */
struct process *harness_adopt(pid_t pid);

#endif
