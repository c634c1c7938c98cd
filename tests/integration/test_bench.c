/*
 * Integration tests of `forknet bench`, the load generator: the real binary
 * on loopback, against the real echo server and against fake servers played
 * by the test (each a process of its own, made with harness_fork, that
 * corrupts, cuts short, withholds or pads its echoes).
 *
 * What is checked is what a user sees: the text summary and the JSON object
 * (parsed strictly here, and compared figure by figure, as printed), the exit
 * status, the one-line messages of refused commands, and through /proc the
 * connections the server holds and the processes bench leaves behind (none).
 *
 * Every run is short (-t 1, or ended by a signal) and has a deadline of its
 * -t plus 10 s: a hang check, never a speed threshold. Nothing here asserts
 * that something was fast.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
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
/* How long a run of -t SECONDS may take before it counts as hung. */
#define HANG_MS(seconds) ((seconds) * 1000 + 10000)
#define TOKEN_SIZE 64
#define ERROR_KINDS 9
#define JSON_ENTRIES_MAX 64
#define JSON_DEPTH_MAX 8

/* The error kinds, in the order bench prints them. */
static const char *const error_kinds[ERROR_KINDS] = {"wrong",	"extra",   "eof",
						     "reset",	"refused", "timeout",
						     "stalled", "ports",   "other"};

static const struct spawn_options piped = {.stdout_pipe = true, .nproc_limit = -1};

/* ---- Running bench ---- */

/* One finished run of bench. */
struct run {
	struct process *process;
	char *out; /* its standard output */
	char *err; /* its standard error */
	int status; /* its exit status */
};

/* Starts `forknet bench ARGS...` (ARGS without "bench"), its standard output piped. */
static struct process *start_bench(const char *const *args)
{
	const char *argv[32] = {"bench"};
	int count = 1;
	for (int i = 0; args[i] != NULL && count < 31; i++)
		argv[count++] = args[i];
	argv[count] = NULL;
	return harness_spawn(argv, &piped);
}

/*
 * The outputs of runs not freed yet: a failed assertion leaves its test
 * early, and teardown frees them (the buffers themselves are kept here, as
 * the run they belong to was on the stack of the test that failed).
 */
#define BUFFERS_MAX 8
static char *unfreed[BUFFERS_MAX];

static void buffer_keep(char *buffer)
{
	for (int i = 0; i < BUFFERS_MAX && buffer != NULL; i++)
		if (unfreed[i] == NULL) {
			unfreed[i] = buffer;
			return;
		}
	if (buffer != NULL)
		fail_msg("more than %d outputs of bench kept at once", BUFFERS_MAX);
}

static void buffer_free(char *buffer)
{
	for (int i = 0; i < BUFFERS_MAX; i++)
		if (unfreed[i] == buffer)
			unfreed[i] = NULL;
	free(buffer);
}

static void run_free(struct run *run)
{
	buffer_free(run->out);
	buffer_free(run->err);
	run->out = run->err = NULL;
}

/* harness_teardown, and the outputs of the runs a failed test did not free. */
static int teardown(void **state)
{
	for (int i = 0; i < BUFFERS_MAX; i++) {
		free(unfreed[i]);
		unfreed[i] = NULL;
	}
	return harness_teardown(state);
}

/*
 * Reads what the started bench writes on standard output until it ends, and
 * reaps it, all within LIMIT_MS of START; fails the test if it hangs or is
 * killed by a signal.
 */
static void finish_bench(struct process *process, struct timespec start, long limit_ms,
			 struct run *run)
{
	size_t length = 0;
	long left = limit_ms - harness_ms_since(start);
	*run = (struct run){.process = process};
	run->out = harness_pipe_through(process, NULL, 0, false, &length, left > 0 ? (int)left : 1);
	buffer_keep(run->out);
	left = limit_ms - harness_ms_since(start);
	if (run->out == NULL || !harness_wait_exit(process, left > 0 ? (int)left : 1)) {
		harness_dump_log(process, "bench that did not end");
		fail_msg("bench did not end within %ld ms", limit_ms);
	}
	run->err = harness_log(process);
	buffer_keep(run->err);
	if (!WIFEXITED(process->status)) {
		harness_dump_log(process, "bench killed by a signal");
		fail_msg("bench was killed by signal %d", WTERMSIG(process->status));
	}
	run->status = WEXITSTATUS(process->status);
	assert_int_equal(strlen(run->out), length); /* text, no NUL bytes */
}

/* Runs `forknet bench ARGS...` to its end, which must come within LIMIT_MS. */
static void run_bench(const char *const *args, long limit_ms, struct run *run)
{
	struct timespec start = harness_now();
	finish_bench(start_bench(args), start, limit_ms, run);
}

/* Fails the test, showing both outputs of RUN, unless its exit status is WANT. */
static void expect_status(const struct run *run, int want)
{
	if (run->status != want)
		fail_msg("bench exited %d, expected %d\n-- standard output:\n%s-- standard error:\n%s",
			 run->status, want, run->out, run->err);
}

/* The port as the argument bench takes. */
static void port_text(uint16_t port, char *out, size_t size)
{
	snprintf(out, size, "%u", port);
}

/* Starts an echo server on HOST (port 0, quiet) and sets PORT to its port as text. */
static struct process *start_echo_server(const char *host, char *port, size_t size)
{
	struct process *server = harness_start_server((const char *[]){"-b", host, "-p", "0", "-q", NULL});
	port_text(server->port, port, size);
	return server;
}

/* ---- The text summary, parsed strictly ---- */

/* The figures of a text summary, each as printed. */
struct text_summary {
	char mode[TOKEN_SIZE];
	char target[TOKEN_SIZE];
	char concurrency[TOKEN_SIZE];
	char size[TOKEN_SIZE];
	char depth[TOKEN_SIZE]; /* empty unless echo mode */
	char seconds[TOKEN_SIZE];
	char jobs[TOKEN_SIZE];
	char operations[TOKEN_SIZE];
	char ops_per_second[TOKEN_SIZE];
	char megabytes_per_second[TOKEN_SIZE];
	char p50[TOKEN_SIZE], p90[TOKEN_SIZE], p99[TOKEN_SIZE], p99_9[TOKEN_SIZE], max[TOKEN_SIZE];
	char latency_unit[TOKEN_SIZE];
	char errors[TOKEN_SIZE];
	char kinds[ERROR_KINDS][TOKEN_SIZE]; /* "0" for a kind not listed */
	char held[TOKEN_SIZE];		     /* empty unless idle mode */
	char cpu_seconds[TOKEN_SIZE];
	char cpu_percent[TOKEN_SIZE];
};

static bool literal(const char **p, const char *word)
{
	size_t length = strlen(word);
	if (strncmp(*p, word, length) != 0)
		return false;
	*p += length;
	return true;
}

/* An unsigned decimal number, with a fraction if FRACTION: [0-9]+ or [0-9]+.[0-9]+ */
static bool number(const char **p, char *out, bool fraction)
{
	const char *start = *p, *q = *p;
	while (*q >= '0' && *q <= '9')
		q++;
	if (q == start)
		return false;
	if (fraction) {
		if (*q != '.' || q[1] < '0' || q[1] > '9')
			return false;
		q++;
		while (*q >= '0' && *q <= '9')
			q++;
	}
	if ((size_t)(q - start) >= TOKEN_SIZE)
		return false;
	memcpy(out, start, (size_t)(q - start));
	out[q - start] = '\0';
	*p = q;
	return true;
}

