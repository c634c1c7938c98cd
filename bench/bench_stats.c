/*
 * bench_stats: the latency histogram and the /proc readings of the chat
 * relay benchmark. See bench_stats.h.
 */
#include "bench_stats.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned bucket_of(uint64_t value)
{
	if (value < HISTOGRAM_LINEAR)
		return (unsigned)value;
	unsigned exponent = 63 - (unsigned)__builtin_clzll(value); /* at least 6 */
	unsigned sub = (unsigned)(value >> (exponent - HISTOGRAM_SUB_BITS)) &
		       ((1u << HISTOGRAM_SUB_BITS) - 1);
	unsigned index = HISTOGRAM_LINEAR + (exponent - 6) * (1u << HISTOGRAM_SUB_BITS) + sub;
	return index < HISTOGRAM_BUCKETS ? index : HISTOGRAM_BUCKETS - 1;
}

/* The highest value that falls in bucket INDEX. */
static uint64_t bucket_top(unsigned index)
{
	if (index < HISTOGRAM_LINEAR)
		return index;
	unsigned exponent = (index - HISTOGRAM_LINEAR) / (1u << HISTOGRAM_SUB_BITS) + 6;
	unsigned sub = (index - HISTOGRAM_LINEAR) % (1u << HISTOGRAM_SUB_BITS);
	uint64_t width = UINT64_C(1) << (exponent - HISTOGRAM_SUB_BITS);
	return ((1u << HISTOGRAM_SUB_BITS) + sub) * width + width - 1;
}

void histogram_add(struct histogram *histogram, uint64_t value)
{
	histogram->buckets[bucket_of(value)]++;
	histogram->count++;
	if (value > histogram->max)
		histogram->max = value;
}

void histogram_merge(struct histogram *into, const struct histogram *from)
{
	for (unsigned i = 0; i < HISTOGRAM_BUCKETS; i++)
		into->buckets[i] += from->buckets[i];
	into->count += from->count;
	if (from->max > into->max)
		into->max = from->max;
}

uint64_t histogram_percentile(const struct histogram *histogram, double fraction)
{
	if (histogram->count == 0)
		return 0;
	/* The rank of the sample asked for, counted from 1. */
	uint64_t rank = (uint64_t)(fraction * (double)histogram->count + 0.5);
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < HISTOGRAM_BUCKETS; i++) {
		seen += histogram->buckets[i];
		if (seen >= rank) {
			/* Report the bucket's top, never more than the largest sample. */
			uint64_t top = bucket_top(i);
			return top < histogram->max ? top : histogram->max;
		}
	}
	return histogram->max;
}

uint64_t now_ns(void)
{
	struct timespec now;
	/* CLOCK_MONOTONIC with a valid pointer does not fail on Linux. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

int proc_cpu_ticks(pid_t pid, unsigned long long *ticks)
{
	char path[64], text[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	FILE *file = fopen(path, "r");
	if (file == NULL)
		return -1;
	size_t length = fread(text, 1, sizeof text - 1, file);
	fclose(file);
	text[length] = '\0';
	/* The command name, in parentheses, may hold blanks: the fields start after the last ')'. */
	const char *after = strrchr(text, ')');
	unsigned long long user, system;
	/* Fields 3 (state) to 13 skipped, then 14 utime and 15 stime. */
	if (after == NULL || sscanf(after + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
				    &user, &system) != 2)
		return -1;
	*ticks = user + system;
	return 0;
}

int proc_run_queue_wait(pid_t pid, unsigned long long *ns)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/schedstat", (long)pid);
	FILE *file = fopen(path, "r");
	if (file == NULL)
		return -1;
	/* On the CPU, waiting on a run queue (both in ns), time slices. */
	int fields = fscanf(file, "%*u %llu", ns);
	fclose(file);
	return fields == 1 ? 0 : -1;
}

int proc_udp_drops(uint16_t server_port, const uint8_t *ports, unsigned long long *server,
		   unsigned long long *members)
{
	char line[512];
	FILE *file = fopen("/proc/net/udp", "r");
	if (file == NULL)
		return -1;
	*server = 0;
	*members = 0;
	if (fgets(line, sizeof line, file) == NULL) { /* the header */
		fclose(file);
		return -1;
	}
	while (fgets(line, sizeof line, file) != NULL) {
		unsigned port;
		unsigned long long drops;
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops */
		if (sscanf(line, " %*u: %*x:%x %*x:%*x %*x %*x:%*x %*x:%*x %*x %*u %*u %*u %*u %*x %llu",
			   &port, &drops) != 2)
			continue;
		if (port == server_port)
			*server += drops;
		else if (ports[port / 8] & (1u << (port % 8)))
			*members += drops;
	}
	fclose(file);
	return 0;
}

/* Adds the inodes of the sockets process PID holds to INODES (at most MAX); returns the count. */
static size_t socket_inodes(pid_t pid, unsigned long *inodes, size_t max)
{
	char path[64], link[128], target[64];
	size_t count = 0;
	snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
	DIR *directory = opendir(path);
	if (directory == NULL)
		return 0;
	struct dirent *entry;
	while ((entry = readdir(directory)) != NULL && count < max) {
		if (entry->d_name[0] == '.')
			continue;
		snprintf(link, sizeof link, "%s/%.20s", path, entry->d_name);
		ssize_t length = readlink(link, target, sizeof target - 1);
		if (length <= 0)
			continue;
		target[length] = '\0';
		if (sscanf(target, "socket:[%lu]", &inodes[count]) == 1)
			count++;
	}
	closedir(directory);
	return count;
}

uint16_t proc_tcp_listen_port(pid_t pid)
{
	static const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	unsigned long inodes[256];
	size_t count = socket_inodes(pid, inodes, sizeof inodes / sizeof inodes[0]);
	char line[512];

	for (size_t t = 0; t < 2; t++) {
		FILE *file = fopen(tables[t], "r");
		if (file == NULL)
			continue;
		while (fgets(line, sizeof line, file) != NULL) {
			unsigned port, state;
			unsigned long inode;
			/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
			if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %*x:%*x %*x:%*x %*x %*u %*u %lu",
				   &port, &state, &inode) != 3 || state != 0x0A)
				continue;
			for (size_t i = 0; i < count; i++) {
				if (inodes[i] == inode) {
					fclose(file);
					return (uint16_t)port;
				}
			}
		}
		fclose(file);
	}
	return 0;
}
