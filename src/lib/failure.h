/*
 * failure: what went wrong, as a value. Library and server code that can
 * fail at start-up fills one in and returns -1; it prints nothing and
 * decides no exit status. The command layer says it ("forknet: TEXT") and
 * turns its kind into the exit status (cli_failure in cli.h), so that where
 * and whether it is said (a terminal, a log, nothing) stays the command's
 * choice.
 */
#ifndef FORKNET_FAILURE_H
#define FORKNET_FAILURE_H

#include <stdbool.h>

enum failure_kind {
	FAILURE_USAGE,       /* what was asked for cannot be done (EX_USAGE) */
	FAILURE_NO_HOST,     /* a name that does not resolve (EX_NOHOST) */
	FAILURE_TRY_AGAIN,   /* the resolver cannot answer now (EX_TEMPFAIL) */
	FAILURE_UNAVAILABLE, /* an address taken, forbidden or absent (EX_UNAVAILABLE) */
	FAILURE_SYSTEM,      /* a system call failed (EX_OSERR) */
	FAILURE_IO,          /* writing an output failed (EX_IOERR) */
	FAILURE_CONFIG,      /* a version or setting that does not fit (EX_CONFIG) */
	FAILURE_SOFTWARE,    /* something inconsistent, such as a bad handover (EX_SOFTWARE) */
};

struct failure {
	enum failure_kind kind;
	bool logged;    /* said in the log already, while serving: not to be said again */
	char text[256]; /* one line, without "forknet: " */
};

/* Sets FAILURE to KIND with the text FORMAT...; returns -1, for "return failure_set(...)". */
int failure_set(struct failure *failure, enum failure_kind kind, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

/* Sets FAILURE to a failure of KIND already logged; returns -1. */
int failure_logged(struct failure *failure, enum failure_kind kind);

#endif
