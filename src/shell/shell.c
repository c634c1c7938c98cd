/*
 * shell: the `forknet shell` command, the course's myshell made correct.
 *
 * Lines come from standard input, from a FILE, or from the string given
 * with -c, through the one line reader (read_line): a file is read as
 * standard input is, and the -c string is input that has already ended.
 * Each line is split into words (words.h). `cd`, `exit [N]` and `quit` are
 * builtins; anything else is looked up on PATH and run by fork + execvp, and
 * the shell waits for it, or, with a trailing &, does not. Commands inherit
 * the shell's standard input, also when the lines come from elsewhere.
 *
 * Processes: a child per command. Background jobs are kept in a small table,
 * reaped as soon as they end (SIGCHLD, as an event on the signal descriptor:
 * no zombie waits for the next prompt) and reported before the next prompt.
 * When the shell ends, jobs still running get SIGHUP, then SIGKILL, and are
 * reaped: none is left behind as an orphan.
 *
 * Signals: Ctrl-C sends SIGINT to the terminal's whole foreground process
 * group. The command gets it with its default action and ends; the shell
 * catches it and only starts a fresh prompt. Background jobs ignore SIGINT
 * and SIGQUIT and read /dev/null, as POSIX asks of a shell without job
 * control. SIGTERM and SIGHUP end the shell (passing them to the command it
 * waits for first).
 *
 * There are no pipes, redirections or variables but $?: it is a lab shell.
 * Its own messages (prompt, status reports, errors) go to standard error,
 * one line each, with control bytes escaped; standard output is the
 * commands' alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "../cli.h"
#include "../lib/children.h"
#include "../lib/clock.h"
#include "../lib/io.h"
#include "../lib/number.h"
#include "../lib/options.h"
#include "../lib/process.h"
#include "../lib/sig.h"
#include "../lib/text.h"
#include "words.h"

#define PROMPT "> "
#define USAGE "usage: forknet shell [-c COMMAND | FILE]"
/*
 * The longest line run, its newline not counted; a longer one is refused and
 * skipped to its end. The input buffer never grows past the line and its
 * newline, so memory stays bounded whatever comes in.
 */
#define LINE_MAX_BYTES (1024 * 1024)
#define INPUT_MAX_BYTES (LINE_MAX_BYTES + 1)
/* The input buffer's first size; it doubles (up to INPUT_MAX_BYTES) when a read would get less. */
#define INPUT_FIRST_BYTES 65536
#define READ_MIN_BYTES 4096
/* The longest message the shell writes (longer ones are cut), before escaping. */
#define MESSAGE_MAX_BYTES 1024
#define JOBS_MAX 64
/* At exit, how long background jobs get after SIGHUP before SIGKILL. */
#define HANGUP_GRACE_MS 2000
/* The status of a line the shell could not run (syntax): as other shells give. */
#define STATUS_SYNTAX 2

struct job {
	pid_t pid; /* 0: a free slot */
	bool done;
	int status; /* wait status, once done */
};

struct shell {
	bool interactive;    /* lines come from standard input, a terminal: prompt, and Ctrl-C is normal */
	bool script;         /* lines come from -c or FILE: the end of them ends with the last status */
	int signal_fd;
	int last_status;     /* $? */
	pid_t foreground;    /* the command being waited for, or 0 */
	bool foreground_done;
	int foreground_status;
	int interrupted;     /* SIGINT or SIGQUIT came (which one), or 0 */
	int stop_signal;     /* SIGTERM or SIGHUP came: end the shell */
	struct job jobs[JOBS_MAX];

	int input_fd;        /* where lines are read from; -1 for -c, whose input has ended already */
	const char *input_name; /* "standard input" or FILE, for messages */
	char *input;         /* input_size bytes; those not used yet start at input_start */
	size_t input_start, input_length, input_size;
	bool input_ended;
	bool skipping;       /* in the rest of an over-long line */
};

/*
 * A message from the shell itself, on standard error: one line. Messages
 * quote what the user gave (a command name, a directory, a file name), which
 * may hold control bytes; the whole line is escaped (the shell's own wording
 * has none), so that no message can drive the terminal or span two lines.
 */