/* At least one character up to (not including) one of STOPS or a newline. */
static bool word(const char **p, char *out, const char *stops)
{
	size_t length = strcspn(*p, stops);
	size_t line = strcspn(*p, "\n");
	if (line < length)
		length = line;
	if (length == 0 || length >= TOKEN_SIZE)
		return false;
	memcpy(out, *p, length);
	out[length] = '\0';
	*p += length;
	return true;
}

/* NOUN, with an 's' unless COUNT is "1". */
static bool noun(const char **p, const char *name, const char *count)
{
	if (!literal(p, name))
		return false;
	bool plural = strcmp(count, "1") != 0;
	if (plural)
		return literal(p, "s");
	return **p != 's';
}

/* The "errors: N" line, with its kinds in parentheses when N is not 0. */
static const char *parse_errors(const char **p, struct text_summary *s)
{
	bool listed[ERROR_KINDS] = {false};
	for (int kind = 0; kind < ERROR_KINDS; kind++)
		strcpy(s->kinds[kind], "0");
	if (!literal(p, "errors: ") || !number(p, s->errors, false))
		return "no 'errors: N' line";
	if (literal(p, "\n"))
		return strcmp(s->errors, "0") == 0 ? NULL : "errors not 0 but no kinds listed";
	if (!literal(p, " ("))
		return "errors: no '(' before the kinds";
	for (bool first = true;; first = false) {
		if (!first && !literal(p, ", "))
			return "errors: no ', ' between kinds";
		int kind = 0;
		while (kind < ERROR_KINDS &&
		       !(literal(p, error_kinds[kind]) && literal(p, " ")))
			kind++;
		if (kind == ERROR_KINDS)
			return "errors: an unknown kind";
		if (listed[kind])
			return "errors: a kind listed twice";
		listed[kind] = true;
		if (!number(p, s->kinds[kind], false))
			return "errors: a kind without its count";
		if (strcmp(error_kinds[kind], "other") == 0 && literal(p, ", the last: ")) {
			size_t length = strcspn(*p, ")\n");
			if (length == 0)
				return "errors: 'the last:' without an error";
			*p += length;
		}
		if (literal(p, ")\n"))
			return NULL;
	}
}

/*
 * Parses TEXT, which must be one whole summary and nothing else, into *S.
 * Returns NULL, or what was wrong.
 */
static const char *parse_text(const char *text, struct text_summary *s)
{
	const char *p = text;
	memset(s, 0, sizeof *s);
	if (!literal(&p, "bench: ") || !word(&p, s->mode, " ") || !literal(&p, " mode, ") ||
	    !word(&p, s->target, ",") || !literal(&p, ", ") || !number(&p, s->concurrency, false) ||
	    !literal(&p, " ") || !noun(&p, "connection", s->concurrency) || !literal(&p, ", ") ||
	    !number(&p, s->size, false) || !literal(&p, " ") || !noun(&p, "byte", s->size) ||
	    !literal(&p, ", "))
		return "the first line, up to the bytes";
	if (literal(&p, "depth ") && (!number(&p, s->depth, false) || !literal(&p, ", ")))
		return "the first line's depth";
	if (!number(&p, s->seconds, true) || !literal(&p, " s, ") || !number(&p, s->jobs, false) ||
	    !literal(&p, " ") || !noun(&p, "job", s->jobs) || !literal(&p, "\n"))
		return "the first line, from the seconds";
	if (!literal(&p, "operations: ") || !number(&p, s->operations, false) || !literal(&p, " (") ||
	    !number(&p, s->ops_per_second, true) || !literal(&p, "/s)\n"))
		return "the operations line";
	if (!literal(&p, "throughput: ") || !number(&p, s->megabytes_per_second, true) ||
	    !literal(&p, " MB/s\n"))
		return "the throughput line";
	if (!literal(&p, "latency: p50 ") || !number(&p, s->p50, true) || !literal(&p, " us, p90 ") ||
	    !number(&p, s->p90, true) || !literal(&p, " us, p99 ") || !number(&p, s->p99, true) ||
	    !literal(&p, " us, p99.9 ") || !number(&p, s->p99_9, true) ||
	    !literal(&p, " us, max ") || !number(&p, s->max, true) || !literal(&p, " us (") ||
	    !word(&p, s->latency_unit, ")") || !literal(&p, ")\n"))
		return "the latency line";
	const char *wrong = parse_errors(&p, s);
	if (wrong != NULL)
		return wrong;
	if (literal(&p, "held: ") &&
	    (!number(&p, s->held, false) || !literal(&p, " ") || !noun(&p, "connection", s->held) ||
	     !literal(&p, "\n")))
		return "the held line";
	if (!literal(&p, "cpu: ") || !number(&p, s->cpu_seconds, true) || !literal(&p, " s (") ||
	    !number(&p, s->cpu_percent, true) || !literal(&p, "% of one core)\n"))
		return "the cpu line";
	if (*p != '\0')
		return "more after the cpu line";
	return NULL;
}

/* Parses TEXT as a summary into *S, or fails the test saying why. */
static void expect_text_summary(const char *text, struct text_summary *s)
{
	const char *wrong = parse_text(text, s);
	if (wrong != NULL)
		fail_msg("not a text summary (%s):\n%s", wrong, text);
	uint64_t sum = 0;
	for (int kind = 0; kind < ERROR_KINDS; kind++)
		sum += strtoull(s->kinds[kind], NULL, 10);
	if (sum != strtoull(s->errors, NULL, 10))
		fail_msg("errors: the kinds add up to %llu, the total is %s:\n%s",
			 (unsigned long long)sum, s->errors, text);
}

/* The count of error KIND ("refused") in S. */
static const char *text_kind(const struct text_summary *s, const char *kind)
{
	for (int i = 0; i < ERROR_KINDS; i++)
		if (strcmp(error_kinds[i], kind) == 0)
			return s->kinds[i];
	fail_msg("no error kind '%s'", kind);
	return NULL;
}

/* ---- JSON, parsed strictly: every value checked, scalars kept by their dotted path ---- */

struct json_entry {
	char key[TOKEN_SIZE];	/* "errors.refused" */
	char value[TOKEN_SIZE]; /* a string's text, or a number, true, false, null as written */
	char type;		/* 's' string, 'n' number, 'l' true, false or null */
};

struct json {
	const char *p;
	const char *error;
	struct json_entry entries[JSON_ENTRIES_MAX];
	int count;
};

