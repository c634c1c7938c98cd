/*
 * bench: the `forknet bench [OPTION]... HOST PORT` command, a load generator
 * for echo servers on this machine.
 *
 * Processes: the parent forks -j JOBS load processes (load.c), each with its
 * share of the connections and an epoll loop of its own: forknet's fork model
 * applied to load generation. A job writes its counters into memory shared
 * with the parent (one region per job, written by that job only); the parent
 * shows progress from them, says when idle connections are all held, and once
 * every job has ended merges their results into one summary.
 *
 * Signals: SIGTERM and SIGINT (Ctrl-C reaches the jobs too) end the run early
 * and the summary covers what was done; the parent passes the signal on to the
 * jobs, again each second, and kills those still there after 5 s. SIGCHLD is
 * how the parent learns that a job ended. Should the parent die, the kernel
 * sends the jobs SIGTERM (PR_SET_PDEATHSIG), so none is left behind.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "../cli.h"
#include "../lib/addr.h"
#include "../lib/clock.h"
#include "../lib/options.h"
#include "../lib/process.h"
#include "../lib/sig.h"
#include "../lib/text.h"
#include "load.h"

#define COMMAND "bench"
#define CONNECTIONS_MAX 100000
#define JOBS_MAX 64
#define SIZE_MAX_BYTES (16ul << 20)
#define DEPTH_MAX 1024
#define DEFAULT_CONNECTIONS 50
#define DEFAULT_SIZE 64
#define DEFAULT_TIME_MS 5000
#define DEFAULT_TIMEOUT_MS 2000
#define DEFAULT_RAMP 100
#define STOP_GRACE_MS 5000
#define DESCRIPTORS_PER_JOB 16 /* epoll, the signal pipe, the standard three, and slack */
#define EXIT_ERRORS 1	       /* the run was done, but errors were counted */

struct settings {
	struct load_plan plan; /* for the whole run; each job gets its share */
	unsigned jobs;
	bool json;
	const char *host;
};

struct job_share {
	struct load_live live;
	struct load_result result;
};

struct job_process {
	pid_t pid;
	bool ended;
	int status;
};

static const char *const mode_names[] = {[LOAD_CONN] = "conn", [LOAD_ECHO] = "echo",
					 [LOAD_IDLE] = "idle"};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: forknet bench [OPTION]... HOST PORT\n"
		"Load an echo server on this machine (127.0.0.0/8 or ::1) and report\n"
		"operations per second, latency and errors. Every byte that comes back\n"
		"is checked against what was sent.\n"
		"\n"
		"  -m, --mode MODE          conn: connect, send SIZE bytes, read them back,\n"
		"                           close, and again (default); echo: persistent\n"
		"                           connections, messages back and forth; idle: open\n"
		"                           the connections, echo once on each, and hold them\n"
		"  -c, --concurrency N      connections at once (default %d)\n"
		"  -s, --size BYTES         bytes per message (default %d)\n"
		"  -d, --depth N            echo mode: messages in flight per connection (default 1)\n"
		"  -t, --time SECS          count for SECS (default %d; 0: until a signal)\n"
		"  -n, --count N            or stop after N operations\n"
		"      --warmup SECS        run SECS first without counting (default 0)\n"
		"  -j, --jobs N             spread the connections over N processes (default 1)\n"
		"      --ramp N             idle mode: at most N connections being set up at once\n"
		"                           (default %d)\n"
		"      --close fin|rst      end connections with FIN (default) or RST\n"
		"      --timeout SECS       a connect or echo slower than SECS is an error\n"
		"                           (default %d; one waiting 1 s or more when the\n"
		"                           run ends counts as stalled)\n"
		"      --json               the summary as one JSON object on standard output\n"
		"                           (the text summary then goes to standard error)\n"
		"  -h, --help               show this help\n"
		"\n"
		"In idle mode, 'ready: N connections held' goes to standard error once all\n"
		"are held. Exit status: 0 no errors, 1 errors counted (see the summary),\n"
		"69 no operation completed, 64 usage error. SIGTERM, SIGINT or SIGHUP ends\n"
		"the run early, with its summary.\n",
		DEFAULT_CONNECTIONS, DEFAULT_SIZE, DEFAULT_TIME_MS / 1000, DEFAULT_RAMP,
		DEFAULT_TIMEOUT_MS / 1000);
}

