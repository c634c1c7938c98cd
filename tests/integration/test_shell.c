/*
 * Integration tests of `forknet shell`: the real binary, fed through a pipe
 * (most tests) or driven through a pseudo-terminal (Ctrl-C), checked by what
 * it prints, its exit status, and the processes it leaves (none). Script
 * files are the test's own memory files, opened by the shell through
 * /proc/PID/fd/N: nothing is left on disk, and teardown closes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
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
/* The longest line the shell runs (1 MiB, newline not counted), and what it says of a longer one. */
#define LIMIT ((size_t)1024 * 1024)
#define TOO_LONG "forknet shell: line longer than 1048576 bytes (1 MiB); ignored\n"

static const struct spawn_options piped = {.stdin_pipe = true, .stdout_pipe = true, .nproc_limit = -1};

/*
 * Runs forknet with ARGS ("shell" and its arguments) on INPUT (then end of
 * input); returns its standard output, *STATUS, *ERRORS.
 */
static char *run_shell_with(const char *const *args, const char *input, size_t length, int *status,
			    char **errors)
{
	struct process *shell = harness_spawn(args, &piped);
	char *output = harness_pipe_through(shell, input, length, false, NULL, T);
	assert_non_null(output);
	assert_true(harness_wait_exit(shell, T));
	assert_true(WIFEXITED(shell->status));
	*status = WEXITSTATUS(shell->status);
	*errors = harness_log(shell);
	return output;
}

/* Runs the shell on INPUT (then end of input); returns its standard output, *STATUS, *ERRORS. */
static char *run_shell(const char *input, size_t length, int *status, char **errors)
{
	return run_shell_with((const char *[]){"shell", NULL}, input, length, status, errors);
}

/* `forknet ARGS` on INPUT gives exactly OUTPUT and ERRORS, and exits with STATUS. */
static void expect_shell_with(const char *const *args, const char *input, const char *output,
			      const char *errors, int status)
{
	int got_status;
	char *got_errors;
	char *got = run_shell_with(args, input, strlen(input), &got_status, &got_errors);
	if (strcmp(got, output) != 0 || strcmp(got_errors, errors) != 0 || got_status != status)
		fail_msg("for %s %s, input \"%s\":\nstdout \"%s\" (want \"%s\")\n"
			 "stderr \"%s\" (want \"%s\")\nstatus %d (want %d)",
			 args[0], args[1] != NULL ? args[1] : "", input, got, output, got_errors,
			 errors, got_status, status);
	free(got);
	free(got_errors);
	assert_int_equal(harness_reap_orphans(), 0);
}

/* INPUT gives exactly OUTPUT and ERRORS, and the shell exits with STATUS. */
static void expect_shell(const char *input, const char *output, const char *errors, int status)
{
	expect_shell_with((const char *[]){"shell", NULL}, input, output, errors, status);
}

/* The script file of the running test, or -1; shell_teardown closes it. */
static int script_fd = -1;
static char script_path[64];

/*
 * A file holding LENGTH bytes of TEXT, as a path the shell can open: a memory
 * file of the test's own, through /proc. Valid until the next call.
 */
static const char *script_file(const char *text, size_t length)
{
	if (script_fd >= 0)
		assert_int_equal(close(script_fd), 0);
	script_fd = memfd_create("forknet-shell-script", MFD_CLOEXEC);
	assert_true(script_fd >= 0);
	for (size_t written = 0; written < length;) {
		ssize_t count = write(script_fd, text + written, length - written);
		assert_true(count > 0);
		written += (size_t)count;
	}
	snprintf(script_path, sizeof script_path, "/proc/%ld/fd/%d", (long)getpid(), script_fd);
	return script_path;
}

/* `forknet shell FILE`, FILE holding SCRIPT, on INPUT: exactly OUTPUT and ERRORS, and STATUS. */
static void expect_script(const char *script, const char *input, const char *output,
			  const char *errors, int status)
{
	const char *file = script_file(script, strlen(script));
	expect_shell_with((const char *[]){"shell", file, NULL}, input, output, errors, status);
}