static void json_space(struct json *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static bool json_fail(struct json *j, const char *error)
{
	if (j->error == NULL)
		j->error = error;
	return false;
}

/* A string, its text into OUT (TOKEN_SIZE bytes; escapes other than \uXXXX decoded). */
static bool json_string(struct json *j, char *out)
{
	size_t length = 0;
	if (*j->p != '"')
		return json_fail(j, "a string expected");
	j->p++;
	for (;;) {
		unsigned char c = (unsigned char)*j->p;
		if (c == '\0')
			return json_fail(j, "a string without its end");
		if (c < 0x20)
			return json_fail(j, "a control character in a string");
		j->p++;
		if (c == '"')
			break;
		if (c == '\\') {
			static const char escapes[] = "\"\\/bfnrtu";
			static const char decoded[] = "\"\\/\b\f\n\r\t";
			char escaped = *j->p++;
			const char *from = escaped != '\0' ? strchr(escapes, escaped) : NULL;
			if (from == NULL)
				return json_fail(j, "a bad escape in a string");
			if (escaped == 'u') {
				for (int i = 0; i < 4; i++, j->p++)
					if (*j->p == '\0' || strchr("0123456789abcdefABCDEF", *j->p) == NULL)
						return json_fail(j, "a bad \\u escape");
				c = '?'; /* no value here needs it: a stand-in */
			} else {
				c = (unsigned char)decoded[from - escapes];
			}
		}
		if (length + 1 >= TOKEN_SIZE)
			return json_fail(j, "a string too long for this test");
		out[length++] = (char)c;
	}
	out[length] = '\0';
	return true;
}

/* A number, as JSON spells one: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number(struct json *j, char *out)
{
	const char *start = j->p, *q = j->p;
	if (*q == '-')
		q++;
	if (*q == '0')
		q++;
	else if (*q >= '1' && *q <= '9')
		while (*q >= '0' && *q <= '9')
			q++;
	else
		return json_fail(j, "a value expected");
	if (*q == '.') {
		q++;
		if (*q < '0' || *q > '9')
			return json_fail(j, "a number with no digit after its point");
		while (*q >= '0' && *q <= '9')
			q++;
	}
	if (*q == 'e' || *q == 'E') {
		q++;
		if (*q == '+' || *q == '-')
			q++;
		if (*q < '0' || *q > '9')
			return json_fail(j, "a number with no digit in its exponent");
		while (*q >= '0' && *q <= '9')
			q++;
	}
	if ((size_t)(q - start) >= TOKEN_SIZE)
		return json_fail(j, "a number too long for this test");
	memcpy(out, start, (size_t)(q - start));
	out[q - start] = '\0';
	j->p = q;
	return true;
}

static bool json_keep(struct json *j, const char *key, const char *value, char type)
{
	for (int i = 0; i < j->count; i++)
		if (strcmp(j->entries[i].key, key) == 0)
			return json_fail(j, "a key given twice");
	if (j->count == JSON_ENTRIES_MAX)
		return json_fail(j, "more values than this test keeps");
	struct json_entry *entry = &j->entries[j->count++];
	snprintf(entry->key, sizeof entry->key, "%s", key);
	snprintf(entry->value, sizeof entry->value, "%s", value);
	entry->type = type;
	return true;
}

static bool json_value(struct json *j, const char *path, int depth);

/* An object whose members are kept as PATH.KEY ("" at the top; PATH NULL: checked, not kept). */
static bool json_object(struct json *j, const char *path, int depth)
{
	j->p++; /* the '{' */
	json_space(j);
	if (*j->p == '}') {
		j->p++;
		return true;
	}
	for (;;) {
		char key[TOKEN_SIZE], member[2 * TOKEN_SIZE + 2];
		json_space(j);
		if (!json_string(j, key))
			return false;
		json_space(j);
		if (*j->p++ != ':')
			return json_fail(j, "no ':' after a key");
		if (path != NULL && path[0] != '\0')
			snprintf(member, sizeof member, "%s.%s", path, key);
		else
			snprintf(member, sizeof member, "%s", key);
		if (strlen(member) >= TOKEN_SIZE)
			return json_fail(j, "a key too long for this test");
		if (!json_value(j, path != NULL ? member : NULL, depth + 1))
			return false;
		json_space(j);
		if (*j->p == '}') {
			j->p++;
			return true;
		}
		if (*j->p++ != ',')
			return json_fail(j, "no ',' or '}' after a member");
	}
}

/* An array: its values are checked, not kept. */
static bool json_array(struct json *j, int depth)
{
	j->p++; /* the '[' */
	json_space(j);
	if (*j->p == ']') {
		j->p++;
		return true;
	}
	for (;;) {
		if (!json_value(j, NULL, depth + 1))
			return false;
		json_space(j);
		if (*j->p == ']') {
			j->p++;
			return true;
		}
		if (*j->p++ != ',')
			return json_fail(j, "no ',' or ']' after an element");
	}
}

static bool json_value(struct json *j, const char *path, int depth)
{
	char token[TOKEN_SIZE];
	if (depth > JSON_DEPTH_MAX)
		return json_fail(j, "nested too deep");
	json_space(j);
	switch (*j->p) {
	case '{':
		return json_object(j, path, depth);
	case '[':
		return json_array(j, depth);
	case '"':
		return json_string(j, token) && (path == NULL || json_keep(j, path, token, 's'));
	case 't':
	case 'f':
	case 'n': {
		static const char *const words[] = {"true", "false", "null"};
		for (int i = 0; i < 3; i++)
			if (strncmp(j->p, words[i], strlen(words[i])) == 0) {
				j->p += strlen(words[i]);
				return path == NULL || json_keep(j, path, words[i], 'l');
			}
		return json_fail(j, "a value expected");
	}
	default:
		return json_number(j, token) && (path == NULL || json_keep(j, path, token, 'n'));
	}
}

/* Parses OUTPUT, which must be one JSON object and a newline, into *J; fails the test if not. */
static void expect_json(const char *output, struct json *j)
{
	memset(j, 0, sizeof *j);
	j->p = output;
	size_t length = strlen(output);
	if (length == 0 || output[length - 1] != '\n' || strchr(output, '\n') != output + length - 1)
		fail_msg("standard output is not one line:\n%s", output);
	json_space(j);
	if (*j->p != '{')
		fail_msg("standard output is not a JSON object:\n%s", output);
	if (json_value(j, "", 0)) {
		json_space(j);
		if (*j->p != '\0')
			json_fail(j, "more after the object");
	}
	if (j->error != NULL)
		fail_msg("not JSON (%s, at offset %ld):\n%s", j->error, (long)(j->p - output), output);
}

static const struct json_entry *json_get(const struct json *j, const char *key, char type)
{
	for (int i = 0; i < j->count; i++)
		if (strcmp(j->entries[i].key, key) == 0) {
			if (j->entries[i].type != type)
				fail_msg("JSON %s: %s is not of type '%c'", key, j->entries[i].value, type);
			return &j->entries[i];
		}
	fail_msg("JSON: no %s", key);
	return NULL;
}

static const char *json_text(const struct json *j, const char *key)
{
	return json_get(j, key, 's')->value;
}

static const char *json_number_text(const struct json *j, const char *key)
{
	return json_get(j, key, 'n')->value;
}

/* JSON KEY must be the number WANT, exactly as the text summary printed it. */
static void expect_json_number(const struct json *j, const char *key, const char *want)
{
	const char *got = json_number_text(j, key);
	if (strcmp(got, want) != 0)
		fail_msg("JSON %s is %s, the text summary says %s", key, got, want);
}

/*
 * The JSON object J and the text summary S, of the same run, must carry the
 * same figures, as printed.
 */
static void expect_same_figures(const struct json *j, const struct text_summary *s)
{
	assert_string_equal(json_text(j, "mode"), s->mode);
	assert_string_equal(json_text(j, "target"), s->target);
	/* The target is the host and the port: 127.0.0.1:PORT, [::1]:PORT. */
	char target[2 * TOKEN_SIZE + 4];
	const char *host = json_text(j, "host");
	const char *port = json_number_text(j, "port");
	if (strchr(host, ':') != NULL)
		snprintf(target, sizeof target, "[%s]:%s", host, port);
	else
		snprintf(target, sizeof target, "%s:%s", host, port);
	assert_string_equal(target, s->target);
	expect_json_number(j, "concurrency", s->concurrency);
	expect_json_number(j, "size", s->size);
	if (s->depth[0] != '\0')
		expect_json_number(j, "depth", s->depth);
	expect_json_number(j, "jobs", s->jobs);
	expect_json_number(j, "seconds", s->seconds);
	expect_json_number(j, "operations", s->operations);
	expect_json_number(j, "ops_per_second", s->ops_per_second);
	expect_json_number(j, "megabytes_per_second", s->megabytes_per_second);
	expect_json_number(j, "latency_us.p50", s->p50);
	expect_json_number(j, "latency_us.p90", s->p90);
	expect_json_number(j, "latency_us.p99", s->p99);
	expect_json_number(j, "latency_us.p99_9", s->p99_9);
	expect_json_number(j, "latency_us.max", s->max);
	expect_json_number(j, "errors.total", s->errors);
	for (int kind = 0; kind < ERROR_KINDS; kind++) {
		char key[TOKEN_SIZE];
		snprintf(key, sizeof key, "errors.%s", error_kinds[kind]);
		expect_json_number(j, key, s->kinds[kind]);
	}
	expect_json_number(j, "held", s->held[0] != '\0' ? s->held : "0");
	expect_json_number(j, "cpu_seconds", s->cpu_seconds);
	expect_json_number(j, "cpu_percent", s->cpu_percent);
}

/*
 * The text summary on standard error of a --json run: the whole of it, after
 * only the ready line in idle mode.
 */
static const char *summary_in_log(const char *err, const char *ready)
{
	if (ready != NULL) {
		if (strncmp(err, ready, strlen(ready)) != 0)
			fail_msg("standard error does not begin with '%s':\n%s", ready, err);
		return err + strlen(ready);
	}
	return err;
}

/* A run with --json: the JSON object and the text summary on standard error, checked to agree. */
static void expect_json_run(const struct run *run, const char *ready, struct json *j,
			    struct text_summary *s)
{
	expect_json(run->out, j);
	expect_text_summary(summary_in_log(run->err, ready), s);
	expect_same_figures(j, s);
}

static double figure(const char *text)
{
	return strtod(text, NULL);
}

/* ---- /proc ---- */

/*
 * How many TCP connections (IPv4 and IPv6) are ESTABLISHED with PORT as
 * their local port (LOCAL) or their remote port, per /proc/net/tcp and tcp6.
 */
static int established_with_port(uint16_t port, bool local)
{
	static const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	int count = 0;
	for (int t = 0; t < 2; t++) {
		FILE *table = fopen(tables[t], "re");
		if (table == NULL)
			continue;
		char line[512];
		if (fgets(line, sizeof line, table) != NULL) /* the header */
			while (fgets(line, sizeof line, table) != NULL) {
				unsigned local_port, remote_port, state;
				if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%x %x", &local_port,
					   &remote_port, &state) == 3 &&
				    state == 0x01 && (local ? local_port : remote_port) == port)
					count++;
			}
		fclose(table);
	}
	return count;
}