static bool is_loopback(const struct address *address)
{
	if (address->storage.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&address->storage;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&address->storage;
	return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

/*
 * Resolves the target and checks that it is on this machine: bench is a load
 * tool, and loads nothing it could harm elsewhere. A name is resolved once
 * and its first address used (127.0.0.1 or ::1 choose). Returns 0 or an exit status.
 */
static int resolve_target(struct settings *settings, uint16_t port)
{
	struct load_plan *plan = &settings->plan;
	size_t count;
	char text[ADDRESS_TEXT_MAX];

	int lookup = addr_resolve(settings->host, port, SOCK_STREAM, false, &plan->target, 1, &count);
	if (lookup != 0)
		return cli_resolve_failed(settings->host, lookup);
	addr_unmap(&plan->target);
	if (!is_loopback(&plan->target)) {
		cli_error(COMMAND ": %s: not a loopback address (bench loads only 127.0.0.0/8 and ::1)",
			  addr_format(&plan->target, text, sizeof text));
		return EX_USAGE;
	}
	/*
	 * In conn mode every connection leaves a TIME_WAIT behind on this side,
	 * which holds its local port for a minute; spreading the connections over
	 * 64 source addresses gives 64 times the ports (see load.c).
	 */
	plan->spread_sources = plan->mode == LOAD_CONN && !plan->close_reset &&
			       plan->target.storage.ss_family == AF_INET;
	return 0;
}

/* Parses the options into SETTINGS; returns 0, or an exit status after saying what was wrong. */
static int parse(int argc, char **argv, struct settings *settings)
{
	static const struct option options[] = {
		{"mode", required_argument, NULL, 'm'},	 {"concurrency", required_argument, NULL, 'c'},
		{"size", required_argument, NULL, 's'},	 {"depth", required_argument, NULL, 'd'},
		{"time", required_argument, NULL, 't'},	 {"count", required_argument, NULL, 'n'},
		{"warmup", required_argument, NULL, 'W'}, {"jobs", required_argument, NULL, 'j'},
		{"ramp", required_argument, NULL, 'R'},	 {"close", required_argument, NULL, 'C'},
		{"timeout", required_argument, NULL, 'T'}, {"json", no_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'},	 {NULL, 0, NULL, 0},
	};
	struct load_plan *plan = &settings->plan;
	char message[256];
	unsigned long value;
	bool depth_given = false, ramp_given = false, time_given = false, count_given = false;

	*settings = (struct settings){.jobs = 1}; /* every field set: nothing left as it was */
	*plan = (struct load_plan){.mode = LOAD_CONN, .connections = DEFAULT_CONNECTIONS,
				   .size = DEFAULT_SIZE, .depth = 1, .ramp = DEFAULT_RAMP,
				   .timeout_ms = DEFAULT_TIMEOUT_MS, .duration_ms = DEFAULT_TIME_MS};
	optind = 0;
	opterr = 0;
	for (int option; (option = getopt_long(argc, argv, ":m:c:s:d:t:n:j:h", options, NULL)) != -1;) {
		const char *name = options_name(options, option);
		int wrong = 0;
		switch (option) {
		case 'm':
			if (strcmp(optarg, "conn") == 0)
				plan->mode = LOAD_CONN;
			else if (strcmp(optarg, "echo") == 0)
				plan->mode = LOAD_ECHO;
			else if (strcmp(optarg, "idle") == 0)
				plan->mode = LOAD_IDLE;
			else {
				snprintf(message, sizeof message,
					 "--mode '%s': not a mode (conn, echo, idle)", optarg);
				wrong = -1;
			}
			break;
		case 'c':
			wrong = options_number(name, optarg, 1, CONNECTIONS_MAX, &value, message,
					       sizeof message);
			plan->connections = (unsigned)value;
			break;
		case 's':
			wrong = options_number(name, optarg, 1, SIZE_MAX_BYTES, &value, message,
					       sizeof message);
			plan->size = value;
			break;
		case 'd':
			wrong = options_number(name, optarg, 1, DEPTH_MAX, &value, message,
					       sizeof message);
			plan->depth = (unsigned)value;
			depth_given = true;
			break;
		case 't':
			wrong = options_seconds(name, optarg, 0, 86400000, &value, message,
						sizeof message);
			plan->duration_ms = (long)value;
			time_given = true;
			break;
		case 'n':
			wrong = options_number(name, optarg, 1, 1000000000000ul, &value, message,
					       sizeof message);
			plan->count = value;
			count_given = true;
			break;
		case 'W':
			wrong = options_seconds(name, optarg, 0, 3600000, &value, message,
						sizeof message);
			plan->warmup_ms = (long)value;
			break;
		case 'j':
			wrong = options_number(name, optarg, 1, JOBS_MAX, &value, message,
					       sizeof message);
			settings->jobs = (unsigned)value;
			break;
		case 'R':
			wrong = options_number(name, optarg, 1, CONNECTIONS_MAX, &value, message,
					       sizeof message);
			plan->ramp = (unsigned)value;
			ramp_given = true;
			break;
		case 'C':
			if (strcmp(optarg, "fin") == 0 || strcmp(optarg, "rst") == 0) {
				plan->close_reset = optarg[0] == 'r';
			} else {
				snprintf(message, sizeof message,
					 "--close '%s': not a way to close (fin, rst)", optarg);
				wrong = -1;
			}
			break;
		case 'T':
			wrong = options_seconds(name, optarg, 1, 3600000, &value, message,
						sizeof message);
			plan->timeout_ms = (long)value;
			break;
		case 'J':
			settings->json = true;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			options_problem(option, argv, options, message, sizeof message);
			wrong = -1;
			break;
		}
		if (wrong != 0)
			return cli_usage_error(COMMAND, message);
	}

	/* Options that would be ignored, or that contradict each other, are errors. */
	const char *problem = NULL;
	if (depth_given && plan->mode != LOAD_ECHO)
		problem = "--depth: only for echo mode";
	else if (ramp_given && plan->mode != LOAD_IDLE)
		problem = "--ramp: only for idle mode";
	else if (count_given && plan->mode == LOAD_IDLE)
		problem = "--count: idle mode holds its connections until --time ends";
	else if (count_given && time_given)
		problem = "--time and --count: give one of them";
	else if (settings->jobs > plan->connections)
		problem = "--jobs: more jobs than connections";
	else if (count_given && plan->count < settings->jobs)
		problem = "--count: fewer operations than jobs";
	if (problem != NULL)
		return cli_usage_error(COMMAND, problem);
	if (count_given)
		plan->duration_ms = 0;

	uint16_t port;
	int wrong = cli_host_port(COMMAND, "tcp", argc - optind, argv + optind, &settings->host,
				  &port);
	if (wrong != 0)
		return wrong;
	return resolve_target(settings, port);
}

/* Raises the soft descriptor limit so that one job can hold its connections; 0 or an exit status. */
static int raise_descriptor_limit(const struct settings *settings)
{
	rlim_t per_job = (settings->plan.connections + settings->jobs - 1) / settings->jobs;
	rlim_t needed = per_job + DESCRIPTORS_PER_JOB;
	struct rlimit limit;

	if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
		cli_error(COMMAND ": getrlimit: %s", strerror(errno));
		return EX_OSERR;
	}
	if (limit.rlim_cur >= needed)
		return 0;
	if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed) {
		cli_error(COMMAND ": %lu connections per job need %lu descriptors, and the limit is %lu "
			  "(ulimit -n; or spread them over more jobs with -j)",
			  (unsigned long)per_job, (unsigned long)needed, (unsigned long)limit.rlim_max);
		return EX_USAGE;
	}
	limit.rlim_cur = needed;
	if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
		cli_error(COMMAND ": setrlimit: %s", strerror(errno));
		return EX_OSERR;
	}
	return 0;
}

