/*
 * test_io: unit tests of complete reads and writes with cancellation
 * (src/lib/io.h), over AF_UNIX stream socket pairs.
 *
 * What is checked:
 *   - io_write_all delivers every byte, in order, when the socket buffer is
 *     small and the reader slow, so that writes are partial: (a) on a
 *     non-blocking descriptor (EAGAIN, then poll); (b) on a blocking one
 *     interrupted every millisecond by SIGALRM from setitimer, caught without
 *     SA_RESTART, so that write returns short counts and EINTR;
 *   - (c) cancellation: a readable cancel descriptor makes io_write_all and
 *     io_read give up with ECANCELED, whether it was readable before the call
 *     or became readable while the call waited; io_read returns 0 at the end
 *     of the stream; writing to a closed peer fails with EPIPE (SIGPIPE is
 *     ignored in this program); io_set_nonblocking.
 *
 * Processes: the slow readers and the late cancellers are forked children;
 * each has an alarm() backstop and is reaped with a deadline; this program
 * has an alarm() backstop too, which ends it with a message. The data is a
 * pseudo-random pattern of a few MiB (NUL bytes included) that the reader
 * regenerates to compare. Every test checks that it leaves no descriptor
 * open. No test depends on how fast anything runs.
 *
 * Run: build/tests/unit/test_io
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/io.h"

/* Seconds before SIGALRM ends a stuck child (or this program): a backstop, never reached. */
#define BACKSTOP_SECONDS 30
/* How long a test waits for a child to end before killing it and failing. */
#define CHILD_DEADLINE_MS 30000

#define PATTERN_LENGTH (4u << 20) /* 4 MiB */
#define PATTERN_SEED 0x9e3779b9u
/* Socket buffer sizes asked for: far below the pattern, so writes must be partial. */
#define SMALL_BUFFER 4096

/* Exit statuses of the reader child. */
enum reader_status {
	READER_OK = 0,
	READER_MISMATCH = 1,
	READER_SHORT = 2,
	READER_EXTRA = 3,
	READER_READ_ERROR = 4,
	READER_NO_SIGNALS = 5,
};

struct fixture {
	int fds_before; /* open descriptors when the test began */
	int pair[2];    /* pair[0]: the test's end; pair[1]: the peer's */
	int cancel[2];  /* a pipe: cancel[0] is the cancel descriptor */
	pid_t child;    /* 0: none */
	char *pattern;  /* PATTERN_LENGTH bytes, or NULL */
};

/* ---- helpers ---- */

/* The number of open descriptors of this process. */
static int count_open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	if (dir == NULL)
		return -1;
	int count = 0;
	const struct dirent *entry;
	while ((entry = readdir(dir)) != NULL)
		if (entry->d_name[0] != '.')
			count++;
	closedir(dir);
	return count;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* A small deterministic generator (xorshift32): writer and reader make the same bytes. */
static uint8_t next_byte(uint32_t *seed)
{
	uint32_t x = *seed;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*seed = x;
	return (uint8_t)(x >> 24);
}

static char *make_pattern(size_t length)
{
	char *pattern = malloc(length);
	assert_non_null(pattern);
	uint32_t seed = PATTERN_SEED;
	for (size_t i = 0; i < length; i++)
		pattern[i] = (char)next_byte(&seed);
	/* Runs of NUL bytes too, not only the odd one: a strlen would stop here. */
	memset(pattern + length / 3, 0, 1000);
	return pattern;
}

static void make_pair(struct fixture *f)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f->pair), 0);
}

static void make_cancel(struct fixture *f, bool readable)
{
	assert_int_equal(pipe2(f->cancel, O_CLOEXEC), 0);
	if (readable)
		assert_int_equal(write(f->cancel[1], "c", 1), 1);
}