static void say(const char *format, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *format, ...)
{
	char line[MESSAGE_MAX_BYTES];
	/* Escaping writes at most 4 bytes per byte, and a NUL, whose place the newline takes. */
	char shown[TEXT_ESCAPE_SIZE(sizeof line)];
	va_list args;

	va_start(args, format);
	int length = vsnprintf(line, sizeof line, format, args);
	va_end(args);
	if (length < 0)
		return;
	/* vsnprintf returns the length it would have written: a longer message was cut. */
	size_t used = (size_t)length < sizeof line ? (size_t)length : sizeof line - 1;
	size_t shown_length = text_escape_line(line, used, shown);
	shown[shown_length++] = '\n';
	/* Standard error gone: there is no one left to tell. */
	(void)io_write_all(STDERR_FILENO, shown, shown_length, -1);
}

/* "exit 3", "killed by SIGSEGV (core dumped)": how a command ended. */
static const char *how_it_ended(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit %d", WEXITSTATUS(status));
	else
		children_status_text(status, buf, size);
	return buf;
}

/* $? for a wait status: the exit code, or 128 and the signal number. */
static int status_value(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

/* Reaps every ended child: the foreground command, or background jobs. */
static void reap(struct shell *sh)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			return; /* 0: the rest still run; ECHILD: none left */
		if (pid == sh->foreground) {
			sh->foreground_done = true;
			sh->foreground_status = status;
			continue;
		}
		for (size_t i = 0; i < JOBS_MAX; i++) {
			if (sh->jobs[i].pid == pid) {
				sh->jobs[i].done = true;
				sh->jobs[i].status = status;
			}
		}
	}
}

/* Takes in the signals that came: reaping, Ctrl-C, stop. */
static void handle_signals(struct shell *sh)
{
	int signo;

	sig_drain();
	while ((signo = sig_next()) != 0) {
		if (signo == SIGCHLD)
			reap(sh);
		else if (signo == SIGINT || signo == SIGQUIT)
			sh->interrupted = signo;
		else
			sh->stop_signal = signo;
	}
}

/* Says which background jobs ended, and frees their slots. */
static void report_jobs(struct shell *sh)
{
	char how[64];

	for (size_t i = 0; i < JOBS_MAX; i++) {
		if (sh->jobs[i].pid != 0 && sh->jobs[i].done) {
			say("[%ld] done (%s)", (long)sh->jobs[i].pid,
			    how_it_ended(sh->jobs[i].status, how, sizeof how));
			sh->jobs[i].pid = 0;
		}
	}
}

enum line_result {
	LINE_READ,        /* a whole line */
	LINE_END,         /* end of input */
	LINE_INTERRUPTED, /* Ctrl-C (or Ctrl-\) at the prompt: sh->interrupted says which */
	LINE_TOO_LONG,    /* a line over LINE_MAX_BYTES, now skipped */
	LINE_STOPPED,     /* SIGTERM or SIGHUP */
	LINE_FAILED,      /* reading failed (reported) */
};

/* Drops the first COUNT unread bytes of the input. */
static void consume(struct shell *sh, size_t count)
{
	sh->input_start += count;
	sh->input_length -= count;
	if (sh->input_length == 0)
		sh->input_start = 0;
}

/* The first newline among the first LIMIT unread bytes of the input, or NULL. */
static char *find_newline(const struct shell *sh, size_t limit)
{
	size_t length = sh->input_length < limit ? sh->input_length : limit;

	/* No memchr on the buffer before it exists: even with length 0, NULL is not allowed. */
	return length > 0 ? memchr(sh->input + sh->input_start, '\n', length) : NULL;
}

/*
 * Makes room at the end of the input for another read: what is not used yet
 * moves to the front, and the buffer grows up to INPUT_MAX_BYTES. Returns
 * false if out of memory. There is always room: read_line reads only while
 * it holds at most LINE_MAX_BYTES, one byte less than the buffer's most.
 */
static bool make_room(struct shell *sh)
{
	if (sh->input_start > 0) {
		memmove(sh->input, sh->input + sh->input_start, sh->input_length);
		sh->input_start = 0;
	}
	if (sh->input_size - sh->input_length >= READ_MIN_BYTES || sh->input_size == INPUT_MAX_BYTES)
		return true;
	size_t size = sh->input_size == 0 ? INPUT_FIRST_BYTES : 2 * sh->input_size;
	if (size > INPUT_MAX_BYTES)
		size = INPUT_MAX_BYTES;
	char *bigger = realloc(sh->input, size);
	if (bigger == NULL)
		return false;
	sh->input = bigger;
	sh->input_size = size;
	return true;
}