/* Job INDEX's share of TOTAL, split as evenly as can be over JOBS. */
static uint64_t share(uint64_t total, unsigned jobs, unsigned index)
{
	return total / jobs + (index < total % jobs ? 1 : 0);
}

/* Starts the jobs; returns how many started (all, or fewer after a fork failure, reported). */
static unsigned start_jobs(const struct settings *settings, struct job_share *shares,
			   struct job_process *jobs)
{
	/*
	 * A job's stop signals are blocked from before its fork until it has
	 * caught them itself (load.c): one sent in that moment, by us, by the
	 * kernel when we die (PR_SET_PDEATHSIG) or by ^C, waits for it, pending.
	 */
	static const int ignored[] = {SIGPIPE};
	static const struct process_setup setup = {.ignore = ignored, .ignore_count = 1};
	sigset_t saved;
	unsigned started = settings->jobs;

	if (sig_block(LOAD_STOP_SIGNALS, LOAD_STOP_COUNT, &saved) != 0) {
		cli_error(COMMAND ": blocking signals: %s", strerror(errno));
		return 0;
	}
	fflush(NULL); /* nothing buffered may be written twice */
	for (unsigned i = 0; i < settings->jobs; i++) {
		struct load_plan plan = settings->plan;
		plan.connections = (unsigned)share(plan.connections, settings->jobs, i);
		plan.count = plan.count > 0 ? share(plan.count, settings->jobs, i) : 0;
		plan.seed = (uint32_t)getpid() * 2654435761u + i;
		pid_t pid = process_fork(&setup);
		if (pid == 0) {
			if (load_run(&plan, &shares[i].result, &shares[i].live) != 0) {
				cli_error(COMMAND ": job %u: %s", i + 1, strerror(errno));
				_exit(EX_OSERR);
			}
			_exit(EX_OK);
		}
		if (pid < 0) {
			cli_error(COMMAND ": fork: %s", strerror(errno));
			started = i;
			break;
		}
		jobs[i] = (struct job_process){.pid = pid};
	}
	/* Our own stop signals, caught (the signal pipe), come through now. */
	if (sig_restore(&saved) != 0)
		cli_error(COMMAND ": restoring the signal mask: %s", strerror(errno));
	return started;
}

