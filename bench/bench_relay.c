/*
 * bench_relay: the benchmark's members, their joining, sending, receiving
 * and checking. See bench_relay.h.
 *
 * Threads: the caller sends (relay_send); each receiver thread waits in
 * epoll_wait on its members' sockets and reads what is ready (recvmmsg for
 * UDP, recv for TCP), checks every line and counts it in its own tally. The
 * only state shared with the caller is a few atomics: the step whose messages
 * count, the step to hand over, and the published progress counters.
 */
#include "bench_relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Datagrams read per recvmmsg, and the room for each (messages are at most RELAY_MESSAGE_MAX). */
#define DATAGRAM_BATCH 32
#define DATAGRAM_ROOM 2048
/* A TCP member's buffer for lines not yet complete: more than any line ncat sends us. */
#define STREAM_BUFFER 65536
/* Members' UDP receive buffers: room for bursts, so that loss is not ours. */
#define MEMBER_RECEIVE_BUFFER (4 << 20)
#define JOIN_TIMEOUT_MS 1000
#define JOIN_ATTEMPTS 5

static const char marker[] = "bench ";
#define MARKER_LENGTH (sizeof marker - 1)
/* Where the marker may start: after the longest prefix ("255.255.255.255:65535>> "). */
#define MARKER_SEARCH 64

/* A well-mixed 64-bit value of X (the finaliser of SplitMix64). */
static uint64_t mix(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* 32 printable letters: five bits each, twelve from each mixed word. */
static const char payload_letters[] = "abcdefghijklmnopqrstuvwxyz234567";
#define LETTERS_PER_WORD 12

static uint64_t payload_seed(uint64_t sender, uint64_t sequence)
{
	return (sender << 40) ^ sequence;
}

static void payload_fill(char *out, size_t length, uint64_t seed)
{
	uint64_t word = 0;
	for (size_t i = 0; i < length; i++) {
		if (i % LETTERS_PER_WORD == 0)
			word = mix(seed + i);
		out[i] = payload_letters[(word >> (5 * (i % LETTERS_PER_WORD))) & 31];
	}
}

static bool payload_matches(const char *text, size_t length, uint64_t seed)
{
	uint64_t word = 0;
	for (size_t i = 0; i < length; i++) {
		if (i % LETTERS_PER_WORD == 0)
			word = mix(seed + i);
		if (text[i] != payload_letters[(word >> (5 * (i % LETTERS_PER_WORD))) & 31])
			return false;
	}
	return true;
}

/* Reads decimal digits and the blank after them at *CURSOR (before END); advances past both. */
static bool read_number(const char **cursor, const char *end, uint64_t *value)
{
	const char *p = *cursor;
	uint64_t result = 0;
	if (p == end || *p < '0' || *p > '9')
		return false;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (result > UINT64_MAX / 10 - 9)
			return false;
		result = result * 10 + (uint64_t)(*p - '0');
	}
	if (p == end || *p != ' ')
		return false;
	*cursor = p + 1;
	*value = result;
	return true;
}

static bool starts_with(const char *text, size_t length, const char *start)
{
	size_t size = strlen(start);
	return length >= size && memcmp(text, start, size) == 0;
}

/* Checks and counts one line (newline removed) that member TO received at NOW. */
static void check_line(struct receiver *receiver, size_t to, const char *line, size_t length,
		       uint64_t now)
{
	struct relay *relay = receiver->relay;
	struct tally *tally = &receiver->tally;

	if (starts_with(line, length, "* ") || starts_with(line, length, "<announce>")) {
		tally->notices++;
		return;
	}
	if (starts_with(line, length, "! ")) {
		if (tally->errors++ == 0 && receiver->first_error[0] == '\0')
			snprintf(receiver->first_error, sizeof receiver->first_error, "%.*s",
				 (int)(length < 100 ? length : 100), line);
		return;
	}
	const char *body = memmem(line, length < MARKER_SEARCH ? length : MARKER_SEARCH, marker,
				  MARKER_LENGTH);
	const char *end = line + length, *cursor = body != NULL ? body + MARKER_LENGTH : NULL;
	uint64_t message_step, sender, sequence, sent;
	if (body == NULL || (size_t)(end - body) != relay->message_size - 1 ||
	    !read_number(&cursor, end, &message_step) || !read_number(&cursor, end, &sender) ||
	    !read_number(&cursor, end, &sequence) || !read_number(&cursor, end, &sent) ||
	    sender >= relay->sender_count ||
	    !payload_matches(cursor, (size_t)(end - cursor), payload_seed(sender, sequence))) {
		tally->corrupt++;
		return;
	}
	if (sender == to) {
		tally->own++;
		return;
	}
	const struct member *from = &relay->members[sender];
	size_t prefix_length = (size_t)(body - line);
	if (prefix_length != from->prefix_length || memcmp(line, from->prefix, prefix_length) != 0) {
		tally->misattributed++;
		return;
	}
	uint64_t *next = &relay->members[to].next[sender];
	if (sequence < *next) {
		tally->duplicate++;
		return;
	}
	*next = sequence + 1;
	/* Steps follow one another: a message of a step already handed over is late. */
	if ((int64_t)message_step <= (int64_t)receiver->closed) {
		tally->stale++;
		return;
	}
	tally->ok++;
	histogram_add(&tally->latency, now > sent ? now - sent : 0);
}

