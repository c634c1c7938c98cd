/*
 * chat_bench: the relay benchmark of the chat server (issue 4). M members on
 * loopback join a chat relay; S of them send messages at a paced aggregate
 * rate, each message its own datagram (UDP, forknet chat-server --open) or
 * its own write() (TCP, ncat --broker --chat); every member checks what it
 * receives and records the latency from send to receipt. The rate is stepped
 * up; each step prints one row: offered messages/s, deliveries/s, the
 * fraction delivered, p50/p99 latency, and the server's CPU time per
 * delivery from /proc/PID/stat. A step passes when at least 99.9 % of the
 * expected deliveries (M-1 per message) arrive intact with p99 under 10 ms;
 * the result is the highest offered rate that passes.
 *
 * Run (bench/chat-bench.sh starts the servers and runs it for both kinds):
 *
 *   build/forknet chat-server --open --rate 0 --max-clients 200 -q -b 127.0.0.1 -p 0 &
 *   build/bench/chat_bench --kind udp --port PORT --pid PID --members 10 --search 1000
 *
 *   ncat --broker --chat --max-conns 200 -l 127.0.0.1 0 &
 *   build/bench/chat_bench --port-of PID          (prints the port ncat listens on)
 *   build/bench/chat_bench --kind tcp --port PORT --pid PID --members 10 --rates 1000,2000
 *
 * Threads: this one sends, sleeping to absolute deadlines (clock_nanosleep,
 * TIMER_ABSTIME) so that the pace does not drift; receiver threads read and
 * check (bench_relay.h). Their CPU use is reported per step, so a generator
 * that cannot keep up shows itself. Signals: none caught; the default
 * action of SIGTERM or SIGINT ends it, and the kernel closes its sockets.
 *
 * Exit status: 0 done, 64 usage, 69 the relay could not be joined, 71 system error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "bench_relay.h"
#include "bench_stats.h"

#define RATES_MAX 64
#define RECEIVERS_MAX 64
/* The criterion of issue 4. */
#define PASS_FRACTION 0.999
#define PASS_P99_NS 10000000u
/* A step's sender must reach this share of the offered rate, or the rate was not offered. */
#define SENDER_SHARE 0.98
/* A receiver thread busier than this may be what limits: the row says so. */
#define RECEIVER_BUSY 0.90
/* The drain after a step ends when everything came, or nothing came for this long. */
#define DRAIN_QUIET_NS 200000000u
#define DRAIN_MAX_NS 10000000000u

struct options {
	enum relay_kind kind;
	const char *host;
	uint16_t port;
	pid_t pid;
	size_t members, senders, receivers, size;
	double duration, warmup;
	double rates[RATES_MAX];
	size_t rate_count;
	double search_start, max_rate;
	int refine;
	bool quickack;
	const char *label;
};

struct step_result {
	double offered, sent_rate, delivered_rate, fraction;
	uint64_t sent, expected, send_errors;
	uint64_t p50, p99, max, lag_p99, lag_max;
	double cpu_per_delivery_us, both_per_delivery_us;
	double server_share, server_waiting, receiver_share, sender_share;
	unsigned long long server_drops, member_drops;
	struct tally tally;
	bool pass;
	char verdict[64];
};

static uint8_t member_ports[65536 / 8];

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: chat_bench --kind udp|tcp --port PORT --pid PID [OPTION]...\n"
		"       chat_bench --port-of PID\n"
		"Relay benchmark of a chat server: M members, S senders, paced steps of\n"
		"offered messages/s; one row per step, then the highest rate that passes\n"
		"(>= 99.9 %% delivered, p99 latency < 10 ms).\n"
		"\n"
		"  -k, --kind KIND       udp: forknet chat-server --open; tcp: ncat --broker --chat\n"
		"  -H, --host ADDR       the server's IPv4 address (default 127.0.0.1)\n"
		"  -p, --port PORT       the server's port\n"
		"  -P, --pid PID         the server's process, for its CPU time\n"
		"  -m, --members M       members (default 10)\n"
		"  -s, --senders S       members that send (default 10, at most M)\n"
		"  -r, --rates LIST      offered messages/s per step: 1000,2000,5000\n"
		"  -S, --search START    double from START until a step fails, then refine\n"
		"      --refine N        halvings of the gap after the doubling (default 3)\n"
		"      --max-rate R      the doubling stops at R (default 1000000)\n"
		"  -d, --duration SECS   sending time per step (default 2)\n"
		"      --warmup SECS     an unreported first step at the first rate (default 0.5)\n"
		"      --size BYTES      bytes per message, newline included (default 80)\n"
		"      --receivers N     receiver threads (default 1)\n"
		"      --no-quickack     tcp: let members delay their ACKs (see bench_relay.c)\n"
		"  -l, --label TEXT      the first column of each row (default: the kind)\n"
		"      --port-of PID     print the TCP port that process PID listens on, and exit\n"
		"  -h, --help\n");
}