/* Sends SIGNO to every job still running. */
static void signal_jobs(struct job_process *jobs, unsigned count, int signo)
{
	for (unsigned i = 0; i < count; i++)
		if (!jobs[i].ended && kill(jobs[i].pid, signo) != 0 && errno != ESRCH)
			cli_error(COMMAND ": kill %ld: %s", (long)jobs[i].pid, strerror(errno));
}

/* Reaps the jobs that have ended; returns how many are still running. */
static unsigned reap_jobs(struct job_process *jobs, unsigned count)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			break; /* 0: the rest still run; -1: ECHILD, none left */
		for (unsigned i = 0; i < count; i++)
			if (jobs[i].pid == pid) {
				jobs[i].ended = true;
				jobs[i].status = status;
			}
	}
	unsigned running = 0;
	for (unsigned i = 0; i < count; i++)
		running += jobs[i].ended ? 0 : 1;
	return running;
}

struct watch {
	bool progress;	    /* a progress line on the terminal */
	bool ready_said;    /* idle mode: the ready line is out */
	bool stopping;	    /* a stop signal came, or the backstop passed */
	struct timespec stop_sent;
	uint64_t last_operations;
	struct timespec last_progress;
};

static void sum_live(const struct job_share *shares, unsigned count, uint64_t *operations,
		     uint64_t *errors, uint64_t *held, bool *counting)
{
	*operations = *errors = *held = 0;
	*counting = true;
	for (unsigned i = 0; i < count; i++) {
		*operations += __atomic_load_n(&shares[i].live.operations, __ATOMIC_RELAXED);
		*errors += __atomic_load_n(&shares[i].live.errors, __ATOMIC_RELAXED);
		*held += __atomic_load_n(&shares[i].live.held, __ATOMIC_RELAXED);
		if (__atomic_load_n(&shares[i].live.counting, __ATOMIC_RELAXED) == 0)
			*counting = false;
	}
}

/* Once a second on a terminal: elapsed time, operations per second, errors. */
static void show_progress(struct watch *watch, const struct settings *settings,
			  const struct job_share *shares, unsigned count, struct timespec start)
{
	struct timespec now = clock_now();
	uint64_t operations, errors, held;
	bool counting;

	sum_live(shares, count, &operations, &errors, &held, &counting);
	if (settings->plan.mode == LOAD_IDLE && !watch->ready_said &&
	    held >= settings->plan.connections) {
		if (watch->progress)
			fputs("\r\033[K", stderr);
		fprintf(stderr, "ready: %llu connection%s held\n", (unsigned long long)held,
			text_plural(held));
		fflush(stderr);
		watch->ready_said = true;
	}
	if (!watch->progress || clock_seconds_between(watch->last_progress, now) < 1.0)
		return;
	double seconds = clock_seconds_between(watch->last_progress, now);
	uint64_t done = operations >= watch->last_operations ? operations - watch->last_operations
							     : operations;
	fprintf(stderr, "\r%7.1f s %s %10.0f ops/s  %llu held  %llu errors\033[K",
		clock_seconds_between(start, now), counting ? "        " : "(warmup)",
		(double)done / seconds, (unsigned long long)held, (unsigned long long)errors);
	fflush(stderr);
	watch->last_operations = operations;
	watch->last_progress = now;
}