static int shell_teardown(void **state)
{
	if (script_fd >= 0) {
		(void)close(script_fd); /* a memory file: nothing can be lost */
		script_fd = -1;
	}
	return harness_teardown(state);
}

static void test_words_and_quotes(void **state)
{
	(void)state;
	expect_shell("echo one   two\n", "one two\n", "", 0);
	expect_shell("echo 'single  quoted' \"double  quoted\" mixed'  'word\n",
		     "single  quoted double  quoted mixed  word\n", "", 0);
	expect_shell("echo \"say \\\"hi\\\"\" back\\ slash '' x\n", "say \"hi\" back slash  x\n", "", 0);
	expect_shell("printf '%s|' a 'b c' \"\" d\n", "a|b c||d|", "", 0);
	/* Empty lines and lines of blanks do nothing. */
	expect_shell("\n   \n\t\necho ok\n", "ok\n", "", 0);
	/* No newline at the end: the last line still runs. */
	expect_shell("echo last", "last\n", "", 0);
}

static void test_status_reports_and_dollar_question(void **state)
{
	(void)state;
	expect_shell("false\necho $?\n", "1\n", "exit 1\n", 0);
	expect_shell("sh -c 'exit 3'\necho \"was $?\" '$?'\n", "was 3 $?\n", "exit 3\n", 0);
	expect_shell("sh -c 'kill -TERM $$'\necho $?\n", "143\n", "killed by SIGTERM\n", 0);
	expect_shell("true\necho $?\n", "0\n", "", 0);
}

static void test_command_not_found(void **state)
{
	(void)state;
	expect_shell("no-such-command-here\necho $?\necho still here\n", "127\nstill here\n",
		     "forknet shell: no-such-command-here: command not found\nexit 127\n", 0);
	expect_shell("/no/such/file\necho $?\n", "127\n",
		     "forknet shell: /no/such/file: No such file or directory\nexit 127\n", 0);
	expect_shell("/etc/passwd\necho $?\n", "126\n",
		     "forknet shell: /etc/passwd: Permission denied\nexit 126\n", 0);
}

static void test_cd(void **state)
{
	(void)state;
	expect_shell("cd /tmp\npwd\ncd /\npwd\n", "/tmp\n/\n", "", 0);
	expect_shell("cd /\ncd /no/such/dir\necho $?\npwd\n", "1\n/\n",
		     "forknet shell: cd: /no/such/dir: No such file or directory\n", 0);
	expect_shell("cd /tmp /\necho $?\n", "1\n", "forknet shell: cd: too many arguments\n", 0);
}

static void test_exit_and_quit(void **state)
{
	(void)state;
	expect_shell("echo a\nexit 7\necho never\n", "a\n", "", 7);
	expect_shell("quit\necho never\n", "", "", 0);
	expect_shell("false\nexit\n", "", "exit 1\n", 1);
	expect_shell("exit many\necho $?\n", "2\n", "forknet shell: exit: 'many': not a number 0-255\n", 0);
	/* End of input ends the shell with status 0, whatever came last. */
	expect_shell("false\n", "", "exit 1\n", 0);
}

static void test_bad_lines(void **state)
{
	(void)state;
	expect_shell("echo 'open\necho $?\n", "2\n", "forknet shell: unbalanced quote; line ignored\n", 0);
	expect_shell("echo \"open\necho next\n", "next\n",
		     "forknet shell: unbalanced quote; line ignored\n", 0);
	expect_shell("echo end\\\necho next\n", "next\n",
		     "forknet shell: backslash at the end of the line; line ignored\n", 0);
	/* A NUL byte cannot be passed to a program: the line is refused, the shell goes on. */
	int status;
	char *errors;
	static const char nul[] = "echo a\0b\necho after\n";
	char *output = run_shell(nul, sizeof nul - 1, &status, &errors);
	assert_string_equal(output, "after\n");
	assert_string_equal(errors, "forknet shell: NUL byte in the line; line ignored\n");
	free(output);
	free(errors);
	/* A line of 2 MiB is refused whole, and what follows it runs. */
	size_t length = 2 * 1024 * 1024;
	char *huge = malloc(length + 32);
	assert_non_null(huge);
	memcpy(huge, "echo ", 5);
	memset(huge + 5, 'x', length - 5);
	memcpy(huge + length, "\necho after\n", 12);
	output = run_shell(huge, length + 12, &status, &errors);
	free(huge);
	assert_string_equal(output, "after\n");
	assert_string_equal(errors, TOO_LONG);
	free(output);
	free(errors);
}