/* Makes the test's end send in small amounts and the peer receive in small amounts. */
static void shrink_buffers(struct fixture *f)
{
	int size = SMALL_BUFFER;
	assert_int_equal(setsockopt(f->pair[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size), 0);
	assert_int_equal(setsockopt(f->pair[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof size), 0);
	int actual = 0;
	socklen_t length = sizeof actual;
	assert_int_equal(getsockopt(f->pair[0], SOL_SOCKET, SO_SNDBUF, &actual, &length), 0);
	/* Whatever the kernel made of it, no single write can take the whole pattern. */
	assert_true(actual > 0 && (unsigned)actual < PATTERN_LENGTH / 4);
}

/* Milliseconds on the monotonic clock. */
static long long now_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* In a child just forked: SIGALRM ends it again, and alarm() bounds its life. */
static void child_backstop(void)
{
	signal(SIGALRM, SIG_DFL);
	struct itimerval off;
	memset(&off, 0, sizeof off);
	setitimer(ITIMER_REAL, &off, NULL);
	alarm(BACKSTOP_SECONDS);
}

/*
 * The slow reader: reads FD in small pieces of varying size, compares each
 * byte with the pattern, and expects the end of the stream right after it.
 * Returns a reader_status. Runs in a child.
 */
static int drain_and_check(int fd, size_t length)
{
	static const size_t sizes[] = {1, 7, 64, 200, 511, 1, 3, 1024};
	char buffer[1024];
	uint32_t seed = PATTERN_SEED;
	size_t offset = 0;
	size_t turn = 0;

	for (;;) {
		size_t want = sizes[turn++ % (sizeof sizes / sizeof sizes[0])];
		ssize_t count = read(fd, buffer, want);
		if (count < 0) {
			if (errno == EINTR)
				continue;
			return READER_READ_ERROR;
		}
		if (count == 0)
			return offset == length ? READER_OK : READER_SHORT;
		for (ssize_t i = 0; i < count; i++, offset++) {
			if (offset >= length)
				return READER_EXTRA;
			uint8_t expected = next_byte(&seed);
			if (offset >= length / 3 && offset < length / 3 + 1000)
				expected = 0;
			if ((uint8_t)buffer[i] != expected)
				return READER_MISMATCH;
		}
	}
}

/* Forks the slow reader on f->pair[1]; the test keeps f->pair[0]. */
static void start_reader(struct fixture *f, volatile sig_atomic_t *wait_for_ticks)
{
	f->child = fork();
	assert_true(f->child >= 0);
	if (f->child == 0) {
		child_backstop();
		close(f->pair[0]); /* else the stream never ends */
		if (wait_for_ticks != NULL) {
			/*
			 * Read nothing until the writer has been interrupted a few times:
			 * with the buffer full, its write is then blocked, so the signals
			 * surely land inside write() and not between calls.
			 */
			long long deadline = now_ms() + CHILD_DEADLINE_MS / 3;
			while (*wait_for_ticks < 5) {
				if (now_ms() > deadline)
					_exit(READER_NO_SIGNALS);
				poll(NULL, 0, 1);
			}
		}
		_exit(drain_and_check(f->pair[1], PATTERN_LENGTH));
	}
	close_fd(&f->pair[1]);
}

/*
 * Waits for f->child to end, at most CHILD_DEADLINE_MS (polling with a
 * deadline, not a guessed sleep), and returns its wait status. A child that
 * overstays is killed and the test fails.
 */
static int wait_child(struct fixture *f)
{
	long long deadline = now_ms() + CHILD_DEADLINE_MS;
	int status = 0;
	for (;;) {
		pid_t pid = waitpid(f->child, &status, WNOHANG);
		if (pid == f->child)
			break;
		if (pid < 0 && errno != EINTR)
			fail_msg("waitpid: %s", strerror(errno));
		if (now_ms() > deadline) {
			kill(f->child, SIGKILL);
			waitpid(f->child, NULL, 0);
			f->child = 0;
			fail_msg("child did not end within %d ms", CHILD_DEADLINE_MS);
		}
		poll(NULL, 0, 5);
	}
	f->child = 0;
	return status;
}

static void expect_reader_ok(struct fixture *f)
{
	int status = wait_child(f);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != READER_OK)
		print_error("reader: wait status 0x%x (exit %d; 1 mismatch, 2 short, 3 extra, "
			    "4 read error, 5 no signals)\n",
			    (unsigned)status, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), READER_OK);
}