/*
 * The parent's loop while the jobs run: signals, progress, the ready line,
 * and a backstop should a job not end when it should. Returns when every job
 * has been reaped.
 */
static void watch_jobs(const struct settings *settings, struct job_share *shares,
		       struct job_process *jobs, unsigned count, int signal_fd)
{
	const struct load_plan *plan = &settings->plan;
	struct timespec start = clock_now();
	struct watch watch = {.progress = isatty(STDERR_FILENO) == 1, .last_progress = start};
	/* Jobs end on their own by then; if one has not, it is stopped. */
	struct timespec backstop = clock_after(start, plan->warmup_ms + plan->duration_ms +
							      plan->timeout_ms + STOP_GRACE_MS);
	bool has_backstop = plan->duration_ms > 0;
	unsigned running = count;

	while (running > 0) {
		int wait_ms = watch.progress ? 250 : 1000;
		if (plan->mode == LOAD_IDLE && !watch.ready_said)
			wait_ms = 20;
		struct pollfd poller = {.fd = signal_fd, .events = POLLIN};
		int ready = poll(&poller, 1, wait_ms);
		if (ready < 0 && errno != EINTR) {
			cli_error(COMMAND ": poll: %s", strerror(errno));
			watch.stopping = true;
		}
		if (ready > 0) {
			sig_drain();
			for (int signo; (signo = sig_next()) != 0;) {
				if (signo == SIGCHLD)
					continue; /* reaped below, every time round */
				if (watch.stopping) {
					signal_jobs(jobs, count, SIGKILL); /* a second stop: now */
				} else {
					watch.stopping = true;
					watch.stop_sent = clock_now();
					signal_jobs(jobs, count, SIGTERM);
				}
			}
		}
		running = reap_jobs(jobs, count);
		if (running == 0)
			break;
		show_progress(&watch, settings, shares, count, start);
		if (has_backstop && clock_ms_until(backstop) == 0 && !watch.stopping) {
			cli_error(COMMAND ": the jobs did not end on time; stopping them");
			watch.stopping = true;
			watch.stop_sent = clock_now();
			signal_jobs(jobs, count, SIGTERM);
		}
		if (watch.stopping) {
			/* A job may have missed the first SIGTERM in the moment before it caught it. */
			double since = clock_seconds_between(watch.stop_sent, clock_now());
			signal_jobs(jobs, count, since * 1000 >= STOP_GRACE_MS ? SIGKILL : SIGTERM);
		}
	}
	if (watch.progress)
		fputs("\r\033[K", stderr);
}

/* One job's end, as a reason it failed, or NULL when it exited 0. */
static const char *job_failure(const struct job_process *job, char *buf, size_t size)
{
	char name[32];
	if (WIFEXITED(job->status) && WEXITSTATUS(job->status) == 0)
		return NULL;
	if (WIFSIGNALED(job->status))
		snprintf(buf, size, "killed by %s", sig_name(WTERMSIG(job->status), name, sizeof name));
	else
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(job->status));
	return buf;
}

struct summary {
	struct load_result total;
	uint64_t errors;
	double cpu_seconds;
	double wall_seconds;
};

static void merge(const struct job_share *shares, unsigned count, struct summary *summary)
{
	struct load_result *total = &summary->total;
	for (unsigned i = 0; i < count; i++) {
		const struct load_result *one = &shares[i].result;
		total->operations += one->operations;
		total->bytes += one->bytes;
		total->held += one->held;
		for (int kind = 0; kind < LOAD_ERROR_KINDS; kind++)
			total->errors[kind] += one->errors[kind];
		if (one->last_errno != 0)
			total->last_errno = one->last_errno;
		if (one->seconds > total->seconds)
			total->seconds = one->seconds;
		histogram_merge(&total->latency, &one->latency);
	}
	for (int kind = 0; kind < LOAD_ERROR_KINDS; kind++)
		summary->errors += total->errors[kind];
}