/* "exit 3" and blanks: a line of LENGTH bytes that runs no program, then TAIL. Free it. */
static char *long_line(size_t length, const char *tail, size_t *total)
{
	size_t tail_length = strlen(tail);
	char *text = malloc(length + tail_length + 1);
	assert_non_null(text);
	memcpy(text, "exit 3", 6);
	memset(text + 6, ' ', length - 6);
	memcpy(text + length, tail, tail_length + 1);
	*total = length + tail_length;
	return text;
}

/* A line of LENGTH bytes (and TAIL) through a pipe: exactly OUTPUT, ERRORS and STATUS. */
static void expect_long_line(size_t length, const char *tail, const char *output,
			     const char *errors, int status)
{
	size_t total;
	char *input = long_line(length, tail, &total);
	int got_status;
	char *got_errors;
	char *got = run_shell(input, total, &got_status, &got_errors);
	free(input);
	if (strcmp(got, output) != 0 || strcmp(got_errors, errors) != 0 || got_status != status)
		fail_msg("for a line of %zu bytes and \"%s\":\nstdout \"%s\" (want \"%s\")\n"
			 "stderr \"%s\" (want \"%s\")\nstatus %d (want %d)",
			 length, tail, got, output, got_errors, errors, got_status, status);
	free(got);
	free(got_errors);
}

/*
 * A line of exactly 1 MiB is run, with or without its newline at the end of
 * the input; one byte more and it is refused, $? is 2, and the shell goes on.
 * The line is "exit 3" and blanks: a builtin, as exec refuses a 1 MiB
 * argument (E2BIG).
 */
static void test_line_limit(void **state)
{
	(void)state;
	expect_long_line(LIMIT, "\necho never\n", "", "", 3);
	expect_long_line(LIMIT, "", "", "", 3);
	expect_long_line(LIMIT + 1, "\necho $?\n", "2\n", TOO_LONG, 0);
	expect_long_line(LIMIT + 1, "", "", TOO_LONG, 0);
	/* Lines from a file go through the same reader. */
	size_t total;
	char *script = long_line(LIMIT, "\necho never\n", &total);
	const char *file = script_file(script, total);
	free(script);
	expect_shell_with((const char *[]){"shell", file, NULL}, "", "", "", 3);
	script = long_line(LIMIT + 1, "\necho $?\n", &total);
	file = script_file(script, total);
	free(script);
	expect_shell_with((const char *[]){"shell", file, NULL}, "", "2\n", TOO_LONG, 0);
}

/* -c COMMAND: its lines run as a script, and the shell exits with the last status. */
static void test_command_string(void **state)
{
	(void)state;
	expect_shell_with((const char *[]){"shell", "-c", "echo hi", NULL}, "", "hi\n", "", 0);
	expect_shell_with((const char *[]){"shell", "-c", "echo one\necho 'two  words'\nfalse", NULL},
			  "", "one\ntwo  words\n", "exit 1\n", 1);
	expect_shell_with((const char *[]){"shell", "-c", "false\necho $?\n", NULL}, "", "1\n",
			  "exit 1\n", 0);
	expect_shell_with((const char *[]){"shell", "-c", "echo a\nexit 7\necho never", NULL}, "",
			  "a\n", "", 7);
	expect_shell_with((const char *[]){"shell", "-c", "echo 'open", NULL}, "", "",
			  "forknet shell: unbalanced quote; line ignored\n", 2);
	expect_shell_with((const char *[]){"shell", "-c", "", NULL}, "", "", "", 0);
	/* Commands read the shell's standard input. */
	expect_shell_with((const char *[]){"shell", "-c", "cat\necho after", NULL}, "typed\n",
			  "typed\nafter\n", "", 0);
}

