/*
 * load: one load process of forknet bench. See load.h.
 *
 * Every connection is a slot. A slot is WAITING (for its start: a backoff
 * after a failure, or its turn in the ramp), OPENING (connecting and sending
 * its first bytes; in conn mode this is the whole operation), RUNNING (echo
 * mode: messages going to and fro) or HELD (idle mode). The loop is
 * level-triggered epoll: a slot asks for EPOLLOUT only while it has bytes the
 * kernel would not take, so a busy connection costs one event per echo.
 *
 * What is sent is a pseudo-random byte pattern, 64 KiB long, starting at a
 * random offset for each connection; the stream's byte N is
 * pattern[(offset + N) mod 64 KiB]. Keeping the pattern twice over, end to
 * end, makes any 64 KiB of the stream one contiguous piece of memory, so
 * sending is one call and checking what came back one memcmp.
 *
 * A timer tick (every 10 ms while anything is in flight) looks over the
 * slots: it fails those whose oldest outstanding operation is older than the
 * timeout, and starts those whose wait is over.
 *
 * A run shorter than the timeout would hide a server that never answers some
 * connections (the iterative model with more than one): so at the end, a
 * connection whose oldest operation has waited STALL_MS or more counts as
 * stalled (or as a timeout, if the last tick came too late to see one).
 */
#include "load.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../lib/sig.h"

#define PATTERN_SIZE 65536u /* a power of two: offsets wrap with a mask */
#define PATTERN_MASK (PATTERN_SIZE - 1)
#define READ_SIZE PATTERN_SIZE /* so that one read is checked against one piece */
#define EVENTS_MAX 256
#define TICK_BUSY_MS 10
#define TICK_QUIET_MS 100
#define BACKOFF_FIRST_MS 10
#define BACKOFF_MAX_MS 1000
/* conn mode on IPv4 binds connections to 127.0.0.1 ... 127.0.0.64 in turn (see bench.c). */
#define SOURCE_FIRST 0x7f000001u
#define SOURCE_COUNT 64u
#define SIGNAL_EVENT UINT64_MAX
#define NS_PER_MS INT64_C(1000000)
#define STALL_MS 1000 /* unanswered this long at the end of a run: stalled */

const int LOAD_STOP_SIGNALS[LOAD_STOP_COUNT] = {SIGTERM, SIGINT, SIGHUP};

const char *const load_error_names[LOAD_ERROR_KINDS] = {
	[LOAD_WRONG] = "wrong",	    [LOAD_EXTRA] = "extra",	[LOAD_EOF] = "eof",
	[LOAD_RESET] = "reset",	    [LOAD_REFUSED] = "refused", [LOAD_TIMEOUT] = "timeout",
	[LOAD_STALLED] = "stalled", [LOAD_PORTS] = "ports",	[LOAD_OTHER] = "other",
};

enum slot_state { SLOT_WAITING, SLOT_OPENING, SLOT_RUNNING, SLOT_HELD };

struct slot {
	int fd;
	uint32_t generation; /* counts the slot's connections; stale events carry an old one */
	enum slot_state state;
	bool registered;     /* in the epoll set */
	bool writing;	     /* registered for EPOLLOUT too */
	uint32_t offset;     /* where this connection's stream starts in the pattern */
	uint64_t queued;     /* bytes of the stream there is to send, so far */
	uint64_t sent;	     /* of which the kernel took */
	uint64_t received;   /* bytes back, all checked */
	uint64_t started;    /* messages queued (echo mode) */
	uint64_t finished;   /* messages fully back (echo mode) */
	int64_t opened_ns;   /* when this connection's operation began (conn, idle) */
	int64_t wake_ns;     /* WAITING: not before */
	int64_t backoff_ms;
	int64_t *sent_ns;    /* echo mode: when each of the DEPTH messages in flight was queued */
};

struct job {
	const struct load_plan *plan;
	struct load_result *result;
	struct load_live *live;
	int epoll_fd;
	int signal_fd;
	struct slot *slots;
	int64_t *send_times;
	unsigned opening;  /* slots OPENING (the ramp counts them) */
	uint64_t held;	   /* slots HELD */
	uint32_t next_source;
	uint64_t random;
	bool counting;
	bool stopping;
};

static uint8_t pattern[2 * PATTERN_SIZE];
static uint8_t incoming[READ_SIZE];

static int64_t now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now); /* cannot fail for CLOCK_MONOTONIC */
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* xorshift64*: quick, and plenty for a test pattern and offsets. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * UINT64_C(2685821657736338717);
}