/* Stops watching member INDEX after a failure it reports once. */
static void receiver_drop(struct receiver *receiver, size_t index, const char *what)
{
	struct member *member = &receiver->relay->members[index];
	epoll_ctl(receiver->epoll_fd, EPOLL_CTL_DEL, member->fd, NULL);
	fprintf(stderr, "chat_bench: member %zu (port %u): %s\n", index, member->port, what);
}

static void receive_datagrams(struct receiver *receiver, size_t index,
			      struct mmsghdr *messages, struct iovec *vectors, char (*room)[DATAGRAM_ROOM])
{
	int fd = receiver->relay->members[index].fd;

	for (;;) {
		for (size_t i = 0; i < DATAGRAM_BATCH; i++) {
			vectors[i] = (struct iovec){.iov_base = room[i], .iov_len = DATAGRAM_ROOM};
			messages[i].msg_hdr = (struct msghdr){.msg_iov = &vectors[i], .msg_iovlen = 1};
		}
		int count = recvmmsg(fd, messages, DATAGRAM_BATCH, MSG_DONTWAIT, NULL);
		if (count < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				receiver_drop(receiver, index, strerror(errno));
			return;
		}
		uint64_t now = now_ns();
		for (int i = 0; i < count; i++) {
			size_t length = messages[i].msg_len;
			if (length > 0 && room[i][length - 1] == '\n')
				length--;
			check_line(receiver, index, room[i], length, now);
		}
		atomic_store_explicit(&receiver->lines,
				      atomic_load_explicit(&receiver->lines, memory_order_relaxed) +
					      (uint64_t)count,
				      memory_order_relaxed);
		if (count < DATAGRAM_BATCH)
			return; /* recvmmsg stopped at EAGAIN: the socket is empty */
	}
}

static void receive_stream(struct receiver *receiver, size_t index)
{
	struct member *member = &receiver->relay->members[index];

	for (;;) {
		size_t room = STREAM_BUFFER - member->buffered;
		ssize_t got = recv(member->fd, member->buffer + member->buffered, room, MSG_DONTWAIT);
		if (got <= 0) {
			if (got == 0)
				receiver_drop(receiver, index, "the relay closed the connection");
			else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				receiver_drop(receiver, index, strerror(errno));
			return;
		}
		uint64_t now = now_ns(), lines = 0;
		/*
		 * ncat leaves Nagle on: while a segment to us is not acknowledged it
		 * holds the next, and our delayed ACK (up to 40 ms, or until the member
		 * sends) would then set the pace. Acknowledging at once keeps the
		 * client side out of the measurement (TCP_QUICKACK does not stick:
		 * it is set again after every read).
		 */
		if (receiver->relay->quickack)
			(void)setsockopt(member->fd, IPPROTO_TCP, TCP_QUICKACK, &(int){1}, sizeof(int));
		member->buffered += (size_t)got;
		char *start = member->buffer, *end = member->buffer + member->buffered, *newline;
		while ((newline = memchr(start, '\n', (size_t)(end - start))) != NULL) {
			check_line(receiver, index, start, (size_t)(newline - start), now);
			start = newline + 1;
			lines++;
		}
		member->buffered = (size_t)(end - start);
		memmove(member->buffer, start, member->buffered);
		if (member->buffered == STREAM_BUFFER) {
			receiver->tally.corrupt++; /* a line longer than any we send */
			member->buffered = 0;
		}
		atomic_store_explicit(&receiver->lines,
				      atomic_load_explicit(&receiver->lines, memory_order_relaxed) + lines,
				      memory_order_relaxed);
		if ((size_t)got < room)
			return;
	}
}