/*
 * Reads the next line, without its newline: *LINE points to its *LENGTH
 * bytes in the input buffer, valid until the next call (it may hold NUL
 * bytes, which words_split refuses). Signals are handled while waiting for
 * input. A line of more than LINE_MAX_BYTES is skipped to its end and
 * reported as LINE_TOO_LONG; reading never makes the buffer hold more than
 * such a line and its newline.
 */
static enum line_result read_line(struct shell *sh, const char **line, size_t *length)
{
	for (;;) {
		if (sh->skipping) {
			char *newline = find_newline(sh, sh->input_length);
			if (newline != NULL || sh->input_ended) {
				consume(sh, newline != NULL
						    ? (size_t)(newline - (sh->input + sh->input_start)) + 1
						    : sh->input_length);
				sh->skipping = false;
				return LINE_TOO_LONG;
			}
			consume(sh, sh->input_length); /* still inside it: keep dropping */
		} else {
			/* A line of LINE_MAX_BYTES has its newline at LINE_MAX_BYTES, at the latest. */
			char *newline = find_newline(sh, LINE_MAX_BYTES + 1);
			if (newline != NULL ||
			    (sh->input_ended && sh->input_length > 0 && sh->input_length <= LINE_MAX_BYTES)) {
				*line = sh->input + sh->input_start;
				*length = newline != NULL ? (size_t)(newline - *line) : sh->input_length;
				consume(sh, newline != NULL ? *length + 1 : *length);
				return LINE_READ;
			}
			if (sh->input_length > LINE_MAX_BYTES) {
				/* More than LINE_MAX_BYTES and no newline among them: too long. */
				consume(sh, LINE_MAX_BYTES + 1);
				sh->skipping = true;
				continue;
			}
		}
		if (sh->input_ended)
			return LINE_END;

		struct pollfd fds[2] = {{.fd = sh->input_fd, .events = POLLIN},
					{.fd = sh->signal_fd, .events = POLLIN}};
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			say("forknet shell: poll: %s", strerror(errno));
			return LINE_FAILED;
		}
		if (fds[1].revents != 0) {
			handle_signals(sh);
			if (sh->stop_signal != 0)
				return LINE_STOPPED;
			if (sh->interrupted != 0) {
				/* The half-typed line goes, as the terminal's does, even an over-long one. */
				consume(sh, sh->input_length);
				sh->skipping = false;
				return LINE_INTERRUPTED;
			}
		}
		if (fds[0].revents == 0)
			continue;
		if (!make_room(sh)) {
			say("forknet shell: out of memory");
			return LINE_FAILED;
		}
		ssize_t count = read(sh->input_fd, sh->input + sh->input_length,
				     sh->input_size - sh->input_length);
		if (count < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			say("forknet shell: read %s: %s", sh->input_name, strerror(errno));
			return LINE_FAILED;
		}
		if (count == 0)
			sh->input_ended = true;
		sh->input_length += (size_t)count;
	}
}

/*
 * The child's side: become the command. Never returns. process_fork has put
 * back the default actions of the signals the shell catches (a background job
 * ignores SIGINT and SIGQUIT, see run_command), and asked for SIGTERM should
 * the shell die, which lasts across exec: commands end with the shell.
 */
static void become(char **argv, bool background)
{
	/* A background job, as in any shell without job control, reads /dev/null. */
	if (background) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null < 0 || dup2(null, STDIN_FILENO) < 0) {
			say("forknet shell: %s: preparing a background job: %s", argv[0], strerror(errno));
			_exit(126);
		}
		if (null != STDIN_FILENO)
			(void)close(null); /* it is close-on-exec anyway */
	}
	execvp(argv[0], argv);
	/* Only reached if exec failed. 127: not found; 126: found but not runnable. */
	if (errno == ENOENT && strchr(argv[0], '/') == NULL) {
		say("forknet shell: %s: command not found", argv[0]);
		_exit(127);
	}
	say("forknet shell: %s: %s", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* Waits for the foreground command; passes SIGTERM or SIGHUP on to it. */
static void wait_foreground(struct shell *sh)
{
	int passed = 0;

	while (!sh->foreground_done) {
		struct pollfd pfd = {.fd = sh->signal_fd, .events = POLLIN};
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
			say("forknet shell: poll: %s", strerror(errno));
			break;
		}
		handle_signals(sh);
		/*
		 * Ctrl-C was for the command: the terminal sent it SIGINT too, so the
		 * shell has nothing to do now (run_command decides what follows).
		 */
		if (sh->stop_signal != 0 && passed != sh->stop_signal) {
			passed = sh->stop_signal;
			/* It may have just ended: fine. SIGCONT, in case it is stopped. */
			(void)kill(sh->foreground, passed);
			(void)kill(sh->foreground, SIGCONT);
		}
	}
	if (!sh->foreground_done) {
		/* poll itself failed: wait the plain way, so the child is reaped all the same. */
		if (process_wait(sh->foreground, &sh->foreground_status) != 0)
			sh->foreground_status = 1 << 8; /* as "exit 1" */
	}
}