/* Waits until PID is gone (reaping it if it is ours, as orphans come to the test); false on timeout. */
static bool wait_gone(pid_t pid, int timeout_ms)
{
	struct timespec start = harness_now();
	for (;;) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid || !harness_process_exists(pid))
			return true;
		if (harness_ms_since(start) > timeout_ms)
			return false;
		struct timespec pause = {.tv_sec = 0, .tv_nsec = 5 * 1000000L};
		nanosleep(&pause, NULL);
	}
}

/*
 * How many processes of process group GROUP (bench's: its jobs stay in it)
 * are still running. Those that have ended and come to the test (a
 * subreaper) are reaped on the way.
 */
static size_t group_running(pid_t group)
{
	size_t running = 0;
	DIR *proc = opendir("/proc");
	assert_non_null(proc);
	for (struct dirent *entry; (entry = readdir(proc)) != NULL;) {
		char *end;
		long pid = strtol(entry->d_name, &end, 10);
		struct process_stat stat;
		if (*end != '\0' || pid <= 0 || !harness_process_stat((pid_t)pid, &stat) ||
		    stat.group != group)
			continue;
		int status;
		if (stat.state == 'Z' && waitpid((pid_t)pid, &status, WNOHANG) == (pid_t)pid)
			continue;
		running++;
	}
	closedir(proc);
	return running;
}

/* Waits until nothing of process group GROUP runs; false on timeout. */
static bool wait_group_gone(pid_t group, int timeout_ms)
{
	struct timespec start = harness_now();
	while (group_running(group) > 0) {
		if (harness_ms_since(start) > timeout_ms)
			return false;
		struct timespec pause = {.tv_sec = 0, .tv_nsec = 5 * 1000000L};
		nanosleep(&pause, NULL);
	}
	return true;
}

/* ---- Fake servers ---- */

/* What each fake server does wrong. */
enum fake_kind {
	FAKE_CORRUPT,	  /* echoes, but flips the first byte of every 4th connection */
	FAKE_CLOSE_EARLY, /* reads the whole message, echoes half of it, and closes */
	FAKE_SILENT,	  /* reads, never writes */
	FAKE_EXTRA,	  /* echoes the whole message, with one byte more on every other connection */
};

/* The message size the fakes expect: bench's default -s. */
#define FAKE_SIZE 64
#define FAKE_CONNECTIONS 64
/* A fake ends on its own after this, should teardown not come (it does, with SIGKILL). */
#define FAKE_LIFETIME_MS 60000

struct fake {
	int listener;
	enum fake_kind kind;
};

struct fake_connection {
	int fd;
	unsigned number;       /* how many were accepted before it */
	size_t received;       /* bytes read so far */
	bool answered;	       /* the whole message was answered (close-early, extra) */
	unsigned char message[FAKE_SIZE];
};

static bool fake_send(int fd, const void *buf, size_t length)
{
	const char *next = buf;
	while (length > 0) {
		ssize_t count = send(fd, next, length, MSG_NOSIGNAL);
		if (count < 0 && errno == EINTR)
			continue;
		if (count <= 0)
			return false;
		next += count;
		length -= (size_t)count;
	}
	return true;
}

static void fake_close(struct fake_connection *connection, int *open)
{
	close(connection->fd);
	connection->fd = -1;
	(*open)--;
}

/* Reads what came on CONNECTION and answers it the fake's wrong way. */
static void fake_serve(enum fake_kind kind, struct fake_connection *connection, int *open)
{
	unsigned char buffer[4096];
	ssize_t count = recv(connection->fd, buffer, sizeof buffer, 0);
	if (count < 0 && errno == EINTR)
		return;
	if (count <= 0) {
		fake_close(connection, open);
		return;
	}
	size_t first = connection->received;
	connection->received += (size_t)count;
	switch (kind) {
	case FAKE_SILENT:
		return;
	case FAKE_CORRUPT:
		if (first == 0 && connection->number % 4 == 0)
			buffer[0] ^= 0x20;
		if (!fake_send(connection->fd, buffer, (size_t)count))
			fake_close(connection, open);
		return;
	case FAKE_CLOSE_EARLY:
	case FAKE_EXTRA:
		break;
	}
	/* The two that answer the whole message at once: gather it first. */
	for (size_t i = 0; i < (size_t)count && first + i < FAKE_SIZE; i++)
		connection->message[first + i] = buffer[i];
	if (connection->answered || connection->received < FAKE_SIZE)
		return;
	connection->answered = true;
	if (kind == FAKE_CLOSE_EARLY) {
		/* Everything was read, so the close is a FIN, not a reset. */
		fake_send(connection->fd, connection->message, FAKE_SIZE / 2);
		fake_close(connection, open);
		return;
	}
	/* One send for the echo and its extra byte, so that they arrive as one. */
	unsigned char padded[FAKE_SIZE + 1];
	memcpy(padded, connection->message, FAKE_SIZE);
	padded[FAKE_SIZE] = '!';
	if (!fake_send(connection->fd, padded, FAKE_SIZE + (connection->number % 2 == 1 ? 1 : 0)))
		fake_close(connection, open);
}

