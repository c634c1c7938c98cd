/*
 * log: timestamped event lines on standard error. See log.h.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Long enough for any line forknet writes; longer ones are cut and marked. */
#define LOG_LINE_MAX 1024

static enum log_level current_level = LOG_LEVEL_INFO;

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_NOTICE] = "notice",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void log_set_level(enum log_level level)
{
	current_level = level;
}

bool log_enabled(enum log_level level)
{
	return level <= current_level;
}

/* How much of ROOM bytes an snprintf that returned WRITTEN used, leaving its NUL out. */
static size_t used(int written, size_t room)
{
	if (written < 0 || room == 0)
		return 0;
	return (size_t)written < room ? (size_t)written : room - 1;
}

/* Writes "2026-11-25T09:14:03.512+0000" into BUF; returns its length. */
static size_t format_time(char *buf, size_t size)
{
	struct timespec now;
	struct tm local;

	if (clock_gettime(CLOCK_REALTIME, &now) != 0 || localtime_r(&now.tv_sec, &local) == NULL)
		return used(snprintf(buf, size, "-"), size);
	size_t length = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &local);
	length += used(snprintf(buf + length, size - length, ".%03ld", now.tv_nsec / 1000000),
		       size - length);
	length += strftime(buf + length, size - length, "%z", &local);
	return length;
}

void log_write(enum log_level level, const char *format, ...)
{
	if (!log_enabled(level))
		return;

	int saved_errno = errno; /* callers often log and then look at errno */
	char line[LOG_LINE_MAX];
	size_t length = format_time(line, sizeof line);
	length += used(snprintf(line + length, sizeof line - length, " forknet[%ld] %s: ",
				(long)getpid(), level_names[level]),
		       sizeof line - length);

	va_list args;
	va_start(args, format);
	int written = vsnprintf(line + length, sizeof line - length, format, args);
	va_end(args);
	if (written > 0 && (size_t)written >= sizeof line - length) {
		/* Too long: cut, and mark the cut with "...", keeping room for the newline. */
		length = sizeof line - 4;
		line[length - 3] = '.';
		line[length - 2] = '.';
		line[length - 1] = '.';
	} else {
		length += used(written, sizeof line - length);
	}
	line[length++] = '\n';

	/*
	 * One write per line. If standard error is gone there is nowhere left to
	 * report it, so a failure is deliberately dropped; EINTR is retried.
	 */
	ssize_t result;
	do
		result = write(STDERR_FILENO, line, length);
	while (result < 0 && errno == EINTR);
	errno = saved_errno;
}