static int usage_error(const char *message, const char *argument)
{
	fprintf(stderr, "chat_bench: %s%s%s\n", message, argument != NULL ? ": " : "",
		argument != NULL ? argument : "");
	usage(stderr);
	return EX_USAGE;
}

/* A positive number from TEXT, at most MAX; false if it is not one. */
static bool parse_number(const char *text, double max, double *value)
{
	char *end;
	errno = 0;
	double result = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || !(result > 0) || result > max)
		return false;
	*value = result;
	return true;
}

static bool parse_rates(char *text, struct options *options)
{
	for (char *save = NULL, *item = strtok_r(text, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		if (options->rate_count == RATES_MAX ||
		    !parse_number(item, 1e7, &options->rates[options->rate_count]))
			return false;
		options->rate_count++;
	}
	return options->rate_count > 0;
}

/* Waits up to five seconds for process PID to listen on TCP; prints the port. */
static int print_port_of(const char *text)
{
	double pid;
	if (!parse_number(text, 4194304, &pid))
		return usage_error("bad process id", text);
	for (int attempt = 0; attempt < 500; attempt++) {
		uint16_t port = proc_tcp_listen_port((pid_t)pid);
		if (port != 0) {
			printf("%u\n", port);
			return EX_OK;
		}
		struct timespec pause = {.tv_nsec = 10000000};
		nanosleep(&pause, NULL);
	}
	fprintf(stderr, "chat_bench: process %s listens on no TCP port after 5 s\n", text);
	return EX_UNAVAILABLE;
}

/* Reads the options; returns -1 to go on, or an exit status. */
static int parse_options(int argc, char **argv, struct options *options)
{
	static const struct option long_options[] = {
		{"kind", required_argument, NULL, 'k'},     {"host", required_argument, NULL, 'H'},
		{"port", required_argument, NULL, 'p'},     {"pid", required_argument, NULL, 'P'},
		{"members", required_argument, NULL, 'm'},  {"senders", required_argument, NULL, 's'},
		{"rates", required_argument, NULL, 'r'},    {"search", required_argument, NULL, 'S'},
		{"refine", required_argument, NULL, 'R'},   {"max-rate", required_argument, NULL, 'X'},
		{"duration", required_argument, NULL, 'd'}, {"warmup", required_argument, NULL, 'w'},
		{"size", required_argument, NULL, 'z'},     {"receivers", required_argument, NULL, 'T'},
		{"label", required_argument, NULL, 'l'},    {"port-of", required_argument, NULL, 'O'},
		{"no-quickack", no_argument, NULL, 'Q'},    {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	double value;
	bool kind_given = false;

	*options = (struct options){.host = "127.0.0.1", .members = 10, .senders = 10,
				    .receivers = 1, .size = 80, .duration = 2, .warmup = 0.5,
				    .refine = 3, .max_rate = 1e6, .quickack = true};
	int option;
	while ((option = getopt_long(argc, argv, "k:H:p:P:m:s:r:S:d:l:h", long_options, NULL)) != -1) {
		switch (option) {
		case 'k':
			if (strcmp(optarg, "udp") != 0 && strcmp(optarg, "tcp") != 0)
				return usage_error("the kind is udp or tcp, not", optarg);
			options->kind = strcmp(optarg, "udp") == 0 ? RELAY_UDP : RELAY_TCP;
			kind_given = true;
			break;
		case 'H':
			options->host = optarg;
			break;
		case 'p':
			if (!parse_number(optarg, 65535, &value) || value != floor(value))
				return usage_error("bad port", optarg);
			options->port = (uint16_t)value;
			break;
		case 'P':
			if (!parse_number(optarg, 4194304, &value))
				return usage_error("bad process id", optarg);
			options->pid = (pid_t)value;
			break;
		case 'm':
		case 's':
		case 'T':
		case 'z':
			if (!parse_number(optarg, 10000, &value) || value != floor(value))
				return usage_error("bad count", optarg);
			*(option == 'm'   ? &options->members
			  : option == 's' ? &options->senders
			  : option == 'T' ? &options->receivers
					  : &options->size) = (size_t)value;
			break;
		case 'r':
			if (!parse_rates(optarg, options))
				return usage_error("bad list of rates", optarg);
			break;
		case 'S':
			if (!parse_number(optarg, 1e7, &options->search_start))
				return usage_error("bad start rate", optarg);
			break;
		case 'R':
			if (!parse_number(optarg, 20, &value))
				return usage_error("bad number of refinements", optarg);
			options->refine = (int)value;
			break;
		case 'X':
			if (!parse_number(optarg, 1e7, &options->max_rate))
				return usage_error("bad maximum rate", optarg);
			break;
		case 'd':
			if (!parse_number(optarg, 3600, &options->duration))
				return usage_error("bad duration", optarg);
			break;
		case 'w':
			if (strcmp(optarg, "0") == 0)
				options->warmup = 0;
			else if (!parse_number(optarg, 3600, &options->warmup))
				return usage_error("bad warm-up", optarg);
			break;
		case 'l':
			options->label = optarg;
			break;
		case 'Q':
			options->quickack = false;
			break;
		case 'O':
			return print_port_of(optarg);
		case 'h':
			usage(stdout);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument", argv[optind]);
	if (!kind_given || options->port == 0 || options->pid == 0)
		return usage_error("--kind, --port and --pid are needed", NULL);
	if (options->members < 2 || options->senders < 1 || options->senders > options->members)
		return usage_error("need at least 2 members and 1 to M senders", NULL);
	if (options->receivers < 1 || options->receivers > options->members ||
	    options->receivers > RECEIVERS_MAX)
		return usage_error("need 1 to M receivers, at most 64", NULL);
	if (options->size < RELAY_MESSAGE_MIN || options->size > RELAY_MESSAGE_MAX)
		return usage_error("--size is 64 to 1000 bytes", NULL);
	if ((options->rate_count == 0) == (options->search_start == 0))
		return usage_error("give either --rates or --search", NULL);
	if (options->label == NULL)
		options->label = options->kind == RELAY_UDP ? "udp" : "tcp";
	return -1;
}

static void sleep_until(uint64_t deadline)
{
	struct timespec when = {.tv_sec = (time_t)(deadline / 1000000000u),
				.tv_nsec = (long)(deadline % 1000000000u)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &when, NULL) == EINTR)
		;
}

/* This process's CPU time so far (all threads), in ns. */
static uint64_t process_cpu_ns(void)
{
	struct timespec used;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &used);
	return (uint64_t)used.tv_sec * 1000000000u + (uint64_t)used.tv_nsec;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec used;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &used);
	return (uint64_t)used.tv_sec * 1000000000u + (uint64_t)used.tv_nsec;
}

/* Each receiver thread's CPU time so far, into CPU. */
static void receivers_cpu(struct relay *relay, uint64_t *cpu)
{
	for (size_t i = 0; i < relay->receiver_count; i++)
		cpu[i] = relay_receiver_cpu(relay, i);
}

/* Runs step STEP at RATE messages/s for DURATION seconds; fills RESULT. Returns 0 or -1. */
static int run_step(struct relay *relay, const struct options *options, int step, double rate,
		    double duration, struct step_result *result)
{
	static struct histogram lag;
	uint64_t receiver_before[RECEIVERS_MAX], receiver_after[RECEIVERS_MAX];
	unsigned long long ticks_before = 0, ticks_after = 0, drops_before[2] = {0, 0},
			   drops_after[2] = {0, 0}, wait_before = 0, wait_after = 0;
	long ticks_per_second = sysconf(_SC_CLK_TCK);

	memset(result, 0, sizeof *result);
	memset(&lag, 0, sizeof lag);
	result->offered = rate;
	relay_ping(relay);

	if (proc_cpu_ticks(options->pid, &ticks_before) != 0) {
		fprintf(stderr, "chat_bench: reading /proc/%ld/stat: %s\n", (long)options->pid,
			strerror(errno));
		return -1;
	}
	if (relay->kind == RELAY_UDP)
		proc_udp_drops(options->port, member_ports, &drops_before[0], &drops_before[1]);
	(void)proc_run_queue_wait(options->pid, &wait_before); /* without schedstat: 0 */
	receivers_cpu(relay, receiver_before);
	uint64_t sender_before = thread_cpu_ns(), own_before = process_cpu_ns(),
		 wall_before = now_ns();

	uint64_t count = (uint64_t)llround(rate * duration);
	uint64_t start = now_ns() + 1000000u, sent_at = start;
	for (uint64_t k = 0; k < count; k++) {
		uint64_t deadline = start + (uint64_t)((double)k * 1e9 / rate);
		if (now_ns() < deadline)
			sleep_until(deadline);
		if (relay_send(relay, (size_t)(k % relay->sender_count), step, &sent_at) != 0)
			result->send_errors++;
		else
			result->sent++;
		histogram_add(&lag, sent_at > deadline ? sent_at - deadline : 0);
	}
	uint64_t end = now_ns();
	/* The span of the schedule, plus the mean gap for the last message's own slot. */
	double span = (double)(end - start) / 1e9 + 1.0 / rate;
	result->expected = result->sent * (relay->member_count - 1);

	uint64_t ok, lines, last_lines = 0, last_change = end;
	for (;;) {
		relay_progress(relay, &ok, &lines);
		uint64_t now = now_ns();
		if (ok >= result->expected || now - end > DRAIN_MAX_NS)
			break;
		if (lines != last_lines) {
			last_lines = lines;
			last_change = now;
		} else if (now - last_change > DRAIN_QUIET_NS) {
			break;
		}
		struct timespec pause = {.tv_nsec = 1000000};
		nanosleep(&pause, NULL);
	}

	uint64_t wall_after = now_ns(), sender_after = thread_cpu_ns(), own_after = process_cpu_ns();
	receivers_cpu(relay, receiver_after);
	if (proc_cpu_ticks(options->pid, &ticks_after) != 0) {
		fprintf(stderr, "chat_bench: reading /proc/%ld/stat: %s\n", (long)options->pid,
			strerror(errno));
		return -1;
	}
	if (relay->kind == RELAY_UDP)
		proc_udp_drops(options->port, member_ports, &drops_after[0], &drops_after[1]);
	(void)proc_run_queue_wait(options->pid, &wait_after);
	if (relay_collect(relay, step, &result->tally) != 0) {
		fprintf(stderr, "chat_bench: a receiver thread does not answer\n");
		return -1;
	}

	double wall = (double)(wall_after - wall_before) / 1e9;
	const struct tally *tally = &result->tally;
	result->sent_rate = (double)result->sent / span;
	result->delivered_rate = (double)tally->ok / span;
	result->fraction = result->expected > 0 ? (double)tally->ok / (double)result->expected : 0;
	result->p50 = histogram_percentile(&tally->latency, 0.50);
	result->p99 = histogram_percentile(&tally->latency, 0.99);
	result->max = tally->latency.max;
	result->lag_p99 = histogram_percentile(&lag, 0.99);
	result->lag_max = lag.max;
	double server_seconds = (double)(ticks_after - ticks_before) / (double)ticks_per_second;
	result->server_share = server_seconds / wall;
	result->server_waiting = (double)(wait_after - wait_before) / 1e9 / wall;
	result->cpu_per_delivery_us = tally->ok > 0 ? server_seconds * 1e6 / (double)tally->ok : 0;
	/*
	 * On loopback some of a delivery's kernel work lands on whichever side
	 * runs the soft interrupt: a TCP sender's queued data goes out when the
	 * ACK comes in, in the context of the member that sent the ACK. The
	 * server and this benchmark together hold all of it.
	 */
	double own_seconds = (double)(own_after - own_before) / 1e9;
	result->both_per_delivery_us =
		tally->ok > 0 ? (server_seconds + own_seconds) * 1e6 / (double)tally->ok : 0;
	for (size_t i = 0; i < relay->receiver_count; i++) {
		double share = (double)(receiver_after[i] - receiver_before[i]) / 1e9 / wall;
		if (share > result->receiver_share)
			result->receiver_share = share;
	}
	result->sender_share = (double)(sender_after - sender_before) / 1e9 / wall;
	result->server_drops = drops_after[0] - drops_before[0];
	result->member_drops = drops_after[1] - drops_before[1];

	/* Why a step fails: too few intact (missing, or arrived wrong), too slow, not offered. */
	uint64_t bad = tally->misattributed + tally->corrupt + tally->duplicate + tally->own;
	uint64_t missing = result->expected > tally->ok + bad ? result->expected - tally->ok - bad : 0;
	double allowed = (1 - PASS_FRACTION) * (double)result->expected;
	bool few = result->fraction < PASS_FRACTION, slow = result->p99 >= PASS_P99_NS,
	     short_sent = result->sent_rate < SENDER_SHARE * rate || result->send_errors > 0;
	result->pass = !few && !slow && !short_sent;
	snprintf(result->verdict, sizeof result->verdict, "%s%s%s%s%s%s",
		 result->pass ? "pass" : "fail:", few && (double)missing > allowed ? "lost," : "",
		 few && (double)bad > allowed ? "bad," : "", slow ? "p99," : "",
		 short_sent ? "sender," : "", result->receiver_share > RECEIVER_BUSY ? "rx-busy," : "");
	size_t length = strlen(result->verdict);
	if (result->verdict[length - 1] == ',' || result->verdict[length - 1] == ':')
		result->verdict[length - 1] = '\0';
	return 0;
}

static void print_header(const struct options *options)
{
	printf("# chat relay benchmark: %s, %zu members, %zu senders, %zu-byte messages, "
	       "%.1f s per step, %zu receiver thread%s%s\n",
	       options->kind == RELAY_UDP ? "UDP" : "TCP", options->members, options->senders,
	       options->size, options->duration, options->receivers,
	       options->receivers == 1 ? "" : "s",
	       options->kind == RELAY_TCP && !options->quickack ? ", delayed ACKs" : "");
	printf("# pass: >= %.1f %% of the M-1 deliveries per message intact, p99 < %u ms\n",
	       PASS_FRACTION * 100, PASS_P99_NS / 1000000);
	printf("# %-8s %4s %3s %8s %8s %10s %8s %7s %7s %7s %7s %7s %5s %5s %4s %4s %7s %7s %7s %5s "
	       "%5s %s\n",
	       "kind", "M", "S", "offered", "sent/s", "deliver/s", "fraction", "p50_us", "p99_us",
	       "max_us", "cpu_us/d", "all_us/d", "srv%", "wait%", "rx%", "tx%", "lag99us", "drop_s",
	       "drop_m", "bad", "stale", "verdict");
	fflush(stdout);
}

static void print_row(const struct options *options, const struct step_result *r)
{
	const struct tally *t = &r->tally;
	printf("  %-8s %4zu %3zu %8.0f %8.0f %10.0f %8.5f %7.1f %7.1f %7.1f %7.3f %8.3f %5.1f %5.1f "
	       "%4.0f %4.0f %7.1f %7llu %7llu %5" PRIu64 " %5" PRIu64 " %s\n",
	       options->label, options->members, options->senders, r->offered, r->sent_rate,
	       r->delivered_rate, r->fraction, (double)r->p50 / 1e3, (double)r->p99 / 1e3,
	       (double)r->max / 1e3, r->cpu_per_delivery_us, r->both_per_delivery_us,
	       r->server_share * 100,
	       r->server_waiting * 100, r->receiver_share * 100, r->sender_share * 100, (double)r->lag_p99 / 1e3,
	       r->server_drops, r->member_drops,
	       t->misattributed + t->corrupt + t->duplicate + t->own + r->send_errors, t->stale,
	       r->verdict);
	if (t->misattributed + t->corrupt + t->duplicate + t->own + r->send_errors > 0)
		printf("#   bad: %" PRIu64 " misattributed, %" PRIu64 " corrupt, %" PRIu64
		       " duplicate, %" PRIu64 " own, %" PRIu64 " not sent; sender at most %.1f us late\n",
		       t->misattributed, t->corrupt, t->duplicate, t->own, r->send_errors,
		       (double)r->lag_max / 1e3);
	fflush(stdout);
}

/* Rounds RATE to three significant digits, so that rows read well. */
static double round_rate(double rate)
{
	double scale = pow(10, floor(log10(rate)) - 2);
	return scale >= 1 ? round(rate / scale) * scale : round(rate);
}

/* Runs, reports, and keeps the best passing rate in *BEST. Returns 0 or -1. */
static int step_at(struct relay *relay, const struct options *options, int *step, double rate,
		   bool *pass, double *best)
{
	struct step_result result;
	if (run_step(relay, options, (*step)++, rate, options->duration, &result) != 0)
		return -1;
	print_row(options, &result);
	*pass = result.pass;
	if (result.pass && rate > *best)
		*best = rate;
	return 0;
}

static int run(struct relay *relay, const struct options *options)
{
	int step = 0;
	double best = 0;
	bool pass;
	double first = options->rate_count > 0 ? options->rates[0] : options->search_start;

	print_header(options);
	if (options->warmup > 0) {
		struct step_result warmup;
		if (run_step(relay, options, step++, first, options->warmup, &warmup) != 0)
			return -1;
		printf("# warm-up:\n#");
		print_row(options, &warmup);
	}
	if (options->rate_count > 0) {
		for (size_t i = 0; i < options->rate_count; i++)
			if (step_at(relay, options, &step, options->rates[i], &pass, &best) != 0)
				return -1;
	} else {
		/* Double until a step fails, then halve the gap between the last pass and that failure. */
		double low = 0, high = 0;
		for (double rate = options->search_start; rate <= options->max_rate; rate *= 2) {
			if (step_at(relay, options, &step, rate, &pass, &best) != 0)
				return -1;
			if (!pass) {
				high = rate;
				break;
			}
			low = rate;
		}
		for (int i = 0; i < options->refine && high > 0; i++) {
			double middle = round_rate((low + high) / 2);
			if (middle <= low || middle >= high)
				break;
			if (step_at(relay, options, &step, middle, &pass, &best) != 0)
				return -1;
			if (pass)
				low = middle;
			else
				high = middle;
		}
	}
	printf("# best %s M=%zu: %.0f messages/s (%.0f deliveries/s)\n", options->label,
	       options->members, best, best * (double)(options->members - 1));
	return 0;
}

int main(int argc, char **argv)
{
	struct options options;
	int status = parse_options(argc, argv, &options);
	if (status >= 0)
		return status;

	/* Wake-ups on time, not up to 50 µs late: the pace is the point. */
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);

	struct relay relay = {.kind = options.kind,
			      .member_count = options.members,
			      .sender_count = options.senders,
			      .receiver_count = options.receivers,
			      .message_size = options.size,
			      .quickack = options.quickack};
	relay.server.sin_family = AF_INET;
	relay.server.sin_port = htons(options.port);
	if (inet_pton(AF_INET, options.host, &relay.server.sin_addr) != 1)
		return usage_error("not an IPv4 address", options.host);

	if (relay_open(&relay) != 0) {
		fprintf(stderr, "chat_bench: joining %s:%u: %s\n", options.host, options.port,
			relay.error);
		relay_close(&relay);
		return EX_UNAVAILABLE;
	}
	for (size_t i = 0; i < options.members; i++)
		member_ports[relay.members[i].port / 8] |= (uint8_t)(1u << (relay.members[i].port % 8));
	if (relay_start(&relay) != 0) {
		fprintf(stderr, "chat_bench: %s\n", relay.error);
		relay_close(&relay);
		return EX_OSERR;
	}
	status = run(&relay, &options) == 0 ? EX_OK : EX_OSERR;
	relay_close(&relay);
	return status;
}