/* Runs ARGV as a command, in the foreground or the background. */
static void run_command(struct shell *sh, char **argv, bool background)
{
	struct job *job = NULL;

	if (background) {
		for (size_t i = 0; i < JOBS_MAX && job == NULL; i++)
			if (sh->jobs[i].pid == 0)
				job = &sh->jobs[i];
		if (job == NULL) {
			say("forknet shell: %s: too many background jobs (%d); not started", argv[0],
			    JOBS_MAX);
			sh->last_status = 1;
			return;
		}
	}
	/* A background job ignores Ctrl-C and Ctrl-\, which are meant for the foreground. */
	static const int ignored[] = {SIGINT, SIGQUIT};
	struct process_setup setup = {.ignore = ignored, .ignore_count = background ? 2 : 0};
	pid_t pid = process_fork(&setup);
	if (pid == 0)
		become(argv, background);
	if (pid < 0) {
		say("forknet shell: %s: fork: %s", argv[0], strerror(errno));
		sh->last_status = 126;
		return;
	}
	if (background) {
		*job = (struct job){.pid = pid};
		say("[%ld]", (long)pid);
		sh->last_status = 0;
		return;
	}
	sh->foreground = pid;
	sh->foreground_done = false;
	sh->interrupted = 0;
	wait_foreground(sh);
	sh->foreground = 0;
	sh->last_status = status_value(sh->foreground_status);
	if (!(WIFEXITED(sh->foreground_status) && WEXITSTATUS(sh->foreground_status) == 0)) {
		char how[64];
		say("%s", how_it_ended(sh->foreground_status, how, sizeof how));
	}
	/*
	 * A person at a terminal pressed Ctrl-C to stop the command, not the
	 * shell. A script, though, is stopped by it, as sh does: when the command
	 * died of the shell's SIGINT or SIGQUIT, the shell ends too.
	 */
	int signo = WIFSIGNALED(sh->foreground_status) ? WTERMSIG(sh->foreground_status) : 0;
	if (!sh->interactive && sh->interrupted != 0 && signo == sh->interrupted)
		sh->stop_signal = signo;
	sh->interrupted = 0;
}

/* cd [DIR]: must be a builtin, as a child's chdir would change only the child. */
static void change_directory(struct shell *sh, char **argv, size_t count)
{
	const char *target = count > 1 ? argv[1] : getenv("HOME");

	if (count > 2) {
		say("forknet shell: cd: too many arguments");
		sh->last_status = 1;
		return;
	}
	if (target == NULL) {
		say("forknet shell: cd: HOME is not set");
		sh->last_status = 1;
		return;
	}
	if (chdir(target) != 0) {
		say("forknet shell: cd: %s: %s", target, strerror(errno));
		sh->last_status = 1;
		return;
	}
	/* Commands read $PWD for where they are: keep it true. */
	char *where = getcwd(NULL, 0);
	if (where == NULL || setenv("PWD", where, 1) != 0)
		say("forknet shell: cd: setting PWD: %s", strerror(errno));
	free(where);
	sh->last_status = 0;
}

/* exit [N]: returns true if the shell should end, with *STATUS. */
static bool exit_builtin(struct shell *sh, char **argv, size_t count, int *status)
{
	unsigned long value;

	if (count > 2) {
		say("forknet shell: exit: too many arguments");
		sh->last_status = STATUS_SYNTAX;
		return false;
	}
	if (count == 1) {
		*status = sh->last_status; /* as POSIX has it: the last command's status */
		return true;
	}
	if (number_parse(argv[1], 0, 255, &value) != 0) {
		say("forknet shell: exit: '%s': not a number 0-255", argv[1]);
		sh->last_status = STATUS_SYNTAX;
		return false;
	}
	*status = (int)value;
	return true;
}