/* The CPU time this process and its reaped jobs used, in seconds. */
static double cpu_used(void)
{
	struct rusage self, children;
	if (getrusage(RUSAGE_SELF, &self) != 0 || getrusage(RUSAGE_CHILDREN, &children) != 0)
		return 0;
	double seconds = 0;
	const struct rusage *both[] = {&self, &children};
	for (int i = 0; i < 2; i++)
		seconds += (double)both[i]->ru_utime.tv_sec + (double)both[i]->ru_utime.tv_usec / 1e6 +
			   (double)both[i]->ru_stime.tv_sec + (double)both[i]->ru_stime.tv_usec / 1e6;
	return seconds;
}

static double rate(double amount, double seconds)
{
	return seconds > 0 ? amount / seconds : 0;
}

static double percentile_us(const struct summary *summary, double percent)
{
	return (double)histogram_percentile(&summary->total.latency, percent) / 1000.0;
}

static const char *const latency_units[] = {[LOAD_CONN] = "per connection",
					    [LOAD_ECHO] = "per message",
					    [LOAD_IDLE] = "per connection set up"};

static void print_text(FILE *out, const struct settings *settings, const struct summary *summary)
{
	const struct load_plan *plan = &settings->plan;
	const struct load_result *total = &summary->total;
	char target[ADDRESS_TEXT_MAX];

	fprintf(out, "bench: %s mode, %s, %u connection%s, %llu byte%s", mode_names[plan->mode],
		addr_format(&plan->target, target, sizeof target), plan->connections,
		text_plural(plan->connections), (unsigned long long)plan->size,
		text_plural(plan->size > 1 ? 2 : 1));
	if (plan->mode == LOAD_ECHO)
		fprintf(out, ", depth %u", plan->depth);
	fprintf(out, ", %.3f s, %u job%s\n", total->seconds, settings->jobs,
		text_plural(settings->jobs));
	fprintf(out, "operations: %llu (%.1f/s)\n", (unsigned long long)total->operations,
		rate((double)total->operations, total->seconds));
	fprintf(out, "throughput: %.2f MB/s\n", rate((double)total->bytes / 1e6, total->seconds));
	fprintf(out, "latency: p50 %.1f us, p90 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us (%s)\n",
		percentile_us(summary, 50), percentile_us(summary, 90), percentile_us(summary, 99),
		percentile_us(summary, 99.9), (double)total->latency.max / 1000.0,
		latency_units[plan->mode]);
	fprintf(out, "errors: %llu", (unsigned long long)summary->errors);
	const char *separator = " (";
	for (int kind = 0; kind < LOAD_ERROR_KINDS; kind++) {
		if (total->errors[kind] == 0)
			continue;
		fprintf(out, "%s%s %llu", separator, load_error_names[kind],
			(unsigned long long)total->errors[kind]);
		if (kind == LOAD_OTHER && total->last_errno != 0)
			fprintf(out, ", the last: %s", strerror(total->last_errno));
		separator = ", ";
	}
	fputs(summary->errors > 0 ? ")\n" : "\n", out);
	if (plan->mode == LOAD_IDLE)
		fprintf(out, "held: %llu connection%s\n", (unsigned long long)total->held,
			text_plural(total->held));
	fprintf(out, "cpu: %.2f s (%.1f%% of one core)\n", summary->cpu_seconds,
		100 * rate(summary->cpu_seconds, summary->wall_seconds));
}

