/*
 * Integration tests of the process labs (examples/): each lab is run as
 * a student would run it, and checked by what it prints and, where that is
 * the point of the lab, by what /proc says about it (a zombie's state, a
 * daemon's parent and terminal, a signal's disposition). The binaries are in
 * $FORKNET_EXAMPLES (tests/run sets it; default build/examples).
 */
#include <errno.h>
#include <fcntl.h>
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

static const struct spawn_options stdin_piped = {.stdin_pipe = true, .nproc_limit = -1};

/* ---- helpers ---- */

static struct process *start_lab(const char *name, const char *const *args,
				 const struct spawn_options *options)
{
	const char *directory = getenv("FORKNET_EXAMPLES");
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", directory != NULL ? directory : "build/examples", name);
	if (access(path, X_OK) != 0)
		fail_msg("lab %s: %s (run make examples)", path, strerror(errno));
	return harness_spawn_program(path, args, options);
}

/* Waits for the lab to exit with STATUS; returns its output (free it). */
static char *expect_exit(struct process *lab, int status)
{
	if (!harness_wait_exit(lab, T)) {
		harness_dump_log(lab, "lab");
		fail_msg("the lab did not exit");
	}
	if (!WIFEXITED(lab->status) || WEXITSTATUS(lab->status) != status) {
		harness_dump_log(lab, "lab");
		fail_msg("wait status 0x%x, expected exit %d", (unsigned)lab->status, status);
	}
	return harness_log(lab);
}

/* Waits for the lab to be killed by SIGNO. */
static void expect_killed(struct process *lab, int signo)
{
	assert_true(harness_wait_exit(lab, T));
	assert_true(WIFSIGNALED(lab->status));
	assert_int_equal(WTERMSIG(lab->status), signo);
}

static void expect_line(const struct process *lab, const char *text)
{
	if (!harness_wait_log(lab, text, 1, T)) {
		harness_dump_log(lab, "lab");
		fail_msg("no \"%s\" from the lab", text);
	}
}

/* The number after KEY in TEXT (after the first occurrence of KEY), or -1. */
static long number_after(const char *text, const char *key)
{
	const char *found = strstr(text, key);
	return found != NULL ? strtol(found + strlen(key), NULL, 10) : -1;
}

/* The word (up to a blank or line end) after KEY in TEXT, into OUT. */
static void word_after(const char *text, const char *key, char *out, size_t size)
{
	const char *found = strstr(text, key);
	assert_non_null(found);
	found += strlen(key);
	size_t length = strcspn(found, " \n");
	assert_true(length < size);
	memcpy(out, found, length);
	out[length] = '\0';
}

/* A signal mask from /proc/PID/status ("SigIgn", "SigCgt", ...). */
static uint64_t signal_mask(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *status = fopen(path, "re");
	assert_non_null(status);
	size_t length = strlen(field);
	const char *value = NULL;
	while (value == NULL && fgets(line, sizeof line, status) != NULL)
		if (strncmp(line, field, length) == 0 && line[length] == ':')
			value = line + length + 1;
	fclose(status);
	assert_non_null(value);
	return strtoull(value, NULL, 16);
}

static bool in_mask(uint64_t mask, int signo)
{
	return (mask >> (signo - 1)) & 1;
}

/* Starts lab NAME with SIGINT ignored, as a script's background job (or nohup's SIGHUP) is started. */
static struct process *start_with_sigint_ignored(const char *name, const char *const *args)
{
	struct sigaction ignore = {.sa_handler = SIG_IGN}, saved;
	assert_int_equal(sigaction(SIGINT, &ignore, &saved), 0);
	struct process *lab = start_lab(name, args, NULL); /* exec keeps an ignored signal ignored */
	assert_int_equal(sigaction(SIGINT, &saved, NULL), 0);
	return lab;
}

/* ---- fork_counter ---- */