/* Runs one line. Returns true if the shell should end, with *STATUS. */
static bool run_line(struct shell *sh, const char *line, size_t length, int *status)
{
	struct words words;
	enum words_result result = words_split(line, length, sh->last_status, &words);

	if (result == WORDS_EMPTY)
		return false; /* an empty line, or only blanks: nothing to do, $? unchanged */
	if (result != WORDS_OK) {
		say("forknet shell: %s; line ignored", words_problem(result));
		sh->last_status = STATUS_SYNTAX;
		return false;
	}
	bool end = false;
	const char *name = words.argv[0];
	bool builtin = strcmp(name, "cd") == 0 || strcmp(name, "exit") == 0 ||
		       strcmp(name, "quit") == 0;
	if (builtin && words.background) {
		say("forknet shell: %s: a builtin cannot run in the background", name);
		sh->last_status = STATUS_SYNTAX;
	} else if (strcmp(name, "cd") == 0) {
		change_directory(sh, words.argv, words.count);
	} else if (strcmp(name, "exit") == 0) {
		end = exit_builtin(sh, words.argv, words.count, status);
	} else if (strcmp(name, "quit") == 0) {
		*status = 0;
		end = true;
	} else {
		run_command(sh, words.argv, words.background);
	}
	words_free(&words);
	return end;
}

/*
 * At the end: jobs still running get SIGHUP (a session that ends hangs up),
 * SIGCONT should they be stopped, HANGUP_GRACE_MS to go, then SIGKILL. All
 * are reaped and reported.
 */
static void end_jobs(struct shell *sh)
{
	size_t running = 0;

	reap(sh);
	for (size_t i = 0; i < JOBS_MAX; i++) {
		if (sh->jobs[i].pid != 0 && !sh->jobs[i].done) {
			(void)kill(sh->jobs[i].pid, SIGHUP); /* it may end at this moment: fine */
			(void)kill(sh->jobs[i].pid, SIGCONT);
			running++;
		}
	}
	struct timespec deadline = clock_after(clock_now(), HANGUP_GRACE_MS);
	while (running > 0 && clock_ms_until(deadline) > 0) {
		struct pollfd pfd = {.fd = sh->signal_fd, .events = POLLIN};
		if (poll(&pfd, 1, clock_ms_until(deadline)) > 0)
			handle_signals(sh);
		running = 0;
		for (size_t i = 0; i < JOBS_MAX; i++)
			if (sh->jobs[i].pid != 0 && !sh->jobs[i].done)
				running++;
	}
	for (size_t i = 0; i < JOBS_MAX; i++) {
		if (sh->jobs[i].pid != 0 && !sh->jobs[i].done) {
			(void)kill(sh->jobs[i].pid, SIGKILL);
			if (process_wait(sh->jobs[i].pid, &sh->jobs[i].status) == 0)
				sh->jobs[i].done = true;
		}
	}
	report_jobs(sh);
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: forknet shell [-c COMMAND | FILE]\n"
		"A small shell: each line is a command and its arguments, found on PATH\n"
		"and run by fork and exec. Words are split on blanks; 'single' and\n"
		"\"double\" quotes group them; $? is the last status; a final & runs the\n"
		"command in the background. Builtins: cd [DIR], exit [N], quit.\n"
		"The lines come from standard input, or from COMMAND (several lines are\n"
		"separated by newlines), or from FILE. COMMAND and FILE are scripts: no\n"
		"prompt, Ctrl-C stops them, and the shell exits with the last command's\n"
		"status. Commands read the shell's standard input. The prompt '> '\n"
		"appears when the lines come from a terminal.\n"
		"  -c COMMAND   run the lines of COMMAND\n"
		"  -h, --help   show this help\n");
}

/* A usage error: PROBLEM, and what the shell takes. Returns EX_USAGE. */
static int usage_error(const char *problem)
{
	char message[512];

	snprintf(message, sizeof message, "%s; " USAGE, problem);
	return cli_usage_error("shell", message);
}

/*
 * Where the lines come from, per the arguments: *COMMAND (-c), *FILE, or
 * neither, for standard input. Returns -1 to go on, or the status to exit
 * with (after --help, or a usage error).
 */