static void print_json(FILE *out, const struct settings *settings, const struct summary *summary)
{
	const struct load_plan *plan = &settings->plan;
	const struct load_result *total = &summary->total;
	char target[ADDRESS_TEXT_MAX];
	char host[ADDRESS_TEXT_MAX];

	addr_format(&plan->target, target, sizeof target);
	/* The host without its port (and an IPv6 address without brackets). */
	snprintf(host, sizeof host, "%s", target[0] == '[' ? target + 1 : target);
	char *end = strrchr(host, target[0] == '[' ? ']' : ':');
	if (end != NULL)
		*end = '\0';
	fprintf(out,
		"{\"mode\":\"%s\",\"target\":\"%s\",\"host\":\"%s\",\"port\":%u,"
		"\"concurrency\":%u,\"size\":%llu,\"depth\":%u,\"jobs\":%u,\"close\":\"%s\","
		"\"seconds\":%.3f,\"operations\":%llu,\"ops_per_second\":%.1f,"
		"\"megabytes_per_second\":%.2f,",
		mode_names[plan->mode], target, host, addr_port(&plan->target), plan->connections,
		(unsigned long long)plan->size, plan->depth, settings->jobs,
		plan->close_reset ? "rst" : "fin", total->seconds,
		(unsigned long long)total->operations,
		rate((double)total->operations, total->seconds),
		rate((double)total->bytes / 1e6, total->seconds));
	fprintf(out,
		"\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p99_9\":%.1f,\"max\":%.1f},",
		percentile_us(summary, 50), percentile_us(summary, 90), percentile_us(summary, 99),
		percentile_us(summary, 99.9), (double)total->latency.max / 1000.0);
	fprintf(out, "\"errors\":{\"total\":%llu", (unsigned long long)summary->errors);
	for (int kind = 0; kind < LOAD_ERROR_KINDS; kind++)
		fprintf(out, ",\"%s\":%llu", load_error_names[kind],
			(unsigned long long)total->errors[kind]);
	fprintf(out, "},\"held\":%llu,\"cpu_seconds\":%.2f,\"cpu_percent\":%.1f}\n",
		(unsigned long long)total->held, summary->cpu_seconds,
		100 * rate(summary->cpu_seconds, summary->wall_seconds));
}

/* Runs the jobs and reports; returns the exit status. */
static int run(const struct settings *settings, int signal_fd)
{
	size_t bytes = settings->jobs * sizeof(struct job_share);
	struct job_share *shares =
		mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shares == MAP_FAILED) {
		cli_error(COMMAND ": mmap: %s", strerror(errno));
		return EX_OSERR;
	}
	struct job_process jobs[JOBS_MAX];
	struct timespec start = clock_now();
	unsigned started = start_jobs(settings, shares, jobs);
	if (started < settings->jobs)
		signal_jobs(jobs, started, SIGTERM);
	watch_jobs(settings, shares, jobs, started, signal_fd);

	int status = started < settings->jobs ? EX_OSERR : EX_OK;
	for (unsigned i = 0; i < started; i++) {
		char why[64];
		if (job_failure(&jobs[i], why, sizeof why) != NULL) {
			cli_error(COMMAND ": job %u (pid %ld) %s", i + 1, (long)jobs[i].pid, why);
			status = EX_OSERR;
		}
	}
	if (status == EX_OK) {
		struct summary summary = {.cpu_seconds = cpu_used(),
					  .wall_seconds = clock_seconds_between(start, clock_now())};
		merge(shares, started, &summary);
		if (settings->json) {
			print_text(stderr, settings, &summary);
			print_json(stdout, settings, &summary);
		} else {
			print_text(stdout, settings, &summary);
		}
		if (fflush(stdout) != 0) {
			cli_error(COMMAND ": write standard output: %s", strerror(errno));
			status = EX_IOERR;
		} else if (summary.total.operations == 0) {
			status = EX_UNAVAILABLE;
		} else if (summary.errors > 0) {
			status = EXIT_ERRORS;
		}
	}
	if (munmap(shares, bytes) != 0) {
		cli_error(COMMAND ": munmap: %s", strerror(errno));
		status = EX_OSERR;
	}
	return status;
}

int bench_main(int argc, char **argv)
{
	struct settings settings;
	int wrong = parse(argc, argv, &settings);
	if (wrong != 0)
		return wrong < 0 ? EX_OK : wrong; /* -1: --help was shown */
	wrong = raise_descriptor_limit(&settings);
	if (wrong != 0)
		return wrong;

	static const int caught[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP};
	int signal_fd = sig_catch(caught, 4);
	if (signal_fd < 0) {
		cli_error(COMMAND ": catching signals: %s", strerror(errno));
		return EX_OSERR;
	}
	int status = run(&settings, signal_fd);
	if (sig_reset() != 0) {
		cli_error(COMMAND ": restoring signals: %s", strerror(errno));
		status = EX_OSERR;
	}
	return status;
}