static void test_fork_counter_separate_memories(void **state)
{
	(void)state;
	char *log = expect_exit(start_lab("fork_counter", (const char *[]){"3", NULL}, NULL), 0);
	/* Output is a file here, not a terminal: the line before fork still comes once. */
	assert_int_equal(harness_count(log, "before fork:"), 1);
	assert_non_null(strstr(log, "global=11 local=25"));
	long parent = number_after(log, "parent: pid=");
	long child = number_after(log, "child:  pid=");
	assert_true(parent > 0 && child > 0 && parent != child);
	assert_int_equal(number_after(log, "child:  pid="), child);
	assert_int_equal(number_after(strstr(log, "child:  pid="), "parent="), parent);
	assert_int_equal(harness_count(log, "child:  round="), 3);
	assert_int_equal(harness_count(log, "parent: round="), 3);
	/* Each changed only its own copy. */
	const char *child_done = strstr(log, "child:  done global=14 local=25 ");
	const char *parent_done = strstr(log, "parent: done global=11 local=28 ");
	assert_non_null(child_done);
	assert_non_null(parent_done);
	/* ... at the same (virtual) addresses. */
	char child_address[32], parent_address[32];
	word_after(child_done, "&global=", child_address, sizeof child_address);
	word_after(parent_done, "&global=", parent_address, sizeof parent_address);
	assert_string_equal(child_address, parent_address);
	word_after(child_done, "&local=", child_address, sizeof child_address);
	word_after(parent_done, "&local=", parent_address, sizeof parent_address);
	assert_string_equal(child_address, parent_address);
	char waited[64];
	snprintf(waited, sizeof waited, "parent: child %ld exited 0", child);
	assert_non_null(strstr(log, waited));
	free(log);
	assert_int_equal(harness_reap_orphans(), 0);
}

static void test_fork_counter_usage(void **state)
{
	(void)state;
	free(expect_exit(start_lab("fork_counter", (const char *[]){"0", NULL}, NULL), 64));
	free(expect_exit(start_lab("fork_counter", (const char *[]){"3x", NULL}, NULL), 64));
}

/* ---- exec_replace ---- */

static void test_exec_replace_keeps_the_pid(void **state)
{
	(void)state;
	struct process *lab = start_lab("exec_replace", (const char *[]){NULL}, NULL);
	char *log = expect_exit(lab, 0);
	char expected[128];
	snprintf(expected, sizeof expected,
		 "before exec: pid=%d program=exec_replace, now running sh\n"
		 "after exec: pid=%d program=sh\n",
		 (int)lab->pid, (int)lab->pid);
	assert_string_equal(log, expected); /* and nothing after it */
	free(log);
}

/* The same process, seen from outside, now runs another program. */
static void test_exec_replace_runs_another_program(void **state)
{
	(void)state;
	struct process *lab = start_lab("exec_replace", (const char *[]){"sleep", "30", NULL}, NULL);
	expect_line(lab, "before exec:");
	char path[64], name[32] = "";
	snprintf(path, sizeof path, "/proc/%d/comm", (int)lab->pid);
	struct timespec start = harness_now();
	while (strcmp(name, "sleep\n") != 0) {
		FILE *comm = fopen(path, "re");
		assert_non_null(comm);
		if (fgets(name, sizeof name, comm) == NULL)
			name[0] = '\0';
		fclose(comm);
		if (harness_ms_since(start) > T)
			fail_msg("pid %d never became sleep (comm %s)", (int)lab->pid, name);
		struct timespec tick = {.tv_nsec = 5000000};
		nanosleep(&tick, NULL);
	}
	struct process_stat stat;
	assert_true(harness_process_stat(lab->pid, &stat));
	assert_int_equal(stat.parent, getpid()); /* still our child: same process */
	kill(lab->pid, SIGTERM);
	expect_killed(lab, SIGTERM);
}

static void test_exec_replace_failure_returns(void **state)
{
	(void)state;
	struct process *lab =
		start_lab("exec_replace", (const char *[]){"no-such-command-for-forknet", NULL}, NULL);
	char *log = expect_exit(lab, 127);
	assert_non_null(strstr(log, "exec_replace: execvp no-such-command-for-forknet: "
				    "No such file or directory\n"));
	free(log);
}

/* ---- wait_status ---- */

static void test_wait_status_exit_code(void **state)
{
	(void)state;
	char *log = expect_exit(start_lab("wait_status", (const char *[]){"exit", "3", NULL}, NULL), 0);
	assert_non_null(strstr(log, "calling exit(3)"));
	assert_non_null(strstr(log, "raw status=0x0300\n"));
	assert_non_null(strstr(log, "parent: WIFEXITED WEXITSTATUS=3\n"));
	assert_null(strstr(log, "WIFSIGNALED"));
	free(log);
	log = expect_exit(start_lab("wait_status", (const char *[]){"exit", "255", NULL}, NULL), 0);
	assert_non_null(strstr(log, "parent: WIFEXITED WEXITSTATUS=255\n"));
	free(log);
	assert_int_equal(harness_reap_orphans(), 0);
}

static void test_wait_status_signal(void **state)
{
	(void)state;
	char *log = expect_exit(start_lab("wait_status", (const char *[]){"signal", "TERM", NULL}, NULL), 0);
	assert_non_null(strstr(log, "raw status=0x000f\n"));
	assert_non_null(strstr(log, "parent: WIFSIGNALED WTERMSIG=15 (SIGTERM); status/256 would say 0\n"));
	assert_null(strstr(log, "WIFEXITED"));
	free(log);
	log = expect_exit(start_lab("wait_status", (const char *[]){"signal", "SIGKILL", NULL}, NULL), 0);
	assert_non_null(strstr(log, "WTERMSIG=9 (SIGKILL)"));
	free(log);
}

