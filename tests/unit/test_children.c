/*
 * test_children: unit tests of the children table and its reaping
 * (src/lib/children.h), with real child processes.
 *
 * What is checked: a table of N slots takes N children and no more; the
 * slot children_next_slot offers is only taken by children_add; children_find
 * maps a pid to its slot; children_reap reports every ended child exactly
 * once, with its wait status, frees its slot for the next child, does not
 * block while children are still running, and also reports (with no slot) a
 * child that is not in the table; the byte counter a child writes is seen by
 * the parent, even when the child was killed; children_signal_all signals
 * every child; children_status_text words a status.
 *
 * Processes: each test forks a few children that wait on a pipe, exit,
 * or sleep until killed. Before reaping, the test waits for a child to end
 * with waitid(WNOWAIT), which leaves it to children_reap to collect, so no
 * test sleeps or guesses a time. Every child has alarm() as a backstop, the
 * test process too; teardown kills and reaps whatever is left.
 *
 * Run: build/tests/unit/test_children
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/children.h"

/* Seconds a test or a child may take before SIGALRM ends it: a backstop, never reached. */
#define BACKSTOP_SECONDS 20

#define MAX_PIDS 64

/* What a child does once forked. */
enum action {
	EXIT_ON_GO,          /* wait until the go pipe is closed, then _exit(VALUE) */
	EXIT_NOW,            /* _exit(VALUE) at once */
	COUNT_AND_EXIT,      /* store VALUE in its byte counter, then _exit(0) */
	COUNT_AND_SLEEP,     /* store VALUE, say so on the ready pipe, sleep until killed */
	SLEEP,               /* sleep until killed */
	RAISE_WITHOUT_CORE,  /* with RLIMIT_CORE 0, die of signal VALUE */
};

/* One reaped child, as children_reap's callback saw it. */
struct record {
	pid_t pid;
	int status;
	bool had_slot;
	bool slot_pid_matched; /* the slot still named the pid during the call */
	const struct child *slot;
	uint64_t bytes;
};

struct fixture {
	struct children table;
	bool table_ready;
	pid_t pids[MAX_PIDS]; /* every child forked, to clean up */
	bool reaped[MAX_PIDS];
	size_t pid_count;
	int go[2];    /* closing go[1] releases the EXIT_ON_GO children */
	int ready[2]; /* COUNT_AND_SLEEP children write a byte here */
	struct record records[MAX_PIDS];
	size_t record_count;
};

/* ---- helpers ---- */

static void remember_reaped(struct fixture *f, pid_t pid)
{
	for (size_t i = 0; i < f->pid_count; i++)
		if (f->pids[i] == pid)
			f->reaped[i] = true;
}

/* children_reap's callback: records what it was told. */
static void on_ended(const struct child *child, pid_t pid, int status, void *arg)
{
	struct fixture *f = arg;
	assert_true(f->record_count < MAX_PIDS);
	struct record *r = &f->records[f->record_count++];
	r->pid = pid;
	r->status = status;
	r->had_slot = child != NULL;
	r->slot = child;
	r->slot_pid_matched = child != NULL && child->pid == pid;
	r->bytes = child != NULL ? *child->bytes : 0;
	remember_reaped(f, pid);
}

/* The body of a child. Never returns; never touches cmocka. */
/*
 * The child's side. It gets the slot's byte counter before the fork, as the
 * fork model does: the table itself is wiped in children (MADV_WIPEONFORK).
 */
static void run_child(struct fixture *f, uint64_t *bytes, enum action action, uint64_t value)
{
	char byte;

	signal(SIGALRM, SIG_DFL);
	alarm(BACKSTOP_SECONDS);
	close(f->go[1]);
	close(f->ready[0]);
	switch (action) {
	case EXIT_ON_GO:
		for (;;) {
			ssize_t count = read(f->go[0], &byte, 1);
			if (count == 0 || (count < 0 && errno != EINTR))
				break;
		}
		_exit((int)value);
	case EXIT_NOW:
		_exit((int)value);
	case COUNT_AND_EXIT:
		*bytes = value;
		_exit(0);
	case COUNT_AND_SLEEP:
		*bytes = value;
		if (write(f->ready[1], "r", 1) != 1)
			_exit(100);
		for (;;)
			pause();
	case SLEEP:
		for (;;)
			pause();
	case RAISE_WITHOUT_CORE: {
		struct rlimit none = {0, 0};
		setrlimit(RLIMIT_CORE, &none);
		signal((int)value, SIG_DFL);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, (int)value);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise((int)value);
		_exit(101);
	}
	}
	_exit(102);
}