/* FILE: its lines run as a script; commands read the shell's standard input. */
static void test_script_file(void **state)
{
	(void)state;
	expect_script("echo one\nsh -c 'exit 3'\n", "", "one\n", "exit 3\n", 3);
	expect_script("echo a\nexit 7\necho never\n", "", "a\n", "", 7);
	expect_script("cat\necho after", "typed\n", "typed\nafter\n", "", 0);
	/*
	 * The shell's descriptor for FILE is close-on-exec: a command (sh, which
	 * lists its own /proc/self/fd by its pid) has only 0, 1 and 2.
	 */
	expect_script("sh -c 'ls /proc/$$/fd'\n", "", "0\n1\n2\n", "", 0);
	/* A FILE that cannot be opened: one line, and 66 (EX_NOINPUT). */
	expect_shell_with((const char *[]){"shell", "/no/such/script", NULL}, "", "",
			  "forknet shell: /no/such/script: No such file or directory\n", 66);
}

/* Anything but -c COMMAND, FILE or nothing: one line that says what the shell takes, and 64. */
static void test_usage_errors(void **state)
{
	(void)state;
	static const char usage[] = "; usage: forknet shell [-c COMMAND | FILE] "
				    "(try 'forknet shell --help')\n";
	struct {
		const char *args[5];
		const char *problem;
	} cases[] = {
		{{"shell", "-c", NULL}, "-c: needs a value"},
		{{"shell", "-c", "echo hi", "extra", NULL}, "'extra': unexpected argument after -c COMMAND"},
		{{"shell", "-c", "echo hi", "-c", "echo again"}, "-c: given twice"},
		{{"shell", "some-file", "extra", NULL}, "'extra': unexpected argument after FILE"},
		{{"shell", "-x", NULL}, "-x: unknown option"},
		{{"shell", "--frob", NULL}, "--frob: unknown option"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char expected[256];
		snprintf(expected, sizeof expected, "forknet: shell %s%s", cases[i].problem, usage);
		expect_shell_with(cases[i].args, "", "", expected, 64);
	}
	int status;
	char *errors;
	char *output = run_shell_with((const char *[]){"shell", "--help", NULL}, "", 0, &status, &errors);
	assert_int_equal(status, 0);
	assert_string_equal(errors, "");
	assert_non_null(strstr(output, "Usage: forknet shell [-c COMMAND | FILE]\n"));
	free(output);
	free(errors);
}

/*
 * The shell's messages show control bytes escaped, so that none can drive
 * the terminal, and each is one line. A word cannot hold a newline (it ends
 * the line), but a FILE name can.
 */
static void test_messages_escaped(void **state)
{
	(void)state;
	expect_shell("'\x1b[31mred\tname\rx'\necho $?\n", "127\n",
		     "forknet shell: \\x1b[31mred\\x09name\\x0dx: command not found\nexit 127\n", 0);
	expect_shell("cd '\x1b]0;title\x07'\n", "",
		     "forknet shell: cd: \\x1b]0;title\\x07: No such file or directory\n", 0);
	expect_shell("exit '\x1b[2J'\n", "", "forknet shell: exit: '\\x1b[2J': not a number 0-255\n", 0);
	expect_shell_with((const char *[]){"shell", "/no/such/\x1b[2J\nscript", NULL}, "", "",
			  "forknet shell: /no/such/\\x1b[2J\\x0ascript: No such file or directory\n", 66);
	/*
	 * A long name of control bytes (too long a file name for exec: 126): the
	 * message is cut, escaped whole, and still one line.
	 */
	char input[2048];
	memset(input, '\x1b', 1500);
	memcpy(input + 1500, "\n", 2);
	int status;
	char *errors;
	char *output = run_shell(input, strlen(input), &status, &errors);
	assert_string_equal(output, "");
	assert_int_equal(harness_count(errors, "\n"), 2); /* the message, then "exit 126" */
	assert_null(strchr(errors, '\x1b'));
	assert_true(strncmp(errors, "forknet shell: \\x1b\\x1b", 23) == 0);
	const char *report = strstr(errors, "\nexit 126\n");
	assert_non_null(report);
	assert_true(report - errors < 4 * 1024);
	free(output);
	free(errors);
}

/* A background job is reaped as soon as it ends (no zombie), and reported before the next prompt. */
static void test_background_job(void **state)
{
	(void)state;
	struct process *shell = harness_spawn((const char *[]){"shell", NULL}, &piped);
	assert_int_equal(write(shell->stdin_fd, "sleep 0.3 &\n", 12), 12);
	assert_true(harness_wait_log(shell, "]\n", 1, T));
	char *log = harness_log(shell);
	long job = strtol(strchr(log, '[') + 1, NULL, 10);
	free(log);
	assert_true(job > 0);
	/* The shell waits for input; the job ends; it must not stay a zombie. */
	struct timespec start = harness_now();
	while (harness_process_exists((pid_t)job)) {
		if (harness_ms_since(start) > T)
			fail_msg("job %ld still exists (state %c)", job,
				 harness_process_state((pid_t)job));
		usleep(5000);
	}
	assert_int_equal(write(shell->stdin_fd, "echo next\n", 10), 10);
	char expected[64];
	snprintf(expected, sizeof expected, "[%ld] done (exit 0)\n", job);
	assert_true(harness_wait_log(shell, expected, 1, T));
	char *output = harness_pipe_through(shell, "", 0, false, NULL, T);
	assert_string_equal(output, "next\n");
	free(output);
	assert_true(harness_wait_exit(shell, T));
	assert_int_equal(WEXITSTATUS(shell->status), 0);
	assert_int_equal(harness_reap_orphans(), 0);
}

/* Jobs still running when the shell ends are hung up and reaped: no orphan. */
static void test_jobs_end_with_the_shell(void **state)
{
	(void)state;
	int status;
	char *errors;
	char *output = run_shell("sleep 60 &\nsleep 61 &\n", 22, &status, &errors);
	assert_int_equal(status, 0);
	assert_int_equal(harness_count(errors, "] done (killed by SIGHUP)\n"), 2);
	free(output);
	free(errors);
	assert_int_equal(harness_reap_orphans(), 0);
}

/* Commands get only the standard descriptors, and the signal dispositions of a fresh program. */
/*
 * The signals this test program was started with ignored, as /proc shows
 * them, less SIGPIPE (the harness resets it for what it starts). A shell
 * passes inherited ignores on, as sh does; it must add none of its own.
 */
static unsigned long long inherited_ignores(void)
{
	FILE *status = fopen("/proc/self/status", "r");
	assert_non_null(status);
	char line[256];
	unsigned long long mask = 0;
	bool found = false;
	while (!found && fgets(line, sizeof line, status) != NULL)
		found = sscanf(line, "SigIgn: %llx", &mask) == 1;
	fclose(status);
	assert_true(found);
	return mask & ~(1ull << (SIGPIPE - 1));
}

static void test_what_commands_inherit(void **state)
{
	(void)state;
	unsigned long long ignored = inherited_ignores();
	char want[128];
	/*
	 * The signal state is read by grep of its own (/proc/self): a shell's
	 * may be in flux (dash blocks every signal for a moment around fork and
	 * wait), so sh is asked only for its descriptors.
	 */
	snprintf(want, sizeof want, "0\n1\n2\nSigBlk:\t0000000000000000\nSigIgn:\t%016llx\n", ignored);
	expect_shell("sh -c 'ls /proc/$$/fd'\ngrep -E \"^Sig(Ign|Blk)\" /proc/self/status\n", want, "", 0);
	/* A background job also ignores SIGINT and SIGQUIT (bits 2 and 3), nothing else. */
	int status;
	char *errors;
	static const char input[] = "grep -E \"^SigIgn\" /proc/self/status &\nsleep 0.5\n";
	char *output = run_shell(input, sizeof input - 1, &status, &errors);
	snprintf(want, sizeof want, "SigIgn:\t%016llx\n", ignored | (1ull << (SIGINT - 1)) | (1ull << (SIGQUIT - 1)));
	assert_string_equal(output, want);
	assert_int_equal(harness_count(errors, "] done (exit 0)\n"), 1);
	free(output);
	free(errors);
}

static void test_lone_ampersand_and_pwd(void **state)
{
	(void)state;
	expect_shell("&\necho $?\n", "2\n", "forknet shell: & with no command before it; line ignored\n", 0);
	expect_shell("cd /tmp\nsh -c 'echo $PWD'\n", "/tmp\n", "", 0);
}

/* A background job killed by a signal is reported so; one that ignores SIGHUP gets SIGKILL at the end. */
static void test_job_reports(void **state)
{
	(void)state;
	int status;
	char *errors;
	/* The second job is given time to set its trap before the shell ends and hangs up. */
	static const char input[] = "sh -c 'kill -TERM $$' &\nsleep 0.5\n"
				    "sh -c 'trap \"\" HUP; exec sleep 60' &\nsleep 0.5\n";
	char *output = run_shell(input, sizeof input - 1, &status, &errors);
	assert_int_equal(status, 0);
	assert_int_equal(harness_count(errors, "] done (killed by SIGTERM)\n"), 1);
	assert_int_equal(harness_count(errors, "] done (killed by SIGKILL)\n"), 1);
	free(output);
	free(errors);
	assert_int_equal(harness_reap_orphans(), 0);
}

/* Starts the shell on a pipe with INPUT, and waits until it runs a command: returns that command. */
static pid_t shell_running(struct process **shell, const char *input)
{
	*shell = harness_spawn((const char *[]){"shell", NULL}, &piped);
	assert_int_equal(write((*shell)->stdin_fd, input, strlen(input)), (ssize_t)strlen(input));
	pid_t command;
	assert_true(harness_wait_children((*shell)->pid, 1, T));
	assert_int_equal(harness_children((*shell)->pid, &command, 1, NULL), 1);
	return command;
}

/* A shell reading a script is stopped by Ctrl-C (SIGINT to its process group), as sh is. */
static void test_ctrl_c_stops_a_script(void **state)
{
	(void)state;
	struct process *shell;
	shell_running(&shell, "sleep 30\necho after\n");
	assert_int_equal(kill(-shell->pid, SIGINT), 0);
	assert_true(harness_wait_exit(shell, T));
	assert_true(WIFEXITED(shell->status));
	assert_int_equal(WEXITSTATUS(shell->status), 130);
	char *output = harness_pipe_through(shell, "", 0, false, NULL, T);
	assert_string_equal(output, "");
	free(output);
	assert_true(harness_wait_log(shell, "killed by SIGINT\n", 1, 0));
	assert_int_equal(harness_reap_orphans(), 0);
}

/* SIGTERM to the shell reaches the command it waits for, even a stopped one, and ends the shell. */
static void test_sigterm_ends_command_and_shell(void **state)
{
	(void)state;
	struct process *shell;
	pid_t command = shell_running(&shell, "sh -c 'kill -STOP $$'\necho after\n");
	struct timespec start = harness_now();
	while (harness_process_state(command) != 'T') {
		assert_true(harness_ms_since(start) < T);
		usleep(5000);
	}
	assert_int_equal(kill(shell->pid, SIGTERM), 0);
	assert_true(harness_wait_exit(shell, T));
	assert_int_equal(WEXITSTATUS(shell->status), 143);
	assert_false(harness_process_exists(command));
	assert_true(harness_wait_log(shell, "killed by SIGTERM\n", 1, 0));
	char *output = harness_pipe_through(shell, "", 0, false, NULL, T);
	assert_string_equal(output, "");
	free(output);
}

/* ---- through a pseudo-terminal ---- */

/* A shell on a pseudo-terminal: its controlling terminal, as when a person types. */
struct terminal {
	pid_t pid;
	int master;
	char text[65536]; /* everything it has written so far */
	size_t length;
};

/* Starts `forknet shell ARGS...` (ARGS NULL-terminated) on a pseudo-terminal. */
static struct terminal *open_terminal_with(const char *const *args)
{
	static struct terminal term;
	const char *binary = getenv("FORKNET_BIN");
	const char *argv[8] = {"forknet", "shell"};
	for (size_t i = 0; args[i] != NULL && i + 3 < sizeof argv / sizeof argv[0]; i++)
		argv[i + 2] = args[i];
	memset(&term, 0, sizeof term);
	term.pid = forkpty(&term.master, NULL, NULL, NULL);
	assert_true(term.pid >= 0);
	if (term.pid == 0) {
		/* forkpty made this a session leader with the terminal as its own. */
		signal(SIGPIPE, SIG_DFL); /* the test ignores it; the shell would pass that on */
		if (close_range(3, ~0U, 0) != 0) /* as harness_spawn: only what the shell is given */
			_exit(126);
		execv(binary != NULL ? binary : "build/forknet", (char *const *)argv);
		_exit(127);
	}
	assert_int_equal(fcntl(term.master, F_SETFD, FD_CLOEXEC), 0);
	return &term;
}

static struct terminal *open_terminal(void)
{
	return open_terminal_with((const char *[]){NULL});
}

/* Waits until the terminal shows NEEDLE at least COUNT times in all. */
static void terminal_wait(struct terminal *term, const char *needle, int count)
{
	struct timespec start = harness_now();
	for (;;) {
		term->text[term->length] = '\0';
		if (harness_count(term->text, needle) >= count)
			return;
		struct pollfd pfd = {.fd = term->master, .events = POLLIN};
		long left = T - harness_ms_since(start);
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			fail_msg("terminal never showed \"%s\"; it shows \"%s\"", needle, term->text);
		ssize_t count_read = read(term->master, term->text + term->length,
					  sizeof term->text - 1 - term->length);
		if (count_read <= 0)
			fail_msg("terminal closed before \"%s\"; it shows \"%s\"", needle, term->text);
		term->length += (size_t)count_read;
	}
}

static void terminal_type(struct terminal *term, const char *keys)
{
	assert_int_equal(write(term->master, keys, strlen(keys)), (ssize_t)strlen(keys));
}

/*
 * Waits for the terminal's shell to exit, keeping what it shows (as much as
 * fits), and reaps it; returns its wait status. The terminal is closed.
 */
static int terminal_wait_exit(struct terminal *term)
{
	int status;
	struct timespec start = harness_now();
	for (;;) {
		pid_t pid = waitpid(term->pid, &status, WNOHANG);
		if (pid == term->pid)
			break;
		if (harness_ms_since(start) > T) {
			kill(term->pid, SIGKILL);
			waitpid(term->pid, &status, 0);
			close(term->master);
			term->text[term->length] = '\0';
			fail_msg("the shell did not exit; terminal: \"%s\"", term->text);
		}
		char sink[4096];
		char *into = term->length + 1 < sizeof term->text ? term->text + term->length : sink;
		size_t room = into == sink ? sizeof sink : sizeof term->text - 1 - term->length;
		struct pollfd pfd = {.fd = term->master, .events = POLLIN};
		if (poll(&pfd, 1, 5) > 0) {
			ssize_t count = read(term->master, into, room);
			if (count < 0)
				usleep(5000); /* EIO once the shell has gone: just wait for waitpid */
			else if (into != sink)
				term->length += (size_t)count;
		}
	}
	close(term->master);
	term->text[term->length] = '\0';
	return status;
}

/* Ends the terminal's shell with "exit 0" and checks it went with status 0 and left nothing. */
static void terminal_close(struct terminal *term)
{
	terminal_type(term, "exit 0\n");
	int status = terminal_wait_exit(term);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(harness_reap_orphans(), 0);
}

/* The only child of PARENT, once it exists. */
static pid_t child_of(pid_t parent)
{
	pid_t child;
	assert_true(harness_wait_children(parent, 1, T));
	assert_int_equal(harness_children(parent, &child, 1, NULL), 1);
	return child;
}

/* Ctrl-C interrupts the command (sleep 30), not the shell. */
static void test_ctrl_c_interrupts_the_command(void **state)
{
	(void)state;
	struct terminal *term = open_terminal();
	terminal_wait(term, "> ", 1);
	terminal_type(term, "sleep 30\n");
	pid_t sleeper = child_of(term->pid);
	terminal_type(term, "\x03"); /* Ctrl-C: the terminal sends SIGINT to the foreground group */
	terminal_wait(term, "killed by SIGINT", 1);
	assert_false(harness_process_exists(sleeper));
	terminal_wait(term, "> ", 2); /* the shell goes on */
	terminal_type(term, "echo $?\n");
	terminal_wait(term, "130", 1);
	terminal_close(term);
}

/* Ctrl-C at the prompt gives a fresh prompt; a background job does not get it. */
static void test_ctrl_c_at_the_prompt(void **state)
{
	(void)state;
	struct terminal *term = open_terminal();
	terminal_wait(term, "> ", 1);
	terminal_type(term, "sleep 30 &\n");
	pid_t job = child_of(term->pid);
	terminal_wait(term, "> ", 2);
	terminal_type(term, "half-typed\x03");
	terminal_wait(term, "> ", 3);
	assert_true(harness_process_exists(job)); /* background jobs ignore SIGINT */
	assert_int_not_equal(harness_process_state(job), 'Z');
	terminal_type(term, "echo fine\n");
	terminal_wait(term, "fine", 2); /* the echo of the typing, and the output */
	terminal_close(term);             /* the job is hung up with the shell */
	assert_false(harness_process_exists(job));
}

/*
 * Ctrl-C right after "CMD &": the job must already ignore it. The window is
 * between fork and exec; 50 jobs, each followed at once by SIGINT to the
 * whole group, as a quick finger would send it.
 */
static void test_background_job_never_gets_ctrl_c(void **state)
{
	(void)state;
	struct terminal *term = open_terminal();
	terminal_wait(term, "> ", 1);
	for (int round = 0; round < 50; round++) {
		terminal_type(term, "sleep 30 &\n");
		assert_int_equal(kill(-term->pid, SIGINT), 0);
		terminal_wait(term, "> ", round + 2);
	}
	terminal_type(term, "echo listed\n");
	terminal_wait(term, "listed", 2);
	if (strstr(term->text, "killed by SIGINT") != NULL)
		fail_msg("a background job got the Ctrl-C: %s", term->text);
	terminal_close(term); /* the jobs are hung up with the shell */
}

/*
 * -c COMMAND and FILE are scripts even on a terminal: no prompt, and Ctrl-C
 * stops the shell with the command (130), so "after" never runs.
 */
static void expect_script_on_terminal(const char *const *args)
{
	struct terminal *term = open_terminal_with(args);
	pid_t sleeper = child_of(term->pid);
	terminal_type(term, "\x03");
	int status = terminal_wait_exit(term);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 130)
		fail_msg("%s: wait status 0x%x, want exit 130; terminal: \"%s\"", args[0], status,
			 term->text);
	assert_false(harness_process_exists(sleeper));
	if (strstr(term->text, "> ") != NULL || strstr(term->text, "after") != NULL)
		fail_msg("%s: a prompt, or the script went on; terminal: \"%s\"", args[0], term->text);
	assert_int_equal(harness_reap_orphans(), 0);
}