static void make_pattern(uint64_t *state)
{
	for (unsigned i = 0; i < PATTERN_SIZE; i += 8) {
		uint64_t word = next_random(state);
		memcpy(pattern + i, &word, sizeof word);
	}
	memcpy(pattern + PATTERN_SIZE, pattern, PATTERN_SIZE);
}

static enum load_error error_kind(int error)
{
	switch (error) {
	case ECONNRESET:
	case EPIPE:
		return LOAD_RESET;
	case ECONNREFUSED:
		return LOAD_REFUSED;
	case ETIMEDOUT:
		return LOAD_TIMEOUT;
	case EADDRNOTAVAIL:
		return LOAD_PORTS;
	default:
		return LOAD_OTHER;
	}
}

static void count_error(struct job *job, enum load_error kind, int error)
{
	job->result->errors[kind]++;
	if (kind == LOAD_OTHER)
		job->result->last_errno = error;
}

/* Ends the slot's connection, if it has one, leaving it WAITING; a failing close counts as an error. */
static void slot_close(struct job *job, struct slot *slot)
{
	if (slot->state == SLOT_OPENING)
		job->opening--;
	if (slot->state == SLOT_HELD)
		job->held--;
	slot->state = SLOT_WAITING;
	if (slot->fd < 0)
		return;
	/* close() also takes it out of the epoll set: it is this set's only holder. */
	if (close(slot->fd) != 0 && errno != EINTR)
		count_error(job, LOAD_OTHER, errno);
	slot->fd = -1;
	slot->registered = false;
	slot->writing = false;
}

/* Ends the slot's connection after a failure of KIND; it starts again after a backoff. */
static void slot_failed(struct job *job, struct slot *slot, enum load_error kind, int error,
			int64_t now)
{
	count_error(job, kind, error);
	slot_close(job, slot);
	slot->wake_ns = now + slot->backoff_ms * NS_PER_MS;
	slot->backoff_ms = slot->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : slot->backoff_ms * 2;
}

static uint64_t slot_data(const struct job *job, const struct slot *slot)
{
	return (uint64_t)slot->generation << 32 | (uint64_t)(slot - job->slots);
}

/* Puts the slot's descriptor in the epoll set, or changes its events, to match WRITING. */
static int slot_watch(struct job *job, struct slot *slot, bool writing)
{
	if (slot->registered && slot->writing == writing)
		return 0;
	struct epoll_event event = {.events = EPOLLIN | (writing ? EPOLLOUT : 0u),
				    .data.u64 = slot_data(job, slot)};
	if (epoll_ctl(job->epoll_fd, slot->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, slot->fd,
		      &event) != 0)
		return -1;
	slot->registered = true;
	slot->writing = writing;
	return 0;
}

/*
 * Sends what is queued and the kernel will take. Returns 0 (with EPOLLOUT
 * asked for if some is left), or -1 when the slot failed (it is closed).
 */
static int slot_flush(struct job *job, struct slot *slot, int64_t now)
{
	while (slot->sent < slot->queued) {
		uint64_t left = slot->queued - slot->sent;
		size_t length = left < PATTERN_SIZE ? (size_t)left : PATTERN_SIZE;
		const uint8_t *from = pattern + ((slot->offset + slot->sent) & PATTERN_MASK);
		ssize_t count = send(slot->fd, from, length, MSG_NOSIGNAL);
		if (count < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break; /* also while the connect is still under way */
			slot_failed(job, slot, error_kind(errno), errno, now);
			return -1;
		}
		slot->sent += (uint64_t)count;
	}
	if (slot_watch(job, slot, slot->sent < slot->queued) != 0) {
		slot_failed(job, slot, LOAD_OTHER, errno, now);
		return -1;
	}
	return 0;
}

/* Queues the messages that fit within the depth (echo mode). */
static void slot_queue_messages(struct job *job, struct slot *slot, int64_t now)
{
	unsigned depth = job->plan->depth;
	while (slot->started - slot->finished < depth) {
		slot->sent_ns[slot->started % depth] = now;
		slot->started++;
		slot->queued += job->plan->size;
	}
}

static bool budget_spent(const struct job *job)
{
	return job->plan->count > 0 && job->result->operations >= job->plan->count;
}

/* Binds FD to the next of the spread source addresses, the port left to connect(). */
static int bind_source(struct job *job, int fd)
{
	int one = 1;
	if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) != 0)
		return -1;
	struct sockaddr_in source = {.sin_family = AF_INET};
	source.sin_addr.s_addr = htonl(SOURCE_FIRST + job->next_source++ % SOURCE_COUNT);
	return bind(fd, (const struct sockaddr *)&source, sizeof source);
}