/* Started with SIGINT ignored (a background job), the child still dies of it: it restores the default. */
static void test_wait_status_signal_ignored_at_start(void **state)
{
	(void)state;
	struct process *lab = start_with_sigint_ignored("wait_status", (const char *[]){"signal", "INT", NULL});
	char *log = expect_exit(lab, 0);
	assert_non_null(strstr(log, "WTERMSIG=2 (SIGINT)"));
	free(log);
}

static void test_wait_status_usage(void **state)
{
	(void)state;
	free(expect_exit(start_lab("wait_status", (const char *[]){"exit", "256", NULL}, NULL), 64));
	free(expect_exit(start_lab("wait_status", (const char *[]){"signal", "CHLD", NULL}, NULL), 64));
	free(expect_exit(start_lab("wait_status", (const char *[]){"exit", NULL}, NULL), 64));
}

/* ---- zombie ---- */

static void test_zombie_shown_then_reaped(void **state)
{
	(void)state;
	struct process *lab = start_lab("zombie", (const char *[]){"60", NULL}, &stdin_piped);
	expect_line(lab, "press Enter");
	char *log = harness_log(lab);
	long child = number_after(log, "child=");
	assert_true(child > 0);
	char expected[96];
	snprintf(expected, sizeof expected, "parent: child %ld state=Z ", child);
	assert_non_null(strstr(log, expected));
	free(log);

	/* From outside, too: the lab's only child, a zombie, and it stays one while not reaped. */
	size_t zombies;
	pid_t children[4];
	assert_int_equal(harness_children(lab->pid, children, 4, &zombies), 1);
	assert_int_equal(children[0], child);
	assert_int_equal(zombies, 1);
	struct process_stat stat;
	assert_true(harness_process_stat((pid_t)child, &stat));
	assert_int_equal(stat.state, 'Z');
	assert_int_equal(stat.parent, lab->pid);

	assert_int_equal(write(lab->stdin_fd, "\n", 1), 1); /* Enter */
	log = expect_exit(lab, 0);
	snprintf(expected, sizeof expected, "parent: reaped child %ld: exited 7\n", child);
	assert_non_null(strstr(log, expected));
	snprintf(expected, sizeof expected, "parent: child %ld state=gone ", child);
	assert_non_null(strstr(log, expected));
	free(log);
	assert_false(harness_process_exists((pid_t)child));
}

/* With no input to wait for (standard input at its end), it reaps at once. */
static void test_zombie_input_at_end(void **state)
{
	(void)state;
	char *log = expect_exit(start_lab("zombie", (const char *[]){"60", NULL}, NULL), 0);
	assert_non_null(strstr(log, " state=Z "));
	assert_non_null(strstr(log, " state=gone "));
	free(log);
	assert_int_equal(harness_reap_orphans(), 0);
}

/* ---- reaper ---- */

static void test_reaper_one_signal_many_children(void **state)
{
	(void)state;
	char *log = expect_exit(start_lab("reaper", (const char *[]){"5", NULL}, NULL), 0);
	assert_non_null(strstr(log, "parent: signals=1 reaped=5: one signal stood for several children\n"));
	assert_int_equal(harness_count(log, "parent: reaped child "), 5);
	for (int code = 1; code <= 5; code++) {
		char expected[32];
		snprintf(expected, sizeof expected, ": exited %d\n", code);
		assert_int_equal(harness_count(log, expected), 1);
	}
	assert_non_null(strstr(log, "parent: left=0 "));
	free(log);
	assert_int_equal(harness_reap_orphans(), 0);
}

static void test_reaper_most_children(void **state)
{
	(void)state;
	char *log = expect_exit(start_lab("reaper", (const char *[]){"64", NULL}, NULL), 0);
	assert_non_null(strstr(log, "parent: signals=1 reaped=64:"));
	assert_non_null(strstr(log, "parent: left=0 "));
	free(log);
	free(expect_exit(start_lab("reaper", (const char *[]){"65", NULL}, NULL), 64));
}

/* ---- sigint_lives ---- */