static void *receiver_main(void *argument)
{
	struct receiver *receiver = argument;
	struct relay *relay = receiver->relay;
	struct epoll_event events[128];
	/* 64 KiB on this thread's stack (8 MiB by default). */
	struct mmsghdr messages[DATAGRAM_BATCH];
	struct iovec vectors[DATAGRAM_BATCH];
	char room[DATAGRAM_BATCH][DATAGRAM_ROOM];

	while (!atomic_load_explicit(&relay->stop, memory_order_relaxed)) {
		/* A short timeout, so that a hand-over is answered when nothing arrives. */
		int count = epoll_wait(receiver->epoll_fd, events, 128, 2);
		if (count < 0 && errno != EINTR) {
			fprintf(stderr, "chat_bench: epoll_wait: %s\n", strerror(errno));
			break;
		}
		for (int i = 0; i < count; i++) {
			size_t index = (size_t)events[i].data.u64;
			if (relay->kind == RELAY_UDP)
				receive_datagrams(receiver, index, messages, vectors, room);
			else
				receive_stream(receiver, index);
		}
		atomic_store_explicit(&receiver->ok, receiver->tally.ok, memory_order_relaxed);
		int hand_over = atomic_load(&relay->hand_over);
		if (hand_over != receiver->closed) {
			receiver->result = receiver->tally;
			memset(&receiver->tally, 0, sizeof receiver->tally);
			receiver->closed = hand_over;
			atomic_store_explicit(&receiver->ok, 0, memory_order_relaxed);
			atomic_store(&receiver->handed_over, hand_over);
		}
	}
	return NULL;
}