/* Sets up a new socket on FD as the plan wants it; returns 0 or -1 with errno. */
static int prepare_socket(struct job *job, int fd)
{
	int one = 1;
	/* Each message goes out at once: Nagle would hold the second of two in flight. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
		return -1;
	if (job->plan->close_reset) {
		struct linger linger = {.l_onoff = 1, .l_linger = 0};
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger) != 0)
			return -1;
	}
	if (job->plan->spread_sources && bind_source(job, fd) != 0)
		return -1;
	return 0;
}

/* Opens a connection for SLOT and sends its first bytes. */
static void slot_open(struct job *job, struct slot *slot, int64_t now)
{
	const struct load_plan *plan = job->plan;
	int family = plan->target.storage.ss_family;

	slot->generation++;
	slot->state = SLOT_OPENING;
	job->opening++;
	slot->opened_ns = now;
	slot->queued = slot->sent = slot->received = 0;
	slot->started = slot->finished = 0;
	slot->offset = (uint32_t)(next_random(&job->random) & PATTERN_MASK);
	slot->fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (slot->fd < 0 || prepare_socket(job, slot->fd) != 0) {
		slot_failed(job, slot, error_kind(errno), errno, now);
		return;
	}
	if (connect(slot->fd, (const struct sockaddr *)&plan->target.storage, plan->target.length) !=
		    0 &&
	    errno != EINPROGRESS) {
		slot_failed(job, slot, error_kind(errno), errno, now);
		return;
	}
	if (plan->mode == LOAD_ECHO)
		slot_queue_messages(job, slot, now);
	else
		slot->queued = plan->size;
	/* On loopback the connection is often up already, and the first send goes now. */
	slot_flush(job, slot, now);
}

/* A connection's operation is over (conn mode): count it, and go again at once. */
static void connection_done(struct job *job, struct slot *slot, int64_t now)
{
	struct load_result *result = job->result;
	result->operations++;
	result->bytes += slot->received;
	histogram_add(&result->latency, (uint64_t)(now - slot->opened_ns));
	slot->backoff_ms = BACKOFF_FIRST_MS;
	slot_close(job, slot);
	slot->wake_ns = now;
	if (budget_spent(job))
		job->stopping = true;
	else
		slot_open(job, slot, now);
}

/* Messages fully back (echo mode): count each, and send as many more. */
static void messages_done(struct job *job, struct slot *slot, int64_t now)
{
	struct load_result *result = job->result;
	unsigned depth = job->plan->depth;
	uint64_t size = job->plan->size;

	while (slot->received >= (slot->finished + 1) * size) {
		histogram_add(&result->latency,
			      (uint64_t)(now - slot->sent_ns[slot->finished % depth]));
		slot->finished++;
		result->operations++;
		result->bytes += size;
		if (budget_spent(job)) {
			job->stopping = true;
			return;
		}
	}
	if (slot->state == SLOT_OPENING) {
		job->opening--;
		slot->state = SLOT_RUNNING;
		slot->backoff_ms = BACKOFF_FIRST_MS;
	}
	slot_queue_messages(job, slot, now);
	slot_flush(job, slot, now);
}

/* The first message is back (idle mode): from now on the connection is only held. */
static void connection_held(struct job *job, struct slot *slot, int64_t now)
{
	struct load_result *result = job->result;
	result->operations++;
	result->bytes += slot->received;
	histogram_add(&result->latency, (uint64_t)(now - slot->opened_ns));
	slot->backoff_ms = BACKOFF_FIRST_MS;
	job->opening--;
	slot->state = SLOT_HELD;
	job->held++;
}

/* Reads what the server sent, checks it byte for byte, and moves the slot on. */
static void slot_read(struct job *job, struct slot *slot)
{
	uint32_t generation = slot->generation;
	ssize_t count;

	do {
		count = recv(slot->fd, incoming, sizeof incoming, 0);
		int64_t now = now_ns();
		if (count < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				slot_failed(job, slot, error_kind(errno), errno, now);
			return;
		}
		if (count == 0) {
			slot_failed(job, slot, LOAD_EOF, 0, now);
			return;
		}
		/* Nothing can come back that was not sent; what does is extra. */
		uint64_t expected = slot->sent - slot->received;
		size_t checked = (uint64_t)count < expected ? (size_t)count : (size_t)expected;
		const uint8_t *want = pattern + ((slot->offset + slot->received) & PATTERN_MASK);
		if (memcmp(incoming, want, checked) != 0) {
			slot_failed(job, slot, LOAD_WRONG, 0, now);
			return;
		}
		if (checked < (size_t)count) {
			slot_failed(job, slot, LOAD_EXTRA, 0, now);
			return;
		}
		slot->received += checked;
		if (job->plan->mode == LOAD_ECHO) {
			messages_done(job, slot, now);
		} else if (slot->received == job->plan->size) {
			if (job->plan->mode == LOAD_CONN) {
				connection_done(job, slot, now);
				return;
			}
			connection_held(job, slot, now);
		}
		/* A full read may have left more behind; a short one emptied the socket. */
	} while (count == (ssize_t)sizeof incoming && slot->generation == generation &&
		 slot->fd >= 0 && !job->stopping);
}

static void slot_event(struct job *job, struct slot *slot, uint32_t events)
{
	int64_t now = now_ns();
	if ((events & EPOLLERR) && !(events & EPOLLIN)) {
		int error = 0;
		socklen_t length = sizeof error;
		if (getsockopt(slot->fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
			error = errno;
		slot_failed(job, slot, error_kind(error), error, now);
		return;
	}
	if ((events & EPOLLOUT) && slot->writing && slot_flush(job, slot, now) != 0)
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		slot_read(job, slot);
}

/* When the slot's oldest outstanding operation began, or -1 when none is outstanding. */
static int64_t oldest_outstanding(const struct job *job, const struct slot *slot)
{
	switch (slot->state) {
	case SLOT_OPENING:
		if (job->plan->mode != LOAD_ECHO)
			return slot->opened_ns;
		if (slot->started == slot->finished) /* all back: -n ended the run on its first */
			return slot->finished > 0 ? -1 : slot->opened_ns;
		return slot->sent_ns[slot->finished % job->plan->depth];
	case SLOT_RUNNING:
		if (slot->started == slot->finished)
			return -1;
		return slot->sent_ns[slot->finished % job->plan->depth];
	default:
		return -1;
	}
}

/* The timer: timeouts, and the starts that are due. Returns true when anything is in flight. */
static bool tick(struct job *job, int64_t now)
{
	const struct load_plan *plan = job->plan;
	int64_t timeout_ns = plan->timeout_ms * NS_PER_MS;
	bool busy = false;

	for (unsigned i = 0; i < plan->connections && !job->stopping; i++) {
		struct slot *slot = &job->slots[i];
		if (slot->state == SLOT_WAITING) {
			busy = true;
			bool ramp_full = plan->mode == LOAD_IDLE && job->opening >= plan->ramp;
			if (now >= slot->wake_ns && !ramp_full)
				slot_open(job, slot, now);
			continue;
		}
		int64_t since = oldest_outstanding(job, slot);
		if (since < 0)
			continue;
		busy = true;
		if (now - since >= timeout_ns)
			slot_failed(job, slot, LOAD_TIMEOUT, 0, now);
	}
	return busy;
}

/* The run is over at NOW: counts the connections it leaves stalled (see the top). */
static void count_stalled(struct job *job, int64_t now)
{
	if (!job->counting)
		return;
	for (unsigned i = 0; i < job->plan->connections; i++) {
		int64_t since = oldest_outstanding(job, &job->slots[i]);
		if (since < 0)
			continue;
		if (now - since >= job->plan->timeout_ms * NS_PER_MS)
			count_error(job, LOAD_TIMEOUT, 0);
		else if (now - since >= STALL_MS * NS_PER_MS)
			count_error(job, LOAD_STALLED, 0);
	}
}

static void publish(struct job *job)
{
	uint64_t errors = 0;
	for (int kind = 0; kind < LOAD_ERROR_KINDS; kind++)
		errors += job->result->errors[kind];
	__atomic_store_n(&job->live->operations, job->result->operations, __ATOMIC_RELAXED);
	__atomic_store_n(&job->live->errors, errors, __ATOMIC_RELAXED);
	__atomic_store_n(&job->live->held, job->held, __ATOMIC_RELAXED);
	__atomic_store_n(&job->live->counting, job->counting ? 1 : 0, __ATOMIC_RELAXED);
}

static void on_signal(struct job *job)
{
	sig_drain();
	while (sig_next() != 0)
		job->stopping = true;
}

static int setup(struct job *job)
{
	const struct load_plan *plan = job->plan;

	job->slots = calloc(plan->connections, sizeof *job->slots);
	if (job->slots == NULL)
		return -1;
	if (plan->mode == LOAD_ECHO) {
		job->send_times = calloc((size_t)plan->connections * plan->depth,
					 sizeof *job->send_times);
		if (job->send_times == NULL)
			return -1;
	}
	for (unsigned i = 0; i < plan->connections; i++) {
		struct slot *slot = &job->slots[i];
		slot->fd = -1;
		slot->state = SLOT_WAITING;
		slot->backoff_ms = BACKOFF_FIRST_MS;
		if (job->send_times != NULL)
			slot->sent_ns = job->send_times + (size_t)i * plan->depth;
	}
	job->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (job->epoll_fd < 0)
		return -1;
	job->signal_fd = sig_catch(LOAD_STOP_SIGNALS, LOAD_STOP_COUNT);
	if (job->signal_fd < 0)
		return -1;
	struct epoll_event event = {.events = EPOLLIN, .data.u64 = SIGNAL_EVENT};
	if (epoll_ctl(job->epoll_fd, EPOLL_CTL_ADD, job->signal_fd, &event) != 0)
		return -1;
	/* One that came while we started is pending: it shows on the pipe now. */
	return sig_unblock(LOAD_STOP_SIGNALS, LOAD_STOP_COUNT);
}

static void teardown(struct job *job)
{
	if (job->slots != NULL)
		for (unsigned i = 0; i < job->plan->connections; i++)
			slot_close(job, &job->slots[i]);
	free(job->slots);
	free(job->send_times);
	if (job->epoll_fd >= 0)
		close(job->epoll_fd);
	if (job->signal_fd >= 0)
		sig_reset();
}

/* The warmup is over: forget what it did, and count from now. */
static void start_counting(struct job *job, int64_t now, int64_t *counted_from)
{
	struct load_result *result = job->result;
	memset(result->errors, 0, sizeof result->errors);
	result->operations = result->bytes = 0;
	result->last_errno = 0;
	histogram_clear(&result->latency);
	job->counting = true;
	*counted_from = now;
}

int load_run(const struct load_plan *plan, struct load_result *result, struct load_live *live)
{
	struct job job = {.plan = plan, .result = result, .live = live, .epoll_fd = -1,
			  .signal_fd = -1, .random = (uint64_t)plan->seed * 2 + 1};
	struct epoll_event events[EVENTS_MAX];
	int status = 0;

	memset(result, 0, sizeof *result);
	make_pattern(&job.random);
	if (setup(&job) != 0) {
		int error = errno;
		teardown(&job);
		errno = error;
		return -1;
	}

	int64_t start = now_ns();
	int64_t counted_from = start;
	int64_t counting_at = start + plan->warmup_ms * NS_PER_MS;
	int64_t end = plan->duration_ms > 0 ? counting_at + plan->duration_ms * NS_PER_MS : INT64_MAX;
	if (plan->warmup_ms == 0)
		start_counting(&job, start, &counted_from);
	bool busy = tick(&job, start);
	int64_t next_tick = start;

	while (!job.stopping) {
		int64_t now = now_ns();
		int64_t wake = next_tick < end ? next_tick : end;
		if (!job.counting && counting_at < wake)
			wake = counting_at;
		int wait_ms = wake > now ? (int)((wake - now + NS_PER_MS - 1) / NS_PER_MS) : 0;
		int ready = epoll_wait(job.epoll_fd, events, EVENTS_MAX, wait_ms);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			status = -1;
			break;
		}
		for (int i = 0; i < ready && !job.stopping; i++) {
			if (events[i].data.u64 == SIGNAL_EVENT) {
				on_signal(&job);
				continue;
			}
			struct slot *slot = &job.slots[(uint32_t)events[i].data.u64];
			if ((uint32_t)(events[i].data.u64 >> 32) != slot->generation || slot->fd < 0)
				continue; /* a connection this slot has already closed */
			slot_event(&job, slot, events[i].events);
		}
		now = now_ns();
		if (!job.counting && now >= counting_at)
			start_counting(&job, now, &counted_from);
		if (now >= next_tick) {
			busy = tick(&job, now);
			publish(&job);
			next_tick = now + (busy ? TICK_BUSY_MS : TICK_QUIET_MS) * NS_PER_MS;
		}
		if (now >= end)
			job.stopping = true;
	}
	int error = errno;
	int64_t stopped = now_ns();
	count_stalled(&job, stopped);
	result->seconds = job.counting ? (double)(stopped - counted_from) / 1e9 : 0;
	result->held = job.held;
	publish(&job);
	teardown(&job);
	errno = error;
	return status;
}