/* Forks a child doing ACTION; when ADD, records it in the table. Returns its pid. */
static pid_t spawn(struct fixture *f, enum action action, uint64_t value, bool add)
{
	struct child *slot = add ? children_next_slot(&f->table) : NULL;
	if (add) {
		assert_non_null(slot);
		assert_int_equal(slot->pid, 0); /* never a slot still in use */
	}
	assert_true(f->pid_count < MAX_PIDS);

	/* Taken before the fork: in the child, the table reads as zeros. */
	uint64_t *bytes = slot != NULL ? slot->bytes : NULL;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		run_child(f, bytes, action, value);

	f->pids[f->pid_count] = pid;
	f->reaped[f->pid_count] = false;
	f->pid_count++;
	if (add) {
		struct address peer;
		char text[16];
		snprintf(text, sizeof text, "10.0.0.%zu", f->pid_count);
		assert_int_equal(addr_parse_numeric(text, (uint16_t)(40000 + f->pid_count), &peer),
				 0);
		struct timespec started = {.tv_sec = (time_t)f->pid_count, .tv_nsec = 0};
		children_add(&f->table, slot, pid, &peer, &started);
	}
	return pid;
}

/*
 * Waits until PID has ended, without collecting it: children_reap will. The
 * test's alarm bounds the wait.
 */
static void wait_ended(pid_t pid)
{
	siginfo_t info;
	int status;
	do {
		memset(&info, 0, sizeof info);
		status = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT);
	} while (status != 0 && errno == EINTR);
	assert_int_equal(status, 0);
	assert_int_equal(info.si_pid, pid);
}

/* Reaps once, expecting exactly EXPECTED children; returns the first record of this call. */
static struct record *reap_expecting(struct fixture *f, int expected)
{
	size_t first = f->record_count;
	int reaped = children_reap(&f->table, on_ended, f);
	assert_int_equal(reaped, expected);
	assert_int_equal(f->record_count - first, (size_t)expected);
	return &f->records[first];
}

/* The record for PID, which must be there exactly once. */
static const struct record *record_of(const struct fixture *f, pid_t pid)
{
	const struct record *found = NULL;
	for (size_t i = 0; i < f->record_count; i++) {
		if (f->records[i].pid == pid) {
			assert_null(found); /* reported once only */
			found = &f->records[i];
		}
	}
	assert_non_null(found);
	return found;
}

/* Opens a fresh go pipe (after one was used up). */
static void reopen_go(struct fixture *f)
{
	if (f->go[0] >= 0)
		close(f->go[0]);
	if (f->go[1] >= 0)
		close(f->go[1]);
	assert_int_equal(pipe(f->go), 0);
}

static void release_go(struct fixture *f)
{
	assert_int_equal(close(f->go[1]), 0);
	f->go[1] = -1;
}

static void check_text(int status, const char *expected)
{
	char buf[64];
	memset(buf, 'x', sizeof buf);
	assert_ptr_equal(children_status_text(status, buf, sizeof buf), buf);
	assert_string_equal(buf, expected);
}

/* ---- setup and teardown ---- */

/* The backstop: a call that blocks for good ends the program with a message, not a hang. */
static void on_backstop(int signo)
{
	static const char message[] =
		"test_children: a test blocked until its backstop alarm; giving up\n";
	(void)signo;
	ssize_t ignored = write(STDERR_FILENO, message, sizeof message - 1);
	(void)ignored;
	_exit(1);
}

static int setup_capacity(void **state, size_t capacity)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (f == NULL)
		return -1;
	f->go[0] = f->go[1] = f->ready[0] = f->ready[1] = -1;
	if (pipe(f->go) != 0 || pipe(f->ready) != 0)
		return -1;
	if (children_init(&f->table, capacity, -1) != 0)
		return -1;
	f->table_ready = true;
	signal(SIGALRM, on_backstop);
	alarm(BACKSTOP_SECONDS);
	*state = f;
	return 0;
}