static void test_sigint_lives_count_down(void **state)
{
	(void)state;
	struct process *lab = start_lab("sigint_lives", (const char *[]){NULL}, NULL);
	expect_line(lab, "lives=10");
	assert_true(in_mask(signal_mask(lab->pid, "SigCgt"), SIGINT));
	for (int lives = 9; lives >= 0; lives--) {
		char expected[32];
		snprintf(expected, sizeof expected, "SIGINT caught, lives=%d\n", lives);
		assert_int_equal(kill(lab->pid, SIGINT), 0);
		/* One at a time: two SIGINTs sent before the first is handled would merge into one. */
		expect_line(lab, expected);
	}
	expect_line(lab, "no lives left");
	/* The default action is back: caught no more, not ignored either. */
	assert_false(in_mask(signal_mask(lab->pid, "SigCgt"), SIGINT));
	assert_false(in_mask(signal_mask(lab->pid, "SigIgn"), SIGINT));
	assert_false(lab->reaped);
	assert_int_equal(kill(lab->pid, SIGINT), 0);
	expect_killed(lab, SIGINT);
	char *log = harness_log(lab);
	assert_int_equal(harness_count(log, "SIGINT caught"), 10);
	free(log);
}

static void test_sigint_lives_sigterm_ends_it(void **state)
{
	(void)state;
	struct process *lab = start_lab("sigint_lives", (const char *[]){NULL}, NULL);
	expect_line(lab, "lives=10");
	assert_int_equal(kill(lab->pid, SIGTERM), 0);
	expect_killed(lab, SIGTERM);
}

/* ---- sigaction_ignore ---- */

static void test_sigaction_ignore_then_restore(void **state)
{
	(void)state;
	struct process *lab = start_lab("sigaction_ignore", (const char *[]){"2", NULL}, NULL);
	expect_line(lab, "SIGINT was SIG_DFL, now SIG_IGN");
	assert_true(in_mask(signal_mask(lab->pid, "SigIgn"), SIGINT));
	for (int i = 0; i < 3; i++)
		assert_int_equal(kill(lab->pid, SIGINT), 0);
	/* Ignored means discarded: nothing is left pending for later. */
	assert_false(in_mask(signal_mask(lab->pid, "SigPnd"), SIGINT));
	assert_false(in_mask(signal_mask(lab->pid, "ShdPnd"), SIGINT));
	expect_line(lab, "restored SIGINT to SIG_DFL");
	assert_false(lab->reaped);
	assert_false(in_mask(signal_mask(lab->pid, "SigIgn"), SIGINT));
	assert_int_equal(kill(lab->pid, SIGINT), 0);
	expect_killed(lab, SIGINT);
}

/* Restored is not reset: a program started with SIGINT ignored keeps it ignored. */
static void test_sigaction_ignore_restores_what_was_there(void **state)
{
	(void)state;
	struct process *lab = start_with_sigint_ignored("sigaction_ignore", (const char *[]){"2", NULL});
	expect_line(lab, "restored SIGINT to SIG_IGN\n");
	assert_true(in_mask(signal_mask(lab->pid, "SigIgn"), SIGINT));
	assert_int_equal(kill(lab->pid, SIGINT), 0);
	char *log = expect_exit(lab, 0);
	assert_non_null(strstr(log, "SIGINT was SIG_IGN, now SIG_IGN"));
	assert_non_null(strstr(log, "sigaction_ignore: done\n"));
	free(log);
}

/* ---- alarm_timeout ---- */

static void test_alarm_timeout_cuts_read_short(void **state)
{
	(void)state;
	struct timespec start = harness_now();
	struct process *lab = start_lab("alarm_timeout", (const char *[]){"1", NULL}, &stdin_piped);
	char *log = expect_exit(lab, 1); /* its input stays open: only the alarm ends the read */
	long elapsed = harness_ms_since(start);
	assert_true(elapsed >= 900);
	assert_non_null(strstr(log, "alarm_timeout: result=timeout after "));
	assert_non_null(strstr(log, "SIGALRM interrupted read() (EINTR)"));
	free(log);
}

static void test_alarm_timeout_line_in_time(void **state)
{
	(void)state;
	struct process *lab = start_lab("alarm_timeout", (const char *[]){"30", NULL}, &stdin_piped);
	expect_line(lab, "type a line within 30 s");
	assert_int_equal(write(lab->stdin_fd, "hel", 3), 3);
	assert_int_equal(write(lab->stdin_fd, "lo\n", 3), 3);
	char *log = expect_exit(lab, 0);
	assert_non_null(strstr(log, "alarm_timeout: result=line \"hello\" after "));
	assert_non_null(strstr(log, "alarm cancelled with "));
	free(log);
}

static void test_alarm_timeout_end_of_input(void **state)
{
	(void)state;
	char *log = expect_exit(start_lab("alarm_timeout", (const char *[]){"30", NULL}, NULL), 0);
	assert_non_null(strstr(log, "alarm_timeout: result=eof after "));
	free(log);
}

/* ---- daemon ---- */