/* True when FD has O_NONBLOCK set. */
static bool is_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);
	assert_true(flags >= 0);
	return (flags & O_NONBLOCK) != 0;
}

/* Bytes waiting to be read on FD. */
static int queued(int fd)
{
	int count = 0;
	assert_int_equal(ioctl(fd, FIONREAD, &count), 0);
	return count;
}

/* ---- setup and teardown ---- */

/*
 * The backstop: a call that blocks for good ends the program with a message
 * rather than hanging (only async-signal-safe calls here). Children reset
 * SIGALRM to its default and have their own alarm.
 */
static void on_backstop(int signo)
{
	static const char message[] =
		"test_io: a test blocked until its backstop alarm; giving up\n";
	(void)signo;
	ssize_t ignored = write(STDERR_FILENO, message, sizeof message - 1);
	(void)ignored;
	_exit(1);
}

static void install_backstop(void)
{
	struct sigaction action;
	memset(&action, 0, sizeof action);
	action.sa_handler = on_backstop;
	sigemptyset(&action.sa_mask);
	sigaction(SIGALRM, &action, NULL);
}

/* SIGPIPE is ignored for the whole program, as the servers do: EPIPE is the signal. */
static int group_setup(void **state)
{
	(void)state;
	return signal(SIGPIPE, SIG_IGN) == SIG_ERR ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_DFL);
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (f == NULL)
		return -1;
	f->pair[0] = f->pair[1] = f->cancel[0] = f->cancel[1] = -1;
	f->fds_before = count_open_fds();
	install_backstop();
	alarm(BACKSTOP_SECONDS);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct itimerval off;

	memset(&off, 0, sizeof off);
	setitimer(ITIMER_REAL, &off, NULL); /* also cancels the alarm */
	install_backstop();
	if (f->child > 0) {
		kill(f->child, SIGKILL);
		while (waitpid(f->child, NULL, 0) < 0 && errno == EINTR)
			;
	}
	close_fd(&f->pair[0]);
	close_fd(&f->pair[1]);
	close_fd(&f->cancel[0]);
	close_fd(&f->cancel[1]);
	free(f->pattern);
	int fds_after = count_open_fds();
	int fds_before = f->fds_before;
	free(f);
	if (fds_after != fds_before) {
		print_error("descriptors open: %d before the test, %d after it\n", fds_before,
			    fds_after);
		return -1;
	}
	return 0;
}

/* ---- (a) a non-blocking writer and a slow reader ---- */

static void test_write_all_nonblocking(void **state)
{
	struct fixture *f = *state;

	f->pattern = make_pattern(PATTERN_LENGTH);
	assert_non_null(memchr(f->pattern, 0, PATTERN_LENGTH));
	make_pair(f);
	shrink_buffers(f);
	assert_int_equal(io_set_nonblocking(f->pair[0], 1), 0);
	start_reader(f, NULL);

	assert_int_equal(io_write_all(f->pair[0], f->pattern, PATTERN_LENGTH, -1), 0);
	close_fd(&f->pair[0]); /* the end of the stream */
	expect_reader_ok(f);
}

/* The same with a cancel descriptor that never becomes readable: it changes nothing. */
static void test_write_all_nonblocking_idle_cancel(void **state)
{
	struct fixture *f = *state;

	f->pattern = make_pattern(PATTERN_LENGTH);
	make_pair(f);
	make_cancel(f, false);
	shrink_buffers(f);
	assert_int_equal(io_set_nonblocking(f->pair[0], 1), 0);
	start_reader(f, NULL);

	assert_int_equal(io_write_all(f->pair[0], f->pattern, PATTERN_LENGTH, f->cancel[0]), 0);
	close_fd(&f->pair[0]);
	expect_reader_ok(f);
}

/* ---- (b) a blocking writer interrupted by signals ---- */

/* Counts SIGALRMs; shared with the reader child, which waits for a few. */
static volatile sig_atomic_t *ticks;

static void on_tick(int signo)
{
	int saved_errno = errno;
	(void)signo;
	*ticks = *ticks + 1;
	errno = saved_errno;
}