static int setup_one(void **state)
{
	return setup_capacity(state, 1);
}

static int setup_four(void **state)
{
	return setup_capacity(state, 4);
}

/* Kills and collects every child not yet reaped, then frees the table. */
static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f == NULL)
		return 0;
	for (size_t i = 0; i < f->pid_count; i++) {
		if (f->reaped[i])
			continue;
		kill(f->pids[i], SIGKILL);
		while (waitpid(f->pids[i], NULL, 0) < 0 && errno == EINTR)
			;
	}
	for (int i = 0; i < 2; i++) {
		if (f->go[i] >= 0)
			close(f->go[i]);
		if (f->ready[i] >= 0)
			close(f->ready[i]);
	}
	if (f->table_ready)
		children_destroy(&f->table);
	alarm(0);
	signal(SIGALRM, SIG_DFL);
	free(f);
	return 0;
}

/* ---- the table ---- */

static void test_init_rejects_zero(void **state)
{
	struct children table;
	(void)state;

	errno = 0;
	assert_int_equal(children_init(&table, 0, -1), -1);
	assert_int_equal(errno, EINVAL);
}

static void test_empty_table(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->table.capacity, 4);
	assert_int_equal(f->table.count, 0);
	assert_false(children_full(&f->table));
	assert_null(children_find(&f->table, getpid()));
	assert_int_equal(children_signal_all(&f->table, 0), 0);
	/* No children at all: nothing to reap, and no error. */
	assert_int_equal(children_reap(&f->table, on_ended, f), 0);
	assert_int_equal(f->record_count, 0);
}

/* children_next_slot only shows the slot: asking twice gives the same one, counter zeroed. */
static void test_next_slot_is_not_taken(void **state)
{
	struct fixture *f = *state;

	struct child *first = children_next_slot(&f->table);
	assert_non_null(first);
	assert_non_null(first->bytes);
	assert_int_equal(*first->bytes, 0);
	*first->bytes = 77;
	struct child *again = children_next_slot(&f->table);
	assert_ptr_equal(again, first);
	assert_int_equal(*again->bytes, 0);
	assert_int_equal(f->table.count, 0);
}

static void test_add_and_find(void **state)
{
	struct fixture *f = *state;
	pid_t pids[3];

	for (int i = 0; i < 3; i++) {
		struct child *slot = children_next_slot(&f->table);
		pids[i] = spawn(f, SLEEP, 0, true);
		assert_ptr_equal(children_find(&f->table, pids[i]), slot);
		assert_int_equal(slot->pid, pids[i]);
	}
	assert_int_equal(f->table.count, 3);
	for (int i = 0; i < 3; i++) {
		struct child *slot = children_find(&f->table, pids[i]);
		assert_non_null(slot);
		assert_int_equal(slot->pid, pids[i]);
		assert_int_equal(slot->started.tv_sec, i + 1);
		char text[ADDRESS_TEXT_MAX];
		char expected[ADDRESS_TEXT_MAX];
		snprintf(expected, sizeof expected, "10.0.0.%d:%d", i + 1, 40001 + i);
		assert_string_equal(addr_format(&slot->peer, text, sizeof text), expected);
	}
	/* Each child has a slot and a counter of its own. */
	assert_ptr_not_equal(children_find(&f->table, pids[0]), children_find(&f->table, pids[1]));
	assert_ptr_not_equal(children_find(&f->table, pids[0])->bytes,
			     children_find(&f->table, pids[1])->bytes);
	assert_null(children_find(&f->table, getpid()));
}

/* ---- reaping ---- */