static char daemon_directory[64];
static char pid_path[128], log_path[128];

static void make_daemon_paths(void)
{
	strcpy(daemon_directory, "/tmp/forknet-daemon-XXXXXX");
	assert_non_null(mkdtemp(daemon_directory));
	snprintf(pid_path, sizeof pid_path, "%s/lab.pid", daemon_directory);
	snprintf(log_path, sizeof log_path, "%s/lab.log", daemon_directory);
}

/* Teardown for the daemon's tests: the usual, then its files, also after a failed check. */
static int daemon_teardown(void **state)
{
	int result = harness_teardown(state);
	unlink(pid_path);
	unlink(log_path);
	if (daemon_directory[0] != '\0' && rmdir(daemon_directory) != 0)
		result = -1;
	daemon_directory[0] = '\0';
	return result;
}

/* The whole of FILE, NUL-terminated (free it), or NULL if it does not exist. */
static char *file_text(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *text = calloc(1, 65536);
	assert_non_null(text);
	ssize_t count = read(fd, text, 65535);
	close(fd);
	assert_true(count >= 0);
	return text;
}

static bool file_has(const char *path, const char *needle)
{
	char *text = file_text(path);
	bool found = text != NULL && strstr(text, needle) != NULL;
	free(text);
	return found;
}

static void expect_link(pid_t pid, const char *name, const char *target)
{
	char path[64], value[256];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
	ssize_t length = readlink(path, value, sizeof value - 1);
	assert_true(length > 0);
	value[length] = '\0';
	assert_string_equal(value, target);
}

static void test_daemon_detaches_counts_and_stops(void **state)
{
	(void)state;
	make_daemon_paths();
	/* It inherits one more descriptor, as from a careless parent: the daemon must close it. */
	static const struct spawn_options careless = {.nproc_limit = -1, .extra_fd = true};
	struct process *lab = start_lab("daemon", (const char *[]){pid_path, log_path, "20", NULL}, &careless);
	char *log = expect_exit(lab, 0); /* the command returns once the daemon is ready */
	long announced = number_after(log, "daemon: started, pid=");
	free(log);
	char *pid_text = file_text(pid_path);
	assert_non_null(pid_text);
	pid_t pid = (pid_t)strtol(pid_text, NULL, 10);
	free(pid_text);
	assert_int_equal(pid, announced);
	struct process *daemon = harness_adopt(pid); /* teardown kills it should a check fail */

	/* Its parent is gone: it was reparented to the nearest subreaper, this test. */
	struct process_stat stat;
	assert_true(harness_process_stat(pid, &stat));
	assert_int_equal(stat.parent, getpid());
	assert_int_equal(stat.tty, 0);              /* no controlling terminal */
	assert_int_not_equal(stat.session, getsid(0)); /* a session of its own ... */
	assert_int_not_equal(stat.session, pid);        /* ... which it does not lead */
	assert_int_not_equal(stat.group, lab->pid);
	expect_link(pid, "cwd", "/");
	expect_link(pid, "fd/0", "/dev/null");
	expect_link(pid, "fd/1", "/dev/null");
	expect_link(pid, "fd/2", "/dev/null");
	/* Nothing inherited is left open: the standard three and its own log, no more. */
	expect_link(pid, "fd/3", log_path);
	assert_int_equal(harness_fd_count(pid), 4);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	assert_true(file_has(path, "Umask:\t0022\n"));

	/* It counts, in its log. */
	struct timespec start = harness_now();
	while (!file_has(log_path, "count=3\n")) {
		if (harness_ms_since(start) > T)
			fail_msg("the daemon's log does not reach count=3");
		struct timespec tick = {.tv_nsec = 5000000};
		nanosleep(&tick, NULL);
	}

	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_true(harness_wait_exit(daemon, T));
	assert_true(WIFEXITED(daemon->status));
	assert_int_equal(WEXITSTATUS(daemon->status), 0);
	assert_true(file_has(log_path, "stopping on SIGTERM after count="));
	assert_int_equal(access(pid_path, F_OK), -1); /* pidfile removed */
	assert_int_equal(harness_reap_orphans(), 0);
}