/* The fake server's process: an accept loop over up to FAKE_CONNECTIONS connections. */
static int fake_server(void *arg)
{
	const struct fake *fake = arg;
	struct fake_connection connections[FAKE_CONNECTIONS];
	struct pollfd polled[FAKE_CONNECTIONS + 1];
	unsigned accepted = 0;
	int open = 0;
	struct timespec start = harness_now();

	for (int i = 0; i < FAKE_CONNECTIONS; i++)
		connections[i].fd = -1;
	while (harness_ms_since(start) < FAKE_LIFETIME_MS) {
		/* Full: the backlog holds the rest until one goes. */
		polled[0] = (struct pollfd){.fd = open < FAKE_CONNECTIONS ? fake->listener : -1,
					    .events = POLLIN};
		for (int i = 0; i < FAKE_CONNECTIONS; i++)
			polled[i + 1] = (struct pollfd){.fd = connections[i].fd, .events = POLLIN};
		int ready = poll(polled, FAKE_CONNECTIONS + 1, 100);
		if (ready < 0 && errno != EINTR) {
			perror("fake server: poll");
			return 1;
		}
		if (ready <= 0)
			continue;
		for (int i = 0; i < FAKE_CONNECTIONS; i++)
			if (connections[i].fd >= 0 && (polled[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				fake_serve(fake->kind, &connections[i], &open);
		if (polled[0].revents & POLLIN) {
			int fd = accept4(fake->listener, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue; /* EAGAIN: the client went first; anything else: next time */
			for (int i = 0; i < FAKE_CONNECTIONS; i++)
				if (connections[i].fd < 0) {
					connections[i] = (struct fake_connection){.fd = fd, .number = accepted++};
					open++;
					break;
				}
		}
	}
	return 0;
}

/* A listening TCP socket on 127.0.0.1, port 0, non-blocking; its port into *PORT. */
static int listen_loopback(uint16_t *port)
{
	struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t length = sizeof address;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(fd, 128) != 0 ||
	    getsockname(fd, (struct sockaddr *)&address, &length) != 0) {
		close(fd);
		fail_msg("listen on 127.0.0.1: %s", strerror(errno));
	}
	*port = ntohs(address.sin_port);
	return fd;
}

/* Starts a fake server of KIND on 127.0.0.1; its port, as text, into PORT. */
static struct process *start_fake(enum fake_kind kind, char *port, size_t size)
{
	static struct fake fake; /* the child gets its own copy at fork */
	uint16_t number;
	fake = (struct fake){.listener = listen_loopback(&number), .kind = kind};
	struct process *process = harness_fork(fake_server, &fake);
	close(fake.listener); /* the fake's process has it */
	port_text(number, port, size);
	return process;
}

/*
 * Runs bench -t 1 -c 10 (conn mode, --json, EXTRA options) against a fake
 * server of KIND, which must end on time with status WANT, with errors of
 * KIND_NAME only, more than 0 of them.
 */
static void bench_fake(enum fake_kind kind, const char *kind_name, const char *extra, int want,
		       struct json *j, struct text_summary *s)
{
	char port[16];
	struct process *fake = start_fake(kind, port, sizeof port);
	struct run run;
	const char *args[16] = {"-t", "1", "-c", "10", "--json"};
	int count = 5;
	if (extra != NULL) {
		args[count++] = "--timeout";
		args[count++] = extra;
	}
	args[count++] = "127.0.0.1";
	args[count++] = port;
	args[count] = NULL;
	run_bench(args, HANG_MS(1), &run);
	expect_status(&run, want);
	expect_json_run(&run, NULL, j, s);
	if (figure(s->errors) <= 0 || strcmp(text_kind(s, kind_name), s->errors) != 0)
		fail_msg("expected only '%s' errors, more than 0:\n%s", kind_name, run.err);
	if (want == 69)
		assert_string_equal(s->operations, "0");
	else
		assert_true(figure(s->operations) > 0);
	assert_true(harness_process_exists(fake->pid)); /* it was the fake that answered */
	run_free(&run);
}

/* ---- 1. Against the echo server: every mode, text and JSON ---- */

/*
 * bench -m MODE (with EXTRA, may be NULL) against the echo server: zero
 * errors, a positive rate, status 0, and JSON that matches the text.
 */
static void expect_clean_run(const char *mode, const char *extra, const char *depth)
{
	char port[16];
	struct process *server = start_echo_server("127.0.0.1", port, sizeof port);
	const char *args[16] = {"-m", mode, "-t", "1", "--json"};
	int count = 5;
	if (extra != NULL) {
		args[count++] = extra;
		args[count++] = depth;
	}
	args[count++] = "127.0.0.1";
	args[count++] = port;
	args[count] = NULL;
	struct run run;
	run_bench(args, HANG_MS(1), &run);
	expect_status(&run, 0);
	struct json j;
	struct text_summary s;
	bool idle = strcmp(mode, "idle") == 0;
	expect_json_run(&run, idle ? "ready: 50 connections held\n" : NULL, &j, &s);
	assert_string_equal(s.mode, mode);
	char target[32];
	snprintf(target, sizeof target, "127.0.0.1:%s", port);
	assert_string_equal(s.target, target);
	assert_string_equal(s.concurrency, "50");
	assert_string_equal(s.size, "64");
	assert_string_equal(s.jobs, "1");
	assert_string_equal(s.depth, strcmp(mode, "echo") == 0 ? depth : "");
	assert_string_equal(json_number_text(&j, "depth"), extra != NULL ? depth : "1");
	assert_string_equal(json_text(&j, "close"), "fin");
	assert_string_equal(s.errors, "0");
	assert_true(figure(s.operations) > 0);
	assert_true(figure(s.ops_per_second) > 0);
	assert_true(figure(s.seconds) > 0);
	if (idle) {
		assert_string_equal(s.held, "50");
		assert_string_equal(s.operations, "50"); /* one echo on each connection */
	} else {
		assert_string_equal(s.held, "");
		assert_true(figure(s.megabytes_per_second) > 0);
	}
	run_free(&run);
	/* bench closed every connection: the server's children all go. */
	assert_true(harness_wait_children(server->pid, 0, T));
}

static void test_conn_mode(void **state)
{
	(void)state;
	expect_clean_run("conn", NULL, NULL);
}

static void test_echo_mode_depth_1(void **state)
{
	(void)state;
	expect_clean_run("echo", "-d", "1");
}

static void test_echo_mode_depth_4(void **state)
{
	(void)state;
	expect_clean_run("echo", "-d", "4");
}

static void test_idle_mode(void **state)
{
	(void)state;
	expect_clean_run("idle", NULL, NULL);
}

/* Without --json the text summary is on standard output, and standard error is empty. */
static void test_text_summary_on_standard_output(void **state)
{
	(void)state;
	char port[16];
	start_echo_server("127.0.0.1", port, sizeof port);
	struct run run;
	run_bench((const char *[]){"-m", "echo", "-c", "4", "-s", "1000", "-t", "1", "127.0.0.1", port, NULL},
		  HANG_MS(1), &run);
	expect_status(&run, 0);
	struct text_summary s;
	expect_text_summary(run.out, &s);
	assert_string_equal(run.err, "");
	assert_string_equal(s.concurrency, "4");
	assert_string_equal(s.size, "1000");
	assert_string_equal(s.depth, "1");
	assert_string_equal(s.latency_unit, "per message");
	assert_string_equal(s.errors, "0");
	run_free(&run);
}

/* ---- 2. Fake servers: each problem counted as its own kind ---- */

static void test_corrupted_echo_is_wrong(void **state)
{
	(void)state;
	struct json j;
	struct text_summary s;
	bench_fake(FAKE_CORRUPT, "wrong", NULL, 1, &j, &s);
}

static void test_early_close_is_eof(void **state)
{
	(void)state;
	struct json j;
	struct text_summary s;
	bench_fake(FAKE_CLOSE_EARLY, "eof", NULL, 69, &j, &s);
}

static void test_silent_server_is_timeout(void **state)
{
	(void)state;
	struct json j;
	struct text_summary s;
	bench_fake(FAKE_SILENT, "timeout", "0.3", 69, &j, &s);
}

/* With the timeout (2 s) longer than the run (1 s), a server that never answers leaves every connection stalled. */
static void test_silent_server_is_stalled(void **state)
{
	(void)state;
	struct json j;
	struct text_summary s;
	bench_fake(FAKE_SILENT, "stalled", NULL, 69, &j, &s);
	assert_string_equal(s.errors, "10");
}

/*
 * The iterative model serves one connection at a time: in echo mode with 5
 * persistent connections one is served throughout and the other four never
 * get a reply. A run shorter than the timeout counts them as stalled.
 */
static void test_iterative_server_leaves_connections_stalled(void **state)
{
	(void)state;
	struct process *server = harness_start_server(
		(const char *[]){"-m", "iterative", "-b", "127.0.0.1", "-p", "0", "-q", NULL});
	char port[16];
	port_text(server->port, port, sizeof port);
	struct run run;
	run_bench((const char *[]){"-m", "echo", "-c", "5", "-t", "1", "--json", "127.0.0.1", port, NULL},
		  HANG_MS(1), &run);
	expect_status(&run, 1);
	struct json j;
	struct text_summary s;
	expect_json_run(&run, NULL, &j, &s);
	assert_true(figure(s.operations) > 0);
	assert_string_equal(s.errors, "4");
	assert_string_equal(text_kind(&s, "stalled"), "4");
	run_free(&run);
}

static void test_extra_bytes_are_extra(void **state)
{
	(void)state;
	struct json j;
	struct text_summary s;
	bench_fake(FAKE_EXTRA, "extra", NULL, 1, &j, &s);
}

/* ---- 3. Refusals and usage errors ---- */

static void test_closed_port_is_refused(void **state)
{
	(void)state;
	char port[16];
	port_text(harness_unused_port(), port, sizeof port);
	struct run run;
	run_bench((const char *[]){"-t", "1", "-c", "5", "127.0.0.1", port, NULL}, HANG_MS(1), &run);
	expect_status(&run, 69);
	struct text_summary s;
	expect_text_summary(run.out, &s);
	assert_string_equal(s.operations, "0");
	assert_true(figure(s.errors) > 0);
	assert_string_equal(text_kind(&s, "refused"), s.errors);
	char line[3 * TOKEN_SIZE];
	snprintf(line, sizeof line, "errors: %s (refused %s)\n", s.errors, s.errors);
	assert_non_null(strstr(run.out, line));
	run_free(&run);
}

/*
 * bench ARGS... must exit 64 with one line on standard error that contains
 * WANT (and nothing on standard output).
 */
static void expect_refused(const char *const *args, const char *want)
{
	struct run run;
	run_bench(args, T, &run);
	expect_status(&run, 64);
	assert_string_equal(run.out, "");
	size_t length = strlen(run.err);
	if (length == 0 || strchr(run.err, '\n') != run.err + length - 1 ||
	    strncmp(run.err, "forknet: bench", 14) != 0 || strstr(run.err, want) == NULL)
		fail_msg("expected one line 'forknet: bench...%s...', got:\n%s", want, run.err);
	run_free(&run);
}

static void test_non_loopback_refused(void **state)
{
	(void)state;
	static const char *const hosts[] = {"192.0.2.1", "10.1.2.3", "2001:db8::1", "::ffff:10.1.2.3"};
	for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++)
		expect_refused((const char *[]){"-t", "1", hosts[i], "7", NULL}, "not a loopback address");
}

/* One address of this machine that is not loopback (nor link-local), or false. */
static bool local_non_loopback(struct sockaddr_storage *out, socklen_t *length, char *text,
			       size_t size)
{
	struct ifaddrs *list;
	bool found = false;
	if (getifaddrs(&list) != 0)
		return false;
	for (struct ifaddrs *entry = list; entry != NULL && !found; entry = entry->ifa_next) {
		if (entry->ifa_addr == NULL || (entry->ifa_flags & IFF_LOOPBACK) ||
		    !(entry->ifa_flags & IFF_UP))
			continue;
		if (entry->ifa_addr->sa_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)entry->ifa_addr;
			if ((ntohl(in->sin_addr.s_addr) >> 24) == 127)
				continue;
			*length = sizeof *in;
			inet_ntop(AF_INET, &in->sin_addr, text, (socklen_t)size);
		} else if (entry->ifa_addr->sa_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)entry->ifa_addr;
			if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) || IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr))
				continue;
			*length = sizeof *in6;
			inet_ntop(AF_INET6, &in6->sin6_addr, text, (socklen_t)size);
		} else {
			continue;
		}
		memset(out, 0, sizeof *out);
		memcpy(out, entry->ifa_addr, *length);
		found = true;
	}
	freeifaddrs(list);
	return found;
}