/* Fill to capacity, reap them all at once, fill again: the freed slots are reused. */
static void test_fill_reap_fill(void **state)
{
	struct fixture *f = *state;
	pid_t pids[4];
	struct child *slots[4];

	for (int i = 0; i < 4; i++) {
		slots[i] = children_next_slot(&f->table);
		pids[i] = spawn(f, EXIT_ON_GO, 3, true);
	}
	assert_true(children_full(&f->table));
	assert_null(children_next_slot(&f->table));
	/* All four are alive: reaping finds nothing and does not wait. */
	reap_expecting(f, 0);

	release_go(f);
	for (int i = 0; i < 4; i++)
		wait_ended(pids[i]);
	reap_expecting(f, 4);
	for (int i = 0; i < 4; i++) {
		const struct record *r = record_of(f, pids[i]);
		assert_true(r->had_slot);
		assert_ptr_equal(r->slot, slots[i]);
		assert_true(r->slot_pid_matched);
		assert_true(WIFEXITED(r->status));
		assert_int_equal(WEXITSTATUS(r->status), 3);
		assert_null(children_find(&f->table, pids[i]));
	}
	assert_int_equal(f->table.count, 0);
	assert_false(children_full(&f->table));
	/* Reported once only: a second reap has nothing. */
	reap_expecting(f, 0);

	/* Fill again: the same four slots, each once. */
	reopen_go(f);
	bool used[4] = {false, false, false, false};
	for (int i = 0; i < 4; i++) {
		struct child *slot = children_next_slot(&f->table);
		assert_non_null(slot);
		int which = -1;
		for (int j = 0; j < 4; j++)
			if (slots[j] == slot)
				which = j;
		assert_true(which >= 0);
		assert_false(used[which]);
		used[which] = true;
		pids[i] = spawn(f, EXIT_ON_GO, 4, true);
	}
	assert_true(children_full(&f->table));
	assert_null(children_next_slot(&f->table));

	assert_int_equal(children_signal_all(&f->table, SIGKILL), 4);
	for (int i = 0; i < 4; i++)
		wait_ended(pids[i]);
	reap_expecting(f, 4);
	for (int i = 0; i < 4; i++) {
		const struct record *r = record_of(f, pids[i]);
		assert_true(WIFSIGNALED(r->status));
		assert_int_equal(WTERMSIG(r->status), SIGKILL);
	}
	assert_int_equal(f->table.count, 0);
}

/*
 * Children end in any order, not the order they came: each freed slot is
 * offered again, and a slot whose child still runs never is.
 */
static void test_slots_reused_in_any_order(void **state)
{
	struct fixture *f = *state;
	pid_t pids[4];
	struct child *slots[4];

	for (int i = 0; i < 4; i++) {
		slots[i] = children_next_slot(&f->table);
		pids[i] = spawn(f, SLEEP, 0, true);
	}
	/* The second and the fourth end. */
	assert_int_equal(kill(pids[1], SIGKILL), 0);
	assert_int_equal(kill(pids[3], SIGKILL), 0);
	wait_ended(pids[1]);
	wait_ended(pids[3]);
	reap_expecting(f, 2);
	assert_int_equal(f->table.count, 2);

	/* Their two slots, and only those, are taken by the next two children. */
	struct child *first = children_next_slot(&f->table);
	assert_true(first == slots[1] || first == slots[3]);
	pid_t fifth = spawn(f, SLEEP, 0, true);
	struct child *second = children_next_slot(&f->table);
	assert_true(second == slots[1] || second == slots[3]);
	assert_ptr_not_equal(first, second);
	pid_t sixth = spawn(f, SLEEP, 0, true);
	assert_true(children_full(&f->table));

	/* Every running child is found in a slot of its own. */
	const pid_t running[4] = {pids[0], pids[2], fifth, sixth};
	for (int i = 0; i < 4; i++) {
		struct child *slot = children_find(&f->table, running[i]);
		assert_non_null(slot);
		assert_int_equal(slot->pid, running[i]);
		for (int j = 0; j < i; j++)
			assert_ptr_not_equal(slot, children_find(&f->table, running[j]));
	}

	/* Now the first one ends: its slot is next. */
	assert_int_equal(kill(pids[0], SIGKILL), 0);
	wait_ended(pids[0]);
	reap_expecting(f, 1);
	assert_ptr_equal(children_next_slot(&f->table), slots[0]);
	assert_int_equal(children_signal_all(&f->table, SIGKILL), 3);
}

