/*
 * load: one load process of forknet bench. It opens its share of the
 * connections to the target, drives them with non-blocking sockets from one
 * epoll loop, checks every byte that comes back, and counts what it did into
 * a result that the parent process merges with the other jobs' (bench.c).
 *
 * A job handles SIGTERM and SIGINT itself (as events on a descriptor): either
 * ends the run early, and the result so far is kept.
 */
#ifndef FORKNET_LOAD_H
#define FORKNET_LOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "../lib/addr.h"
#include "histogram.h"

enum load_mode {
	LOAD_CONN, /* connect, send SIZE bytes, read them back, close; again */
	LOAD_ECHO, /* persistent connections, DEPTH messages of SIZE bytes in flight */
	LOAD_IDLE, /* connect, echo one message, hold the connection */
};

/* What can go wrong, each counted on its own. */
enum load_error {
	LOAD_WRONG,   /* a byte came back that was not the one sent */
	LOAD_EXTRA,   /* more bytes came back than were sent */
	LOAD_EOF,     /* the server closed before everything came back */
	LOAD_RESET,   /* the connection was reset (ECONNRESET, EPIPE) */
	LOAD_REFUSED, /* connect was refused (ECONNREFUSED) */
	LOAD_TIMEOUT, /* a connect or an echo took longer than the timeout */
	LOAD_STALLED, /* a connection still waiting at the end, for 1 s or more */
	LOAD_PORTS,   /* no local port left (EADDRNOTAVAIL) */
	LOAD_OTHER,   /* anything else; the last errno is kept */
	LOAD_ERROR_KINDS
};

/* The name of each kind, as the summary and the JSON object print it ("refused"). */
extern const char *const load_error_names[LOAD_ERROR_KINDS];

struct load_plan {
	enum load_mode mode;
	struct address target;
	unsigned connections; /* this job's share of -c */
	uint64_t size;	      /* bytes per message */
	unsigned depth;	      /* messages in flight per connection (echo) */
	unsigned ramp;	      /* connections being set up at once at most (idle) */
	bool close_reset;     /* end connections with RST (SO_LINGER 0) rather than FIN */
	bool spread_sources;  /* bind each connection to one of several 127.0.0.x (IPv4 conn mode) */
	long timeout_ms;
	long warmup_ms;	  /* run, but count nothing, for this long first */
	long duration_ms; /* then count for this long; 0: until a signal */
	uint64_t count;	  /* or stop after this many operations; 0: no count */
	uint32_t seed;	  /* where this job's byte pattern starts */
};

/* Written by the job only, read by the parent while it runs (for progress). */
struct load_live {
	uint64_t operations;
	uint64_t errors;
	uint64_t held;	 /* connections held now (idle mode) */
	uint64_t counting; /* 1 once the warmup is over */
};

struct load_result {
	uint64_t operations;
	uint64_t bytes; /* bytes echoed back and checked */
	uint64_t errors[LOAD_ERROR_KINDS];
	int last_errno; /* of the last LOAD_OTHER */
	uint64_t held;
	double seconds; /* how long it counted */
	struct histogram latency; /* nanoseconds, per operation */
};

/* The signals that stop a job: SIGTERM, SIGINT and SIGHUP (a terminal's, to its whole group). */
enum { LOAD_STOP_COUNT = 3 };
extern const int LOAD_STOP_SIGNALS[LOAD_STOP_COUNT];

/*
 * Runs PLAN until its time or count is over or a stop signal comes, keeping
 * LIVE up to date and filling RESULT. The stop signals may be blocked when it
 * is called (so that none sent while the job starts is lost); it catches them
 * and then unblocks them. Returns 0, or -1 with errno set when the job could
 * not run at all (no epoll instance, no memory).
 */
int load_run(const struct load_plan *plan, struct load_result *result, struct load_live *live);

#endif