/*
 * The refusal comes before any connection: a listener of the test on an
 * address of this machine that is not loopback (which bench could reach)
 * gets none. Nothing leaves the machine. Skipped where there is no such
 * address.
 */
static void test_non_loopback_opens_no_connection(void **state)
{
	(void)state;
	struct sockaddr_storage address;
	socklen_t length;
	char host[INET6_ADDRSTRLEN];
	if (!local_non_loopback(&address, &length, host, sizeof host))
		skip();
	int listener = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(listener >= 0);
	if (bind(listener, (struct sockaddr *)&address, length) != 0 || listen(listener, 16) != 0 ||
	    getsockname(listener, (struct sockaddr *)&address, &length) != 0) {
		close(listener);
		fail_msg("listen on %s: %s", host, strerror(errno));
	}
	char port[16];
	port_text(ntohs(address.ss_family == AF_INET ? ((struct sockaddr_in *)&address)->sin_port
						     : ((struct sockaddr_in6 *)&address)->sin6_port),
		  port, sizeof port);
	struct run run;
	run_bench((const char *[]){"-t", "1", "-c", "3", host, port, NULL}, T, &run);
	/* A connection would be in the backlog by now: loopback's handshake is done in connect. */
	struct pollfd pending = {.fd = listener, .events = POLLIN};
	int ready = poll(&pending, 1, 0);
	close(listener);
	expect_status(&run, 64);
	assert_non_null(strstr(run.err, "not a loopback address"));
	assert_int_equal(harness_count(run.err, "\n"), 1);
	assert_int_equal(ready, 0);
	run_free(&run);
}