/* Some ended, some running: the ended ones are collected, the call returns at once. */
static void test_reap_some(void **state)
{
	struct fixture *f = *state;

	pid_t sleeper = spawn(f, SLEEP, 0, true);
	pid_t quick = spawn(f, EXIT_NOW, 3, true);
	pid_t killed = spawn(f, SLEEP, 0, true);
	assert_int_equal(kill(killed, SIGKILL), 0);
	wait_ended(quick);
	wait_ended(killed);

	reap_expecting(f, 2);
	assert_int_equal(WEXITSTATUS(record_of(f, quick)->status), 3);
	assert_true(WIFEXITED(record_of(f, quick)->status));
	assert_true(WIFSIGNALED(record_of(f, killed)->status));
	assert_int_equal(WTERMSIG(record_of(f, killed)->status), SIGKILL);
	assert_int_equal(f->table.count, 1);
	assert_non_null(children_find(&f->table, sleeper));

	/* The sleeper is alive: nothing more, and no waiting for it. */
	reap_expecting(f, 0);
	assert_int_equal(f->table.count, 1);

	assert_int_equal(children_signal_all(&f->table, SIGTERM), 1);
	wait_ended(sleeper);
	reap_expecting(f, 1);
	assert_true(WIFSIGNALED(record_of(f, sleeper)->status));
	assert_int_equal(WTERMSIG(record_of(f, sleeper)->status), SIGTERM);
	assert_int_equal(f->table.count, 0);
}

/* A live, sleeping child: children_reap returns 0 at once (the alarm would catch a block). */
static void test_reap_does_not_block(void **state)
{
	struct fixture *f = *state;

	pid_t pid = spawn(f, SLEEP, 0, true);
	for (int i = 0; i < 3; i++)
		reap_expecting(f, 0);
	assert_ptr_not_equal(children_find(&f->table, pid), NULL);
	assert_int_equal(f->table.count, 1);
}

/* A child of ours that is not in the table is still collected, and reported without a slot. */
static void test_reap_unknown_child(void **state)
{
	struct fixture *f = *state;

	pid_t known = spawn(f, SLEEP, 0, true);
	pid_t stranger = spawn(f, EXIT_NOW, 5, false);
	wait_ended(stranger);

	reap_expecting(f, 1);
	const struct record *r = record_of(f, stranger);
	assert_false(r->had_slot);
	assert_true(WIFEXITED(r->status));
	assert_int_equal(WEXITSTATUS(r->status), 5);
	/* The table is untouched. */
	assert_int_equal(f->table.count, 1);
	assert_non_null(children_find(&f->table, known));
}

/* ---- the shared byte counter ---- */

static void test_counter_after_exit(void **state)
{
	struct fixture *f = *state;
	const uint64_t value = 0x123456789aULL; /* more than 32 bits */

	pid_t pid = spawn(f, COUNT_AND_EXIT, value, true);
	wait_ended(pid);
	reap_expecting(f, 1);
	const struct record *r = record_of(f, pid);
	assert_true(r->had_slot);
	assert_true(WIFEXITED(r->status));
	assert_int_equal(WEXITSTATUS(r->status), 0);
	assert_int_equal(r->bytes, value);

	/* The freed slot is offered again, its counter zeroed for the next child. */
	struct child *slot = children_next_slot(&f->table);
	assert_ptr_equal(slot, r->slot);
	assert_int_equal(*slot->bytes, 0);
}

/* The counter survives the child's death by SIGKILL: that is why it is shared memory. */
static void test_counter_after_kill(void **state)
{
	struct fixture *f = *state;
	const uint64_t value = 987654321;
	char byte;

	pid_t pid = spawn(f, COUNT_AND_SLEEP, value, true);
	ssize_t count;
	do
		count = read(f->ready[0], &byte, 1);
	while (count < 0 && errno == EINTR);
	assert_int_equal(count, 1); /* the child has stored its count */
	assert_int_equal(*children_find(&f->table, pid)->bytes, value);

	assert_int_equal(children_signal_all(&f->table, SIGKILL), 1);
	wait_ended(pid);
	reap_expecting(f, 1);
	const struct record *r = record_of(f, pid);
	assert_true(WIFSIGNALED(r->status));
	assert_int_equal(WTERMSIG(r->status), SIGKILL);
	assert_int_equal(r->bytes, value);
	assert_true(children_next_slot(&f->table) != NULL);
}