static void test_write_all_blocking_interrupted(void **state)
{
	struct fixture *f = *state;

	void *shared = mmap(NULL, sizeof *ticks, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			    -1, 0);
	assert_true(shared != MAP_FAILED);
	ticks = shared;
	*ticks = 0;

	f->pattern = make_pattern(PATTERN_LENGTH);
	make_pair(f);
	shrink_buffers(f);
	assert_false(is_nonblocking(f->pair[0]));
	start_reader(f, ticks);

	/* No SA_RESTART: an interrupted write returns what it wrote so far, or EINTR. */
	struct sigaction action;
	memset(&action, 0, sizeof action);
	action.sa_handler = on_tick;
	sigemptyset(&action.sa_mask);
	action.sa_flags = 0;
	assert_int_equal(sigaction(SIGALRM, &action, NULL), 0);
	struct itimerval every_ms = {.it_interval = {0, 1000}, .it_value = {0, 1000}};
	assert_int_equal(setitimer(ITIMER_REAL, &every_ms, NULL), 0);

	int status = io_write_all(f->pair[0], f->pattern, PATTERN_LENGTH, -1);
	int saved_errno = errno;

	struct itimerval off;
	memset(&off, 0, sizeof off);
	setitimer(ITIMER_REAL, &off, NULL);
	install_backstop();
	alarm(BACKSTOP_SECONDS);
	sig_atomic_t seen = *ticks;
	ticks = NULL;
	munmap(shared, sizeof(sig_atomic_t));

	if (status != 0)
		print_error("io_write_all: %s\n", strerror(saved_errno));
	assert_int_equal(status, 0);
	assert_true(seen >= 5); /* the reader waited for these before reading */
	close_fd(&f->pair[0]);
	expect_reader_ok(f);
}

/* ---- (c) cancellation, end of stream, broken pipe ---- */

/* The peer never reads, the cancel descriptor is readable: once the buffer is full, give up. */
static void test_write_all_cancelled(void **state)
{
	struct fixture *f = *state;

	f->pattern = make_pattern(PATTERN_LENGTH);
	make_pair(f);
	shrink_buffers(f);
	make_cancel(f, true);
	assert_int_equal(io_set_nonblocking(f->pair[0], 1), 0);

	errno = 0;
	assert_int_equal(io_write_all(f->pair[0], f->pattern, PATTERN_LENGTH, f->cancel[0]), -1);
	assert_int_equal(errno, ECANCELED);
	/* Some prefix went out, not all of it. */
	assert_true(queued(f->pair[1]) < (int)PATTERN_LENGTH);
}

