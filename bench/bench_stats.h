/*
 * bench_stats: what the chat relay benchmark measures besides its own
 * messages: a latency histogram, and the readings it takes from /proc (a
 * process's CPU time, the drop counters of UDP sockets, the port a process
 * listens on).
 */
#ifndef FORKNET_BENCH_STATS_H
#define FORKNET_BENCH_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Log-linear buckets: exact below 64 ns, then 32 buckets per power of two
 * (about 3 % wide), up to 2^40 ns (18 minutes).
 */
#define HISTOGRAM_LINEAR 64
#define HISTOGRAM_SUB_BITS 5
#define HISTOGRAM_BUCKETS (HISTOGRAM_LINEAR + (40 - 6) * (1 << HISTOGRAM_SUB_BITS))

struct histogram {
	uint64_t count;
	uint64_t max;
	uint64_t buckets[HISTOGRAM_BUCKETS];
};

void histogram_add(struct histogram *histogram, uint64_t value);
void histogram_merge(struct histogram *into, const struct histogram *from);

/* The value below which FRACTION (0 to 1) of the samples fall; 0 when there are none. */
uint64_t histogram_percentile(const struct histogram *histogram, double fraction);

/* CLOCK_MONOTONIC now, in nanoseconds. */
uint64_t now_ns(void);

/* utime + stime of process PID, in clock ticks (/proc/PID/stat). Returns 0 or -1. */
int proc_cpu_ticks(pid_t pid, unsigned long long *ticks);

/*
 * How long process PID's main thread has waited on a run queue, runnable but
 * not running (/proc/PID/schedstat), in ns. Returns 0 or -1.
 */
int proc_run_queue_wait(pid_t pid, unsigned long long *ns);

/*
 * Sums the drop counters of /proc/net/udp: of the sockets bound to local
 * port SERVER_PORT into *SERVER, and of those whose local port is set in the
 * bitmap PORTS (65536 bits) into *MEMBERS. Returns 0 or -1.
 */
int proc_udp_drops(uint16_t server_port, const uint8_t *ports, unsigned long long *server,
		   unsigned long long *members);

/* The port of a listening TCP socket that process PID holds, or 0 if none (yet). */
uint16_t proc_tcp_listen_port(pid_t pid);

#endif