/* ---- children_status_text ---- */

static void test_status_text_real(void **state)
{
	struct fixture *f = *state;

	pid_t exited = spawn(f, EXIT_NOW, 3, false);
	pid_t zero = spawn(f, EXIT_NOW, 0, false);
	pid_t killed = spawn(f, SLEEP, 0, false);
	pid_t quit = spawn(f, RAISE_WITHOUT_CORE, SIGQUIT, false);
	assert_int_equal(kill(killed, SIGKILL), 0);
	wait_ended(exited);
	wait_ended(zero);
	wait_ended(killed);
	wait_ended(quit);
	reap_expecting(f, 4);

	check_text(record_of(f, exited)->status, "exited 3");
	check_text(record_of(f, zero)->status, "exited 0");
	check_text(record_of(f, killed)->status, "killed by SIGKILL");
	/* SIGQUIT would dump core, but the child set RLIMIT_CORE to 0. */
	check_text(record_of(f, quit)->status, "killed by SIGQUIT");
}

/*
 * Statuses built by hand, in the encoding Linux and glibc use (see
 * <bits/waitstatus.h>): exit code << 8; the signal number, with 0x80 set
 * when a core was dumped. A real core dump is not produced here: the soft
 * RLIMIT_CORE is 0 where these tests run and core files would litter the
 * working directory, so " (core dumped)" is tested on a synthesized status.
 */
static void test_status_text_synthesized(void **state)
{
	(void)state;
	check_text(0 << 8, "exited 0");
	check_text(3 << 8, "exited 3");
	check_text(255 << 8, "exited 255");
	check_text(SIGKILL, "killed by SIGKILL");
	check_text(SIGTERM, "killed by SIGTERM");
	check_text(SIGSEGV | 0x80, "killed by SIGSEGV (core dumped)");
	check_text(SIGABRT | 0x80, "killed by SIGABRT (core dumped)");
	check_text(SIGSEGV, "killed by SIGSEGV");

	/* The synthesized values mean what the macros say. */
	assert_true(WIFSIGNALED(SIGSEGV | 0x80));
	assert_int_equal(WTERMSIG(SIGSEGV | 0x80), SIGSEGV);
	assert_true(WCOREDUMP(SIGSEGV | 0x80));
	assert_true(WIFEXITED(3 << 8));
	assert_int_equal(WEXITSTATUS(3 << 8), 3);
}

/* A short buffer gets a truncated, terminated text. */
static void test_status_text_truncated(void **state)
{
	char buf[5];
	(void)state;

	memset(buf, 'x', sizeof buf);
	children_status_text(SIGKILL, buf, sizeof buf);
	assert_string_equal(buf, "kill");
}

int main(void)
{
	/* Line by line, so that what was printed survives the backstop's _exit. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects_zero),
		cmocka_unit_test_setup_teardown(test_empty_table, setup_four, teardown),
		cmocka_unit_test_setup_teardown(test_next_slot_is_not_taken, setup_four, teardown),
		cmocka_unit_test_setup_teardown(test_add_and_find, setup_four, teardown),
		cmocka_unit_test_setup_teardown(test_fill_reap_fill, setup_four, teardown),
		cmocka_unit_test_setup_teardown(test_slots_reused_in_any_order, setup_four,
						teardown),
		cmocka_unit_test_setup_teardown(test_reap_some, setup_four, teardown),
		cmocka_unit_test_setup_teardown(test_reap_does_not_block, setup_one, teardown),
		cmocka_unit_test_setup_teardown(test_reap_unknown_child, setup_four, teardown),
		cmocka_unit_test_setup_teardown(test_counter_after_exit, setup_one, teardown),
		cmocka_unit_test_setup_teardown(test_counter_after_kill, setup_one, teardown),
		cmocka_unit_test_setup_teardown(test_status_text_real, setup_four, teardown),
		cmocka_unit_test(test_status_text_synthesized),
		cmocka_unit_test(test_status_text_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