static void test_usage_errors(void **state)
{
	(void)state;
	expect_refused((const char *[]){"-m", "flood", "127.0.0.1", "7", NULL}, "flood");
	expect_refused((const char *[]){"-d", "2", "127.0.0.1", "7", NULL}, "--depth");
	expect_refused((const char *[]){"-m", "conn", "-d", "4", "127.0.0.1", "7", NULL}, "--depth");
	expect_refused((const char *[]){"-m", "idle", "-d", "4", "127.0.0.1", "7", NULL}, "--depth");
	expect_refused((const char *[]){"-j", "3", "-c", "2", "127.0.0.1", "7", NULL}, "--jobs");
	expect_refused((const char *[]){"-t", "1", "-n", "10", "127.0.0.1", "7", NULL}, "--count");
	expect_refused((const char *[]){"-s", "0", "127.0.0.1", "7", NULL}, "--size");
	expect_refused((const char *[]){"-c", "0", "127.0.0.1", "7", NULL}, "--concurrency");
	expect_refused((const char *[]){"127.0.0.1", NULL}, "HOST PORT");
}

/* ---- 4. Idle mode holds its connections ---- */

static void test_idle_holds_200_connections(void **state)
{
	(void)state;
	enum { HELD = 200 };
	char port[16];
	struct process *server = start_echo_server("127.0.0.1", port, sizeof port);
	struct timespec start = harness_now();
	struct process *bench = start_bench((const char *[]){"-m", "idle", "-c", "200", "-t", "30",
							     "127.0.0.1", port, NULL});
	if (!harness_wait_log(bench, "ready: 200 connections held\n", 1, T)) {
		harness_dump_log(bench, "bench that never said ready");
		fail_msg("no 'ready: 200 connections held' line");
	}
	/* At that moment every connection has its child on the server, and both ends are up. */
	if (!harness_wait_children(server->pid, HELD, T))
		fail_msg("the server has %zu children, not %d",
			 harness_children(server->pid, NULL, 0, NULL), HELD);
	assert_int_equal(established_with_port(server->port, true), HELD);
	assert_int_equal(established_with_port(server->port, false), HELD);

	assert_int_equal(kill(bench->pid, SIGTERM), 0);
	struct run run;
	finish_bench(bench, start, HANG_MS(30), &run);
	expect_status(&run, 0);
	struct text_summary s;
	expect_text_summary(run.out, &s);
	assert_string_equal(run.err, "ready: 200 connections held\n");
	assert_string_equal(s.held, "200");
	assert_string_equal(s.errors, "0");
	assert_string_equal(s.operations, "200");
	assert_non_null(strstr(run.out, "\nheld: 200 connections\n"));
	assert_true(figure(s.seconds) < 30); /* it ended at the signal, not at -t */
	run_free(&run);
	if (!harness_wait_children(server->pid, 0, T))
		fail_msg("the server still has %zu children after bench ended",
			 harness_children(server->pid, NULL, 0, NULL));
}

/* The ready line counts like the summary: one connection, not "1 connections". */
static void test_ready_line_for_one_connection(void **state)
{
	(void)state;
	char port[16];
	start_echo_server("127.0.0.1", port, sizeof port);
	struct timespec start = harness_now();
	struct process *bench =
		start_bench((const char *[]){"-m", "idle", "-c", "1", "-t", "30", "127.0.0.1", port, NULL});
	if (!harness_wait_log(bench, "ready: ", 1, T) || !harness_wait_log(bench, "\n", 1, T)) {
		harness_dump_log(bench, "bench that never said ready");
		fail_msg("no 'ready:' line");
	}
	assert_int_equal(kill(bench->pid, SIGTERM), 0);
	struct run run;
	finish_bench(bench, start, HANG_MS(30), &run);
	expect_status(&run, 0);
	struct text_summary s;
	expect_text_summary(run.out, &s);
	assert_string_equal(s.held, "1");
	assert_string_equal(run.err, "ready: 1 connection held\n");
	run_free(&run);
}

/* ---- 5. Jobs leave nothing behind ---- */

/* Waits for bench's JOBS jobs to exist and records their pids. */
static void record_jobs(const struct process *bench, pid_t *jobs, size_t count)
{
	if (!harness_wait_children(bench->pid, count, T))
		fail_msg("bench has %zu children, not %zu jobs",
			 harness_children(bench->pid, NULL, 0, NULL), count);
	assert_int_equal(harness_children(bench->pid, jobs, count, NULL), count);
}

static void expect_jobs_gone(const pid_t *jobs, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (harness_process_exists(jobs[i]))
			fail_msg("job %d (state %c) outlived bench", (int)jobs[i],
				 harness_process_state(jobs[i]));
	assert_int_equal(harness_reap_orphans(), 0);
}

static void test_jobs_end_with_a_normal_run(void **state)
{
	(void)state;
	char port[16];
	struct process *server = start_echo_server("127.0.0.1", port, sizeof port);
	struct timespec start = harness_now();
	struct process *bench = start_bench(
		(const char *[]){"-m", "echo", "-c", "10", "-j", "2", "-t", "1", "127.0.0.1", port, NULL});
	pid_t jobs[2];
	record_jobs(bench, jobs, 2);
	struct run run;
	finish_bench(bench, start, HANG_MS(1), &run);
	expect_status(&run, 0);
	struct text_summary s;
	expect_text_summary(run.out, &s);
	assert_string_equal(s.jobs, "2");
	assert_string_equal(s.errors, "0");
	expect_jobs_gone(jobs, 2);
	assert_true(harness_wait_children(server->pid, 0, T));
	run_free(&run);
}

/*
 * SIGNO mid-run, to bench or (GROUP) to its whole process group as a terminal
 * sends it, ends bench with a summary of what was done, and its jobs with it.
 */
static void expect_stop_by(int signo, bool group)
{
	char port[16];
	struct process *server = start_echo_server("127.0.0.1", port, sizeof port);
	struct process *bench = start_bench(
		(const char *[]){"-m", "echo", "-c", "10", "-j", "2", "-t", "30", "127.0.0.1", port, NULL});
	pid_t jobs[2];
	record_jobs(bench, jobs, 2);
	/* Mid-run: all ten connections are up, each with its child on the server. */
	assert_true(harness_wait_children(server->pid, 10, T));
	assert_int_equal(kill(group ? -bench->pid : bench->pid, signo), 0);
	struct timespec stopped = harness_now();
	struct run run;
	finish_bench(bench, stopped, T, &run);
	expect_status(&run, 0);
	struct text_summary s;
	expect_text_summary(run.out, &s);
	assert_string_equal(s.jobs, "2");
	assert_string_equal(s.errors, "0");
	assert_true(figure(s.operations) > 0);
	assert_true(figure(s.seconds) < 30);
	expect_jobs_gone(jobs, 2);
	assert_true(harness_wait_children(server->pid, 0, T));
	run_free(&run);
}

static void test_sigterm_ends_jobs_with_a_summary(void **state)
{
	(void)state;
	expect_stop_by(SIGTERM, false);
}

/* A closed terminal's SIGHUP, to the whole group, is a stop like SIGTERM, for bench and its jobs alike. */
static void test_sighup_ends_jobs_with_a_summary(void **state)
{
	(void)state;
	expect_stop_by(SIGHUP, true);
}

static void test_killed_bench_takes_its_jobs_along(void **state)
{
	(void)state;
	char port[16];
	struct process *server = start_echo_server("127.0.0.1", port, sizeof port);
	struct process *bench = start_bench(
		(const char *[]){"-m", "echo", "-c", "10", "-j", "2", "-t", "30", "127.0.0.1", port, NULL});
	pid_t jobs[2];
	record_jobs(bench, jobs, 2);
	assert_true(harness_wait_children(server->pid, 10, T));
	assert_int_equal(kill(bench->pid, SIGKILL), 0);
	assert_true(harness_wait_exit(bench, T));
	/* The jobs come to the test (a subreaper), which reaps them once they end. */
	for (int i = 0; i < 2; i++)
		if (!wait_gone(jobs[i], T)) {
			char letter = harness_process_state(jobs[i]);
			kill(-bench->pid, SIGKILL); /* so that teardown need not wait for them */
			fail_msg("job %d still runs (state %c) after bench was killed", (int)jobs[i], letter);
		}
	assert_true(harness_wait_children(server->pid, 0, T));
}