static int parse_arguments(int argc, char **argv, const char **command, const char **file)
{
	static const struct option options[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char problem[256];

	*command = NULL;
	*file = NULL;
	optind = 0;
	opterr = 0;
	/* "+": options end at the first word that is not one (FILE), as in sh. */
	for (int value; (value = getopt_long(argc, argv, "+:c:h", options, NULL)) != -1;) {
		switch (value) {
		case 'c':
			if (*command != NULL)
				return usage_error("-c: given twice");
			*command = optarg;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		default:
			options_problem(value, argv, options, problem, sizeof problem);
			return usage_error(problem);
		}
	}
	if (*command == NULL && optind < argc)
		*file = argv[optind++];
	if (optind < argc) {
		snprintf(problem, sizeof problem, "'%s': unexpected argument after %s", argv[optind],
			 *command != NULL ? "-c COMMAND" : "FILE");
		return usage_error(problem);
	}
	return -1;
}

/*
 * Takes TEXT (-c) as the whole input, which has thus already ended: the
 * same reader then splits it into lines. The kernel bounds an argument
 * (MAX_ARG_STRLEN, 128 KiB), so the copy is small. False if out of memory.
 */
static bool input_from_string(struct shell *sh, const char *text)
{
	size_t length = strlen(text);

	sh->input = malloc(length + 1); /* + 1: never malloc(0), which may give NULL */
	if (sh->input == NULL)
		return false;
	memcpy(sh->input, text, length);
	sh->input_size = length + 1;
	sh->input_length = length;
	sh->input_ended = true;
	sh->input_fd = -1;
	sh->input_name = "-c COMMAND";
	return true;
}

/* Reads and runs lines until the end of the input, exit, or a stop. Returns the exit status. */
static int run_lines(struct shell *sh)
{
	int status = 0;

	for (bool end = false; !end;) {
		report_jobs(sh);
		if (sh->interactive)
			(void)io_write_all(STDERR_FILENO, PROMPT, sizeof PROMPT - 1, -1);
		const char *line;
		size_t length;
		switch (read_line(sh, &line, &length)) {
		case LINE_READ:
			end = run_line(sh, line, length, &status);
			if (sh->stop_signal != 0) {
				status = 128 + sh->stop_signal;
				end = true;
			}
			break;
		case LINE_INTERRUPTED:
			if (sh->interactive) {
				(void)io_write_all(STDERR_FILENO, "\n", 1, -1);
			} else {
				status = 128 + sh->interrupted; /* a script is stopped by Ctrl-C or Ctrl-\ */
				end = true;
			}
			sh->interrupted = 0;
			break;
		case LINE_TOO_LONG:
			say("forknet shell: line longer than %d bytes (1 MiB); ignored", LINE_MAX_BYTES);
			sh->last_status = STATUS_SYNTAX;
			break;
		case LINE_STOPPED:
			status = 128 + sh->stop_signal;
			end = true;
			break;
		case LINE_FAILED:
			status = EX_IOERR;
			end = true;
			break;
		case LINE_END:
			/* A script ends as sh's does; standard input ends with 0 (see forknet(1)). */
			status = sh->script ? sh->last_status : 0;
			end = true;
			break;
		}
	}
	return status;
}

int shell_main(int argc, char **argv)
{
	const char *command, *file;
	int done = parse_arguments(argc, argv, &command, &file);
	if (done >= 0)
		return done;

	static struct shell sh;
	sh.input_fd = STDIN_FILENO;
	sh.input_name = "standard input";
	if (file != NULL) {
		/*
		 * Close-on-exec: no command may inherit it. Opened before signals
		 * are caught, so that Ctrl-C still ends a wait for a FIFO's writer.
		 */
		sh.input_fd = open(file, O_RDONLY | O_CLOEXEC);
		if (sh.input_fd < 0) {
			say("forknet shell: %s: %s", file, strerror(errno));
			return EX_NOINPUT;
		}
		sh.input_name = file;
		sh.script = true;
	} else if (command != NULL) {
		if (!input_from_string(&sh, command)) {
			say("forknet shell: out of memory");
			return EX_OSERR;
		}
		sh.script = true;
	}
	sh.interactive = !sh.script && isatty(STDIN_FILENO) == 1;

	int status;
	static const int caught[] = {SIGCHLD, SIGINT, SIGQUIT, SIGTERM, SIGHUP};
	sh.signal_fd = sig_catch(caught, (int)(sizeof caught / sizeof caught[0]));
	if (sh.signal_fd < 0) {
		cli_error("shell: catching signals: %s", strerror(errno));
		status = EX_OSERR;
	} else {
		status = run_lines(&sh);
		end_jobs(&sh);
		(void)sig_reset(); /* leaving: nothing to restore for */
	}
	/* Only read from: closing it has nothing left to lose, so its result does not matter. */
	if (file != NULL)
		(void)close(sh.input_fd);
	free(sh.input);
	return status;
}