/* A pidfile already there: refuse, say why, and leave nothing running. */
static void test_daemon_pidfile_exists(void **state)
{
	(void)state;
	make_daemon_paths();
	int fd = open(pid_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	struct process *lab = start_lab("daemon", (const char *[]){pid_path, log_path, NULL}, NULL);
	char *log = expect_exit(lab, 73);
	assert_non_null(strstr(log, ": File exists (running already? if not, remove it)\n"));
	free(log);
	assert_int_equal(harness_reap_orphans(), 0);
}

static void test_daemon_needs_absolute_paths(void **state)
{
	(void)state;
	struct process *lab = start_lab("daemon", (const char *[]){"lab.pid", "/tmp/lab.log", NULL}, NULL);
	char *log = expect_exit(lab, 64);
	assert_non_null(strstr(log, "usage: daemon /ABSOLUTE/PIDFILE"));
	free(log);
}

/* ---- iterative_vs_fork ---- */

static struct process *start_server(const char *mode)
{
	struct process *server = start_lab("iterative_vs_fork", (const char *[]){mode, "0", NULL}, NULL);
	if (!harness_wait_listening(server, T)) {
		harness_dump_log(server, "server");
		fail_msg("no \"listening on\" line from the %s server", mode);
	}
	return server;
}

/*
 * Stops SERVER with SIGNO (its default action ends it) and checks that none
 * of its children is left: they end with it (PR_SET_PDEATHSIG) and, orphaned
 * for a moment, come to the test to be reaped.
 */
static void expect_server_killed(struct process *server, int signo)
{
	assert_int_equal(kill(server->pid, signo), 0);
	assert_true(harness_wait_exit(server, T));
	assert_true(WIFSIGNALED(server->status));
	assert_int_equal(WTERMSIG(server->status), signo);
	harness_reap_orphans();
	assert_int_equal(harness_children(getpid(), NULL, 0, NULL), 0);
}

/* The iterative server: the second client is connected but not answered until the first leaves. */
static void test_iterative_server_makes_second_client_wait(void **state)
{
	(void)state;
	struct process *server = start_server("iterative");
	int first = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(first, "one\n", T));
	int second = harness_connect("127.0.0.1", server->port); /* the backlog completes it */
	assert_true(harness_send(second, "two\n", 4, T));
	assert_true(harness_quiet_for(second, 300));
	assert_int_equal(harness_children(server->pid, NULL, 0, NULL), 0); /* no helpers: one process */
	harness_close(first);
	char back[4];
	assert_true(harness_receive(second, back, 4, T));
	assert_memory_equal(back, "two\n", 4);
	/* The log shows the order: the first closed before the second was taken. */
	expect_line(server, "connection from");
	char *log = harness_log(server);
	const char *first_closed = strstr(log, " closed, 4 bytes echoed");
	const char *second_taken = strstr(strstr(log, "connection from") + 1, "connection from");
	assert_non_null(first_closed);
	assert_non_null(second_taken);
	assert_true(second_taken > first_closed);
	free(log);
	harness_close(second);
	expect_server_killed(server, SIGINT);
}

/* The fork server: the second client is served while the first is still connected. */
static void test_fork_server_serves_second_client_at_once(void **state)
{
	(void)state;
	struct process *server = start_server("fork");
	int first = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(first, "one\n", T));
	int second = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(second, "two\n", T));
	assert_true(harness_wait_children(server->pid, 2, T)); /* one child per client */
	harness_close(first);
	harness_close(second);
	/* Each child is reaped as it ends: no zombie stays. */
	assert_true(harness_wait_children(server->pid, 0, T));
	assert_true(harness_wait_log(server, " closed, 4 bytes echoed", 2, T));
	expect_server_killed(server, SIGTERM);
}

/* Stopped with a client connected, the fork server's child ends with it. */
static void test_fork_server_children_end_with_it(void **state)
{
	(void)state;
	struct process *server = start_server("fork");
	int fd = harness_connect("127.0.0.1", server->port);
	assert_true(harness_echo_once(fd, "hello\n", T));
	assert_true(harness_wait_children(server->pid, 1, T));
	expect_server_killed(server, SIGTERM);
	assert_true(harness_wait_eof(fd, T));
}

/* Bytes are bytes: NULs and all, echoed by count, in both servers. */
static void test_servers_echo_binary_data(void **state)
{
	(void)state;
	enum { SIZE = 256 * 1024 };
	char *data = malloc(SIZE);
	assert_non_null(data);
	harness_random_bytes(data, SIZE, 42);
	static const char *const modes[] = {"iterative", "fork"};
	for (int i = 0; i < 2; i++) {
		struct process *server = start_server(modes[i]);
		int fd = harness_connect("127.0.0.1", server->port);
		assert_true(harness_echo_exchange(fd, data, SIZE, T));
		harness_close(fd);
		char expected[64];
		snprintf(expected, sizeof expected, "closed, %d bytes echoed", SIZE);
		expect_line(server, expected);
		expect_server_killed(server, SIGTERM);
	}
	free(data);
}