/* Waits up to TIMEOUT_MS for FD to be readable. Returns 1 readable, 0 timed out, -1 error. */
static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd watch = {.fd = fd, .events = POLLIN};
	int result;
	while ((result = poll(&watch, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	return result;
}

/* Formats where MEMBER's socket is bound, and keeps its port. Returns 0 or -1. */
static int local_address(struct relay *relay, struct member *member, char *text, size_t size)
{
	struct sockaddr_in local;
	socklen_t length = sizeof local;
	if (getsockname(member->fd, (struct sockaddr *)&local, &length) != 0 ||
	    inet_ntop(AF_INET, &local.sin_addr, text, (socklen_t)size) == NULL) {
		snprintf(relay->error, sizeof relay->error, "getsockname: %s", strerror(errno));
		return -1;
	}
	member->port = ntohs(local.sin_port);
	return 0;
}

/* UDP, with the server in --open mode: "/join" makes the member, the welcome says so. */
static int join_udp(struct relay *relay, struct member *member)
{
	char address[INET_ADDRSTRLEN], reply[DATAGRAM_ROOM];
	int size = MEMBER_RECEIVE_BUFFER;

	member->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (member->fd < 0 ||
	    setsockopt(member->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) != 0 ||
	    connect(member->fd, (const struct sockaddr *)&relay->server, sizeof relay->server) != 0) {
		snprintf(relay->error, sizeof relay->error, "UDP socket to the server: %s",
			 strerror(errno));
		return -1;
	}
	if (local_address(relay, member, address, sizeof address) != 0)
		return -1;
	member->prefix_length = (size_t)snprintf(member->prefix, sizeof member->prefix, "%s:%u>> ",
						 address, member->port);
	for (int attempt = 0; attempt < JOIN_ATTEMPTS; attempt++) {
		if (send(member->fd, "/join\n", 6, 0) != 6)
			break;
		/* Notices about others may come first; the welcome ends the wait. */
		while (wait_readable(member->fd, JOIN_TIMEOUT_MS) > 0) {
			ssize_t got = recv(member->fd, reply, sizeof reply, 0);
			if (got < 0)
				break;
			if (starts_with(reply, (size_t)got, "* welcome"))
				return 0;
		}
	}
	snprintf(relay->error, sizeof relay->error,
		 "member on port %u: no welcome from the server after %d tries%s%s", member->port,
		 JOIN_ATTEMPTS, errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
	return -1;
}

/* TCP, to ncat --chat: the first line a new connection reads names it ("... as <user7>."). */
static int join_tcp(struct relay *relay, struct member *member)
{
	char address[INET_ADDRSTRLEN];
	int on = 1;
	struct timeval timeout = {.tv_sec = 1};

	member->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* No Nagle: each message leaves at once, as its own segment, like a typed line. */
	if (member->fd < 0 ||
	    connect(member->fd, (const struct sockaddr *)&relay->server, sizeof relay->server) != 0 ||
	    setsockopt(member->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0 ||
	    setsockopt(member->fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) != 0) {
		snprintf(relay->error, sizeof relay->error, "TCP connection to the server: %s",
			 strerror(errno));
		return -1;
	}
	if (local_address(relay, member, address, sizeof address) != 0)
		return -1;
	char *newline;
	while ((newline = memchr(member->buffer, '\n', member->buffered)) == NULL) {
		ssize_t got = 0;
		if (wait_readable(member->fd, JOIN_TIMEOUT_MS) <= 0 ||
		    (got = recv(member->fd, member->buffer + member->buffered,
				STREAM_BUFFER - member->buffered, 0)) <= 0) {
			snprintf(relay->error, sizeof relay->error,
				 "member on port %u: no greeting from the server%s", member->port,
				 got == 0 ? " (connection closed)" : "");
			return -1;
		}
		member->buffered += (size_t)got;
	}
	*newline = '\0';
	const char *name = strstr(member->buffer, "is connected as <user");
	unsigned long user;
	if (name == NULL || sscanf(name, "is connected as <user%lu>", &user) != 1) {
		snprintf(relay->error, sizeof relay->error, "member on port %u: unexpected greeting '%.80s'",
			 member->port, member->buffer);
		return -1;
	}
	member->prefix_length =
		(size_t)snprintf(member->prefix, sizeof member->prefix, "<user%lu> ", user);
	size_t used = (size_t)(newline + 1 - member->buffer);
	member->buffered -= used;
	memmove(member->buffer, newline + 1, member->buffered);
	return 0;
}

int relay_open(struct relay *relay)
{
	size_t count = relay->member_count;

	relay->members = calloc(count, sizeof *relay->members);
	uint64_t *expected = calloc(count * relay->sender_count, sizeof *expected);
	if (relay->members == NULL || expected == NULL) {
		free(expected);
		snprintf(relay->error, sizeof relay->error, "memory for %zu members", count);
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		relay->members[i].fd = -1;
		relay->members[i].next = expected + i * relay->sender_count;
	}
	atomic_init(&relay->hand_over, -1);
	atomic_init(&relay->stop, false);
	for (size_t i = 0; i < count; i++) {
		struct member *member = &relay->members[i];
		if (relay->kind == RELAY_TCP) {
			member->buffer = malloc(STREAM_BUFFER);
			if (member->buffer == NULL) {
				snprintf(relay->error, sizeof relay->error, "memory for buffers");
				return -1;
			}
		}
		errno = 0;
		if ((relay->kind == RELAY_UDP ? join_udp(relay, member) : join_tcp(relay, member)) != 0)
			return -1;
	}
	return 0;
}

int relay_start(struct relay *relay)
{
	relay->receivers = calloc(relay->receiver_count, sizeof *relay->receivers);
	if (relay->receivers == NULL) {
		snprintf(relay->error, sizeof relay->error, "memory for receivers");
		return -1;
	}
	for (size_t r = 0; r < relay->receiver_count; r++)
		relay->receivers[r].epoll_fd = -1;
	for (size_t r = 0; r < relay->receiver_count; r++) {
		struct receiver *receiver = &relay->receivers[r];
		receiver->relay = relay;
		receiver->first = r * relay->member_count / relay->receiver_count;
		receiver->count = (r + 1) * relay->member_count / relay->receiver_count - receiver->first;
		atomic_init(&receiver->ok, 0);
		atomic_init(&receiver->lines, 0);
		atomic_init(&receiver->handed_over, -1);
		receiver->closed = -1;
		receiver->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
		if (receiver->epoll_fd < 0) {
			snprintf(relay->error, sizeof relay->error, "epoll_create1: %s", strerror(errno));
			return -1;
		}
		for (size_t i = receiver->first; i < receiver->first + receiver->count; i++) {
			/*
			 * Edge-triggered: a ready socket is not polled again on the next
			 * wait (it is read until EAGAIN), which saves a third of the cost
			 * of waiting at M = 100.
			 */
			struct epoll_event event = {.events = EPOLLIN | EPOLLET, .data.u64 = i};
			if (epoll_ctl(receiver->epoll_fd, EPOLL_CTL_ADD, relay->members[i].fd, &event) != 0) {
				snprintf(relay->error, sizeof relay->error, "epoll_ctl: %s",
					 strerror(errno));
				return -1;
			}
		}
		int error = pthread_create(&receiver->thread, NULL, receiver_main, receiver);
		if (error != 0) {
			snprintf(relay->error, sizeof relay->error, "pthread_create: %s", strerror(error));
			return -1;
		}
		receiver->started = true;
	}
	return 0;
}

int relay_send(struct relay *relay, size_t sender, int step, uint64_t *sent)
{
	struct member *member = &relay->members[sender];
	char line[RELAY_MESSAGE_MAX];
	uint64_t now = now_ns();

	int header = snprintf(line, sizeof line, "%s%d %zu %" PRIu64 " %" PRIu64 " ", marker, step,
			      sender, member->sequence, now);
	if (header < 0 || (size_t)header + 2 > relay->message_size)
		return -1;
	payload_fill(line + header, relay->message_size - 1 - (size_t)header,
		     payload_seed(sender, member->sequence));
	line[relay->message_size - 1] = '\n';
	member->sequence++;
	*sent = now;
	ssize_t written = send(member->fd, line, relay->message_size, MSG_NOSIGNAL);
	return written == (ssize_t)relay->message_size ? 0 : -1;
}

void relay_ping(struct relay *relay)
{
	if (relay->kind != RELAY_UDP)
		return;
	for (size_t i = 0; i < relay->member_count; i++)
		(void)send(relay->members[i].fd, "/ping\n", 6, 0); /* a lost ping only risks expiry */
}

void relay_progress(struct relay *relay, uint64_t *ok, uint64_t *lines)
{
	*ok = 0;
	*lines = 0;
	for (size_t r = 0; r < relay->receiver_count; r++) {
		*ok += atomic_load_explicit(&relay->receivers[r].ok, memory_order_relaxed);
		*lines += atomic_load_explicit(&relay->receivers[r].lines, memory_order_relaxed);
	}
}

static void tally_add(struct tally *into, const struct tally *from)
{
	into->ok += from->ok;
	into->misattributed += from->misattributed;
	into->corrupt += from->corrupt;
	into->duplicate += from->duplicate;
	into->stale += from->stale;
	into->own += from->own;
	into->notices += from->notices;
	into->errors += from->errors;
	histogram_merge(&into->latency, &from->latency);
}

int relay_collect(struct relay *relay, int step, struct tally *total)
{
	atomic_store(&relay->hand_over, step);
	memset(total, 0, sizeof *total);
	uint64_t deadline = now_ns() + 1000000000u;
	for (size_t r = 0; r < relay->receiver_count; r++) {
		struct receiver *receiver = &relay->receivers[r];
		while (atomic_load(&receiver->handed_over) != step) {
			if (now_ns() > deadline)
				return -1;
			struct timespec pause = {.tv_nsec = 200000};
			nanosleep(&pause, NULL);
		}
		tally_add(total, &receiver->result);
	}
	return 0;
}

uint64_t relay_receiver_cpu(struct relay *relay, size_t i)
{
	clockid_t clock;
	struct timespec used;
	if (relay->receivers == NULL || !relay->receivers[i].started ||
	    pthread_getcpuclockid(relay->receivers[i].thread, &clock) != 0 ||
	    clock_gettime(clock, &used) != 0)
		return 0;
	return (uint64_t)used.tv_sec * 1000000000u + (uint64_t)used.tv_nsec;
}

void relay_close(struct relay *relay)
{
	atomic_store(&relay->stop, true);
	if (relay->receivers != NULL) {
		for (size_t r = 0; r < relay->receiver_count; r++) {
			if (relay->receivers[r].started)
				pthread_join(relay->receivers[r].thread, NULL);
			if (relay->receivers[r].first_error[0] != '\0')
				fprintf(stderr, "chat_bench: the server said: %s\n",
					relay->receivers[r].first_error);
			if (relay->receivers[r].epoll_fd >= 0)
				close(relay->receivers[r].epoll_fd);
		}
		free(relay->receivers);
		relay->receivers = NULL;
	}
	if (relay->members != NULL) {
		free(relay->members[0].next);
		for (size_t i = 0; i < relay->member_count; i++) {
			if (relay->members[i].fd >= 0)
				close(relay->members[i].fd);
			free(relay->members[i].buffer);
		}
		free(relay->members);
		relay->members = NULL;
	}
}