static void test_scripts_on_a_terminal(void **state)
{
	(void)state;
	expect_script_on_terminal((const char *[]){"-c", "sleep 30\necho after", NULL});
	static const char script[] = "sleep 30\necho after\n";
	expect_script_on_terminal((const char *[]){script_file(script, sizeof script - 1), NULL});
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_words_and_quotes, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_status_reports_and_dollar_question, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_command_not_found, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_cd, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_exit_and_quit, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_bad_lines, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_background_job, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_jobs_end_with_the_shell, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_what_commands_inherit, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_lone_ampersand_and_pwd, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_job_reports, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_c_stops_a_script, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_ends_command_and_shell, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_background_job_never_gets_ctrl_c, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_c_interrupts_the_command, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_c_at_the_prompt, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_line_limit, harness_setup, shell_teardown),
		cmocka_unit_test_setup_teardown(test_command_string, harness_setup, shell_teardown),
		cmocka_unit_test_setup_teardown(test_script_file, harness_setup, shell_teardown),
		cmocka_unit_test_setup_teardown(test_usage_errors, harness_setup, shell_teardown),
		cmocka_unit_test_setup_teardown(test_messages_escaped, harness_setup, shell_teardown),
		cmocka_unit_test_setup_teardown(test_scripts_on_a_terminal, harness_setup, shell_teardown),
	};
	return cmocka_run_group_tests_name("shell", tests, NULL, NULL);
}