static void test_iterative_vs_fork_usage(void **state)
{
	(void)state;
	free(expect_exit(start_lab("iterative_vs_fork", (const char *[]){"prefork", NULL}, NULL), 64));
	free(expect_exit(start_lab("iterative_vs_fork", (const char *[]){NULL}, NULL), 64));
	free(expect_exit(start_lab("iterative_vs_fork", (const char *[]){"fork", "65536", NULL}, NULL), 64));
}

/* ---- every lab: --help, and usage errors ---- */

/*
 * Each lab, and the beginning of a line that it prints only once it is at
 * work: after --help, no line may begin so. iterative_vs_fork has no such
 * line to look for: it is a server, and exiting at once shows it never started.
 */
static const struct {
	const char *name;
	const char *working;
} every_lab[] = {
	{"fork_counter", "before fork:"},
	{"exec_replace", "before exec:"},
	{"wait_status", "parent:"},
	{"zombie", "parent:"},
	{"reaper", "parent:"},
	{"sigint_lives", "sigint_lives: pid="},
	{"sigaction_ignore", "sigaction_ignore: pid="},
	{"alarm_timeout", "alarm_timeout: type a line"},
	{"daemon", "daemon: started"},
	{"iterative_vs_fork", NULL},
};
#define LAB_COUNT (sizeof every_lab / sizeof every_lab[0])

/* "At once": far less than any lab run for real waits (sigaction_ignore's 5 s, zombie's 30 s). */
#define HELP_MS 3000

/* The first line of TEXT that begins with PREFIX, or NULL. */
static const char *line_starting(const char *text, const char *prefix)
{
	size_t length = strlen(prefix);
	for (const char *line = text;; line++) {
		if (strncmp(line, prefix, length) == 0)
			return line;
		line = strchr(line, '\n');
		if (line == NULL)
			return NULL;
	}
}

/* True if the line at LINE (up to its newline) contains NEEDLE. */
static bool line_has(const char *line, const char *needle)
{
	const char *found = strstr(line, needle);
	return found != NULL && found < line + strcspn(line, "\n");
}

/*
 * Runs lab NAME with ARGS (starting with --help or -h) and checks that it only
 * answered: its help on standard output, nothing on standard error, exit 0
 * within HELP_MS although its standard input stays open, and no process left
 * behind. Returns the help (free it).
 */
static char *expect_help(const char *name, const char *const *args)
{
	static const struct spawn_options piped = {
		.stdin_pipe = true, .stdout_pipe = true, .nproc_limit = -1};
	struct timespec start = harness_now();
	struct process *lab = start_lab(name, args, &piped);
	char *help = harness_pipe_through(lab, "", 0, true, NULL, HELP_MS);
	if (help == NULL) {
		harness_dump_log(lab, name);
		fail_msg("%s %s: still running after %d ms", name, args[0], HELP_MS);
	}
	char *errors = expect_exit(lab, 0);
	assert_true(harness_ms_since(start) < HELP_MS);
	assert_string_equal(errors, "");
	free(errors);

	/* The first line names the lab; then what to run (this lab) and what to watch. */
	size_t length = strlen(name);
	if (strncmp(help, name, length) != 0 || help[length] != ' ')
		fail_msg("%s %s: the help does not begin with the lab's name:\n%s", name, args[0], help);
	char program[64];
	snprintf(program, sizeof program, "build/examples/%s", name);
	const char *run = line_starting(help, "Run:");
	assert_non_null(run);
	assert_true(line_has(run, program));
	assert_non_null(line_starting(help, "Watch:"));

	/* Nothing was started: no process orphaned to us, none still running. */
	assert_int_equal(harness_reap_orphans(), 0);
	assert_int_equal(harness_children(getpid(), NULL, 0, NULL), 0);
	return help;
}

static void test_every_lab_answers_help(void **state)
{
	(void)state;
	for (size_t i = 0; i < LAB_COUNT; i++) {
		char *help = expect_help(every_lab[i].name, (const char *[]){"--help", NULL});
		if (every_lab[i].working != NULL && line_starting(help, every_lab[i].working) != NULL)
			fail_msg("%s --help went to work:\n%s", every_lab[i].name, help);
		char *short_form = expect_help(every_lab[i].name, (const char *[]){"-h", NULL});
		assert_string_equal(short_form, help);
		free(short_form);
		free(help);
	}
}

/* With --help first, the arguments after it are not used: no exec, no pidfile, no daemon. */
static void test_help_comes_before_the_arguments(void **state)
{
	(void)state;
	char *help = expect_help("exec_replace", (const char *[]){"--help", "sleep", "30", NULL});
	assert_null(line_starting(help, "before exec:"));
	free(help);

	make_daemon_paths();
	free(expect_help("daemon", (const char *[]){"--help", pid_path, log_path, "20", NULL}));
	assert_int_equal(access(pid_path, F_OK), -1);
	assert_int_equal(access(log_path, F_OK), -1);
}

