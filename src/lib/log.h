/*
 * log: one line per event on standard error (or any descriptor), in the form
 *
 *   2026-11-25T09:14:03.512+0000 forknet[4711] info: client 127.0.0.1:50112 connected, child 4712
 *
 * Each line is built in a buffer and written with a single write(2), so lines
 * from a server and its children never interleave mid-line. Not for use in
 * signal handlers (it formats time and text).
 */
#ifndef FORKNET_LOG_H
#define FORKNET_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR,   /* something failed that the operator must fix */
	LOG_LEVEL_WARNING, /* something failed; the program goes on */
	LOG_LEVEL_NOTICE,  /* start, readiness, stop: shown even with -q */
	LOG_LEVEL_INFO,    /* one line per connection event: the default */
	LOG_LEVEL_DEBUG,   /* details for -v */
};

/* Lines above LEVEL are dropped; the default is LOG_LEVEL_INFO. */
void log_set_level(enum log_level level);

/* True when a line of LEVEL would be written. */
bool log_enabled(enum log_level level);

/* Writes one line at LEVEL; a trailing newline is added. */
void log_write(enum log_level level, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_write(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...) log_write(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