/* The cancel byte comes from another process while the writer waits for room. */
static void test_write_all_cancelled_later(void **state)
{
	struct fixture *f = *state;

	f->pattern = make_pattern(PATTERN_LENGTH);
	make_pair(f);
	shrink_buffers(f);
	make_cancel(f, false);
	assert_int_equal(io_set_nonblocking(f->pair[0], 1), 0);

	f->child = fork();
	assert_true(f->child >= 0);
	if (f->child == 0) {
		child_backstop();
		/* Cancel once data has begun to arrive: the writer is inside io_write_all. */
		int count = 0;
		while (ioctl(f->pair[1], FIONREAD, &count) == 0 && count == 0)
			poll(NULL, 0, 1);
		_exit(write(f->cancel[1], "c", 1) == 1 ? 0 : 1);
	}

	errno = 0;
	assert_int_equal(io_write_all(f->pair[0], f->pattern, PATTERN_LENGTH, f->cancel[0]), -1);
	assert_int_equal(errno, ECANCELED);
	int status = wait_child(f);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_read_cancelled(void **state)
{
	struct fixture *f = *state;
	char buffer[16];

	make_pair(f);
	make_cancel(f, true);
	assert_int_equal(io_set_nonblocking(f->pair[0], 1), 0);

	errno = 0;
	assert_int_equal(io_read(f->pair[0], buffer, sizeof buffer, f->cancel[0]), -1);
	assert_int_equal(errno, ECANCELED);
}

/* Nothing to read and the cancel byte comes later, from another process. */
static void test_read_cancelled_later(void **state)
{
	struct fixture *f = *state;
	char buffer[16];

	make_pair(f);
	make_cancel(f, false);
	assert_int_equal(io_set_nonblocking(f->pair[0], 1), 0);

	f->child = fork();
	assert_true(f->child >= 0);
	if (f->child == 0) {
		child_backstop();
		_exit(write(f->cancel[1], "c", 1) == 1 ? 0 : 1);
	}
	errno = 0;
	assert_int_equal(io_read(f->pair[0], buffer, sizeof buffer, f->cancel[0]), -1);
	assert_int_equal(errno, ECANCELED);
	int status = wait_child(f);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * On a blocking descriptor the cancel descriptor is looked at before the
 * call (io.h): with nothing to read, io_read gives up instead of blocking.
 */
static void test_read_blocking_cancelled_before(void **state)
{
	struct fixture *f = *state;
	char buffer[16];

	make_pair(f);
	make_cancel(f, true);
	assert_false(is_nonblocking(f->pair[0]));

	errno = 0;
	assert_int_equal(io_read(f->pair[0], buffer, sizeof buffer, f->cancel[0]), -1);
	assert_int_equal(errno, ECANCELED);
}

/*
 * The same rule for io_write_all (io.h: "on a blocking FD the cancel
 * descriptor is only looked at before the call"; io_write_all's ECANCELED is
 * "as for io_read"): a blocking write with a readable cancel descriptor
 * gives up before writing.
 */
static void test_write_all_blocking_cancelled_before(void **state)
{
	struct fixture *f = *state;

	make_pair(f);
	make_cancel(f, true);
	assert_false(is_nonblocking(f->pair[0]));

	errno = 0;
	int status = io_write_all(f->pair[0], "hello", 5, f->cancel[0]);
	if (status == 0)
		print_error("io_write_all wrote %d bytes despite the readable cancel descriptor\n",
			    queued(f->pair[1]));
	assert_int_equal(status, -1);
	assert_int_equal(errno, ECANCELED);
}

/* Data arrives after io_read began to wait for it. */
static void test_read_waits_for_data(void **state)
{
	struct fixture *f = *state;
	char buffer[64];

	make_pair(f);
	make_cancel(f, false);
	assert_int_equal(io_set_nonblocking(f->pair[0], 1), 0);

	f->child = fork();
	assert_true(f->child >= 0);
	if (f->child == 0) {
		child_backstop();
		_exit(write(f->pair[1], "a\0b", 3) == 3 ? 0 : 1);
	}
	close_fd(&f->pair[1]);

	size_t got = 0;
	while (got < 3) {
		ssize_t count =
			io_read(f->pair[0], buffer + got, sizeof buffer - got, f->cancel[0]);
		assert_true(count > 0);
		got += (size_t)count;
	}
	assert_memory_equal(buffer, "a\0b", 3);
	/* The child has exited and its end is closed: the end of the stream. */
	assert_int_equal(io_read(f->pair[0], buffer, sizeof buffer, f->cancel[0]), 0);
	int status = wait_child(f);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Pending data first, then 0 at the end of the stream, on blocking and non-blocking ends. */
static void test_read_end_of_stream(void **state)
{
	struct fixture *f = *state;
	char buffer[16];

	for (int nonblocking = 0; nonblocking <= 1; nonblocking++) {
		make_pair(f);
		assert_int_equal(io_set_nonblocking(f->pair[0], nonblocking), 0);
		assert_int_equal(write(f->pair[1], "abc", 3), 3);
		close_fd(&f->pair[1]);

		assert_int_equal(io_read(f->pair[0], buffer, sizeof buffer, -1), 3);
		assert_memory_equal(buffer, "abc", 3);
		assert_int_equal(io_read(f->pair[0], buffer, sizeof buffer, -1), 0);
		assert_int_equal(io_read(f->pair[0], buffer, sizeof buffer, -1), 0);
		close_fd(&f->pair[0]);
	}
}

/* io_read returns what is there, at most LENGTH, without waiting for more. */
static void test_read_partial(void **state)
{
	struct fixture *f = *state;
	char buffer[16];

	make_pair(f);
	make_cancel(f, false);
	assert_int_equal(write(f->pair[1], "0123456789", 10), 10);
	assert_int_equal(io_read(f->pair[0], buffer, 4, f->cancel[0]), 4);
	assert_memory_equal(buffer, "0123", 4);
	assert_int_equal(io_read(f->pair[0], buffer, sizeof buffer, f->cancel[0]), 6);
	assert_memory_equal(buffer, "456789", 6);
}

static void test_write_all_broken_pipe(void **state)
{
	struct fixture *f = *state;

	for (int nonblocking = 0; nonblocking <= 1; nonblocking++) {
		make_pair(f);
		assert_int_equal(io_set_nonblocking(f->pair[0], nonblocking), 0);
		close_fd(&f->pair[1]);
		errno = 0;
		assert_int_equal(io_write_all(f->pair[0], "lost", 4, -1), -1);
		assert_int_equal(errno, EPIPE);
		close_fd(&f->pair[0]);
	}
}

/* The peer goes away in the middle of a long write: EPIPE, not a hang. */
static void test_write_all_peer_closes_midway(void **state)
{
	struct fixture *f = *state;

	f->pattern = make_pattern(PATTERN_LENGTH);
	make_pair(f);
	shrink_buffers(f);
	assert_int_equal(io_set_nonblocking(f->pair[0], 1), 0);

	f->child = fork();
	assert_true(f->child >= 0);
	if (f->child == 0) {
		child_backstop();
		close(f->pair[0]);
		char buffer[100];
		ssize_t count = read(f->pair[1], buffer, sizeof buffer);
		_exit(count > 0 ? 0 : 1); /* one read, then the end closes with the process */
	}
	close_fd(&f->pair[1]);

	errno = 0;
	assert_int_equal(io_write_all(f->pair[0], f->pattern, PATTERN_LENGTH, -1), -1);
	assert_true(errno == EPIPE || errno == ECONNRESET);
	int status = wait_child(f);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_write_all_small(void **state)
{
	struct fixture *f = *state;
	char buffer[16];

	make_pair(f);
	make_cancel(f, false);
	assert_int_equal(io_write_all(f->pair[0], "x\0y", 3, f->cancel[0]), 0);
	assert_int_equal(read(f->pair[1], buffer, sizeof buffer), 3);
	assert_memory_equal(buffer, "x\0y", 3);

	/* Nothing to write: success, and nothing sent. */
	assert_int_equal(io_write_all(f->pair[0], "", 0, -1), 0);
	assert_int_equal(queued(f->pair[1]), 0);
}

static void test_set_nonblocking(void **state)
{
	struct fixture *f = *state;

	make_pair(f);
	assert_false(is_nonblocking(f->pair[0]));
	assert_int_equal(io_set_nonblocking(f->pair[0], 1), 0);
	assert_true(is_nonblocking(f->pair[0]));
	assert_int_equal(io_set_nonblocking(f->pair[0], 1), 0); /* already so */
	assert_true(is_nonblocking(f->pair[0]));
	assert_int_equal(io_set_nonblocking(f->pair[0], 0), 0);
	assert_false(is_nonblocking(f->pair[0]));
	assert_int_equal(io_set_nonblocking(f->pair[0], 0), 0);
	assert_false(is_nonblocking(f->pair[0]));
	/* Other flags are kept. */
	assert_int_equal(fcntl(f->pair[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);

	int closed = f->pair[1];
	close_fd(&f->pair[1]);
	errno = 0;
	assert_int_equal(io_set_nonblocking(closed, 1), -1);
	assert_int_equal(errno, EBADF);
}

int main(void)
{
	/* Line by line, so that what was printed survives the backstop's _exit. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_all_nonblocking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_all_nonblocking_idle_cancel, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_all_blocking_interrupted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_all_cancelled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_all_cancelled_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_cancelled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_cancelled_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_blocking_cancelled_before, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_all_blocking_cancelled_before, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_read_waits_for_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_end_of_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_all_broken_pipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_all_peer_closes_midway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_all_small, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_nonblocking, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