/* Help that cannot be written is an error, said on standard error (EX_IOERR), not a silent 0. */
static void test_help_write_error(void **state)
{
	(void)state;
	static const struct spawn_options full = {.nproc_limit = -1, .stdout_file = "/dev/full"};
	char *log = expect_exit(start_lab("zombie", (const char *[]){"--help", NULL}, &full), 74);
	assert_non_null(strstr(log, "zombie: write standard output: No space left on device\n"));
	free(log);
}

/*
 * A wrong argument: one line on standard error, "usage: NAME ...", that
 * points to --help; nothing on standard output; status 64. (exec_replace
 * has no wrong arguments: whatever it is given is the command to run.)
 */
static void test_usage_errors_point_to_help(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *args[4];
	} wrong[] = {
		{"fork_counter", {"0"}},
		{"fork_counter", {"--verbose"}},
		{"wait_status", {"exit"}},
		{"wait_status", {"signal", "CHLD"}},
		{"zombie", {"-1"}},
		{"reaper", {"65"}},
		{"sigint_lives", {"now"}},
		{"sigaction_ignore", {"0"}},
		{"alarm_timeout", {"1s"}},
		{"daemon", {"lab.pid", "/tmp/lab.log"}},
		{"iterative_vs_fork", {"prefork"}},
		{"iterative_vs_fork", {"fork", "80x"}},
	};
	static const struct spawn_options piped = {.stdout_pipe = true, .nproc_limit = -1};
	for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
		struct process *lab = start_lab(wrong[i].name, wrong[i].args, &piped);
		char *output = harness_pipe_through(lab, "", 0, true, NULL, T);
		assert_non_null(output);
		assert_string_equal(output, "");
		free(output);
		char *errors = expect_exit(lab, 64);
		char start[64];
		snprintf(start, sizeof start, "usage: %s ", wrong[i].name);
		if (strncmp(errors, start, strlen(start)) != 0 || strstr(errors, "--help") == NULL ||
		    harness_count(errors, "\n") != 1 || errors[strlen(errors) - 1] != '\n')
			fail_msg("%s %s: not a one-line usage error naming --help:\n%s", wrong[i].name,
				 wrong[i].args[0], errors);
		free(errors);
	}
}

#define LAB_TEST(name) cmocka_unit_test_setup_teardown(name, harness_setup, harness_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		LAB_TEST(test_fork_counter_separate_memories),
		LAB_TEST(test_fork_counter_usage),
		LAB_TEST(test_exec_replace_keeps_the_pid),
		LAB_TEST(test_exec_replace_runs_another_program),
		LAB_TEST(test_exec_replace_failure_returns),
		LAB_TEST(test_wait_status_exit_code),
		LAB_TEST(test_wait_status_signal),
		LAB_TEST(test_wait_status_signal_ignored_at_start),
		LAB_TEST(test_wait_status_usage),
		LAB_TEST(test_zombie_shown_then_reaped),
		LAB_TEST(test_zombie_input_at_end),
		LAB_TEST(test_reaper_one_signal_many_children),
		LAB_TEST(test_reaper_most_children),
		LAB_TEST(test_sigint_lives_count_down),
		LAB_TEST(test_sigint_lives_sigterm_ends_it),
		LAB_TEST(test_sigaction_ignore_then_restore),
		LAB_TEST(test_sigaction_ignore_restores_what_was_there),
		LAB_TEST(test_alarm_timeout_cuts_read_short),
		LAB_TEST(test_alarm_timeout_line_in_time),
		LAB_TEST(test_alarm_timeout_end_of_input),
		cmocka_unit_test_setup_teardown(test_daemon_detaches_counts_and_stops, harness_setup, daemon_teardown),
		cmocka_unit_test_setup_teardown(test_daemon_pidfile_exists, harness_setup, daemon_teardown),
		LAB_TEST(test_daemon_needs_absolute_paths),
		LAB_TEST(test_iterative_server_makes_second_client_wait),
		LAB_TEST(test_fork_server_serves_second_client_at_once),
		LAB_TEST(test_fork_server_children_end_with_it),
		LAB_TEST(test_servers_echo_binary_data),
		LAB_TEST(test_iterative_vs_fork_usage),
		LAB_TEST(test_every_lab_answers_help),
		cmocka_unit_test_setup_teardown(test_help_comes_before_the_arguments, harness_setup,
						daemon_teardown),
		LAB_TEST(test_help_write_error),
		LAB_TEST(test_usage_errors_point_to_help),
	};
	return cmocka_run_group_tests_name("labs", tests, NULL, NULL);
}
