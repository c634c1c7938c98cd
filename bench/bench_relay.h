/*
 * bench_relay: the members of the chat relay benchmark. Each member is one
 * socket on loopback: a UDP socket that joins a forknet chat server, or a TCP
 * connection to `ncat --broker --chat`. Some members send (paced by the
 * caller, one message per datagram or per write); every member receives and
 * checks what it gets, in receiver threads that each watch their share of
 * the members with epoll.
 *
 * A message reads "bench STEP SENDER SEQUENCE SENT_NS PAYLOAD\n", where
 * SENT_NS is CLOCK_MONOTONIC at the send and PAYLOAD is letters derived from
 * SENDER and SEQUENCE, padding the line to the chosen size. The relay puts
 * its prefix before it ("127.0.0.1:PORT>> " or "<userN> "); a receiver checks
 * that prefix against the sender's, the payload, and that sequence numbers
 * from each sender only grow.
 */
#ifndef FORKNET_BENCH_RELAY_H
#define FORKNET_BENCH_RELAY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "bench_stats.h"

enum relay_kind {
	RELAY_UDP, /* forknet chat-server --open: one datagram per message */
	RELAY_TCP, /* ncat --broker --chat: one line per write */
};

/* What one receiver counted during a step. */
struct tally {
	uint64_t ok;            /* right sender prefix, contents and order, of this step */
	uint64_t misattributed; /* right contents under a wrong or missing prefix */
	uint64_t corrupt;       /* a line that is no message of ours */
	uint64_t duplicate;     /* a sequence number not above the last one from that sender */
	uint64_t stale;         /* a message of a step already handed over */
	uint64_t own;           /* a member got its own message back */
	uint64_t notices;       /* "* ..." or "<announce> ..." lines */
	uint64_t errors;        /* "! ..." lines */
	struct histogram latency; /* receipt - SENT_NS of the ok ones */
};

struct member {
	int fd;
	uint16_t port;            /* its local port */
	char prefix[48];          /* what the relay writes before its messages */
	size_t prefix_length;
	uint64_t sequence;        /* as a sender: its next sequence number */
	uint64_t *next;           /* per sender: the least sequence number still expected */
	char *buffer;             /* TCP: bytes of a line not yet complete */
	size_t buffered;
};

struct relay;

struct receiver {
	struct relay *relay;
	pthread_t thread;
	bool started;
	int epoll_fd;
	size_t first, count;       /* its members: [first, first + count) */
	struct tally tally;        /* the step in progress */
	struct tally result;       /* the step it last handed over */
	_Atomic uint64_t ok;       /* tally.ok, published for the drain */
	_Atomic uint64_t lines;    /* every line it has read, published for the drain */
	int closed;                /* the last step handed over: its late messages are stale */
	_Atomic int handed_over;   /* the same, published */
	char first_error[128];     /* the first "! " line, for the report */
};

struct relay {
	enum relay_kind kind;
	struct sockaddr_in server;
	size_t member_count, sender_count, receiver_count;
	size_t message_size;      /* bytes per message, newline included */
	bool quickack;            /* TCP: acknowledge each read at once (TCP_QUICKACK) */
	struct member *members;
	struct receiver *receivers;
	_Atomic int hand_over;    /* receivers move their tally to result for this step */
	_Atomic bool stop;
	char error[256];          /* why a relay_ call failed */
};

/* The shortest message size: the header with the widest numbers and some payload. */
#define RELAY_MESSAGE_MIN 64
#define RELAY_MESSAGE_MAX 1000

/*
 * Opens the members and joins each to the relay at SERVER (RELAY_UDP: sends
 * "/join" and waits for the welcome; RELAY_TCP: connects and reads which
 * <userN> it is). Returns 0, or -1 with RELAY->error set.
 */
int relay_open(struct relay *relay);

/* Starts the receiver threads. Returns 0 or -1 with RELAY->error set. */
int relay_start(struct relay *relay);

/* Sends the next message of SENDER, tagged STEP; *SENT gets the send time. Returns 0 or -1. */
int relay_send(struct relay *relay, size_t sender, int step, uint64_t *sent);

/* Sends "/ping" from every member, so that none expires as idle (RELAY_UDP only). */
void relay_ping(struct relay *relay);

/* Sums the ok and all lines the receivers have published so far. */
void relay_progress(struct relay *relay, uint64_t *ok, uint64_t *lines);

/*
 * Ends STEP: the receivers' tallies are summed into *TOTAL; from now on its
 * late messages count as stale. Steps are numbered from 0 up, and the next
 * may start only once this returns. Returns 0, or -1 if a receiver did not
 * answer within a second.
 */
int relay_collect(struct relay *relay, int step, struct tally *total);

/* The CPU time of receiver thread I so far, in ns (0 if unknown). */
uint64_t relay_receiver_cpu(struct relay *relay, size_t i);

/* Stops the receivers (printing the first error line each saw) and closes the members. */
void relay_close(struct relay *relay);

#endif