/*
 * bench killed (SIGKILL) while it is still starting its jobs: each job must
 * die with it (PR_SET_PDEATHSIG), including one just forked that has not yet
 * set up its own signal handling. With -t 0 a job that missed the signal
 * would run until killed. The moment is a race, so it is tried several times,
 * at a different point of the start each time.
 */
static void test_bench_killed_while_starting_jobs(void **state)
{
	(void)state;
	enum { TRIALS = 30, JOBS = 30 }; /* a process each, and the server: within the harness's 32 */
	char port[16];
	struct process *server = start_echo_server("127.0.0.1", port, sizeof port);
	for (int trial = 0; trial < TRIALS; trial++) {
		struct process *bench = start_bench((const char *[]){
			"-m", "idle", "-c", "30", "-j", "30", "-t", "0", "127.0.0.1", port, NULL});
		size_t seen = (size_t)(trial * JOBS / TRIALS) + 1;
		struct timespec start = harness_now();
		while (harness_children(bench->pid, NULL, 0, NULL) < seen && harness_ms_since(start) < T)
			;
		assert_int_equal(kill(bench->pid, SIGKILL), 0);
		assert_true(harness_wait_exit(bench, T));
		if (!wait_group_gone(bench->pid, T)) {
			size_t left = group_running(bench->pid);
			kill(-bench->pid, SIGKILL); /* so that teardown need not wait for them */
			fail_msg("trial %d (killed after %zu jobs had started): %zu jobs still run %d ms "
				 "after bench was killed",
				 trial, seen, left, T);
		}
	}
	assert_true(harness_wait_children(server->pid, 0, T));
}

/*
 * A fork failure while starting the jobs: bench says so, stops the jobs it
 * did start, and exits 71; with -t 0 nothing but that stop can end them, so
 * a job that misses it keeps bench waiting for ever. RLIMIT_NPROC 3 (as user
 * nobody): bench and two jobs, the third fork fails. The stop comes right
 * after the last fork, so this is tried several times.
 */
static void test_fork_failure_stops_started_jobs(void **state)
{
	(void)state;
	enum { TRIALS = 6 };
	static const struct spawn_options limited = {.stdout_pipe = true, .unprivileged = true,
						     .nproc_limit = 3};
	char port[16];
	struct process *server = start_echo_server("127.0.0.1", port, sizeof port);
	for (int trial = 0; trial < TRIALS; trial++) {
		struct timespec start = harness_now();
		struct process *bench = harness_spawn(
			(const char *[]){"bench", "-m", "idle", "-c", "4", "-j", "4", "-t", "0",
					 "127.0.0.1", port, NULL},
			&limited);
		struct run run;
		finish_bench(bench, start, T, &run);
		expect_status(&run, 71);
		assert_non_null(strstr(run.err, "forknet: bench: fork: Resource temporarily unavailable\n"));
		assert_string_equal(run.out, "");
		assert_true(wait_group_gone(bench->pid, T));
		run_free(&run);
	}
	assert_true(harness_wait_children(server->pid, 0, T));
}

/* ---- 6. -n COUNT ---- */

/* bench ARGS... against the echo server must report exactly COUNT operations, no errors. */
static void expect_count(const char *mode, const char *count, const char *jobs, const char *depth)
{
	char port[16];
	start_echo_server("127.0.0.1", port, sizeof port);
	const char *args[20] = {"-m", mode, "-c", "10", "-n", count, "-j", jobs};
	int n = 8;
	if (depth != NULL) {
		args[n++] = "-d";
		args[n++] = depth;
	}
	args[n++] = "127.0.0.1";
	args[n++] = port;
	args[n] = NULL;
	struct run run;
	run_bench(args, T, &run);
	expect_status(&run, 0);
	struct text_summary s;
	expect_text_summary(run.out, &s);
	assert_string_equal(s.operations, count);
	assert_string_equal(s.jobs, jobs);
	assert_string_equal(s.errors, "0");
	run_free(&run);
}

static void test_count_conn(void **state)
{
	(void)state;
	expect_count("conn", "500", "1", NULL);
}

static void test_count_conn_two_jobs(void **state)
{
	(void)state;
	expect_count("conn", "501", "2", NULL);
}

static void test_count_echo_two_jobs(void **state)
{
	(void)state;
	expect_count("echo", "20001", "2", "4");
}

/* ---- 7. --close rst ---- */

static void test_close_with_reset(void **state)
{
	(void)state;
	char port[16];
	struct process *server = start_echo_server("127.0.0.1", port, sizeof port);
	struct run run;
	run_bench((const char *[]){"--close", "rst", "-c", "10", "-t", "1", "--json", "127.0.0.1", port, NULL},
		  HANG_MS(1), &run);
	expect_status(&run, 0);
	struct json j;
	struct text_summary s;
	expect_json_run(&run, NULL, &j, &s);
	assert_string_equal(json_text(&j, "close"), "rst");
	assert_string_equal(s.mode, "conn");
	assert_string_equal(s.errors, "0");
	assert_true(figure(s.operations) > 0);
	run_free(&run);
	assert_true(harness_wait_children(server->pid, 0, T));
}

/* ---- 8. IPv6 ---- */

static void expect_ipv6_run(const char *mode)
{
	char port[16], target[32];
	start_echo_server("::1", port, sizeof port);
	struct run run;
	run_bench((const char *[]){"-m", mode, "-c", "10", "-t", "1", "--json", "::1", port, NULL},
		  HANG_MS(1), &run);
	expect_status(&run, 0);
	struct json j;
	struct text_summary s;
	expect_json_run(&run, NULL, &j, &s);
	snprintf(target, sizeof target, "[::1]:%s", port);
	assert_string_equal(s.target, target);
	assert_string_equal(json_text(&j, "host"), "::1");
	assert_string_equal(s.mode, mode);
	assert_string_equal(s.errors, "0");
	assert_true(figure(s.operations) > 0);
	run_free(&run);
}

static void test_ipv6_conn(void **state)
{
	(void)state;
	expect_ipv6_run("conn");
}

static void test_ipv6_echo(void **state)
{
	(void)state;
	expect_ipv6_run("echo");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_conn_mode, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_echo_mode_depth_1, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_echo_mode_depth_4, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_mode, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_summary_on_standard_output, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupted_echo_is_wrong, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_early_close_is_eof, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_server_is_timeout, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_server_is_stalled, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_iterative_server_leaves_connections_stalled,
						harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_extra_bytes_are_extra, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_closed_port_is_refused, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_loopback_refused, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_loopback_opens_no_connection, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_errors, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_holds_200_connections, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_ready_line_for_one_connection, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_jobs_end_with_a_normal_run, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_ends_jobs_with_a_summary, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_sighup_ends_jobs_with_a_summary, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_bench_takes_its_jobs_along, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_bench_killed_while_starting_jobs, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork_failure_stops_started_jobs, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_conn, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_conn_two_jobs, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_echo_two_jobs, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_with_reset, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_conn, harness_setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_echo, harness_setup, teardown),
	};
	return cmocka_run_group_tests_name("bench", tests, NULL, NULL);
}
